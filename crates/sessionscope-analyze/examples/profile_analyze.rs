// Temporary profiling driver (removed before hand-off).
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sessionscope_analyze::{AnalysisSettings, Analyzer, ContextSetting};
use sessionscope_model::{Exchange, Headers, Request, Response};
use std::hint::black_box;
fn token() -> String {
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(br#"{"sub":"user-4711","role":"customer","iat":1795000000,"exp":1795003600}"#),
        URL_SAFE_NO_PAD.encode([42u8; 32])
    )
}

fn typical_exchange(token: &str) -> Exchange {
    let headers = |pairs: &[(&str, &str)]| Headers(pairs.iter().map(|(name, value)| (name.to_string(), value.to_string())).collect());
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


fn main() {
    let iterations: usize = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(1_000_000);
    let token = token();
    let exchange = typical_exchange(&token);
    let analyzer = Analyzer::new(typical_settings().validate().unwrap(), [9; 32]);
    let start = std::time::Instant::now();
    for _ in 0..iterations {
        black_box(analyzer.analyze(black_box(&exchange)));
    }
    eprintln!("{:.0} ns per analyze", start.elapsed().as_nanos() as f64 / iterations as f64);
}
