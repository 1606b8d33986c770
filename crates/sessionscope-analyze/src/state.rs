//! The order-dependent end of the pipeline, run on one thread in exchange order after `analyze`:
//! folding of high-cardinality path segments into `{param}` (PRODUCT.md D1), and inheritance of the
//! user and roles inside a session (PRODUCT.md U1). Memory is bounded on both sides.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher};

use sessionscope_model::{AnalyzedExchange, CompactString, SessionId};

use crate::flows::flows_for;
use crate::template::{is_placeholder, FOLDED_PLACEHOLDER};

/// A position is folded once more than this many distinct literal values were seen there: the
/// first 50 distinct values stay literal; from the 51st on, exchanges get `{param}` there (except
/// for established values, below).
pub const FOLD_THRESHOLD: usize = 50;

/// A literal seen in at least this many exchanges before its position folded keeps its own
/// endpoint, so that `/api` survives a crowd of one-off siblings.
pub const ESTABLISHED_HITS: u32 = 20;

/// At most this many positions are tracked for folding; positions first seen after that never fold.
/// Each holds at most `FOLD_THRESHOLD + 1` small entries, so this bounds the memory to a few MB.
pub const MAX_FOLD_POSITIONS: usize = 20_000;

/// foldhash with its fixed seed: deterministic across runs (so folding decisions are
/// reproducible) and much cheaper than SipHash for the keys hashed here on every exchange. No input
/// chooses the keys of these maps freely enough to matter: positions are bounded, literals are
/// counted, not stored, and session ids are HMACs.
type Fixed = foldhash::fast::FixedState;

fn fixed_hasher() -> foldhash::fast::FoldHasher<'static> {
    Fixed::default().build_hasher()
}

type FastMap<K, V> = HashMap<K, V, Fixed>;

/// Distinct literal values seen at one (host, method, template prefix, position).
#[derive(Debug, Default)]
struct FoldPosition {
    /// Hash of a literal and how many exchanges had it; dropped to the established ones once folded.
    literals: Vec<(u64, u32)>,
    folded: bool,
}

#[derive(Debug, Clone, Default)]
struct Remembered {
    user: Option<CompactString>,
    roles: Vec<CompactString>,
}

/// Order-dependent state: see the module documentation. Not shared between threads.
pub struct SessionState {
    /// How many sessions' users and roles are remembered.
    capacity: usize,
    /// Two generations: when the recent one is full it becomes the older one and the previous older
    /// one is dropped, which bounds memory without a clock and keeps active sessions (a hit in the
    /// older generation moves back to the recent one).
    recent: FastMap<SessionId, Remembered>,
    older: FastMap<SessionId, Remembered>,
    fold_positions: FastMap<u64, FoldPosition>,
}

impl std::fmt::Debug for SessionState {
    /// Sizes only: the remembered users are data, not something to print by accident.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionState")
            .field("capacity", &self.capacity)
            .field(
                "remembered_sessions",
                &(self.recent.len() + self.older.len()),
            )
            .field("fold_positions", &self.fold_positions.len())
            .finish()
    }
}

fn hash_of(text: &str) -> u64 {
    let mut hasher = fixed_hasher();
    hasher.write(text.as_bytes());
    hasher.finish()
}

impl SessionState {
    /// `capacity`: how many sessions' users and roles are remembered (0 disables inheritance).
    pub fn new(capacity: usize) -> SessionState {
        SessionState {
            capacity,
            recent: FastMap::default(),
            older: FastMap::default(),
            fold_positions: FastMap::default(),
        }
    }

    /// Folds the endpoint (recomputing its flows when it changes) and fills in the user and roles
    /// remembered for the session, or remembers the exchange's own.
    pub fn complete(&mut self, exchange: &mut AnalyzedExchange) {
        let counts_as_evidence = exchange.status.is_none_or(|status| status < 400);
        if let Some(folded) = self.fold(
            &exchange.host,
            &exchange.method,
            &exchange.endpoint,
            counts_as_evidence,
        ) {
            exchange.flows = flows_for(&exchange.method, &folded);
            exchange.endpoint = folded.into();
        }
        self.inherit(exchange);
    }

