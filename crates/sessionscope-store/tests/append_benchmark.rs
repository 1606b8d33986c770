//! Measures the embedded store at a realistic size (ignored by default; run with
//! `cargo test -p sessionscope-store --release -- --ignored --nocapture`). It prints the append
//! rate, bytes per stored exchange and read latencies; nothing here asserts on timing.

use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sessionscope_model::{
    day_of, AnalyzedExchange, Attack, ContextValue, Flow, FlowSet, PageRequest, ParamKind,
    RequestSort, SessionFilter, SessionId, SortDirection, SortField, StatusFilter, StoredAs,
    MICROS_PER_SECOND,
};
use sessionscope_store::{SqliteStore, Store};

const ENDPOINTS: [(&str, &str); 30] = [
    ("GET", "/v1/users/{int}"),
    ("PUT", "/v1/users/{int}"),
    ("GET", "/v1/users/{int}/orders"),
    ("POST", "/v1/login"),
    ("POST", "/v1/logout"),
    ("POST", "/v1/signup"),
    ("GET", "/v1/products"),
    ("GET", "/v1/products/{int}"),
    ("GET", "/v1/products/{int}/reviews"),
    ("POST", "/v1/products/{int}/reviews"),
    ("GET", "/v1/cart"),
    ("POST", "/v1/cart/items"),
    ("DELETE", "/v1/cart/items/{int}"),
    ("POST", "/v1/checkout"),
    ("GET", "/v1/orders/{uuid}"),
    ("GET", "/v1/orders"),
    ("POST", "/v1/payments"),
    ("GET", "/v1/search"),
    ("GET", "/v1/categories"),
    ("GET", "/v1/categories/{int}"),
    ("POST", "/v1/password/reset"),
    ("GET", "/v1/account"),
    ("PUT", "/v1/account"),
    ("GET", "/admin/users"),
    ("POST", "/admin/users/{int}/ban"),
    ("POST", "/v1/ai/chat"),
    ("POST", "/v1/sms/send"),
    ("GET", "/v1/health"),
    ("GET", "/v1/config"),
    ("GET", "/v1/notifications"),
];

fn flows_of(template: &str) -> FlowSet {
    let mut flows = FlowSet::default();
    if template.contains("login") || template.contains("logout") {
        flows.insert(Flow::Authentication);
    }
    if template.contains("signup") {
        flows.insert(Flow::AccountCreation);
    }
    if template.contains("payments") || template.contains("checkout") {
        flows.insert(Flow::Billing);
    }
    if template.starts_with("/admin") {
        flows.insert(Flow::Admin);
    }
    if template.contains("/ai/") {
        flows.insert(Flow::AiLlm);
    }
    flows
}

fn concrete_path(template: &str, rng: &mut StdRng) -> String {
    template
        .replace("{int}", &rng.gen_range(1..100_000).to_string())
        .replace(
            "{uuid}",
            &format!(
                "{:08x}-0000-4000-8000-{:012x}",
                rng.gen::<u32>(),
                rng.gen::<u64>() & 0xffff_ffff_ffff
            ),
        )
}

struct SessionState {
    session_id: [u8; 16],
    number: usize,
    next_request: usize,
}

/// Synthetic traffic in time order, generated lazily so the benchmark's own memory stays small:
/// `sessions` sessions of `per_session` requests each, starting anywhere in two days, one
/// request every 1–60 s.
pub struct Traffic {
    rng: StdRng,
    per_session: usize,
    sessions: Vec<SessionState>,
    upcoming: std::collections::BinaryHeap<std::cmp::Reverse<(i64, usize)>>,
}

impl Traffic {
    pub fn new(count: usize, sessions: usize, seed: u64) -> Traffic {
        let mut rng = StdRng::seed_from_u64(seed);
        let start = 1_795_000_000 * MICROS_PER_SECOND;
        let span = 2 * 86_400 * MICROS_PER_SECOND;
        let mut states = Vec::with_capacity(sessions);
        let mut upcoming = std::collections::BinaryHeap::new();
        for number in 0..sessions {
            let mut session_id = [0u8; 16];
            rng.fill(&mut session_id);
            states.push(SessionState {
                session_id,
                number,
                next_request: 0,
            });
            upcoming.push(std::cmp::Reverse((start + rng.gen_range(0..span), number)));
        }
        Traffic {
            rng,
            per_session: count / sessions,
            sessions: states,
            upcoming,
        }
    }
}

const HOSTS: [&str; 4] = [
    "api.shop.example",
    "api.bank.example",
    "mcp.tools.example",
    "admin.shop.example",
];

impl Iterator for Traffic {
    type Item = AnalyzedExchange;

