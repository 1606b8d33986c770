//! A read-only view of one exchange that parses its parts lazily and at most once: cookies, the query
//! string, form and JSON bodies and JWT claims are only decoded when a point or a built-in key asks
//! for them, which keeps the common exchange cheap.

pub(crate) use sessionscope_model::{split_url, UrlParts};
use std::borrow::Cow;
use std::cell::OnceCell;
use std::rc::Rc;

use percent_encoding::percent_decode_str;
use serde_json::Value;
pub(crate) use sessionscope_model::contains_ignore_case;
use sessionscope_model::{cookie_pairs, header_parameter, strip_quotes, Exchange, Headers};

use crate::jwt;

/// JSON bodies above this size are not parsed for points: the values that identify a session or a
/// user sit in small bodies, and a huge document should not cost a request's worth of time.
pub(crate) const MAX_JSON_BODY_BYTES: usize = 1024 * 1024;

/// Decodes one `application/x-www-form-urlencoded` component: `+` is a space, `%XX` a byte;
/// invalid UTF-8 becomes U+FFFD. Borrows when there is nothing to decode.
pub(crate) fn decode_component(text: &str) -> Cow<'_, str> {
    if !text.contains(['%', '+']) {
        return Cow::Borrowed(text);
    }
    let spaced = text.replace('+', " ");
    Cow::Owned(percent_decode_str(&spaced).decode_utf8_lossy().into_owned())
}

/// `name=value&...` pairs, decoded; pieces without `=` have an empty value.
pub(crate) fn parse_pairs(text: &str) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
    let mut pairs = Vec::new();
    for piece in text.split('&') {
        if piece.is_empty() {
            continue;
        }
        let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
        pairs.push((decode_component(name), decode_component(value)));
    }
    pairs
}

fn owned_pairs(
    pairs: Vec<(Cow<'_, str>, Cow<'_, str>)>,
) -> Vec<(Cow<'static, str>, Cow<'static, str>)> {
    pairs
        .into_iter()
        .map(|(name, value)| {
            (
                Cow::Owned(name.into_owned()),
                Cow::Owned(value.into_owned()),
            )
        })
        .collect()
}

/// Cookies of every `Cookie` header, in order.
fn parse_request_cookies(headers: &Headers) -> Vec<(&str, &str)> {
    headers.get_all("cookie").flat_map(cookie_pairs).collect()
}

/// Splits a `Set-Cookie` value that may hold several cookies joined with `,` (some capture tools
/// fold repeated headers). A comma starts a new cookie only when `name=` follows it, which is never
/// the case inside an `Expires` date.
fn split_folded_set_cookie(value: &str) -> impl Iterator<Item = &str> {
    let mut pieces = Vec::new();
    let mut start = 0;
    for (comma, _) in value.match_indices(',') {
        let following = value[comma + 1..].trim_start();
        let name_end = following.find(['=', ';', ',']);
        let starts_cookie = matches!(name_end, Some(end) if end > 0
            && following.as_bytes()[end] == b'='
            && !following[..end].contains(char::is_whitespace));
        if starts_cookie {
            pieces.push(&value[start..comma]);
            start = comma + 1;
        }
    }
    pieces.push(&value[start..]);
    pieces.into_iter()
}

/// Cookies set by every `Set-Cookie` header, in order (attributes dropped).
fn parse_response_cookies(headers: &Headers) -> Vec<(&str, &str)> {
    let mut cookies = Vec::new();
    for header in headers.get_all("set-cookie") {
        for cookie in split_folded_set_cookie(header) {
            let pair = cookie.split(';').next().unwrap_or("");
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            let name = name.trim();
            if name.is_empty() {
                continue;
            }
            cookies.push((name, strip_quotes(value.trim())));
        }
    }
    cookies
}

