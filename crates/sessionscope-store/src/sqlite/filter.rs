//! A `SessionFilter` evaluated against stored exchange rows, and the dictionary look-ups it needs.
//! Text predicates are evaluated once per dictionary id and remembered.

use std::collections::HashMap;
use std::net::IpAddr;
use std::rc::Rc;

use rusqlite::{params, Connection, OptionalExtension};
use sessionscope_model::{glob_matches, SessionFilter};

use super::aggregate::SET_SEPARATOR;
use super::writer::address_from_bytes;

/// Past this many entries a reader's name cache is cleared, to bound memory during exports.
const MAX_CACHED_NAMES: usize = 100_000;

/// Dictionary id → text, cached per read.
pub(crate) struct Names<'c> {
    connection: &'c Connection,
    strings: HashMap<i64, Rc<str>>,
    addresses: HashMap<i64, Option<IpAddr>>,
}

impl<'c> Names<'c> {
    pub fn new(connection: &'c Connection) -> Names<'c> {
        Names {
            connection,
            strings: HashMap::new(),
            addresses: HashMap::new(),
        }
    }

    pub fn connection(&self) -> &'c Connection {
        self.connection
    }

    pub fn text(&mut self, id: i64) -> rusqlite::Result<Rc<str>> {
        if let Some(text) = self.strings.get(&id) {
            return Ok(text.clone());
        }
        let text: Option<String> = self
            .connection
            .prepare_cached("SELECT text FROM strings WHERE id = ?1")?
            .query_row(params![id], |row| row.get(0))
            .optional()?;
        let text: Rc<str> = Rc::from(text.unwrap_or_default());
        if self.strings.len() >= MAX_CACHED_NAMES {
            self.strings.clear();
        }
        self.strings.insert(id, text.clone());
        Ok(text)
    }

    pub fn address(&mut self, id: i64) -> rusqlite::Result<Option<IpAddr>> {
        if let Some(address) = self.addresses.get(&id) {
            return Ok(*address);
        }
        let bytes: Option<Vec<u8>> = self
            .connection
            .prepare_cached("SELECT address FROM addresses WHERE id = ?1")?
            .query_row(params![id], |row| row.get(0))
            .optional()?;
        let address = bytes.as_deref().and_then(address_from_bytes);
        if self.addresses.len() >= MAX_CACHED_NAMES {
            self.addresses.clear();
        }
        self.addresses.insert(id, address);
        Ok(address)
    }

    /// Members of an interned set (role set, attack type set).
    pub fn set_members(&mut self, id: Option<i64>) -> rusqlite::Result<Vec<String>> {
        let Some(id) = id else { return Ok(Vec::new()) };
        let text = self.text(id)?;
        Ok(text.split(SET_SEPARATOR).map(str::to_string).collect())
    }
}

/// A stored exchange as the read side sees it (decoded from its block).
#[derive(Debug, Clone)]
pub(crate) struct StoredExchange {
    pub seq: i64,
    pub part_id: i64,
    pub ts: i64,
    pub id: String,
    pub address_id: Option<i64>,
    pub host_id: i64,
    pub app_id: i64,
    pub method_id: i64,
    pub template_id: i64,
    pub path: String,
    pub status: Option<u16>,
    pub duration: Option<f64>,
    pub size: Option<i64>,
    pub user_id: Option<i64>,
    pub role_set_id: Option<i64>,
    pub key_id: i64,
    pub flows: u8,
    pub attack_set_id: Option<i64>,
    pub attacks: Option<String>,
    pub query: Option<String>,
    pub user_agent_id: Option<i64>,
    pub context_id: Option<i64>,
    /// The context as JSON text, for a context stored in the entry instead of the dictionary.
    pub context_text: Option<String>,
}

/// The columns of the `exchanges` table of schema versions 1 and 2, in `from_row` order; the
/// migration to blocks reads them.
pub(crate) const EXCHANGE_COLUMNS: &str =
    "seq, part_id, ts, id, address_id, host_id, app_id, method_id, template_id, path,
    status, duration, size, user_id, role_set_id, key_id, flows, attack_set_id, attacks,
    query, user_agent_id, context_id";

