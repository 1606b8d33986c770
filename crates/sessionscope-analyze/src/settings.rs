//! The analysis part of the user's configuration: raw as read from TOML (`AnalysisSettings`), and
//! validated into an `AnalysisConfig` that the analyzer can trust. Validation reports every problem
//! at once, each with the place it sits in the file.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::{Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use sessionscope_model::{CompactString, ParamKind};

use crate::point::{JsonPath, PathStep, Point, PointStorage};
use crate::rules::{validate_rules, DetectionRule, RuleSet};

/// At most this many context parameters (PRODUCT.md C1).
pub const MAX_CONTEXT_ITEMS: usize = 20;
/// A composite key has at most this many points (PRODUCT.md S3).
pub const MAX_KEY_POINTS: usize = 3;

/// Text from the settings that every analysed exchange carries (context names and points), kept
/// once for the life of the process so that an exchange refers to it instead of holding a copy of
/// its own (an allocation per value, and a comparison of cold memory when the store writes it).
/// Settings name few distinct texts, so what is kept stays bounded by what was ever configured.
fn lasting(text: &str) -> CompactString {
    static KEPT: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());
    let mut kept = KEPT.lock().unwrap_or_else(PoisonError::into_inner);
    let text = match kept.get(text) {
        Some(&text) => text,
        None => {
            let leaked: &'static str = Box::leak(Box::from(text));
            kept.insert(leaked);
            leaked
        }
    };
    CompactString::const_new(text)
}

/// The raw analysis settings: the `session_keys`, `context` and `apps` keys of the configuration file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnalysisSettings {
    /// User-defined grouping keys, tried in order before the built-in keys.
    #[serde(default)]
    pub session_keys: Vec<SessionKeySetting>,
    /// Context parameters (at most 20).
    #[serde(default)]
    pub context: Vec<ContextSetting>,
    /// Rules that name the application of an exchange from its host and path.
    #[serde(default)]
    pub apps: Vec<AppSetting>,
    /// Detection rules: false positives, virtual patches, disabled detection, masked parameters
    /// (PRODUCT.md A3, A4). Mostly made through the API and the CLI, not written by hand.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<DetectionRule>,
}

/// `[[session_keys]] points = ["request.header.x-session-id"]`: one point, or 2–3 points that must
/// all be present (a composite key).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionKeySetting {
    pub points: Vec<String>,
}

/// `[[context]]`: a named point whose value is kept with every exchange.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContextSetting {
    pub name: String,
    pub point: String,
    /// `none`, `user` or `role`; kept as text so an unknown type is reported with the other problems.
    #[serde(rename = "type", default = "default_kind")]
    pub kind: String,
    /// Store a keyed hash instead of the value.
    #[serde(default)]
    pub hashed: bool,
    /// Also use this point as a grouping key, after the `session_keys`.
    #[serde(default)]
    pub group_by: bool,
}

fn default_kind() -> String {
    "none".to_string()
}

/// `[[apps]]`: exchanges whose host matches `host` (and path matches `path`, when given) belong to `name`.
/// Both are globs with `*` (any run) and `?` (one character).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppSetting {
    pub name: String,
    pub host: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// One problem found by validation, with where it sits, e.g. `context[3].point`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {message}")]
pub struct ConfigProblem {
    pub location: String,
    pub message: String,
}

impl ConfigProblem {
    fn new(location: impl Into<String>, message: impl Into<String>) -> ConfigProblem {
        ConfigProblem {
            location: location.into(),
            message: message.into(),
        }
    }
}

/// A grouping key ready to use: its label and its 1–3 points.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GroupingKey {
    /// `custom:<point>` or `custom:<p1>+<p2>`.
    pub label: String,
    pub points: Vec<Point>,
}

/// A validated context parameter.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ContextItem {
    pub name: String,
    pub point: Point,
    /// The point in its canonical text form, as stored with each value.
    pub point_text: String,
    /// `name` and `point_text` as every analysed exchange carries them (see `lasting`).
    pub stored_name: CompactString,
    pub stored_point: CompactString,
    pub kind: ParamKind,
    pub hashed: bool,
    pub storage: PointStorage,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AppRule {
    pub name: String,
    /// Lowercase, as hosts are compared lowercase.
    pub host_glob: String,
    pub path_glob: Option<String>,
}

