//! Bearer-token and console-login authentication and role checks (PRODUCT.md R1, R2, R3).
//!
//! A caller is either an API client with a bearer token or a browser signed in to the console
//! (the login cookie, see `login`); a bearer header wins when both are present. A cookie caller
//! making a state-changing call (anything but GET / HEAD) must also send the login's CSRF token
//! in `x-csrf-token`, so another site cannot make the browser act for its user.
//!
//! A handler asks for a `Caller` (any valid token) or a `SessionReader` (a role that may read
//! sessions and requests) as an extractor; the check happens before the handler runs. Tokens are
//! looked up by their SHA-256 (`token_hash`) in the store on every call, without a cache: a token
//! created a moment ago with `sessionscope token create` works at once, and one revoked with
//! `sessionscope token revoke` (another process) is refused on the very next call. The look-up is
//! one primary-key read on a pooled connection (BENCHMARKS.md: a few microseconds). A console
//! login is checked against its user in the store on every call in the same way (`live_login`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use axum::http::Method;
use sessionscope_model::Role;
use sessionscope_store::token_hash;

use crate::error::ApiError;
use crate::login::{cookie_value, secrets_equal, Login, CSRF_HEADER, LOGIN_COOKIE};
use crate::{run_blocking, AppState};

/// A token's "last used" time is written at most this often, so API calls do not each cost a
/// write.
pub const TOKEN_USE_RESOLUTION_SECONDS: u64 = 60;
/// Bound on remembered write times, so many distinct tokens cannot grow memory without end.
const TOKEN_USE_CAPACITY: usize = 1024;

/// When each token's use was last written to the store, by hash.
#[derive(Default)]
pub struct TokenUse {
    written: Mutex<HashMap<String, Instant>>,
}

impl TokenUse {
    /// Whether a use of the token seen now should be written (and remembers that it was).
    fn due(&self, hash: &str) -> bool {
        let Ok(mut written) = self.written.lock() else {
            return false;
        };
        let now = Instant::now();
        let resolution = Duration::from_secs(TOKEN_USE_RESOLUTION_SECONDS);
        if written
            .get(hash)
            .is_some_and(|at| now.duration_since(*at) < resolution)
        {
            return false;
        }
        if written.len() >= TOKEN_USE_CAPACITY {
            written.retain(|_, at| now.duration_since(*at) < resolution);
            if written.len() >= TOKEN_USE_CAPACITY {
                written.clear();
            }
        }
        written.insert(hash.to_owned(), now);
        true
    }
}

/// The authenticated caller of an API route: the token's name and role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub name: String,
    pub role: Role,
}

/// A caller whose role may read sessions and requests (admin, analyst, read_only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionReader(pub Caller);

impl<S> FromRequestParts<S> for Caller
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Caller, ApiError> {
        let state = AppState::from_ref(state);
        if !parts.headers.contains_key(AUTHORIZATION) {
            if let Some(login) = login_of(parts, &state).await? {
                return Ok(Caller {
                    name: login.user,
                    role: login.role,
                });
            }
        }
        let token = bearer_token(parts)?;
        let hash = token_hash(token);
        let lookup_hash = hash.clone();
        let found = run_blocking(&state, move |store| store.token(&lookup_hash)).await?;
        let Some(record) = found else {
            return Err(ApiError::unauthorized("unknown api token"));
        };
        if state.token_use.due(&hash) {
            let store = state.store.clone();
            let now = state.now();
            // Not awaited: the answer does not wait for the write.
            tokio::task::spawn_blocking(move || {
                if let Err(error) = store.touch_token(&hash, now) {
                    tracing::warn!(error = %error, "failed to record a token's use");
                }
            });
        }
        Ok(Caller {
            name: record.name,
            role: record.role,
        })
    }
}