    fn next(&mut self) -> Option<AnalyzedExchange> {
        let std::cmp::Reverse((ts, index)) = self.upcoming.pop()?;
        let rng = &mut self.rng;
        let state = &mut self.sessions[index];
        let session = state.number;
        let request = state.next_request;
        state.next_request += 1;
        if state.next_request < self.per_session {
            let next =
                ts + rng.gen_range(1..60) * MICROS_PER_SECOND + rng.gen_range(0..MICROS_PER_SECOND);
            self.upcoming.push(std::cmp::Reverse((next, index)));
        }
        let ip = std::net::IpAddr::V4(std::net::Ipv4Addr::new(
            10,
            (session >> 16) as u8,
            (session >> 8) as u8,
            session as u8,
        ));
        let user = format!("user-{}", session % 20_000);
        let role = if session.is_multiple_of(50) {
            "admin"
        } else {
            "customer"
        };
        let (method, template) = ENDPOINTS[rng.gen_range(0..ENDPOINTS.len())];
        let attack = rng.gen_range(0..100) == 0;
        Some(AnalyzedExchange {
            id: format!("s{session:06}-r{request:04}-{:08x}", rng.gen::<u32>()).into(),
            ts,
            session_id: SessionId(state.session_id),
            day: day_of(ts),
            session_key: "builtin:header.authorization.bearer".into(),
            client_ip: Some(ip),
            app: "shop".into(),
            host: HOSTS[session % HOSTS.len()].into(),
            method: method.into(),
            path: concrete_path(template, rng).into(),
            query: if rng.gen_range(0..4) == 0 {
                "page=2&limit=50".into()
            } else {
                Default::default()
            },
            endpoint: template.into(),
            flows: flows_of(template),
            status: Some(
                *[200, 200, 200, 200, 201, 204, 304, 400, 401, 404, 500]
                    .get(rng.gen_range(0..11))
                    .unwrap_or(&200),
            ),
            duration_ms: Some(rng.gen_range(1.0..400.0)),
            size: Some(rng.gen_range(0..50_000)),
            user_agent: Some(
                format!("Mozilla/5.0 (X11; Linux x86_64) Client/{}", session % 40).into(),
            ),
            user: Some(user.clone().into()),
            roles: vec![role.into()],
            context: if request.is_multiple_of(10) {
                vec![ContextValue {
                    name: "user".into(),
                    point: "request.header.authorization.jwt.sub".into(),
                    kind: ParamKind::User,
                    stored_as: StoredAs::Clear,
                    value: user.into(),
                }]
            } else {
                Vec::new()
            },
            attacks: if attack {
                vec![Attack {
                    kind: "sqli".to_string(),
                    point: "request.query.q".to_string(),
                    payload: "1' OR '1'='1".to_string(),
                    rule: "sqli-tautology".to_string(),
                }]
            } else {
                Vec::new()
            },
        })
    }
}

fn timed<T>(label: &str, work: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let result = work();
    println!(
        "{label:<60} {:>8.2} ms",
        started.elapsed().as_secs_f64() * 1000.0
    );
    result
}

/// CPU seconds this thread used (user + system), so rates hold on a busy machine.
fn thread_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    let after_name = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |index: usize| {
        fields
            .get(index)
            .and_then(|field| field.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // Fields 14 and 15 of stat (utime, stime), counted from the state field at index 0 here.
    (ticks(11) + ticks(12)) / 100.0
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|line| line.starts_with("VmHWM:"))
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|kib| kib.parse::<f64>().ok())
        .map(|kib| kib / 1024.0)
        .unwrap_or(0.0)
}

