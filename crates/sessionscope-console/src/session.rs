//! An expanded session (PRODUCT.md E5, E6, E10, E11): the block `#session-details` shown under
//! its row in the session list, with the header (id, Copy link, Download CSV, Show all requests /
//! Apply filters), statistics with "show only" links, in-session filter chips, the timeline and
//! the request table.
//!
//! The block is rendered inside the full `/sessions` page when the URL has `open=`, and alone
//! when the URL also has `fragment=session` (console.js inserts it without a reload). Loading it
//! costs one `session_parts`, one `session_stats` and one `session_requests` page; the timeline
//! reuses that page when it holds every request, else it costs one more time-ordered read.

use maud::{html, Markup};
use sessionscope_model::{
    Count, Micros, PageRequest, RequestDetails, RequestPage, RequestSort, SessionFilter, SessionId,
    SessionStats, SessionSummary, SortDirection, SortField,
};
use sessionscope_store::{Store, StoreError};

use crate::format::{self, flow_label, status_class};
use crate::request;
#[cfg(test)]
use crate::state::Pairs;
use crate::state::{ViewState, IN_SESSION_PREFIX};
use crate::timeline::{self, Mark};

/// Rows of the request table per page.
pub const REQUEST_PAGE_SIZE: u32 = 50;
/// At most this many requests are read for the timeline; beyond, it says it is partial.
pub const TIMELINE_MAX_REQUESTS: u32 = 5_000;
/// Values shown per statistics list before "+N more".
const STAT_VALUES_SHOWN: usize = 8;
/// Columns of the request table (for the colspan of inserted rows).
pub const REQUEST_COLUMNS: usize = 8;

/// Everything the block shows, read in one go on the blocking pool.
#[derive(Debug)]
pub struct SessionData {
    pub session_id: SessionId,
    /// The parts that have requests matching the session's filter (oldest first).
    pub parts: Vec<SessionSummary>,
    pub stats: SessionStats,
    pub requests: RequestPage,
    /// Problems found while loading (a stale request cursor), shown in the block.
    pub notes: Vec<String>,
    pub marks: Vec<Mark>,
    pub marks_total: u64,
    /// The open request (`req=`), when it exists.
    pub request: Option<RequestDetails>,
    /// The open request's stored full content, when it has attacks (PRODUCT.md E8).
    pub request_content: Option<String>,
    pub request_missing: bool,
}

/// Reads what the open session's block needs. Blocking: run it on the blocking pool.
pub fn load(
    store: &dyn Store,
    view: &ViewState,
    session_id: SessionId,
    now: Micros,
) -> Result<SessionData, StoreError> {
    let filter = view.session_filter(now);
    let day = view.part.as_ref().map(|(_, day)| *day);
    let parts = store.session_parts(session_id, &filter)?;
    let stats = store.session_stats(session_id, day, &filter)?;
    let mut notes = Vec::new();
    let (requests, cursor_used) = match request_page(
        store,
        session_id,
        day,
        &filter,
        view.sort,
        view.request_cursor.clone(),
    ) {
        Err(StoreError::InvalidCursor(cursor)) => {
            notes.push(format!(
                "invalid value `{cursor}` for parameter `rcursor`; showing the first requests"
            ));
            (
                request_page(store, session_id, day, &filter, view.sort, None)?,
                false,
            )
        }
        other => (other?, view.request_cursor.is_some()),
    };

    // The table page already holds every request in time order: draw it, no second read.
    let page_is_everything =
        !cursor_used && view.sort == RequestSort::default() && requests.next_cursor.is_none();
    let marks: Vec<Mark> = if page_is_everything {
        requests.requests.iter().map(Mark::from_row).collect()
    } else {
        let page = PageRequest {
            limit: TIMELINE_MAX_REQUESTS,
            cursor: None,
        };
        store
            .session_requests(session_id, day, &filter, RequestSort::default(), &page)?
            .requests
            .iter()
            .map(Mark::from_row)
            .collect()
    };

    let (request, request_content, request_missing) = match &view.request {
        Some(id) => match request::request_with_content(store, id)? {
            Some((details, content)) => (Some(details), content, false),
            None => (None, None, true),
        },
        None => (None, None, false),
    };
    Ok(SessionData {
        session_id,
        parts,
        stats,
        marks_total: requests.total,
        requests,
        notes,
        marks,
        request,
        request_content,
        request_missing,
    })
}

