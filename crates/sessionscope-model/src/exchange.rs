//! One HTTP exchange as captured (`Exchange`), and as analysed and ready to store (`AnalyzedExchange`).

use std::net::IpAddr;

use compact_str::CompactString;
use serde::{Deserialize, Serialize};

use crate::{FlowSet, Micros, SessionId};

/// Header pairs in the order they were sent; names keep their case, lookups ignore it. Names and
/// values share one buffer: a header list costs two allocations, not two per header.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Headers {
    text: String,
    /// Where each pair's name and value end in `text`; a pair starts where the one before ends.
    ends: Vec<(usize, usize)>,
}

impl Headers {
    /// Room for `pairs` headers of `bytes` bytes of names and values together.
    pub fn with_capacity(pairs: usize, bytes: usize) -> Headers {
        Headers {
            text: String::with_capacity(bytes),
            ends: Vec::with_capacity(pairs),
        }
    }

    pub fn from_pairs<N: AsRef<str>, V: AsRef<str>>(
        pairs: impl IntoIterator<Item = (N, V)>,
    ) -> Headers {
        let mut headers = Headers::default();
        for (name, value) in pairs {
            headers.push(name, value);
        }
        headers
    }

    /// The pairs in order.
    pub fn iter(&self) -> HeaderIter<'_> {
        HeaderIter {
            headers: self,
            index: 0,
            start: 0,
        }
    }

    /// The first value of a header, by case-insensitive name.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.get_all(name).next()
    }

    /// Every value of a header, by case-insensitive name, in order.
    pub fn get_all<'a, 'n>(&'a self, name: &'n str) -> impl Iterator<Item = &'a str> + use<'a, 'n> {
        let mut start = 0;
        self.ends.iter().filter_map(move |&(name_end, value_end)| {
            let name_start = std::mem::replace(&mut start, value_end);
            self.value_if_named(name, name_start, name_end, value_end)
        })
    }

    /// The value of the pair at these ends when its name is `name`. Lookups run several times for
    /// every exchange, so names are compared by length first and as bytes, and only a match is
    /// cut out as text.
    fn value_if_named(
        &self,
        name: &str,
        start: usize,
        name_end: usize,
        value_end: usize,
    ) -> Option<&str> {
        let candidate = self.text.as_bytes().get(start..name_end)?;
        if candidate.len() != name.len() || !candidate.eq_ignore_ascii_case(name.as_bytes()) {
            return None;
        }
        self.text.get(name_end..value_end)
    }

    pub fn push(&mut self, name: impl AsRef<str>, value: impl AsRef<str>) {
        self.text.push_str(name.as_ref());
        let name_end = self.text.len();
        self.text.push_str(value.as_ref());
        self.ends.push((name_end, self.text.len()));
    }

    /// Removes every pair and keeps the buffers, for filling again.
    pub fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
    }

    /// Bytes the buffers hold, used or not.
    pub fn capacity_bytes(&self) -> usize {
        self.text.capacity() + self.ends.capacity() * std::mem::size_of::<(usize, usize)>()
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

/// The pairs of a header list, in order.
pub struct HeaderIter<'a> {
    headers: &'a Headers,
    index: usize,
    /// Where the pair at `index` starts in the text.
    start: usize,
}

impl<'a> Iterator for HeaderIter<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        let (name_end, value_end) = *self.headers.ends.get(self.index)?;
        let text = &self.headers.text;
        let pair = (
            text.get(self.start..name_end)?,
            text.get(name_end..value_end)?,
        );
        self.index += 1;
        self.start = value_end;
        Some(pair)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.headers.len().saturating_sub(self.index);
        (left, Some(left))
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = (&'a str, &'a str);
    type IntoIter = HeaderIter<'a>;

    fn into_iter(self) -> HeaderIter<'a> {
        self.iter()
    }
}

impl std::fmt::Debug for Headers {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_list().entries(self.iter()).finish()
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
    pub name: CompactString,
    /// The point it was read from, e.g. `request.header.authorization.jwt.sub`.
    pub point: CompactString,
    pub kind: ParamKind,
    pub stored_as: StoredAs,
    /// Clear, hashed (hex) or masked (`***`) value.
    pub value: CompactString,
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
/// No field holds a raw token, cookie, password or key value. Its text is `CompactString`: the short
/// values (ids, methods, hosts, templates, users) sit inside the struct, so the millions of exchanges
/// an ingest hands from thread to thread cost no allocation, no free and no pointer to follow for them.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalyzedExchange {
    pub id: CompactString,
    pub ts: Micros,
    pub session_id: SessionId,
    /// UTC day of `ts` (`day_of(ts)`): the session part.
    pub day: i32,
    /// Which key grouped it, e.g. `builtin:cookie.PHPSESSID`; never the value.
    pub session_key: CompactString,
    pub client_ip: Option<IpAddr>,
    pub app: CompactString,
    /// Host without a default port, lowercase.
    pub host: CompactString,
    pub method: CompactString,
    /// Path without the query string, as received.
    pub path: CompactString,
    /// Query string with secret values masked, without the `?`; empty when none.
    pub query: CompactString,
    pub endpoint: CompactString,
    pub flows: FlowSet,
    pub status: Option<u16>,
    pub duration_ms: Option<f64>,
    pub size: Option<u64>,
    pub user_agent: Option<CompactString>,
    /// From context parameters of kind User (hashed when so configured).
    pub user: Option<CompactString>,
    /// From context parameters of kind Role; sorted, without duplicates.
    pub roles: Vec<CompactString>,
    /// Request and response context parameters, as stored.
    pub context: Vec<ContextValue>,
    pub attacks: Vec<Attack>,
}

#[cfg(test)]
mod tests {
    use super::Headers;

    #[test]
    fn headers_keep_order_case_and_empty_parts() {
        let mut headers = Headers::from_pairs([("Content-Type", "text/plain"), ("X-Empty", "")]);
        headers.push("", "no name");
        headers.push(String::from("set-cookie"), "a=1");
        headers.push("Set-Cookie", "b=2");
        let pairs: Vec<(&str, &str)> = headers.iter().collect();
        assert_eq!(
            pairs,
            [
                ("Content-Type", "text/plain"),
                ("X-Empty", ""),
                ("", "no name"),
                ("set-cookie", "a=1"),
                ("Set-Cookie", "b=2"),
            ]
        );
        assert_eq!(headers.len(), 5);
        assert_eq!(headers.get("content-type"), Some("text/plain"));
        assert_eq!(headers.get("x-empty"), Some(""));
        assert_eq!(headers.get("missing"), None);
        let cookies: Vec<&str> = headers.get_all("SET-COOKIE").collect();
        assert_eq!(cookies, ["a=1", "b=2"]);
        assert!(Headers::default().is_empty());
        assert_eq!(
            format!("{:?}", Headers::from_pairs([("A", "1")])),
            r#"[("A", "1")]"#
        );
    }
}