    /// The folded template, or `None` when nothing folds. Error responses do not count as evidence
    /// of a variable segment: a scanner's 404s must not fold a host's real endpoints.
    fn fold(
        &mut self,
        host: &str,
        method: &str,
        endpoint: &str,
        counts_as_evidence: bool,
    ) -> Option<String> {
        let mut prefix = fixed_hasher();
        host.hash(&mut prefix);
        method.hash(&mut prefix);
        let mut folded: Option<String> = None;
        for (position, segment) in endpoint.split('/').enumerate() {
            let is_literal = !segment.is_empty() && !is_placeholder(segment);
            let mut fold_here = false;
            if is_literal {
                let position_key = {
                    let mut key = prefix.clone();
                    key.write_u64(position as u64);
                    key.finish()
                };
                fold_here = self.observe(position_key, hash_of(segment), counts_as_evidence);
            }
            let written = if fold_here {
                FOLDED_PLACEHOLDER
            } else {
                segment
            };
            written.hash(&mut prefix);
            if fold_here && folded.is_none() {
                let earlier: Vec<&str> = endpoint.split('/').take(position).collect();
                folded = Some(earlier.join("/"));
            }
            if let Some(template) = folded.as_mut() {
                if position > 0 {
                    template.push('/');
                }
                template.push_str(written);
            }
        }
        folded
    }

    /// Records a literal at a position; true when the position is folded for it.
    fn observe(&mut self, position_key: u64, literal: u64, counts_as_evidence: bool) -> bool {
        let tracked = self.fold_positions.len();
        let slot = match self.fold_positions.get_mut(&position_key) {
            Some(slot) => slot,
            None => {
                if tracked >= MAX_FOLD_POSITIONS || !counts_as_evidence {
                    return false;
                }
                self.fold_positions.entry(position_key).or_default()
            }
        };
        let known = slot.literals.iter_mut().find(|(hash, _)| *hash == literal);
        if slot.folded {
            return known.is_none();
        }
        if !counts_as_evidence {
            return false;
        }
        match known {
            Some((_, hits)) => {
                *hits = hits.saturating_add(1);
                false
            }
            None => {
                slot.literals.push((literal, 1));
                if slot.literals.len() <= FOLD_THRESHOLD {
                    return false;
                }
                slot.folded = true;
                slot.literals.retain(|(_, hits)| *hits >= ESTABLISHED_HITS);
                slot.literals.shrink_to_fit();
                true
            }
        }
    }

