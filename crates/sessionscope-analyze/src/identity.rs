//! Session identity (PRODUCT.md S1–S5, DESIGN.md "Session identity"): which key groups an exchange,
//! and the normalized value its session id is derived from. The raw value never leaves this crate:
//! callers get the key's label and the HMAC of the normalized value only.

use memchr::memmem::Finder;

use crate::extract::extract_first;
use crate::jwt;
use crate::settings::GroupingKey;
use crate::view::{contains_ignore_case, ExchangeView};

/// Well-known session cookies, in the order they are tried (names compared case-insensitively).
pub(crate) const SESSION_COOKIES: &[&str] = &[
    "PHPSESSID",
    "JSESSIONID",
    "ASP.NET_SessionId",
    "connect.sid",
    "sessionid",
    "session",
    "laravel_session",
    "_session_id",
    "ci_session",
    "CAKEPHP",
    "rack.session",
    "koa.sess",
    "next-auth.session-token",
    "__Secure-next-auth.session-token",
    "sid",
];

/// Request headers that carry a session id, in order.
pub(crate) const SESSION_HEADERS: &[&str] = &[
    "session-id",
    "x-session-id",
    "x-session-token",
    "mcp-session-id",
];

/// Request headers that carry an API key, in order.
pub(crate) const API_KEY_HEADERS: &[&str] = &["x-api-key", "api-key"];

/// Top-level properties of a JSON response that issue a token, in order.
pub(crate) const RESPONSE_TOKEN_PROPERTIES: &[&str] = &["access_token", "id_token", "token"];

/// What every issued-token property ends with; `Analyzer` keeps a searcher for it.
pub(crate) const ISSUED_TOKEN_NEEDLE: &[u8] = b"token\"";

/// Response bodies larger than this are not searched for issued tokens (login answers are small).
pub(crate) const MAX_TOKEN_RESPONSE_BYTES: usize = 64 * 1024;

