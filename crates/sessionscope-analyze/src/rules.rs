//! Detection rules (PRODUCT.md A3, A4): configuration that changes what attack detection reports
//! and stores. Four kinds, each limited to a scope (everywhere, one host, or one endpoint of one
//! host):
//!
//! - `false_positive`: drops findings at a point — of one type with one payload (narrowest), of
//!   one type, or of every type (broadest);
//! - `virtual_patch`: a regular expression on the values of a point reports an attack type;
//! - `disable_detection`: drops every finding at a point, or every finding at all;
//! - `mask_parameter`: the values of a point are never stored (context values, query string)
//!   and attack payloads found there are masked.
//!
//! Rules are part of the analysis settings, so they are stored and changed with the change log
//! like every other setting. `DetectionRule` is the raw form (loose, so every mistake is
//! reported at once with its location); `RuleSet` is the validated form the analyzer applies and
//! that re-evaluation of stored data asks (`RuleSet::suppresses`).

use regex::Regex;
use serde::{Deserialize, Serialize};
use sessionscope_detect::AttackKind;
use sessionscope_model::{glob_matches, Attack};

use crate::point::Point;
use crate::settings::ConfigProblem;
use crate::template::FOLDED_PLACEHOLDER;

/// The rule kinds, by their names in the settings.
pub const RULE_KINDS: [&str; 4] = [
    FALSE_POSITIVE,
    VIRTUAL_PATCH,
    DISABLE_DETECTION,
    MASK_PARAMETER,
];
pub const FALSE_POSITIVE: &str = "false_positive";
pub const VIRTUAL_PATCH: &str = "virtual_patch";
pub const DISABLE_DETECTION: &str = "disable_detection";
pub const MASK_PARAMETER: &str = "mask_parameter";

/// Rule ids of virtual-patch findings start with this, followed by the rule's id (or its index
/// in the settings when it has none).
pub const VIRTUAL_PATCH_RULE_PREFIX: &str = "vpatch.";

/// A virtual-patch pattern compiles to at most this many bytes: a pattern is user input and the
/// analyzer runs it on every exchange in scope.
const MAX_PATTERN_BYTES: usize = 1 << 20;

/// One rule as written in the settings (JSON or TOML). Which fields apply depends on `kind`;
/// `validate` reports the ones that are missing or do not belong.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectionRule {
    /// A stable name for the rule, e.g. `fp-3`; rules made through the API always have one.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// `false_positive`, `virtual_patch`, `disable_detection` or `mask_parameter`; kept as text so
    /// an unknown kind is reported with the other problems.
    pub kind: String,
    /// Where: a finding's point (`request.query.q`; `*` and `?` are wildcards) for false
    /// positives, disabled detection and masks; a point of the point syntax for virtual patches.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub point: Option<String>,
    /// The attack type a false positive is limited to, or a virtual patch reports.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub attack_type: Option<String>,
    /// The payload excerpt (as stored) a false positive is limited to.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub payload: Option<String>,
    /// The regular expression of a virtual patch.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub pattern: Option<String>,
    #[serde(default, skip_serializing_if = "RuleScope::is_everywhere")]
    pub scope: RuleScope,
    /// Why the rule exists; free text for people.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub comment: String,
}

/// For optional fields: absent is `None`, and a field that is there holds a value (JSON `null`
/// is refused, as the OpenAPI schema of rules says).
pub fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// Where a rule applies: everywhere (nothing set), on one host (a glob such as `*.example.com`),
/// or on one endpoint template of that host (`/api/users/{id}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleScope {
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub host: Option<String>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub endpoint: Option<String>,
}

impl RuleScope {
    pub fn is_everywhere(&self) -> bool {
        self.host.is_none() && self.endpoint.is_none()
    }

    /// `everywhere`, `host api.example.com` or `endpoint api.example.com /users/{id}`.
    pub fn describe(&self) -> String {
        match (&self.host, &self.endpoint) {
            (None, _) => "everywhere".to_string(),
            (Some(host), None) => format!("host {host}"),
            (Some(host), Some(endpoint)) => format!("endpoint {host} {endpoint}"),
        }
    }
}

