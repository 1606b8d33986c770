//! Exchange NDJSON, the native format (`exchange-format.md`): one exchange per line. This is the
//! hot path of ingestion, so the line is read once into borrowing structs (by `cursor` when it
//! has the usual shape, else by serde_json) and validated by hand, which also lets every rejection
//! name its field. A thread parsing many lines hands finished exchanges back (`ExchangeBuffers`)
//! so their buffers hold the next lines' text.
//!
//! A line must be UTF-8 JSON: a line with invalid UTF-8 is rejected with the byte position, since
//! guessing what a capture node meant would store something it never sent.

use std::borrow::Cow;

use base64::Engine;
use serde::Deserialize;
use sessionscope_model::{Exchange, Headers, Micros, Request, Response};

use crate::cursor::Cursor;
use crate::ids::derived_id;
use crate::json::{describe_json_error, Loose, Nested, WireHeaders};
use crate::limits::{apply_field_limits, MAX_URL_BYTES};
use crate::text::{epoch_seconds_to_micros, parse_rfc3339_strict};
use crate::Rejection;
use sessionscope_model::prefix_within;

#[derive(Deserialize, Default)]
struct WireExchange<'a> {
    #[serde(borrow)]
    id: Option<Loose<'a>>,
    #[serde(borrow)]
    ts: Option<Loose<'a>>,
    #[serde(borrow)]
    client_ip: Option<Loose<'a>>,
    #[serde(borrow)]
    app: Option<Loose<'a>>,
    #[serde(borrow)]
    node: Option<Loose<'a>>,
    #[serde(borrow)]
    request: Option<Nested<WireRequest<'a>>>,
    #[serde(borrow)]
    response: Option<Nested<WireResponse<'a>>>,
}

#[derive(Deserialize, Default)]
struct WireRequest<'a> {
    #[serde(borrow)]
    method: Option<Loose<'a>>,
    #[serde(borrow)]
    url: Option<Loose<'a>>,
    #[serde(borrow)]
    host: Option<Loose<'a>>,
    headers: Option<WireHeaders>,
    #[serde(borrow)]
    body: Option<Loose<'a>>,
    #[serde(borrow)]
    body_base64: Option<Loose<'a>>,
    #[serde(borrow)]
    body_truncated: Option<Loose<'a>>,
}

#[derive(Deserialize, Default)]
struct WireResponse<'a> {
    #[serde(borrow)]
    status: Option<Loose<'a>>,
    headers: Option<WireHeaders>,
    #[serde(borrow)]
    body: Option<Loose<'a>>,
    #[serde(borrow)]
    body_base64: Option<Loose<'a>>,
    #[serde(borrow)]
    body_truncated: Option<Loose<'a>>,
    #[serde(borrow)]
    duration_ms: Option<Loose<'a>>,
    #[serde(borrow)]
    size: Option<Loose<'a>>,
}

/// Parses one line of exchange NDJSON (without its line terminator; a trailing `\r` is tolerated).
/// `line_number` is only used for the rejection. An exchange without `id` gets `h` + the first 31
/// hex characters of SHA-256 of the line's bytes.
pub fn parse_exchange_line(line: &[u8], line_number: u64) -> Result<Exchange, Rejection> {
    ExchangeBuffers::default().parse(line, line_number)
}

/// A buffer grown past this by an unusual exchange is freed rather than kept for the next.
const MAX_KEPT_BYTES: usize = 256 << 10;

/// The buffers of exchanges that are done with, filled again by the next lines: a thread that
/// parses line after line (`parse`, then `recycle` once the exchange is analysed) allocates
/// almost nothing for the text of its exchanges. The exchanges are the same as
/// `parse_exchange_line`'s.
#[derive(Default)]
pub struct ExchangeBuffers {
    id: String,
    method: String,
    url: String,
    request_headers: Headers,
    request_body: Vec<u8>,
    response_headers: Headers,
    response_body: Vec<u8>,
}

impl ExchangeBuffers {
    /// As `parse_exchange_line`, in recycled buffers where there are some.
    pub fn parse(&mut self, line: &[u8], line_number: u64) -> Result<Exchange, Rejection> {
        let line = trim_line(line);
        let mut exchange = convert_line(line, self).map_err(|reason| Rejection {
            line: line_number,
            reason,
        })?;
        apply_field_limits(&mut exchange);
        Ok(exchange)
    }

    /// Keeps the buffers of an exchange that is no longer needed for the next `parse`.
    pub fn recycle(&mut self, exchange: Exchange) {
        let Exchange {
            id,
            request,
            response,
            ..
        } = exchange;
        keep(&mut self.id, id, String::capacity);
        keep(&mut self.method, request.method, String::capacity);
        keep(&mut self.url, request.url, String::capacity);
        keep_side(
            (&mut self.request_headers, &mut self.request_body),
            request.headers,
            request.body,
        );
        if let Some(response) = response {
            keep_side(
                (&mut self.response_headers, &mut self.response_body),
                response.headers,
                response.body,
            );
        }
    }
}

fn keep<T>(slot: &mut T, buffer: T, capacity: impl Fn(&T) -> usize) {
    if capacity(&buffer) <= MAX_KEPT_BYTES {
        *slot = buffer;
    }
}

