//! Re-evaluation of stored attacks (PRODUCT.md A3): after a false positive is marked, the stored
//! findings it covers are dropped, and everything derived from them follows — the exchange's
//! attack type set (what the `attack_type` filter reads per request), the part's attack count and
//! attack-type counts (what the session list and statistics show), and the presence lists (what
//! the `attack_type` filter reads per part).
//!
//! Only removal is possible: raw values are not stored, so nothing new can be found in stored
//! data. Blocks are rewritten in place with the same keys, so ids and exchange keys stay valid.
//!
//! A re-evaluation is a stored job (`reevaluation_job`): the settings version whose rules it
//! applies, its time range, and a cursor over block ids. It goes `BLOCKS_PER_PIECE` blocks of
//! parts with attacks per transaction, which also moves the cursor and adds to the job's
//! counts, so ingestion goes on between pieces and a stop or a crash leaves every piece either
//! done or not, never half; the next run continues after the cursor. Blocks appended after the
//! job started (ids past `last_block`) were analysed under its rules already.

use std::collections::{HashMap, HashSet};

use rusqlite::{params, Connection, OptionalExtension};
use sessionscope_model::{Attack, Micros};

use crate::{
    AttackContext, ReevaluateOutcome, ReevaluationJob, ReevaluationRequest, ReevaluationScope,
};

use super::aggregate::{kind, PartAggregate, SET_SEPARATOR};
use super::block::{decode_block, index_of_key, BlockEncoder, BlockEntry};
use super::filter::Names;
use super::presence;
use super::reader::rebuild_aggregate;

/// Blocks rewritten per transaction. The writer is held for one transaction at a time, so
/// ingestion and other writes go on between them on a large store.
pub(crate) const BLOCKS_PER_PIECE: usize = 256;

/// The job with its position.
pub(crate) struct StoredJob {
    pub job: ReevaluationJob,
    cursor: i64,
    last_block: i64,
}

pub(crate) fn load_job(connection: &Connection) -> rusqlite::Result<Option<StoredJob>> {
    let stored = connection
        .prepare_cached(
            "SELECT settings_version, from_ts, started, last_block, cursor, requests_total, requests_done,
                    exchanges_checked, exchanges_changed, exchanges_cleared, attacks_removed
             FROM reevaluation_job WHERE id = 1",
        )?
        .query_row([], |row| {
            let count = |index: usize| -> rusqlite::Result<u64> {
                Ok(row.get::<_, i64>(index)?.max(0) as u64)
            };
            Ok(StoredJob {
                job: ReevaluationJob {
                    settings_version: row.get(0)?,
                    from: row.get(1)?,
                    started: row.get(2)?,
                    requests_total: count(5)?,
                    requests_done: count(6)?,
                    outcome: ReevaluateOutcome {
                        exchanges_checked: count(7)?,
                        exchanges_changed: count(8)?,
                        exchanges_cleared: count(9)?,
                        attacks_removed: count(10)?,
                        parts_changed: 0,
                    },
                },
                last_block: row.get(3)?,
                cursor: row.get(4)?,
            })
        })
        .optional()?;
    let Some(mut stored) = stored else {
        return Ok(None);
    };
    let parts: i64 =
        connection.query_row("SELECT count(*) FROM reevaluation_parts", [], |row| {
            row.get(0)
        })?;
    stored.job.outcome.parts_changed = parts.max(0) as u64;
    Ok(Some(stored))
}

fn save_job(connection: &Connection, stored: &StoredJob) -> rusqlite::Result<()> {
    let job = &stored.job;
    let outcome = &job.outcome;
    connection
        .prepare_cached(
            "INSERT INTO reevaluation_job (id, settings_version, from_ts, started, last_block, cursor,
                 requests_total, requests_done, exchanges_checked, exchanges_changed, exchanges_cleared,
                 attacks_removed)
             VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
             ON CONFLICT (id) DO UPDATE SET settings_version = excluded.settings_version,
                 from_ts = excluded.from_ts, started = excluded.started, last_block = excluded.last_block,
                 cursor = excluded.cursor, requests_total = excluded.requests_total,
                 requests_done = excluded.requests_done, exchanges_checked = excluded.exchanges_checked,
                 exchanges_changed = excluded.exchanges_changed,
                 exchanges_cleared = excluded.exchanges_cleared, attacks_removed = excluded.attacks_removed",
        )?
        .execute(params![
            job.settings_version,
            job.from,
            job.started,
            stored.last_block,
            stored.cursor,
            job.requests_total as i64,
            job.requests_done as i64,
            outcome.exchanges_checked as i64,
            outcome.exchanges_changed as i64,
            outcome.exchanges_cleared as i64,
            outcome.attacks_removed as i64
        ])?;
    Ok(())
}

