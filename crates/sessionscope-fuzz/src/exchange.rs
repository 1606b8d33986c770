//! What every parser's exchanges must satisfy, whatever the input: the fields the exchange format
//! requires are there and in range, and the exchange written as a line of exchange NDJSON reads
//! back as the same exchange (so nothing a parser accepts is something the native format cannot
//! carry).

use base64::Engine;
use serde_json::{json, Map, Value};
use sessionscope_model::{format_rfc3339, Exchange, Headers};

/// A rejection's reason names the problem; it may quote a value, shortened, but never the record.
pub const MAX_REASON_BYTES: usize = 1024;

/// The exchange as a line of exchange NDJSON (`exchange-format.md`): text bodies as `body`, other
/// bytes as `body_base64`, headers as pairs, the time in RFC 3339 with microseconds.
pub fn to_ndjson_line(exchange: &Exchange) -> String {
    let mut line = Map::new();
    line.insert("id".into(), json!(exchange.id));
    let ts = match chrono::DateTime::<chrono::Utc>::from_timestamp_micros(exchange.ts) {
        Some(time) => time.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        None => format_rfc3339(exchange.ts),
    };
    line.insert("ts".into(), json!(ts));
    if let Some(address) = exchange.client_ip {
        line.insert("client_ip".into(), json!(address.to_string()));
    }
    if let Some(app) = &exchange.app {
        line.insert("app".into(), json!(app));
    }
    if let Some(node) = &exchange.node {
        line.insert("node".into(), json!(node));
    }
    let request = &exchange.request;
    let mut side = Map::new();
    side.insert("method".into(), json!(request.method));
    side.insert("url".into(), json!(request.url));
    if let Some(host) = &request.host {
        side.insert("host".into(), json!(host));
    }
    side.insert("headers".into(), header_pairs(&request.headers));
    put_body(&mut side, request.body.as_deref());
    side.insert("body_truncated".into(), json!(request.body_truncated));
    line.insert("request".into(), Value::Object(side));
    if let Some(response) = &exchange.response {
        let mut side = Map::new();
        side.insert("status".into(), json!(response.status));
        side.insert("headers".into(), header_pairs(&response.headers));
        put_body(&mut side, response.body.as_deref());
        side.insert("body_truncated".into(), json!(response.body_truncated));
        if let Some(duration) = response.duration_ms {
            side.insert("duration_ms".into(), json!(duration));
        }
        if let Some(size) = response.size {
            side.insert("size".into(), json!(size));
        }
        line.insert("response".into(), Value::Object(side));
    }
    Value::Object(line).to_string()
}

fn header_pairs(headers: &Headers) -> Value {
    Value::Array(
        headers
            .iter()
            .map(|(name, value)| json!([name, value]))
            .collect(),
    )
}

fn put_body(side: &mut Map<String, Value>, body: Option<&[u8]>) {
    let Some(body) = body else { return };
    match std::str::from_utf8(body) {
        Ok(text) => side.insert("body".into(), json!(text)),
        Err(_) => side.insert(
            "body_base64".into(),
            json!(base64::engine::general_purpose::STANDARD.encode(body)),
        ),
    };
}

/// Asserts what the exchange format promises of an accepted exchange, and that it survives being
/// written as exchange NDJSON and read back. `format` names the parser in the panic message.
pub fn check_exchange(format: &str, exchange: &Exchange) {
    let id_chars = exchange.id.chars().count();
    assert!(
        (1..=128).contains(&id_chars),
        "{format}: exchange id of {id_chars} characters: {exchange:?}"
    );
    assert!(
        !exchange.request.method.is_empty(),
        "{format}: accepted an exchange without a method: {exchange:?}"
    );
    assert!(
        !exchange.request.url.is_empty(),
        "{format}: accepted an exchange without a URL: {exchange:?}"
    );
    if let Some(response) = &exchange.response {
        assert!(
            (100..=599).contains(&response.status),
            "{format}: status {} outside 100-599",
            response.status
        );
        if let Some(duration) = response.duration_ms {
            assert!(
                duration.is_finite() && duration >= 0.0,
                "{format}: duration {duration} ms"
            );
        }
    }
    let line = to_ndjson_line(exchange);
    match sessionscope_ingest::parse_exchange_line(line.as_bytes(), 1) {
        Ok(again) => assert_eq!(
            &again, exchange,
            "{format}: the exchange written as NDJSON reads back differently: {line}"
        ),
        Err(rejection) => {
            panic!("{format}: the exchange written as NDJSON is rejected ({rejection}): {line}")
        }
    }
}

/// Asserts that a rejection carries a line number in `1..=max_line` and a short reason.
pub fn check_rejection(format: &str, line: u64, reason: &str, max_line: u64) {
    assert!(
        (1..=max_line).contains(&line),
        "{format}: rejection on line {line}, the input has {max_line}: {reason}"
    );
    assert!(
        !reason.trim().is_empty(),
        "{format}: rejection without a reason"
    );
    assert!(
        reason.len() <= MAX_REASON_BYTES,
        "{format}: rejection reason of {} bytes",
        reason.len()
    );
}
