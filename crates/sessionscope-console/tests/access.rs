//! Signing in and staying signed in, over real HTTP (the API and console router on 127.0.0.1:0
//! over a real SQLite store): the sign-in form's pre-login value is issued by the server, used
//! once and expires; a login ends on the next request once its user is removed or changes
//! password in the store (as `sessionscope user remove` / `user passwd` in another process do);
//! sign-ins are in the audit log; and every answer the console gives, page by page as a crawler
//! finds them from `/`, carries the security headers.

use std::collections::{BTreeSet, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sessionscope_model::{
    day_of, parse_rfc3339, AnalyzedExchange, Attack, ContextValue, FlowSet, ParamKind, Role,
    SessionId, StoredAs,
};
use sessionscope_server::login::{PreLogins, PRELOGIN_SECONDS};
use sessionscope_server::AppState;
use sessionscope_store::{hash_password, SqliteStore, Store};

struct Server {
    base: String,
    store: Arc<dyn Store>,
    /// Moves the pre-login clock forward.
    clock_offset: Arc<Mutex<Duration>>,
    _directory: tempfile::TempDir,
    _runtime: tokio::runtime::Runtime,
}

fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn exchange(id: &str, second: i64) -> AnalyzedExchange {
    let ts = parse_rfc3339("2026-11-22T10:00:00Z").unwrap() + second * 1_000_000;
    AnalyzedExchange {
        id: id.into(),
        ts,
        session_id: SessionId([7; 16]),
        day: day_of(ts),
        session_key: "builtin:cookie.PHPSESSID".into(),
        client_ip: Some("203.0.113.7".parse::<IpAddr>().unwrap()),
        app: "shop".into(),
        host: "api.shop.example".into(),
        method: "GET".into(),
        path: "/v1/search".into(),
        query: Default::default(),
        endpoint: "/v1/search".into(),
        flows: FlowSet::default(),
        status: Some(200),
        duration_ms: Some(3.0),
        size: Some(10),
        user_agent: Some("agent/1".into()),
        user: Some("ann".into()),
        roles: vec!["customer".into()],
        context: vec![ContextValue {
            name: "tenant".into(),
            point: "request.header.x-tenant".into(),
            kind: ParamKind::None,
            stored_as: StoredAs::Clear,
            value: "acme".into(),
        }],
        attacks: if second == 1 {
            vec![Attack {
                kind: "sqli".into(),
                point: "request.query.q".into(),
                payload: "' or 1=1--".into(),
                rule: "sqli.libinjection".into(),
            }]
        } else {
            Vec::new()
        },
    }
}

fn start() -> Server {
    let directory = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&directory.path().join("s.db")).unwrap());
    for (name, role) in [("ada", Role::Admin), ("ann", Role::Analyst)] {
        store
            .create_user(name, role, &hash_password(&format!("{name}-password-1")))
            .unwrap();
    }
    store
        .append(&[exchange("r-1", 0), exchange("r-2", 1)])
        .unwrap();
    store
        .save_analysis_settings("{}", "system", "first version")
        .unwrap();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let address = listener.local_addr().unwrap();
    let clock_offset = Arc::new(Mutex::new(Duration::ZERO));
    let offset = Arc::clone(&clock_offset);
    let started = Instant::now();
    let mut state = AppState::new(Arc::clone(&store))
        .with_clock(|| parse_rfc3339("2026-11-22T12:00:00Z").unwrap());
    state.prelogins = Arc::new(PreLogins::with_clock(move || {
        started + *offset.lock().unwrap()
    }));
    let router = sessionscope_console::router(state);
    runtime.spawn(sessionscope_server::serve_router(
        listener,
        router,
        std::future::pending(),
    ));
    Server {
        base: format!("http://{address}"),
        store,
        clock_offset,
        _directory: directory,
        _runtime: runtime,
    }
}

/// The value of `name=...` in a Set-Cookie header of the response.
fn set_cookie(response: &reqwest::blocking::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|header| {
            let (pair, _) = header.split_once(';').unwrap_or((header, ""));
            let (cookie, value) = pair.split_once('=')?;
            (cookie.trim() == name && !value.is_empty()).then(|| value.to_string())
        })
}

