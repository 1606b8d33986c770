//! Apache / nginx access logs in the combined format
//! (`%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"`) and its common-log prefix (without
//! referer and user agent). A trailing decimal number, as nginx's `$request_time` writes it, becomes
//! the duration; other trailing fields are ignored. A size of `-` is 0 bytes (CLF's notation for an
//! empty body); a status of `-` or `000` means no response was sent.
//!
//! Logs are written by servers, not clients, and may contain bytes that are not UTF-8; lines are
//! decoded lossily (invalid sequences become U+FFFD) rather than rejected, because the rest of the
//! line is still a real request. The client host is an address or, with `HostnameLookups`, a name;
//! a name gives no `client_ip`. The server's host is not in these formats.

use std::borrow::Cow;

use sessionscope_model::{Exchange, Headers, Micros, Request, Response};

use crate::ids::OccurrenceCounter;
use crate::ndjson::shorten;
use crate::text::{parse_client_ip, parse_common_log_time, split_request_line, unescape_log_text};

/// The fields of one access log line, borrowed from it where possible.
#[derive(Debug, PartialEq)]
pub(crate) struct AccessLine<'a> {
    pub client: &'a str,
    pub time: Micros,
    pub request_line: Cow<'a, str>,
    /// 0 when the log says `-` or `000`: no response was sent.
    pub status: u16,
    pub size: Option<u64>,
    pub referer: Option<Cow<'a, str>>,
    pub user_agent: Option<Cow<'a, str>>,
    pub duration_ms: Option<f64>,
}

/// Parses one line; the error says which part did not fit the format.
pub(crate) fn parse_access_line(line: &str) -> Result<AccessLine<'_>, String> {
    let line = line.trim_end();
    let (client, rest) = line.split_once(' ').ok_or_else(|| {
        "not an access log line: expected `host ident user [time] \"request\" status bytes`"
            .to_string()
    })?;
    if client.is_empty() {
        return Err("not an access log line: the line starts with a space".to_string());
    }
    // Ident and user come before the bracketed time; the user name may itself contain spaces.
    let open = rest
        .find(" [")
        .map(|position| position + 1)
        .or_else(|| rest.starts_with('[').then_some(0));
    let Some(open) = open else {
        return Err("not an access log line: no `[time]` field".to_string());
    };
    let after_open = &rest[open + 1..];
    let close = after_open
        .find(']')
        .ok_or_else(|| "not an access log line: `[time]` is not closed".to_string())?;
    let time_text = &after_open[..close];
    let time = parse_common_log_time(time_text).ok_or_else(|| {
        format!(
            "invalid time `{}`: expected e.g. `10/Oct/2000:13:55:36 -0700`",
            shorten(time_text)
        )
    })?;

    let rest = after_open[close + 1..].trim_start();
    let (request_line, rest) = match take_quoted(rest) {
        Some((text, rest, true)) => (text, rest),
        _ => {
            return Err(
                "not an access log line: expected a quoted request line after the time".to_string(),
            )
        }
    };

    let rest = rest.trim_start();
    let (status_text, rest) = split_word(rest);
    let status = parse_status(status_text)?;
    let rest = rest.trim_start();
    let (size_text, rest) = split_word(rest);
    let size = match size_text {
        "-" => Some(0),
        _ => Some(size_text.parse::<u64>().map_err(|_| {
            format!(
                "invalid response size `{}`: expected a number or `-`",
                shorten(size_text)
            )
        })?),
    };

    let mut referer = None;
    let mut user_agent = None;
    let mut rest = rest.trim_start();
    if let Some((text, after, _closed)) = take_quoted(rest) {
        referer = present(text);
        rest = after.trim_start();
        // The user agent may be cut off without its closing quote (a truncated write); the
        // rest of the line is then the user agent.
        if let Some((text, after, _closed)) = take_quoted(rest) {
            user_agent = present(text);
            rest = after.trim_start();
        }
    }

    let mut duration_ms = None;
    while !rest.is_empty() {
        let word;
        if rest.starts_with('"') {
            match take_quoted(rest) {
                Some((_, after, _)) => rest = after.trim_start(),
                None => break,
            }
            continue;
        }
        (word, rest) = split_word(rest);
        rest = rest.trim_start();
        if duration_ms.is_none() && word.contains('.') {
            if let Ok(seconds) = word.parse::<f64>() {
                if seconds.is_finite() && seconds >= 0.0 {
                    duration_ms = Some(seconds * 1000.0);
                }
            }
        }
    }

    Ok(AccessLine {
        client,
        time,
        request_line,
        status,
        size,
        referer,
        user_agent,
        duration_ms,
    })
}

