//! The embedded backend: one SQLite file in WAL mode. One writer connection (appends, retention,
//! users) behind a mutex, and a small pool of reader connections that read concurrently with it.
//!
//! Layout: exchanges live in blocks (`block.rs`): one row per (session part, appended batch)
//! holding that part's exchanges of the batch, encoded together with dictionary ids as varints
//! and times as deltas, so appending costs a few B-tree inserts per batch and part rather than
//! per exchange. Blocks are indexed by part and by time. Each session part (session, UTC day)
//! keeps running aggregates as a compact blob, and `value_parts` records which values occur in
//! which part (`presence.rs`), so the session list is answered from parts and only the parts of one page ever
//! decode blocks. Exchange ids are indexed by (UTC hour, 64-bit hash) in chunks written once per
//! batch (`ids.rs`), pointing at the exchange's key (block id and index).
//!
//! Decisions the `Store` contract leaves open:
//! - Idempotency: an exchange is a duplicate when its id is already stored in the same UTC hour
//!   of its time. Retries resend the original record (same time), so they are always caught;
//!   scoping the id index by hour lets the writer check a batch against in-memory sets of the
//!   few hours it touches and write the new ids as a few sorted chunks per batch.
//!   `request(id)` reads the id's hash byte in each stored hour (a point look-up per hour).
//! - Inside one batch the exchanges of a part are stored in time order, then batch order; when
//!   one batch holds the same id twice, the first in that order is kept.
//! - The part of an exchange is the UTC day of its `ts` (`day_of(ts)`), whatever `day` says.
//! - Session list order is the part's last stored request, then part id, both descending. With
//!   a time window a part straddling its end sorts by its last request overall.
//! - `duration_ms` and everything else round-trips exactly; the context JSON is interned.

mod aggregate;
mod block;
mod filter;
mod ids;
mod keys;
mod presence;
mod reader;
mod reevaluate;
mod retention;
mod schema;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use sessionscope_model::{
    AnalyzedExchange, AppendOutcome, Micros, PageRequest, RequestDetails, RequestPage, RequestRow,
    RequestSort, Role, SessionFilter, SessionId, SessionPage, SessionStats, SessionSummary,
};

use crate::{
    AuditEvent, ConfigChange, RetentionOutcome, Store, StoreError, StoreUsage, TokenRecord,
    UserRecord, ANALYSIS_SETTINGS_KEY, AUDIT_EVENTS_KEPT,
};

use writer::Writer;

/// How many idle reader connections are kept.
const IDLE_READERS: usize = 4;
/// SQLite page cache of the writer, in KiB: the hot index pages of the active day fit.
const WRITER_CACHE_KIB: i64 = 32 * 1024;
/// WAL size past which the writer checkpoints itself: the fallback behind `Checkpointer`, which
/// normally keeps the WAL below this. SQLite counts it in pages of the file's own size.
const WRITER_CHECKPOINT_BYTES: i64 = 64 * 1024 * 1024;
/// Appends between two background checkpoints: a hot index page rewritten by several batches is
/// then copied into the database once (measured: faster than one per append).
const APPENDS_PER_CHECKPOINT: u32 = 3;
/// The WAL file is truncated to this size after a checkpoint.
const WAL_LIMIT_BYTES: i64 = 64 * 1024 * 1024;
/// SQLite page cache of the checkpoint connection, in KiB: it only copies pages.
const CHECKPOINT_CACHE_KIB: i64 = 1024;
/// SQLite page cache of each reader, in KiB.
const READER_CACHE_KIB: i64 = 16 * 1024;

pub(crate) fn backend_error(error: rusqlite::Error) -> StoreError {
    StoreError::Backend(error.to_string())
}

/// The embedded SQLite store.
pub struct SqliteStore {
    path: PathBuf,
    writer: Mutex<Writer>,
    /// Copies the WAL into the database beside the writer (see `Checkpointer`); started by the
    /// first append, so a store opened only to be read has no such thread.
    checkpointer: std::sync::OnceLock<Option<Checkpointer>>,
    readers: Mutex<Vec<Connection>>,
    secret: [u8; 32],
    /// How much a filtered list verifies on exchanges; tests lower it to exercise the
    /// estimating and the budget-limited paths.
    verify_limits: reader::VerifyLimits,
    /// Read when appending: the time of storage that retention counts from.
    clock: crate::Clock,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret stays out of debug output.
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// A thread with its own connection that copies committed WAL pages into the database file
/// (`wal_checkpoint(PASSIVE)`: it never blocks the writer or readers) every
/// `APPENDS_PER_CHECKPOINT` appends. Copying the WAL is syscall-heavy work that would otherwise
/// run inside the writer's commits, the one serial stage of an ingest.
struct Checkpointer {
    /// Appends since the last request.
    appends: std::sync::atomic::AtomicU32,
    nudges: Option<crossbeam_channel::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Checkpointer {
    /// `None` when the connection or the thread cannot be had; the writer then checkpoints itself.
    fn start(path: &Path) -> Option<Checkpointer> {
        let connection = Connection::open(path).ok()?;
        configure(&connection, CHECKPOINT_CACHE_KIB).ok()?;
        let (nudges, received) = crossbeam_channel::bounded::<()>(1);
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                for () in received {
                    // A failure leaves the pages in the WAL; the writer's own automatic
                    // checkpoint takes them when the WAL grows past its larger threshold.
                    let _ = connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                }
            })
            .ok()?;
        Some(Checkpointer {
            appends: std::sync::atomic::AtomicU32::new(0),
            nudges: Some(nudges),
            thread: Some(thread),
        })
    }

