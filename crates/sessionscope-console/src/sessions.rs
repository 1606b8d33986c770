//! The session list `/sessions` (PRODUCT.md E1–E4, CONSOLE.md): the filter bar (time presets and
//! range, endpoint search, the "Filter" menu, removable chips), the business-flow summary, one
//! row per session part, paging by the store's cursor, and the expanded session (`session.rs`)
//! under its row. The URL parameters are described in `state.rs`.
//!
//! A page costs one `list_sessions` call (limit 50), plus the expanded session's reads; an
//! empty answer costs one `usage` call more, to tell an empty store from filters that match
//! nothing. Fragments (`fragment=session|requests|request`) skip the list.

use axum::extract::{Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};
use sessionscope_model::{Count, Flow, PageRequest, SessionPage, SessionSummary};
use sessionscope_server::filters::WINDOW_PRESETS;
use sessionscope_server::AppState;
use sessionscope_store::StoreError;

use crate::auth::ConsoleUser;
use crate::format::{self, flow_label};
use crate::layout::{self, Nav};
use crate::request;
use crate::session::{self, parameter_label, value_label, SessionData};
use crate::state::{Fragment, ViewState};

/// Session rows per page.
pub const SESSION_PAGE_SIZE: u32 = 50;
/// Chips shown per cell before "+N more".
const FLOWS_SHOWN: usize = 3;
const ENDPOINTS_SHOWN: usize = 3;
const HOSTS_SHOWN: usize = 2;
/// Columns of the session table (for the colspan of the details row).
const SESSION_COLUMNS: usize = 9;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/sessions", get(sessions_page))
}

/// What one page read from the store.
struct ListData {
    page: Result<SessionPage, StoreError>,
    /// Known only when the page is empty: whether anything is stored at all.
    store_empty: bool,
    /// A note when the list cursor was stale and the first page is shown instead.
    cursor_note: Option<String>,
    session: Option<Result<SessionData, StoreError>>,
}

/// The answer for a role that may not see sessions (api_developer, ingest).
pub fn forbidden(user: &ConsoleUser) -> Response {
    let body = html! {
        section.panel.empty-state {
            h1 { "Sessions are not available to your role" }
            p {
                "You are signed in as " strong { (user.name) } " with the role " code { (user.role) }
                ", which does not see sessions or requests: this role may not open the session list or request details. "
                "It works with the endpoint inventory through the API (" code { "/api/v1" } ")."
            }
            p.muted { "Ask an administrator for the " code { "analyst" } " or " code { "read_only" } " role if you need sessions." }
            p { a href="/account" { "Your account" } }
        }
    };
    (
        StatusCode::FORBIDDEN,
        layout::page(user, Nav::Account, "Not available", body),
    )
        .into_response()
}

/// A calm message for a store that failed to answer; the detail goes to the log only.
pub fn store_problem(detail: &str) -> Markup {
    tracing::error!(error = %detail, "console could not read the store");
    html! {
        section.panel.error-state role="alert" {
            h2 { "The store did not answer" }
            p { "Sessions could not be read just now. Reload the page in a moment; if it keeps failing, the server log says why (look for “console could not read the store”)." }
            p { a.button href="/sessions" { "Reload the session list" } }
        }
    }
}