/// A validated scope. Hosts are compared lowercase, as stored.
#[derive(Debug, Clone, PartialEq)]
struct Scope {
    host_glob: Option<String>,
    endpoint: Option<String>,
}

impl Scope {
    fn contains(&self, host: &str, endpoint: &str) -> bool {
        if let Some(host_glob) = &self.host_glob {
            if !glob_matches(host_glob, host) {
                return false;
            }
        }
        self.endpoint
            .as_deref()
            .is_none_or(|template| template_covers(template, endpoint))
    }
}

/// Whether a rule's endpoint template covers an exchange's template. Rules are made from stored
/// requests, whose templates may be folded (`/users/{param}` after many distinct names), while
/// the analyzer sees a template before folding (`/users/alice`): a folded segment of the rule
/// stands for any one segment.
fn template_covers(template: &str, endpoint: &str) -> bool {
    if template == endpoint {
        return true;
    }
    if !template.contains(FOLDED_PLACEHOLDER) {
        return false;
    }
    let mut wanted = template.split('/');
    let mut seen = endpoint.split('/');
    loop {
        match (wanted.next(), seen.next()) {
            (None, None) => return true,
            (Some(want), Some(got)) if want == got || want == FOLDED_PLACEHOLDER => {}
            _ => return false,
        }
    }
}

/// A rule that removes findings: a false positive or disabled detection.
#[derive(Debug, Clone, PartialEq)]
struct Suppression {
    scope: Scope,
    /// `None`: every point (disabled detection only).
    point_glob: Option<String>,
    attack_type: Option<String>,
    payload: Option<String>,
}