fn parse_status(text: &str) -> Result<u16, String> {
    if text == "-" {
        return Ok(0);
    }
    match text.parse::<u16>() {
        Ok(0) => Ok(0),
        Ok(status) if (100..=599).contains(&status) => Ok(status),
        _ => Err(format!(
            "invalid status `{}`: expected 100–599",
            shorten(text)
        )),
    }
}

fn present(text: Cow<'_, str>) -> Option<Cow<'_, str>> {
    if text.is_empty() || text == "-" {
        return None;
    }
    Some(text)
}

fn split_word(text: &str) -> (&str, &str) {
    match text.find(' ') {
        Some(position) => (&text[..position], &text[position + 1..]),
        None => (text, ""),
    }
}

/// A double-quoted field starting at `text`: its unescaped content, what follows the closing quote,
/// and whether the quote was closed. Backslash escapes (`\"`) do not end the field.
fn take_quoted(text: &str) -> Option<(Cow<'_, str>, &str, bool)> {
    let inner = text.strip_prefix('"')?;
    let bytes = inner.as_bytes();
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'\\' => index += 2,
            b'"' => {
                return Some((
                    unescape_log_text(&inner[..index]),
                    &inner[index + 1..],
                    true,
                ))
            }
            _ => index += 1,
        }
    }
    Some((unescape_log_text(inner), "", false))
}