/// `(label, description)` of every built-in key, in the order they are tried after the user keys.
pub const BUILTIN_KEYS: &[(&str, &str)] = &[
    (
        "builtin:cookie.PHPSESSID",
        "PHP session cookie in the request",
    ),
    (
        "builtin:cookie.JSESSIONID",
        "Java servlet session cookie in the request",
    ),
    (
        "builtin:cookie.ASP.NET_SessionId",
        "ASP.NET session cookie in the request",
    ),
    (
        "builtin:cookie.connect.sid",
        "Express (connect) session cookie in the request",
    ),
    (
        "builtin:cookie.sessionid",
        "Django-style `sessionid` cookie in the request",
    ),
    (
        "builtin:cookie.session",
        "`session` cookie (Flask, Spring Session) in the request",
    ),
    (
        "builtin:cookie.laravel_session",
        "Laravel session cookie in the request",
    ),
    (
        "builtin:cookie._session_id",
        "Rails-style `_session_id` cookie in the request",
    ),
    (
        "builtin:cookie.ci_session",
        "CodeIgniter session cookie in the request",
    ),
    (
        "builtin:cookie.CAKEPHP",
        "CakePHP session cookie in the request",
    ),
    (
        "builtin:cookie.rack.session",
        "Rack session cookie in the request",
    ),
    (
        "builtin:cookie.koa.sess",
        "Koa session cookie in the request",
    ),
    (
        "builtin:cookie.next-auth.session-token",
        "NextAuth session cookie in the request",
    ),
    (
        "builtin:cookie.__Secure-next-auth.session-token",
        "NextAuth secure session cookie in the request",
    ),
    ("builtin:cookie.sid", "`sid` cookie in the request"),
    ("builtin:header.session-id", "`Session-Id` request header"),
    (
        "builtin:header.x-session-id",
        "`X-Session-Id` request header",
    ),
    (
        "builtin:header.x-session-token",
        "`X-Session-Token` request header",
    ),
    (
        "builtin:header.mcp-session-id",
        "`Mcp-Session-Id` request header (MCP)",
    ),
    (
        "builtin:bearer.sid",
        "the `sid` claim of a JWT in `Authorization: Bearer`",
    ),
    ("builtin:bearer", "the token in `Authorization: Bearer`"),
    ("builtin:header.x-api-key", "`X-API-Key` request header"),
    ("builtin:header.api-key", "`Api-Key` request header"),
    (
        "builtin:set-cookie.PHPSESSID",
        "PHP session cookie issued by the response",
    ),
    (
        "builtin:set-cookie.JSESSIONID",
        "Java servlet session cookie issued by the response",
    ),
    (
        "builtin:set-cookie.ASP.NET_SessionId",
        "ASP.NET session cookie issued by the response",
    ),
    (
        "builtin:set-cookie.connect.sid",
        "Express session cookie issued by the response",
    ),
    (
        "builtin:set-cookie.sessionid",
        "`sessionid` cookie issued by the response",
    ),
    (
        "builtin:set-cookie.session",
        "`session` cookie issued by the response",
    ),
    (
        "builtin:set-cookie.laravel_session",
        "Laravel session cookie issued by the response",
    ),
    (
        "builtin:set-cookie._session_id",
        "`_session_id` cookie issued by the response",
    ),
    (
        "builtin:set-cookie.ci_session",
        "CodeIgniter session cookie issued by the response",
    ),
    (
        "builtin:set-cookie.CAKEPHP",
        "CakePHP session cookie issued by the response",
    ),
    (
        "builtin:set-cookie.rack.session",
        "Rack session cookie issued by the response",
    ),
    (
        "builtin:set-cookie.koa.sess",
        "Koa session cookie issued by the response",
    ),
    (
        "builtin:set-cookie.next-auth.session-token",
        "NextAuth session cookie issued by the response",
    ),
    (
        "builtin:set-cookie.__Secure-next-auth.session-token",
        "NextAuth secure session cookie issued by the response",
    ),
    (
        "builtin:set-cookie.sid",
        "`sid` cookie issued by the response",
    ),
    (
        "builtin:response.header.mcp-session-id",
        "`Mcp-Session-Id` header issued by the response (MCP initialize)",
    ),
    (
        "builtin:response.access_token",
        "top-level `access_token` of a JSON response (login, OAuth token)",
    ),
    (
        "builtin:response.id_token",
        "top-level `id_token` of a JSON response (OpenID Connect)",
    ),
    (
        "builtin:response.token",
        "top-level `token` of a JSON response",
    ),
    (
        "builtin:ip+user-agent",
        "client IP and User-Agent together (the User-Agent alone when the IP is unknown)",
    ),
    ("builtin:ip", "client IP alone"),
    (
        "builtin:none",
        "nothing identifies the client: one session per host",
    ),
];

/// The key that grouped an exchange: its label and the bytes its session id is the HMAC of.
pub(crate) struct KeyMatch {
    pub label: String,
    pub material: Vec<u8>,
}

/// Trimmed, a `Bearer ` prefix dropped; a JWT with a `sid` claim becomes that sid, so the same
/// token meets itself whichever key found it. `None` for an empty value.
pub(crate) fn normalize_key_value(view: &ExchangeView<'_>, raw: &str) -> Option<String> {
    let value = jwt::strip_bearer(raw);
    if value.is_empty() {
        return None;
    }
    if let Some(claims) = view.jwt_claims(value) {
        if let Some(sid) = jwt::session_claim(&claims) {
            return Some(sid);
        }
    }
    Some(value.to_string())
}

/// Several parts hashed together, unambiguously: a kind prefix, then each part as its byte length
/// (4 bytes, little-endian) and the bytes, so no value can imitate a separator.
fn encode_parts(kind: &str, parts: &[&[u8]]) -> Vec<u8> {
    let mut material =
        Vec::with_capacity(kind.len() + parts.iter().map(|part| part.len() + 5).sum::<usize>());
    material.extend_from_slice(kind.as_bytes());
    for part in parts {
        material.push(0x1f);
        material.extend_from_slice(&(part.len() as u32).to_le_bytes());
        material.extend_from_slice(part);
    }
    material
}

