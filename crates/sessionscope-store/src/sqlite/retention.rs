//! Retention: removes exchanges older than a cutoff, drops the parts left empty, rebuilds the
//! aggregates of parts that lost requests, and gives freed pages back to the file system
//! (the file is created with incremental auto-vacuum).

use std::collections::{HashMap, HashSet};

use rusqlite::{params, Connection, TransactionBehavior};
use sessionscope_model::{day_of, Micros};

use crate::{RetentionOutcome, StoreError};

use super::aggregate::{kind, PartAggregate};
use super::backend_error;
use super::block::{decode_block, index_of_key, BlockEncoder, BlockEntry};
use super::ids::remove_before;
use super::keys::hour_of;
use super::presence;
use super::reader::rebuild_aggregate;
use super::schema::{ALL_EXCHANGES, ALL_PARTS};
use super::writer::apply_day_deltas;

const MICROS_PER_HOUR: i64 = 3_600_000_000;

struct AffectedPart {
    id: i64,
    day: i32,
    last_ts: i64,
    requests: i64,
    flows: u8,
    counts: Vec<u8>,
}

pub(crate) fn apply(
    connection: &Connection,
    cutoff: Micros,
) -> Result<RetentionOutcome, StoreError> {
    let outcome = remove_in_transaction(connection, cutoff).map_err(backend_error)?;
    if outcome.exchanges_removed > 0 {
        // Give the freed pages back and shrink the WAL; failures here only cost disk space.
        let _ = connection.execute_batch("PRAGMA incremental_vacuum;");
        let _ = connection.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
    }
    Ok(outcome)
}

fn remove_in_transaction(
    connection: &Connection,
    cutoff: Micros,
) -> rusqlite::Result<RetentionOutcome> {
    let transaction =
        rusqlite::Transaction::new_unchecked(connection, TransactionBehavior::Immediate)?;
    let mut outcome = RetentionOutcome::default();
    // Contents are keyed by exchange id alone, so they go by their own time, whatever the parts.
    transaction.execute("DELETE FROM attack_contents WHERE ts < ?1", params![cutoff])?;
    let affected: Vec<AffectedPart> = {
        let mut statement = transaction.prepare_cached(
            "SELECT id, day, last_ts, requests, flows, counts FROM parts WHERE day <= ?1 AND first_ts < ?2",
        )?;
        let rows = statement.query_map(params![day_of(cutoff), cutoff], |row| {
            Ok(AffectedPart {
                id: row.get(0)?,
                day: row.get(1)?,
                last_ts: row.get(2)?,
                requests: row.get(3)?,
                flows: row.get::<_, i64>(4)? as u8,
                counts: row.get(5)?,
            })
        })?;
        rows.collect::<Result<_, _>>()?
    };
    if affected.is_empty() {
        transaction.commit()?;
        return Ok(outcome);
    }
    // Ids: whole hours before the cutoff's hour go at once; inside that hour, the removed
    // exchanges' keys are taken out of its chunks.
    let cutoff_hour = hour_of(cutoff);
    let mut removed_in_cutoff_hour = HashSet::new();
    let hour_start = cutoff_hour.saturating_mul(MICROS_PER_HOUR);
    // Blocks with exchanges of the cutoff's hour before the cutoff: their slots, and the blocks
    // that keep some exchanges, which are rewritten without the removed ones.
    let edge_blocks: Vec<(i64, i64, Vec<u8>)> = {
        let mut statement = transaction.prepare(
            "SELECT id, part_id, data FROM blocks WHERE last_ts >= ?1 AND first_ts < ?2",
        )?;
        let rows = statement.query_map(params![hour_start.min(cutoff), cutoff], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })?;
        rows.collect::<Result<_, _>>()?
    };
    for (block_id, part_id, data) in edge_blocks {
        let entries = decode_block(block_id, part_id, &data)?;
        let kept_from = entries.partition_point(|exchange| exchange.ts < cutoff);
        for exchange in &entries[..kept_from] {
            if hour_of(exchange.ts) == cutoff_hour {
                removed_in_cutoff_hour.insert(exchange.seq);
            }
        }
        let Some(first_kept) = entries.get(kept_from) else {
            continue;
        };
        // Kept entries keep their keys: the block records the index of its first entry.
        let mut encoder = BlockEncoder::new(index_of_key(first_kept.seq));
        for exchange in &entries[kept_from..] {
            encoder.push(&BlockEntry::of_stored(exchange));
        }
        transaction
            .prepare_cached(
                "UPDATE blocks SET first_ts = ?2, last_ts = ?3, count = ?4, data = ?5 WHERE id = ?1",
            )?
            .execute(params![
                block_id,
                encoder.first_ts(),
                encoder.last_ts(),
                encoder.len() as i64,
                encoder.bytes()
            ])?;
        outcome.exchanges_removed += kept_from as u64;
    }
    let whole_blocks: i64 = transaction.query_row(
        "SELECT coalesce(sum(count), 0) FROM blocks WHERE last_ts < ?1",
        params![cutoff],
        |row| row.get(0),
    )?;
    transaction.execute("DELETE FROM blocks WHERE last_ts < ?1", params![cutoff])?;
    remove_before(&transaction, cutoff_hour, &removed_in_cutoff_hour)?;
    outcome.exchanges_removed += whole_blocks.max(0) as u64;

    let mut day_deltas: HashMap<(i32, i64), i64> = HashMap::new();
    // (kind, value) → parts that no longer have it; each value's rows are rewritten once.
    let mut lost_presence: HashMap<(u8, i64), HashSet<i64>> = HashMap::new();
    for part in affected {
        let old_counts = PartAggregate::decode_counts(&part.counts);
        let remaining = if part.last_ts < cutoff {
            PartAggregate::default()
        } else {
            rebuild_aggregate(&transaction, part.id)?
        };
        let lost_requests = part.requests - remaining.requests as i64;
        *day_deltas.entry((part.day, ALL_EXCHANGES)).or_insert(0) -= lost_requests;
        let lost_flows = part.flows & !remaining.flow_mask;
        for flow_index in 0..7i64 {
            if lost_flows & (1 << flow_index) != 0 {
                *day_deltas.entry((part.day, flow_index)).or_insert(0) -= 1;
            }
        }
        for (value_kind, value) in old_counts.keys() {
            if *value_kind != kind::ENDPOINT
                && !remaining.counts.contains_key(&(*value_kind, *value))
            {
                lost_presence
                    .entry((*value_kind, *value))
                    .or_default()
                    .insert(part.id);
            }
        }
        if remaining.requests == 0 {
            transaction
                .prepare_cached("DELETE FROM parts WHERE id = ?1")?
                .execute(params![part.id])?;
            *day_deltas.entry((part.day, ALL_PARTS)).or_insert(0) -= 1;
            outcome.parts_removed += 1;
            continue;
        }
        transaction
            .prepare_cached(
                "UPDATE parts SET first_ts = ?2, last_ts = ?3, requests = ?4, attacks = ?5, flows = ?6, counts = ?7 WHERE id = ?1",
            )?
            .execute(params![
                part.id,
                remaining.first_ts,
                remaining.last_ts,
                remaining.requests as i64,
                remaining.attacks as i64,
                remaining.flow_mask,
                remaining.encode_counts()
            ])?;
    }
    for ((value_kind, value), parts) in &lost_presence {
        presence::remove(&transaction, *value_kind, *value, parts)?;
    }
    apply_day_deltas(&transaction, &day_deltas)?;
    transaction.commit()?;
    Ok(outcome)
}