/// A pre-login value as the login page hands it out (cookie and hidden field are the same).
fn fresh_prelogin(server: &Server) -> String {
    let page = http().get(format!("{}/login", server.base)).send().unwrap();
    let cookie = set_cookie(&page, "sessionscope_prelogin").expect("prelogin cookie");
    let html = page.text().unwrap();
    assert!(
        html.contains(&format!("name=\"prelogin\" value=\"{cookie}\"")),
        "the form repeats the cookie's value"
    );
    cookie
}

/// Posts the sign-in form with this pre-login value in cookie and field; the status and the
/// login cookie when one was set.
fn post_sign_in(
    server: &Server,
    prelogin: &str,
    user: &str,
    password: &str,
) -> (u16, Option<String>) {
    let response = http()
        .post(format!("{}/login", server.base))
        .header("cookie", format!("sessionscope_prelogin={prelogin}"))
        .form(&[
            ("user", user),
            ("password", password),
            ("prelogin", prelogin),
            ("next", "/sessions"),
        ])
        .send()
        .unwrap();
    let login = set_cookie(&response, "sessionscope_login");
    (response.status().as_u16(), login)
}

fn sign_in(server: &Server, user: &str) -> String {
    let prelogin = fresh_prelogin(server);
    let (status, login) = post_sign_in(server, &prelogin, user, &format!("{user}-password-1"));
    assert_eq!(status, 303, "sign-in of {user}");
    format!("sessionscope_login={}", login.expect("a login cookie"))
}

fn get(server: &Server, cookie: &str, path: &str) -> reqwest::blocking::Response {
    http()
        .get(format!("{}{path}", server.base))
        .header("cookie", cookie)
        .send()
        .unwrap()
}

#[test]
fn a_normal_sign_in_works() {
    let server = start();
    let cookie = sign_in(&server, "ann");
    let page = get(&server, &cookie, "/sessions");
    assert_eq!(page.status(), 200);
    let html = page.text().unwrap();
    assert!(
        html.contains("<span class=\"user-name\">ann</span>"),
        "{html}"
    );
    assert!(
        html.contains("session-row"),
        "the list shows the stored session"
    );
}

#[test]
fn a_prelogin_value_chosen_by_an_attacker_is_refused() {
    let server = start();
    let (status, login) = post_sign_in(&server, "sst_attackerchosen123", "ann", "ann-password-1");
    assert_eq!(status, 403);
    assert!(
        login.is_none(),
        "no login for a value the server never issued"
    );
}

#[test]
fn a_used_prelogin_value_is_refused() {
    let server = start();
    let prelogin = fresh_prelogin(&server);
    let (status, _) = post_sign_in(&server, &prelogin, "ann", "ann-password-1");
    assert_eq!(status, 303);
    let (status, login) = post_sign_in(&server, &prelogin, "ann", "ann-password-1");
    assert_eq!(status, 403, "the same value a second time");
    assert!(login.is_none());
    // A failed attempt uses the value up as well: the retry needs the new form.
    let prelogin = fresh_prelogin(&server);
    assert_eq!(
        post_sign_in(&server, &prelogin, "ann", "wrong-password").0,
        401
    );
    assert_eq!(
        post_sign_in(&server, &prelogin, "ann", "ann-password-1").0,
        403
    );
}

#[test]
fn an_expired_prelogin_value_is_refused() {
    let server = start();
    let prelogin = fresh_prelogin(&server);
    *server.clock_offset.lock().unwrap() = Duration::from_secs(PRELOGIN_SECONDS + 1);
    let (status, login) = post_sign_in(&server, &prelogin, "ann", "ann-password-1");
    assert_eq!(status, 403);
    assert!(login.is_none());
    // A form fetched now works.
    let prelogin = fresh_prelogin(&server);
    assert_eq!(
        post_sign_in(&server, &prelogin, "ann", "ann-password-1").0,
        303
    );
}

