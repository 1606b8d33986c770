//! Detection rules over the API (PRODUCT.md A3, A4): mark a stored finding as a false positive,
//! list and remove rules, re-evaluate stored requests. Rules are part of the analysis settings
//! kept in the store, so every change goes through `Store::save_analysis_settings` and lands in
//! the configuration change log with the caller's name.
//!
//! The functions without HTTP in them (`mark_false_positive`, `remove_rule`, `stored_rules`,
//! `reevaluate`) are public so the command line does exactly the same through the store.

use std::sync::Mutex;

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use sessionscope_analyze::{
    false_positive_rule, present, AnalysisSettings, Breadth, DetectionRule, ScopeChoice,
    FALSE_POSITIVE,
};
use sessionscope_model::{parse_time_spec, Micros, Role};
use sessionscope_store::{
    ConfigChange, ReevaluationEnd, ReevaluationJob, ReevaluationRequest, ReevaluationScope, Store,
    StoreError,
};

use crate::auth::{Caller, SessionReader};
use crate::error::{shorten, ApiError};
use crate::{run_blocking, AppState};

/// Read-modify-write of the settings by this process, one at a time: two analysts marking false
/// positives at once must not lose one of the rules.
static SETTINGS_EDIT: Mutex<()> = Mutex::new(());

/// What a rule change can fail on.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Forbidden(String),
    /// Another rule has the id.
    #[error("{0}")]
    Conflict(String),
    #[error("the analysis settings stored in the store are not readable: {0}")]
    UnreadableSettings(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<RuleError> for ApiError {
    fn from(error: RuleError) -> ApiError {
        match error {
            RuleError::NotFound(message) => ApiError::not_found(message),
            RuleError::Invalid(message) => ApiError::bad_request(message),
            RuleError::Forbidden(message) => ApiError::forbidden(message),
            RuleError::Conflict(message) => ApiError::conflict(message),
            RuleError::UnreadableSettings(_) => ApiError::internal(error),
            RuleError::Store(store_error) => ApiError::from(store_error),
        }
    }
}

/// What marking a false positive asks for: the finding (type and point) and how far the rule
/// reaches. `breadth` and `scope` default to the narrowest, `payload` and `endpoint`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FalsePositiveRequest {
    #[serde(rename = "type")]
    pub attack_type: String,
    pub point: String,
    #[serde(default, deserialize_with = "present")]
    pub breadth: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub scope: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub comment: Option<String>,
}

/// The answer to marking a false positive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MarkedFalsePositive {
    pub rule: DetectionRule,
    /// False when an equal rule existed already (it is answered instead).
    pub created: bool,
    /// The configuration change that added it; `None` when nothing changed.
    pub change_id: Option<i64>,
    pub message: String,
}

/// The answer to removing a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RemovedRule {
    pub removed: DetectionRule,
    pub change_id: i64,
    pub message: String,
}

/// The answer to a re-evaluation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reevaluation {
    /// False when it did not get to the end: another re-evaluation, under newer settings,
    /// took the unfinished job over and goes on with it.
    pub complete: bool,
    /// An unfinished re-evaluation was continued (or started over to cover this one too).
    pub continued: bool,
    pub exchanges_checked: u64,
    pub exchanges_changed: u64,
    pub exchanges_cleared: u64,
    pub attacks_removed: u64,
    pub parts_changed: u64,
    /// Virtual patches that exist but were not applied: stored data holds no raw values.
    pub virtual_patches_not_applied: usize,
    pub message: String,
}

/// An unfinished re-evaluation of stored requests, as `GET /api/v1/rules` and `sessionscope
/// rules list` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReevaluationStatus {
    /// `running` while this process works on it, else `unfinished` (stopped or interrupted;
    /// the next re-evaluation or `serve` start continues it).
    pub state: &'static str,
    /// The configuration change whose rules it applies.
    pub change_id: i64,
    /// RFC 3339; absent: all stored requests.
    pub from: Option<String>,
    pub started: String,
    pub requests_total: u64,
    pub requests_done: u64,
    pub message: String,
}