impl StoredExchange {
    pub fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredExchange> {
        Ok(StoredExchange {
            seq: row.get(0)?,
            part_id: row.get(1)?,
            ts: row.get(2)?,
            id: row.get(3)?,
            address_id: row.get(4)?,
            host_id: row.get(5)?,
            app_id: row.get(6)?,
            method_id: row.get(7)?,
            template_id: row.get(8)?,
            path: row.get(9)?,
            status: row
                .get::<_, Option<i64>>(10)?
                .and_then(|status| u16::try_from(status).ok()),
            duration: row.get(11)?,
            size: row.get(12)?,
            user_id: row.get(13)?,
            role_set_id: row.get(14)?,
            key_id: row.get(15)?,
            flows: row.get::<_, i64>(16)? as u8,
            attack_set_id: row.get(17)?,
            attacks: row.get(18)?,
            query: row.get(19)?,
            user_agent_id: row.get(20)?,
            context_id: row.get(21)?,
            context_text: None,
        })
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Field {
    App,
    Host,
    User,
    Roles,
    Address,
    Method,
    Template,
    Attacks,
}

/// A filter ready to test exchanges; `session_ids` are applied by the caller, who picks the parts.
pub(crate) struct Matcher<'f> {
    filter: &'f SessionFilter,
    flow_mask: u8,
    methods: Vec<String>,
    hosts: Vec<String>,
    memo: HashMap<(Field, i64), bool>,
}

impl<'f> Matcher<'f> {
    pub fn filter(&self) -> &'f SessionFilter {
        self.filter
    }