    fn inherit(&mut self, exchange: &mut AnalyzedExchange) {
        if self.capacity == 0 {
            return;
        }
        let has_own = exchange.user.is_some() || !exchange.roles.is_empty();
        let id = exchange.session_id;
        if !self.recent.contains_key(&id) {
            let from_older = self.older.remove(&id);
            if from_older.is_none() && !has_own {
                return;
            }
            if self.recent.len() >= (self.capacity / 2).max(1) {
                self.older = std::mem::take(&mut self.recent);
            }
            self.recent.insert(id, from_older.unwrap_or_default());
        }
        let Some(remembered) = self.recent.get_mut(&id) else {
            return;
        };
        // A session repeats its user and roles on most requests: copy only what changed.
        match &exchange.user {
            Some(user) if remembered.user.as_ref() != Some(user) => {
                remembered.user = Some(user.clone());
            }
            Some(_) => {}
            None => exchange.user = remembered.user.clone(),
        }
        if exchange.roles.is_empty() {
            exchange.roles = remembered.roles.clone();
        } else if remembered.roles != exchange.roles {
            remembered.roles = exchange.roles.clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sessionscope_model::FlowSet;

    fn exchange(session: u8, endpoint: &str) -> AnalyzedExchange {
        AnalyzedExchange {
            id: "x".into(),
            ts: 0,
            session_id: SessionId([session; 16]),
            day: 0,
            session_key: "builtin:ip".into(),
            client_ip: None,
            app: Default::default(),
            host: "api.example".into(),
            method: "GET".into(),
            path: endpoint.into(),
            query: Default::default(),
            endpoint: endpoint.into(),
            flows: FlowSet::default(),
            status: Some(200),
            duration_ms: None,
            size: None,
            user_agent: None,
            user: None,
            roles: Vec::new(),
            context: Vec::new(),
            attacks: Vec::new(),
        }
    }

    fn completed(state: &mut SessionState, mut exchange: AnalyzedExchange) -> AnalyzedExchange {
        state.complete(&mut exchange);
        exchange
    }

    #[test]
    fn high_cardinality_segments_fold_after_the_threshold() {
        let mut state = SessionState::new(10);
        for index in 0..FOLD_THRESHOLD {
            let done = completed(
                &mut state,
                exchange(1, &format!("/users/name{index}/orders")),
            );
            assert_eq!(done.endpoint, format!("/users/name{index}/orders"));
        }
        let done = completed(&mut state, exchange(1, "/users/newcomer/orders"));
        assert_eq!(done.endpoint, "/users/{param}/orders");
        let done = completed(&mut state, exchange(1, "/users/name3/orders"));
        assert_eq!(
            done.endpoint, "/users/{param}/orders",
            "earlier values fold too once the position folded"
        );
        let done = completed(&mut state, exchange(1, "/accounts/name3/orders"));
        assert_eq!(
            done.endpoint, "/accounts/name3/orders",
            "other prefixes are counted apart"
        );
    }

    #[test]
    fn folding_recomputes_flows_and_spares_established_values() {
        let mut state = SessionState::new(10);
        for _ in 0..ESTABLISHED_HITS {
            completed(&mut state, exchange(1, "/admin"));
        }
        for index in 0..FOLD_THRESHOLD {
            completed(&mut state, exchange(1, &format!("/page{index}")));
        }
        let mut admin = exchange(1, "/admin");
        admin.flows = flows_for("GET", "/admin");
        let admin = completed(&mut state, admin);
        assert_eq!(admin.endpoint, "/admin");
        let mut other = exchange(1, "/billing");
        other.flows = flows_for("GET", "/billing");
        let other = completed(&mut state, other);
        assert_eq!(other.endpoint, "/{param}");
        assert!(other.flows.is_empty());
    }

    #[test]
    fn error_responses_do_not_fold_endpoints() {
        let mut state = SessionState::new(10);
        for index in 0..FOLD_THRESHOLD * 2 {
            let mut probe = exchange(1, &format!("/probe{index}"));
            probe.status = Some(404);
            completed(&mut state, probe);
        }
        assert_eq!(completed(&mut state, exchange(1, "/api")).endpoint, "/api");
    }

    #[test]
    fn user_and_roles_are_inherited_inside_a_session() {
        let mut state = SessionState::new(10);
        let first = completed(&mut state, exchange(1, "/a"));
        assert_eq!(first.user, None);
        let mut login = exchange(1, "/login");
        login.user = Some("ann".into());
        login.roles = vec!["admin".into()];
        completed(&mut state, login);
        let later = completed(&mut state, exchange(1, "/b"));
        assert_eq!(later.user.as_deref(), Some("ann"));
        assert_eq!(later.roles, vec!["admin".to_string()]);
        let other_session = completed(&mut state, exchange(2, "/b"));
        assert_eq!(other_session.user, None);
        let mut switch = exchange(1, "/c");
        switch.user = Some("bob".into());
        completed(&mut state, switch);
        assert_eq!(
            completed(&mut state, exchange(1, "/d")).user.as_deref(),
            Some("bob")
        );
        assert_eq!(
            completed(&mut state, exchange(1, "/d")).roles,
            vec!["admin".to_string()]
        );
    }

    #[test]
    fn remembered_sessions_are_bounded() {
        let mut state = SessionState::new(4);
        for session in 0..100u8 {
            let mut with_user = exchange(session, "/a");
            with_user.user = Some(format!("user{session}").into());
            completed(&mut state, with_user);
        }
        assert!(state.recent.len() + state.older.len() <= 4);
        assert_eq!(
            completed(&mut state, exchange(99, "/b")).user.as_deref(),
            Some("user99")
        );
        assert_eq!(completed(&mut state, exchange(0, "/b")).user, None);
    }
}
