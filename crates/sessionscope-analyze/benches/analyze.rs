//! Cost of `Analyzer::analyze` on a typical exchange (PRODUCT target: ≤ 3 µs on one core): a JWT
//! bearer header, a few headers, a small JSON body and response, user and role from JWT claims.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use sessionscope_analyze::{
    endpoint_template, AnalysisSettings, Analyzer, ContextSetting, SessionState,
};
use sessionscope_model::{Exchange, Headers, Request, Response};

fn token() -> String {
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#),
        URL_SAFE_NO_PAD
            .encode(br#"{"sub":"user-4711","role":"customer","iat":1795000000,"exp":1795003600}"#),
        URL_SAFE_NO_PAD.encode([42u8; 32])
    )
}

fn typical_exchange(token: &str) -> Exchange {
    let headers = |pairs: &[(&str, &str)]| Headers::from_pairs(pairs.iter().copied());
    Exchange {
        id: "r-000001".into(),
        ts: 1_795_000_000_000_000,
        client_ip: Some("203.0.113.7".parse().unwrap()),
        app: None,
        node: None,
        request: Request {
            method: "POST".into(),
            url: "https://api.shop.example/v1/carts/8812/items?expand=product".into(),
            host: None,
            headers: headers(&[
                ("host", "api.shop.example"),
                ("user-agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"),
                ("accept", "application/json"),
                ("content-type", "application/json"),
                ("authorization", &format!("Bearer {token}")),
                ("x-request-id", "6f1c2a9e-1b7d-4c1e-9a51-0c8f3b2d4e77"),
            ]),
            body: Some(br#"{"product_id":1234,"quantity":2,"note":"gift wrap"}"#.to_vec()),
            body_truncated: false,
        },
        response: Some(Response {
            status: 201,
            headers: headers(&[("content-type", "application/json"), ("content-length", "64")]),
            body: Some(br#"{"cart_id":8812,"items":3,"total":"59.90","currency":"EUR"}"#.to_vec()),
            body_truncated: false,
            duration_ms: Some(12.5),
            size: None,
        }),
    }
}

fn typical_settings() -> AnalysisSettings {
    let item = |name: &str, point: &str, kind: &str| ContextSetting {
        name: name.into(),
        point: point.into(),
        kind: kind.into(),
        hashed: false,
        group_by: false,
    };
    AnalysisSettings {
        context: vec![
            item("user", "request.header.authorization.jwt.sub", "user"),
            item("role", "request.header.authorization.jwt.role", "role"),
        ],
        ..AnalysisSettings::default()
    }
}

fn bench_analyze(criterion: &mut Criterion) {
    let token = token();
    let exchange = typical_exchange(&token);
    let config = match typical_settings().validate() {
        Ok(config) => config,
        Err(problems) => panic!("bench settings are invalid: {problems:?}"),
    };
    let analyzer = Analyzer::new(config, [9; 32]);
    criterion.bench_function("analyze typical exchange (jwt user+role)", |bencher| {
        bencher.iter(|| analyzer.analyze(black_box(&exchange)))
    });
    let mut state = SessionState::new(100_000);
    criterion.bench_function("analyze + complete", |bencher| {
        bencher.iter(|| {
            let mut analyzed = analyzer.analyze(black_box(&exchange));
            state.complete(&mut analyzed);
            analyzed
        })
    });
    criterion.bench_function("endpoint_template", |bencher| {
        bencher.iter(|| {
            endpoint_template(black_box(
                "/v1/users/550e8400-e29b-41d4-a716-446655440000/orders/17",
            ))
        })
    });
}

criterion_group!(benches, bench_analyze);
criterion_main!(benches);
