//! The console's session views over real HTTP: the API and console router on 127.0.0.1:0 over a
//! real SQLite store in a temp directory, seeded with hand-made analysed exchanges, fetched with
//! reqwest as a signed-in browser would (login cookie), and the HTML checked for what a person
//! (and the lead's WebDriver tests) rely on.
//!
//! The seed (UTC, "now" pinned at 2026-11-22T12:00:00Z):
//! - session A (`ann`): 4 requests on 11-22 10:00–10:03: GET, POST /v1/login (authentication),
//!   a 404, and a GET with an sqli attack
//! - session B (no user): 2 requests on 11-21 23:59 and 11-22 00:01 (two parts), billing flow
//! - session C (`carl`): 60 requests on 11-22 11:00–11:59, so its table has a second page

use std::net::IpAddr;
use std::sync::Arc;

use reqwest::StatusCode;
use sessionscope_model::{
    day_of, parse_rfc3339, AnalyzedExchange, Attack, ContextValue, Flow, FlowSet, Micros,
    ParamKind, Role, SessionId, StoredAs, MICROS_PER_SECOND,
};
use sessionscope_server::login::LOGIN_COOKIE;
use sessionscope_server::{serve_router, AppState};
use sessionscope_store::{SqliteStore, Store};
use tokio::sync::oneshot;

const NOW: &str = "2026-11-22T12:00:00Z";

fn session(name: char) -> SessionId {
    SessionId([name as u8; 16])
}

fn time(text: &str) -> Micros {
    parse_rfc3339(text).unwrap()
}

fn exchange(
    id: &str,
    ts: Micros,
    name: char,
    method: &str,
    endpoint: &str,
    status: u16,
) -> AnalyzedExchange {
    let mut flows = FlowSet::default();
    if endpoint.contains("login") {
        flows.insert(Flow::Authentication);
    }
    if endpoint.contains("billing") {
        flows.insert(Flow::Billing);
    }
    let user = match name {
        'A' => Some(String::from("ann")),
        'C' => Some(String::from("carl")),
        _ => None,
    };
    AnalyzedExchange {
        id: id.into(),
        ts,
        session_id: session(name),
        day: day_of(ts),
        session_key: "builtin:cookie.PHPSESSID".into(),
        client_ip: Some("203.0.113.7".parse::<IpAddr>().unwrap()),
        app: "shop".into(),
        host: "api.shop.example".into(),
        method: method.into(),
        path: endpoint.replace("{int}", "7").into(),
        query: Default::default(),
        endpoint: endpoint.into(),
        flows,
        status: Some(status),
        duration_ms: Some(12.5),
        size: Some(321),
        user_agent: Some("Mozilla/5.0 (test)".into()),
        user: user.map(Into::into),
        roles: vec!["customer".into()],
        context: vec![ContextValue {
            name: "Session cookie".into(),
            point: "request.cookie.PHPSESSID".into(),
            kind: ParamKind::None,
            stored_as: StoredAs::Hashed,
            value: "5f2b0c9a".into(),
        }],
        attacks: Vec::new(),
    }
}

fn seed() -> Vec<AnalyzedExchange> {
    let mut batch = vec![
        exchange(
            "a1",
            time("2026-11-22T10:00:00Z"),
            'A',
            "GET",
            "/v1/products",
            200,
        ),
        exchange(
            "a2",
            time("2026-11-22T10:01:00Z"),
            'A',
            "POST",
            "/v1/login",
            200,
        ),
        exchange(
            "a3",
            time("2026-11-22T10:02:00Z"),
            'A',
            "GET",
            "/v1/users/{int}",
            404,
        ),
        exchange(
            "a4",
            time("2026-11-22T10:03:00Z"),
            'A',
            "GET",
            "/v1/search",
            200,
        ),
        exchange(
            "b1",
            time("2026-11-21T23:59:00Z"),
            'B',
            "GET",
            "/v1/billing",
            200,
        ),
        exchange(
            "b2",
            time("2026-11-22T00:01:00Z"),
            'B',
            "GET",
            "/v1/billing",
            200,
        ),
    ];
    batch[3].attacks.push(Attack {
        kind: String::from("sqli"),
        point: String::from("request.query.q"),
        payload: String::from("' or 1=1 --"),
        rule: String::from("sqli-rule-1"),
    });
    let start = time("2026-11-22T11:00:00Z");
    for index in 0..60 {
        batch.push(exchange(
            &format!("c{index}"),
            start + index * 59 * MICROS_PER_SECOND,
            'C',
            "GET",
            "/v1/products/{int}",
            200,
        ));
    }
    batch
}

