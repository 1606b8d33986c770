//! The configuration page (`/config`, admins only; PRODUCT.md C1–C6, S2, S3, R1, R4;
//! CONSOLE.md "Configuration"): the user grouping keys as an ordered list above the built-in keys,
//! the context parameters, a point builder with a live preview against the store's sanitised
//! sample exchanges, and the change log.
//!
//! Every change is one small POST (move a key, add a key, add / edit / remove a parameter) applied
//! to the settings as stored, validated with `AnalysisSettings::validate` and saved together with
//! its change-log row. A form carries the id of the newest change it was rendered after
//! (`version`), so an edit made on a stale page (another admin saved meanwhile, or a reload that
//! re-posts) is refused instead of moving the wrong key. Successful posts redirect back to the
//! page (post/redirect/get) with the saved notice.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{html, Markup};
use serde::Deserialize;
use sessionscope_analyze::{
    AnalysisSettings, Analyzer, ConfigProblem, ContextSetting, Point, SessionKeySetting,
    BUILTIN_KEYS, MAX_CONTEXT_ITEMS, MAX_KEY_POINTS,
};
use sessionscope_model::{format_rfc3339, Exchange, Micros, Role, StoredAs};
use sessionscope_server::AppState;
use sessionscope_store::{ConfigChange, Store, StoreError};

use crate::auth::ConsoleUser;
use crate::layout::{self, Nav};

/// Change-log entries shown on the page.
const CHANGES_SHOWN: usize = 50;
/// The notice after a successful save (PRODUCT.md: changes apply to new traffic).
const SAVED_NOTICE: &str = "saved; applies to traffic ingested from now on";

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/config", get(config_page))
        .route("/config/keys", post(change_keys))
        .route("/config/context", post(change_context))
        .route("/config/preview", get(preview))
}

/// Only admins see or change configuration (PRODUCT.md R1).
#[allow(clippy::result_large_err)] // the refusal is the page to answer, as axum handlers return it
fn refuse_unless_admin(user: &ConsoleUser) -> Result<(), Response> {
    if user.role == Role::Admin {
        return Ok(());
    }
    Err(layout::error_page(
        StatusCode::FORBIDDEN,
        "Only admins change configuration",
        "Configuration (grouping keys, context parameters) is shown and changed by users with the admin role. Ask an admin if something should change.",
    ))
}

fn unavailable(error: impl std::fmt::Display) -> Response {
    tracing::error!(error = %error, "configuration page failed to use the store");
    layout::error_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "The store did not answer",
        "The configuration could not be read or saved. Try again in a moment.",
    )
}

/// What the page shows, read from the store in one go.
struct Stored {
    settings: AnalysisSettings,
    /// Id of the newest change, 0 when none.
    version: i64,
    changes: Vec<ConfigChange>,
}

fn read_stored(store: &dyn Store) -> Result<Stored, String> {
    let settings = match store
        .analysis_settings()
        .map_err(|error| error.to_string())?
    {
        Some(text) => serde_json::from_str(&text)
            .map_err(|error| format!("stored analysis settings are not readable: {error}"))?,
        None => AnalysisSettings::default(),
    };
    let changes = store
        .config_changes(CHANGES_SHOWN)
        .map_err(|error| error.to_string())?;
    let version = changes.first().map_or(0, |change| change.id);
    Ok(Stored {
        settings,
        version,
        changes,
    })
}

async fn load(state: &AppState) -> Result<Stored, Response> {
    let store = state.store.clone();
    match tokio::task::spawn_blocking(move || read_stored(store.as_ref())).await {
        Ok(Ok(stored)) => Ok(stored),
        Ok(Err(error)) => Err(unavailable(error)),
        Err(error) => Err(unavailable(error)),
    }
}

/// Saves an edit of the settings as they were at `based_on` (the page's version); another save
/// in between (another admin, the command line) makes it stale and nothing is saved.
async fn save(
    state: &AppState,
    user: &ConsoleUser,
    based_on: i64,
    settings: &AnalysisSettings,
    summary: String,
) -> Result<(), Response> {
    let json = serde_json::to_string(settings).map_err(unavailable)?;
    let store = state.store.clone();
    let who = user.name.clone();
    let saved = tokio::task::spawn_blocking(move || {
        store.save_analysis_settings_based_on(based_on, &json, &who, &summary)
    })
    .await;
    match saved {
        Ok(Ok(change)) => {
            tracing::info!(user = %change.who, change = %change.summary, "analysis settings changed");
            Ok(())
        }
        Ok(Err(StoreError::StaleSettings { .. })) => Err(stale_page(user, load(state).await?)),
        Ok(Err(error)) => Err(unavailable(error)),
        Err(error) => Err(unavailable(error)),
    }
}

