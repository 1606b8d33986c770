//! Whole-generator tests: determinism, the exchange format, exact counts, the ground truth and
//! whether the truth sessions can be found from the traffic the way the demo configuration says.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;
use sessionscope_model::{day_of, parse_rfc3339};

use super::*;

fn options(requests: u64, seed: u64) -> GeneratorOptions {
    GeneratorOptions {
        requests,
        seed,
        ..GeneratorOptions::default()
    }
}

fn generate(requests: u64, seed: u64) -> Vec<Generated> {
    Generator::new(options(requests, seed)).collect()
}

fn parse(line: &str) -> Value {
    serde_json::from_str(line)
        .unwrap_or_else(|error| panic!("line does not parse: {error}: {line}"))
}

fn header<'a>(headers: &'a Value, name: &str) -> Option<&'a str> {
    headers.as_array()?.iter().find_map(|pair| {
        let pair = pair.as_array()?;
        if pair.first()?.as_str()?.eq_ignore_ascii_case(name) {
            return pair.get(1)?.as_str();
        }
        None
    })
}

fn bearer_token(exchange: &Value) -> Option<&str> {
    header(&exchange["request"]["headers"], "authorization")?.strip_prefix("Bearer ")
}

fn issued_token(exchange: &Value) -> Option<String> {
    let body = exchange["response"]["body"].as_str()?;
    let value: Value = serde_json::from_str(body).ok()?;
    value.get("access_token")?.as_str().map(str::to_string)
}

#[test]
fn same_options_give_identical_bytes_and_other_seeds_differ() {
    let mut first = Vec::new();
    let mut first_truth = Vec::new();
    generate_to(&options(3_000, 7), &mut first, Some(&mut first_truth)).unwrap();
    let mut second = Vec::new();
    let mut second_truth = Vec::new();
    generate_to(&options(3_000, 7), &mut second, Some(&mut second_truth)).unwrap();
    assert!(first == second, "same seed gave different traffic");
    assert!(
        first_truth == second_truth,
        "same seed gave different truth"
    );
    let mut other = Vec::new();
    generate_to(&options(3_000, 8), &mut other, None).unwrap();
    assert!(first != other, "different seeds gave the same traffic");
}

#[test]
fn generate_to_writes_what_the_iterator_yields() {
    let mut lines = Vec::new();
    let mut truths = Vec::new();
    let written = generate_to(&options(2_000, 3), &mut lines, Some(&mut truths)).unwrap();
    assert_eq!(written, 2_000);
    let items = generate(2_000, 3);
    let expected_lines: String = items
        .iter()
        .map(|item| format!("{}\n", item.line))
        .collect();
    assert_eq!(String::from_utf8(lines).unwrap(), expected_lines);
    let truth_text = String::from_utf8(truths).unwrap();
    let parsed: Vec<Truth> = truth_text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let expected: Vec<Truth> = items.into_iter().map(|item| item.truth).collect();
    assert_eq!(parsed, expected);
}

#[test]
fn the_requested_count_is_exact() {
    for requests in [0u64, 1, 2, 7, 150, 4_321] {
        assert_eq!(
            generate(requests, 5).len() as u64,
            requests,
            "requests {requests}"
        );
        let mut sink = Vec::new();
        assert_eq!(
            generate_to(&options(requests, 5), &mut sink, None).unwrap(),
            requests
        );
        assert_eq!(
            sink.iter().filter(|byte| **byte == b'\n').count() as u64,
            requests
        );
    }
}

