//! What checking access on every request costs, since tokens and console logins are checked
//! against the store each time (no cache, so a revoke or a removed user takes effect at once):
//! the store look-ups alone, and whole HTTP calls with a bearer token against calls that need no
//! token. Not a test: it prints, it asserts nothing.
//!
//! `cargo run --release -p sessionscope-server --example auth_cost -- 100000`

use std::sync::Arc;
use std::time::Instant;

use sessionscope_model::Role;
use sessionscope_server::{serve, AppState};
use sessionscope_store::{hash_password, token_hash, SqliteStore, Store};

const TOKEN: &str = "sst_auth_cost_token_00000000000000000000000000";

fn per_call_micros(calls: u64, work: impl Fn()) -> f64 {
    let started = Instant::now();
    for _ in 0..calls {
        work();
    }
    started.elapsed().as_secs_f64() * 1e6 / calls as f64
}

fn main() {
    let calls: u64 = std::env::args()
        .nth(1)
        .and_then(|text| text.parse().ok())
        .unwrap_or(100_000);
    let directory = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&directory.path().join("auth.db")).unwrap());
    store
        .create_token(&token_hash(TOKEN), "cost", Role::Admin)
        .unwrap();
    store
        .create_user("ada", Role::Admin, &hash_password("ada-password-1"))
        .unwrap();
    // Other tokens and users, so the look-ups are not in a one-row table.
    for index in 0..1000 {
        store
            .create_token(
                &token_hash(&format!("sst_other_{index}")),
                &format!("t{index}"),
                Role::ReadOnly,
            )
            .unwrap();
        store
            .create_user(&format!("u{index}"), Role::ReadOnly, "$argon2id$x")
            .unwrap();
    }
    let hash = token_hash(TOKEN);
    let token_lookup = per_call_micros(calls, || {
        store.token(&hash).unwrap().unwrap();
    });
    let user_lookup = per_call_micros(calls, || {
        store.user("ada").unwrap().unwrap();
    });
    println!("store.token(hash): {token_lookup:.2} µs per call ({calls} calls)");
    println!("store.user(name):  {user_lookup:.2} µs per call ({calls} calls)");

    let http_calls = (calls / 10).max(1000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = AppState::new(store.clone() as Arc<dyn Store>);
        tokio::spawn(serve(listener, state, std::future::pending()));
        let client = reqwest::Client::new();
        for (label, path, token) in [
            ("GET /healthz (no token)", "/healthz", None),
            ("GET /api/v1/me (bearer token)", "/api/v1/me", Some(TOKEN)),
        ] {
            let started = Instant::now();
            for _ in 0..http_calls {
                let mut request = client.get(format!("{base}{path}"));
                if let Some(token) = token {
                    request = request.bearer_auth(token);
                }
                let response = request.send().await.unwrap();
                assert!(response.status().is_success());
                response.bytes().await.unwrap();
            }
            let micros = started.elapsed().as_secs_f64() * 1e6 / http_calls as f64;
            println!("{label}: {micros:.1} µs per call ({http_calls} calls, one client)");
        }
    });
}
