//! End-to-end tests through the real binary: generate, ingest, read back, compare with truth.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;

const SHARED_DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data");

mod common;
use common::{binary, path_str, run, run_ok, text};

/// The number after a label in the ingest summary, e.g. `rejected  0`.
fn summary_number(stdout: &str, label: &str) -> u64 {
    let line = stdout
        .lines()
        .find(|line| line.starts_with(label))
        .unwrap_or_else(|| panic!("no `{label}` line in:\n{stdout}"));
    let digits: String = line[label.len()..]
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ',')
        .filter(|c| *c != ',')
        .collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("no number in `{line}`"))
}

fn export_requests(db: &Path) -> Vec<serde_json::Value> {
    let stdout = run_ok(&[
        "--db",
        path_str(db),
        "export",
        "requests",
        "--format",
        "ndjson",
    ]);
    stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("export lines are JSON"))
        .collect()
}

fn choose2(n: u64) -> f64 {
    (n as f64) * (n.saturating_sub(1) as f64) / 2.0
}

/// Pairwise precision and recall of a grouping against the truth, from the contingency table.
fn pairwise_f1(assignments: &[(String, String)]) -> (f64, f64, f64) {
    let mut both: HashMap<(&str, &str), u64> = HashMap::new();
    let mut truth: HashMap<&str, u64> = HashMap::new();
    let mut predicted: HashMap<&str, u64> = HashMap::new();
    for (truth_label, predicted_label) in assignments {
        *both.entry((truth_label, predicted_label)).or_default() += 1;
        *truth.entry(truth_label).or_default() += 1;
        *predicted.entry(predicted_label).or_default() += 1;
    }
    let true_pairs: f64 = both.values().map(|n| choose2(*n)).sum();
    let truth_pairs: f64 = truth.values().map(|n| choose2(*n)).sum();
    let predicted_pairs: f64 = predicted.values().map(|n| choose2(*n)).sum();
    let precision = true_pairs / predicted_pairs;
    let recall = true_pairs / truth_pairs;
    (
        precision,
        recall,
        2.0 * precision * recall / (precision + recall),
    )
}

#[test]
fn generated_sessions_users_and_roles_match_the_ground_truth() {
    let dir = tempfile::tempdir().unwrap();
    let traffic = dir.path().join("traffic.ndjson");
    let truth = dir.path().join("truth.ndjson");
    let config = dir.path().join("demo.toml");
    let db = dir.path().join("s.db");
    run_ok(&[
        "generate",
        "--requests",
        "30000",
        "--seed",
        "11",
        "--start",
        "2026-11-20T12:00:00Z",
        "--out",
        path_str(&traffic),
        "--truth",
        path_str(&truth),
    ]);
    std::fs::write(&config, run_ok(&["generate", "--print-config"])).unwrap();
    let summary = run_ok(&[
        "--db",
        path_str(&db),
        "--config",
        path_str(&config),
        "ingest",
        path_str(&traffic),
    ]);
    assert_eq!(summary_number(&summary, "rejected"), 0);
    assert_eq!(summary_number(&summary, "accepted"), 30_000);

    let exported: HashMap<String, serde_json::Value> = export_requests(&db)
        .into_iter()
        .map(|row| (row["id"].as_str().unwrap().to_string(), row))
        .collect();
    assert_eq!(exported.len(), 30_000);

    let mut assignments = Vec::new();
    let (mut authenticated, mut users_right, mut roles_right) = (0u64, 0u64, 0u64);
    for line in BufReader::new(std::fs::File::open(&truth).unwrap()).lines() {
        let truth: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
        let id = truth["id"].as_str().unwrap();
        let row = exported
            .get(id)
            .unwrap_or_else(|| panic!("exchange {id} was not exported"));
        assignments.push((
            truth["session"].as_str().unwrap().to_string(),
            row["session_id"].as_str().unwrap().to_string(),
        ));
        if let Some(user) = truth["user"].as_str() {
            authenticated += 1;
            if row["user"].as_str() == Some(user) {
                users_right += 1;
            }
            let mut expected: Vec<String> = truth["roles"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r.as_str().unwrap().to_string())
                .collect();
            expected.sort();
            let got: Vec<String> = row["roles"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r.as_str().unwrap().to_string())
                .collect();
            if got == expected {
                roles_right += 1;
            }
        }
    }
    let (precision, recall, f1) = pairwise_f1(&assignments);
    eprintln!("pairwise precision {precision:.4} recall {recall:.4} f1 {f1:.4}");
    assert!(
        f1 >= 0.99,
        "pairwise F1 {f1:.4} (precision {precision:.4}, recall {recall:.4}) is below 0.99"
    );
    assert!(
        authenticated > 1_000,
        "only {authenticated} authenticated exchanges in the truth"
    );
    let user_share = users_right as f64 / authenticated as f64;
    let role_share = roles_right as f64 / authenticated as f64;
    eprintln!("users right {user_share:.4}, roles right {role_share:.4} of {authenticated}");
    assert!(
        user_share >= 0.99,
        "users right for only {user_share:.4} of authenticated exchanges"
    );
    assert!(
        role_share >= 0.99,
        "roles right for only {role_share:.4} of authenticated exchanges"
    );

    // Every exchange carries which key grouped it, and a template and flows.
    for row in exported.values() {
        assert!(row["session_key"].as_str().unwrap().contains(':'), "{row}");
        assert!(
            row["endpoint"].as_str().unwrap().starts_with('/') || row["endpoint"] == "*",
            "{row}"
        );
        assert!(row["flows"].is_array());
    }
}

