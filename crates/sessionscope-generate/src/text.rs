//! Small text writers for the hot loop: JSON string escaping, percent-encoding, timestamps and
//! random identifiers, all appending to a caller's reused `String` so that producing an exchange
//! line allocates nothing once the buffers have grown.

use std::fmt::Write;

use crate::random::Random;

/// Appends `text` as a JSON string literal (with the quotes).
pub(crate) fn push_json_string(out: &mut String, text: &str) {
    out.push('"');
    push_json_escaped(out, text);
    out.push('"');
}

/// Appends the escaped inside of a JSON string literal, without quotes. Non-ASCII text is kept as
/// UTF-8 since JSON allows it; only quotes, backslashes and control characters are escaped.
pub(crate) fn push_json_escaped(out: &mut String, text: &str) {
    let bytes = text.as_bytes();
    let mut clean_from = 0;
    let mut index = 0;
    while index < bytes.len() {
        // Most text needs no escaping: skip clean 8-byte words at once.
        if index + 8 <= bytes.len() {
            let mut word = [0u8; 8];
            word.copy_from_slice(&bytes[index..index + 8]);
            if !word_needs_escaping(u64::from_le_bytes(word)) {
                index += 8;
                continue;
            }
        }
        let byte = bytes[index];
        let escape: Option<&str> = match byte {
            b'"' => Some("\\\""),
            b'\\' => Some("\\\\"),
            b'\n' => Some("\\n"),
            b'\r' => Some("\\r"),
            b'\t' => Some("\\t"),
            0x00..=0x1f => None,
            _ => {
                index += 1;
                continue;
            }
        };
        // Every split point is an ASCII byte, so the slices stay on character boundaries.
        out.push_str(&text[clean_from..index]);
        match escape {
            Some(sequence) => out.push_str(sequence),
            None => {
                let _ = write!(out, "\\u{:04x}", byte);
            }
        }
        index += 1;
        clean_from = index;
    }
    out.push_str(&text[clean_from..]);
}

/// Whether any byte of the word is below 0x20, a `"` or a `\` (the classic has-zero-byte trick on
/// the word, on the word xor each special byte, and on the word minus 0x20).
fn word_needs_escaping(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let has_zero = |value: u64| value.wrapping_sub(ONES) & !value & HIGHS;
    let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGHS;
    let quote = has_zero(word ^ (ONES * b'"' as u64));
    let backslash = has_zero(word ^ (ONES * b'\\' as u64));
    below_space | quote | backslash != 0
}

fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";
const HEX_LOWER: &[u8; 16] = b"0123456789abcdef";

/// Appends `text` percent-encoded for a query value: everything but unreserved characters.
pub(crate) fn push_percent_encoded(out: &mut String, text: &str) {
    for &byte in text.as_bytes() {
        if is_unreserved(byte) {
            out.push(byte as char);
        } else {
            out.push('%');
            out.push(HEX_UPPER[(byte >> 4) as usize] as char);
            out.push(HEX_UPPER[(byte & 0x0f) as usize] as char);
        }
    }
}

/// Appends an attacker's value to a query: like `push_percent_encoded`, except that `%XX`
/// sequences already in the value stay as they are, the way attackers send pre-encoded payloads.
pub(crate) fn push_percent_encoded_keeping_escapes(out: &mut String, text: &str) {
    let bytes = text.as_bytes();
    for (index, &byte) in bytes.iter().enumerate() {
        let is_escape = byte == b'%'
            && bytes.get(index + 1).is_some_and(u8::is_ascii_hexdigit)
            && bytes.get(index + 2).is_some_and(u8::is_ascii_hexdigit);
        if is_escape || is_unreserved(byte) {
            out.push(byte as char);
        } else {
            out.push('%');
            out.push(HEX_UPPER[(byte >> 4) as usize] as char);
            out.push(HEX_UPPER[(byte & 0x0f) as usize] as char);
        }
    }
}

/// Appends `text` encoded as an `application/x-www-form-urlencoded` value (spaces become `+`).
pub(crate) fn push_form_encoded(out: &mut String, text: &str) {
    for &byte in text.as_bytes() {
        if byte == b' ' {
            out.push('+');
        } else if is_unreserved(byte) {
            out.push(byte as char);
        } else {
            out.push('%');
            out.push(HEX_UPPER[(byte >> 4) as usize] as char);
            out.push(HEX_UPPER[(byte & 0x0f) as usize] as char);
        }
    }
}

