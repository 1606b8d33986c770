//! Domain types shared by every part of sessionscope: the `Exchange` every input format is turned
//! into, the `AnalyzedExchange` the pipeline hands to a store, session ids and day parts, business
//! flows, the filter model of the read side and the rows it returns. This crate does no IO.

pub mod display;
mod exchange;
mod filter;
mod flow;
mod header;
mod read;
mod time;
mod url;

pub use compact_str::{format_compact, CompactString, ToCompactString};
pub use exchange::{
    AnalyzedExchange, Attack, ContextValue, Exchange, Headers, ParamKind, Request, Response,
    StoredAs,
};
pub use filter::{
    glob_matches, RequestSort, SessionFilter, SortDirection, SortField, StatusFilter,
};
pub use flow::{Flow, FlowSet};
pub use header::{contains_ignore_case, cookie_pairs, header_parameter, strip_quotes};
pub use read::{
    rfc3339, AppendOutcome, Count, PageRequest, RequestDetails, RequestPage, RequestRow,
    SessionPage, SessionStats, SessionSummary,
};
pub use time::{
    day_of, day_start_micros, format_day, format_rfc3339, parse_day, parse_rfc3339,
    parse_time_spec, Micros, MAX_RELATIVE_DIGITS, MICROS_PER_DAY, MICROS_PER_SECOND,
    RELATIVE_TIME_PATTERN,
};
pub use url::{split_url, UrlParts};

use std::fmt;
use std::str::FromStr;

/// A session id: the first 16 bytes of HMAC-SHA256(installation secret, normalized key value),
/// shown as 32 lowercase hex characters. The raw key value cannot be recovered from it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(pub [u8; 16]);

impl SessionId {
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The first 8 hex characters, for compact display.
    pub fn short(&self) -> String {
        hex::encode(&self.0[..4])
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({})", self.to_hex())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("session id must be 32 hex characters, got `{0}`")]
pub struct InvalidSessionId(pub String);

impl FromStr for SessionId {
    type Err = InvalidSessionId;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut bytes = [0u8; 16];
        if text.len() != 32 || hex::decode_to_slice(text, &mut bytes).is_err() {
            return Err(InvalidSessionId(text.chars().take(64).collect()));
        }
        Ok(SessionId(bytes))
    }
}

impl serde::Serialize for SessionId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> serde::Deserialize<'de> for SessionId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Roles of local users and API tokens (PRODUCT.md R1, R2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including configuration and users.
    Admin,
    /// View sessions, mark false positives.
    Analyst,
    /// View only.
    ReadOnly,
    /// Endpoint inventory only; never sessions.
    ApiDeveloper,
    /// Capture nodes: may only push exchanges through the ingest API.
    Ingest,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::Analyst,
        Role::ReadOnly,
        Role::ApiDeveloper,
        Role::Ingest,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Analyst => "analyst",
            Role::ReadOnly => "read_only",
            Role::ApiDeveloper => "api_developer",
            Role::Ingest => "ingest",
        }
    }

    pub fn can_read_sessions(self) -> bool {
        matches!(self, Role::Admin | Role::Analyst | Role::ReadOnly)
    }

    pub fn can_change_configuration(self) -> bool {
        self == Role::Admin
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == text)
            .ok_or_else(|| {
                format!(
                    "unknown role `{text}`; expected one of admin, analyst, read_only, api_developer, ingest"
                )
            })
    }
}

/// `text` as quoted in an error message: at most `max_chars` characters, then `…`, so a huge
/// value makes a short message.
pub fn shortened(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

/// The longest prefix of `text` of at most `limit` bytes that ends at a character boundary.
pub fn prefix_within(text: &str, limit: usize) -> &str {
    if text.len() <= limit {
        return text;
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