#[test]
fn every_line_is_an_exchange_in_time_order_with_the_required_fields() {
    let items = generate(20_000, 11);
    let mut previous = i64::MIN;
    let mut ids = BTreeSet::new();
    let start = GeneratorOptions::default().start;
    for item in &items {
        assert!(!item.line.contains('\n'));
        let exchange = parse(&item.line);
        let id = exchange["id"].as_str().expect("id is a string");
        assert!(
            id.starts_with("g11-") && (1..=128).contains(&id.len()),
            "{id}"
        );
        assert!(ids.insert(id.to_string()), "duplicate id {id}");
        let ts_text = exchange["ts"].as_str().expect("ts is a string");
        assert_eq!(ts_text.len(), 24, "{ts_text}");
        assert!(ts_text.ends_with('Z'));
        let ts = parse_rfc3339(ts_text).expect("ts is RFC 3339");
        assert!(ts >= previous, "{ts_text} goes back in time");
        assert!(ts >= start);
        previous = ts;
        let ip: std::net::IpAddr = exchange["client_ip"]
            .as_str()
            .unwrap()
            .parse()
            .expect("client_ip is an address");
        let _ = ip;
        let request = &exchange["request"];
        assert!(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]
            .contains(&request["method"].as_str().unwrap()));
        let url = request["url"].as_str().unwrap();
        assert!(url.starts_with("https://") && !url.contains(' '), "{url}");
        for pair in request["headers"]
            .as_array()
            .unwrap()
            .iter()
            .chain(exchange["response"]["headers"].as_array().unwrap())
        {
            let pair = pair.as_array().expect("headers are pairs");
            assert_eq!(pair.len(), 2);
            assert!(pair[0].is_string() && pair[1].is_string());
        }
        assert!(
            header(&request["headers"], "user-agent").is_some(),
            "{}",
            item.line
        );
        let status = exchange["response"]["status"].as_u64().unwrap();
        assert!((100..=599).contains(&status));
        assert!(exchange["response"]["duration_ms"].as_f64().unwrap() >= 0.0);
        assert!(exchange["response"]["size"].is_u64());
        assert_eq!(item.truth.id, id);
    }
    // 24 hours of traffic, give or take the sessions still running at the end.
    let span = previous - start;
    assert!(
        span > 20 * MICROS_PER_HOUR && span < 28 * MICROS_PER_HOUR,
        "span {span}"
    );
}

#[test]
fn every_actor_kind_appears_in_roughly_its_share() {
    let items = generate(40_000, 2);
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for item in &items {
        *counts.entry(item.truth.actor.as_str()).or_default() += 1;
    }
    let share = |actor: &str| counts.get(actor).copied().unwrap_or(0) as f64 / items.len() as f64;
    let expected = [
        ("api_user", 0.30, 0.60),
        ("browser", 0.10, 0.30),
        ("partner", 0.05, 0.15),
        ("nat_user", 0.02, 0.12),
        ("mobile", 0.02, 0.12),
        ("credential_stuffing", 0.005, 0.13), // few, long-running bots: noisy at 40k
        ("scraper", 0.01, 0.12),
        ("scanner", 0.002, 0.06),
        ("attacker", 0.005, 0.08),
    ];
    for (actor, low, high) in expected {
        assert!(
            (low..=high).contains(&share(actor)),
            "{actor} share {} outside {low}..{high}: {counts:?}",
            share(actor)
        );
    }
    assert_eq!(
        counts.len(),
        expected.len(),
        "unexpected actors: {counts:?}"
    );
}

#[test]
fn token_and_cookie_sessions_cross_utc_midnight() {
    let items = generate(30_000, 4);
    let mut days: HashMap<&str, BTreeSet<i32>> = HashMap::new();
    let mut actors: HashMap<&str, &str> = HashMap::new();
    for item in &items {
        let ts = parse_rfc3339(parse(&item.line)["ts"].as_str().unwrap()).unwrap();
        days.entry(item.truth.session.as_str())
            .or_default()
            .insert(day_of(ts));
        actors.insert(item.truth.session.as_str(), item.truth.actor.as_str());
    }
    let crossing: Vec<&str> = days
        .iter()
        .filter(|(session, session_days)| {
            session_days.len() > 1
                && !session.starts_with("anon-")
                && !session.starts_with("partner-")
        })
        .map(|(session, _)| *session)
        .collect();
    assert!(!crossing.is_empty(), "no user session crosses midnight");
    assert!(
        crossing.iter().any(|session| actors[session] == "mobile"),
        "the midnight phone session is missing: {crossing:?}"
    );
}

