//! What the read side returns: session rows, statistics, request rows and details. These types
//! serialize as the REST API's JSON and as the NDJSON exports.

use serde::{Deserialize, Serialize};

use crate::{Attack, ContextValue, Micros, SessionId};

/// What a store did with a batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AppendOutcome {
    /// Exchanges stored for the first time.
    pub inserted: u64,
    /// Exchanges whose id was already stored; nothing was written for them.
    pub duplicates: u64,
}

/// A value with how many requests carried it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Count {
    pub value: String,
    pub count: u64,
    /// `count` divided by the requests it is counted among, 0..=1.
    pub share: f64,
}

impl Count {
    pub fn new(value: impl Into<String>, count: u64, total: u64) -> Count {
        let share = if total == 0 {
            0.0
        } else {
            count as f64 / total as f64
        };
        Count {
            value: value.into(),
            count,
            share,
        }
    }
}

/// Cursor paging: `cursor` is what the previous page returned as `next_cursor`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u32,
    pub cursor: Option<String>,
}

impl Default for PageRequest {
    fn default() -> Self {
        PageRequest {
            limit: 50,
            cursor: None,
        }
    }
}

pub mod rfc3339 {
    //! Serde helpers writing `Micros` as RFC 3339 UTC strings.
    use crate::{format_rfc3339, parse_rfc3339, Micros};

    pub fn serialize<S: serde::Serializer>(
        micros: &Micros,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format_rfc3339(*micros))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Micros, D::Error> {
        let text = <String as serde::Deserialize>::deserialize(deserializer)?;
        parse_rfc3339(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("invalid time `{text}`")))
    }
}

/// One row of the session list: a session part (one UTC day of a session), with its counts
/// restricted to the requests that match the filter (PRODUCT.md E1, E4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionSummary {
    pub session_id: SessionId,
    /// `YYYY-MM-DD`, the UTC day of this part.
    pub part: String,
    /// 1-based position of this part among the session's parts, oldest first.
    pub part_index: u32,
    pub part_count: u32,
    /// First and last matching request.
    #[serde(with = "rfc3339")]
    pub start: Micros,
    #[serde(with = "rfc3339")]
    pub end: Micros,
    pub requests: u64,
    pub attacks: u64,
    /// Empty, or `blocked` once blocking exists.
    pub status: String,
    pub users: Vec<String>,
    pub roles: Vec<String>,
    pub session_keys: Vec<String>,
    pub client_ips: Vec<Count>,
    pub hosts: Vec<Count>,
    pub apps: Vec<Count>,
    pub flows: Vec<Count>,
    /// The most requested endpoints (`METHOD template`), most first; at most 10.
    pub endpoints: Vec<Count>,
    /// How many distinct endpoints the part has in all.
    pub endpoints_total: u64,
}

/// A page of the session list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionPage {
    pub sessions: Vec<SessionSummary>,
    /// How many session parts match the filter in all; `None` (JSON `null`) when that is
    /// unknown without reading every candidate's requests (a pattern that only raw paths can
    /// match, over more parts than one page verifies).
    pub total: Option<u64>,
    /// False when `total` was counted from part aggregates and may include parts whose matching
    /// values sit on different requests, or is unknown.
    pub total_exact: bool,
    /// Business flows over all matching parts: how many parts touched each; empty when `total`
    /// is unknown.
    pub flows: Vec<Count>,
    pub next_cursor: Option<String>,
}

/// Statistics of a session's requests (PRODUCT.md E5), over the requests that match the filter.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SessionStats {
    pub requests: u64,
    pub attack_types: Vec<Count>,
    pub users: Vec<Count>,
    pub roles: Vec<Count>,
    pub client_ips: Vec<Count>,
    pub methods: Vec<Count>,
    pub statuses: Vec<Count>,
    pub flows: Vec<Count>,
    pub endpoints: Vec<Count>,
}

/// One stored exchange as the request table and the request export show it (`exchange-format.md`,
/// "Request export v1").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestRow {
    pub id: String,
    #[serde(with = "rfc3339")]
    pub ts: Micros,
    pub session_id: SessionId,
    pub session_part: String,
    pub session_key: String,
    pub client_ip: Option<String>,
    pub app: String,
    pub host: String,
    pub method: String,
    pub path: String,
    pub endpoint: String,
    pub status: Option<u16>,
    pub duration_ms: Option<f64>,
    pub size: Option<u64>,
    pub user: Option<String>,
    pub roles: Vec<String>,
    pub flows: Vec<String>,
    pub attacks: Vec<Attack>,
    pub bots: Vec<String>,
}

/// A page of a session's requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestPage {
    pub requests: Vec<RequestRow>,
    /// Matching requests in all.
    pub total: u64,
    pub next_cursor: Option<String>,
}

/// One request with everything stored about it (PRODUCT.md E8, C5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestDetails {
    #[serde(flatten)]
    pub row: RequestRow,
    /// Query string with secrets masked.
    pub query: String,
    pub user_agent: Option<String>,
    /// Context parameters of request and response, hashed or masked as stored.
    pub context: Vec<ContextValue>,
}
