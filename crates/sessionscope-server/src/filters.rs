//! Query parameters → `SessionFilter`, shared by the REST API, the console and the CLI's flags,
//! so one filter means the same thing everywhere.
//!
//! Every filter parameter may be repeated and each value may hold comma-separated alternatives;
//! `user=ann&user=bob` and `user=ann,bob` are the same filter; spaces around an alternative are
//! ignored. Empty values are ignored, because HTML forms send empty fields. Values are otherwise
//! taken as they are, so the grammar the OpenAPI document states (`schema_of`) is exactly what is
//! accepted. Unknown parameters are refused: a typo such as `usr=ann` must not silently widen a
//! filter to everything.

use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;
use sessionscope_model::{
    day_of, day_start_micros, parse_day, parse_time_spec, Flow, Micros, RequestSort, SessionFilter,
    SessionId, SortDirection, SortField, StatusFilter, MICROS_PER_DAY, MICROS_PER_SECOND,
};

use crate::error::shorten;

/// The filter parameters with a one-line description each, in the order the documentation lists them.
pub const FILTER_PARAMETERS: &[(&str, &str)] = &[
    ("from", "start of the time window, inclusive: RFC 3339 or relative (`-15m`, `-1h`, `-7d`, `now`, `today`, `yesterday`)"),
    ("to", "end of the time window, exclusive: RFC 3339 or relative"),
    ("window", "preset time window instead of from/to: `15m`, `30m`, `1h`, `6h`, `12h`, `today`, `yesterday`, `last_week`"),
    ("app", "application name"),
    ("host", "host name (compared in lower case)"),
    ("flow", "business flow id: `ai_llm`, `account_creation`, `account_management`, `admin`, `authentication`, `billing`, `sms_gateway`"),
    ("user", "user, as stored (hashed when so configured)"),
    ("role", "role, as stored"),
    ("client_ip", "client address or network in CIDR notation (`203.0.113.7`, `203.0.113.0/24`, `2001:db8::/32`)"),
    ("method", "HTTP method (compared in upper case)"),
    ("status", "response code (`404`) or class (`5xx`)"),
    ("session_id", "session id, 32 hex characters"),
    ("request_id", "exchange id"),
    ("endpoint", "endpoint template or raw path; `*` matches any run of characters, `?` exactly one"),
    ("attack_type", "attack or bot type, e.g. `sqli`, `xss`, `brute`, `scraping`"),
];

/// The preset time windows of the `window` parameter (PRODUCT.md E2).
pub const WINDOW_PRESETS: &[&str] = &[
    "15m",
    "30m",
    "1h",
    "6h",
    "12h",
    "today",
    "yesterday",
    "last_week",
];

pub const DEFAULT_PAGE_LIMIT: u32 = 50;
pub const MAX_PAGE_LIMIT: u32 = 500;

/// A query parameter the API cannot use. The message names the parameter and the bad value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error("unknown parameter `{parameter}`; expected one of {expected}")]
    UnknownParameter { parameter: String, expected: String },
    #[error("invalid value `{value}` for parameter `{parameter}`: {reason}")]
    InvalidValue {
        parameter: String,
        value: String,
        reason: String,
    },
    #[error("parameter `{parameter}` may be given only once")]
    Repeated { parameter: String },
}

impl FilterError {
    pub fn invalid(parameter: &str, value: &str, reason: impl Into<String>) -> FilterError {
        FilterError::InvalidValue {
            parameter: parameter.to_string(),
            value: shorten(value),
            reason: reason.into(),
        }
    }

    fn unknown(parameter: &str, also_allowed: &[&str]) -> FilterError {
        let mut expected: Vec<&str> = FILTER_PARAMETERS.iter().map(|(name, _)| *name).collect();
        expected.extend_from_slice(also_allowed);
        FilterError::UnknownParameter {
            parameter: shorten(parameter),
            expected: expected.join(", "),
        }
    }
}

