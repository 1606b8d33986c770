//! Recent sample exchanges for the console's point builder (PRODUCT.md C2): the analysis workers
//! keep the newest exchange of a few distinct shapes (host, method, endpoint) as they go, and at
//! the end of an ingest the newest `MAX_SAMPLES` are sanitised (`Analyzer::sanitize_sample`) and
//! saved in the store in the exchange NDJSON format (`exchange_to_line`).
//!
//! Keeping costs one hash and one map look-up per exchange and no copy: an exchange the worker
//! analysed is moved into the collector instead of being dropped.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher};

use serde::{Serialize, Serializer};
use sessionscope_analyze::Analyzer;
use sessionscope_model::{AnalyzedExchange, Exchange, Headers};

/// Samples kept in the store.
pub const MAX_SAMPLES: usize = 30;
/// Every this many offers the stalest shape is dropped, so shapes that appear late still get in.
const EVICTION_INTERVAL: u64 = 4_096;

/// The newest exchange of up to `MAX_SAMPLES` shapes seen by one worker.
#[derive(Default)]
pub struct SampleCollector {
    by_shape: HashMap<u64, Exchange>,
    offers: u64,
}

fn shape_of(analyzed: &AnalyzedExchange) -> u64 {
    let mut hasher = foldhash::fast::FixedState::default().build_hasher();
    analyzed.host.hash(&mut hasher);
    analyzed.method.hash(&mut hasher);
    analyzed.endpoint.hash(&mut hasher);
    hasher.finish()
}

impl SampleCollector {
    /// Offers an exchange that was just analysed; kept when it is the newest of its shape.
    /// Returns the exchange this leaves unused (the offered one or the one it replaces), for its
    /// buffers to be reused.
    pub fn offer(&mut self, analyzed: &AnalyzedExchange, exchange: Exchange) -> Option<Exchange> {
        self.offers += 1;
        if self.offers.is_multiple_of(EVICTION_INTERVAL) && self.by_shape.len() == MAX_SAMPLES {
            let stalest = self
                .by_shape
                .iter()
                .min_by_key(|(_, kept)| kept.ts)
                .map(|(shape, _)| *shape);
            if let Some(shape) = stalest {
                self.by_shape.remove(&shape);
            }
        }
        let shape = shape_of(analyzed);
        if let Some(kept) = self.by_shape.get_mut(&shape) {
            if exchange.ts >= kept.ts {
                return Some(std::mem::replace(kept, exchange));
            }
            return Some(exchange);
        }
        if self.by_shape.len() < MAX_SAMPLES {
            self.by_shape.insert(shape, exchange);
            return None;
        }
        Some(exchange)
    }

    /// Joins the workers' collectors: the newest exchange per shape, newest first, at most
    /// `MAX_SAMPLES`.
    pub fn merge(collectors: Vec<SampleCollector>) -> Vec<Exchange> {
        let mut by_shape: HashMap<u64, Exchange> = HashMap::new();
        for collector in collectors {
            for (shape, exchange) in collector.by_shape {
                match by_shape.get(&shape) {
                    Some(kept) if kept.ts >= exchange.ts => {}
                    _ => {
                        by_shape.insert(shape, exchange);
                    }
                }
            }
        }
        let mut newest: Vec<Exchange> = by_shape.into_values().collect();
        newest.sort_by(|left, right| right.ts.cmp(&left.ts).then(left.id.cmp(&right.id)));
        newest.truncate(MAX_SAMPLES);
        newest
    }
}

/// The sanitised NDJSON lines to store for these exchanges, in the same order.
pub fn sample_lines(analyzer: &Analyzer, exchanges: &[Exchange]) -> Vec<String> {
    exchanges
        .iter()
        .map(|exchange| exchange_to_line(&analyzer.sanitize_sample(exchange)))
        .collect()
}

/// Header pairs as the format's `[[name, value], ...]`.
struct HeaderPairs<'a>(&'a Headers);

impl Serialize for HeaderPairs<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|(name, value)| [name, value]))
    }
}

/// Bodies that are not UTF-8 are left out: a sanitised sample never has one (no point reads
/// binary bodies), and the format's `body_base64` would only matter for them.
fn body_text(body: Option<&[u8]>) -> Option<&str> {
    body.and_then(|body| std::str::from_utf8(body).ok())
}

fn is_false(value: &bool) -> bool {
    !*value
}

// The fields of the line, in alphabetical order like the JSON objects this once was built from.
#[derive(Serialize)]
struct LineFields<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    app: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_ip: Option<std::net::IpAddr>,
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    node: Option<&'a str>,
    request: RequestFields<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response: Option<ResponseFields<'a>>,
    ts: String,
}

#[derive(Serialize)]
struct RequestFields<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<&'a str>,
    #[serde(skip_serializing_if = "is_false")]
    body_truncated: bool,
    headers: HeaderPairs<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    host: Option<&'a str>,
    method: &'a str,
    url: &'a str,
}

