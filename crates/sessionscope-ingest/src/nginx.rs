//! nginx access logs written with a JSON `log_format ... escape=json` (NGINX.md documents the
//! recommended one). Keys are read generically so any `log_format` that uses nginx's variable names
//! works: `http_<name>` becomes request header `<name>` (`_` → `-`), `sent_http_<name>` a response
//! header, `cookie_<name>` a request cookie. Empty strings and `-` mean absent, as nginx writes them
//! for unset variables.
//!
//! nginx's JSON escaping passes bytes above 0x7F through unchanged, so a line may hold invalid
//! UTF-8 (a raw byte in a URL); lines are decoded lossily before parsing rather than rejected.

use std::borrow::Cow;

use sessionscope_model::{Exchange, Headers, Micros, Request, Response};

use crate::ids::OccurrenceCounter;
use crate::json::{describe_json_error, FlatObject, Loose};
use crate::ndjson::shorten;
use crate::text::{
    epoch_seconds_to_micros, parse_client_ip, parse_common_log_time, parse_epoch_text,
    parse_iso8601_lenient, split_request_line, UNKNOWN_METHOD,
};

/// Keys that mark a JSON object as an nginx access log record, for format detection.
pub(crate) const NGINX_KEYS: [&str; 9] = [
    "remote_addr",
    "request_uri",
    "time_iso8601",
    "msec",
    "time_local",
    "request_method",
    "body_bytes_sent",
    "request_time",
    "http_user_agent",
];

pub(crate) fn convert_nginx_line(
    line: &str,
    occurrences: &mut OccurrenceCounter,
) -> Result<Exchange, String> {
    let record: FlatObject = serde_json::from_str(line)
        .map_err(|error| format!("invalid JSON: {}", describe_json_error(&error)))?;
    let text = |key: &str| -> Option<Cow<str>> { record.get(key).and_then(present_text) };

    let ts = record_time(&record)?;

    let (mut method, mut url) = (
        text("request_method").map(Cow::into_owned),
        text("request_uri").map(Cow::into_owned),
    );
    if url.is_none() {
        // `$uri` is the normalized path without arguments; `$args` the query string.
        url = text("uri").map(|path| match text("args") {
            Some(arguments) => format!("{path}?{arguments}"),
            None => path.into_owned(),
        });
    }
    if method.is_none() || url.is_none() {
        if let Some(request_line) = text("request") {
            let (line_method, line_url) = split_request_line(&request_line);
            method = method.or(Some(line_method));
            url = url.or(Some(line_url));
        }
    }
    if method.is_none() && url.is_none() {
        return Err(
            "no request: expected `request_method` and `request_uri`, or `request`".to_string(),
        );
    }
    let method = method.unwrap_or_else(|| UNKNOWN_METHOD.to_string());
    let url = url.unwrap_or_else(|| "/".to_string());

    let mut request_headers = Headers::default();
    let mut response_headers = Headers::default();
    let mut cookies = Vec::new();
    for (key, value) in &record.0 {
        let Some(value) = present_text(value) else {
            continue;
        };
        if let Some(name) = key.strip_prefix("sent_http_") {
            response_headers.push(header_name(name), &value);
        } else if let Some(name) = key.strip_prefix("http_") {
            request_headers.push(header_name(name), &value);
        } else if let Some(name) = key.strip_prefix("cookie_") {
            cookies.push(format!("{name}={value}"));
        }
    }
    // `cookie_<name>` variables repeat what `http_cookie` holds; they only make a Cookie header
    // when the full header was not logged.
    if !cookies.is_empty() && request_headers.get("cookie").is_none() {
        request_headers.push("cookie", cookies.join("; "));
    }

    let status = match text("status") {
        None => 0,
        Some(status) => match status.trim().parse::<u16>() {
            Ok(0) => 0,
            Ok(status) if (100..=599).contains(&status) => status,
            _ => {
                return Err(format!(
                    "invalid `status` `{}`: expected 100–599",
                    shorten(&status)
                ))
            }
        },
    };
    let size = match text("body_bytes_sent").or_else(|| text("bytes_sent")) {
        None => None,
        Some(size) => Some(
            size.trim()
                .parse::<u64>()
                .map_err(|_| format!("invalid `body_bytes_sent` `{}`", shorten(&size)))?,
        ),
    };
    let duration_ms = match text("request_time") {
        None => None,
        Some(seconds) => match seconds.trim().parse::<f64>() {
            Ok(seconds) if seconds.is_finite() && seconds >= 0.0 => Some(seconds * 1000.0),
            _ => {
                return Err(format!(
                    "invalid `request_time` `{seconds}`: expected seconds"
                ))
            }
        },
    };
    let response = (status != 0).then(|| Response {
        status,
        headers: response_headers,
        size,
        duration_ms,
        ..Response::default()
    });

    let body = text("request_body").map(|body| body.into_owned().into_bytes());
    let id = match text("request_id") {
        Some(request_id) if request_id.chars().count() <= 128 => request_id.into_owned(),
        _ => occurrences.id_for(line.trim_end().as_bytes()),
    };

    Ok(Exchange {
        id,
        ts,
        client_ip: text("remote_addr").and_then(|address| parse_client_ip(&address)),
        app: text("app").map(Cow::into_owned),
        node: text("node").map(Cow::into_owned),
        request: Request {
            method,
            url,
            host: text("host").map(Cow::into_owned),
            headers: request_headers,
            body,
            body_truncated: false,
        },
        response,
    })
}