/// The places whose values a session key or a hashed context parameter reads, by kind: wherever
/// the text of an exchange is kept (samples, attack contents, the stored query), their values are
/// replaced by a stored hash or `***`, whatever their names, and so are the payloads of findings
/// there. Points that read a JWT claim are listed only in `texts`: a token's claims are masked
/// wherever the token is kept.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct SecretPoints {
    /// Lowercase names.
    pub request_headers: Vec<String>,
    pub response_headers: Vec<String>,
    pub queries: Vec<String>,
    pub forms: Vec<String>,
    pub request_json: Vec<JsonPath>,
    pub graphql: Vec<JsonPath>,
    pub response_json: Vec<JsonPath>,
    /// Every such point as written (claim points included), for `hides_finding_at`.
    pub texts: Vec<String>,
}

impl SecretPoints {
    fn add(&mut self, point: &Point) {
        let text = point.to_string();
        if !self.texts.contains(&text) {
            self.texts.push(text);
        }
        if point.claim().is_some() {
            return;
        }
        let push_name = |list: &mut Vec<String>, name: &str| {
            if !list.iter().any(|known| known == name) {
                list.push(name.to_string());
            }
        };
        let push_path = |list: &mut Vec<JsonPath>, path: &JsonPath| {
            if !list.contains(path) {
                list.push(path.clone());
            }
        };
        match point {
            Point::RequestHeader { name, .. } => push_name(&mut self.request_headers, name),
            Point::ResponseHeader { name, .. } => push_name(&mut self.response_headers, name),
            Point::RequestQuery { name, .. } => push_name(&mut self.queries, name),
            Point::RequestForm { name, .. } => push_name(&mut self.forms, name),
            Point::RequestJson { path, .. } => push_path(&mut self.request_json, path),
            Point::RequestGraphql { path, .. } => push_path(&mut self.graphql, path),
            Point::ResponseJson { path, .. } => push_path(&mut self.response_json, path),
            // Every cookie is a credential already; the address is not a secret.
            Point::RequestCookie { .. } | Point::ResponseCookie { .. } | Point::RequestIp => {}
        }
    }

    /// True for a query parameter (decoded name) whose value must not be stored.
    pub fn is_secret_query(&self, name: &str) -> bool {
        self.queries.iter().any(|known| known == name)
            || (!self.graphql.is_empty() && name == "variables")
    }

    /// True when a finding at `point` would show (part of) a value one of these points reads:
    /// the point itself, a value inside it (a key on `request.json.user.id`, a finding at
    /// `request.json.user`), or one it is inside of (a key on `request.header.x-token.jwt.sid`,
    /// a finding at `request.header.x-token`). Its payload is then masked.
    pub fn hides_finding_at(&self, point: &str) -> bool {
        let nested = |outer: &str, inner: &str| {
            inner
                .strip_prefix(outer)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
        };
        self.texts
            .iter()
            .any(|text| nested(text, point) || nested(point, text))
    }

    pub fn has_queries(&self) -> bool {
        !self.queries.is_empty() || !self.graphql.is_empty()
    }
}

/// Validated analysis configuration. It holds no secret, so its `Debug` form is safe to log.
#[derive(Clone, PartialEq)]
pub struct AnalysisConfig {
    settings: AnalysisSettings,
    pub(crate) keys: Vec<GroupingKey>,
    pub(crate) context: Vec<ContextItem>,
    pub(crate) apps: Vec<AppRule>,
    pub(crate) rules: RuleSet,
    pub(crate) secret_points: SecretPoints,
}

impl Default for AnalysisConfig {
    /// No user keys, no context, no application rules: built-in keys only.
    fn default() -> AnalysisConfig {
        AnalysisConfig {
            settings: AnalysisSettings::default(),
            keys: Vec::new(),
            context: Vec::new(),
            apps: Vec::new(),
            rules: RuleSet::default(),
            secret_points: SecretPoints::default(),
        }
    }
}

impl fmt::Debug for AnalysisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnalysisConfig")
            .field(
                "session_keys",
                &self.session_key_labels().collect::<Vec<_>>(),
            )
            .field(
                "context",
                &self
                    .context
                    .iter()
                    .map(|item| (&item.name, &item.point_text))
                    .collect::<Vec<_>>(),
            )
            .field(
                "apps",
                &self.apps.iter().map(|app| &app.name).collect::<Vec<_>>(),
            )
            .field("rules", &self.settings.rules.len())
            .finish()
    }
}