    /// Counts an append and asks for a checkpoint every `APPENDS_PER_CHECKPOINT` of them; a
    /// request already waiting covers this one.
    fn nudge(&self) {
        let appends = self
            .appends
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            .wrapping_add(1);
        if !appends.is_multiple_of(APPENDS_PER_CHECKPOINT) {
            return;
        }
        if let Some(nudges) = &self.nudges {
            let _ = nudges.try_send(());
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.nudges = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn open_error(path: &Path, reason: impl std::fmt::Display) -> StoreError {
    StoreError::Open {
        location: path.display().to_string(),
        reason: reason.to_string(),
    }
}

fn configure(connection: &Connection, cache_kib: i64) -> rusqlite::Result<()> {
    connection.busy_timeout(std::time::Duration::from_secs(10))?;
    connection.set_prepared_statement_cache_capacity(64);
    connection.execute_batch(&format!(
        "PRAGMA synchronous = NORMAL;
         PRAGMA cache_size = -{cache_kib};
         PRAGMA temp_store = MEMORY;
         PRAGMA foreign_keys = OFF;"
    ))?;
    Ok(())
}

impl SqliteStore {
    /// Saves the analysis settings with their change-log row; with `based_on`, only when the
    /// newest change is that one.
    fn save_settings(
        &self,
        based_on: Option<i64>,
        settings_json: &str,
        who: &str,
        summary: &str,
    ) -> Result<ConfigChange, StoreError> {
        let writer = self.writer()?;
        // The writer connection is behind the mutex and the transaction takes SQLite's write
        // lock at once, so no other write (from this process or another) can interleave between
        // checking the newest change, reading `before` and committing.
        let transaction = rusqlite::Transaction::new_unchecked(
            writer.connection(),
            rusqlite::TransactionBehavior::Immediate,
        )
        .map_err(backend_error)?;
        if let Some(expected) = based_on {
            let newest: i64 = transaction
                .query_row(
                    "SELECT coalesce(max(id), 0) FROM config_changes",
                    [],
                    |row| row.get(0),
                )
                .map_err(backend_error)?;
            if newest != expected {
                return Err(StoreError::StaleSettings { expected, newest });
            }
        }
        let before: Option<String> = transaction
            .query_row(
                "SELECT value FROM settings WHERE key = ?1",
                params![ANALYSIS_SETTINGS_KEY],
                |row| row.get(0),
            )
            .optional()
            .map_err(backend_error)?;
        transaction
            .execute(
                "INSERT INTO settings (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![ANALYSIS_SETTINGS_KEY, settings_json],
            )
            .map_err(backend_error)?;
        let at = now_micros();
        transaction
            .execute(
                "INSERT INTO config_changes (at, who, summary, before, after) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![at, who, summary, before, settings_json],
            )
            .map_err(backend_error)?;
        let id = transaction.last_insert_rowid();
        transaction.commit().map_err(backend_error)?;
        Ok(ConfigChange {
            id,
            at,
            who: who.to_string(),
            summary: summary.to_string(),
            before,
            after: settings_json.to_string(),
        })
    }

    /// Opens the store at `path`, creating the file, the schema and the installation secret on
    /// first open and migrating an older schema.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        SqliteStore::open_at_version(path, schema::current_version())
    }

    /// `open` with another clock for the time of storage (tests store "days ago" with it).
    pub fn open_with_clock(path: &Path, clock: crate::Clock) -> Result<SqliteStore, StoreError> {
        let mut store = SqliteStore::open(path)?;
        store.clock = clock;
        Ok(store)
    }

    /// Opens and migrates only up to `version`; tests use it to make old stores.
    pub(crate) fn open_at_version(path: &Path, version: i64) -> Result<SqliteStore, StoreError> {
        if let Some(parent) = path.parent() {
            if !parent.as_os_str().is_empty() && !parent.exists() {
                std::fs::create_dir_all(parent).map_err(|error| open_error(path, error))?;
            }
        }
        let mut connection = Connection::open(path).map_err(|error| open_error(path, error))?;
        // Page size and auto-vacuum only take effect on a new file; they are no-ops afterwards.
        connection
            .execute_batch(&format!(
                "PRAGMA page_size = {};
                 PRAGMA auto_vacuum = INCREMENTAL;",
                schema::PAGE_SIZE
            ))
            .map_err(|error| open_error(path, error))?;
        let journal: String = connection
            .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
            .map_err(|error| open_error(path, error))?;
        if !journal.eq_ignore_ascii_case("wal") {
            return Err(open_error(
                path,
                format!("journal mode wal not available (got {journal})"),
            ));
        }
        configure(&connection, WRITER_CACHE_KIB).map_err(|error| open_error(path, error))?;
        // `Checkpointer` copies the WAL into the database beside the writer; the writer checkpoints
        // itself only when that falls behind (or could not start). The WAL is cut back to
        // `journal_size_limit` after a checkpoint, which bounds the disk it takes.
        let page_size: i64 = connection
            .query_row("PRAGMA page_size", [], |row| row.get(0))
            .map_err(|error| open_error(path, error))?;
        let checkpoint_pages = WRITER_CHECKPOINT_BYTES / page_size.max(512);
        connection
            .execute_batch(&format!(
                "PRAGMA wal_autocheckpoint = {checkpoint_pages}; PRAGMA journal_size_limit = {WAL_LIMIT_BYTES};"
            ))
            .map_err(|error| open_error(path, error))?;
        schema::migrate(&mut connection, version, &path.display().to_string())?;
        let secret_bytes: Vec<u8> = connection
            .query_row(
                "SELECT value FROM meta WHERE key = 'installation_secret'",
                [],
                |row| row.get(0),
            )
            .map_err(|error| open_error(path, error))?;
        let secret: [u8; 32] = secret_bytes
            .as_slice()
            .try_into()
            .map_err(|_| open_error(path, "installation secret is not 32 bytes"))?;
        let writer = Writer::new(connection).map_err(|error| open_error(path, error))?;
        Ok(SqliteStore {
            path: path.to_path_buf(),
            writer: Mutex::new(writer),
            checkpointer: std::sync::OnceLock::new(),
            readers: Mutex::new(Vec::new()),
            secret,
            verify_limits: reader::VerifyLimits::default(),
            clock: crate::system_clock(),
        })
    }

    fn writer(&self) -> Result<std::sync::MutexGuard<'_, Writer>, StoreError> {
        // A panic in another thread while writing leaves SQLite consistent (the transaction is
        // rolled back on drop); the caches are reset so they cannot be stale.
        match self.writer.lock() {
            Ok(guard) => Ok(guard),
            Err(poisoned) => {
                let mut guard = poisoned.into_inner();
                guard.reset_caches();
                Ok(guard)
            }
        }
    }

    /// Runs `work` on a pooled reader connection.
    fn read<T>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let pooled = self.readers.lock().ok().and_then(|mut idle| idle.pop());
        let connection = match pooled {
            Some(connection) => connection,
            None => {
                let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
                let connection =
                    Connection::open_with_flags(&self.path, flags).map_err(backend_error)?;
                configure(&connection, READER_CACHE_KIB).map_err(backend_error)?;
                connection
            }
        };
        let result = work(&connection);
        if let Ok(mut idle) = self.readers.lock() {
            if idle.len() < IDLE_READERS {
                idle.push(connection);
            }
        }
        result
    }

