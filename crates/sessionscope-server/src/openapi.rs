//! The OpenAPI 3.1 document served at `/api/v1/openapi.json`, written by hand. A test checks that
//! every path the router serves is described here, and nothing else.

use serde_json::{json, Map, Value};

use crate::export::{REQUEST_CSV_COLUMNS, SESSION_CSV_COLUMNS};
use crate::filters::{
    CursorKind, DEFAULT_PAGE_LIMIT, FILTER_PARAMETERS, MAX_ENDPOINT_CHARS, MAX_PAGE_LIMIT,
    MAX_REQUEST_ID_CHARS, WINDOW_PRESETS,
};
use sessionscope_analyze::{
    request_point_pattern, AttackKind, DISABLE_DETECTION, FALSE_POSITIVE, MASK_PARAMETER,
    SPACE_OR_CONTROL_CLASS, VIRTUAL_PATCH,
};
use sessionscope_model::{Flow, RELATIVE_TIME_PATTERN};

/// The whole document.
pub fn openapi_document() -> Value {
    let mut paths = Map::new();
    paths.insert(
        "/healthz".into(),
        json!({"get": {
            "operationId": "healthz",
            "summary": "Liveness check; needs no token",
            "security": [],
            "responses": {"200": {"description": "The server is up", "content": {"text/plain": {"schema": {"type": "string", "const": "ok"}}}}}
        }}),
    );
    paths.insert(
        "/api/v1/openapi.json".into(),
        json!({"get": {
            "operationId": "openapi",
            "summary": "This document",
            "security": [],
            "responses": {"200": {"description": "OpenAPI 3.1 document", "content": {"application/json": {"schema": {"type": "object"}}}}}
        }}),
    );
    paths.insert(
        "/api/v1/me".into(),
        json!({"get": {
            "operationId": "me",
            "summary": "The calling token's name and role",
            "responses": with_errors(json!({"200": json_response("The caller", "Me")}), &["401"])
        }}),
    );
    paths.insert(
        "/api/v1/sessions".into(),
        json!({"get": {
            "operationId": "listSessions",
            "summary": "Session parts matching the filters, newest first (PRODUCT.md E1-E4)",
            "parameters": parameters(&["limit", "cursor"], true),
            "responses": with_errors(json!({"200": json_response("A page of session parts", "SessionPage")}), &["400", "401", "403"])
        }}),
    );
    paths.insert(
        "/api/v1/sessions/{id}".into(),
        json!({"get": {
            "operationId": "getSession",
            "summary": "Every part of one session, counts restricted by the filters",
            "parameters": parameters(&["id"], true),
            "responses": with_errors(json!({"200": json_response("The session's parts", "SessionParts")}), &["400", "401", "403", "404"])
        }}),
    );
    paths.insert(
        "/api/v1/sessions/{id}/stats".into(),
        json!({"get": {
            "operationId": "getSessionStats",
            "summary": "Statistics of the session's requests that match the filters (PRODUCT.md E5)",
            "parameters": parameters(&["id", "part"], true),
            "responses": with_errors(json!({"200": json_response("Counts and shares; zeros when the filters exclude every request of the session", "SessionStats")}), &["400", "401", "403", "404"])
        }}),
    );
    paths.insert(
        "/api/v1/sessions/{id}/requests".into(),
        json!({"get": {
            "operationId": "listSessionRequests",
            "summary": "The session's requests that match the filters, sorted and paged (PRODUCT.md E6)",
            "parameters": parameters(&["id", "part", "sort", "limit", "request_cursor"], true),
            "responses": with_errors(json!({"200": json_response("A page of requests", "RequestPage")}), &["400", "401", "403"])
        }}),
    );
    paths.insert(
        "/api/v1/sessions/{id}/export".into(),
        json!({"get": {
            "operationId": "exportSession",
            "summary": "The session's requests that match the filters as a CSV or NDJSON attachment `session-<id>.<format>`",
            "parameters": parameters(&["id", "format", "part"], true),
            "responses": with_errors(json!({"200": request_export_response()}), &["400", "401", "403"])
        }}),
    );
    paths.insert(
        "/api/v1/requests/{id}".into(),
        json!({"get": {
            "operationId": "getRequest",
            "summary": "One request with everything stored about it (PRODUCT.md E8)",
            "parameters": [{"name": "id", "in": "path", "required": true, "description": "exchange id", "schema": {"type": "string"}}],
            "responses": with_errors(json!({"200": json_response("The request", "RequestDetails")}), &["400", "401", "403", "404"])
        }}),
    );
    paths.insert(
        "/api/v1/requests/{id}/content".into(),
        json!({"get": {
            "operationId": "getRequestContent",
            "summary": "The full content of a request with attacks, secrets masked or hashed as stored (PRODUCT.md E8); 404 for a request without attacks",
            "parameters": [{"name": "id", "in": "path", "required": true, "description": "exchange id", "schema": {"type": "string"}}],
            "responses": with_errors(json!({"200": {
                "description": "The request as one exchange in the native format (docs/exchange-format.md), as stored at ingest",
                "content": {"application/json": {"schema": {"type": "object", "additionalProperties": true}}}
            }}), &["400", "401", "403", "404"])
        }}),
    );
    paths.insert(
        "/api/v1/export/requests".into(),
        json!({"get": {
            "operationId": "exportRequests",
            "summary": "Every request matching the filters, in time order, streamed as `requests.<format>`",
            "parameters": parameters(&["format"], true),
            "responses": with_errors(json!({"200": request_export_response()}), &["400", "401", "403"])
        }}),
    );
    paths.insert(
        "/api/v1/export/sessions".into(),
        json!({"get": {
            "operationId": "exportSessions",
            "summary": "Every session part matching the filters, newest first, streamed as `sessions.<format>`",
            "parameters": parameters(&["format"], true),
            "responses": with_errors(json!({"200": {
                "description": format!("CSV with the columns {}, or NDJSON with one SessionSummary per line", SESSION_CSV_COLUMNS.join(",")),
                "headers": {"Content-Disposition": {"schema": {"type": "string"}, "description": "attachment; filename=\"sessions.csv\""}},
                "content": {
                    "text/csv": {"schema": {"type": "string"}},
                    "application/x-ndjson": {"schema": {"$ref": "#/components/schemas/SessionSummary"}}
                }
            }}), &["400", "401", "403"])
        }}),
    );
    paths.insert("/api/v1/audit".into(), crate::audit::openapi_path());

    let rule_id = json!({"name": "id", "in": "path", "required": true, "description": "rule id (e.g. `fp-3`), or `#INDEX` for a rule without one", "schema": {"type": "string"}});
    let request_id = json!({"name": "id", "in": "path", "required": true, "description": "exchange id", "schema": {"type": "string"}});
    paths.insert(
        "/api/v1/requests/{id}/false-positive".into(),
        json!({"post": {
            "operationId": "markFalsePositive",
            "summary": "Marks one finding of a stored request as a false positive: creates the false-positive rule for it (PRODUCT.md A3); role admin or analyst. Applies to traffic ingested from now on; POST /api/v1/rules/reevaluate applies it to stored requests",
            "parameters": [request_id],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/FalsePositiveRequest"}}}},
            "responses": with_errors(json!({
                "201": json_response("The rule was created", "MarkedFalsePositive"),
                "200": json_response("An equal rule existed already; it is answered", "MarkedFalsePositive")
            }), &["400", "401", "403", "404"])
        }}),
    );
    paths.insert(
        "/api/v1/rules".into(),
        json!({"get": {
            "operationId": "listRules",
            "summary": "Every detection rule (false positives, virtual patches, disabled detection, masked parameters) in the order they apply",
            "responses": with_errors(json!({"200": json_response("The rules", "RuleList")}), &["401", "403"])
        }, "post": {
            "operationId": "addRule",
            "summary": "Adds a rule of any kind at the end (PRODUCT.md A4); role admin. A rule without an id gets one. Applies to traffic ingested from now on",
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/DetectionRule"}}}},
            "responses": with_errors(json!({"201": {
                "description": "The rule was added",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AddedRule"}}},
                "links": {"RemoveRule": {"operationId": "removeRule", "parameters": {"id": "$response.body#/rule/id"}, "description": "the rule just added, by the id it was given"}}
            }}), &["400", "401", "403", "409"])
        }}),
    );
    paths.insert(
        "/api/v1/rules/reevaluate".into(),
        json!({"post": {
            "operationId": "reevaluateRules",
            "summary": "Applies the current false-positive and disable rules to stored requests (all, or from `from` on) and fixes the sessions' attack counts; role admin or analyst. It commits piece by piece and answers at the end; an unfinished re-evaluation (see `GET /api/v1/rules`) is continued, or started over to cover both ranges. Virtual patches are not applied: stored requests keep no raw values",
            "requestBody": {"required": false, "content": {"application/json": {"schema": {
                "type": "object", "additionalProperties": false,
                "properties": {"from": {"anyOf": [{"type": "null"}, time_schema()], "description": "RFC 3339 time or relative (`-7d`, `today`); null or absent: every stored request"}}
            }}}},
            "responses": with_errors(json!({"200": json_response("What changed", "Reevaluation")}), &["400", "401", "403"])
        }}),
    );
    paths.insert(
        "/api/v1/rules/{id}".into(),
        json!({"delete": {
            "operationId": "removeRule",
            "summary": "Removes a rule (undoes a false positive); role admin, or analyst for false-positive rules. Findings already dropped from stored requests do not come back",
            "parameters": [rule_id],
            "responses": with_errors(json!({"200": json_response("The removed rule", "RemovedRule")}), &["401", "403", "404"])
        }}),
    );

    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "sessionscope REST API",
            "version": "1",
            "description": "HTTP API traffic grouped into user sessions. Every route except /healthz and this document needs `Authorization: Bearer <token>`; sessions and requests need the role admin, analyst or read_only. Filter parameters may be repeated and take comma-separated alternatives; unknown parameters, and parameters without a value (`user=`), are refused with 400. Errors are {\"code\", \"message\"}."
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": Value::Object(paths),
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "API token from `sessionscope token create --role ROLE`"}},
            "parameters": parameter_components(),
            "responses": {
                "400": error_response("A parameter is unknown or has an invalid value; the message names it"),
                "401": error_response("The bearer token is missing or unknown"),
                "403": error_response("The token's role may not use this route"),
                "404": error_response("No such session, request or route"),
                "409": error_response("Another rule has this id"),
                "500": error_response("The server failed; the message says nothing internal")
            },
            "schemas": schemas()
        }
    })
}