#[test]
fn removing_a_user_ends_their_logins_at_once() {
    let server = start();
    let cookie = sign_in(&server, "ann");
    assert_eq!(get(&server, &cookie, "/sessions").status(), 200);
    assert_eq!(get(&server, &cookie, "/api/v1/me").status(), 200);
    // As `sessionscope user remove ann` does from another process.
    assert!(server.store.remove_user("ann").unwrap());
    let page = get(&server, &cookie, "/sessions");
    assert_eq!(page.status(), 303, "sent to the sign-in page");
    assert_eq!(get(&server, &cookie, "/api/v1/me").status(), 401);
}

#[test]
fn a_new_password_ends_the_users_logins_at_once() {
    let server = start();
    let cookie = sign_in(&server, "ann");
    let other = sign_in(&server, "ada");
    assert!(server
        .store
        .set_user_password("ann", &hash_password("a-new-password-1"))
        .unwrap());
    assert_eq!(get(&server, &cookie, "/sessions").status(), 303);
    assert_eq!(get(&server, &cookie, "/api/v1/me").status(), 401);
    assert_eq!(
        get(&server, &other, "/sessions").status(),
        200,
        "others stay"
    );
    // Even once the password is set back, the old login stays ended.
    assert!(server
        .store
        .set_user_password("ann", &hash_password("ann-password-1"))
        .unwrap());
    assert_eq!(get(&server, &cookie, "/api/v1/me").status(), 401);
}

