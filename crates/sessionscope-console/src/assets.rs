//! The console's stylesheet, script and icon, compiled into the binary and served under
//! `/assets/`. Their URLs carry the version so browsers may cache them for a long time.

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use sessionscope_server::AppState;

// One stylesheet and one script for the whole console, assembled from a file per area.
const STYLESHEET: &str = concat!(
    include_str!("assets/console.css"),
    include_str!("assets/config.css")
);
const SCRIPT: &str = concat!(
    include_str!("assets/console.js"),
    include_str!("assets/config.js")
);
const ICON: &str = include_str!("assets/icon.svg");

pub const STYLESHEET_PATH: &str = concat!("/assets/console.css?v=", env!("CARGO_PKG_VERSION"));
pub const SCRIPT_PATH: &str = concat!("/assets/console.js?v=", env!("CARGO_PKG_VERSION"));
pub const ICON_PATH: &str = "/assets/icon.svg";

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/assets/console.css",
            get(|| async { asset("text/css; charset=utf-8", STYLESHEET) }),
        )
        .route(
            "/assets/console.js",
            get(|| async { asset("text/javascript; charset=utf-8", SCRIPT) }),
        )
        .route(
            "/assets/icon.svg",
            get(|| async { asset("image/svg+xml", ICON) }),
        )
}

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (CONTENT_TYPE, content_type),
            (CACHE_CONTROL, "public, max-age=86400"),
        ],
        body,
    )
}