impl Suppression {
    fn matches(&self, host: &str, endpoint: &str, attack: &Attack) -> bool {
        if let Some(attack_type) = &self.attack_type {
            if *attack_type != attack.kind {
                return false;
            }
        }
        if let Some(payload) = &self.payload {
            if *payload != attack.payload {
                return false;
            }
        }
        if let Some(point_glob) = &self.point_glob {
            if !glob_matches(point_glob, &attack.point) {
                return false;
            }
        }
        self.scope.contains(host, endpoint)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct VirtualPatch {
    scope: Scope,
    pub point: Point,
    pub point_text: String,
    pub pattern: Regex,
    pub attack_type: AttackKind,
    /// `vpatch.<rule id>`, or `vpatch.<index of the rule in the settings>` for a rule without an
    /// id (ids do not move when an earlier rule is removed; indexes do).
    pub rule_id: String,
}

impl PartialEq for VirtualPatch {
    fn eq(&self, other: &VirtualPatch) -> bool {
        self.rule_id == other.rule_id
            && self.point == other.point
            && self.pattern.as_str() == other.pattern.as_str()
            && self.attack_type == other.attack_type
            && self.scope == other.scope
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Mask {
    scope: Scope,
    point_glob: String,
}

/// The validated rules, ready to apply. Empty by default; the analyzer skips all rule work then.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleSet {
    suppressions: Vec<Suppression>,
    patches: Vec<VirtualPatch>,
    masks: Vec<Mask>,
}

impl RuleSet {
    pub fn is_empty(&self) -> bool {
        self.suppressions.is_empty() && self.patches.is_empty() && self.masks.is_empty()
    }

    /// True when some false-positive or disable rule could drop a stored finding, i.e. when
    /// re-evaluating stored data can change anything.
    pub fn has_suppressions(&self) -> bool {
        !self.suppressions.is_empty()
    }

    /// How many virtual patches there are (they cannot be applied to stored data).
    pub fn virtual_patch_count(&self) -> usize {
        self.patches.len()
    }

    /// True when a false-positive or disable rule drops this finding of an exchange to `host`
    /// and endpoint template `endpoint`.
    pub fn suppresses(&self, host: &str, endpoint: &str, attack: &Attack) -> bool {
        self.suppressions
            .iter()
            .any(|suppression| suppression.matches(host, endpoint, attack))
    }

    /// True when a mask rule hides the values of `point` (its text form) in this scope.
    pub fn masks_point(&self, host: &str, endpoint: &str, point: &str) -> bool {
        self.masks.iter().any(|mask| {
            glob_matches(&mask.point_glob, point) && mask.scope.contains(host, endpoint)
        })
    }

    /// True when some mask rule could apply to this host and endpoint.
    pub(crate) fn has_masks_in(&self, host: &str, endpoint: &str) -> bool {
        self.masks
            .iter()
            .any(|mask| mask.scope.contains(host, endpoint))
    }

    /// The virtual patches whose scope holds this host and endpoint.
    pub(crate) fn patches_in<'s>(
        &'s self,
        host: &'s str,
        endpoint: &'s str,
    ) -> impl Iterator<Item = &'s VirtualPatch> + 's {
        self.patches
            .iter()
            .filter(move |patch| patch.scope.contains(host, endpoint))
    }
}

/// How much a false positive marked on one finding covers (PRODUCT.md A3), narrowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Breadth {
    /// This payload of this type at this point.
    Payload,
    /// This type at this point, whatever the payload.
    Type,
    /// Every type at this point.
    Point,
}

impl Breadth {
    pub const NAMES: [&'static str; 3] = ["payload", "type", "point"];

    pub fn from_name(name: &str) -> Option<Breadth> {
        match name.trim() {
            "payload" => Some(Breadth::Payload),
            "type" => Some(Breadth::Type),
            "point" => Some(Breadth::Point),
            _ => None,
        }
    }
}

/// Where a false positive marked on one finding applies, narrowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeChoice {
    /// The finding's endpoint template on the finding's host.
    Endpoint,
    /// The finding's host.
    Host,
    Everywhere,
}

impl ScopeChoice {
    pub const NAMES: [&'static str; 3] = ["endpoint", "host", "everywhere"];

    pub fn from_name(name: &str) -> Option<ScopeChoice> {
        match name.trim() {
            "endpoint" => Some(ScopeChoice::Endpoint),
            "host" => Some(ScopeChoice::Host),
            "everywhere" => Some(ScopeChoice::Everywhere),
            _ => None,
        }
    }
}

/// The false-positive rule for one stored finding of a request to `host` and `endpoint`
/// (its template). The rule has no id yet.
pub fn false_positive_rule(
    attack: &Attack,
    host: &str,
    endpoint: &str,
    breadth: Breadth,
    scope: ScopeChoice,
) -> DetectionRule {
    let (attack_type, payload) = match breadth {
        Breadth::Payload => (Some(attack.kind.clone()), Some(attack.payload.clone())),
        Breadth::Type => (Some(attack.kind.clone()), None),
        Breadth::Point => (None, None),
    };
    let scope = match scope {
        ScopeChoice::Everywhere => RuleScope::default(),
        ScopeChoice::Host => RuleScope {
            host: Some(host.to_string()),
            endpoint: None,
        },
        ScopeChoice::Endpoint => RuleScope {
            host: Some(host.to_string()),
            endpoint: Some(endpoint.to_string()),
        },
    };
    DetectionRule {
        kind: FALSE_POSITIVE.to_string(),
        // A point is matched as a glob; a literal `*` or `?` in a stored point stays broad.
        point: Some(attack.point.clone()),
        attack_type,
        payload,
        scope,
        ..DetectionRule::default()
    }
}

impl DetectionRule {
    /// True when both rules do the same thing (ids and comments aside).
    pub fn same_effect(&self, other: &DetectionRule) -> bool {
        self.kind == other.kind
            && self.point == other.point
            && self.attack_type == other.attack_type
            && self.payload == other.payload
            && self.pattern == other.pattern
            && self.scope == other.scope
    }

    /// One line for people: `false_positive sqli at request.query.q (payload "1' or 1=1"), endpoint api.example.com /search`.
    pub fn describe(&self) -> String {
        let mut text = self.kind.clone();
        if let Some(attack_type) = &self.attack_type {
            text.push(' ');
            text.push_str(attack_type);
        }
        match &self.point {
            Some(point) => {
                text.push_str(" at ");
                text.push_str(point);
            }
            None => text.push_str(" at every point"),
        }
        if let Some(payload) = &self.payload {
            text.push_str(&format!(" (payload {payload:?})"));
        }
        if let Some(pattern) = &self.pattern {
            text.push_str(&format!(" (pattern {pattern:?})"));
        }
        text.push_str(", ");
        text.push_str(&self.scope.describe());
        text
    }
}

fn check_text(text: &str, what: &str) -> Option<String> {
    if text.trim().is_empty() {
        return Some(format!("{what} must not be empty"));
    }
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some(format!("{what} `{text}` must not contain whitespace"));
    }
    None
}

/// Checks the parts every kind shares and the fields that do not belong to the kind.
struct RuleChecker<'p> {
    index: usize,
    problems: &'p mut Vec<ConfigProblem>,
    valid: bool,
}

