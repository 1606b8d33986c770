//! `Analyzer`: the per-exchange, order-independent pipeline stages as one pure function of
//! (exchange, configuration, installation secret).

use std::cell::Cell;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use hmac::{Hmac, Mac};
use memchr::memmem::Finder;
use sessionscope_detect::{Detector, SecretPlace, MAX_PAYLOAD_CHARS};
use sessionscope_model::{
    day_of, glob_matches, AnalyzedExchange, Attack, CompactString, ContextValue, Exchange,
    ParamKind, SessionId, StoredAs,
};
use sha2::Sha256;

use crate::extract::{extract, extract_first};
use crate::flows::flows_for;
use crate::identity::{builtin_key, custom_key, ISSUED_TOKEN_NEEDLE};
use crate::jwt;
use crate::memory::{new_memory, recall, Memory};
use crate::names;
use crate::point::{Point, PointStorage};
use crate::secrets::{looks_like_card_number, mask_path, mask_query, mask_query_by_rules, MASK};
use crate::settings::AnalysisConfig;
use crate::template::endpoint_template;
use crate::view::ExchangeView;

type HmacSha256 = Hmac<Sha256>;

/// Clear context values are cut to this many characters: a context value is a label for a person
/// to read, not a document.
pub const MAX_CLEAR_VALUE_CHARS: usize = 256;

/// Domain prefix of stored hashes, so a stored hash never equals the session id derived from the
/// same value.
const STORED_HASH_PREFIX: &[u8] = b"value\x1f";

/// Turns exchanges into analysed exchanges. Cheap to share: `&self` methods only, `Send + Sync`.
#[derive(Clone)]
pub struct Analyzer {
    config: AnalysisConfig,
    /// HMAC keyed with the installation secret, with the key already absorbed: cloning it per
    /// hash saves two SHA-256 blocks on every exchange.
    keyed_hmac: HmacSha256,
    /// Built once: finding `token"` in response bodies must not build a searcher per exchange.
    issued_token_finder: Finder<'static>,
    /// Attack detection (stage 4); `None` when switched off with `with_detection(false)`.
    detector: Option<Detector>,
    /// Tells this analyzer's (this secret's) remembered session ids from another's.
    serial: u64,
}

/// Key material longer than this is hashed every time rather than remembered.
const MAX_REMEMBERED_MATERIAL_BYTES: usize = 512;
/// Distinct key materials a thread remembers the session id of (then it starts over).
const REMEMBERED_SESSION_IDS: usize = 4_096;

static NEXT_ANALYZER_SERIAL: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// The session ids a thread derived lately, by key material: every request of a session
    /// carries the same key, and a lookup costs a fraction of the keyed hash. Held in process
    /// memory only, like the exchange the material came from.
    static SESSION_IDS: Memory<Box<[u8]>, SessionId> = new_memory(REMEMBERED_SESSION_IDS);
    /// The analyzer `SESSION_IDS` were derived by; another one (another secret) starts over.
    static SESSION_IDS_SERIAL: Cell<u64> = const { Cell::new(0) };
}

/// Which places hold secrets, for masking attack payloads: the same rules as for stored values
/// (a masked or credential name, a credential header; cookies are always masked by the detector).
fn is_secret_place(place: SecretPlace<'_>) -> bool {
    match place {
        SecretPlace::Header(name) => {
            names::is_credential_header(name) || names::is_masked_name(name)
        }
        SecretPlace::Parameter(name) => {
            names::is_masked_name(name) || names::is_credential_name(name)
        }
    }
}

impl fmt::Debug for Analyzer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Analyzer")
            .field("config", &self.config)
            .field("installation_secret", &"<hidden>")
            .finish()
    }
}

/// Host as stored: user information dropped, lowercase, trailing dot and default port removed.
/// Hosts are short: built as a `CompactString`, most need no allocation.
pub(crate) fn normalize_host(raw: &str) -> CompactString {
    let without_user = raw.rsplit_once('@').map_or(raw, |(_, host)| host);
    let mut host = CompactString::from(without_user.trim());
    host.make_ascii_lowercase();
    for default_port in [":80", ":443"] {
        if let Some(stripped) = host.strip_suffix(default_port) {
            // An unbracketed IPv6 address has colons of its own; only strip after a name, IPv4 or `]`.
            if stripped.ends_with(']') || !stripped.contains(':') {
                host.truncate(stripped.len());
                break;
            }
        }
    }
    if host.ends_with('.') {
        host.pop();
    }
    host
}