/// Parses a body as JSON when it says it is JSON or looks like an object or array, and is small enough.
pub(crate) fn parse_json_body(
    body: &[u8],
    content_type: Option<&str>,
    limit: usize,
) -> Option<Value> {
    if body.is_empty() || body.len() > limit {
        return None;
    }
    let declared_json = content_type.is_some_and(|value| contains_ignore_case(value, "json"));
    let first = body.iter().find(|byte| !byte.is_ascii_whitespace())?;
    if !declared_json && *first != b'{' && *first != b'[' {
        return None;
    }
    serde_json::from_slice(body).ok()
}

/// Simple fields of a `multipart/form-data` body; file parts are skipped.
fn parse_multipart(body: &[u8], boundary: &str) -> Vec<(Cow<'static, str>, Cow<'static, str>)> {
    let mut fields = Vec::new();
    let delimiter = format!("--{boundary}");
    let finder = memchr::memmem::Finder::new(delimiter.as_bytes());
    let positions: Vec<usize> = finder.find_iter(body).collect();
    for window in positions.windows(2) {
        let part = &body[window[0] + delimiter.len()..window[1]];
        let Some(header_end) = memchr::memmem::find(part, b"\r\n\r\n")
            .map(|end| (end, 4))
            .or_else(|| memchr::memmem::find(part, b"\n\n").map(|end| (end, 2)))
        else {
            continue;
        };
        let head = String::from_utf8_lossy(&part[..header_end.0]);
        let mut content = &part[header_end.0 + header_end.1..];
        content = content
            .strip_suffix(b"\r\n")
            .or_else(|| content.strip_suffix(b"\n"))
            .unwrap_or(content);
        let disposition = head
            .lines()
            .find_map(|line| {
                line.split_once(':')
                    .filter(|(name, _)| name.trim().eq_ignore_ascii_case("content-disposition"))
            })
            .map(|(_, value)| value.trim().to_string());
        let Some(disposition) = disposition else {
            continue;
        };
        if header_parameter(&disposition, "filename").is_some() {
            continue;
        }
        let Some(name) = header_parameter(&disposition, "name") else {
            continue;
        };
        fields.push((
            Cow::Owned(name.to_string()),
            Cow::Owned(String::from_utf8_lossy(content).into_owned()),
        ));
    }
    fields
}

/// The lazily parsed exchange. Lives for one `analyze` call on one thread.
pub(crate) struct ExchangeView<'a> {
    pub exchange: &'a Exchange,
    pub url: UrlParts<'a>,
    request_cookies: OnceCell<Vec<(&'a str, &'a str)>>,
    query_pairs: OnceCell<Vec<(Cow<'a, str>, Cow<'a, str>)>>,
    form_pairs: OnceCell<Vec<(Cow<'a, str>, Cow<'a, str>)>>,
    request_json: OnceCell<Option<Value>>,
    graphql_variables: OnceCell<Vec<Value>>,
    response_cookies: OnceCell<Vec<(&'a str, &'a str)>>,
    response_json: OnceCell<Option<Value>>,
}

impl<'a> ExchangeView<'a> {
    pub fn new(exchange: &'a Exchange) -> ExchangeView<'a> {
        ExchangeView {
            exchange,
            url: split_url(&exchange.request.url),
            request_cookies: OnceCell::new(),
            query_pairs: OnceCell::new(),
            form_pairs: OnceCell::new(),
            request_json: OnceCell::new(),
            graphql_variables: OnceCell::new(),
            response_cookies: OnceCell::new(),
            response_json: OnceCell::new(),
        }
    }

    pub fn request_header(&self, name: &str) -> Option<&'a str> {
        self.exchange.request.headers.get(name)
    }