/// Builds a filter from query pairs. Every key must be a filter parameter (`FILTER_PARAMETERS`);
/// a route with parameters of its own takes them out first (`split_parameters`).
pub fn parse_filter(pairs: &[(String, String)], now: Micros) -> Result<SessionFilter, FilterError> {
    parse_filter_allowing(pairs, now, &[])
}

/// Like `parse_filter`, but keys in `route_parameters` are skipped instead of refused; the error
/// for an unknown key then lists them too.
pub fn parse_filter_allowing(
    pairs: &[(String, String)],
    now: Micros,
    route_parameters: &[&str],
) -> Result<SessionFilter, FilterError> {
    let mut filter = SessionFilter::default();
    let mut from_text: Option<&str> = None;
    let mut to_text: Option<&str> = None;
    let mut window_text: Option<&str> = None;

    for (key, raw_value) in pairs {
        let key = key.as_str();
        if route_parameters.contains(&key) {
            continue;
        }
        match key {
            "from" => set_once(&mut from_text, key, raw_value)?,
            "to" => set_once(&mut to_text, key, raw_value)?,
            "window" => set_once(&mut window_text, key, raw_value)?,
            "app" => {
                for value in alternatives(raw_value) {
                    filter.apps.push(value.to_string());
                }
            }
            "host" => {
                for value in alternatives(raw_value) {
                    filter.hosts.push(value.to_ascii_lowercase());
                }
            }
            "flow" => {
                for value in alternatives(raw_value) {
                    let flow = Flow::from_id(value).ok_or_else(|| {
                        let known: Vec<&str> = Flow::ALL.iter().map(|flow| flow.id()).collect();
                        FilterError::invalid(
                            key,
                            value,
                            format!("expected one of {}", known.join(", ")),
                        )
                    })?;
                    filter.flows.push(flow);
                }
            }
            "user" => {
                for value in alternatives(raw_value) {
                    filter.users.push(value.to_string());
                }
            }
            "role" => {
                for value in alternatives(raw_value) {
                    filter.roles.push(value.to_string());
                }
            }
            "client_ip" => {
                for value in alternatives(raw_value) {
                    filter.client_ips.push(parse_client_ip(value)?);
                }
            }
            "method" => {
                for value in alternatives(raw_value) {
                    filter.methods.push(parse_method(value)?);
                }
            }
            "status" => {
                for value in alternatives(raw_value) {
                    let status = StatusFilter::parse(value).ok_or_else(|| {
                        FilterError::invalid(
                            key,
                            value,
                            "expected a code 100-599 or a class like 4xx",
                        )
                    })?;
                    filter.statuses.push(status);
                }
            }
            "session_id" => {
                for value in alternatives(raw_value) {
                    let session_id = SessionId::from_str(value).map_err(|_| {
                        FilterError::invalid(key, value, "expected 32 hex characters")
                    })?;
                    filter.session_ids.push(session_id);
                }
            }
            "request_id" => {
                // Counted with the spaces around, as the document's pattern counts them.
                check_lengths(key, raw_value, MAX_REQUEST_ID_CHARS)?;
                for value in alternatives(raw_value) {
                    filter.request_ids.push(value.to_string());
                }
            }
            "endpoint" => {
                // Counted with the spaces around, as the document's pattern counts them.
                check_lengths(key, raw_value, MAX_ENDPOINT_CHARS)?;
                for value in alternatives(raw_value) {
                    filter.endpoints.push(value.to_string());
                }
            }
            "attack_type" => {
                for value in alternatives(raw_value) {
                    let well_formed = value.len() <= 64
                        && value.bytes().all(|byte| {
                            byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_'
                        });
                    if !well_formed {
                        return Err(FilterError::invalid(
                            key,
                            value,
                            "expected an attack or bot type such as sqli, xss or scraping",
                        ));
                    }
                    filter.attack_types.push(value.to_string());
                }
            }
            _ => return Err(FilterError::unknown(key, route_parameters)),
        }
    }

    // Every time bound given applies: `window` with `from` or `to` is their intersection, and a
    // window that ends before it starts matches nothing (it is not an error, as no single value
    // is wrong).
    if let Some(window) = window_text {
        let (from, to) = window_bounds(window, now)?;
        filter.from = Some(from);
        filter.to = to;
    }
    if let Some(text) = from_text {
        let from = parse_time_spec(text, now)
            .map_err(|reason| FilterError::invalid("from", text, reason))?;
        filter.from = Some(
            filter
                .from
                .map_or(from, |window_from| window_from.max(from)),
        );
    }
    if let Some(text) = to_text {
        let to = parse_time_spec(text, now)
            .map_err(|reason| FilterError::invalid("to", text, reason))?;
        filter.to = Some(filter.to.map_or(to, |window_to| window_to.min(to)));
    }
    dedup_in_order(&mut filter.apps);
    dedup_in_order(&mut filter.hosts);
    dedup_in_order(&mut filter.flows);
    dedup_in_order(&mut filter.users);
    dedup_in_order(&mut filter.roles);
    dedup_in_order(&mut filter.client_ips);
    dedup_in_order(&mut filter.methods);
    dedup_in_order(&mut filter.statuses);
    dedup_in_order(&mut filter.session_ids);
    dedup_in_order(&mut filter.request_ids);
    dedup_in_order(&mut filter.endpoints);
    dedup_in_order(&mut filter.attack_types);
    Ok(filter)
}

