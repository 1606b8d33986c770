//! Time as integer microseconds since the Unix epoch, UTC, and the UTC day a time falls in.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

/// Microseconds since 1970-01-01T00:00:00Z.
pub type Micros = i64;

pub const MICROS_PER_SECOND: Micros = 1_000_000;
pub const MICROS_PER_DAY: Micros = 86_400 * MICROS_PER_SECOND;

/// The UTC day (days since the epoch) a time falls in; session parts are split on it.
pub fn day_of(micros: Micros) -> i32 {
    micros.div_euclid(MICROS_PER_DAY) as i32
}

pub fn day_start_micros(day: i32) -> Micros {
    day as Micros * MICROS_PER_DAY
}

/// `YYYY-MM-DD` of a day number.
pub fn format_day(day: i32) -> String {
    let date = DateTime::<Utc>::from_timestamp(day as i64 * 86_400, 0)
        .map(|time| time.date_naive())
        .unwrap_or_default();
    date.format("%Y-%m-%d").to_string()
}

/// Day number of a `YYYY-MM-DD` string.
pub fn parse_day(text: &str) -> Option<i32> {
    // Exactly `YYYY-MM-DD`: chrono alone would also take `2026-1-5` or a signed year.
    let bytes = text.as_bytes();
    let shaped = bytes.len() == 10
        && bytes.iter().enumerate().all(|(index, byte)| {
            if index == 4 || index == 7 {
                *byte == b'-'
            } else {
                byte.is_ascii_digit()
            }
        });
    if !shaped {
        return None;
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1)?;
    Some((date - epoch).num_days() as i32)
}

/// RFC 3339 in UTC with millisecond precision, e.g. `2026-11-22T10:00:00.120Z`.
pub fn format_rfc3339(micros: Micros) -> String {
    match DateTime::<Utc>::from_timestamp_micros(micros) {
        Some(time) => time.to_rfc3339_opts(SecondsFormat::Millis, true),
        None => String::from("invalid-time"),
    }
}

/// Parses RFC 3339 with an offset (`Z` or `+hh:mm`) into microseconds.
pub fn parse_rfc3339(text: &str) -> Option<Micros> {
    let time = DateTime::parse_from_rfc3339(text).ok()?;
    Some(time.timestamp_micros())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_split_on_utc_midnight() {
        let before = parse_rfc3339("2026-11-22T23:59:59.999Z").unwrap();
        let after = parse_rfc3339("2026-11-23T00:00:00Z").unwrap();
        assert_eq!(day_of(after) - day_of(before), 1);
        assert_eq!(format_day(day_of(before)), "2026-11-22");
        assert_eq!(parse_day("2026-11-23"), Some(day_of(after)));
        assert_eq!(day_start_micros(day_of(after)), after);
    }

    #[test]
    fn offsets_are_normalized_to_utc() {
        let with_offset = parse_rfc3339("2026-11-22T12:00:00+02:00").unwrap();
        assert_eq!(format_rfc3339(with_offset), "2026-11-22T10:00:00.000Z");
    }

    #[test]
    fn times_before_the_epoch_fall_in_negative_days() {
        assert_eq!(day_of(-1), -1);
    }
}

/// The longest number of a relative time (`-999999d`), so every relative time stays in range.
pub const MAX_RELATIVE_DIGITS: usize = 6;

/// The grammar of `parse_time_spec` besides RFC 3339, as a regular expression (the OpenAPI
/// document states it).
pub const RELATIVE_TIME_PATTERN: &str = "^(now|today|yesterday|(-|now-)[0-9]{1,6}(s|m|min|h|d|w))$";

/// Parses a time given on a command line or in a query string: RFC 3339 (`2026-11-22T10:00:00Z`),
/// a relative time before `now` (`-15m`, `-1h`, `-7d`, `-30s`, at most six digits), `now`,
/// `today` (UTC midnight) or `yesterday`. The text is taken as it is: no spaces around it.
pub fn parse_time_spec(text: &str, now: Micros) -> Result<Micros, String> {
    match text {
        "now" => return Ok(now),
        "today" => return Ok(day_start_micros(day_of(now))),
        "yesterday" => return Ok(day_start_micros(day_of(now) - 1)),
        _ => {}
    }
    if let Some(relative) = text.strip_prefix("now-").or_else(|| text.strip_prefix('-')) {
        let split = relative
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(relative.len());
        let (number, unit) = relative.split_at(split);
        if number.is_empty() || number.len() > MAX_RELATIVE_DIGITS {
            return Err(format!(
                "invalid relative time `{}`; expected 1 to {MAX_RELATIVE_DIGITS} digits and a unit, e.g. -15m, -1h, -7d",
                quoted(text)
            ));
        }
        let amount: i64 = number
            .parse()
            .map_err(|_| format!("invalid relative time `{}`", quoted(text)))?;
        let unit_micros = match unit {
            "s" => MICROS_PER_SECOND,
            "m" | "min" => 60 * MICROS_PER_SECOND,
            "h" => 3_600 * MICROS_PER_SECOND,
            "d" => MICROS_PER_DAY,
            "w" => 7 * MICROS_PER_DAY,
            _ => {
                return Err(format!(
                    "invalid time unit in `{}`; use s, m, min, h, d or w",
                    quoted(text)
                ))
            }
        };
        return amount
            .checked_mul(unit_micros)
            .and_then(|back| now.checked_sub(back))
            .ok_or_else(|| format!("relative time `{}` reaches too far back", quoted(text)));
    }
    // RFC 3339 allows `t` and `z` in lower case; the parser is given them in upper case.
    let parsed = is_rfc3339_shape(text)
        .then(|| parse_rfc3339(&text.to_ascii_uppercase()))
        .flatten();
    parsed.ok_or_else(|| {
        format!(
            "invalid time `{}`; expected RFC 3339 (2026-11-22T10:00:00Z) or relative (-1h)",
            quoted(text)
        )
    })
}

