//! HAR 1.2 (`log.entries[]`), as exported by browsers, mitmproxy, Charles, Insomnia and Postman.
//! The file is one JSON document, read as a stream: entries are taken one at a time and handed on
//! as each ends, so only one entry's tree is held at once, and an entry is read only up to the
//! record limit (`MAX_RECORD_BYTES`); the size of the file does not matter.
//!
//! Mapping: `startedDateTime` → ts; request method, url, headers, cookies (as a `Cookie` header when
//! the headers have none) and `postData` (`text`, or `params` form-encoded); response status,
//! headers, cookies (as `Set-Cookie` headers when the headers have none), `content.text` (base64
//! when `encoding` says so) and `bodySize`; `time` → duration. HTTP/2 pseudo-headers (`:path`, ...)
//! repeat the method and URL and are dropped; `:authority` becomes the request host when no `Host`
//! header exists. Status 0 (an aborted request in Chrome and Firefox exports) means no response.
//! The client address is not in HAR (`serverIPAddress` is the server's).
//!
//! Ids: `h` + SHA-256 of the entry's canonical JSON (keys sorted), with `-2`, `-3` for identical
//! entries, which Safari writes for requests made twice in the same millisecond.

use std::cell::Cell;
use std::fmt;
use std::io::Read;
use std::rc::Rc;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use sessionscope_model::{Exchange, Headers, Request, Response};

use crate::ids::OccurrenceCounter;
use crate::json::json_error_message;
use crate::limits::apply_field_limits;
use crate::ndjson::{decode_base64, shorten};
use crate::text::{form_encode, parse_iso8601_lenient};
use crate::{Record, Rejection};

/// Why a HAR document could not be read to its end. The entries before the failure were handed
/// to the sink already.
#[derive(Debug)]
pub(crate) enum HarFailure {
    /// The bytes could not be read (a truncated gzip file, a disk error).
    Read(std::io::Error),
    /// The document is not HAR, or breaks off (not JSON, no `log.entries`, cut in the middle).
    Invalid(String),
    /// An entry is longer than the record limit; nothing after its start is read.
    EntryTooLong { entry: u64, limit: usize },
    /// The sink refused a record (its reader is gone).
    Stopped,
}

/// Reads a HAR document from a stream and hands its records to `sink`, one per entry, in order,
/// as each entry ends: only one entry's tree is in memory at a time, and an entry is read only up
/// to `max_entry_bytes`. `sink` returns false to stop. The number of entries read comes with
/// the failure in `Err`.
pub(crate) fn stream_har(
    input: impl Read,
    max_entry_bytes: usize,
    sink: &mut dyn FnMut(Record) -> bool,
) -> Result<u64, (u64, HarFailure)> {
    let budget = Rc::new(EntryBudget {
        consumed: Cell::new(0),
        entry_start: Cell::new(None),
        exceeded: Cell::new(false),
        limit: max_entry_bytes as u64,
    });
    let mut collector = EntryCollector {
        sink,
        entries: 0,
        occurrences: OccurrenceCounter::new(),
        saw_entries: false,
        budget: Rc::clone(&budget),
        stopped: false,
    };
    let reader = BudgetedReader {
        inner: input,
        budget: Rc::clone(&budget),
    };
    let mut deserializer = serde_json::Deserializer::from_reader(reader);
    let outcome = DocumentSeed {
        collector: &mut collector,
    }
    .deserialize(&mut deserializer)
    .and_then(|()| deserializer.end());
    let entries = collector.entries;
    if let Err(error) = outcome {
        let failure = if collector.stopped {
            HarFailure::Stopped
        } else if budget.exceeded.get() {
            HarFailure::EntryTooLong {
                entry: entries + 1,
                limit: max_entry_bytes,
            }
        } else if error.is_io() {
            HarFailure::Read(std::io::Error::from(error))
        } else {
            HarFailure::Invalid(document_error(&error))
        };
        return Err((entries, failure));
    }
    if !collector.saw_entries {
        return Err((
            entries,
            HarFailure::Invalid("no `log.entries` array".to_string()),
        ));
    }
    Ok(entries)
}