/// Keeps the header and body buffers of one side of an exchange.
fn keep_side(slots: (&mut Headers, &mut Vec<u8>), headers: Headers, body: Option<Vec<u8>>) {
    keep(slots.0, headers, Headers::capacity_bytes);
    if let Some(body) = body {
        keep(slots.1, body, Vec::capacity);
    }
}

/// The text as an owned string, written into `spare`'s buffer when it is borrowed from the line.
fn reuse(text: Cow<'_, str>, spare: &mut String) -> String {
    match text {
        Cow::Owned(owned) => owned,
        Cow::Borrowed(borrowed) => {
            let mut owned = std::mem::take(spare);
            owned.clear();
            owned.push_str(borrowed);
            owned
        }
    }
}

fn trim_line(line: &[u8]) -> &[u8] {
    let line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
    let mut end = line.len();
    while end > 0 && matches!(line[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    &line[..end]
}

fn convert_line(line: &[u8], buffers: &mut ExchangeBuffers) -> Result<Exchange, String> {
    // Validating the whole line at once is faster than serde_json checking string by string.
    let text = std::str::from_utf8(line).map_err(|error| {
        format!(
            "invalid UTF-8 at byte {} of the line",
            error.valid_up_to() + 1
        )
    })?;
    let wire = match read_wire_directly(text, buffers) {
        Some(wire) => wire,
        None => serde_json::from_str(text)
            .map_err(|error| format!("invalid JSON: {}", describe_json_error(&error)))?,
    };
    convert_wire(wire, line, buffers)
}

/// Reads a line of the usual shape straight off its bytes (see `cursor`): known fields once each,
/// scalars where the format has scalars, headers as `[name, value]` pairs of strings. `None`
/// leaves the line to serde_json, which reads it the same way or says what is wrong with it.
fn read_wire_directly<'a>(
    text: &'a str,
    buffers: &mut ExchangeBuffers,
) -> Option<WireExchange<'a>> {
    let mut cursor = Cursor::new(text);
    let mut wire = WireExchange::default();
    cursor.object(|cursor, key| match key {
        "id" => fill(&mut wire.id, cursor.scalar()?),
        "ts" => fill(&mut wire.ts, cursor.scalar()?),
        "client_ip" => fill(&mut wire.client_ip, cursor.scalar()?),
        "app" => fill(&mut wire.app, cursor.scalar()?),
        "node" => fill(&mut wire.node, cursor.scalar()?),
        "request" => {
            let request = read_request(cursor, &mut buffers.request_headers)?;
            fill(&mut wire.request, Nested::Object(request))
        }
        "response" => {
            let response = read_response(cursor, &mut buffers.response_headers)?;
            fill(&mut wire.response, Nested::Object(response))
        }
        _ => None,
    })?;
    cursor.finish()?;
    Some(wire)
}

fn read_request<'a>(cursor: &mut Cursor<'a>, spare: &mut Headers) -> Option<WireRequest<'a>> {
    let mut request = WireRequest::default();
    cursor.object(|cursor, key| match key {
        "method" => fill(&mut request.method, cursor.scalar()?),
        "url" => fill(&mut request.url, cursor.scalar()?),
        "host" => fill(&mut request.host, cursor.scalar()?),
        "headers" => fill(&mut request.headers, read_header_pairs(cursor, spare)?),
        "body" => fill(&mut request.body, cursor.scalar()?),
        "body_base64" => fill(&mut request.body_base64, cursor.scalar()?),
        "body_truncated" => fill(&mut request.body_truncated, cursor.scalar()?),
        _ => None,
    })?;
    Some(request)
}

fn read_response<'a>(cursor: &mut Cursor<'a>, spare: &mut Headers) -> Option<WireResponse<'a>> {
    let mut response = WireResponse::default();
    cursor.object(|cursor, key| match key {
        "status" => fill(&mut response.status, cursor.scalar()?),
        "headers" => fill(&mut response.headers, read_header_pairs(cursor, spare)?),
        "body" => fill(&mut response.body, cursor.scalar()?),
        "body_base64" => fill(&mut response.body_base64, cursor.scalar()?),
        "body_truncated" => fill(&mut response.body_truncated, cursor.scalar()?),
        "duration_ms" => fill(&mut response.duration_ms, cursor.scalar()?),
        "size" => fill(&mut response.size, cursor.scalar()?),
        _ => None,
    })?;
    Some(response)
}

/// `headers` in the pair form, every pair two strings, in `spare`'s buffers if it has some.
fn read_header_pairs(cursor: &mut Cursor<'_>, spare: &mut Headers) -> Option<WireHeaders> {
    let mut pairs = std::mem::take(spare);
    pairs.clear();
    if pairs.capacity_bytes() == 0 {
        pairs = Headers::with_capacity(8, 256);
    }
    cursor.array(|cursor| {
        let mut pair = (None, None);
        cursor.array(|cursor| {
            let text = cursor.string()?;
            match pair {
                (None, _) => pair.0 = Some(text),
                (Some(_), None) => pair.1 = Some(text),
                (Some(_), Some(_)) => return None,
            }
            Some(())
        })?;
        pairs.push(pair.0?, pair.1?);
        Some(())
    })?;
    Some(WireHeaders {
        pairs,
        problem: None,
    })
}

