//! Values a thread has already scanned and found nothing in. Traffic repeats itself: the same
//! enum values, product names, chat prompts and header values come back request after request,
//! and a value that needs the detectors (it has quotes, colons, brackets…) costs thousands of
//! instructions each time. A verdict depends only on what `Subject` holds — the value, where it
//! sat (origin), its name and the request's host — so a value seen clean under the same four is
//! clean again and is skipped. Only clean verdicts are kept: a value with any hit is scanned every
//! time, so findings are always made fresh.
//!
//! The memory is a map from a 64-bit hash (foldhash, seeded per process) to the whole key, and a
//! lookup compares the whole key: a hash collision makes a miss, never a wrong verdict.

use std::cell::RefCell;
use std::hash::BuildHasher;

use crate::scan::Origin;

/// Values longer than this are scanned every time: long values repeat less, and the memory
/// stays small.
pub(crate) const MAX_REMEMBERED_BYTES: usize = 256;
/// Distinct clean values a thread remembers (then it starts over).
const REMEMBERED_VALUES: usize = 16_384;

/// Whether verdicts for values from `origin` are remembered. A whole request path is not: it
/// carries ids and repeats little, and the one detector it goes through (traversal) costs less
/// than a lookup. Remembering paths would only push out the values that do come back.
pub(crate) fn remembers(origin: Origin) -> bool {
    origin != Origin::Path
}

/// What a clean verdict is made of.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ValueKey<'a> {
    pub origin: Origin,
    pub name: &'a str,
    pub request_host: Option<&'a str>,
    pub raw: &'a str,
}

/// Bytes in front of the texts in a stored key: origin, host present, name and host lengths.
const HEAD_BYTES: usize = 2 + 4 + 4;

impl ValueKey<'_> {
    fn head(&self) -> [u8; HEAD_BYTES] {
        let mut head = [0; HEAD_BYTES];
        head[0] = self.origin as u8;
        head[1] = self.request_host.is_some() as u8;
        head[2..6].copy_from_slice(&(self.name.len() as u32).to_le_bytes());
        let host_length = self.request_host.map_or(0, str::len) as u32;
        head[6..10].copy_from_slice(&host_length.to_le_bytes());
        head
    }

    fn host(&self) -> &str {
        self.request_host.unwrap_or("")
    }

    fn encode(&self) -> Box<[u8]> {
        let mut stored =
            Vec::with_capacity(HEAD_BYTES + self.name.len() + self.host().len() + self.raw.len());
        stored.extend_from_slice(&self.head());
        stored.extend_from_slice(self.name.as_bytes());
        stored.extend_from_slice(self.host().as_bytes());
        stored.extend_from_slice(self.raw.as_bytes());
        stored.into_boxed_slice()
    }

    fn is_stored_as(&self, stored: &[u8]) -> bool {
        let Some((head, texts)) = stored.split_at_checked(HEAD_BYTES) else {
            return false;
        };
        if head != self.head()
            || texts.len() != self.name.len() + self.host().len() + self.raw.len()
        {
            return false;
        }
        let (name, rest) = texts.split_at(self.name.len());
        let (host, raw) = rest.split_at(self.host().len());
        name == self.name.as_bytes() && host == self.host().as_bytes() && raw == self.raw.as_bytes()
    }
}

struct CleanValues {
    seed: foldhash::fast::RandomState,
    by_hash: foldhash::HashMap<u64, Box<[u8]>>,
}

thread_local! {
    static CLEAN: RefCell<CleanValues> = RefCell::new(CleanValues {
        seed: foldhash::fast::RandomState::default(),
        by_hash: foldhash::HashMapExt::with_capacity(REMEMBERED_VALUES),
    });
}

fn hash_of(seed: &foldhash::fast::RandomState, key: &ValueKey<'_>) -> u64 {
    seed.hash_one((key.origin as u8, key.name, key.request_host, key.raw))
}

/// Whether this thread scanned `key` before and found nothing.
pub(crate) fn was_clean(key: &ValueKey<'_>) -> bool {
    CLEAN.with(|cell| {
        let clean = cell.borrow();
        let hash = hash_of(&clean.seed, key);
        clean
            .by_hash
            .get(&hash)
            .is_some_and(|stored| key.is_stored_as(stored))
    })
}

/// Remembers that `key` was scanned and nothing was found.
pub(crate) fn remember_clean(key: &ValueKey<'_>) {
    CLEAN.with(|cell| {
        let mut clean = cell.borrow_mut();
        if clean.by_hash.len() >= REMEMBERED_VALUES {
            clean.by_hash.clear();
        }
        let hash = hash_of(&clean.seed, key);
        clean.by_hash.insert(hash, key.encode());
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key<'a>(origin: Origin, name: &'a str, host: Option<&'a str>, raw: &'a str) -> ValueKey<'a> {
        ValueKey {
            origin,
            name,
            request_host: host,
            raw,
        }
    }

    #[test]
    fn a_verdict_holds_only_for_the_same_value_place_name_and_host() {
        let seen = key(Origin::QueryValue, "next", Some("shop.example"), "a:b");
        assert!(!was_clean(&seen));
        remember_clean(&seen);
        assert!(was_clean(&seen));
        let others = [
            key(Origin::JsonValue, "next", Some("shop.example"), "a:b"),
            key(Origin::QueryValue, "url", Some("shop.example"), "a:b"),
            key(Origin::QueryValue, "next", None, "a:b"),
            key(Origin::QueryValue, "next", Some("evil.example"), "a:b"),
            key(Origin::QueryValue, "next", Some("shop.example"), "a:c"),
            // The boundaries between the texts are part of the key.
            key(Origin::QueryValue, "nex", Some("tshop.example"), "a:b"),
        ];
        for other in others {
            assert!(!was_clean(&other), "{other:?}");
        }
    }

    #[test]
    fn stored_keys_are_compared_whole() {
        let one = key(Origin::Header, "x-a", Some("h"), "v;1");
        let other = key(Origin::Header, "x-a", Some("h"), "v;2");
        assert!(one.is_stored_as(&one.encode()));
        assert!(!other.is_stored_as(&one.encode()));
        assert!(!one.is_stored_as(&one.encode()[..HEAD_BYTES - 1]));
    }
}
