//! The `Store` trait: what every backend must do, in domain terms.

use sessionscope_model::{
    AnalyzedExchange, AppendOutcome, Micros, PageRequest, RequestDetails, RequestPage, RequestRow,
    RequestSort, Role, SessionFilter, SessionId, SessionPage, SessionStats, SessionSummary,
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
    #[error("store error: {0}")]
    Backend(String),
    #[error("export stopped: {0}")]
    Sink(String),
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
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionOutcome {
    pub exchanges_removed: u64,
    pub parts_removed: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreUsage {
    /// Bytes on disk (all files of the store).
    pub bytes: u64,
    pub exchanges: u64,
    pub session_parts: u64,
    pub oldest: Option<Micros>,
    pub newest: Option<Micros>,
}

/// Everything sessionscope asks of a store. Methods take `&self`: a backend serialises its writes
/// internally and serves reads concurrently.
pub trait Store: Send + Sync {
    /// The installation secret (32 bytes), created with the store and kept in it; session ids
    /// and hashed values are derived with it.
    fn installation_secret(&self) -> Result<[u8; 32], StoreError>;

    /// Stores a batch in one transaction and updates the running aggregates of the session
    /// parts it touches. An exchange whose id is already stored is skipped and counted as a duplicate.
    fn append(&self, batch: &[AnalyzedExchange]) -> Result<AppendOutcome, StoreError>;

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

    /// Removes exchanges older than `cutoff` and the parts left empty; aggregates of the parts
    /// that keep some requests are recomputed.
    fn apply_retention(&self, cutoff: Micros) -> Result<RetentionOutcome, StoreError>;

    fn usage(&self) -> Result<StoreUsage, StoreError>;

    fn create_user(&self, name: &str, role: Role, password_hash: &str) -> Result<(), StoreError>;
    fn user(&self, name: &str) -> Result<Option<UserRecord>, StoreError>;
    fn users(&self) -> Result<Vec<UserRecord>, StoreError>;
    /// `token_hash` is `token_hash(token)`; the token itself is never stored.
    fn create_token(&self, token_hash: &str, name: &str, role: Role) -> Result<(), StoreError>;
    fn token(&self, token_hash: &str) -> Result<Option<TokenRecord>, StoreError>;

    /// Small named settings (configuration kept in the store, console preferences).
    fn setting(&self, key: &str) -> Result<Option<String>, StoreError>;
    fn put_setting(&self, key: &str, value: &str) -> Result<(), StoreError>;
}