/// Sets a field read for the first time; a second one is left to serde_json to reject.
fn fill<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    if slot.is_some() {
        return None;
    }
    *slot = Some(value);
    Some(())
}

fn convert_wire(
    wire: WireExchange,
    line: &[u8],
    buffers: &mut ExchangeBuffers,
) -> Result<Exchange, String> {
    let id = match wire.id {
        None => derived_id(line),
        Some(value) => {
            let id = expect_text(value, "id")?;
            let length = id.chars().count();
            if length == 0 || length > 128 {
                return Err(format!("`id` must be 1–128 characters, got {length}"));
            }
            reuse(id, &mut buffers.id)
        }
    };

    let ts = match wire.ts {
        None => return Err("missing `ts`".to_string()),
        Some(value) => convert_time(value)?,
    };

    let client_ip = match optional_nonempty_text(wire.client_ip, "client_ip")? {
        None => None,
        Some(text) => match text.trim().parse() {
            Ok(address) => Some(address),
            Err(_) => {
                return Err(format!(
                    "`client_ip` is not an IP address: `{}`",
                    shorten(&text)
                ))
            }
        },
    };
    let app = optional_nonempty_text(wire.app, "app")?.map(Cow::into_owned);
    let node = optional_nonempty_text(wire.node, "node")?.map(Cow::into_owned);

    let request = match wire.request {
        None => return Err("missing `request`".to_string()),
        Some(Nested::WrongType(found)) => {
            return Err(format!("`request` must be an object, got {found}"))
        }
        Some(Nested::Object(request)) => convert_request(request, buffers)?,
    };

    let response = match wire.response {
        None => None,
        Some(Nested::WrongType(found)) => {
            return Err(format!("`response` must be an object, got {found}"))
        }
        Some(Nested::Object(response)) => Some(convert_response(response, buffers)?),
    };

    Ok(Exchange {
        id,
        ts,
        client_ip,
        app,
        node,
        request,
        response,
    })
}

fn convert_time(value: Loose) -> Result<Micros, String> {
    match value {
        Loose::Text(text) => parse_rfc3339_strict(&text).ok_or_else(|| {
            format!(
                "`ts` must be RFC 3339 with an offset (2026-11-22T10:00:00.123Z), got `{}`",
                shorten(&text)
            )
        }),
        Loose::Unsigned(_) | Loose::Signed(_) | Loose::Float(_) => {
            let seconds = value.as_number().unwrap_or(f64::NAN);
            epoch_seconds_to_micros(seconds).ok_or_else(|| {
                format!("`ts` must be epoch seconds between 1970 and 9999, got {seconds}")
            })
        }
        other => Err(format!(
            "`ts` must be a string or a number, got {}",
            other.type_name()
        )),
    }
}

fn convert_request(wire: WireRequest, buffers: &mut ExchangeBuffers) -> Result<Request, String> {
    let method = match optional_text(wire.method, "request.method")? {
        None => return Err("missing `request.method`".to_string()),
        Some(method) if method.is_empty() => return Err("`request.method` is empty".to_string()),
        Some(method) => reuse(method, &mut buffers.method),
    };
    let url = match optional_text(wire.url, "request.url")? {
        None => return Err("missing `request.url`".to_string()),
        Some(url) if url.is_empty() => return Err("`request.url` is empty".to_string()),
        // Cut before the copy: a URL of megabytes is never copied whole.
        Some(Cow::Borrowed(url)) => reuse(
            Cow::Borrowed(prefix_within(url, MAX_URL_BYTES)),
            &mut buffers.url,
        ),
        Some(Cow::Owned(url)) => url,
    };
    let host = optional_nonempty_text(wire.host, "request.host")?.map(Cow::into_owned);
    let headers = convert_headers(wire.headers, "request.headers")?;
    let body = convert_body(
        wire.body,
        wire.body_base64,
        &REQUEST_BODY,
        &mut buffers.request_body,
    )?;
    let body_truncated = optional_bool(wire.body_truncated, "request.body_truncated")?;
    Ok(Request {
        method,
        url,
        host,
        headers,
        body,
        body_truncated,
    })
}

fn convert_response(wire: WireResponse, buffers: &mut ExchangeBuffers) -> Result<Response, String> {
    let status = match wire.status {
        None => return Err("missing `response.status`".to_string()),
        Some(Loose::Unsigned(status)) if (100..=599).contains(&status) => status as u16,
        Some(Loose::Unsigned(status)) => {
            return Err(format!("`response.status` must be 100–599, got {status}"));
        }
        Some(Loose::Signed(status)) => {
            return Err(format!("`response.status` must be 100–599, got {status}"))
        }
        Some(Loose::Float(status)) => {
            return Err(format!(
                "`response.status` must be an integer 100–599, got {status}"
            ));
        }
        Some(other) => {
            return Err(format!(
                "`response.status` must be an integer, got {}",
                other.type_name()
            ))
        }
    };
    let headers = convert_headers(wire.headers, "response.headers")?;
    let body = convert_body(
        wire.body,
        wire.body_base64,
        &RESPONSE_BODY,
        &mut buffers.response_body,
    )?;
    let body_truncated = optional_bool(wire.body_truncated, "response.body_truncated")?;
    let duration_ms = match wire.duration_ms {
        None => None,
        Some(value) => match value.as_number() {
            Some(duration) if duration.is_finite() && duration >= 0.0 => Some(duration),
            Some(duration) => {
                return Err(format!(
                    "`response.duration_ms` must be ≥ 0, got {duration}"
                ))
            }
            None => {
                return Err(format!(
                    "`response.duration_ms` must be a number, got {}",
                    value.type_name()
                ));
            }
        },
    };
    let size = match wire.size {
        None => None,
        Some(Loose::Unsigned(size)) => Some(size),
        Some(Loose::Signed(size)) => {
            return Err(format!("`response.size` must be ≥ 0, got {size}"))
        }
        Some(Loose::Float(size)) => {
            return Err(format!("`response.size` must be an integer, got {size}"))
        }
        Some(other) => {
            return Err(format!(
                "`response.size` must be an integer, got {}",
                other.type_name()
            ))
        }
    };
    Ok(Response {
        status,
        headers,
        body,
        body_truncated,
        duration_ms,
        size,
    })
}

