//! The state of the session views, read from and written back to the URL (DESIGN.md: every view's
//! state lives in its URL, so reload, back/forward and "Copy link" just work).
//!
//! Query parameters of `/sessions`:
//! - the general filters, with the REST API's names and parser (`window`, `from`, `to`, `app`,
//!   `host`, `flow`, `user`, `role`, `client_ip`, `method`, `status`, `session_id`, `request_id`,
//!   `endpoint`, `attack_type`), so console and API never disagree;
//! - `cursor`: the session list page (the store's cursor);
//! - `open`: the expanded session id, `part`: its part (UTC day `YYYY-MM-DD`) when it has several;
//! - `all=1`: inside the expanded session, show all its requests (general filters dropped);
//! - `in.<filter>`: in-session filters, any filter parameter behind the prefix `in.`
//!   (`in.method=POST`, `in.status=404`, `in.from=...`). Inside the session an in-session
//!   parameter replaces the general one of the same name (the time window counts as one
//!   parameter: any of `in.window`, `in.from`, `in.to` replaces `window`, `from`, `to`), and
//!   different in-session parameters combine like general ones;
//! - `sort`: the request table's order (`time`, `-time`, `duration`, `-duration`, `size`, `-size`),
//!   `rcursor`: the request table's page;
//! - `req`: the request whose details are open;
//! - `fragment`: `session`, `requests` or `request`: answer only that part of the page (console.js).
//!
//! Bad values never fail the page: each is dropped with the parser's message, and the page shows
//! the message beside the filter bar and renders the rest.

use sessionscope_model::{Micros, RequestSort, SessionFilter, SessionId};
use sessionscope_server::filters::{parse_filter, parse_part, parse_sort};

use crate::layout;

/// The console's own parameters on `/sessions`, besides the filters and `in.*`.
pub const VIEW_PARAMETERS: &[&str] = &[
    "cursor", "open", "part", "all", "sort", "rcursor", "req", "fragment",
];
/// Prefix of in-session filter parameters.
pub const IN_SESSION_PREFIX: &str = "in.";
const TIME_PARAMETERS: &[&str] = &["window", "from", "to"];

/// Ordered query pairs, from which every link of a page is built.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pairs(pub Vec<(String, String)>);

impl Pairs {
    pub fn new() -> Pairs {
        Pairs(Vec::new())
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(candidate, _)| candidate == key)
            .map(|(_, value)| value.as_str())
    }

    pub fn has(&self, key: &str) -> bool {
        self.0.iter().any(|(candidate, _)| candidate == key)
    }

    /// Without every pair of the given keys.
    pub fn without(&self, keys: &[&str]) -> Pairs {
        Pairs(
            self.0
                .iter()
                .filter(|(key, _)| !keys.contains(&key.as_str()))
                .cloned()
                .collect(),
        )
    }

    /// Without the pairs whose key starts with `prefix`.
    pub fn without_prefix(&self, prefix: &str) -> Pairs {
        Pairs(
            self.0
                .iter()
                .filter(|(key, _)| !key.starts_with(prefix))
                .cloned()
                .collect(),
        )
    }

    /// With `key` set to `value` alone (earlier values of the key removed); an empty value
    /// removes the key.
    pub fn with(&self, key: &str, value: &str) -> Pairs {
        let mut pairs = self.without(&[key]);
        if !value.is_empty() {
            pairs.0.push((key.to_string(), value.to_string()));
        }
        pairs
    }

    /// With one more pair, keeping the others (a second value of a filter is an alternative).
    pub fn plus(&self, key: &str, value: &str) -> Pairs {
        let mut pairs = self.clone();
        let already = pairs.0.iter().any(|(candidate, existing)| {
            candidate == key && existing.split(',').any(|part| part.trim() == value)
        });
        if !already {
            pairs.0.push((key.to_string(), value.to_string()));
        }
        pairs
    }

    /// Without one comma-separated alternative of one key; a pair left empty disappears.
    pub fn without_alternative(&self, key: &str, alternative: &str) -> Pairs {
        let mut kept = Vec::with_capacity(self.0.len());
        for (candidate, value) in &self.0 {
            if candidate != key {
                kept.push((candidate.clone(), value.clone()));
                continue;
            }
            let rest: Vec<&str> = value
                .split(',')
                .map(str::trim)
                .filter(|part| !part.is_empty() && *part != alternative)
                .collect();
            if !rest.is_empty() {
                kept.push((candidate.clone(), rest.join(",")));
            }
        }
        Pairs(kept)
    }

    /// `path?query`.
    /// `path` with these pairs as its query; empty values are left out (they mean "not given",
    /// and the REST API refuses them).
    pub fn href(&self, path: &str) -> String {
        let query = layout::query_string(
            self.0
                .iter()
                .filter(|(_, value)| !value.is_empty())
                .map(|(key, value)| (key.as_str(), value.as_str())),
        );
        format!("{path}{query}")
    }

    /// The pairs whose key carries `prefix`, with the prefix taken off.
    fn stripped(&self, prefix: &str) -> Pairs {
        Pairs(
            self.0
                .iter()
                .filter_map(|(key, value)| {
                    key.strip_prefix(prefix)
                        .map(|rest| (rest.to_string(), value.clone()))
                })
                .collect(),
        )
    }
}

