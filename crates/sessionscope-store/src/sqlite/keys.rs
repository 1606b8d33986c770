//! The slot of an exchange id in `exchange_ids`: the UTC hour of its time, then a hash of the id.
//! Slots are stored, so their definition must never change.
//!
//! Appends arrive roughly in time order; scoping slots by hour keeps each batch writing to the
//! pages of a few hours instead of to pages all over a global hash index.

use super::aggregate::id_hash;

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
    fn slots_stay_in_their_hour_bucket() {
        let slot = id_slot(5, "r-1");
        assert_eq!(slot >> HASH_BITS, 5);
        let last = (5 << HASH_BITS) | HASH_MASK;
        assert_eq!(next_slot(last), 5 << HASH_BITS);
        assert_eq!(hour_of(-1), 0);
        assert_eq!(hour_of(i64::MAX), MAX_HOUR);
    }
}