/// `[from, to)` of a window preset; `to` is open for the windows that end now.
pub fn window_bounds(preset: &str, now: Micros) -> Result<(Micros, Option<Micros>), FilterError> {
    const MINUTE: Micros = 60 * MICROS_PER_SECOND;
    let today_start = day_start_micros(day_of(now));
    let bounds = match preset {
        "15m" => (now - 15 * MINUTE, None),
        "30m" => (now - 30 * MINUTE, None),
        "1h" => (now - 60 * MINUTE, None),
        "6h" => (now - 6 * 60 * MINUTE, None),
        "12h" => (now - 12 * 60 * MINUTE, None),
        "today" => (today_start, None),
        "yesterday" => (today_start - MICROS_PER_DAY, Some(today_start)),
        "last_week" => (now - 7 * MICROS_PER_DAY, None),
        _ => {
            return Err(FilterError::invalid(
                "window",
                preset,
                format!("expected one of {}", WINDOW_PRESETS.join(", ")),
            ))
        }
    };
    Ok(bounds)
}

/// A query split into the parameters a route handles itself and the rest (the filter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitQuery {
    /// Each route parameter with its value, `None` when absent or empty.
    pub route_values: Vec<(String, Option<String>)>,
    pub filter_pairs: Vec<(String, String)>,
}

impl SplitQuery {
    /// The value of a route parameter, when given.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.route_values
            .iter()
            .find(|(candidate, _)| candidate == name)
            .and_then(|(_, value)| value.as_deref())
    }
}

/// Takes the parameters a route handles itself out of the query, leaving the filter parameters.
/// Each route parameter may appear once.
pub fn split_parameters(
    pairs: &[(String, String)],
    route_parameters: &[&str],
) -> Result<SplitQuery, FilterError> {
    let mut own: Vec<(String, Option<String>)> = route_parameters
        .iter()
        .map(|name| (name.to_string(), None))
        .collect();
    let mut rest = Vec::new();
    for (key, value) in pairs {
        match own.iter_mut().find(|(name, _)| name == key) {
            Some((_, slot)) => {
                if slot.is_some() {
                    return Err(FilterError::Repeated {
                        parameter: key.clone(),
                    });
                }
                // An empty value means "not given", as for filters.
                if !value.is_empty() {
                    *slot = Some(value.clone());
                }
            }
            None => rest.push((key.clone(), value.clone())),
        }
    }
    Ok(SplitQuery {
        route_values: own,
        filter_pairs: rest,
    })
}

