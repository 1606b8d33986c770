//! Request details (PRODUCT.md E8, C5): the block `#request-details`, shown under its row in an
//! expanded session (`req=<id>`) and as the standalone page `/requests/{id}`. It shows the request
//! line, host, ids, the session key that grouped the request (its name, never a value), context
//! parameters as stored (hashed as hash, masked as masked), attacks, the full request of an
//! attacked request with its secrets masked as stored (a collapsed section), and placeholders for
//! the discovery and bot sections until those capabilities exist.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};
use sessionscope_model::{
    day_of, format_day, ContextValue, Exchange, ParamKind, RequestDetails, StoredAs,
};
use sessionscope_server::AppState;
use sessionscope_store::{Store, StoreError};

use crate::auth::ConsoleUser;
use crate::format::{self, flow_label, status_class};
use crate::layout::{self, Nav};
use crate::sessions;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/requests/{id}", get(request_page))
}

/// Where a request's session opens in the list, with this request's details open in it.
pub fn session_href(details: &RequestDetails) -> String {
    let row = &details.row;
    let part = format_day(day_of(row.ts));
    let session = row.session_id.to_hex();
    layout::query_string([
        ("session_id", session.as_str()),
        ("open", session.as_str()),
        ("part", part.as_str()),
        ("req", row.id.as_str()),
    ])
}

/// Bodies shown in the full request section are cut here, so a large body cannot bloat the page.
const FULL_CONTENT_BODY_LIMIT: usize = 16 * 1024;

/// One request and, when it has attacks, its stored full content (PRODUCT.md E8). The content is
/// read only for attacked requests: no other request has any. Blocking: run it on the blocking pool.
pub fn request_with_content(
    store: &dyn Store,
    id: &str,
) -> Result<Option<(RequestDetails, Option<String>)>, StoreError> {
    let Some(details) = store.request(id)? else {
        return Ok(None);
    };
    if details.row.attacks.is_empty() {
        return Ok(Some((details, None)));
    }
    let content = store.attack_content(id)?;
    Ok(Some((details, content)))
}