#[test]
fn jwts_carry_the_claims_the_truth_names() {
    let items = generate(15_000, 6);
    let mut checked = 0;
    let mut array_roles = 0;
    for item in &items {
        let exchange = parse(&item.line);
        if let Some(token) = bearer_token(&exchange) {
            let claims = jwt::decode_payload(token).expect("bearer token is a JWT");
            assert!(claims.get("sid").is_none());
            assert_eq!(
                claims["sub"].as_str(),
                item.truth.user.as_deref(),
                "{}",
                item.line
            );
            let roles: Vec<String> = match &claims["role"] {
                Value::String(role) => vec![role.clone()],
                Value::Array(roles) => {
                    array_roles += 1;
                    roles
                        .iter()
                        .map(|role| role.as_str().unwrap().to_string())
                        .collect()
                }
                other => panic!("unexpected role claim {other}"),
            };
            assert_eq!(roles, item.truth.roles);
            assert!(claims["exp"].as_i64().unwrap() > claims["iat"].as_i64().unwrap());
            checked += 1;
        }
        if let Some(token) = issued_token(&exchange) {
            let claims = jwt::decode_payload(&token).expect("issued token is a JWT");
            assert!(claims["sub"].as_str().unwrap().starts_with("u-"));
            if bearer_token(&exchange).is_none() {
                assert_eq!(item.truth.user, None, "the login exchange has no user yet");
            }
        }
    }
    assert!(checked > 1_000, "only {checked} bearer exchanges");
    assert!(array_roles > 0, "no token with several roles");
}

#[test]
fn browser_sessions_keep_their_cookie_and_know_the_user_from_the_login_post() {
    let items = generate(15_000, 9);
    let mut cookie_of_session: HashMap<String, String> = HashMap::new();
    let mut user_of_session: HashMap<String, String> = HashMap::new();
    let mut logins = 0;
    for item in items.iter().filter(|item| item.truth.actor == "browser") {
        let exchange = parse(&item.line);
        let set_cookie = header(&exchange["response"]["headers"], "set-cookie")
            .filter(|value| value.starts_with("sessionid=") && !value.starts_with("sessionid=;"));
        let cookie = header(&exchange["request"]["headers"], "cookie").and_then(|cookies| {
            cookies
                .split("; ")
                .find_map(|part| part.strip_prefix("sessionid="))
        });
        let value = match (cookie, set_cookie) {
            (Some(cookie), _) => cookie.to_string(),
            (None, Some(set)) => set["sessionid=".len()..]
                .split(';')
                .next()
                .unwrap()
                .to_string(),
            (None, None) => panic!("browser exchange without its session cookie: {}", item.line),
        };
        let known = cookie_of_session
            .entry(item.truth.session.clone())
            .or_insert_with(|| value.clone());
        assert_eq!(
            *known, value,
            "cookie changed inside {}",
            item.truth.session
        );
        if let Some(body) = exchange["request"]["body"]
            .as_str()
            .filter(|body| body.contains("username="))
        {
            let username = body
                .split('&')
                .find_map(|pair| pair.strip_prefix("username="))
                .unwrap();
            assert_eq!(item.truth.user.as_deref(), Some(username));
            user_of_session.insert(item.truth.session.clone(), username.to_string());
            logins += 1;
        } else if let Some(user) = user_of_session.get(&item.truth.session) {
            assert_eq!(
                item.truth.user.as_ref(),
                Some(user),
                "user lost after login in {}",
                item.truth.session
            );
        } else {
            assert_eq!(item.truth.user, None);
        }
    }
    assert!(logins > 20, "only {logins} browser logins");
}