async fn sessions_page(State(state): State<AppState>, user: ConsoleUser, uri: Uri) -> Response {
    if !user.role.can_read_sessions() {
        return forbidden(&user);
    }
    let now = state.now();
    let (pairs, malformed) = match Query::<Vec<(String, String)>>::try_from_uri(&uri) {
        Ok(Query(pairs)) => (pairs, None),
        Err(rejection) => (
            Vec::new(),
            Some(format!("malformed query string: {}", rejection.body_text())),
        ),
    };
    let mut view = ViewState::parse(&pairs, now);
    if let Some(problem) = malformed {
        view.problems.push(problem);
    }

    match view.fragment {
        Fragment::Page => {}
        Fragment::Session | Fragment::Requests => return session_fragment(&state, view).await,
        Fragment::Request => return request_fragment(&state, view).await,
    }

    let load_view = view.clone();
    let store = state.store.clone();
    let loaded = tokio::task::spawn_blocking(move || {
        let filter = load_view.filter.clone();
        let mut page_request = PageRequest {
            limit: SESSION_PAGE_SIZE,
            cursor: load_view.cursor.clone(),
        };
        let mut page = store.list_sessions(&filter, &page_request);
        let mut cursor_note = None;
        if let Err(StoreError::InvalidCursor(cursor)) = &page {
            cursor_note = Some(format!(
                "invalid value `{cursor}` for parameter `cursor`; showing the first page"
            ));
            page_request.cursor = None;
            page = store.list_sessions(&filter, &page_request);
        }
        let store_empty = match &page {
            Ok(page) if page.total == Some(0) && page.sessions.is_empty() => store
                .usage()
                .map(|usage| usage.exchanges == 0)
                .unwrap_or(false),
            _ => false,
        };
        let session = load_view
            .open
            .map(|session_id| session::load(store.as_ref(), &load_view, session_id, now));
        ListData {
            page,
            store_empty,
            cursor_note,
            session,
        }
    })
    .await;
    let data = match loaded {
        Ok(data) => data,
        Err(error) => {
            let body = store_problem(&error.to_string());
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                layout::page(&user, Nav::Sessions, "Sessions", body),
            )
                .into_response();
        }
    };
    if let Some(note) = &data.cursor_note {
        view.problems.push(note.clone());
    }
    let failed = data.page.is_err();
    let body = list_body(&view, &data);
    let status = if failed {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    (status, layout::page(&user, Nav::Sessions, "Sessions", body)).into_response()
}

/// `fragment=session` (the block) or `fragment=requests` (the next rows of its table).
async fn session_fragment(state: &AppState, view: ViewState) -> Response {
    let Some(session_id) = view.open else {
        return fragment_problem(
            StatusCode::BAD_REQUEST,
            "the fragment needs `open=<session id>`",
        );
    };
    let now = state.now();
    let store = state.store.clone();
    let load_view = view.clone();
    let fragment = view.fragment;
    let loaded = tokio::task::spawn_blocking(move || {
        if fragment == Fragment::Requests {
            let filter = load_view.session_filter(now);
            let day = load_view.part.as_ref().map(|(_, day)| *day);
            let requests = session::request_page(
                store.as_ref(),
                session_id,
                day,
                &filter,
                load_view.sort,
                load_view.request_cursor.clone(),
            )?;
            return Ok(SessionData {
                session_id,
                parts: Vec::new(),
                stats: Default::default(),
                requests,
                notes: Vec::new(),
                marks: Vec::new(),
                marks_total: 0,
                request: None,
                request_content: None,
                request_missing: false,
            });
        }
        session::load(store.as_ref(), &load_view, session_id, now)
    })
    .await;
    match loaded {
        Ok(Ok(data)) if fragment == Fragment::Requests => {
            session::rows_fragment(&view, &data).into_response()
        }
        Ok(Ok(data)) => html! {
            (problems(&view))
            (session::render(&view, &data))
        }
        .into_response(),
        Ok(Err(error)) => store_unavailable(error),
        Err(error) => store_unavailable(error),
    }
}

/// `fragment=request`: the request details block alone.
async fn request_fragment(state: &AppState, view: ViewState) -> Response {
    let Some(id) = view.request.clone() else {
        return fragment_problem(
            StatusCode::BAD_REQUEST,
            "the fragment needs `req=<request id>`",
        );
    };
    let store = state.store.clone();
    let lookup = id.clone();
    let close_href = view.current_pairs().without(&["req"]).href("/sessions");
    match tokio::task::spawn_blocking(move || {
        request::request_with_content(store.as_ref(), &lookup)
    })
    .await
    {
        Ok(Ok(Some((details, content)))) => {
            request::details_block(&details, Some(&close_href), content.as_deref()).into_response()
        }
        Ok(Ok(None)) => fragment_problem(
            StatusCode::NOT_FOUND,
            &format!("no request with id `{id}` is stored"),
        ),
        Ok(Err(error)) => store_unavailable(error),
        Err(error) => store_unavailable(error),
    }
}

/// A fragment's answer when the store (or the blocking task reading it) failed.
fn store_unavailable(error: impl std::fmt::Display) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        store_problem(&error.to_string()),
    )
        .into_response()
}

