//! The REST API over real HTTP: the server on 127.0.0.1:0 over a real SQLite store in a temp
//! directory, seeded with hand-made analysed exchanges, queried with reqwest.
//!
//! The seed (times UTC, "now" pinned at 2026-11-22T12:00:00Z):
//! - `ann`   session A: 3 requests late on 11-21 and 3 on 11-22 (a two-part session), 203.0.113.7
//! - `bob`   session B: 3 requests on 11-22 10:00–11:50, 203.0.113.20 (same /24 as ann), admin host,
//!   one sqli attack, one 500, one DELETE
//! - no user session C: 2 requests on 11-22 09:30 and 11:55, 198.51.100.9, an xss attack (403), a 404
//! - `carl`  session D: 2 requests on 11-21 10:00, IPv6, billing flow, roles user + support
//! - `dora`  session E: 12 requests on 11-22 08:00–08:11 with varied durations and sizes (sorting, paging)

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::Value;
use sessionscope_model::{
    day_of, parse_rfc3339, AnalyzedExchange, Attack, ContextValue, Flow, FlowSet, Micros,
    ParamKind, RequestRow, Role, SessionId, StoredAs,
};
use sessionscope_server::export::{REQUEST_CSV_COLUMNS, SESSION_CSV_COLUMNS};
use sessionscope_server::filters::FILTER_PARAMETERS;
use sessionscope_server::{routed_paths, serve, serve_router, AppState};
use sessionscope_store::{token_hash, SqliteStore, Store};
use tokio::sync::oneshot;

const NOW: &str = "2026-11-22T12:00:00Z";
const ADMIN_TOKEN: &str = "sst_admin_token_for_tests_000000000000000000";
const READ_ONLY_TOKEN: &str = "sst_read_only_token_for_tests_000000000000000";
const DEVELOPER_TOKEN: &str = "sst_developer_token_for_tests_000000000000000";
const INGEST_TOKEN: &str = "sst_ingest_token_for_tests_000000000000000000";

fn session(name: char) -> SessionId {
    SessionId([name as u8; 16])
}

fn session_name(id: &str) -> char {
    for name in ['A', 'B', 'C', 'D', 'E'] {
        if session(name).to_hex() == id {
            return name;
        }
    }
    panic!("unexpected session id {id}");
}

fn time(text: &str) -> Micros {
    parse_rfc3339(text).unwrap()
}

struct Seed {
    id: &'static str,
    ts: &'static str,
    session: char,
    method: &'static str,
    path: &'static str,
    endpoint: &'static str,
    status: Option<u16>,
    duration_ms: f64,
    size: u64,
    attack: Option<&'static str>,
}

fn analyzed(seed: &Seed) -> AnalyzedExchange {
    let ts = time(seed.ts);
    let (user, roles, ip, host, app): (Option<&str>, Vec<&str>, &str, &str, &str) =
        match seed.session {
            'A' => (
                Some("ann"),
                vec!["user"],
                "203.0.113.7",
                "api.shop.example",
                "shop",
            ),
            'B' => (
                Some("bob"),
                vec!["admin"],
                "203.0.113.20",
                "admin.shop.example",
                "backoffice",
            ),
            'C' => (None, vec![], "198.51.100.9", "api.shop.example", "shop"),
            'D' => (
                Some("carl"),
                vec!["support", "user"],
                "2001:db8::5",
                "api.shop.example",
                "shop",
            ),
            _ => (
                Some("dora"),
                vec!["user"],
                "192.0.2.50",
                "api.shop.example",
                "shop",
            ),
        };
    let mut flows = FlowSet::default();
    if seed.endpoint.contains("login") {
        flows.insert(Flow::Authentication);
    }
    if seed.endpoint.contains("billing") {
        flows.insert(Flow::Billing);
    }
    if seed.endpoint.starts_with("/admin") {
        flows.insert(Flow::Admin);
    }
    let attacks = match seed.attack {
        Some(kind) => vec![Attack {
            kind: kind.to_string(),
            point: String::from("request.query.q"),
            payload: String::from("' or 1=1 --"),
            rule: format!("{kind}-rule-1"),
        }],
        None => vec![],
    };
    AnalyzedExchange {
        id: seed.id.into(),
        ts,
        session_id: session(seed.session),
        day: day_of(ts),
        session_key: "builtin:cookie.PHPSESSID".into(),
        client_ip: Some(ip.parse::<IpAddr>().unwrap()),
        app: app.into(),
        host: host.into(),
        method: seed.method.into(),
        path: seed.path.into(),
        query: if seed.attack.is_some() {
            "q=%27+or+1%3D1+--".into()
        } else {
            Default::default()
        },
        endpoint: seed.endpoint.into(),
        flows,
        status: seed.status,
        duration_ms: Some(seed.duration_ms),
        size: Some(seed.size),
        user_agent: Some("Mozilla/5.0 (test)".into()),
        user: user.map(Into::into),
        roles: roles.into_iter().map(Into::into).collect(),
        context: vec![ContextValue {
            name: "Session cookie".into(),
            point: "request.cookie.PHPSESSID".into(),
            kind: ParamKind::None,
            stored_as: StoredAs::Hashed,
            value: "5f2b0c".into(),
        }],
        attacks,
    }
}

