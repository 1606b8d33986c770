//! The routes of the REST API and their handlers. Each handler parses its query (its own
//! parameters first, the rest as filters, nothing unknown), runs one store call on the blocking
//! pool and answers JSON, or streams an export.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::handler::Handler;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, delete, get, post, MethodRouter};
use axum::{Json, Router};
use serde::Serialize;
use sessionscope_model::{PageRequest, SessionFilter, SessionId, SessionPage, SessionSummary};

use crate::auth::{Caller, SessionReader};
use crate::error::{shorten, ApiError};
use crate::filters::{
    check_cursor, parse_filter_allowing, parse_limit, parse_part, parse_sort, split_parameters,
    CursorKind, SplitQuery,
};
use crate::stream::{export_response, ExportFormat, ExportKind};
use crate::{openapi, rules, run_blocking, AppState};

/// The router under construction, with the paths it serves, so the OpenAPI test can check that
/// every served path is documented.
struct Routes {
    router: Router<AppState>,
    paths: Vec<&'static str>,
}

impl Routes {
    /// A GET route (HEAD comes with it); other methods get a JSON 405.
    fn get<H, T>(mut self, path: &'static str, handler: H) -> Routes
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let method_router: MethodRouter<AppState> = get(handler).fallback(method_not_allowed);
        self.router = self.router.route(path, method_router);
        self.paths.push(path);
        self
    }

    /// A route with its own methods (and its own answer to other methods).
    fn route(mut self, path: &'static str, method_router: MethodRouter<AppState>) -> Routes {
        self.router = self.router.route(path, method_router);
        self.paths.push(path);
        self
    }
}

fn api_routes() -> Routes {
    Routes {
        router: Router::new(),
        paths: Vec::new(),
    }
    .get("/healthz", healthz)
    .get("/api/v1/openapi.json", openapi_json)
    .get("/api/v1/me", me)
    .get("/api/v1/sessions", list_sessions)
    .get("/api/v1/sessions/{id}", session_parts)
    .get("/api/v1/sessions/{id}/stats", session_stats)
    .get("/api/v1/sessions/{id}/requests", session_requests)
    .get("/api/v1/sessions/{id}/export", session_export)
    .get("/api/v1/requests/{id}", request_details)
    .get("/api/v1/requests/{id}/content", request_content)
    .get("/api/v1/export/requests", export_requests)
    .get("/api/v1/export/sessions", export_sessions)
    .get("/api/v1/audit", crate::audit::audit_route)
    .route(
        "/api/v1/requests/{id}/false-positive",
        post(rules::mark_false_positive_route).fallback(only_post),
    )
    .route(
        "/api/v1/rules",
        get(rules::list_rules)
            .post(rules::add_rule_route)
            .fallback(only_get_or_post),
    )
    .route(
        "/api/v1/rules/reevaluate",
        post(rules::reevaluate_route).fallback(only_post),
    )
    .route(
        "/api/v1/rules/{id}",
        delete(rules::remove_rule_route).fallback(only_delete),
    )
}

/// The API routes, not yet given their state; merge other routers into it, then `with_state`.
/// Unknown paths under `/api/v1/` answer a JSON 404.
pub fn api_router() -> Router<AppState> {
    api_routes()
        .router
        .route("/api/v1/{*rest}", any(unknown_api_path))
}

/// Every path `api_router` serves (besides the 404 catch-all), in OpenAPI path syntax.
pub fn routed_paths() -> Vec<&'static str> {
    api_routes().paths
}

async fn unknown_api_path() -> ApiError {
    ApiError::not_found("no such api route; see /api/v1/openapi.json")
}

async fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed("this route only answers GET")
}

async fn only_post() -> ApiError {
    ApiError::method_not_allowed("this route only answers POST")
}

async fn only_get_or_post() -> ApiError {
    ApiError::method_not_allowed("this route only answers GET and POST")
}

async fn only_delete() -> ApiError {
    ApiError::method_not_allowed("this route only answers DELETE")
}

