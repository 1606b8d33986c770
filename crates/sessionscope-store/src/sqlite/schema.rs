//! The SQLite schema and its migrations. `MIGRATIONS[n]` takes a store from version `n` to
//! `n + 1`; every step runs in the opening transaction, so a failed step leaves the old version.

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use crate::StoreError;

use super::backend_error;
use super::block::{exchange_key, BlockEncoder, BlockEntry, MAX_BLOCK_ENTRIES};
use super::filter::{StoredExchange, EXCHANGE_COLUMNS};
use super::ids::{hash_of, write_chunk};
use super::keys::hour_of;
use super::presence;

/// Page size of a new file, chosen by measurement. With exchanges stored in blocks (schema 3 on),
/// few rows are written per exchange, and 16 KiB pages beat 4 KiB ones: a quarter of the page
/// writes, reads and checksums for the same data, shallower trees, a smaller file (1 M bench
/// exchanges: 146 MB instead of 158 MB), and no slower reads (BENCHMARKS.md). 4 KiB pages had
/// been right when every exchange was a row with its own index entries. Fixed for existing
/// files, which keep theirs.
pub(crate) const PAGE_SIZE: u32 = 16384;

type Migration = fn(&Transaction) -> rusqlite::Result<()>;

/// Ordered migration steps; the schema version is their count.
pub(crate) const MIGRATIONS: &[Migration] = &[
    create_version_1,
    add_day_statistics,
    move_exchanges_into_blocks,
    add_config_changes_and_samples,
    add_attack_contents,
    allow_context_text_in_blocks,
    allow_repeated_context_in_blocks,
    add_audit_log_and_token_use,
    add_day_storage_times,
    add_reevaluation_job,
];

pub(crate) fn current_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// Version 1: dictionary, parts with their aggregates, exchanges, presence, users, tokens, settings.
fn create_version_1(transaction: &Transaction) -> rusqlite::Result<()> {
    transaction.execute_batch(
        "
        CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
        -- Interned strings per kind (hosts, apps, endpoints, users, role sets, ...).
        CREATE TABLE strings (id INTEGER PRIMARY KEY, kind INTEGER NOT NULL, text TEXT NOT NULL);
        CREATE UNIQUE INDEX strings_by_text ON strings (kind, text);
        -- Client addresses as 16 big-endian bytes (IPv4 mapped into IPv6), so a CIDR is a range.
        CREATE TABLE addresses (id INTEGER PRIMARY KEY, address BLOB NOT NULL);
        CREATE UNIQUE INDEX addresses_by_value ON addresses (address);
        CREATE TABLE parts (
            id INTEGER PRIMARY KEY,
            session_id BLOB NOT NULL,
            day INTEGER NOT NULL,
            first_ts INTEGER NOT NULL,
            last_ts INTEGER NOT NULL,
            requests INTEGER NOT NULL,
            attacks INTEGER NOT NULL,
            flows INTEGER NOT NULL,
            counts BLOB NOT NULL
        );
        CREATE UNIQUE INDEX parts_by_session ON parts (session_id, day);
        CREATE INDEX parts_by_last ON parts (last_ts, id);
        -- Exact presence of a value in a part, for filtering the session list.
        CREATE TABLE part_values (
            kind INTEGER NOT NULL, value_id INTEGER NOT NULL, part_id INTEGER NOT NULL,
            PRIMARY KEY (kind, value_id, part_id)
        ) WITHOUT ROWID;
        -- `seq` is a time key: the first free value at or after ts * 1024 (see `time_key`), so
        -- rowid order is time order and the table needs no time index.
        CREATE TABLE exchanges (
            seq INTEGER PRIMARY KEY,
            part_id INTEGER NOT NULL,
            ts INTEGER NOT NULL,
            id TEXT NOT NULL,
            address_id INTEGER,
            host_id INTEGER NOT NULL,
            app_id INTEGER NOT NULL,
            method_id INTEGER NOT NULL,
            template_id INTEGER NOT NULL,
            path TEXT NOT NULL,
            query TEXT,
            status INTEGER,
            duration REAL,
            size INTEGER,
            user_agent_id INTEGER,
            user_id INTEGER,
            role_set_id INTEGER,
            key_id INTEGER NOT NULL,
            flows INTEGER NOT NULL,
            attack_set_id INTEGER,
            attacks TEXT,
            context_id INTEGER
        );
        -- (part_id, rowid): a part's exchanges in time order.
        CREATE INDEX exchanges_by_part ON exchanges (part_id);
        -- Idempotency and look-up by exchange id: slot = UTC hour of ts << 43 | 43 bits of a hash
        -- of the id (see `id_slot`); collisions probe the next slot of the same hour.
        CREATE TABLE exchange_ids (slot INTEGER PRIMARY KEY, seq INTEGER NOT NULL);
        CREATE TABLE users (name TEXT PRIMARY KEY, role TEXT NOT NULL, password_hash TEXT NOT NULL, created INTEGER NOT NULL);
        CREATE TABLE tokens (token_hash TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, role TEXT NOT NULL, created INTEGER NOT NULL);
        CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        ",
    )
}

