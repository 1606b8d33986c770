//! Signing in and out of the console (PRODUCT.md R3), and the `ConsoleUser` extractor every page
//! asks for.
//!
//! The login form is protected against login CSRF by a pre-login value the server issues with the
//! form (`PreLogins`: kept as a hash, accepted once, for ten minutes): the page sets it as a
//! cookie and repeats it in a hidden field, and the sign-in only proceeds when both match and the
//! server takes it back. A value made up elsewhere, a used one, or an old one is refused.
//! Sign-ins, successful or not, are recorded in the audit log (never the password, and never an
//! attempted name that is not a user: it may be a password typed in the wrong field). After sign-in the login cookie is HttpOnly and SameSite=Strict (and
//! Secure when the request came over TLS, directly or through a proxy that says so); forms carry
//! the login's CSRF token in a hidden `csrf` field, scripts in the `x-csrf-token` header.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, Query, State};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{html, Markup};
use serde::Deserialize;
use sessionscope_model::Role;
use sessionscope_server::login::{
    cookie_value, secrets_equal, Login, LOGIN_COOKIE, LOGIN_MAX_SECONDS, PRELOGIN_SECONDS,
};
use sessionscope_server::{live_login, AppState};
use sessionscope_store::verify_password;

use crate::layout::{self, Nav};

/// Cookie carrying the login form's double-submit value.
const PRELOGIN_COOKIE: &str = "sessionscope_prelogin";
/// Header the console's scripts send with fragment requests, so an expired login answers 401
/// (the script then reloads the page) instead of a redirect to the login form inside a fragment.
pub const FRAGMENT_HEADER: &str = "x-console-fragment";

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(sign_in))
        .route("/logout", post(sign_out))
        .route("/account", get(account))
}

/// A signed-in console user. Pages take it as an argument; without a live login the browser is
/// sent to the login page and comes back to where it was going.
#[derive(Debug, Clone)]
pub struct ConsoleUser {
    pub name: String,
    pub role: Role,
    /// The login's CSRF token, rendered into forms.
    pub csrf: String,
}

impl ConsoleUser {
    fn from_login(login: Login) -> ConsoleUser {
        ConsoleUser {
            name: login.user,
            role: login.role,
            csrf: login.csrf,
        }
    }

    /// Checks the CSRF token a form sent.
    #[allow(clippy::result_large_err)] // the refusal is the page to answer, as axum handlers return it
    pub fn check_csrf(&self, sent: &str) -> Result<(), Response> {
        if secrets_equal(sent, &self.csrf) {
            return Ok(());
        }
        Err(layout::error_page(
            StatusCode::FORBIDDEN,
            "The form was not accepted",
            "It was sent without this login's security token (perhaps from an old tab or another site). Reload the page and try again.",
        ))
    }
}

impl FromRequestParts<AppState> for ConsoleUser {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<ConsoleUser, Response> {
        let login = match login_cookie(&parts.headers) {
            Some(cookie) => live_login(state, cookie).await,
            None => None,
        };
        if let Some(login) = login {
            return Ok(ConsoleUser::from_login(login));
        }
        if parts.headers.contains_key(FRAGMENT_HEADER) {
            return Err((StatusCode::UNAUTHORIZED, "sign in again").into_response());
        }
        let target = parts
            .uri
            .path_and_query()
            .map(|value| value.as_str())
            .unwrap_or("/");
        let next = layout::encode_query_value(target);
        Err(Redirect::to(&format!("/login?next={next}")).into_response())
    }
}

/// The peer address of the connection, when the server was started with connection info.
pub struct ClientAddress(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<ClientAddress, Self::Rejection> {
        let address = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(address)| address.ip());
        Ok(ClientAddress(address))
    }
}

fn login_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|header| cookie_value(header, LOGIN_COOKIE))
}

fn cookie_from(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|header| cookie_value(header, name))
        .map(str::to_owned)
}

/// Whether the browser reached us over TLS, directly or through a proxy that says so.
fn over_tls(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|proto| proto.eq_ignore_ascii_case("https"))
}

