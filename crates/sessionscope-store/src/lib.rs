//! Where analysed exchanges live. `Store` is the one interface the rest of sessionscope sees,
//! in domain terms; `SqliteStore` is the embedded default (one file), and a ClickHouse backend
//! implements the same trait. Backends are chosen by URI (`open`).

mod access;
mod store;

pub use access::{hash_password, new_token, token_hash, verify_password};
pub use store::{
    RetentionOutcome, Store, StoreError, StoreUsage, TokenRecord, UserRecord,
};