/// What a part of the page asked for with `fragment=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fragment {
    Page,
    Session,
    Requests,
    Request,
}

/// A filter built from query pairs, with the pairs it kept and the messages of those it dropped.
#[derive(Debug, Clone, Default)]
pub struct LenientFilter {
    pub filter: SessionFilter,
    pub kept: Pairs,
    pub problems: Vec<String>,
}

/// Parses filter pairs with the API's parser, dropping what it refuses instead of failing: each
/// pair refused on its own is dropped with its message; when the survivors still conflict (a
/// window and a `from`, an empty range), the time parameters are dropped too.
pub fn lenient_filter(pairs: &Pairs, now: Micros, message_prefix: &str) -> LenientFilter {
    if let Ok(filter) = parse_filter(&pairs.0, now) {
        return LenientFilter {
            filter,
            kept: pairs.clone(),
            problems: Vec::new(),
        };
    }
    let mut problems = Vec::new();
    let mut kept = Pairs::new();
    for pair in &pairs.0 {
        match parse_filter(std::slice::from_ref(pair), now) {
            Ok(_) => kept.0.push(pair.clone()),
            Err(error) => problems.push(format!("{message_prefix}{error}")),
        }
    }
    match parse_filter(&kept.0, now) {
        Ok(filter) => {
            return LenientFilter {
                filter,
                kept,
                problems,
            }
        }
        Err(error) => problems.push(format!("{message_prefix}{error}")),
    }
    let kept = kept.without(TIME_PARAMETERS);
    match parse_filter(&kept.0, now) {
        Ok(filter) => LenientFilter {
            filter,
            kept,
            problems,
        },
        // Every remaining pair parsed alone and none is a time parameter, so this cannot
        // happen; if it ever does, show everything rather than an error page.
        Err(error) => {
            problems.push(format!("{message_prefix}{error}"));
            LenientFilter {
                filter: SessionFilter::default(),
                kept: Pairs::new(),
                problems,
            }
        }
    }
}

/// Everything the session views read from the URL, validated.
#[derive(Debug, Clone)]
pub struct ViewState {
    /// The general filter parameters that were accepted, in the order given.
    pub general: Pairs,
    pub filter: SessionFilter,
    /// In-session filter parameters that were accepted, without their `in.` prefix.
    pub in_session: Pairs,
    pub cursor: Option<String>,
    pub open: Option<SessionId>,
    /// The open part as `YYYY-MM-DD` and as a day number.
    pub part: Option<(String, i32)>,
    pub all: bool,
    pub sort: RequestSort,
    pub sort_text: Option<String>,
    pub request_cursor: Option<String>,
    pub request: Option<String>,
    pub fragment: Fragment,
    /// Messages of parameters that were dropped.
    pub problems: Vec<String>,
}

