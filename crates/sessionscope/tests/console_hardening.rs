//! Traffic values are data, never markup: exchanges whose paths, user agents, query values,
//! JSON bodies, header values (a clear context parameter) and user names (a User context
//! parameter) hold script and markup payloads are ingested with the real binary, served with
//! `sessionscope serve`, and every console page that shows them (the session list, an open
//! session with its statistics and timeline, request details, the configuration page's point
//! builder preview) is rendered in a real headless Chromium. No payload may run (each would set
//! `window.__xss` and `document.title`), none may add an element or an event handler attribute
//! to the page, and the payload text must be shown as text.
//!
//! The content security policy would stop an inline script even if escaping failed, so the test
//! also checks the DOM itself: no `img`, `svg` or `script` element and no `on*` attribute that
//! the payloads would have created, no `javascript:` link.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::browser::Driver;
use common::{binary, path_str, run_ok, Server};
use fantoccini::{Client, Locator};
use serde_json::json;

/// Each payload would set `window.__xss` to its number and the title to `pwned N`.
fn payloads() -> Vec<String> {
    vec![
        "<script>window.__xss=1;document.title='pwned 1'</script>".into(),
        "\"><img src=x onerror=\"window.__xss=2;document.title='pwned 2'\">".into(),
        "'><img src=x onerror='window.__xss=3;document.title=`pwned 3`'>".into(),
        "javascript:window.__xss=4;document.title='pwned 4'".into(),
        "</textarea><script>window.__xss=5</script>".into(),
        "<svg onload=\"window.__xss=6;document.title='pwned 6'\">".into(),
        "\" autofocus onfocus=\"window.__xss=7\" x=\"".into(),
        "' autofocus onfocus='window.__xss=8' x='".into(),
    ]
}

/// A payload without spaces, for a URL path (`/` stands in for the space, as browsers accept).
const PATH_PAYLOAD: &str = "<svg/onload=window.__xss=9>";

fn percent_encode(text: &str) -> String {
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

/// One session per payload, three requests each, a few minutes ago.
fn write_traffic(path: &Path) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let mut lines = String::new();
    for (index, payload) in payloads().iter().enumerate() {
        for step in 0..3 {
            let ts = now - 600.0 + (index * 10 + step) as f64;
            let url = format!(
                "https://api.shop.example/v1/items/{PATH_PAYLOAD}/{step}?q={}&page=2",
                percent_encode(payload)
            );
            let line = json!({
                "id": format!("xss-{index}-{step}"),
                "ts": ts,
                "client_ip": "203.0.113.9",
                "request": {
                    "method": "POST",
                    "url": url,
                    "headers": [
                        ["user-agent", format!("Mozilla/5.0 {payload}")],
                        ["content-type", "application/json"],
                        ["x-session", format!("session-{index}")],
                        ["x-user", payload],
                        ["x-tenant", payload],
                    ],
                    "body": json!({"name": payload, "note": "<b>bold</b>"}).to_string(),
                },
                "response": {"status": 200, "duration_ms": 5.0, "size": 10},
            });
            lines.push_str(&line.to_string());
            lines.push('\n');
        }
    }
    std::fs::write(path, lines).unwrap();
}

const CONFIG: &str = r#"
[[session_keys]]
points = ["request.header.x-session"]

[[context]]
name = "user"
point = "request.header.x-user"
type = "user"

[[context]]
name = "tenant"
point = "request.header.x-tenant"
"#;

/// What a page did with the payloads, read in the browser.
async fn page_report(browser: &Client) -> serde_json::Value {
    browser
        .execute(
            r#"
            const onAttributes = [];
            for (const element of document.querySelectorAll("*")) {
                for (const attribute of element.attributes) {
                    if (attribute.name.startsWith("on")) onAttributes.push(element.tagName + " " + attribute.name);
                }
            }
            return {
                xss: window.__xss === undefined ? null : window.__xss,
                title: document.title,
                injectedImages: document.querySelectorAll("img[src='x']").length,
                svgWithOnload: document.querySelectorAll("svg[onload]").length,
                inlineScripts: Array.from(document.scripts).filter((script) => !script.src).length,
                onAttributes,
                javascriptLinks: Array.from(document.querySelectorAll("a[href]"))
                    .filter((link) => link.getAttribute("href").trim().toLowerCase().startsWith("javascript:")).length,
                injectedBold: Array.from(document.querySelectorAll("b")).filter((element) => element.textContent === "bold").length,
                allText: document.documentElement.textContent,
                text: document.body.innerText + "\n" + Array.from(document.querySelectorAll("[title]")).map((element) => element.title).join("\n"),
            };
            "#,
            vec![],
        )
        .await
        .unwrap()
}

/// Loads a page, waits for its scripts to settle, and checks that nothing ran or was injected
/// and that each expected piece of payload text is visible as text.
async fn check_page(browser: &Client, url: &str, shown: &[&str]) -> serde_json::Value {
    browser.goto(url).await.unwrap();
    browser
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("body"))
        .await
        .unwrap();
    // Fragments (the point builder preview, an expanded session) load after the page: the
    // page is ready once every expected piece of text is shown (or 20 s have passed, and the
    // assertions below say what is missing).
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let report = loop {
        let report = page_report(browser).await;
        let text = report["text"].as_str().unwrap_or("");
        let ready = shown.iter().all(|piece| text.contains(piece));
        if ready || std::time::Instant::now() > deadline {
            break report;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        report["xss"],
        serde_json::Value::Null,
        "a payload ran on {url}"
    );
    let title = report["title"].as_str().unwrap_or("");
    assert!(
        title.ends_with("· sessionscope") && !title.contains("pwned"),
        "the title changed on {url}: {title}"
    );
    assert_eq!(report["injectedImages"], 0, "{url}: an injected img");
    assert_eq!(report["svgWithOnload"], 0, "{url}: an injected svg");
    assert_eq!(report["inlineScripts"], 0, "{url}: an inline script");
    assert_eq!(
        report["onAttributes"],
        json!([]),
        "{url}: event handler attributes"
    );
    assert_eq!(report["javascriptLinks"], 0, "{url}: a javascript: link");
    assert_eq!(report["injectedBold"], 0, "{url}: markup from a body");
    let text = report["text"].as_str().unwrap_or("");
    for piece in shown {
        assert!(
            text.contains(piece),
            "{url} does not show `{piece}` as text; it shows:\n{text}"
        );
    }
    report
}