    pub fn new(filter: &'f SessionFilter) -> Matcher<'f> {
        let flow_mask = filter
            .flows
            .iter()
            .map(|flow| flow_bit(*flow))
            .fold(0, |mask, bit| mask | bit);
        Matcher {
            filter,
            flow_mask,
            methods: filter
                .methods
                .iter()
                .map(|method| method.to_ascii_uppercase())
                .collect(),
            hosts: filter
                .hosts
                .iter()
                .map(|host| host.to_ascii_lowercase())
                .collect(),
            memo: HashMap::new(),
        }
    }

    fn remembered(
        &mut self,
        field: Field,
        id: i64,
        names: &mut Names<'_>,
        test: impl FnOnce(&Matcher<'f>, &mut Names<'_>) -> rusqlite::Result<bool>,
    ) -> rusqlite::Result<bool> {
        if let Some(known) = self.memo.get(&(field, id)) {
            return Ok(*known);
        }
        let result = test(self, names)?;
        if self.memo.len() > MAX_CACHED_NAMES {
            self.memo.clear();
        }
        self.memo.insert((field, id), result);
        Ok(result)
    }

    /// Whether the exchange lies in the window and matches every field (except session ids).
    pub fn matches(
        &mut self,
        names: &mut Names<'_>,
        exchange: &StoredExchange,
    ) -> rusqlite::Result<bool> {
        let filter = self.filter;
        if !filter.contains_time(exchange.ts) {
            return Ok(false);
        }
        if !filter.statuses.is_empty() {
            let Some(status) = exchange.status else {
                return Ok(false);
            };
            if !filter.statuses.iter().any(|wanted| wanted.matches(status)) {
                return Ok(false);
            }
        }
        if !filter.flows.is_empty() && exchange.flows & self.flow_mask == 0 {
            return Ok(false);
        }
        if !filter.request_ids.is_empty() && !filter.request_ids.contains(&exchange.id) {
            return Ok(false);
        }
        if !filter.apps.is_empty()
            && !self.remembered(Field::App, exchange.app_id, names, |matcher, names| {
                let text = names.text(exchange.app_id)?;
                Ok(matcher.filter.apps.iter().any(|app| **app == *text))
            })?
        {
            return Ok(false);
        }
        if !filter.hosts.is_empty()
            && !self.remembered(Field::Host, exchange.host_id, names, |matcher, names| {
                let text = names.text(exchange.host_id)?;
                Ok(matcher
                    .hosts
                    .iter()
                    .any(|host| host.eq_ignore_ascii_case(&text)))
            })?
        {
            return Ok(false);
        }
        if !filter.methods.is_empty()
            && !self.remembered(
                Field::Method,
                exchange.method_id,
                names,
                |matcher, names| {
                    let text = names.text(exchange.method_id)?;
                    Ok(matcher
                        .methods
                        .iter()
                        .any(|method| method.eq_ignore_ascii_case(&text)))
                },
            )?
        {
            return Ok(false);
        }
        if !filter.users.is_empty() {
            let Some(user_id) = exchange.user_id else {
                return Ok(false);
            };
            let matched = self.remembered(Field::User, user_id, names, |matcher, names| {
                let text = names.text(user_id)?;
                Ok(matcher.filter.users.iter().any(|user| **user == *text))
            })?;
            if !matched {
                return Ok(false);
            }
        }
        if !filter.roles.is_empty() {
            let Some(role_set_id) = exchange.role_set_id else {
                return Ok(false);
            };
            let matched = self.remembered(Field::Roles, role_set_id, names, |matcher, names| {
                let members = names.set_members(Some(role_set_id))?;
                Ok(members
                    .iter()
                    .any(|role| matcher.filter.roles.contains(role)))
            })?;
            if !matched {
                return Ok(false);
            }
        }
        if !filter.attack_types.is_empty() {
            let Some(attack_set_id) = exchange.attack_set_id else {
                return Ok(false);
            };
            let matched =
                self.remembered(Field::Attacks, attack_set_id, names, |matcher, names| {
                    let members = names.set_members(Some(attack_set_id))?;
                    Ok(members
                        .iter()
                        .any(|attack| matcher.filter.attack_types.contains(attack)))
                })?;
            if !matched {
                return Ok(false);
            }
        }
        if !filter.client_ips.is_empty() {
            let Some(address_id) = exchange.address_id else {
                return Ok(false);
            };
            let matched =
                self.remembered(Field::Address, address_id, names, |matcher, names| {
                    let Some(address) = names.address(address_id)? else {
                        return Ok(false);
                    };
                    Ok(matcher
                        .filter
                        .client_ips
                        .iter()
                        .any(|network| network_contains(network, address)))
                })?;
            if !matched {
                return Ok(false);
            }
        }
        if !filter.endpoints.is_empty() {
            let template_matches = self.remembered(
                Field::Template,
                exchange.template_id,
                names,
                |matcher, names| {
                    let template = names.text(exchange.template_id)?;
                    Ok(matcher
                        .filter
                        .endpoints
                        .iter()
                        .any(|pattern| glob_matches(pattern, &template)))
                },
            )?;
            if !template_matches
                && !filter
                    .endpoints
                    .iter()
                    .any(|pattern| glob_matches(pattern, &exchange.path))
            {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

pub(crate) fn flow_bit(flow: sessionscope_model::Flow) -> u8 {
    let mut set = sessionscope_model::FlowSet::default();
    set.insert(flow);
    set.0
}

/// CIDR containment that also matches an IPv4 address against an IPv4-mapped IPv6 network and back.
pub(crate) fn network_contains(network: &ipnet::IpNet, address: IpAddr) -> bool {
    if network.contains(&address) {
        return true;
    }
    match address {
        IpAddr::V4(v4) => network.contains(&IpAddr::V6(v4.to_ipv6_mapped())),
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .is_some_and(|v4| network.contains(&IpAddr::V4(v4))),
    }
}

/// Whether some text could match both `pattern` (glob: `*`, `?`) and `template`, reading each
/// `{...}` placeholder of the template as "any run of characters without `/`". Used to find the
/// templates whose raw paths might match a pattern; the exchanges are verified afterwards.
pub(crate) fn template_may_match_path(pattern: &str, template: &str) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum Token {
        Literal(char),
        AnyOne,
        AnyRun,
        /// A placeholder: any run without `/`.
        Segment,
    }
    let pattern_tokens: Vec<Token> = pattern
        .chars()
        .map(|c| match c {
            '*' => Token::AnyRun,
            '?' => Token::AnyOne,
            other => Token::Literal(other),
        })
        .collect();
    let mut template_tokens = Vec::new();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '{' {
            // Skip to the closing brace; an unclosed brace is read literally.
            let rest: String = chars.clone().collect();
            if let Some(close) = rest.find('}') {
                for _ in 0..rest[..=close].chars().count() {
                    chars.next();
                }
                template_tokens.push(Token::Segment);
                continue;
            }
        }
        template_tokens.push(Token::Literal(c));
    }
    let (pattern_len, template_len) = (pattern_tokens.len(), template_tokens.len());
    // reachable[i][j]: the first i pattern tokens and first j template tokens can produce the same text.
    let mut reachable = vec![vec![false; template_len + 1]; pattern_len + 1];
    reachable[0][0] = true;
    // Explore states in order; each transition consumes at least one token from one side or
    // lets a run token end, so i + j never decreases and a simple double loop suffices when
    // zero-length runs are handled by skipping.
    for i in 0..=pattern_len {
        for j in 0..=template_len {
            if !reachable[i][j] {
                continue;
            }
            let pattern_token = pattern_tokens.get(i).copied();
            let template_token = template_tokens.get(j).copied();
            // A run on either side may end (match nothing more).
            if matches!(pattern_token, Some(Token::AnyRun)) {
                reachable[i + 1][j] = true;
            }
            if matches!(template_token, Some(Token::Segment)) {
                reachable[i][j + 1] = true;
            }
            let (Some(p), Some(t)) = (pattern_token, template_token) else {
                continue;
            };
            // Produce one character on both sides.
            let produced = match (p, t) {
                (Token::Literal(a), Token::Literal(b)) => a == b,
                (Token::Literal(a), Token::Segment) => a != '/',
                (Token::Literal(_), _) | (_, Token::Literal(_)) => true,
                _ => true,
            };
            if !produced {
                continue;
            }
            let next_i = if p == Token::AnyRun { i } else { i + 1 };
            let next_j = if t == Token::Segment { j } else { j + 1 };
            if next_i == i && next_j == j {
                // Both are runs: one shared character keeps both open; ending either is covered above.
                continue;
            }
            reachable[next_i][next_j] = true;
        }
    }
    reachable[pattern_len][template_len]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_path_patterns_find_their_templates() {
        let cases = [
            ("/v1/users/42", "/v1/users/{int}", true),
            ("/v1/users/42/orders", "/v1/users/{int}", false),
            ("/v1/users/*", "/v1/users/{int}", true),
            ("*/orders", "/v1/users/{int}/orders", true),
            ("/v2/*", "/v1/users/{int}", false),
            ("/v1/users/4?", "/v1/users/{int}", true),
            ("/v1/login", "/v1/login", true),
            ("/v1/logout", "/v1/login", false),
            ("*", "/anything/{x}", true),
            ("/a/b/c", "/a/{x}", false),
        ];
        for (pattern, template, expected) in cases {
            assert_eq!(
                template_may_match_path(pattern, template),
                expected,
                "{pattern} vs {template}"
            );
        }
    }

    #[test]
    fn networks_contain_mapped_addresses() {
        let network: ipnet::IpNet = "10.0.0.0/8".parse().unwrap();
        assert!(network_contains(&network, "10.1.2.3".parse().unwrap()));
        assert!(network_contains(
            &network,
            "::ffff:10.1.2.3".parse().unwrap()
        ));
        assert!(!network_contains(&network, "11.1.2.3".parse().unwrap()));
    }
}
