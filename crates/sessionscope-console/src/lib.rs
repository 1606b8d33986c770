//! The web console (PRODUCT.md E1–E11, C1–C6, R1–R3; CONSOLE.md): HTML pages rendered on the
//! server from the store, a little plain JavaScript and CSS embedded in the binary, every view's
//! state in its URL.
//!
//! The console shares `AppState` with the REST API and is merged into the same router
//! (`router`), so a signed-in browser can also call the API with its login cookie, which is how
//! "Download CSV" uses the API's own export. Pages: `/login`, `/sessions` (list, filters, an
//! expanded session and its requests), `/requests/{id}`, `/config` and `/config/audit` (admins). Fragments of a page
//! are the same URL with `fragment=...`, so the page works without JavaScript too.

mod assets;
mod audit;
mod auth;
mod config;
mod format;
mod layout;
mod request;
mod session;
mod sessions;
mod state;
mod timeline;

use axum::response::Redirect;
use axum::routing::get;
use axum::Router;
use sessionscope_server::{api_router, AppState};

pub use auth::ConsoleUser;

/// The console's pages, not yet given their state.
pub fn console_router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .merge(assets::routes())
        .merge(auth::routes())
        .merge(sessions::routes())
        .merge(config::routes())
        .merge(audit::routes())
        .merge(request::routes())
}

/// The REST API and the console together, ready to serve; every answer carries the security
/// headers (`sessionscope_server::headers`: a content security policy without inline script or
/// style, no framing, no sniffing, no referrer).
pub fn router(state: AppState) -> Router {
    api_router()
        .merge(console_router())
        .layer(axum::middleware::map_response(
            sessionscope_server::headers::add_security_headers,
        ))
        .with_state(state)
}

/// The home page is the session list; roles that may not read sessions land on their own page.
async fn home(user: ConsoleUser) -> Redirect {
    if user.role.can_read_sessions() {
        Redirect::to("/sessions")
    } else {
        Redirect::to("/account")
    }
}
