//! Running per-part aggregates: counts of every value kind a session row shows, kept as one
//! compact blob on the part so the session list never has to read a part's exchanges.

use std::collections::BTreeMap;

/// Value kinds. The numbers are stored (aggregate blobs, `part_values`, dictionary), never change them.
pub(crate) mod kind {
    pub const CLIENT_IP: u8 = 1;
    pub const HOST: u8 = 2;
    pub const APP: u8 = 3;
    /// Value: the flow's position in `Flow::ALL`.
    pub const FLOW: u8 = 4;
    /// `METHOD template`.
    pub const ENDPOINT: u8 = 5;
    /// Upper-case method.
    pub const METHOD: u8 = 6;
    /// Value: the status code itself.
    pub const STATUS: u8 = 7;
    pub const USER: u8 = 8;
    pub const ROLE: u8 = 9;
    pub const SESSION_KEY: u8 = 10;
    pub const ATTACK_TYPE: u8 = 11;
    /// Endpoint template without the method (dictionary and presence only, not in the blob).
    pub const TEMPLATE: u8 = 12;
    // Dictionary-only kinds.
    pub const ROLE_SET: u8 = 13;
    pub const ATTACK_SET: u8 = 14;
    pub const USER_AGENT: u8 = 15;
    pub const RAW_METHOD: u8 = 16;
    /// The JSON of an exchange's context parameters, in stores written before block format 3
    /// (contexts are block text since); the number stays taken.
    #[allow(dead_code)]
    pub const CONTEXT: u8 = 17;
}

/// Separator of the members of an interned set (role sets, attack type sets).
pub(crate) const SET_SEPARATOR: char = '\u{1f}';

#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct PartAggregate {
    pub first_ts: i64,
    pub last_ts: i64,
    pub requests: u64,
    pub attacks: u64,
    /// Bit mask of the flows the part touched.
    pub flow_mask: u8,
    /// (kind, value id) → how many requests carried it.
    pub counts: BTreeMap<(u8, i64), u64>,
}

impl PartAggregate {
    pub fn add_time(&mut self, ts: i64) {
        if self.requests == 0 {
            self.first_ts = ts;
            self.last_ts = ts;
        } else {
            self.first_ts = self.first_ts.min(ts);
            self.last_ts = self.last_ts.max(ts);
        }
        self.requests += 1;
    }

    /// Counts one value; returns true when the part did not have it before.
    pub fn add_value(&mut self, kind: u8, value: i64) -> bool {
        let count = self.counts.entry((kind, value)).or_insert(0);
        *count += 1;
        *count == 1
    }

    /// Counts `repeats` more requests with a value the part already has (nothing when zero).
    pub fn add_repeats(&mut self, kind: u8, value: i64, repeats: u64) {
        if repeats > 0 {
            *self.counts.entry((kind, value)).or_insert(0) += repeats;
        }
    }

    pub fn merge(&mut self, other: &PartAggregate) {
        if other.requests == 0 {
            return;
        }
        if self.requests == 0 {
            self.first_ts = other.first_ts;
            self.last_ts = other.last_ts;
        } else {
            self.first_ts = self.first_ts.min(other.first_ts);
            self.last_ts = self.last_ts.max(other.last_ts);
        }
        self.requests += other.requests;
        self.attacks += other.attacks;
        self.flow_mask |= other.flow_mask;
        for (key, count) in &other.counts {
            *self.counts.entry(*key).or_insert(0) += count;
        }
    }

    /// The values of one kind with their counts.
    pub fn values_of(&self, kind: u8) -> impl Iterator<Item = (i64, u64)> + '_ {
        self.counts
            .range((kind, i64::MIN)..=(kind, i64::MAX))
            .map(|((_, value), count)| (*value, *count))
    }

    /// Blob layout: a sequence of (kind byte, zigzag varint value, varint count), sorted.
    pub fn encode_counts(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(self.counts.len() * 5);
        for ((kind, value), count) in &self.counts {
            bytes.push(*kind);
            write_varint(&mut bytes, zigzag(*value));
            write_varint(&mut bytes, *count);
        }
        bytes
    }

    /// Reads a blob written by `encode_counts`; a damaged tail is ignored rather than failing the read.
    pub fn decode_counts(bytes: &[u8]) -> BTreeMap<(u8, i64), u64> {
        let mut counts = BTreeMap::new();
        let mut position = 0usize;
        while position < bytes.len() {
            let kind = bytes[position];
            position += 1;
            let Some(value) = read_varint(bytes, &mut position) else {
                break;
            };
            let Some(count) = read_varint(bytes, &mut position) else {
                break;
            };
            counts.insert((kind, unzigzag(value)), count);
        }
        counts
    }
}

pub(crate) fn zigzag(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

pub(crate) fn unzigzag(value: u64) -> i64 {
    ((value >> 1) as i64) ^ -((value & 1) as i64)
}

pub(crate) fn write_varint(bytes: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        bytes.push((value as u8) | 0x80);
        value >>= 7;
    }
    bytes.push(value as u8);
}

pub(crate) fn read_varint(bytes: &[u8], position: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    let mut shift = 0u32;
    loop {
        let byte = *bytes.get(*position)?;
        *position += 1;
        if shift >= 64 {
            return None;
        }
        value |= ((byte & 0x7f) as u64) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
        shift += 7;
    }
}

/// A stable 64-bit hash of an exchange id (FNV-1a, then a splitmix finaliser to spread short ids).
/// It is stored, so it must never change.
pub(crate) fn id_hash(id: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in id.as_bytes() {
        hash ^= *byte as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash ^= hash >> 30;
    hash = hash.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    hash ^= hash >> 27;
    hash = hash.wrapping_mul(0x94d0_49bb_1331_11eb);
    hash ^= hash >> 31;
    hash as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_round_trip_through_the_blob() {
        let mut aggregate = PartAggregate::default();
        for (kind, value) in [(1u8, 5i64), (1, 5), (7, 404), (2, -3), (5, 1 << 40)] {
            aggregate.add_value(kind, value);
        }
        let decoded = PartAggregate::decode_counts(&aggregate.encode_counts());
        assert_eq!(decoded, aggregate.counts);
        assert_eq!(decoded.get(&(1, 5)), Some(&2));
    }

    #[test]
    fn a_damaged_blob_decodes_to_what_is_readable() {
        let mut aggregate = PartAggregate::default();
        aggregate.add_value(3, 300);
        let mut bytes = aggregate.encode_counts();
        bytes.push(9);
        bytes.push(0xff);
        let decoded = PartAggregate::decode_counts(&bytes);
        assert_eq!(decoded.len(), 1);
    }

    #[test]
    fn id_hashes_are_stable_and_distinct() {
        assert_eq!(id_hash("r-000001"), id_hash("r-000001"));
        assert_ne!(id_hash("r-000001"), id_hash("r-000002"));
    }
}
