//! Targets for the analysis side: the point syntax, JSON Web Tokens as the analyzer reads them,
//! and the analysis settings of the configuration file.

use base64::Engine;
use sessionscope_analyze::{
    AnalysisConfig, AnalysisSettings, Analyzer, ContextSetting, Point, SessionKeySetting,
    MAX_CLEAR_VALUE_CHARS,
};
use sessionscope_model::{Exchange, Headers, Request, Response, StoredAs};

const SECRET: [u8; 32] = [7; 32];

/// A stored value is clear text of at most `MAX_CLEAR_VALUE_CHARS`, a hash, or the mask.
fn check_stored_value(value: &str, stored_as: StoredAs) {
    match stored_as {
        StoredAs::Clear => assert!(
            value.chars().count() <= MAX_CLEAR_VALUE_CHARS,
            "a clear value of {} characters",
            value.chars().count()
        ),
        StoredAs::Hashed => assert!(
            value.len() <= 128 && value.is_ascii(),
            "a hashed value that is no hash: {value}"
        ),
        StoredAs::Masked => assert_eq!(value, "***", "a masked value that is not the mask"),
    }
}

/// The point syntax: what parses prints back in the same form and parses to the same point;
/// what does not is refused with a message that names the point.
pub fn point(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match text.parse::<Point>() {
        Ok(point) => {
            let printed = point.to_string();
            let again: Point = printed.parse().unwrap_or_else(|problem| {
                panic!("point: `{text}` prints as `{printed}`: {problem}")
            });
            assert_eq!(again, point, "point: `{text}` does not survive printing");
            assert_eq!(again.to_string(), printed, "point: printing is not stable");
            let _ = (point.final_name(), point.is_masked(), point.is_response());
            if let Some(claim) = point.claim() {
                let _ = claim.last_key();
            }
        }
        Err(problem) => {
            assert!(
                problem.starts_with("invalid point `"),
                "point: message does not name the point: {problem}"
            );
            assert!(
                problem.len() <= 2 * text.len() + 512,
                "point: a message of {} bytes for {} bytes",
                problem.len(),
                text.len()
            );
        }
    }
}

/// The configuration every JWT input is analysed with: a session key and context parameters
/// read from claims of a bearer token, a cookie and a JSON body.
fn jwt_config() -> AnalysisConfig {
    let context = |name: &str, point: &str, kind: &str| ContextSetting {
        name: name.to_string(),
        point: point.to_string(),
        kind: kind.to_string(),
        hashed: false,
        group_by: false,
    };
    AnalysisSettings {
        session_keys: vec![SessionKeySetting {
            points: vec!["request.header.authorization.jwt.sub".to_string()],
        }],
        context: vec![
            context("user", "request.header.authorization.jwt.sub", "user"),
            context("roles", "request.header.authorization.jwt.roles", "role"),
            context("deep", "request.cookie.token.jwt.a.b[0].c", "none"),
            context("tenant", "request.json.token.jwt.tenant", "none"),
            context("issued", "response.json.access_token.jwt.sid", "none"),
        ],
        ..AnalysisSettings::default()
    }
    .validate()
    .expect("the JWT fuzz configuration is valid")
}

/// JSON Web Tokens as the analyzer meets them: the input is used as a whole token and as the
/// claims of a token built around it, in a header, a cookie and JSON bodies. Analysing the same
/// exchange twice (the second time from the per-thread token memory) gives the same result, and
/// every stored value is bounded, hashed or masked.
pub fn jwt(data: &[u8]) {
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let raw = String::from_utf8_lossy(data).into_owned();
    let built = format!(
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.{}.c2lnbmF0dXJl",
        engine.encode(data)
    );
    let analyzer = Analyzer::new(jwt_config(), SECRET);
    let points: Vec<Point> = analyzer
        .config()
        .context_points()
        .map(|(_, point, _)| point.clone())
        .collect();
    for token in [raw.as_str(), built.as_str()] {
        let exchange = token_exchange(token);
        let first = analyzer.analyze(&exchange);
        let second = analyzer.analyze(&exchange);
        assert_eq!(first, second, "jwt: the token memory changes a result");
        for value in &first.context {
            check_stored_value(&value.value, value.stored_as);
        }
        if let Some(user) = &first.user {
            assert!(user.chars().count() <= MAX_CLEAR_VALUE_CHARS.max(128));
        }
        let sample = analyzer.sanitize_sample(&exchange);
        assert_eq!(
            analyzer.sanitize_sample(&exchange),
            sample,
            "jwt: sanitising is not deterministic"
        );
        for point in &points {
            if let Some((value, stored_as)) = analyzer.preview(point, &exchange) {
                check_stored_value(&value, stored_as);
            }
            if let Some((value, stored_as)) = analyzer.preview_sample(point, &sample) {
                check_stored_value(&value, stored_as);
            }
        }
    }
}

fn token_exchange(token: &str) -> Exchange {
    let body = serde_json::json!({ "token": token }).to_string();
    let response_body = serde_json::json!({ "access_token": token }).to_string();
    Exchange {
        id: "fuzz-jwt".into(),
        ts: 1_795_341_600_000_000,
        request: Request {
            method: "POST".into(),
            url: "https://api.example/v1/login".into(),
            headers: Headers::from_pairs([
                ("Authorization", format!("Bearer {token}")),
                ("Cookie", format!("token={token}; theme=dark")),
                ("Content-Type", "application/json".to_string()),
            ]),
            body: Some(body.into_bytes()),
            ..Request::default()
        },
        response: Some(Response {
            status: 200,
            headers: Headers::from_pairs([("Content-Type", "application/json")]),
            body: Some(response_body.into_bytes()),
            ..Response::default()
        }),
        ..Exchange::default()
    }
}

/// The analysis settings of the configuration file (TOML): what parses either validates into a
/// configuration the analyzer runs with, or is refused with problems that each say where they
/// are. Settings survive TOML and JSON (how the store keeps them) unchanged.
pub fn settings(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(settings) = toml::from_str::<AnalysisSettings>(text) else {
        return;
    };
    let json = serde_json::to_string(&settings).expect("settings serialise as JSON");
    let from_json: AnalysisSettings =
        serde_json::from_str(&json).expect("settings read back from JSON");
    assert_eq!(from_json, settings, "settings: JSON changes them");
    if let Ok(written) = toml::to_string(&settings) {
        let from_toml: AnalysisSettings = toml::from_str(&written).unwrap_or_else(|error| {
            panic!("settings written as TOML do not read back: {error}\n{written}")
        });
        assert_eq!(from_toml, settings, "settings: TOML changes them");
    }
    match settings.validate() {
        Ok(config) => {
            assert_eq!(
                config.settings(),
                &settings,
                "settings: validation changes them"
            );
            assert_eq!(
                settings.validate().ok().as_ref(),
                Some(&config),
                "settings: validation is not deterministic"
            );
            let analyzer = Analyzer::new(config, SECRET);
            let exchange =
                token_exchange("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiIsInJvbGUiOiJ1c2VyIn0.c2ln");
            let analyzed = analyzer.analyze(&exchange);
            for value in &analyzed.context {
                check_stored_value(&value.value, value.stored_as);
            }
        }
        Err(problems) => {
            assert!(!problems.is_empty(), "settings: refused without a problem");
            for problem in problems {
                assert!(
                    !problem.location.is_empty() && !problem.message.is_empty(),
                    "settings: a problem without a place or a message: {problem:?}"
                );
            }
        }
    }
}
