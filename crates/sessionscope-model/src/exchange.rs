//! One HTTP exchange as captured (`Exchange`), and as analysed and ready to store (`AnalyzedExchange`).

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::{FlowSet, Micros, SessionId};

/// Header pairs in the order they were sent; names keep their case, lookups ignore it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(pub Vec<(String, String)>);

impl Headers {
    /// The first value of a header, by case-insensitive name.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(candidate, _)| candidate.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Every value of a header, by case-insensitive name, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(candidate, _)| candidate.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    pub fn push(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.push((name.into(), value.into()));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A captured request, as in `exchange-format.md`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Request {
    /// Case preserved as sent.
    pub method: String,
    /// Absolute or origin-form, percent-encoding as received.
    pub url: String,
    /// Host (with optional port) when known from the input, before the `Host` header is consulted.
    pub host: Option<String>,
    pub headers: Headers,
    pub body: Option<Vec<u8>>,
    pub body_truncated: bool,
}

/// A captured response, as in `exchange-format.md`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Response {
    pub status: u16,
    pub headers: Headers,
    pub body: Option<Vec<u8>>,
    pub body_truncated: bool,
    pub duration_ms: Option<f64>,
    /// Body size on the wire, when the input says so.
    pub size: Option<u64>,
}

/// One HTTP exchange: the common shape every input format is turned into.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Exchange {
    /// As ingested, or derived from the record's content by the parser; never empty.
    pub id: String,
    pub ts: Micros,
    pub client_ip: Option<IpAddr>,
    pub app: Option<String>,
    pub node: Option<String>,
    pub request: Request,
    pub response: Option<Response>,
}

/// What kind of value a context parameter holds (PRODUCT.md C1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ParamKind {
    #[default]
    None,
    User,
    Role,
}

/// How a value reached the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoredAs {
    Clear,
    /// HMAC-SHA256 with the installation secret, hex; equal values stay equal.
    Hashed,
    /// Replaced by a fixed mask; nothing of the value is kept.
    Masked,
}

/// A context parameter's value as stored (PRODUCT.md C1, C3, C4, C5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextValue {
    /// Display name from the configuration.
    pub name: String,
    /// The point it was read from, e.g. `request.header.authorization.jwt.sub`.
    pub point: String,
    pub kind: ParamKind,
    pub stored_as: StoredAs,
    /// Clear, hashed (hex) or masked (`***`) value.
    pub value: String,
}

/// One detected attack (PRODUCT.md A2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attack {
    /// From the attack vocabulary: `sqli`, `xss`, `rce`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// Where the payload sat, e.g. `request.query.q`.
    pub point: String,
    /// An excerpt of the payload, secrets masked.
    pub payload: String,
    pub rule: String,
}

/// An exchange after the pipeline: everything the store keeps, with secrets already masked or hashed.
/// No field holds a raw token, cookie, password or key value.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalyzedExchange {
    pub id: String,
    pub ts: Micros,
    pub session_id: SessionId,
    /// UTC day of `ts` (`day_of(ts)`): the session part.
    pub day: i32,
    /// Which key grouped it, e.g. `builtin:cookie.PHPSESSID`; never the value.
    pub session_key: String,
    pub client_ip: Option<IpAddr>,
    pub app: String,
    /// Host without a default port, lowercase.
    pub host: String,
    pub method: String,
    /// Path without the query string, as received.
    pub path: String,
    /// Query string with secret values masked, without the `?`; empty when none.
    pub query: String,
    pub endpoint: String,
    pub flows: FlowSet,
    pub status: Option<u16>,
    pub duration_ms: Option<f64>,
    pub size: Option<u64>,
    pub user_agent: Option<String>,
    /// From context parameters of kind User (hashed when so configured).
    pub user: Option<String>,
    /// From context parameters of kind Role; sorted, without duplicates.
    pub roles: Vec<String>,
    /// Request and response context parameters, as stored.
    pub context: Vec<ContextValue>,
    pub attacks: Vec<Attack>,
}