fn json_response(description: &str, schema: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}})
}

fn error_response(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

fn request_export_response() -> Value {
    json!({
        "description": format!("CSV with the columns {} (lists joined with `;`), or NDJSON with one RequestRow per line (request export v1)", REQUEST_CSV_COLUMNS.join(",")),
        "headers": {"Content-Disposition": {"schema": {"type": "string"}, "description": "attachment; filename=\"<name>.<format>\""}},
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/x-ndjson": {"schema": {"$ref": "#/components/schemas/RequestRow"}}
        }
    })
}

/// Adds references to the shared error responses, 500 always included.
fn with_errors(mut responses: Value, codes: &[&str]) -> Value {
    if let Some(map) = responses.as_object_mut() {
        for code in codes.iter().chain(std::iter::once(&"500")) {
            map.insert(
                code.to_string(),
                json!({"$ref": format!("#/components/responses/{code}")}),
            );
        }
    }
    responses
}

/// References to route parameters, then (when `with_filters`) to every filter parameter.
fn parameters(route_parameters: &[&str], with_filters: bool) -> Value {
    let mut list: Vec<Value> = route_parameters
        .iter()
        .map(|name| json!({"$ref": format!("#/components/parameters/{name}")}))
        .collect();
    if with_filters {
        for (name, _) in FILTER_PARAMETERS {
            list.push(json!({"$ref": format!("#/components/parameters/{name}")}));
        }
    }
    Value::Array(list)
}