#[test]
fn every_public_har_file_ingests_without_a_rejected_record() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let har_dir = Path::new(SHARED_DATA).join("traffic/mitmproxy-har");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&har_dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "har"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 7);
    for file in &files {
        let summary = run_ok(&["--db", path_str(&db), "ingest", path_str(file)]);
        assert_eq!(
            summary_number(&summary, "rejected"),
            0,
            "{}: {summary}",
            file.display()
        );
        assert!(
            summary_number(&summary, "accepted") >= 1,
            "{}: {summary}",
            file.display()
        );
        assert!(summary.contains("as har"), "{summary}");
    }
}

#[test]
fn the_apache_log_ingests_completely_into_ip_and_user_agent_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let log = Path::new(SHARED_DATA).join("traffic/elastic-apache-logs/apache_logs");
    let summary = run_ok(&["--db", path_str(&db), "ingest", path_str(&log)]);
    assert!(summary.contains("as combined"), "{summary}");
    assert_eq!(summary_number(&summary, "rejected"), 0);
    assert_eq!(summary_number(&summary, "accepted"), 10_000);
    // 1,862 distinct (client IP, User-Agent) pairs, each one session. (Line 8899's User-Agent lacks its
    // closing quote and parenthesis, so it differs from the same crawler's other lines.)
    assert_eq!(summary_number(&summary, "sessions"), 1_862);
    let rows = export_requests(&db);
    assert_eq!(rows.len(), 10_000);
    // Lines whose User-Agent is `-` fall back to the client IP alone.
    assert!(rows
        .iter()
        .all(|row| row["session_key"] == "builtin:ip+user-agent"
            || row["session_key"] == "builtin:ip"));
    assert!(
        rows.iter()
            .filter(|row| row["session_key"] == "builtin:ip+user-agent")
            .count()
            > 9_000
    );
}

#[test]
fn the_zeek_logs_ingest_without_a_rejected_record() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let zeek = Path::new(SHARED_DATA).join("traffic/zeek");
    let mut total = 0;
    for name in [
        "http-methods.http.log",
        "header-names.http.log",
        "http-pipelining.http.log",
    ] {
        let summary = run_ok(&["--db", path_str(&db), "ingest", path_str(&zeek.join(name))]);
        assert!(summary.contains("as zeek"), "{summary}");
        assert_eq!(summary_number(&summary, "rejected"), 0, "{name}: {summary}");
        total += summary_number(&summary, "accepted");
    }
    assert_eq!(total, 49 + 14 + 5);
}