impl ViewState {
    pub fn parse(query: &[(String, String)], now: Micros) -> ViewState {
        let mut problems = Vec::new();
        let mut general = Pairs::new();
        let mut in_session_raw = Pairs::new();
        let mut own: Vec<(&str, String)> = Vec::new();
        for (key, value) in query {
            if let Some(name) = VIEW_PARAMETERS.iter().find(|name| **name == key.as_str()) {
                let value = value.trim();
                if value.is_empty() {
                    continue;
                }
                if own.iter().any(|(existing, _)| existing == name) {
                    problems.push(format!("parameter `{name}` may be given only once"));
                    continue;
                }
                own.push((name, value.to_string()));
            } else if key.starts_with(IN_SESSION_PREFIX) {
                in_session_raw.0.push((key.clone(), value.clone()));
            } else {
                general.0.push((key.clone(), value.clone()));
            }
        }
        let own_value = |name: &str| {
            own.iter()
                .find(|(candidate, _)| *candidate == name)
                .map(|(_, value)| value.clone())
        };

        let general = lenient_filter(&general, now, "");
        problems.extend(general.problems);
        let in_session = lenient_filter(
            &in_session_raw.stripped(IN_SESSION_PREFIX),
            now,
            "in-session filter: ",
        );
        problems.extend(in_session.problems);

        let open = match own_value("open") {
            Some(text) => match text.parse::<SessionId>() {
                Ok(session_id) => Some(session_id),
                Err(error) => {
                    problems.push(format!("invalid value for parameter `open`: {error}"));
                    None
                }
            },
            None => None,
        };
        let part = match parse_part(own_value("part").as_deref()) {
            Ok(Some(day)) => own_value("part").map(|text| (text, day)),
            Ok(None) => None,
            Err(error) => {
                problems.push(error.to_string());
                None
            }
        };
        let (sort, sort_text) = match parse_sort(own_value("sort").as_deref()) {
            Ok(sort) => (sort, own_value("sort")),
            Err(error) => {
                problems.push(error.to_string());
                (RequestSort::default(), None)
            }
        };
        let all = matches!(own_value("all").as_deref(), Some("1" | "true" | "yes"));
        let fragment = match own_value("fragment").as_deref() {
            Some("session") => Fragment::Session,
            Some("requests") => Fragment::Requests,
            Some("request") => Fragment::Request,
            _ => Fragment::Page,
        };
        ViewState {
            general: general.kept,
            filter: general.filter,
            in_session: in_session.kept,
            cursor: own_value("cursor"),
            open,
            part,
            all,
            sort,
            sort_text,
            request_cursor: own_value("rcursor"),
            request: own_value("req"),
            fragment,
            problems,
        }
    }

    /// True when a general filter (the time window included) is set.
    pub fn has_general_filters(&self) -> bool {
        !self.general.0.is_empty()
    }

    /// The session list as it is (filters and page), without any open session.
    pub fn list_pairs(&self) -> Pairs {
        let mut pairs = self.general.clone();
        if let Some(cursor) = &self.cursor {
            pairs.0.push(("cursor".into(), cursor.clone()));
        }
        pairs
    }

    /// The list with a session (part) expanded, fresh: no in-session state carried over.
    pub fn expand_pairs(&self, session_id: SessionId, part: Option<&str>) -> Pairs {
        let mut pairs = self.list_pairs();
        pairs.0.push(("open".into(), session_id.to_hex()));
        if let Some(part) = part {
            pairs.0.push(("part".into(), part.to_string()));
        }
        pairs
    }

    /// The whole view: list, open session and everything inside it.
    pub fn current_pairs(&self) -> Pairs {
        let Some(session_id) = self.open else {
            return self.list_pairs();
        };
        let mut pairs = self.expand_pairs(
            session_id,
            self.part.as_ref().map(|(text, _)| text.as_str()),
        );
        if self.all {
            pairs.0.push(("all".into(), "1".into()));
        }
        for (key, value) in &self.in_session.0 {
            pairs
                .0
                .push((format!("{IN_SESSION_PREFIX}{key}"), value.clone()));
        }
        if let Some(sort) = &self.sort_text {
            pairs.0.push(("sort".into(), sort.clone()));
        }
        if let Some(cursor) = &self.request_cursor {
            pairs.0.push(("rcursor".into(), cursor.clone()));
        }
        if let Some(request) = &self.request {
            pairs.0.push(("req".into(), request.clone()));
        }
        pairs
    }

    /// The open session's view after a change to what its table shows: the table's page and
    /// the open request are reset.
    pub fn session_pairs_reset(&self) -> Pairs {
        self.current_pairs().without(&["rcursor", "req"])
    }

    /// The filter parameters that apply inside the open session: the general ones (unless
    /// `all=1`), each replaced by an in-session parameter of the same name, plus the in-session
    /// ones. `session_id` is dropped: the session is given by `open`.
    pub fn session_filter_pairs(&self) -> Pairs {
        let mut pairs = if self.all {
            Pairs::new()
        } else {
            self.general.without(&["session_id"])
        };
        let in_session_has_time = TIME_PARAMETERS.iter().any(|name| self.in_session.has(name));
        pairs.0.retain(|(key, _)| {
            let replaced_time = in_session_has_time && TIME_PARAMETERS.contains(&key.as_str());
            !replaced_time && !self.in_session.has(key)
        });
        pairs.0.extend(self.in_session.0.iter().cloned());
        pairs
    }