/// A comma-separated list of alternatives, each `one` with spaces around it or empty, as
/// `filters::alternatives` reads it.
fn list_pattern(one: &str) -> String {
    format!("^ *(?:{one})? *(?:, *(?:{one})? *)*$")
}

/// Alternatives of at most `limit` characters each, spaces included.
fn bounded_list_pattern(limit: usize) -> String {
    format!("^[^,]{{0,{limit}}}(?:,[^,]{{0,{limit}}})*$")
}

const IPV4: &str = r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])";

/// An IPv6 address in every text form of RFC 4291 (RFC 3986's grammar), embedded IPv4 included.
fn ipv6() -> String {
    let h16 = "[0-9A-Fa-f]{1,4}";
    let ls32 = format!("(?:{h16}:{h16}|{IPV4})");
    let forms = [
        format!("(?:{h16}:){{6}}{ls32}"),
        format!("::(?:{h16}:){{5}}{ls32}"),
        format!("(?:{h16})?::(?:{h16}:){{4}}{ls32}"),
        format!("(?:(?:{h16}:){{0,1}}{h16})?::(?:{h16}:){{3}}{ls32}"),
        format!("(?:(?:{h16}:){{0,2}}{h16})?::(?:{h16}:){{2}}{ls32}"),
        format!("(?:(?:{h16}:){{0,3}}{h16})?::{h16}:{ls32}"),
        format!("(?:(?:{h16}:){{0,4}}{h16})?::{ls32}"),
        format!("(?:(?:{h16}:){{0,5}}{h16})?::{h16}"),
        format!("(?:(?:{h16}:){{0,6}}{h16})?::"),
    ];
    format!("(?:{})", forms.join("|"))
}