/// A model of the sessionizer the demo configuration describes (user key
/// `response.json.access_token`, then the built-in keys of PRODUCT.md S1), used to check that the
/// truth is what such a sessionizer can find. The real one lives in sessionscope-analyze.
fn session_key(exchange: &Value) -> String {
    if let Some(token) = issued_token(exchange) {
        return token;
    }
    let request_headers = &exchange["request"]["headers"];
    if let Some(cookies) = header(request_headers, "cookie") {
        if let Some(value) = cookies
            .split("; ")
            .find_map(|part| part.strip_prefix("sessionid="))
        {
            return value.to_string();
        }
    }
    if let Some(token) = bearer_token(exchange) {
        return token.to_string();
    }
    if let Some(key) = header(request_headers, "x-api-key") {
        return key.to_string();
    }
    if let Some(set_cookie) = header(&exchange["response"]["headers"], "set-cookie") {
        if let Some(value) = set_cookie
            .strip_prefix("sessionid=")
            .and_then(|rest| rest.split(';').next())
        {
            if !value.is_empty() {
                return value.to_string();
            }
        }
    }
    format!(
        "ip+ua\u{1f}{}\u{1f}{}",
        exchange["client_ip"].as_str().unwrap_or(""),
        header(request_headers, "user-agent").unwrap_or("")
    )
}

fn pair_count(sizes: impl Iterator<Item = usize>) -> u64 {
    sizes
        .map(|size| (size as u64) * (size as u64).saturating_sub(1) / 2)
        .sum()
}

#[test]
fn truth_sessions_are_what_a_correct_sessionizer_finds() {
    let items = generate(30_000, 12);
    let mut predicted: HashMap<String, usize> = HashMap::new();
    let mut truth: HashMap<&str, usize> = HashMap::new();
    let mut both: HashMap<(String, &str), usize> = HashMap::new();
    for item in &items {
        let key = session_key(&parse(&item.line));
        *predicted.entry(key.clone()).or_default() += 1;
        *truth.entry(item.truth.session.as_str()).or_default() += 1;
        *both.entry((key, item.truth.session.as_str())).or_default() += 1;
    }
    let true_pairs = pair_count(both.values().copied()) as f64;
    let precision = true_pairs / pair_count(predicted.values().copied()) as f64;
    let recall = true_pairs / pair_count(truth.values().copied()) as f64;
    let f1 = 2.0 * precision * recall / (precision + recall);
    assert!(
        f1 >= 0.999,
        "pairwise precision {precision}, recall {recall}"
    );
    assert_eq!(predicted.len(), truth.len());
}