    /// The filter of `session_filter_pairs`, parsed with the API's parser.
    pub fn session_filter(&self, now: Micros) -> SessionFilter {
        lenient_filter(&self.session_filter_pairs(), now, "").filter
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sessionscope_model::parse_rfc3339;

    fn now() -> Micros {
        parse_rfc3339("2026-11-22T12:00:00Z").unwrap()
    }

    fn query(text: &[(&str, &str)]) -> Vec<(String, String)> {
        text.iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect()
    }

    const SESSION: &str = "00112233445566778899aabbccddeeff";

    #[test]
    fn bad_values_are_dropped_with_the_parsers_message_and_the_rest_kept() {
        let view = ViewState::parse(
            &query(&[("status", "6xx"), ("host", "API.example"), ("usr", "ann")]),
            now(),
        );
        assert_eq!(view.filter.hosts, vec!["api.example"]);
        assert_eq!(view.general, Pairs(query(&[("host", "API.example")])));
        assert_eq!(view.problems.len(), 2, "{:?}", view.problems);
        assert!(view.problems[0].contains("`status`"), "{:?}", view.problems);
        assert!(
            view.problems[1].contains("unknown parameter `usr`"),
            "{:?}",
            view.problems
        );
    }

    #[test]
    fn time_parameters_given_together_all_apply() {
        let view = ViewState::parse(
            &query(&[("window", "6h"), ("from", "-2h"), ("method", "get")]),
            now(),
        );
        assert_eq!(view.filter.from, Some(now() - 2 * 3_600 * 1_000_000));
        assert_eq!(view.filter.methods, vec!["GET"]);
        assert!(view.problems.is_empty(), "{:?}", view.problems);
    }

    #[test]
    fn in_session_parameters_replace_general_ones_of_the_same_name() {
        let view = ViewState::parse(
            &query(&[
                ("window", "today"),
                ("method", "GET,POST"),
                ("host", "a.example"),
                ("session_id", SESSION),
                ("open", SESSION),
                ("in.method", "POST"),
                ("in.from", "2026-11-22T10:00:00Z"),
            ]),
            now(),
        );
        assert_eq!(
            view.session_filter_pairs(),
            Pairs(query(&[
                ("host", "a.example"),
                ("method", "POST"),
                ("from", "2026-11-22T10:00:00Z")
            ]))
        );
        let filter = view.session_filter(now());
        assert_eq!(filter.methods, vec!["POST"]);
        assert_eq!(filter.to, None);
        assert!(filter.session_ids.is_empty());
    }

    #[test]
    fn show_all_drops_general_filters_but_keeps_in_session_ones() {
        let view = ViewState::parse(
            &query(&[
                ("host", "a.example"),
                ("all", "1"),
                ("in.status", "404"),
                ("open", SESSION),
            ]),
            now(),
        );
        assert_eq!(
            view.session_filter_pairs(),
            Pairs(query(&[("status", "404")]))
        );
    }

    #[test]
    fn the_current_view_round_trips_through_its_url_pairs() {
        let original = query(&[
            ("window", "6h"),
            ("cursor", "abc"),
            ("open", SESSION),
            ("part", "2026-11-22"),
            ("all", "1"),
            ("in.method", "POST"),
            ("sort", "-duration"),
            ("rcursor", "o50"),
            ("req", "r-1"),
        ]);
        let view = ViewState::parse(&original, now());
        assert!(view.problems.is_empty(), "{:?}", view.problems);
        assert_eq!(view.current_pairs(), Pairs(original));
        assert_eq!(
            view.session_pairs_reset().href("/sessions"),
            format!("/sessions?window=6h&cursor=abc&open={SESSION}&part=2026-11-22&all=1&in.method=POST&sort=-duration")
        );
        assert_eq!(
            view.list_pairs().href("/sessions"),
            "/sessions?window=6h&cursor=abc"
        );
    }

    #[test]
    fn bad_view_parameters_are_reported_not_fatal() {
        let view = ViewState::parse(
            &query(&[
                ("open", "xyz"),
                ("part", "22.11.2026"),
                ("sort", "speed"),
                ("in.status", "6xx"),
            ]),
            now(),
        );
        assert_eq!(view.open, None);
        assert_eq!(view.part, None);
        assert_eq!(view.problems.len(), 4, "{:?}", view.problems);
        assert!(view
            .problems
            .iter()
            .any(|problem| problem.starts_with("in-session filter: ")));
    }

    #[test]
    fn alternatives_are_added_and_removed_one_at_a_time() {
        let pairs = Pairs(query(&[("user", "ann,bob"), ("host", "x")]));
        assert_eq!(
            pairs.without_alternative("user", "ann"),
            Pairs(query(&[("user", "bob"), ("host", "x")]))
        );
        assert_eq!(
            pairs.without_alternative("host", "x"),
            Pairs(query(&[("user", "ann,bob")]))
        );
        assert_eq!(pairs.plus("user", "bob"), pairs);
        assert_eq!(pairs.plus("user", "carl").0.len(), 3);
        assert_eq!(pairs.with("user", "dan").get("user"), Some("dan"));
    }
}
