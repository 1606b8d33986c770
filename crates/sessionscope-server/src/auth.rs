//! Bearer-token and console-login authentication and role checks (PRODUCT.md R1, R2, R3).
//!
//! A caller is either an API client with a bearer token or a browser signed in to the console
//! (the login cookie, see `login`); a bearer header wins when both are present. A cookie caller
//! making a state-changing call (anything but GET / HEAD) must also send the login's CSRF token
//! in `x-csrf-token`, so another site cannot make the browser act for its user.
//!
//! A handler asks for a `Caller` (any valid token) or a `SessionReader` (a role that may read
//! sessions and requests) as an extractor; the check happens before the handler runs. Tokens are
//! looked up by their SHA-256 (`token_hash`), and found tokens are cached for a few seconds so a
//! burst of API calls costs one store lookup. Unknown tokens are not cached: a token created a
//! moment ago with `sessionscope token create` must work at once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use axum::http::Method;
use sessionscope_model::Role;
use sessionscope_store::{token_hash, TokenRecord};

use crate::error::ApiError;
use crate::login::{cookie_value, secrets_equal, Login, CSRF_HEADER, LOGIN_COOKIE};
use crate::{run_blocking, AppState};

/// How long a found token is trusted without asking the store again; also how long a revoked
/// token may keep working.
pub const TOKEN_CACHE_SECONDS: u64 = 10;
/// Bound on cached tokens, so many distinct tokens cannot grow memory without end.
const TOKEN_CACHE_CAPACITY: usize = 1024;

/// Recently found tokens by hash.
#[derive(Default)]
pub struct TokenCache {
    entries: Mutex<HashMap<String, (TokenRecord, Instant)>>,
}

impl TokenCache {
    fn get(&self, hash: &str) -> Option<TokenRecord> {
        let entries = self.entries.lock().ok()?;
        let (record, fetched) = entries.get(hash)?;
        if fetched.elapsed() > Duration::from_secs(TOKEN_CACHE_SECONDS) {
            return None;
        }
        Some(record.clone())
    }

    fn put(&self, hash: String, record: TokenRecord) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= TOKEN_CACHE_CAPACITY {
            let ttl = Duration::from_secs(TOKEN_CACHE_SECONDS);
            entries.retain(|_, (_, fetched)| fetched.elapsed() <= ttl);
            if entries.len() >= TOKEN_CACHE_CAPACITY {
                entries.clear();
            }
        }
        entries.insert(hash, (record, Instant::now()));
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
            if let Some(login) = login_of(parts, &state)? {
                return Ok(Caller {
                    name: login.user,
                    role: login.role,
                });
            }
        }
        let token = bearer_token(parts)?;
        let hash = token_hash(token);
        if let Some(record) = state.token_cache.get(&hash) {
            return Ok(Caller {
                name: record.name,
                role: record.role,
            });
        }
        let lookup_hash = hash.clone();
        let found = run_blocking(&state, move |store| store.token(&lookup_hash)).await?;
        let Some(record) = found else {
            return Err(ApiError::unauthorized("unknown api token"));
        };
        state.token_cache.put(hash, record.clone());
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
fn login_of(parts: &Parts, state: &AppState) -> Result<Option<Login>, ApiError> {
    let Some(cookie) = parts
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|header| cookie_value(header, LOGIN_COOKIE))
    else {
        return Ok(None);
    };
    let Some(login) = state.logins.find(cookie) else {
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
    fn cache_forgets_tokens_when_full() {
        let cache = TokenCache::default();
        for index in 0..TOKEN_CACHE_CAPACITY + 5 {
            cache.put(
                format!("hash-{index}"),
                TokenRecord {
                    name: format!("t{index}"),
                    role: Role::Admin,
                    created: 0,
                },
            );
        }
        assert!(cache.entries.lock().unwrap().len() <= TOKEN_CACHE_CAPACITY);
        let last = format!("hash-{}", TOKEN_CACHE_CAPACITY + 4);
        assert_eq!(
            cache.get(&last).map(|record| record.role),
            Some(Role::Admin)
        );
        assert!(cache.get("never-seen").is_none());
    }
}
