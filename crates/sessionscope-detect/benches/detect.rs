//! Cost of `Detector::detect` on whole exchanges: a typical benign API call (the target is about
//! 1 µs, so that ingest with detection stays near 200,000 exchanges/s on 2 cores), a benign call
//! with prose in a JSON body, and an attack.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use sessionscope_detect::Detector;
use sessionscope_model::{Exchange, Headers, Request};

fn exchange(url: &str, body: Option<&str>) -> Exchange {
    let headers = [
        ("host", "api.shop.example"),
        ("user-agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"),
        ("accept", "application/json"),
        ("content-type", "application/json"),
        ("authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiJ9.c2ln"),
        ("x-request-id", "6f1c2a9e-1b7d-4c1e-9a51-0c8f3b2d4e77"),
        ("cookie", "PHPSESSID=9a8b7c6d5e4f3a2b1c0d; theme=dark"),
    ];
    Exchange {
        id: "r-1".into(),
        request: Request {
            method: "POST".into(),
            url: url.into(),
            headers: Headers::from_pairs(headers.iter().copied()),
            body: body.map(|body| body.as_bytes().to_vec()),
            ..Request::default()
        },
        ..Exchange::default()
    }
}

fn bench(criterion: &mut Criterion) {
    let detector = Detector::new();
    let typical = exchange(
        "https://api.shop.example/v1/carts/8812/items?expand=product",
        Some(r#"{"product_id":1234,"quantity":2,"note":"gift wrap"}"#),
    );
    let prose = exchange(
        "https://api.shop.example/v1/reviews?lang=en",
        Some(
            r#"{"rating":4,"title":"Great fit","text":"Ordered the blue one (size 42) and it fits well; would buy again, and the delivery was fast.","tags":["shoes","summer"]}"#,
        ),
    );
    let attack = exchange(
        "https://api.shop.example/v1/search?q=1%27%20UNION%20SELECT%20password%20FROM%20users--&next=//evil.example",
        Some(r#"{"filter":{"$where":"sleep(5000)"},"path":"../../etc/passwd"}"#),
    );
    assert!(detector.detect(&typical).is_empty());
    assert!(detector.detect(&prose).is_empty());
    assert!(!detector.detect(&attack).is_empty());
    criterion.bench_function("detect typical benign exchange", |bencher| {
        bencher.iter(|| detector.detect(black_box(&typical)))
    });
    criterion.bench_function("detect benign exchange with prose", |bencher| {
        bencher.iter(|| detector.detect(black_box(&prose)))
    });
    criterion.bench_function("detect attack exchange", |bencher| {
        bencher.iter(|| detector.detect(black_box(&attack)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