/// Turns an access log line into an exchange; the id is the line's hash with an occurrence suffix.
pub(crate) fn convert_access_line(
    line: &str,
    occurrences: &mut OccurrenceCounter,
) -> Result<Exchange, String> {
    let parsed = parse_access_line(line)?;
    let (method, url) = split_request_line(&parsed.request_line);
    let mut headers = Headers::default();
    if let Some(referer) = parsed.referer {
        headers.push("Referer", &referer);
    }
    if let Some(user_agent) = parsed.user_agent {
        headers.push("User-Agent", &user_agent);
    }
    let response = (parsed.status != 0).then(|| Response {
        status: parsed.status,
        size: parsed.size,
        duration_ms: parsed.duration_ms,
        ..Response::default()
    });
    Ok(Exchange {
        id: occurrences.id_for(line.trim_end().as_bytes()),
        ts: parsed.time,
        client_ip: parse_client_ip(parsed.client),
        app: None,
        node: None,
        request: Request {
            method,
            url,
            host: None,
            headers,
            body: None,
            body_truncated: false,
        },
        response,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sessionscope_model::format_rfc3339;

    fn convert(line: &str) -> Result<Exchange, String> {
        convert_access_line(line, &mut OccurrenceCounter::new())
    }

    #[test]
    fn combined_line_becomes_an_exchange() {
        let exchange = convert(
            r#"203.0.113.9 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif?x=1 HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)""#,
        )
        .unwrap();
        assert_eq!(exchange.client_ip.unwrap().to_string(), "203.0.113.9");
        assert_eq!(format_rfc3339(exchange.ts), "2000-10-10T20:55:36.000Z");
        assert_eq!(exchange.request.method, "GET");
        assert_eq!(exchange.request.url, "/apache_pb.gif?x=1");
        assert_eq!(exchange.request.host, None);
        assert_eq!(
            exchange.request.headers.get("referer"),
            Some("http://www.example.com/start.html")
        );
        assert_eq!(
            exchange.request.headers.get("user-agent"),
            Some("Mozilla/4.08 [en] (Win98; I ;Nav)")
        );
        let response = exchange.response.unwrap();
        assert_eq!(
            (response.status, response.size, response.duration_ms),
            (200, Some(2326), None)
        );
        assert!(exchange.id.starts_with('h') && exchange.id.len() == 32);
    }

    #[test]
    fn a_huge_bad_field_is_quoted_short_in_its_rejection() {
        let long = "9".repeat(5_000);
        for line in [
            format!(r#"1.2.3.4 - - [{long}] "GET / HTTP/1.1" 200 5"#),
            format!(r#"1.2.3.4 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" {long} 5"#),
            format!(r#"1.2.3.4 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 {long}x"#),
        ] {
            if let Err(reason) = convert(&line) {
                assert!(reason.len() < 200, "a reason of {} bytes", reason.len());
            }
        }
    }

    #[test]
    fn common_log_without_referer_and_agent() {
        let exchange =
            convert(r#"::1 - - [10/Oct/2000:13:55:36 +0000] "POST /login HTTP/1.1" 302 -"#)
                .unwrap();
        assert_eq!(exchange.client_ip.unwrap().to_string(), "::1");
        assert!(exchange.request.headers.is_empty());
        assert_eq!(exchange.response.unwrap().size, Some(0));
    }

    #[test]
    fn oddities_of_real_logs_are_accepted() {
        let escaped = convert(
            r#"1.2.3.4 - - [10/Oct/2000:13:55:36 +0000] "GET /q?s=\"x\" HTTP/1.1" 200 5 "-" "curl \"quoted\" agent""#,
        )
        .unwrap();
        assert_eq!(escaped.request.url, r#"/q?s="x""#);
        assert_eq!(
            escaped.request.headers.get("user-agent"),
            Some(r#"curl "quoted" agent"#)
        );
        assert_eq!(escaped.request.headers.get("referer"), None);

        let truncated = convert(
            r#"1.2.3.4 - - [20/May/2015:12:05:17 +0000] "GET /a HTTP/1.1" 200 235 "-" "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html"#,
        )
        .unwrap();
        assert_eq!(
            truncated.request.headers.get("user-agent"),
            Some("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html")
        );

        let no_request =
            convert(r#"1.2.3.4 - - [10/Oct/2000:13:55:36 +0000] "-" 408 0 "-" "-""#).unwrap();
        assert_eq!(
            (
                no_request.request.method.as_str(),
                no_request.request.url.as_str()
            ),
            ("UNKNOWN", "/")
        );

        let tls_probe =
            convert(r#"1.2.3.4 - - [10/Oct/2000:13:55:36 +0000] "\x16\x03\x01\x00\xa5\x01" 400 166 "-" "-""#).unwrap();
        assert_eq!(tls_probe.request.method, "UNKNOWN");

        let hostname = convert(
            r#"crawler.example.net - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 1"#,
        )
        .unwrap();
        assert_eq!(hostname.client_ip, None);

        let user_with_space =
            convert(r#"1.2.3.4 - John Doe [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 1"#)
                .unwrap();
        assert_eq!(user_with_space.request.url, "/");

        let no_response =
            convert(r#"1.2.3.4 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 000 0"#).unwrap();
        assert_eq!(no_response.response, None);
    }

    #[test]
    fn nginx_request_time_becomes_the_duration_and_other_extras_are_ignored() {
        let exchange = convert(
            r#"1.2.3.4 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 10 "-" "ua" "10.0.0.1, 10.0.0.2" 0.125 512 1024"#,
        )
        .unwrap();
        assert_eq!(exchange.response.unwrap().duration_ms, Some(125.0));
        let integers_only = convert(
            r#"1.2.3.4 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 10 "-" "ua" 512 1024"#,
        )
        .unwrap();
        assert_eq!(integers_only.response.unwrap().duration_ms, None);
    }

    #[test]
    fn lines_of_another_shape_are_rejected_with_the_part_that_failed() {
        let cases = [
            ("hello", "not an access log line"),
            (r#"1.2.3.4 - - "GET / HTTP/1.1" 200 1"#, "no `[time]`"),
            (
                r#"1.2.3.4 - - [yesterday] "GET / HTTP/1.1" 200 1"#,
                "invalid time `yesterday`",
            ),
            (
                r#"1.2.3.4 - - [10/Oct/2000:13:55:36 +0000] GET / 200 1"#,
                "quoted request line",
            ),
            (
                r#"1.2.3.4 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 2000 1"#,
                "invalid status `2000`",
            ),
            (
                r#"1.2.3.4 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 lots"#,
                "invalid response size `lots`",
            ),
        ];
        for (line, expected) in cases {
            let reason = convert(line).unwrap_err();
            assert!(reason.contains(expected), "{line}: {reason}");
        }
    }
}