fn fragment_problem(status: StatusCode, message: &str) -> Response {
    (
        status,
        html! { p.filter-problem role="alert" { (message) } },
    )
        .into_response()
}

fn problems(view: &ViewState) -> Markup {
    html! {
        @if !view.problems.is_empty() {
            div.filter-problems role="alert" {
                @for problem in &view.problems {
                    p.filter-problem { (problem) }
                }
            }
        }
    }
}

fn list_body(view: &ViewState, data: &ListData) -> Markup {
    html! {
        (filter_bar(view))
        (problems(view))
        (active_filter_chips(view))
        @match &data.page {
            Err(error) => (store_problem(&error.to_string())),
            Ok(page) => (list_section(view, page, data)),
        }
    }
}

/// The presets, the absolute range, the endpoint search and the "Filter" menu, in one GET form
/// whose hidden fields carry the filters that have no visible field, so submitting it keeps them.
fn filter_bar(view: &ViewState) -> Markup {
    let general = &view.general;
    let joined = |key: &str| -> String {
        general
            .0
            .iter()
            .filter(|(candidate, _)| candidate == key)
            .map(|(_, value)| value.as_str())
            .collect::<Vec<_>>()
            .join(",")
    };
    let time_free = general.without(&["window", "from", "to"]);
    let current_window = general.get("window");
    let no_time = current_window.is_none() && !general.has("from") && !general.has("to");
    let hidden: Vec<&(String, String)> = general
        .0
        .iter()
        .filter(|(key, _)| !matches!(key.as_str(), "from" | "to" | "endpoint"))
        .collect();
    let flow_options = Flow::ALL;
    html! {
        form #filter-bar .filter-bar method="get" action="/sessions" {
            div.filter-row {
                nav.time-presets aria-label="Time window" {
                    @for preset in WINDOW_PRESETS {
                        a.preset.active[current_window == Some(*preset)]
                            href=(time_free.with("window", preset).href("/sessions")) data-window=(preset) {
                            (preset_short_label(preset))
                        }
                    }
                    a.preset.active[no_time] href=(time_free.href("/sessions")) data-window="" { "All" }
                }
                div.time-range {
                    input #filter-from type="text" name="from" value=(joined("from")) placeholder="from: -1h or 2026-11-22T10:00:00Z"
                        aria-label="From (inclusive): relative like -1h or RFC 3339" size="22";
                    span.muted { "→" }
                    input #filter-to type="text" name="to" value=(joined("to")) placeholder="to: now"
                        aria-label="To (exclusive): relative like -5m or RFC 3339" size="14";
                }
                div.search-box {
                    input #endpoint-search type="search" name="endpoint" value=(joined("endpoint"))
                        placeholder="Endpoint, e.g. /v1/users/*  ( / )" aria-label="Endpoint search; * matches any run, ? one character"
                        autocomplete="off" spellcheck="false";
                }
                details.filter-menu #filter-menu {
                    summary.button { "Filter" }
                    div.filter-menu-body {
                        p.hint { "Values add to the current filters; commas separate alternatives." }
                        div.filter-fields {
                            (menu_field("app", "Application", "shop"))
                            (menu_field("host", "Host", "api.shop.example"))
                            label.field {
                                span { "Business flow" }
                                select name="flow" {
                                    option value="" { "any" }
                                    @for flow in flow_options {
                                        option value=(flow.id()) { (flow.label()) }
                                    }
                                }
                            }
                            (menu_field("user", "User", "user as stored"))
                            (menu_field("role", "Role", "admin"))
                            (menu_field("client_ip", "Client IP or CIDR", "203.0.113.0/24"))
                            (menu_field("attack_type", "Attack type", "sqli, xss, brute"))
                            (menu_field("status", "Response code", "404 or 5xx"))
                            (menu_field("method", "Method", "POST"))
                            (menu_field("session_id", "Session id", "32 hex characters"))
                            (menu_field("request_id", "Request id", "exchange id"))
                        }
                        div.filter-menu-actions {
                            button.primary type="submit" { "Add filters" }
                        }
                    }
                }
                @for (key, value) in &hidden {
                    input type="hidden" name=(key) value=(value);
                }
                button.primary.apply type="submit" { "Apply" }
            }
        }
    }
}