/// One page of the request table.
pub fn request_page(
    store: &dyn Store,
    session_id: SessionId,
    day: Option<i32>,
    filter: &SessionFilter,
    sort: RequestSort,
    cursor: Option<String>,
) -> Result<RequestPage, StoreError> {
    let page = PageRequest {
        limit: REQUEST_PAGE_SIZE,
        cursor,
    };
    store.session_requests(session_id, day, filter, sort, &page)
}

/// The in-session filters a "show only" value adds, per statistics list.
const STAT_LISTS: &[(&str, &str)] = &[
    ("Attack types", "attack_type"),
    ("Users", "user"),
    ("Client IPs", "client_ip"),
    ("Methods", "method"),
    ("Response codes", "status"),
    ("Business flows", "flow"),
];

/// The whole block.
pub fn render(view: &ViewState, data: &SessionData) -> Markup {
    let session_hex = data.session_id.to_hex();
    let current = view.current_pairs();
    let collapse_href = view.list_pairs().href("/sessions");
    let shown_part = match &view.part {
        Some((text, _)) => data.parts.iter().find(|part| &part.part == text),
        None => None,
    };
    let csv_href = {
        let mut pairs = view.session_filter_pairs();
        pairs.0.insert(0, ("format".into(), "csv".into()));
        if let Some((text, _)) = &view.part {
            pairs.0.push(("part".into(), text.clone()));
        }
        pairs.href(&format!("/api/v1/sessions/{session_hex}/export"))
    };
    let json_href = {
        let mut pairs = view.session_filter_pairs();
        pairs.0.insert(0, ("format".into(), "ndjson".into()));
        if let Some((text, _)) = &view.part {
            pairs.0.push(("part".into(), text.clone()));
        }
        pairs.href(&format!("/api/v1/sessions/{session_hex}/export"))
    };
    let lists: Vec<(&str, &str, &Vec<Count>)> = STAT_LISTS
        .iter()
        .map(|(title, key)| {
            let values = match *key {
                "attack_type" => &data.stats.attack_types,
                "user" => &data.stats.users,
                "client_ip" => &data.stats.client_ips,
                "method" => &data.stats.methods,
                "status" => &data.stats.statuses,
                _ => &data.stats.flows,
            };
            (*title, *key, values)
        })
        .collect();

    html! {
        div #session-details .session-details data-session-id=(session_hex)
            data-href=(current.href("/sessions")) data-collapse-href=(collapse_href) {
            div.details-header {
                div.details-title {
                    span.eyebrow { "Session" }
                    code.session-id-full { (session_hex) }
                    button.copy-button.small type="button" data-copy=(session_hex) title="Copy the session id" { "Copy id" }
                    @if let Some(part) = shown_part {
                        @if part.part_count > 1 {
                            span.part-marker { "part " (part.part_index) " of " (part.part_count) " · " (part.part) }
                        }
                    } @else if data.parts.len() > 1 {
                        span.part-marker { (data.parts.len()) " parts" }
                    }
                    span.details-summary.muted {
                        (format::grouped(data.stats.requests)) " requests"
                        @let attacks: u64 = data.stats.attack_types.iter().map(|count| count.count).sum();
                        @if attacks > 0 {
                            " · " span.attack-count { (format::grouped(attacks)) " attacks" }
                        }
                    }
                }
                div.details-actions {
                    @if view.has_general_filters() {
                        @if view.all {
                            a.button #apply-filters data-fragment="session"
                                href=(view.session_pairs_reset().without(&["all"]).href("/sessions"))
                                title="Show only the requests that match the general filters" { "Apply filters" }
                        } @else {
                            a.button #show-all data-fragment="session"
                                href=(view.session_pairs_reset().with("all", "1").href("/sessions"))
                                title="Show every request of this session, ignoring the general filters" { "Show all requests" }
                        }
                    }
                    span.copy-link-group {
                        button #copy-link type="button" data-action="copy-link" { "Copy link" }
                        input #copied-link type="text" readonly aria-label="Link to this view" hidden;
                    }
                    a.button #download-csv href=(csv_href) download { "Download CSV" }
                    a.button.subtle #download-json href=(json_href) download title="NDJSON export of these requests" { "JSON" }
                    a.button.subtle.collapse href=(collapse_href) data-action="collapse" title="Close (Esc)" { "Close" }
                }
            }
            @if view.all && view.has_general_filters() {
                p.notice.compact { "Showing all requests of this session; the general filters are not applied here." }
            }
            @for note in &data.notes {
                p.filter-problem role="alert" { (note) }
            }
            (in_session_chips(view))
            div.stats-grid {
                @for (title, key, values) in &lists {
                    (stat_list(view, title, key, values))
                }
            }
            (timeline::render(&data.marks, data.marks_total))
            @if data.request_missing {
                p.filter-problem role="alert" {
                    "No request with id " code { (view.request.as_deref().unwrap_or_default()) } " is stored."
                }
            }
            @let request_on_page = data.request.as_ref().is_some_and(|details| {
                data.requests.requests.iter().any(|row| row.id == details.row.id)
            });
            @if let Some(details) = &data.request {
                @if !request_on_page {
                    (request::details_block(details, Some(&close_request_href(view)), data.request_content.as_deref()))
                }
            }
            (request_table(view, data))
        }
    }
}

