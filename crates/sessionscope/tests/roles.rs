//! Every route of the published OpenAPI document against every role (PRODUCT.md R1, R2), through
//! the real binary and real HTTP. The table below says who may use each route; a route in the
//! document that the table does not list, or a listed route the document lacks, fails the test,
//! so a new route cannot ship without saying who may call it.

mod common;

use std::collections::BTreeSet;

use common::{path_str, run_ok, Server};
use reqwest::blocking::Client;
use reqwest::Method;
use serde_json::Value;

/// Who may call a route.
#[derive(Clone, Copy, Debug)]
enum Access {
    /// Anyone, without a token.
    Public,
    /// Any valid token, whatever its role.
    AnyRole,
    /// Only the roles listed.
    Roles(&'static [&'static str]),
}

const READERS: Access = Access::Roles(&["admin", "analyst", "read_only"]);
const RULE_EDITORS: Access = Access::Roles(&["admin", "analyst"]);
const ADMIN: Access = Access::Roles(&["admin"]);

/// What R1/R2 allow: admin everything; analyst views and marks false positives; read_only
/// views; api_developer the endpoint inventory only, never sessions or requests; ingest sends
/// traffic only.
const TABLE: &[(&str, &str, Access)] = &[
    ("GET", "/healthz", Access::Public),
    ("GET", "/api/v1/openapi.json", Access::Public),
    ("GET", "/api/v1/me", Access::AnyRole),
    ("GET", "/api/v1/sessions", READERS),
    ("GET", "/api/v1/sessions/{id}", READERS),
    ("GET", "/api/v1/sessions/{id}/stats", READERS),
    ("GET", "/api/v1/sessions/{id}/requests", READERS),
    ("GET", "/api/v1/sessions/{id}/export", READERS),
    ("GET", "/api/v1/requests/{id}", READERS),
    ("GET", "/api/v1/requests/{id}/content", READERS),
    ("GET", "/api/v1/export/requests", READERS),
    ("GET", "/api/v1/export/sessions", READERS),
    ("GET", "/api/v1/audit", ADMIN),
    ("POST", "/api/v1/requests/{id}/false-positive", RULE_EDITORS),
    ("GET", "/api/v1/rules", READERS),
    ("POST", "/api/v1/rules", ADMIN),
    ("POST", "/api/v1/rules/reevaluate", RULE_EDITORS),
    ("DELETE", "/api/v1/rules/{id}", RULE_EDITORS),
];

const ROLES: [&str; 5] = ["admin", "analyst", "read_only", "api_developer", "ingest"];

const METHODS: [&str; 7] = ["get", "put", "post", "delete", "patch", "head", "options"];

/// Every `METHOD path` the served document lists.
fn documented_routes(document: &Value) -> BTreeSet<(String, String)> {
    let paths = document["paths"]
        .as_object()
        .expect("the document has paths");
    let mut routes = BTreeSet::new();
    for (path, item) in paths {
        for method in METHODS {
            if item.get(method).is_some() {
                routes.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    routes
}

/// A path of the table with its `{id}` filled by something that exists where one is needed.
fn concrete(path: &str, session: &str, request: &str) -> String {
    if path.starts_with("/api/v1/sessions/") {
        path.replace("{id}", session)
    } else if path.starts_with("/api/v1/requests/") {
        path.replace("{id}", request)
    } else {
        path.replace("{id}", "no-such-rule")
    }
}

fn call(
    client: &Client,
    base: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
) -> (u16, String) {
    let method = Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = client.request(method.clone(), format!("{base}{path}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if method == Method::POST {
        request = request
            .header("content-type", "application/json")
            .body("{}");
    }
    let answer = request.send().expect("the server answers");
    let status = answer.status().as_u16();
    (status, answer.text().unwrap_or_default())
}

#[test]
fn every_documented_route_answers_each_role_as_the_roles_allow() {
    let directory = tempfile::tempdir().unwrap();
    let database = directory.path().join("s.db");
    let db = path_str(&database);
    let traffic = directory.path().join("traffic.ndjson");
    run_ok(&[
        "generate",
        "--requests",
        "300",
        "--seed",
        "3",
        "--start",
        "2026-11-20T12:00:00Z",
        "--out",
        path_str(&traffic),
    ]);
    run_ok(&["--db", db, "ingest", path_str(&traffic)]);
    let tokens: Vec<(&str, String)> = ROLES
        .iter()
        .map(|role| {
            let output = run_ok(&["token", "create", "--role", role, "--db", db]);
            (*role, output.lines().last().unwrap().trim().to_owned())
        })
        .collect();
    let admin = &tokens[0].1;

    let server = Server::start(&["--db", db]);
    let client = Client::new();
    let (status, body) = call(&client, &server.base, "GET", "/api/v1/openapi.json", None);
    assert_eq!(status, 200, "{body}");
    let document: Value = serde_json::from_str(&body).unwrap();

    let documented = documented_routes(&document);
    let listed: BTreeSet<(String, String)> = TABLE
        .iter()
        .map(|(method, path, _)| (method.to_string(), path.to_string()))
        .collect();
    let unlisted: Vec<_> = documented.difference(&listed).collect();
    assert!(
        unlisted.is_empty(),
        "routes in the OpenAPI document that the role table does not list: {unlisted:?}"
    );
    let undocumented: Vec<_> = listed.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "routes in the role table that the OpenAPI document lacks: {undocumented:?}"
    );

    // A session and one of its requests, so that allowed calls reach real data.
    let (_, page) = call(
        &client,
        &server.base,
        "GET",
        "/api/v1/sessions?limit=1",
        Some(admin),
    );
    let page: Value = serde_json::from_str(&page).unwrap();
    let session = page["sessions"][0]["session_id"]
        .as_str()
        .expect("the ingested traffic has a session")
        .to_owned();
    let (_, requests) = call(
        &client,
        &server.base,
        "GET",
        &format!("/api/v1/sessions/{session}/requests"),
        Some(admin),
    );
    let requests: Value = serde_json::from_str(&requests).unwrap();
    let request = requests["requests"][0]["id"]
        .as_str()
        .expect("the session has a request")
        .to_owned();

    let mut wrong = Vec::new();
    for (method, template, access) in TABLE {
        let path = concrete(template, &session, &request);
        let (status, body) = call(&client, &server.base, method, &path, None);
        let expected_anonymous = if matches!(access, Access::Public) {
            200
        } else {
            401
        };
        if status != expected_anonymous {
            wrong.push(format!(
                "{method} {path} without a token: {status}, expected {expected_anonymous}: {body}"
            ));
        }
        for (role, token) in &tokens {
            let allowed = match access {
                Access::Public | Access::AnyRole => true,
                Access::Roles(roles) => roles.contains(role),
            };
            let (status, body) = call(&client, &server.base, method, &path, Some(token));
            let fine = if allowed {
                status != 401 && status != 403 && status < 500
            } else {
                status == 403 && body.contains("\"code\"")
            };
            if !fine {
                let expected = if allowed { "allowed" } else { "403" };
                wrong.push(format!(
                    "{method} {path} as {role}: {status}, expected {expected}: {body}"
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