/// Re-evaluations running in this process.
static REEVALUATIONS_RUNNING: std::sync::atomic::AtomicUsize =
    std::sync::atomic::AtomicUsize::new(0);

struct RunningReevaluation;

impl RunningReevaluation {
    fn start() -> RunningReevaluation {
        REEVALUATIONS_RUNNING.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        RunningReevaluation
    }
}

impl Drop for RunningReevaluation {
    fn drop(&mut self) {
        REEVALUATIONS_RUNNING.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// The unfinished re-evaluation, if there is one.
pub fn reevaluation_status(store: &dyn Store) -> Result<Option<ReevaluationStatus>, RuleError> {
    let Some(job) = store.reevaluation_job()? else {
        return Ok(None);
    };
    let running = REEVALUATIONS_RUNNING.load(std::sync::atomic::Ordering::SeqCst) > 0;
    let done = job.requests_done.min(job.requests_total);
    let message = format!(
        "a re-evaluation of stored requests is {}: {} of {} requests in session parts with attacks done; {}",
        if running { "running" } else { "unfinished" },
        done,
        job.requests_total,
        if running {
            "it commits piece by piece, so what is done is visible already"
        } else {
            "the next `sessionscope rules reevaluate`, `POST /api/v1/rules/reevaluate` or `sessionscope serve` start continues it"
        }
    );
    Ok(Some(ReevaluationStatus {
        state: if running { "running" } else { "unfinished" },
        change_id: job.settings_version,
        from: job.from.map(sessionscope_model::format_rfc3339),
        started: sessionscope_model::format_rfc3339(job.started),
        requests_total: job.requests_total,
        requests_done: done,
        message,
    }))
}

/// The stored analysis settings, or the defaults when none were saved yet.
pub fn stored_settings(store: &dyn Store) -> Result<AnalysisSettings, RuleError> {
    match store.analysis_settings()? {
        None => Ok(AnalysisSettings::default()),
        Some(text) => serde_json::from_str(&text)
            .map_err(|error| RuleError::UnreadableSettings(error.to_string())),
    }
}

/// Every rule, in the order they are applied.
pub fn stored_rules(store: &dyn Store) -> Result<Vec<DetectionRule>, RuleError> {
    Ok(stored_settings(store)?.rules)
}

/// A free id `fp-N` (or `rule-N` for other kinds): one past the highest number in use, and past
/// `newest_change` (the id of the newest recorded configuration change), so an id is never given
/// twice even when the rule that had it was removed (findings and the change log name rules by
/// id).
fn next_rule_id(rules: &[DetectionRule], kind: &str, newest_change: i64) -> String {
    let highest = rules
        .iter()
        .filter_map(|rule| rule.id.rsplit_once('-'))
        .filter_map(|(_, number)| number.parse::<u64>().ok())
        .max()
        .unwrap_or(0)
        .max(u64::try_from(newest_change).unwrap_or(0));
    let prefix = if kind == FALSE_POSITIVE { "fp" } else { "rule" };
    format!("{prefix}-{}", highest + 1)
}

/// Validates the edited settings and saves them as an edit of change `based_on`.
fn save(
    store: &dyn Store,
    settings: &AnalysisSettings,
    based_on: i64,
    who: &str,
    summary: &str,
) -> Result<ConfigChange, RuleError> {
    if let Err(problems) = settings.validate() {
        let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
        return Err(RuleError::Invalid(format!(
            "the rule would make the analysis settings invalid: {}",
            lines.join("; ")
        )));
    }
    let json = serde_json::to_string(settings)
        .map_err(|error| RuleError::UnreadableSettings(error.to_string()))?;
    Ok(store.save_analysis_settings_based_on(based_on, &json, who, summary)?)
}

/// What an edit of the rules did.
enum Edit<T> {
    /// Nothing to save (an equal rule exists already).
    Unchanged(T),
    Changed {
        value: T,
        summary: String,
    },
}

/// The edit that appends `rule` to the settings.
fn appended(settings: &mut AnalysisSettings, rule: DetectionRule) -> Edit<DetectionRule> {
    let summary = format!("added rule {}: {}", rule.id, rule.describe());
    settings.rules.push(rule.clone());
    Edit::Changed {
        value: rule,
        summary,
    }
}

/// Times an edit starts over after another process saved the settings first.
const EDIT_ATTEMPTS: usize = 5;

/// Applies `change` to the stored settings and saves them, recorded as changed by `who`. Edits
/// in this process take turns; an edit that another process (the command line beside a server)
/// saved in between is not overwritten: the store refuses the stale save and `change` runs
/// again on what is stored now.
fn edit_settings<T>(
    store: &dyn Store,
    who: &str,
    mut change: impl FnMut(&mut AnalysisSettings, i64) -> Result<Edit<T>, RuleError>,
) -> Result<(T, Option<ConfigChange>), RuleError> {
    let _edit = SETTINGS_EDIT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut attempt = 1;
    loop {
        // The newest change first, then the settings: a change landing between the two reads
        // makes the save stale (and the edit start over) instead of being lost.
        let based_on = store
            .config_changes(1)?
            .first()
            .map_or(0, |newest| newest.id);
        let mut settings = stored_settings(store)?;
        let (value, summary) = match change(&mut settings, based_on)? {
            Edit::Unchanged(value) => return Ok((value, None)),
            Edit::Changed { value, summary } => (value, summary),
        };
        match save(store, &settings, based_on, who, &summary) {
            Err(RuleError::Store(StoreError::StaleSettings { .. })) if attempt < EDIT_ATTEMPTS => {
                attempt += 1;
            }
            Err(error) => return Err(error),
            Ok(saved) => return Ok((value, Some(saved))),
        }
    }
}

/// Creates the false-positive rule for one finding of a stored request, recorded as changed by
/// `who`. An existing rule with the same effect is answered instead of adding a copy.
pub fn mark_false_positive(
    store: &dyn Store,
    request_id: &str,
    marked: &FalsePositiveRequest,
    who: &str,
) -> Result<MarkedFalsePositive, RuleError> {
    let breadth = match marked.breadth.as_deref() {
        None => Breadth::Payload,
        Some(name) => Breadth::from_name(name).ok_or_else(|| {
            RuleError::Invalid(format!(
                "invalid breadth `{}`; expected {}",
                shorten(name),
                Breadth::NAMES.join(", ")
            ))
        })?,
    };
    let scope = match marked.scope.as_deref() {
        None => ScopeChoice::Endpoint,
        Some(name) => ScopeChoice::from_name(name).ok_or_else(|| {
            RuleError::Invalid(format!(
                "invalid scope `{}`; expected {}",
                shorten(name),
                ScopeChoice::NAMES.join(", ")
            ))
        })?,
    };
    let Some(details) = store.request(request_id)? else {
        return Err(RuleError::NotFound(format!(
            "no request with id `{}`",
            shorten(request_id)
        )));
    };
    let row = &details.row;
    let Some(attack) = row
        .attacks
        .iter()
        .find(|attack| attack.kind == marked.attack_type && attack.point == marked.point)
    else {
        let found: Vec<String> = row
            .attacks
            .iter()
            .map(|attack| format!("{} at {}", attack.kind, attack.point))
            .collect();
        return Err(RuleError::NotFound(format!(
            "request `{}` has no `{}` finding at `{}`; its findings: {}",
            shorten(request_id),
            shorten(&marked.attack_type),
            shorten(&marked.point),
            if found.is_empty() {
                "none".to_string()
            } else {
                found.join(", ")
            }
        )));
    };
    let mut rule = false_positive_rule(attack, &row.host, &row.endpoint, breadth, scope);
    rule.comment = marked
        .comment
        .clone()
        .unwrap_or_else(|| format!("marked on request {}", row.id));

    let (outcome, change) = edit_settings(store, who, |settings, newest_change| {
        if let Some(existing) = settings.rules.iter().find(|other| other.same_effect(&rule)) {
            return Ok(Edit::Unchanged(existing.clone()));
        }
        let mut added = rule.clone();
        added.id = next_rule_id(&settings.rules, FALSE_POSITIVE, newest_change);
        Ok(appended(settings, added))
    })?;
    Ok(match change {
        None => MarkedFalsePositive {
            message: format!("an equal rule exists already: {}", outcome.id),
            rule: outcome,
            created: false,
            change_id: None,
        },
        Some(saved) => MarkedFalsePositive {
            rule: outcome,
            created: true,
            change_id: Some(saved.id),
            message:
                "applies to traffic ingested from now on; re-evaluate to apply it to stored requests"
                    .to_string(),
        },
    })
}

/// The answer to adding a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AddedRule {
    pub rule: DetectionRule,
    pub change_id: i64,
    pub message: String,
}

/// Adds any rule (a virtual patch, disabled detection, a masked parameter, a hand-written false
/// positive) at the end, recorded as changed by `who`. A rule without an id gets one.
pub fn add_rule(store: &dyn Store, rule: DetectionRule, who: &str) -> Result<AddedRule, RuleError> {
    let (rule, change) = edit_settings(store, who, |settings, newest_change| {
        let mut added = rule.clone();
        if added.id.is_empty() {
            added.id = next_rule_id(&settings.rules, &added.kind, newest_change);
        } else if settings
            .rules
            .iter()
            .any(|existing| existing.id == added.id)
        {
            return Err(RuleError::Conflict(format!(
                "a rule with the id `{}` exists already; choose another id or leave it out",
                shorten(&added.id)
            )));
        }
        Ok(appended(settings, added))
    })?;
    Ok(AddedRule {
        rule,
        change_id: change.map_or(0, |saved| saved.id),
        message: "applies to traffic ingested from now on".to_string(),
    })
}

/// Removes a rule by id (or by `#INDEX`, its position, for rules without an id). An analyst may
/// only remove false positives; other rules are configuration, for admins.
pub fn remove_rule(
    store: &dyn Store,
    id: &str,
    who: &str,
    role: Role,
) -> Result<RemovedRule, RuleError> {
    let (removed, change) = edit_settings(store, who, |settings, _| {
        let position = match id.strip_prefix('#').map(str::parse::<usize>) {
            Some(Ok(index)) if index < settings.rules.len() => Some(index),
            _ => settings.rules.iter().position(|rule| rule.id == id),
        };
        let Some(position) = position else {
            return Err(RuleError::NotFound(format!("no rule `{}`", shorten(id))));
        };
        if role != Role::Admin && settings.rules[position].kind != FALSE_POSITIVE {
            return Err(RuleError::Forbidden(format!(
                "role `{role}` may only remove false-positive rules"
            )));
        }
        let removed = settings.rules.remove(position);
        let name = if removed.id.is_empty() {
            format!("#{position}")
        } else {
            removed.id.clone()
        };
        let summary = format!("removed rule {name}: {}", removed.describe());
        Ok(Edit::Changed {
            value: removed,
            summary,
        })
    })?;
    Ok(RemovedRule {
        removed,
        change_id: change.map_or(0, |saved| saved.id),
        message: "applies to traffic ingested from now on; findings already dropped from stored requests do not come back".to_string(),
    })
}

/// The analysis settings with the configuration change they are the result of (0 before any
/// change): the newest change's `after` is the stored settings, read with its id at once.
fn settings_and_version(store: &dyn Store) -> Result<(AnalysisSettings, i64), RuleError> {
    match store.config_changes(1)?.into_iter().next() {
        Some(change) => {
            let settings = serde_json::from_str(&change.after)
                .map_err(|error| RuleError::UnreadableSettings(error.to_string()))?;
            Ok((settings, change.id))
        }
        None => Ok((stored_settings(store)?, 0)),
    }
}

/// Applies the current rules to stored requests at or after `from` (all when `None`), as a
/// stored job that commits piece by piece; an unfinished one is continued, or started over
/// to cover both (see `ReevaluationScope`). `progress` sees the job after every piece.
pub fn reevaluate(
    store: &dyn Store,
    from: Option<Micros>,
    progress: &mut dyn FnMut(&ReevaluationJob),
) -> Result<Reevaluation, RuleError> {
    run_reevaluation(store, ReevaluationScope::From(from), progress)?.ok_or_else(|| {
        RuleError::Store(StoreError::Backend(
            "the re-evaluation did not start".to_string(),
        ))
    })
}

/// Continues the unfinished re-evaluation, if there is one (`serve` does at start).
pub fn resume_reevaluation(
    store: &dyn Store,
    progress: &mut dyn FnMut(&ReevaluationJob),
) -> Result<Option<Reevaluation>, RuleError> {
    run_reevaluation(store, ReevaluationScope::Unfinished, progress)
}

fn run_reevaluation(
    store: &dyn Store,
    scope: ReevaluationScope,
    progress: &mut dyn FnMut(&ReevaluationJob),
) -> Result<Option<Reevaluation>, RuleError> {
    let (settings, settings_version) = settings_and_version(store)?;
    let config = settings.validate().map_err(|problems| {
        let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
        RuleError::Invalid(format!(
            "the stored analysis settings are invalid: {}",
            lines.join("; ")
        ))
    })?;
    let rules = config.rules();
    let has_suppressions = rules.has_suppressions();
    let nothing_to_do = !has_suppressions
        && scope != ReevaluationScope::Unfinished
        && store.reevaluation_job()?.is_none();
    let _running = RunningReevaluation::start();
    let run = if nothing_to_do {
        // No rule can remove a finding: no need to read stored requests.
        sessionscope_store::ReevaluationRun {
            end: ReevaluationEnd::Finished,
            job: ReevaluationJob::default(),
            continued: false,
        }
    } else {
        store.run_reevaluation(
            &ReevaluationRequest {
                settings_version,
                scope,
            },
            &|context, attack| {
                !has_suppressions || !rules.suppresses(context.host, context.endpoint, attack)
            },
            &mut |job| {
                progress(job);
                std::ops::ControlFlow::Continue(())
            },
        )?
    };
    if scope == ReevaluationScope::Unfinished && !run.continued {
        return Ok(None);
    }
    let outcome = run.job.outcome;
    let patches = rules.virtual_patch_count();
    let mut message = format!(
        "removed {} attack{} from {} stored request{}",
        outcome.attacks_removed,
        if outcome.attacks_removed == 1 {
            ""
        } else {
            "s"
        },
        outcome.exchanges_changed,
        if outcome.exchanges_changed == 1 {
            ""
        } else {
            "s"
        },
    );
    if run.continued {
        message.push_str(" (counted over the unfinished re-evaluation it continued)");
    }
    let complete = run.end == ReevaluationEnd::Finished;
    if !complete {
        message
            .push_str("; stopped: another re-evaluation under newer settings took over the rest");
    }
    if patches > 0 {
        message.push_str(&format!(
            "; {patches} virtual patch{} not applied: stored requests keep no raw values to match, so patches apply to traffic ingested from now on",
            if patches == 1 { " was" } else { "es were" }
        ));
    }
    Ok(Some(Reevaluation {
        complete,
        continued: run.continued,
        exchanges_checked: outcome.exchanges_checked,
        exchanges_changed: outcome.exchanges_changed,
        exchanges_cleared: outcome.exchanges_cleared,
        attacks_removed: outcome.attacks_removed,
        parts_changed: outcome.parts_changed,
        virtual_patches_not_applied: patches,
        message,
    }))
}

fn require_rule_editor(caller: &Caller) -> Result<(), ApiError> {
    if matches!(caller.role, Role::Admin | Role::Analyst) {
        return Ok(());
    }
    Err(ApiError::forbidden(format!(
        "role `{}` may not change detection rules; admin or analyst may",
        caller.role
    )))
}

/// A JSON body: an object, whose object-valued fields (`scope`) are objects too. Read through a
/// `Value` first because serde would also take a struct from an array of its fields.
fn parse_body<T: for<'de> Deserialize<'de>>(body: &Bytes) -> Result<T, ApiError> {
    let invalid = |message: String| ApiError::bad_request(format!("invalid json body: {message}"));
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|error| invalid(error.to_string()))?;
    let Some(fields) = value.as_object() else {
        return Err(invalid("expected a JSON object".to_string()));
    };
    if let Some(scope) = fields.get("scope") {
        if !scope.is_object() && !scope.is_string() {
            return Err(invalid("`scope` must be an object".to_string()));
        }
    }
    serde_json::from_value(value).map_err(|error| invalid(error.to_string()))
}

