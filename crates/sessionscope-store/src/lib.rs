//! Where analysed exchanges live. `Store` is the one interface the rest of sessionscope sees,
//! in domain terms; `SqliteStore` is the embedded default (one file), and a ClickHouse backend
//! implements the same trait. Backends are chosen by URI (`open`).

mod access;
pub mod conformance;
mod sqlite;
mod store;

use std::path::Path;
use std::sync::Arc;

pub use access::{hash_password, new_token, token_hash, verify_password};
pub use sqlite::SqliteStore;
pub use store::{
    system_clock, AttackContext, AuditEvent, Clock, ConfigChange, ReevaluateOutcome,
    ReevaluationEnd, ReevaluationJob, ReevaluationRequest, ReevaluationRun, ReevaluationScope,
    RetentionOutcome, Store, StoreError, StoreUsage, TokenRecord, UserRecord,
    ANALYSIS_SETTINGS_KEY, AUDIT_EVENTS_KEPT,
};

/// Opens a store by URI: `sqlite:PATH` or `sqlite://PATH`.
pub fn open(uri: &str) -> Result<Arc<dyn Store>, StoreError> {
    let path = uri
        .strip_prefix("sqlite://")
        .or_else(|| uri.strip_prefix("sqlite:"));
    match path {
        Some(path) if !path.is_empty() => Ok(Arc::new(SqliteStore::open(Path::new(path))?)),
        _ => Err(StoreError::UnsupportedUri(uri.to_string())),
    }
}