fn exchange_line(id: &str, ts: &str, extra_header: &str) -> String {
    format!(
        r#"{{"id":"{id}","ts":"{ts}","client_ip":"198.51.100.4","request":{{"method":"GET","url":"https://api.example.com/v1/items/{id}","headers":[["user-agent","curl/8"]{extra_header}]}},"response":{{"status":200,"size":10}}}}"#
    )
}

#[test]
fn bad_lines_are_rejected_alone_with_their_line_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let input = dir.path().join("mixed.ndjson");
    let rejects = dir.path().join("rejects.txt");
    let lines = [
        exchange_line("a1", "2026-11-22T10:00:00Z", ""),
        "{not json".to_string(),
        exchange_line("a2", "2026-11-22T10:00:01Z", ""),
        r#"{"id":"no-ts","request":{"method":"GET","url":"/x"}}"#.to_string(),
        r#"{"id":"bad-status","ts":"2026-11-22T10:00:02Z","request":{"method":"GET","url":"/x"},"response":{"status":42}}"#.to_string(),
        exchange_line("a3", "2026-11-22T10:00:03Z", ""),
    ];
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let output = run(&[
        "--db",
        path_str(&db),
        "ingest",
        "--rejects",
        path_str(&rejects),
        path_str(&input),
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    let stderr = text(&output.stderr);
    assert_eq!(summary_number(&stdout, "accepted"), 3);
    assert_eq!(summary_number(&stdout, "rejected"), 3);
    let input_name = path_str(&input);
    for line in [2, 4, 5] {
        assert!(
            stderr.contains(&format!("{input_name}:{line}:")),
            "line {line} not reported:\n{stderr}"
        );
    }
    assert!(
        stderr.contains("ts"),
        "the missing field is named:\n{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(&rejects).unwrap().lines().count(),
        3
    );
    let ids: Vec<String> = export_requests(&db)
        .iter()
        .map(|row| row["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, ["a1", "a2", "a3"]);

    // The same file again stores nothing twice.
    let again = run_ok(&["--db", path_str(&db), "ingest", path_str(&input)]);
    assert!(again.contains("(0 new, 3 already stored)"), "{again}");
    assert_eq!(export_requests(&db).len(), 3);
}

#[test]
fn unreadable_and_unrecognisable_files_fail_clearly_and_the_rest_is_ingested() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let good = dir.path().join("good.ndjson");
    std::fs::write(
        &good,
        exchange_line("g1", "2026-11-22T10:00:00Z", "") + "\n",
    )
    .unwrap();
    let garbage = dir.path().join("garbage.bin");
    std::fs::write(&garbage, [0u8, 159, 146, 150, 7, 7, 7, 0, 1, 2, 3]).unwrap();
    let missing = dir.path().join("missing.log");

    let output = run(&[
        "--db",
        path_str(&db),
        "ingest",
        path_str(&missing),
        path_str(&garbage),
        path_str(&good),
    ]);
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert!(stderr.contains("missing.log"), "{stderr}");
    assert!(stderr.contains("garbage.bin"), "{stderr}");
    assert_eq!(
        export_requests(&db).len(),
        1,
        "the good file is still ingested"
    );
}

/// A gzip file of `count` exchange lines with ids `PREFIX0`, `PREFIX1`, …
fn write_gzip_exchanges(path: &Path, prefix: &str, count: usize) {
    let mut encoder = flate2::write::GzEncoder::new(
        std::fs::File::create(path).unwrap(),
        flate2::Compression::fast(),
    );
    for index in 0..count {
        writeln!(
            encoder,
            "{}",
            exchange_line(&format!("{prefix}{index}"), "2026-11-22T10:00:00Z", "")
        )
        .unwrap();
    }
    encoder.finish().unwrap();
}

/// The `cut short FILE: …` line of an ingest summary.
fn cut_short_line(stdout: &str) -> &str {
    stdout
        .lines()
        .find(|line| line.starts_with("cut short"))
        .unwrap_or_else(|| panic!("no `cut short` line in:\n{stdout}"))
}

#[test]
fn gzip_input_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let gz = dir.path().join("traffic.ndjson.gz");
    write_gzip_exchanges(&gz, "z", 10);
    let summary = run_ok(&["--db", path_str(&db), "ingest", path_str(&gz)]);
    assert_eq!(summary_number(&summary, "accepted"), 10);
}

#[test]
fn a_truncated_gzip_file_keeps_what_was_read_and_fails_the_ingest() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let whole = dir.path().join("whole.ndjson.gz");
    write_gzip_exchanges(&whole, "t", 20_000);
    let mut bytes = std::fs::read(&whole).unwrap();
    bytes.truncate(bytes.len() / 2);
    let cut = dir.path().join("cut.ndjson.gz");
    std::fs::write(&cut, &bytes).unwrap();

    let output = run(&["--db", path_str(&db), "ingest", path_str(&cut)]);
    let stdout = text(&output.stdout);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    let line = cut_short_line(&stdout);
    assert!(
        line.contains(path_str(&cut)) && line.contains("truncated gzip"),
        "{line}"
    );
    let records = summary_number(line.split(" after ").nth(1).unwrap(), "");
    let accepted = summary_number(&stdout, "accepted");
    assert!(accepted > 1_000 && accepted < 20_000, "{stdout}");
    assert_eq!(records, accepted, "{stdout}");
    assert!(
        stderr.contains("error:") && stderr.contains("cut.ndjson.gz"),
        "{stderr}"
    );
    assert_eq!(
        export_requests(&db).len() as u64,
        accepted,
        "everything read before the cut is stored"
    );

    // The same records from an undamaged file are a success.
    let output = run(&["--db", path_str(&db), "ingest", path_str(&whole)]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(!text(&output.stdout).contains("cut short"));
}

#[test]
fn long_records_and_fields_stay_within_the_documented_limits() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let input = dir.path().join("long.ndjson");
    // A first line of 2 MiB (longer than what format detection reads), a line over the 16 MiB
    // record limit, a URL of 100 KiB, and ordinary lines around them.
    let body = "b".repeat(2 << 20);
    let first = format!(
        r#"{{"id":"big-body","ts":"2026-11-22T10:00:00Z","request":{{"method":"POST","url":"/v1/upload","body":"{body}"}}}}"#
    );
    let huge = format!(
        r#"{{"id":"huge","ts":"2026-11-22T10:00:01Z","request":{{"method":"POST","url":"/v1/upload","body":"{}"}}}}"#,
        "h".repeat(17 << 20)
    );
    let long_path = format!("/v1/items/{}", "p".repeat(100 << 10));
    let long_url = format!(
        r#"{{"id":"long-url","ts":"2026-11-22T10:00:02Z","request":{{"method":"GET","url":"{long_path}"}}}}"#
    );
    let lines = [
        first,
        exchange_line("n1", "2026-11-22T10:00:03Z", ""),
        huge,
        long_url,
        exchange_line("n2", "2026-11-22T10:00:04Z", ""),
    ];
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let output = run(&["--db", path_str(&db), "ingest", path_str(&input)]);
    let stdout = text(&output.stdout);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert_eq!(summary_number(&stdout, "accepted"), 4, "{stdout}");
    assert_eq!(summary_number(&stdout, "rejected"), 1, "{stdout}");
    assert!(
        stderr.contains("long.ndjson:3: line is")
            && stderr.contains("longer than the record limit"),
        "{stderr}"
    );
    let rows = export_requests(&db);
    let ids: Vec<&str> = rows.iter().map(|row| row["id"].as_str().unwrap()).collect();
    for id in ["big-body", "n1", "long-url", "n2"] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
    let long = rows.iter().find(|row| row["id"] == "long-url").unwrap();
    let stored = long["path"].as_str().unwrap();
    assert!(
        stored.len() <= 16 << 10 && stored.starts_with("/v1/items/ppp"),
        "a path of {} bytes was stored",
        stored.len()
    );

    // A HAR entry over the record limit ends the file: the entries before it are kept and the
    // file is reported cut short.
    let entry = |index: usize, text: &str| {
        format!(
            r#"{{"startedDateTime":"2026-11-22T10:00:0{index}Z","request":{{"method":"GET","url":"https://api.example.com/h/{index}","headers":[]}},"response":{{"status":200,"headers":[],"content":{{"text":"{text}"}}}}}}"#
        )
    };
    let har = dir.path().join("long.har");
    let document = format!(
        r#"{{"log":{{"version":"1.2","entries":[{},{},{}]}}}}"#,
        entry(1, "ok"),
        entry(2, &"e".repeat(17 << 20)),
        entry(3, "ok")
    );
    std::fs::write(&har, document).unwrap();
    let output = run(&["--db", path_str(&db), "ingest", path_str(&har)]);
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    let line = cut_short_line(&stdout);
    assert!(line.contains("record limit"), "{line}");
    assert_eq!(summary_number(&stdout, "accepted"), 1, "{stdout}");
}