#[test]
#[ignore]
fn append_and_read_one_million_exchanges() {
    let count: usize = std::env::var("BENCH_EXCHANGES")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(1_000_000);
    let batch_size: usize = std::env::var("BENCH_BATCH")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(20_000);
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("bench.db");
    let store = SqliteStore::open(&path).unwrap();
    let mut traffic = Traffic::new(count, count / 20, 7);
    let mut append_seconds = 0f64;
    let mut cpu_seconds = 0f64;
    let mut slowest_batch = 0f64;
    let mut last_batch = Vec::new();
    let mut middle_id = String::new();
    let mut stored = 0usize;
    loop {
        let batch: Vec<AnalyzedExchange> = traffic.by_ref().take(batch_size).collect();
        if batch.is_empty() {
            break;
        }
        if stored <= count / 2 && count / 2 < stored + batch.len() {
            middle_id = batch[count / 2 - stored].id.to_string();
        }
        let batch_started = Instant::now();
        let cpu_before = thread_cpu_seconds();
        let outcome = store.append(&batch).unwrap();
        cpu_seconds += thread_cpu_seconds() - cpu_before;
        let elapsed = batch_started.elapsed().as_secs_f64();
        append_seconds += elapsed;
        slowest_batch = slowest_batch.max(elapsed);
        assert_eq!(outcome.inserted as usize, batch.len());
        stored += batch.len();
        last_batch = batch;
    }
    let count = stored;
    let seconds = append_seconds;
    println!(
        "append CPU: {cpu_seconds:.2} s = {:.0}/s per core",
        count as f64 / cpu_seconds
    );
    let database_bytes = std::fs::metadata(&path)
        .map(|metadata| metadata.len())
        .unwrap_or(0);
    println!(
        "database file without WAL: {:.1} bytes/exchange",
        database_bytes as f64 / count as f64
    );
    let usage = store.usage().unwrap();
    println!(
        "append: {} exchanges in {:.2} s = {:.0}/s (batches of {batch_size}, slowest {:.0} ms)",
        count,
        seconds,
        count as f64 / seconds,
        slowest_batch * 1000.0
    );
    println!(
        "store: {} bytes = {:.1} bytes/exchange, {} parts; peak RSS {:.0} MiB",
        usage.bytes,
        usage.bytes as f64 / count as f64,
        usage.session_parts,
        peak_rss_mib()
    );
    let again = timed("append the last batch again (all duplicates)", || {
        store.append(&last_batch).unwrap()
    });
    assert_eq!(again.inserted, 0);

    if std::env::var("BENCH_APPEND_ONLY").is_ok() {
        return;
    }
    let newest = usage.newest.unwrap();
    let page = PageRequest {
        limit: 50,
        cursor: None,
    };
    let filters: Vec<(&str, SessionFilter)> = vec![
        ("no filter", SessionFilter::default()),
        (
            "last 1 h",
            SessionFilter {
                from: Some(newest - 3_600 * MICROS_PER_SECOND),
                ..Default::default()
            },
        ),
        (
            "last 15 min",
            SessionFilter {
                from: Some(newest - 900 * MICROS_PER_SECOND),
                ..Default::default()
            },
        ),
        (
            "host",
            SessionFilter {
                hosts: vec!["api.bank.example".into()],
                ..Default::default()
            },
        ),
        (
            "status 5xx",
            SessionFilter {
                statuses: vec![StatusFilter::Class(5)],
                ..Default::default()
            },
        ),
        (
            "attack sqli",
            SessionFilter {
                attack_types: vec!["sqli".into()],
                ..Default::default()
            },
        ),
        (
            "role admin + last 6 h",
            SessionFilter {
                roles: vec!["admin".into()],
                from: Some(newest - 6 * 3_600 * MICROS_PER_SECOND),
                ..Default::default()
            },
        ),
        (
            "flow billing",
            SessionFilter {
                flows: vec![Flow::Billing],
                ..Default::default()
            },
        ),
        (
            "endpoint template /admin/*",
            SessionFilter {
                endpoints: vec!["/admin/*".into()],
                ..Default::default()
            },
        ),
        (
            "endpoint raw /v1/users/42",
            SessionFilter {
                endpoints: vec!["/v1/users/42".into()],
                ..Default::default()
            },
        ),
        (
            "client 10.0.0.0/16",
            SessionFilter {
                client_ips: vec!["10.0.0.0/16".parse().unwrap()],
                ..Default::default()
            },
        ),
        (
            "user user-77",
            SessionFilter {
                users: vec!["user-77".into()],
                ..Default::default()
            },
        ),
        (
            "method DELETE + 4xx",
            SessionFilter {
                methods: vec!["DELETE".into()],
                statuses: vec![StatusFilter::Class(4)],
                ..Default::default()
            },
        ),
    ];
    let mut some_session = None;
    for (label, filter) in &filters {
        let result = timed(&format!("list first page: {label}"), || {
            store.list_sessions(filter, &page).unwrap()
        });
        println!(
            "    total {:?} exact {} rows {}",
            result.total,
            result.total_exact,
            result.sessions.len()
        );
        if some_session.is_none() {
            some_session = result.sessions.first().map(|row| row.session_id);
        }
    }
    let session_id = some_session.unwrap();
    timed("session parts", || {
        store
            .session_parts(session_id, &SessionFilter::default())
            .unwrap()
    });
    timed("session stats", || {
        store
            .session_stats(session_id, None, &SessionFilter::default())
            .unwrap()
    });
    let sort = RequestSort {
        field: SortField::Duration,
        direction: SortDirection::Desc,
    };
    timed("session requests by duration", || {
        store
            .session_requests(session_id, None, &SessionFilter::default(), sort, &page)
            .unwrap()
    });
    let details = timed("request details", || store.request(&middle_id).unwrap());
    assert!(details.is_some());
    let mut exported = 0u64;
    timed("export requests, last 1 h", || {
        store
            .export_requests(
                &SessionFilter {
                    from: Some(newest - 3_600 * MICROS_PER_SECOND),
                    ..Default::default()
                },
                &mut |_| {
                    exported += 1;
                    Ok(())
                },
            )
            .unwrap()
    });
    println!("peak RSS {:.0} MiB", peak_rss_mib());
}
