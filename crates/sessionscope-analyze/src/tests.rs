//! End-to-end tests of `Analyzer` on whole exchanges: session keys and their order, point
//! extraction, storage of secrets, and the fields of the analysed exchange.

use std::net::IpAddr;

use sessionscope_model::{
    AnalyzedExchange, Exchange, Flow, Headers, ParamKind, Request, Response, StoredAs,
};

use crate::jwt::tests::token_with_claims;
use crate::*;

const SECRET: [u8; 32] = [7; 32];

fn exchange(method: &str, url: &str, headers: &[(&str, &str)]) -> Exchange {
    Exchange {
        id: "r-1".into(),
        ts: 1_795_000_000_000_000,
        client_ip: Some("203.0.113.7".parse().unwrap()),
        request: Request {
            method: method.into(),
            url: url.into(),
            headers: Headers::from_pairs(headers.iter().copied()),
            ..Request::default()
        },
        ..Exchange::default()
    }
}

fn with_body(mut exchange: Exchange, content_type: &str, body: &str) -> Exchange {
    exchange.request.headers.push("Content-Type", content_type);
    exchange.request.body = Some(body.as_bytes().to_vec());
    exchange
}

fn with_response(mut exchange: Exchange, headers: &[(&str, &str)], body: &str) -> Exchange {
    exchange.response = Some(Response {
        status: 200,
        headers: Headers::from_pairs(headers.iter().copied()),
        body: (!body.is_empty()).then(|| body.as_bytes().to_vec()),
        ..Response::default()
    });
    exchange
}

fn analyzer(settings: AnalysisSettings) -> Analyzer {
    Analyzer::new(settings.validate().unwrap(), SECRET)
}

fn builtin_only() -> Analyzer {
    analyzer(AnalysisSettings::default())
}

fn keys(points: &[&[&str]]) -> AnalysisSettings {
    AnalysisSettings {
        session_keys: points
            .iter()
            .map(|key| SessionKeySetting {
                points: key.iter().map(|point| point.to_string()).collect(),
            })
            .collect(),
        ..AnalysisSettings::default()
    }
}

fn context_item(name: &str, point: &str, kind: &str) -> ContextSetting {
    ContextSetting {
        name: name.into(),
        point: point.into(),
        kind: kind.into(),
        hashed: false,
        group_by: false,
    }
}

fn label(analyzed: &AnalyzedExchange) -> &str {
    &analyzed.session_key
}