/// Every file of the store (database, WAL, shared memory) as bytes.
fn store_bytes(db: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let path = PathBuf::from(format!("{}{suffix}", db.display()));
        if let Ok(mut file) = std::fs::File::open(&path) {
            file.read_to_end(&mut bytes).unwrap();
        }
    }
    bytes
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

#[test]
fn secrets_in_traffic_never_reach_the_store_or_the_logs() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        r#"
[[session_keys]]
points = ["response.json.access_token"]

[[context]]
name = "user"
point = "request.header.authorization.jwt.sub"
type = "user"

[[context]]
name = "api key"
point = "request.header.x-api-key"

[[context]]
name = "password"
point = "request.json.password"

[[context]]
name = "form password"
point = "request.form.password"

[[context]]
name = "session cookie"
point = "request.cookie.sessionid"
"#,
    )
    .unwrap();
    // base64url of {"alg":"HS256"} . {"sub":"u-1","role":"admin"} . signature
    let jwt =
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1LTEiLCJyb2xlIjoiYWRtaW4ifQ.c2VjcmV0LXNpZ25hdHVyZS14eXo";
    let secrets = [
        "hunter2-Very-Secret",
        "form-pass-Qx81",
        jwt,
        "c2VjcmV0LXNpZ25hdHVyZS14eXo",
        "pk_live_51HxSecretApiKey",
        "sess-9f8e7d6c5b4a-cookie",
        "qs-token-5550123",
        "issued-cookie-77aa88bb",
        "4111111111111111",
    ];
    let lines = [
        format!(
            r#"{{"id":"s1","ts":"2026-11-22T10:00:00Z","client_ip":"203.0.113.9","request":{{"method":"POST","url":"https://api.example.com/v1/login","headers":[["content-type","application/json"],["user-agent","app/1"]],"body":"{{\"email\":\"ann@example.com\",\"password\":\"{}\",\"card\":\"{}\",\"comment\":\"<script>alert(document.cookie)</script>\"}}"}},"response":{{"status":200,"headers":[["content-type","application/json"],["set-cookie","sessionid={}; HttpOnly"]],"body":"{{\"access_token\":\"{jwt}\"}}"}}}}"#,
            secrets[0], secrets[8], secrets[7]
        ),
        format!(
            r#"{{"id":"s2","ts":"2026-11-22T10:00:05Z","client_ip":"203.0.113.9","request":{{"method":"GET","url":"https://api.example.com/v1/orders?access_token={}&page=2&q=%27%20or%201%3D1%20--","headers":{{"authorization":"Bearer {jwt}","x-api-key":"{}","cookie":"theme=dark"}}}},"response":{{"status":200}}}}"#,
            secrets[6], secrets[4]
        ),
        format!(
            r#"{{"id":"s3","ts":"2026-11-22T10:00:09Z","client_ip":"203.0.113.9","request":{{"method":"POST","url":"https://www.example.com/login","headers":[["content-type","application/x-www-form-urlencoded"],["cookie","sessionid={}"]],"body":"username=ann&password={}"}},"response":{{"status":302}}}}"#,
            secrets[5], secrets[1]
        ),
    ];
    let input = dir.path().join("secrets.ndjson");
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let output = binary()
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
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let logs = [output.stdout.clone(), output.stderr.clone()].concat();
    let exported = run_ok(&[
        "--db",
        path_str(&db),
        "export",
        "requests",
        "--format",
        "ndjson",
    ]);
    assert_eq!(exported.lines().count(), 3);
    let store = store_bytes(&db);
    assert!(
        contains(&store, "/v1/orders"),
        "the store holds the traffic"
    );
    for secret in secrets {
        assert!(!contains(&store, secret), "`{secret}` is in the store file");
        assert!(!contains(&logs, secret), "`{secret}` is in the logs");
        assert!(!exported.contains(secret), "`{secret}` is in the export");
    }
    // The point builder's samples are in the store (so the byte search above covered them), in
    // the exchange format, with the JWT's claims still readable but not its signature.
    let samples = {
        use sessionscope_store::Store as _;
        sessionscope_store::SqliteStore::open(&db)
            .unwrap()
            .samples()
            .unwrap()
    };
    assert_eq!(samples.len(), 3, "one sample per shape: {samples:?}");
    for line in &samples {
        sessionscope_ingest::parse_exchange_line(line.as_bytes(), 1).expect("a sample reads back");
    }
    // `sub` (a clear context parameter) keeps its value in the re-encoded claims; `role` does not.
    let header = jwt.split('.').next().unwrap();
    assert!(
        samples
            .iter()
            .any(|line| line.contains(&format!("{header}.eyJyb2xlIjoiKioqIiwic3ViIjoidS0xIn0."))),
        "claims stay previewable: {samples:?}"
    );
    // The login exchange (token issued in its response) and the call with the token are one session.
    let rows: Vec<serde_json::Value> = exported
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(rows[0]["session_id"], rows[1]["session_id"], "{exported}");
    assert_eq!(rows[1]["user"], "u-1");
    // The requests with attacks keep their full content (PRODUCT.md E8), sanitised like the
    // samples: it is in the store file searched above, and reads back as an exchange.
    let attacked: Vec<&str> = rows
        .iter()
        .filter(|row| {
            row["attacks"]
                .as_array()
                .is_some_and(|list| !list.is_empty())
        })
        .filter_map(|row| row["id"].as_str())
        .collect();
    assert_eq!(attacked, vec!["s1", "s2"], "{exported}");
    let opened = sessionscope_store::SqliteStore::open(&db).unwrap();
    for id in ["s1", "s2"] {
        use sessionscope_store::Store as _;
        let content = opened
            .attack_content(id)
            .unwrap()
            .unwrap_or_else(|| panic!("no content kept for attacked request `{id}`"));
        let exchange = sessionscope_ingest::parse_exchange_line(content.as_bytes(), 1)
            .expect("the content reads back as an exchange");
        assert_eq!(exchange.id, id);
        for secret in secrets {
            assert!(
                !content.contains(secret),
                "`{secret}` is in the content of `{id}`"
            );
        }
    }
    {
        use sessionscope_store::Store as _;
        assert!(
            opened.attack_content("s3").unwrap().is_none(),
            "s3 has no attack"
        );
        let orders = opened.attack_content("s2").unwrap().unwrap_or_default();
        assert!(
            orders.contains("/v1/orders") && orders.contains("page=2"),
            "{orders}"
        );
    }
}

