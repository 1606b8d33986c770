//! Recognising a format from the first bytes of a file (after gzip and BOM removal).
//!
//! The first line decides when it can: a Zeek header, a JSON object whose keys say what it is, or an
//! access log line. A first line that opens a JSON object without closing it in the bytes at hand
//! (a HAR document, an NDJSON record longer than the prefix, a broken record) is told by the keys
//! of that object as far as the bytes go: `log` is HAR, `request` holding an object is exchange
//! NDJSON. Only a short first line with no telling keys (a lone `{`) lets the next lines decide,
//! and a first line cut off by the end of the prefix is never guessed to be HAR: detection must not
//! turn a line format, read in bounded memory, into a document read whole.

use crate::combined::parse_access_line;
use crate::json::{FlatObject, Loose};
use crate::nginx::NGINX_KEYS;
use crate::Format;

/// How many non-empty lines detection looks at before giving up.
const LINES_CONSULTED: usize = 50;

/// The format of an input from its first bytes, or None when nothing in them is recognisable.
/// Pass as much of the file's start as is at hand (a few kilobytes is plenty for line formats); a
/// last line cut off by the end of `first_bytes` is ignored unless it is the only one.
pub fn detect_format(first_bytes: &[u8]) -> Option<Format> {
    let bytes = first_bytes
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(first_bytes);
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.split('\n').collect();
    let last_index = lines.len().saturating_sub(1);

    let mut seen_nonempty_line = false;
    let mut opens_unfinished_object = false;
    let mut consulted = 0;
    let mut line_start = 0;
    for (index, raw_line) in lines.iter().enumerate() {
        let offset = line_start;
        line_start += raw_line.len() + 1;
        let line = raw_line.trim();
        if line.is_empty() {
            continue;
        }
        consulted += 1;
        if consulted > LINES_CONSULTED {
            break;
        }
        let is_first = !seen_nonempty_line;
        seen_nonempty_line = true;
        let may_be_cut_off = index == last_index && !is_first;

        if is_first && (line.starts_with("#separator") || line.starts_with("#fields")) {
            return Some(Format::Zeek);
        }
        if line.starts_with('{') {
            match serde_json::from_str::<FlatObject>(line) {
                Ok(object) => {
                    if let Some(format) = classify_object(&object) {
                        if opens_unfinished_object && format == Format::Har {
                            continue;
                        }
                        return Some(format);
                    }
                }
                Err(_) if is_first => {
                    if let Some(format) = classify_keys(&leading_keys(&text[offset..])) {
                        return Some(format);
                    }
                    if index == last_index {
                        // Cut off by the end of the prefix: a long record of unknown kind.
                        return None;
                    }
                    opens_unfinished_object = true;
                }
                Err(_) => {}
            }
            continue;
        }
        if opens_unfinished_object || may_be_cut_off {
            continue;
        }
        if parse_access_line(line).is_ok() {
            return Some(Format::Combined);
        }
    }
    if opens_unfinished_object {
        return Some(Format::Har);
    }
    None
}

/// Keys scanned, at most, by `leading_keys`.
const MAX_LEADING_KEYS: usize = 64;

/// A key of an object and the first byte of its value (`{`, `"`, a digit, ...), if the text
/// reaches it.
type LeadingKey = (String, Option<u8>);

/// The keys of the JSON object that `text` starts with, as far as `text` goes (it may end in the
/// middle of the object, or of a value). Values are stepped over, not parsed; keys are not
/// unescaped. Empty when `text` does not start with `{`.
fn leading_keys(text: &str) -> Vec<LeadingKey> {
    let bytes = text.trim_start().as_bytes();
    let mut keys = Vec::new();
    if bytes.first() != Some(&b'{') {
        return keys;
    }
    let mut depth = 0usize;
    let mut expecting_key = false;
    let mut index = 0;
    while index < bytes.len() && keys.len() < MAX_LEADING_KEYS {
        match bytes[index] {
            b'{' => {
                depth += 1;
                expecting_key = depth == 1;
                index += 1;
            }
            b'[' => {
                depth += 1;
                index += 1;
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    break;
                }
                index += 1;
            }
            b',' => {
                expecting_key = depth == 1;
                index += 1;
            }
            b'"' => {
                let Some(end) = string_end(bytes, index + 1) else {
                    break;
                };
                if depth != 1 || !expecting_key {
                    index = end + 1;
                    continue;
                }
                expecting_key = false;
                let key = String::from_utf8_lossy(&bytes[index + 1..end]).into_owned();
                let mut next = skip_whitespace(bytes, end + 1);
                if bytes.get(next) != Some(&b':') {
                    index = next;
                    continue;
                }
                next = skip_whitespace(bytes, next + 1);
                keys.push((key, bytes.get(next).copied()));
                index = next;
            }
            _ => index += 1,
        }
    }
    keys
}

/// The index of the quote that ends a JSON string whose text starts at `start`.
fn string_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut index = start;
    while index < bytes.len() {
        match bytes[index] {
            b'\\' => index += 2,
            b'"' => return Some(index),
            _ => index += 1,
        }
    }
    None
}