fn convert_headers(headers: Option<WireHeaders>, field: &str) -> Result<Headers, String> {
    let Some(headers) = headers else {
        return Ok(Headers::default());
    };
    if let Some(problem) = headers.problem {
        return Err(format!("`{field}`: {problem}"));
    }
    Ok(headers.pairs)
}

/// The body fields of one side; field names are passed in whole so nothing is formatted unless a
/// line is rejected.
struct BodyFields {
    side: &'static str,
    body: &'static str,
    body_base64: &'static str,
}

const REQUEST_BODY: BodyFields = BodyFields {
    side: "request",
    body: "request.body",
    body_base64: "request.body_base64",
};
const RESPONSE_BODY: BodyFields = BodyFields {
    side: "response",
    body: "response.body",
    body_base64: "response.body_base64",
};

/// The body as bytes; text borrowed from the line is written into `spare`'s buffer.
fn convert_body(
    body: Option<Loose>,
    body_base64: Option<Loose>,
    fields: &BodyFields,
    spare: &mut Vec<u8>,
) -> Result<Option<Vec<u8>>, String> {
    let text = optional_text(body, fields.body)?;
    let encoded = optional_text(body_base64, fields.body_base64)?;
    match (text, encoded) {
        (Some(_), Some(_)) => {
            let side = fields.side;
            Err(format!(
                "`{side}.body` and `{side}.body_base64` are both set; use one"
            ))
        }
        (Some(Cow::Owned(text)), None) => Ok(Some(text.into_bytes())),
        (Some(Cow::Borrowed(text)), None) => {
            let mut bytes = std::mem::take(spare);
            bytes.clear();
            bytes.extend_from_slice(text.as_bytes());
            Ok(Some(bytes))
        }
        (None, Some(encoded)) => match decode_base64(&encoded) {
            Some(bytes) => Ok(Some(bytes)),
            None => Err(format!("`{}` is not valid base64", fields.body_base64)),
        },
        (None, None) => Ok(None),
    }
}

/// Standard base64, padding optional, line breaks ignored (some encoders wrap at 76 characters).
pub(crate) fn decode_base64(encoded: &str) -> Option<Vec<u8>> {
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    if encoded.bytes().any(|byte| byte.is_ascii_whitespace()) {
        let compact: String = encoded
            .chars()
            .filter(|character| !character.is_ascii_whitespace())
            .collect();
        return engine.decode(compact).ok();
    }
    engine.decode(encoded).ok()
}

fn expect_text<'a>(value: Loose<'a>, field: &str) -> Result<Cow<'a, str>, String> {
    match value {
        Loose::Text(text) => Ok(text),
        other => Err(format!(
            "`{field}` must be a string, got {}",
            other.type_name()
        )),
    }
}

fn optional_text<'a>(
    value: Option<Loose<'a>>,
    field: &str,
) -> Result<Option<Cow<'a, str>>, String> {
    value.map(|value| expect_text(value, field)).transpose()
}

/// Empty strings mean absent for the optional descriptive fields.
fn optional_nonempty_text<'a>(
    value: Option<Loose<'a>>,
    field: &str,
) -> Result<Option<Cow<'a, str>>, String> {
    Ok(optional_text(value, field)?.filter(|text| !text.is_empty()))
}

fn optional_bool(value: Option<Loose>, field: &str) -> Result<bool, String> {
    match value {
        None => Ok(false),
        Some(Loose::Bool(flag)) => Ok(flag),
        Some(other) => Err(format!(
            "`{field}` must be a boolean, got {}",
            other.type_name()
        )),
    }
}

/// At most 80 characters of a value, for messages.
pub(crate) fn shorten(text: &str) -> String {
    if text.chars().count() <= 80 {
        return text.to_string();
    }
    let mut short: String = text.chars().take(77).collect();
    short.push_str("...");
    short
}

#[cfg(test)]
mod tests {
    use super::*;
    use sessionscope_model::format_rfc3339;

    fn parse(line: &str) -> Result<Exchange, Rejection> {
        parse_exchange_line(line.as_bytes(), 7)
    }