/// The schema of one value of a filter parameter: what `filters::parse_filter` accepts, exactly.
/// The API refuses empty values (`QueryPairs`).
fn filter_value_schema(name: &str) -> Value {
    let flows: Vec<&str> = Flow::ALL.iter().map(|flow| flow.id()).collect();
    let pattern = match name {
        "flow" => list_pattern(&flows.join("|")),
        "attack_type" => list_pattern("[a-z0-9_]{1,64}"),
        "method" => list_pattern("[A-Za-z0-9!#$%&'*+.^_`|~-]{1,32}"),
        "status" => list_pattern("[1-5][0-9]{2}|[1-5][xX]{2}"),
        "session_id" => list_pattern("[0-9a-fA-F]{32}"),
        "client_ip" => list_pattern(&format!(
            "{IPV4}(?:/(?:[12]?[0-9]|3[0-2]))?|{}(?:/(?:1[01][0-9]|12[0-8]|[1-9]?[0-9]))?",
            ipv6()
        )),
        "request_id" => bounded_list_pattern(MAX_REQUEST_ID_CHARS),
        "endpoint" => bounded_list_pattern(MAX_ENDPOINT_CHARS),
        "from" | "to" => return time_schema(),
        "window" => return json!({"type": "string", "enum": WINDOW_PRESETS}),
        // app, host, user, role: any text.
        _ => return json!({"type": "string", "minLength": 1}),
    };
    json!({"type": "string", "minLength": 1, "pattern": pattern})
}

/// A time as `parse_time_spec` reads it: RFC 3339 or relative.
fn time_schema() -> Value {
    json!({"anyOf": [
        {"type": "string", "format": "date-time"},
        {"type": "string", "pattern": RELATIVE_TIME_PATTERN}
    ]})
}

fn parameter_components() -> Value {
    let mut components = Map::new();
    for (name, description) in FILTER_PARAMETERS {
        let single = matches!(*name, "from" | "to" | "window");
        // A repeated list parameter means the same as one value with the alternatives joined by
        // commas, so one string describes it exactly (an array would also describe a one-item
        // list, which is sent exactly like a string).
        let description = if single {
            description.to_string()
        } else {
            format!("{description}; comma-separated alternatives (spaces around them are ignored); may be repeated, which adds alternatives")
        };
        let parameter = json!({"name": name, "in": "query", "required": false, "description": description, "schema": filter_value_schema(name)});
        components.insert(name.to_string(), parameter);
    }
    components.insert("id".into(), json!({"name": "id", "in": "path", "required": true, "description": "session id, 32 hex characters", "schema": {"type": "string", "pattern": "^[0-9a-fA-F]{32}$"}}));
    components.insert("limit".into(), json!({"name": "limit", "in": "query", "required": false, "description": "page size", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_LIMIT, "default": DEFAULT_PAGE_LIMIT}}));
    components.insert("cursor".into(), json!({"name": "cursor", "in": "query", "required": false, "description": "`next_cursor` of the previous page of session parts (`p<time>.<part>`)", "schema": {"type": "string", "pattern": CursorKind::Sessions.pattern()}}));
    components.insert("request_cursor".into(), json!({"name": "cursor", "in": "query", "required": false, "description": "`next_cursor` of the previous page of requests (`o<offset>`)", "schema": {"type": "string", "pattern": CursorKind::Requests.pattern()}}));
    components.insert("part".into(), json!({"name": "part", "in": "query", "required": false, "description": "session part (UTC day, `YYYY-MM-DD`); all parts when absent", "schema": {"type": "string", "format": "date"}}));
    components.insert("sort".into(), json!({"name": "sort", "in": "query", "required": false, "description": "order of the requests; `-` for descending", "schema": {"type": "string", "enum": ["time", "-time", "duration", "-duration", "size", "-size"], "default": "time"}}));
    components.insert("format".into(), json!({"name": "format", "in": "query", "required": false, "description": "export format", "schema": {"type": "string", "enum": ["ndjson", "csv"], "default": "ndjson"}}));
    Value::Object(components)
}

