//! Hour buckets of the id index (`ids.rs`): the UTC hour of an exchange's time. Stored, so the
//! definition must never change.

/// Hours since the epoch fit in 20 bits until 2089; earlier and later times share the edge buckets.
pub(crate) const MAX_HOUR: i64 = (1 << 20) - 1;
const MICROS_PER_HOUR: i64 = 3_600_000_000;

pub(crate) fn hour_of(ts: i64) -> i64 {
    ts.div_euclid(MICROS_PER_HOUR).clamp(0, MAX_HOUR)
}

/// Hours that have exchanges of `day`.
pub(crate) fn hours_of_day(day: i64) -> std::ops::RangeInclusive<i64> {
    let first = (day * 24).clamp(0, MAX_HOUR);
    let last = (day * 24 + 23).clamp(0, MAX_HOUR);
    first..=last
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_clamp_to_their_range() {
        assert_eq!(hour_of(-1), 0);
        assert_eq!(hour_of(i64::MAX), MAX_HOUR);
        assert_eq!(hour_of(MICROS_PER_HOUR * 5 + 1), 5);
        assert_eq!(hours_of_day(1), 24..=47);
    }
}
