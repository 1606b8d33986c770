//! The exchange id index: which exchange key holds an id, for idempotent appends and
//! `request(id)`. Ids are kept as 64-bit hashes in chunks: a batch writes, per UTC hour of the
//! exchanges' times and per top byte of the hash, one row of sorted (hash, key) pairs, so the
//! index costs a few row inserts per batch instead of one B-tree insert per exchange.
//!
//! The writer checks duplicates against an in-memory set of the hours it has touched (loaded
//! from the chunks on first touch, so a re-ingested old file is still caught). A look-up by id
//! reads, for each stored hour, the rows of the id's hash byte and binary-searches them. When
//! an hour has `MAX_CHUNKS_PER_HOUR` chunk generations, the writer rewrites it as one, which
//! bounds the rows a look-up reads. Hash matches are always verified against the stored id.

use std::collections::HashSet;

use rusqlite::{params, Connection};

use super::aggregate::id_hash;
use super::block::{block_of_key, stored_id_is};
use super::keys::{hours_of_day, MAX_HOUR};
use super::writer::FastMap;

/// Bytes of one (hash, key) pair in a chunk: both big-endian, so byte order is hash order.
const ENTRY_BYTES: usize = 16;
/// Chunk generations of one hour before the writer merges them into one.
const MAX_CHUNKS_PER_HOUR: i64 = 16;
/// Past this many cached ids the writer forgets every hour but the one it is working on.
const MAX_CACHED_IDS: usize = 1_000_000;

pub(crate) fn hash_of(id: &str) -> u64 {
    id_hash(id) as u64
}

fn prefix_of(hash: u64) -> i64 {
    (hash >> 56) as i64
}

fn encode_entries(entries: &[(u64, i64)]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(entries.len() * ENTRY_BYTES);
    for (hash, key) in entries {
        bytes.extend_from_slice(&hash.to_be_bytes());
        bytes.extend_from_slice(&key.to_be_bytes());
    }
    bytes
}

fn entry_at(bytes: &[u8], index: usize) -> Option<(u64, i64)> {
    let start = index.checked_mul(ENTRY_BYTES)?;
    let entry = bytes.get(start..start + ENTRY_BYTES)?;
    let mut hash = [0u8; 8];
    let mut key = [0u8; 8];
    hash.copy_from_slice(&entry[..8]);
    key.copy_from_slice(&entry[8..]);
    Some((u64::from_be_bytes(hash), i64::from_be_bytes(key)))
}

/// Every (hash, key) pair of a chunk; a damaged tail (not a whole entry) is ignored.
fn decode_entries(bytes: &[u8]) -> impl Iterator<Item = (u64, i64)> + '_ {
    (0..bytes.len() / ENTRY_BYTES).filter_map(|index| entry_at(bytes, index))
}

/// Keys stored for `hash` in one sorted chunk, by binary search.
fn keys_in_chunk(bytes: &[u8], hash: u64, keys: &mut Vec<i64>) {
    let count = bytes.len() / ENTRY_BYTES;
    let (mut low, mut high) = (0usize, count);
    while low < high {
        let middle = low + (high - low) / 2;
        match entry_at(bytes, middle) {
            Some((found, _)) if found < hash => low = middle + 1,
            _ => high = middle,
        }
    }
    let mut index = low;
    while let Some((found, key)) = entry_at(bytes, index) {
        if found != hash {
            break;
        }
        keys.push(key);
        index += 1;
    }
}

/// Keys whose id has the hash of `id`, in one hour; the caller verifies the id.
pub(crate) fn candidate_keys(
    connection: &Connection,
    hour: i64,
    hash: u64,
) -> rusqlite::Result<Vec<i64>> {
    let mut statement = connection
        .prepare_cached("SELECT entries FROM id_chunks WHERE hour = ?1 AND prefix = ?2")?;
    let mut rows = statement.query(params![hour, prefix_of(hash)])?;
    let mut keys = Vec::new();
    while let Some(row) = rows.next()? {
        keys_in_chunk(row.get_ref(0)?.as_blob()?, hash, &mut keys);
    }
    Ok(keys)
}