/// Parses a whole HAR document held in memory (tests).
#[cfg(test)]
pub(crate) fn parse_har(document: &[u8]) -> Result<Vec<Record>, String> {
    let mut records = Vec::new();
    let mut sink = |record| {
        records.push(record);
        true
    };
    match stream_har(document, crate::MAX_RECORD_BYTES, &mut sink) {
        Ok(_) => Ok(records),
        Err((_, HarFailure::Invalid(reason))) => Err(reason),
        Err((_, failure)) => Err(format!("{failure:?}")),
    }
}

/// A document's JSON error with its place, quoting at most a short part of the value.
fn document_error(error: &serde_json::Error) -> String {
    let message = json_error_message(error);
    if error.line() == 0 {
        return message;
    }
    format!(
        "{message} at line {} column {}",
        error.line(),
        error.column()
    )
}

/// Shared by the byte source and the entries visitor: how far the document has been read, and
/// where the entry being read began.
struct EntryBudget {
    consumed: Cell<u64>,
    entry_start: Cell<Option<u64>>,
    exceeded: Cell<bool>,
    limit: u64,
}

/// Fails the read once the entry being read is longer than its budget, so an entry of gigabytes
/// is never held whole (serde_json cannot skip a value and resume, so the document ends there).
struct BudgetedReader<R> {
    inner: R,
    budget: Rc<EntryBudget>,
}

impl<R: Read> Read for BudgetedReader<R> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let budget = &self.budget;
        let mut room = buffer.len();
        if let Some(start) = budget.entry_start.get() {
            let used = budget.consumed.get() - start;
            if used >= budget.limit {
                budget.exceeded.set(true);
                return Err(std::io::Error::other(
                    "a HAR entry is longer than the record limit",
                ));
            }
            room = room.min((budget.limit - used) as usize);
        }
        let count = self.inner.read(&mut buffer[..room])?;
        budget.consumed.set(budget.consumed.get() + count as u64);
        Ok(count)
    }
}

struct EntryCollector<'s> {
    sink: &'s mut dyn FnMut(Record) -> bool,
    entries: u64,
    occurrences: OccurrenceCounter,
    saw_entries: bool,
    budget: Rc<EntryBudget>,
    stopped: bool,
}

impl EntryCollector<'_> {
    /// False when the sink wants no more records.
    fn push_entry(&mut self, entry: Value) -> bool {
        self.entries += 1;
        let index = self.entries;
        // serde_json's map keeps keys sorted, so this serialization is the same for the same
        // entry whatever whitespace or key order the file used.
        let canonical = serde_json::to_vec(&entry).unwrap_or_default();
        let id = self.occurrences.id_for(&canonical);
        let record = match convert_entry(&entry, id) {
            Ok(mut exchange) => {
                apply_field_limits(&mut exchange);
                Record::Exchange(exchange)
            }
            Err(reason) => Record::Rejected(Rejection {
                line: index,
                reason: format!("HAR entry {index}: {reason}"),
            }),
        };
        if !(self.sink)(record) {
            self.stopped = true;
            return false;
        }
        true
    }
}

struct DocumentSeed<'c, 's> {
    collector: &'c mut EntryCollector<'s>,
}

