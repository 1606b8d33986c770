//! Sample exchanges for the console's point builder (PRODUCT.md C2): a few recent exchanges are
//! kept so a person can preview what a point would read, but the store never holds a raw secret
//! (DESIGN.md stage 9). `Analyzer::sanitize_sample` therefore rewrites every value that could be a
//! secret into the form the analyzer would store it in:
//!
//! - credentials (the `Authorization`, `Cookie`, `Set-Cookie`, API-key headers, any cookie, any
//!   header, query, form or JSON name that looks like a token or session) become
//!   `hmac-<stored hash>`, the keyed hash the analyzer stores for them;
//! - a JWT keeps its header and the names and types of its claims, but only the claims that a
//!   clear context parameter reads keep their values (the `sid` claim, a claim a session key or
//!   a hashed parameter reads, and every other claim become `***` or `0`); its signature is
//!   replaced by `hmac-<stored hash of the whole token>`;
//! - passwords, secrets, card fields and values that look like card numbers become `***`, and so
//!   do the other sensitive query parameters (`key`, `sig`, `code`, ...);
//! - user information in the URL is dropped;
//! - bodies are kept only when a point can read them (JSON and url-encoded forms), rewritten the
//!   same way and cut to `MAX_SAMPLE_BODY_BYTES`; other bodies (multipart, HTML, binary) are dropped.
//!
//! `Analyzer::preview_sample` reads a point from such a sample and recognises those markers, so a
//! hashed value previews as the same hash the analyzer would have stored for the original.

use std::borrow::Cow;

use serde_json::Value;
use sessionscope_model::{Exchange, Headers, Request, Response, StoredAs};

use crate::analyzer::Analyzer;
use crate::extract::extract_first;
use crate::jwt;
use crate::names;
use crate::point::{JsonPath, PathStep, Point};
use crate::secrets::{looks_like_card_number, MASK};
use crate::view::{contains_ignore_case, decode_component, split_url, ExchangeView};

/// Bodies of samples are cut to this many bytes.
pub const MAX_SAMPLE_BODY_BYTES: usize = 16 * 1024;
/// Prefix of a value a sample holds as its stored hash. Base64url characters only, so a JWT whose
/// signature was replaced by it still looks like a JWT.
pub const SAMPLE_HASH_PREFIX: &str = "hmac-";
/// JSON bodies larger than this are not rewritten (and so dropped): points read at most this much.
const MAX_SAMPLE_JSON_INPUT_BYTES: usize = 1024 * 1024;

/// Attributes of a `Set-Cookie` header: their values are not secrets.
const COOKIE_ATTRIBUTES: &[&str] = &[
    "expires",
    "max-age",
    "domain",
    "path",
    "samesite",
    "secure",
    "httponly",
    "priority",
    "partitioned",
];

impl Analyzer {
    /// A copy of the exchange fit to be stored as a sample: every secret masked or replaced by
    /// its stored hash, JWT signatures removed (claims kept), bodies a point cannot read dropped
    /// and the rest cut to `MAX_SAMPLE_BODY_BYTES`. Pure; never panics on input.
    pub fn sanitize_sample(&self, exchange: &Exchange) -> Exchange {
        let request = &exchange.request;
        let content_type = request.headers.get("content-type").unwrap_or("");
        let (body, body_truncated) =
            self.sanitize_body(request.body.as_deref(), content_type, Side::Request);
        Exchange {
            id: exchange.id.clone(),
            ts: exchange.ts,
            client_ip: exchange.client_ip,
            app: exchange.app.clone(),
            node: exchange.node.clone(),
            request: Request {
                method: request.method.clone(),
                url: self.sanitize_url(&request.url),
                host: request.host.as_deref().map(without_user_information),
                headers: self.sanitize_headers(&request.headers, Side::Request),
                body,
                body_truncated: body_truncated || request.body_truncated,
            },
            response: exchange.response.as_ref().map(|response| {
                let content_type = response.headers.get("content-type").unwrap_or("");
                let (body, body_truncated) =
                    self.sanitize_body(response.body.as_deref(), content_type, Side::Response);
                Response {
                    status: response.status,
                    headers: self.sanitize_headers(&response.headers, Side::Response),
                    body,
                    body_truncated: body_truncated || response.body_truncated,
                    duration_ms: response.duration_ms,
                    size: response.size,
                }
            }),
        }
    }