fn close_request_href(view: &ViewState) -> String {
    view.current_pairs().without(&["req"]).href("/sessions")
}

/// Chips of the active in-session filters, each removable.
fn in_session_chips(view: &ViewState) -> Markup {
    if view.in_session.0.is_empty() {
        return html! {};
    }
    let base = view.session_pairs_reset();
    html! {
        div.active-filters.in-session-filters {
            span.eyebrow { "In this session" }
            @for (key, value) in &view.in_session.0 {
                @for alternative in value.split(',').map(str::trim).filter(|part| !part.is_empty()) {
                    @let prefixed = format!("{IN_SESSION_PREFIX}{key}");
                    span.filter-chip.in-session data-key=(prefixed) {
                        span.chip-key { (parameter_label(key)) }
                        span.chip-value { (value_label(key, alternative)) }
                        a.chip-remove data-fragment="session" aria-label="Remove this in-session filter"
                            href=(base.without_alternative(&prefixed, alternative).href("/sessions")) { "×" }
                    }
                }
            }
            @if view.in_session.0.len() > 1 {
                a.clear-link data-fragment="session" href=(base.without_prefix(IN_SESSION_PREFIX).href("/sessions")) { "Clear" }
            }
        }
    }
}

/// One statistics list: value, bar, count, share, and a toggle that adds or removes the
/// in-session filter for that value.
fn stat_list(view: &ViewState, title: &str, key: &str, values: &[Count]) -> Markup {
    let base = view.session_pairs_reset();
    let prefixed = format!("{IN_SESSION_PREFIX}{key}");
    let active: Vec<&str> = view
        .in_session
        .0
        .iter()
        .filter(|(candidate, _)| candidate == key)
        .flat_map(|(_, value)| value.split(',').map(str::trim))
        .collect();
    let hidden = values.len().saturating_sub(STAT_VALUES_SHOWN);
    html! {
        section.stat-card data-stat=(key) {
            h3 {
                (title)
                @if !values.is_empty() { span.muted.count-note { (values.len()) } }
            }
            @if values.is_empty() {
                p.muted.empty-stat {
                    @if key == "attack_type" { "No attacks" } @else { "None" }
                }
            } @else {
                ul.bar-list {
                    @for count in values.iter().take(STAT_VALUES_SHOWN) {
                        @let is_active = active.contains(&count.value.as_str());
                        @let width = (count.share.clamp(0.0, 1.0) * 100.0).max(1.0);
                        li.bar-item.active[is_active] .attack[key == "attack_type"] {
                            span.bar-value title=(count.value) { (value_label(key, &count.value)) }
                            // An SVG bar rather than a `style` attribute: the content security
                            // policy allows no inline styles.
                            svg.bar-track viewBox="0 0 100 1" preserveAspectRatio="none" aria-hidden="true" {
                                rect.bar-fill width=(format!("{width:.1}")) height="1" {}
                            }
                            span.num.bar-count { (format::grouped(count.count)) }
                            span.num.bar-share.muted { (format::share_percent(count.share)) }
                            @if is_active {
                                a.show-only.on data-fragment="session" title="Stop showing only this value"
                                    href=(base.without_alternative(&prefixed, &count.value).href("/sessions")) { "×" }
                            } @else {
                                a.show-only data-fragment="session" title={ "Show only requests with " (value_label(key, &count.value)) }
                                    href=(base.plus(&prefixed, &count.value).href("/sessions")) { "only" }
                            }
                        }
                    }
                }
                @if hidden > 0 {
                    p.muted.more-values { "+" (hidden) " more" }
                }
            }
        }
    }
}

