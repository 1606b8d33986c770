//! Endpoint templates (PRODUCT.md D1): a path with its variable segments replaced by typed
//! placeholders, so `/v1/users/7` and `/v1/users/8` are one endpoint `/v1/users/{int}`.
//! Typing is pure and per segment; folding of high-cardinality literal segments needs history
//! and lives in `SessionState`.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::jwt;

/// Placeholder for a segment folded because too many distinct values were seen there.
pub const FOLDED_PLACEHOLDER: &str = "{param}";

/// True for a segment that is a placeholder rather than a literal.
pub(crate) fn is_placeholder(segment: &str) -> bool {
    segment.len() > 2 && segment.starts_with('{') && segment.ends_with('}')
}

fn is_int(segment: &str) -> bool {
    !segment.is_empty() && segment.bytes().all(|byte| byte.is_ascii_digit())
}

fn is_float(segment: &str) -> bool {
    let unsigned = segment.strip_prefix('-').unwrap_or(segment);
    match unsigned.split_once('.') {
        Some((whole, fraction)) => is_int(whole) && is_int(fraction),
        None => false,
    }
}

fn is_uuid(segment: &str) -> bool {
    let bytes = segment.as_bytes();
    bytes.len() == 36
        && bytes
            .iter()
            .enumerate()
            .all(|(position, byte)| match position {
                8 | 13 | 18 | 23 => *byte == b'-',
                _ => byte.is_ascii_hexdigit(),
            })
}

/// `2026-11-22`, optionally followed by a time (`2026-11-22T10:00:00Z`).
fn is_date(segment: &str) -> bool {
    let bytes = segment.as_bytes();
    if bytes.len() < 10 {
        return false;
    }
    let digits_at = |range: std::ops::Range<usize>| bytes[range].iter().all(u8::is_ascii_digit);
    if !(digits_at(0..4)
        && bytes[4] == b'-'
        && digits_at(5..7)
        && bytes[7] == b'-'
        && digits_at(8..10))
    {
        return false;
    }
    let month = (bytes[5] - b'0') * 10 + (bytes[6] - b'0');
    let day = (bytes[8] - b'0') * 10 + (bytes[9] - b'0');
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return false;
    }
    match bytes.get(10) {
        None => true,
        Some(b'T') | Some(b't') => bytes[11..].iter().all(|byte| {
            byte.is_ascii_digit() || matches!(byte, b':' | b'.' | b'+' | b'-' | b'Z' | b'z')
        }),
        Some(_) => false,
    }
}

fn is_ip(segment: &str) -> bool {
    if segment.contains(':') {
        return segment.parse::<Ipv6Addr>().is_ok();
    }
    segment.bytes().filter(|byte| *byte == b'.').count() == 3 && segment.parse::<Ipv4Addr>().is_ok()
}

fn is_email(segment: &str) -> bool {
    let Some((local, domain)) = segment.split_once('@').or_else(|| {
        let at = segment.find("%40")?;
        Some((&segment[..at], &segment[at + 3..]))
    }) else {
        return false;
    };
    let is_email_byte = |byte: u8| byte.is_ascii_alphanumeric() || b".-_+%".contains(&byte);
    !local.is_empty()
        && local.bytes().all(is_email_byte)
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && domain
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'.' || byte == b'-')
}

/// A long random-looking value: at least 16 characters of a token alphabet, mixing letters and
/// digits the way generated ids do (many letter/digit alternations), or mixed case with case
/// flips in half the letter pairs; a JWT is always one. Words with a number (`release-notes-2024`)
/// alternate once and stay literal.
fn is_token(segment: &str) -> bool {
    if jwt::looks_like_jwt(segment) {
        return true;
    }
    let bytes = segment.as_bytes();
    if bytes.len() < 16 {
        return false;
    }
    if !bytes.iter().all(|byte| {
        byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'=' | b'.' | b'~' | b'+')
    }) {
        return false;
    }
    let mut letter_digit_alternations = 0;
    let mut case_flips = 0;
    let (mut has_letter, mut has_digit) = (false, false);
    for pair in bytes.windows(2) {
        let (first, second) = (pair[0], pair[1]);
        if (first.is_ascii_alphabetic() && second.is_ascii_digit())
            || (first.is_ascii_digit() && second.is_ascii_alphabetic())
        {
            letter_digit_alternations += 1;
        }
        if first.is_ascii_alphabetic()
            && second.is_ascii_alphabetic()
            && first.is_ascii_uppercase() != second.is_ascii_uppercase()
        {
            case_flips += 1;
        }
    }
    for byte in bytes {
        has_letter |= byte.is_ascii_alphabetic();
        has_digit |= byte.is_ascii_digit();
    }
    if !has_letter {
        return false;
    }
    (has_digit && letter_digit_alternations >= 3) || case_flips * 2 >= bytes.len()
}

/// What one pass over a segment's bytes found; the typed checks only run when it allows them, so
/// the common literal word costs one scan.
struct SegmentShape {
    digits: usize,
    letters: usize,
    hex_letters: usize,
    dots: usize,
    dashes: usize,
    colons: usize,
    has_email_marker: bool,
}