/// Version 2: parts per day and per (day, flow), exchanges per day, so totals of the session list over whole days
/// need no scan. Back-filled from the parts.
fn add_day_statistics(transaction: &Transaction) -> rusqlite::Result<()> {
    transaction.execute_batch(
        "
        CREATE TABLE day_stats (
            day INTEGER NOT NULL, flow INTEGER NOT NULL, count INTEGER NOT NULL,
            PRIMARY KEY (day, flow)
        ) WITHOUT ROWID;
        CREATE INDEX parts_by_day ON parts (day, last_ts, first_ts, flows);
        INSERT INTO day_stats (day, flow, count) SELECT day, 255, count(*) FROM parts GROUP BY day;
        INSERT INTO day_stats (day, flow, count) SELECT day, 254, sum(requests) FROM parts GROUP BY day;
        ",
    )?;
    for flow_index in 0..7 {
        transaction.execute(
            "INSERT INTO day_stats (day, flow, count)
             SELECT day, ?1, count(*) FROM parts WHERE (flows >> ?1) & 1 = 1 GROUP BY day",
            params![flow_index],
        )?;
    }
    Ok(())
}

/// Version 3: exchanges live in blocks (see `block.rs`), one row per (part, batch) instead of one
/// row per exchange. Rows of an older store are moved into blocks of up to `MAX_BLOCK_ENTRIES`
/// per part, the id slots of `exchange_ids` are replaced by the id index of `ids.rs`, and the
/// presence rows of `part_values` by the per-value part lists of `presence.rs`.
fn move_exchanges_into_blocks(transaction: &Transaction) -> rusqlite::Result<()> {
    transaction.execute_batch(
        "
        CREATE TABLE blocks (
            id INTEGER PRIMARY KEY,
            part_id INTEGER NOT NULL,
            first_ts INTEGER NOT NULL,
            last_ts INTEGER NOT NULL,
            count INTEGER NOT NULL,
            data BLOB NOT NULL
        );
        -- A part's blocks; exports merge blocks by first time (the last time in the index lets a
        -- window skip blocks without reading them); usage reads the newest last time.
        CREATE INDEX blocks_by_part ON blocks (part_id, first_ts, last_ts);
        CREATE INDEX blocks_by_first ON blocks (first_ts, last_ts);
        CREATE INDEX blocks_by_last ON blocks (last_ts);
        -- The id index (see `ids.rs`): sorted (hash, key) pairs per (UTC hour, hash byte, chunk).
        CREATE TABLE id_chunks (
            id INTEGER PRIMARY KEY,
            hour INTEGER NOT NULL,
            prefix INTEGER NOT NULL,
            chunk INTEGER NOT NULL,
            entries BLOB NOT NULL
        );
        CREATE UNIQUE INDEX id_chunks_by_hour ON id_chunks (hour, prefix, chunk);
        -- Presence of values in parts (see `presence.rs`), replacing `part_values`.
        CREATE TABLE value_parts (
            id INTEGER PRIMARY KEY,
            kind INTEGER NOT NULL,
            value_id INTEGER NOT NULL,
            part_ids BLOB NOT NULL
        );
        CREATE INDEX value_parts_by_value ON value_parts (kind, value_id);
        CREATE TEMP TABLE moved_ids (hour INTEGER NOT NULL, hash INTEGER NOT NULL, key INTEGER NOT NULL);
        ",
    )?;
    {
        let mut select = transaction.prepare(&format!(
            "SELECT {EXCHANGE_COLUMNS} FROM exchanges ORDER BY part_id, seq"
        ))?;
        let mut insert_block = transaction.prepare(
            "INSERT INTO blocks (id, part_id, first_ts, last_ts, count, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        let mut insert_id =
            transaction.prepare("INSERT INTO moved_ids (hour, hash, key) VALUES (?1, ?2, ?3)")?;
        let mut rows = select.query([])?;
        let mut block_id = 0i64;
        let mut part_id = i64::MIN;
        let mut encoder = BlockEncoder::new(0);
        let mut flush = |block_id: i64, part_id: i64, encoder: &BlockEncoder| {
            if encoder.is_empty() {
                return Ok(0);
            }
            insert_block.execute(params![
                block_id,
                part_id,
                encoder.first_ts(),
                encoder.last_ts(),
                encoder.len() as i64,
                encoder.bytes()
            ])
        };
        while let Some(row) = rows.next()? {
            let exchange = StoredExchange::from_row(row)?;
            if exchange.part_id != part_id || encoder.len() == MAX_BLOCK_ENTRIES {
                flush(block_id, part_id, &encoder)?;
                block_id += 1;
                part_id = exchange.part_id;
                encoder = BlockEncoder::new(0);
            }
            insert_id.execute(params![
                hour_of(exchange.ts),
                hash_of(&exchange.id) as i64,
                exchange_key(block_id, encoder.len())
            ])?;
            encoder.push(&BlockEntry::of_stored(&exchange));
        }
        flush(block_id, part_id, &encoder)?;
    }
    {
        // One chunk per hour; the pairs are sorted here, as unsigned hashes.
        let mut select =
            transaction.prepare("SELECT hour, hash, key FROM moved_ids ORDER BY hour")?;
        let mut rows = select.query([])?;
        let mut hour = i64::MIN;
        let mut entries: Vec<(u64, i64)> = Vec::new();
        while let Some(row) = rows.next()? {
            let row_hour: i64 = row.get(0)?;
            if row_hour != hour {
                entries.sort_unstable();
                write_chunk(transaction, hour, 0, &entries)?;
                entries.clear();
                hour = row_hour;
            }
            entries.push((row.get::<_, i64>(1)? as u64, row.get(2)?));
        }
        entries.sort_unstable();
        write_chunk(transaction, hour, 0, &entries)?;
    }
    {
        // Presence rows in groups of up to `MAX_BLOCK_ENTRIES` parts per value.
        let mut select = transaction.prepare(
            "SELECT kind, value_id, part_id FROM part_values ORDER BY kind, value_id, part_id",
        )?;
        let mut rows = select.query([])?;
        let mut group: Vec<(u8, i64, i64)> = Vec::new();
        while let Some(row) = rows.next()? {
            let triple: (u8, i64, i64) = (row.get(0)?, row.get(1)?, row.get(2)?);
            let same_value = group
                .first()
                .is_some_and(|first| (first.0, first.1) == (triple.0, triple.1));
            if !same_value || group.len() == MAX_BLOCK_ENTRIES {
                presence::insert(transaction, &mut group)?;
                group.clear();
            }
            group.push(triple);
        }
        presence::insert(transaction, &mut group)?;
    }
    transaction.execute_batch(
        "
        DROP TABLE part_values;
        DROP TABLE moved_ids;
        DROP TABLE exchange_ids;
        DROP TABLE exchanges;
        ",
    )
}