fn skip_whitespace(bytes: &[u8], mut index: usize) -> usize {
    while bytes.get(index).is_some_and(u8::is_ascii_whitespace) {
        index += 1;
    }
    index
}

/// The format told by the leading keys of an object that is not complete in the prefix.
fn classify_keys(keys: &[LeadingKey]) -> Option<Format> {
    let has = |name: &str| keys.iter().any(|(key, _)| key == name);
    if has("log") {
        return Some(Format::Har);
    }
    for (key, value_start) in keys {
        match (key.as_str(), value_start) {
            ("request", Some(b'{')) => return Some(Format::Ndjson),
            ("request", Some(b'"')) => return Some(Format::NginxJson),
            _ => {}
        }
    }
    if has("uid") && has("id.orig_h") {
        return Some(Format::Zeek);
    }
    if NGINX_KEYS.iter().any(|key| has(key)) {
        return Some(Format::NginxJson);
    }
    None
}

fn classify_object(object: &FlatObject) -> Option<Format> {
    if object.contains_key("log") {
        return Some(Format::Har);
    }
    match object.get("request") {
        Some(Loose::Object) => return Some(Format::Ndjson),
        Some(Loose::Text(_)) if object.contains_key("status") => return Some(Format::NginxJson),
        _ => {}
    }
    if object.contains_key("uid") && object.contains_key("id.orig_h") {
        return Some(Format::Zeek);
    }
    if NGINX_KEYS.iter().any(|key| object.contains_key(key)) {
        return Some(Format::NginxJson);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_format_is_recognised_from_its_first_lines() {
        let cases: [(&str, Option<Format>); 14] = [
            (r#"{"ts":1,"request":{"method":"GET","url":"/"}}"#, Some(Format::Ndjson)),
            ("\u{feff}{\"ts\":1,\"request\":{\"method\":\"GET\",\"url\":\"/\"}}\n", Some(Format::Ndjson)),
            ("{\"ts\":1,\"request\":{\"meth\n{\"ts\":2,\"request\":{\"method\":\"GET\",\"url\":\"/\"}}\n", Some(Format::Ndjson)),
            ("{\n  \"log\": {\n    \"version\": \"1.2\",\n", Some(Format::Har)),
            (r#"{"log":{"entries":[]}}"#, Some(Format::Har)),
            ("{\"log\":{\"entries\":[{\"startedDateTime\":\"2026", Some(Format::Har)),
            (r#"{"time_iso8601":"2026-11-22T10:00:00+00:00","remote_addr":"1.2.3.4","request":"GET / HTTP/1.1","status":"200"}"#, Some(Format::NginxJson)),
            (r#"{"msec":"1.5","request_uri":"/"}"#, Some(Format::NginxJson)),
            (r#"{"ts":1.5,"uid":"C1","id.orig_h":"1.2.3.4","method":"GET"}"#, Some(Format::Zeek)),
            ("#separator \\x09\n#set_separator\t,\n", Some(Format::Zeek)),
            ("#fields\tts\tuid\n", Some(Format::Zeek)),
            (r#"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 2326 "-" "curl""#, Some(Format::Combined)),
            ("\n\n1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.0\" 200 -\n", Some(Format::Combined)),
            ("\u{7f}ELF binary junk\0\0", None),
        ];
        for (input, expected) in cases {
            assert_eq!(detect_format(input.as_bytes()), expected, "{input:?}");
        }
    }

    #[test]
    fn a_first_line_longer_than_the_prefix_is_told_by_its_keys_never_taken_for_har() {
        let long = "x".repeat(2 << 20);
        let cut = |text: String| text[..1 << 20].to_string();
        let ndjson = format!(r#"{{"id":"a","ts":1,"request":{{"method":"GET","url":"/{long}"}}}}"#);
        assert_eq!(detect_format(cut(ndjson).as_bytes()), Some(Format::Ndjson));
        let body_first =
            format!(r#"{{"request" : {{"body":"{long}","method":"GET","url":"/"}},"ts":1}}"#);
        assert_eq!(
            detect_format(cut(body_first).as_bytes()),
            Some(Format::Ndjson)
        );
        let nginx = format!(r#"{{"remote_addr":"1.2.3.4","request":"GET /{long} HTTP/1.1"}}"#);
        assert_eq!(
            detect_format(cut(nginx).as_bytes()),
            Some(Format::NginxJson)
        );
        let har = format!(
            r#"{{"log":{{"version":"1.2","entries":[{{"request":{{"url":"/{long}"}}}}]}}}}"#
        );
        assert_eq!(detect_format(cut(har).as_bytes()), Some(Format::Har));
        // Keys inside strings and nested objects do not count.
        let unknown = format!(r#"{{"a":""log": {long}","b":{{"log":1}}}}"#);
        assert_eq!(detect_format(cut(unknown).as_bytes()), None);
    }

    #[test]
    fn unknown_json_and_plain_text_are_not_guessed() {
        assert_eq!(detect_format(br#"{"a":1}"#), None);
        assert_eq!(detect_format(b"hello world\nsecond line\n"), None);
        assert_eq!(detect_format(b""), None);
        assert_eq!(detect_format(b"id,ts,method\n1,2,GET\n"), None);
    }
}
