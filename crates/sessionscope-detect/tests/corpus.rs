//! Recall and false positives on the public attack corpus (`shared/data/attacks`), through the same
//! path the bench and the analysis pipeline use. The floors are what the detectors reach today,
//! rounded down: a drop below one means a detector got worse.

use std::path::PathBuf;

use sessionscope_detect::corpus::{labelled_values, requests_for, Evaluation};
use sessionscope_detect::Detector;

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/attacks")
}

#[test]
fn recall_and_false_positives_on_the_public_corpus() {
    let values = labelled_values(&data_dir()).expect("the public attack data is readable");
    let requests = requests_for(&values);
    assert!(
        requests.len() > 150_000,
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
        ("sqli", 99.0, 99.0),
        ("xss", 91.0, 90.5),
        ("rce", 85.0, 80.0),
        ("ptrav", 87.0, 87.0),
        ("nosqli", 95.0, 95.0),
        ("ssrf", 80.0, 80.0),
        ("xxe", 92.0, 49.0),
        ("ldapi", 45.0, 40.5),
        ("ssti", 99.0, 97.0),
        ("ssi", 98.5, 98.5),
        ("crlf", 94.0, 94.0),
        ("redir", 85.0, 77.0),
        ("scanner", 94.0, 94.0),
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
    // Benign: HttpParams `norm` values and libinjection's former false positives.
    let false_positive_percent = evaluation.benign.detected_percent();
    if evaluation.benign.total < 26_000 || false_positive_percent > 0.2 {
        problems.push(format!(
            "benign: {} of {} flagged ({false_positive_percent:.3}%)",
            evaluation.benign.detected, evaluation.benign.total
        ));
    }
    let httpparams_benign_flagged = evaluation
        .false_positive_examples
        .iter()
        .filter(|(request, _)| request.source == "httpparams")
        .count();
    if httpparams_benign_flagged > 0 {
        problems.push(format!(
            "{httpparams_benign_flagged} HttpParams benign requests flagged"
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