async fn sign_in(browser: &Client, base: &str, password: &str) {
    browser.goto(&format!("{base}/login")).await.unwrap();
    browser
        .find(Locator::Css("#user"))
        .await
        .unwrap()
        .send_keys("admin")
        .await
        .unwrap();
    browser
        .find(Locator::Css("#password"))
        .await
        .unwrap()
        .send_keys(password)
        .await
        .unwrap();
    browser
        .find(Locator::Css("form.login-card button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(".topbar"))
        .await
        .unwrap();
}

async fn hrefs(browser: &Client, css: &str) -> Vec<String> {
    let mut found = Vec::new();
    for element in browser.find_all(Locator::Css(css)).await.unwrap() {
        if let Ok(Some(href)) = element.attr("href").await {
            found.push(href);
        }
    }
    found
}

#[test]
fn script_and_markup_in_traffic_values_are_rendered_inert_on_every_page() {
    let directory = tempfile::tempdir().unwrap();
    let traffic = directory.path().join("traffic.ndjson");
    let config = directory.path().join("config.toml");
    let database = directory.path().join("s.db");
    write_traffic(&traffic);
    std::fs::write(&config, CONFIG).unwrap();
    let db = path_str(&database);
    let summary = run_ok(&[
        "ingest",
        "--db",
        db,
        "--config",
        path_str(&config),
        path_str(&traffic),
    ]);
    assert!(summary.contains("24"), "{summary}");
    let password = "admin-password-1";
    let mut child = binary()
        .args([
            "user",
            "add",
            "admin",
            "--role",
            "admin",
            "--password-stdin",
            "--db",
            db,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    assert!(child.wait().unwrap().success());

    let server = Server::start(&["--db", path_str(&database), "--config", path_str(&config)]);
    let driver = Driver::start();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let browser = driver.browser().await;
            sign_in(&browser, &server.base, password).await;
            let base = &server.base;

            // The list: user names and endpoints of every session.
            let list = format!("{base}/sessions?window=1h");
            check_page(
                &browser,
                &list,
                &["<script>window.__xss=1", "\"><img src=x onerror="],
            )
            .await;
            // Filtered by a payload value, which then shows in the filter bar and its chips.
            let filtered = format!(
                "{base}/sessions?window=1h&user={}",
                percent_encode(&payloads()[1])
            );
            check_page(&browser, &filtered, &["\"><img src=x onerror="]).await;

            // Every session opened: statistics (user agents, users, endpoints), the timeline, the
            // request table.
            browser.goto(&list).await.unwrap();
            let sessions = hrefs(&browser, "tr.session-row a.expand").await;
            assert_eq!(sessions.len(), payloads().len(), "one session per payload");
            for href in &sessions {
                let url = format!("{base}{href}");
                check_page(&browser, &url, &[PATH_PAYLOAD, "window.__xss="]).await;
                let timeline = browser.find(Locator::Css("svg")).await;
                assert!(timeline.is_ok(), "{url} shows a timeline");
            }

            // Request details of a request of every session (headers, query, context, attacks):
            // opened inside the session, and on their own page.
            let mut requests = Vec::new();
            for href in &sessions {
                browser.goto(&format!("{base}{href}")).await.unwrap();
                let links = hrefs(&browser, "a.request-link").await;
                requests.extend(links.into_iter().take(1));
            }
            assert_eq!(requests.len(), payloads().len(), "{requests:?}");
            requests.extend((0..payloads().len()).map(|index| format!("/requests/xss-{index}-0")));
            for href in &requests {
                let url = format!("{base}{href}");
                let report = check_page(&browser, &url, &[PATH_PAYLOAD, "Mozilla/5.0 "]).await;
                // The stored full content (folded away until opened) holds the JSON body, as text.
                let all_text = report["allText"].as_str().unwrap_or("");
                assert!(
                    all_text.contains("<b>bold</b>"),
                    "{url} lacks the body's text"
                );
            }
            // Every payload shows whole, as text, on the details of its own request, where the
            // user, the header, the query and the body all carry it.
            for (index, payload) in payloads().iter().enumerate() {
                let url = format!("{base}/requests/xss-{index}-0");
                check_page(&browser, &url, &[payload.as_str()]).await;
            }

            // The point builder previews sample values of the payload header.
            let preview = format!("{base}/config?pb_side=request&pb_kind=header&pb_name=x-tenant");
            check_page(
                &browser,
                &preview,
                &["window.__xss=", "stored clear", PATH_PAYLOAD],
            )
            .await;
            let preview =
                format!("{base}/config?pb_side=request&pb_kind=header&pb_name=user-agent");
            check_page(&browser, &preview, &["Mozilla/5.0 "]).await;
            browser.close().await.unwrap();
        });
}