    /// `preview` for a sample made by `sanitize_sample`: a value the sample holds as a stored
    /// hash previews as that hash, a masked one as masked, anything else as `preview` would.
    pub fn preview_sample(&self, point: &Point, sample: &Exchange) -> Option<(String, StoredAs)> {
        let view = ExchangeView::new(sample);
        let value = extract_first(point, &view)?;
        let storage = point.storage();
        if point.is_masked() {
            return Some(self.store_value(value, storage, false));
        }
        let credential = jwt::strip_bearer(value.trim());
        if credential == MASK {
            return Some((MASK.to_string(), StoredAs::Masked));
        }
        if let Some(hash) = stored_hash_marker(credential) {
            return Some((hash.to_string(), StoredAs::Hashed));
        }
        if jwt::looks_like_jwt(credential) {
            let signature = credential.rsplit('.').next().unwrap_or("");
            if let Some(hash) = stored_hash_marker(signature) {
                return Some((hash.to_string(), StoredAs::Hashed));
            }
        }
        Some(self.store_value(value, storage, false))
    }

    fn hash_marker(&self, credential: &str) -> String {
        format!("{SAMPLE_HASH_PREFIX}{}", self.stored_hash(credential))
    }

    /// A JWS keeps its header and the names and types of its claims; the value of a claim is
    /// kept only when a clear context parameter reads it (and no session key or hashed
    /// parameter does), else it becomes `***` (a string) or `0` (a number). The signature
    /// becomes the stored hash of the whole token. A token whose claims cannot be read, and an
    /// encrypted token (five parts), become the hash alone: nothing of a key value (the `sid`
    /// claim, or any claim a key reads) stays readable, not even as base64.
    fn token_without_signature(&self, token: &str) -> String {
        let mut parts = token.split('.');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(header), Some(_claims), Some(_signature), None) => {
                let Some(mut claims) = jwt::decode_checked_claims(token) else {
                    return self.hash_marker(token);
                };
                let mut path = Vec::new();
                self.mask_claims(&mut claims, &mut path, false);
                let encoded = jwt::encode_claims(&claims);
                format!("{header}.{encoded}.{}", self.hash_marker(token))
            }
            _ => self.hash_marker(token),
        }
    }

    /// Replaces every claim value no clear context parameter reads. `kept` is true under a
    /// claim path that one reads (its scalars, or the scalars of its array, are kept).
    fn mask_claims(&self, value: &mut Value, path: &mut Vec<PathStep>, kept: bool) {
        match value {
            Value::Object(object) => {
                for (name, child) in object.iter_mut() {
                    path.push(PathStep::Key(name.clone()));
                    let child_kept = self.config().is_clear_claim(path);
                    self.mask_claims(child, path, child_kept);
                    path.pop();
                }
            }
            Value::Array(items) => {
                for item in items {
                    // A kept array keeps its scalars, not objects inside it.
                    let item_kept = kept && !matches!(item, Value::Object(_) | Value::Array(_));
                    self.mask_claims(item, path, item_kept);
                }
            }
            Value::String(text) if !kept => *text = MASK.to_string(),
            Value::Number(_) if !kept => *value = Value::from(0),
            _ => {}
        }
    }

    /// A credential value as kept in a sample: `Bearer ` kept, a JWT without its signature,
    /// anything else its stored hash.
    fn sanitize_credential(&self, raw: &str) -> String {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return String::new();
        }
        let token = jwt::strip_bearer(trimmed);
        let prefix = &trimmed[..trimmed.len() - token.len()];
        if jwt::looks_like_jwt(token) {
            return format!("{prefix}{}", self.token_without_signature(token));
        }
        format!("{prefix}{}", self.hash_marker(token))
    }

    /// A value under `name` as kept in a sample, by the same rules the analyzer stores a point by.
    fn sanitize_named_value(&self, name: &str, value: &str) -> String {
        if value.trim().is_empty() {
            return value.to_string();
        }
        if names::is_masked_name(name) {
            return MASK.to_string();
        }
        if names::is_credential_name(name) {
            return self.sanitize_credential(value);
        }
        self.sanitize_clear_value(value)
    }

    /// A value that would be stored clear: still, a JWT or a card number is never kept whole.
    fn sanitize_clear_value(&self, value: &str) -> String {
        let trimmed = value.trim();
        if looks_like_card_number(trimmed) {
            return MASK.to_string();
        }
        if jwt::looks_like_jwt(jwt::strip_bearer(trimmed)) {
            return self.sanitize_credential(value);
        }
        self.scrub_text(value)
    }

    /// Free text: JWTs inside it lose their signature, card numbers inside it are masked.
    fn scrub_text(&self, text: &str) -> String {
        let stripped = self.strip_embedded_signatures(text);
        if let Cow::Owned(masked) = mask_card_runs(&stripped) {
            return masked;
        }
        stripped.into_owned()
    }

    fn strip_embedded_signatures<'t>(&self, text: &'t str) -> Cow<'t, str> {
        if !text.contains("eyJ") {
            return Cow::Borrowed(text);
        }
        let is_token_byte =
            |byte: u8| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'=' | b'.');
        let bytes = text.as_bytes();
        let mut out = String::with_capacity(text.len());
        let mut position = 0;
        while let Some(found) = text[position..].find("eyJ") {
            let start = position + found;
            let starts_a_word = start == 0 || !is_token_byte(bytes[start - 1]);
            let mut end = start;
            while end < bytes.len() && is_token_byte(bytes[end]) {
                end += 1;
            }
            // The run starts with `eyJ`, which has no `.`, so it is never empty and the loop advances.
            let candidate = text[start..end].trim_end_matches('.');
            out.push_str(&text[position..start]);
            if starts_a_word && jwt::looks_like_jwt(candidate) {
                out.push_str(&self.token_without_signature(candidate));
            } else {
                out.push_str(candidate);
            }
            position = start + candidate.len();
        }
        out.push_str(&text[position..]);
        Cow::Owned(out)
    }

    fn sanitize_headers(&self, headers: &Headers, side: Side) -> Headers {
        let secret_points = &self.config().secret_points;
        let secret_names = match side {
            Side::Request => &secret_points.request_headers,
            Side::Response => &secret_points.response_headers,
        };
        let mut sanitized = Headers::default();
        for (name, value) in headers {
            // Names usually arrive in lowercase already: no copy then.
            let lowercase: Cow<'_, str> = if name.bytes().any(|byte| byte.is_ascii_uppercase()) {
                Cow::Owned(name.to_ascii_lowercase())
            } else {
                Cow::Borrowed(name)
            };
            let kept = if lowercase == "cookie" {
                self.sanitize_cookie_header(value)
            } else if lowercase == "set-cookie" {
                self.sanitize_set_cookie(value)
            } else if names::is_masked_name(&lowercase) {
                MASK.to_string()
            } else if names::is_credential_header(&lowercase)
                || secret_names.iter().any(|secret| *secret == lowercase)
            {
                self.sanitize_credential(value)
            } else {
                self.sanitize_clear_value(value)
            };
            sanitized.push(name, kept);
        }
        sanitized
    }

    /// `a=1; b=2`: every cookie value is a credential.
    fn sanitize_cookie_header(&self, value: &str) -> String {
        let mut pieces = Vec::new();
        for piece in value.split(';') {
            let piece = piece.trim();
            if piece.is_empty() {
                continue;
            }
            match piece.split_once('=') {
                Some((name, cookie)) => pieces.push(format!(
                    "{}={}",
                    name.trim(),
                    self.sanitize_cookie_value(cookie)
                )),
                // A value without a name: the whole piece may be the secret.
                None => pieces.push(self.hash_marker(piece)),
            }
        }
        pieces.join("; ")
    }

    fn sanitize_cookie_value(&self, value: &str) -> String {
        let trimmed = value.trim();
        if trimmed.is_empty() || trimmed == "deleted" {
            return trimmed.to_string();
        }
        self.sanitize_credential(trimmed)
    }

    /// `name=value; Path=/; Expires=Wed, 21 Oct 2026 ...`, possibly several cookies folded with
    /// `,`: every `name=value` whose name is not an attribute is a cookie.
    fn sanitize_set_cookie(&self, value: &str) -> String {
        let mut out = String::with_capacity(value.len());
        for piece in value.split_inclusive([';', ',']) {
            let (body, separator) = match piece.strip_suffix([';', ',']) {
                Some(body) => (body, &piece[body.len()..]),
                None => (piece, ""),
            };
            match body.split_once('=') {
                Some((name, cookie))
                    if !COOKIE_ATTRIBUTES
                        .iter()
                        .any(|attribute| name.trim().eq_ignore_ascii_case(attribute)) =>
                {
                    out.push_str(name);
                    out.push('=');
                    out.push_str(&self.sanitize_cookie_value(cookie));
                }
                _ => out.push_str(body),
            }
            out.push_str(separator);
        }
        out
    }

    fn sanitize_url(&self, url: &str) -> String {
        let parts = split_url(url);
        let mut out = String::with_capacity(url.len());
        if let Some(authority) = parts.authority {
            let scheme_end = url.find("://").unwrap_or(0);
            out.push_str(&url[..scheme_end]);
            out.push_str("://");
            out.push_str(&without_user_information(authority));
        }
        out.push_str(&self.scrub_text(parts.path));
        if let Some(query) = parts.query {
            out.push('?');
            out.push_str(&self.sanitize_pairs(query, true));
        }
        out
    }

    /// `a=1&b=2` (a query string or a url-encoded form): values rewritten by their names. In a
    /// query the other sensitive names (`key`, `sig`, `code`, ...) are masked as in the stored query.
    fn sanitize_pairs(&self, text: &str, is_query: bool) -> String {
        let mut out = String::with_capacity(text.len());
        for (position, piece) in text.split('&').enumerate() {
            if position > 0 {
                out.push('&');
            }
            let Some((name, value)) = piece.split_once('=') else {
                out.push_str(&self.scrub_text(piece));
                continue;
            };
            out.push_str(name);
            out.push('=');
            if value.is_empty() {
                continue;
            }
            let decoded_name = decode_component(name);
            let decoded_value = decode_component(value);
            if is_query
                && !names::is_credential_name(&decoded_name)
                && names::is_sensitive_query_name(&decoded_name)
            {
                out.push_str(MASK);
                continue;
            }
            let looks_like_json = matches!(
                decoded_value.trim_start().as_bytes().first(),
                Some(b'{' | b'[')
            );
            let secret_points = &self.config().secret_points;
            let is_secret_point = if is_query {
                secret_points
                    .queries
                    .iter()
                    .any(|secret| *secret == decoded_name)
            } else {
                secret_points
                    .forms
                    .iter()
                    .any(|secret| *secret == decoded_name)
            };
            if is_secret_point {
                out.push_str(&encode_component(&self.sanitize_credential(&decoded_value)));
                continue;
            }
            let kept = match serde_json::from_str::<Value>(&decoded_value) {
                Ok(mut json) if looks_like_json => {
                    if is_query && decoded_name == "variables" {
                        self.hide_secret_paths(&mut json, &secret_points.graphql);
                    }
                    // The JSON-encoded `variables` of a GraphQL GET.
                    self.sanitize_json(&mut json, &decoded_name);
                    json.to_string()
                }
                _ => self.sanitize_named_value(&decoded_name, &decoded_value),
            };
            if kept == decoded_value {
                out.push_str(value);
            } else {
                out.push_str(&encode_component(&kept));
            }
        }
        out
    }

    /// Replaces the values that a session key or hashed parameter reads from a JSON body (and,
    /// in a request, from its GraphQL `variables`) by their stored hashes.
    fn hide_secret_json_points(&self, json: &mut Value, side: Side) {
        let secret_points = &self.config().secret_points;
        match side {
            Side::Response => self.hide_secret_paths(json, &secret_points.response_json),
            Side::Request => {
                self.hide_secret_paths(json, &secret_points.request_json);
                if secret_points.graphql.is_empty() {
                    return;
                }
                let operations: Vec<&mut Value> = match json {
                    Value::Array(operations) => operations.iter_mut().collect(),
                    other => vec![other],
                };
                for operation in operations {
                    let Some(variables) = operation.get_mut("variables") else {
                        continue;
                    };
                    if let Value::String(text) = variables {
                        if let Ok(mut inner) = serde_json::from_str::<Value>(text) {
                            self.hide_secret_paths(&mut inner, &secret_points.graphql);
                            *text = inner.to_string();
                        }
                        continue;
                    }
                    self.hide_secret_paths(variables, &secret_points.graphql);
                }
            }
        }
    }

    fn hide_secret_paths(&self, json: &mut Value, paths: &[JsonPath]) {
        for path in paths {
            let Some(node) = resolve_mut(json, path) else {
                continue;
            };
            match node {
                Value::Array(items) => {
                    for item in items {
                        self.hide_scalar(item);
                    }
                }
                other => self.hide_scalar(other),
            }
        }
    }

    fn hide_scalar(&self, value: &mut Value) {
        let text = match value {
            Value::String(text) => text.clone(),
            Value::Number(number) => number.to_string(),
            Value::Bool(flag) => flag.to_string(),
            Value::Null | Value::Array(_) | Value::Object(_) => return,
        };
        *value = Value::String(self.sanitize_credential(&text));
    }

    fn sanitize_json(&self, value: &mut Value, name: &str) {
        match value {
            Value::Object(object) => {
                for (key, child) in object.iter_mut() {
                    self.sanitize_json(child, key);
                }
            }
            // Elements of an array are read under the array's name (`roles[0]` is a role).
            Value::Array(items) => {
                for item in items {
                    self.sanitize_json(item, name);
                }
            }
            Value::String(text) => {
                let looks_like_json =
                    matches!(text.trim_start().as_bytes().first(), Some(b'{' | b'['));
                if looks_like_json {
                    // GraphQL `variables` sent as a string holding JSON.
                    if let Ok(mut inner) = serde_json::from_str::<Value>(text) {
                        self.sanitize_json(&mut inner, name);
                        *text = inner.to_string();
                        return;
                    }
                }
                *text = self.sanitize_named_value(name, text);
            }
            Value::Number(number) => {
                let text = number.to_string();
                let kept = self.sanitize_named_value(name, &text);
                if kept != text {
                    *value = Value::String(kept);
                }
            }
            Value::Bool(_) | Value::Null => {
                if names::is_masked_name(name) {
                    *value = Value::String(MASK.to_string());
                }
            }
        }
    }

    /// A body as kept: JSON and url-encoded forms rewritten, everything else dropped. Returns
    /// the body and whether it was cut.
    fn sanitize_body(
        &self,
        body: Option<&[u8]>,
        content_type: &str,
        side: Side,
    ) -> (Option<Vec<u8>>, bool) {
        let Some(body) = body.filter(|body| !body.is_empty()) else {
            return (None, false);
        };
        let Ok(text) = std::str::from_utf8(body) else {
            return (None, false);
        };
        let first = text.trim_start().as_bytes().first().copied();
        let is_json =
            contains_ignore_case(content_type, "json") || matches!(first, Some(b'{' | b'['));
        let is_form = contains_ignore_case(content_type, "x-www-form-urlencoded")
            || (content_type.is_empty() && text.contains('='));
        let sanitized = if is_json {
            if text.len() > MAX_SAMPLE_JSON_INPUT_BYTES {
                return (None, true);
            }
            let Ok(mut json) = serde_json::from_str::<Value>(text) else {
                // A cut or broken document cannot be rewritten field by field: drop it.
                return (None, true);
            };
            self.hide_secret_json_points(&mut json, side);
            self.sanitize_json(&mut json, "");
            json.to_string()
        } else if is_form {
            self.sanitize_pairs(text, false)
        } else {
            return (None, false);
        };
        if sanitized.len() <= MAX_SAMPLE_BODY_BYTES {
            return (Some(sanitized.into_bytes()), false);
        }
        let cut = sessionscope_model::prefix_within(&sanitized, MAX_SAMPLE_BODY_BYTES);
        (Some(cut.as_bytes().to_vec()), true)
    }
}