    fn file_bytes(&self) -> u64 {
        let mut total = 0;
        for suffix in ["", "-wal", "-shm"] {
            let mut name = self.path.clone().into_os_string();
            name.push(suffix);
            total += std::fs::metadata(&name)
                .map(|metadata| metadata.len())
                .unwrap_or(0);
        }
        total
    }
}

fn parse_role(text: &str) -> Role {
    // An unknown role in the table (written by a newer version) grants the least.
    text.parse().unwrap_or(Role::ReadOnly)
}

fn token_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<TokenRecord> {
    Ok(TokenRecord {
        name: row.get(0)?,
        role: parse_role(&row.get::<_, String>(1)?),
        created: row.get(2)?,
        last_used: row.get(3)?,
    })
}

fn is_unique_violation(error: &rusqlite::Error) -> bool {
    matches!(
        error,
        rusqlite::Error::SqliteFailure(failure, _) if failure.code == rusqlite::ErrorCode::ConstraintViolation
    )
}

fn now_micros() -> Micros {
    chrono::Utc::now().timestamp_micros()
}

impl Store for SqliteStore {
    fn installation_secret(&self) -> Result<[u8; 32], StoreError> {
        Ok(self.secret)
    }

    fn append_chunks(&self, chunks: &[&[AnalyzedExchange]]) -> Result<AppendOutcome, StoreError> {
        let stored_at = (self.clock)();
        let outcome = self.writer()?.append(chunks, stored_at);
        if let Some(checkpointer) = self
            .checkpointer
            .get_or_init(|| Checkpointer::start(&self.path))
        {
            checkpointer.nudge();
        }
        outcome
    }

    fn list_sessions(
        &self,
        filter: &SessionFilter,
        page: &PageRequest,
    ) -> Result<SessionPage, StoreError> {
        self.read(|connection| reader::list_sessions(connection, filter, page, self.verify_limits))
    }

    fn session_parts(
        &self,
        session_id: SessionId,
        filter: &SessionFilter,
    ) -> Result<Vec<SessionSummary>, StoreError> {
        self.read(|connection| reader::session_parts(connection, session_id, filter))
    }

    fn session_stats(
        &self,
        session_id: SessionId,
        part: Option<i32>,
        filter: &SessionFilter,
    ) -> Result<SessionStats, StoreError> {
        self.read(|connection| reader::session_stats(connection, session_id, part, filter))
    }

    fn session_requests(
        &self,
        session_id: SessionId,
        part: Option<i32>,
        filter: &SessionFilter,
        sort: RequestSort,
        page: &PageRequest,
    ) -> Result<RequestPage, StoreError> {
        self.read(|connection| {
            reader::session_requests(connection, session_id, part, filter, sort, page)
        })
    }

    fn request(&self, id: &str) -> Result<Option<RequestDetails>, StoreError> {
        self.read(|connection| reader::request(connection, id))
    }

    fn export_requests(
        &self,
        filter: &SessionFilter,
        sink: &mut dyn FnMut(RequestRow) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        self.read(|connection| reader::export_requests(connection, filter, sink))
    }

    fn export_sessions(
        &self,
        filter: &SessionFilter,
        sink: &mut dyn FnMut(SessionSummary) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        self.read(|connection| {
            reader::export_sessions(connection, filter, self.verify_limits, sink)
        })
    }

    fn apply_retention(&self, stored_before: Micros) -> Result<RetentionOutcome, StoreError> {
        self.writer()?.apply_retention(stored_before)
    }

    fn usage(&self) -> Result<StoreUsage, StoreError> {
        let bytes = self.file_bytes();
        self.read(|connection| {
            let mut usage = reader::usage(connection)?;
            usage.bytes = bytes;
            Ok(usage)
        })
    }

    fn create_user(&self, name: &str, role: Role, password_hash: &str) -> Result<(), StoreError> {
        let writer = self.writer()?;
        let result = writer.connection().execute(
            "INSERT INTO users (name, role, password_hash, created) VALUES (?1, ?2, ?3, ?4)",
            params![name, role.as_str(), password_hash, now_micros()],
        );
        match result {
            Ok(_) => Ok(()),
            Err(error) if is_unique_violation(&error) => {
                Err(StoreError::AlreadyExists(format!("user `{name}`")))
            }
            Err(error) => Err(backend_error(error)),
        }
    }

    fn user(&self, name: &str) -> Result<Option<UserRecord>, StoreError> {
        // Read on every console request (a login ends when its user is removed or changes
        // password, in any process): one cached statement, one primary-key look-up.
        self.read(|connection| {
            connection
                .prepare_cached(
                    "SELECT name, role, password_hash, created FROM users WHERE name = ?1",
                )
                .map_err(backend_error)?
                .query_row(params![name], |row| {
                    Ok(UserRecord {
                        name: row.get(0)?,
                        role: parse_role(&row.get::<_, String>(1)?),
                        password_hash: row.get(2)?,
                        created: row.get(3)?,
                    })
                })
                .optional()
                .map_err(backend_error)
        })
    }

    fn users(&self) -> Result<Vec<UserRecord>, StoreError> {
        self.read(|connection| {
            let mut statement = connection
                .prepare_cached(
                    "SELECT name, role, password_hash, created FROM users ORDER BY name",
                )
                .map_err(backend_error)?;
            let rows = statement
                .query_map([], |row| {
                    Ok(UserRecord {
                        name: row.get(0)?,
                        role: parse_role(&row.get::<_, String>(1)?),
                        password_hash: row.get(2)?,
                        created: row.get(3)?,
                    })
                })
                .map_err(backend_error)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(backend_error)
        })
    }

    fn create_token(&self, token_hash: &str, name: &str, role: Role) -> Result<(), StoreError> {
        let writer = self.writer()?;
        let result = writer.connection().execute(
            "INSERT INTO tokens (token_hash, name, role, created) VALUES (?1, ?2, ?3, ?4)",
            params![token_hash, name, role.as_str(), now_micros()],
        );
        match result {
            Ok(_) => Ok(()),
            Err(error) if is_unique_violation(&error) => {
                Err(StoreError::AlreadyExists(format!("token `{name}`")))
            }
            Err(error) => Err(backend_error(error)),
        }
    }

