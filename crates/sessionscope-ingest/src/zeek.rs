//! Zeek `http.log`: TSV whose columns are named by a `#fields` header, with `#separator`,
//! `#unset_field` and `#empty_field` honoured (several logs concatenated, each with its own header,
//! work too); or Zeek's JSON log variant, one object per line with the same field names.
//!
//! Rows whose method or URI is unset are real transactions (a client that sent garbage and got a
//! 400), so they are kept: an unset or empty method becomes `UNKNOWN`, an unset or empty URI `/`. A
//! row without a status code had no response. Values are decoded from Zeek's `\xHH` escapes and read
//! as UTF-8 lossily.
//!
//! Ids: `z` + `uid` + `-` + `trans_depth` + `-` + the time in epoch microseconds. The uid alone
//! names a connection uniquely only within one Zeek run: runs with a fixed seed (test baselines,
//! replays of captures) reuse uids, and the three public sample logs share nine of them. The time
//! keeps those apart and is as stable as the uid. Rows without a uid get the line's hash.

use std::borrow::Cow;

use sessionscope_model::{Exchange, Headers, Micros, Request, Response};

use crate::ids::OccurrenceCounter;
use crate::json::{describe_json_error, FlatObject, Loose};
use crate::ndjson::shorten;
use crate::text::{
    epoch_seconds_to_micros, parse_client_ip, parse_epoch_text, parse_iso8601_lenient,
    unescape_log_text, UNKNOWN_METHOD,
};

pub(crate) struct ZeekParser {
    separator: String,
    unset_field: String,
    empty_field: String,
    fields: Vec<String>,
    occurrences: OccurrenceCounter,
}

impl ZeekParser {
    pub(crate) fn new() -> ZeekParser {
        ZeekParser {
            separator: "\t".to_string(),
            unset_field: "-".to_string(),
            empty_field: "(empty)".to_string(),
            fields: Vec::new(),
            occurrences: OccurrenceCounter::new(),
        }
    }

    /// One line of the log: None for header and comment lines, else the row as an exchange or
    /// the reason it is not one.
    pub(crate) fn parse_line(&mut self, line: &str) -> Option<Result<Exchange, String>> {
        let line = line.trim_end_matches(['\r', '\n']);
        if let Some(directive) = line.strip_prefix('#') {
            self.apply_directive(directive);
            return None;
        }
        if line.trim_start().starts_with('{') {
            return Some(self.parse_json_row(line));
        }
        Some(self.parse_tsv_row(line))
    }

    fn apply_directive(&mut self, directive: &str) {
        // `#separator` is written with a space because the separator is not known yet.
        if let Some(value) = directive.strip_prefix("separator ") {
            let separator = unescape_log_text(value.trim_end()).into_owned();
            if !separator.is_empty() {
                self.separator = separator;
            }
            return;
        }
        let (name, value) = match directive.split_once(self.separator.as_str()) {
            Some((name, value)) => (name, value),
            None => (directive, ""),
        };
        match name {
            "fields" => {
                self.fields = value
                    .split(self.separator.as_str())
                    .map(str::to_string)
                    .collect()
            }
            "unset_field" => self.unset_field = value.to_string(),
            "empty_field" => self.empty_field = value.to_string(),
            _ => {}
        }
    }

    fn parse_tsv_row(&mut self, line: &str) -> Result<Exchange, String> {
        if self.fields.is_empty() {
            return Err("data row before the `#fields` header".to_string());
        }
        let columns: Vec<&str> = line.split(self.separator.as_str()).collect();
        let value = |name: &str| -> Option<Cow<str>> {
            let index = self.fields.iter().position(|field| field == name)?;
            let raw = *columns.get(index)?;
            if raw == self.unset_field {
                return None;
            }
            if raw == self.empty_field {
                return Some(Cow::Borrowed(""));
            }
            Some(unescape_log_text(raw))
        };
        let ts_text = value("ts").ok_or_else(|| "missing `ts`".to_string())?;
        let ts = parse_epoch_text(&ts_text).ok_or_else(|| {
            format!(
                "invalid `ts` `{}`: expected epoch seconds",
                shorten(&ts_text)
            )
        })?;
        let row = Row {
            ts,
            uid: value("uid"),
            trans_depth: value("trans_depth"),
            client: value("id.orig_h"),
            method: value("method"),
            host: value("host"),
            uri: value("uri"),
            referrer: value("referrer"),
            user_agent: value("user_agent"),
            origin: value("origin"),
            status_code: value("status_code"),
            response_body_len: value("response_body_len"),
        };
        build_exchange(row, line, &mut self.occurrences)
    }