fn schemas() -> Value {
    let strings = json!({"type": "array", "items": {"type": "string"}});
    let counts = json!({"type": "array", "items": {"$ref": "#/components/schemas/Count"}});
    let time = json!({"type": "string", "format": "date-time"});
    let mut all = json!({
        "Error": {
            "type": "object", "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "enum": ["bad_request", "unauthorized", "forbidden", "not_found", "method_not_allowed", "conflict", "internal"]},
                "message": {"type": "string"}
            }
        },
        "Me": {
            "type": "object", "required": ["name", "role", "can_read_sessions"],
            "properties": {
                "name": {"type": "string"},
                "role": {"type": "string", "enum": ["admin", "analyst", "read_only", "api_developer", "ingest"]},
                "can_read_sessions": {"type": "boolean"}
            }
        },
        "Count": {
            "type": "object", "required": ["value", "count", "share"],
            "properties": {"value": {"type": "string"}, "count": {"type": "integer"}, "share": {"type": "number", "minimum": 0, "maximum": 1}}
        },
        "SessionSummary": {
            "type": "object",
            "description": "One session part (UTC day), counted over the requests matching the filters",
            "required": ["session_id", "part", "part_index", "part_count", "start", "end", "requests", "attacks", "status", "users", "roles", "session_keys", "client_ips", "hosts", "apps", "flows", "endpoints", "endpoints_total"],
            "properties": {
                "session_id": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
                "part": {"type": "string", "format": "date"},
                "part_index": {"type": "integer", "minimum": 1},
                "part_count": {"type": "integer", "minimum": 1},
                "start": time, "end": time,
                "requests": {"type": "integer"}, "attacks": {"type": "integer"},
                "status": {"type": "string"},
                "users": strings, "roles": strings, "session_keys": strings,
                "client_ips": counts, "hosts": counts, "apps": counts, "flows": counts,
                "endpoints": {"type": "array", "items": {"$ref": "#/components/schemas/Count"}, "description": "top endpoints as `METHOD template`, at most 10"},
                "endpoints_total": {"type": "integer"}
            }
        },
        "SessionPage": {
            "type": "object", "required": ["sessions", "total", "total_exact", "flows", "next_cursor"],
            "properties": {
                "sessions": {"type": "array", "items": {"$ref": "#/components/schemas/SessionSummary"}},
                "total": {"type": ["integer", "null"], "description": "matching session parts; null when unknown (a pattern only raw paths can match, over more parts than a page verifies); `flows` is then empty"},
                "total_exact": {"type": "boolean", "description": "false for an estimate from per-part aggregates, or an unknown total"},
                "flows": counts,
                "next_cursor": {"type": ["string", "null"]}
            }
        },
        "SessionParts": {
            "type": "object", "required": ["session_id", "parts"],
            "properties": {
                "session_id": {"type": "string"},
                "parts": {"type": "array", "items": {"$ref": "#/components/schemas/SessionSummary"}}
            }
        },
        "SessionStats": {
            "type": "object",
            "required": ["requests", "attack_types", "users", "roles", "client_ips", "methods", "statuses", "flows", "endpoints"],
            "properties": {
                "requests": {"type": "integer"},
                "attack_types": counts, "users": counts, "roles": counts, "client_ips": counts,
                "methods": counts, "statuses": counts, "flows": counts, "endpoints": counts
            }
        },
        "Attack": {
            "type": "object", "required": ["type", "point", "payload", "rule"],
            "properties": {"type": {"type": "string"}, "point": {"type": "string"}, "payload": {"type": "string"}, "rule": {"type": "string"}}
        },
        "RequestRow": {
            "type": "object",
            "description": "One stored exchange: the request export v1 format",
            "required": ["id", "ts", "session_id", "session_part", "session_key", "client_ip", "app", "host", "method", "path", "endpoint", "status", "duration_ms", "size", "user", "roles", "flows", "attacks", "bots"],
            "properties": {
                "id": {"type": "string"}, "ts": time,
                "session_id": {"type": "string"}, "session_part": {"type": "string", "format": "date"},
                "session_key": {"type": "string"},
                "client_ip": {"type": ["string", "null"]},
                "app": {"type": "string"}, "host": {"type": "string"}, "method": {"type": "string"},
                "path": {"type": "string"}, "endpoint": {"type": "string"},
                "status": {"type": ["integer", "null"]}, "duration_ms": {"type": ["number", "null"]}, "size": {"type": ["integer", "null"]},
                "user": {"type": ["string", "null"]}, "roles": strings, "flows": strings,
                "attacks": {"type": "array", "items": {"$ref": "#/components/schemas/Attack"}},
                "bots": strings
            }
        },
        "RequestPage": {
            "type": "object", "required": ["requests", "total", "next_cursor"],
            "properties": {
                "requests": {"type": "array", "items": {"$ref": "#/components/schemas/RequestRow"}},
                "total": {"type": "integer"},
                "next_cursor": {"type": ["string", "null"]}
            }
        },
        "ContextValue": {
            "type": "object", "required": ["name", "point", "kind", "stored_as", "value"],
            "properties": {
                "name": {"type": "string"}, "point": {"type": "string"},
                "kind": {"type": "string", "enum": ["none", "user", "role"]},
                "stored_as": {"type": "string", "enum": ["clear", "hashed", "masked"]},
                "value": {"type": "string"}
            }
        },
        "RequestDetails": {
            "allOf": [
                {"$ref": "#/components/schemas/RequestRow"},
                {
                    "type": "object", "required": ["query", "user_agent", "context"],
                    "properties": {
                        "query": {"type": "string"},
                        "user_agent": {"type": ["string", "null"]},
                        "context": {"type": "array", "items": {"$ref": "#/components/schemas/ContextValue"}}
                    }
                }
            ]
        }
    });
    if let (Some(all), Value::Object(rules)) = (all.as_object_mut(), rule_schemas()) {
        all.extend(rules);
    }
    if let (Some(all), Value::Object(rules)) = (all.as_object_mut(), detection_rule_schemas()) {
        all.extend(rules);
    }
    all
}

