//! Re-evaluation of stored attacks (PRODUCT.md A3): after a false positive is marked, the stored
//! findings it covers are dropped, and everything derived from them follows — the exchange's
//! attack type set (what the `attack_type` filter reads per request), the part's attack count and
//! attack-type counts (what the session list and statistics show), and the presence lists (what
//! the `attack_type` filter reads per part).
//!
//! Only removal is possible: raw values are not stored, so nothing new can be found in stored
//! data. Blocks are rewritten in place with the same keys, so ids and exchange keys stay valid.
//! Only blocks of parts that count attacks are read, a few hundred per transaction.

use std::collections::{HashMap, HashSet};

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use sessionscope_model::{Attack, Micros};

use crate::{AttackContext, ReevaluateOutcome, StoreError};

use super::aggregate::{kind, PartAggregate, SET_SEPARATOR};
use super::backend_error;
use super::block::{decode_block, index_of_key, BlockEncoder, BlockEntry};
use super::filter::Names;
use super::presence;
use super::reader::rebuild_aggregate;

/// Blocks rewritten per transaction. The writer is held for one transaction at a time, so
/// ingestion and other writes go on between them on a large store.
pub(crate) const BLOCKS_PER_TRANSACTION: usize = 256;

/// The blocks that may hold stored attacks from `from` on: those of parts with at least one
/// attack (a part's count is exact), in id order.
pub(crate) fn candidate_blocks(
    connection: &Connection,
    from: Option<Micros>,
) -> Result<Vec<(i64, i64)>, StoreError> {
    let from = from.unwrap_or(i64::MIN);
    let listed = || -> rusqlite::Result<Vec<(i64, i64)>> {
        let mut statement = connection.prepare(
            "SELECT blocks.id, blocks.part_id FROM blocks JOIN parts ON parts.id = blocks.part_id
             WHERE parts.attacks > 0 AND blocks.last_ts >= ?1 ORDER BY blocks.id",
        )?;
        let rows = statement.query_map(params![from], |row| Ok((row.get(0)?, row.get(1)?)))?;
        rows.collect()
    };
    listed().map_err(backend_error)
}

/// Re-evaluates the attacks stored in `blocks` (`(block id, part id)`, from `candidate_blocks`)
/// in one transaction, adds what changed to `outcome` and returns the parts it rebuilt.
pub(crate) fn apply(
    connection: &Connection,
    blocks: &[(i64, i64)],
    from: Option<Micros>,
    keep: &dyn Fn(&AttackContext<'_>, &Attack) -> bool,
    outcome: &mut ReevaluateOutcome,
) -> Result<Vec<i64>, StoreError> {
    reevaluate_in_transaction(connection, blocks, from, keep, outcome).map_err(backend_error)
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

fn reevaluate_in_transaction(
    connection: &Connection,
    blocks: &[(i64, i64)],
    from: Option<Micros>,
    keep: &dyn Fn(&AttackContext<'_>, &Attack) -> bool,
    outcome: &mut ReevaluateOutcome,
) -> rusqlite::Result<Vec<i64>> {
    let transaction =
        rusqlite::Transaction::new_unchecked(connection, TransactionBehavior::Immediate)?;
    let from = from.unwrap_or(i64::MIN);
    let mut names = Names::new(&transaction);
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
            exchange.attack_set_id = attack_set_id(&transaction, &kept)?;
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
        let rebuilt = rebuild_aggregate(&transaction, part_id)?;
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
        presence::remove(&transaction, *value_kind, *value, lost_in)?;
    }
    transaction.commit()?;
    Ok(parts)
}