    fn parse_json_row(&mut self, line: &str) -> Result<Exchange, String> {
        let record: FlatObject = serde_json::from_str(line)
            .map_err(|error| format!("invalid JSON: {}", describe_json_error(&error)))?;
        let value = |name: &str| -> Option<Cow<str>> { record.get(name).and_then(Loose::to_text) };
        let ts = match record.get("ts") {
            None => return Err("missing `ts`".to_string()),
            Some(Loose::Text(text)) => {
                parse_iso8601_lenient(text).or_else(|| parse_epoch_text(text))
            }
            Some(other) => other.as_number().and_then(epoch_seconds_to_micros),
        }
        .ok_or_else(|| "invalid `ts`: expected epoch seconds or ISO 8601".to_string())?;
        let row = Row {
            ts,
            uid: value("uid"),
            trans_depth: value("trans_depth"),
            client: value("id.orig_h"),
            method: value("method"),
            host: value("host"),
            uri: value("uri"),
            referrer: value("referrer"),
            user_agent: value("user_agent"),
            origin: value("origin"),
            status_code: value("status_code"),
            response_body_len: value("response_body_len"),
        };
        build_exchange(row, line, &mut self.occurrences)
    }
}

/// The columns sessionscope uses, None when unset.
struct Row<'a> {
    ts: Micros,
    uid: Option<Cow<'a, str>>,
    trans_depth: Option<Cow<'a, str>>,
    client: Option<Cow<'a, str>>,
    method: Option<Cow<'a, str>>,
    host: Option<Cow<'a, str>>,
    uri: Option<Cow<'a, str>>,
    referrer: Option<Cow<'a, str>>,
    user_agent: Option<Cow<'a, str>>,
    origin: Option<Cow<'a, str>>,
    status_code: Option<Cow<'a, str>>,
    response_body_len: Option<Cow<'a, str>>,
}