/// A detection rule, one schema per kind: exactly what `AnalysisSettings::validate` accepts of a
/// rule on its own (docs/detection.md). A rule whose id another rule has is refused with 409.
fn detection_rule_schemas() -> Value {
    let space = SPACE_OR_CONTROL_CLASS;
    let word = format!("^[^{space}]+$");
    let attack_types: Vec<&str> = AttackKind::ALL.iter().map(|kind| kind.as_str()).collect();
    let finding_point = json!({"type": "string", "pattern": format!("^(?:request\\.|\\*)[^{space}]*$"), "description": "a finding's point: `request.` or `*` first, globs `*` and `?`, no spaces"});
    let common = |kind: &str, required: &[&str], fields: Value| {
        let mut properties = json!({
            "id": {"type": "string", "pattern": format!("^[^{space}]*$"), "description": "a name without spaces (e.g. `fp-3`); given one when absent or empty"},
            "kind": {"type": "string", "const": kind},
            "scope": {"$ref": "#/components/schemas/RuleScope"},
            "comment": {"type": "string"}
        });
        if let (Some(all), Value::Object(more)) = (properties.as_object_mut(), fields) {
            all.extend(more);
        }
        let mut required_fields = vec!["kind"];
        required_fields.extend_from_slice(required);
        json!({"type": "object", "additionalProperties": false, "required": required_fields, "properties": properties})
    };
    let mut false_positive = common(
        FALSE_POSITIVE,
        &["point"],
        json!({
            "point": finding_point,
            "attack_type": {"type": "string", "enum": attack_types},
            "payload": {"type": "string", "description": "payload excerpt as stored; needs `attack_type`"}
        }),
    );
    false_positive["dependentRequired"] = json!({"payload": ["attack_type"]});
    let virtual_patch = common(
        VIRTUAL_PATCH,
        &["point", "attack_type", "pattern"],
        json!({
            "point": {"type": "string", "pattern": request_point_pattern(), "description": "a request point of the point syntax (POINTS.md)"},
            "attack_type": {"type": "string", "enum": attack_types},
            "pattern": {"type": "string", "minLength": 1, "format": "regex", "description": "regular expression (Rust `regex` syntax: no look-around or back-references)"}
        }),
    );
    let disable_detection = common(DISABLE_DETECTION, &[], json!({"point": finding_point}));
    let mask_parameter = common(MASK_PARAMETER, &["point"], json!({"point": finding_point}));
    json!({
        "DetectionRule": {
            "description": "A detection rule (docs/detection.md); the fields depend on `kind`",
            "oneOf": [
                {"$ref": "#/components/schemas/FalsePositiveRule"},
                {"$ref": "#/components/schemas/VirtualPatchRule"},
                {"$ref": "#/components/schemas/DisableDetectionRule"},
                {"$ref": "#/components/schemas/MaskParameterRule"}
            ],
            "discriminator": {"propertyName": "kind", "mapping": {
                FALSE_POSITIVE: "#/components/schemas/FalsePositiveRule",
                VIRTUAL_PATCH: "#/components/schemas/VirtualPatchRule",
                DISABLE_DETECTION: "#/components/schemas/DisableDetectionRule",
                MASK_PARAMETER: "#/components/schemas/MaskParameterRule"
            }}
        },
        "FalsePositiveRule": false_positive,
        "VirtualPatchRule": virtual_patch,
        "DisableDetectionRule": disable_detection,
        "MaskParameterRule": mask_parameter,
        "RuleScope": {
            "type": "object", "additionalProperties": false,
            "description": "absent or empty: everywhere; `host` (a glob): that host; `host` and `endpoint` (a template): that endpoint of the host",
            "properties": {
                "host": {"type": "string", "pattern": word},
                "endpoint": {"type": "string", "pattern": "^/"}
            },
            "dependentRequired": {"endpoint": ["host"]}
        }
    })
}