#[test]
fn an_interrupted_ingest_leaves_a_consistent_store_that_a_rerun_completes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let traffic = dir.path().join("traffic.ndjson");
    run_ok(&[
        "generate",
        "--requests",
        "150000",
        "--seed",
        "5",
        "--start",
        "2026-11-20T12:00:00Z",
        "--out",
        path_str(&traffic),
    ]);
    let mut child = binary()
        .args([
            "--db",
            path_str(&db),
            "ingest",
            "--workers",
            "1",
            path_str(&traffic),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until some batches are committed, then kill the process without warning.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let size = std::fs::metadata(format!("{}-wal", db.display()))
            .map(|m| m.len())
            .unwrap_or(0);
        if size > 4 << 20 || std::time::Instant::now() > deadline {
            break;
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();

    let partial = export_requests(&db).len() as u64;
    assert!(
        partial < 150_000,
        "the ingest finished before it could be interrupted; nothing was tested"
    );
    let summary = run_ok(&["--db", path_str(&db), "ingest", path_str(&traffic)]);
    assert_eq!(summary_number(&summary, "accepted"), 150_000);
    let stored = export_requests(&db);
    assert_eq!(stored.len(), 150_000);
    let mut ids: Vec<&str> = stored
        .iter()
        .map(|row| row["id"].as_str().unwrap())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 150_000, "no exchange is stored twice");
}

#[test]
fn config_check_prints_the_resolved_configuration_or_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.toml");
    std::fs::write(&good, "retention_days = 3\n").unwrap();
    let output = run(&[
        "--config",
        path_str(&good),
        "--db",
        "/tmp/x.db",
        "config",
        "check",
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(stdout.contains("retention_days = 3"), "{stdout}");
    assert!(stdout.contains("sqlite:/tmp/x.db"), "{stdout}");

    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "retention_days = 0\n[[context]]\nname = \"a\"\npoint = \"request.nowhere.x\"\n[[context]]\nname = \"a\"\npoint = \"request.form.password\"\ngroup_by = true\n",
    )
    .unwrap();
    let output = run(&["--config", path_str(&bad), "config", "check"]);
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert!(stderr.contains("retention_days"), "{stderr}");
    assert!(stderr.contains("request.nowhere.x"), "{stderr}");
    assert!(stderr.contains("masked"), "{stderr}");
    assert!(
        stderr.contains("context[1].name"),
        "the duplicate name is reported:\n{stderr}"
    );
}

#[test]
fn tokens_are_printed_on_the_last_line_and_roles_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let stdout = run_ok(&[
        "--db",
        path_str(&db),
        "token",
        "create",
        "--role",
        "read_only",
    ]);
    let token = stdout.lines().last().unwrap();
    assert!(token.starts_with("sst_"), "{stdout}");
    let output = run(&[
        "--db",
        path_str(&db),
        "token",
        "create",
        "--role",
        "superuser",
    ]);
    assert!(!output.status.success());
    assert!(text(&output.stderr).contains("unknown role `superuser`"));
}