fn seeds() -> Vec<Seed> {
    let mut seeds = vec![
        Seed {
            id: "a1",
            ts: "2026-11-21T23:50:00Z",
            session: 'A',
            method: "POST",
            path: "/v1/login",
            endpoint: "/v1/login",
            status: Some(200),
            duration_ms: 40.0,
            size: 120,
            attack: None,
        },
        Seed {
            id: "a2",
            ts: "2026-11-21T23:55:00Z",
            session: 'A',
            method: "GET",
            path: "/v1/users/7",
            endpoint: "/v1/users/{int}",
            status: Some(200),
            duration_ms: 12.5,
            size: 300,
            attack: None,
        },
        Seed {
            id: "a3",
            ts: "2026-11-21T23:58:00Z",
            session: 'A',
            method: "GET",
            path: "/v1/orders",
            endpoint: "/v1/orders",
            status: Some(200),
            duration_ms: 30.0,
            size: 900,
            attack: None,
        },
        Seed {
            id: "a4",
            ts: "2026-11-22T00:05:00Z",
            session: 'A',
            method: "GET",
            path: "/v1/orders",
            endpoint: "/v1/orders",
            status: Some(200),
            duration_ms: 31.0,
            size: 910,
            attack: None,
        },
        Seed {
            id: "a5",
            ts: "2026-11-22T00:10:00Z",
            session: 'A',
            method: "GET",
            path: "/v1/users/7",
            endpoint: "/v1/users/{int}",
            status: Some(200),
            duration_ms: 11.0,
            size: 310,
            attack: None,
        },
        Seed {
            id: "a6",
            ts: "2026-11-22T09:00:00Z",
            session: 'A',
            method: "POST",
            path: "/v1/orders",
            endpoint: "/v1/orders",
            status: Some(201),
            duration_ms: 80.0,
            size: 50,
            attack: None,
        },
        Seed {
            id: "b1",
            ts: "2026-11-22T10:00:00Z",
            session: 'B',
            method: "GET",
            path: "/admin/stats",
            endpoint: "/admin/stats",
            status: Some(500),
            duration_ms: 900.0,
            size: 30,
            attack: None,
        },
        Seed {
            id: "b2",
            ts: "2026-11-22T11:40:00Z",
            session: 'B',
            method: "DELETE",
            path: "/v1/users/9",
            endpoint: "/v1/users/{int}",
            status: Some(204),
            duration_ms: 20.0,
            size: 0,
            attack: None,
        },
        Seed {
            id: "b3",
            ts: "2026-11-22T11:50:00Z",
            session: 'B',
            method: "GET",
            path: "/admin/search",
            endpoint: "/admin/search",
            status: Some(200),
            duration_ms: 25.0,
            size: 700,
            attack: Some("sqli"),
        },
        Seed {
            id: "c1",
            ts: "2026-11-22T09:30:00Z",
            session: 'C',
            method: "GET",
            path: "/v1/users/8",
            endpoint: "/v1/users/{int}",
            status: Some(404),
            duration_ms: 5.0,
            size: 20,
            attack: None,
        },
        Seed {
            id: "c2",
            ts: "2026-11-22T11:55:00Z",
            session: 'C',
            method: "GET",
            path: "/v2/search",
            endpoint: "/v2/search",
            status: Some(403),
            duration_ms: 3.0,
            size: 10,
            attack: Some("xss"),
        },
        Seed {
            id: "d1",
            ts: "2026-11-21T10:00:00Z",
            session: 'D',
            method: "GET",
            path: "/v1/billing/invoices",
            endpoint: "/v1/billing/invoices",
            status: Some(200),
            duration_ms: 60.0,
            size: 4000,
            attack: None,
        },
        Seed {
            id: "d2",
            ts: "2026-11-21T10:01:00Z",
            session: 'D',
            method: "PUT",
            path: "/v1/billing/invoices/3",
            endpoint: "/v1/billing/invoices/{int}",
            status: Some(200),
            duration_ms: 70.0,
            size: 100,
            attack: None,
        },
    ];
    // Session E: durations and sizes in an order different from time, so every sort is visible.
    const E_TIMES: [&str; 12] = [
        "2026-11-22T08:00:00Z",
        "2026-11-22T08:01:00Z",
        "2026-11-22T08:02:00Z",
        "2026-11-22T08:03:00Z",
        "2026-11-22T08:04:00Z",
        "2026-11-22T08:05:00Z",
        "2026-11-22T08:06:00Z",
        "2026-11-22T08:07:00Z",
        "2026-11-22T08:08:00Z",
        "2026-11-22T08:09:00Z",
        "2026-11-22T08:10:00Z",
        "2026-11-22T08:11:00Z",
    ];
    const E_IDS: [&str; 12] = [
        "e01", "e02", "e03", "e04", "e05", "e06", "e07", "e08", "e09", "e10", "e11", "e12",
    ];
    for index in 0..12 {
        seeds.push(Seed {
            id: E_IDS[index],
            ts: E_TIMES[index],
            session: 'E',
            method: "GET",
            path: "/v1/catalog",
            endpoint: "/v1/catalog",
            status: Some(200),
            duration_ms: ((index * 7) % 12) as f64 * 10.0 + 1.5,
            size: ((index * 5) % 12) as u64 * 100 + 3,
            attack: None,
        });
    }
    seeds
}

struct TestServer {
    base: String,
    client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    _directory: tempfile::TempDir,
}

impl TestServer {
    async fn start() -> TestServer {
        let directory = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&directory.path().join("store.db")).unwrap();
        let batch: Vec<AnalyzedExchange> = seeds().iter().map(analyzed).collect();
        let outcome = store.append(&batch).unwrap();
        assert_eq!(outcome.inserted, batch.len() as u64);
        // What ingest keeps for requests with attacks (b3); `a1` too, so the OpenAPI walk that
        // fills every `{id}` with it finds content.
        let contents: Vec<(String, Micros, String)> = batch
            .iter()
            .filter(|exchange| exchange.id == "b3" || exchange.id == "a1")
            .map(|exchange| {
                let line = serde_json::json!({
                    "id": exchange.id,
                    "request": {"method": exchange.method, "url": "https://admin.shop.example/admin/search?q=%27+or+1%3D1+--",
                        "headers": [["cookie", "PHPSESSID=***"]]}
                });
                (exchange.id.to_string(), exchange.ts, line.to_string())
            })
            .collect();
        store.put_attack_contents(&contents).unwrap();
        for (token, name, role) in [
            (ADMIN_TOKEN, "admin-token", Role::Admin),
            (READ_ONLY_TOKEN, "viewer", Role::ReadOnly),
            (DEVELOPER_TOKEN, "developer", Role::ApiDeveloper),
            (INGEST_TOKEN, "capture-node", Role::Ingest),
        ] {
            store.create_token(&token_hash(token), name, role).unwrap();
        }
        let now = time(NOW);
        let state = AppState::new(Arc::new(store)).with_clock(move || now);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (shutdown, shutdown_signal) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, state, async move {
            let _ = shutdown_signal.await;
        }));
        TestServer {
            base: format!("http://{address}"),
            client: reqwest::Client::new(),
            shutdown: Some(shutdown),
            task: Some(task),
            _directory: directory,
        }
    }

    async fn get_with(&self, path_and_query: &str, token: Option<&str>) -> reqwest::Response {
        let mut request = self.client.get(format!("{}{}", self.base, path_and_query));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    /// GET as admin; status and body parsed as JSON.
    async fn json(&self, path_and_query: &str) -> (StatusCode, Value) {
        self.json_as(path_and_query, ADMIN_TOKEN).await
    }

    async fn json_as(&self, path_and_query: &str, token: &str) -> (StatusCode, Value) {
        let response = self.get_with(path_and_query, Some(token)).await;
        let status = response.status();
        let body = response.text().await.unwrap();
        let value = serde_json::from_str(&body)
            .unwrap_or_else(|_| panic!("not json from {path_and_query}: {body}"));
        (status, value)
    }

    /// The sessions a list query returns, as `name@part` with their request counts.
    async fn listed(&self, query: &str) -> BTreeMap<String, u64> {
        let (status, body) = self
            .json(&format!("/api/v1/sessions?limit=500&{query}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{query}: {body}");
        let mut listed = BTreeMap::new();
        for row in body["sessions"].as_array().unwrap() {
            let name = session_name(row["session_id"].as_str().unwrap());
            let key = format!("{name}@{}", row["part"].as_str().unwrap());
            listed.insert(key, row["requests"].as_u64().unwrap());
        }
        listed
    }

    /// The distinct session names a list query returns.
    async fn listed_sessions(&self, query: &str) -> String {
        let names: BTreeSet<char> = self
            .listed(query)
            .await
            .keys()
            .map(|key| key.chars().next().unwrap())
            .collect();
        names.into_iter().collect()
    }

    async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }
}