/// Version 4: the change log of the analysis configuration (PRODUCT.md C6, R4) and the sanitised
/// sample exchanges the console's point builder previews against.
fn add_config_changes_and_samples(transaction: &Transaction) -> rusqlite::Result<()> {
    transaction.execute_batch(
        "
        CREATE TABLE config_changes (
            id INTEGER PRIMARY KEY,
            at INTEGER NOT NULL,
            who TEXT NOT NULL,
            summary TEXT NOT NULL,
            before TEXT,
            after TEXT NOT NULL
        );
        -- Exchange NDJSON lines, secrets already masked or hashed; `position` 0 is the newest.
        CREATE TABLE exchange_samples (position INTEGER PRIMARY KEY, line TEXT NOT NULL);
        ",
    )
}

/// Version 5: the sanitised full content of requests with at least one attack (PRODUCT.md E8),
/// one exchange NDJSON line per request with its secrets already masked or hashed. Keyed by the
/// exchange id so a request's content is found without going through its block; `ts` lets
/// retention drop it with the request.
fn add_attack_contents(transaction: &Transaction) -> rusqlite::Result<()> {
    transaction.execute_batch(
        "
        CREATE TABLE attack_contents (
            exchange_id TEXT PRIMARY KEY,
            ts INTEGER NOT NULL,
            content TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX attack_contents_by_ts ON attack_contents (ts);
        ",
    )
}

/// Version 6: blocks of format version 2, whose entries may hold their context values as text
/// (`block.rs`). Nothing changes in the tables; the version keeps older programs, which cannot
/// read such blocks, from opening the store.
fn allow_context_text_in_blocks(_transaction: &Transaction) -> rusqlite::Result<()> {
    Ok(())
}

/// Version 7: blocks of format version 3, whose entries may repeat the context text of the
/// entry before them (`block.rs`). As for version 6, only the version changes.
fn allow_repeated_context_in_blocks(_transaction: &Transaction) -> rusqlite::Result<()> {
    Ok(())
}

/// Version 8: the audit log of access changes and sign-ins (PRODUCT.md R4; configuration changes
/// stay in `config_changes`, which the audit view merges in by time), and when each token was
/// last used.
fn add_audit_log_and_token_use(transaction: &Transaction) -> rusqlite::Result<()> {
    transaction.execute_batch(
        "
        ALTER TABLE tokens ADD COLUMN last_used INTEGER;
        CREATE TABLE audit_events (
            id INTEGER PRIMARY KEY,
            at INTEGER NOT NULL,
            who TEXT NOT NULL,
            action TEXT NOT NULL,
            target TEXT NOT NULL,
            detail TEXT NOT NULL
        );
        CREATE INDEX audit_events_by_at ON audit_events (at, id);
        CREATE INDEX config_changes_by_at ON config_changes (at, id);
        ",
    )
}

/// Version 9: when each UTC day of traffic was last stored into (wall-clock microseconds), the
/// time retention counts from (`retention.rs`). Days stored before this version get the time of
/// the migration, so upgrading removes nothing: their retention period starts now.
fn add_day_storage_times(transaction: &Transaction) -> rusqlite::Result<()> {
    transaction.execute_batch(
        "CREATE TABLE IF NOT EXISTS day_storage (day INTEGER PRIMARY KEY, stored_at INTEGER NOT NULL);",
    )?;
    transaction.execute(
        "INSERT INTO day_storage (day, stored_at) SELECT DISTINCT day, ?1 FROM parts WHERE true
         ON CONFLICT (day) DO UPDATE SET stored_at = excluded.stored_at",
        params![chrono::Utc::now().timestamp_micros()],
    )?;
    Ok(())
}

/// Version 10: the unfinished re-evaluation (`reevaluate.rs`), at most one row, and the parts it
/// has rebuilt so far (so they are counted once however many pieces touch them).
fn add_reevaluation_job(transaction: &Transaction) -> rusqlite::Result<()> {
    transaction.execute_batch(
        "
        CREATE TABLE reevaluation_job (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            settings_version INTEGER NOT NULL,
            from_ts INTEGER,
            started INTEGER NOT NULL,
            -- Blocks up to `last_block` (the newest when it started) with ids after `cursor`
            -- are still to do; later ones were analysed under the rules already.
            last_block INTEGER NOT NULL,
            cursor INTEGER NOT NULL,
            requests_total INTEGER NOT NULL,
            requests_done INTEGER NOT NULL,
            exchanges_checked INTEGER NOT NULL,
            exchanges_changed INTEGER NOT NULL,
            exchanges_cleared INTEGER NOT NULL,
            attacks_removed INTEGER NOT NULL
        );
        CREATE TABLE reevaluation_parts (part_id INTEGER PRIMARY KEY);
        ",
    )
}

/// The flow number under which `day_stats` keeps the count of all parts of a day.
pub(crate) const ALL_PARTS: i64 = 255;
/// The flow number under which `day_stats` keeps the number of exchanges of a day.
pub(crate) const ALL_EXCHANGES: i64 = 254;

fn read_version(connection: &Connection) -> rusqlite::Result<i64> {
    let meta_exists: bool = connection
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
            [],
            |row| row.get::<_, i64>(0),
        )
        .map(|count| count > 0)?;
    if !meta_exists {
        return Ok(0);
    }
    // Read as text whatever type the value was written with (blob, text or integer).
    let version: Option<String> = connection
        .query_row(
            "SELECT CAST(value AS TEXT) FROM meta WHERE key = 'schema_version'",
            [],
            |row| row.get(0),
        )
        .optional()?;
    match version {
        None => Ok(0),
        Some(text) => text.trim().parse().map_err(|_| {
            rusqlite::Error::FromSqlConversionFailure(
                0,
                rusqlite::types::Type::Text,
                format!("schema_version `{text}`").into(),
            )
        }),
    }
}