    fn token(&self, token_hash: &str) -> Result<Option<TokenRecord>, StoreError> {
        // Read on every API call (no cache, so a revoked token stops at once): one cached
        // statement, one primary-key look-up.
        self.read(|connection| {
            let mut statement = connection
                .prepare_cached(
                    "SELECT name, role, created, last_used FROM tokens WHERE token_hash = ?1",
                )
                .map_err(backend_error)?;
            statement
                .query_row(params![token_hash], token_from_row)
                .optional()
                .map_err(backend_error)
        })
    }

    fn tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        self.read(|connection| {
            let mut statement = connection
                .prepare_cached("SELECT name, role, created, last_used FROM tokens ORDER BY name")
                .map_err(backend_error)?;
            let rows = statement
                .query_map([], token_from_row)
                .map_err(backend_error)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(backend_error)
        })
    }

    fn revoke_token(&self, name: &str) -> Result<bool, StoreError> {
        let writer = self.writer()?;
        let removed = writer
            .connection()
            .execute("DELETE FROM tokens WHERE name = ?1", params![name])
            .map_err(backend_error)?;
        Ok(removed > 0)
    }

    fn touch_token(&self, token_hash: &str, at: Micros) -> Result<(), StoreError> {
        let writer = self.writer()?;
        writer
            .connection()
            .execute(
                "UPDATE tokens SET last_used = ?2 WHERE token_hash = ?1",
                params![token_hash, at],
            )
            .map_err(backend_error)?;
        Ok(())
    }

    fn remove_user(&self, name: &str) -> Result<bool, StoreError> {
        let writer = self.writer()?;
        // Immediate: the admin count and the delete see the same state, whatever other
        // processes do meanwhile.
        let transaction = rusqlite::Transaction::new_unchecked(
            writer.connection(),
            rusqlite::TransactionBehavior::Immediate,
        )
        .map_err(backend_error)?;
        let role: Option<String> = transaction
            .query_row(
                "SELECT role FROM users WHERE name = ?1",
                params![name],
                |row| row.get(0),
            )
            .optional()
            .map_err(backend_error)?;
        let Some(role) = role else {
            return Ok(false);
        };
        if parse_role(&role) == Role::Admin {
            let admins: i64 = transaction
                .query_row(
                    "SELECT count(*) FROM users WHERE role = ?1",
                    params![Role::Admin.as_str()],
                    |row| row.get(0),
                )
                .map_err(backend_error)?;
            if admins <= 1 {
                return Err(StoreError::LastAdmin(name.to_string()));
            }
        }
        transaction
            .execute("DELETE FROM users WHERE name = ?1", params![name])
            .map_err(backend_error)?;
        transaction.commit().map_err(backend_error)?;
        Ok(true)
    }

    fn set_user_password(&self, name: &str, password_hash: &str) -> Result<bool, StoreError> {
        let writer = self.writer()?;
        let changed = writer
            .connection()
            .execute(
                "UPDATE users SET password_hash = ?2 WHERE name = ?1",
                params![name, password_hash],
            )
            .map_err(backend_error)?;
        Ok(changed > 0)
    }

    fn record_audit(
        &self,
        who: &str,
        action: &str,
        target: &str,
        detail: &str,
    ) -> Result<(), StoreError> {
        let writer = self.writer()?;
        let transaction = writer
            .connection()
            .unchecked_transaction()
            .map_err(backend_error)?;
        // Strictly after every entry of both logs, so the merged order is the order of events.
        let newest: i64 = transaction
            .query_row(
                "SELECT max(coalesce((SELECT max(at) FROM audit_events), 0),
                            coalesce((SELECT max(at) FROM config_changes), 0))",
                [],
                |row| row.get(0),
            )
            .map_err(backend_error)?;
        let at = now_micros().max(newest + 1);
        transaction
            .execute(
                "INSERT INTO audit_events (at, who, action, target, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![at, who, action, target, detail],
            )
            .map_err(backend_error)?;
        let newest_id = transaction.last_insert_rowid();
        // A rowid range: nothing to do (and almost no cost) until the log is full.
        transaction
            .execute(
                "DELETE FROM audit_events WHERE id <= ?1",
                params![newest_id - AUDIT_EVENTS_KEPT],
            )
            .map_err(backend_error)?;
        transaction.commit().map_err(backend_error)
    }

    fn audit_events(&self, limit: usize) -> Result<Vec<AuditEvent>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(|connection| {
            // Both tables newest first, each read only as far as `limit`, merged here by time.
            let mut events = Vec::new();
            {
                let mut statement = connection
                    .prepare_cached(
                        "SELECT at, who, summary, id FROM config_changes
                         ORDER BY at DESC, id DESC LIMIT ?1",
                    )
                    .map_err(backend_error)?;
                let rows = statement
                    .query_map(params![limit], |row| {
                        Ok(AuditEvent {
                            at: row.get(0)?,
                            who: row.get(1)?,
                            action: "config.change".to_string(),
                            target: "analysis settings".to_string(),
                            detail: row.get(2)?,
                            config_change: Some(row.get(3)?),
                        })
                    })
                    .map_err(backend_error)?;
                for row in rows {
                    events.push(row.map_err(backend_error)?);
                }
            }
            {
                let mut statement = connection
                    .prepare_cached(
                        "SELECT at, who, action, target, detail FROM audit_events
                         ORDER BY at DESC, id DESC LIMIT ?1",
                    )
                    .map_err(backend_error)?;
                let rows = statement
                    .query_map(params![limit], |row| {
                        Ok(AuditEvent {
                            at: row.get(0)?,
                            who: row.get(1)?,
                            action: row.get(2)?,
                            target: row.get(3)?,
                            detail: row.get(4)?,
                            config_change: None,
                        })
                    })
                    .map_err(backend_error)?;
                for row in rows {
                    events.push(row.map_err(backend_error)?);
                }
            }
            // Stable: within one time, a configuration change comes first (`record_audit` never
            // writes a time at or before an existing entry's, so only a change can tie with an
            // older event), and each table's own order is kept.
            events.sort_by_key(|event| std::cmp::Reverse(event.at));
            events.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
            Ok(events)
        })
    }

    fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.read(|connection| {
            connection
                .query_row(
                    "SELECT value FROM settings WHERE key = ?1",
                    params![key],
                    |row| row.get(0),
                )
                .optional()
                .map_err(backend_error)
        })
    }

    fn put_setting(&self, key: &str, value: &str) -> Result<(), StoreError> {
        let writer = self.writer()?;
        writer
            .connection()
            .execute(
                "INSERT INTO settings (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )
            .map_err(backend_error)?;
        Ok(())
    }

    fn analysis_settings(&self) -> Result<Option<String>, StoreError> {
        self.setting(ANALYSIS_SETTINGS_KEY)
    }

    fn save_analysis_settings(
        &self,
        settings_json: &str,
        who: &str,
        summary: &str,
    ) -> Result<ConfigChange, StoreError> {
        self.save_settings(None, settings_json, who, summary)
    }

    fn save_analysis_settings_based_on(
        &self,
        based_on: i64,
        settings_json: &str,
        who: &str,
        summary: &str,
    ) -> Result<ConfigChange, StoreError> {
        self.save_settings(Some(based_on), settings_json, who, summary)
    }

    fn config_changes(&self, limit: usize) -> Result<Vec<ConfigChange>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(|connection| {
            let mut statement = connection
                .prepare_cached(
                    "SELECT id, at, who, summary, before, after FROM config_changes ORDER BY id DESC LIMIT ?1",
                )
                .map_err(backend_error)?;
            let rows = statement
                .query_map(params![limit], |row| {
                    Ok(ConfigChange {
                        id: row.get(0)?,
                        at: row.get(1)?,
                        who: row.get(2)?,
                        summary: row.get(3)?,
                        before: row.get(4)?,
                        after: row.get(5)?,
                    })
                })
                .map_err(backend_error)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(backend_error)
        })
    }

    fn replace_samples(&self, lines: &[String]) -> Result<(), StoreError> {
        let writer = self.writer()?;
        let transaction = writer
            .connection()
            .unchecked_transaction()
            .map_err(backend_error)?;
        transaction
            .execute("DELETE FROM exchange_samples", [])
            .map_err(backend_error)?;
        {
            let mut insert = transaction
                .prepare("INSERT INTO exchange_samples (position, line) VALUES (?1, ?2)")
                .map_err(backend_error)?;
            for (position, line) in lines.iter().enumerate() {
                insert
                    .execute(params![position as i64, line])
                    .map_err(backend_error)?;
            }
        }
        transaction.commit().map_err(backend_error)
    }

    fn samples(&self) -> Result<Vec<String>, StoreError> {
        self.read(|connection| {
            let mut statement = connection
                .prepare_cached("SELECT line FROM exchange_samples ORDER BY position")
                .map_err(backend_error)?;
            let rows = statement
                .query_map([], |row| row.get(0))
                .map_err(backend_error)?;
            rows.collect::<Result<Vec<String>, _>>()
                .map_err(backend_error)
        })
    }

    fn put_attack_contents(&self, items: &[(String, Micros, String)]) -> Result<(), StoreError> {
        if items.is_empty() {
            return Ok(());
        }
        let writer = self.writer()?;
        let transaction = writer
            .connection()
            .unchecked_transaction()
            .map_err(backend_error)?;
        {
            let mut insert = transaction
                .prepare_cached(
                    "INSERT OR IGNORE INTO attack_contents (exchange_id, ts, content) VALUES (?1, ?2, ?3)",
                )
                .map_err(backend_error)?;
            for (exchange_id, ts, content) in items {
                insert
                    .execute(params![exchange_id, ts, content])
                    .map_err(backend_error)?;
            }
        }
        transaction.commit().map_err(backend_error)
    }

    fn attack_content(&self, exchange_id: &str) -> Result<Option<String>, StoreError> {
        self.read(|connection| {
            connection
                .prepare_cached("SELECT content FROM attack_contents WHERE exchange_id = ?1")
                .and_then(|mut statement| {
                    statement
                        .query_row(params![exchange_id], |row| row.get(0))
                        .optional()
                })
                .map_err(backend_error)
        })
    }

    fn run_reevaluation(
        &self,
        request: &crate::ReevaluationRequest,
        keep: &dyn Fn(&crate::AttackContext<'_>, &sessionscope_model::Attack) -> bool,
        progress: &mut dyn FnMut(&crate::ReevaluationJob) -> std::ops::ControlFlow<()>,
    ) -> Result<crate::ReevaluationRun, StoreError> {
        use crate::{ReevaluationEnd, ReevaluationRun};
        use reevaluate::Piece;
        let now = (self.clock)();
        let Some((stored, continued)) = self.writer()?.start_reevaluation(request, now)? else {
            return Ok(ReevaluationRun {
                end: ReevaluationEnd::Finished,
                job: crate::ReevaluationJob::default(),
                continued: false,
            });
        };
        let mut job = stored.job;
        // The writer is taken for one piece at a time: a long pass does not hold up ingestion.
        loop {
            let piece = self
                .writer()?
                .reevaluation_piece(request.settings_version, keep)?;
            let end = match piece {
                Piece::Done(done) => {
                    job = done;
                    if progress(&job).is_break() {
                        ReevaluationEnd::Stopped
                    } else {
                        continue;
                    }
                }
                Piece::Finished(finished) => {
                    job = finished;
                    ReevaluationEnd::Finished
                }
                Piece::Gone => ReevaluationEnd::Finished,
                Piece::Superseded(other) => {
                    job = other;
                    ReevaluationEnd::Superseded
                }
            };
            return Ok(ReevaluationRun {
                end,
                job,
                continued,
            });
        }
    }

    fn reevaluation_job(&self) -> Result<Option<crate::ReevaluationJob>, StoreError> {
        self.read(|connection| {
            reevaluate::load_job(connection)
                .map(|stored| stored.map(|stored| stored.job))
                .map_err(backend_error)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use sessionscope_model::{PageRequest, SessionFilter};

    use super::*;

    /// The schema version a store file records, read directly.
    fn stored_schema_version(path: &Path) -> String {
        let connection = Connection::open(path).unwrap();
        let version: Vec<u8> = connection
            .query_row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |row| row.get(0),
            )
            .unwrap();
        String::from_utf8(version).unwrap()
    }

    fn temporary_store() -> (tempfile::TempDir, Arc<dyn Store>) {
        let directory = tempfile::tempdir().expect("temporary directory");
        let store = SqliteStore::open(&directory.path().join("store.db")).expect("open store");
        (directory, Arc::new(store))
    }

    #[test]
    fn sqlite_store_passes_the_conformance_suite() {
        let directories = std::cell::RefCell::new(Vec::new());
        crate::conformance::run_all(&|| {
            let (directory, store) = temporary_store();
            directories.borrow_mut().push(directory);
            store
        });
    }

    #[test]
    fn the_estimating_list_path_passes_the_conformance_suite() {
        let directories = std::cell::RefCell::new(Vec::new());
        crate::conformance::run_all(&|| {
            let directory = tempfile::tempdir().expect("temporary directory");
            let mut store =
                SqliteStore::open(&directory.path().join("store.db")).expect("open store");
            store.verify_limits = reader::VerifyLimits {
                all: 0,
                per_page: 2,
            };
            directories.borrow_mut().push(directory);
            Arc::new(store) as Arc<dyn Store>
        });
    }

    #[test]
    fn new_files_get_16_kib_pages_and_every_file_a_64_mb_wal_bound() {
        let directory = tempfile::tempdir().unwrap();
        let settings = |store: &SqliteStore| -> (i64, i64) {
            let writer = store.writer().unwrap();
            let read = |pragma: &str| -> i64 {
                writer
                    .connection()
                    .query_row(&format!("PRAGMA {pragma}"), [], |row| row.get(0))
                    .unwrap()
            };
            (read("page_size"), read("wal_autocheckpoint"))
        };
        let new = SqliteStore::open(&directory.path().join("new.db")).unwrap();
        assert_eq!(settings(&new), (16_384, 4_096));
        // A file made with 4 KiB pages (as stores were before) keeps them, and the same bound
        // in bytes is four times as many pages.
        let old_path = directory.path().join("old.db");
        Connection::open(&old_path)
            .unwrap()
            .execute_batch("PRAGMA page_size = 4096; CREATE TABLE earlier (x INTEGER);")
            .unwrap();
        let old = SqliteStore::open(&old_path).unwrap();
        assert_eq!(settings(&old), (4_096, 16_384));
    }

    #[test]
    fn data_and_secret_persist_across_reopen() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("nested/dir/store.db");
        let secret = {
            let store = SqliteStore::open(&path).unwrap();
            let batch = vec![test_exchange("p-1", 0), test_exchange("p-2", 1)];
            store.append(&batch).unwrap();
            store.create_user("ann", Role::Admin, "hash").unwrap();
            store.installation_secret().unwrap()
        };
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.installation_secret().unwrap(), secret);
        assert_eq!(store.usage().unwrap().exchanges, 2);
        assert!(store.user("ann").unwrap().is_some());
        // The writer's counters were reloaded: new data gets fresh ids and old ids stay duplicates.
        // Its dictionary starts empty: strings stored before are found again, not doubled, and a
        // new one gets a fresh id.
        let mut new_host = test_exchange("p-4", 3);
        new_host.host = "other.example".into();
        let outcome = store
            .append(&[test_exchange("p-2", 1), test_exchange("p-3", 2), new_host])
            .unwrap();
        assert_eq!((outcome.inserted, outcome.duplicates), (2, 1));
        let hosts: Vec<String> = ["p-1", "p-3", "p-4"]
            .iter()
            .map(|id| store.request(id).unwrap().expect("stored id").row.host)
            .collect();
        assert_eq!(hosts, ["h", "h", "other.example"]);
        let page = store
            .list_sessions(&SessionFilter::default(), &PageRequest::default())
            .unwrap();
        assert_eq!(page.sessions[0].requests, 4);
    }

    /// Appends to a store opened at an older version with today's writer, which also records
    /// the days' storage times (version 9); the table is made for it the way version 9 makes it.
    fn append_to_old_store(old: &SqliteStore, batch: &[AnalyzedExchange]) {
        old.writer()
            .unwrap()
            .connection()
            .execute_batch(
                "CREATE TABLE IF NOT EXISTS day_storage (day INTEGER PRIMARY KEY, stored_at INTEGER NOT NULL);",
            )
            .unwrap();
        old.append(batch).unwrap();
    }

    fn test_exchange(id: &str, second: i64) -> AnalyzedExchange {
        let ts = 1_795_341_600 * sessionscope_model::MICROS_PER_SECOND
            + second * sessionscope_model::MICROS_PER_SECOND;
        AnalyzedExchange {
            id: id.into(),
            ts,
            session_id: SessionId([7; 16]),
            day: sessionscope_model::day_of(ts),
            session_key: "builtin:ip".into(),
            client_ip: None,
            app: Default::default(),
            host: "h".into(),
            method: "GET".into(),
            path: "/".into(),
            query: Default::default(),
            endpoint: "/".into(),
            flows: Default::default(),
            status: Some(200),
            duration_ms: None,
            size: None,
            user_agent: None,
            user: None,
            roles: Vec::new(),
            context: Vec::new(),
            attacks: Vec::new(),
        }
    }

    #[test]
    fn opening_a_version_1_store_migrates_it_once() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("old.db");
        {
            let old = SqliteStore::open_at_version(&path, 1).unwrap();
            old.append(&[test_exchange("v-1", 0)]).unwrap_err();
        }
        {
            assert_eq!(stored_schema_version(&path), "1");
        }
        let mut connection = Connection::open(&path).unwrap();
        let steps = schema::migrate(&mut connection, schema::current_version(), "old.db").unwrap();
        assert_eq!(steps as i64, schema::current_version() - 1);
        assert_eq!(
            schema::migrate(&mut connection, schema::current_version(), "old.db").unwrap(),
            0,
            "reopening is a no-op"
        );
        drop(connection);
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(
            store.append(&[test_exchange("v-1", 0)]).unwrap().inserted,
            1
        );
        assert_eq!(store.usage().unwrap().session_parts, 1);
    }

    /// Writes one exchange the way schema version 2 stored it: a row in `exchanges` keyed by
    /// its time key, and its id slot.
    fn insert_version_2_exchange(connection: &Connection, id: &str, second: i64, query: &str) {
        let exchange = test_exchange(id, second);
        let seq = exchange.ts * 1024;
        connection
            .execute(
                "INSERT INTO exchanges (seq, part_id, ts, id, address_id, host_id, app_id, method_id,
                 template_id, path, query, status, duration, size, user_agent_id, user_id, role_set_id,
                 key_id, flows, attack_set_id, attacks, context_id)
                 VALUES (?1, 1, ?2, ?3, NULL, 1, 2, 3, 4, '/old', ?4, 200, 1.25, 10, 5, NULL, NULL, 6, 0,
                 NULL, NULL, 7)",
                params![seq, exchange.ts, id, query],
            )
            .unwrap();
        let slot = (keys::hour_of(exchange.ts) << 43) | (seq & ((1 << 43) - 1));
        connection
            .execute(
                "INSERT INTO exchange_ids (slot, seq) VALUES (?1, ?2)",
                params![slot, seq],
            )
            .unwrap();
    }

    #[test]
    fn a_version_2_store_moves_its_exchanges_into_blocks() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("v2.db");
        drop(SqliteStore::open_at_version(&path, 2).unwrap());
        {
            let connection = Connection::open(&path).unwrap();
            let day = sessionscope_model::day_of(test_exchange("x", 0).ts);
            connection
                .execute_batch(
                    "INSERT INTO strings (id, kind, text) VALUES
                        (1, 2, 'h'), (2, 3, ''), (3, 16, 'GET'), (4, 12, '/'), (5, 15, 'agent/1'),
                        (6, 10, 'builtin:ip'), (7, 17, '[]');",
                )
                .unwrap();
            connection
                .execute(
                    "INSERT INTO parts (id, session_id, day, first_ts, last_ts, requests, attacks, flows, counts)
                     VALUES (1, ?1, ?2, ?3, ?4, 2, 0, 0, x'')",
                    params![
                        &[7u8; 16][..],
                        day,
                        test_exchange("x", 0).ts,
                        test_exchange("x", 5).ts
                    ],
                )
                .unwrap();
            connection
                .execute(
                    "INSERT INTO day_stats (day, flow, count) VALUES (?1, 254, 2), (?1, 255, 1)",
                    params![day],
                )
                .unwrap();
            connection
                .execute_batch("INSERT INTO part_values (kind, value_id, part_id) VALUES (2, 1, 1)")
                .unwrap();
            insert_version_2_exchange(&connection, "old-1", 5, "");
            insert_version_2_exchange(&connection, "old-2", 0, "a=1");
        }
        let store = SqliteStore::open(&path).unwrap();
        let details = store.request("old-2").unwrap().expect("migrated exchange");
        assert_eq!(details.query, "a=1");
        assert_eq!(details.user_agent.as_deref(), Some("agent/1"));
        assert_eq!(details.row.path, "/old");
        assert_eq!(details.row.duration_ms, Some(1.25));
        assert!(store.request("old-1").unwrap().is_some());
        let usage = store.usage().unwrap();
        assert_eq!(usage.exchanges, 2);
        assert_eq!(usage.oldest, Some(test_exchange("x", 0).ts));
        let requests = store
            .session_requests(
                SessionId([7; 16]),
                None,
                &SessionFilter::default(),
                RequestSort::default(),
                &PageRequest::default(),
            )
            .unwrap();
        let ids: Vec<&str> = requests
            .requests
            .iter()
            .map(|row| row.id.as_str())
            .collect();
        assert_eq!(ids, ["old-2", "old-1"], "time order survives the move");
        let by_host = store
            .list_sessions(
                &SessionFilter {
                    hosts: vec!["h".to_string()],
                    ..SessionFilter::default()
                },
                &PageRequest::default(),
            )
            .unwrap();
        assert_eq!(by_host.sessions.len(), 1, "presence rows were moved");
        let connection = Connection::open(&path).unwrap();
        let old_table: i64 = connection
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name IN ('exchanges', 'exchange_ids', 'part_values')",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(old_table, 0);
        drop(connection);
        // The moved ids still count as stored.
        let outcome = store
            .append(&[test_exchange("old-1", 5), test_exchange("new-1", 6)])
            .unwrap();
        assert_eq!((outcome.inserted, outcome.duplicates), (1, 1));
        assert_eq!(store.usage().unwrap().exchanges, 3);
    }

    #[test]
    fn a_version_3_store_gains_the_change_log_and_keeps_its_settings() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("v3.db");
        {
            let old = SqliteStore::open_at_version(&path, 3).unwrap();
            append_to_old_store(&old, &[test_exchange("v3-1", 0)]);
            old.put_setting("retention_days", "5").unwrap();
            assert!(
                old.config_changes(5).is_err(),
                "a version 3 store has no change log"
            );
        }
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.usage().unwrap().exchanges, 1, "data survives");
        assert_eq!(
            store.setting("retention_days").unwrap().as_deref(),
            Some("5")
        );
        assert!(store.analysis_settings().unwrap().is_none());
        assert!(store.config_changes(5).unwrap().is_empty());
        assert!(store.samples().unwrap().is_empty());
        store
            .save_analysis_settings("{}", "system", "first version")
            .unwrap();
        store.replace_samples(&["{}".to_string()]).unwrap();
        drop(store);
        let reopened = SqliteStore::open(&path).unwrap();
        assert_eq!(reopened.config_changes(5).unwrap().len(), 1);
        assert_eq!(reopened.samples().unwrap(), vec!["{}".to_string()]);
        assert_eq!(
            stored_schema_version(&path),
            schema::current_version().to_string()
        );
    }

    #[test]
    fn a_version_4_store_gains_attack_contents_and_keeps_its_data() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("v4.db");
        {
            let old = SqliteStore::open_at_version(&path, 4).unwrap();
            append_to_old_store(&old, &[test_exchange("v4-1", 0)]);
            old.replace_samples(&["{}".to_string()]).unwrap();
            assert!(
                old.attack_content("v4-1").is_err(),
                "a version 4 store has no attack contents"
            );
        }
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.usage().unwrap().exchanges, 1, "data survives");
        assert_eq!(store.samples().unwrap(), vec!["{}".to_string()]);
        assert!(store.attack_content("v4-1").unwrap().is_none());
        store
            .put_attack_contents(&[("v4-1".to_string(), 0, "{\"id\":\"v4-1\"}".to_string())])
            .unwrap();
        drop(store);
        let reopened = SqliteStore::open(&path).unwrap();
        assert_eq!(
            reopened.attack_content("v4-1").unwrap().as_deref(),
            Some("{\"id\":\"v4-1\"}")
        );
        assert_eq!(
            stored_schema_version(&path),
            schema::current_version().to_string()
        );
    }

    #[test]
    fn a_version_7_store_gains_the_audit_log_and_keeps_its_tokens() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("v7.db");
        {
            let old = SqliteStore::open_at_version(&path, 7).unwrap();
            old.create_token("hash-old", "old-token", Role::Ingest)
                .unwrap();
            assert!(
                old.audit_events(5).is_err(),
                "a version 7 store has no audit log"
            );
        }
        let store = SqliteStore::open(&path).unwrap();
        let token = store.token("hash-old").unwrap().unwrap();
        assert_eq!((token.name.as_str(), token.last_used), ("old-token", None));
        store
            .record_audit("cli:root", "token.revoke", "old-token", "")
            .unwrap();
        assert!(store.revoke_token("old-token").unwrap());
        drop(store);
        let reopened = SqliteStore::open(&path).unwrap();
        assert_eq!(reopened.audit_events(5).unwrap()[0].action, "token.revoke");
    }

    #[test]
    fn sqlite_store_passes_the_clocked_conformance_suite() {
        let directories = std::cell::RefCell::new(Vec::new());
        crate::conformance::run_clocked(&|clock| {
            let directory = tempfile::tempdir().expect("temporary directory");
            let store =
                SqliteStore::open_with_clock(&directory.path().join("store.db"), clock.clock())
                    .expect("open store");
            directories.borrow_mut().push(directory);
            Arc::new(store) as Arc<dyn Store>
        });
    }

    /// Times before 1970 and in its first hour share the id index's first bucket; removing one
    /// of those days leaves the other's ids findable and duplicates.
    #[test]
    fn retention_of_a_day_in_a_shared_id_bucket_keeps_the_other_days_ids() {
        let directory = tempfile::tempdir().unwrap();
        let now = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(1_000));
        let clock_time = std::sync::Arc::clone(&now);
        let store = SqliteStore::open_with_clock(
            &directory.path().join("store.db"),
            std::sync::Arc::new(move || clock_time.load(std::sync::atomic::Ordering::SeqCst)),
        )
        .unwrap();
        let mut before_1970 = test_exchange("edge-old", 0);
        before_1970.ts = -5 * sessionscope_model::MICROS_PER_DAY;
        let mut first_hour = test_exchange("edge-first", 0);
        first_hour.ts = 60 * sessionscope_model::MICROS_PER_SECOND;
        store.append(std::slice::from_ref(&before_1970)).unwrap();
        now.store(5_000, std::sync::atomic::Ordering::SeqCst);
        store.append(std::slice::from_ref(&first_hour)).unwrap();
        let outcome = store.apply_retention(2_000).unwrap();
        assert_eq!((outcome.exchanges_removed, outcome.days_removed), (1, 1));
        assert!(store.request("edge-old").unwrap().is_none());
        assert!(store.request("edge-first").unwrap().is_some());
        let again = store.append(&[first_hour, before_1970]).unwrap();
        assert_eq!((again.inserted, again.duplicates), (1, 1));
    }

    #[test]
    fn a_version_7_store_keeps_its_data_for_a_whole_period_after_upgrading() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("v7.db");
        drop(SqliteStore::open_at_version(&path, 7).unwrap());
        let old_day =
            sessionscope_model::day_of(1_431_857_100 * sessionscope_model::MICROS_PER_SECOND);
        Connection::open(&path)
            .unwrap()
            .execute(
                "INSERT INTO parts (id, session_id, day, first_ts, last_ts, requests, attacks, flows, counts)
                 VALUES (1, ?1, ?2, 0, 0, 1, 0, 0, x'')",
                params![&[7u8; 16][..], old_day],
            )
            .unwrap();
        let before_upgrade = now_micros();
        let store = SqliteStore::open(&path).unwrap();
        let stored_at = store
            .usage()
            .unwrap()
            .oldest_storage
            .expect("a storage time");
        assert!(
            stored_at >= before_upgrade,
            "the old day counts as stored at the upgrade"
        );
        assert_eq!(
            store
                .apply_retention(before_upgrade - 7 * sessionscope_model::MICROS_PER_DAY)
                .unwrap(),
            RetentionOutcome::default()
        );
        assert_eq!(
            stored_schema_version(&path),
            schema::current_version().to_string()
        );
    }

    #[test]
    fn ids_stay_unique_across_merged_id_chunks_and_reopening() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("store.db");
        let exchanges: Vec<AnalyzedExchange> = (0..40)
            .map(|second| test_exchange(&format!("c-{second}"), second))
            .collect();
        {
            let store = SqliteStore::open(&path).unwrap();
            // One batch per exchange: more chunk generations in the hour than are kept unmerged.
            for exchange in &exchanges {
                let outcome = store.append(std::slice::from_ref(exchange)).unwrap();
                assert_eq!(outcome.inserted, 1);
            }
            let outcome = store.append(&exchanges[..5]).unwrap();
            assert_eq!(outcome.duplicates, 5);
        }
        let store = SqliteStore::open(&path).unwrap();
        for exchange in &exchanges {
            let details = store.request(&exchange.id).unwrap().expect("stored id");
            assert_eq!(details.row.ts, exchange.ts);
        }
        assert!(store.request("c-unknown").unwrap().is_none());
        let outcome = store.append(&exchanges).unwrap();
        assert_eq!((outcome.inserted, outcome.duplicates), (0, 40));
        assert_eq!(store.usage().unwrap().exchanges, 40);
    }

    #[test]
    fn a_store_newer_than_the_binary_is_refused() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("new.db");
        drop(SqliteStore::open(&path).unwrap());
        let connection = Connection::open(&path).unwrap();
        connection
            .execute(
                "UPDATE meta SET value = '99' WHERE key = 'schema_version'",
                [],
            )
            .unwrap();
        drop(connection);
        match SqliteStore::open(&path) {
            Err(StoreError::SchemaTooNew {
                found: 99,
                supported,
            }) => assert_eq!(supported, schema::current_version()),
            other => panic!("expected SchemaTooNew, got {other:?}"),
        }
    }

    #[test]
    fn uris_choose_the_backend() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("uri.db");
        assert!(crate::open(&format!("sqlite:{}", path.display())).is_ok());
        assert!(crate::open(&format!("sqlite://{}", path.display())).is_ok());
        for bad in [
            "clickhouse://localhost:8123/db",
            "sqlite:",
            "",
            "/plain/path.db",
        ] {
            assert!(
                matches!(crate::open(bad), Err(StoreError::UnsupportedUri(_))),
                "{bad}"
            );
        }
    }
}