/// The query string as ordered key/value pairs, repeats kept; a malformed query, or a parameter
/// without a value (`user=`), is a JSON 400: the API takes a parameter with a value or not at
/// all, so what a request means never depends on how empty values are read.
pub(crate) struct QueryPairs(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryPairs {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<QueryPairs, ApiError> {
        let parsed: Result<Query<Vec<(String, String)>>, QueryRejection> =
            Query::try_from_uri(&parts.uri);
        match parsed {
            Ok(Query(pairs)) => {
                if let Some((key, _)) = pairs.iter().find(|(_, value)| value.is_empty()) {
                    return Err(ApiError::bad_request(format!(
                        "parameter `{}` has no value; give it one or leave it out",
                        shorten(key)
                    )));
                }
                Ok(QueryPairs(pairs))
            }
            Err(rejection) => Err(ApiError::bad_request(format!(
                "malformed query string: {}",
                rejection.body_text()
            ))),
        }
    }
}

/// A route's own parameters plus the filter made of the rest.
struct RouteQuery {
    split: SplitQuery,
    filter: SessionFilter,
}

impl RouteQuery {
    fn parse(
        state: &AppState,
        pairs: &[(String, String)],
        route_parameters: &[&str],
    ) -> Result<RouteQuery, ApiError> {
        let split = split_parameters(pairs, route_parameters)?;
        let filter = parse_filter_allowing(&split.filter_pairs, state.now(), route_parameters)?;
        Ok(RouteQuery { split, filter })
    }

    fn value(&self, name: &str) -> Option<&str> {
        self.split.value(name)
    }

    fn page(&self, cursor: CursorKind) -> Result<PageRequest, ApiError> {
        check_cursor(self.value("cursor"), cursor)?;
        Ok(PageRequest {
            limit: parse_limit(self.value("limit"))?,
            cursor: self.value("cursor").map(str::to_string),
        })
    }
}

fn path_text(path: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    match path {
        Ok(Path(text)) => Ok(text),
        Err(rejection) => Err(ApiError::bad_request(format!(
            "malformed path: {}",
            rejection.body_text()
        ))),
    }
}

fn parse_session_id(text: &str) -> Result<SessionId, ApiError> {
    text.parse().map_err(|_| {
        ApiError::bad_request(format!(
            "invalid value `{}` for parameter `id`: expected a session id of 32 hex characters",
            shorten(text)
        ))
    })
}

/// Narrows a filter to one session. A `session_id` filter naming other sessions leaves nothing.
fn restrict_to_session(filter: &mut SessionFilter, session_id: SessionId) -> bool {
    if !filter.session_ids.is_empty() && !filter.session_ids.contains(&session_id) {
        return false;
    }
    filter.session_ids = vec![session_id];
    true
}

async fn healthz() -> &'static str {
    "ok"
}

async fn openapi_json() -> Json<serde_json::Value> {
    Json(openapi::openapi_document())
}

#[derive(Serialize)]
struct MeBody {
    name: String,
    role: String,
    can_read_sessions: bool,
}

async fn me(caller: Caller) -> Json<MeBody> {
    Json(MeBody {
        name: caller.name,
        role: caller.role.to_string(),
        can_read_sessions: caller.role.can_read_sessions(),
    })
}

async fn list_sessions(
    State(state): State<AppState>,
    _reader: SessionReader,
    QueryPairs(pairs): QueryPairs,
) -> Result<Json<SessionPage>, ApiError> {
    let query = RouteQuery::parse(&state, &pairs, &["limit", "cursor"])?;
    let page = query.page(CursorKind::Sessions)?;
    let filter = query.filter;
    let sessions = run_blocking(&state, move |store| store.list_sessions(&filter, &page)).await?;
    Ok(Json(sessions))
}

#[derive(Serialize)]
struct SessionBody {
    session_id: SessionId,
    parts: Vec<SessionSummary>,
}

async fn session_parts(
    State(state): State<AppState>,
    _reader: SessionReader,
    path: Result<Path<String>, PathRejection>,
    QueryPairs(pairs): QueryPairs,
) -> Result<Json<SessionBody>, ApiError> {
    let session_id = parse_session_id(&path_text(path)?)?;
    let query = RouteQuery::parse(&state, &pairs, &[])?;
    let filter = query.filter;
    let parts = run_blocking(&state, move |store| {
        store.session_parts(session_id, &filter)
    })
    .await?;
    if parts.is_empty() {
        return Err(ApiError::not_found(format!(
            "no session `{session_id}` with requests matching the filter"
        )));
    }
    Ok(Json(SessionBody { session_id, parts }))
}

async fn session_stats(
    State(state): State<AppState>,
    _reader: SessionReader,
    path: Result<Path<String>, PathRejection>,
    QueryPairs(pairs): QueryPairs,
) -> Result<Response, ApiError> {
    let session_id = parse_session_id(&path_text(path)?)?;
    let query = RouteQuery::parse(&state, &pairs, &["part"])?;
    let part = parse_part(query.value("part"))?;
    let filter = query.filter;
    let (stats, parts) = run_blocking(&state, move |store| {
        let stats = store.session_stats(session_id, part, &filter)?;
        // Statistics of nothing are a real answer for a filter that excludes every request;
        // for a session (or part) that is not stored at all they would hide the mistake.
        let parts = if stats.requests == 0 {
            Some(store.session_parts(session_id, &SessionFilter::default())?)
        } else {
            None
        };
        Ok((stats, parts))
    })
    .await?;
    if let Some(parts) = parts {
        if parts.is_empty() {
            return Err(ApiError::not_found(format!("no session `{session_id}`")));
        }
        if let Some(day) = part {
            let day_text = sessionscope_model::format_day(day);
            if !parts.iter().any(|stored| stored.part == day_text) {
                return Err(ApiError::not_found(format!(
                    "session `{session_id}` has no part `{day_text}`"
                )));
            }
        }
    }
    Ok(Json(stats).into_response())
}