// ---- Page state ---------------------------------------------------------------------------

/// The point builder's inputs (also query parameters, so it works without JavaScript).
#[derive(Debug, Clone, Default, Deserialize)]
struct BuilderInput {
    #[serde(default)]
    pb_side: String,
    #[serde(default)]
    pb_kind: String,
    #[serde(default)]
    pb_name: String,
    #[serde(default)]
    pb_claim: String,
}

#[derive(Debug, Default, Deserialize)]
struct PageQuery {
    #[serde(flatten)]
    builder: BuilderInput,
    /// Index of the context parameter being edited.
    edit: Option<usize>,
    saved: Option<String>,
}

/// What the user typed into a form that was refused, shown again with the problems.
#[derive(Debug, Clone, Default)]
struct Draft {
    key_points: [String; MAX_KEY_POINTS],
    /// The context parameter being added (index = count) or edited, as typed.
    context: Option<(usize, ContextSetting)>,
}

struct PageView {
    stored: Stored,
    problems: Vec<ConfigProblem>,
    form_error: Option<String>,
    notice: Option<String>,
    draft: Draft,
    builder: BuilderInput,
}

/// Builds the point text from the builder's parts, as config.js does while typing.
fn build_point(input: &BuilderInput) -> String {
    let name = input.pb_name.trim();
    if name.is_empty() {
        return String::new();
    }
    let side = if input.pb_side == "response" {
        "response"
    } else {
        "request"
    };
    let claim = input.pb_claim.trim();
    let point = match input.pb_kind.as_str() {
        "jwt" => return format!("{side}.header.authorization.jwt.{name}"),
        "cookie" | "query" | "form" | "json" | "graphql" => {
            format!("{side}.{}.{name}", input.pb_kind)
        }
        _ => format!("{side}.header.{name}"),
    };
    if claim.is_empty() {
        point
    } else {
        format!("{point}.jwt.{claim}")
    }
}

fn key_label(key: &SessionKeySetting) -> String {
    key.points.join(" + ")
}

// ---- Handlers -----------------------------------------------------------------------------

async fn config_page(
    State(state): State<AppState>,
    user: ConsoleUser,
    Query(query): Query<PageQuery>,
) -> Response {
    if let Err(refused) = refuse_unless_admin(&user) {
        return refused;
    }
    let stored = match load(&state).await {
        Ok(stored) => stored,
        Err(failed) => return failed,
    };
    let mut draft = Draft::default();
    if let Some(index) = query.edit {
        if let Some(setting) = stored.settings.context.get(index) {
            draft.context = Some((index, setting.clone()));
        }
    }
    let preview = if build_point(&query.builder).is_empty() {
        None
    } else {
        Some(preview_markup(&state, &build_point(&query.builder)).await)
    };
    let view = PageView {
        stored,
        problems: Vec::new(),
        form_error: None,
        notice: query.saved.map(|_| SAVED_NOTICE.to_string()),
        draft,
        builder: query.builder,
    };
    (StatusCode::OK, render_page(&user, &view, preview)).into_response()
}

#[derive(Debug, Default, Deserialize)]
struct KeyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    version: Option<i64>,
    #[serde(default)]
    action: String,
    #[serde(default)]
    points: String,
    #[serde(default)]
    points_2: String,
    #[serde(default)]
    points_3: String,
}

/// `up:2`, `remove:0`, `move:3:1` → the verb and its numbers.
fn parse_action(action: &str) -> (&str, Vec<usize>) {
    let mut parts = action.split(':');
    let verb = parts.next().unwrap_or("");
    let numbers = parts.filter_map(|part| part.trim().parse().ok()).collect();
    (verb, numbers)
}

/// Checks role, CSRF and that the page was current; returns the stored settings to change.
async fn begin_change(
    state: &AppState,
    user: &ConsoleUser,
    csrf: &str,
    version: Option<i64>,
) -> Result<Stored, Response> {
    refuse_unless_admin(user)?;
    user.check_csrf(csrf)?;
    let stored = load(state).await?;
    if version != Some(stored.version) {
        return Err(stale_page(user, stored));
    }
    Ok(stored)
}

/// The page as stored now, with word that the edit was made on an older version (409).
fn stale_page(user: &ConsoleUser, stored: Stored) -> Response {
    let who = stored
        .changes
        .first()
        .map(|change| change.who.clone())
        .unwrap_or_default();
    let message = format!(
        "The configuration changed since this page was loaded (last change by {who}); nothing was saved. Review it below and try again."
    );
    let view = PageView {
        stored,
        problems: Vec::new(),
        form_error: Some(message),
        notice: None,
        draft: Draft::default(),
        builder: BuilderInput::default(),
    };
    (StatusCode::CONFLICT, render_page(user, &view, None)).into_response()
}

