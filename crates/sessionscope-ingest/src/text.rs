//! Small text helpers shared by the formats: the time notations they use, request lines, the
//! `\xHH` escapes of access logs and Zeek, client addresses.

use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use sessionscope_model::{Micros, MICROS_PER_SECOND};

/// The method recorded when a log line has no usable request line (`"-"`, an empty line, or bytes
/// that are not an HTTP method, such as a TLS handshake sent to a plain-HTTP port). Such rows are
/// still real transactions, so they are kept rather than rejected.
pub(crate) const UNKNOWN_METHOD: &str = "UNKNOWN";

/// Latest accepted time, 9999-12-31T23:59:59Z: beyond it a timestamp is a unit mistake (milliseconds
/// given as seconds), not a time.
const LATEST_EPOCH_SECONDS: i64 = 253_402_300_799;

/// Epoch seconds as a JSON number, fraction allowed, to microseconds.
pub(crate) fn epoch_seconds_to_micros(seconds: f64) -> Option<Micros> {
    if !seconds.is_finite() || seconds < 0.0 || seconds > LATEST_EPOCH_SECONDS as f64 {
        return None;
    }
    Some((seconds * MICROS_PER_SECOND as f64).round() as Micros)
}

/// Epoch seconds written as decimal text (`1300475168.784020`, nginx `$msec`), parsed exactly
/// rather than through a float so microseconds survive.
pub(crate) fn parse_epoch_text(text: &str) -> Option<Micros> {
    let text = text.trim();
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, fraction),
        None => (text, ""),
    };
    if whole.is_empty() || whole.len() > 12 || !whole.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    if !fraction.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let seconds: i64 = whole.parse().ok()?;
    if seconds > LATEST_EPOCH_SECONDS {
        return None;
    }
    let mut micros_part: i64 = 0;
    for (position, digit) in fraction.bytes().take(6).enumerate() {
        micros_part += (digit - b'0') as i64 * 10i64.pow(5 - position as u32);
    }
    Some(seconds * MICROS_PER_SECOND + micros_part)
}

/// RFC 3339 with an offset, the notation exchange NDJSON requires.
pub(crate) fn parse_rfc3339_strict(text: &str) -> Option<Micros> {
    let time = DateTime::parse_from_rfc3339(text).ok()?;
    let micros = time.timestamp_micros();
    if !(0..=LATEST_EPOCH_SECONDS * MICROS_PER_SECOND).contains(&micros) {
        return None;
    }
    Some(micros)
}

/// RFC 3339, or ISO 8601 without an offset read as UTC: some HAR writers and log shippers drop the
/// offset, and guessing UTC loses less than rejecting the record.
pub(crate) fn parse_iso8601_lenient(text: &str) -> Option<Micros> {
    let text = text.trim();
    if let Some(micros) = parse_rfc3339_strict(text) {
        return Some(micros);
    }
    for pattern in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%.f%z",
    ] {
        let micros = if pattern.ends_with("%z") {
            DateTime::parse_from_str(text, pattern)
                .ok()
                .map(|time| time.timestamp_micros())
        } else {
            NaiveDateTime::parse_from_str(text, pattern)
                .ok()
                .map(|time| time.and_utc().timestamp_micros())
        };
        if let Some(micros) = micros {
            // The range every other time notation is held to.
            return (0..=LATEST_EPOCH_SECONDS * MICROS_PER_SECOND)
                .contains(&micros)
                .then_some(micros);
        }
    }
    None
}

