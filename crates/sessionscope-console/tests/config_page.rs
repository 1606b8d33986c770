//! The configuration page over real HTTP: a real SqliteStore, the real router served on
//! 127.0.0.1:0, signing in through the login form. Covers who may change what, that every change
//! is logged with who / when / before / after, that validation problems are shown beside their
//! field with nothing saved, and that the point builder previews the stored form of a sample value.

use std::sync::Arc;

use sessionscope_analyze::{AnalysisSettings, Analyzer, ContextSetting, SessionKeySetting};
use sessionscope_model::{Exchange, Role};
use sessionscope_server::AppState;
use sessionscope_store::{hash_password, SqliteStore, Store};

struct Server {
    base: String,
    store: Arc<dyn Store>,
    _directory: tempfile::TempDir,
    _runtime: tokio::runtime::Runtime,
}

fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn settings_with_two_keys() -> AnalysisSettings {
    AnalysisSettings {
        session_keys: vec![
            SessionKeySetting {
                points: vec!["request.header.x-first".into()],
            },
            SessionKeySetting {
                points: vec!["request.header.x-second".into()],
            },
        ],
        context: vec![ContextSetting {
            name: "tenant".into(),
            point: "request.header.x-tenant".into(),
            kind: "none".into(),
            hashed: false,
            group_by: false,
        }],
        apps: Vec::new(),
        rules: Vec::new(),
    }
}

/// The sanitised sample as the binary stores it (exchange NDJSON), written here with the few
/// fields the preview needs.
fn sample_line(sample: &Exchange) -> String {
    let headers: Vec<serde_json::Value> = sample
        .request
        .headers
        .iter()
        .map(|(name, value)| serde_json::json!([name, value]))
        .collect();
    serde_json::json!({
        "id": sample.id,
        "ts": sessionscope_model::format_rfc3339(sample.ts),
        "request": {"method": sample.request.method, "url": sample.request.url, "headers": headers},
    })
    .to_string()
}

const RAW_API_KEY: &str = "pk_live_raw_key_1";