    const EXAMPLE: &str = r#"{"id":"r-000001","ts":"2026-11-22T10:00:00.120Z","client_ip":"203.0.113.7","app":"shop","request":{"method":"POST","url":"https://api.shop.example/v1/login","headers":[["content-type","application/json"],["user-agent","Mozilla/5.0"]],"body":"{\"email\":\"ann@example.com\",\"password\":\"hunter2\"}"},"response":{"status":200,"headers":[["content-type","application/json"]],"body":"{\"access_token\":\"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiIsInJvbGUiOiJ1c2VyIn0.c2ln\"}","duration_ms":41.5,"size":88}}"#;

    #[test]
    fn the_documented_example_parses_field_by_field() {
        let exchange = parse(EXAMPLE).unwrap();
        assert_eq!(exchange.id, "r-000001");
        assert_eq!(format_rfc3339(exchange.ts), "2026-11-22T10:00:00.120Z");
        assert_eq!(exchange.client_ip.unwrap().to_string(), "203.0.113.7");
        assert_eq!(exchange.app.as_deref(), Some("shop"));
        assert_eq!(exchange.node, None);
        assert_eq!(exchange.request.method, "POST");
        assert_eq!(exchange.request.url, "https://api.shop.example/v1/login");
        assert_eq!(
            exchange.request.headers.get("User-Agent"),
            Some("Mozilla/5.0")
        );
        assert_eq!(
            exchange.request.body.as_deref(),
            Some(br#"{"email":"ann@example.com","password":"hunter2"}"#.as_slice())
        );
        let response = exchange.response.unwrap();
        assert_eq!(response.status, 200);
        assert_eq!(response.duration_ms, Some(41.5));
        assert_eq!(response.size, Some(88));
        assert!(response.body.unwrap().starts_with(b"{\"access_token\""));
    }

    /// Every variant the format lists, each as one line, with what it must produce.
    #[test]
    fn every_documented_variant_is_accepted() {
        let minimal = r#"{"ts":"2026-11-22T10:00:00Z","request":{"method":"GET","url":"/"}}"#;
        let exchange = parse(minimal).unwrap();
        assert_eq!(exchange.response, None);
        assert!(exchange.request.headers.is_empty());
        assert_eq!(exchange.id, derived_id(minimal.as_bytes()));

        let offset =
            parse(r#"{"ts":"2026-11-22T12:00:00.5+02:00","request":{"method":"GET","url":"/"}}"#)
                .unwrap();
        assert_eq!(format_rfc3339(offset.ts), "2026-11-22T10:00:00.500Z");

        let integer_epoch =
            parse(r#"{"ts":1795341600,"request":{"method":"GET","url":"/"}}"#).unwrap();
        assert_eq!(format_rfc3339(integer_epoch.ts), "2026-11-22T10:00:00.000Z");
        let fraction_epoch =
            parse(r#"{"ts":1795341600.123456,"request":{"method":"GET","url":"/"}}"#).unwrap();
        assert_eq!(fraction_epoch.ts, 1_795_341_600_123_456);

        let pairs = parse(r#"{"ts":1,"request":{"method":"GET","url":"/","headers":[["Cookie","a=1"],["cookie","b=2"]]}}"#).unwrap();
        assert_eq!(
            pairs.request.headers.get_all("cookie").collect::<Vec<_>>(),
            ["a=1", "b=2"]
        );
        let object = parse(r#"{"ts":1,"request":{"method":"GET","url":"/","headers":{"Host":"a.example","X-Id":"7"}}}"#).unwrap();
        assert_eq!(object.request.headers.get("host"), Some("a.example"));
        assert_eq!(object.request.headers.get("x-id"), Some("7"));
        let arrays = parse(r#"{"ts":1,"request":{"method":"GET","url":"/"},"response":{"status":200,"headers":{"Set-Cookie":["a=1","b=2"]}}}"#).unwrap();
        let response = arrays.response.unwrap();
        assert_eq!(
            response.headers.get_all("set-cookie").collect::<Vec<_>>(),
            ["a=1", "b=2"]
        );

        let base64 = parse(r#"{"ts":1,"request":{"method":"POST","url":"/","body_base64":"AAEC/w==","body_truncated":true}}"#).unwrap();
        assert_eq!(
            base64.request.body.as_deref(),
            Some([0u8, 1, 2, 255].as_slice())
        );
        assert!(base64.request.body_truncated);

        let unknown = parse(r#"{"ts":1,"future":{"x":[1,2]},"request":{"method":"GET","url":"/","later":true},"response":{"status":204,"extra":null}}"#).unwrap();
        assert_eq!(unknown.response.unwrap().status, 204);

        let host_and_node = parse(r#"{"ts":1,"node":"edge-1","request":{"method":"get","url":"/x","host":"api.example:8443"}}"#).unwrap();
        assert_eq!(host_and_node.node.as_deref(), Some("edge-1"));
        assert_eq!(host_and_node.request.method, "get");
        assert_eq!(
            host_and_node.request.host.as_deref(),
            Some("api.example:8443")
        );

        let null_response =
            parse(r#"{"ts":1,"request":{"method":"GET","url":"/"},"response":null}"#).unwrap();
        assert_eq!(null_response.response, None);

        let ipv6 =
            parse(r#"{"ts":1,"client_ip":"2001:db8::7","request":{"method":"GET","url":"/"}}"#)
                .unwrap();
        assert_eq!(ipv6.client_ip.unwrap().to_string(), "2001:db8::7");
    }

    #[test]
    fn a_duration_of_seventeen_digits_reads_back_exactly() {
        // 0.10519 s in milliseconds, as an nginx log's `request_time` becomes; its shortest
        // form has 17 digits, too many for the one-pass reader.
        let duration: f64 = 0.10519 * 1000.0;
        let line = format!(
            r#"{{"ts":1,"request":{{"method":"GET","url":"/"}},"response":{{"status":200,"duration_ms":{duration}}}}}"#
        );
        assert!(line.contains("105.19000000000001"), "{line}");
        let read = parse(&line).unwrap().response.unwrap().duration_ms.unwrap();
        assert_eq!(read.to_bits(), duration.to_bits(), "{read} for {duration}");
    }

    #[test]
    fn bad_lines_are_rejected_with_a_reason_naming_the_problem() {
        let cases = [
            (
                r#"{"ts":1,"request":{"method":"GET","url":"/"}"#,
                "invalid JSON",
            ),
            ("not json", "invalid JSON"),
            ("[1,2]", "invalid JSON"),
            (r#"{"request":{"method":"GET","url":"/"}}"#, "missing `ts`"),
            (r#"{"ts":1}"#, "missing `request`"),
            (
                r#"{"ts":1,"request":{"url":"/"}}"#,
                "missing `request.method`",
            ),
            (
                r#"{"ts":1,"request":{"method":"GET"}}"#,
                "missing `request.url`",
            ),
            (
                r#"{"ts":1,"request":{"method":"","url":"/"}}"#,
                "`request.method` is empty",
            ),
            (
                r#"{"ts":1,"request":"GET /"}"#,
                "`request` must be an object, got string",
            ),
            (
                r#"{"ts":1,"request":{"method":5,"url":"/"}}"#,
                "`request.method` must be a string, got number",
            ),
            (
                r#"{"ts":1,"request":{"method":"GET","url":["/"]}}"#,
                "`request.url` must be a string, got array",
            ),
            (
                r#"{"ts":true,"request":{"method":"GET","url":"/"}}"#,
                "`ts` must be a string or a number, got boolean",
            ),
            (
                r#"{"ts":"2026-11-22T10:00:00","request":{"method":"GET","url":"/"}}"#,
                "`ts` must be RFC 3339 with an offset",
            ),
            (
                r#"{"ts":"yesterday","request":{"method":"GET","url":"/"}}"#,
                "`ts` must be RFC 3339",
            ),
            (
                r#"{"ts":-5,"request":{"method":"GET","url":"/"}}"#,
                "`ts` must be epoch seconds",
            ),
            (
                r#"{"ts":1795341600000000,"request":{"method":"GET","url":"/"}}"#,
                "`ts` must be epoch seconds",
            ),
            (
                r#"{"id":"","ts":1,"request":{"method":"GET","url":"/"}}"#,
                "`id` must be 1–128 characters, got 0",
            ),
            (
                r#"{"id":7,"ts":1,"request":{"method":"GET","url":"/"}}"#,
                "`id` must be a string, got number",
            ),
            (
                r#"{"ts":1,"client_ip":"10.0.0.300","request":{"method":"GET","url":"/"}}"#,
                "`client_ip` is not an IP address",
            ),
            (
                r#"{"ts":1,"app":["a"],"request":{"method":"GET","url":"/"}}"#,
                "`app` must be a string, got array",
            ),
            (
                r#"{"ts":1,"request":{"method":"GET","url":"/","headers":"a: b"}}"#,
                "`request.headers`: must be an array",
            ),
            (
                r#"{"ts":1,"request":{"method":"GET","url":"/","headers":[["a",1]]}}"#,
                "`request.headers`: a header value must be a string",
            ),
            (
                r#"{"ts":1,"request":{"method":"GET","url":"/","body":{"a":1}}}"#,
                "`request.body` must be a string, got object",
            ),
            (
                r#"{"ts":1,"request":{"method":"GET","url":"/","body_base64":"***"}}"#,
                "`request.body_base64` is not valid base64",
            ),
            (
                r#"{"ts":1,"request":{"method":"GET","url":"/","body":"a","body_base64":"YQ=="}}"#,
                "both set",
            ),
            (
                r#"{"ts":1,"request":{"method":"GET","url":"/","body_truncated":"yes"}}"#,
                "`request.body_truncated` must be a boolean",
            ),
            (
                r#"{"ts":1,"request":{"method":"GET","url":"/"},"response":{}}"#,
                "missing `response.status`",
            ),
            (
                r#"{"ts":1,"request":{"method":"GET","url":"/"},"response":{"status":99}}"#,
                "`response.status` must be 100–599, got 99",
            ),
            (
                r#"{"ts":1,"request":{"method":"GET","url":"/"},"response":{"status":600}}"#,
                "`response.status` must be 100–599, got 600",
            ),
            (
                r#"{"ts":1,"request":{"method":"GET","url":"/"},"response":{"status":-200}}"#,
                "`response.status` must be 100–599",
            ),
            (
                r#"{"ts":1,"request":{"method":"GET","url":"/"},"response":{"status":200.5}}"#,
                "must be an integer 100–599",
            ),
            (
                r#"{"ts":1,"request":{"method":"GET","url":"/"},"response":{"status":"200"}}"#,
                "`response.status` must be an integer, got string",
            ),
            (
                r#"{"ts":1,"request":{"method":"GET","url":"/"},"response":{"status":200,"duration_ms":-1}}"#,
                "`response.duration_ms` must be ≥ 0",
            ),
            (
                r#"{"ts":1,"request":{"method":"GET","url":"/"},"response":{"status":200,"duration_ms":"5"}}"#,
                "`response.duration_ms` must be a number, got string",
            ),
            (
                r#"{"ts":1,"request":{"method":"GET","url":"/"},"response":{"status":200,"size":-1}}"#,
                "`response.size` must be ≥ 0",
            ),
            (
                r#"{"ts":1,"request":{"method":"GET","url":"/"},"response":{"status":200,"size":1.5}}"#,
                "`response.size` must be an integer",
            ),
            (
                r#"{"ts":1,"request":{"method":"GET","url":"/"},"response":[200]}"#,
                "`response` must be an object, got array",
            ),
            (
                r#"{"ts":1,"ts":2,"request":{"method":"GET","url":"/"}}"#,
                "duplicate field `ts`",
            ),
        ];
        for (line, expected) in cases {
            let rejection = parse(line).expect_err(line);
            assert_eq!(rejection.line, 7);
            assert!(
                rejection.reason.contains(expected),
                "{line}\n  reason: {}\n  expected: {expected}",
                rejection.reason
            );
        }
    }

    #[test]
    fn recycled_buffers_give_the_same_exchanges_as_fresh_ones() {
        let lines = [
            EXAMPLE,
            r#"{"ts":1,"request":{"method":"GET","url":"/short"}}"#,
            r#"{"id":"x","ts":2,"request":{"method":"DELETE","url":"/a/very/long/path/that/outgrows/the/last/one?with=query","headers":[["a","1"],["b","2"],["c","3"]],"body_base64":"AAEC"},"response":{"status":204}}"#,
            r#"{"ts":3,"request":{"method":"GET","url":"/h","headers":{"x-object-form":"read by serde_json"}},"response":{"status":200,"body":"ok"}}"#,
            r#"{"ts":4,"request":{"method":"GET","url":"/bad"},"response":{"status":99}}"#,
            r#"{"id":"esc\u0061ped","ts":5,"request":{"method":"P\u004fST","url":"/e\"","body":"b\n"}}"#,
            EXAMPLE,
            r#"{"ts":6,"request":{"method":"GET","url":"/"},"response":{"status":200,"headers":[]}}"#,
        ];
        let mut buffers = ExchangeBuffers::default();
        for round in 0..3 {
            for (index, line) in lines.iter().enumerate() {
                let number = (round * lines.len() + index) as u64;
                let reused = buffers.parse(line.as_bytes(), number);
                assert_eq!(
                    reused,
                    parse_exchange_line(line.as_bytes(), number),
                    "{line}"
                );
                if let Ok(exchange) = reused {
                    buffers.recycle(exchange);
                }
            }
        }
    }

    /// The direct reader must read every line it accepts as serde_json does, and accept only lines
    /// serde_json accepts. `buffers` hold what earlier lines left, so their reuse is checked too.
    fn assert_direct_read_agrees(line: &str, buffers: &mut ExchangeBuffers) -> bool {
        let Some(direct) = read_wire_directly(line, buffers) else {
            return false;
        };
        let through_serde: WireExchange = serde_json::from_str(line).unwrap_or_else(|error| {
            panic!("read directly, rejected by serde_json ({error}): {line}")
        });
        let reused = convert_wire(direct, line.as_bytes(), buffers);
        let fresh = convert_wire(
            through_serde,
            line.as_bytes(),
            &mut ExchangeBuffers::default(),
        );
        assert_eq!(reused, fresh, "{line}");
        if let Ok(exchange) = reused {
            buffers.recycle(exchange);
        }
        true
    }

    #[test]
    fn the_direct_reader_agrees_with_serde_json_on_every_variation_of_a_line() {
        let escaped = r#"{ "id" : "e\"1" , "ts" : 1795341600.25 , "client_ip" : "::1" , "app" : "caf\u00e9" , "node" : "n\\1" , "request" : { "method" : "PUT" , "url" : "/a?b=\u0063" , "host" : "h" , "headers" : [ [ "X-A" , "tab\there" ] , [ "x-b" , "" ] ] , "body_base64" : "AAEC" , "body_truncated" : false } , "response" : { "status" : 404 , "headers" : [ ] , "body" : "\ud83d\ude00" , "body_truncated" : true , "duration_ms" : 0 , "size" : 18446744073709551615 } }"#;
        let minimal = r#"{"ts":"2026-11-22T10:00:00Z","request":{"method":"GET","url":"/"}}"#;
        let buffers = &mut ExchangeBuffers::default();
        for line in [EXAMPLE, escaped, minimal] {
            assert!(
                assert_direct_read_agrees(line, buffers),
                "not read directly: {line}"
            );
        }
        let insertions = [
            "\"", "\\", ",", "{", "}", "[", "]", ":", " ", "1", "-", ".", "e", "n", "\u{1}", "é",
            "\"x\":1,",
        ];
        let mut accepted = 0;
        for line in [EXAMPLE, escaped, minimal] {
            for (at, character) in line.char_indices() {
                let deleted = format!("{}{}", &line[..at], &line[at + character.len_utf8()..]);
                accepted += assert_direct_read_agrees(&deleted, buffers) as usize;
                for insertion in insertions {
                    let inserted = format!("{}{insertion}{}", &line[..at], &line[at..]);
                    accepted += assert_direct_read_agrees(&inserted, buffers) as usize;
                }
            }
        }
        // Many variations stay valid (a space, a digit in a string); those were compared too.
        assert!(accepted > 1_000, "{accepted}");
    }

    #[test]
    fn ids_are_validated_up_to_128_characters() {
        let long_id = "x".repeat(128);
        let line = format!(r#"{{"id":"{long_id}","ts":1,"request":{{"method":"GET","url":"/"}}}}"#);
        assert_eq!(parse(&line).unwrap().id, long_id);
        let too_long =
            format!(r#"{{"id":"{long_id}y","ts":1,"request":{{"method":"GET","url":"/"}}}}"#);
        assert!(parse(&too_long).unwrap_err().reason.contains("got 129"));
    }

    #[test]
    fn invalid_utf8_is_rejected_without_panicking() {
        let mut line = br#"{"ts":1,"request":{"method":"GET","url":"/"#.to_vec();
        line.extend_from_slice(&[0xff, 0xfe]);
        line.extend_from_slice(br#""}}"#);
        let rejection = parse_exchange_line(&line, 3).unwrap_err();
        assert_eq!(rejection.line, 3);
        assert!(
            rejection.reason.contains("invalid UTF-8 at byte 43"),
            "{}",
            rejection.reason
        );
    }

    #[test]
    fn derived_ids_ignore_the_line_terminator_but_not_the_content() {
        let line = r#"{"ts":1,"request":{"method":"GET","url":"/a"}}"#;
        let with_crlf = format!("{line}\r\n");
        let first = parse(line).unwrap().id;
        assert_eq!(parse(&with_crlf).unwrap().id, first);
        let other = parse(r#"{"ts":1,"request":{"method":"GET","url":"/b"}}"#)
            .unwrap()
            .id;
        assert_ne!(first, other);
    }

    /// CPU time of this thread in seconds (Linux), so a rate measured on a busy shared machine
    /// counts the time this thread ran rather than the time it waited for a core.
    fn thread_cpu_seconds() -> Option<f64> {
        let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
        let nanoseconds: f64 = text.split_whitespace().next()?.parse().ok()?;
        Some(nanoseconds / 1e9)
    }

    fn measure(label: &str, lines: &[String], rounds: u64, parse: impl Fn(&[u8], u64) -> bool) {
        let total_bytes: usize = lines.iter().map(String::len).sum();
        let wall_started = std::time::Instant::now();
        let cpu_started = thread_cpu_seconds();
        let mut parsed = 0u64;
        for _ in 0..rounds {
            for (number, line) in lines.iter().enumerate() {
                if parse(line.as_bytes(), number as u64 + 1) {
                    parsed += 1;
                }
            }
        }
        let wall = wall_started.elapsed().as_secs_f64();
        let cpu = match (cpu_started, thread_cpu_seconds()) {
            (Some(started), Some(ended)) => ended - started,
            _ => wall,
        };
        assert_eq!(parsed, lines.len() as u64 * rounds);
        println!(
            "{label}: {parsed} lines of {} bytes: {:.0} lines/s of CPU time ({:.0} MB/s), {:.0} lines/s of wall time",
            total_bytes / lines.len(),
            parsed as f64 / cpu,
            total_bytes as f64 * rounds as f64 / cpu / 1e6,
            parsed as f64 / wall,
        );
    }

    /// Measures single-core parse throughput on typical ~600-byte lines, half with an `id`, half
    /// without (hashed). Run:
    /// `cargo test --release -p sessionscope-ingest --lib -- --ignored --nocapture ndjson_parse_rate`
    #[test]
    #[ignore]
    fn ndjson_parse_rate() {
        let mut lines = Vec::new();
        for index in 0..20_000u64 {
            let id = if index % 2 == 0 {
                format!(r#""id":"r-{index:08}","#)
            } else {
                String::new()
            };
            lines.push(format!(
                r#"{{{id}"ts":"2026-11-22T10:{:02}:{:02}.{:03}Z","client_ip":"203.0.{}.{}","app":"shop","request":{{"method":"GET","url":"https://api.shop.example/v1/users/{index}/orders?page=2&expand=items","headers":[["host","api.shop.example"],["user-agent","Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0"],["accept","application/json"],["authorization","Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiJ9.c2ln"],["cookie","sid=abc{index}; theme=dark"]]}},"response":{{"status":200,"headers":[["content-type","application/json"],["content-length","512"]],"duration_ms":12.5,"size":512}}}}"#,
                index % 60,
                (index / 60) % 60,
                index % 1000,
                index % 256,
                (index / 256) % 256,
            ));
        }
        let rounds = 30;
        measure("parse_exchange_line", &lines, rounds, |line, number| {
            parse_exchange_line(line, number).is_ok()
        });
        // The floor: serde_json only checking the same lines and building nothing.
        measure(
            "serde_json syntax check alone",
            &lines,
            rounds,
            |line, _| serde_json::from_slice::<serde::de::IgnoredAny>(line).is_ok(),
        );
    }
}