/// The common log time, `17/May/2015:10:05:03 +0000`, read by hand because it is on every line of
/// an access log and chrono's format-string parser is several times slower.
pub(crate) fn parse_common_log_time(text: &str) -> Option<Micros> {
    let bytes = text.trim().as_bytes();
    // dd/Mon/yyyy:HH:MM:SS +hhmm
    if bytes.len() != 26
        || bytes[2] != b'/'
        || bytes[6] != b'/'
        || bytes[11] != b':'
        || bytes[20] != b' '
    {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        let mut value = 0u32;
        for &byte in &bytes[range] {
            if !byte.is_ascii_digit() {
                return None;
            }
            value = value * 10 + (byte - b'0') as u32;
        }
        Some(value)
    };
    let day = number(0..2)?;
    let month = match &bytes[3..6] {
        b"Jan" => 1,
        b"Feb" => 2,
        b"Mar" => 3,
        b"Apr" => 4,
        b"May" => 5,
        b"Jun" => 6,
        b"Jul" => 7,
        b"Aug" => 8,
        b"Sep" => 9,
        b"Oct" => 10,
        b"Nov" => 11,
        b"Dec" => 12,
        _ => return None,
    };
    let year = number(7..11)?;
    if bytes[14] != b':' || bytes[17] != b':' {
        return None;
    }
    let hour = number(12..14)?;
    let minute = number(15..17)?;
    let second = number(18..20)?;
    let sign: i64 = match bytes[21] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let offset_hours = number(22..24)? as i64;
    let offset_minutes = number(24..26)? as i64;
    let date = NaiveDate::from_ymd_opt(year as i32, month, day)?;
    let local = date.and_hms_opt(hour, minute, second)?;
    let offset_seconds = sign * (offset_hours * 3600 + offset_minutes * 60);
    let utc_seconds = local.and_utc().timestamp() - offset_seconds;
    if !(0..=LATEST_EPOCH_SECONDS).contains(&utc_seconds) {
        return None;
    }
    Some(utc_seconds * MICROS_PER_SECOND)
}

/// A client address as logs write it: plain, `[v6]`, or with a port. Anything else (a hostname
/// from `HostnameLookups`, `unix:`) is not an address and yields None.
pub(crate) fn parse_client_ip(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    if let Ok(address) = text.parse::<IpAddr>() {
        return Some(address);
    }
    if let Ok(socket) = text.parse::<SocketAddr>() {
        return Some(socket.ip());
    }
    let unbracketed = text
        .strip_prefix('[')
        .and_then(|inner| inner.strip_suffix(']'))?;
    unbracketed.parse::<IpAddr>().ok()
}

/// Splits a request line (`GET /x?y HTTP/1.1`) into method and target. A line without a usable
/// method yields `UNKNOWN` and `/`; a missing target yields `/`.
pub(crate) fn split_request_line(line: &str) -> (String, String) {
    let line = line.trim();
    let (method, rest) = match line.split_once(' ') {
        Some((method, rest)) => (method, rest.trim()),
        None => (line, ""),
    };
    if method.is_empty() || method == "-" || !method.bytes().all(is_token_byte) {
        return (UNKNOWN_METHOD.to_string(), "/".to_string());
    }
    // The version is the last word when it looks like one; what is left is the target, which
    // may itself contain spaces when the client sent them unencoded.
    let target = match rest.rsplit_once(' ') {
        Some((target, version)) if version.starts_with("HTTP/") => target.trim(),
        _ if rest.starts_with("HTTP/") => "",
        _ => rest,
    };
    let target = if target.is_empty() { "/" } else { target };
    (method.to_string(), target.to_string())
}

