//! No session-key value and no credential is recoverable from what sessionscope keeps
//! (DESIGN.md: the raw value of a key never reaches the store or a log line): traffic with a
//! unique value planted in every kind of key point and credential, under a configuration with
//! user keys on a header, a query parameter, a JSON body field, a JWT claim, a composite key
//! and a response point and with hashed context parameters, plus attack payloads in the same
//! requests (so their full content is stored), is ingested with trace logging, served and read
//! through the API, and exported; then the store file, its WAL (copied while the server holds
//! it open), the logs and the exports are searched for each value in clear, percent-encoded,
//! JSON-escaped and base64 (standard and url-safe, at every alignment).

use std::path::{Path, PathBuf};

mod common;
use common::{binary, path_str, run_ok, text, Server};

const CONFIG: &str = r#"
[[session_keys]]
points = ["request.header.x-tenant-ref"]

[[session_keys]]
points = ["request.query.acct"]

[[session_keys]]
points = ["request.json.account.ref"]

[[session_keys]]
points = ["request.header.x-device.jwt.dev"]

[[session_keys]]
points = ["request.header.x-shop", "request.header.x-branch"]

[[session_keys]]
points = ["response.json.data.handle"]

[[context]]
name = "user"
point = "request.header.authorization.jwt.sub"
type = "user"

[[context]]
name = "email"
point = "request.json.email"
hashed = true

[[context]]
name = "phone"
point = "request.query.phone"
hashed = true

[[context]]
name = "customer"
point = "request.header.x-customer"
type = "user"
hashed = true
"#;

/// Standard base64 without padding (url-safe is derived from it).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let mut block = [0u8; 3];
        block[..chunk.len()].copy_from_slice(chunk);
        let bits = (block[0] as u32) << 16 | (block[1] as u32) << 8 | block[2] as u32;
        for index in 0..chunk.len() + 1 {
            out.push(ALPHABET[(bits >> (18 - 6 * index) & 63) as usize] as char);
        }
    }
    out
}

fn base64_url(bytes: &[u8]) -> String {
    base64(bytes).replace('+', "-").replace('/', "_")
}

