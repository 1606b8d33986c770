//! Retention by time of storage: a UTC day of traffic (every session part of that day, by the
//! exchanges' own times) is removed once nothing was stored into it since the cutoff, with
//! everything that hangs off it — blocks, the id index of its hours, presence lists, day
//! statistics and the stored attack contents of its requests. The dictionary keeps its strings.
//!
//! Why days and why storage time: an import of old logs must stay for the retention period
//! after it arrives, whatever its event times, and a day is the unit the id index (hours), the
//! day statistics and the scale-out backend's partitions already cut along, so dropping one is
//! a few range deletes instead of a rewrite of what stays. `day_storage` holds, per day, the
//! wall-clock time of the last append that accepted an exchange of it (duplicates included, so
//! re-ingesting a file keeps it for another period). Each day goes in its own transaction,
//! re-checked inside it, so an append that touches the day meanwhile keeps it, an interrupted
//! run leaves a consistent store, and writers wait for one day at most. Freed pages go back to
//! the file system afterwards (the file is created with incremental auto-vacuum).

use std::collections::{HashMap, HashSet};

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use sessionscope_model::{day_start_micros, Micros, MICROS_PER_DAY};

use crate::{RetentionOutcome, StoreError};

use super::aggregate::{kind, PartAggregate};
use super::backend_error;
use super::ids;
use super::keys::{hours_of_day, MAX_HOUR};
use super::presence;

pub(crate) fn apply(
    connection: &Connection,
    stored_before: Micros,
) -> Result<RetentionOutcome, StoreError> {
    let outcome = remove_expired_days(connection, stored_before).map_err(backend_error)?;
    if outcome.exchanges_removed > 0 || outcome.days_removed > 0 {
        // Give the freed pages back and shrink the WAL; failures here only cost disk space.
        let _ = connection.execute_batch("PRAGMA incremental_vacuum;");
        let _ = connection.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
    }
    Ok(outcome)
}

fn remove_expired_days(
    connection: &Connection,
    stored_before: Micros,
) -> rusqlite::Result<RetentionOutcome> {
    let expired: Vec<i64> = {
        let mut statement = connection
            .prepare_cached("SELECT day FROM day_storage WHERE stored_at < ?1 ORDER BY day")?;
        let rows = statement.query_map(params![stored_before], |row| row.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    let mut outcome = RetentionOutcome::default();
    for day in expired {
        remove_day(connection, day, stored_before, &mut outcome)?;
    }
    Ok(outcome)
}

/// Removes one day in one transaction, unless it was stored into since `stored_before`.
fn remove_day(
    connection: &Connection,
    day: i64,
    stored_before: Micros,
    outcome: &mut RetentionOutcome,
) -> rusqlite::Result<()> {
    let transaction =
        rusqlite::Transaction::new_unchecked(connection, TransactionBehavior::Immediate)?;
    let stored_at: Option<i64> = transaction
        .prepare_cached("SELECT stored_at FROM day_storage WHERE day = ?1")?
        .query_row(params![day], |row| row.get(0))
        .optional()?;
    if stored_at.is_none_or(|stored_at| stored_at >= stored_before) {
        return transaction.commit();
    }
    let mut exchanges = 0u64;
    let mut part_ids: HashSet<i64> = HashSet::new();
    // (kind, value) → the day's parts that have it; each value's rows are rewritten once.
    let mut lost_presence: HashMap<(u8, i64), HashSet<i64>> = HashMap::new();
    {
        let mut statement =
            transaction.prepare_cached("SELECT id, requests, counts FROM parts WHERE day = ?1")?;
        let mut rows = statement.query(params![day])?;
        while let Some(row) = rows.next()? {
            let part_id: i64 = row.get(0)?;
            exchanges += row.get::<_, i64>(1)?.max(0) as u64;
            let counts = PartAggregate::decode_counts(row.get_ref(2)?.as_blob()?);
            for (value_kind, value) in counts.keys() {
                if *value_kind != kind::ENDPOINT {
                    lost_presence
                        .entry((*value_kind, *value))
                        .or_default()
                        .insert(part_id);
                }
            }
            part_ids.insert(part_id);
        }
    }
    let block_ids: HashSet<i64> = {
        let mut statement = transaction.prepare_cached(
            "SELECT blocks.id FROM blocks JOIN parts ON parts.id = blocks.part_id WHERE parts.day = ?1",
        )?;
        let rows = statement.query_map(params![day], |row| row.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    // The id index: the day's hours go whole, except the edge buckets, which times outside the
    // hour range share with other days; there only this day's keys are taken out.
    let hours = hours_of_day(day);
    transaction
        .prepare_cached(
            "DELETE FROM id_chunks WHERE hour >= ?1 AND hour <= ?2 AND hour <> 0 AND hour <> ?3",
        )?
        .execute(params![hours.start(), hours.end(), MAX_HOUR])?;
    for edge in [0, MAX_HOUR] {
        if hours.contains(&edge) {
            ids::remove_keys_of_blocks(&transaction, edge, &block_ids)?;
        }
    }
    // Attack contents are keyed by exchange id with the exchange's time, which lies in its day.
    let day_start = day_start_micros(day as i32);
    transaction
        .prepare_cached("DELETE FROM attack_contents WHERE ts >= ?1 AND ts < ?2")?
        .execute(params![day_start, day_start.saturating_add(MICROS_PER_DAY)])?;
    for ((value_kind, value), parts) in &lost_presence {
        presence::remove(&transaction, *value_kind, *value, parts)?;
    }
    transaction
        .prepare_cached(
            "DELETE FROM blocks WHERE part_id IN (SELECT id FROM parts WHERE day = ?1)",
        )?
        .execute(params![day])?;
    for statement in [
        "DELETE FROM parts WHERE day = ?1",
        "DELETE FROM day_stats WHERE day = ?1",
        "DELETE FROM day_storage WHERE day = ?1",
    ] {
        transaction
            .prepare_cached(statement)?
            .execute(params![day])?;
    }
    transaction.commit()?;
    outcome.exchanges_removed += exchanges;
    outcome.parts_removed += part_ids.len() as u64;
    outcome.days_removed += 1;
    Ok(())
}