fn saved_redirect() -> Response {
    Redirect::to("/config?saved=1").into_response()
}

/// Validates `changed`; saves it with `summary`, or re-renders the page with every problem beside
/// its field and nothing saved.
async fn validate_and_save(
    state: &AppState,
    user: &ConsoleUser,
    stored: Stored,
    changed: AnalysisSettings,
    summary: String,
    draft: Draft,
) -> Response {
    if let Err(problems) = changed.validate() {
        let view = PageView {
            stored,
            problems,
            form_error: Some("Nothing was saved: fix the problems marked below.".to_string()),
            notice: None,
            draft,
            builder: BuilderInput::default(),
        };
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            render_page(user, &view, None),
        )
            .into_response();
    }
    match save(state, user, stored.version, &changed, summary).await {
        Ok(()) => saved_redirect(),
        Err(failed) => failed,
    }
}

async fn change_keys(
    State(state): State<AppState>,
    user: ConsoleUser,
    Form(form): Form<KeyForm>,
) -> Response {
    let stored = match begin_change(&state, &user, &form.csrf, form.version).await {
        Ok(stored) => stored,
        Err(refused) => return refused,
    };
    let mut changed = stored.settings.clone();
    let keys = &mut changed.session_keys;
    let count = keys.len();
    let (verb, numbers) = parse_action(&form.action);
    let summary = match (verb, numbers.as_slice()) {
        ("up", [index]) if *index > 0 && *index < count => {
            keys.swap(*index, index - 1);
            format!("moved key {} (`{}`) up", index + 1, key_label(&keys[index - 1]))
        }
        ("down", [index]) if index + 1 < count => {
            keys.swap(*index, index + 1);
            format!("moved key {} (`{}`) down", index + 1, key_label(&keys[index + 1]))
        }
        ("move", [from, to]) if *from < count && *to < count && from != to => {
            let key = keys.remove(*from);
            let summary = format!(
                "moved key {} (`{}`) to position {}",
                from + 1,
                key_label(&key),
                to + 1
            );
            keys.insert(*to, key);
            summary
        }
        ("remove", [index]) if *index < count => {
            let key = keys.remove(*index);
            format!("removed key {} (`{}`)", index + 1, key_label(&key))
        }
        ("add", []) => {
            let typed = [&form.points, &form.points_2, &form.points_3];
            let points: Vec<String> = typed
                .iter()
                .map(|text| text.trim().to_string())
                .filter(|text| !text.is_empty())
                .collect();
            let key = SessionKeySetting { points };
            let summary = match key.points.len() {
                1 => format!("added key `{}`", key_label(&key)),
                _ => format!("added composite key `{}`", key_label(&key)),
            };
            keys.push(key);
            let draft = Draft {
                key_points: [
                    form.points.clone(),
                    form.points_2.clone(),
                    form.points_3.clone(),
                ],
                context: None,
            };
            return validate_and_save(&state, &user, stored, changed, summary, draft).await;
        }
        _ => {
            return layout::error_page(
                StatusCode::BAD_REQUEST,
                "Unknown change",
                "The form asked for a change the page does not offer. Reload the configuration page and try again.",
            )
        }
    };
    validate_and_save(&state, &user, stored, changed, summary, Draft::default()).await
}

#[derive(Debug, Default, Deserialize)]
struct ContextForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    version: Option<i64>,
    #[serde(default)]
    action: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    point: String,
    #[serde(default, rename = "type")]
    kind: String,
    /// Checkboxes: present (`on`) when ticked.
    #[serde(default)]
    hashed: Option<String>,
    #[serde(default)]
    group_by: Option<String>,
}

fn context_from_form(form: &ContextForm) -> ContextSetting {
    ContextSetting {
        name: form.name.trim().to_string(),
        point: form.point.trim().to_string(),
        kind: if form.kind.trim().is_empty() {
            "none".to_string()
        } else {
            form.kind.trim().to_string()
        },
        hashed: form.hashed.is_some(),
        group_by: form.group_by.is_some(),
    }
}

/// Which fields of a context parameter changed, for the change log.
fn changed_fields(before: &ContextSetting, after: &ContextSetting) -> Vec<&'static str> {
    let mut fields = Vec::new();
    if before.name != after.name {
        fields.push("name");
    }
    if before.point != after.point {
        fields.push("point");
    }
    if !before.kind.eq_ignore_ascii_case(&after.kind) {
        fields.push("type");
    }
    if before.hashed != after.hashed {
        fields.push("hashed");
    }
    if before.group_by != after.group_by {
        fields.push("group-by");
    }
    fields
}

