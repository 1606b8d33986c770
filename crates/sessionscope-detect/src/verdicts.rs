//! Values a thread has already scanned, with what the detectors found in them. Traffic repeats
//! itself: the same enum values, product names, chat prompts and header values come back request
//! after request, and so do attack payloads (a scanner or a bot sends the same ones to many
//! places); a value that needs the detectors (it has quotes, colons, brackets…) costs thousands
//! of instructions each time, an attack tens of thousands. A verdict depends only on what
//! `Subject` holds — the value, where it sat (origin), its name and the request's host — so a
//! value seen under the same four gets the same verdict again without being scanned: nothing
//! when it was clean, else the same hits with the same excerpts. Where the value sits in the
//! request (its point), whether its payload is masked, and whether its request already has a
//! finding of that type there are decided anew each time.
//!
//! The memory is a map from a 64-bit hash (foldhash, seeded per process) to the whole key, and a
//! lookup compares the whole key: a hash collision makes a miss, never a wrong verdict.

use std::cell::RefCell;
use std::hash::BuildHasher;

use crate::finding::AttackKind;
use crate::scan::Origin;

/// Values longer than this are scanned every time: long values repeat less, and the memory
/// stays small.
pub(crate) const MAX_REMEMBERED_BYTES: usize = 256;
/// Distinct values a thread remembers (then it starts over).
const REMEMBERED_VALUES: usize = 16_384;

/// Whether verdicts for values from `origin` are remembered. A whole request path is not: it
/// carries ids and repeats little, and the one detector it goes through (traversal) costs less
/// than a lookup. Remembering paths would only push out the values that do come back.
pub(crate) fn remembers(origin: Origin) -> bool {
    origin != Origin::Path
}

/// What a verdict depends on.
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

/// One detector hit on a remembered value, as `RequestScan::record_hit` received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KnownHit {
    pub kind: AttackKind,
    pub rule: &'static str,
    /// The payload excerpt, unmasked (masking depends on the place and is decided on replay).
    pub excerpt: Box<str>,
}

struct Verdict {
    key: Box<[u8]>,
    /// Every hit the value made, in order; none for a clean value.
    hits: Box<[KnownHit]>,
}

struct Verdicts {
    seed: foldhash::fast::RandomState,
    by_hash: foldhash::HashMap<u64, Verdict>,
}

thread_local! {
    static VERDICTS: RefCell<Verdicts> = RefCell::new(Verdicts {
        seed: foldhash::fast::RandomState::default(),
        by_hash: foldhash::HashMapExt::with_capacity(REMEMBERED_VALUES),
    });
}

fn hash_of(seed: &foldhash::fast::RandomState, key: &ValueKey<'_>) -> u64 {
    seed.hash_one((key.origin as u8, key.name, key.request_host, key.raw))
}

/// When this thread scanned `key` before: hands each of its hits to `replay`, in order, and
/// returns true. False (and no call) for a value not remembered.
pub(crate) fn recall(key: &ValueKey<'_>, mut replay: impl FnMut(&KnownHit)) -> bool {
    VERDICTS.with(|cell| {
        let verdicts = cell.borrow();
        let hash = hash_of(&verdicts.seed, key);
        let Some(verdict) = verdicts
            .by_hash
            .get(&hash)
            .filter(|verdict| key.is_stored_as(&verdict.key))
        else {
            return false;
        };
        verdict.hits.iter().for_each(&mut replay);
        true
    })
}

/// Remembers what scanning `key` found: `hits`, none for a clean value.
pub(crate) fn remember(key: &ValueKey<'_>, hits: Vec<KnownHit>) {
    VERDICTS.with(|cell| {
        let mut verdicts = cell.borrow_mut();
        if verdicts.by_hash.len() >= REMEMBERED_VALUES {
            verdicts.by_hash.clear();
        }
        let hash = hash_of(&verdicts.seed, key);
        let verdict = Verdict {
            key: key.encode(),
            hits: hits.into_boxed_slice(),
        };
        verdicts.by_hash.insert(hash, verdict);
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

    fn recalled(key: &ValueKey<'_>) -> Option<Vec<KnownHit>> {
        let mut hits = Vec::new();
        recall(key, |hit| hits.push(hit.clone())).then_some(hits)
    }

    #[test]
    fn a_verdict_holds_only_for_the_same_value_place_name_and_host() {
        let seen = key(Origin::QueryValue, "next", Some("shop.example"), "a:b");
        assert_eq!(recalled(&seen), None);
        remember(&seen, Vec::new());
        assert_eq!(recalled(&seen), Some(Vec::new()));
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
            assert_eq!(recalled(&other), None, "{other:?}");
        }
    }

    #[test]
    fn hits_come_back_in_the_order_they_were_made() {
        let attack = key(Origin::QueryValue, "q", Some("shop.example"), "' or 1=1 --");
        let hits = vec![
            KnownHit {
                kind: AttackKind::Sqli,
                rule: "sqli.tautology",
                excerpt: "' or 1=1 --".into(),
            },
            KnownHit {
                kind: AttackKind::Sqli,
                rule: "sqli.libinjection",
                excerpt: "' or 1=1 --".into(),
            },
        ];
        remember(&attack, hits.clone());
        assert_eq!(recalled(&attack), Some(hits));
        // Remembered again (another thread's memory started over, say): the new verdict counts.
        remember(&attack, Vec::new());
        assert_eq!(recalled(&attack), Some(Vec::new()));
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