#[test]
fn sign_ins_are_in_the_audit_log_without_the_password() {
    let server = start();
    let prelogin = fresh_prelogin(&server);
    assert_eq!(
        post_sign_in(&server, &prelogin, "ann", "wrong-password-9").0,
        401
    );
    let prelogin = fresh_prelogin(&server);
    // A password typed into the name field is not kept.
    assert_eq!(
        post_sign_in(&server, &prelogin, "my-Secret-pass", "x").0,
        401
    );
    let cookie = sign_in(&server, "ada");

    let events = server.store.audit_events(10).unwrap();
    let seen: Vec<(&str, &str, &str)> = events
        .iter()
        .filter(|event| event.action.starts_with("sign_in"))
        .map(|event| {
            (
                event.who.as_str(),
                event.action.as_str(),
                event.target.as_str(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("ada", "sign_in.success", "ada"),
            ("anonymous", "sign_in.failure", "(unknown user)"),
            ("anonymous", "sign_in.failure", "ann"),
        ]
    );
    let everything = format!("{events:?}");
    assert!(!everything.contains("wrong-password-9"));
    assert!(!everything.contains("my-Secret-pass"));
    assert!(
        everything.contains("127.0.0.1"),
        "the client address is kept"
    );

    // Admins read it on the page linked from the configuration page; others may not.
    let config = get(&server, &cookie, "/config").text().unwrap();
    assert!(config.contains("href=\"/config/audit\""));
    let page = get(&server, &cookie, "/config/audit");
    assert_eq!(page.status(), 200);
    let page = page.text().unwrap();
    assert!(page.contains("sign_in.failure") && page.contains("config.change"));
    let analyst = sign_in(&server, "ann");
    assert_eq!(get(&server, &analyst, "/config/audit").status(), 403);
    assert_eq!(get(&server, &analyst, "/api/v1/audit").status(), 403);
    assert_eq!(get(&server, &cookie, "/api/v1/audit").status(), 200);
}

const SECURITY_HEADERS: [(&str, &str); 4] = [
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("content-security-policy", ""),
];

fn assert_security_headers(response: &reqwest::blocking::Response, what: &str) {
    for (name, expected) in SECURITY_HEADERS {
        let value = response
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_else(|| panic!("{what} answers without `{name}`"));
        if !expected.is_empty() {
            assert_eq!(value, expected, "{what}: {name}");
        }
    }
    let policy = response.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    let directive = |name: &str| {
        policy
            .split(';')
            .map(str::trim)
            .find(|directive| directive.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{what}: no {name} in `{policy}`"))
            .to_owned()
    };
    assert_eq!(directive("script-src"), "script-src 'self'", "{what}");
    assert_eq!(directive("style-src"), "style-src 'self'", "{what}");
    assert_eq!(
        directive("frame-ancestors"),
        "frame-ancestors 'none'",
        "{what}"
    );
    assert!(!policy.contains("unsafe"), "{what}: {policy}");
}

/// Same-origin URLs in a page: every `href`, `src` and form `action`.
fn links_in(html: &str) -> Vec<String> {
    let mut links = Vec::new();
    for attribute in ["href=\"", "src=\"", "action=\""] {
        for piece in html.split(attribute).skip(1) {
            let Some(value) = piece.split('"').next() else {
                continue;
            };
            let value = value.replace("&amp;", "&");
            if value.starts_with('/') && !value.starts_with("//") {
                links.push(value);
            }
        }
    }
    links
}

#[test]
fn every_console_page_sends_the_security_headers() {
    let server = start();
    let admin = sign_in(&server, "ada");
    // The pages a crawler reaches from `/` through links and form actions, as an admin (who sees
    // every page), capped so a link-rich page cannot make the test endless.
    let mut queue: VecDeque<String> = VecDeque::from([
        "/".to_owned(),
        "/sessions".to_owned(),
        "/config".to_owned(),
        "/config/preview?point=request.header.x-tenant".to_owned(),
    ]);
    // At most a few URLs per path and set of parameter names: the list links to many filtered
    // views of itself, which differ only in values.
    let mut seen = BTreeSet::new();
    let mut visits: std::collections::BTreeMap<String, usize> = Default::default();
    let mut shapes: std::collections::BTreeMap<String, usize> = Default::default();
    while let Some(url) = queue.pop_front() {
        let (path, query) = url.split_once('?').unwrap_or((url.as_str(), ""));
        let mut names: Vec<&str> = query
            .split('&')
            .filter_map(|pair| pair.split('=').next())
            .collect();
        names.sort_unstable();
        names.dedup();
        let shape = format!("{path}?{}", names.join("&"));
        let path = path.to_owned();
        let visited = shapes.get(&shape).copied().unwrap_or(0);
        if seen.len() >= 300 || visited >= 3 || !seen.insert(url.clone()) {
            continue;
        }
        shapes.insert(shape, visited + 1);
        *visits.entry(path).or_default() += 1;
        let response = get(&server, &admin, &url);
        assert_security_headers(&response, &url);
        let is_html = response
            .headers()
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("text/html"));
        if is_html {
            let html = response.text().unwrap();
            assert!(!html.contains(" style=\""), "{url} has an inline style");
            assert!(!html.contains("<script>"), "{url} has an inline script");
            for link in links_in(&html) {
                // Signing out would end the crawler's login.
                if link != "/logout" {
                    queue.push_back(link);
                }
            }
        }
    }
    for expected in [
        "/sessions",
        "/requests/r-2",
        "/config",
        "/config/audit",
        "/config/preview",
        "/account",
        "/assets/console.css",
        "/assets/console.js",
        "/assets/icon.svg",
    ] {
        assert!(
            visits.contains_key(expected),
            "the crawl never reached {expected}: {visits:?}"
        );
    }
    // What no link leads to: the sign-in page and its answers, posts, errors, the API.
    let client = http();
    let login = client.get(format!("{}/login", server.base)).send().unwrap();
    assert_security_headers(&login, "/login");
    let refused = client
        .post(format!("{}/login", server.base))
        .form(&[("user", "x"), ("password", "y"), ("prelogin", "z")])
        .send()
        .unwrap();
    assert_security_headers(&refused, "a refused sign-in");
    for (path, cookie) in [
        ("/no-such-page", admin.as_str()),
        ("/sessions", ""),
        ("/api/v1/me", admin.as_str()),
        ("/api/v1/sessions", ""),
        ("/api/v1/no-such-route", ""),
        ("/healthz", ""),
    ] {
        assert_security_headers(&get(&server, cookie, path), path);
    }
    let post = client
        .post(format!("{}/config/keys", server.base))
        .header("cookie", &admin)
        .form(&[("csrf", "wrong")])
        .send()
        .unwrap();
    assert_security_headers(&post, "a refused post");
}