#[tokio::test]
async fn healthz_needs_no_token() {
    let server = TestServer::start().await;
    let response = server.get_with("/healthz", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "ok");
    server.stop().await;
}

#[tokio::test]
async fn missing_or_unknown_tokens_are_refused_with_401() {
    let server = TestServer::start().await;
    for path in [
        "/api/v1/sessions",
        "/api/v1/me",
        "/api/v1/requests/a1",
        "/api/v1/export/requests",
    ] {
        let response = server.get_with(path, None).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "unauthorized");
        assert!(
            body["message"].as_str().unwrap().contains("authorization"),
            "{body}"
        );

        let response = server.get_with(path, Some("sst_not_a_real_token")).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "unauthorized");
        assert_eq!(body["message"], "unknown api token");
    }
    // A token in another scheme is not a bearer token.
    let response = server
        .client
        .get(format!("{}/api/v1/me", server.base))
        .basic_auth("admin", Some(ADMIN_TOKEN))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    server.stop().await;
}

#[tokio::test]
async fn roles_decide_who_reads_sessions_and_requests() {
    let server = TestServer::start().await;
    let a = session('A').to_hex();
    let session_routes = [
        "/api/v1/sessions".to_string(),
        format!("/api/v1/sessions/{a}"),
        format!("/api/v1/sessions/{a}/stats"),
        format!("/api/v1/sessions/{a}/requests"),
        format!("/api/v1/sessions/{a}/export"),
        "/api/v1/requests/a1".to_string(),
        "/api/v1/export/requests".to_string(),
        "/api/v1/export/sessions".to_string(),
    ];
    for path in &session_routes {
        for token in [DEVELOPER_TOKEN, INGEST_TOKEN] {
            let response = server.get_with(path, Some(token)).await;
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["code"], "forbidden");
        }
        for token in [READ_ONLY_TOKEN, ADMIN_TOKEN] {
            let response = server.get_with(path, Some(token)).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
        }
    }
    let (status, body) = server.json_as("/api/v1/me", DEVELOPER_TOKEN).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["name"], "developer");
    assert_eq!(body["role"], "api_developer");
    assert_eq!(body["can_read_sessions"], false);
    let (_, body) = server.json_as("/api/v1/me", READ_ONLY_TOKEN).await;
    assert_eq!(body["role"], "read_only");
    // The forbidden answer is the same after the token is cached.
    let (status, _) = server.json_as("/api/v1/sessions", DEVELOPER_TOKEN).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    server.stop().await;
}