async fn change_context(
    State(state): State<AppState>,
    user: ConsoleUser,
    Form(form): Form<ContextForm>,
) -> Response {
    let stored = match begin_change(&state, &user, &form.csrf, form.version).await {
        Ok(stored) => stored,
        Err(refused) => return refused,
    };
    let mut changed = stored.settings.clone();
    let count = changed.context.len();
    let (verb, numbers) = parse_action(&form.action);
    let typed = context_from_form(&form);
    let (summary, draft) = match (verb, numbers.as_slice()) {
        ("add", []) => {
            changed.context.push(typed.clone());
            (
                format!("added context parameter `{}`", typed.name),
                Some((count, typed)),
            )
        }
        ("save", [index]) if *index < count => {
            let before = changed.context[*index].clone();
            let fields = changed_fields(&before, &typed);
            if fields.is_empty() {
                return saved_redirect();
            }
            changed.context[*index] = typed.clone();
            let summary = if before.name == typed.name {
                format!(
                    "changed {} of context parameter `{}`",
                    fields.join(", "),
                    typed.name
                )
            } else {
                format!(
                    "changed {} of context parameter `{}` (now `{}`)",
                    fields.join(", "),
                    before.name,
                    typed.name
                )
            };
            (summary, Some((*index, typed)))
        }
        ("remove", [index]) if *index < count => {
            let removed = changed.context.remove(*index);
            (format!("removed context parameter `{}`", removed.name), None)
        }
        _ => {
            return layout::error_page(
                StatusCode::BAD_REQUEST,
                "Unknown change",
                "The form asked for a change the page does not offer. Reload the configuration page and try again.",
            )
        }
    };
    let draft = Draft {
        context: draft,
        ..Draft::default()
    };
    validate_and_save(&state, &user, stored, changed, summary, draft).await
}

#[derive(Debug, Default, Deserialize)]
struct PreviewQuery {
    #[serde(default)]
    point: String,
}

/// `GET /config/preview?point=...`: the small HTML block the point builder shows.
async fn preview(
    State(state): State<AppState>,
    user: ConsoleUser,
    headers: HeaderMap,
    Query(query): Query<PreviewQuery>,
) -> Response {
    if let Err(refused) = refuse_unless_admin(&user) {
        // A script asking for a fragment gets a plain answer, not a whole error page.
        if headers.contains_key(crate::auth::FRAGMENT_HEADER) {
            return (StatusCode::FORBIDDEN, "only admins change configuration").into_response();
        }
        return refused;
    }
    preview_markup(&state, &query.point).await.into_response()
}

/// What a point reads from the newest sample that carries it, as it would be stored.
enum PreviewOutcome {
    Empty,
    Invalid(String),
    NoSamples,
    NotFound(usize),
    Found {
        value: String,
        stored_as: StoredAs,
        request_line: String,
        ts: Micros,
    },
}

fn preview_point(store: &dyn Store, point_text: &str) -> Result<PreviewOutcome, String> {
    let point_text = point_text.trim();
    if point_text.is_empty() {
        return Ok(PreviewOutcome::Empty);
    }
    let point = match point_text.parse::<Point>() {
        Ok(point) => point,
        Err(message) => return Ok(PreviewOutcome::Invalid(message)),
    };
    let secret = store
        .installation_secret()
        .map_err(|error| error.to_string())?;
    let lines = store.samples().map_err(|error| error.to_string())?;
    if lines.is_empty() {
        return Ok(PreviewOutcome::NoSamples);
    }
    // Only `preview_sample` is used, which reads no configuration.
    let analyzer = Analyzer::new(Default::default(), secret);
    let mut samples: Vec<Exchange> = lines
        .iter()
        .filter_map(|line| sessionscope_ingest::parse_exchange_line(line.as_bytes(), 0).ok())
        .collect();
    samples.sort_by_key(|sample| std::cmp::Reverse(sample.ts));
    for sample in &samples {
        if let Some((value, stored_as)) = analyzer.preview_sample(&point, sample) {
            return Ok(PreviewOutcome::Found {
                value,
                stored_as,
                request_line: format!("{} {}", sample.request.method, sample.request.url),
                ts: sample.ts,
            });
        }
    }
    Ok(PreviewOutcome::NotFound(samples.len()))
}