/// Whether `text` has the shape of an RFC 3339 date-time (section 5.6): `YYYY-MM-DDTHH:MM:SS`, an
/// optional fraction, then `Z` or `+HH:MM` / `-HH:MM`; `T` and `Z` in either case. The calendar
/// (days of the month) is checked by the parser.
fn is_rfc3339_shape(text: &str) -> bool {
    let bytes = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        bytes
            .get(range)
            .is_some_and(|part| part.iter().all(u8::is_ascii_digit))
    };
    let number = |at: usize| (bytes[at] - b'0') * 10 + (bytes[at + 1] - b'0');
    if bytes.len() < 20
        || !digits(0..4)
        || bytes[4] != b'-'
        || !digits(5..7)
        || bytes[7] != b'-'
        || !digits(8..10)
        || !matches!(bytes[10], b'T' | b't')
        || !digits(11..13)
        || bytes[13] != b':'
        || !digits(14..16)
        || bytes[16] != b':'
        || !digits(17..19)
    {
        return false;
    }
    if !(1..=12).contains(&number(5))
        || !(1..=31).contains(&number(8))
        || number(11) > 23
        || number(14) > 59
        || number(17) > 59
    {
        return false;
    }
    let mut rest = &bytes[19..];
    if let Some(fraction) = rest.strip_prefix(b".") {
        let count = fraction
            .iter()
            .take_while(|byte| byte.is_ascii_digit())
            .count();
        if count == 0 {
            return false;
        }
        rest = &fraction[count..];
    }
    match rest {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => {
            [h1, h2, m1, m2].iter().all(|byte| byte.is_ascii_digit())
                && (h1 - b'0') * 10 + (h2 - b'0') <= 23
                && (m1 - b'0') * 10 + (m2 - b'0') <= 59
        }
        _ => false,
    }
}

#[cfg(test)]
mod time_spec_tests {
    use super::*;

    #[test]
    fn relative_and_named_times_count_back_from_now() {
        let now = parse_rfc3339("2026-11-22T10:30:00Z").unwrap();
        assert_eq!(
            parse_time_spec("-1h", now).unwrap(),
            now - 3_600 * MICROS_PER_SECOND
        );
        assert_eq!(
            parse_time_spec("now-15m", now).unwrap(),
            now - 900 * MICROS_PER_SECOND
        );
        assert_eq!(
            format_rfc3339(parse_time_spec("today", now).unwrap()),
            "2026-11-22T00:00:00.000Z"
        );
        assert_eq!(
            format_rfc3339(parse_time_spec("yesterday", now).unwrap()),
            "2026-11-21T00:00:00.000Z"
        );
        assert!(parse_time_spec("-1y", now).unwrap_err().contains("unit"));
        assert!(parse_time_spec("tomorrow", now).is_err());
        assert!(parse_time_spec("-9223372036854775807w", now)
            .unwrap_err()
            .contains("1 to 6 digits"));
        assert!(parse_time_spec("-999999w", now).is_ok());
        // Taken as given: no spaces around, RFC 3339's `t` and `z` in either case, days checked.
        assert!(parse_time_spec(" -1h", now).is_err());
        assert!(parse_time_spec("2026-11-22t10:00:00z", now).is_ok());
        assert!(parse_time_spec("2026-11-22 10:00:00Z", now).is_err());
        assert!(parse_time_spec("2026-02-30T10:00:00Z", now).is_err());
        assert!(parse_time_spec("2026-11-22T10:00:00.123456+05:30", now).is_ok());
    }
}

/// A time text as quoted in an error: at most 40 characters, so a huge value makes a short message.
fn quoted(text: &str) -> String {
    crate::shortened(text, 40)
}
