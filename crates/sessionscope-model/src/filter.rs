//! The filter model shared by the session list, a session's requests, exports and the console.
//!
//! Within one field the values are alternatives (any may match); different fields must all match.
//! Every field applies to single requests: a session matches when at least one of its requests in
//! the time window matches every field, and only the matching requests are counted and shown
//! inside it (PRODUCT.md E4, E5).

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::{Flow, Micros, SessionId};

/// A response-code filter: one code (`404`) or a class (`4xx`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusFilter {
    Code(u16),
    /// The hundreds digit: 4 for `4xx`.
    Class(u8),
}

impl StatusFilter {
    pub fn parse(text: &str) -> Option<StatusFilter> {
        // Compared byte by byte, never sliced: a value may hold any characters, and a slice
        // inside a multi-byte one would panic.
        let bytes = text.as_bytes();
        if let [class, x1, x2] = *bytes {
            if x1.eq_ignore_ascii_case(&b'x') && x2.eq_ignore_ascii_case(&b'x') {
                return (b'1'..=b'5')
                    .contains(&class)
                    .then(|| StatusFilter::Class(class - b'0'));
            }
        }
        // Three digits only: `u16::from_str` would also take a leading `+` or zeros.
        if bytes.len() != 3 || !bytes.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let code: u16 = text.parse().ok()?;
        (100..=599)
            .contains(&code)
            .then_some(StatusFilter::Code(code))
    }

    pub fn matches(self, status: u16) -> bool {
        match self {
            StatusFilter::Code(code) => status == code,
            StatusFilter::Class(class) => status / 100 == class as u16,
        }
    }

    /// The inclusive range of codes it matches.
    pub fn range(self) -> (u16, u16) {
        match self {
            StatusFilter::Code(code) => (code, code),
            StatusFilter::Class(class) => (class as u16 * 100, class as u16 * 100 + 99),
        }
    }
}

impl std::fmt::Display for StatusFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StatusFilter::Code(code) => write!(f, "{code}"),
            StatusFilter::Class(class) => write!(f, "{class}xx"),
        }
    }
}

/// General filters (PRODUCT.md E2–E4). An empty filter matches everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionFilter {
    /// Inclusive start of the time window.
    pub from: Option<Micros>,
    /// Exclusive end of the time window.
    pub to: Option<Micros>,
    pub apps: Vec<String>,
    pub hosts: Vec<String>,
    pub flows: Vec<Flow>,
    pub users: Vec<String>,
    pub roles: Vec<String>,
    /// Addresses and networks; a plain address is a /32 or /128.
    pub client_ips: Vec<IpNet>,
    /// Upper-case methods.
    pub methods: Vec<String>,
    pub statuses: Vec<StatusFilter>,
    pub session_ids: Vec<SessionId>,
    pub request_ids: Vec<String>,
    /// Patterns with `*` (any run) and `?` (one character), matched against endpoint templates and raw paths.
    pub endpoints: Vec<String>,
    /// Attack types from the attack vocabulary.
    pub attack_types: Vec<String>,
}

impl SessionFilter {
    /// True when only the time window (or nothing) is set.
    pub fn is_time_only(&self) -> bool {
        self.apps.is_empty()
            && self.hosts.is_empty()
            && self.flows.is_empty()
            && self.users.is_empty()
            && self.roles.is_empty()
            && self.client_ips.is_empty()
            && self.methods.is_empty()
            && self.statuses.is_empty()
            && self.session_ids.is_empty()
            && self.request_ids.is_empty()
            && self.endpoints.is_empty()
            && self.attack_types.is_empty()
    }

    pub fn contains_time(&self, ts: Micros) -> bool {
        self.from.is_none_or(|from| ts >= from) && self.to.is_none_or(|to| ts < to)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortField {
    #[default]
    Time,
    Duration,
    Size,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortDirection {
    #[default]
    Asc,
    Desc,
}

/// Order of a session's request table (PRODUCT.md E6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RequestSort {
    pub field: SortField,
    pub direction: SortDirection,
}

/// Matches `text` against a pattern where `*` is any run of characters and `?` exactly one;
/// the whole text must match.
pub fn glob_matches(pattern: &str, text: &str) -> bool {
    if !pattern.contains(['*', '?']) {
        return pattern == text;
    }
    // Byte-wise is exact for ASCII (every byte is a character); `?` must count characters
    // otherwise, so other text is matched character by character.
    if pattern.is_ascii() && text.is_ascii() {
        wildcard_match(pattern.as_bytes(), text.as_bytes(), b'*', b'?')
    } else {
        let pattern: Vec<char> = pattern.chars().collect();
        let text: Vec<char> = text.chars().collect();
        wildcard_match(&pattern, &text, '*', '?')
    }
}

/// `*` any run, `?` any one unit; a mismatch backtracks to the last `*` only.
fn wildcard_match<T: PartialEq + Copy>(pattern: &[T], text: &[T], any_run: T, any_one: T) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    // Position of the last `*` and the text position it was tried at, for backtracking.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == any_one || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == any_run {
            star = Some((p, t));
            p += 1;
        } else if let Some((star_p, star_t)) = star {
            p = star_p + 1;
            t = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    while p < pattern.len() && pattern[p] == any_run {
        p += 1;
    }
    p == pattern.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_star_matches_any_run_and_question_mark_one_character() {
        assert!(glob_matches("/v1/users/*", "/v1/users/{int}"));
        assert!(glob_matches("/v1/*/orders", "/v1/users/7/orders"));
        assert!(glob_matches("*login*", "/api/v2/login"));
        assert!(glob_matches("/v?/login", "/v2/login"));
        assert!(!glob_matches("/v?/login", "/v10/login"));
        assert!(!glob_matches("/v1/users", "/v1/users/7"));
        assert!(glob_matches("*", ""));
        assert!(!glob_matches("?", ""));
        assert!(glob_matches("api.shop.example", "api.shop.example"));
        assert!(!glob_matches("api.shop.example", "api.shop.example.org"));
    }

    #[test]
    fn glob_question_mark_is_one_character_in_any_script() {
        assert!(glob_matches("/caf?", "/café"));
        assert!(glob_matches("/?/x", "/ü/x"));
        assert!(!glob_matches("/?/x", "/üü/x"));
        assert!(glob_matches("*.пример", "магазин.пример"));
    }

    #[test]
    fn status_filters_take_codes_and_classes() {
        assert_eq!(StatusFilter::parse("404"), Some(StatusFilter::Code(404)));
        assert_eq!(StatusFilter::parse("5xx"), Some(StatusFilter::Class(5)));
        assert!(StatusFilter::parse("5XX").unwrap().matches(503));
        assert_eq!(StatusFilter::parse("700"), None);
        assert_eq!(StatusFilter::parse("9xx"), None);
        assert_eq!(StatusFilter::Class(4).range(), (400, 499));
    }

    #[test]
    fn status_filters_refuse_any_other_text_without_panicking() {
        for text in [
            "ÞC",
            "4Þ",
            "xÞ",
            "Þxx",
            "4xÞ",
            "4ẋx",
            "",
            " ",
            "+404",
            "-404",
            "4 4",
            "04xx",
            "4x",
            "4xxx",
            "\u{0}xx",
            "65936",
            "99999999999999999999",
            "😀",
            "é4",
        ] {
            assert_eq!(StatusFilter::parse(text), None, "{text:?}");
        }
        // Exactly three characters, as the OpenAPI document states.
        assert_eq!(StatusFilter::parse(" 404 "), None);
        assert_eq!(StatusFilter::parse("0404"), None);
    }
}