/// A JWS with the given claims (the signature is not checked by sessionscope).
fn jwt(claims: &str) -> String {
    format!(
        "{}.{}.{}",
        base64_url(br#"{"alg":"HS256","typ":"JWT"}"#),
        base64_url(claims.as_bytes()),
        base64_url(b"signature-of-the-test-token")
    )
}

fn percent_encoded(value: &str) -> String {
    let mut out = String::new();
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Every form in which `value` could sit in kept bytes: clear, percent-encoded (upper and
/// lower case), JSON-escaped, and base64 / base64url at each of the three alignments it can
/// have inside a longer base64 text (only the characters that depend on the value alone).
fn forms(value: &str) -> Vec<String> {
    let mut forms = vec![
        value.to_string(),
        percent_encoded(value),
        percent_encoded(value).to_lowercase(),
        serde_json::to_string(value)
            .unwrap()
            .trim_matches('"')
            .to_string(),
    ];
    for offset in 0..3 {
        let shifted = [vec![0u8; offset], value.as_bytes().to_vec()].concat();
        let encoded = base64(&shifted);
        let skip = (offset * 8).div_ceil(6);
        let end = shifted.len() * 8 / 6;
        if end > skip + 6 {
            let stable = &encoded[skip..end];
            forms.push(stable.to_string());
            forms.push(stable.replace('+', "-").replace('/', "_"));
        }
    }
    forms.sort();
    forms.dedup();
    forms
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

struct Planted {
    /// What the value is, for the failure message.
    what: &'static str,
    value: String,
}

fn planted(what: &'static str, value: &str) -> Planted {
    Planted {
        what,
        value: value.to_string(),
    }
}

/// One exchange line; `request` and `response` are JSON objects as text.
fn line(id: &str, second: u32, request: serde_json::Value, response: serde_json::Value) -> String {
    serde_json::json!({
        "id": id,
        "ts": format!("2026-11-22T10:00:{second:02}Z"),
        "client_ip": "203.0.113.9",
        "request": request,
        "response": response,
    })
    .to_string()
}

/// The traffic: every planted value in its own kind of place, each request with an attack.
fn traffic() -> (Vec<String>, Vec<Planted>, String) {
    let sid = "sidclaim-planted-A1b2C3";
    let sub = "visible-user-sub-77";
    let device = "devclaim-planted-D4e5F6";
    let bearer = jwt(&format!(
        r#"{{"sub":"{sub}","sid":"{sid}","exp":1795341600}}"#
    ));
    let device_token = jwt(&format!(r#"{{"dev":"{device}","model":"phone"}}"#));
    let basic = format!("Basic {}==", base64(b"ann:basicpw-planted-G7h8"));
    let secrets = vec![
        planted("the `sid` claim of a bearer JWT (built-in key)", sid),
        planted(
            "a bearer JWT's signature",
            &bearer[bearer.rfind('.').unwrap() + 1..],
        ),
        planted("a JWT claim read by a user key", device),
        planted("a header user key", "tenantref-planted-J9k0"),
        planted("a query user key", "acctkey-planted-L1m2"),
        planted("a JSON body user key", "jsonref-planted-N3o4"),
        planted("the first point of a composite key", "shopkey-planted-P5q6"),
        planted(
            "the second point of a composite key",
            "branchkey-planted-R7s8",
        ),
        planted("a response body user key", "handle-planted-T9u0"),
        planted(
            "a hashed JSON context parameter",
            "email-planted-V1w2@example.com",
        ),
        planted("a hashed query context parameter", "phone-planted-X3y4"),
        planted("a hashed User context parameter", "customer-planted-Z5a6"),
        planted("a session cookie", "phpsess-planted-B7c8"),
        planted("a session header (built-in key)", "xsessid-planted-D9e0"),
        planted("an API-key header", "apikey-planted-F1g2"),
        planted("an Authorization Basic password", "basicpw-planted-G7h8"),
        planted("a JSON password", "jsonpw-planted-H3i4"),
        planted("a form password", "formpw-planted-J5k6"),
        planted("a cookie set by the response", "setcookie-planted-L7m8"),
        planted("a token issued in a login response", "issued-planted-N9o0"),
        planted("a card number", "4111111111111111"),
    ];
    let value = |what: &str| {
        secrets
            .iter()
            .find(|planted| planted.what == what)
            .unwrap()
            .value
            .clone()
    };
    let sqli = "' OR 1=1 --";
    let xss = "<script>alert(document.cookie)</script>";
    let lines = vec![
        // Built-in bearer key: the session is the token's `sid` claim.
        line(
            "b1",
            1,
            serde_json::json!({"method": "GET", "url": format!("https://api.example.com/v1/orders?q={}", percent_encoded(sqli)),
                "headers": [["authorization", format!("Bearer {bearer}")], ["user-agent", "app/1"]]}),
            serde_json::json!({"status": 200}),
        ),
        // User key on a header, with a Basic credential beside it.
        line(
            "h1",
            2,
            serde_json::json!({"method": "GET", "url": format!("https://api.example.com/v1/items?q={}", percent_encoded(xss)),
                "headers": [["x-tenant-ref", value("a header user key")], ["authorization", basic], ["x-customer", value("a hashed User context parameter")]]}),
            serde_json::json!({"status": 200}),
        ),
        // User key on a query parameter, a hashed query parameter.
        line(
            "q1",
            3,
            serde_json::json!({"method": "GET", "url": format!("https://api.example.com/v1/search?acct={}&phone={}&q={}",
                value("a query user key"), value("a hashed query context parameter"), percent_encoded(sqli)),
                "headers": [["x-api-key", value("an API-key header")]]}),
            serde_json::json!({"status": 200}),
        ),
        // User key on a JSON body field, a hashed JSON parameter, a password and a card.
        line(
            "j1",
            4,
            serde_json::json!({"method": "POST", "url": "https://api.example.com/v1/payments",
                "headers": [["content-type", "application/json"]],
                "body": serde_json::json!({"account": {"ref": value("a JSON body user key")}, "email": value("a hashed JSON context parameter"),
                    "password": value("a JSON password"), "card": value("a card number"), "comment": xss}).to_string()}),
            serde_json::json!({"status": 201}),
        ),
        // User key on a JWT claim in a header of its own.
        line(
            "d1",
            5,
            serde_json::json!({"method": "GET", "url": format!("https://api.example.com/v1/device?q={}", percent_encoded(sqli)),
                "headers": [["x-device", device_token]]}),
            serde_json::json!({"status": 200}),
        ),
        // A composite key.
        line(
            "c1",
            6,
            serde_json::json!({"method": "GET", "url": format!("https://api.example.com/v1/stock?q={}", percent_encoded(xss)),
                "headers": [["x-shop", value("the first point of a composite key")], ["x-branch", value("the second point of a composite key")]]}),
            serde_json::json!({"status": 200}),
        ),
        // User key on a response point (a handle issued at login), and a form password.
        line(
            "r1",
            7,
            serde_json::json!({"method": "POST", "url": format!("https://api.example.com/v1/login?next={}", percent_encoded(xss)),
                "headers": [["content-type", "application/x-www-form-urlencoded"]],
                "body": format!("username=ann&password={}", value("a form password"))}),
            serde_json::json!({"status": 200, "headers": [["content-type", "application/json"], ["set-cookie", format!("PHPSESSID={}; Path=/; HttpOnly", value("a cookie set by the response"))]],
                "body": serde_json::json!({"data": {"handle": value("a response body user key")}, "access_token": value("a token issued in a login response")}).to_string()}),
        ),
        // Built-in cookie and session header keys.
        line(
            "k1",
            8,
            serde_json::json!({"method": "GET", "url": format!("https://www.example.com/account?q={}", percent_encoded(sqli)),
                "headers": [["cookie", format!("PHPSESSID={}; theme=dark", value("a session cookie"))], ["x-session-id", value("a session header (built-in key)")]]}),
            serde_json::json!({"status": 200}),
        ),
    ];
    (lines, secrets, sub.to_string())
}

/// The store file and its WAL as they are now (copied, so a later checkpoint changes nothing).
fn store_files(db: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for suffix in ["", "-wal"] {
        let path = PathBuf::from(format!("{}{suffix}", db.display()));
        if let Ok(bytes) = std::fs::read(&path) {
            files.push((format!("store file `{}`", path.display()), bytes));
        }
    }
    files
}

#[test]
fn no_key_value_or_credential_is_recoverable_from_the_store_the_wal_the_logs_or_exports() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let config = dir.path().join("c.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let (lines, secrets, _) = traffic();
    let input = dir.path().join("traffic.ndjson");
    // One line is broken, so a rejection (with its reason) is logged as well.
    let broken = format!(
        r#"{{"id":"bad","ts":"nope","request":{{"method":"GET","url":"/x","headers":[["x-tenant-ref","{}"]]}}}}"#,
        secrets[3].value
    );
    std::fs::write(&input, lines.join("\n") + "\n" + &broken + "\n").unwrap();

    let mut places: Vec<(String, Vec<u8>)> = Vec::new();
    // The store exists before the ingest, and this connection stays open through it: the
    // ingest's close is then not the last one, so SQLite keeps its WAL (every page the ingest
    // wrote) instead of checkpointing it away, and the WAL is searched as the ingest left it.
    run_ok(&["--db", path_str(&db), "user", "list"]);
    let holder = rusqlite::Connection::open(&db).unwrap();
    let journal: String = holder
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    assert_eq!(journal, "wal");
    let ingest = binary()
        .args([
            "--db",
            path_str(&db),
            "--config",
            path_str(&config),
            "-vvv",
            "ingest",
            path_str(&input),
        ])
        .env("SESSIONSCOPE_LOG", "trace")
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    assert!(ingest.status.success(), "{}", text(&ingest.stderr));
    places.push((
        "ingest output".into(),
        [ingest.stdout, ingest.stderr].concat(),
    ));
    let after_ingest = store_files(&db);
    let wal = after_ingest
        .iter()
        .find(|(name, _)| name.ends_with("-wal`"))
        .map(|(_, bytes)| bytes.as_slice())
        .unwrap_or_default();
    assert!(
        contains(wal, "api.example.com"),
        "the WAL holds the ingest's pages ({} bytes)",
        wal.len()
    );
    places.extend(
        after_ingest
            .into_iter()
            .map(|(name, bytes)| (format!("{name} after the ingest"), bytes)),
    );
    drop(holder);

    let token = run_ok(&["--db", path_str(&db), "token", "create", "--role", "admin"])
        .lines()
        .last()
        .unwrap()
        .to_string();
    let server_log = dir.path().join("serve.log");
    let mut serve = binary();
    serve
        .args(["--db", path_str(&db), "--config", path_str(&config)])
        .env("SESSIONSCOPE_LOG", "trace")
        .env("RUST_LOG", "trace")
        .stderr(std::fs::File::create(&server_log).unwrap());
    let server = Server::spawn(serve);
    let client = reqwest::blocking::Client::new();
    let get = |path: &str| {
        let response = client
            .get(format!("{}{path}", server.base))
            .bearer_auth(&token)
            .send()
            .unwrap();
        let status = response.status();
        let body = response.text().unwrap();
        (status, body)
    };
    let mut answers = Vec::new();
    let (status, sessions) =
        get("/api/v1/sessions?from=2026-11-22T00:00:00Z&to=2026-11-23T00:00:00Z&limit=100");
    assert_eq!(status, 200, "{sessions}");
    let listed: serde_json::Value = serde_json::from_str(&sessions).unwrap();
    let session_ids: Vec<String> = listed["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|session| session["session_id"].as_str().or(session["id"].as_str()))
        .map(str::to_string)
        .collect();
    assert!(!session_ids.is_empty(), "{sessions}");
    answers.push(sessions);
    for session in &session_ids {
        for path in [
            format!("/api/v1/sessions/{session}?from=2026-11-22T00:00:00Z&to=2026-11-23T00:00:00Z"),
            format!("/api/v1/sessions/{session}/stats?from=2026-11-22T00:00:00Z&to=2026-11-23T00:00:00Z"),
            format!("/api/v1/sessions/{session}/requests?from=2026-11-22T00:00:00Z&to=2026-11-23T00:00:00Z"),
        ] {
            answers.push(get(&path).1);
        }
    }
    let mut contents = 0;
    for id in ["b1", "h1", "q1", "j1", "d1", "c1", "r1", "k1"] {
        let (status, details) = get(&format!("/api/v1/requests/{id}"));
        assert_eq!(status, 200, "request `{id}`: {details}");
        answers.push(details);
        let (status, content) = get(&format!("/api/v1/requests/{id}/content"));
        if status == 200 {
            contents += 1;
        }
        answers.push(content);
    }
    assert!(
        contents >= 6,
        "the attacked requests keep their content ({contents} do)"
    );
    for export in [
        "/api/v1/export/requests?from=2026-11-22T00:00:00Z&to=2026-11-23T00:00:00Z&format=ndjson",
        "/api/v1/export/requests?from=2026-11-22T00:00:00Z&to=2026-11-23T00:00:00Z&format=csv",
        "/api/v1/export/sessions?from=2026-11-22T00:00:00Z&to=2026-11-23T00:00:00Z&format=ndjson",
    ] {
        answers.push(get(export).1);
    }
    places.push(("API answers".into(), answers.join("\n").into_bytes()));
    // While the server holds the store open, the WAL still has what was written last.
    places.extend(store_files(&db));
    drop(server);
    places.push((
        "server log".into(),
        std::fs::read(&server_log).unwrap_or_default(),
    ));

    for (kind, format) in [
        ("requests", "ndjson"),
        ("requests", "csv"),
        ("sessions", "ndjson"),
        ("sessions", "csv"),
    ] {
        let exported = run_ok(&[
            "--db",
            path_str(&db),
            "export",
            kind,
            "--format",
            format,
            "--from",
            "2026-11-22T00:00:00Z",
            "--to",
            "2026-11-23T00:00:00Z",
        ]);
        places.push((format!("export {kind} {format}"), exported.into_bytes()));
    }
    // The store after the server closed it (a checkpoint may have moved the WAL into it).
    for (name, bytes) in store_files(&db) {
        places.push((format!("{name} after close"), bytes));
    }

    let requests = places
        .iter()
        .find(|(name, _)| name == "export requests ndjson")
        .map(|(_, bytes)| text(bytes))
        .unwrap();
    assert_eq!(
        requests.lines().count(),
        8,
        "every exchange is stored: {requests}"
    );
    assert!(
        places
            .iter()
            .any(|(name, bytes)| name.starts_with("store file") && contains(bytes, "/v1/payments")),
        "the store holds the traffic"
    );

    let mut leaks = Vec::new();
    for secret in &secrets {
        for form in forms(&secret.value) {
            for (place, bytes) in &places {
                if contains(bytes, &form) {
                    leaks.push(format!(
                        "{} (`{}`) is in the {place} as `{form}`",
                        secret.what, secret.value
                    ));
                }
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "planted values leaked:\n{}",
        leaks.join("\n")
    );
}

#[test]
fn the_point_builder_still_previews_claim_names_and_clear_context_claims() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let config = dir.path().join("c.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let (lines, _, sub) = traffic();
    let input = dir.path().join("traffic.ndjson");
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    run_ok(&[
        "--db",
        path_str(&db),
        "--config",
        path_str(&config),
        "ingest",
        path_str(&input),
    ]);
    let samples = {
        use sessionscope_store::Store as _;
        sessionscope_store::SqliteStore::open(&db)
            .unwrap()
            .samples()
            .unwrap()
    };
    let analyzer = sessionscope_analyze::Analyzer::new(Default::default(), [0; 32]);
    let preview = |point: &str| {
        let point: sessionscope_analyze::Point = point.parse().unwrap();
        samples.iter().find_map(|line| {
            let sample = sessionscope_ingest::parse_exchange_line(line.as_bytes(), 1).ok()?;
            analyzer.preview_sample(&point, &sample)
        })
    };
    // The clear context claim previews with its value.
    assert_eq!(
        preview("request.header.authorization.jwt.sub").map(|(value, _)| value),
        Some(sub),
        "{samples:?}"
    );
    // The other claims are still there by name (and type), without their values.
    let (sid, stored_as) =
        preview("request.header.authorization.jwt.sid").expect("the sid claim is named");
    assert_eq!(
        (sid.as_str(), stored_as),
        ("***", sessionscope_model::StoredAs::Masked)
    );
    assert_eq!(
        preview("request.header.authorization.jwt.exp").map(|(value, _)| value),
        Some("0".to_string())
    );
    assert_eq!(
        preview("request.header.x-device.jwt.model").map(|(value, _)| value),
        Some("***".to_string())
    );
    // A hashed parameter previews as its stored hash, not as its value.
    let (_, stored_as) = preview("request.json.email").expect("the email point previews");
    assert_eq!(stored_as, sessionscope_model::StoredAs::Hashed);
}