#[derive(Serialize)]
struct ResponseFields<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<&'a str>,
    #[serde(skip_serializing_if = "is_false")]
    body_truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    duration_ms: Option<f64>,
    headers: HeaderPairs<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    size: Option<u64>,
    status: u16,
}

/// RFC 3339 with microseconds, so the time survives exactly.
fn rfc3339_micros(micros: i64) -> String {
    match chrono::DateTime::<chrono::Utc>::from_timestamp_micros(micros) {
        Some(time) => time.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        None => sessionscope_model::format_rfc3339(micros),
    }
}

/// One exchange as a line of the exchange NDJSON format (`exchange-format.md`), without the
/// trailing newline; `sessionscope_ingest::parse_exchange_line` reads it back.
pub fn exchange_to_line(exchange: &Exchange) -> String {
    let request = &exchange.request;
    let line = LineFields {
        app: exchange.app.as_deref(),
        client_ip: exchange.client_ip,
        id: &exchange.id,
        node: exchange.node.as_deref(),
        request: RequestFields {
            body: body_text(request.body.as_deref()),
            body_truncated: request.body_truncated,
            headers: HeaderPairs(&request.headers),
            host: request.host.as_deref(),
            method: &request.method,
            url: &request.url,
        },
        response: exchange.response.as_ref().map(|response| ResponseFields {
            body: body_text(response.body.as_deref()),
            body_truncated: response.body_truncated,
            duration_ms: response.duration_ms,
            headers: HeaderPairs(&response.headers),
            size: response.size,
            status: response.status,
        }),
        ts: rfc3339_micros(exchange.ts),
    };
    // Serialising borrowed fields cannot fail.
    serde_json::to_string(&line).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sessionscope_model::{Request, Response};

    fn analyzed(host: &str, endpoint: &str) -> AnalyzedExchange {
        let analyzer = Analyzer::new(Default::default(), [1; 32]);
        let mut exchange = Exchange {
            id: "x".into(),
            ..Exchange::default()
        };
        exchange.request.method = "GET".into();
        exchange.request.url = format!("https://{host}{endpoint}");
        analyzer.analyze(&exchange)
    }

    fn exchange(id: &str, second: i64) -> Exchange {
        Exchange {
            id: id.into(),
            ts: 1_795_341_600_000_000 + second * 1_000_000,
            ..Exchange::default()
        }
    }

    #[test]
    fn the_newest_exchange_of_each_shape_is_kept_newest_first() {
        let mut first = SampleCollector::default();
        let mut second = SampleCollector::default();
        first.offer(&analyzed("a.example", "/v1/users/1"), exchange("a-old", 1));
        first.offer(&analyzed("a.example", "/v1/users/2"), exchange("a-new", 5));
        first.offer(&analyzed("a.example", "/v1/orders"), exchange("orders", 3));
        second.offer(
            &analyzed("a.example", "/v1/users/3"),
            exchange("a-newest", 9),
        );
        second.offer(
            &analyzed("b.example", "/v1/orders"),
            exchange("b-orders", 2),
        );
        let merged = SampleCollector::merge(vec![first, second]);
        let ids: Vec<&str> = merged.iter().map(|sample| sample.id.as_str()).collect();
        assert_eq!(ids, ["a-newest", "orders", "b-orders"]);
    }

    #[test]
    fn at_most_the_limit_is_kept() {
        let mut collector = SampleCollector::default();
        for index in 0..(MAX_SAMPLES as i64 * 3) {
            collector.offer(
                &analyzed("a.example", &format!("/v1/things-{index}")),
                exchange(&format!("e{index}"), index),
            );
        }
        assert_eq!(SampleCollector::merge(vec![collector]).len(), MAX_SAMPLES);
    }

    #[test]
    fn lines_read_back_as_the_same_exchange() {
        let mut headers = Headers::default();
        headers.push("Content-Type", "application/json");
        headers.push("X-Many", "1");
        headers.push("X-Many", "2");
        let original = Exchange {
            id: "r-1".into(),
            ts: 1_795_341_600_123_456,
            client_ip: Some("203.0.113.7".parse().unwrap()),
            app: Some("shop".into()),
            node: Some("edge-1".into()),
            request: Request {
                method: "POST".into(),
                url: "https://api.example/v1/login?x=1".into(),
                host: None,
                headers: headers.clone(),
                body: Some(br#"{"email":"a@b"}"#.to_vec()),
                body_truncated: true,
            },
            response: Some(Response {
                status: 201,
                headers,
                body: Some(b"{}".to_vec()),
                body_truncated: false,
                duration_ms: Some(12.5),
                size: Some(2),
            }),
        };
        let line = exchange_to_line(&original);
        let read = sessionscope_ingest::parse_exchange_line(line.as_bytes(), 1).unwrap();
        assert_eq!(read, original, "{line}");
    }
}
