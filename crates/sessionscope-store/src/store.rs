//! The `Store` trait: what every backend must do, in domain terms.

use sessionscope_model::{
    AnalyzedExchange, AppendOutcome, Attack, Micros, PageRequest, RequestDetails, RequestPage,
    RequestRow, RequestSort, Role, SessionFilter, SessionId, SessionPage, SessionStats,
    SessionSummary,
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("failed to open store at `{location}`: {reason}")]
    Open { location: String, reason: String },
    #[error("unsupported store uri `{0}`; expected `sqlite:PATH`")]
    UnsupportedUri(String),
    #[error("store schema version {found} is newer than this sessionscope supports ({supported})")]
    SchemaTooNew { found: i64, supported: i64 },
    #[error("invalid cursor `{0}`")]
    InvalidCursor(String),
    #[error("{0} already exists")]
    AlreadyExists(String),
    #[error("`{0}` is the last admin; add another admin first")]
    LastAdmin(String),
    #[error("store error: {0}")]
    Backend(String),
    #[error("export stopped: {0}")]
    Sink(String),
    #[error("the analysis settings changed meanwhile (newest change {newest}, expected {expected}); nothing was saved")]
    StaleSettings { expected: i64, newest: i64 },
}

/// A local user (PRODUCT.md R1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub name: String,
    pub role: Role,
    /// Argon2 PHC string.
    pub password_hash: String,
    pub created: Micros,
}

/// An API token (PRODUCT.md R2). Only the SHA-256 of the token is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub name: String,
    pub role: Role,
    pub created: Micros,
    /// When the token was last seen by the server, to the minute (`touch_token`); `None` if never.
    pub last_used: Option<Micros>,
}

/// One entry of the audit log (PRODUCT.md R4): who did what, when. Never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub at: Micros,
    /// A console user's or token's name, `cli:OS-USER` for the command line, `demo`, or `system`.
    pub who: String,
    /// What happened, e.g. `token.create`, `user.remove`, `sign_in.failure`, `config.change`.
    pub action: String,
    /// What it happened to: a user or token name, or `analysis settings`.
    pub target: String,
    /// Short and human, e.g. "role analyst" or a configuration change's summary.
    pub detail: String,
    /// For `config.change`: the id of the change-log entry holding the before / after settings.
    pub config_change: Option<i64>,
}

/// Most audit events kept (besides the configuration change log, which is kept whole): the
/// oldest go first, so failed sign-ins from many addresses cannot fill the disk.
pub const AUDIT_EVENTS_KEPT: i64 = 100_000;

/// One recorded change of the analysis configuration (PRODUCT.md C6, R4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigChange {
    /// Increasing with every change; the newest change has the largest id.
    pub id: i64,
    pub at: Micros,
    /// A console user's name, or `config-file` / `system`.
    pub who: String,
    /// Short and human, e.g. "moved key 2 up".
    pub summary: String,
    /// The settings JSON before the change; `None` for the first version.
    pub before: Option<String>,
    /// The settings JSON after the change.
    pub after: String,
}

/// Setting key under which the analysis settings (JSON) are kept.
pub const ANALYSIS_SETTINGS_KEY: &str = "analysis";

/// The wall clock a store reads when it stores (microseconds since the epoch). Injected so
/// tests can store "days ago" without waiting; `system_clock` everywhere else.
pub type Clock = std::sync::Arc<dyn Fn() -> Micros + Send + Sync>;

