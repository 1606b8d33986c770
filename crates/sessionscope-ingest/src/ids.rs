//! Derived exchange ids: a hash of the record's bytes, so re-ingesting a file yields the same ids
//! and the store keeps each exchange once.

use std::collections::{HashMap, VecDeque};

use sha2::{Digest, Sha256};

/// How many distinct recent records an `OccurrenceCounter` remembers. Identical log lines carry
/// the same timestamp, so they sit close together in a file; remembering the last 262,144 keeps
/// memory bounded (about 15 MB) on files of any length.
const REMEMBERED_RECORDS: usize = 1 << 18;

/// `h` + the first 31 hex characters of SHA-256(content): 32 characters in all.
pub(crate) fn derived_id(content: &[u8]) -> String {
    let digest = Sha256::digest(content);
    id_from_digest(&digest)
}

fn id_from_digest(digest: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut id = String::with_capacity(40);
    id.push('h');
    for byte in &digest[..16] {
        id.push(char::from(HEX[(byte >> 4) as usize]));
        id.push(char::from(HEX[(byte & 0x0f) as usize]));
    }
    id.truncate(32);
    id
}

/// Derived ids for formats where an identical record may still be a distinct request (two equal
/// access log lines in the same second): the second occurrence gets `-2`, the third `-3`, and so on.
/// Reading the same file again counts the same way, so the ids stay stable.
pub(crate) struct OccurrenceCounter {
    counts: HashMap<[u8; 16], u32>,
    order: VecDeque<[u8; 16]>,
    capacity: usize,
}

impl OccurrenceCounter {
    pub(crate) fn new() -> OccurrenceCounter {
        OccurrenceCounter::with_capacity(REMEMBERED_RECORDS)
    }

    fn with_capacity(capacity: usize) -> OccurrenceCounter {
        OccurrenceCounter {
            counts: HashMap::new(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    pub(crate) fn id_for(&mut self, content: &[u8]) -> String {
        let digest = Sha256::digest(content);
        let mut key = [0u8; 16];
        key.copy_from_slice(&digest[..16]);
        let count = self.counts.entry(key).or_insert(0);
        *count += 1;
        let occurrence = *count;
        if occurrence == 1 {
            self.order.push_back(key);
            if self.order.len() > self.capacity {
                if let Some(oldest) = self.order.pop_front() {
                    self.counts.remove(&oldest);
                }
            }
        }
        let mut id = id_from_digest(&digest);
        if occurrence > 1 {
            id.push('-');
            id.push_str(&occurrence.to_string());
        }
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_are_32_characters_and_depend_on_content() {
        let first = derived_id(b"a");
        assert_eq!(first.len(), 32);
        assert!(first.starts_with('h'));
        // SHA-256("a") = ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb
        assert_eq!(first, "hca978112ca1bbdcafac231b39a23dc4");
        assert_ne!(derived_id(b"a"), derived_id(b"b"));
    }

    #[test]
    fn repeated_records_get_occurrence_suffixes() {
        let mut counter = OccurrenceCounter::new();
        let first = counter.id_for(b"line");
        let other = counter.id_for(b"other");
        let second = counter.id_for(b"line");
        let third = counter.id_for(b"line");
        assert_eq!(first, derived_id(b"line"));
        assert_eq!(second, format!("{first}-2"));
        assert_eq!(third, format!("{first}-3"));
        assert_eq!(other, derived_id(b"other"));
    }

    #[test]
    fn memory_is_bounded_by_forgetting_the_oldest_records() {
        let mut counter = OccurrenceCounter::with_capacity(2);
        counter.id_for(b"a");
        counter.id_for(b"b");
        counter.id_for(b"c");
        assert_eq!(counter.counts.len(), 2);
        assert_eq!(counter.id_for(b"a"), derived_id(b"a"));
    }
}