/// `limit`: 1–500, default 50.
pub fn parse_limit(value: Option<&str>) -> Result<u32, FilterError> {
    let Some(text) = value else {
        return Ok(DEFAULT_PAGE_LIMIT);
    };
    // Digits only: `u32::from_str` would also take a leading `+`.
    let digits = !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit());
    match text.parse::<u32>() {
        Ok(limit) if digits && (1..=MAX_PAGE_LIMIT).contains(&limit) => Ok(limit),
        _ => Err(FilterError::invalid(
            "limit",
            text,
            format!("expected a number from 1 to {MAX_PAGE_LIMIT}"),
        )),
    }
}

/// Which list a cursor pages through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CursorKind {
    /// The session list: `p<time>.<part>`.
    Sessions,
    /// A session's requests: `o<offset>` or the bare offset.
    Requests,
}

impl CursorKind {
    /// The grammar of the cursor, as the OpenAPI document states it.
    pub fn pattern(self) -> &'static str {
        match self {
            CursorKind::Sessions => "^p-?[0-9]{1,18}\\.[0-9]{1,18}$",
            CursorKind::Requests => "^o?[0-9]{1,18}$",
        }
    }
}

/// `cursor`: the `next_cursor` of an earlier page, checked for its shape here so that every store
/// answers a malformed one alike.
pub fn check_cursor(value: Option<&str>, kind: CursorKind) -> Result<(), FilterError> {
    let Some(text) = value else {
        return Ok(());
    };
    let digits = |part: &str| {
        (1..=18).contains(&part.len()) && part.bytes().all(|byte| byte.is_ascii_digit())
    };
    let well_formed = match kind {
        CursorKind::Sessions => text
            .strip_prefix('p')
            .and_then(|rest| rest.split_once('.'))
            .is_some_and(|(time, part)| {
                digits(time.strip_prefix('-').unwrap_or(time)) && digits(part)
            }),
        CursorKind::Requests => digits(text.strip_prefix('o').unwrap_or(text)),
    };
    if well_formed {
        Ok(())
    } else {
        Err(FilterError::invalid(
            "cursor",
            text,
            "expected the `next_cursor` of an earlier page",
        ))
    }
}

/// `sort`: `time`, `duration` or `size`, with a leading `-` for descending; default `time`.
pub fn parse_sort(value: Option<&str>) -> Result<RequestSort, FilterError> {
    let Some(text) = value else {
        return Ok(RequestSort::default());
    };
    let (direction, field_text) = match text.strip_prefix('-') {
        Some(rest) => (SortDirection::Desc, rest),
        None => (SortDirection::Asc, text),
    };
    let field = match field_text {
        "time" => SortField::Time,
        "duration" => SortField::Duration,
        "size" => SortField::Size,
        _ => {
            return Err(FilterError::invalid(
                "sort",
                text,
                "expected time, -time, duration, -duration, size or -size",
            ))
        }
    };
    Ok(RequestSort { field, direction })
}

/// `part`: a session part's UTC day, `YYYY-MM-DD`, as a day number.
pub fn parse_part(value: Option<&str>) -> Result<Option<i32>, FilterError> {
    let Some(text) = value else {
        return Ok(None);
    };
    parse_day(text)
        .map(Some)
        .ok_or_else(|| FilterError::invalid("part", text, "expected a UTC day as YYYY-MM-DD"))
}

fn set_once<'a>(
    slot: &mut Option<&'a str>,
    parameter: &str,
    value: &'a str,
) -> Result<(), FilterError> {
    if value.is_empty() {
        return Ok(());
    }
    if slot.is_some() {
        return Err(FilterError::Repeated {
            parameter: parameter.to_string(),
        });
    }
    *slot = Some(value);
    Ok(())
}

