//! Integer keys that keep writes local: the time key of an exchange (its rowid) and the slot of
//! its id in `exchange_ids`. Both are stored, so their definitions must never change.
//!
//! Appends arrive roughly in time order; with time-ordered keys each batch writes to the end of
//! the tables instead of to pages all over them, which is what makes appends fast.

use super::aggregate::id_hash;

/// Time keys leave room for this many exchanges per microsecond before spilling into the next.
pub(crate) const KEYS_PER_MICROSECOND: i64 = 1024;
/// Times are clamped to ±2^52 µs (about 1828 to 2112) for the key only; the row keeps its true time.
const TIME_LIMIT: i64 = 1 << 52;
/// How far past `time_key_base(to)` a row of time < `to` may sit when many exchanges share one
/// microsecond (a million per second); scans bound themselves with it.
pub(crate) const SPILL_SLACK: i64 = 1 << 30;

/// The lowest time key an exchange at `ts` can have.
pub(crate) fn time_key_base(ts: i64) -> i64 {
    ts.clamp(-TIME_LIMIT, TIME_LIMIT) * KEYS_PER_MICROSECOND
}

/// Exclusive upper bound of the keys of exchanges before `to`.
pub(crate) fn time_key_end(to: i64) -> i64 {
    time_key_base(to).saturating_add(SPILL_SLACK)
}

const HASH_BITS: u32 = 43;
const HASH_MASK: i64 = (1 << HASH_BITS) - 1;
/// Hours since the epoch fit in 20 bits until 2089; earlier and later times share the edge buckets.
pub(crate) const MAX_HOUR: i64 = (1 << 20) - 1;
const MICROS_PER_HOUR: i64 = 3_600_000_000;

pub(crate) fn hour_of(ts: i64) -> i64 {
    ts.div_euclid(MICROS_PER_HOUR).clamp(0, MAX_HOUR)
}

/// The first slot to try for an id in an hour bucket.
pub(crate) fn id_slot(hour: i64, id: &str) -> i64 {
    (hour << HASH_BITS) | (id_hash(id) & HASH_MASK)
}

/// The next slot of the probe chain, wrapping inside the hour bucket.
pub(crate) fn next_slot(slot: i64) -> i64 {
    let hour = slot >> HASH_BITS;
    (hour << HASH_BITS) | ((slot + 1) & HASH_MASK)
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
    fn time_keys_keep_time_order_and_clamp_wild_times() {
        assert!(time_key_base(1) > time_key_base(0));
        assert_eq!(time_key_base(1) - time_key_base(0), KEYS_PER_MICROSECOND);
        assert_eq!(time_key_base(i64::MAX), time_key_base(TIME_LIMIT));
        assert_eq!(time_key_base(i64::MIN), time_key_base(-TIME_LIMIT));
        assert!(time_key_end(i64::MAX) > time_key_base(i64::MAX));
    }

    #[test]
    fn slots_stay_in_their_hour_bucket() {
        let slot = id_slot(5, "r-1");
        assert_eq!(slot >> HASH_BITS, 5);
        let last = (5 << HASH_BITS) | HASH_MASK;
        assert_eq!(next_slot(last), 5 << HASH_BITS);
        assert_eq!(hour_of(-1), 0);
        assert_eq!(hour_of(i64::MAX), MAX_HOUR);
    }
}