/// Looks an exchange up by id alone: the id's hash byte is read in every hour of every stored
/// day (a point look-up per hour, a few hundred at most). Returns the exchange key.
pub(crate) fn find_exchange(connection: &Connection, id: &str) -> rusqlite::Result<Option<i64>> {
    let mut statement =
        connection.prepare_cached("SELECT DISTINCT day FROM day_stats ORDER BY day DESC")?;
    let days: Vec<i64> = statement
        .query_map([], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    let mut hours: Vec<i64> = days.into_iter().flat_map(hours_of_day).collect();
    // Times outside the hour range share the edge buckets.
    hours.push(0);
    hours.push(MAX_HOUR);
    hours.dedup();
    let hash = hash_of(id);
    for hour in hours {
        for key in candidate_keys(connection, hour, hash)? {
            if stored_id_is(connection, key, id)? {
                return Ok(Some(key));
            }
        }
    }
    Ok(None)
}

/// Writes sorted (hash, key) pairs of one hour as chunk `chunk`, one row per hash byte.
pub(crate) fn write_chunk(
    connection: &Connection,
    hour: i64,
    chunk: i64,
    sorted: &[(u64, i64)],
) -> rusqlite::Result<()> {
    let mut insert = connection.prepare_cached(
        "INSERT INTO id_chunks (hour, prefix, chunk, entries) VALUES (?1, ?2, ?3, ?4)",
    )?;
    let mut start = 0;
    while start < sorted.len() {
        let prefix = prefix_of(sorted[start].0);
        let end = start
            + sorted[start..]
                .iter()
                .take_while(|(hash, _)| prefix_of(*hash) == prefix)
                .count();
        insert.execute(params![
            hour,
            prefix,
            chunk,
            encode_entries(&sorted[start..end])
        ])?;
        start = end;
    }
    Ok(())
}

/// Every (hash, key) pair of an hour, with its chunk generations.
struct LoadedHour {
    entries: Vec<(u64, i64)>,
    next_chunk: i64,
    chunk_count: i64,
}

fn load_hour(connection: &Connection, hour: i64) -> rusqlite::Result<LoadedHour> {
    let mut statement =
        connection.prepare_cached("SELECT chunk, entries FROM id_chunks WHERE hour = ?1")?;
    let mut rows = statement.query(params![hour])?;
    let mut entries = Vec::new();
    let mut chunks = HashSet::new();
    let mut next_chunk = 0i64;
    while let Some(row) = rows.next()? {
        let chunk: i64 = row.get(0)?;
        chunks.insert(chunk);
        next_chunk = next_chunk.max(chunk + 1);
        entries.extend(decode_entries(row.get_ref(1)?.as_blob()?));
    }
    Ok(LoadedHour {
        entries,
        next_chunk,
        chunk_count: chunks.len() as i64,
    })
}

/// Rewrites an hour as a single chunk holding `entries`.
fn rewrite_hour(
    connection: &Connection,
    hour: i64,
    mut entries: Vec<(u64, i64)>,
) -> rusqlite::Result<()> {
    connection
        .prepare_cached("DELETE FROM id_chunks WHERE hour = ?1")?
        .execute(params![hour])?;
    entries.sort_unstable();
    write_chunk(connection, hour, 0, &entries)
}

/// Retention: takes the keys that point into `removed_blocks` out of one hour's chunks.
pub(crate) fn remove_keys_of_blocks(
    connection: &Connection,
    hour: i64,
    removed_blocks: &HashSet<i64>,
) -> rusqlite::Result<()> {
    let mut entries = load_hour(connection, hour)?.entries;
    let before = entries.len();
    entries.retain(|(_, key)| !removed_blocks.contains(&block_of_key(*key)));
    if entries.len() == before {
        return Ok(());
    }
    rewrite_hour(connection, hour, entries)
}

/// The ids of one hour as the writer holds them.
#[derive(Default)]
struct HourIds {
    keys: FastMap<u64, i64>,
    /// Further keys of hashes already in `keys` (different ids with equal hashes; rare).
    collisions: Vec<(u64, i64)>,
    next_chunk: i64,
    chunk_count: i64,
    /// Pairs added by the current batch, written at its end.
    added: Vec<(u64, i64)>,
}

/// The writer's id sets of recently touched hours.
#[derive(Default)]
pub(crate) struct IdIndex {
    hours: FastMap<i64, HourIds>,
    cached: usize,
}

/// Answers whether the exchange with a key holds a given id.
pub(crate) type IdAtKey<'a> = dyn FnMut(i64, &str) -> rusqlite::Result<bool> + 'a;

impl IdIndex {
    fn hour(&mut self, connection: &Connection, hour: i64) -> rusqlite::Result<&mut HourIds> {
        if !self.hours.contains_key(&hour) {
            if self.cached >= MAX_CACHED_IDS {
                // Hours with ids of this batch are kept: their additions are not written yet.
                self.hours.retain(|_, hour_ids| !hour_ids.added.is_empty());
                self.cached = self
                    .hours
                    .values()
                    .map(|hour_ids| hour_ids.keys.len() + hour_ids.collisions.len())
                    .sum();
            }
            let LoadedHour {
                entries,
                next_chunk,
                chunk_count,
            } = load_hour(connection, hour)?;
            let mut hour_ids = HourIds {
                next_chunk,
                chunk_count,
                ..HourIds::default()
            };
            hour_ids.keys.reserve(entries.len());
            for (hash, key) in entries {
                if let Some(existing) = hour_ids.keys.insert(hash, key) {
                    hour_ids.collisions.push((hash, existing));
                }
            }
            self.cached += hour_ids.keys.len() + hour_ids.collisions.len();
            self.hours.insert(hour, hour_ids);
        }
        self.hours
            .get_mut(&hour)
            .ok_or(rusqlite::Error::QueryReturnedNoRows)
    }

    /// Records `id` under `key` unless it is stored already; false for a duplicate.
    pub fn claim(
        &mut self,
        connection: &Connection,
        hour: i64,
        id: &str,
        key: i64,
        id_at_key: &mut IdAtKey<'_>,
    ) -> rusqlite::Result<bool> {
        let hash = hash_of(id);
        let hour_ids = self.hour(connection, hour)?;
        match hour_ids.keys.get(&hash) {
            None => {
                hour_ids.keys.insert(hash, key);
            }
            Some(existing) => {
                if id_at_key(*existing, id)? {
                    return Ok(false);
                }
                for (other_hash, other_key) in &hour_ids.collisions {
                    if *other_hash == hash && id_at_key(*other_key, id)? {
                        return Ok(false);
                    }
                }
                hour_ids.collisions.push((hash, key));
            }
        }
        hour_ids.added.push((hash, key));
        self.cached += 1;
        Ok(true)
    }

    /// Writes the batch's new ids: one chunk generation per hour, merging an hour's chunks
    /// into one when it has too many.
    pub fn write_added(&mut self, connection: &Connection) -> rusqlite::Result<()> {
        for (hour, hour_ids) in self.hours.iter_mut() {
            if hour_ids.added.is_empty() {
                continue;
            }
            let mut added = std::mem::take(&mut hour_ids.added);
            if hour_ids.chunk_count + 1 >= MAX_CHUNKS_PER_HOUR {
                let mut entries: Vec<(u64, i64)> = hour_ids
                    .keys
                    .iter()
                    .map(|(hash, key)| (*hash, *key))
                    .collect();
                entries.extend_from_slice(&hour_ids.collisions);
                rewrite_hour(connection, *hour, entries)?;
                hour_ids.next_chunk = 1;
                hour_ids.chunk_count = 1;
                continue;
            }
            added.sort_unstable();
            write_chunk(connection, *hour, hour_ids.next_chunk, &added)?;
            hour_ids.next_chunk += 1;
            hour_ids.chunk_count += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_find_every_key_of_a_hash() {
        let mut entries: Vec<(u64, i64)> = (0..200u64)
            .map(|index| (index.wrapping_mul(0x9e37_79b9_7f4a_7c15), index as i64))
            .collect();
        let shared_hash = entries[17].0;
        entries.push((shared_hash, 1000));
        entries.sort_unstable();
        let bytes = encode_entries(&entries);
        for (hash, key) in &entries {
            let mut keys = Vec::new();
            keys_in_chunk(&bytes, *hash, &mut keys);
            assert!(keys.contains(key));
        }
        let mut keys = Vec::new();
        keys_in_chunk(&bytes, shared_hash, &mut keys);
        keys.sort_unstable();
        assert_eq!(keys.len(), 2);
        keys.clear();
        keys_in_chunk(&bytes, 12345, &mut keys);
        assert!(keys.is_empty());
        // A damaged chunk (cut inside an entry) is read up to its last whole entry.
        let cut = &bytes[..bytes.len() - 3];
        assert_eq!(decode_entries(cut).count(), entries.len() - 1);
        keys_in_chunk(cut, entries[entries.len() - 1].0, &mut keys);
        assert!(keys.is_empty());
    }
}