/// The comma-separated alternatives of one value, without the spaces around them, empty ones
/// dropped.
fn alternatives(raw: &str) -> impl Iterator<Item = &str> {
    raw.split(',')
        .map(|value| value.trim_matches(' '))
        .filter(|value| !value.is_empty())
}

/// The longest alternative of `request_id` and of `endpoint`, counted with its spaces.
pub const MAX_REQUEST_ID_CHARS: usize = 128;
pub const MAX_ENDPOINT_CHARS: usize = 1024;

/// Refuses a value with an alternative longer than `limit` characters, spaces included.
fn check_lengths(parameter: &str, raw: &str, limit: usize) -> Result<(), FilterError> {
    match raw.split(',').find(|value| value.chars().count() > limit) {
        Some(value) => Err(FilterError::invalid(
            parameter,
            value,
            format!("longer than {limit} characters"),
        )),
        None => Ok(()),
    }
}

fn parse_client_ip(value: &str) -> Result<IpNet, FilterError> {
    // A prefix length is written without leading zeros (`/24`, not `/024`).
    let prefix_padded = value
        .split_once('/')
        .is_some_and(|(_, prefix)| prefix.len() > 1 && prefix.starts_with('0'));
    if prefix_padded {
        return Err(FilterError::invalid(
            "client_ip",
            value,
            "expected a prefix length without leading zeros",
        ));
    }
    if let Ok(network) = IpNet::from_str(value) {
        // `10.0.0.7/24` means the network around that address.
        return Ok(network.trunc());
    }
    if let Ok(address) = IpAddr::from_str(value) {
        return Ok(IpNet::from(address));
    }
    Err(FilterError::invalid(
        "client_ip",
        value,
        "expected an IP address or a network in CIDR notation",
    ))
}

fn parse_method(value: &str) -> Result<String, FilterError> {
    // RFC 9110 token characters, so the filter cannot smuggle anything odd into a query.
    let is_token = value.len() <= 32
        && value
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte));
    if !is_token {
        return Err(FilterError::invalid(
            "method",
            value,
            "expected an HTTP method such as GET",
        ));
    }
    Ok(value.to_ascii_uppercase())
}

fn dedup_in_order<T: PartialEq + Clone>(values: &mut Vec<T>) {
    let mut kept: Vec<T> = Vec::with_capacity(values.len());
    for value in values.drain(..) {
        if !kept.contains(&value) {
            kept.push(value);
        }
    }
    *values = kept;
}

#[cfg(test)]
mod tests {
    use super::*;
    use sessionscope_model::parse_rfc3339;

    fn now() -> Micros {
        parse_rfc3339("2026-11-22T10:30:00Z").unwrap()
    }

    fn pairs(query: &[(&str, &str)]) -> Vec<(String, String)> {
        query
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect()
    }

    fn parse(query: &[(&str, &str)]) -> Result<SessionFilter, FilterError> {
        parse_filter(&pairs(query), now())
    }

    fn time(text: &str) -> Micros {
        parse_rfc3339(text).unwrap()
    }

    #[test]
    fn repeated_and_comma_separated_values_are_alternatives() {
        let filter = parse(&[
            ("user", "ann,bob"),
            ("user", "carl"),
            ("user", "ann"),
            ("method", "get, post"),
        ])
        .unwrap();
        assert_eq!(filter.users, vec!["ann", "bob", "carl"]);
        assert_eq!(filter.methods, vec!["GET", "POST"]);
    }