fn path_text(path: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    path.map(|Path(text)| text).map_err(|rejection| {
        ApiError::bad_request(format!("malformed path: {}", rejection.body_text()))
    })
}

/// The answer to listing rules.
#[derive(Serialize)]
pub struct RuleList {
    pub rules: Vec<DetectionRule>,
    /// The unfinished re-evaluation, if any.
    pub reevaluation: Option<ReevaluationStatus>,
}

pub(crate) async fn list_rules(
    State(state): State<AppState>,
    _reader: SessionReader,
) -> Result<Json<RuleList>, ApiError> {
    let list = run_blocking(&state, |store| {
        Ok(stored_rules(store).and_then(|rules| {
            Ok(RuleList {
                rules,
                reevaluation: reevaluation_status(store)?,
            })
        }))
    })
    .await??;
    Ok(Json(list))
}

pub(crate) async fn add_rule_route(
    State(state): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> Result<Response, ApiError> {
    if !caller.role.can_change_configuration() {
        return Err(ApiError::forbidden(format!(
            "role `{}` may not add detection rules; admin may (analysts mark false positives on a request)",
            caller.role
        )));
    }
    let rule: DetectionRule = parse_body(&body)?;
    let who = caller.name;
    let answer = run_blocking(&state, move |store| Ok(add_rule(store, rule, &who))).await??;
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

pub(crate) async fn mark_false_positive_route(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Result<Response, ApiError> {
    require_rule_editor(&caller)?;
    let request_id = path_text(path)?;
    let marked: FalsePositiveRequest = parse_body(&body)?;
    let who = caller.name;
    let answer = run_blocking(&state, move |store| {
        Ok(mark_false_positive(store, &request_id, &marked, &who))
    })
    .await??;
    let status = if answer.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(answer)).into_response())
}

pub(crate) async fn remove_rule_route(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<RemovedRule>, ApiError> {
    require_rule_editor(&caller)?;
    let id = path_text(path)?;
    let answer = run_blocking(&state, move |store| {
        Ok(remove_rule(store, &id, &caller.name, caller.role))
    })
    .await??;
    Ok(Json(answer))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ReevaluateBody {
    /// RFC 3339 or relative (`-7d`); all stored requests when absent.
    #[serde(default)]
    from: Option<String>,
}

pub(crate) async fn reevaluate_route(
    State(state): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> Result<Json<Reevaluation>, ApiError> {
    require_rule_editor(&caller)?;
    let request: ReevaluateBody = if body.iter().all(u8::is_ascii_whitespace) {
        ReevaluateBody::default()
    } else {
        parse_body(&body)?
    };
    let from = match request.from.as_deref() {
        None => None,
        Some(text) => Some(parse_time_spec(text, state.now()).map_err(|message| {
            ApiError::bad_request(format!("invalid value for `from`: {message}"))
        })?),
    };
    let answer = run_blocking(&state, move |store| {
        Ok(reevaluate(store, from, &mut |_| {}))
    })
    .await??;
    Ok(Json(answer))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_id(id: &str) -> DetectionRule {
        DetectionRule {
            id: id.to_string(),
            kind: FALSE_POSITIVE.to_string(),
            ..DetectionRule::default()
        }
    }

    fn rule(id: &str, point: &str) -> DetectionRule {
        DetectionRule {
            point: Some(point.to_string()),
            ..with_id(id)
        }
    }

    fn temporary_store() -> (tempfile::TempDir, sessionscope_store::SqliteStore) {
        let directory = tempfile::tempdir().unwrap();
        let store =
            sessionscope_store::SqliteStore::open(&directory.path().join("rules.db")).unwrap();
        (directory, store)
    }

    /// Saves a rule as another process would (the command line beside a server): straight to the
    /// store, outside this process's turn-taking.
    fn save_elsewhere(store: &dyn Store, added: DetectionRule) {
        let mut settings = stored_settings(store).unwrap();
        settings.rules.push(added);
        let json = serde_json::to_string(&settings).unwrap();
        store
            .save_analysis_settings(&json, "cli", "added elsewhere")
            .unwrap();
    }

    fn points(store: &dyn Store) -> Vec<String> {
        stored_rules(store)
            .unwrap()
            .into_iter()
            .filter_map(|rule| rule.point)
            .collect()
    }

    #[test]
    fn an_edit_saved_elsewhere_in_between_is_kept_and_the_edit_runs_again() {
        let (_directory, store) = temporary_store();
        let mut attempts = 0;
        let (added, change) = edit_settings(&store, "admin", |settings, _based_on| {
            attempts += 1;
            if attempts == 1 {
                // Between this edit's read and its save, another process saves a rule.
                save_elsewhere(&store, rule("fp-1", "request.query.a"));
            }
            Ok(appended(settings, rule("fp-2", "request.query.b")))
        })
        .unwrap();
        assert_eq!(attempts, 2, "the stale save made the edit run again");
        assert_eq!(added.id, "fp-2");
        assert_eq!(points(&store), ["request.query.a", "request.query.b"]);
        let change = change.expect("the edit was saved");
        let log = store.config_changes(10).unwrap();
        assert_eq!(log.len(), 2);
        assert_eq!(log[0].id, change.id);
        assert_eq!(log[0].who, "admin");
        assert_eq!(log[1].who, "cli");
    }

    #[test]
    fn an_edit_that_keeps_losing_the_race_gives_up_with_a_conflict() {
        let (_directory, store) = temporary_store();
        let mut attempts = 0;
        let outcome = edit_settings(&store, "admin", |settings, _based_on| {
            attempts += 1;
            save_elsewhere(&store, rule(&format!("rule-{attempts}"), "request.query.x"));
            Ok(appended(settings, rule("fp-99", "request.query.b")))
        });
        assert!(
            matches!(
                outcome,
                Err(RuleError::Store(StoreError::StaleSettings { .. }))
            ),
            "a stale save after the last attempt is reported"
        );
        assert_eq!(attempts, EDIT_ATTEMPTS);
        // Every save made elsewhere is there; the edit that kept losing is not.
        let rules = stored_rules(&store).unwrap();
        assert_eq!(rules.len(), EDIT_ATTEMPTS);
        assert!(rules.iter().all(|rule| rule.id != "fp-99"));
    }

    #[test]
    fn new_ids_follow_the_highest_in_use_and_the_newest_change() {
        assert_eq!(next_rule_id(&[], FALSE_POSITIVE, 0), "fp-1");
        assert_eq!(
            next_rule_id(
                &[with_id("fp-2"), with_id("rule-7"), with_id("")],
                FALSE_POSITIVE,
                3
            ),
            "fp-8"
        );
        assert_eq!(
            next_rule_id(&[with_id("fp-2")], "mask_parameter", 0),
            "rule-3"
        );
        // fp-9 was added (change 9) and removed (change 10): the next rule is not fp-9 again.
        assert_eq!(
            next_rule_id(&[with_id("fp-2")], FALSE_POSITIVE, 10),
            "fp-11"
        );
    }
}