/// The block. `close_href` is the view without the request open; `None` on the request's own
/// page, which has nothing to close. `content` is the stored full content (an exchange NDJSON
/// line, secrets masked) of a request with attacks.
pub fn details_block(
    details: &RequestDetails,
    close_href: Option<&str>,
    content: Option<&str>,
) -> Markup {
    let row = &details.row;
    let target = if details.query.is_empty() {
        row.path.clone()
    } else {
        format!("{}?{}", row.path, details.query)
    };
    let (request_context, response_context): (Vec<&ContextValue>, Vec<&ContextValue>) = details
        .context
        .iter()
        .partition(|value| !value.point.starts_with("response."));
    html! {
        div #request-details .request-details data-request-id=(row.id) {
            div.request-details-header {
                h3.request-line {
                    span.method { (row.method) } " "
                    span.request-target { (target) }
                    " "
                    span class={ "status " (status_class(row.status)) } {
                        @match row.status { Some(status) => (status), None => "no response" }
                    }
                }
                div.details-actions {
                    @if let Some(close_href) = close_href {
                        a.button.subtle href={ "/requests/" (layout::encode_query_value(&row.id)) } { "Own page" }
                        a.button.subtle href={ "/sessions" (session_href(details)) } { "Its session" }
                        a.button.subtle.close-request data-action="close-request" href=(close_href) title="Close (Esc)" { "Close" }
                    } @else {
                        a.button.subtle href={ "/sessions" (session_href(details)) } { "Open its session" }
                    }
                }
            }
            div.request-columns {
                dl.key-values {
                    dt { "Time" } dd { (format::time_element(row.ts, "datetime")) }
                    dt { "Host" } dd { (row.host) }
                    dt { "Request id" } dd { code.request-id { (row.id) } }
                    dt { "Client IP" } dd { @match &row.client_ip { Some(ip) => code { (ip) }, None => span.muted { "unknown" } } }
                    dt { "Application" } dd { (row.app) }
                    dt { "Endpoint" } dd { code { (row.endpoint) } }
                    dt { "Session key" } dd {
                        code.session-key title="The key that grouped this request into its session; its value is never stored" { (row.session_key) }
                    }
                    dt { "Session" } dd {
                        a href={ "/sessions" (session_href(details)) } { code { (row.session_id.short()) } }
                        span.muted { " · part " (row.session_part) }
                    }
                }
                dl.key-values {
                    dt { "Duration" } dd { @match row.duration_ms { Some(ms) => { (format::milliseconds(ms)) " ms" }, None => span.muted { "—" } } }
                    dt { "Size" } dd { @match row.size { Some(size) => { (format::grouped(size)) " bytes" }, None => span.muted { "—" } } }
                    dt { "User" } dd { @match &row.user { Some(user) => (user), None => span.muted { "—" } } }
                    dt { "Roles" } dd { @if row.roles.is_empty() { span.muted { "—" } } @else { (row.roles.join(", ")) } }
                    dt { "Flows" } dd {
                        @if row.flows.is_empty() { span.muted { "—" } }
                        @for flow in &row.flows { span.chip.flow { (flow_label(flow)) } " " }
                    }
                    dt { "User agent" } dd { @match &details.user_agent { Some(agent) => span.user-agent { (agent) }, None => span.muted { "—" } } }
                }
            }
            section.request-section {
                h4 { "Attacks" }
                @if row.attacks.is_empty() {
                    p.muted { "No attacks detected in this request." }
                } @else {
                    table.grid.compact.attacks {
                        thead { tr { th { "Type" } th { "Point" } th { "Payload excerpt" } th { "Rule" } } }
                        tbody {
                            @for attack in &row.attacks {
                                tr {
                                    td { span.chip.attack { (attack.kind) } }
                                    td { code { (attack.point) } }
                                    td { code.payload { (attack.payload) } }
                                    td {
                                        code { (attack.rule) }
                                        @if let Some(explanation) = sessionscope_detect::explain(&attack.rule) {
                                            div.muted.rule-explanation { (explanation) }
                                        }
                                        (false_positive_control(&row.id, &attack.kind, &attack.point))
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if let Some(content) = content {
                (full_content_section(content))
            }
            section.request-section {
                h4 { "Context parameters" }
                (context_table("Request", &request_context))
                (context_table("Response", &response_context))
            }
            section.request-section.placeholder #discovery {
                h4 { "Discovery" }
                p.muted { "The endpoint's risk, shadow or zombie status, sensitive data and protection appear here when API discovery is enabled." }
            }
            section.request-section.placeholder #bot-evidence {
                h4 { "Bot evidence" }
                @if row.bots.is_empty() {
                    p.muted { "Detector, measured value, normal value and deviation appear here when bot detection is enabled." }
                } @else {
                    p { "Flagged as: " @for bot in &row.bots { span.chip.attack { (bot) } " " } }
                }
            }
        }
    }
}

/// "Full request (secrets masked)": the stored exchange's request line, headers and body, collapsed.
/// The content was sanitised at ingest, so what is shown is exactly what is stored.
fn full_content_section(content: &str) -> Markup {
    let parsed = sessionscope_ingest::parse_exchange_line(content.as_bytes(), 1);
    html! {
        section.request-section {
            details.full-content {
                summary { h4 { "Full request (secrets masked)" } }
                @match &parsed {
                    Ok(exchange) => (full_request(exchange)),
                    // Not readable as an exchange (should not happen): show the stored text as is.
                    Err(_) => pre.full-content-body { (cut_text(content)) },
                }
            }
        }
    }
}

fn full_request(exchange: &Exchange) -> Markup {
    let request = &exchange.request;
    html! {
        p.request-line {
            span.method { (request.method) } " "
            code.request-target { (request.url) }
        }
        @if request.headers.is_empty() {
            p.muted { "No headers." }
        } @else {
            table.grid.compact.full-content-headers {
                thead { tr { th { "Header" } th { "Value" } } }
                tbody {
                    @for (name, value) in &request.headers {
                        tr { td { code { (name) } } td { code { (value) } } }
                    }
                }
            }
        }
        @match &request.body {
            None => p.muted { "No body." },
            Some(body) if body.is_empty() => p.muted { "No body." },
            Some(body) => {
                pre.full-content-body { (body_text(body)) }
                @if request.body_truncated || body.len() > FULL_CONTENT_BODY_LIMIT {
                    p.muted { "The body is cut here." }
                }
            }
        }
    }
}

/// A body as text: pretty JSON when it is JSON, else the bytes as (lossy) UTF-8; cut at the limit.
fn body_text(body: &[u8]) -> String {
    let text = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(value) => serde_json::to_string_pretty(&value)
            .unwrap_or_else(|_| String::from_utf8_lossy(body).into_owned()),
        Err(_) => String::from_utf8_lossy(body).into_owned(),
    };
    cut_text(&text).to_string()
}

/// At most `FULL_CONTENT_BODY_LIMIT` bytes, ending on a character boundary.
fn cut_text(text: &str) -> &str {
    sessionscope_model::prefix_within(text, FULL_CONTENT_BODY_LIMIT)
}

/// "Mark as false positive" for one finding (PRODUCT.md A3). It calls the API
/// (`POST /api/v1/requests/{id}/false-positive`) from console.js with the login's CSRF token, so
/// it needs the script; the stylesheet shows it only to the roles the API lets mark findings
/// (admin, analyst).
fn false_positive_control(request_id: &str, kind: &str, point: &str) -> Markup {
    html! {
        div.fp-action data-request-id=(request_id) data-type=(kind) data-point=(point) {
            select.fp-breadth aria-label="What to ignore" {
                option value="payload" selected { "this payload here" }
                option value="type" { "this attack type here" }
                option value="point" { "all attack types here" }
            }
            select.fp-scope aria-label="Where" {
                option value="endpoint" selected { "on this endpoint" }
                option value="host" { "on this host" }
                option value="everywhere" { "everywhere" }
            }
            button.fp-mark type="button" { "Mark as false positive" }
            span.fp-result role="status" {}
        }
    }
}

fn context_table(side: &str, values: &[&ContextValue]) -> Markup {
    html! {
        div.context-side {
            h5 { (side) }
            @if values.is_empty() {
                p.muted { "No context parameters." }
            } @else {
                table.grid.compact.context {
                    tbody {
                        @for value in values {
                            tr {
                                td.context-name {
                                    (value.name)
                                    @match value.kind {
                                        ParamKind::User => span.chip.kind { "User" },
                                        ParamKind::Role => span.chip.kind { "Role" },
                                        ParamKind::None => {},
                                    }
                                }
                                td { code.point { (value.point) } }
                                td.context-value { (stored_value(value)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A stored value as it may be shown: clear as is, hashed as the hash (marked as one), masked
/// as the word "masked" (nothing of the value was kept).
fn stored_value(value: &ContextValue) -> Markup {
    match value.stored_as {
        StoredAs::Clear => html! { code { (value.value) } },
        StoredAs::Hashed => html! {
            span.hashed title="HMAC-SHA256 of the value; equal values have equal hashes" {
                span.tag { "hash" } " " code { (value.value) }
            }
        },
        StoredAs::Masked => html! { span.masked.tag { "masked" } },
    }
}

async fn request_page(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<String>,
) -> Response {
    if !user.role.can_read_sessions() {
        return sessions::forbidden(&user);
    }
    let store = state.store.clone();
    let lookup = id.clone();
    let found =
        tokio::task::spawn_blocking(move || request_with_content(store.as_ref(), &lookup)).await;
    let body = match found {
        Ok(Ok(Some((details, content)))) => {
            let body = html! {
                p.breadcrumbs {
                    a href="/sessions" { "Sessions" } " / "
                    a href={ "/sessions" (session_href(&details)) } { "Session " code { (details.row.session_id.short()) } }
                    " / request"
                }
                (details_block(&details, None, content.as_deref()))
            };
            return layout::page(&user, Nav::Sessions, "Request", body).into_response();
        }
        Ok(Ok(None)) => {
            let body = html! {
                section.panel.empty-state {
                    h1 { "No such request" }
                    p { "No request with id " code { (id) } " is stored. It may have been removed by retention, or the link is mistyped." }
                    p { a href="/sessions" { "Back to the sessions" } }
                }
            };
            return (
                StatusCode::NOT_FOUND,
                layout::page(&user, Nav::Sessions, "No such request", body),
            )
                .into_response();
        }
        Ok(Err(error)) => sessions::store_problem(&error.to_string()),
        Err(error) => sessions::store_problem(&error.to_string()),
    };
    (
        StatusCode::SERVICE_UNAVAILABLE,
        layout::page(&user, Nav::Sessions, "Request", body),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sessionscope_model::{parse_rfc3339, Attack, RequestRow, SessionId};

    fn details() -> RequestDetails {
        RequestDetails {
            row: RequestRow {
                id: String::from("r-7"),
                ts: parse_rfc3339("2026-11-22T10:00:00Z").unwrap(),
                session_id: SessionId([0x42; 16]),
                session_part: String::from("2026-11-22"),
                session_key: String::from("builtin:cookie.PHPSESSID"),
                client_ip: Some(String::from("203.0.113.7")),
                app: String::from("shop"),
                host: String::from("api.shop.example"),
                method: String::from("GET"),
                path: String::from("/search"),
                endpoint: String::from("/search"),
                status: Some(403),
                duration_ms: Some(3.5),
                size: Some(120),
                user: None,
                roles: vec![],
                flows: vec![],
                attacks: vec![Attack {
                    kind: String::from("sqli"),
                    point: String::from("request.query.q"),
                    payload: String::from("' or 1=1 --"),
                    rule: String::from("sqli-1"),
                }],
                bots: vec![],
            },
            query: String::from("q=%27"),
            user_agent: None,
            context: vec![
                ContextValue {
                    name: "Session cookie".into(),
                    point: "request.cookie.PHPSESSID".into(),
                    kind: ParamKind::None,
                    stored_as: StoredAs::Hashed,
                    value: "5f2b0c".into(),
                },
                ContextValue {
                    name: "Password".into(),
                    point: "request.form.password".into(),
                    kind: ParamKind::None,
                    stored_as: StoredAs::Masked,
                    value: "***".into(),
                },
            ],
        }
    }

    #[test]
    fn the_block_names_the_session_key_and_never_shows_masked_values() {
        let html = details_block(&details(), Some("/sessions"), None).into_string();
        assert!(html.contains(r#"id="request-details""#));
        assert!(html.contains(r#"class="session-key""#));
        assert!(html.contains("builtin:cookie.PHPSESSID"));
        assert!(
            html.contains("5f2b0c") && html.contains(">hash<"),
            "hashed shown as hash"
        );
        assert!(!html.contains("***"), "masked values are not echoed");
        assert!(html.contains("&#39; or 1=1 --") || html.contains("' or 1=1 --"));
        assert!(html.contains("Discovery") && html.contains("Bot evidence"));
    }

    #[test]
    fn the_session_link_opens_the_request_in_its_part() {
        assert_eq!(
            session_href(&details()),
            "?session_id=42424242424242424242424242424242&open=42424242424242424242424242424242&part=2026-11-22&req=r-7"
        );
    }

    #[test]
    fn an_attacked_request_shows_its_full_content_collapsed() {
        let line = serde_json::json!({
            "id": "r-7",
            "ts": "2026-11-22T10:00:00Z",
            "request": {
                "method": "POST",
                "url": "https://api.shop.example/search?q=%27",
                "headers": [["content-type", "application/json"], ["cookie", "PHPSESSID=h:5f2b0c"]],
                "body": "{\"q\":\"' or 1=1 --\",\"n\":1}"
            }
        })
        .to_string();
        let html = details_block(&details(), None, Some(&line)).into_string();
        assert!(html.contains(r#"<details class="full-content">"#), "{html}");
        assert!(html.contains("Full request (secrets masked)"));
        assert!(html.contains("https://api.shop.example/search?q=%27"));
        assert!(html.contains("PHPSESSID=h:5f2b0c"));
        assert!(
            html.contains("\n  &quot;n&quot;: 1"),
            "pretty JSON body: {html}"
        );
        let without = details_block(&details(), None, None).into_string();
        assert!(!without.contains("full-content"));
        // Stored text that is not an exchange is shown as text, never a panic.
        let odd = details_block(&details(), None, Some("not <json>")).into_string();
        assert!(odd.contains("not &lt;json&gt;"));
    }

    #[test]
    fn long_bodies_are_cut_on_a_character_boundary() {
        let body = "é".repeat(FULL_CONTENT_BODY_LIMIT);
        let shown = body_text(body.as_bytes());
        assert!(
            shown.len() <= FULL_CONTENT_BODY_LIMIT && shown.len() > FULL_CONTENT_BODY_LIMIT - 4
        );
        assert_eq!(body_text(b"plain"), "plain");
    }
}