#[tokio::test]
async fn every_filter_parameter_narrows_the_session_list() {
    let server = TestServer::start().await;
    let b = session('B').to_hex();
    let c = session('C').to_hex();
    // (query, sessions listed)
    let cases: Vec<(String, &str)> = vec![
        (String::new(), "ABCDE"),
        ("app=backoffice".into(), "B"),
        ("app=shop".into(), "ACDE"),
        ("host=ADMIN.shop.example".into(), "B"),
        ("flow=billing".into(), "D"),
        ("flow=authentication,admin".into(), "AB"),
        ("user=ann".into(), "A"),
        ("user=ann&user=carl".into(), "AD"),
        ("user=ann,bob".into(), "AB"),
        ("role=support".into(), "D"),
        ("role=admin".into(), "B"),
        ("client_ip=203.0.113.7".into(), "A"),
        ("client_ip=203.0.113.0/24".into(), "AB"),
        ("client_ip=2001:db8::/32".into(), "D"),
        ("client_ip=198.51.100.9,192.0.2.50".into(), "CE"),
        ("method=delete".into(), "B"),
        ("method=PUT,POST".into(), "AD"),
        ("status=404".into(), "C"),
        ("status=5xx".into(), "B"),
        ("status=4xx".into(), "C"),
        ("status=201,204".into(), "AB"),
        (format!("session_id={b}"), "B"),
        (format!("session_id={b},{c}"), "BC"),
        ("request_id=c2".into(), "C"),
        ("request_id=a1&request_id=d2".into(), "AD"),
        ("endpoint=/v1/catalog".into(), "E"),
        ("attack_type=sqli".into(), "B"),
        ("attack_type=sqli,xss".into(), "BC"),
        ("user=ann&method=DELETE".into(), ""),
        ("app=shop&status=4xx".into(), "C"),
        ("from=2026-11-22T11:45:00Z".into(), "BC"),
        ("to=2026-11-21T12:00:00Z".into(), "D"),
        ("from=-1h".into(), "BC"),
        ("window=yesterday".into(), "AD"),
    ];
    for (query, expected) in cases {
        assert_eq!(
            server.listed_sessions(&query).await,
            expected,
            "query `{query}`"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn a_session_straddling_the_window_shows_only_its_requests_inside() {
    let server = TestServer::start().await;
    // Session A has 3 requests on each day; the window holds 23:55 and 23:58 of 11-21 and 00:05 of 11-22.
    let listed = server
        .listed("from=2026-11-21T23:54:00Z&to=2026-11-22T00:06:00Z")
        .await;
    let expected: BTreeMap<String, u64> = [
        ("A@2026-11-21".to_string(), 2),
        ("A@2026-11-22".to_string(), 1),
    ]
    .into_iter()
    .collect();
    assert_eq!(listed, expected);

    // `today` holds A's 11-22 part only, with its 3 requests; D (11-21 only) is gone.
    let listed = server.listed("window=today").await;
    assert_eq!(listed.get("A@2026-11-22"), Some(&3));
    assert!(!listed.contains_key("A@2026-11-21") && !listed.keys().any(|key| key.starts_with('D')));

    // `15m` before 12:00: B's last request (11:50) and C's (11:55), one each.
    let listed = server.listed("window=15m").await;
    let expected: BTreeMap<String, u64> = [
        ("B@2026-11-22".to_string(), 1),
        ("C@2026-11-22".to_string(), 1),
    ]
    .into_iter()
    .collect();
    assert_eq!(listed, expected);

    // Inside the session, only the requests in the window are shown, counted and summarised.
    let a = session('A').to_hex();
    let window = "from=2026-11-21T23:54:00Z&to=2026-11-22T00:06:00Z";
    let (status, body) = server
        .json(&format!("/api/v1/sessions/{a}/requests?{window}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let ids: Vec<&str> = body["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["a2", "a3", "a4"]);
    assert_eq!(body["total"], 3);
    let (_, stats) = server
        .json(&format!("/api/v1/sessions/{a}/stats?{window}"))
        .await;
    assert_eq!(stats["requests"], 3);
    let (_, parts) = server.json(&format!("/api/v1/sessions/{a}?{window}")).await;
    let counts: Vec<u64> = parts["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|part| part["requests"].as_u64().unwrap())
        .collect();
    assert_eq!(counts, vec![2, 1]);
    assert_eq!(parts["parts"][0]["start"], "2026-11-21T23:55:00.000Z");
    server.stop().await;
}

#[tokio::test]
async fn endpoint_search_takes_wildcards_over_templates_and_raw_paths() {
    let server = TestServer::start().await;
    let cases = [
        ("endpoint=/v1/users/*", "ABC"),
        ("endpoint=/v1/users/{int}", "ABC"),
        ("endpoint=/v1/users/8", "C"),
        ("endpoint=/v?/search", "C"),
        ("endpoint=/admin/*", "B"),
        ("endpoint=*login", "A"),
        ("endpoint=/v1/billing/invoices/?", "D"),
        ("endpoint=*search", "BC"),
        ("endpoint=/nothing/*", ""),
    ];
    for (query, expected) in cases {
        assert_eq!(
            server.listed_sessions(query).await,
            expected,
            "query `{query}`"
        );
    }
    // Inside a session the endpoint filter keeps only the matching requests.
    let b = session('B').to_hex();
    let (_, body) = server
        .json(&format!("/api/v1/sessions/{b}/requests?endpoint=/admin/*"))
        .await;
    let ids: Vec<&str> = body["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["b1", "b3"]);
    server.stop().await;
}

#[tokio::test]
async fn session_list_pages_with_cursors_without_gaps_or_repeats() {
    let server = TestServer::start().await;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut query = String::from("/api/v1/sessions?limit=2");
        if let Some(cursor) = &cursor {
            query.push_str(&format!("&cursor={}", urlencode(cursor)));
        }
        let (status, body) = server.json(&query).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["total"], 6, "five sessions, A in two parts");
        let rows = body["sessions"].as_array().unwrap();
        assert!(rows.len() <= 2);
        for row in rows {
            seen.push(format!(
                "{}@{}",
                session_name(row["session_id"].as_str().unwrap()),
                row["part"].as_str().unwrap()
            ));
        }
        pages += 1;
        assert!(pages <= 10, "paging does not end");
        match body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(
        unique.len(),
        seen.len(),
        "a part was listed twice: {seen:?}"
    );
    let all: BTreeSet<String> = server.listed("").await.into_keys().collect();
    assert_eq!(
        unique.into_iter().cloned().collect::<BTreeSet<String>>(),
        all
    );
    // Newest first, by last matching request: C (11:55), B (11:50), A (09:00), E, A's first part, D.
    assert_eq!(
        seen,
        vec![
            "C@2026-11-22",
            "B@2026-11-22",
            "A@2026-11-22",
            "E@2026-11-22",
            "A@2026-11-21",
            "D@2026-11-21"
        ]
    );
    server.stop().await;
}

#[tokio::test]
async fn session_requests_sort_and_page() {
    let server = TestServer::start().await;
    let e = session('E').to_hex();
    for sort in ["time", "-time", "duration", "-duration", "size", "-size"] {
        let (status, body) = server
            .json(&format!("/api/v1/sessions/{e}/requests?sort={sort}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let rows = body["requests"].as_array().unwrap();
        assert_eq!(rows.len(), 12);
        let keys: Vec<f64> = rows
            .iter()
            .map(|row| match sort.trim_start_matches('-') {
                "time" => time(row["ts"].as_str().unwrap()) as f64,
                "duration" => row["duration_ms"].as_f64().unwrap(),
                _ => row["size"].as_f64().unwrap(),
            })
            .collect();
        let mut expected = keys.clone();
        expected.sort_by(|left, right| left.partial_cmp(right).unwrap());
        if sort.starts_with('-') {
            expected.reverse();
        }
        assert_eq!(keys, expected, "sort={sort}");
    }

    // Pages of 5 under -duration: 5 + 5 + 2, together the whole ordered list.
    let (_, whole) = server
        .json(&format!("/api/v1/sessions/{e}/requests?sort=-duration"))
        .await;
    let whole_ids: Vec<String> = whole["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["id"].as_str().unwrap().to_string())
        .collect();
    let mut paged_ids = Vec::new();
    let mut cursor: Option<String> = None;
    let mut page_sizes = Vec::new();
    loop {
        let mut query = format!("/api/v1/sessions/{e}/requests?sort=-duration&limit=5");
        if let Some(cursor) = &cursor {
            query.push_str(&format!("&cursor={}", urlencode(cursor)));
        }
        let (status, body) = server.json(&query).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["total"], 12);
        let rows = body["requests"].as_array().unwrap();
        page_sizes.push(rows.len());
        paged_ids.extend(
            rows.iter()
                .map(|row| row["id"].as_str().unwrap().to_string()),
        );
        match body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
        assert!(page_sizes.len() < 10, "paging does not end");
    }
    assert_eq!(page_sizes, vec![5, 5, 2]);
    assert_eq!(paged_ids, whole_ids);

    // `part` limits the table to one day.
    let a = session('A').to_hex();
    let (_, body) = server
        .json(&format!("/api/v1/sessions/{a}/requests?part=2026-11-21"))
        .await;
    let ids: Vec<&str> = body["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["a1", "a2", "a3"]);
    server.stop().await;
}

#[tokio::test]
async fn session_details_and_statistics() {
    let server = TestServer::start().await;
    let b = session('B').to_hex();
    let (status, body) = server.json(&format!("/api/v1/sessions/{b}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["session_id"], b.as_str());
    assert_eq!(body["parts"].as_array().unwrap().len(), 1);
    assert_eq!(body["parts"][0]["requests"], 3);
    assert_eq!(body["parts"][0]["attacks"], 1);
    assert_eq!(body["parts"][0]["users"], serde_json::json!(["bob"]));

    let (status, stats) = server.json(&format!("/api/v1/sessions/{b}/stats")).await;
    assert_eq!(status, StatusCode::OK, "{stats}");
    assert_eq!(stats["requests"], 3);
    assert_eq!(count_of(&stats["methods"], "GET"), Some(2));
    assert_eq!(count_of(&stats["methods"], "DELETE"), Some(1));
    assert_eq!(count_of(&stats["statuses"], "500"), Some(1));
    assert_eq!(count_of(&stats["attack_types"], "sqli"), Some(1));
    assert_eq!(count_of(&stats["users"], "bob"), Some(3));
    let share = stats["methods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|count| count["value"] == "GET")
        .unwrap()["share"]
        .as_f64()
        .unwrap();
    assert!((share - 2.0 / 3.0).abs() < 1e-9);

    // In-session filters combine with the session.
    let (_, stats) = server
        .json(&format!("/api/v1/sessions/{b}/stats?method=GET&status=2xx"))
        .await;
    assert_eq!(stats["requests"], 1);

    // A two-part session: all parts, then one part.
    let a = session('A').to_hex();
    let (_, body) = server.json(&format!("/api/v1/sessions/{a}")).await;
    let parts: Vec<(&str, u64, u64)> = body["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|part| {
            (
                part["part"].as_str().unwrap(),
                part["part_index"].as_u64().unwrap(),
                part["part_count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(parts, vec![("2026-11-21", 1, 2), ("2026-11-22", 2, 2)]);
    let (_, stats) = server.json(&format!("/api/v1/sessions/{a}/stats")).await;
    assert_eq!(stats["requests"], 6);
    let (_, stats) = server
        .json(&format!("/api/v1/sessions/{a}/stats?part=2026-11-22"))
        .await;
    assert_eq!(stats["requests"], 3);
    assert_eq!(count_of(&stats["methods"], "POST"), Some(1));

    // A filter that no request of the session meets: 404.
    let (status, body) = server.json(&format!("/api/v1/sessions/{b}?user=ann")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "not_found");
    let (status, _) = server
        .json(&format!("/api/v1/sessions/{}", "0".repeat(32)))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Statistics of an unknown session, or of a part the session does not have: 404, not zeros.
    let unknown = "0".repeat(32);
    let (status, body) = server
        .json(&format!("/api/v1/sessions/{unknown}/stats"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["code"], "not_found");
    assert!(
        body["message"].as_str().unwrap().contains(&unknown),
        "{body}"
    );
    let (status, body) = server
        .json(&format!("/api/v1/sessions/{b}/stats?part=2026-11-01"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("2026-11-01"),
        "{body}"
    );
    // A known session whose requests the filter excludes has statistics of nothing.
    let (status, stats) = server
        .json(&format!("/api/v1/sessions/{b}/stats?user=ann"))
        .await;
    assert_eq!(status, StatusCode::OK, "{stats}");
    assert_eq!(stats["requests"], 0);
    server.stop().await;
}

#[tokio::test]
async fn request_content_is_served_only_for_requests_with_content() {
    let server = TestServer::start().await;
    let response = server
        .get_with("/api/v1/requests/b3/content", Some(READ_ONLY_TOKEN))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["id"], "b3");
    assert_eq!(body["request"]["headers"][0][1], "PHPSESSID=***");

    let (status, body) = server.json("/api/v1/requests/b1/content").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["code"], "not_found");
    assert_eq!(
        body["message"],
        "no stored content for request `b1`: only requests with attacks keep their full content"
    );
    let (status, _) = server.json("/api/v1/requests/b3/content?x=1").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let response = server.get_with("/api/v1/requests/b3/content", None).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    server.stop().await;
}

#[tokio::test]
async fn request_details_show_everything_stored() {
    let server = TestServer::start().await;
    let (status, body) = server.json("/api/v1/requests/b3").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["id"], "b3");
    assert_eq!(body["session_id"], session('B').to_hex().as_str());
    assert_eq!(body["session_part"], "2026-11-22");
    assert_eq!(body["session_key"], "builtin:cookie.PHPSESSID");
    assert_eq!(body["client_ip"], "203.0.113.20");
    assert_eq!(body["host"], "admin.shop.example");
    assert_eq!(body["endpoint"], "/admin/search");
    assert_eq!(body["query"], "q=%27+or+1%3D1+--");
    assert_eq!(body["user_agent"], "Mozilla/5.0 (test)");
    assert_eq!(body["attacks"][0]["type"], "sqli");
    assert_eq!(body["attacks"][0]["rule"], "sqli-rule-1");
    assert_eq!(body["context"][0]["stored_as"], "hashed");
    assert_eq!(body["flows"], serde_json::json!(["admin"]));

    let (status, body) = server.json("/api/v1/requests/no-such-request").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "not_found");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("no-such-request"));
    server.stop().await;
}

#[tokio::test]
async fn csv_exports_have_exactly_the_documented_columns() {
    let server = TestServer::start().await;
    let response = server
        .get_with("/api/v1/export/requests?format=csv", Some(ADMIN_TOKEN))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    assert_eq!(
        response.headers()["content-disposition"],
        "attachment; filename=\"requests.csv\""
    );
    let text = response.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    assert_eq!(header, REQUEST_CSV_COLUMNS);
    assert_eq!(
        header.join(","),
        "id,ts,session_id,session_part,session_key,client_ip,app,host,method,path,endpoint,status,duration_ms,size,user,roles,flows,attack_types,bots"
    );
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), seeds().len());
    let d2 = records.iter().find(|record| &record[0] == "d2").unwrap();
    let cell = |name: &str| {
        d2[REQUEST_CSV_COLUMNS
            .iter()
            .position(|column| *column == name)
            .unwrap()]
        .to_string()
    };
    assert_eq!(cell("ts"), "2026-11-21T10:01:00.000Z");
    assert_eq!(cell("session_part"), "2026-11-21");
    assert_eq!(cell("client_ip"), "2001:db8::5");
    assert_eq!(cell("method"), "PUT");
    assert_eq!(cell("endpoint"), "/v1/billing/invoices/{int}");
    assert_eq!(cell("duration_ms"), "70");
    assert_eq!(cell("roles"), "support;user");
    assert_eq!(cell("flows"), "billing");

    // One session's requests, filtered, as a named attachment.
    let c = session('C').to_hex();
    let response = server
        .get_with(
            &format!("/api/v1/sessions/{c}/export?format=csv&attack_type=xss"),
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-disposition"],
        format!("attachment; filename=\"session-{c}.csv\"").as_str()
    );
    let text = response.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[1].starts_with("c2,2026-11-22T11:55:00.000Z,"),
        "{text}"
    );
    assert!(lines[1].contains(",xss,"), "{text}");

    // Sessions as CSV.
    let response = server
        .get_with(
            "/api/v1/export/sessions?format=csv&user=ann",
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    assert_eq!(header, SESSION_CSV_COLUMNS);
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 2, "{text}");
    for record in &records {
        assert_eq!(&record[0], session('A').to_hex().as_str());
        assert_eq!(&record[3], "2");
        assert_eq!(&record[6], "3");
        assert_eq!(&record[8], "ann");
    }
    server.stop().await;
}

#[tokio::test]
async fn ndjson_exports_are_the_request_export_format() {
    let server = TestServer::start().await;
    let response = server
        .get_with(
            "/api/v1/export/requests?format=ndjson&app=shop",
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/x-ndjson");
    assert_eq!(
        response.headers()["content-disposition"],
        "attachment; filename=\"requests.ndjson\""
    );
    let text = response.text().await.unwrap();
    let required = [
        "id",
        "ts",
        "session_id",
        "session_part",
        "session_key",
        "client_ip",
        "app",
        "host",
        "method",
        "path",
        "endpoint",
        "status",
        "duration_ms",
        "size",
        "user",
        "roles",
        "flows",
        "attacks",
        "bots",
    ];
    let mut previous_ts = i64::MIN;
    let mut count = 0;
    for line in text.lines() {
        let value: Value = serde_json::from_str(line).unwrap();
        for field in required {
            assert!(
                value.get(field).is_some(),
                "field `{field}` missing in {line}"
            );
        }
        let row: RequestRow = serde_json::from_str(line).unwrap();
        assert_eq!(row.app, "shop");
        assert!(row.ts >= previous_ts, "not in time order");
        previous_ts = row.ts;
        count += 1;
    }
    assert_eq!(
        count,
        seeds().iter().filter(|seed| seed.session != 'B').count()
    );

    let a = session('A').to_hex();
    let response = server
        .get_with(
            &format!("/api/v1/sessions/{a}/export?part=2026-11-22"),
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(
        response.headers()["content-disposition"],
        format!("attachment; filename=\"session-{a}.ndjson\"").as_str()
    );
    let text = response.text().await.unwrap();
    let ids: Vec<String> = text
        .lines()
        .map(|line| serde_json::from_str::<RequestRow>(line).unwrap().id)
        .collect();
    assert_eq!(ids, vec!["a4", "a5", "a6"]);

    let response = server
        .get_with(
            "/api/v1/export/sessions?format=ndjson&window=today",
            Some(ADMIN_TOKEN),
        )
        .await;
    let text = response.text().await.unwrap();
    let parts: BTreeSet<String> = text
        .lines()
        .map(|line| {
            let value: Value = serde_json::from_str(line).unwrap();
            format!(
                "{}@{}",
                session_name(value["session_id"].as_str().unwrap()),
                value["part"].as_str().unwrap()
            )
        })
        .collect();
    let expected: BTreeSet<String> = [
        "A@2026-11-22",
        "B@2026-11-22",
        "C@2026-11-22",
        "E@2026-11-22",
    ]
    .into_iter()
    .map(str::to_string)
    .collect();
    assert_eq!(parts, expected);

    // Nothing matches: an empty body, still 200.
    let response = server
        .get_with("/api/v1/export/requests?user=nobody", Some(ADMIN_TOKEN))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "");
    server.stop().await;
}

#[tokio::test]
async fn time_bounds_given_together_all_apply_and_an_empty_window_matches_nothing() {
    let server = TestServer::start().await;
    let (status, body) = server.json("/api/v1/sessions?from=-1h&to=-2h").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["sessions"], serde_json::json!([]));
    assert_eq!(body["total"], 0);
    let (status, all) = server.json("/api/v1/sessions?window=last_week").await;
    assert_eq!(status, StatusCode::OK, "{all}");
    let (status, both) = server
        .json("/api/v1/sessions?window=last_week&from=2000-01-01T00:00:00Z")
        .await;
    assert_eq!(status, StatusCode::OK, "{both}");
    assert_eq!(
        both["total"], all["total"],
        "the later bound of the two applies"
    );
    server.stop().await;
}

#[tokio::test]
async fn bad_parameters_are_answered_with_400_naming_them() {
    let server = TestServer::start().await;
    let a = session('A').to_hex();
    let cases: Vec<(String, &[&str])> = vec![
        (
            "/api/v1/sessions?usr=ann".into(),
            &["unknown parameter `usr`"],
        ),
        ("/api/v1/sessions?limit=0".into(), &["`limit`", "`0`"]),
        ("/api/v1/sessions?limit=501".into(), &["`limit`", "`501`"]),
        (
            "/api/v1/sessions?from=yesterdayish".into(),
            &["`from`", "`yesterdayish`"],
        ),
        ("/api/v1/sessions?window=2h".into(), &["`window`", "`2h`"]),
        (
            "/api/v1/sessions?user=".into(),
            &["parameter `user` has no value"],
        ),
        (
            "/api/v1/sessions?flow=shopping".into(),
            &["`flow`", "`shopping`"],
        ),
        (
            "/api/v1/sessions?client_ip=10.0.0.300".into(),
            &["`client_ip`", "`10.0.0.300`"],
        ),
        ("/api/v1/sessions?status=6xx".into(), &["`status`", "`6xx`"]),
        (
            "/api/v1/sessions?method=GE%20T".into(),
            &["`method`", "`GE T`"],
        ),
        (
            "/api/v1/sessions?session_id=xyz".into(),
            &["`session_id`", "`xyz`"],
        ),
        (
            "/api/v1/sessions?attack_type=SQL%20Injection".into(),
            &["`attack_type`", "`SQL Injection`"],
        ),
        (
            "/api/v1/sessions?cursor=garbage".into(),
            &["`cursor`", "`garbage`"],
        ),
        (
            "/api/v1/sessions?sort=time".into(),
            &["unknown parameter `sort`"],
        ),
        (
            "/api/v1/sessions/not-a-session-id".into(),
            &["`id`", "`not-a-session-id`"],
        ),
        (
            format!("/api/v1/sessions/{a}/requests?sort=speed"),
            &["`sort`", "`speed`"],
        ),
        (
            format!("/api/v1/sessions/{a}/requests?limit=1&limit=2"),
            &["`limit`", "once"],
        ),
        (
            format!("/api/v1/sessions/{a}/stats?part=22.11.2026"),
            &["`part`", "`22.11.2026`"],
        ),
        (
            format!("/api/v1/sessions/{a}/export?format=xlsx"),
            &["`format`", "`xlsx`"],
        ),
        (
            "/api/v1/export/requests?format=json".into(),
            &["`format`", "`json`"],
        ),
        (
            "/api/v1/export/sessions?limit=5".into(),
            &["unknown parameter `limit`"],
        ),
        (
            "/api/v1/requests/a1?user=ann".into(),
            &["unknown parameter `user`"],
        ),
    ];
    for (path, fragments) in cases {
        let (status, body) = server.json(&path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_eq!(body["code"], "bad_request", "{path}");
        let message = body["message"].as_str().unwrap();
        for fragment in fragments {
            assert!(
                message.contains(fragment),
                "{path}: message `{message}` lacks `{fragment}`"
            );
        }
    }
    server.stop().await;
}

/// Query values of every odd shape: multi-byte characters at each byte position of a
/// three-byte value (a status like `4xx`), control characters, blanks, huge values.
fn odd_query_values() -> Vec<String> {
    let mut values: Vec<String> = [
        "ÞC",
        "CÞ",
        "4Þ",
        "Þxx",
        "4xÞ",
        "😀",
        "-1Þ",
        "now-Þ",
        "\u{0}",
        "\u{0}xx",
        "\t\r\n",
        "\u{7f}",
        "\u{202e}4xx",
        "",
        ",,",
        "+404",
        "-9223372036854775807w",
    ]
    .iter()
    .map(|value| value.to_string())
    .collect();
    values.push("Þ".repeat(5_000));
    values.push(format!("{}Þ", "a".repeat(127)));
    values
}

#[tokio::test]
async fn no_filter_value_panics_a_handler_and_bad_ones_are_400() {
    let server = TestServer::start().await;
    let a = session('A').to_hex();
    let routes = [
        "/api/v1/sessions".to_string(),
        format!("/api/v1/sessions/{a}"),
        format!("/api/v1/sessions/{a}/stats"),
        format!("/api/v1/sessions/{a}/requests"),
        format!("/api/v1/sessions/{a}/export"),
        "/api/v1/export/requests".to_string(),
        "/api/v1/export/sessions".to_string(),
    ];
    let own_parameters = ["limit", "cursor", "sort", "part", "format"];
    let parameters = FILTER_PARAMETERS
        .iter()
        .map(|(name, _)| *name)
        .chain(own_parameters);
    let values = odd_query_values();
    for parameter in parameters {
        for value in &values {
            for route in &routes {
                let url = format!("{route}?{parameter}={}", urlencode(value));
                let shown: String = value.chars().take(20).collect();
                let response = server
                    .client
                    .get(format!("{}{url}", server.base))
                    .bearer_auth(ADMIN_TOKEN)
                    .send()
                    .await
                    .unwrap_or_else(|error| panic!("{parameter}={shown:?} on {route}: {error}"));
                let status = response.status();
                assert!(
                    [
                        StatusCode::OK,
                        StatusCode::BAD_REQUEST,
                        StatusCode::NOT_FOUND
                    ]
                    .contains(&status),
                    "{parameter}={shown:?} on {route}: {status}"
                );
                if status == StatusCode::BAD_REQUEST {
                    let body: Value = response.json().await.unwrap();
                    let message = body["message"].as_str().unwrap();
                    assert!(
                        message.contains(&format!("`{parameter}`")),
                        "{parameter}={shown:?} on {route}: {message}"
                    );
                }
            }
        }
    }
    // A status value with a multi-byte character (three bytes, as `4xx`) is refused by name.
    for route in &routes {
        let (status, body) = server.json(&format!("{route}?status=%C3%9EC")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{route}: {body}");
        let message = body["message"].as_str().unwrap();
        assert!(
            message.contains("`status`") && message.contains("`ÞC`"),
            "{message}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn a_panicking_handler_answers_500_instead_of_closing_the_connection() {
    let router = axum::Router::new().route(
        "/boom",
        axum::routing::get(|| async {
            let text = String::from("ÞC");
            // A slice inside a character: the kind of bug the layer must contain.
            let cut = text
                .get(1..)
                .map(str::len)
                .unwrap_or_else(|| panic!("no slice"));
            cut.to_string()
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (shutdown, shutdown_signal) = oneshot::channel::<()>();
    let task = tokio::spawn(serve_router(listener, router, async move {
        let _ = shutdown_signal.await;
    }));
    let response = reqwest::get(format!("http://{address}/boom"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "internal");
    assert!(!body["message"].as_str().unwrap().contains("no slice"));
    // The server goes on answering.
    let again = reqwest::get(format!("http://{address}/boom"))
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let _ = shutdown.send(());
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json_errors() {
    let server = TestServer::start().await;
    let (status, body) = server.json("/api/v1/sesions").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "not_found");
    let response = server
        .client
        .post(format!("{}/api/v1/sessions", server.base))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "method_not_allowed");
    server.stop().await;
}

#[tokio::test]
async fn openapi_document_covers_every_route() {
    let server = TestServer::start().await;
    let response = server.get_with("/api/v1/openapi.json", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let document: Value = response.json().await.unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    let paths = document["paths"].as_object().unwrap();
    for path in routed_paths() {
        assert!(
            paths.contains_key(path),
            "route `{path}` is not in the openapi document"
        );
    }
    // Every documented path is really served: with real ids filled in, none hits the 404 catch-all.
    let a = session('A').to_hex();
    for (path, item) in paths {
        // Routes that change something are exercised by their own tests.
        if !item["get"].is_object() {
            continue;
        }
        let concrete = if path.starts_with("/api/v1/requests/") {
            path.replace("{id}", "a1")
        } else {
            path.replace("{id}", &a)
        };
        let response = server.get_with(&concrete, Some(ADMIN_TOKEN)).await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "documented path `{path}` ({concrete})"
        );
    }
    // Every filter parameter is documented on the session list.
    let parameters = document["paths"]["/api/v1/sessions"]["get"]["parameters"].to_string();
    for (name, _) in sessionscope_server::filters::FILTER_PARAMETERS {
        assert!(
            parameters.contains(&format!("/parameters/{name}\"")),
            "`{name}` undocumented"
        );
    }
    server.stop().await;
}

fn count_of(counts: &Value, value: &str) -> Option<u64> {
    counts
        .as_array()?
        .iter()
        .find(|count| count["value"] == value)?["count"]
        .as_u64()
}

/// Percent-encodes a cursor for a query string.
fn urlencode(text: &str) -> String {
    let mut encoded = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[tokio::test]
async fn large_exports_stream_every_row_once() {
    let server = TestServer::start().await;
    // Enough rows for dozens of 64 KiB chunks, spread over many sessions.
    let directory = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&directory.path().join("large.db")).unwrap();
    let base = time("2026-11-22T00:00:00Z");
    let template = analyzed(&seeds()[0]);
    let mut batch = Vec::new();
    for index in 0..6_000u32 {
        let mut exchange = template.clone();
        exchange.id = format!("bulk-{index:05}").into();
        exchange.ts = base + index as i64 * 1_000_000;
        exchange.session_id = SessionId([(index % 200) as u8; 16]);
        exchange.path = format!("/v1/items/{index}").into();
        exchange.endpoint = "/v1/items/{int}".into();
        batch.push(exchange);
    }
    store.append(&batch).unwrap();
    store
        .create_token(&token_hash(ADMIN_TOKEN), "admin-token", Role::Admin)
        .unwrap();
    let now = time(NOW);
    let state = AppState::new(Arc::new(store)).with_clock(move || now);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, state, async move {
        let _ = stopped.await;
    }));

    for format in ["csv", "ndjson"] {
        let response = server
            .client
            .get(format!("{base_url}/api/v1/export/requests?format={format}"))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let text = response.text().await.unwrap();
        assert!(
            text.len() > 10 * 64 * 1024,
            "{format}: only {} bytes",
            text.len()
        );
        let ids: Vec<String> = if format == "csv" {
            let mut reader = csv::Reader::from_reader(text.as_bytes());
            reader
                .records()
                .map(|record| record.unwrap()[0].to_string())
                .collect()
        } else {
            text.lines()
                .map(|line| serde_json::from_str::<RequestRow>(line).unwrap().id)
                .collect()
        };
        let expected: Vec<String> = (0..6_000u32)
            .map(|index| format!("bulk-{index:05}"))
            .collect();
        assert_eq!(
            ids, expected,
            "{format}: rows missing, repeated or out of time order"
        );
    }
    let response = server
        .client
        .get(format!("{base_url}/api/v1/export/sessions?format=csv"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    let text = response.text().await.unwrap();
    assert_eq!(text.lines().count(), 1 + 200);
    let _ = stop.send(());
    task.await.unwrap().unwrap();
    server.stop().await;
}

impl TestServer {
    async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{}", self.base, path))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

fn attacks_of_session(page: &Value, name: char) -> Option<u64> {
    page["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["session_id"] == session(name).to_hex())
        .and_then(|row| row["attacks"].as_u64())
}

#[tokio::test]
async fn a_false_positive_is_marked_reevaluated_and_undone() {
    use reqwest::Method;
    let server = TestServer::start().await;
    let mark = serde_json::json!({"type": "sqli", "point": "request.query.q"});
    let (status, body) = server
        .send_json(
            Method::POST,
            "/api/v1/requests/b3/false-positive",
            READ_ONLY_TOKEN,
            Some(mark.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    let (status, body) = server
        .send_json(
            Method::POST,
            "/api/v1/requests/b3/false-positive",
            ADMIN_TOKEN,
            Some(mark.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["created"], true);
    assert_eq!(
        body["rule"],
        serde_json::json!({
            "id": "fp-1",
            "kind": "false_positive",
            "point": "request.query.q",
            "attack_type": "sqli",
            "payload": "' or 1=1 --",
            "scope": {"host": "admin.shop.example", "endpoint": "/admin/search"},
            "comment": "marked on request b3"
        })
    );
    // Marking the same finding again answers the existing rule.
    let (status, body) = server
        .send_json(
            Method::POST,
            "/api/v1/requests/b3/false-positive",
            ADMIN_TOKEN,
            Some(mark.clone()),
        )
        .await;
    assert_eq!(
        (status, &body["created"]),
        (StatusCode::OK, &Value::Bool(false))
    );
    for (path, body, expected) in [
        (
            "/api/v1/requests/b3/false-positive",
            serde_json::json!({"type": "xss", "point": "request.query.q"}),
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/v1/requests/nope/false-positive",
            mark.clone(),
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/v1/requests/b3/false-positive",
            serde_json::json!({"type": "sqli", "point": "request.query.q", "scope": "planet"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/requests/b3/false-positive",
            serde_json::json!({"type": "sqli"}),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (status, answer) = server
            .send_json(Method::POST, path, ADMIN_TOKEN, Some(body.clone()))
            .await;
        assert_eq!(status, expected, "{path} {body}: {answer}");
        assert!(answer["message"].is_string(), "{answer}");
    }
    let (status, list) = server.json_as("/api/v1/rules", READ_ONLY_TOKEN).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["rules"].as_array().unwrap().len(), 1);

    // Stored data is unchanged until re-evaluated.
    let (_, before) = server.json("/api/v1/sessions?from=-7d").await;
    assert_eq!(attacks_of_session(&before, 'B'), Some(1));
    let (status, outcome) = server
        .send_json(Method::POST, "/api/v1/rules/reevaluate", ADMIN_TOKEN, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    assert_eq!(outcome["attacks_removed"], 1);
    assert_eq!(outcome["exchanges_changed"], 1);
    let (_, after) = server.json("/api/v1/sessions?from=-7d").await;
    assert_eq!(attacks_of_session(&after, 'B'), Some(0));
    assert_eq!(attacks_of_session(&after, 'C'), Some(1));
    let (_, filtered) = server
        .json("/api/v1/sessions?from=-7d&attack_type=sqli")
        .await;
    assert_eq!(
        filtered["sessions"].as_array().unwrap().len(),
        0,
        "{filtered}"
    );
    let (_, details) = server.json("/api/v1/requests/b3").await;
    assert_eq!(details["attacks"], serde_json::json!([]));

    // Undo: the rule goes, the change log records both; a second removal finds nothing.
    let (status, removed) = server
        .send_json(Method::DELETE, "/api/v1/rules/fp-1", ADMIN_TOKEN, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{removed}");
    assert_eq!(removed["removed"]["id"], "fp-1");
    let (_, list) = server.json("/api/v1/rules").await;
    assert_eq!(list["rules"], serde_json::json!([]));
    let (status, _) = server
        .send_json(Method::DELETE, "/api/v1/rules/fp-1", ADMIN_TOKEN, None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = server.json("/api/v1/rules/reevaluate").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    server.stop().await;
}

#[tokio::test]
async fn admins_add_rules_of_any_kind_and_mistakes_are_located() {
    use reqwest::Method;
    let server = TestServer::start().await;
    let patch = serde_json::json!({
        "kind": "virtual_patch",
        "point": "request.query.debug",
        "pattern": "^(1|true)$",
        "attack_type": "scanner"
    });
    let (status, body) = server
        .send_json(
            Method::POST,
            "/api/v1/rules",
            READ_ONLY_TOKEN,
            Some(patch.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = server
        .send_json(Method::POST, "/api/v1/rules", ADMIN_TOKEN, Some(patch))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["rule"]["id"], "rule-1");
    let broken = serde_json::json!({"kind": "virtual_patch", "point": "request.query.debug", "pattern": "(", "attack_type": "scanner"});
    let (status, body) = server
        .send_json(Method::POST, "/api/v1/rules", ADMIN_TOKEN, Some(broken))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("rules[1].pattern"),
        "{body}"
    );
    let (status, _) = server
        .send_json(
            Method::POST,
            "/api/v1/rules",
            ADMIN_TOKEN,
            Some(serde_json::json!({"kind": "mask_parameter", "pointt": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Re-evaluation says it cannot apply the virtual patch to stored requests.
    let (status, outcome) = server
        .send_json(
            Method::POST,
            "/api/v1/rules/reevaluate",
            ADMIN_TOKEN,
            Some(serde_json::json!({"from": "-1d"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    assert_eq!(outcome["virtual_patches_not_applied"], 1);
    assert_eq!(outcome["attacks_removed"], 0);
    assert!(outcome["message"].as_str().unwrap().contains("not applied"));
    let (_, list) = server.json("/api/v1/rules").await;
    assert_eq!(list["rules"].as_array().unwrap().len(), 1);
    server.stop().await;
}