fn build_exchange(
    row: Row,
    line: &str,
    occurrences: &mut OccurrenceCounter,
) -> Result<Exchange, String> {
    let nonempty =
        |value: Option<Cow<str>>| value.filter(|text| !text.is_empty()).map(Cow::into_owned);

    let status = match row.status_code.as_deref() {
        None | Some("") => 0,
        Some(text) => match text.parse::<u16>() {
            Ok(0) => 0,
            Ok(status) if (100..=599).contains(&status) => status,
            _ => {
                return Err(format!(
                    "invalid `status_code` `{}`: expected 100–599",
                    shorten(text)
                ))
            }
        },
    };
    let size = match row.response_body_len.as_deref() {
        None | Some("") => None,
        Some(text) => Some(
            text.parse::<u64>()
                .map_err(|_| format!("invalid `response_body_len` `{}`", shorten(text)))?,
        ),
    };

    let id = match (&row.uid, &row.trans_depth) {
        (Some(uid), Some(depth)) if !uid.is_empty() && uid.len() <= 64 && depth.len() <= 20 => {
            format!("z{uid}-{depth}-{}", row.ts)
        }
        _ => occurrences.id_for(line.as_bytes()),
    };

    let mut headers = Headers::default();
    if let Some(referrer) = nonempty(row.referrer) {
        headers.push("Referer", referrer);
    }
    if let Some(user_agent) = nonempty(row.user_agent) {
        headers.push("User-Agent", user_agent);
    }
    if let Some(origin) = nonempty(row.origin) {
        headers.push("Origin", origin);
    }

    Ok(Exchange {
        id,
        ts: row.ts,
        client_ip: row.client.as_deref().and_then(parse_client_ip),
        app: None,
        node: None,
        request: Request {
            method: nonempty(row.method).unwrap_or_else(|| UNKNOWN_METHOD.to_string()),
            url: nonempty(row.uri).unwrap_or_else(|| "/".to_string()),
            host: nonempty(row.host),
            headers,
            body: None,
            body_truncated: false,
        },
        response: (status != 0).then(|| Response {
            status,
            size,
            ..Response::default()
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sessionscope_model::format_rfc3339;

    const HEADER: &str = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\thttp\n#fields\tts\tuid\tid.orig_h\tid.orig_p\ttrans_depth\tmethod\thost\turi\treferrer\tuser_agent\tstatus_code\tresponse_body_len\n#types\ttime\tstring\taddr\tport\tcount\tstring\tstring\tstring\tstring\tstring\tcount\tcount";

    fn parse_all(text: &str) -> Vec<Result<Exchange, String>> {
        let mut parser = ZeekParser::new();
        text.lines()
            .filter_map(|line| parser.parse_line(line))
            .collect()
    }

    #[test]
    fn a_huge_bad_field_is_quoted_short_in_its_rejection() {
        let long = "9".repeat(5_000);
        let rows = parse_all(&format!(
            "#fields\tts\tuid\tstatus_code\tresponse_body_len\n{long}x\tC1\t200\t0\n1.5\tC2\t{long}\t0\n1.5\tC3\t200\t{long}x\n"
        ));
        assert_eq!(rows.len(), 3);
        for row in rows {
            let reason = row.unwrap_err();
            assert!(reason.len() < 200, "a reason of {} bytes", reason.len());
            assert!(reason.contains("..."), "{reason}");
        }
    }

    #[test]
    fn tsv_rows_become_exchanges() {
        let log = format!(
            "{HEADER}\n1300475168.784020\tCUM0K\t141.142.220.118\t48649\t1\tGET\tbits.example\t/main.css\thttp://www.example.org/\tMozilla/5.0\t304\t0\n\
             1300475169.000001\tCUM0K\t141.142.220.118\t48649\t2\t-\t-\t-\t-\t-\t400\t925\n\
             1300475170\tCx\t10.0.0.1\t1\t1\tOPTIONS\t(empty)\t(empty)\t-\tcurl\\x20x\t-\t-\n#close\t2019-03-13-19-36-39"
        );
        let rows = parse_all(&log);
        assert_eq!(rows.len(), 3);
        let first = rows[0].as_ref().unwrap();
        assert_eq!(first.id, "zCUM0K-1-1300475168784020");
        assert_eq!(format_rfc3339(first.ts), "2011-03-18T19:06:08.784Z");
        assert_eq!(first.client_ip.unwrap().to_string(), "141.142.220.118");
        assert_eq!(
            (first.request.method.as_str(), first.request.url.as_str()),
            ("GET", "/main.css")
        );
        assert_eq!(first.request.host.as_deref(), Some("bits.example"));
        assert_eq!(
            first.request.headers.get("referer"),
            Some("http://www.example.org/")
        );
        assert_eq!(first.request.headers.get("user-agent"), Some("Mozilla/5.0"));
        let response = first.response.as_ref().unwrap();
        assert_eq!((response.status, response.size), (304, Some(0)));

        let unset = rows[1].as_ref().unwrap();
        assert_eq!(
            (unset.request.method.as_str(), unset.request.url.as_str()),
            ("UNKNOWN", "/")
        );
        assert_eq!(unset.request.host, None);
        assert_eq!(unset.response.as_ref().unwrap().size, Some(925));

        let empty = rows[2].as_ref().unwrap();
        assert_eq!(empty.request.url, "/");
        assert_eq!(empty.request.headers.get("user-agent"), Some("curl x"));
        assert_eq!(empty.response, None);
    }

    #[test]
    fn a_custom_separator_and_unset_marker_are_honoured() {
        let log =
            "#separator |\n#unset_field|NONE\n#fields|ts|method|uri|status_code\n1.5|GET|NONE|200";
        let rows = parse_all(log);
        let exchange = rows[0].as_ref().unwrap();
        assert_eq!(exchange.request.url, "/");
        assert_eq!(exchange.ts, 1_500_000);
        assert!(
            exchange.id.starts_with('h'),
            "no uid: hashed id, got {}",
            exchange.id
        );
    }

    #[test]
    fn json_rows_use_the_same_field_names() {
        let rows = parse_all(
            r#"{"ts":1300475168.78402,"uid":"CUM0K","id.orig_h":"141.142.220.118","trans_depth":1,"method":"GET","host":"a.example","uri":"/x","status_code":200,"response_body_len":12}"#,
        );
        let exchange = rows[0].as_ref().unwrap();
        assert_eq!(exchange.ts, 1_300_475_168_784_020);
        assert_eq!(exchange.id, "zCUM0K-1-1300475168784020");
        assert_eq!(exchange.response.as_ref().unwrap().size, Some(12));
    }

    #[test]
    fn bad_rows_are_rejected() {
        let no_header = parse_all("1.0\tGET");
        assert!(no_header[0]
            .as_ref()
            .unwrap_err()
            .contains("before the `#fields` header"));
        let rows = parse_all(&format!(
            "{HEADER}\nlater\tC\t1.2.3.4\t1\t1\tGET\th\t/\t-\t-\t200\t0"
        ));
        assert!(rows[0]
            .as_ref()
            .unwrap_err()
            .contains("invalid `ts` `later`"));
        let rows = parse_all(&format!(
            "{HEADER}\n1.0\tC\t1.2.3.4\t1\t1\tGET\th\t/\t-\t-\t999\t0"
        ));
        assert!(rows[0]
            .as_ref()
            .unwrap_err()
            .contains("invalid `status_code` `999`"));
    }
}
