//! Recognising JSON Web Tokens and reading their claims. Signatures are not checked: the pipeline
//! only needs what a token says about its session and user, not whether to trust it.

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use serde_json::Value;
use std::rc::Rc;

use crate::memory::{new_memory, recall, Memory};

/// Base64url that accepts payloads with or without `=` padding, as both occur in the wild.
const BASE64URL_ANY_PADDING: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Payloads larger than this are not decoded: no real token is that big, and a hostile one
/// should not cost more than a bounded amount of work.
const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Removes a leading `Bearer ` (any case) and surrounding whitespace.
pub(crate) fn strip_bearer(value: &str) -> &str {
    let trimmed = value.trim_ascii();
    if trimmed.len() > 7 && trimmed.as_bytes()[..7].eq_ignore_ascii_case(b"bearer ") {
        return trimmed[7..].trim_ascii_start();
    }
    trimmed
}

/// Bytes that may appear in a part of a compact token: base64url and `=` padding.
const TOKEN_PART_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        let character = byte as u8;
        table[byte] = character.is_ascii_alphanumeric()
            || character == b'-'
            || character == b'_'
            || character == b'=';
        byte += 1;
    }
    table
};

/// True for a compact JWS (three base64url parts) or JWE (five parts) whose header is JSON
/// (base64url of `{"` is `eyJ`).
pub(crate) fn looks_like_jwt(value: &str) -> bool {
    let bytes = value.as_bytes();
    if bytes.len() < 16 || !bytes.starts_with(b"eyJ") {
        return false;
    }
    let mut dots = 0;
    for &byte in bytes {
        if byte == b'.' {
            dots += 1;
        } else if !TOKEN_PART_BYTES[byte as usize] {
            return false;
        }
    }
    dots == 2 || dots == 4
}

/// The claims of a signed JWT, when the value is one and its payload is a JSON object.
#[cfg(test)]
pub(crate) fn decode_claims(token: &str) -> Option<Value> {
    if !looks_like_jwt(token) {
        return None;
    }
    decode_checked_claims(token)
}

/// `decode_claims` for a value already known to look like a JWT.
pub(crate) fn decode_checked_claims(token: &str) -> Option<Value> {
    if token.len() > MAX_TOKEN_BYTES {
        return None;
    }
    let mut parts = token.split('.');
    let _header = parts.next()?;
    let payload = parts.next()?;
    let _signature = parts.next()?;
    if parts.next().is_some() {
        // Five parts: an encrypted token, whose payload cannot be read.
        return None;
    }
    let decoded = BASE64URL_ANY_PADDING
        .decode(payload.trim_end_matches('='))
        .ok()?;
    match serde_json::from_slice::<Value>(&decoded) {
        Ok(claims @ Value::Object(_)) => Some(claims),
        _ => None,
    }
}

/// Claims as a JWT payload: base64url of their JSON, without padding.
pub(crate) fn encode_claims(claims: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.to_string())
}

/// Tokens a thread decoded lately. A client sends the same token with every request of a
/// session, so most exchanges find their claims here instead of decoding base64 and JSON again.
const CACHED_TOKENS: usize = 4_096;

thread_local! {
    // Keyed by whole tokens of a few hundred bytes: foldhash reads them several times faster
    // than the standard SipHash, and its random per-process seed makes collisions hard to craft
    // (the memory is bounded either way).
    static DECODED: Memory<Box<str>, Option<Rc<Value>>> = new_memory(CACHED_TOKENS);
}

/// The claims of `token` when it looks like a JWT, remembered per thread (at most
/// `CACHED_TOKENS` tokens, then it starts over, which bounds its memory whatever the traffic).
/// The shape is checked only for tokens not remembered: a hit costs one hash of the token.
pub(crate) fn cached_claims(token: &str) -> Option<Rc<Value>> {
    DECODED.with(|memory| {
        recall(memory, CACHED_TOKENS, token, || {
            if !looks_like_jwt(token) {
                return None;
            }
            decode_checked_claims(token).map(Rc::new)
        })
    })
}

/// The `sid` claim of a token as text, when present and a string or number.
pub(crate) fn session_claim(claims: &Value) -> Option<String> {
    match claims.get("sid")? {
        Value::String(text) if !text.trim().is_empty() => Some(text.trim().to_string()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds an unsigned-looking token with the given claims, for tests across the crate.
    pub(crate) fn token_with_claims(claims: &str) -> String {
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.c2lnbmF0dXJl",
            engine.encode(br#"{"alg":"HS256","typ":"JWT"}"#),
            engine.encode(claims.as_bytes())
        )
    }

    #[test]
    fn claims_are_read_from_a_token() {
        let token = token_with_claims(r#"{"sub":"42","sid":"s-1","role":["a","b"]}"#);
        assert!(looks_like_jwt(&token));
        let claims = decode_claims(&token).unwrap();
        assert_eq!(claims["sub"], "42");
        assert_eq!(session_claim(&claims).as_deref(), Some("s-1"));
    }

    #[test]
    fn the_example_token_of_the_exchange_format_decodes() {
        let claims =
            decode_claims("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiIsInJvbGUiOiJ1c2VyIn0.c2ln").unwrap();
        assert_eq!(claims["role"], "user");
        assert_eq!(session_claim(&claims), None);
    }

    #[test]
    fn non_tokens_are_rejected_without_panicking() {
        for value in [
            "",
            "eyJ",
            "eyJhbGciOi.x",
            "abc.def.ghi",
            "eyJ!!!!!!!!!!!!!!!.a.b",
            "eyJhbGciOiJIUzI1NiJ9.%%%%.c2ln",
        ] {
            assert!(decode_claims(value).is_none(), "{value}");
        }
        assert!(decode_claims("eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.c2ln").is_none());
    }

    #[test]
    fn bearer_prefix_is_stripped_in_any_case() {
        assert_eq!(strip_bearer("  Bearer abc "), "abc");
        assert_eq!(strip_bearer("bearer   abc"), "abc");
        assert_eq!(strip_bearer("Basic abc"), "Basic abc");
        assert_eq!(strip_bearer("Bearer"), "Bearer");
    }
}
