//! The limits that bound the memory an input can take, whatever its shape: one record (an NDJSON
//! or log line, a HAR entry) is read into memory only up to `MAX_RECORD_BYTES`, and the fields of
//! the exchange made from it are cut to their own limits before it goes further. A longer record
//! is skipped without being buffered and rejected with its line (or entry) number; a longer field
//! is cut, so the exchange is still ingested: a URL or header value at a character boundary, a body
//! at `MAX_BODY_BYTES` with `body_truncated` set.

use sessionscope_model::{prefix_within, Exchange, Headers};

/// The longest record read: a line of a line format, an entry of a HAR file. 16 MiB holds any
/// sensible exchange with its bodies.
pub const MAX_RECORD_BYTES: usize = 16 << 20;

/// URLs (with their query string) are cut to this: servers refuse far shorter request lines
/// (nginx and Apache at 8 KiB), and the whole URL is kept in memory and in the store.
pub const MAX_URL_BYTES: usize = 16 << 10;

/// Header names and values are cut to this (servers refuse headers past 8 KiB).
pub const MAX_HEADER_BYTES: usize = 16 << 10;

/// Request and response bodies are cut to this and marked truncated; it is what attack detection
/// and the JSON view read of a body anyway.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// Cuts the fields of an exchange to their limits; nothing is done (or allocated) for an exchange
/// within them.
pub(crate) fn apply_field_limits(exchange: &mut Exchange) {
    cut_text(&mut exchange.request.url, MAX_URL_BYTES);
    if let Some(host) = exchange.request.host.as_mut() {
        cut_text(host, MAX_HEADER_BYTES);
    }
    cut_headers(&mut exchange.request.headers);
    if cut_body(&mut exchange.request.body) {
        exchange.request.body_truncated = true;
    }
    if let Some(response) = exchange.response.as_mut() {
        cut_headers(&mut response.headers);
        if cut_body(&mut response.body) {
            response.body_truncated = true;
        }
    }
}

fn cut_text(text: &mut String, limit: usize) {
    let kept = prefix_within(text, limit).len();
    if kept < text.len() {
        text.truncate(kept);
        text.shrink_to_fit();
    }
}

fn cut_headers(headers: &mut Headers) {
    let too_long = headers
        .iter()
        .any(|(name, value)| name.len() > MAX_HEADER_BYTES || value.len() > MAX_HEADER_BYTES);
    if !too_long {
        return;
    }
    let mut cut = Headers::with_capacity(headers.len(), 0);
    for (name, value) in headers.iter() {
        cut.push(
            prefix_within(name, MAX_HEADER_BYTES),
            prefix_within(value, MAX_HEADER_BYTES),
        );
    }
    *headers = cut;
}

/// True when the body was cut.
fn cut_body(body: &mut Option<Vec<u8>>) -> bool {
    match body {
        Some(bytes) if bytes.len() > MAX_BODY_BYTES => {
            bytes.truncate(MAX_BODY_BYTES);
            bytes.shrink_to_fit();
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sessionscope_model::{Request, Response};

    fn exchange(url: String, header_value: String, body: Vec<u8>) -> Exchange {
        Exchange {
            id: "x".into(),
            ts: 0,
            client_ip: None,
            app: None,
            node: None,
            request: Request {
                method: "GET".into(),
                url,
                host: None,
                headers: Headers::from_pairs([
                    ("user-agent", "curl"),
                    ("x-long", header_value.as_str()),
                ]),
                body: Some(body.clone()),
                body_truncated: false,
            },
            response: Some(Response {
                status: 200,
                headers: Headers::from_pairs([("x-long", header_value.as_str())]),
                body: Some(body),
                body_truncated: false,
                duration_ms: None,
                size: None,
            }),
        }
    }

    #[test]
    fn fields_over_their_limits_are_cut_and_bodies_marked() {
        // A two-byte character straddles each limit, so the cut must step back one byte.
        let url = format!("/{}", "é".repeat(MAX_URL_BYTES));
        let value = format!("a{}", "é".repeat(MAX_HEADER_BYTES));
        let mut long = exchange(url, value, vec![b'b'; MAX_BODY_BYTES + 10]);
        apply_field_limits(&mut long);
        assert_eq!(long.request.url.len(), MAX_URL_BYTES - 1);
        assert_eq!(
            long.request.headers.get("x-long").unwrap().len(),
            MAX_HEADER_BYTES - 1
        );
        assert_eq!(long.request.headers.get("user-agent"), Some("curl"));
        assert_eq!(long.request.body.as_ref().unwrap().len(), MAX_BODY_BYTES);
        assert!(long.request.body_truncated);
        let response = long.response.unwrap();
        assert_eq!(
            response.headers.get("x-long").unwrap().len(),
            MAX_HEADER_BYTES - 1
        );
        assert!(response.body_truncated);
    }

    #[test]
    fn fields_within_their_limits_are_left_alone() {
        let original = exchange(
            "x".repeat(MAX_URL_BYTES),
            "v".repeat(MAX_HEADER_BYTES),
            vec![b'b'; MAX_BODY_BYTES],
        );
        let mut same = original.clone();
        apply_field_limits(&mut same);
        assert_eq!(same, original);
    }
}