fn start() -> Server {
    let directory = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&directory.path().join("s.db")).unwrap());
    store
        .save_analysis_settings(
            &serde_json::to_string(&settings_with_two_keys()).unwrap(),
            "config-file",
            "first version, from `c.toml`",
        )
        .unwrap();
    for (name, role) in [
        ("ada", Role::Admin),
        ("rita", Role::ReadOnly),
        ("alan", Role::Analyst),
    ] {
        store
            .create_user(name, role, &hash_password(&format!("{name}-password-1")))
            .unwrap();
    }
    let original = sessionscope_ingest::parse_exchange_line(
        format!(
            r#"{{"id":"s-1","ts":"2026-11-22T10:00:00Z","request":{{"method":"GET","url":"https://api.example.com/v1/items?page=2","headers":[["x-tenant","acme"],["x-api-key","{RAW_API_KEY}"]]}}}}"#
        )
        .as_bytes(),
        1,
    )
    .unwrap();
    let analyzer = Analyzer::new(Default::default(), store.installation_secret().unwrap());
    let sample = analyzer.sanitize_sample(&original);
    store.replace_samples(&[sample_line(&sample)]).unwrap();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let address = listener.local_addr().unwrap();
    let router = sessionscope_console::router(AppState::new(Arc::clone(&store)));
    runtime.spawn(sessionscope_server::serve_router(
        listener,
        router,
        std::future::pending(),
    ));
    Server {
        base: format!("http://{address}"),
        store,
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

/// Text between `before` and the next `"` in an HTML page (an attribute value).
fn attribute_after(html: &str, before: &str) -> String {
    let start = html
        .find(before)
        .unwrap_or_else(|| panic!("no `{before}` in the page"))
        + before.len();
    html[start..].split('"').next().unwrap_or("").to_string()
}

struct Session {
    cookie: String,
    csrf: String,
}

fn sign_in(server: &Server, user: &str) -> Session {
    let client = http();
    let page = client.get(format!("{}/login", server.base)).send().unwrap();
    let prelogin = set_cookie(&page, "sessionscope_prelogin").expect("prelogin cookie");
    let password = format!("{user}-password-1");
    let response = client
        .post(format!("{}/login", server.base))
        .header("cookie", format!("sessionscope_prelogin={prelogin}"))
        .form(&[
            ("user", user),
            ("password", password.as_str()),
            ("prelogin", prelogin.as_str()),
            ("next", "/account"),
        ])
        .send()
        .unwrap();
    assert!(response.status().is_redirection(), "sign-in of {user}");
    let login = set_cookie(&response, "sessionscope_login").expect("login cookie");
    let cookie = format!("sessionscope_login={login}");
    let account = client
        .get(format!("{}/account", server.base))
        .header("cookie", &cookie)
        .send()
        .unwrap()
        .text()
        .unwrap();
    let csrf = attribute_after(&account, "data-csrf=\"");
    Session { cookie, csrf }
}

fn get(server: &Server, session: &Session, path: &str) -> (u16, String) {
    let response = http()
        .get(format!("{}{path}", server.base))
        .header("cookie", &session.cookie)
        .send()
        .unwrap();
    (response.status().as_u16(), response.text().unwrap())
}

fn post(server: &Server, session: &Session, path: &str, form: &[(&str, &str)]) -> (u16, String) {
    let response = http()
        .post(format!("{}{path}", server.base))
        .header("cookie", &session.cookie)
        .form(form)
        .send()
        .unwrap();
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = response.text().unwrap();
    (status, if body.is_empty() { location } else { body })
}

fn stored_settings(server: &Server) -> AnalysisSettings {
    serde_json::from_str(&server.store.analysis_settings().unwrap().unwrap()).unwrap()
}

fn page_version(server: &Server, session: &Session) -> String {
    let (status, page) = get(server, session, "/config");
    assert_eq!(status, 200, "{page}");
    attribute_after(&page, "name=\"version\" value=\"")
}

#[test]
fn an_admin_change_is_logged_with_who_when_before_and_after() {
    let server = start();
    let ada = sign_in(&server, "ada");
    let (status, page) = get(&server, &ada, "/config");
    assert_eq!(status, 200);
    for hook in [
        "id=\"config-keys\"",
        "class=\"key-row\"",
        "id=\"context-params\"",
        "id=\"point-builder\"",
        "id=\"change-log\"",
        "builtin:ip+user-agent",
    ] {
        assert!(page.contains(hook), "`{hook}` missing from the page");
    }
    let version = page_version(&server, &ada);
    let (status, location) = post(
        &server,
        &ada,
        "/config/keys",
        &[
            ("csrf", &ada.csrf),
            ("version", &version),
            ("action", "up:1"),
        ],
    );
    assert_eq!(status, 303, "{location}");
    assert_eq!(location, "/config?saved=1");
    let keys: Vec<String> = stored_settings(&server)
        .session_keys
        .iter()
        .map(|key| key.points.join("+"))
        .collect();
    assert_eq!(keys, ["request.header.x-second", "request.header.x-first"]);

    let changes = server.store.config_changes(10).unwrap();
    assert_eq!(changes.len(), 2);
    let change = &changes[0];
    assert_eq!(change.who, "ada");
    assert_eq!(change.summary, "moved key 2 (`request.header.x-second`) up");
    let before: AnalysisSettings = serde_json::from_str(change.before.as_deref().unwrap()).unwrap();
    assert_eq!(before, settings_with_two_keys());
    let after: AnalysisSettings = serde_json::from_str(&change.after).unwrap();
    assert_eq!(after, stored_settings(&server));
    assert!(change.at >= changes[1].at);

    let (_, page) = get(&server, &ada, "/config?saved=1");
    assert!(page.contains("class=\"notice\""), "saved notice");
    assert!(page.contains("saved; applies to traffic ingested from now on"));
    assert!(page.contains("class=\"change\""));
    assert!(page.contains("moved key 2 (`request.header.x-second`) up"));

    // The stale page's version no longer matches: nothing moves a second time.
    let (status, _) = post(
        &server,
        &ada,
        "/config/keys",
        &[
            ("csrf", &ada.csrf),
            ("version", &version),
            ("action", "up:1"),
        ],
    );
    assert_eq!(status, 409);
    assert_eq!(server.store.config_changes(10).unwrap().len(), 2);

    // A context parameter is added and logged by name.
    let version = page_version(&server, &ada);
    let (status, _) = post(
        &server,
        &ada,
        "/config/context",
        &[
            ("csrf", &ada.csrf),
            ("version", &version),
            ("action", "add"),
            ("name", "user"),
            ("point", "request.header.authorization.jwt.sub"),
            ("type", "user"),
        ],
    );
    assert_eq!(status, 303);
    assert_eq!(
        server.store.config_changes(1).unwrap()[0].summary,
        "added context parameter `user`"
    );
    assert_eq!(stored_settings(&server).context[1].kind, "user");
}

#[test]
fn a_validation_problem_is_shown_beside_its_field_and_nothing_is_saved() {
    let server = start();
    let ada = sign_in(&server, "ada");
    let before = server.store.analysis_settings().unwrap();
    let version = page_version(&server, &ada);
    let (status, page) = post(
        &server,
        &ada,
        "/config/keys",
        &[
            ("csrf", &ada.csrf),
            ("version", &version),
            ("action", "add"),
            ("points", "request.form.password"),
        ],
    );
    assert_eq!(status, 422);
    let beside = page
        .find("id=\"key-points\"")
        .expect("the key's point field");
    let error = page[beside..]
        .find("class=\"field-error\"")
        .map(|offset| beside + offset)
        .expect("an error after the field");
    let next_field = page[beside..]
        .find("id=\"key-points_2\"")
        .map(|offset| beside + offset)
        .unwrap();
    assert!(
        error < next_field,
        "the error sits beside the first point field"
    );
    assert!(page[error..].contains("masked"), "the message says why");
    assert!(
        page.contains("value=\"request.form.password\""),
        "what was typed is shown again"
    );
    assert_eq!(server.store.analysis_settings().unwrap(), before);
    assert_eq!(server.store.config_changes(10).unwrap().len(), 1);

    // A context parameter with a bad point: the message sits in its row.
    let (status, page) = post(
        &server,
        &ada,
        "/config/context",
        &[
            ("csrf", &ada.csrf),
            ("version", &version),
            ("action", "add"),
            ("name", "tenant"),
            ("point", "request.hedaer.x"),
        ],
    );
    assert_eq!(status, 422);
    assert!(
        page.contains("data-location=\"context[1].name\""),
        "duplicate name"
    );
    assert!(
        page.contains("data-location=\"context[1].point\""),
        "bad point"
    );
    assert_eq!(server.store.analysis_settings().unwrap(), before);
}

#[test]
fn read_only_and_analyst_users_can_neither_see_nor_change_configuration() {
    let server = start();
    let ada = sign_in(&server, "ada");
    let version = page_version(&server, &ada);
    let before = server.store.analysis_settings().unwrap();
    for user in ["rita", "alan"] {
        let session = sign_in(&server, user);
        let (status, page) = get(&server, &session, "/config");
        assert_eq!(status, 403, "{user}");
        assert!(page.contains("Only admins change configuration"), "{user}");
        assert!(!page.contains("config-keys"), "{user}");
        for (path, action) in [
            ("/config/keys", "up:1"),
            ("/config/keys", "add"),
            ("/config/context", "remove:0"),
        ] {
            let (status, _) = post(
                &server,
                &session,
                path,
                &[
                    ("csrf", &session.csrf),
                    ("version", &version),
                    ("action", action),
                    ("points", "request.header.x-user"),
                ],
            );
            assert_eq!(status, 403, "{user} {path} {action}");
        }
        let (status, _) = get(
            &server,
            &session,
            "/config/preview?point=request.header.x-tenant",
        );
        assert_eq!(status, 403, "{user} preview");
    }
    // Without the form's CSRF token even an admin changes nothing.
    let (status, _) = post(
        &server,
        &ada,
        "/config/keys",
        &[
            ("csrf", "forged"),
            ("version", &version),
            ("action", "up:1"),
        ],
    );
    assert_eq!(status, 403);
    assert_eq!(server.store.analysis_settings().unwrap(), before);
    assert_eq!(server.store.config_changes(10).unwrap().len(), 1);
}

#[test]
fn the_preview_shows_the_stored_form_of_a_sample_value() {
    let server = start();
    let ada = sign_in(&server, "ada");
    let analyzer = Analyzer::new(
        Default::default(),
        server.store.installation_secret().unwrap(),
    );
    let original = sessionscope_ingest::parse_exchange_line(
        format!(
            r#"{{"ts":"2026-11-22T10:00:00Z","request":{{"method":"GET","url":"/","headers":[["x-api-key","{RAW_API_KEY}"]]}}}}"#
        )
        .as_bytes(),
        1,
    )
    .unwrap();
    let (expected_hash, _) = analyzer
        .preview(&"request.header.x-api-key".parse().unwrap(), &original)
        .unwrap();

    let (status, fragment) = get(
        &server,
        &ada,
        "/config/preview?point=request.header.x-api-key",
    );
    assert_eq!(status, 200);
    assert!(fragment.contains(&expected_hash), "{fragment}");
    assert!(fragment.contains("stored hashed"), "{fragment}");
    assert!(!fragment.contains(RAW_API_KEY), "{fragment}");
    assert!(
        fragment.contains("GET https://api.example.com/v1/items?page=2"),
        "{fragment}"
    );
    assert!(fragment.contains("2026-11-22T10:00:00"), "{fragment}");

    let (_, fragment) = get(
        &server,
        &ada,
        "/config/preview?point=request.header.x-tenant",
    );
    assert!(fragment.contains(">acme<"), "{fragment}");
    assert!(fragment.contains("stored clear"), "{fragment}");

    let (_, fragment) = get(
        &server,
        &ada,
        "/config/preview?point=request.header.x-nowhere",
    );
    assert!(
        fragment.contains("no recent exchange carries this point"),
        "{fragment}"
    );

    let (_, fragment) = get(&server, &ada, "/config/preview?point=request.hedaer.x");
    assert!(fragment.contains("field-error"), "{fragment}");

    // Without JavaScript the builder's GET form renders the same preview in the page.
    let (_, page) = get(
        &server,
        &ada,
        "/config?pb_side=request&pb_kind=header&pb_name=x-tenant",
    );
    assert!(
        page.contains(">request.header.x-tenant<"),
        "the built point is shown"
    );
    assert!(page.contains(">acme<"));
}
