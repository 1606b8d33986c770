//! The audit log page (`/config/audit`, admins only; PRODUCT.md R4), linked from the
//! configuration page: who changed users, tokens or the configuration and who signed in (or
//! failed to), newest first. The same events as `GET /api/v1/audit` and `sessionscope audit`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use maud::html;
use sessionscope_model::{format_rfc3339, Role};
use sessionscope_server::AppState;

use crate::auth::ConsoleUser;
use crate::layout::{self, Nav};

/// Events shown on the page.
const EVENTS_SHOWN: usize = 200;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/config/audit", get(audit_page))
}

async fn audit_page(State(state): State<AppState>, user: ConsoleUser) -> Response {
    if user.role != Role::Admin {
        return layout::error_page(
            StatusCode::FORBIDDEN,
            "Only admins see the audit log",
            "The audit log (user and token changes, sign-ins, configuration changes) is shown to users with the admin role.",
        );
    }
    let store = state.store.clone();
    let events = match tokio::task::spawn_blocking(move || store.audit_events(EVENTS_SHOWN)).await {
        Ok(Ok(events)) => events,
        _ => {
            tracing::error!("the audit page failed to read the store");
            return layout::error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "The store did not answer",
                "The audit log could not be read. Try again in a moment.",
            );
        }
    };
    let body = html! {
        section.panel.audit-page {
            h1 { "Audit log" }
            p.muted {
                "User and token changes, console sign-ins and configuration changes, newest first (the newest "
                (EVENTS_SHOWN) "). Also " code { "GET /api/v1/audit" } " and " code { "sessionscope audit" } ". "
                a href="/config" { "Back to the configuration" }
            }
            @if events.is_empty() {
                p.muted { "Nothing recorded yet." }
            } @else {
                table.grid.audit-log #audit-log {
                    thead { tr { th { "When (UTC)" } th { "Who" } th { "Action" } th { "Target" } th { "Detail" } } }
                    tbody {
                        @for event in &events {
                            @let when = format_rfc3339(event.at);
                            tr.audit-event data-action=(event.action) {
                                td { time datetime=(when) { (when) } }
                                td.audit-who { (event.who) }
                                td { code { (event.action) } }
                                td.audit-target { (event.target) }
                                td.audit-detail {
                                    (event.detail)
                                    @if let Some(id) = event.config_change {
                                        " " span.muted { "(change " (id) ")" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    layout::page(&user, Nav::Config, "Audit log", body).into_response()
}