/// The schemas of the detection-rule routes (kept apart: one `json!` of everything is too deep).
fn rule_schemas() -> Value {
    json!({
        "RuleList": {
            "type": "object", "required": ["rules", "reevaluation"],
            "properties": {
                "rules": {"type": "array", "items": {"$ref": "#/components/schemas/DetectionRule"}},
                "reevaluation": {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/ReevaluationStatus"}], "description": "the unfinished re-evaluation of stored requests, null when there is none"}
            }
        },
        "ReevaluationStatus": {
            "type": "object", "required": ["state", "change_id", "from", "started", "requests_total", "requests_done", "message"],
            "properties": {
                "state": {"type": "string", "enum": ["running", "unfinished"], "description": "running in this server, or stopped before its end (continued by the next re-evaluation or server start)"},
                "change_id": {"type": "integer", "description": "the configuration change whose rules it applies"},
                "from": {"type": ["string", "null"], "format": "date-time"},
                "started": {"type": "string", "format": "date-time"},
                "requests_total": {"type": "integer"},
                "requests_done": {"type": "integer"},
                "message": {"type": "string"}
            }
        },
        "FalsePositiveRequest": {
            "type": "object", "required": ["type", "point"], "additionalProperties": false,
            "properties": {
                "type": {"type": "string", "description": "the finding's attack type"},
                "point": {"type": "string", "description": "the finding's point"},
                "breadth": {"type": "string", "enum": ["payload", "type", "point"], "default": "payload", "description": "this payload of this type / this type / every type, at this point"},
                "scope": {"type": "string", "enum": ["endpoint", "host", "everywhere"], "default": "endpoint", "description": "the request's endpoint on its host / its host / everywhere"},
                "comment": {"type": "string"}
            }
        },
        "MarkedFalsePositive": {
            "type": "object", "required": ["rule", "created", "change_id", "message"],
            "properties": {
                "rule": {"$ref": "#/components/schemas/DetectionRule"},
                "created": {"type": "boolean"},
                "change_id": {"type": ["integer", "null"], "description": "the configuration change that added the rule"},
                "message": {"type": "string"}
            }
        },
        "AddedRule": {
            "type": "object", "required": ["rule", "change_id", "message"],
            "properties": {
                "rule": {"$ref": "#/components/schemas/DetectionRule"},
                "change_id": {"type": "integer"},
                "message": {"type": "string"}
            }
        },
        "RemovedRule": {
            "type": "object", "required": ["removed", "change_id", "message"],
            "properties": {
                "removed": {"$ref": "#/components/schemas/DetectionRule"},
                "change_id": {"type": "integer"},
                "message": {"type": "string"}
            }
        },
        "Reevaluation": {
            "type": "object",
            "required": ["complete", "continued", "exchanges_checked", "exchanges_changed", "exchanges_cleared", "attacks_removed", "parts_changed", "virtual_patches_not_applied", "message"],
            "properties": {
                "complete": {"type": "boolean", "description": "false when another re-evaluation under newer settings took over the rest"},
                "continued": {"type": "boolean", "description": "an unfinished re-evaluation was continued; the counts cover it"},
                "exchanges_checked": {"type": "integer", "description": "stored requests with attacks looked at"},
                "exchanges_changed": {"type": "integer", "description": "requests that lost an attack"},
                "exchanges_cleared": {"type": "integer", "description": "requests left without attacks"},
                "attacks_removed": {"type": "integer"},
                "parts_changed": {"type": "integer", "description": "session parts whose counts were rebuilt"},
                "virtual_patches_not_applied": {"type": "integer"},
                "message": {"type": "string"}
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filters::parse_filter;
    use crate::routed_paths;

    /// The pattern the document gives a filter parameter accepts exactly the values the parser
    /// does, on look-alikes of every part of each grammar.
    #[test]
    fn filter_patterns_accept_what_the_parser_accepts() {
        let long = |length: usize| "e".repeat(length);
        let cases: &[(&str, &[&str])] = &[
            (
                "flow",
                &[
                    "admin",
                    "admin,billing",
                    " admin , billing ",
                    "admin,,",
                    ",",
                    "Admin",
                    "admin\n",
                    "admin\t",
                    "shopping",
                    "admin billing",
                ],
            ),
            (
                "attack_type",
                &[
                    "sqli",
                    "sqli,xss",
                    "scraping_1",
                    "SQLi",
                    "sql-i",
                    "sqli\n",
                    " xss",
                ],
            ),
            (
                "method",
                &[
                    "GET",
                    "get,post",
                    "M-SEARCH",
                    "GE T",
                    "GET\n",
                    "G\u{e9}T",
                    &long(32),
                    &long(33),
                ],
            ),
            (
                "status",
                &[
                    "404",
                    "5xx",
                    "5XX",
                    "100",
                    "599",
                    "600",
                    "099",
                    "0404",
                    "6xx",
                    "4x",
                    "404,5xx",
                    " 404",
                    "\t404",
                    "40\u{0664}",
                ],
            ),
            (
                "session_id",
                &[
                    "0123456789abcdef0123456789ABCDEF",
                    "0123456789abcdef0123456789abcde",
                    "0123456789abcdef0123456789abcdeg",
                ],
            ),
            (
                "client_ip",
                &[
                    "203.0.113.7",
                    "203.0.113.0/24",
                    "10.0.0.0/0",
                    "10.0.0.0/32",
                    "10.0.0.0/33",
                    "10.0.0.0/024",
                    "01.2.3.4",
                    "256.1.1.1",
                    "1.2.3",
                    "::1",
                    "2001:db8::/32",
                    "2001:db8::5/128",
                    "2001:db8::/129",
                    "::ffff:1.2.3.4",
                    "1::2:3:4:5:6:7",
                    "1:2:3:4:5:6:7:8",
                    "1:2:3:4:5:6:7:8:9",
                    "fe80::1%eth0",
                    "::",
                    "1.2.3.4, ::1",
                    ":::",
                ],
            ),
            (
                "request_id",
                &[
                    "r-1",
                    &long(128),
                    &long(129),
                    &format!("a,{}", long(128)),
                    &format!(" {}", long(128)),
                ],
            ),
            ("endpoint", &["/v1/users/*", &long(1024), &long(1025)]),
        ];
        let document = openapi_document();
        for (name, values) in cases {
            let pattern = document["components"]["parameters"][name]["schema"]["pattern"]
                .as_str()
                .unwrap_or_else(|| panic!("`{name}` has no pattern"));
            let pattern = regex::Regex::new(pattern).unwrap();
            for value in *values {
                let parsed = parse_filter(&[(name.to_string(), value.to_string())], 0).is_ok();
                assert_eq!(
                    pattern.is_match(value),
                    parsed,
                    "`{name}={value:?}`: the pattern says {}, the parser {}",
                    pattern.is_match(value),
                    parsed
                );
            }
        }
        let relative = regex::Regex::new(RELATIVE_TIME_PATTERN).unwrap();
        for value in [
            "-1h",
            "now-15m",
            "-999999w",
            "-1000000w",
            "-1y",
            "now",
            "today",
            "yesterday",
            "- 1h",
            "-1H",
            "now-",
            "-",
        ] {
            let parsed = sessionscope_model::parse_time_spec(value, 0).is_ok();
            assert_eq!(relative.is_match(value), parsed, "`{value}`");
        }
    }

    #[test]
    fn every_routed_path_is_documented_and_nothing_else() {
        let document = openapi_document();
        let documented: Vec<&String> = document["paths"].as_object().unwrap().keys().collect();
        let routed = routed_paths();
        for path in &routed {
            let documented_operations = ["get", "post", "delete"]
                .iter()
                .filter(|method| document["paths"][*path][**method].is_object())
                .count();
            assert!(
                documented_operations > 0,
                "route `{path}` is missing from the openapi document"
            );
        }
        for path in documented {
            assert!(
                routed.contains(&path.as_str()),
                "openapi documents `{path}`, which is not routed"
            );
        }
    }

    #[test]
    fn every_reference_resolves() {
        let document = openapi_document();
        let mut references = Vec::new();
        collect_references(&document, &mut references);
        assert!(references.len() > 20);
        for reference in references {
            let pointer = reference.trim_start_matches('#');
            assert!(
                document.pointer(pointer).is_some(),
                "dangling reference `{reference}`"
            );
        }
    }

    #[test]
    fn path_parameters_are_declared() {
        let document = openapi_document();
        for (path, item) in document["paths"].as_object().unwrap() {
            if !path.contains("{id}") {
                continue;
            }
            for (method, operation) in item.as_object().unwrap() {
                let parameters = operation["parameters"].as_array().unwrap();
                let declares_id = parameters.iter().any(|parameter| {
                    parameter["name"] == "id" || parameter["$ref"] == "#/components/parameters/id"
                });
                assert!(
                    declares_id,
                    "`{method} {path}` does not declare its id parameter"
                );
            }
        }
    }

    fn collect_references(value: &Value, into: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, inner) in map {
                    if key == "$ref" {
                        if let Some(text) = inner.as_str() {
                            into.push(text.to_string());
                        }
                    } else {
                        collect_references(inner, into);
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|item| collect_references(item, into)),
            _ => {}
        }
    }
}