/// The system's clock.
pub fn system_clock() -> Clock {
    std::sync::Arc::new(|| chrono::Utc::now().timestamp_micros())
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionOutcome {
    pub exchanges_removed: u64,
    pub parts_removed: u64,
    /// UTC days of traffic removed whole.
    pub days_removed: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreUsage {
    /// Bytes on disk (all files of the store).
    pub bytes: u64,
    pub exchanges: u64,
    pub session_parts: u64,
    /// Event times of the oldest and newest stored exchange.
    pub oldest: Option<Micros>,
    pub newest: Option<Micros>,
    /// The earliest "last stored into" time of any stored day: retention removes that day once
    /// this is older than the retention period.
    pub oldest_storage: Option<Micros>,
}

/// What re-evaluation tells about the stored request an attack belongs to, so a rule's scope
/// can be checked (PRODUCT.md A3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttackContext<'a> {
    /// The exchange id.
    pub id: &'a str,
    /// As stored: lowercase, without default port.
    pub host: &'a str,
    /// The endpoint template, e.g. `/users/{id}`.
    pub endpoint: &'a str,
    pub method: &'a str,
    pub app: &'a str,
}

/// What `reevaluate_attacks` changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReevaluateOutcome {
    /// Stored requests with attacks that were looked at.
    pub exchanges_checked: u64,
    /// Requests that lost at least one attack.
    pub exchanges_changed: u64,
    /// Requests left with no attack at all (they no longer count as attacked).
    pub exchanges_cleared: u64,
    pub attacks_removed: u64,
    /// Session parts whose aggregates were rebuilt.
    pub parts_changed: u64,
}

/// Which re-evaluation to run (see `Store::run_reevaluation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReevaluationRequest {
    /// The configuration change (id of the newest change-log entry, 0 before any) whose rules
    /// `keep` applies; an unfinished job of another version starts over under this one.
    pub settings_version: i64,
    pub scope: ReevaluationScope,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReevaluationScope {
    /// Requests at or after this time (all when `None`). An unfinished job that already
    /// covers them under the same settings is continued; otherwise it starts over, covering
    /// its own range and this one.
    From(Option<Micros>),
    /// Only continue the unfinished job, if there is one.
    Unfinished,
}

/// A re-evaluation that was started and has not finished: it is stored with the store and
/// goes on piece by piece, each piece one transaction, so a stop (or a crash) between pieces
/// leaves a consistent store and the job to continue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReevaluationJob {
    pub settings_version: i64,
    pub from: Option<Micros>,
    /// Wall-clock time the job (last) started over.
    pub started: Micros,
    /// Stored requests in parts with attacks when it started, and how many it has gone
    /// through (a part left without attacks is skipped, so it may finish below the total).
    pub requests_total: u64,
    pub requests_done: u64,
    /// What it changed so far (`parts_changed` counts parts once over all pieces).
    pub outcome: ReevaluateOutcome,
}

/// How a call of `run_reevaluation` ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReevaluationEnd {
    /// Every piece is done; the job is gone. Also when there was nothing to continue.
    Finished,
    /// `progress` asked to stop; the job stays, to be continued.
    Stopped,
    /// Another caller started the job over under other settings and goes on with it.
    Superseded,
}

/// The answer of `run_reevaluation`: the job's totals and how the call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReevaluationRun {
    pub end: ReevaluationEnd,
    pub job: ReevaluationJob,
    /// The job was there before this call (it was continued or started over).
    pub continued: bool,
}

/// Everything sessionscope asks of a store. Methods take `&self`: a backend serialises its writes
/// internally and serves reads concurrently.
pub trait Store: Send + Sync {
    /// The installation secret (32 bytes), created with the store and kept in it; session ids
    /// and hashed values are derived with it.
    fn installation_secret(&self) -> Result<[u8; 32], StoreError>;

    /// Stores a batch in one transaction and updates the running aggregates of the session
    /// parts it touches. An exchange whose id is already stored is skipped and counted as a duplicate.
    fn append(&self, batch: &[AnalyzedExchange]) -> Result<AppendOutcome, StoreError> {
        self.append_chunks(&[batch])
    }

    /// `append` of the chunks' exchanges one after another, as one batch, without first copying
    /// them into one slice.
    fn append_chunks(&self, chunks: &[&[AnalyzedExchange]]) -> Result<AppendOutcome, StoreError>;

