//! The HTTP side of sessionscope: the REST API under `/api/v1` (sessions, their statistics and
//! requests, request details, CSV / NDJSON exports, the OpenAPI document) and `/healthz`, served
//! with axum over any `Store`. Routes and parameters are documented in API.md and served as
//! OpenAPI 3.1 at `/api/v1/openapi.json`.
//!
//! The router is built to be merged with others (the console adds its pages to it): `api_router`
//! gives the routes still waiting for their state, `router` the ready-to-serve form. Handlers
//! authenticate through the `Caller` / `SessionReader` extractors, answer errors through
//! `ApiError`, and run every store call on the blocking pool because store calls block.

mod audit;
mod auth;
mod error;
pub mod export;
pub mod filters;
pub mod headers;
pub mod login;
mod openapi;
mod routes;
pub mod rules;
mod stream;

use std::future::Future;
use std::sync::Arc;

use sessionscope_model::Micros;
use sessionscope_store::{Store, StoreError};

pub use auth::{live_login, Caller, SessionReader, TokenUse, TOKEN_USE_RESOLUTION_SECONDS};
pub use error::ApiError;
pub use openapi::openapi_document;
pub use routes::{api_router, routed_paths};

/// What every handler shares: the store, the clock relative times are resolved against, and the
/// in-memory state of authentication (logins, pre-login values, the limiter, token use times).
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    /// Current time in microseconds; replaceable so tests can pin "now" for relative windows.
    pub clock: Arc<dyn Fn() -> Micros + Send + Sync>,
    pub token_use: Arc<TokenUse>,
    /// Console logins (browser sessions), the sign-in forms' pre-login values and the sign-in
    /// limiter.
    pub logins: Arc<login::Logins>,
    pub prelogins: Arc<login::PreLogins>,
    pub login_limiter: Arc<login::LoginLimiter>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>) -> AppState {
        AppState {
            store,
            clock: Arc::new(|| chrono::Utc::now().timestamp_micros()),
            token_use: Arc::new(TokenUse::default()),
            logins: Arc::new(login::Logins::default()),
            prelogins: Arc::new(login::PreLogins::default()),
            login_limiter: Arc::new(login::LoginLimiter::default()),
        }
    }

    /// The same state with another clock (tests pin "now").
    pub fn with_clock(mut self, clock: impl Fn() -> Micros + Send + Sync + 'static) -> AppState {
        self.clock = Arc::new(clock);
        self
    }

    pub fn now(&self) -> Micros {
        (self.clock)()
    }
}

/// The API with its state, ready to serve or to merge with other stateless routers.
pub fn router(state: AppState) -> axum::Router {
    api_router()
        .layer(axum::middleware::map_response(
            headers::add_security_headers,
        ))
        .with_state(state)
}

/// Serves until `shutdown` completes. Takes a bound listener (the caller picks the address; tests bind 127.0.0.1:0).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if let Ok(address) = listener.local_addr() {
        tracing::info!(%address, "serving the rest api");
    }
    serve_router(listener, router(state), shutdown).await
}

/// Serves any router built on `AppState` (the API merged with the console) until `shutdown`
/// completes, with the peer address available to handlers (`ConnectInfo`), which the console's
/// sign-in limiter uses. A panic in any handler becomes a 500 answer (`answer_panic`).
pub async fn serve_router(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = router.layer(tower_http::catch_panic::CatchPanicLayer::custom(
        answer_panic,
    ));
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// A handler that panicked answers a JSON 500 instead of closing the connection without an
/// answer; the panic message goes to the log only.
fn answer_panic(panic: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("a panic without a message");
    axum::response::IntoResponse::into_response(ApiError::internal(format!(
        "a handler panicked: {detail}"
    )))
}

/// Runs a blocking store call on tokio's blocking pool.
pub(crate) async fn run_blocking<T, F>(state: &AppState, call: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
{
    let store = Arc::clone(&state.store);
    match tokio::task::spawn_blocking(move || call(store.as_ref())).await {
        Ok(result) => result.map_err(ApiError::from),
        Err(join_error) => Err(ApiError::internal(format!(
            "store task failed: {join_error}"
        ))),
    }
}