#[test]
fn bots_behave_like_their_kind() {
    let items = generate(40_000, 13);
    let mut scraper_times: HashMap<&str, Vec<i64>> = HashMap::new();
    let mut stuffing_emails: HashMap<&str, BTreeSet<String>> = HashMap::new();
    let mut scanner_statuses: BTreeMap<u64, usize> = BTreeMap::new();
    let mut attack_types = BTreeSet::new();
    for item in &items {
        let exchange = parse(&item.line);
        if let Some(attack) = &item.truth.attack {
            attack_types.insert(attack.clone());
        }
        match item.truth.actor.as_str() {
            "scraper" => {
                assert_eq!(item.truth.bot.as_deref(), Some("scraping"));
                assert!(bearer_token(&exchange).is_none());
                let ts = parse_rfc3339(exchange["ts"].as_str().unwrap()).unwrap();
                scraper_times
                    .entry(item.truth.session.as_str())
                    .or_default()
                    .push(ts);
            }
            "credential_stuffing" => {
                assert_eq!(item.truth.bot.as_deref(), Some("account_takeover"));
                assert!(
                    issued_token(&exchange).is_none(),
                    "a stuffing attempt got a token"
                );
                assert_ne!(exchange["response"]["status"].as_u64(), Some(200));
                let body: Value =
                    serde_json::from_str(exchange["request"]["body"].as_str().unwrap()).unwrap();
                stuffing_emails
                    .entry(item.truth.session.as_str())
                    .or_default()
                    .insert(body["email"].as_str().unwrap().to_string());
            }
            "scanner" => {
                assert_eq!(item.truth.bot.as_deref(), Some("security_crawlers"));
                *scanner_statuses
                    .entry(exchange["response"]["status"].as_u64().unwrap())
                    .or_default() += 1;
            }
            _ => assert_eq!(item.truth.bot, None),
        }
    }
    for (session, times) in &scraper_times {
        let mut gaps: Vec<i64> = times.windows(2).map(|pair| pair[1] - pair[0]).collect();
        gaps.sort();
        let median = gaps[gaps.len() / 2];
        assert!(
            (1_850_000..=2_150_000).contains(&median),
            "{session} median interval {median}"
        );
    }
    for (session, emails) in &stuffing_emails {
        assert!(
            emails.len() > 5,
            "{session} tried only {} emails",
            emails.len()
        );
    }
    let not_found = scanner_statuses.get(&404).copied().unwrap_or(0);
    assert!(
        not_found * 2 > scanner_statuses.values().sum::<usize>(),
        "scanner statuses {scanner_statuses:?}"
    );
    for expected in ["sqli", "xss", "rce", "ptrav", "ssrf", "ssti"] {
        assert!(
            attack_types.contains(expected),
            "no {expected} in {attack_types:?}"
        );
    }
}

#[test]
fn memory_holds_only_running_actors() {
    let mut generator = Generator::new(options(150_000, 14));
    let mut largest_queue = 0;
    while generator.advance() {
        largest_queue = largest_queue.max(generator.queue.len());
    }
    // A day of 150k requests has a few dozen actors running at once; thousands would mean
    // finished actors are kept.
    assert!(largest_queue < 500, "queue grew to {largest_queue}");
}

#[test]
fn extreme_options_do_not_panic() {
    for options in [
        GeneratorOptions {
            requests: 50,
            seed: u64::MAX,
            start: i64::MIN,
            hours: 0,
        },
        GeneratorOptions {
            requests: 50,
            seed: 0,
            start: i64::MAX,
            hours: u32::MAX,
        },
        GeneratorOptions {
            requests: 500,
            seed: 1,
            start: 0,
            hours: 1,
        },
    ] {
        let items: Vec<Generated> = Generator::new(options.clone()).collect();
        assert_eq!(items.len() as u64, options.requests);
        for item in &items {
            let exchange = parse(&item.line);
            assert!(
                parse_rfc3339(exchange["ts"].as_str().unwrap()).is_some(),
                "{}",
                item.line
            );
        }
    }
}

#[test]
fn demo_config_names_the_token_key_and_every_host() {
    assert!(DEMO_CONFIG.contains("points = [\"response.json.access_token\"]"));
    for host in [
        "api.shop.example",
        "www.shop.example",
        "admin.shop.example",
        "*.bank.example",
        "ai.example",
    ] {
        assert!(
            DEMO_CONFIG.contains(&format!("host = \"{host}\"")),
            "{host} missing from demo.toml"
        );
    }
    let parsed: toml_like::Document = toml_like::parse(DEMO_CONFIG);
    assert_eq!(parsed.tables("apps"), 5);
    assert_eq!(parsed.tables("context"), 4);
}

/// Just enough TOML reading to count array tables without a TOML dependency.
mod toml_like {
    pub struct Document {
        headers: Vec<String>,
    }

    impl Document {
        pub fn tables(&self, name: &str) -> usize {
            self.headers
                .iter()
                .filter(|header| header.as_str() == format!("[[{name}]]"))
                .count()
        }
    }

    pub fn parse(text: &str) -> Document {
        Document {
            headers: text
                .lines()
                .map(str::trim)
                .filter(|line| line.starts_with("[["))
                .map(str::to_string)
                .collect(),
        }
    }
}