async fn preview_markup(state: &AppState, point_text: &str) -> Markup {
    let store = state.store.clone();
    let text = point_text.to_string();
    let outcome = tokio::task::spawn_blocking(move || preview_point(store.as_ref(), &text)).await;
    let outcome = match outcome {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(error)) => {
            tracing::error!(error = %error, "point preview failed to read the store");
            return html! { p.field-error { "The samples could not be read; try again." } };
        }
        Err(error) => {
            tracing::error!(error = %error, "point preview failed");
            return html! { p.field-error { "The preview failed; try again." } };
        }
    };
    html! {
        div.pb-result {
            @match outcome {
                PreviewOutcome::Empty => p.muted { "Type a name to build a point." },
                PreviewOutcome::Invalid(message) => p.field-error { (message) },
                PreviewOutcome::NoSamples => p.muted { "No traffic was ingested yet, so there is no recent exchange to preview against." },
                PreviewOutcome::NotFound(count) => p.muted {
                    "no recent exchange carries this point "
                    span.hint { "(" (count) " recent exchanges of distinct endpoints checked)" }
                },
                PreviewOutcome::Found { value, stored_as, request_line, ts } => {
                    div.pb-value {
                        code.pb-stored { (value) }
                        " "
                        span.chip.stored-as.(format!("stored-{}", stored_as_text(stored_as))) { "stored " (stored_as_text(stored_as)) }
                    }
                    div.pb-source.muted {
                        "from " code { (request_line) } " at " (time_element(ts))
                    }
                }
            }
        }
    }
}

fn stored_as_text(stored_as: StoredAs) -> &'static str {
    match stored_as {
        StoredAs::Clear => "clear",
        StoredAs::Hashed => "hashed",
        StoredAs::Masked => "masked",
    }
}

fn time_element(ts: Micros) -> Markup {
    let text = format_rfc3339(ts);
    html! { time datetime=(text) { (text) } }
}

// ---- Rendering ----------------------------------------------------------------------------

fn problems_at<'p>(problems: &'p [ConfigProblem], prefix: &str) -> Vec<&'p ConfigProblem> {
    problems
        .iter()
        .filter(|problem| {
            problem.location == prefix
                || problem
                    .location
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
        })
        .collect()
}

fn field_errors(problems: &[ConfigProblem], location: &str) -> Markup {
    html! {
        @for problem in problems.iter().filter(|problem| problem.location == location) {
            div.field-error data-location=(problem.location) { (problem.message) }
        }
    }
}

/// Problems not shown beside any field of the page (e.g. `apps[0].host`), listed at the top.
fn unplaced(view: &PageView) -> Vec<&ConfigProblem> {
    let keys = view.stored.settings.session_keys.len();
    let draft_context = view.draft.context.as_ref().map(|(index, _)| *index);
    view.problems
        .iter()
        .filter(|problem| {
            let placed_key = (0..=keys).any(|index| {
                let prefix = format!("session_keys[{index}].points");
                problem.location == prefix || problem.location.starts_with(&format!("{prefix}["))
            });
            let placed_context = draft_context.is_some_and(|index| {
                [".name", ".point", ".type", ".group_by"]
                    .iter()
                    .any(|field| problem.location == format!("context[{index}]{field}"))
            }) || problem.location == "context";
            !placed_key && !placed_context
        })
        .collect()
}

fn render_page(user: &ConsoleUser, view: &PageView, preview: Option<Markup>) -> Markup {
    let unplaced = unplaced(view);
    let body = html! {
        div.config-page {
            h1 { "Configuration" }
            @if let Some(notice) = &view.notice {
                p.notice role="status" { (notice) }
            }
            @if let Some(error) = &view.form_error {
                p.form-error role="alert" { (error) }
            }
            @for problem in &unplaced {
                p.field-error { code { (problem.location) } ": " (problem.message) }
            }
            div.config-grid {
                div.config-column {
                    (keys_section(user, view))
                    (context_section(user, view))
                    (apps_section(view))
                }
                div.config-column {
                    (builder_section(view, preview))
                    (change_log_section(view))
                }
            }
        }
    };
    layout::page(user, Nav::Config, "Configuration", body)
}

fn hidden_fields(user: &ConsoleUser, view: &PageView) -> Markup {
    html! {
        input type="hidden" name="csrf" value=(user.csrf);
        input type="hidden" name="version" value=(view.stored.version);
    }
}