fn menu_field(name: &str, label: &str, placeholder: &str) -> Markup {
    html! {
        label.field {
            span { (label) }
            input type="text" name=(name) placeholder=(placeholder) autocomplete="off";
        }
    }
}

fn preset_short_label(preset: &str) -> &str {
    match preset {
        "15m" => "15m",
        "30m" => "30m",
        "1h" => "1h",
        "6h" => "6h",
        "12h" => "12h",
        "today" => "Today",
        "yesterday" => "Yesterday",
        "last_week" => "Last week",
        other => other,
    }
}

/// One removable chip per active general filter value.
fn active_filter_chips(view: &ViewState) -> Markup {
    let general = &view.general;
    if general.0.is_empty() {
        return html! {};
    }
    html! {
        div.active-filters #active-filters {
            @for (key, value) in &general.0 {
                @let alternatives: Vec<&str> = if matches!(key.as_str(), "from" | "to" | "window") {
                    vec![value.trim()]
                } else {
                    value.split(',').map(str::trim).filter(|part| !part.is_empty()).collect()
                };
                @for alternative in alternatives {
                    span.filter-chip data-key=(key) data-value=(alternative) {
                        span.chip-key { (parameter_label(key)) }
                        span.chip-value { (value_label(key, alternative)) }
                        a.chip-remove aria-label={ "Remove filter " (parameter_label(key)) " " (alternative) }
                            href=(general.without_alternative(key, alternative).href("/sessions")) { "×" }
                    }
                }
            }
            a.clear-link href="/sessions" { "Clear all" }
        }
    }
}

