//! Recognising a format from the first bytes of a file (after gzip and BOM removal).
//!
//! The first line decides when it can: a Zeek header, a JSON object whose keys say what it is, or an
//! access log line. When it cannot (an NDJSON file whose first record is broken, a HAR file whose
//! first line is a lone `{`), the next lines are consulted. A first line that opens a JSON object
//! without closing it is HAR unless a later line is a complete NDJSON or nginx record.

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
    for (index, raw_line) in lines.iter().enumerate() {
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
                Err(_) if is_first => opens_unfinished_object = true,
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
    fn unknown_json_and_plain_text_are_not_guessed() {
        assert_eq!(detect_format(br#"{"a":1}"#), None);
        assert_eq!(detect_format(b"hello world\nsecond line\n"), None);
        assert_eq!(detect_format(b""), None);
        assert_eq!(detect_format(b"id,ts,method\n1,2,GET\n"), None);
    }
}
