//! Targets for attack detection: the decoders alone, and the whole detection of an exchange built
//! from the input.

use std::borrow::Cow;

use sessionscope_analyze::{AnalysisConfig, Analyzer};
use sessionscope_detect::{
    backslash_unescape, decode_clear_base64, deep_decode, explain, html_entity_decode,
    percent_decode_nested, percent_decode_once, unicode_compatibility_fold, Detector, Finding,
    MAX_PAYLOAD_CHARS,
};
use sessionscope_model::{split_url, Exchange, Headers, Request};

/// A decoder that borrows returns its input unchanged; one that owns returns at most `bound`
/// bytes.
#[allow(clippy::ptr_arg)] // the variant (borrowed or owned) is what is checked
fn check_decoded(name: &str, input: &str, output: &Cow<'_, str>, bound: usize) {
    match output {
        Cow::Borrowed(text) => assert_eq!(*text, input, "{name}: borrowed but changed"),
        Cow::Owned(text) => assert!(
            text.len() <= bound,
            "{name}: {} bytes become {}",
            input.len(),
            text.len()
        ),
    }
}

/// The decoders of `decode.rs`: none of them grows a value except Unicode folding (bounded by
/// NFKC's longest expansion), and clear base64 is only read from values of the documented size.
pub fn decode(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let text = text.as_ref();
    let length = text.len();
    for plus_as_space in [false, true] {
        let once = percent_decode_once(text, plus_as_space);
        check_decoded("percent_decode_once", text, &once, length);
    }
    let nested = percent_decode_nested(text);
    check_decoded("percent_decode_nested", text, &nested, length);
    check_decoded(
        "html_entity_decode",
        text,
        &html_entity_decode(text),
        length,
    );
    check_decoded(
        "backslash_unescape",
        text,
        &backslash_unescape(text),
        length,
    );
    // NFKC expands one character to at most 18 (U+FDFA), 3 bytes to at most 33 bytes.
    let folded = unicode_compatibility_fold(text);
    check_decoded("unicode_compatibility_fold", text, &folded, 11 * length);
    let deep = deep_decode(text);
    check_decoded("deep_decode", text, &deep, 11 * length);
    assert_eq!(deep_decode(text), deep, "deep_decode is not deterministic");
    if let Some(decoded) = decode_clear_base64(text) {
        let trimmed = text.trim().len();
        assert!(
            (12..=64 * 1024).contains(&trimmed),
            "decode_clear_base64 read a value of {trimmed} bytes"
        );
        assert!(
            decoded.len() <= trimmed / 4 * 3 + 3,
            "decode_clear_base64: {trimmed} bytes of base64 become {}",
            decoded.len()
        );
    }
}

/// An exchange from arbitrary bytes: the first line is the method, the second the URL, then
/// `name: value` header lines up to an empty line, and the rest is the body.
pub fn exchange_from_bytes(data: &[u8]) -> Exchange {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split_inclusive('\n');
    let mut consumed = 0;
    let mut next_line = || {
        let line = lines.next()?;
        consumed += line.len();
        Some(line.trim_end_matches(['\n', '\r']))
    };
    let method = next_line().unwrap_or("").to_string();
    let url = next_line().unwrap_or("").to_string();
    let mut headers = Headers::default();
    let mut has_body = false;
    while let Some(line) = next_line() {
        if line.is_empty() {
            has_body = true;
            break;
        }
        let (name, value) = line.split_once(':').unwrap_or((line, ""));
        headers.push(name.trim(), value.trim_start());
    }
    let body = has_body.then(|| text.as_bytes()[consumed..].to_vec());
    Exchange {
        id: "fuzz-detect".into(),
        ts: 1_795_341_600_000_000,
        request: Request {
            method,
            url,
            headers,
            body,
            ..Request::default()
        },
        ..Exchange::default()
    }
}

fn keyed(findings: &[Finding]) -> Vec<(&'static str, &str, &'static str)> {
    let mut keys: Vec<_> = findings
        .iter()
        .map(|finding| (finding.kind.as_str(), finding.point.as_str(), finding.rule))
        .collect();
    keys.sort_unstable();
    keys
}

fn always_secret(_: sessionscope_detect::SecretPlace<'_>) -> bool {
    true
}

/// The whole detection of one exchange: every finding has a known rule, a bounded excerpt and a
/// point, at most one per type and point; the result does not depend on the per-thread memories
/// (a second run reads them), on the caller parsing the body first, or on masking secrets (which
/// only hides excerpts). The analyzer runs detection on it too.
pub fn detect(data: &[u8]) {
    let exchange = exchange_from_bytes(data);
    let detector = Detector::new();
    let findings = detector.detect(&exchange);
    for finding in &findings {
        assert!(
            explain(finding.rule).is_some(),
            "detect: rule `{}` has no explanation",
            finding.rule
        );
        assert!(
            finding.payload.chars().count() <= MAX_PAYLOAD_CHARS,
            "detect: an excerpt of {} characters",
            finding.payload.chars().count()
        );
        assert!(
            !finding.point.is_empty(),
            "detect: a finding without a point"
        );
    }
    let mut places: Vec<_> = findings
        .iter()
        .map(|finding| (finding.kind.as_str(), finding.point.as_str()))
        .collect();
    places.sort_unstable();
    let count = places.len();
    places.dedup();
    assert_eq!(
        places.len(),
        count,
        "detect: two findings of one type at one point"
    );

    assert_eq!(
        detector.detect(&exchange),
        findings,
        "detect: the per-thread memories change a result"
    );
    let url = split_url(&exchange.request.url);
    if let Some(parsed) = exchange
        .request
        .body
        .as_deref()
        .and_then(|body| serde_json::from_slice::<serde_json::Value>(body).ok())
    {
        assert_eq!(
            detector.detect_with_parsed_body(&exchange, &url, Some(&parsed)),
            findings,
            "detect: a body parsed by the caller gives other findings"
        );
    }
    let masked = Detector::with_secret_names(always_secret).detect(&exchange);
    assert_eq!(
        keyed(&masked),
        keyed(&findings),
        "detect: masking secrets changes what is found"
    );

    let analyzer = Analyzer::new(AnalysisConfig::default(), [3; 32]);
    let analyzed = analyzer.analyze(&exchange);
    assert_eq!(
        analyzer.analyze(&exchange),
        analyzed,
        "analyze is not deterministic"
    );
    for attack in &analyzed.attacks {
        assert!(attack.payload.chars().count() <= MAX_PAYLOAD_CHARS);
    }
}