/// Starts `demo` on a free port, follows its printed instructions and calls the sample API.
#[test]
fn the_demo_serves_and_answers_its_sample_call() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = binary()
        .args([
            "demo",
            "--listen",
            "127.0.0.1:0",
            "--requests",
            "4000",
            "--keep",
            path_str(dir.path()),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    // Lines go through a channel so the pipe stays open (and drained) while the server runs.
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    let mut curl_line = None;
    let mut login_line = None;
    for line in receiver.iter() {
        if line.trim_start().starts_with("console:") {
            login_line = Some(line.clone());
        }
        if line.trim_start().starts_with("curl ") {
            curl_line = Some(line);
            break;
        }
    }
    let curl_line = curl_line.expect("the demo prints a sample call");
    assert!(login_line
        .expect("the demo prints the console address and its login")
        .contains("(user admin, password "));
    let token = curl_line
        .split("Bearer ")
        .nth(1)
        .unwrap()
        .split('\'')
        .next()
        .unwrap()
        .to_string();
    let url = curl_line.rsplit('\'').nth(1).unwrap().to_string();
    let client = reqwest::blocking::Client::new();
    let response = client.get(&url).bearer_auth(&token).send().unwrap();
    let status = response.status();
    let body: serde_json::Value = response.json().unwrap();
    let unauthorized = client.get(&url).send().unwrap().status();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(status, 200, "{body}");
    assert!(!body["sessions"].as_array().unwrap().is_empty(), "{body}");
    assert_eq!(unauthorized, 401);
}

#[test]
fn stored_analysis_settings_win_until_a_file_is_imported() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let first = dir.path().join("first.toml");
    let second = dir.path().join("second.toml");
    std::fs::write(
        &first,
        "[[session_keys]]\npoints = [\"request.header.x-first\"]\n",
    )
    .unwrap();
    std::fs::write(
        &second,
        "[[session_keys]]\npoints = [\"request.header.x-second\"]\n",
    )
    .unwrap();
    let line = |id: &str| {
        exchange_line(
            id,
            "2026-11-22T10:00:00Z",
            r#",["x-first","a"],["x-second","b"]"#,
        ) + "\n"
    };
    let input = dir.path().join("in.ndjson");
    let ingest = |config: &Path, id: &str| {
        std::fs::write(&input, line(id)).unwrap();
        binary()
            .args([
                "--db",
                path_str(&db),
                "--config",
                path_str(config),
                "ingest",
                path_str(&input),
            ])
            .output()
            .unwrap()
    };
    let output = ingest(&first, "k1");
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        !text(&output.stderr).contains("warning"),
        "{}",
        text(&output.stderr)
    );

    let output = ingest(&second, "k2");
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stderr = text(&output.stderr);
    assert_eq!(stderr.matches("warning").count(), 1, "{stderr}");
    assert!(stderr.contains("session_keys"), "{stderr}");
    assert!(stderr.contains("config import"), "{stderr}");
    let keys: Vec<String> = export_requests(&db)
        .iter()
        .map(|row| row["session_key"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(
        keys,
        [
            "custom:request.header.x-first",
            "custom:request.header.x-first"
        ],
        "the stored key is used"
    );

    let stdout = run_ok(&["--db", path_str(&db), "config", "import", path_str(&second)]);
    assert!(stdout.contains("imported"), "{stdout}");
    let stdout = run_ok(&["--db", path_str(&db), "config", "import", path_str(&second)]);
    assert!(stdout.contains("nothing changed"), "{stdout}");
    let output = ingest(&second, "k3");
    assert!(
        !text(&output.stderr).contains("warning"),
        "{}",
        text(&output.stderr)
    );
    let changes = {
        use sessionscope_store::Store as _;
        sessionscope_store::SqliteStore::open(&db)
            .unwrap()
            .config_changes(10)
            .unwrap()
    };
    let log: Vec<(&str, &str)> = changes
        .iter()
        .map(|change| (change.who.as_str(), change.summary.as_str()))
        .collect();
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(log[0].0, "config-file");
    assert!(log[0].1.contains("second.toml"), "{log:?}");
    assert!(log[1].1.starts_with("first version"), "{log:?}");
}

#[test]
fn a_bad_filter_value_is_a_usage_error_with_its_name_whatever_its_characters() {
    let directory = tempfile::tempdir().unwrap();
    let database = directory.path().join("s.db");
    let db = path_str(&database);
    for (command, flag, value) in [
        ("sessions", "--status", "ÞC"),
        ("sessions", "--status", "4Þ"),
        ("sessions", "--to", "now-Þ"),
        ("export", "--status", "ÞC"),
    ] {
        let args: Vec<&str> = if command == "export" {
            vec!["export", "requests", flag, value, "--db", db]
        } else {
            vec![command, flag, value, "--db", db]
        };
        let output = run(&args);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&format!("`{}`", &flag[2..])) && stderr.contains(&format!("`{value}`")),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}