/// RFC 9110 `tchar`: what an HTTP method may consist of.
fn is_token_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// Decodes the `\xHH` escapes Apache, nginx and Zeek write for bytes they would not log raw, and
/// Apache's `\"` and `\\`; the bytes are then read as UTF-8, invalid sequences replaced. Other
/// backslashes stay as they are.
pub(crate) fn unescape_log_text(text: &str) -> Cow<'_, str> {
    if !text.contains('\\') {
        return Cow::Borrowed(text);
    }
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        if byte != b'\\' || index + 1 >= bytes.len() {
            decoded.push(byte);
            index += 1;
            continue;
        }
        let next = bytes[index + 1];
        if next == b'"' || next == b'\\' {
            decoded.push(next);
            index += 2;
            continue;
        }
        if next == b'x' && index + 3 < bytes.len() {
            if let (Some(high), Some(low)) =
                (hex_value(bytes[index + 2]), hex_value(bytes[index + 3]))
            {
                decoded.push(high * 16 + low);
                index += 4;
                continue;
            }
        }
        decoded.push(byte);
        index += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&decoded).into_owned())
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// `application/x-www-form-urlencoded` encoding of one name or value, for HAR `postData.params`.
pub(crate) fn form_encode(text: &str, output: &mut String) {
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                output.push(byte as char)
            }
            b' ' => output.push('+'),
            _ => {
                output.push('%');
                output.push(char::from(b"0123456789ABCDEF"[(byte >> 4) as usize]));
                output.push(char::from(b"0123456789ABCDEF"[(byte & 0x0f) as usize]));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sessionscope_model::format_rfc3339;

    #[test]
    fn epoch_text_keeps_microseconds_and_rejects_garbage() {
        assert_eq!(
            parse_epoch_text("1300475168.784020"),
            Some(1_300_475_168_784_020)
        );
        assert_eq!(
            parse_epoch_text("1700000000.123"),
            Some(1_700_000_000_123_000)
        );
        assert_eq!(parse_epoch_text("1700000000"), Some(1_700_000_000_000_000));
        assert_eq!(
            parse_epoch_text("1700000000.1234567"),
            Some(1_700_000_000_123_456)
        );
        for bad in ["", "-", "-5", "1e9", "12.x", "99999999999999"] {
            assert_eq!(parse_epoch_text(bad), None, "{bad}");
        }
    }

    #[test]
    fn common_log_time_applies_the_offset() {
        let cases = [
            ("17/May/2015:10:05:03 +0000", "2015-05-17T10:05:03.000Z"),
            ("10/Oct/2000:13:55:36 -0700", "2000-10-10T20:55:36.000Z"),
            ("01/Jan/2026:00:30:00 +0100", "2025-12-31T23:30:00.000Z"),
        ];
        for (input, expected) in cases {
            assert_eq!(
                parse_common_log_time(input).map(format_rfc3339).as_deref(),
                Some(expected),
                "{input}"
            );
        }
        for bad in [
            "17/Mai/2015:10:05:03 +0000",
            "31/Feb/2015:10:05:03 +0000",
            "17/May/2015:10:05:03",
            "",
        ] {
            assert_eq!(parse_common_log_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn lenient_iso_times_outside_1970_to_9999_are_refused_like_strict_ones() {
        for text in [
            "1724-11-22T00:16:05.806",
            "0226-11-22 00:44:04",
            "1969-12-31T23:59:59+0000",
        ] {
            assert_eq!(parse_iso8601_lenient(text), None, "{text}");
        }
        assert_eq!(
            parse_iso8601_lenient("1970-01-01T00:00:01"),
            Some(MICROS_PER_SECOND)
        );
    }

    #[test]
    fn request_lines_split_into_method_and_target() {
        let cases = [
            ("GET /a?b=1 HTTP/1.1", "GET", "/a?b=1"),
            ("GET /", "GET", "/"),
            ("GET /with space HTTP/1.0", "GET", "/with space"),
            ("OPTIONS * HTTP/1.1", "OPTIONS", "*"),
            ("-", UNKNOWN_METHOD, "/"),
            ("", UNKNOWN_METHOD, "/"),
            ("\u{16}\u{3}\u{1}", UNKNOWN_METHOD, "/"),
            ("PUT HTTP/1.1", "PUT", "/"),
        ];
        for (line, method, target) in cases {
            assert_eq!(
                split_request_line(line),
                (method.to_string(), target.to_string()),
                "{line:?}"
            );
        }
    }

    #[test]
    fn log_escapes_are_decoded() {
        assert_eq!(unescape_log_text(r#"a \"b\" \\ c"#), r#"a "b" \ c"#);
        assert_eq!(unescape_log_text(r"\x22x\x5c"), r#""x\"#);
        assert_eq!(unescape_log_text(r"\xff"), "\u{fffd}");
        assert_eq!(unescape_log_text(r"\q \x1"), r"\q \x1");
    }

    #[test]
    fn client_addresses_in_the_shapes_logs_write() {
        assert_eq!(
            parse_client_ip("203.0.113.7")
                .map(|ip| ip.to_string())
                .as_deref(),
            Some("203.0.113.7")
        );
        assert_eq!(
            parse_client_ip("203.0.113.7:5555")
                .map(|ip| ip.to_string())
                .as_deref(),
            Some("203.0.113.7")
        );
        assert_eq!(
            parse_client_ip("[2001:db8::1]")
                .map(|ip| ip.to_string())
                .as_deref(),
            Some("2001:db8::1")
        );
        assert_eq!(parse_client_ip("crawl.example.com"), None);
    }
}