    pub fn response_header(&self, name: &str) -> Option<&'a str> {
        self.exchange.response.as_ref()?.headers.get(name)
    }

    pub fn request_cookies(&self) -> &[(&'a str, &'a str)] {
        self.request_cookies
            .get_or_init(|| parse_request_cookies(&self.exchange.request.headers))
    }

    pub fn response_cookies(&self) -> &[(&'a str, &'a str)] {
        self.response_cookies
            .get_or_init(|| match &self.exchange.response {
                Some(response) => parse_response_cookies(&response.headers),
                None => Vec::new(),
            })
    }

    pub fn query_pairs(&self) -> &[(Cow<'a, str>, Cow<'a, str>)] {
        self.query_pairs
            .get_or_init(|| self.url.query.map(parse_pairs).unwrap_or_default())
    }

    pub fn query(&self, name: &str) -> Option<&str> {
        self.query_pairs()
            .iter()
            .find(|(candidate, _)| candidate == name)
            .map(|(_, value)| value.as_ref())
    }

    pub fn form(&self, name: &str) -> Option<&str> {
        let pairs = self.form_pairs.get_or_init(|| self.parse_form());
        pairs
            .iter()
            .find(|(candidate, _)| candidate == name)
            .map(|(_, value)| value.as_ref())
    }

    fn parse_form(&self) -> Vec<(Cow<'a, str>, Cow<'a, str>)> {
        let request = &self.exchange.request;
        let Some(body) = request.body.as_deref() else {
            return Vec::new();
        };
        let content_type = request.headers.get("content-type").unwrap_or("");
        if contains_ignore_case(content_type, "multipart/form-data") {
            return match header_parameter(content_type, "boundary") {
                Some(boundary) if !boundary.is_empty() => parse_multipart(body, boundary),
                _ => Vec::new(),
            };
        }
        let declared_form = contains_ignore_case(content_type, "x-www-form-urlencoded");
        // Without a content type, a body that is not JSON but has `name=value` is read as a form.
        let undeclared_form = content_type.is_empty()
            && body.contains(&b'=')
            && !matches!(
                body.iter().find(|byte| !byte.is_ascii_whitespace()),
                Some(b'{') | Some(b'[')
            );
        if !declared_form && !undeclared_form {
            return Vec::new();
        }
        match std::str::from_utf8(body) {
            Ok(text) => parse_pairs(text),
            Err(_) => owned_pairs(parse_pairs(&String::from_utf8_lossy(body))),
        }
    }

    pub fn request_json(&self) -> Option<&Value> {
        self.request_json
            .get_or_init(|| {
                let request = &self.exchange.request;
                let body = request.body.as_deref()?;
                parse_json_body(
                    body,
                    request.headers.get("content-type"),
                    MAX_JSON_BODY_BYTES,
                )
            })
            .as_ref()
    }

    pub fn response_json(&self) -> Option<&Value> {
        self.response_json
            .get_or_init(|| {
                let response = self.exchange.response.as_ref()?;
                let body = response.body.as_deref()?;
                parse_json_body(
                    body,
                    response.headers.get("content-type"),
                    MAX_JSON_BODY_BYTES,
                )
            })
            .as_ref()
    }

    /// Variable objects of the GraphQL operations in the request: `variables` of a JSON body (each
    /// operation of a batch), or the JSON-encoded `variables` query parameter of a GET.
    pub fn graphql_variables(&self) -> &[Value] {
        self.graphql_variables.get_or_init(|| {
            let mut found = Vec::new();
            let mut take = |variables: &Value| match variables {
                Value::Object(_) => found.push(variables.clone()),
                Value::String(text) => {
                    if let Ok(parsed @ Value::Object(_)) = serde_json::from_str::<Value>(text) {
                        found.push(parsed);
                    }
                }
                _ => {}
            };
            match self.request_json() {
                Some(Value::Object(operation)) => {
                    if let Some(variables) = operation.get("variables") {
                        take(variables);
                    }
                }
                Some(Value::Array(operations)) => {
                    for operation in operations {
                        if let Some(variables) = operation.get("variables") {
                            take(variables);
                        }
                    }
                }
                _ => {}
            }
            if let Some(variables) = self.query("variables") {
                take(&Value::String(variables.to_string()));
            }
            found
        })
    }

    /// Claims of a JWT (a `Bearer ` prefix allowed), decoded once per thread and token.
    pub fn jwt_claims(&self, value: &str) -> Option<Rc<Value>> {
        let token = jwt::strip_bearer(value);
        if !token.starts_with("eyJ") {
            return None;
        }
        jwt::cached_claims(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sessionscope_model::{Request, Response};

    #[test]
    fn urls_split_into_authority_path_and_query() {
        let cases = [
            (
                "https://api.example.com/v1/users/7?expand=1",
                Some("api.example.com"),
                "/v1/users/7",
                Some("expand=1"),
            ),
            (
                "https://api.example.com",
                Some("api.example.com"),
                "/",
                None,
            ),
            (
                "http://user:pw@h:8080?x=1#frag",
                Some("user:pw@h:8080"),
                "/",
                Some("x=1"),
            ),
            ("/v1/users?", None, "/v1/users", Some("")),
            ("/a/b#top", None, "/a/b", None),
            ("*", None, "*", None),
            (
                "/redirect?to=https://x.example/",
                None,
                "/redirect",
                Some("to=https://x.example/"),
            ),
        ];
        for (url, authority, path, query) in cases {
            assert_eq!(
                split_url(url),
                UrlParts {
                    authority,
                    path,
                    query
                },
                "{url}"
            );
        }
    }

    #[test]
    fn pairs_are_percent_and_plus_decoded() {
        let pairs = parse_pairs("q=a+b%20c&name=%C3%A9t%C3%A9&flag&=x&bad=%ZZ");
        let pairs: Vec<(String, String)> = pairs
            .into_iter()
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect();
        assert_eq!(
            pairs,
            vec![
                ("q".to_string(), "a b c".to_string()),
                ("name".to_string(), "été".to_string()),
                ("flag".to_string(), String::new()),
                (String::new(), "x".to_string()),
                ("bad".to_string(), "%ZZ".to_string()),
            ]
        );
    }

    #[test]
    fn folded_set_cookie_headers_are_split_but_dates_are_not() {
        let mut headers = Headers::default();
        headers.push(
            "Set-Cookie",
            "a=1; Expires=Thu, 01 Jan 2026 00:00:00 GMT; Path=/, b=2; HttpOnly",
        );
        headers.push("set-cookie", "c=\"3\"");
        assert_eq!(
            parse_response_cookies(&headers),
            vec![("a", "1"), ("b", "2"), ("c", "3")]
        );
    }

    #[test]
    fn multipart_fields_are_read_and_files_skipped() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"user\"\r\n\r\nann\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nbinary\r\n--XyZ--\r\n";
        let exchange = Exchange {
            request: Request {
                method: "POST".into(),
                url: "/upload".into(),
                headers: Headers::from_pairs([(
                    "Content-Type",
                    "multipart/form-data; boundary=XyZ",
                )]),
                body: Some(body.to_vec()),
                ..Request::default()
            },
            ..Exchange::default()
        };
        let view = ExchangeView::new(&exchange);
        assert_eq!(view.form("user"), Some("ann"));
        assert_eq!(view.form("file"), None);
    }

    #[test]
    fn graphql_variables_come_from_body_batches_and_query() {
        let exchange = Exchange {
            request: Request {
                method: "POST".into(),
                url: "/graphql?variables=%7B%22c%22%3A3%7D".into(),
                body: Some(
                    br#"[{"query":"q","variables":{"a":1}},{"query":"q","variables":"{\"b\":2}"}]"#
                        .to_vec(),
                ),
                ..Request::default()
            },
            response: Some(Response::default()),
            ..Exchange::default()
        };
        let view = ExchangeView::new(&exchange);
        let variables = view.graphql_variables();
        assert_eq!(variables.len(), 3);
        assert_eq!(variables[1]["b"], 2);
        assert_eq!(variables[2]["c"], 3);
    }

    #[test]
    fn json_is_parsed_only_when_declared_or_shaped_like_json() {
        assert!(parse_json_body(b"{\"a\":1}", None, 100).is_some());
        assert!(parse_json_body(b"\"text\"", Some("application/json"), 100).is_some());
        assert!(parse_json_body(b"\"text\"", Some("text/plain"), 100).is_none());
        assert!(parse_json_body(b"{\"a\":1}", None, 3).is_none());
        assert!(parse_json_body(b"{broken", None, 100).is_none());
    }
}