impl<S> FromRequestParts<S> for SessionReader
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<SessionReader, ApiError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        if !caller.role.can_read_sessions() {
            return Err(ApiError::forbidden(format!(
                "role `{}` may not read sessions or requests",
                caller.role
            )));
        }
        Ok(SessionReader(caller))
    }
}

/// The console login the request's cookie belongs to, with the CSRF check for state-changing
/// methods. `None` when there is no login cookie.
async fn login_of(parts: &Parts, state: &AppState) -> Result<Option<Login>, ApiError> {
    let Some(cookie) = parts
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|header| cookie_value(header, LOGIN_COOKIE))
    else {
        return Ok(None);
    };
    let Some(login) = live_login(state, cookie).await else {
        return Err(ApiError::unauthorized(
            "the console login has expired; sign in again",
        ));
    };
    let safe = parts.method == Method::GET || parts.method == Method::HEAD;
    if !safe {
        let sent = parts
            .headers
            .get(CSRF_HEADER)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("");
        if !secrets_equal(sent, &login.csrf) {
            return Err(ApiError::forbidden(
                "missing or wrong `x-csrf-token` header for a call made with the console login",
            ));
        }
    }
    Ok(Some(login))
}

/// The live login of a cookie value whose user the store still holds with the role and password
/// it signed in with; a login whose user was removed or changed password ends here. A store that
/// does not answer refuses the request without ending the login.
pub async fn live_login(state: &AppState, cookie: &str) -> Option<Login> {
    let login = state.logins.find(cookie)?;
    let name = login.user.clone();
    let stored = run_blocking(state, move |store| store.user(&name))
        .await
        .ok()?;
    if !login.is_current_for(stored.as_ref()) {
        state.logins.end(cookie);
        return None;
    }
    Some(login)
}

fn bearer_token(parts: &Parts) -> Result<&str, ApiError> {
    let Some(header) = parts.headers.get(AUTHORIZATION) else {
        return Err(ApiError::unauthorized(
            "missing `authorization: bearer <token>` header",
        ));
    };
    let Ok(text) = header.to_str() else {
        return Err(ApiError::unauthorized(
            "authorization header is not valid text",
        ));
    };
    let text = text.trim();
    // The scheme name is case-insensitive (RFC 9110).
    let Some((scheme, token)) = text.split_once(' ') else {
        return Err(ApiError::unauthorized(
            "authorization header must be `bearer <token>`",
        ));
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::unauthorized(
            "authorization header must use the bearer scheme",
        ));
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(ApiError::unauthorized("empty bearer token"));
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts_with(header: Option<&str>) -> Parts {
        let mut builder = Request::builder().uri("/api/v1/me");
        if let Some(value) = header {
            builder = builder.header(AUTHORIZATION, value);
        }
        builder.body(()).unwrap().into_parts().0
    }

    #[test]
    fn bearer_tokens_are_read_from_the_authorization_header() {
        assert_eq!(
            bearer_token(&parts_with(Some("Bearer sst_abc"))).unwrap(),
            "sst_abc"
        );
        assert_eq!(
            bearer_token(&parts_with(Some("bearer  sst_abc "))).unwrap(),
            "sst_abc"
        );
        for bad in [
            None,
            Some("Basic dXNlcjpwYXNz"),
            Some("Bearer "),
            Some("sst_abc"),
        ] {
            let error = bearer_token(&parts_with(bad)).unwrap_err();
            assert_eq!(error.code, "unauthorized", "{bad:?}");
        }
    }

    #[test]
    fn token_use_is_written_once_per_resolution() {
        let uses = TokenUse::default();
        assert!(uses.due("hash-1"));
        assert!(!uses.due("hash-1"), "seen a moment ago");
        assert!(uses.due("hash-2"));
        for index in 0..TOKEN_USE_CAPACITY + 5 {
            uses.due(&format!("hash-{index}-x"));
        }
        assert!(uses.written.lock().unwrap().len() <= TOKEN_USE_CAPACITY);
    }
}