/// `$msec` first: it has milliseconds, `$time_iso8601` and `$time_local` only seconds.
fn record_time(record: &FlatObject) -> Result<Micros, String> {
    if let Some(value) = record
        .get("msec")
        .filter(|value| present_text(value).is_some())
    {
        let micros = match value {
            Loose::Text(text) => parse_epoch_text(text),
            other => other.as_number().and_then(epoch_seconds_to_micros),
        };
        return micros.ok_or_else(|| {
            "invalid `msec`: expected epoch seconds such as 1700000000.123".to_string()
        });
    }
    if let Some(value) = record.get("time_iso8601").and_then(present_text) {
        return parse_iso8601_lenient(&value)
            .ok_or_else(|| format!("invalid `time_iso8601` `{}`", shorten(&value)));
    }
    if let Some(value) = record.get("time_local").and_then(present_text) {
        return parse_common_log_time(&value)
            .ok_or_else(|| format!("invalid `time_local` `{}`", shorten(&value)));
    }
    Err("missing time: expected `msec`, `time_iso8601` or `time_local`".to_string())
}

/// A value as text, or None for what nginx writes for an unset variable (`""`, `-`) and for null.
fn present_text<'a>(value: &Loose<'a>) -> Option<Cow<'a, str>> {
    let text = value.to_text()?;
    if text.is_empty() || text == "-" {
        return None;
    }
    Some(text)
}

/// `x_api_key` → `x-api-key`, the way nginx derives variable names from header names.
fn header_name(variable_suffix: &str) -> String {
    variable_suffix.replace('_', "-")
}

#[cfg(test)]
mod tests {
    use super::*;
    use sessionscope_model::format_rfc3339;

    fn convert(line: &str) -> Result<Exchange, String> {
        convert_nginx_line(line, &mut OccurrenceCounter::new())
    }

