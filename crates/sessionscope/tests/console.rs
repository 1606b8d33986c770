//! The console as a person uses it: a real headless Chromium driven through WebDriver
//! (chromedriver) against the real `sessionscope demo` on a random port, with its generated data.
//!
//! `scripts/test.sh` installs the Debian packages `chromium` and `chromium-driver` when they are
//! missing. Screenshots are written to the test's temporary directory as artifacts; with
//! `SESSIONSCOPE_SCREENSHOTS=docs` they also replace the ones in `docs/screenshots/`.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::browser::Driver;
use fantoccini::actions::{InputSource, MouseActions, PointerAction};
use fantoccini::elements::Element;
use fantoccini::{Client, Locator};
use serde_json::json;

/// A `sessionscope demo` process serving generated traffic, stopped when dropped.
struct Demo {
    child: Child,
    base: String,
    password: String,
    store: PathBuf,
    _directory: tempfile::TempDir,
}

impl Demo {
    fn start(requests: u32) -> Demo {
        let directory = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_sessionscope"))
            .args(["demo", "--listen", "127.0.0.1:0", "--requests"])
            .arg(requests.to_string())
            .arg("--keep")
            .arg(directory.path())
            .env_remove("SESSIONSCOPE_CONFIG")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let mut base = None;
        let mut password = None;
        let mut store = None;
        for line in receiver.iter() {
            let line = line.trim();
            if let Some(rest) = line.strip_prefix("console:") {
                // "console:  http://127.0.0.1:PORT/  (user admin, password XYZ)"
                let rest = rest.trim();
                base = rest
                    .split_whitespace()
                    .next()
                    .map(|url| url.trim_end_matches('/').to_owned());
                password = rest
                    .split("password ")
                    .nth(1)
                    .map(|value| value.trim_end_matches(')').to_owned());
            }
            if let Some(rest) = line.strip_prefix("store:") {
                store = Some(PathBuf::from(rest.trim()));
            }
            if line.starts_with("press Ctrl-C") {
                break;
            }
        }
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in receiver.iter() {});
        Demo {
            child,
            base: base.expect("the demo prints the console address"),
            password: password.expect("the demo prints the admin password"),
            store: store.expect("the demo prints its store"),
            _directory: directory,
        }
    }

    /// Adds a user with a role to the demo's store (the server reads users from the store).
    fn add_user(&self, name: &str, role: &str, password: &str) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sessionscope"))
            .args([
                "user",
                "add",
                name,
                "--role",
                role,
                "--password-stdin",
                "--db",
            ])
            .arg(&self.store)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
        assert!(child.wait().unwrap().success(), "user add {name} failed");
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn screenshot_directories() -> Vec<PathBuf> {
    let mut directories = vec![Path::new(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots")];
    if std::env::var("SESSIONSCOPE_SCREENSHOTS").as_deref() == Ok("docs") {
        directories.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots"));
    }
    directories
}

async fn screenshot(browser: &Client, name: &str) {
    let png = browser.screenshot().await.unwrap();
    for directory in screenshot_directories() {
        std::fs::create_dir_all(&directory).unwrap();
        std::fs::write(directory.join(format!("{name}.png")), &png).unwrap();
    }
}

async fn find(browser: &Client, css: &str) -> Element {
    match browser
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(css))
        .await
    {
        Ok(element) => element,
        Err(error) => {
            let url = browser
                .current_url()
                .await
                .map(|url| url.to_string())
                .unwrap_or_default();
            screenshot(browser, "failure").await;
            panic!("no `{css}` on {url}: {error}");
        }
    }
}

async fn text_of(browser: &Client, css: &str) -> String {
    find(browser, css).await.text().await.unwrap()
}

async fn exists(browser: &Client, css: &str) -> bool {
    browser.find(Locator::Css(css)).await.is_ok()
}

async fn sign_in(browser: &Client, user: &str, password: &str) {
    find(browser, "#user").await.send_keys(user).await.unwrap();
    find(browser, "#password")
        .await
        .send_keys(password)
        .await
        .unwrap();
    find(browser, "form.login-card button[type=submit]")
        .await
        .click()
        .await
        .unwrap();
}

/// Cookie header for the browser's console login, so the test can download what the browser
/// would download.
async fn cookie_header(browser: &Client) -> String {
    browser
        .get_all_cookies()
        .await
        .unwrap()
        .iter()
        .map(|cookie| format!("{}={}", cookie.name(), cookie.value()))
        .collect::<Vec<_>>()
        .join("; ")
}

async fn hover(browser: &Client, element: &Element) {
    let pointer = MouseActions::new("pointer".to_owned()).then(PointerAction::MoveToElement {
        element: element.clone(),
        duration: None,
        x: 0.0,
        y: 0.0,
    });
    browser.perform_actions(pointer).await.unwrap();
}

async fn page_text(browser: &Client) -> String {
    text_of(browser, "body").await
}

/// Runs a browser session; the servers are started outside it because their readiness checks
/// block.
fn in_browser<F: std::future::Future<Output = ()>>(body: F) {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(body);
}

#[test]
fn sign_in_is_required_and_wrong_passwords_are_refused() {
    let demo = Demo::start(3_000);
    let driver = Driver::start();
    in_browser(sign_in_flow(&demo, &driver));
}

async fn sign_in_flow(demo: &Demo, driver: &Driver) {
    let browser = driver.browser().await;

    browser.goto(&demo.url("/sessions")).await.unwrap();
    assert!(browser
        .current_url()
        .await
        .unwrap()
        .path()
        .starts_with("/login"));
    sign_in(&browser, "admin", "not-the-password").await;
    assert!(text_of(&browser, ".form-error")
        .await
        .contains("Wrong user or password"));
    sign_in(&browser, "admin", &demo.password).await;
    find(&browser, "tr.session-row").await;
    assert_eq!(browser.current_url().await.unwrap().path(), "/sessions");

    // Signing out ends the login: the list asks for a sign-in again.
    find(&browser, "form[action='/logout'] button")
        .await
        .click()
        .await
        .unwrap();
    find(&browser, "#user").await;
    browser.goto(&demo.url("/sessions")).await.unwrap();
    assert!(browser
        .current_url()
        .await
        .unwrap()
        .path()
        .starts_with("/login"));
    browser.close().await.unwrap();
}

/// Status of a same-origin call made by the page's own script, with the login cookie and, for
/// POST, the login's CSRF token (as the console's scripts send it).
async fn fetch_status(browser: &Client, method: &str, path: &str, form: &str) -> u64 {
    let script = r#"
        const [method, path, form, done] = arguments;
        const headers = { "x-csrf-token": document.body.dataset.csrf || "" };
        const init = { method, headers, credentials: "same-origin" };
        if (method !== "GET") {
            headers["content-type"] = "application/x-www-form-urlencoded";
            init.body = form + "&csrf=" + encodeURIComponent(document.body.dataset.csrf || "");
        }
        fetch(path, init).then((response) => done(response.status), () => done(0));
    "#;
    let value = browser
        .execute_async(script, vec![json!(method), json!(path), json!(form)])
        .await
        .unwrap();
    value.as_u64().unwrap_or(0)
}

#[test]
fn roles_see_and_do_only_what_they_may() {
    let demo = Demo::start(3_000);
    demo.add_user("reader", "read_only", "reader-password-1");
    demo.add_user("developer", "api_developer", "developer-password-1");
    let driver = Driver::start();
    in_browser(roles_flow(&demo, &driver));
}

async fn roles_flow(demo: &Demo, driver: &Driver) {
    // api_developer: no sessions in the console, nor through the API with the console login.
    let browser = driver.browser().await;
    browser.goto(&demo.url("/")).await.unwrap();
    sign_in(&browser, "developer", "developer-password-1").await;
    find(&browser, ".topbar").await;
    assert!(!exists(&browser, "a.nav-link[href='/sessions']").await);
    assert!(page_text(&browser).await.contains("does not see sessions"));
    browser.goto(&demo.url("/sessions")).await.unwrap();
    assert!(!exists(&browser, "tr.session-row").await);
    assert!(page_text(&browser).await.to_lowercase().contains("may not"));
    assert_eq!(
        fetch_status(&browser, "GET", "/api/v1/sessions", "").await,
        403
    );
    browser.close().await.unwrap();

    // read_only: reads sessions, but the configuration is neither shown nor allowed.
    let browser = driver.browser().await;
    browser.goto(&demo.url("/")).await.unwrap();
    sign_in(&browser, "reader", "reader-password-1").await;
    find(&browser, "tr.session-row").await;
    assert!(!exists(&browser, "a.nav-link[href='/config']").await);
    browser.goto(&demo.url("/config")).await.unwrap();
    assert!(!exists(&browser, "form#config-keys").await);
    assert!(page_text(&browser).await.contains("admin"));
    assert_eq!(
        fetch_status(
            &browser,
            "POST",
            "/config/keys",
            "action=add&points=request.header.x-user"
        )
        .await,
        403
    );

    // Nor may it mark findings as false positives: the control is not shown.
    browser
        .goto(&demo.url("/sessions?attack_type=sqli"))
        .await
        .unwrap();
    find(&browser, "tr.session-row a.expand")
        .await
        .click()
        .await
        .unwrap();
    find(&browser, "table#requests tr.request-row a.request-link")
        .await
        .click()
        .await
        .unwrap();
    find(&browser, "#request-details table.attacks").await;
    for control in browser
        .find_all(Locator::Css("#request-details .fp-action"))
        .await
        .unwrap()
    {
        assert!(!control.is_displayed().await.unwrap());
    }
    browser.close().await.unwrap();
}

/// Every session request row's text in the request table, by request id.
async fn request_rows(browser: &Client) -> Vec<(String, String)> {
    let mut rows = Vec::new();
    for row in browser
        .find_all(Locator::Css("table#requests tr.request-row"))
        .await
        .unwrap()
    {
        let id = row
            .attr("data-request-id")
            .await
            .unwrap()
            .unwrap_or_default();
        rows.push((id, row.text().await.unwrap()));
    }
    rows
}

#[test]
fn an_analyst_filters_expands_shares_and_downloads() {
    let demo = Demo::start(20_000);
    let driver = Driver::start();
    in_browser(analyst_flow(&demo, &driver));
}

async fn analyst_flow(demo: &Demo, driver: &Driver) {
    let browser = driver.browser().await;
    browser.goto(&demo.url("/")).await.unwrap();
    sign_in(&browser, "admin", &demo.password).await;
    find(&browser, "tr.session-row").await;
    let unfiltered = find(&browser, "#session-count")
        .await
        .attr("data-total")
        .await
        .unwrap();
    screenshot(&browser, "session-list").await;

    // Time window: a preset narrows the list and lands in the URL.
    find(&browser, ".preset[data-window='6h']")
        .await
        .click()
        .await
        .unwrap();
    find(&browser, "tr.session-row").await;
    let url = browser.current_url().await.unwrap();
    assert!(url.query().unwrap_or("").contains("window=6h"), "{url}");
    let in_window: u64 = find(&browser, "#session-count")
        .await
        .attr("data-total")
        .await
        .unwrap()
        .unwrap()
        .parse()
        .unwrap();
    assert!(in_window > 0);
    assert!(in_window <= unfiltered.unwrap().parse::<u64>().unwrap());

    // Endpoint wildcard, typed after `/` focused the search box.
    find(&browser, "body").await.send_keys("/").await.unwrap();
    let focused = browser.active_element().await.unwrap();
    assert_eq!(
        focused.attr("id").await.unwrap().as_deref(),
        Some("endpoint-search")
    );
    focused.send_keys("/api/cart/*\u{E007}").await.unwrap();
    find(&browser, ".filter-chip").await;
    let url = browser.current_url().await.unwrap();
    assert!(url.query().unwrap_or("").contains("endpoint="), "{url}");
    assert!(url.query().unwrap_or("").contains("window=6h"), "{url}");
    let chips = text_of(&browser, "#active-filters").await;
    assert!(chips.contains("/api/cart/*"), "{chips}");
    let rows = browser
        .find_all(Locator::Css("tr.session-row"))
        .await
        .unwrap();
    assert!(
        !rows.is_empty(),
        "no session called /api/cart/* in the last 6 hours"
    );

    // Expand the first session: its details load in place and the URL says which is open.
    let first = &rows[0];
    let session_id = first.attr("data-session-id").await.unwrap().unwrap();
    first
        .find(Locator::Css("a.expand"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let details = find(&browser, "#session-details").await;
    assert!(details.text().await.unwrap().contains(&session_id));
    find(&browser, "svg#timeline").await;
    find(&browser, "table#requests tr.request-row").await;
    let url = browser.current_url().await.unwrap();
    assert!(
        url.query()
            .unwrap_or("")
            .contains(&format!("open={session_id}")),
        "{url}"
    );

    // In-session filter: "show only" the first method; every shown request has it.
    let first_method = find(&browser, ".stat-card[data-stat='method'] li.bar-item").await;
    let method = first_method
        .find(Locator::Css(".bar-value"))
        .await
        .unwrap()
        .attr("title")
        .await
        .unwrap();
    // "only" appears when the pointer is over the value, as a person would use it.
    hover(&browser, &first_method).await;
    first_method
        .find(Locator::Css("a.show-only"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    find(&browser, ".filter-chip.in-session").await;
    let url = browser.current_url().await.unwrap();
    assert!(url.query().unwrap_or("").contains("in.method="), "{url}");
    let rows = request_rows(&browser).await;
    assert!(!rows.is_empty());
    if let Some(method) = &method {
        for (_, text) in &rows {
            assert!(text.contains(method.as_str()), "{text} lacks {method}");
        }
    }

    // Open a request: its details show the key that grouped it, never a value.
    let request_id = rows[0].0.clone();
    find(&browser, "table#requests tr.request-row a.request-link")
        .await
        .click()
        .await
        .unwrap();
    let request = find(&browser, "#request-details").await;
    let request_text = request.text().await.unwrap();
    assert!(request_text.contains(&request_id), "{request_text}");
    assert!(!text_of(&browser, "#request-details .session-key")
        .await
        .is_empty());
    screenshot(&browser, "session-details").await;

    // Copy link: the URL reproduces the view in a fresh browser (after signing in there).
    find(&browser, "#copy-link").await.click().await.unwrap();
    let copied = find(&browser, "#copied-link")
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(copied, browser.current_url().await.unwrap().to_string());
    assert!(copied.contains("req="), "{copied}");

    let fresh = driver.browser().await;
    fresh.goto(&copied).await.unwrap();
    sign_in(&fresh, "admin", &demo.password).await;
    let reopened = find(&fresh, "#session-details").await;
    assert!(reopened.text().await.unwrap().contains(&session_id));
    assert_eq!(fresh.current_url().await.unwrap().to_string(), copied);
    assert_eq!(request_rows(&fresh).await, rows);
    assert!(text_of(&fresh, "#request-details")
        .await
        .contains(&request_id));
    assert!(exists(&fresh, ".filter-chip.in-session").await);
    fresh.close().await.unwrap();

    // Download CSV: the API's export of this session with the same filters.
    let href = find(&browser, "a#download-csv")
        .await
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    let cookies = cookie_header(&browser).await;
    let response = reqwest::Client::new()
        .get(demo.url(&href))
        .header("cookie", cookies)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{href}");
    let body = response.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let id_column = headers
        .iter()
        .position(|name| name == "id")
        .expect("id column");
    let method_column = headers
        .iter()
        .position(|name| name == "method")
        .expect("method column");
    let session_column = headers
        .iter()
        .position(|name| name == "session_id")
        .expect("session_id column");
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert!(records.len() >= rows.len());
    for record in &records {
        assert_eq!(&record[session_column], session_id.as_str());
        if let Some(method) = &method {
            assert_eq!(&record[method_column], method.as_str());
        }
    }
    for (id, _) in &rows {
        assert!(
            records.iter().any(|record| &record[id_column] == id),
            "{id} not in the CSV"
        );
    }

    // An attack: the list filtered by attack type, a session's attack, and what the request shows of it.
    browser
        .goto(&demo.url("/sessions?attack_type=sqli"))
        .await
        .unwrap();
    let attacked = find(&browser, "tr.session-row").await;
    assert!(
        text_of(&browser, "tr.session-row .attack-count")
            .await
            .parse::<u64>()
            .unwrap_or(0)
            > 0
    );
    attacked
        .find(Locator::Css("a.expand"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    find(
        &browser,
        "#session-details .stat-card[data-stat='attack_type'] li.bar-item",
    )
    .await;
    find(&browser, "table#requests tr.request-row a.request-link")
        .await
        .click()
        .await
        .unwrap();
    let attack = text_of(&browser, "#request-details table.attacks").await;
    assert!(attack.contains("sqli"), "{attack}");
    assert!(
        attack.contains("request."),
        "the finding names its point: {attack}"
    );
    // Its full content is kept, secrets masked, behind a collapsed section.
    let content = find(&browser, "#request-details details.full-content").await;
    content
        .find(Locator::Css("summary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert!(content.text().await.unwrap().contains("http"));
    browser
        .execute(
            "document.getElementById('request-details').scrollIntoView({block: 'start'}); window.scrollBy(0, -60);",
            vec![],
        )
        .await
        .unwrap();
    screenshot(&browser, "request-details").await;

    // Mark the first finding as a false positive, re-evaluate stored data: after a reload the
    // request has one finding less.
    let findings_before = browser
        .find_all(Locator::Css("#request-details table.attacks tbody tr"))
        .await
        .unwrap()
        .len();
    find(&browser, "#request-details .fp-mark")
        .await
        .click()
        .await
        .unwrap();
    find(&browser, "#request-details .fp-result.ok").await;
    let reevaluate = find(&browser, "#request-details .fp-action button:not(.fp-mark)").await;
    assert_eq!(reevaluate.text().await.unwrap(), "Re-evaluate stored data");
    reevaluate.click().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !text_of(&browser, "#request-details .fp-result")
        .await
        .contains("re-evaluated")
    {
        assert!(Instant::now() < deadline, "re-evaluation did not answer");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    browser.refresh().await.unwrap();
    find(&browser, "#request-details").await;
    let findings_after = browser
        .find_all(Locator::Css("#request-details table.attacks tbody tr"))
        .await
        .unwrap()
        .len();
    assert_eq!(findings_after + 1, findings_before);

    // Configuration: the point builder previews a header of recent traffic as it would be stored.
    find(&browser, "a.nav-link[href='/config']")
        .await
        .click()
        .await
        .unwrap();
    find(&browser, "form#config-keys").await;
    assert!(
        exists(&browser, "li.key-row").await,
        "the demo configuration has grouping keys"
    );
    find(&browser, "#pb-side option[value='request']")
        .await
        .click()
        .await
        .unwrap();
    find(&browser, "#pb-kind option[value='header']")
        .await
        .click()
        .await
        .unwrap();
    find(&browser, "#pb-name")
        .await
        .send_keys("user-agent")
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let point = text_of(&browser, "#pb-point").await;
        let preview = text_of(&browser, "#pb-preview").await;
        if point.contains("request.header.user-agent") && preview.contains("stored clear") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no preview: point `{point}`, preview `{preview}`"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    screenshot(&browser, "configuration").await;

    // A credential previews as the hash the store keeps, never in clear.
    let name = find(&browser, "#pb-name").await;
    name.clear().await.unwrap();
    name.send_keys("authorization").await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let preview = text_of(&browser, "#pb-preview").await;
        if text_of(&browser, "#pb-point")
            .await
            .contains("authorization")
            && preview.contains("hashed")
        {
            assert!(!preview.contains("Bearer ey"), "{preview}");
            break;
        }
        assert!(Instant::now() < deadline, "no hashed preview: `{preview}`");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    browser.close().await.unwrap();
}