impl RuleChecker<'_> {
    fn problem(&mut self, field: &str, message: impl Into<String>) {
        let location = if field.is_empty() {
            format!("rules[{}]", self.index)
        } else {
            format!("rules[{}].{field}", self.index)
        };
        self.problems.push(ConfigProblem {
            location,
            message: message.into(),
        });
        self.valid = false;
    }

    fn refuse_field(&mut self, field: &str, present: bool, kind: &str) {
        if present {
            self.problem(field, format!("a `{kind}` rule has no `{field}`"));
        }
    }

    fn scope(&mut self, scope: &RuleScope) -> Scope {
        if let Some(host) = &scope.host {
            if let Some(message) = check_text(host, "the host") {
                self.problem("scope.host", message);
            }
        }
        if let Some(endpoint) = &scope.endpoint {
            if scope.host.is_none() {
                self.problem(
                    "scope.endpoint",
                    "an endpoint scope also names its host (`scope.host`)",
                );
            } else if !endpoint.starts_with('/') {
                self.problem(
                    "scope.endpoint",
                    format!("the endpoint template `{endpoint}` must start with `/`"),
                );
            }
        }
        Scope {
            host_glob: scope
                .host
                .as_deref()
                .map(|host| host.trim().to_ascii_lowercase()),
            endpoint: scope.endpoint.clone(),
        }
    }

    /// A finding point pattern: `request.` or `response.` then anything but whitespace.
    fn finding_point(&mut self, point: Option<&String>) -> Option<String> {
        let Some(point) = point else {
            self.problem("point", "this rule needs a `point`");
            return None;
        };
        if let Some(message) = check_text(point, "the point") {
            self.problem("point", message);
            return None;
        }
        if !point.starts_with("request.") && !point.starts_with('*') {
            self.problem(
                "point",
                format!("`{point}` is not a request point; findings sit at points such as `request.query.q`"),
            );
            return None;
        }
        Some(point.trim().to_string())
    }

    fn attack_type(&mut self, attack_type: &str) -> Option<AttackKind> {
        let found = AttackKind::from_name(attack_type);
        if found.is_none() {
            let known: Vec<&str> = AttackKind::ALL.iter().map(|kind| kind.as_str()).collect();
            self.problem(
                "attack_type",
                format!(
                    "unknown attack type `{attack_type}`; expected one of {}",
                    known.join(", ")
                ),
            );
        }
        found
    }
}