fn keys_section(user: &ConsoleUser, view: &PageView) -> Markup {
    let keys = &view.stored.settings.session_keys;
    let new_index = keys.len();
    let new_prefix = format!("session_keys[{new_index}].points");
    html! {
        section.panel.config-section #grouping-keys {
            h2 { "Grouping keys" }
            p.hint {
                "Tried in this order; the first key present in an exchange names its session. "
                "A key is one point, or up to " (MAX_KEY_POINTS) " points that must all be present. "
                "Context parameters marked group-by are tried next, then the built-in keys."
            }
            form #config-keys method="post" action="/config/keys" {
                (hidden_fields(user, view))
                @if keys.is_empty() {
                    p.muted.empty-keys { "No grouping keys of your own: the built-in keys below decide." }
                }
                ol.key-list {
                    @for (index, key) in keys.iter().enumerate() {
                        li.key-row draggable="true" data-index=(index) {
                            span.key-handle title="Drag to reorder" aria-hidden="true" { "⋮⋮" }
                            span.key-position.num { (index + 1) }
                            span.key-points {
                                @for (point_index, point) in key.points.iter().enumerate() {
                                    @if point_index > 0 { span.muted { " + " } }
                                    code { (point) }
                                }
                                @if key.points.len() > 1 { " " span.chip { "composite" } }
                            }
                            span.key-actions {
                                button.move-up type="submit" name="action" value=(format!("up:{index}"))
                                    title="Move up" aria-label=(format!("Move key {} up", index + 1)) disabled[index == 0] { "↑" }
                                button.move-down type="submit" name="action" value=(format!("down:{index}"))
                                    title="Move down" aria-label=(format!("Move key {} down", index + 1)) disabled[index + 1 == keys.len()] { "↓" }
                                button.remove-key type="submit" name="action" value=(format!("remove:{index}"))
                                    title="Remove" aria-label=(format!("Remove key {}", index + 1)) { "Remove" }
                            }
                            @for problem in problems_at(&view.problems, &format!("session_keys[{index}]")) {
                                div.field-error { (problem.message) }
                            }
                        }
                    }
                }
            }
            form #add-key.add-form method="post" action="/config/keys" {
                (hidden_fields(user, view))
                input type="hidden" name="action" value="add";
                div.add-key-fields {
                    @for (point_index, field) in ["points", "points_2", "points_3"].iter().enumerate() {
                        div.field {
                            label for=(format!("key-{field}")) {
                                @if point_index == 0 { "Point" } @else { "and point " (point_index + 1) " (optional)" }
                            }
                            input id=(format!("key-{field}")) type="text" name=(field) class="mono"
                                placeholder=(if point_index == 0 { "request.header.x-session-id" } else { "" })
                                value=(view.draft.key_points[point_index]) autocomplete="off" spellcheck="false";
                            (field_errors(&view.problems, &format!("{new_prefix}[{point_index}]")))
                        }
                    }
                }
                (field_errors(&view.problems, &new_prefix))
                button.primary type="submit" { "Add key" }
            }
            h3.builtin-title { "Built-in keys " span.muted { "(read-only, tried after yours, in this order)" } }
            ol.builtin-keys {
                @for (label, description) in BUILTIN_KEYS {
                    li { code { (label) } " " span.muted { (with_code_spans(description)) } }
                }
            }
        }
    }
}

/// Text whose `backticked` parts are shown as code (the built-in keys' descriptions use them).
fn with_code_spans(text: &str) -> Markup {
    html! {
        @for (index, piece) in text.split('`').enumerate() {
            @if index % 2 == 1 { code { (piece) } } @else { (piece) }
        }
    }
}

fn kind_options(selected: &str) -> Markup {
    let selected = selected.trim().to_ascii_lowercase();
    html! {
        @for (value, label) in [("none", "none"), ("user", "User"), ("role", "Role")] {
            option value=(value) selected[selected == value || (selected.is_empty() && value == "none")] { (label) }
        }
    }
}

fn context_inputs(
    index: usize,
    setting: &ContextSetting,
    problems: &[ConfigProblem],
    action: &str,
    label: &str,
) -> Markup {
    let at = |field: &str| format!("context[{index}].{field}");
    html! {
        tr.context-edit {
            td {
                input type="text" name="name" value=(setting.name) placeholder="user" aria-label="Name" autocomplete="off";
                (field_errors(problems, &at("name")))
            }
            td {
                input.mono type="text" name="point" value=(setting.point) placeholder="request.header.authorization.jwt.sub" aria-label="Point" autocomplete="off" spellcheck="false";
                (field_errors(problems, &at("point")))
            }
            td {
                select name="type" aria-label="Type" { (kind_options(&setting.kind)) }
                (field_errors(problems, &at("type")))
            }
            td { input type="checkbox" name="hashed" aria-label="Hashed" checked[setting.hashed]; }
            td {
                input type="checkbox" name="group_by" aria-label="Group by" checked[setting.group_by];
                (field_errors(problems, &at("group_by")))
            }
            td.row-actions {
                button.primary type="submit" name="action" value=(action) { (label) }
                @if action != "add" { " " a href="/config" { "Cancel" } }
            }
        }
    }
}