impl<'de> DeserializeSeed<'de> for DocumentSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for DocumentSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a HAR document: an object with `log`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if key == "log" {
                map.next_value_seed(LogSeed {
                    collector: &mut *self.collector,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

struct LogSeed<'c, 's> {
    collector: &'c mut EntryCollector<'s>,
}

impl<'de> DeserializeSeed<'de> for LogSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for LogSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("`log` as an object with `entries`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if key == "entries" {
                map.next_value_seed(EntriesSeed {
                    collector: &mut *self.collector,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

struct EntriesSeed<'c, 's> {
    collector: &'c mut EntryCollector<'s>,
}

impl<'de> DeserializeSeed<'de> for EntriesSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for EntriesSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("`log.entries` as an array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut sequence: A) -> Result<(), A::Error> {
        self.collector.saw_entries = true;
        let budget = Rc::clone(&self.collector.budget);
        loop {
            budget.entry_start.set(Some(budget.consumed.get()));
            let entry = sequence.next_element::<Value>()?;
            budget.entry_start.set(None);
            let Some(entry) = entry else {
                return Ok(());
            };
            if !self.collector.push_entry(entry) {
                return Err(de::Error::custom("the reader of the records is gone"));
            }
        }
    }
}

fn convert_entry(entry: &Value, id: String) -> Result<Exchange, String> {
    if !entry.is_object() {
        return Err(format!("must be an object, got {}", type_name(entry)));
    }
    let started = required_text(entry, &["startedDateTime"])?;
    let ts = parse_iso8601_lenient(started).ok_or_else(|| {
        format!(
            "`startedDateTime` must be ISO 8601, got `{}`",
            shorten(started)
        )
    })?;

    let request = object_at(entry, "request")?.ok_or_else(|| "missing `request`".to_string())?;
    let method =
        required_text(request, &["method"]).map_err(|reason| format!("request: {reason}"))?;
    let url = required_text(request, &["url"]).map_err(|reason| format!("request: {reason}"))?;
    if method.is_empty() {
        return Err("`request.method` is empty".to_string());
    }
    if url.is_empty() {
        return Err("`request.url` is empty".to_string());
    }
    let (mut request_headers, authority) = convert_headers(request, "request")?;
    let host = match (authority, request_headers.get("host")) {
        (Some(authority), None) => Some(authority),
        _ => None,
    };
    if request_headers.get("cookie").is_none() {
        let cookies = cookie_pairs(request, "request")?;
        if !cookies.is_empty() {
            request_headers.push("Cookie", cookies.join("; "));
        }
    }
    let request_body = convert_post_data(request)?;

    let response = match object_at(entry, "response")? {
        None => None,
        Some(response) => convert_response(response)?,
    };
    let duration_ms = match entry.get("time") {
        Some(Value::Number(number)) => number
            .as_f64()
            .filter(|time| time.is_finite() && *time >= 0.0),
        _ => None,
    };
    let response = response.map(|response| Response {
        duration_ms,
        ..response
    });

    Ok(Exchange {
        id,
        ts,
        client_ip: None,
        app: None,
        node: None,
        request: Request {
            method: method.to_string(),
            url: url.to_string(),
            host,
            headers: request_headers,
            body: request_body,
            body_truncated: false,
        },
        response,
    })
}

fn convert_response(response: &Value) -> Result<Option<Response>, String> {
    let status = match response.get("status") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(number)) => match number.as_u64() {
            Some(0) => return Ok(None),
            Some(status) if (100..=599).contains(&status) => status as u16,
            _ => {
                return Err(format!(
                    "`response.status` must be 100–599 (or 0 for no response), got {number}"
                ))
            }
        },
        Some(other) => {
            return Err(format!(
                "`response.status` must be a number, got {}",
                type_name(other)
            ))
        }
    };
    let (mut headers, _) = convert_headers(response, "response")?;
    if headers.get("set-cookie").is_none() {
        for cookie in set_cookie_values(response)? {
            headers.push("Set-Cookie", cookie);
        }
    }
    let body = match response.get("content") {
        Some(content @ Value::Object(_)) => convert_content(content),
        _ => None,
    };
    let size = match response.get("bodySize") {
        Some(Value::Number(number)) => number.as_u64(),
        _ => None,
    };
    Ok(Some(Response {
        status,
        headers,
        body,
        body_truncated: false,
        duration_ms: None,
        size,
    }))
}

/// `content.text`, base64-decoded when `encoding` is `base64`. A body that does not decode is
/// dropped rather than failing the entry: the exchange itself is still sound.
fn convert_content(content: &Value) -> Option<Vec<u8>> {
    let text = content.get("text").and_then(Value::as_str)?;
    if text.is_empty() {
        return None;
    }
    match content.get("encoding").and_then(Value::as_str) {
        Some(encoding) if encoding.eq_ignore_ascii_case("base64") => decode_base64(text),
        _ => Some(text.as_bytes().to_vec()),
    }
}

fn convert_post_data(request: &Value) -> Result<Option<Vec<u8>>, String> {
    let post_data = match request.get("postData") {
        None | Some(Value::Null) => return Ok(None),
        Some(post_data @ Value::Object(_)) => post_data,
        Some(other) => {
            return Err(format!(
                "`request.postData` must be an object, got {}",
                type_name(other)
            ))
        }
    };
    if let Some(text) = post_data.get("text").and_then(Value::as_str) {
        if !text.is_empty() {
            if post_data.get("encoding").and_then(Value::as_str) == Some("base64") {
                return Ok(decode_base64(text));
            }
            return Ok(Some(text.as_bytes().to_vec()));
        }
    }
    let Some(params) = post_data.get("params").and_then(Value::as_array) else {
        return Ok(None);
    };
    let mut body = String::new();
    for param in params {
        let Some(name) = param.get("name").and_then(Value::as_str) else {
            continue;
        };
        if !body.is_empty() {
            body.push('&');
        }
        form_encode(name, &mut body);
        body.push('=');
        form_encode(
            param.get("value").and_then(Value::as_str).unwrap_or(""),
            &mut body,
        );
    }
    Ok((!body.is_empty()).then(|| body.into_bytes()))
}

/// `headers: [{name, value}]` in order; pseudo-headers dropped, `:authority` returned apart.
fn convert_headers(message: &Value, side: &str) -> Result<(Headers, Option<String>), String> {
    let mut headers = Headers::default();
    let mut authority = None;
    let entries = match message.get("headers") {
        None | Some(Value::Null) => return Ok((headers, None)),
        Some(Value::Array(entries)) => entries,
        Some(other) => {
            return Err(format!(
                "`{side}.headers` must be an array, got {}",
                type_name(other)
            ))
        }
    };
    for header in entries {
        let (name, value) =
            name_value(header).map_err(|reason| format!("`{side}.headers`: {reason}"))?;
        if let Some(pseudo) = name.strip_prefix(':') {
            if pseudo.eq_ignore_ascii_case("authority") && !value.is_empty() {
                authority = Some(value.to_string());
            }
            continue;
        }
        headers.push(name, value);
    }
    Ok((headers, authority))
}

fn cookie_pairs(message: &Value, side: &str) -> Result<Vec<String>, String> {
    let mut pairs = Vec::new();
    let cookies = match message.get("cookies") {
        None | Some(Value::Null) => return Ok(pairs),
        Some(Value::Array(cookies)) => cookies,
        Some(other) => {
            return Err(format!(
                "`{side}.cookies` must be an array, got {}",
                type_name(other)
            ))
        }
    };
    for cookie in cookies {
        let (name, value) =
            name_value(cookie).map_err(|reason| format!("`{side}.cookies`: {reason}"))?;
        pairs.push(format!("{name}={value}"));
    }
    Ok(pairs)
}

/// Response cookies written back as `Set-Cookie` values with the attributes HAR keeps.
fn set_cookie_values(response: &Value) -> Result<Vec<String>, String> {
    let mut values = cookie_pairs(response, "response")?;
    let Some(cookies) = response.get("cookies").and_then(Value::as_array) else {
        return Ok(values);
    };
    for (value, cookie) in values.iter_mut().zip(cookies) {
        for attribute in ["path", "domain", "expires"] {
            if let Some(text) = cookie
                .get(attribute)
                .and_then(Value::as_str)
                .filter(|text| !text.is_empty())
            {
                let label = match attribute {
                    "path" => "Path",
                    "domain" => "Domain",
                    _ => "Expires",
                };
                value.push_str(&format!("; {label}={text}"));
            }
        }
        if cookie.get("httpOnly").and_then(Value::as_bool) == Some(true) {
            value.push_str("; HttpOnly");
        }
        if cookie.get("secure").and_then(Value::as_bool) == Some(true) {
            value.push_str("; Secure");
        }
    }
    Ok(values)
}

fn name_value(pair: &Value) -> Result<(&str, &str), String> {
    let name = match pair.get("name") {
        Some(Value::String(name)) => name.as_str(),
        Some(other) => return Err(format!("a name must be a string, got {}", type_name(other))),
        None => return Err("an element has no `name`".to_string()),
    };
    let value = match pair.get("value") {
        Some(Value::String(value)) => value.as_str(),
        None | Some(Value::Null) => "",
        Some(other) => {
            return Err(format!(
                "the value of `{}` must be a string, got {}",
                shorten(name),
                type_name(other)
            ))
        }
    };
    Ok((name, value))
}

fn object_at<'v>(parent: &'v Value, key: &str) -> Result<Option<&'v Value>, String> {
    match parent.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value @ Value::Object(_)) => Ok(Some(value)),
        Some(other) => Err(format!(
            "`{key}` must be an object, got {}",
            type_name(other)
        )),
    }
}