struct TestServer {
    base: String,
    client: reqwest::Client,
    state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    _directory: tempfile::TempDir,
}

impl TestServer {
    async fn start(batch: &[AnalyzedExchange]) -> TestServer {
        let directory = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&directory.path().join("store.db")).unwrap();
        if !batch.is_empty() {
            store.append(batch).unwrap();
        }
        let now = time(NOW);
        let state = AppState::new(Arc::new(store)).with_clock(move || now);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (shutdown, shutdown_signal) = oneshot::channel::<()>();
        let router = sessionscope_console::router(state.clone());
        let task = tokio::spawn(serve_router(listener, router, async move {
            let _ = shutdown_signal.await;
        }));
        TestServer {
            base: format!("http://{address}"),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            state,
            shutdown: Some(shutdown),
            task: Some(task),
            _directory: directory,
        }
    }

    /// A login of a stored user with the role (a login lasts only while its user is stored).
    fn login(&self, role: Role) -> String {
        let name = format!("tester-{role}");
        let user = match self.state.store.user(&name).unwrap() {
            Some(user) => user,
            None => {
                self.state
                    .store
                    .create_user(&name, role, "$argon2id$not-a-real-hash")
                    .unwrap();
                self.state.store.user(&name).unwrap().unwrap()
            }
        };
        let (cookie, _) = self.state.logins.start(&user);
        format!("{LOGIN_COOKIE}={cookie}")
    }

    async fn get(&self, path: &str, cookie: Option<&str>, fragment: bool) -> (StatusCode, String) {
        let mut request = self.client.get(format!("{}{}", self.base, path));
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        if fragment {
            request = request.header("x-console-fragment", "1");
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.text().await.unwrap())
    }

    /// A page as a signed-in analyst; it must answer 200.
    async fn page(&self, path: &str) -> String {
        let cookie = self.login(Role::Analyst);
        let (status, body) = self.get(path, Some(&cookie), false).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        body
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

fn count(html: &str, needle: &str) -> usize {
    html.matches(needle).count()
}

#[tokio::test]
async fn the_list_shows_one_row_per_part_with_counts_and_flows() {
    let server = TestServer::start(&seed()).await;
    let html = server.page("/sessions").await;
    // A, B's two parts, C.
    assert!(html.contains(">4 sessions<"), "{html}");
    assert_eq!(count(&html, r#"<tr class="session-row"#), 4);
    assert_eq!(count(&html, "part 1 of 2"), 1);
    assert_eq!(count(&html, "part 2 of 2"), 1);
    assert!(html.contains(r#"id="flow-summary""#));
    assert!(html.contains("Authentication"));
    // A's attack is counted in the attack colour.
    assert!(
        html.contains(r#"<span class="attack-count">1</span>"#),
        "{html}"
    );
    assert!(html.contains(r#"id="endpoint-search""#) && html.contains(r#"name="endpoint""#));
    server.stop().await;
}

#[tokio::test]
async fn filters_narrow_the_list_and_become_removable_chips() {
    let server = TestServer::start(&seed()).await;
    let html = server
        .page("/sessions?endpoint=/v1/log*&window=today")
        .await;
    assert!(html.contains(">1 session<"), "{html}");
    assert_eq!(count(&html, r#"class="filter-chip""#), 2);
    assert!(html.contains(r#"class="chip-remove""#));
    assert!(
        html.contains(r#"href="/sessions?window=today""#),
        "removing the endpoint keeps the window"
    );
    assert!(
        html.contains(r#"value="/v1/log*""#),
        "the search box shows the pattern"
    );

    let html = server.page("/sessions?status=6xx&user=carl").await;
    assert!(
        html.contains("invalid value `6xx` for parameter `status`"),
        "{html}"
    );
    assert!(
        html.contains(">1 session<"),
        "the valid filter still applies: {html}"
    );

    // A three-byte value with a multi-byte character is dropped with its notice, no panic.
    let html = server.page("/sessions?status=%C3%9EC&user=carl").await;
    assert!(
        html.contains("invalid value `ÞC` for parameter `status`"),
        "{html}"
    );
    assert!(html.contains(">1 session<"), "{html}");
    let carl = session('C').to_hex();
    let html = server
        .page(&format!(
            "/sessions?user=carl&open={carl}&in.status=%C3%9EC"
        ))
        .await;
    assert!(
        html.contains("invalid value `ÞC` for parameter `status`"),
        "{html}"
    );
    assert!(html.contains(r#"id="session-details""#), "{html}");

    let html = server.page("/sessions?window=15m&user=ann").await;
    assert!(html.contains(r#"id="no-sessions""#), "{html}");
    assert!(html.contains("Widen to the last week"));
    server.stop().await;
}

#[tokio::test]
async fn an_open_session_renders_details_statistics_timeline_and_requests() {
    let server = TestServer::start(&seed()).await;
    let id = session('A').to_hex();
    let html = server
        .page(&format!("/sessions?window=today&open={id}"))
        .await;
    assert_eq!(count(&html, r#"id="session-details""#), 1);
    assert!(html.contains(&format!(r#"<code class="session-id-full">{id}</code>"#)));
    assert!(html.contains(r#"id="copy-link""#) && html.contains(r#"id="copied-link""#));
    assert!(
        html.contains(&format!(
            r#"id="download-csv" href="/api/v1/sessions/{id}/export?format=csv&amp;window=today""#
        )),
        "{html}"
    );
    assert!(
        html.contains(r#"id="show-all""#),
        "general filters are active"
    );
    assert!(html.contains(r#"id="timeline""#));
    assert_eq!(count(&html, r#"<tr class="request-row"#), 4);
    assert!(html.contains(r#"data-request-id="a3""#));
    assert!(html.contains(r#"class="show-only""#));
    assert!(
        html.contains(&format!(
            r#"href="/sessions?window=today&amp;open={id}&amp;in.method=POST""#
        )),
        "show only POST: {html}"
    );

    let html = server
        .page(&format!("/sessions?window=today&open={id}&in.method=POST"))
        .await;
    assert_eq!(
        count(&html, r#"<tr class="request-row"#),
        1,
        "in-session filter"
    );
    assert!(html.contains(r#"class="filter-chip in-session""#));
    server.stop().await;
}

#[tokio::test]
async fn fragments_answer_only_their_part_and_401_when_signed_out() {
    let server = TestServer::start(&seed()).await;
    let cookie = server.login(Role::ReadOnly);
    let id = session('C').to_hex();
    let (status, html) = server
        .get(
            &format!("/sessions?open={id}&fragment=session"),
            Some(&cookie),
            true,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.starts_with(r#"<div class="session-details" id="session-details""#),
        "{html}"
    );
    assert!(!html.contains("<html"));
    assert_eq!(count(&html, r#"<tr class="request-row"#), 50, "first page");
    assert!(html.contains(r#"id="more-requests""#));

    let (status, html) = server
        .get(
            &format!("/sessions?open={id}&rcursor=o50&fragment=requests"),
            Some(&cookie),
            true,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(count(&html, r#"<tr class="request-row"#), 10, "the rest");
    assert!(!html.contains(r#"id="more-requests""#));

    let (status, html) = server
        .get(
            &format!("/sessions?open={id}&req=c3&fragment=request"),
            Some(&cookie),
            true,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.starts_with(r#"<div class="request-details" id="request-details""#),
        "{html}"
    );

    let (status, _) = server
        .get(&format!("/sessions?open={id}&fragment=session"), None, true)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = server.get("/sessions", None, false).await;
    assert!(
        status.is_redirection(),
        "a page without login goes to sign-in"
    );
    server.stop().await;
}

#[tokio::test]
async fn request_details_name_the_session_key_and_show_hashes() {
    let server = TestServer::start(&seed()).await;
    let html = server.page("/requests/a4").await;
    assert!(html.contains(r#"id="request-details""#));
    assert!(
        html.contains(r#"<code class="session-key""#) && html.contains("builtin:cookie.PHPSESSID")
    );
    assert!(html.contains("5f2b0c9a") && html.contains(">hash<"));
    assert!(html.contains("sqli-rule-1"));
    assert!(html.contains("Discovery") && html.contains("Bot evidence"));

    let cookie = server.login(Role::Admin);
    let (status, html) = server.get("/requests/nope", Some(&cookie), false).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("No such request"));
    server.stop().await;
}

#[tokio::test]
async fn roles_without_sessions_get_an_explaining_403() {
    let server = TestServer::start(&seed()).await;
    let cookie = server.login(Role::ApiDeveloper);
    for path in ["/sessions", "/requests/a1"] {
        let (status, html) = server.get(path, Some(&cookie), false).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert!(html.contains("not available to your role"), "{html}");
    }
    server.stop().await;
}

#[tokio::test]
async fn an_empty_store_says_how_to_ingest() {
    let server = TestServer::start(&[]).await;
    let html = server.page("/sessions?window=1h").await;
    assert!(html.contains(r#"id="empty-store""#), "{html}");
    assert!(html.contains("sessionscope ingest FILE"));
    server.stop().await;
}