/// Whether a job from `job_from` already covers requests from `from` on.
fn covers(job_from: Option<Micros>, from: Option<Micros>) -> bool {
    match (job_from, from) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(job_from), Some(from)) => job_from <= from,
    }
}

fn earlier(left: Option<Micros>, right: Option<Micros>) -> Option<Micros> {
    Some(left?.min(right?))
}

/// Starts the job the request asks for, continues the unfinished one, or starts that over
/// (see `ReevaluationScope`); inside the caller's transaction. Returns the job and whether one
/// was there before; `None` when only an unfinished job was asked for and there is none.
pub(crate) fn start(
    connection: &Connection,
    request: &ReevaluationRequest,
    now: Micros,
) -> rusqlite::Result<Option<(StoredJob, bool)>> {
    let existing = load_job(connection)?;
    let continued = existing.is_some();
    let from = match (request.scope, &existing) {
        (ReevaluationScope::Unfinished, None) => return Ok(None),
        (ReevaluationScope::Unfinished, Some(stored))
            if stored.job.settings_version == request.settings_version =>
        {
            return Ok(existing.map(|stored| (stored, true)));
        }
        (ReevaluationScope::Unfinished, Some(stored)) => stored.job.from,
        (ReevaluationScope::From(from), Some(stored))
            if stored.job.settings_version == request.settings_version
                && covers(stored.job.from, from) =>
        {
            return Ok(existing.map(|stored| (stored, true)));
        }
        (ReevaluationScope::From(from), Some(stored)) => earlier(stored.job.from, from),
        (ReevaluationScope::From(from), None) => from,
    };
    // A new job, or one started over: what was removed so far stays removed and counted.
    let outcome = match existing {
        Some(stored) => stored.job.outcome,
        None => {
            connection.execute("DELETE FROM reevaluation_parts", [])?;
            ReevaluateOutcome::default()
        }
    };
    let last_block: i64 =
        connection.query_row("SELECT coalesce(max(id), 0) FROM blocks", [], |row| {
            row.get(0)
        })?;
    let requests_total: i64 = connection.query_row(
        "SELECT coalesce(sum(blocks.count), 0) FROM blocks JOIN parts ON parts.id = blocks.part_id
         WHERE parts.attacks > 0 AND blocks.last_ts >= ?1",
        params![from.unwrap_or(i64::MIN)],
        |row| row.get(0),
    )?;
    let stored = StoredJob {
        job: ReevaluationJob {
            settings_version: request.settings_version,
            from,
            started: now,
            requests_total: requests_total.max(0) as u64,
            requests_done: 0,
            outcome,
        },
        cursor: i64::MIN,
        last_block,
    };
    save_job(connection, &stored)?;
    Ok(Some((stored, continued)))
}

/// What one piece did.
pub(crate) enum Piece {
    /// A piece was done; more may follow.
    Done(ReevaluationJob),
    /// Nothing was left: the job is finished and removed.
    Finished(ReevaluationJob),
    /// No job any more (another caller finished it).
    Gone,
    /// The job now applies other settings (another caller started it over).
    Superseded(ReevaluationJob),
}