/// The request table with its sort links and "Show more".
fn request_table(view: &ViewState, data: &SessionData) -> Markup {
    let base = view.session_pairs_reset();
    let sort_link = |field: SortField, label: &str| {
        let current = view.sort.field == field;
        let descending = current && view.sort.direction == SortDirection::Desc;
        let name = match field {
            SortField::Time => "time",
            SortField::Duration => "duration",
            SortField::Size => "size",
        };
        // Time reads naturally oldest first; durations and sizes are looked at largest first.
        let next = match (current, descending, field) {
            (true, false, _) => format!("-{name}"),
            (true, true, _) => name.to_string(),
            (false, _, SortField::Time) => name.to_string(),
            (false, _, _) => format!("-{name}"),
        };
        let href = if next == "time" {
            base.without(&["sort"]).href("/sessions")
        } else {
            base.with("sort", &next).href("/sessions")
        };
        let arrow = match (current, descending) {
            (true, false) => " ↑",
            (true, true) => " ↓",
            _ => "",
        };
        html! {
            a.sort-link.active[current] data-fragment="session" data-sort=(name) href=(href) { (label) (arrow) }
        }
    };
    let rows = &data.requests;
    html! {
        div.requests-header {
            h3 {
                "Requests "
                span.muted { (format::grouped(rows.total)) }
            }
            @if view.request_cursor.is_some() {
                a.first-page data-fragment="session" href=(base.without(&["rcursor"]).href("/sessions")) { "← First requests" }
            }
        }
        @if rows.requests.is_empty() {
            p.empty-state.compact { "No requests of this session match these filters." }
        } @else {
            div.table-scroll {
                table #requests .grid.requests {
                    thead {
                        tr {
                            th { (sort_link(SortField::Time, "Time")) }
                            th { "Method" }
                            th { "Endpoint" }
                            th.num { "Status" }
                            th.num { (sort_link(SortField::Duration, "Duration ms")) }
                            th.num { (sort_link(SortField::Size, "Size bytes")) }
                            th { "Flow" }
                            th { "Attacks" }
                        }
                    }
                    tbody #request-rows {
                        (request_rows(view, data))
                    }
                }
            }
        }
        (more_requests_link(view, rows))
    }
}

/// The rows of one page, with the open request's details under its row.
pub fn request_rows(view: &ViewState, data: &SessionData) -> Markup {
    let base = view.current_pairs().without(&["req"]);
    let close_href = close_request_href(view);
    html! {
        @for row in &data.requests.requests {
            @let selected = view.request.as_deref() == Some(row.id.as_str());
            tr.request-row .selected[selected] .has-attack[!row.attacks.is_empty()] data-request-id=(row.id) {
                td.time-cell {
                    a.request-link data-fragment="request" href=(base.with("req", &row.id).href("/sessions"))
                        title="Request details" { (format::time_element(row.ts, "clock")) }
                }
                td { span.method { (row.method) } }
                td.endpoint-cell { span.endpoint title=(row.path) { (row.endpoint) } }
                td.num { span class={ "status " (status_class(row.status)) } {
                    @match row.status { Some(status) => (status), None => "—" }
                } }
                td.num { @match row.duration_ms { Some(ms) => (format::milliseconds(ms)), None => span.muted { "—" } } }
                td.num { @match row.size { Some(size) => (format::grouped(size)), None => span.muted { "—" } } }
                td { @for flow in &row.flows { span.chip.flow { (flow_label(flow)) } " " } }
                td { @for attack in &row.attacks { span.chip.attack title=(attack.point) { (attack.kind) } " " } }
            }
            @if selected {
                @if let Some(details) = &data.request {
                    tr.request-details-row {
                        td colspan=(REQUEST_COLUMNS) { (request::details_block(details, Some(&close_href), data.request_content.as_deref())) }
                    }
                }
            }
        }
    }
}