fn cookie_header(name: &str, value: &str, max_age: u64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text =
        format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Only same-site paths are followed after sign-in (no `//host` or scheme), so the login page
/// cannot be used as an open redirect.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/') && !path.starts_with("//") && !path.starts_with("/\\") =>
        {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

#[derive(Deserialize, Default)]
struct LoginQuery {
    next: Option<String>,
}

async fn login_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<LoginQuery>,
) -> Response {
    let prelogin = state.prelogins.issue();
    let mut response = render_login(
        &prelogin,
        &safe_next(query.next.as_deref()),
        None,
        StatusCode::OK,
    );
    response.headers_mut().append(
        SET_COOKIE,
        cookie_header(
            PRELOGIN_COOKIE,
            &prelogin,
            PRELOGIN_SECONDS,
            over_tls(&headers),
        ),
    );
    response
}

fn render_login(prelogin: &str, next: &str, problem: Option<&str>, status: StatusCode) -> Response {
    let body = html! {
        main.login {
            form.login-card method="post" action="/login" {
                div.brand-large { span.brand-mark {} "sessionscope" }
                p.muted { "Sign in to explore API sessions." }
                @if let Some(problem) = problem {
                    p.form-error role="alert" { (problem) }
                }
                input type="hidden" name="prelogin" value=(prelogin);
                input type="hidden" name="next" value=(next);
                label for="user" { "User" }
                input #user type="text" name="user" autocomplete="username" required autofocus;
                label for="password" { "Password" }
                input #password type="password" name="password" autocomplete="current-password" required;
                button.primary type="submit" { "Sign in" }
                p.hint { "Users are created with " code { "sessionscope user add" } "; " code { "sessionscope demo" } " prints one." }
            }
        }
    };
    (status, layout::bare_page("Sign in", body)).into_response()
}

#[derive(Deserialize)]
struct SignIn {
    user: String,
    password: String,
    prelogin: String,
    next: Option<String>,
}

async fn sign_in(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    Form(form): Form<SignIn>,
) -> Response {
    let next = safe_next(form.next.as_deref());
    let tls = over_tls(&headers);
    let fresh_prelogin = state.prelogins.issue();
    let answer = |problem: &str, status: StatusCode| {
        let mut response = render_login(&fresh_prelogin, &next, Some(problem), status);
        response.headers_mut().append(
            SET_COOKIE,
            cookie_header(PRELOGIN_COOKIE, &fresh_prelogin, PRELOGIN_SECONDS, tls),
        );
        response
    };

    // The cookie binds the value to this browser; `redeem` to this server, once.
    let expected = cookie_from(&headers, PRELOGIN_COOKIE).unwrap_or_default();
    let bound = !expected.is_empty() && secrets_equal(&expected, &form.prelogin);
    if !bound || !state.prelogins.redeem(&form.prelogin) {
        return answer(
            "The sign-in form expired or came from elsewhere. Please sign in again.",
            StatusCode::FORBIDDEN,
        );
    }
    let user_name = form.user.trim().to_owned();
    if let Err(wait) = state.login_limiter.check(address, &user_name) {
        let mut response = answer(
            &format!("Too many failed sign-ins. Try again in {wait} seconds."),
            StatusCode::TOO_MANY_REQUESTS,
        );
        if let Ok(value) = HeaderValue::from_str(&wait.to_string()) {
            response.headers_mut().insert("retry-after", value);
        }
        return response;
    }

    let store = state.store.clone();
    let lookup_name = user_name.clone();
    let password = form.password;
    // Password hashing is deliberately slow: keep it off the async workers.
    let checked = tokio::task::spawn_blocking(move || {
        let record = store.user(&lookup_name).ok().flatten()?;
        let verified = verify_password(&password, &record.password_hash);
        Some((record, verified))
    })
    .await
    .ok()
    .flatten();
    let from = address.map_or_else(|| "an unknown address".to_owned(), |ip| ip.to_string());
    let record = match checked {
        Some((record, true)) => record,
        refused => {
            state.login_limiter.record_failure(address, &user_name);
            tracing::info!(user = %user_name, "console sign-in refused");
            let (target, detail) = match refused {
                Some((record, _)) => (record.name, format!("wrong password, from {from}")),
                None => (
                    "(unknown user)".to_owned(),
                    format!("unknown user, from {from}"),
                ),
            };
            record_audit(&state, "anonymous", "sign_in.failure", target, detail).await;
            return answer("Wrong user or password.", StatusCode::UNAUTHORIZED);
        }
    };
    state.login_limiter.record_success(&user_name);
    let (cookie, _login) = state.logins.start(&record);
    tracing::info!(user = %record.name, role = %record.role, "console sign-in");
    record_audit(
        &state,
        &record.name,
        "sign_in.success",
        record.name.clone(),
        format!("role {}, from {from}", record.role),
    )
    .await;
    let mut response = Redirect::to(&next).into_response();
    let headers = response.headers_mut();
    headers.append(
        SET_COOKIE,
        cookie_header(LOGIN_COOKIE, &cookie, LOGIN_MAX_SECONDS, tls),
    );
    headers.append(SET_COOKIE, cookie_header(PRELOGIN_COOKIE, "", 0, tls));
    response
}

/// Appends to the audit log; a store that does not answer is logged, not shown to the user.
async fn record_audit(state: &AppState, who: &str, action: &str, target: String, detail: String) {
    let store = state.store.clone();
    let (who, action) = (who.to_owned(), action.to_owned());
    let written =
        tokio::task::spawn_blocking(move || store.record_audit(&who, &action, &target, &detail))
            .await;
    if !matches!(written, Ok(Ok(()))) {
        tracing::error!("failed to record a sign-in in the audit log");
    }
}

#[derive(Deserialize)]
struct SignOut {
    csrf: String,
}

async fn sign_out(
    State(state): State<AppState>,
    user: ConsoleUser,
    headers: HeaderMap,
    Form(form): Form<SignOut>,
) -> Response {
    if let Err(refused) = user.check_csrf(&form.csrf) {
        return refused;
    }
    if let Some(cookie) = login_cookie(&headers) {
        state.logins.end(cookie);
    }
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().append(
        SET_COOKIE,
        cookie_header(LOGIN_COOKIE, "", 0, over_tls(&headers)),
    );
    response
}

/// Who is signed in and what the role may do; the landing page of roles without sessions.
async fn account(user: ConsoleUser) -> Markup {
    let body = html! {
        section.panel {
            h1 { "Signed in as " (user.name) }
            p { "Role: " strong { (user.role) } }
            @if user.role.can_read_sessions() {
                p { a href="/sessions" { "Open the session list" } }
            } @else {
                p.muted {
                    "The " code { (user.role) } " role does not see sessions or requests. "
                    "It works with the endpoint inventory through the API (" code { "/api/v1" } ")."
                }
            }
        }
    };
    layout::page(&user, Nav::Account, "Account", body)
}