#[test]
fn each_builtin_key_is_found_and_the_earlier_one_wins() {
    let bearer = token_with_claims(r#"{"sub":"1","sid":"s-9"}"#);
    let opaque = "opaque-token-1234";
    let bearer_header = format!("Bearer {bearer}");
    let opaque_header = format!("Bearer {opaque}");
    // Each row adds one key that ranks above every key of the rows below it.
    let rows: Vec<(Exchange, &str)> = vec![
        (exchange("GET", "/", &[]), "builtin:none"),
        (
            Exchange {
                client_ip: Some("203.0.113.7".parse().unwrap()),
                ..exchange("GET", "/", &[])
            },
            "builtin:ip",
        ),
        (
            exchange("GET", "/", &[("User-Agent", "curl/8")]),
            "builtin:ip+user-agent",
        ),
        (
            with_response(
                exchange("POST", "/login", &[("User-Agent", "curl/8")]),
                &[("Content-Type", "application/json")],
                r#"{"token":"t-1"}"#,
            ),
            "builtin:response.token",
        ),
        (
            with_response(
                exchange("POST", "/login", &[]),
                &[],
                r#"{"token":"t-1","id_token":"i-1"}"#,
            ),
            "builtin:response.id_token",
        ),
        (
            with_response(
                exchange("POST", "/login", &[]),
                &[],
                r#"{"id_token":"i-1","access_token":"a-1"}"#,
            ),
            "builtin:response.access_token",
        ),
        (
            with_response(
                exchange("POST", "/mcp", &[]),
                &[("Mcp-Session-Id", "m-1")],
                r#"{"access_token":"a-1"}"#,
            ),
            "builtin:response.header.mcp-session-id",
        ),
        (
            with_response(
                exchange("POST", "/login", &[]),
                &[
                    ("Mcp-Session-Id", "m-1"),
                    ("Set-Cookie", "PHPSESSID=p-1; Path=/"),
                ],
                "",
            ),
            "builtin:set-cookie.PHPSESSID",
        ),
        (
            with_response(
                exchange("GET", "/", &[("Api-Key", "k-2")]),
                &[("Set-Cookie", "PHPSESSID=p-1")],
                "",
            ),
            "builtin:header.api-key",
        ),
        (
            exchange("GET", "/", &[("Api-Key", "k-2"), ("X-API-Key", "k-1")]),
            "builtin:header.x-api-key",
        ),
        (
            exchange(
                "GET",
                "/",
                &[("X-API-Key", "k-1"), ("Authorization", &opaque_header)],
            ),
            "builtin:bearer",
        ),
        (
            exchange("GET", "/", &[("Authorization", &bearer_header)]),
            "builtin:bearer.sid",
        ),
        (
            exchange(
                "GET",
                "/",
                &[("Authorization", &bearer_header), ("Mcp-Session-Id", "m")],
            ),
            "builtin:header.mcp-session-id",
        ),
        (
            exchange(
                "GET",
                "/",
                &[("Mcp-Session-Id", "m"), ("X-Session-Token", "t")],
            ),
            "builtin:header.x-session-token",
        ),
        (
            exchange(
                "GET",
                "/",
                &[("X-Session-Token", "t"), ("x-session-id", "x")],
            ),
            "builtin:header.x-session-id",
        ),
        (
            exchange("GET", "/", &[("x-session-id", "x"), ("Session-Id", "s")]),
            "builtin:header.session-id",
        ),
        (
            exchange(
                "GET",
                "/",
                &[("Session-Id", "s"), ("Cookie", "theme=dark; sid=c-0")],
            ),
            "builtin:cookie.sid",
        ),
        (
            exchange("GET", "/", &[("Cookie", "sid=c-0; connect.sid=c-1")]),
            "builtin:cookie.connect.sid",
        ),
        (
            exchange("GET", "/", &[("Cookie", "connect.sid=c-1; JSESSIONID=c-2")]),
            "builtin:cookie.JSESSIONID",
        ),
        (
            exchange("GET", "/", &[("Cookie", "JSESSIONID=c-2; phpsessid=c-3")]),
            "builtin:cookie.PHPSESSID",
        ),
    ];
    let analyzer = builtin_only();
    for (index, (input, expected)) in rows.iter().enumerate() {
        let mut input = input.clone();
        if index == 0 {
            input.client_ip = None;
        }
        assert_eq!(label(&analyzer.analyze(&input)), *expected, "row {index}");
    }
}

#[test]
fn builtin_keys_skip_empty_and_deleted_values() {
    let analyzer = builtin_only();
    let input = exchange(
        "GET",
        "/",
        &[
            ("Cookie", "PHPSESSID=; JSESSIONID=deleted"),
            ("X-Session-Id", "  "),
            ("User-Agent", "a"),
        ],
    );
    assert_eq!(label(&analyzer.analyze(&input)), "builtin:ip+user-agent");
    let basic = exchange(
        "GET",
        "/",
        &[("Authorization", "Basic YTpi"), ("User-Agent", "a")],
    );
    assert_eq!(label(&analyzer.analyze(&basic)), "builtin:ip+user-agent");
}

#[test]
fn user_keys_come_before_builtin_keys_in_their_order() {
    let analyzer = analyzer(keys(&[
        &["request.header.x-tenant-session"],
        &["request.query.sess"],
    ]));
    let both = exchange(
        "GET",
        "/?sess=q1",
        &[("X-Tenant-Session", "h1"), ("Cookie", "PHPSESSID=p")],
    );
    assert_eq!(
        label(&analyzer.analyze(&both)),
        "custom:request.header.x-tenant-session"
    );
    let query_only = exchange("GET", "/?sess=q1", &[("Cookie", "PHPSESSID=p")]);
    assert_eq!(
        label(&analyzer.analyze(&query_only)),
        "custom:request.query.sess"
    );
    let neither = exchange("GET", "/", &[("Cookie", "PHPSESSID=p")]);
    assert_eq!(
        label(&analyzer.analyze(&neither)),
        "builtin:cookie.PHPSESSID"
    );
}

#[test]
fn group_by_context_items_are_keys_after_session_keys() {
    let mut settings = keys(&[&["request.header.x-a"]]);
    settings.context.push(ContextSetting {
        group_by: true,
        ..context_item("tenant", "request.header.x-tenant", "none")
    });
    let analyzer = analyzer(settings);
    let tenant_only = exchange("GET", "/", &[("X-Tenant", "acme")]);
    assert_eq!(
        label(&analyzer.analyze(&tenant_only)),
        "custom:request.header.x-tenant"
    );
    let both = exchange("GET", "/", &[("X-Tenant", "acme"), ("X-A", "1")]);
    assert_eq!(label(&analyzer.analyze(&both)), "custom:request.header.x-a");
}

#[test]
fn composite_keys_match_only_when_every_point_is_present() {
    let analyzer = analyzer(keys(&[&[
        "request.header.x-device",
        "request.query.tenant",
        "request.ip",
    ]]));
    let complete = exchange(
        "GET",
        "/?tenant=acme",
        &[("X-Device", "d1"), ("User-Agent", "a")],
    );
    let analyzed = analyzer.analyze(&complete);
    assert_eq!(
        label(&analyzed),
        "custom:request.header.x-device+request.query.tenant+request.ip"
    );
    let other_tenant = exchange(
        "GET",
        "/?tenant=beta",
        &[("X-Device", "d1"), ("User-Agent", "a")],
    );
    assert_ne!(
        analyzer.analyze(&other_tenant).session_id,
        analyzed.session_id
    );
    let missing = exchange("GET", "/", &[("X-Device", "d1"), ("User-Agent", "a")]);
    assert_eq!(label(&analyzer.analyze(&missing)), "builtin:ip+user-agent");
}

#[test]
fn equal_values_meet_in_one_session_whichever_key_found_them() {
    let analyzer = analyzer(keys(&[&["request.header.x-token"]]));
    let by_user_key = analyzer.analyze(&exchange("GET", "/", &[("X-Token", "abc-123")]));
    let by_builtin = analyzer.analyze(&exchange("GET", "/", &[("X-Session-Id", "abc-123")]));
    assert_ne!(by_user_key.session_key, by_builtin.session_key);
    assert_eq!(by_user_key.session_id, by_builtin.session_id);
}

#[test]
fn a_token_issued_at_login_and_sent_later_makes_one_session() {
    let token = token_with_claims(r#"{"sub":"42","role":"user"}"#);
    let login_body = format!(r#"{{"access_token":"{token}","expires_in":3600}}"#);
    let login = with_response(
        with_body(
            exchange("POST", "/v1/login", &[("User-Agent", "app/1")]),
            "application/json",
            r#"{"email":"ann@example.com","password":"hunter2"}"#,
        ),
        &[("Content-Type", "application/json")],
        &login_body,
    );
    let later = exchange(
        "GET",
        "/v1/orders",
        &[
            ("Authorization", &format!("Bearer {token}")),
            ("User-Agent", "app/1"),
        ],
    );
    let analyzer = builtin_only();
    let login = analyzer.analyze(&login);
    let later = analyzer.analyze(&later);
    assert_eq!(login.session_key, "builtin:response.access_token");
    assert_eq!(later.session_key, "builtin:bearer");
    assert_eq!(login.session_id, later.session_id);

    // The same through a user key on the response.
    let analyzer = self::analyzer(keys(&[&["response.json.access_token"]]));
    let login_again = with_response(exchange("POST", "/v1/login", &[]), &[], &login_body);
    assert_eq!(analyzer.analyze(&login_again).session_id, later.session_id);
}

#[test]
fn a_jwt_with_a_sid_claim_normalizes_to_the_sid() {
    let first = token_with_claims(r#"{"sub":"42","sid":"sess-1","iat":1}"#);
    let refreshed = token_with_claims(r#"{"sub":"42","sid":"sess-1","iat":2}"#);
    let analyzer = analyzer(keys(&[&["request.cookie.auth"]]));
    let by_bearer = analyzer.analyze(&exchange(
        "GET",
        "/",
        &[("Authorization", &format!("Bearer {first}"))],
    ));
    let by_refreshed = analyzer.analyze(&exchange(
        "GET",
        "/",
        &[("Authorization", &format!("bearer {refreshed}"))],
    ));
    let by_cookie = analyzer.analyze(&exchange(
        "GET",
        "/",
        &[("Cookie", &format!("auth={refreshed}"))],
    ));
    let by_plain_sid = analyzer.analyze(&exchange("GET", "/", &[("X-Session-Id", "sess-1")]));
    assert_eq!(by_bearer.session_key, "builtin:bearer.sid");
    assert_eq!(by_cookie.session_key, "custom:request.cookie.auth");
    assert_eq!(by_bearer.session_id, by_refreshed.session_id);
    assert_eq!(by_bearer.session_id, by_cookie.session_id);
    assert_eq!(by_bearer.session_id, by_plain_sid.session_id);
}

#[test]
fn ip_and_user_agent_are_the_fallback() {
    let analyzer = builtin_only();
    let chrome = analyzer.analyze(&exchange("GET", "/", &[("User-Agent", "Chrome")]));
    let firefox = analyzer.analyze(&exchange("GET", "/", &[("User-Agent", "Firefox")]));
    let chrome_again = analyzer.analyze(&exchange("GET", "/other", &[("User-Agent", "Chrome")]));
    assert_eq!(chrome.session_key, "builtin:ip+user-agent");
    assert_ne!(chrome.session_id, firefox.session_id);
    assert_eq!(chrome.session_id, chrome_again.session_id);

    let mut unknown_ip = exchange("GET", "/", &[("User-Agent", "Chrome")]);
    unknown_ip.client_ip = None;
    let unknown_ip = analyzer.analyze(&unknown_ip);
    assert_eq!(unknown_ip.session_key, "builtin:ip+user-agent");
    assert_ne!(unknown_ip.session_id, chrome.session_id);

    let ip_only = analyzer.analyze(&exchange("GET", "/", &[]));
    assert_eq!(ip_only.session_key, "builtin:ip");
    assert_ne!(ip_only.session_id, chrome.session_id);
    // The address alone must not meet a user key whose value happens to be the same text.
    let user_key = self::analyzer(keys(&[&["request.header.x-id"]]));
    let same_text = user_key.analyze(&exchange("GET", "/", &[("X-Id", "203.0.113.7")]));
    assert_ne!(same_text.session_id, ip_only.session_id);
}

#[test]
fn different_installation_secrets_give_different_ids() {
    let input = exchange("GET", "/", &[("X-Session-Id", "abc")]);
    let first = Analyzer::new(AnalysisConfig::default(), [1; 32]).analyze(&input);
    let second = Analyzer::new(AnalysisConfig::default(), [2; 32]).analyze(&input);
    let first_again = Analyzer::new(AnalysisConfig::default(), [1; 32]).analyze(&input);
    assert_ne!(first.session_id, second.session_id);
    assert_eq!(first.session_id, first_again.session_id);
    assert_eq!(first.day, sessionscope_model::day_of(input.ts));
}

#[test]
fn session_ids_are_the_documented_hmac() {
    use hmac::{Hmac, Mac};
    let mut expected = Hmac::<sha2::Sha256>::new_from_slice(&SECRET).unwrap();
    expected.update(b"abc");
    let digest = expected.finalize().into_bytes();
    let analyzed = builtin_only().analyze(&exchange("GET", "/", &[("X-Session-Id", " abc ")]));
    assert_eq!(analyzed.session_id.as_bytes()[..], digest[..16]);
}

/// Every point kind, previewed against one exchange that holds them all.
#[test]
fn every_point_kind_extracts_its_value() {
    let token = token_with_claims(
        r#"{"sub":"42","realm":{"roles":["admin","ops"]},"email":"ann@example.com"}"#,
    );
    let cookie_token = token_with_claims(r#"{"sub":"cookie-user"}"#);
    let query_token = token_with_claims(r#"{"sub":"query-user"}"#);
    let input = with_response(
        with_body(
            exchange(
                "POST",
                &format!("https://api.example.com/v1/x?name=caf%C3%A9+au+lait&empty=&t={query_token}&variables=%7B%22q%22%3A1%7D"),
                &[
                    ("X-Request-Tenant", "acme"),
                    ("Authorization", &format!("Bearer {token}")),
                    ("Cookie", &format!("theme=dark; id_token={cookie_token}")),
                ],
            ),
            "application/json",
            r#"{"user":{"ids":[10,20],"name":"Ann"},"flag":true,"query":"q","variables":{"input":{"email":"ann@example.com"}}}"#,
        ),
        &[("X-Trace", "tr-1"), ("Set-Cookie", "theme=light; Path=/")],
        r#"{"data":{"orders":[{"id":"o-1"},{"id":"o-2"}]}}"#,
    );
    let analyzer = builtin_only();
    let cases: &[(&str, Option<&str>)] = &[
        ("request.ip", Some("203.0.113.7")),
        ("request.header.x-request-tenant", Some("acme")),
        ("request.header.X-REQUEST-TENANT", Some("acme")),
        ("request.header.authorization.jwt.sub", Some("42")),
        (
            "request.header.authorization.jwt.realm.roles",
            Some("admin"),
        ),
        (
            "request.header.authorization.jwt.email",
            Some("ann@example.com"),
        ),
        ("request.cookie.id_token.jwt.sub", Some("cookie-user")),
        ("request.query.name", Some("café au lait")),
        ("request.query.empty", None),
        ("request.query.t.jwt.sub", Some("query-user")),
        ("request.query.missing", None),
        ("request.json.user.ids[1]", Some("20")),
        ("request.json.user.name", Some("Ann")),
        ("request.json.flag", Some("true")),
        ("request.json.user", None),
        ("request.json.user.ids[5]", None),
        ("request.graphql.input.email", Some("ann@example.com")),
        ("response.header.x-trace", Some("tr-1")),
        ("response.json.data.orders[1].id", Some("o-2")),
        ("response.header.missing", None),
    ];
    for (text, expected) in cases {
        let point: Point = text.parse().unwrap();
        let preview = analyzer.preview(&point, &input);
        assert_eq!(
            preview.as_ref().map(|(value, _)| value.as_str()),
            *expected,
            "{text}"
        );
        if expected.is_some() {
            assert_eq!(
                preview.map(|(_, stored_as)| stored_as),
                Some(StoredAs::Clear),
                "{text}"
            );
        }
    }
    // Cookies are credentials: found, but hashed.
    let point: Point = "request.cookie.theme".parse().unwrap();
    let (value, stored_as) = analyzer.preview(&point, &input).unwrap();
    assert_eq!((value.len(), stored_as), (32, StoredAs::Hashed));
    let point: Point = "response.cookie.theme".parse().unwrap();
    assert_eq!(
        analyzer.preview(&point, &input).unwrap().1,
        StoredAs::Hashed
    );
}

#[test]
fn form_fields_are_read_from_url_encoded_bodies() {
    let input = with_body(
        exchange("POST", "/login", &[]),
        "application/x-www-form-urlencoded",
        "username=ann%40example.com&remember=on+please",
    );
    let analyzer = builtin_only();
    let preview = |text: &str| {
        analyzer
            .preview(&text.parse().unwrap(), &input)
            .map(|(value, _)| value)
    };
    assert_eq!(
        preview("request.form.username").as_deref(),
        Some("ann@example.com")
    );
    assert_eq!(
        preview("request.form.remember").as_deref(),
        Some("on please")
    );
    assert_eq!(preview("request.json.username"), None);
}

#[test]
fn users_roles_and_context_come_from_context_items() {
    let token =
        token_with_claims(r#"{"sub":"42","roles":["viewer","admin","viewer"],"org":"acme"}"#);
    let settings = AnalysisSettings {
        context: vec![
            context_item("missing user", "request.header.x-user", "user"),
            context_item("user", "request.header.authorization.jwt.sub", "user"),
            context_item("roles", "request.header.authorization.jwt.roles", "role"),
            ContextSetting {
                hashed: true,
                ..context_item("org", "request.header.authorization.jwt.org", "role")
            },
        ],
        ..AnalysisSettings::default()
    };
    let analyzer = analyzer(settings);
    let analyzed = analyzer.analyze(&exchange(
        "GET",
        "/",
        &[("Authorization", &format!("Bearer {token}"))],
    ));
    assert_eq!(analyzed.user.as_deref(), Some("42"));
    let hashed_org = analyzed
        .context
        .iter()
        .find(|value| value.name == "org")
        .unwrap();
    assert_eq!(hashed_org.stored_as, StoredAs::Hashed);
    assert_eq!(hashed_org.value.len(), 32);
    let mut expected_roles = vec![
        "admin".to_string(),
        "viewer".to_string(),
        hashed_org.value.to_string(),
    ];
    expected_roles.sort();
    assert_eq!(analyzed.roles, expected_roles);
    let names: Vec<&str> = analyzed
        .context
        .iter()
        .map(|value| value.name.as_str())
        .collect();
    assert_eq!(names, vec!["user", "roles", "roles", "roles", "org"]);
    assert_eq!(
        analyzed.context[0].point,
        "request.header.authorization.jwt.sub"
    );
    assert_eq!(analyzed.context[0].kind, ParamKind::User);
}

#[test]
fn secrets_never_appear_in_the_analyzed_exchange() {
    let token = token_with_claims(r#"{"sub":"42","sid":"the-sid-value"}"#);
    let settings = AnalysisSettings {
        context: vec![
            context_item("password", "request.json.password", "none"),
            context_item("auth", "request.header.authorization", "none"),
            context_item("session cookie", "request.cookie.PHPSESSID", "none"),
            context_item("api key", "request.header.x-api-key", "none"),
            context_item("card", "request.json.payment.number", "none"),
            context_item("issued", "response.json.access_token", "none"),
            context_item("token as text", "request.json.note", "none"),
            context_item("email", "request.json.email", "user"),
        ],
        ..AnalysisSettings::default()
    };
    let body = format!(
        r#"{{"email":"ann@example.com","password":"hunter2-secret","payment":{{"number":"4111111111111111"}},"note":"{token}"}}"#
    );
    let input = with_response(
        with_body(
            exchange(
                "POST",
                &format!("https://ann:pa55word@api.example.com/reset/{token}?api_key=key-material-1&page=2&jwt={token}"),
                &[
                    ("Authorization", &format!("Bearer {token}")),
                    ("Cookie", "PHPSESSID=cookie-material-1"),
                    ("X-API-Key", "key-material-2"),
                ],
            ),
            "application/json",
            &body,
        ),
        &[("Content-Type", "application/json")],
        r#"{"access_token":"issued-material-1"}"#,
    );
    let analyzed = analyzer(settings).analyze(&input);
    let debug = format!("{analyzed:?}");
    let serialized = serde_json::to_string(&analyzed.context).unwrap();
    for secret in [
        token.as_str(),
        "the-sid-value",
        "hunter2",
        "cookie-material-1",
        "key-material-1",
        "key-material-2",
        "4111111111111111",
        "issued-material-1",
        "pa55word",
    ] {
        assert!(!debug.contains(secret), "`{secret}` leaked into {debug}");
        assert!(
            !serialized.contains(secret),
            "`{secret}` leaked into {serialized}"
        );
    }
    let stored_as: Vec<(&str, StoredAs)> = analyzed
        .context
        .iter()
        .map(|value| (value.name.as_str(), value.stored_as))
        .collect();
    assert_eq!(
        stored_as,
        vec![
            ("password", StoredAs::Masked),
            ("auth", StoredAs::Hashed),
            ("session cookie", StoredAs::Hashed),
            ("api key", StoredAs::Hashed),
            ("card", StoredAs::Masked),
            ("issued", StoredAs::Hashed),
            ("token as text", StoredAs::Hashed),
            ("email", StoredAs::Clear),
        ]
    );
    assert_eq!(analyzed.context[0].value, "***");
    assert_eq!(analyzed.user.as_deref(), Some("ann@example.com"));
    assert_eq!(analyzed.query, "api_key=***&page=2&jwt=***");
    assert_eq!(analyzed.path, "/reset/***");
    assert_eq!(analyzed.endpoint, "/reset/{token}");
    assert_eq!(analyzed.host, "api.example.com");
    // Equal credentials hash equally, so hashed values still group.
    let auth_hash = &analyzed.context[1].value;
    let token_hash = &analyzed.context[6].value;
    assert_eq!(auth_hash, token_hash);
}

#[test]
fn request_fields_are_filled_as_documented() {
    let settings = AnalysisSettings {
        apps: vec![
            AppSetting {
                name: "admin".into(),
                host: "*.example.com".into(),
                path: Some("/admin/*".into()),
            },
            AppSetting {
                name: "shop".into(),
                host: "*.Example.com".into(),
                path: None,
            },
        ],
        ..AnalysisSettings::default()
    };
    let analyzer = analyzer(settings);
    let mut input = with_response(
        exchange(
            "get",
            "https://API.Example.com:443/v1/users/7/Orders?expand=1",
            &[("User-Agent", "app/2")],
        ),
        &[("Content-Length", "1234")],
        "",
    );
    let analyzed = analyzer.analyze(&input);
    assert_eq!(analyzed.id, "r-1");
    assert_eq!(analyzed.method, "GET");
    assert_eq!(analyzed.host, "api.example.com");
    assert_eq!(analyzed.path, "/v1/users/7/Orders");
    assert_eq!(analyzed.query, "expand=1");
    assert_eq!(analyzed.endpoint, "/v1/users/{int}/Orders");
    assert_eq!(analyzed.app, "shop");
    assert_eq!(analyzed.status, Some(200));
    assert_eq!(analyzed.size, Some(1234));
    assert_eq!(analyzed.user_agent.as_deref(), Some("app/2"));
    assert_eq!(
        analyzed.client_ip,
        Some("203.0.113.7".parse::<IpAddr>().unwrap())
    );
    assert!(analyzed.attacks.is_empty());

    input.request.url = "/admin/users".into();
    input.request.host = Some("Shop.example.com:80".into());
    if let Some(response) = input.response.as_mut() {
        response.size = Some(9);
        response.duration_ms = Some(4.5);
    }
    let analyzed = analyzer.analyze(&input);
    assert_eq!(
        (analyzed.host.as_str(), analyzed.app.as_str()),
        ("shop.example.com", "admin")
    );
    assert_eq!((analyzed.size, analyzed.duration_ms), (Some(9), Some(4.5)));
    assert!(analyzed.flows.contains(Flow::Admin));

    input.request.host = None;
    input.request.headers.push("Host", "other.test");
    input.app = Some("given".into());
    let analyzed = analyzer.analyze(&input);
    assert_eq!(
        (analyzed.host.as_str(), analyzed.app.as_str()),
        ("other.test", "given")
    );

    input.response.as_mut().unwrap().body = Some(b"abc".to_vec());
    input.response.as_mut().unwrap().size = None;
    input.response.as_mut().unwrap().headers = Headers::default();
    assert_eq!(analyzer.analyze(&input).size, Some(3));
}

#[test]
fn analysis_is_pure_and_shareable() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Analyzer>();
    assert_send_sync::<AnalysisConfig>();
    let token = token_with_claims(r#"{"sub":"1"}"#);
    let input = exchange(
        "GET",
        "/v1/x?a=1",
        &[("Authorization", &format!("Bearer {token}"))],
    );
    let analyzer = builtin_only();
    let first = analyzer.analyze(&input);
    let from_thread =
        std::thread::scope(|scope| scope.spawn(|| analyzer.analyze(&input)).join().unwrap());
    assert_eq!(first, from_thread);
    let debug = format!("{analyzer:?}");
    assert!(
        !debug.contains("7, 7"),
        "the secret must not be printed: {debug}"
    );
}

#[test]
fn hostile_input_does_not_panic() {
    let analyzer = analyzer(AnalysisSettings {
        context: vec![
            context_item("a", "request.json.a[0].b", "user"),
            context_item("b", "request.form.x", "role"),
            context_item("c", "request.graphql.v", "none"),
            context_item("d", "request.header.authorization.jwt.sub", "none"),
        ],
        ..AnalysisSettings::default()
    });
    let weird = [
        "",
        "?",
        "??&&==",
        "http://",
        "https://@:443",
        "/%",
        "/%zz?%=%",
        "//",
        "*",
        "/é/ü?ä=ö",
        "https://[::1",
        "/a\u{0}b",
        "/eyJ.eyJ.x",
    ];
    for url in weird {
        for body in [
            "",
            "{",
            "[",
            "\u{0}",
            "{\"a\":[{\"b\":null}]}",
            "=&=",
            "--b\r\n",
        ] {
            let mut input = with_body(
                exchange(
                    "GET",
                    url,
                    &[("Authorization", "Bearer eyJ.eyJ.x"), ("Cookie", ";;=;a")],
                ),
                "multipart/form-data; boundary=b",
                body,
            );
            input.request.method = String::new();
            let analyzed = analyzer.analyze(&input);
            assert!(!analyzed.endpoint.is_empty());
        }
    }
}

#[test]
fn attacks_are_detected_with_point_payload_and_rule() {
    let attack = exchange("GET", "/search?q=1%27%20or%20%271%27%3D%271&page=2", &[]);
    let analyzed = builtin_only().analyze(&attack);
    assert_eq!(analyzed.attacks.len(), 1, "{:?}", analyzed.attacks);
    let found = &analyzed.attacks[0];
    assert_eq!(found.kind, "sqli");
    assert_eq!(found.point, "request.query.q");
    assert!(found.payload.contains("' or '1'='1"), "{}", found.payload);
    assert!(found.rule.starts_with("sqli."));

    let benign = exchange("GET", "/search?q=red+shoes&page=2", &[]);
    assert!(builtin_only().analyze(&benign).attacks.is_empty());
}

#[test]
fn attack_payloads_at_secret_points_are_masked_but_still_found() {
    let login = with_body(
        exchange(
            "POST",
            "/login",
            &[("Cookie", "theme=<script>alert(1)</script>")],
        ),
        "application/json",
        r#"{"email":"ann@example.com","password":"x' or '1'='1"}"#,
    );
    let analyzed = builtin_only().analyze(&login);
    let points: Vec<(&str, &str, &str)> = analyzed
        .attacks
        .iter()
        .map(|attack| {
            (
                attack.kind.as_str(),
                attack.point.as_str(),
                attack.payload.as_str(),
            )
        })
        .collect();
    assert!(
        points.contains(&("sqli", "request.json.password", "***")),
        "{points:?}"
    );
    assert!(
        points.contains(&("xss", "request.cookie.theme", "***")),
        "{points:?}"
    );
}

#[test]
fn attack_payloads_at_key_and_hashed_points_are_masked_but_still_found() {
    let payload = "1' union select password from users--";
    let request = || {
        with_body(
            exchange(
                "POST",
                &format!("/v1/items?ref={}", payload.replace(' ', "%20")),
                &[("X-Tenant-Ref", payload)],
            ),
            "application/json",
            &format!(r#"{{"account":{{"id":"{payload}"}}}}"#),
        )
    };
    let payloads = |analyzer: &Analyzer| -> Vec<(String, String)> {
        analyzer
            .analyze(&request())
            .attacks
            .into_iter()
            .map(|attack| (attack.point, attack.payload))
            .collect()
    };
    // Benign look-alike: the same names, read by nothing, keep their payloads.
    let clear = payloads(&builtin_only());
    for point in [
        "request.header.x-tenant-ref",
        "request.query.ref",
        "request.json.account.id",
    ] {
        assert!(
            clear
                .iter()
                .any(|(at, shown)| at == point && shown != "***"),
            "{point} in {clear:?}"
        );
    }
    // A key on the header, a hashed parameter on the query, a key inside the JSON object.
    let mut settings = keys(&[
        &["request.header.x-tenant-ref"],
        &["request.json.account.id.x"],
    ]);
    settings.context.push(ContextSetting {
        hashed: true,
        ..context_item("ref", "request.query.ref", "none")
    });
    let hidden = payloads(&analyzer(settings));
    for point in [
        "request.header.x-tenant-ref",
        "request.query.ref",
        "request.json.account.id",
    ] {
        assert!(
            hidden
                .iter()
                .any(|(at, shown)| at == point && shown == "***"),
            "{point} is found, its payload masked: {hidden:?}"
        );
    }
    assert!(
        hidden.iter().all(|(_, shown)| !shown.contains("union")),
        "{hidden:?}"
    );
}

#[test]
fn detection_can_be_switched_off() {
    let attack = exchange("GET", "/search?q=%3Cscript%3Ealert(1)%3C/script%3E", &[]);
    assert!(!builtin_only().analyze(&attack).attacks.is_empty());
    assert!(builtin_only()
        .with_detection(false)
        .analyze(&attack)
        .attacks
        .is_empty());
}

fn with_rules(rules: Vec<DetectionRule>) -> Analyzer {
    analyzer(AnalysisSettings {
        rules,
        ..AnalysisSettings::default()
    })
}

fn rule(kind: &str, point: Option<&str>) -> DetectionRule {
    DetectionRule {
        kind: kind.into(),
        point: point.map(str::to_string),
        ..DetectionRule::default()
    }
}

fn host_scope(host: &str, endpoint: Option<&str>) -> RuleScope {
    RuleScope {
        host: Some(host.into()),
        endpoint: endpoint.map(str::to_string),
    }
}

#[test]
fn false_positive_rules_drop_findings_in_their_scope_only() {
    let attack = exchange(
        "GET",
        "http://api.example.com/search?q=1%27%20or%20%271%27%3D%271",
        &[],
    );
    let found = builtin_only().analyze(&attack).attacks;
    assert_eq!(found.len(), 1, "{found:?}");
    let payload = found[0].payload.clone();
    // (rule, finding kept)
    let cases = [
        (
            DetectionRule {
                attack_type: Some("sqli".into()),
                payload: Some(payload.clone()),
                ..rule(FALSE_POSITIVE, Some("request.query.q"))
            },
            false,
        ),
        (
            DetectionRule {
                attack_type: Some("sqli".into()),
                payload: Some("another payload".into()),
                ..rule(FALSE_POSITIVE, Some("request.query.q"))
            },
            true,
        ),
        (
            DetectionRule {
                attack_type: Some("xss".into()),
                ..rule(FALSE_POSITIVE, Some("request.query.q"))
            },
            true,
        ),
        (
            DetectionRule {
                scope: host_scope("api.example.com", Some("/search")),
                ..rule(FALSE_POSITIVE, Some("request.query.q"))
            },
            false,
        ),
        (
            DetectionRule {
                scope: host_scope("shop.example.com", None),
                ..rule(FALSE_POSITIVE, Some("request.query.q"))
            },
            true,
        ),
        (
            DetectionRule {
                scope: host_scope("api.example.com", None),
                ..rule(DISABLE_DETECTION, None)
            },
            false,
        ),
        (rule(DISABLE_DETECTION, Some("request.query.other")), true),
    ];
    for (rule, kept) in cases {
        let attacks = with_rules(vec![rule.clone()]).analyze(&attack).attacks;
        assert_eq!(!attacks.is_empty(), kept, "{rule:?}");
    }
}

#[test]
fn an_endpoint_rule_with_a_folded_segment_covers_the_unfolded_request() {
    // Stored requests carry the folded template (`/users/{param}` once a position has seen many
    // names); new traffic is analysed before folding, as `/users/alice/search`.
    let attack = exchange(
        "GET",
        "http://api.example.com/users/alice/search?q=1%27%20or%20%271%27%3D%271",
        &[],
    );
    assert_eq!(builtin_only().analyze(&attack).attacks.len(), 1);
    let scoped = |endpoint: &str| {
        with_rules(vec![DetectionRule {
            scope: host_scope("api.example.com", Some(endpoint)),
            ..rule(FALSE_POSITIVE, Some("request.query.q"))
        }])
        .analyze(&attack)
        .attacks
        .len()
    };
    assert_eq!(scoped("/users/{param}/search"), 0);
    assert_eq!(scoped("/users/alice/search"), 0);
    assert_eq!(scoped("/users/{param}"), 1, "segment counts differ");
    assert_eq!(scoped("/users/{param}/orders"), 1);
    assert_eq!(scoped("/users/bob/search"), 1);
}

#[test]
fn virtual_patches_report_their_attack_type_at_their_point() {
    let patched = with_rules(vec![DetectionRule {
        pattern: Some("(?i)^debug-[0-9]+$".into()),
        attack_type: Some("scanner".into()),
        ..rule(VIRTUAL_PATCH, Some("request.header.x-probe"))
    }]);
    let probing = exchange("GET", "/health", &[("X-Probe", "DEBUG-42")]);
    let attacks = patched.analyze(&probing).attacks;
    assert_eq!(
        attacks,
        vec![sessionscope_model::Attack {
            kind: "scanner".into(),
            point: "request.header.x-probe".into(),
            payload: "DEBUG-42".into(),
            rule: "vpatch.0".into(),
        }]
    );
    let ordinary = exchange("GET", "/health", &[("X-Probe", "release-42")]);
    assert!(patched.analyze(&ordinary).attacks.is_empty());
    // A rule with an id keeps its rule id wherever it sits in the list.
    let named = with_rules(vec![
        rule(FALSE_POSITIVE, Some("request.query.other")),
        DetectionRule {
            id: "rule-7".into(),
            pattern: Some("(?i)^debug-[0-9]+$".into()),
            attack_type: Some("scanner".into()),
            ..rule(VIRTUAL_PATCH, Some("request.header.x-probe"))
        },
    ]);
    let found = named.analyze(&probing).attacks;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].rule, "vpatch.rule-7");
    // A false positive on the patch's own finding wins over the patch.
    let both = with_rules(vec![
        DetectionRule {
            pattern: Some("debug".into()),
            attack_type: Some("scanner".into()),
            ..rule(VIRTUAL_PATCH, Some("request.header.x-probe"))
        },
        rule(FALSE_POSITIVE, Some("request.header.x-probe")),
    ]);
    assert!(both
        .analyze(&exchange("GET", "/", &[("X-Probe", "debug")]))
        .attacks
        .is_empty());
}

#[test]
fn masked_parameters_are_never_stored() {
    let masking = analyzer(AnalysisSettings {
        context: vec![context_item("ssn", "request.query.ssn", "none")],
        rules: vec![DetectionRule {
            scope: host_scope("api.example.com", None),
            ..rule(MASK_PARAMETER, Some("request.query.ssn"))
        }],
        ..AnalysisSettings::default()
    });
    let request = exchange(
        "GET",
        "http://api.example.com/people?ssn=123-45-6789%27%20or%20%271%27%3D%271&page=1",
        &[],
    );
    let analyzed = masking.analyze(&request);
    assert_eq!(analyzed.query, "ssn=***&page=1");
    assert_eq!(analyzed.context[0].value, "***");
    assert_eq!(analyzed.context[0].stored_as, StoredAs::Masked);
    assert!(!analyzed.attacks.is_empty());
    assert!(analyzed
        .attacks
        .iter()
        .all(|attack| attack.payload == "***"));
    // Another host is out of the rule's scope.
    let elsewhere = exchange(
        "GET",
        "http://shop.example.com/people?ssn=123-45-6789&page=1",
        &[],
    );
    let analyzed = masking.analyze(&elsewhere);
    assert_eq!(analyzed.query, "ssn=123-45-6789&page=1");
    assert_eq!(analyzed.context[0].value, "123-45-6789");
}