/// Appends `count` random lowercase hex characters.
pub(crate) fn push_random_hex(out: &mut String, random: &mut Random, count: usize) {
    let mut bits = 0u64;
    let mut available = 0;
    for _ in 0..count {
        if available == 0 {
            bits = random.next_u64();
            available = 16;
        }
        out.push(HEX_LOWER[(bits & 0x0f) as usize] as char);
        bits >>= 4;
        available -= 1;
    }
}

const ALPHANUMERIC: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const LOWER_ALPHANUMERIC: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// Appends `count` random characters from `[A-Za-z0-9]`.
pub(crate) fn push_random_alphanumeric(out: &mut String, random: &mut Random, count: usize) {
    for _ in 0..count {
        let index = random.below(ALPHANUMERIC.len() as u64) as usize;
        out.push(ALPHANUMERIC[index] as char);
    }
}

/// Appends `count` random characters from `[a-z0-9]`, the alphabet of session cookie values.
pub(crate) fn push_random_lower_alphanumeric(out: &mut String, random: &mut Random, count: usize) {
    for _ in 0..count {
        let index = random.below(LOWER_ALPHANUMERIC.len() as u64) as usize;
        out.push(LOWER_ALPHANUMERIC[index] as char);
    }
}

/// Appends a random version-4 UUID in its canonical lowercase form.
pub(crate) fn push_random_uuid(out: &mut String, random: &mut Random) {
    let high = random.next_u64();
    let low = random.next_u64();
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&high.to_be_bytes());
    bytes[8..].copy_from_slice(&low.to_be_bytes());
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    for (index, byte) in bytes.iter().enumerate() {
        if matches!(index, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(HEX_LOWER[(byte >> 4) as usize] as char);
        out.push(HEX_LOWER[(byte & 0x0f) as usize] as char);
    }
}

/// Appends an unsigned integer in decimal, without going through `fmt` (it is on the hot path).
pub(crate) fn push_u64(out: &mut String, mut value: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    for &digit in &digits[start..] {
        out.push(digit as char);
    }
}

/// Appends a number of tenths as a decimal, e.g. 415 → `41.5`.
pub(crate) fn push_tenths(out: &mut String, tenths: u64) {
    push_u64(out, tenths / 10);
    out.push('.');
    out.push((b'0' + (tenths % 10) as u8) as char);
}

/// Appends a number of hundredths as a decimal with two places, e.g. 5990 → `59.90`.
pub(crate) fn push_hundredths(out: &mut String, hundredths: u64) {
    let _ = write!(out, "{}.{:02}", hundredths / 100, hundredths % 100);
}

/// Year, month (1–12) and day (1–31) of a day number counted from 1970-01-01, for any day
/// (proleptic Gregorian calendar; the usual era-based conversion, so no table and no clock).
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + if month <= 2 { 1 } else { 0 };
    (year, month, day)
}

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Writes RFC 3339 UTC timestamps with milliseconds. The date part is formatted once per day
/// because consecutive exchanges almost always fall on the same day.
pub(crate) struct TimestampWriter {
    cached_day: Option<i64>,
    date_prefix: String,
}

impl TimestampWriter {
    pub(crate) fn new() -> TimestampWriter {
        TimestampWriter {
            cached_day: None,
            date_prefix: String::with_capacity(16),
        }
    }

    pub(crate) fn push(&mut self, out: &mut String, micros: i64) {
        let day = micros.div_euclid(MICROS_PER_DAY);
        if self.cached_day != Some(day) {
            let (year, month, day_of_month) = civil_from_days(day);
            self.date_prefix.clear();
            let _ = write!(self.date_prefix, "{year:04}-{month:02}-{day_of_month:02}T");
            self.cached_day = Some(day);
        }
        let within_day = micros.rem_euclid(MICROS_PER_DAY);
        let millis_of_day = within_day / 1_000;
        let hours = millis_of_day / 3_600_000;
        let minutes = millis_of_day / 60_000 % 60;
        let seconds = millis_of_day / 1_000 % 60;
        let millis = millis_of_day % 1_000;
        out.push_str(&self.date_prefix);
        push_two_digits(out, hours);
        out.push(':');
        push_two_digits(out, minutes);
        out.push(':');
        push_two_digits(out, seconds);
        out.push('.');
        out.push((b'0' + (millis / 100) as u8) as char);
        out.push((b'0' + (millis / 10 % 10) as u8) as char);
        out.push((b'0' + (millis % 10) as u8) as char);
        out.push('Z');
    }
}