fn required_text<'v>(parent: &'v Value, path: &[&str]) -> Result<&'v str, String> {
    let mut current = parent;
    for key in path {
        current = current
            .get(key)
            .ok_or_else(|| format!("missing `{}`", path.join(".")))?;
    }
    current.as_str().ok_or_else(|| {
        format!(
            "`{}` must be a string, got {}",
            path.join("."),
            type_name(current)
        )
    })
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sessionscope_model::format_rfc3339;

    fn exchanges(records: &[Record]) -> Vec<&Exchange> {
        records
            .iter()
            .filter_map(|record| match record {
                Record::Exchange(exchange) => Some(exchange),
                Record::Rejected(_) => None,
            })
            .collect()
    }

    const SAMPLE: &str = r#"{"log":{"version":"1.2","creator":{"name":"test","version":"1"},"entries":[
      {"startedDateTime":"2026-11-22T11:00:00.250+01:00","time":41.5,
       "request":{"method":"POST","url":"https://api.example/v1/login","httpVersion":"http/2.0",
         "headers":[{"name":":authority","value":"api.example"},{"name":":method","value":"POST"},{"name":"content-type","value":"application/x-www-form-urlencoded"}],
         "cookies":[{"name":"sid","value":"s1"},{"name":"theme","value":"dark"}],
         "postData":{"mimeType":"application/x-www-form-urlencoded","params":[{"name":"user","value":"ann"},{"name":"pass","value":"a b&c"}]}},
       "response":{"status":200,"headers":[{"name":"Content-Type","value":"application/octet-stream"}],
         "cookies":[{"name":"sid","value":"s2","path":"/","httpOnly":true}],
         "content":{"size":3,"text":"AAEC","encoding":"base64"},"bodySize":3}},
      {"startedDateTime":"2026-11-22T10:00:01Z","time":4.1,"request":{"method":"GET","url":"https://www.example/","headers":[]},
       "response":{"status":0,"headers":[],"content":{"size":0},"bodySize":-1}},
      {"startedDateTime":"2026-11-22T10:00:02Z","request":{"method":"POST","url":"https://api.example/raw","headers":[{"name":"Cookie","value":"a=1"}],"cookies":[{"name":"a","value":"1"}],"postData":{"text":"{\"x\":1}"}},
       "response":{"status":201,"headers":[],"content":{"text":"created"},"bodySize":-1}}
    ]}}"#;

    #[test]
    fn entries_map_onto_exchanges() {
        let records = parse_har(SAMPLE.as_bytes()).unwrap();
        let exchanges = exchanges(&records);
        assert_eq!(exchanges.len(), 3);

        let login = exchanges[0];
        assert_eq!(format_rfc3339(login.ts), "2026-11-22T10:00:00.250Z");
        assert_eq!(login.client_ip, None);
        assert_eq!(
            (login.request.method.as_str(), login.request.url.as_str()),
            ("POST", "https://api.example/v1/login")
        );
        assert_eq!(login.request.host.as_deref(), Some("api.example"));
        assert_eq!(login.request.headers.get(":method"), None);
        assert_eq!(
            login.request.headers.get("cookie"),
            Some("sid=s1; theme=dark")
        );
        assert_eq!(
            login.request.body.as_deref(),
            Some(b"user=ann&pass=a+b%26c".as_slice())
        );
        let response = login.response.as_ref().unwrap();
        assert_eq!(response.status, 200);
        assert_eq!(response.body.as_deref(), Some([0u8, 1, 2].as_slice()));
        assert_eq!(response.size, Some(3));
        assert_eq!(response.duration_ms, Some(41.5));
        assert_eq!(
            response.headers.get("set-cookie"),
            Some("sid=s2; Path=/; HttpOnly")
        );

        let aborted = exchanges[1];
        assert_eq!(aborted.response, None);

        let raw = exchanges[2];
        assert_eq!(raw.request.headers.get_all("cookie").count(), 1);
        assert_eq!(raw.request.body.as_deref(), Some(br#"{"x":1}"#.as_slice()));
        let response = raw.response.as_ref().unwrap();
        assert_eq!((response.size, response.duration_ms), (None, None));
        assert_eq!(response.body.as_deref(), Some(b"created".as_slice()));
    }

    #[test]
    fn ids_are_stable_and_identical_entries_are_counted() {
        let entry = r#"{"startedDateTime":"2026-11-22T10:00:00Z","request":{"method":"GET","url":"https://a.example/"}}"#;
        let document = format!(r#"{{"log":{{"entries":[{entry},{entry}]}}}}"#);
        let reformatted = format!("{{\n  \"log\": {{ \"entries\": [ {entry} ] }}\n}}");
        let ids = |text: &str| -> Vec<String> {
            exchanges(&parse_har(text.as_bytes()).unwrap())
                .iter()
                .map(|exchange| exchange.id.clone())
                .collect()
        };
        let first = ids(&document);
        assert_eq!(first.len(), 2);
        assert_eq!(first[1], format!("{}-2", first[0]));
        assert_eq!(ids(&document), first);
        assert_eq!(
            ids(&reformatted)[0],
            first[0],
            "whitespace does not change the id"
        );
    }

    #[test]
    fn bad_entries_are_rejected_by_index_and_the_rest_still_parse() {
        let document = r#"{"log":{"entries":[
          {"startedDateTime":"2026-11-22T10:00:00Z","request":{"method":"GET","url":"/ok"}},
          {"request":{"method":"GET","url":"/"}},
          {"startedDateTime":"2026-11-22T10:00:00Z","request":{"url":"/"}},
          {"startedDateTime":"2026-11-22T10:00:00Z","request":{"method":"GET"}},
          {"startedDateTime":"2026-11-22T10:00:00Z","request":{"method":"GET","url":"/"},"response":{"status":700}},
          {"startedDateTime":"2026-11-22T10:00:00Z","request":{"method":"GET","url":"/","headers":{"a":"b"}}},
          {"startedDateTime":"soon","request":{"method":"GET","url":"/"}},
          "entry",
          {"startedDateTime":"2026-11-22T10:00:00Z","request":{"method":"GET","url":"/ok2"}}
        ]}}"#;
        let records = parse_har(document.as_bytes()).unwrap();
        let expected = [
            (2, "missing `startedDateTime`"),
            (3, "missing `method`"),
            (4, "missing `url`"),
            (5, "`response.status` must be 100–599"),
            (6, "`request.headers` must be an array"),
            (7, "`startedDateTime` must be ISO 8601"),
            (8, "must be an object, got string"),
        ];
        let rejections: Vec<&Rejection> = records
            .iter()
            .filter_map(|record| match record {
                Record::Rejected(rejection) => Some(rejection),
                Record::Exchange(_) => None,
            })
            .collect();
        assert_eq!(rejections.len(), expected.len());
        for (rejection, (index, reason)) in rejections.iter().zip(expected) {
            assert_eq!(rejection.line, index);
            assert!(
                rejection
                    .reason
                    .starts_with(&format!("HAR entry {index}: ")),
                "{}",
                rejection.reason
            );
            assert!(
                rejection.reason.contains(reason),
                "{} / {reason}",
                rejection.reason
            );
        }
        assert_eq!(exchanges(&records).len(), 2);
    }

    #[test]
    fn a_huge_bad_field_is_quoted_short_in_its_rejection() {
        let long = "9".repeat(5_000);
        let document = format!(
            r#"{{"log":{{"entries":[{{"startedDateTime":"{long}","request":{{"method":"GET","url":"/"}}}},{{"startedDateTime":"2026-11-22T10:00:00Z","request":{{"method":"GET","url":"/","headers":[{{"name":"{long}","value":1}}]}}}}]}}}}"#
        );
        let records = parse_har(document.as_bytes()).unwrap();
        assert_eq!(records.len(), 2);
        for record in records {
            let Record::Rejected(rejection) = record else {
                panic!("accepted a bad entry");
            };
            assert!(
                rejection.reason.len() < 200,
                "a reason of {} bytes",
                rejection.reason.len()
            );
        }
    }

    #[test]
    fn a_document_that_is_one_huge_string_is_refused_in_a_short_message() {
        let document = format!("\"{}\"", "R".repeat(5_000));
        let reason = parse_har(document.as_bytes()).unwrap_err();
        assert!(reason.len() < 250, "a reason of {} bytes", reason.len());
        assert!(reason.contains("line 1 column"), "{reason}");
    }

    #[test]
    fn documents_that_are_not_har_are_errors() {
        assert!(parse_har(b"{\"log\":{\"entries\":[")
            .unwrap_err()
            .contains("EOF"));
        assert!(parse_har(b"{\"log\":{}}")
            .unwrap_err()
            .contains("no `log.entries`"));
        assert!(parse_har(b"[1]").is_err());
        assert!(parse_har(b"{\"log\":{\"entries\":[]}} trailing").is_err());
    }
}