/// The address as bytes (4 or 16): fallback keys hash it in binary, which is cheaper than text
/// and cannot meet a user key's text value anyway because of the kind prefix.
fn ip_bytes(ip: std::net::IpAddr) -> ([u8; 16], usize) {
    let mut bytes = [0u8; 16];
    match ip {
        std::net::IpAddr::V4(v4) => {
            bytes[..4].copy_from_slice(&v4.octets());
            (bytes, 4)
        }
        std::net::IpAddr::V6(v6) => (v6.octets(), 16),
    }
}

fn single(label: String, value: String) -> KeyMatch {
    KeyMatch {
        label,
        material: value.into_bytes(),
    }
}

/// The first user key (session_keys, then group_by context) present in the exchange.
pub(crate) fn custom_key(view: &ExchangeView<'_>, keys: &[GroupingKey]) -> Option<KeyMatch> {
    'keys: for key in keys {
        if let [point] = key.points.as_slice() {
            let Some(raw) = extract_first(point, view) else {
                continue;
            };
            let Some(value) = normalize_key_value(view, &raw) else {
                continue;
            };
            return Some(single(key.label.clone(), value));
        }
        let mut parts = Vec::with_capacity(key.points.len());
        for point in &key.points {
            let Some(raw) = extract_first(point, view) else {
                continue 'keys;
            };
            let Some(value) = normalize_key_value(view, &raw) else {
                continue 'keys;
            };
            parts.push(value);
        }
        let part_bytes: Vec<&[u8]> = parts.iter().map(String::as_bytes).collect();
        return Some(KeyMatch {
            label: key.label.clone(),
            material: encode_parts("composite", &part_bytes),
        });
    }
    None
}

fn known_cookie<'c>(cookies: &[(&str, &'c str)], name: &str) -> Option<&'c str> {
    cookies
        .iter()
        .find(|(candidate, value)| {
            candidate.eq_ignore_ascii_case(name) && !value.is_empty() && *value != "deleted"
        })
        .map(|(_, value)| *value)
}

/// The built-in keys in documented order; always finds one (`builtin:none` at worst).
pub(crate) fn builtin_key(
    view: &ExchangeView<'_>,
    host: &str,
    token_finder: &Finder<'static>,
) -> KeyMatch {
    let request = &view.exchange.request;

    if request.headers.get("cookie").is_some() {
        let cookies = view.request_cookies();
        for name in SESSION_COOKIES {
            if let Some(value) =
                known_cookie(cookies, name).and_then(|raw| normalize_key_value(view, raw))
            {
                return single(format!("builtin:cookie.{name}"), value);
            }
        }
    }

    for name in SESSION_HEADERS {
        if let Some(value) = view
            .request_header(name)
            .and_then(|raw| normalize_key_value(view, raw))
        {
            return single(format!("builtin:header.{name}"), value);
        }
    }

    if let Some(authorization) = view.request_header("authorization") {
        let token = jwt::strip_bearer(authorization);
        let is_bearer = token.len() < authorization.trim_ascii().len();
        if is_bearer && !token.is_empty() {
            if let Some(sid) = view
                .jwt_claims(token)
                .and_then(|claims| jwt::session_claim(&claims))
            {
                return single("builtin:bearer.sid".to_string(), sid);
            }
            return single("builtin:bearer".to_string(), token.to_string());
        }
    }

    for name in API_KEY_HEADERS {
        if let Some(value) = view
            .request_header(name)
            .and_then(|raw| normalize_key_value(view, raw))
        {
            return single(format!("builtin:header.{name}"), value);
        }
    }

    if let Some(response) = &view.exchange.response {
        if response.headers.get("set-cookie").is_some() {
            let cookies = view.response_cookies();
            for name in SESSION_COOKIES {
                if let Some(value) =
                    known_cookie(cookies, name).and_then(|raw| normalize_key_value(view, raw))
                {
                    return single(format!("builtin:set-cookie.{name}"), value);
                }
            }
        }
        if let Some(value) = view
            .response_header("mcp-session-id")
            .and_then(|raw| normalize_key_value(view, raw))
        {
            return single("builtin:response.header.mcp-session-id".to_string(), value);
        }
        if let Some(found) = issued_token(view, token_finder) {
            return found;
        }
    }

    let user_agent = view
        .request_header("user-agent")
        .map(str::trim_ascii)
        .filter(|agent| !agent.is_empty());
    let ip = view.exchange.client_ip.map(ip_bytes);
    let ip = ip.as_ref().map(|(bytes, length)| &bytes[..*length]);
    match (ip, user_agent) {
        (Some(ip), Some(agent)) => KeyMatch {
            label: "builtin:ip+user-agent".to_string(),
            material: encode_parts("ip+ua", &[ip, agent.as_bytes()]),
        },
        (None, Some(agent)) => KeyMatch {
            label: "builtin:ip+user-agent".to_string(),
            material: encode_parts("ip+ua", &[b"", agent.as_bytes()]),
        },
        (Some(ip), None) => KeyMatch {
            label: "builtin:ip".to_string(),
            material: encode_parts("ip", &[ip]),
        },
        (None, None) => KeyMatch {
            label: "builtin:none".to_string(),
            material: encode_parts("none", &[host.as_bytes()]),
        },
    }
}