impl AnalysisConfig {
    /// The settings it was validated from, e.g. to record a configuration change.
    pub fn settings(&self) -> &AnalysisSettings {
        &self.settings
    }

    /// The validated detection rules (false positives and disabled detection are what
    /// re-evaluation of stored data applies).
    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// Labels of the user grouping keys in the order they are tried (`session_keys`, then
    /// `group_by` context parameters).
    pub fn session_key_labels(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|key| key.label.as_str())
    }

    /// True when a clear context parameter reads the JWT claim at `path` and no session key
    /// or hashed parameter reads it: only such claims keep their values in the samples and
    /// attack contents. The `sid` claim (the built-in key's value) never does.
    pub(crate) fn is_clear_claim(&self, path: &[PathStep]) -> bool {
        if matches!(path, [PathStep::Key(name)] if name == "sid") {
            return false;
        }
        let reads = |point: &Point| point.claim().is_some_and(|claim| claim.0 == path);
        let read_by_key = self.keys.iter().any(|key| key.points.iter().any(&reads));
        let read_hashed = self.context.iter().any(|item| {
            reads(&item.point) && (item.hashed || item.storage != PointStorage::AsConfigured)
        });
        let read_clear = self.context.iter().any(|item| {
            reads(&item.point) && !item.hashed && item.storage == PointStorage::AsConfigured
        });
        read_clear && !read_by_key && !read_hashed
    }

    /// `(name, point, kind)` of each context parameter, in configured order.
    pub fn context_points(&self) -> impl Iterator<Item = (&str, &Point, ParamKind)> {
        self.context
            .iter()
            .map(|item| (item.name.as_str(), &item.point, item.kind))
    }
}

fn grouping_label(points: &[Point]) -> String {
    let texts: Vec<String> = points.iter().map(Point::to_string).collect();
    format!("custom:{}", texts.join("+"))
}

fn masked_key_message(point: &Point) -> String {
    format!(
        "`{point}` is masked because it holds a secret; a masked point cannot be a grouping key"
    )
}

fn parse_kind(text: &str) -> Option<ParamKind> {
    match text.trim().to_ascii_lowercase().as_str() {
        "none" | "" => Some(ParamKind::None),
        "user" => Some(ParamKind::User),
        "role" => Some(ParamKind::Role),
        _ => None,
    }
}

fn check_glob(text: &str) -> Option<String> {
    if text.trim().is_empty() {
        return Some("must not be empty".to_string());
    }
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some(format!(
            "`{text}` contains whitespace; a glob uses `*` and `?` only"
        ));
    }
    None
}

