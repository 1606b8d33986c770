//! Retention through the real binary: what an ingest accepts stays for the retention period
//! after it was stored, whatever the age of its traffic; what was stored longer ago goes, and
//! the summary says so.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sessionscope_model::{AnalyzedExchange, SessionId, MICROS_PER_DAY, MICROS_PER_SECOND};
use sessionscope_store::Store;

const SHARED_DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data");

mod common;
use common::{path_str, run_ok};

/// Every HAR file, the 2015 Apache log and the Zeek logs: traffic from 2009 to 2023.
fn mixed_age_public_files() -> Vec<PathBuf> {
    let traffic = Path::new(SHARED_DATA).join("traffic");
    let mut files: Vec<PathBuf> = std::fs::read_dir(traffic.join("mitmproxy-har"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "har"))
        .collect();
    files.push(traffic.join("elastic-apache-logs/apache_logs"));
    for name in [
        "header-names.http.log",
        "http-methods.http.log",
        "http-pipelining.http.log",
    ] {
        files.push(traffic.join("zeek").join(name));
    }
    files.sort();
    files
}

fn exported_ids(db: &Path) -> Vec<String> {
    run_ok(&[
        "--db",
        path_str(db),
        "export",
        "requests",
        "--format",
        "ndjson",
    ])
    .lines()
    .map(|line| {
        let row: serde_json::Value = serde_json::from_str(line).expect("export lines are JSON");
        row["id"].as_str().expect("an id").to_string()
    })
    .collect()
}

#[test]
fn an_ingest_of_old_and_new_logs_keeps_every_exchange_it_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let files = mixed_age_public_files();
    assert_eq!(files.len(), 11);
    let mut args = vec!["--db", path_str(&db), "ingest", "--no-progress"];
    args.extend(files.iter().map(|file| path_str(file)));
    let summary = run_ok(&args);
    // Two of the files hold one exchange with the same id: 10,107 distinct ones are stored.
    assert!(
        summary.contains("accepted  10,108 exchanges (10,107 new, 1 already stored)"),
        "{summary}"
    );
    assert!(
        summary.contains("kept      every accepted exchange"),
        "{summary}"
    );
    assert!(!summary.contains("removed"), "{summary}");
    assert_eq!(exported_ids(&db).len(), 10_107);
    // Applying retention on demand keeps them too, and says which rule it applies.
    let report = run_ok(&["--db", path_str(&db), "retention"]);
    assert!(
        report.contains("retention 7 days after storage"),
        "{report}"
    );
    assert!(report.contains("exchanges 10,107"), "{report}");
    assert_eq!(exported_ids(&db).len(), 10_107);
}

fn exchange(id: &str, ts: i64) -> AnalyzedExchange {
    AnalyzedExchange {
        id: id.into(),
        ts,
        session_id: SessionId([9; 16]),
        day: sessionscope_model::day_of(ts),
        session_key: "builtin:ip".into(),
        client_ip: None,
        app: Default::default(),
        host: "old.example".into(),
        method: "GET".into(),
        path: "/".into(),
        query: Default::default(),
        endpoint: "/".into(),
        flows: Default::default(),
        status: Some(200),
        duration_ms: None,
        size: None,
        user_agent: None,
        user: None,
        roles: Vec::new(),
        context: Vec::new(),
        attacks: Vec::new(),
    }
}

#[test]
fn traffic_stored_longer_ago_than_the_period_is_removed_before_the_next_ingest() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let now = chrono::Utc::now().timestamp_micros();
    {
        // Stored eight days ago (the store's clock says so), with yesterday's event times.
        let eight_days_ago = now - 8 * MICROS_PER_DAY;
        let store =
            sessionscope_store::SqliteStore::open_with_clock(&db, Arc::new(move || eight_days_ago))
                .unwrap();
        let yesterday = now - MICROS_PER_DAY;
        store
            .append(&[
                exchange("stored-long-ago-1", yesterday),
                exchange("stored-long-ago-2", yesterday + MICROS_PER_SECOND),
            ])
            .unwrap();
    }
    let har = Path::new(SHARED_DATA).join("traffic/mitmproxy-har/chrome.har");
    let summary = run_ok(&[
        "--db",
        path_str(&db),
        "ingest",
        "--no-progress",
        path_str(&har),
    ]);
    assert!(
        summary.contains("removed   2 exchanges of 1 day last stored before"),
        "{summary}"
    );
    assert!(
        summary.contains("(retention: 7 days after storage)"),
        "{summary}"
    );
    let ids = exported_ids(&db);
    assert!(!ids.is_empty());
    assert!(
        ids.iter().all(|id| !id.starts_with("stored-long-ago")),
        "{ids:?}"
    );
}