fn truncate_chars(value: &str, limit: usize) -> String {
    match value.char_indices().nth(limit) {
        Some((cut, _)) => value[..cut].to_string(),
        None => value.to_string(),
    }
}

impl Analyzer {
    pub fn new(config: AnalysisConfig, installation_secret: [u8; 32]) -> Analyzer {
        // HMAC zero-pads keys shorter than a block, so padding the secret here gives exactly
        // HMAC(secret, ·) while using the infallible constructor.
        let mut block_key = [0u8; 64];
        block_key[..32].copy_from_slice(&installation_secret);
        let keyed_hmac = <HmacSha256 as Mac>::new(&block_key.into());
        Analyzer {
            config,
            keyed_hmac,
            issued_token_finder: Finder::new(ISSUED_TOKEN_NEEDLE),
            detector: Some(Detector::with_secret_names(is_secret_place)),
            serial: NEXT_ANALYZER_SERIAL.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// Attack detection is on by default; `with_detection(false)` leaves `attacks` empty (for
    /// measuring the rest of the pipeline, or installations that detect elsewhere).
    pub fn with_detection(mut self, enabled: bool) -> Analyzer {
        self.detector = enabled.then(|| Detector::with_secret_names(is_secret_place));
        self
    }

    pub fn config(&self) -> &AnalysisConfig {
        &self.config
    }

    fn session_id(&self, material: &[u8]) -> SessionId {
        if material.len() > MAX_REMEMBERED_MATERIAL_BYTES {
            return self.derive_session_id(material);
        }
        SESSION_IDS.with(|memory| {
            if SESSION_IDS_SERIAL.with(|serial| serial.replace(self.serial)) != self.serial {
                memory.borrow_mut().clear();
            }
            recall(memory, REMEMBERED_SESSION_IDS, material, || {
                self.derive_session_id(material)
            })
        })
    }

    fn derive_session_id(&self, material: &[u8]) -> SessionId {
        let mut hmac = self.keyed_hmac.clone();
        hmac.update(material);
        let digest = hmac.finalize().into_bytes();
        let mut id = [0u8; 16];
        id.copy_from_slice(&digest[..16]);
        SessionId(id)
    }

    /// Keyed hash of a value as stored: 32 hex characters.
    pub(crate) fn stored_hash(&self, value: &str) -> String {
        let mut hmac = self.keyed_hmac.clone();
        hmac.update(STORED_HASH_PREFIX);
        hmac.update(value.as_bytes());
        hex::encode(&hmac.finalize().into_bytes()[..16])
    }

    /// The stored form of one value of a point (PRODUCT.md C3, C4). Takes the value by ownership
    /// so a clear value is stored without a copy.
    pub(crate) fn store_value(
        &self,
        value: String,
        storage: PointStorage,
        hashed: bool,
    ) -> (String, StoredAs) {
        if storage == PointStorage::Masked {
            return (MASK.to_string(), StoredAs::Masked);
        }
        let trimmed = value.trim();
        let credential = jwt::strip_bearer(trimmed);
        if storage == PointStorage::Hashed || hashed {
            return (self.stored_hash(credential), StoredAs::Hashed);
        }
        if looks_like_card_number(trimmed) {
            return (MASK.to_string(), StoredAs::Masked);
        }
        if jwt::looks_like_jwt(credential) {
            return (self.stored_hash(credential), StoredAs::Hashed);
        }
        if trimmed.len() == value.len() && value.len() <= MAX_CLEAR_VALUE_CHARS {
            return (value, StoredAs::Clear);
        }
        (
            truncate_chars(trimmed, MAX_CLEAR_VALUE_CHARS),
            StoredAs::Clear,
        )
    }

    /// The application: the exchange's own, else the first `[[apps]]` rule that matches.
    fn app_of(&self, exchange: &Exchange, host: &str, path: &str) -> CompactString {
        if let Some(app) = exchange.app.as_deref().filter(|app| !app.is_empty()) {
            return CompactString::from(app);
        }
        for rule in &self.config.apps {
            let path_matches = rule
                .path_glob
                .as_deref()
                .is_none_or(|glob| glob_matches(glob, path));
            if path_matches && glob_matches(&rule.host_glob, host) {
                return CompactString::from(rule.name.as_str());
            }
        }
        CompactString::default()
    }

    /// Runs stages 2–9 on one exchange (stage 4, attack detection, unless switched off). Pure:
    /// the same exchange gives the same result.
    pub fn analyze(&self, exchange: &Exchange) -> AnalyzedExchange {
        let view = ExchangeView::new(exchange);
        let request = &exchange.request;

        let raw_host = view
            .url
            .authority
            .filter(|authority| !authority.is_empty())
            .or(request.host.as_deref())
            .or_else(|| request.headers.get("host"))
            .unwrap_or("");
        let host = normalize_host(raw_host);
        let raw_path = view.url.path;
        let mut method = CompactString::from(request.method.trim());
        method.make_ascii_uppercase();
        let endpoint = endpoint_template(raw_path);
        // Mask rules are looked at only when one applies here: no rules cost nothing.
        let rules = &self.config.rules;
        let masks_apply = rules.has_masks_in(&host, &endpoint);

        let mut context = Vec::new();
        let mut user: Option<String> = None;
        let mut roles: Vec<String> = Vec::new();
        let mut values = Vec::new();
        for item in &self.config.context {
            values.clear();
            extract(&item.point, &view, &mut values);
            let masked_by_rule =
                masks_apply && rules.masks_point(&host, &endpoint, &item.point_text);
            for value in values.drain(..) {
                let (stored, stored_as) = if masked_by_rule {
                    (MASK.to_string(), StoredAs::Masked)
                } else {
                    self.store_value(value, item.storage, item.hashed)
                };
                // A masked value says nothing about who the user is.
                if stored_as != StoredAs::Masked {
                    match item.kind {
                        ParamKind::User if user.is_none() => user = Some(stored.clone()),
                        ParamKind::Role => roles.push(stored.clone()),
                        _ => {}
                    }
                }
                context.push(ContextValue {
                    name: item.stored_name.clone(),
                    point: item.stored_point.clone(),
                    kind: item.kind,
                    stored_as,
                    value: stored.into(),
                });
            }
        }
        roles.sort();
        roles.dedup();

        let flows = flows_for(&method, &endpoint);
        let app = self.app_of(exchange, &host, raw_path);

        let key = custom_key(&view, &self.config.keys)
            .unwrap_or_else(|| builtin_key(&view, &host, &self.issued_token_finder));
        let session_id = self.session_id(&key.material);

        let response = exchange.response.as_ref();
        let size = response.and_then(|response| {
            response
                .size
                .or_else(|| {
                    response
                        .headers
                        .get("content-length")
                        .and_then(|length| length.trim().parse().ok())
                })
                .or_else(|| response.body.as_ref().map(|body| body.len() as u64))
        });

        let query = view
            .url
            .query
            .map(|query| {
                let mut stored = mask_query(query);
                let secret_points = &self.config.secret_points;
                if secret_points.has_queries() {
                    stored =
                        mask_query_by_rules(&stored, |name| secret_points.is_secret_query(name));
                }
                if masks_apply {
                    mask_query_by_rules(&stored, |name| {
                        rules.masks_point(&host, &endpoint, &format!("request.query.{name}"))
                    })
                } else {
                    stored
                }
            })
            .unwrap_or_default();
        let attacks = self.detect_attacks(exchange, &view, &host, &endpoint);

        AnalyzedExchange {
            id: CompactString::from(exchange.id.as_str()),
            ts: exchange.ts,
            session_id,
            day: day_of(exchange.ts),
            session_key: key.label.into(),
            client_ip: exchange.client_ip,
            app,
            host,
            method,
            path: mask_path(raw_path).into(),
            query: query.into(),
            endpoint: endpoint.into(),
            flows,
            status: response.map(|response| response.status),
            duration_ms: response.and_then(|response| response.duration_ms),
            size,
            user_agent: request.headers.get("user-agent").map(CompactString::from),
            user: user.map(CompactString::from),
            roles: roles.into_iter().map(CompactString::from).collect(),
            context,
            attacks,
        }
    }

    /// Built-in detection, then the detection rules: virtual patches add findings, false
    /// positives and disabled detection drop them, masks hide payloads.
    fn detect_attacks(
        &self,
        exchange: &Exchange,
        view: &ExchangeView<'_>,
        host: &str,
        endpoint: &str,
    ) -> Vec<Attack> {
        let Some(detector) = &self.detector else {
            return Vec::new();
        };
        let mut attacks: Vec<Attack> = detector
            .detect_with_parsed_body(exchange, &view.url, view.request_json())
            .into_iter()
            .map(Attack::from)
            .collect();
        for attack in &mut attacks {
            if attack.payload != MASK && self.config.secret_points.hides_finding_at(&attack.point) {
                attack.payload = MASK.to_string();
            }
        }
        let rules = &self.config.rules;
        if rules.is_empty() {
            return attacks;
        }
        let mut values = Vec::new();
        for patch in rules.patches_in(host, endpoint) {
            let kind = patch.attack_type.as_str();
            let already_found = attacks
                .iter()
                .any(|attack| attack.kind == kind && attack.point == patch.point_text);
            if already_found {
                continue;
            }
            values.clear();
            extract(&patch.point, view, &mut values);
            let Some(value) = values.iter().find(|value| patch.pattern.is_match(value)) else {
                continue;
            };
            let payload = if patch.point.is_masked()
                || self
                    .config
                    .secret_points
                    .hides_finding_at(&patch.point_text)
            {
                MASK.to_string()
            } else {
                truncate_chars(value, MAX_PAYLOAD_CHARS)
            };
            attacks.push(Attack {
                kind: kind.to_string(),
                point: patch.point_text.clone(),
                payload,
                rule: patch.rule_id.clone(),
            });
        }
        attacks.retain(|attack| !rules.suppresses(host, endpoint, attack));
        if rules.has_masks_in(host, endpoint) {
            for attack in &mut attacks {
                if rules.masks_point(host, endpoint, &attack.point) {
                    attack.payload = MASK.to_string();
                }
            }
        }
        attacks
    }

    /// The value a point reads from an exchange, in the form it would be stored (a point previewed
    /// on its own is stored clear unless it is a credential, a secret or looks like one).
    pub fn preview(&self, point: &Point, exchange: &Exchange) -> Option<(String, StoredAs)> {
        let view = ExchangeView::new(exchange);
        let value = extract_first(point, &view)?;
        Some(self.store_value(value, point.storage(), false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembered_session_ids_are_the_derived_ones_of_their_own_secret() {
        let first = Analyzer::new(AnalysisConfig::default(), [1; 32]);
        let second = Analyzer::new(AnalysisConfig::default(), [2; 32]);
        let mut materials: Vec<Vec<u8>> = (0..100)
            .map(|index| format!("ip+ua\x1f{index}").into_bytes())
            .collect();
        materials.push(vec![b'k'; MAX_REMEMBERED_MATERIAL_BYTES + 1]);
        let remembered = || SESSION_IDS.with(|memory| memory.borrow().len());
        // One analyzer, then another (another secret), then the first again, on one thread; the
        // second round of each is answered from memory.
        for analyzer in [&first, &second, &first] {
            for round in 0..2 {
                for material in &materials {
                    let id = analyzer.session_id(material);
                    assert!(id == analyzer.derive_session_id(material), "round {round}");
                }
                assert_eq!(remembered(), 100);
            }
        }
        assert!(first.session_id(&materials[0]) != second.session_id(&materials[0]));
        // A clone shares the secret, and so the ids.
        let clone = first.clone();
        assert!(clone.session_id(&materials[0]) == first.derive_session_id(&materials[0]));
        // More keys than a thread keeps: the memory starts over and stays bounded.
        for index in 0..REMEMBERED_SESSION_IDS + 10 {
            let material = format!("ip\x1f{index}").into_bytes();
            assert!(first.session_id(&material) == first.derive_session_id(&material));
        }
        assert!(remembered() <= REMEMBERED_SESSION_IDS);
    }

    #[test]
    fn hosts_are_normalized() {
        let cases = [
            ("API.Example.com:443", "api.example.com"),
            ("api.example.com:80", "api.example.com"),
            ("api.example.com:8443", "api.example.com:8443"),
            ("user:pw@api.example.com", "api.example.com"),
            ("[::1]:443", "[::1]"),
            ("[::1]:8080", "[::1]:8080"),
            ("example.com.", "example.com"),
            ("", ""),
        ];
        for (raw, expected) in cases {
            assert_eq!(normalize_host(raw), expected, "{raw}");
        }
    }

    #[test]
    fn long_clear_values_are_cut_on_a_character_boundary() {
        let value = "é".repeat(MAX_CLEAR_VALUE_CHARS + 10);
        assert_eq!(
            truncate_chars(&value, MAX_CLEAR_VALUE_CHARS)
                .chars()
                .count(),
            MAX_CLEAR_VALUE_CHARS
        );
    }
}