fn push_two_digits(out: &mut String, value: i64) {
    out.push((b'0' + (value / 10) as u8) as char);
    out.push((b'0' + (value % 10) as u8) as char);
}

#[cfg(test)]
mod tests {
    use super::*;
    use sessionscope_model::format_rfc3339;

    #[test]
    fn json_escaping_round_trips_through_serde() {
        let cases = [
            "plain",
            "quote \" and backslash \\",
            "line\nbreak\ttab\rreturn",
            "control \u{1} \u{1f}",
            "unicode ü 日本 🎉",
            "' OR 1=1 -- <script>alert(\"x\")</script>",
            "",
        ];
        for case in cases {
            let mut out = String::new();
            push_json_string(&mut out, case);
            let parsed: String = serde_json::from_str(&out).expect("escaped text parses");
            assert_eq!(parsed, case, "escaped form was {out}");
        }
    }

    #[test]
    fn escaping_finds_special_bytes_at_every_offset_of_long_text() {
        for special in ['"', '\\', '\n', '\u{1}', '\u{1f}'] {
            for position in 0..24 {
                let mut text: String = "abcdefghijklmnopqrstuvwxyz".chars().take(24).collect();
                text.replace_range(position..position + 1, &special.to_string());
                let mut out = String::new();
                push_json_string(&mut out, &text);
                let parsed: String = serde_json::from_str(&out).expect("escaped text parses");
                assert_eq!(parsed, text);
            }
        }
    }

    #[test]
    fn percent_encoding_keeps_only_unreserved_characters() {
        let mut out = String::new();
        push_percent_encoded(&mut out, "a b'/?=&%~_.-ü");
        assert_eq!(out, "a%20b%27%2F%3F%3D%26%25~_.-%C3%BC");
        out.clear();
        push_percent_encoded_keeping_escapes(&mut out, "..%2f..%2fetc/passwd%00 %zz");
        assert_eq!(out, "..%2f..%2fetc%2Fpasswd%00%20%25zz");
        out.clear();
        push_form_encoded(&mut out, "a b@c");
        assert_eq!(out, "a+b%40c");
    }

    #[test]
    fn timestamps_match_chrono_formatting() {
        let mut writer = TimestampWriter::new();
        let samples: [i64; 7] = [
            0,
            1_795_780_800_123_000,
            1_795_823_999_999_000,
            1_795_824_000_000_000,
            951_782_400_000_000, // 2000-02-29
            4_107_542_399_999_000,
            -1_000,
        ];
        for micros in samples {
            let mut out = String::new();
            writer.push(&mut out, micros);
            assert_eq!(out, format_rfc3339(micros), "micros {micros}");
        }
    }

    #[test]
    fn uuids_have_the_canonical_version_4_shape() {
        let mut random = Random::new(7);
        let mut out = String::new();
        push_random_uuid(&mut out, &mut random);
        assert_eq!(out.len(), 36);
        assert_eq!(&out[14..15], "4");
        assert!(matches!(&out[19..20], "8" | "9" | "a" | "b"));
        assert_eq!(out.matches('-').count(), 4);
    }

    #[test]
    fn decimals_are_written_with_fixed_places() {
        let mut out = String::new();
        for value in [0u64, 7, 10, 99, 1_000_000, u64::MAX] {
            out.clear();
            push_u64(&mut out, value);
            assert_eq!(out, value.to_string());
        }
        out.clear();
        push_tenths(&mut out, 415);
        out.push(' ');
        push_tenths(&mut out, 7);
        out.push(' ');
        push_hundredths(&mut out, 5_905);
        assert_eq!(out, "41.5 0.7 59.05");
    }
}
