//! Presence of values in parts, for filtering the session list: `value_parts` rows hold, per
//! (kind, value id), a sorted list of part ids as varint deltas. A batch writes one row per
//! value it newly brings to some parts, instead of one row per (value, part) pair; a value's
//! parts are the union of its rows.

use std::collections::HashSet;

use rusqlite::{params, Connection};

use super::aggregate::{read_varint, write_varint};

#[derive(Debug, thiserror::Error)]
#[error("part list of value {value_id} of kind {kind} is corrupt")]
pub(crate) struct PresenceError {
    kind: u8,
    value_id: i64,
}

impl From<PresenceError> for rusqlite::Error {
    fn from(error: PresenceError) -> Self {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Blob, Box::new(error))
    }
}

/// Encodes ascending part ids (duplicates allowed) as the first id, then differences.
pub(crate) fn encode_part_ids(part_ids: &[i64]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(part_ids.len() * 2);
    let mut previous = 0i64;
    for part_id in part_ids {
        write_varint(&mut bytes, part_id.wrapping_sub(previous) as u64);
        previous = *part_id;
    }
    bytes
}

/// Adds the part ids of a row to `parts`.
pub(crate) fn decode_part_ids(
    kind: u8,
    value_id: i64,
    bytes: &[u8],
    parts: &mut impl Extend<i64>,
) -> Result<(), PresenceError> {
    let mut position = 0;
    let mut previous = 0i64;
    while position < bytes.len() {
        let delta = read_varint(bytes, &mut position).ok_or(PresenceError { kind, value_id })?;
        previous = previous.wrapping_add(delta as i64);
        parts.extend(std::iter::once(previous));
    }
    Ok(())
}

/// Writes new (kind, value id, part id) triples, one row per (kind, value id).
pub(crate) fn insert(
    connection: &Connection,
    triples: &mut [(u8, i64, i64)],
) -> rusqlite::Result<()> {
    triples.sort_unstable();
    let mut statement = connection
        .prepare_cached("INSERT INTO value_parts (kind, value_id, part_ids) VALUES (?1, ?2, ?3)")?;
    let mut part_ids = Vec::new();
    let mut start = 0;
    while let Some(&(kind, value_id, _)) = triples.get(start) {
        part_ids.clear();
        let mut end = start;
        while let Some(&(other_kind, other_value, part_id)) = triples.get(end) {
            if (other_kind, other_value) != (kind, value_id) {
                break;
            }
            part_ids.push(part_id);
            end += 1;
        }
        statement.execute(params![kind, value_id, encode_part_ids(&part_ids)])?;
        start = end;
    }
    Ok(())
}

/// Removes parts from a value's rows (retention), deleting rows left empty.
pub(crate) fn remove(
    connection: &Connection,
    kind: u8,
    value_id: i64,
    removed_parts: &HashSet<i64>,
) -> rusqlite::Result<()> {
    let rows: Vec<(i64, Vec<u8>)> = {
        let mut statement = connection.prepare_cached(
            "SELECT id, part_ids FROM value_parts WHERE kind = ?1 AND value_id = ?2",
        )?;
        let rows = statement.query_map(params![kind, value_id], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })?;
        rows.collect::<Result<_, _>>()?
    };
    for (row_id, bytes) in rows {
        let mut part_ids: Vec<i64> = Vec::new();
        decode_part_ids(kind, value_id, &bytes, &mut part_ids)?;
        let before = part_ids.len();
        part_ids.retain(|part_id| !removed_parts.contains(part_id));
        if part_ids.len() == before {
            continue;
        }
        if part_ids.is_empty() {
            connection
                .prepare_cached("DELETE FROM value_parts WHERE id = ?1")?
                .execute(params![row_id])?;
            continue;
        }
        connection
            .prepare_cached("UPDATE value_parts SET part_ids = ?2 WHERE id = ?1")?
            .execute(params![row_id, encode_part_ids(&part_ids)])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_lists_round_trip() {
        for part_ids in [vec![], vec![1], vec![3, 3, 9, 1_000_000, i64::MAX]] {
            let mut decoded: Vec<i64> = Vec::new();
            decode_part_ids(1, 2, &encode_part_ids(&part_ids), &mut decoded).unwrap();
            assert_eq!(decoded, part_ids);
        }
    }

    #[test]
    fn a_corrupt_part_list_is_an_error() {
        let mut decoded: Vec<i64> = Vec::new();
        assert!(decode_part_ids(1, 2, &[0x80, 0x80], &mut decoded).is_err());
        assert!(decode_part_ids(1, 2, &[0xff; 11], &mut decoded).is_err());
    }
}