impl SegmentShape {
    fn of(segment: &str) -> SegmentShape {
        let mut shape = SegmentShape {
            digits: 0,
            letters: 0,
            hex_letters: 0,
            dots: 0,
            dashes: 0,
            colons: 0,
            has_email_marker: false,
        };
        for byte in segment.bytes() {
            match byte {
                b'0'..=b'9' => shape.digits += 1,
                b'a'..=b'f' | b'A'..=b'F' => {
                    shape.letters += 1;
                    shape.hex_letters += 1;
                }
                b'g'..=b'z' | b'G'..=b'Z' => shape.letters += 1,
                b'.' => shape.dots += 1,
                b'-' => shape.dashes += 1,
                b':' => shape.colons += 1,
                b'@' | b'%' => shape.has_email_marker = true,
                _ => {}
            }
        }
        shape
    }
}

/// The placeholder for a segment, or `None` when it stays literal.
pub(crate) fn classify_segment(segment: &str) -> Option<&'static str> {
    if segment.is_empty() {
        return None;
    }
    let shape = SegmentShape::of(segment);
    let length = segment.len();
    if shape.digits == length {
        return Some("{int}");
    }
    if shape.digits == 0 {
        // Without a digit only a mixed-case token or an address can be variable.
        if shape.has_email_marker && is_email(segment) {
            return Some("{email}");
        }
        if length >= 16 && is_token(segment) {
            return Some("{token}");
        }
        return None;
    }
    if shape.dots == 1 && is_float(segment) {
        return Some("{float}");
    }
    if length == 36 && shape.dashes == 4 && is_uuid(segment) {
        return Some("{uuid}");
    }
    if length >= 10 && shape.dashes >= 2 && is_date(segment) {
        return Some("{date}");
    }
    if (shape.colons >= 2 || (shape.dots == 3 && shape.digits + 3 == length)) && is_ip(segment) {
        return Some("{ip}");
    }
    if shape.has_email_marker && is_email(segment) {
        return Some("{email}");
    }
    // At least 8 hex digits including a decimal digit (`deadbeef` alone could be a word).
    if length >= 8 && shape.digits + shape.hex_letters == length {
        return Some("{hex}");
    }
    if length >= 16 && shape.letters > 0 && is_token(segment) {
        return Some("{token}");
    }
    None
}

/// The endpoint template of a path: typed segments `{int}`, `{uuid}`, `{hex}`, `{float}`, `{date}`,
/// `{email}`, `{ip}`, `{token}`; every other segment kept as received (case included). A query or
/// fragment is never part of it; an empty path is `/`.
pub fn endpoint_template(path: &str) -> String {
    let path = path.split(['?', '#']).next().unwrap_or("");
    if path.is_empty() {
        return "/".to_string();
    }
    let mut template = String::with_capacity(path.len());
    for (position, segment) in path.split('/').enumerate() {
        if position > 0 {
            template.push('/');
        }
        template.push_str(classify_segment(segment).unwrap_or(segment));
    }
    template
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_typed_segment_becomes_its_placeholder() {
        let cases = [
            ("/v1/users/7", "/v1/users/{int}"),
            ("/v1/users/7/orders/12", "/v1/users/{int}/orders/{int}"),
            (
                "/items/550e8400-e29b-41d4-a716-446655440000",
                "/items/{uuid}",
            ),
            ("/commits/9f86d081884c7d65", "/commits/{hex}"),
            ("/prices/12.50", "/prices/{float}"),
            ("/geo/-3.25", "/geo/{float}"),
            ("/reports/2026-11-22", "/reports/{date}"),
            ("/reports/2026-11-22T10:00:00Z", "/reports/{date}"),
            ("/users/ann@example.com/profile", "/users/{email}/profile"),
            ("/users/ann%40example.com", "/users/{email}"),
            ("/hosts/192.168.10.1", "/hosts/{ip}"),
            ("/hosts/2001:db8::1", "/hosts/{ip}"),
            ("/reset/k8Jd92LmQ0x7Pz3N", "/reset/{token}"),
            ("/files/aB3dE5fG7hJ9kL1mN", "/files/{token}"),
            ("/s/AbCdEfGhIjKlMnOpQrSt", "/s/{token}"),
        ];
        for (path, expected) in cases {
            assert_eq!(endpoint_template(path), expected, "{path}");
        }
    }

    #[test]
    fn ordinary_segments_stay_literal_with_their_case() {
        let cases = [
            ("/api/v2/Users", "/api/v2/Users"),
            ("/blog/release-notes-2024", "/blog/release-notes-2024"),
            ("/static/app.min.js", "/static/app.min.js"),
            ("/getUserAccountSettingsById", "/getUserAccountSettingsById"),
            ("/iPhone12ProMaxCase", "/iPhone12ProMaxCase"),
            ("/deadbeef", "/deadbeef"),
            ("/v1.2.3", "/v1.2.3"),
            ("/reports/2026-13-01", "/reports/2026-13-01"),
            ("/a//b/", "/a//b/"),
            ("*", "*"),
            ("", "/"),
            ("/search?q=1", "/search"),
        ];
        for (path, expected) in cases {
            assert_eq!(endpoint_template(path), expected, "{path}");
        }
    }

    #[test]
    fn placeholders_are_recognised() {
        assert!(is_placeholder("{int}"));
        assert!(is_placeholder(FOLDED_PLACEHOLDER));
        assert!(!is_placeholder("users"));
        assert!(!is_placeholder("{}"));
    }
}
