//! Recall and false positives on the public attack corpus (`shared/data/attacks`) and the
//! project's look-alikes, every value in every delivery, through the same path the bench and the
//! analysis pipeline use. The two largest classes are sampled (every fourth value) to keep the
//! test quick in debug builds. The floors are what the detectors reach today, rounded down: a
//! drop below one means a detector got worse.

use std::path::PathBuf;

use sessionscope_detect::corpus::{labelled_values, requests_for, Evaluation};
use sessionscope_detect::Detector;

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/attacks")
}

#[test]
fn recall_and_false_positives_on_the_public_corpus() {
    let values: Vec<_> = labelled_values(&data_dir())
        .expect("the public attack data is readable")
        .into_iter()
        .enumerate()
        .filter(|(index, value)| {
            !matches!(value.class.as_str(), "sqli" | "ptrav") || index % 4 == 0
        })
        .map(|(_, value)| value)
        .collect();
    let requests = requests_for(&values);
    assert!(
        requests.len() > 200_000,
        "corpus has {} requests",
        requests.len()
    );
    let detector = Detector::new();
    let mut evaluation = Evaluation::default();
    for request in &requests {
        let findings = detector.detect(&request.to_exchange());
        evaluation.add(request, &findings);
    }

    // (class, minimum detected %, minimum right-type %)
    let floors: &[(&str, f64, f64)] = &[
        ("sqli", 96.0, 96.0),
        ("xss", 90.5, 90.0),
        ("rce", 89.5, 86.5),
        ("upload", 92.0, 84.5),
        ("ptrav", 87.0, 87.0),
        ("nosqli", 89.0, 86.0),
        ("ssrf", 70.0, 70.0),
        ("xxe", 84.0, 49.0),
        ("ldapi", 46.0, 41.0),
        ("ssti", 98.5, 96.5),
        ("ssi", 99.5, 99.5),
        ("crlf", 71.0, 69.0),
        ("redir", 86.0, 77.0),
        ("scanner", 94.0, 94.0),
    ];
    // Recall per delivery: a value must be found wherever it hides.
    let delivery_floors: &[(&str, f64)] = &[
        ("query", 92.0),
        ("form", 92.0),
        ("json", 92.0),
        ("json-key", 92.0),
        ("xml", 92.0),
        ("xml-attribute", 92.0),
        ("multipart", 92.0),
        ("cookie", 92.0),
        ("text-body", 92.0),
        ("json-raw", 90.0),
        ("xml-raw", 85.0),
        ("file-name", 89.0),
        ("header", 68.5),
    ];
    let mut problems = Vec::new();
    for (class, detected_floor, right_type_floor) in floors {
        let tally = evaluation.by_class.get(*class).copied().unwrap_or_default();
        if tally.total == 0 {
            problems.push(format!("{class}: no requests"));
            continue;
        }
        if tally.detected_percent() < *detected_floor {
            problems.push(format!(
                "{class}: detected {:.2}% < {detected_floor}%",
                tally.detected_percent()
            ));
        }
        if tally.right_type_percent() < *right_type_floor {
            problems.push(format!(
                "{class}: right type {:.2}% < {right_type_floor}%",
                tally.right_type_percent()
            ));
        }
    }
    for (delivery, floor) in delivery_floors {
        let tally = evaluation
            .by_variant
            .get(*delivery)
            .copied()
            .unwrap_or_default();
        if tally.total == 0 || tally.detected_percent() < *floor {
            problems.push(format!(
                "delivery {delivery}: detected {:.2}% of {} < {floor}%",
                tally.detected_percent(),
                tally.total
            ));
        }
    }
    // Benign: HttpParams `norm` values, libinjection's former false positives and the
    // project's look-alikes.
    let false_positive_percent = evaluation.benign.detected_percent();
    if evaluation.benign.total < 130_000 || false_positive_percent > 0.2 {
        problems.push(format!(
            "benign: {} of {} flagged ({false_positive_percent:.3}%)",
            evaluation.benign.detected, evaluation.benign.total
        ));
    }
    for (request, findings) in &evaluation.false_positive_examples {
        if request.source != "libinjection" {
            problems.push(format!(
                "benign {} {} flagged: {:?} {:?}",
                request.source, request.variant, request, findings
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
