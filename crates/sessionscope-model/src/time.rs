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

/// Parses a time given on a command line or in a query string: RFC 3339 (`2026-11-22T10:00:00Z`),
/// a relative time before `now` (`-15m`, `-1h`, `-7d`, `-30s`), `now`, `today` (UTC midnight) or
/// `yesterday`.
pub fn parse_time_spec(text: &str, now: Micros) -> Result<Micros, String> {
    let text = text.trim();
    match text {
        "now" => return Ok(now),
        "today" => return Ok(day_start_micros(day_of(now))),
        "yesterday" => return Ok(day_start_micros(day_of(now) - 1)),
        _ => {}
    }
    if let Some(relative) = text.strip_prefix('-').or_else(|| text.strip_prefix("now-")) {
        let split = relative
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(relative.len());
        let (number, unit) = relative.split_at(split);
        let amount: i64 = number
            .parse()
            .map_err(|_| format!("invalid relative time `{text}`; expected e.g. -15m, -1h, -7d"))?;
        let unit_micros = match unit {
            "s" => MICROS_PER_SECOND,
            "m" | "min" => 60 * MICROS_PER_SECOND,
            "h" => 3_600 * MICROS_PER_SECOND,
            "d" => MICROS_PER_DAY,
            "w" => 7 * MICROS_PER_DAY,
            _ => {
                return Err(format!(
                    "invalid time unit in `{}`; use s, m, h, d or w",
                    quoted(text)
                ))
            }
        };
        return amount
            .checked_mul(unit_micros)
            .and_then(|back| now.checked_sub(back))
            .ok_or_else(|| format!("relative time `{}` reaches too far back", quoted(text)));
    }
    parse_rfc3339(text).ok_or_else(|| {
        format!(
            "invalid time `{}`; expected RFC 3339 (2026-11-22T10:00:00Z) or relative (-1h)",
            quoted(text)
        )
    })
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
            .contains("too far back"));
    }
}

/// A time text as quoted in an error: at most 40 characters, so a huge value makes a short message.
fn quoted(text: &str) -> String {
    crate::shortened(text, 40)
}
