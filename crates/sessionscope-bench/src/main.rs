//! `sessionscope-bench STORE_URI`: times the read side of a filled store the way the console and
//! the API use it (first page of the session list under several filters; one session's parts,
//! statistics and first page of requests) and prints median and p95 per scenario, as JSON lines
//! and as a table. Used by `scripts/bench.sh`.

use std::time::Instant;

use anyhow::Context as _;
use sessionscope_model::{
    format_rfc3339, PageRequest, RequestSort, SessionFilter, MICROS_PER_SECOND,
};
use sessionscope_store::Store;

const RUNS: usize = 15;

fn main() -> anyhow::Result<()> {
    let uri = std::env::args()
        .nth(1)
        .context("usage: sessionscope-bench STORE_URI")?;
    let store = sessionscope_store::open(&uri)?;
    let usage = store.usage()?;
    let newest = usage.newest.context("the store is empty")?;
    println!(
        "# {} exchanges, {} session parts, {} bytes",
        usage.exchanges, usage.session_parts, usage.bytes
    );

    let hour_ago = format_rfc3339(newest - 3_600 * MICROS_PER_SECOND);
    let end = format_rfc3339(newest + MICROS_PER_SECOND);
    let some_user = first_user(store.as_ref())?;
    let scenarios: Vec<(&str, Vec<(&str, String)>)> = vec![
        ("list: no filter", vec![]),
        (
            "list: last hour",
            vec![("from", hour_ago.clone()), ("to", end.clone())],
        ),
        ("list: method POST", vec![("method", "POST".into())]),
        ("list: status 5xx", vec![("status", "5xx".into())]),
        (
            "list: endpoint /v1/orders/*",
            vec![("endpoint", "/v1/orders/*".into())],
        ),
        (
            "list: flow billing, last hour",
            vec![
                ("flow", "billing".into()),
                ("from", hour_ago.clone()),
                ("to", end.clone()),
            ],
        ),
        (
            "list: client_ip 10.0.0.0/8",
            vec![("client_ip", "10.0.0.0/8".into())],
        ),
        ("list: user", vec![("user", some_user.clone())]),
        (
            "list: host + method + status",
            vec![
                ("host", "api.shop.example".into()),
                ("method", "GET".into()),
                ("status", "2xx".into()),
            ],
        ),
    ];
    let mut rows = Vec::new();
    for (name, pairs) in &scenarios {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        let filter = sessionscope_server::filters::parse_filter(&pairs, newest)
            .map_err(|error| anyhow::anyhow!("{error}"))?;
        let mut count = 0;
        let timings = time_runs(|| {
            let page = store.list_sessions(
                &filter,
                &PageRequest {
                    limit: 50,
                    cursor: None,
                },
            )?;
            count = page.sessions.len();
            Ok(())
        })?;
        rows.push(report(name, &timings, count));
    }

    let page = store.list_sessions(
        &SessionFilter::default(),
        &PageRequest {
            limit: 50,
            cursor: None,
        },
    )?;
    let sessions: Vec<_> = page.sessions.iter().map(|row| row.session_id).collect();
    let open_session = |session_id| -> Result<(), sessionscope_store::StoreError> {
        let filter = SessionFilter::default();
        let first_page = PageRequest {
            limit: 50,
            cursor: None,
        };
        store.session_parts(session_id, &filter)?;
        store.session_stats(session_id, None, &filter)?;
        store.session_requests(
            session_id,
            None,
            &filter,
            RequestSort::default(),
            &first_page,
        )?;
        Ok(())
    };
    let mut index = 0;
    let timings = time_runs(|| {
        index += 1;
        open_session(sessions[(index - 1) % sessions.len()])
    })?;
    rows.push(report(
        "details: parts + stats + requests",
        &timings,
        sessions.len(),
    ));

    // The largest session of the first page: the worst case a click can hit.
    if let Some(largest) = page.sessions.iter().max_by_key(|row| row.requests) {
        let timings = time_runs(|| open_session(largest.session_id))?;
        rows.push(report(
            "details: largest session on page 1",
            &timings,
            largest.requests as usize,
        ));
    }
    println!();
    println!(
        "{:<40} {:>10} {:>10} {:>6}",
        "scenario", "median ms", "p95 ms", "rows"
    );
    for (name, median, p95, count) in rows {
        println!("{name:<40} {median:>10.2} {p95:>10.2} {count:>6}");
    }
    Ok(())
}

fn first_user(store: &dyn Store) -> anyhow::Result<String> {
    let page = store.list_sessions(
        &SessionFilter::default(),
        &PageRequest {
            limit: 200,
            cursor: None,
        },
    )?;
    Ok(page
        .sessions
        .iter()
        .find_map(|row| row.users.first().cloned())
        .unwrap_or_else(|| "nobody".into()))
}

fn time_runs(
    mut run: impl FnMut() -> Result<(), sessionscope_store::StoreError>,
) -> anyhow::Result<Vec<f64>> {
    let mut timings = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let started = Instant::now();
        run()?;
        timings.push(started.elapsed().as_secs_f64() * 1_000.0);
    }
    timings.sort_by(|a, b| a.total_cmp(b));
    Ok(timings)
}

fn report(name: &str, timings: &[f64], count: usize) -> (String, f64, f64, usize) {
    let median = timings[timings.len() / 2];
    let p95 = timings[((timings.len() as f64 * 0.95).ceil() as usize)
        .saturating_sub(1)
        .min(timings.len() - 1)];
    let line =
        serde_json::json!({ "scenario": name, "median_ms": median, "p95_ms": p95, "rows": count });
    println!("{line}");
    (name.to_string(), median, p95, count)
}