    #[test]
    fn recommended_log_format_line_becomes_an_exchange() {
        let line = r#"{"time_iso8601":"2026-11-22T10:00:00+01:00","msec":"1795338000.250","remote_addr":"198.51.100.4","request_method":"POST","request_uri":"/v1/login?next=%2F","host":"api.example","status":"201","body_bytes_sent":"88","request_time":"0.042","http_user_agent":"curl/8.5","http_referer":"-","http_authorization":"Bearer abc","http_cookie":"","cookie_sid":"s1","http_x_api_key":"k-1","http_x_session_id":"","sent_http_set_cookie":"sid=s2; Path=/","request_id":"6f1c2a9e0b7d4c3f8a5e1d2c3b4a5968"}"#;
        let exchange = convert(line).unwrap();
        assert_eq!(exchange.id, "6f1c2a9e0b7d4c3f8a5e1d2c3b4a5968");
        assert_eq!(format_rfc3339(exchange.ts), "2026-11-22T09:00:00.250Z");
        assert_eq!(exchange.client_ip.unwrap().to_string(), "198.51.100.4");
        assert_eq!(exchange.request.method, "POST");
        assert_eq!(exchange.request.url, "/v1/login?next=%2F");
        assert_eq!(exchange.request.host.as_deref(), Some("api.example"));
        let headers = &exchange.request.headers;
        assert_eq!(headers.get("user-agent"), Some("curl/8.5"));
        assert_eq!(headers.get("authorization"), Some("Bearer abc"));
        assert_eq!(headers.get("x-api-key"), Some("k-1"));
        assert_eq!(headers.get("referer"), None);
        assert_eq!(headers.get("x-session-id"), None);
        assert_eq!(headers.get("cookie"), Some("sid=s1"));
        let response = exchange.response.unwrap();
        assert_eq!(response.status, 201);
        assert_eq!(response.size, Some(88));
        assert_eq!(response.duration_ms, Some(42.0));
        assert_eq!(response.headers.get("set-cookie"), Some("sid=s2; Path=/"));
    }

    #[test]
    fn alternatives_for_time_request_and_numbers() {
        let exchange = convert(
            r#"{"msec":1795338000.5,"remote_addr":"10.0.0.1","request":"GET /a?b=1 HTTP/1.1","status":404,"http_cookie":"a=1","cookie_a":"1"}"#,
        )
        .unwrap();
        assert_eq!(exchange.ts, 1_795_338_000_500_000);
        assert_eq!(
            (
                exchange.request.method.as_str(),
                exchange.request.url.as_str()
            ),
            ("GET", "/a?b=1")
        );
        assert_eq!(
            exchange
                .request
                .headers
                .get_all("cookie")
                .collect::<Vec<_>>(),
            ["a=1"]
        );
        assert_eq!(exchange.response.unwrap().status, 404);
        assert!(exchange.id.starts_with('h'));

        let local = convert(r#"{"time_local":"22/Nov/2026:10:00:00 +0000","uri":"/p","args":"q=1","request_method":"GET"}"#).unwrap();
        assert_eq!(format_rfc3339(local.ts), "2026-11-22T10:00:00.000Z");
        assert_eq!(local.request.url, "/p?q=1");
        assert_eq!(local.response, None);
    }

    #[test]
    fn a_huge_bad_field_is_quoted_short_in_its_rejection() {
        let long = "9".repeat(5_000);
        for line in [
            format!(r#"{{"time_iso8601":"{long}","request_uri":"/"}}"#),
            format!(r#"{{"time_local":"{long}","request_uri":"/"}}"#),
            format!(r#"{{"msec":"1.5","request_uri":"/","status":"{long}"}}"#),
            format!(r#"{{"msec":"1.5","request_uri":"/","body_bytes_sent":"{long}x"}}"#),
        ] {
            let reason = convert(&line).unwrap_err();
            assert!(reason.len() < 200, "a reason of {} bytes", reason.len());
        }
    }

    #[test]
    fn bad_records_are_rejected_with_the_field_named() {
        let cases = [
            (
                r#"{"remote_addr":"1.2.3.4","request":"GET / HTTP/1.1"}"#,
                "missing time",
            ),
            (
                r#"{"time_iso8601":"soon","request":"GET / HTTP/1.1"}"#,
                "invalid `time_iso8601`",
            ),
            (
                r#"{"msec":"x","request":"GET / HTTP/1.1"}"#,
                "invalid `msec`",
            ),
            (r#"{"msec":"1.5","status":"200"}"#, "no request"),
            (
                r#"{"msec":"1.5","request":"GET / HTTP/1.1","status":"abc"}"#,
                "invalid `status`",
            ),
            (
                r#"{"msec":"1.5","request":"GET / HTTP/1.1","request_time":"fast"}"#,
                "invalid `request_time`",
            ),
            (
                r#"{"msec":"1.5","request":"GET / HTTP/1.1""#,
                "invalid JSON",
            ),
        ];
        for (line, expected) in cases {
            let reason = convert(line).unwrap_err();
            assert!(reason.contains(expected), "{line}: {reason}");
        }
    }
}