/// A token issued in a small JSON response body (`{"access_token": "..."}`).
fn issued_token(view: &ExchangeView<'_>, token_finder: &Finder<'static>) -> Option<KeyMatch> {
    let response = view.exchange.response.as_ref()?;
    let body = response.body.as_deref()?;
    if body.len() > MAX_TOKEN_RESPONSE_BYTES {
        return None;
    }
    // Cheap filter before parsing: every property looked for ends in `token"`.
    token_finder.find(body)?;
    let declared_json = response
        .headers
        .get("content-type")
        .is_some_and(|value| contains_ignore_case(value, "json"));
    let starts_like_object = body.iter().find(|byte| !byte.is_ascii_whitespace()) == Some(&b'{');
    if !declared_json && !starts_like_object {
        return None;
    }
    let document = view.response_json()?.as_object()?;
    for property in RESPONSE_TOKEN_PROPERTIES {
        let Some(serde_json::Value::String(raw)) = document.get(*property) else {
            continue;
        };
        if let Some(value) = normalize_key_value(view, raw) {
            return Some(single(format!("builtin:response.{property}"), value));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_key_list_matches_the_order_the_code_tries() {
        let mut expected: Vec<String> = Vec::new();
        expected.extend(
            SESSION_COOKIES
                .iter()
                .map(|name| format!("builtin:cookie.{name}")),
        );
        expected.extend(
            SESSION_HEADERS
                .iter()
                .map(|name| format!("builtin:header.{name}")),
        );
        expected.push("builtin:bearer.sid".into());
        expected.push("builtin:bearer".into());
        expected.extend(
            API_KEY_HEADERS
                .iter()
                .map(|name| format!("builtin:header.{name}")),
        );
        expected.extend(
            SESSION_COOKIES
                .iter()
                .map(|name| format!("builtin:set-cookie.{name}")),
        );
        expected.push("builtin:response.header.mcp-session-id".into());
        expected.extend(
            RESPONSE_TOKEN_PROPERTIES
                .iter()
                .map(|name| format!("builtin:response.{name}")),
        );
        expected.extend([
            "builtin:ip+user-agent".to_string(),
            "builtin:ip".into(),
            "builtin:none".into(),
        ]);
        let labels: Vec<String> = BUILTIN_KEYS
            .iter()
            .map(|(label, _)| label.to_string())
            .collect();
        assert_eq!(labels, expected);
    }

    #[test]
    fn parts_are_encoded_unambiguously() {
        assert_ne!(
            encode_parts("ip+ua", &[b"1", b"23"]),
            encode_parts("ip+ua", &[b"12", b"3"])
        );
        assert_ne!(
            encode_parts("ip+ua", &[b"", b"a"]),
            encode_parts("ip", &[b"a"])
        );
    }
}