/// Which side of the exchange a header or body is on.
#[derive(Clone, Copy)]
enum Side {
    Request,
    Response,
}

fn resolve_mut<'v>(root: &'v mut Value, path: &JsonPath) -> Option<&'v mut Value> {
    let mut node = root;
    for step in &path.0 {
        node = match step {
            PathStep::Key(key) => node.as_object_mut()?.get_mut(key)?,
            PathStep::Index(index) => node.as_array_mut()?.get_mut(*index)?,
        };
    }
    Some(node)
}

/// The 32 hex characters of a `hmac-<hash>` marker.
fn stored_hash_marker(value: &str) -> Option<&str> {
    let hash = value.strip_prefix(SAMPLE_HASH_PREFIX)?;
    let is_hash = hash.len() == 32 && hash.bytes().all(|byte| byte.is_ascii_hexdigit());
    is_hash.then_some(hash)
}

fn without_user_information(authority: &str) -> String {
    authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host)
        .to_string()
}

/// Runs of digits (with single spaces or dashes between them) that look like a card number
/// become `***`.
fn mask_card_runs(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    if bytes.iter().filter(|byte| byte.is_ascii_digit()).count() < 13 {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut position = 0;
    let mut index = 0;
    while index < bytes.len() {
        if !bytes[index].is_ascii_digit() {
            index += 1;
            continue;
        }
        let start = index;
        let mut end = index;
        while end < bytes.len()
            && (bytes[end].is_ascii_digit()
                || (matches!(bytes[end], b' ' | b'-')
                    && end + 1 < bytes.len()
                    && bytes[end + 1].is_ascii_digit()))
        {
            end += 1;
        }
        if looks_like_card_number(&text[start..end]) {
            out.push_str(&text[position..start]);
            out.push_str(MASK);
            position = end;
        }
        index = end;
    }
    out.push_str(&text[position..]);
    Cow::Owned(out)
}

/// Percent-encodes a form or query component: unreserved characters and `*` stay as they are.
fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~' | b'*') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jwt::tests::token_with_claims;
    use crate::settings::AnalysisConfig;

    fn analyzer() -> Analyzer {
        Analyzer::new(AnalysisConfig::default(), [7u8; 32])
    }

    fn exchange(
        url: &str,
        request_headers: &[(&str, &str)],
        request_body: Option<&str>,
        response_headers: &[(&str, &str)],
        response_body: Option<&str>,
    ) -> Exchange {
        let headers = |pairs: &[(&str, &str)]| Headers::from_pairs(pairs.iter().copied());
        Exchange {
            id: "e-1".into(),
            ts: 1_795_341_600_000_000,
            request: Request {
                method: "POST".into(),
                url: url.into(),
                headers: headers(request_headers),
                body: request_body.map(|body| body.as_bytes().to_vec()),
                ..Request::default()
            },
            response: Some(Response {
                status: 200,
                headers: headers(response_headers),
                body: response_body.map(|body| body.as_bytes().to_vec()),
                ..Response::default()
            }),
            ..Exchange::default()
        }
    }

    /// Everything of a sample as one text, to look for secrets in.
    fn all_text(sample: &Exchange) -> String {
        let mut text = format!("{} {:?}", sample.request.url, sample.request.headers);
        if let Some(body) = &sample.request.body {
            text.push_str(&String::from_utf8_lossy(body));
        }
        if let Some(response) = &sample.response {
            text.push_str(&format!("{:?}", response.headers));
            if let Some(body) = &response.body {
                text.push_str(&String::from_utf8_lossy(body));
            }
        }
        text
    }

    fn point(text: &str) -> Point {
        text.parse().unwrap()
    }

    #[test]
    fn every_kind_of_secret_is_gone_from_a_sample() {
        let token = token_with_claims(r#"{"sub":"u-1","role":"admin"}"#);
        let signature = token.rsplit('.').next().unwrap().to_string();
        let authorization = format!("Bearer {token}");
        let response_body = format!(r#"{{"access_token":"{token}","user":{{"id":7}}}}"#);
        let original = exchange(
            "https://ann:url-pass-1@api.example.com/v1/orders?access_token=qs-token-1&page=2&code=auth-code-9&card=4111111111111111",
            &[
                ("Authorization", authorization.as_str()),
                ("Cookie", "sessionid=cookie-secret-1; theme=dark"),
                ("X-API-Key", "pk_live_key_1"),
                ("X-Password", "header-pass-1"),
                ("Content-Type", "application/json"),
            ],
            Some(r#"{"email":"ann@example.com","password":"hunter2-x","nested":{"refresh_token":"rt-secret-1","pin":[1234]},"card":"4111 1111 1111 1111"}"#),
            &[("Set-Cookie", "sid=issued-cookie-1; Path=/; Expires=Wed, 21 Oct 2026 07:28:00 GMT, other=issued-cookie-2; HttpOnly")],
            Some(&response_body),
        );
        let sample = analyzer().sanitize_sample(&original);
        let text = all_text(&sample);
        for secret in [
            "url-pass-1",
            "qs-token-1",
            "auth-code-9",
            "4111111111111111",
            "4111 1111 1111 1111",
            signature.as_str(),
            "cookie-secret-1",
            "pk_live_key_1",
            "header-pass-1",
            "hunter2-x",
            "rt-secret-1",
            "1234",
            "issued-cookie-1",
            "issued-cookie-2",
        ] {
            assert!(
                !text.contains(secret),
                "`{secret}` is in the sample: {text}"
            );
        }
        // What is not secret stays readable.
        for kept in [
            "ann@example.com",
            "page=2",
            "theme=hmac-",
            "Path=/",
            "\"id\":7",
        ] {
            assert!(text.contains(kept), "`{kept}` was lost: {text}");
        }
    }

    #[test]
    fn previews_of_a_sample_equal_previews_of_the_original() {
        let token = token_with_claims(r#"{"sub":"u-1","realm":{"roles":["admin","ops"]}}"#);
        let authorization = format!("Bearer {token}");
        let original = exchange(
            "/v1/items?access_token=qs-token-1&page=2&variables=%7B%22password%22%3A%22v-pass%22%2C%22id%22%3A5%7D",
            &[
                ("Authorization", authorization.as_str()),
                ("Cookie", "sessionid=cookie-secret-1; id_token="),
                ("X-Tenant", "acme"),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            Some("username=ann&password=form-pass-1&csrf_token=c-1"),
            &[("X-Session-Token", "issued-1")],
            Some(r#"{"data":{"token":"opaque-1","name":"Ann"}}"#),
        );
        // Claims keep their values in a sample when a clear context parameter reads them.
        let analyzer = analyzer_with(
            r#"
[[context]]
name = "user"
point = "request.header.authorization.jwt.sub"

[[context]]
name = "roles"
point = "request.header.authorization.jwt.realm.roles"
type = "role"
"#,
        );
        let sample = analyzer.sanitize_sample(&original);
        let cases = [
            ("request.header.authorization", StoredAs::Hashed),
            ("request.header.authorization.jwt.sub", StoredAs::Clear),
            (
                "request.header.authorization.jwt.realm.roles",
                StoredAs::Clear,
            ),
            ("request.cookie.sessionid", StoredAs::Hashed),
            ("request.header.x-tenant", StoredAs::Clear),
            ("request.query.access_token", StoredAs::Hashed),
            ("request.query.page", StoredAs::Clear),
            ("request.graphql.id", StoredAs::Clear),
            ("request.graphql.password", StoredAs::Masked),
            ("request.form.username", StoredAs::Clear),
            ("request.form.password", StoredAs::Masked),
            ("request.form.csrf_token", StoredAs::Hashed),
            ("response.header.x-session-token", StoredAs::Hashed),
            ("response.json.data.token", StoredAs::Hashed),
            ("response.json.data.name", StoredAs::Clear),
        ];
        for (text, stored_as) in cases {
            let point = point(text);
            let expected = analyzer.preview(&point, &original);
            assert_eq!(
                expected.as_ref().map(|(_, kind)| *kind),
                Some(stored_as),
                "{text} on the original"
            );
            assert_eq!(
                analyzer.preview_sample(&point, &sample),
                expected,
                "{text} previews alike on the sample"
            );
        }
        assert_eq!(
            analyzer.preview_sample(&point("request.header.authorization.jwt.sub"), &sample),
            Some(("u-1".to_string(), StoredAs::Clear))
        );
        assert_eq!(
            analyzer.preview_sample(&point("request.header.x-missing"), &sample),
            None
        );
    }

    fn analyzer_with(settings: &str) -> Analyzer {
        let settings: crate::settings::AnalysisSettings = toml::from_str(settings).unwrap();
        Analyzer::new(settings.validate().unwrap(), [7u8; 32])
    }

    /// Every base64 (standard and url-safe, unpadded) form of `value` at the three alignments
    /// it can have inside a longer base64 text, as searched for in the sample.
    fn base64_forms(value: &str) -> Vec<String> {
        use base64::Engine;
        let mut forms = Vec::new();
        for offset in 0..3 {
            let padded = format!("{}{value}", "a".repeat(offset));
            for engine in [
                base64::engine::general_purpose::STANDARD_NO_PAD,
                base64::engine::general_purpose::URL_SAFE_NO_PAD,
            ] {
                let encoded = engine.encode(padded.as_bytes());
                // Drop the characters that also depend on the bytes before and after.
                let skip = if offset == 0 {
                    0
                } else {
                    (offset * 8).div_ceil(6)
                };
                let keep_bytes = (offset + value.len()) * 8 / 6;
                if keep_bytes > skip + 4 {
                    forms.push(encoded[skip..keep_bytes].to_string());
                }
            }
        }
        forms
    }

    #[test]
    fn the_session_claim_of_a_jwt_is_not_readable_in_a_sample_even_as_base64() {
        let analyzer = analyzer_with(
            r#"
[[session_keys]]
points = ["request.header.x-token.jwt.tenant"]

[[context]]
name = "user"
point = "request.header.authorization.jwt.sub"
type = "user"

[[context]]
name = "email"
point = "request.header.authorization.jwt.email"
hashed = true
"#,
        );
        let token = token_with_claims(
            r#"{"sub":"u-visible-1","sid":"sid-secret-4711","tenant":"tenant-secret-93","email":"ann-secret@example.com","exp":1795341600,"admin":true}"#,
        );
        let authorization = format!("Bearer {token}");
        let original = exchange(
            &format!("/v1/items?next={token}"),
            &[
                ("Authorization", authorization.as_str()),
                ("X-Token", token.as_str()),
            ],
            Some(&format!(r#"{{"note":"see {token} here"}}"#)),
            &[],
            None,
        );
        let sample = analyzer.sanitize_sample(&original);
        let text = all_text(&sample);
        for secret in [
            "sid-secret-4711",
            "tenant-secret-93",
            "ann-secret@example.com",
        ] {
            assert!(
                !text.contains(secret),
                "`{secret}` is in the sample: {text}"
            );
            for form in base64_forms(secret) {
                assert!(
                    !text.contains(&form),
                    "`{secret}` is in the sample as base64 `{form}`: {text}"
                );
            }
        }
        // Claim names and types stay, and the clear context claim keeps its value.
        let claims = |point_text: &str| analyzer.preview_sample(&point(point_text), &sample);
        assert_eq!(
            claims("request.header.authorization.jwt.sub"),
            Some(("u-visible-1".to_string(), StoredAs::Clear))
        );
        assert_eq!(
            claims("request.header.authorization.jwt.sid").map(|(_, kind)| kind),
            Some(StoredAs::Masked)
        );
        assert_eq!(
            claims("request.header.authorization.jwt.exp"),
            Some(("0".to_string(), StoredAs::Clear))
        );
        assert_eq!(
            claims("request.header.authorization.jwt.admin"),
            Some(("true".to_string(), StoredAs::Clear))
        );
    }

    #[test]
    fn bodies_a_point_cannot_read_are_dropped_and_long_ones_cut() {
        let analyzer = analyzer();
        let html = exchange(
            "/",
            &[("Content-Type", "text/html")],
            Some("<input name=password value=html-pass-1>"),
            &[],
            None,
        );
        assert_eq!(analyzer.sanitize_sample(&html).request.body, None);
        let broken = exchange(
            "/",
            &[("Content-Type", "application/json")],
            Some(r#"{"password":"cut-pass-1","#),
            &[],
            None,
        );
        let sample = analyzer.sanitize_sample(&broken);
        assert_eq!(sample.request.body, None);
        assert!(sample.request.body_truncated);
        let long_value = "x".repeat(MAX_SAMPLE_BODY_BYTES * 2);
        let long = exchange(
            "/",
            &[("Content-Type", "application/json")],
            Some(&format!(r#"{{"text":"{long_value}"}}"#)),
            &[],
            None,
        );
        let sample = analyzer.sanitize_sample(&long);
        assert_eq!(
            sample.request.body.as_ref().map(Vec::len),
            Some(MAX_SAMPLE_BODY_BYTES)
        );
        assert!(sample.request.body_truncated);
    }

    #[test]
    fn embedded_tokens_and_cards_in_free_text_are_scrubbed() {
        let analyzer = analyzer();
        let token = token_with_claims(r#"{"sub":"u-2"}"#);
        let signature = token.rsplit('.').next().unwrap();
        let text = format!("see {token}. card 5500-0000-0000-0004 ok; id 12345");
        let scrubbed = analyzer.scrub_text(&text);
        assert!(!scrubbed.contains(signature), "{scrubbed}");
        assert!(!scrubbed.contains("5500-0000-0000-0004"), "{scrubbed}");
        assert!(scrubbed.ends_with("*** ok; id 12345"), "{scrubbed}");
        assert!(scrubbed.starts_with("see eyJ"), "{scrubbed}");
        // Odd input never panics.
        for odd in ["eyJ", "xeyJ.eyJ", "é eyJé", "eyJ....", "1234567890123 4"] {
            let _ = analyzer.scrub_text(odd);
        }
    }
}