/// Validates the rules into a `RuleSet`, adding a located problem for every mistake.
pub(crate) fn validate_rules(
    rules: &[DetectionRule],
    problems: &mut Vec<ConfigProblem>,
) -> RuleSet {
    let mut set = RuleSet::default();
    let mut seen_ids: Vec<&str> = Vec::new();
    for (index, rule) in rules.iter().enumerate() {
        let mut checker = RuleChecker {
            index,
            problems,
            valid: true,
        };
        if !rule.id.is_empty() {
            if let Some(message) = check_text(&rule.id, "the id") {
                checker.problem("id", message);
            } else if seen_ids.contains(&rule.id.as_str()) {
                checker.problem(
                    "id",
                    format!("the id `{}` is used by an earlier rule", rule.id),
                );
            } else {
                seen_ids.push(&rule.id);
            }
        }
        let scope = checker.scope(&rule.scope);
        let kind = rule.kind.as_str();
        match kind {
            FALSE_POSITIVE => {
                checker.refuse_field("pattern", rule.pattern.is_some(), kind);
                let point = checker.finding_point(rule.point.as_ref());
                let attack_type = match &rule.attack_type {
                    Some(name) => checker
                        .attack_type(name)
                        .map(|kind| kind.as_str().to_string()),
                    None => None,
                };
                if rule.payload.is_some() && rule.attack_type.is_none() {
                    checker.problem(
                        "payload",
                        "a false positive limited to a payload also names its `attack_type`",
                    );
                }
                if checker.valid {
                    set.suppressions.push(Suppression {
                        scope,
                        point_glob: point,
                        attack_type,
                        payload: rule.payload.clone(),
                    });
                }
            }
            DISABLE_DETECTION => {
                checker.refuse_field("pattern", rule.pattern.is_some(), kind);
                checker.refuse_field("attack_type", rule.attack_type.is_some(), kind);
                checker.refuse_field("payload", rule.payload.is_some(), kind);
                let point = match &rule.point {
                    Some(_) => checker.finding_point(rule.point.as_ref()),
                    None => None,
                };
                if checker.valid {
                    set.suppressions.push(Suppression {
                        scope,
                        point_glob: point,
                        attack_type: None,
                        payload: None,
                    });
                }
            }
            MASK_PARAMETER => {
                checker.refuse_field("pattern", rule.pattern.is_some(), kind);
                checker.refuse_field("attack_type", rule.attack_type.is_some(), kind);
                checker.refuse_field("payload", rule.payload.is_some(), kind);
                let point = checker.finding_point(rule.point.as_ref());
                if let (true, Some(point_glob)) = (checker.valid, point) {
                    set.masks.push(Mask { scope, point_glob });
                }
            }
            VIRTUAL_PATCH => {
                checker.refuse_field("payload", rule.payload.is_some(), kind);
                let point = match rule.point.as_deref() {
                    None => {
                        checker.problem("point", "a virtual patch needs a `point`");
                        None
                    }
                    Some(text) => match text.parse::<Point>() {
                        Err(message) => {
                            checker.problem("point", message);
                            None
                        }
                        Ok(point) if point.is_response() => {
                            checker.problem(
                                "point",
                                format!("`{point}` is a response point; a virtual patch reads the request"),
                            );
                            None
                        }
                        Ok(point) => Some(point),
                    },
                };
                let attack_type = match &rule.attack_type {
                    Some(name) => checker.attack_type(name),
                    None => {
                        checker.problem(
                            "attack_type",
                            "a virtual patch names the attack type it reports",
                        );
                        None
                    }
                };
                let pattern = match &rule.pattern {
                    None => {
                        checker.problem(
                            "pattern",
                            "a virtual patch needs a `pattern` (a regular expression)",
                        );
                        None
                    }
                    Some(text) if text.is_empty() => {
                        checker.problem(
                            "pattern",
                            "the pattern must not be empty: it would match every value",
                        );
                        None
                    }
                    Some(text) => match regex::RegexBuilder::new(text)
                        .size_limit(MAX_PATTERN_BYTES)
                        .build()
                    {
                        Ok(pattern) => Some(pattern),
                        Err(error) => {
                            let message = error.to_string();
                            // The regex crate's message ends with a line `error: <what>`; that line alone says it.
                            let reason = message
                                .lines()
                                .last()
                                .unwrap_or("")
                                .trim()
                                .trim_start_matches("error: ");
                            checker.problem(
                                "pattern",
                                format!("`{text}` is not a valid regular expression: {reason}"),
                            );
                            None
                        }
                    },
                };
                if let (true, Some(point), Some(attack_type), Some(pattern)) =
                    (checker.valid, point, attack_type, pattern)
                {
                    set.patches.push(VirtualPatch {
                        scope,
                        point_text: point.to_string(),
                        point,
                        pattern,
                        attack_type,
                        rule_id: if rule.id.is_empty() {
                            format!("{VIRTUAL_PATCH_RULE_PREFIX}{index}")
                        } else {
                            format!("{VIRTUAL_PATCH_RULE_PREFIX}{}", rule.id)
                        },
                    });
                }
            }
            _ => checker.problem(
                "kind",
                format!(
                    "unknown rule kind `{}`; expected one of {}",
                    rule.kind,
                    RULE_KINDS.join(", ")
                ),
            ),
        }
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(kind: &str, point: Option<&str>) -> DetectionRule {
        DetectionRule {
            kind: kind.to_string(),
            point: point.map(str::to_string),
            ..DetectionRule::default()
        }
    }

    fn attack(kind: &str, point: &str, payload: &str) -> Attack {
        Attack {
            kind: kind.to_string(),
            point: point.to_string(),
            payload: payload.to_string(),
            rule: format!("{kind}.test"),
        }
    }

    fn scoped(host: Option<&str>, endpoint: Option<&str>) -> RuleScope {
        RuleScope {
            host: host.map(str::to_string),
            endpoint: endpoint.map(str::to_string),
        }
    }

    fn valid(rules: &[DetectionRule]) -> RuleSet {
        let mut problems = Vec::new();
        let set = validate_rules(rules, &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        set
    }

    #[test]
    fn false_positives_go_from_narrowest_to_broadest() {
        let payload_rule = DetectionRule {
            attack_type: Some("sqli".into()),
            payload: Some("1' or '1'='1".into()),
            ..rule(FALSE_POSITIVE, Some("request.query.q"))
        };
        let type_rule = DetectionRule {
            attack_type: Some("sqli".into()),
            ..rule(FALSE_POSITIVE, Some("request.query.q"))
        };
        let point_rule = rule(FALSE_POSITIVE, Some("request.query.q"));
        let same = attack("sqli", "request.query.q", "1' or '1'='1");
        let other_payload = attack("sqli", "request.query.q", "1 union select 1");
        let other_type = attack("xss", "request.query.q", "<script>");
        let other_point = attack("sqli", "request.query.id", "1' or '1'='1");
        // (rule, [same, other payload, other type, other point])
        let cases = [
            (payload_rule, [true, false, false, false]),
            (type_rule, [true, true, false, false]),
            (point_rule, [true, true, true, false]),
        ];
        for (rule, expected) in cases {
            let set = valid(std::slice::from_ref(&rule));
            let found: Vec<bool> = [&same, &other_payload, &other_type, &other_point]
                .iter()
                .map(|attack| set.suppresses("api.example.com", "/search", attack))
                .collect();
            assert_eq!(found, expected, "{rule:?}");
        }
    }

    #[test]
    fn scopes_limit_rules_to_a_host_or_an_endpoint() {
        let attack = attack("xss", "request.query.q", "<b onmouseover=x>");
        // (scope, [same host and endpoint, same host other endpoint, other host])
        let cases = [
            (scoped(None, None), [true, true, true]),
            (scoped(Some("API.example.com"), None), [true, true, false]),
            (scoped(Some("*.example.com"), None), [true, true, false]),
            (
                scoped(Some("api.example.com"), Some("/search")),
                [true, false, false],
            ),
        ];
        for (scope, expected) in cases {
            let set = valid(&[DetectionRule {
                scope: scope.clone(),
                ..rule(FALSE_POSITIVE, Some("request.query.q"))
            }]);
            let found = [
                set.suppresses("api.example.com", "/search", &attack),
                set.suppresses("api.example.com", "/users/{id}", &attack),
                set.suppresses("shop.example.org", "/search", &attack),
            ];
            assert_eq!(found, expected, "{scope:?}");
        }
    }

    #[test]
    fn disabled_detection_drops_every_finding_or_a_point_s() {
        let everything = valid(&[DetectionRule {
            scope: scoped(Some("internal.example.com"), None),
            ..rule(DISABLE_DETECTION, None)
        }]);
        let finding = attack("rce", "request.json.cmd", "; cat /etc/passwd");
        assert!(everything.suppresses("internal.example.com", "/run", &finding));
        assert!(!everything.suppresses("api.example.com", "/run", &finding));
        let one_point = valid(&[rule(DISABLE_DETECTION, Some("request.json.*"))]);
        assert!(one_point.suppresses("api.example.com", "/run", &finding));
        assert!(!one_point.suppresses(
            "api.example.com",
            "/run",
            &attack("rce", "request.query.cmd", "x")
        ));
    }

    #[test]
    fn masks_name_points_in_scope() {
        let set = valid(&[DetectionRule {
            scope: scoped(Some("api.example.com"), None),
            ..rule(MASK_PARAMETER, Some("request.query.ssn"))
        }]);
        assert!(set.masks_point("api.example.com", "/x", "request.query.ssn"));
        assert!(!set.masks_point("api.example.com", "/x", "request.query.q"));
        assert!(!set.masks_point("other.example.com", "/x", "request.query.ssn"));
    }

    #[test]
    fn a_marked_finding_becomes_a_rule_of_the_chosen_breadth_and_scope() {
        let finding = attack("sqli", "request.query.q", "1' or '1'='1");
        let narrowest = false_positive_rule(
            &finding,
            "api.example.com",
            "/search",
            Breadth::Payload,
            ScopeChoice::Endpoint,
        );
        assert_eq!(
            narrowest.describe(),
            "false_positive sqli at request.query.q (payload \"1' or '1'='1\"), endpoint api.example.com /search"
        );
        let broadest = false_positive_rule(
            &finding,
            "api.example.com",
            "/search",
            Breadth::Point,
            ScopeChoice::Everywhere,
        );
        assert_eq!(
            broadest.describe(),
            "false_positive at request.query.q, everywhere"
        );
        for rule in [&narrowest, &broadest] {
            let set = valid(std::slice::from_ref(rule));
            assert!(set.suppresses("api.example.com", "/search", &finding));
        }
        let set = valid(&[narrowest]);
        assert!(!set.suppresses("api.example.com", "/other", &finding));
        assert_eq!(Breadth::from_name("type"), Some(Breadth::Type));
        assert_eq!(ScopeChoice::from_name("host"), Some(ScopeChoice::Host));
        assert_eq!(ScopeChoice::from_name("planet"), None);
    }

    #[test]
    fn rules_read_from_json_and_toml() {
        let json = r#"{"id":"fp-1","kind":"false_positive","point":"request.query.q","attack_type":"sqli","scope":{"host":"api.example.com","endpoint":"/search"}}"#;
        let parsed: DetectionRule = serde_json::from_str(json).unwrap();
        assert_eq!(parsed.scope.describe(), "endpoint api.example.com /search");
        assert_eq!(serde_json::to_string(&parsed).unwrap(), json);
        assert!(
            serde_json::from_str::<DetectionRule>(r#"{"kind":"mask_parameter","pint":"x"}"#)
                .is_err()
        );
    }

    #[test]
    fn every_mistake_is_reported_with_its_place() {
        let rules = vec![
            rule("allow", Some("request.query.q")),
            DetectionRule {
                id: "a".into(),
                attack_type: Some("sqlx".into()),
                ..rule(FALSE_POSITIVE, Some("query.q"))
            },
            DetectionRule {
                id: "a".into(),
                payload: Some("x".into()),
                ..rule(FALSE_POSITIVE, Some("request.query.q"))
            },
            DetectionRule {
                pattern: Some("(unclosed".into()),
                attack_type: Some("sqli".into()),
                ..rule(VIRTUAL_PATCH, Some("request.query.q"))
            },
            DetectionRule {
                pattern: Some("x".into()),
                attack_type: Some("xss".into()),
                ..rule(VIRTUAL_PATCH, Some("response.header.x"))
            },
            rule(VIRTUAL_PATCH, None),
            DetectionRule {
                scope: scoped(None, Some("/search")),
                ..rule(DISABLE_DETECTION, None)
            },
            DetectionRule {
                pattern: Some("x".into()),
                ..rule(MASK_PARAMETER, None)
            },
        ];
        let mut problems = Vec::new();
        let set = validate_rules(&rules, &mut problems);
        assert!(set.is_empty());
        let locations: Vec<&str> = problems.iter().map(|p| p.location.as_str()).collect();
        assert_eq!(
            locations,
            vec![
                "rules[0].kind",
                "rules[1].point",
                "rules[1].attack_type",
                "rules[2].id",
                "rules[2].payload",
                "rules[3].pattern",
                "rules[4].point",
                "rules[5].point",
                "rules[5].attack_type",
                "rules[5].pattern",
                "rules[6].scope.endpoint",
                "rules[7].pattern",
                "rules[7].point",
            ]
        );
        let pattern_problem = problems
            .iter()
            .find(|problem| problem.location == "rules[3].pattern")
            .map(ToString::to_string);
        assert_eq!(
            pattern_problem.as_deref(),
            Some("rules[3].pattern: `(unclosed` is not a valid regular expression: unclosed group")
        );
    }
}
