//! How counts and spans read for people, shared by the terminal output and the console so both
//! say "1,234" and "2 h 10 min" the same way.

use crate::{Micros, MICROS_PER_SECOND};

/// A time span for people: "< 1 s", "42 s", "3 min", "2 h 10 min", "1 d 4 h".
pub fn human_span(micros: Micros) -> String {
    if micros <= 0 {
        return String::from("0 s");
    }
    if micros < MICROS_PER_SECOND {
        return String::from("< 1 s");
    }
    let seconds = micros / MICROS_PER_SECOND;
    if seconds < 60 {
        return format!("{seconds} s");
    }
    let minutes = seconds / 60;
    if minutes < 60 {
        return format!("{minutes} min");
    }
    let hours = minutes / 60;
    let rest_minutes = minutes % 60;
    if hours < 24 {
        if rest_minutes == 0 {
            return format!("{hours} h");
        }
        return format!("{hours} h {rest_minutes} min");
    }
    let days = hours / 24;
    let rest_hours = hours % 24;
    if rest_hours == 0 {
        return format!("{days} d");
    }
    format!("{days} d {rest_hours} h")
}

/// A count with thousands separators ("12,345"), for tabular columns.
pub fn thousands(count: u64) -> String {
    let digits = count.to_string();
    let mut text = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            text.push(',');
        }
        text.push(digit);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_spans_read_naturally() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(human_span(0), "0 s");
        assert_eq!(human_span(400_000), "< 1 s");
        assert_eq!(human_span(45_000_000), "45 s");
        assert_eq!(human_span(180_000_000), "3 min");
        assert_eq!(human_span((2 * 3600 + 600) * 1_000_000), "2 h 10 min");
        assert_eq!(human_span(3 * 3600 * 1_000_000), "3 h");
        assert_eq!(human_span((28 * 3600) * 1_000_000), "1 d 4 h");
    }
}