    #[test]
    fn every_parameter_fills_its_field() {
        let filter = parse(&[
            ("app", "shop"),
            ("host", "API.Shop.Example"),
            ("flow", "billing,admin"),
            ("role", "admin"),
            ("client_ip", "203.0.113.7,198.51.100.9/24"),
            ("status", "404,5xx"),
            ("session_id", "00112233445566778899aabbccddeeff"),
            ("request_id", "r-1"),
            ("endpoint", "/v1/users/*"),
            ("attack_type", "sqli"),
        ])
        .unwrap();
        assert_eq!(filter.apps, vec!["shop"]);
        assert_eq!(filter.hosts, vec!["api.shop.example"]);
        assert_eq!(filter.flows, vec![Flow::Billing, Flow::Admin]);
        assert_eq!(filter.roles, vec!["admin"]);
        assert_eq!(
            filter.client_ips,
            vec![
                "203.0.113.7/32".parse::<IpNet>().unwrap(),
                "198.51.100.0/24".parse::<IpNet>().unwrap()
            ]
        );
        assert_eq!(
            filter.statuses,
            vec![StatusFilter::Code(404), StatusFilter::Class(5)]
        );
        assert_eq!(
            filter.session_ids[0].to_hex(),
            "00112233445566778899aabbccddeeff"
        );
        assert_eq!(filter.request_ids, vec!["r-1"]);
        assert_eq!(filter.endpoints, vec!["/v1/users/*"]);
        assert_eq!(filter.attack_types, vec!["sqli"]);
        assert!(!filter.is_time_only());
    }

    #[test]
    fn empty_values_are_ignored_and_others_taken_as_given() {
        let filter = parse(&[("user", ""), ("from", ""), ("app", ", ,")]).unwrap();
        assert_eq!(filter, SessionFilter::default());
        // Spaces around alternatives go; any other character is part of the value.
        let filter = parse(&[("user", " ann , bob")]).unwrap();
        assert_eq!(filter.users, vec!["ann", "bob"]);
        assert!(parse(&[("from", " -1h")]).is_err());
        assert!(parse(&[("status", "\t404")]).is_err());
        assert!(parse(&[("client_ip", "10.0.0.0/024")]).is_err());
        assert!(parse(&[("client_ip", "10.0.0.0/24, ::1")]).is_ok());
        assert!(parse(&[("endpoint", &format!(" {}", "e".repeat(1024)))]).is_err());
    }