/// Brings the schema up to `target` (normally `current_version()`), creating the installation
/// secret with a new store. Returns how many steps ran.
pub(crate) fn migrate(
    connection: &mut Connection,
    target: i64,
    location: &str,
) -> Result<usize, StoreError> {
    let found = read_version(connection).map_err(backend_error)?;
    let supported = current_version();
    if found > supported {
        return Err(StoreError::SchemaTooNew { found, supported });
    }
    if found >= target {
        return Ok(0);
    }
    let transaction = connection.transaction().map_err(backend_error)?;
    let mut steps = 0;
    for (index, step) in MIGRATIONS
        .iter()
        .enumerate()
        .take(target as usize)
        .skip(found as usize)
    {
        step(&transaction).map_err(|error| StoreError::Open {
            location: location.to_string(),
            reason: format!("schema migration to version {} failed: {error}", index + 1),
        })?;
        steps += 1;
    }
    let has_secret: bool = transaction
        .query_row(
            "SELECT count(*) FROM meta WHERE key = 'installation_secret'",
            [],
            |row| row.get::<_, i64>(0),
        )
        .map_err(backend_error)?
        > 0;
    if !has_secret {
        let secret: [u8; 32] = rand::random();
        transaction
            .execute(
                "INSERT INTO meta (key, value) VALUES ('installation_secret', ?1)",
                params![secret.to_vec()],
            )
            .map_err(backend_error)?;
    }
    transaction
        .execute(
            "INSERT INTO meta (key, value) VALUES ('schema_version', ?1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![target.to_string().into_bytes()],
        )
        .map_err(backend_error)?;
    transaction.commit().map_err(backend_error)?;
    Ok(steps)
}
