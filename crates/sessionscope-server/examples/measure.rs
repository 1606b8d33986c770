//! Rough numbers for the REST API over a real SQLite store: session-list latency and streaming
//! export throughput, plus the process's peak memory, so a regression in the streaming path
//! (rows piling up in memory) shows. Not a test: it prints, it asserts nothing.
//!
//! `cargo run -p sessionscope-server --example measure -- 200000`

// `is_multiple_of` is newer than the workspace's rust-version (1.85).
#![allow(clippy::manual_is_multiple_of)]

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use sessionscope_model::{day_of, parse_rfc3339, AnalyzedExchange, FlowSet, Role, SessionId};
use sessionscope_server::{serve, AppState};
use sessionscope_store::{token_hash, SqliteStore, Store};

const TOKEN: &str = "sst_measure_token_0000000000000000000000000000";

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    for line in status.lines() {
        if let Some(rest) = line.strip_prefix("VmHWM:") {
            let kib: f64 = rest
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .unwrap_or(0.0);
            return kib / 1024.0;
        }
    }
    0.0
}

fn exchange(index: u64, start: i64) -> AnalyzedExchange {
    let ts = start + index as i64 * 50_000;
    let session = (index % 5_000) as u32;
    let mut session_bytes = [0u8; 16];
    session_bytes[..4].copy_from_slice(&session.to_be_bytes());
    let endpoints = [
        "/v1/users/{int}",
        "/v1/orders",
        "/v1/login",
        "/v1/catalog/{int}",
        "/v2/search",
    ];
    let endpoint = endpoints[(index % 5) as usize];
    AnalyzedExchange {
        id: format!("m-{index:09}").into(),
        ts,
        session_id: SessionId(session_bytes),
        day: day_of(ts),
        session_key: "builtin:cookie.PHPSESSID".into(),
        client_ip: Some(IpAddr::from([10, 0, (session >> 8) as u8, session as u8])),
        app: "shop".into(),
        host: "api.shop.example".into(),
        method: (if index % 7 == 0 { "POST" } else { "GET" }).into(),
        path: endpoint
            .replace("{int}", &(index % 1000).to_string())
            .into(),
        query: Default::default(),
        endpoint: endpoint.into(),
        flows: FlowSet::default(),
        status: Some(if index % 50 == 0 { 500 } else { 200 }),
        duration_ms: Some((index % 300) as f64 + 0.5),
        size: Some(index % 5000),
        user_agent: Some("Mozilla/5.0".into()),
        user: Some(format!("user-{}", session % 1000).into()),
        roles: vec!["user".into()],
        context: vec![],
        attacks: vec![],
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let rows: u64 = std::env::args()
        .nth(1)
        .and_then(|text| text.parse().ok())
        .unwrap_or(200_000);
    let directory = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(&directory.path().join("measure.db")).expect("open store");
    let start = parse_rfc3339("2026-11-22T00:00:00Z").unwrap_or_default();
    let seeding = Instant::now();
    let mut batch = Vec::with_capacity(10_000);
    for index in 0..rows {
        batch.push(exchange(index, start));
        if batch.len() == 10_000 {
            store.append(&batch).expect("append");
            batch.clear();
        }
    }
    store.append(&batch).expect("append");
    store
        .create_token(&token_hash(TOKEN), "measure", Role::Admin)
        .expect("token");
    println!(
        "seeded {rows} exchanges in {:.1} s; peak rss {:.0} MiB",
        seeding.elapsed().as_secs_f64(),
        peak_rss_mib()
    );

    let state = AppState::new(Arc::new(store));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(serve(listener, state, std::future::pending()));
    let client = reqwest::Client::new();

    for query in [
        "",
        "endpoint=/v1/users/*",
        "status=5xx",
        "user=user-7",
        "from=2026-11-22T01:00:00Z&to=2026-11-22T01:10:00Z",
    ] {
        let mut times = Vec::new();
        for _ in 0..15 {
            let began = Instant::now();
            let response = client
                .get(format!("{base}/api/v1/sessions?{query}"))
                .bearer_auth(TOKEN)
                .send()
                .await
                .expect("request");
            let _ = response.bytes().await.expect("body");
            times.push(began.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(|left, right| left.total_cmp(right));
        println!(
            "session list `{query}`: median {:.1} ms, max {:.1} ms",
            times[times.len() / 2],
            times[times.len() - 1]
        );
    }

    for format in ["ndjson", "csv"] {
        let began = Instant::now();
        let mut response = client
            .get(format!("{base}/api/v1/export/requests?format={format}"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("request");
        let mut bytes = 0usize;
        let mut lines = 0usize;
        while let Some(chunk) = response.chunk().await.expect("chunk") {
            bytes += chunk.len();
            lines += chunk.iter().filter(|byte| **byte == b'\n').count();
        }
        let seconds = began.elapsed().as_secs_f64();
        println!(
            "export requests {format}: {lines} lines, {:.1} MiB in {seconds:.2} s = {:.0} rows/s, {:.1} MiB/s; peak rss {:.0} MiB",
            bytes as f64 / 1048576.0,
            lines as f64 / seconds,
            bytes as f64 / 1048576.0 / seconds,
            peak_rss_mib()
        );
    }
}