    #[test]
    fn cursors_have_the_documented_shape() {
        for good in ["p1700000000000000.12", "p-5.1"] {
            assert!(
                check_cursor(Some(good), CursorKind::Sessions).is_ok(),
                "{good}"
            );
        }
        for bad in ["p+5.1", "p5.", "p5.1.2", "o5", "p1234567890123456789.1"] {
            assert!(
                check_cursor(Some(bad), CursorKind::Sessions).is_err(),
                "{bad}"
            );
        }
        for good in ["o0", "o50", "50"] {
            assert!(
                check_cursor(Some(good), CursorKind::Requests).is_ok(),
                "{good}"
            );
        }
        for bad in ["o", "o-1", "o+1", " 5", "p5.1"] {
            assert!(
                check_cursor(Some(bad), CursorKind::Requests).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn times_are_absolute_or_relative() {
        let filter = parse(&[("from", "-1h"), ("to", "2026-11-22T10:15:00Z")]).unwrap();
        assert_eq!(filter.from, Some(time("2026-11-22T09:30:00Z")));
        assert_eq!(filter.to, Some(time("2026-11-22T10:15:00Z")));
    }

    #[test]
    fn window_presets_set_the_time_window() {
        let cases: &[(&str, &str, Option<&str>)] = &[
            ("15m", "2026-11-22T10:15:00Z", None),
            ("30m", "2026-11-22T10:00:00Z", None),
            ("1h", "2026-11-22T09:30:00Z", None),
            ("6h", "2026-11-22T04:30:00Z", None),
            ("12h", "2026-11-21T22:30:00Z", None),
            ("today", "2026-11-22T00:00:00Z", None),
            (
                "yesterday",
                "2026-11-21T00:00:00Z",
                Some("2026-11-22T00:00:00Z"),
            ),
            ("last_week", "2026-11-15T10:30:00Z", None),
        ];
        for (preset, from, to) in cases {
            let filter = parse(&[("window", preset)]).unwrap();
            assert_eq!(filter.from, Some(time(from)), "from of {preset}");
            assert_eq!(filter.to, to.map(time), "to of {preset}");
        }
    }

    #[test]
    fn bad_values_name_the_parameter_and_the_value() {
        let cases: &[(&str, &str)] = &[
            ("from", "yesterdayish"),
            ("to", "-3x"),
            ("window", "2h"),
            ("flow", "shopping"),
            ("client_ip", "300.1.2.3"),
            ("client_ip", "10.0.0.0/33"),
            ("method", "GE T"),
            ("status", "6xx"),
            ("status", "99"),
            ("session_id", "abc"),
            ("attack_type", "SQL Injection"),
        ];
        for (parameter, value) in cases {
            let message = parse(&[(parameter, value)]).unwrap_err().to_string();
            assert!(message.contains(&format!("`{parameter}`")), "{message}");
            assert!(message.contains(&format!("`{value}`")), "{message}");
        }
    }

    /// Values of every odd shape: multi-byte characters at every byte position of a short
    /// value, empty and blank, control characters, huge, separators only.
    fn odd_values() -> Vec<String> {
        let mut values: Vec<String> = [
            "ÞC",
            "CÞ",
            "Þ",
            "4Þ",
            "Þxx",
            "4xÞ",
            "x\u{301}x",
            "😀",
            "5😀",
            "é4x",
            "日本",
            "\u{0}",
            "\u{0}xx",
            "\t",
            "\r\n",
            "\u{7f}",
            "\u{feff}404",
            "\u{202e}4xx",
            "",
            " ",
            ",",
            ",,,",
            "-",
            "--",
            "-Þ",
            "-1Þ",
            "-1hÞ",
            "now-",
            "now-Þ",
            "Þ-1h",
            "2026-11-22TÞ",
            "+404",
            "%",
            "%C3",
            "'; drop table sessions; --",
            "<script>",
            "*",
            "?",
            "**Þ*",
            "/",
            "0",
            "-0",
            "99999999999999999999999999",
            "-99999999999999999999999999m",
            "-9223372036854775807w",
            "-9223372036854775808s",
            "1.2.3.4/Þ",
            "Þ/24",
            "a/b/c",
            "10.0.0.0/-1",
        ]
        .iter()
        .map(|value| value.to_string())
        .collect();
        values.push("Þ".repeat(10_000));
        values.push("4".repeat(100_000));
        values.push(format!("{}Þ", "a".repeat(127)));
        values.push(format!("{}Þ", "a".repeat(1023)));
        values.push(format!("{}Þ", "a".repeat(63)));
        values.push(format!("{}Þ", "A".repeat(31)));
        values.push(format!("{}Þ", "0".repeat(31)));
        values
    }

    /// The parameters whose syntax is closed: none of the odd values is one of theirs.
    const CLOSED_SYNTAX: &[&str] = &[
        "from",
        "to",
        "window",
        "flow",
        "client_ip",
        "status",
        "session_id",
    ];

    #[test]
    fn no_value_of_any_parameter_panics_and_bad_ones_are_named() {
        let route_parameters = ["limit", "cursor", "sort", "part", "format"];
        for value in odd_values() {
            let shown: String = value.chars().take(40).collect();
            for (parameter, _) in FILTER_PARAMETERS {
                let query = pairs(&[(parameter, &value)]);
                let outcome = std::panic::catch_unwind(|| parse_filter(&query, now()))
                    .unwrap_or_else(|_| panic!("`{parameter}={shown}` panicked the filter parser"));
                match outcome {
                    Ok(_) => assert!(
                        value.trim().trim_matches(',').trim().is_empty()
                            || !CLOSED_SYNTAX.contains(parameter),
                        "`{parameter}={shown}` was accepted"
                    ),
                    Err(error) => {
                        let message = error.to_string();
                        assert!(message.contains(&format!("`{parameter}`")), "{message}");
                        assert!(message.chars().count() < 400, "{message}");
                    }
                }
            }
            for parameter in route_parameters {
                let query = pairs(&[(parameter, &value)]);
                let parsed = std::panic::catch_unwind(|| {
                    let split = split_parameters(&query, &route_parameters)?;
                    parse_limit(split.value("limit"))?;
                    parse_sort(split.value("sort"))?;
                    parse_part(split.value("part"))?;
                    parse_filter_allowing(&split.filter_pairs, now(), &route_parameters)
                });
                assert!(parsed.is_ok(), "`{parameter}={shown}` panicked");
            }
            let unknown = pairs(&[(&value, "1")]);
            assert!(
                std::panic::catch_unwind(|| parse_filter(&unknown, now())).is_ok(),
                "the parameter name `{shown}` panicked"
            );
            assert!(std::panic::catch_unwind(|| window_bounds(&value, now())).is_ok());
        }
    }

    #[test]
    fn unknown_parameters_are_refused_and_listed() {
        let message = parse(&[("usr", "ann")]).unwrap_err().to_string();
        assert!(message.starts_with("unknown parameter `usr`"), "{message}");
        assert!(message.contains("user"), "{message}");
        let message = parse_filter_allowing(&pairs(&[("lmit", "5")]), now(), &["limit"])
            .unwrap_err()
            .to_string();
        assert!(message.contains("limit"), "{message}");
        assert!(parse_filter_allowing(&pairs(&[("limit", "5")]), now(), &["limit"]).is_ok());
    }

    #[test]
    fn time_bounds_intersect_and_each_is_given_once() {
        // An empty window is no error: it matches nothing.
        let empty = parse(&[("from", "-1h"), ("to", "-2h")]).unwrap();
        assert!(empty.from.unwrap() > empty.to.unwrap());
        // `window` with `from` or `to`: every bound applies.
        let hour = 3_600 * MICROS_PER_SECOND;
        let narrowed = parse(&[("window", "6h"), ("from", "-2h")]).unwrap();
        assert_eq!(narrowed.from, Some(now() - 2 * hour));
        let wider = parse(&[("window", "1h"), ("from", "-2h"), ("to", "-30m")]).unwrap();
        assert_eq!(wider.from, Some(now() - hour));
        assert_eq!(wider.to, Some(now() - hour / 2));
        assert!(matches!(
            parse(&[("from", "-1h"), ("from", "-2h")]),
            Err(FilterError::Repeated { .. })
        ));
    }

    #[test]
    fn route_parameters_are_split_off_once() {
        let query = pairs(&[("limit", "10"), ("user", "ann"), ("cursor", "")]);
        let split = split_parameters(&query, &["limit", "cursor"]).unwrap();
        assert_eq!(split.value("limit"), Some("10"));
        assert_eq!(split.value("cursor"), None);
        assert_eq!(split.filter_pairs, pairs(&[("user", "ann")]));
        assert!(split_parameters(&pairs(&[("limit", "1"), ("limit", "2")]), &["limit"]).is_err());
    }

    #[test]
    fn limits_sorts_and_parts_are_checked() {
        assert_eq!(parse_limit(None).unwrap(), 50);
        assert_eq!(parse_limit(Some("500")).unwrap(), 500);
        for bad in ["0", "501", "-1", "ten"] {
            assert!(parse_limit(Some(bad))
                .unwrap_err()
                .to_string()
                .contains(&format!("`{bad}`")));
        }
        assert_eq!(
            parse_sort(Some("-duration")).unwrap(),
            RequestSort {
                field: SortField::Duration,
                direction: SortDirection::Desc
            }
        );
        assert_eq!(
            parse_sort(Some("size")).unwrap().direction,
            SortDirection::Asc
        );
        assert!(parse_sort(Some("speed")).is_err());
        assert_eq!(parse_part(Some("2026-11-22")).unwrap(), Some(day_of(now())));
        assert!(parse_part(Some("22.11.2026"))
            .unwrap_err()
            .to_string()
            .contains("`part`"));
    }
}
