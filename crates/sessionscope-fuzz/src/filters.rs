//! The filter query parser: a query string as the API, the console and the CLI's flags receive
//! it, into a `SessionFilter` (`sessionscope-server/src/filters.rs`, with the status codes and
//! globs of `sessionscope-model/src/filter.rs`).

use sessionscope_model::{glob_matches, Micros, SessionFilter, StatusFilter};
use sessionscope_server::filters::{
    parse_filter, parse_filter_allowing, parse_limit, parse_part, parse_sort, split_parameters,
    window_bounds, MAX_PAGE_LIMIT,
};

use crate::exchange::MAX_REASON_BYTES;

/// 2026-11-22T10:00:00Z, the "now" relative times are read against.
const NOW: Micros = 1_795_341_600_000_000;

/// The parameters the request-listing routes take besides the filter.
const ROUTE_PARAMETERS: &[&str] = &["limit", "cursor", "sort", "part", "fragment"];

fn check_error(error: &impl std::fmt::Display) {
    let message = error.to_string();
    assert!(!message.is_empty(), "filters: an empty error");
    assert!(
        message.len() <= MAX_REASON_BYTES,
        "filters: an error of {} bytes",
        message.len()
    );
}

/// What a parsed filter promises the store: normalised values, no repeats, statuses in range.
/// A window may be empty (`from` at or after `to`): it matches nothing.
fn check_filter(filter: &SessionFilter) {
    for status in &filter.statuses {
        let (low, high) = status.range();
        assert!(
            100 <= low && low <= high && high <= 599,
            "filters: status {status}"
        );
        let printed = status.to_string();
        assert_eq!(
            StatusFilter::parse(&printed),
            Some(*status),
            "filters: status `{printed}` does not read back"
        );
    }
    for method in &filter.methods {
        assert_eq!(method, &method.to_ascii_uppercase(), "filters: method case");
        assert!(!method.is_empty() && method.len() <= 32);
    }
    for host in &filter.hosts {
        assert_eq!(host, &host.to_ascii_lowercase(), "filters: host case");
    }
    for id in &filter.request_ids {
        assert!(id.chars().count() <= 128);
    }
    for endpoint in &filter.endpoints {
        assert!(endpoint.chars().count() <= 1024);
    }
    fn no_repeats<T: PartialEq + std::fmt::Debug>(name: &str, values: &[T]) {
        for (index, value) in values.iter().enumerate() {
            assert!(
                !values[..index].contains(value),
                "filters: {name} repeats {value:?}"
            );
        }
    }
    no_repeats("apps", &filter.apps);
    no_repeats("hosts", &filter.hosts);
    no_repeats("users", &filter.users);
    no_repeats("statuses", &filter.statuses);
    no_repeats("endpoints", &filter.endpoints);
    no_repeats("attack_types", &filter.attack_types);
    no_repeats("client_ips", &filter.client_ips);
}

/// A query string through every parser of query parameters: the filter alone and with a route's
/// own parameters, and those parameters' own parsers. Each answer is a filter that keeps its
/// promises or an error that names the problem in a bounded message; endpoint globs are matched
/// against the other values of the query.
pub fn filters(data: &[u8]) {
    let Ok(pairs) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(data) else {
        return;
    };
    match parse_filter(&pairs, NOW) {
        Ok(filter) => check_filter(&filter),
        Err(error) => check_error(&error),
    }
    match split_parameters(&pairs, ROUTE_PARAMETERS) {
        Ok(split) => {
            match parse_filter_allowing(&split.filter_pairs, NOW, ROUTE_PARAMETERS) {
                Ok(filter) => {
                    check_filter(&filter);
                    for pattern in &filter.endpoints {
                        for (_, value) in &pairs {
                            let _ = glob_matches(pattern, value);
                        }
                    }
                }
                Err(error) => check_error(&error),
            }
            match parse_limit(split.value("limit")) {
                Ok(limit) => assert!((1..=MAX_PAGE_LIMIT).contains(&limit)),
                Err(error) => check_error(&error),
            }
            if let Err(error) = parse_sort(split.value("sort")) {
                check_error(&error);
            }
            if let Err(error) = parse_part(split.value("part")) {
                check_error(&error);
            }
        }
        Err(error) => check_error(&error),
    }
    for (_, value) in &pairs {
        match window_bounds(value, NOW) {
            Ok((from, to)) => {
                assert!(from <= NOW);
                if let Some(to) = to {
                    assert!(from < to);
                }
            }
            Err(error) => check_error(&error),
        }
        if let Some(status) = StatusFilter::parse(value) {
            assert_eq!(StatusFilter::parse(&status.to_string()), Some(status));
        }
    }
}
