//! HS256 JSON Web Tokens as the synthetic APIs issue them at login: real base64url segments and
//! a real HMAC signature, claims `iss`, `sub`, `role` (a string, or an array for users with
//! several roles), `iat`, `exp` and a random `jti`. There is deliberately no `sid` claim, so the
//! token itself is the session key. The `jti` keeps two logins of one user in the same second
//! from producing the same token, which would merge two true sessions.

use std::fmt::Write;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// base64url of `{"alg":"HS256","typ":"JWT"}`.
const HEADER_SEGMENT: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

pub(crate) struct Claims<'a> {
    pub issuer: &'a str,
    pub subject: &'a str,
    pub roles: &'a [&'a str],
    pub issued_at_seconds: i64,
    pub expires_at_seconds: i64,
    pub token_id: &'a str,
}

/// Replaces `out` with a signed token for `claims`.
pub(crate) fn mint(out: &mut String, secret: &[u8], claims: &Claims<'_>) {
    let mut payload = String::with_capacity(160);
    payload.push_str("{\"iss\":");
    crate::text::push_json_string(&mut payload, claims.issuer);
    payload.push_str(",\"sub\":");
    crate::text::push_json_string(&mut payload, claims.subject);
    payload.push_str(",\"role\":");
    if claims.roles.len() == 1 {
        crate::text::push_json_string(&mut payload, claims.roles[0]);
    } else {
        payload.push('[');
        for (index, role) in claims.roles.iter().enumerate() {
            if index > 0 {
                payload.push(',');
            }
            crate::text::push_json_string(&mut payload, role);
        }
        payload.push(']');
    }
    let _ = write!(
        payload,
        ",\"iat\":{},\"exp\":{},\"jti\":",
        claims.issued_at_seconds, claims.expires_at_seconds
    );
    crate::text::push_json_string(&mut payload, claims.token_id);
    payload.push('}');

    out.clear();
    out.push_str(HEADER_SEGMENT);
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(payload.as_bytes(), out);
    // Any key length is accepted by HMAC, so this cannot fail; fall back to an unsigned shape anyway.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        out.push('.');
        return;
    };
    mac.update(out.as_bytes());
    let signature = mac.finalize().into_bytes();
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(signature, out);
}

#[cfg(test)]
pub(crate) fn decode_payload(token: &str) -> Option<serde_json::Value> {
    let mut segments = token.split('.');
    let _header = segments.next()?;
    let payload = segments.next()?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_segment_is_the_hs256_header() {
        let decoded = URL_SAFE_NO_PAD.decode(HEADER_SEGMENT).unwrap();
        assert_eq!(decoded, br#"{"alg":"HS256","typ":"JWT"}"#);
    }

    #[test]
    fn minted_token_carries_the_claims_and_a_valid_signature() {
        let mut token = String::new();
        let claims = Claims {
            issuer: "https://api.shop.example",
            subject: "u-000042",
            roles: &["customer", "beta"],
            issued_at_seconds: 1_795_780_800,
            expires_at_seconds: 1_795_784_400,
            token_id: "abc123",
        };
        mint(&mut token, b"secret", &claims);
        assert_eq!(token.split('.').count(), 3);
        let payload = decode_payload(&token).unwrap();
        assert_eq!(payload["sub"], "u-000042");
        assert_eq!(payload["role"], serde_json::json!(["customer", "beta"]));
        assert_eq!(payload["exp"], 1_795_784_400);
        assert!(payload.get("sid").is_none());

        let (signed, signature) = token.rsplit_once('.').unwrap();
        let mut mac = Hmac::<Sha256>::new_from_slice(b"secret").unwrap();
        mac.update(signed.as_bytes());
        let expected = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        assert_eq!(signature, expected);
    }

    #[test]
    fn a_single_role_is_a_plain_string() {
        let mut token = String::new();
        let claims = Claims {
            issuer: "i",
            subject: "u-1",
            roles: &["admin"],
            issued_at_seconds: 1,
            expires_at_seconds: 2,
            token_id: "t",
        };
        mint(&mut token, b"k", &claims);
        assert_eq!(decode_payload(&token).unwrap()["role"], "admin");
    }
}