async fn session_requests(
    State(state): State<AppState>,
    _reader: SessionReader,
    path: Result<Path<String>, PathRejection>,
    QueryPairs(pairs): QueryPairs,
) -> Result<Response, ApiError> {
    let session_id = parse_session_id(&path_text(path)?)?;
    let query = RouteQuery::parse(&state, &pairs, &["part", "sort", "limit", "cursor"])?;
    let part = parse_part(query.value("part"))?;
    let sort = parse_sort(query.value("sort"))?;
    let page = query.page(CursorKind::Requests)?;
    let filter = query.filter;
    let requests = run_blocking(&state, move |store| {
        store.session_requests(session_id, part, &filter, sort, &page)
    })
    .await?;
    Ok(Json(requests).into_response())
}

async fn session_export(
    State(state): State<AppState>,
    _reader: SessionReader,
    path: Result<Path<String>, PathRejection>,
    QueryPairs(pairs): QueryPairs,
) -> Result<Response, ApiError> {
    let session_id = parse_session_id(&path_text(path)?)?;
    let query = RouteQuery::parse(&state, &pairs, &["format", "part"])?;
    let format = ExportFormat::parse(query.value("format"))?;
    let part = parse_part(query.value("part"))?;
    let mut filter = query.filter;
    if let Some(day) = part {
        narrow_to_day(&mut filter, day);
    }
    if !restrict_to_session(&mut filter, session_id) {
        // Nothing can match; an empty filter window says so to the store without a special case.
        filter.from = Some(0);
        filter.to = Some(0);
    }
    export_response(
        &state,
        filter,
        ExportKind::Requests,
        format,
        &format!("session-{session_id}"),
    )
    .await
}

/// Intersects the filter's time window with one UTC day.
fn narrow_to_day(filter: &mut SessionFilter, day: i32) {
    let day_start = sessionscope_model::day_start_micros(day);
    let day_end = sessionscope_model::day_start_micros(day + 1);
    filter.from = Some(filter.from.map_or(day_start, |from| from.max(day_start)));
    filter.to = Some(filter.to.map_or(day_end, |to| to.min(day_end)));
}

async fn request_details(
    State(state): State<AppState>,
    _reader: SessionReader,
    path: Result<Path<String>, PathRejection>,
    QueryPairs(pairs): QueryPairs,
) -> Result<Response, ApiError> {
    let id = path_text(path)?;
    refuse_parameters(&pairs, "request details take")?;
    let lookup_id = id.clone();
    let details = run_blocking(&state, move |store| store.request(&lookup_id)).await?;
    match details {
        Some(details) => Ok(Json(details).into_response()),
        None => Err(ApiError::not_found(format!(
            "no request with id `{}`",
            shorten(&id)
        ))),
    }
}

/// Routes without parameters refuse any, so a misplaced filter is noticed instead of ignored.
fn refuse_parameters(pairs: &[(String, String)], what_takes: &str) -> Result<(), ApiError> {
    match pairs.first() {
        Some((key, _)) => Err(ApiError::bad_request(format!(
            "unknown parameter `{}`; {what_takes} no parameters",
            shorten(key)
        ))),
        None => Ok(()),
    }
}

/// The sanitised full content of a request with attacks (PRODUCT.md E8): the stored exchange
/// NDJSON line, answered as it is (it is JSON already, secrets masked or hashed at ingest).
async fn request_content(
    State(state): State<AppState>,
    _reader: SessionReader,
    path: Result<Path<String>, PathRejection>,
    QueryPairs(pairs): QueryPairs,
) -> Result<Response, ApiError> {
    let id = path_text(path)?;
    refuse_parameters(&pairs, "request content takes")?;
    let lookup_id = id.clone();
    let content = run_blocking(&state, move |store| store.attack_content(&lookup_id)).await?;
    match content {
        Some(line) => Ok((
            [(
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("application/json"),
            )],
            line,
        )
            .into_response()),
        None => Err(ApiError::not_found(format!(
            "no stored content for request `{}`: only requests with attacks keep their full content",
            shorten(&id)
        ))),
    }
}

async fn export_requests(
    State(state): State<AppState>,
    _reader: SessionReader,
    QueryPairs(pairs): QueryPairs,
) -> Result<Response, ApiError> {
    let query = RouteQuery::parse(&state, &pairs, &["format"])?;
    let format = ExportFormat::parse(query.value("format"))?;
    export_response(
        &state,
        query.filter,
        ExportKind::Requests,
        format,
        "requests",
    )
    .await
}

async fn export_sessions(
    State(state): State<AppState>,
    _reader: SessionReader,
    QueryPairs(pairs): QueryPairs,
) -> Result<Response, ApiError> {
    let query = RouteQuery::parse(&state, &pairs, &["format"])?;
    let format = ExportFormat::parse(query.value("format"))?;
    export_response(
        &state,
        query.filter,
        ExportKind::Sessions,
        format,
        "sessions",
    )
    .await
}