fn context_section(user: &ConsoleUser, view: &PageView) -> Markup {
    let context = &view.stored.settings.context;
    let editing = view
        .draft
        .context
        .as_ref()
        .filter(|(index, _)| *index < context.len());
    let adding = view
        .draft
        .context
        .as_ref()
        .filter(|(index, _)| *index >= context.len())
        .map(|(_, setting)| setting.clone())
        .unwrap_or_else(|| ContextSetting {
            name: String::new(),
            point: String::new(),
            kind: "none".into(),
            hashed: false,
            group_by: false,
        });
    let full = context.len() >= MAX_CONTEXT_ITEMS;
    html! {
        section.panel.config-section #context {
            h2 { "Context parameters " span.muted { (context.len()) " of " (MAX_CONTEXT_ITEMS) } }
            p.hint { "Values kept with every exchange. Type User / Role fills the session's user and roles; hashed stores a keyed hash; group-by also makes it a grouping key." }
            (field_errors(&view.problems, "context"))
            form #context-params method="post" action="/config/context" {
                (hidden_fields(user, view))
                table.grid.context-table {
                    thead { tr { th { "Name" } th { "Point" } th { "Type" } th { "Hashed" } th { "Group-by" } th {} } }
                    tbody {
                        @for (index, setting) in context.iter().enumerate() {
                            @if let Some((_, draft)) = editing.filter(|(edited, _)| *edited == index) {
                                (context_inputs(index, draft, &view.problems, &format!("save:{index}"), "Save"))
                            } @else {
                                tr.context-row {
                                    td { (setting.name) }
                                    td { code { (setting.point) } }
                                    td { (kind_label(&setting.kind)) }
                                    td { @if setting.hashed { "yes" } @else { span.muted { "no" } } }
                                    td { @if setting.group_by { "yes" } @else { span.muted { "no" } } }
                                    td.row-actions {
                                        a.button href=(format!("/config?edit={index}#context")) { "Edit" }
                                        " "
                                        button.remove-context type="submit" name="action" value=(format!("remove:{index}")) formnovalidate { "Remove" }
                                    }
                                }
                            }
                        }
                        @if editing.is_none() && !full {
                            (context_inputs(context.len(), &adding, &view.problems, "add", "Add"))
                        }
                    }
                }
                @if full && editing.is_none() {
                    p.muted { "The limit of " (MAX_CONTEXT_ITEMS) " context parameters is reached; remove one to add another." }
                }
            }
        }
    }
}

fn kind_label(kind: &str) -> &'static str {
    match kind.trim().to_ascii_lowercase().as_str() {
        "user" => "User",
        "role" => "Role",
        "none" | "" => "none",
        _ => "unknown",
    }
}

fn apps_section(view: &PageView) -> Markup {
    let apps = &view.stored.settings.apps;
    html! {
        section.panel.config-section #apps {
            h2 { "Applications" }
            @if apps.is_empty() {
                p.muted { "No application rules." }
            } @else {
                table.grid {
                    thead { tr { th { "Name" } th { "Host" } th { "Path" } } }
                    tbody {
                        @for app in apps {
                            tr { td { (app.name) } td { code { (app.host) } } td { code { (app.path.as_deref().unwrap_or("*")) } } }
                        }
                    }
                }
            }
            p.hint { "Application rules are changed with " code { "sessionscope config import FILE" } "." }
        }
    }
}

fn builder_section(view: &PageView, preview: Option<Markup>) -> Markup {
    let input = &view.builder;
    let point = build_point(input);
    let side = if input.pb_side == "response" {
        "response"
    } else {
        "request"
    };
    let kinds = [
        ("header", "Header", true),
        ("cookie", "Cookie", true),
        ("query", "Query parameter", false),
        ("form", "Form field", false),
        ("json", "JSON property", true),
        ("graphql", "GraphQL variable", false),
        ("jwt", "JWT claim (Authorization)", false),
    ];
    let selected_kind = if input.pb_kind.is_empty() {
        "header"
    } else {
        input.pb_kind.as_str()
    };
    html! {
        section.panel.config-section #point-builder-panel {
            h2 { "Point builder" }
            p.hint { "Build a point and see what it reads from a recent real exchange, as it would be stored." }
            form #point-builder method="get" action="/config" {
                div.pb-fields {
                    div.field {
                        label for="pb-side" { "Side" }
                        select #pb-side name="pb_side" {
                            option value="request" selected[side == "request"] { "Request" }
                            option value="response" selected[side == "response"] { "Response" }
                        }
                    }
                    div.field {
                        label for="pb-kind" { "Kind" }
                        select #pb-kind name="pb_kind" {
                            @for (value, label, on_response) in kinds {
                                option value=(value) selected[selected_kind == value] data-response=(if on_response { "yes" } else { "no" }) { (label) }
                            }
                        }
                    }
                    div.field.pb-name-field {
                        label for="pb-name" { "Name or path" }
                        input #pb-name.mono type="text" name="pb_name" value=(input.pb_name) placeholder="x-session-id" autocomplete="off" spellcheck="false";
                    }
                    div.field {
                        label for="pb-claim" { "JWT claim " span.muted { "(optional)" } }
                        input #pb-claim.mono type="text" name="pb_claim" value=(input.pb_claim) placeholder="sub" autocomplete="off" spellcheck="false";
                    }
                    button.pb-build type="submit" { "Preview" }
                }
                div.pb-point-line {
                    span.muted { "Point " }
                    output #pb-point.mono for="pb-side pb-kind pb-name pb-claim" { (point) }
                    span.pb-use {
                        button.link-button type="button" data-use="key" { "Use as key" }
                        " · "
                        button.link-button type="button" data-use="context" { "Use as context parameter" }
                    }
                }
                div #pb-preview aria-live="polite" {
                    @if let Some(preview) = preview { (preview) } @else {
                        p.muted { "Type a name to build a point." }
                    }
                }
            }
        }
    }
}