/// "Show more" for the request table, when there is a next page.
pub fn more_requests_link(view: &ViewState, rows: &RequestPage) -> Markup {
    html! {
        @if let Some(next) = &rows.next_cursor {
            @let href = view.current_pairs().without(&["req"]).with("rcursor", next).href("/sessions");
            div.more-row {
                a.show-more #more-requests href=(href) { "Show more requests" }
                span.muted { " of " (format::grouped(rows.total)) }
            }
        }
    }
}

/// What console.js appends for "Show more": the next rows and the next link, in a template.
pub fn rows_fragment(view: &ViewState, data: &SessionData) -> Markup {
    html! {
        template #more-rows {
            table { tbody { (request_rows(view, data)) } }
            (more_requests_link(view, &data.requests))
        }
    }
}

/// The label of a filter parameter in a chip.
pub fn parameter_label(key: &str) -> &str {
    match key {
        "app" => "App",
        "host" => "Host",
        "flow" => "Flow",
        "user" => "User",
        "role" => "Role",
        "client_ip" => "Client IP",
        "method" => "Method",
        "status" => "Status",
        "session_id" => "Session",
        "request_id" => "Request",
        "endpoint" => "Endpoint",
        "attack_type" => "Attack",
        "window" => "Time",
        "from" => "From",
        "to" => "To",
        other => other,
    }
}

/// How a filter value reads in a chip or a statistics list.
pub fn value_label(key: &str, value: &str) -> String {
    match key {
        "flow" => flow_label(value),
        "window" => window_label(value).to_string(),
        _ => value.to_string(),
    }
}

/// The label of a time preset.
pub fn window_label(preset: &str) -> &str {
    match preset {
        "15m" => "Last 15 min",
        "30m" => "Last 30 min",
        "1h" => "Last 1 h",
        "6h" => "Last 6 h",
        "12h" => "Last 12 h",
        "today" => "Today",
        "yesterday" => "Yesterday",
        "last_week" => "Last week",
        other => other,
    }
}

/// A toggle target used by tests: the pairs a "show only" link adds.
#[cfg(test)]
fn show_only_pairs(view: &ViewState, key: &str, value: &str) -> Pairs {
    view.session_pairs_reset()
        .plus(&format!("{IN_SESSION_PREFIX}{key}"), value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sessionscope_model::parse_rfc3339;

    fn view(query: &[(&str, &str)]) -> ViewState {
        let pairs: Vec<(String, String)> = query
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect();
        ViewState::parse(&pairs, parse_rfc3339("2026-11-22T12:00:00Z").unwrap())
    }

    const SESSION: &str = "00112233445566778899aabbccddeeff";

    #[test]
    fn show_only_adds_an_in_session_filter_and_resets_the_table_page() {
        let view = view(&[
            ("window", "today"),
            ("open", SESSION),
            ("in.method", "GET"),
            ("rcursor", "o50"),
            ("req", "r1"),
        ]);
        let pairs = show_only_pairs(&view, "status", "404");
        assert_eq!(
            pairs.href("/sessions"),
            format!("/sessions?window=today&open={SESSION}&in.method=GET&in.status=404")
        );
    }

    #[test]
    fn labels_read_as_words() {
        assert_eq!(value_label("flow", "sms_gateway"), "SMS gateway");
        assert_eq!(value_label("window", "last_week"), "Last week");
        assert_eq!(parameter_label("client_ip"), "Client IP");
    }
}
