//! Recognising secret values by their shape, and masking them in the stored query string and path
//! (DESIGN.md stage 9): whatever a point is called, a JWT or a card number is never stored in clear.

use crate::jwt;
use crate::names;
use crate::view::decode_component;

pub(crate) const MASK: &str = "***";

/// True for a card number: 13–19 digits (spaces and dashes allowed between them), starting like
/// an issued card (2–6), passing the Luhn check. The leading-digit rule keeps epoch-millisecond
/// timestamps and most numeric ids (which pass Luhn one time in ten) out.
pub(crate) fn looks_like_card_number(value: &str) -> bool {
    let value = value.trim();
    if value.len() < 13 || value.len() > 23 {
        return false;
    }
    let mut digits = [0u8; 19];
    let mut count = 0;
    for byte in value.bytes() {
        match byte {
            b'0'..=b'9' => {
                if count == digits.len() {
                    return false;
                }
                digits[count] = byte - b'0';
                count += 1;
            }
            b' ' | b'-' => {}
            _ => return false,
        }
    }
    if !(13..=19).contains(&count) || !(2..=6).contains(&digits[0]) {
        return false;
    }
    let mut sum = 0u32;
    for (position_from_right, digit) in digits[..count].iter().rev().enumerate() {
        let mut digit = *digit as u32;
        if position_from_right % 2 == 1 {
            digit *= 2;
            if digit > 9 {
                digit -= 9;
            }
        }
        sum += digit;
    }
    // `is_multiple_of` is newer than the workspace's minimum Rust version.
    #[allow(clippy::manual_is_multiple_of)]
    let passes = sum % 10 == 0;
    passes
}

/// The query string as stored: values of sensitive parameters, JWTs and card numbers replaced by
/// `***`; everything else kept byte for byte as received.
pub(crate) fn mask_query(query: &str) -> String {
    let mut stored = String::with_capacity(query.len());
    for (position, piece) in query.split('&').enumerate() {
        if position > 0 {
            stored.push('&');
        }
        let Some((name, value)) = piece.split_once('=') else {
            stored.push_str(piece);
            continue;
        };
        let decoded_name = decode_component(name);
        let decoded_value = decode_component(value);
        let is_secret = !value.is_empty()
            && (names::is_sensitive_query_name(&decoded_name)
                || jwt::looks_like_jwt(jwt::strip_bearer(&decoded_value))
                || looks_like_card_number(&decoded_value));
        stored.push_str(name);
        stored.push('=');
        stored.push_str(if is_secret { MASK } else { value });
    }
    stored
}

/// The stored query with the values of the parameters a mask rule names replaced by `***`
/// (`is_masked` gets the decoded parameter name).
pub(crate) fn mask_query_by_rules(query: &str, is_masked: impl Fn(&str) -> bool) -> String {
    let mut stored = String::with_capacity(query.len());
    for (position, piece) in query.split('&').enumerate() {
        if position > 0 {
            stored.push('&');
        }
        match piece.split_once('=') {
            Some((name, value)) if !value.is_empty() && is_masked(&decode_component(name)) => {
                stored.push_str(name);
                stored.push('=');
                stored.push_str(MASK);
            }
            _ => stored.push_str(piece),
        }
    }
    stored
}

/// The path as stored: as received, except that segments holding a JWT are replaced by `***`.
pub(crate) fn mask_path(path: &str) -> String {
    if memchr::memmem::find(path.as_bytes(), b"eyJ").is_none() {
        return path.to_string();
    }
    let mut stored = String::with_capacity(path.len());
    for (position, segment) in path.split('/').enumerate() {
        if position > 0 {
            stored.push('/');
        }
        stored.push_str(if jwt::looks_like_jwt(segment) {
            MASK
        } else {
            segment
        });
    }
    stored
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jwt::tests::token_with_claims;

    #[test]
    fn card_numbers_pass_luhn_and_look_issued() {
        for card in [
            "4111111111111111",
            "4111 1111 1111 1111",
            "5500-0000-0000-0004",
            "378282246310005",
        ] {
            assert!(looks_like_card_number(card), "{card}");
        }
        for other in [
            "4111111111111112",
            "1700000000000",
            "1234567812345670",
            "41111111111111x1",
            "12",
            "",
        ] {
            assert!(!looks_like_card_number(other), "{other}");
        }
    }

    #[test]
    fn queries_keep_plain_values_and_mask_secrets() {
        let token = token_with_claims(r#"{"sub":"1"}"#);
        let token_query = format!("t={token}");
        let cases = [
            ("page=2&sort=name", "page=2&sort=name".to_string()),
            ("api_key=abc&page=2", "api_key=***&page=2".to_string()),
            (
                "q=caf%C3%A9&access%5Ftoken=x",
                "q=caf%C3%A9&access%5Ftoken=***".to_string(),
            ),
            (
                "sig=abc&key=k&code=123&Password=hunter2",
                "sig=***&key=***&code=***&Password=***".to_string(),
            ),
            (token_query.as_str(), "t=***".to_string()),
            ("card=4111111111111111", "card=***".to_string()),
            ("flag&empty=&token=", "flag&empty=&token=".to_string()),
        ];
        for (query, expected) in cases {
            assert_eq!(mask_query(query), expected, "{query}");
        }
    }

    #[test]
    fn paths_keep_everything_but_tokens() {
        let token = token_with_claims(r#"{"sub":"1"}"#);
        assert_eq!(mask_path("/v1/users/7"), "/v1/users/7");
        assert_eq!(
            mask_path(&format!("/reset/{token}/confirm")),
            "/reset/***/confirm"
        );
    }
}