impl AnalysisSettings {
    /// Checks everything and reports every problem at once.
    pub fn validate(&self) -> Result<AnalysisConfig, Vec<ConfigProblem>> {
        let mut problems = Vec::new();
        let mut keys = Vec::new();

        for (key_index, key) in self.session_keys.iter().enumerate() {
            let location = format!("session_keys[{key_index}].points");
            if key.points.is_empty() || key.points.len() > MAX_KEY_POINTS {
                problems.push(ConfigProblem::new(
                    &location,
                    format!(
                        "a session key has 1 to {MAX_KEY_POINTS} points, found {}",
                        key.points.len()
                    ),
                ));
                continue;
            }
            let mut points = Vec::new();
            for (point_index, text) in key.points.iter().enumerate() {
                let point_location = format!("{location}[{point_index}]");
                match text.trim().parse::<Point>() {
                    Err(message) => problems.push(ConfigProblem::new(point_location, message)),
                    Ok(point) if point.is_masked() => problems.push(ConfigProblem::new(
                        point_location,
                        masked_key_message(&point),
                    )),
                    Ok(point) => points.push(point),
                }
            }
            if points.len() == key.points.len() {
                keys.push(GroupingKey {
                    label: grouping_label(&points),
                    points,
                });
            }
        }

        if self.context.len() > MAX_CONTEXT_ITEMS {
            problems.push(ConfigProblem::new(
                "context",
                format!(
                    "at most {MAX_CONTEXT_ITEMS} context parameters are allowed, found {}",
                    self.context.len()
                ),
            ));
        }
        let mut context = Vec::new();
        let mut grouping_context = Vec::new();
        let mut seen_names: Vec<String> = Vec::new();
        for (index, setting) in self.context.iter().enumerate() {
            let name = setting.name.trim();
            let mut item_is_valid = true;
            if name.is_empty() {
                problems.push(ConfigProblem::new(
                    format!("context[{index}].name"),
                    "a context parameter needs a name",
                ));
                item_is_valid = false;
            } else if seen_names
                .iter()
                .any(|seen| seen.eq_ignore_ascii_case(name))
            {
                problems.push(ConfigProblem::new(
                    format!("context[{index}].name"),
                    format!("the name `{name}` is used by an earlier context parameter"),
                ));
                item_is_valid = false;
            } else {
                seen_names.push(name.to_string());
            }
            let kind = parse_kind(&setting.kind);
            if kind.is_none() {
                problems.push(ConfigProblem::new(
                    format!("context[{index}].type"),
                    format!(
                        "unknown type `{}`; expected none, user or role",
                        setting.kind
                    ),
                ));
                item_is_valid = false;
            }
            let point = match setting.point.trim().parse::<Point>() {
                Ok(point) => Some(point),
                Err(message) => {
                    problems.push(ConfigProblem::new(
                        format!("context[{index}].point"),
                        message,
                    ));
                    None
                }
            };
            let Some(point) = point else {
                continue;
            };
            if setting.group_by && point.is_masked() {
                problems.push(ConfigProblem::new(
                    format!("context[{index}].group_by"),
                    masked_key_message(&point),
                ));
                item_is_valid = false;
            }
            let (true, Some(kind)) = (item_is_valid, kind) else {
                continue;
            };
            if setting.group_by {
                grouping_context.push(GroupingKey {
                    label: grouping_label(std::slice::from_ref(&point)),
                    points: vec![point.clone()],
                });
            }
            let point_text = point.to_string();
            context.push(ContextItem {
                name: name.to_string(),
                stored_name: lasting(name),
                stored_point: lasting(&point_text),
                point_text,
                storage: point.storage(),
                point,
                kind,
                hashed: setting.hashed,
            });
        }
        keys.extend(grouping_context);
        // A context parameter that reads what a session key reads, or the `sid` claim (the
        // built-in key's value), is stored hashed: the raw value of a key never reaches the store.
        let is_session_claim = |point: &Point| matches!(point.claim().map(|claim| claim.0.as_slice()), Some([PathStep::Key(name)]) if name == "sid");
        for item in &mut context {
            let read_by_key = keys.iter().any(|key| key.points.contains(&item.point));
            if read_by_key || is_session_claim(&item.point) {
                item.hashed = true;
            }
        }
        let mut secret_points = SecretPoints::default();
        for key in &keys {
            for point in &key.points {
                secret_points.add(point);
            }
        }
        for item in &context {
            if item.hashed || item.storage != PointStorage::AsConfigured {
                secret_points.add(&item.point);
            }
        }

        let mut apps = Vec::new();
        for (index, app) in self.apps.iter().enumerate() {
            let mut app_is_valid = true;
            if app.name.trim().is_empty() {
                problems.push(ConfigProblem::new(
                    format!("apps[{index}].name"),
                    "an application needs a name",
                ));
                app_is_valid = false;
            }
            if let Some(message) = check_glob(&app.host) {
                problems.push(ConfigProblem::new(format!("apps[{index}].host"), message));
                app_is_valid = false;
            }
            if let Some(path) = &app.path {
                if let Some(message) = check_glob(path) {
                    problems.push(ConfigProblem::new(format!("apps[{index}].path"), message));
                    app_is_valid = false;
                } else if !path.starts_with(['/', '*']) {
                    problems.push(ConfigProblem::new(
                        format!("apps[{index}].path"),
                        format!("`{path}` must start with `/` or `*`"),
                    ));
                    app_is_valid = false;
                }
            }
            if app_is_valid {
                apps.push(AppRule {
                    name: app.name.trim().to_string(),
                    host_glob: app.host.trim().to_ascii_lowercase(),
                    path_glob: app.path.clone(),
                });
            }
        }

        let rules = validate_rules(&self.rules, &mut problems);

        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(AnalysisConfig {
            settings: self.clone(),
            keys,
            context,
            apps,
            rules,
            secret_points,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_text_is_kept_once_and_referred_to() {
        let first = lasting("request.header.authorization.jwt.sub");
        let again = lasting(&String::from("request.header.authorization.jwt.sub"));
        assert_eq!(first, again);
        assert_eq!(first.as_static_str(), again.as_static_str());
        assert!(std::ptr::eq(first.as_ptr(), again.as_ptr()));
        assert!(
            !first.is_heap_allocated(),
            "an exchange's copy must not allocate"
        );
        assert_eq!(lasting("user"), "user");
    }

    fn context(name: &str, point: &str, kind: &str) -> ContextSetting {
        ContextSetting {
            name: name.into(),
            point: point.into(),
            kind: kind.into(),
            hashed: false,
            group_by: false,
        }
    }

    #[test]
    fn settings_read_from_toml_with_defaults() {
        let text = r#"
            [[session_keys]]
            points = ["request.header.x-session-id"]
            [[session_keys]]
            points = ["request.ip", "request.header.x-device"]
            [[context]]
            name = "user"
            point = "request.header.authorization.jwt.sub"
            type = "user"
            [[context]]
            name = "tenant"
            point = "request.header.x-tenant"
            group_by = true
            [[apps]]
            name = "shop"
            host = "*.shop.example"
        "#;
        let settings: AnalysisSettings = toml::from_str(text).unwrap();
        assert_eq!(settings.context[1].kind, "none");
        let config = settings.validate().unwrap();
        let labels: Vec<&str> = config.session_key_labels().collect();
        assert_eq!(
            labels,
            vec![
                "custom:request.header.x-session-id",
                "custom:request.ip+request.header.x-device",
                "custom:request.header.x-tenant"
            ]
        );
    }

    #[test]
    fn unknown_fields_inside_items_are_refused() {
        let text = "[[context]]\nname = \"a\"\npoint = \"request.ip\"\nhashd = true\n";
        assert!(toml::from_str::<AnalysisSettings>(text).is_err());
    }

    #[test]
    fn validation_lists_every_problem_at_once() {
        let mut settings = AnalysisSettings {
            session_keys: vec![
                SessionKeySetting { points: vec![] },
                SessionKeySetting {
                    points: vec![
                        "request.ip".into(),
                        "request.ip".into(),
                        "request.ip".into(),
                        "request.ip".into(),
                    ],
                },
                SessionKeySetting {
                    points: vec!["request.form.password".into()],
                },
                SessionKeySetting {
                    points: vec!["request.hedaer.x".into()],
                },
            ],
            context: vec![
                context("", "request.ip", "none"),
                context("user", "request.header.x-user", "admin"),
                context("User", "request.header.x-user", "user"),
                context("bad", "request.json.a..b", "none"),
                ContextSetting {
                    group_by: true,
                    ..context("pw", "request.form.password", "none")
                },
            ],
            apps: vec![AppSetting {
                name: " ".into(),
                host: "".into(),
                path: Some("api/*".into()),
            }],
            rules: vec![crate::rules::DetectionRule {
                kind: "allow".into(),
                ..Default::default()
            }],
        };
        for index in 0..17 {
            settings
                .context
                .push(context(&format!("extra{index}"), "request.ip", "none"));
        }
        let problems = settings.validate().unwrap_err();
        let locations: Vec<&str> = problems
            .iter()
            .map(|problem| problem.location.as_str())
            .collect();
        assert_eq!(
            locations,
            vec![
                "session_keys[0].points",
                "session_keys[1].points",
                "session_keys[2].points[0]",
                "session_keys[3].points[0]",
                "context",
                "context[0].name",
                "context[1].type",
                "context[2].name",
                "context[3].point",
                "context[4].group_by",
                "apps[0].name",
                "apps[0].host",
                "apps[0].path",
                "rules[0].kind",
            ]
        );
        let masked = problems
            .iter()
            .find(|problem| problem.location == "session_keys[2].points[0]")
            .unwrap();
        assert_eq!(
            masked.to_string(),
            "session_keys[2].points[0]: `request.form.password` is masked because it holds a secret; a masked point cannot be a grouping key"
        );
        assert!(
            problems[1].message.contains("found 4"),
            "{}",
            problems[1].message
        );
    }

    #[test]
    fn masked_points_may_still_be_context_without_grouping() {
        let settings = AnalysisSettings {
            context: vec![context("pw", "request.form.password", "none")],
            ..AnalysisSettings::default()
        };
        let config = settings.validate().unwrap();
        assert_eq!(config.context[0].storage, PointStorage::Masked);
    }
}
