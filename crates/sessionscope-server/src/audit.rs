//! `GET /api/v1/audit` (admins only; PRODUCT.md R4): the audit log, newest first. Token and user
//! changes and console sign-ins come from the store's audit events, configuration changes from
//! the change log (C6), merged by the store (`Store::audit_events`). Never holds a secret.

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use serde_json::{json, Value};
use sessionscope_model::format_rfc3339;

use crate::auth::Caller;
use crate::error::{shorten, ApiError};
use crate::routes::QueryPairs;
use crate::{run_blocking, AppState};

/// Events answered when `limit` is not given.
pub const DEFAULT_AUDIT_LIMIT: usize = 100;
/// The most events one call answers.
pub const MAX_AUDIT_LIMIT: usize = 1000;

/// The actions an event may name.
pub const AUDIT_ACTIONS: &[&str] = &[
    "user.add",
    "user.remove",
    "user.passwd",
    "token.create",
    "token.revoke",
    "sign_in.success",
    "sign_in.failure",
    "config.change",
];

#[derive(Serialize)]
pub(crate) struct AuditBody {
    events: Vec<AuditEventBody>,
}

#[derive(Serialize)]
struct AuditEventBody {
    at: String,
    who: String,
    action: String,
    target: String,
    detail: String,
    config_change: Option<i64>,
}

pub(crate) async fn audit_route(
    State(state): State<AppState>,
    caller: Caller,
    QueryPairs(pairs): QueryPairs,
) -> Result<Json<AuditBody>, ApiError> {
    if !caller.role.can_change_configuration() {
        return Err(ApiError::forbidden(format!(
            "role `{}` may not read the audit log; admin may",
            caller.role
        )));
    }
    let limit = parse_audit_limit(&pairs)?;
    let events = run_blocking(&state, move |store| store.audit_events(limit)).await?;
    let events = events
        .into_iter()
        .map(|event| AuditEventBody {
            at: format_rfc3339(event.at),
            who: event.who,
            action: event.action,
            target: event.target,
            detail: event.detail,
            config_change: event.config_change,
        })
        .collect();
    Ok(Json(AuditBody { events }))
}

/// `limit`, once, digits only, 1 to `MAX_AUDIT_LIMIT`; nothing else is accepted.
fn parse_audit_limit(pairs: &[(String, String)]) -> Result<usize, ApiError> {
    let mut limit = None;
    for (key, value) in pairs {
        if key != "limit" {
            return Err(ApiError::bad_request(format!(
                "unknown parameter `{}`; the audit log takes `limit`",
                shorten(key)
            )));
        }
        if limit.is_some() {
            return Err(ApiError::bad_request("parameter `limit` given twice"));
        }
        let parsed = (!value.is_empty() && value.bytes().all(|byte| byte.is_ascii_digit()))
            .then(|| value.parse::<usize>().ok())
            .flatten()
            .filter(|limit| (1..=MAX_AUDIT_LIMIT).contains(limit));
        match parsed {
            Some(parsed) => limit = Some(parsed),
            None => {
                return Err(ApiError::bad_request(format!(
                    "invalid value `{}` for parameter `limit`: expected a number from 1 to {MAX_AUDIT_LIMIT}",
                    shorten(value)
                )))
            }
        }
    }
    Ok(limit.unwrap_or(DEFAULT_AUDIT_LIMIT))
}

/// The path item of `/api/v1/audit` for the OpenAPI document, its schemas inline.
pub(crate) fn openapi_path() -> Value {
    let error = json!({"$ref": "#/components/schemas/Error"});
    let error_response = |description: &str| json!({"description": description, "content": {"application/json": {"schema": error}}});
    json!({"get": {
        "operationId": "listAuditEvents",
        "summary": "The audit log, newest first: user and token changes, console sign-ins and configuration changes (PRODUCT.md R4); admin only",
        "parameters": [{
            "name": "limit",
            "in": "query",
            "required": false,
            "description": "How many of the newest events to answer",
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_AUDIT_LIMIT, "default": DEFAULT_AUDIT_LIMIT}
        }],
        "responses": {
            "200": {"description": "The newest audit events", "content": {"application/json": {"schema": {
                "type": "object",
                "required": ["events"],
                "additionalProperties": false,
                "properties": {"events": {"type": "array", "maxItems": MAX_AUDIT_LIMIT, "items": {
                    "type": "object",
                    "required": ["at", "who", "action", "target", "detail", "config_change"],
                    "additionalProperties": false,
                    "properties": {
                        "at": {"type": "string", "format": "date-time", "description": "When, UTC"},
                        "who": {"type": "string", "description": "A console user's or token's name, `cli:OS-USER` for the command line, `anonymous` for a failed sign-in, `config-file`, `demo` or `system`"},
                        "action": {"type": "string", "enum": AUDIT_ACTIONS},
                        "target": {"type": "string", "description": "The user or token acted on (`(unknown user)` for a sign-in as a name that is no user), or `analysis settings`"},
                        "detail": {"type": "string", "description": "Short and human: a role, the client address of a sign-in, or a configuration change's summary"},
                        "config_change": {"type": ["integer", "null"], "description": "For `config.change`: the change-log entry with the settings before and after"}
                    }
                }}}
            }}}},
            "400": error_response("A parameter other than `limit`, or a bad limit"),
            "401": error_response("No valid token or console login"),
            "403": error_response("The role is not admin")
        }
    }})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect()
    }

    #[test]
    fn the_limit_is_a_bounded_number_and_nothing_else_is_taken() {
        assert_eq!(parse_audit_limit(&[]).unwrap(), DEFAULT_AUDIT_LIMIT);
        assert_eq!(parse_audit_limit(&pairs(&[("limit", "7")])).unwrap(), 7);
        assert_eq!(
            parse_audit_limit(&pairs(&[("limit", "1000")])).unwrap(),
            1000
        );
        for bad in [
            "0",
            "1001",
            "",
            "-1",
            "+5",
            " 5",
            "5x",
            "99999999999999999999999",
        ] {
            assert_eq!(
                parse_audit_limit(&pairs(&[("limit", bad)]))
                    .unwrap_err()
                    .code,
                "bad_request",
                "{bad:?}"
            );
        }
        assert!(parse_audit_limit(&pairs(&[("limit", "5"), ("limit", "6")])).is_err());
        assert!(parse_audit_limit(&pairs(&[("window", "1h")])).is_err());
    }
}