    /// Session parts matching the filter, newest first (by their last matching request).
    fn list_sessions(
        &self,
        filter: &SessionFilter,
        page: &PageRequest,
    ) -> Result<SessionPage, StoreError>;

    /// Every part of one session (oldest first), counts restricted by the filter; parts without
    /// a matching request are left out.
    fn session_parts(
        &self,
        session_id: SessionId,
        filter: &SessionFilter,
    ) -> Result<Vec<SessionSummary>, StoreError>;

    /// Statistics over the session's requests that match the filter; `part` is a day number, or all parts.
    fn session_stats(
        &self,
        session_id: SessionId,
        part: Option<i32>,
        filter: &SessionFilter,
    ) -> Result<SessionStats, StoreError>;

    /// The session's requests that match the filter, sorted and paged.
    fn session_requests(
        &self,
        session_id: SessionId,
        part: Option<i32>,
        filter: &SessionFilter,
        sort: RequestSort,
        page: &PageRequest,
    ) -> Result<RequestPage, StoreError>;

    /// One request by its exchange id.
    fn request(&self, id: &str) -> Result<Option<RequestDetails>, StoreError>;

    /// Every stored request matching the filter, in time order. Returns how many were written.
    fn export_requests(
        &self,
        filter: &SessionFilter,
        sink: &mut dyn FnMut(RequestRow) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError>;

    /// Every session part matching the filter, newest first. Returns how many were written.
    fn export_sessions(
        &self,
        filter: &SessionFilter,
        sink: &mut dyn FnMut(SessionSummary) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError>;

    /// Retention by time of storage: removes every UTC day of traffic (by the exchanges' own
    /// times) that nothing was stored into at or after `stored_before` (wall-clock time, as the
    /// store's clock read it when appending; an append stores into the days of all its
    /// exchanges, duplicates included), with its parts, requests and their attack contents.
    /// Days stored into since are untouched, so what an append accepted stays at least until
    /// `stored_before` passes its time of storage.
    fn apply_retention(&self, stored_before: Micros) -> Result<RetentionOutcome, StoreError>;

    fn usage(&self) -> Result<StoreUsage, StoreError>;

    fn create_user(&self, name: &str, role: Role, password_hash: &str) -> Result<(), StoreError>;
    fn user(&self, name: &str) -> Result<Option<UserRecord>, StoreError>;
    fn users(&self) -> Result<Vec<UserRecord>, StoreError>;
    /// `token_hash` is `token_hash(token)`; the token itself is never stored.
    fn create_token(&self, token_hash: &str, name: &str, role: Role) -> Result<(), StoreError>;
    /// The token with this hash; a revoked token is gone at once, for every process.
    fn token(&self, token_hash: &str) -> Result<Option<TokenRecord>, StoreError>;
    /// Every token, by name (never a token or its hash).
    fn tokens(&self) -> Result<Vec<TokenRecord>, StoreError>;
    /// Deletes a token by name; `false` when there is none of that name.
    fn revoke_token(&self, name: &str) -> Result<bool, StoreError>;
    /// Records that the token with this hash was used at `at`.
    fn touch_token(&self, token_hash: &str, at: Micros) -> Result<(), StoreError>;
    /// Deletes a user; `false` when there is none of that name. Refused with
    /// `StoreError::LastAdmin` for the only admin, in the same transaction as the check.
    fn remove_user(&self, name: &str) -> Result<bool, StoreError>;
    /// Replaces a user's password hash; `false` when there is no such user.
    fn set_user_password(&self, name: &str, password_hash: &str) -> Result<bool, StoreError>;

    /// Appends to the audit log (the time is the store's clock). Configuration changes are not
    /// recorded here: `save_analysis_settings` keeps them in the change log, which
    /// `audit_events` merges in.
    fn record_audit(
        &self,
        who: &str,
        action: &str,
        target: &str,
        detail: &str,
    ) -> Result<(), StoreError>;
    /// The newest `limit` audit events, newest first, configuration changes included.
    fn audit_events(&self, limit: usize) -> Result<Vec<AuditEvent>, StoreError>;

    /// Small named settings (configuration kept in the store, console preferences).
    fn setting(&self, key: &str) -> Result<Option<String>, StoreError>;
    fn put_setting(&self, key: &str, value: &str) -> Result<(), StoreError>;

    /// The stored analysis settings (JSON), `None` until a first version was saved.
    fn analysis_settings(&self) -> Result<Option<String>, StoreError>;
    /// Replaces the analysis settings and records the change (who, summary, before, after) in
    /// one transaction: either both happen or neither. Returns the recorded change.
    fn save_analysis_settings(
        &self,
        settings_json: &str,
        who: &str,
        summary: &str,
    ) -> Result<ConfigChange, StoreError>;
    /// `save_analysis_settings` for an edit of the settings as they were after change
    /// `based_on` (0: before any change). Refused with `StoreError::StaleSettings` when another
    /// change was saved since, so two editors (two processes, two browser tabs) never overwrite
    /// each other's work unseen; the check and the save are one transaction.
    fn save_analysis_settings_based_on(
        &self,
        based_on: i64,
        settings_json: &str,
        who: &str,
        summary: &str,
    ) -> Result<ConfigChange, StoreError>;
    /// The most recent configuration changes, newest first.
    fn config_changes(&self, limit: usize) -> Result<Vec<ConfigChange>, StoreError>;

    /// Replaces the recent sample exchanges (sanitised exchange NDJSON lines, newest first)
    /// that the console's point builder previews against.
    fn replace_samples(&self, lines: &[String]) -> Result<(), StoreError>;
    /// The sample exchanges in the order they were saved.
    fn samples(&self) -> Result<Vec<String>, StoreError>;

    /// Keeps the sanitised full content (one exchange NDJSON line, secrets masked or hashed) of
    /// requests with attacks (PRODUCT.md E8), as `(exchange id, ts, line)`. A request whose
    /// content is already stored keeps the first one, as `append` keeps the first exchange.
    fn put_attack_contents(&self, items: &[(String, Micros, String)]) -> Result<(), StoreError>;
    /// The stored content of one request, `None` when it has none (no attack, or removed by retention).
    fn attack_content(&self, exchange_id: &str) -> Result<Option<String>, StoreError>;

    /// Re-evaluates stored attacks (PRODUCT.md A3) as a stored job, in pieces: every attack for
    /// which `keep` answers false is removed, and what is derived from attacks — the request's
    /// attack types, the part's attack count and attack-type counts, the presence the
    /// `attack_type` filter uses, the stored content of a request left without attacks — is
    /// updated in the same piece's transaction. Between pieces other writes go on, and
    /// `progress` sees the job; `ControlFlow::Break` stops with the job kept, as an interruption
    /// does, and a later call continues it. Attacks are only ever removed: stored data holds no
    /// raw values to find new ones in, so running a piece again changes nothing.
    fn run_reevaluation(
        &self,
        request: &ReevaluationRequest,
        keep: &dyn Fn(&AttackContext<'_>, &Attack) -> bool,
        progress: &mut dyn FnMut(&ReevaluationJob) -> std::ops::ControlFlow<()>,
    ) -> Result<ReevaluationRun, StoreError>;

    /// The unfinished re-evaluation, if any.
    fn reevaluation_job(&self) -> Result<Option<ReevaluationJob>, StoreError>;

    /// `run_reevaluation` from `from` to the end, under settings version 0; for tests.
    fn reevaluate_attacks(
        &self,
        from: Option<Micros>,
        keep: &dyn Fn(&AttackContext<'_>, &Attack) -> bool,
    ) -> Result<ReevaluateOutcome, StoreError> {
        let request = ReevaluationRequest {
            settings_version: 0,
            scope: ReevaluationScope::From(from),
        };
        let run =
            self.run_reevaluation(&request, keep, &mut |_| std::ops::ControlFlow::Continue(()))?;
        Ok(run.job.outcome)
    }
}