fn pretty_json(text: &str) -> String {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|value| serde_json::to_string_pretty(&value).ok())
        .unwrap_or_else(|| text.to_string())
}

fn change_log_section(view: &PageView) -> Markup {
    html! {
        section.panel.config-section #change-log-panel {
            h2 { "Change log" }
            p.muted { "Sign-ins and user and token changes are in the " a #audit-link href="/config/audit" { "audit log" } "." }
            @if view.stored.changes.is_empty() {
                p.muted { "No changes recorded yet." }
            }
            ol #change-log {
                @for change in &view.stored.changes {
                    li.change data-change-id=(change.id) {
                        div.change-head {
                            span.change-who { (change.who) }
                            " "
                            span.change-when.muted { (time_element(change.at)) }
                        }
                        div.change-summary { (change.summary) }
                        details.change-details {
                            summary { "Before / after" }
                            div.change-diff {
                                div {
                                    h3 { "Before" }
                                    @match &change.before {
                                        Some(before) => pre.change-before { (pretty_json(before)) },
                                        None => p.muted { "(nothing: first version)" },
                                    }
                                }
                                div {
                                    h3 { "After" }
                                    pre.change-after { (pretty_json(&change.after)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builder(side: &str, kind: &str, name: &str, claim: &str) -> BuilderInput {
        BuilderInput {
            pb_side: side.into(),
            pb_kind: kind.into(),
            pb_name: name.into(),
            pb_claim: claim.into(),
        }
    }

    #[test]
    fn the_builder_makes_points_that_parse() {
        let cases = [
            (
                builder("request", "header", "X-Session-Id", ""),
                "request.header.X-Session-Id",
            ),
            (
                builder("response", "cookie", "sid", ""),
                "response.cookie.sid",
            ),
            (
                builder("request", "json", "user.ids[0]", ""),
                "request.json.user.ids[0]",
            ),
            (
                builder("request", "jwt", "sub", ""),
                "request.header.authorization.jwt.sub",
            ),
            (
                builder("request", "cookie", "id_token", "email"),
                "request.cookie.id_token.jwt.email",
            ),
            (
                builder("request", "graphql", "userId", ""),
                "request.graphql.userId",
            ),
            (builder("request", "query", "  ", ""), ""),
        ];
        for (input, expected) in cases {
            let built = build_point(&input);
            assert_eq!(built, expected);
            if !built.is_empty() {
                assert!(built.parse::<Point>().is_ok(), "{built}");
            }
        }
    }

    #[test]
    fn actions_parse_into_verb_and_numbers() {
        assert_eq!(parse_action("up:2"), ("up", vec![2]));
        assert_eq!(parse_action("move:3:0"), ("move", vec![3, 0]));
        assert_eq!(parse_action("add"), ("add", vec![]));
        assert_eq!(parse_action("up:x"), ("up", vec![]));
    }

    #[test]
    fn problems_are_matched_to_their_field_by_location() {
        let problems = vec![
            ConfigProblem {
                location: "session_keys[1].points[0]".into(),
                message: "bad".into(),
            },
            ConfigProblem {
                location: "session_keys[10].points".into(),
                message: "other".into(),
            },
        ];
        assert_eq!(problems_at(&problems, "session_keys[1]").len(), 1);
        assert_eq!(problems_at(&problems, "session_keys[10]").len(), 1);
        assert!(problems_at(&problems, "session_keys[0]").is_empty());
    }
}