/// One piece of the job, inside the caller's transaction.
pub(crate) fn piece(
    connection: &Connection,
    settings_version: i64,
    keep: &dyn Fn(&AttackContext<'_>, &Attack) -> bool,
) -> rusqlite::Result<Piece> {
    let Some(mut stored) = load_job(connection)? else {
        return Ok(Piece::Gone);
    };
    if stored.job.settings_version != settings_version {
        return Ok(Piece::Superseded(stored.job));
    }
    let blocks: Vec<(i64, i64, i64)> = {
        let mut statement = connection.prepare_cached(
            "SELECT blocks.id, blocks.part_id, blocks.count FROM blocks JOIN parts ON parts.id = blocks.part_id
             WHERE blocks.id > ?1 AND blocks.id <= ?2 AND parts.attacks > 0 AND blocks.last_ts >= ?3
             ORDER BY blocks.id LIMIT ?4",
        )?;
        let rows = statement.query_map(
            params![
                stored.cursor,
                stored.last_block,
                stored.job.from.unwrap_or(i64::MIN),
                BLOCKS_PER_PIECE as i64
            ],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )?;
        rows.collect::<Result<_, _>>()?
    };
    let Some(&(last_id, _, _)) = blocks.last() else {
        connection.execute("DELETE FROM reevaluation_job", [])?;
        connection.execute("DELETE FROM reevaluation_parts", [])?;
        return Ok(Piece::Finished(stored.job));
    };
    let pairs: Vec<(i64, i64)> = blocks
        .iter()
        .map(|&(block_id, part_id, _)| (block_id, part_id))
        .collect();
    let mut outcome = stored.job.outcome;
    let parts = reevaluate_blocks(connection, &pairs, stored.job.from, keep, &mut outcome)?;
    {
        let mut insert = connection
            .prepare_cached("INSERT OR IGNORE INTO reevaluation_parts (part_id) VALUES (?1)")?;
        for part_id in parts {
            insert.execute(params![part_id])?;
        }
    }
    stored.cursor = last_id;
    stored.job.requests_done += blocks
        .iter()
        .map(|&(_, _, count)| count.max(0) as u64)
        .sum::<u64>();
    stored.job.outcome = outcome;
    save_job(connection, &stored)?;
    let parts: i64 =
        connection.query_row("SELECT count(*) FROM reevaluation_parts", [], |row| {
            row.get(0)
        })?;
    stored.job.outcome.parts_changed = parts.max(0) as u64;
    Ok(Piece::Done(stored.job))
}

/// The id of `text` in the dictionary, added when missing. The writer's caches are reset
/// afterwards, so it picks up the new row and its counter.
fn intern(connection: &Connection, value_kind: u8, text: &str) -> rusqlite::Result<i64> {
    let found: Option<i64> = connection
        .prepare_cached("SELECT id FROM strings WHERE kind = ?1 AND text = ?2")?
        .query_row(params![value_kind, text], |row| row.get(0))
        .optional()?;
    if let Some(id) = found {
        return Ok(id);
    }
    let id: i64 =
        connection.query_row("SELECT coalesce(max(id), 0) + 1 FROM strings", [], |row| {
            row.get(0)
        })?;
    connection
        .prepare_cached("INSERT INTO strings (id, kind, text) VALUES (?1, ?2, ?3)")?
        .execute(params![id, value_kind, text])?;
    Ok(id)
}

/// The attack type set of the remaining attacks, interned as the writer does (sorted, distinct,
/// joined); `None` when no attack is left.
fn attack_set_id(connection: &Connection, attacks: &[Attack]) -> rusqlite::Result<Option<i64>> {
    let mut kinds: Vec<&str> = attacks.iter().map(|attack| attack.kind.as_str()).collect();
    if kinds.is_empty() {
        return Ok(None);
    }
    kinds.sort_unstable();
    kinds.dedup();
    let joined = kinds.join(&SET_SEPARATOR.to_string());
    intern(connection, kind::ATTACK_SET, &joined).map(Some)
}

/// Re-evaluates the attacks stored in `blocks` (`(block id, part id)`), adds what changed to
/// `outcome` and returns the parts it rebuilt; inside the caller's transaction.
fn reevaluate_blocks(
    transaction: &Connection,
    blocks: &[(i64, i64)],
    from: Option<Micros>,
    keep: &dyn Fn(&AttackContext<'_>, &Attack) -> bool,
    outcome: &mut ReevaluateOutcome,
) -> rusqlite::Result<Vec<i64>> {
    let from = from.unwrap_or(i64::MIN);
    let mut names = Names::new(transaction);
    let mut changed_parts: HashSet<i64> = HashSet::new();
    for &(block_id, part_id) in blocks {
        // Retention may have deleted the block since it was listed.
        let Some(data): Option<Vec<u8>> = transaction
            .prepare_cached("SELECT data FROM blocks WHERE id = ?1")?
            .query_row(params![block_id], |row| row.get(0))
            .optional()?
        else {
            continue;
        };
        let mut entries = decode_block(block_id, part_id, &data)?;
        let mut block_changed = false;
        for exchange in &mut entries {
            if exchange.ts < from {
                continue;
            }
            let Some(text) = exchange.attacks.as_deref() else {
                continue;
            };
            // A stored list that does not parse is left as it is: re-evaluation only removes
            // what it can read.
            let Ok(attacks) = serde_json::from_str::<Vec<Attack>>(text) else {
                continue;
            };
            outcome.exchanges_checked += 1;
            let host = names.text(exchange.host_id)?;
            let endpoint = names.text(exchange.template_id)?;
            let method = names.text(exchange.method_id)?;
            let app = names.text(exchange.app_id)?;
            let context = AttackContext {
                id: &exchange.id,
                host: &host,
                endpoint: &endpoint,
                method: &method,
                app: &app,
            };
            let before = attacks.len();
            let kept: Vec<Attack> = attacks
                .into_iter()
                .filter(|attack| keep(&context, attack))
                .collect();
            if kept.len() == before {
                continue;
            }
            outcome.attacks_removed += (before - kept.len()) as u64;
            outcome.exchanges_changed += 1;
            if kept.is_empty() {
                outcome.exchanges_cleared += 1;
                // Only requests with attacks keep their full content (PRODUCT.md E8).
                transaction
                    .prepare_cached("DELETE FROM attack_contents WHERE exchange_id = ?1")?
                    .execute(params![exchange.id])?;
            }
            exchange.attack_set_id = attack_set_id(transaction, &kept)?;
            exchange.attacks = if kept.is_empty() {
                None
            } else {
                serde_json::to_string(&kept).ok()
            };
            block_changed = true;
        }
        if !block_changed {
            continue;
        }
        let Some(first) = entries.first() else {
            continue;
        };
        // Same first index, same order: every exchange keeps its key.
        let mut encoder = BlockEncoder::new(index_of_key(first.seq));
        for exchange in &entries {
            encoder.push(&BlockEntry::of_stored(exchange));
        }
        transaction
            .prepare_cached("UPDATE blocks SET data = ?2 WHERE id = ?1")?
            .execute(params![block_id, encoder.bytes()])?;
        changed_parts.insert(part_id);
    }
    drop(names);

    // (kind, value) → parts that no longer have it.
    let mut lost_presence: HashMap<(u8, i64), HashSet<i64>> = HashMap::new();
    let mut parts: Vec<i64> = changed_parts.into_iter().collect();
    parts.sort_unstable();
    for &part_id in &parts {
        let old_counts: Vec<u8> = transaction
            .prepare_cached("SELECT counts FROM parts WHERE id = ?1")?
            .query_row(params![part_id], |row| row.get(0))?;
        let old_counts = PartAggregate::decode_counts(&old_counts);
        let rebuilt = rebuild_aggregate(transaction, part_id)?;
        for (value_kind, value) in old_counts.keys() {
            if *value_kind != kind::ENDPOINT && !rebuilt.counts.contains_key(&(*value_kind, *value))
            {
                lost_presence
                    .entry((*value_kind, *value))
                    .or_default()
                    .insert(part_id);
            }
        }
        transaction
            .prepare_cached("UPDATE parts SET attacks = ?2, counts = ?3 WHERE id = ?1")?
            .execute(params![
                part_id,
                rebuilt.attacks as i64,
                rebuilt.encode_counts()
            ])?;
    }
    for ((value_kind, value), lost_in) in &lost_presence {
        presence::remove(transaction, *value_kind, *value, lost_in)?;
    }
    Ok(parts)
}
