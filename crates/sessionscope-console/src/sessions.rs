//! The session list (PRODUCT.md E1–E4): placeholder until the list is built.

use axum::routing::get;
use axum::Router;
use maud::{html, Markup};
use sessionscope_server::AppState;

use crate::auth::ConsoleUser;
use crate::layout::{self, Nav};

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/sessions", get(list))
}

async fn list(user: ConsoleUser) -> Markup {
    layout::page(
        &user,
        Nav::Sessions,
        "Sessions",
        html! { h1 { "Sessions" } },
    )
}