fn list_section(view: &ViewState, page: &SessionPage, data: &ListData) -> Markup {
    let count_text = match page.total {
        None => "Sessions: number unknown".to_string(),
        Some(total) if page.total_exact => format!(
            "{} {}",
            format::grouped(total),
            plural(total, "session", "sessions")
        ),
        Some(total) => format!(
            "about {} {}",
            format::grouped(total),
            plural(total, "session", "sessions")
        ),
    };
    let open_in_page = view.open.is_some_and(|open| {
        page.sessions
            .iter()
            .any(|summary| summary.session_id == open && row_part_matches(view, summary))
    });
    html! {
        div.list-header {
            h1 #session-count data-total=(page.total.map_or(String::new(), |total| total.to_string())) { (count_text) }
            @if page.total.is_none() {
                span.hint title="Some filter values can only be checked on each request; the pages below list every match" { "unknown" }
            } @else if !page.total_exact {
                span.hint title="Counted from per-part aggregates; some parts may match each filter on different requests" { "estimate" }
            }
            (flow_summary(view, &page.flows))
        }
        @if !open_in_page {
            @if let Some(Ok(session_data)) = &data.session {
                div.orphan-details { (session::render(view, session_data)) }
            }
            @if let Some(Err(error)) = &data.session {
                (store_problem(&error.to_string()))
            }
        }
        @if page.sessions.is_empty() {
            (empty_state(view, data.store_empty))
        } @else {
            div.table-scroll {
                table #sessions .grid.sessions data-list-href=(view.list_pairs().href("/sessions")) {
                    thead {
                        tr {
                            th { "Start / duration" }
                            th { "Session" }
                            th { "Status" }
                            th.num { "Requests / attacks" }
                            th { "User, roles" }
                            th { "Client IPs" }
                            th { "Hosts / apps" }
                            th { "Business flows" }
                            th { "Endpoints" }
                        }
                    }
                    tbody {
                        @for summary in &page.sessions {
                            @let expanded = view.open == Some(summary.session_id) && row_part_matches(view, summary);
                            (session_row(view, summary, expanded))
                            @if expanded {
                                tr.details-row {
                                    td colspan=(SESSION_COLUMNS) {
                                        @match &data.session {
                                            Some(Ok(session_data)) => (session::render(view, session_data)),
                                            Some(Err(error)) => (store_problem(&error.to_string())),
                                            None => {},
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            div.list-footer {
                @if view.cursor.is_some() {
                    a.button.subtle #first-page href=(view.general.href("/sessions")) { "← First page" }
                }
                @if let Some(next) = &page.next_cursor {
                    a.button.show-more #next-page href=(view.general.with("cursor", next).href("/sessions")) {
                        "Show more sessions"
                    }
                }
                span.muted { (page.sessions.len()) " shown on this page" }
            }
        }
    }
}

/// A row is the open one when its part is the open part, or no part was given.
fn row_part_matches(view: &ViewState, summary: &SessionSummary) -> bool {
    match &view.part {
        Some((text, _)) => &summary.part == text,
        None => true,
    }
}

fn plural<'a>(count: u64, one: &'a str, many: &'a str) -> &'a str {
    if count == 1 {
        one
    } else {
        many
    }
}

fn flow_summary(view: &ViewState, flows: &[Count]) -> Markup {
    html! {
        div.flow-summary #flow-summary {
            span.eyebrow { "Business flows" }
            @if flows.is_empty() {
                span.muted { "none in these sessions" }
            }
            @for count in flows {
                a.chip.flow href=(view.general.plus("flow", &count.value).href("/sessions"))
                    title={ "Sessions that touched " (flow_label(&count.value)) "; click to filter" } {
                    (flow_label(&count.value)) " "
                    span.num { (format::grouped(count.count)) }
                    span.muted { " (" (format::share_percent(count.share)) ")" }
                }
            }
        }
    }
}

fn session_row(view: &ViewState, summary: &SessionSummary, expanded: bool) -> Markup {
    let session_hex = summary.session_id.to_hex();
    let part = (summary.part_count > 1).then_some(summary.part.as_str());
    let expand_href = view
        .expand_pairs(summary.session_id, part)
        .href("/sessions");
    let collapse_href = view.list_pairs().href("/sessions");
    let toggle_href = if expanded {
        &collapse_href
    } else {
        &expand_href
    };
    let duration = summary.end - summary.start;
    html! {
        tr.session-row .expanded[expanded] .has-attack[summary.attacks > 0] data-session-id=(session_hex) data-part=(summary.part)
            data-expand-href=(expand_href) {
            td.start-cell {
                a.expand href=(toggle_href) aria-expanded=(if expanded { "true" } else { "false" })
                    title=(if expanded { "Collapse (Esc)" } else { "Expand (Enter)" }) {
                    span.chevron aria-hidden="true" {}
                    (format::time_element(summary.start, "datetime"))
                }
                div.muted.duration { (format::human_duration(duration)) }
            }
            td.session-cell {
                code.short-id title=(session_hex) { (summary.session_id.short()) }
                @if summary.part_count > 1 {
                    a.part-marker href={ "/sessions?session_id=" (session_hex) }
                        title="Every part of this multi-day session" {
                        "part " (summary.part_index) " of " (summary.part_count)
                    }
                }
            }
            td.status-cell {
                @if summary.status.is_empty() { span.muted { "" } } @else { span.chip.status-chip { (summary.status) } }
            }
            td.num.counts {
                span.requests { (format::grouped(summary.requests)) }
                span.muted { " / " }
                @if summary.attacks > 0 {
                    span.attack-count { (format::grouped(summary.attacks)) }
                } @else {
                    span.muted { "0" }
                }
            }
            td.user-cell {
                @if summary.users.is_empty() {
                    span.muted { "—" }
                } @else {
                    span.user { (summary.users[0]) }
                    @if summary.users.len() > 1 { span.muted { " +" (summary.users.len() - 1) } }
                }
                @if !summary.roles.is_empty() {
                    div.roles.muted { (summary.roles.join(", ")) }
                }
            }
            td.ip-cell {
                @if let Some(first) = summary.client_ips.first() {
                    code { (first.value) }
                    @if summary.client_ips.len() > 1 {
                        span.muted title=(summary.client_ips.iter().skip(1).map(|count| count.value.as_str()).collect::<Vec<_>>().join(", "))
                            { " +" (summary.client_ips.len() - 1) }
                    }
                } @else {
                    span.muted { "—" }
                }
            }
            td.host-cell {
                @for count in summary.hosts.iter().take(HOSTS_SHOWN) {
                    div { span.host { (count.value) } " " span.num.muted { (format::grouped(count.count)) } }
                }
                @if summary.hosts.len() > HOSTS_SHOWN {
                    div.muted { "+" (summary.hosts.len() - HOSTS_SHOWN) " more" }
                }
                @if !summary.apps.is_empty() {
                    div.apps.muted {
                        @for (index, count) in summary.apps.iter().enumerate() {
                            @if index > 0 { ", " }
                            (count.value) " " span.num { (format::grouped(count.count)) }
                        }
                    }
                }
            }
            td.flow-cell {
                @for count in summary.flows.iter().take(FLOWS_SHOWN) {
                    span.chip.flow {
                        (flow_label(&count.value)) " "
                        span.num { (format::grouped(count.count)) }
                        span.muted { " (" (format::share_percent(count.share)) ")" }
                    }
                    " "
                }
                @if summary.flows.len() > FLOWS_SHOWN {
                    span.muted.more { "+" (summary.flows.len() - FLOWS_SHOWN) " more" }
                }
            }
            td.endpoint-cell {
                @for count in summary.endpoints.iter().take(ENDPOINTS_SHOWN) {
                    div.endpoint-line {
                        span.endpoint title=(count.value) { (count.value) }
                        " " span.num.muted { (format::grouped(count.count)) }
                    }
                }
                @let more = summary.endpoints_total.saturating_sub(summary.endpoints.len().min(ENDPOINTS_SHOWN) as u64);
                @if more > 0 {
                    div.muted.more { "+" (more) " more " (plural(more, "endpoint", "endpoints")) }
                }
            }
        }
    }
}

fn empty_state(view: &ViewState, store_empty: bool) -> Markup {
    if store_empty {
        return html! {
            section.panel.empty-state #empty-store {
                h2 { "No traffic stored yet" }
                p { "Sessions appear here once API traffic is ingested. Ingest a HAR file, access logs or NDJSON exchanges:" }
                pre { code { "sessionscope ingest FILE" } }
                p.muted { "Or try it with generated traffic: " code { "sessionscope demo" } "." }
            }
        };
    }
    let general = &view.general;
    let has_time = general.has("window") || general.has("from") || general.has("to");
    let widened = general
        .without(&["window", "from", "to"])
        .with("window", "last_week");
    html! {
        section.panel.empty-state #no-sessions {
            h2 { "No sessions match these filters" }
            p.muted { "Only sessions with requests matching every filter inside the time window are listed." }
            p.empty-actions {
                @if has_time && general.get("window") != Some("last_week") {
                    a.button href=(widened.href("/sessions")) { "Widen to the last week" }
                    " "
                    a.button href=(general.without(&["window", "from", "to"]).href("/sessions")) { "Any time" }
                    " "
                }
                a.button href="/sessions" { "Clear all filters" }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::window_label;

    #[test]
    fn presets_have_short_labels_and_full_chip_labels() {
        for preset in WINDOW_PRESETS {
            assert_ne!(preset_short_label(preset), "");
            assert_ne!(window_label(preset), *preset, "{preset} has a chip label");
        }
    }

    #[test]
    fn empty_state_offers_to_widen_only_with_a_time_window() {
        let now = sessionscope_model::parse_rfc3339("2026-11-22T12:00:00Z").unwrap();
        let with_window = ViewState::parse(
            &[("window".into(), "1h".into()), ("host".into(), "x".into())],
            now,
        );
        let html = empty_state(&with_window, false).into_string();
        assert!(
            html.contains("/sessions?host=x&amp;window=last_week"),
            "{html}"
        );
        let without = ViewState::parse(&[("host".into(), "x".into())], now);
        assert!(!empty_state(&without, false).into_string().contains("Widen"));
        assert!(empty_state(&without, true)
            .into_string()
            .contains("sessionscope ingest FILE"));
    }

    #[test]
    fn chips_link_to_the_same_view_without_them() {
        let now = sessionscope_model::parse_rfc3339("2026-11-22T12:00:00Z").unwrap();
        let view = ViewState::parse(
            &[
                ("window".into(), "1h".into()),
                ("method".into(), "GET,POST".into()),
            ],
            now,
        );
        let html = active_filter_chips(&view).into_string();
        assert_eq!(html.matches("filter-chip").count(), 3, "{html}");
        assert!(
            html.contains(r#"href="/sessions?method=GET%2CPOST""#),
            "{html}"
        );
        assert!(
            html.contains(r#"href="/sessions?window=1h&amp;method=POST""#),
            "{html}"
        );
    }
}
