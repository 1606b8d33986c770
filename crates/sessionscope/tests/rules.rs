//! False positives end to end (PRODUCT.md A3) through the real binary and real HTTP: generated
//! traffic with attacks is ingested, one finding is marked as a false positive through the API,
//! the same traffic re-ingested into a fresh store (with the rule) no longer has it, and
//! re-evaluating the first store removes it there too, with the session's attack count following.

use std::collections::HashMap;
use std::path::Path;

use serde_json::{json, Value};

mod common;
use common::{path_str, run_ok, Server};

fn exported_rows(db: &Path) -> Vec<Value> {
    run_ok(&[
        "--db",
        path_str(db),
        "export",
        "requests",
        "--format",
        "ndjson",
    ])
    .lines()
    .map(|line| serde_json::from_str(line).expect("export lines are JSON"))
    .collect()
}

/// What a false positive of breadth `payload` and scope `endpoint` matches.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct FindingKey {
    host: String,
    endpoint: String,
    kind: String,
    point: String,
    payload: String,
}

fn keys_of(row: &Value) -> Vec<FindingKey> {
    row["attacks"]
        .as_array()
        .map(|attacks| {
            attacks
                .iter()
                .map(|attack| FindingKey {
                    host: row["host"].as_str().unwrap_or("").to_string(),
                    endpoint: row["endpoint"].as_str().unwrap_or("").to_string(),
                    kind: attack["type"].as_str().unwrap_or("").to_string(),
                    point: attack["point"].as_str().unwrap_or("").to_string(),
                    payload: attack["payload"].as_str().unwrap_or("").to_string(),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn count_of(rows: &[Value], key: &FindingKey) -> usize {
    rows.iter()
        .flat_map(keys_of)
        .filter(|found| found == key)
        .count()
}

/// Requests of a session with at least one attack once `removed` is dropped.
fn attacked_requests(rows: &[Value], session_id: &str, removed: Option<&FindingKey>) -> u64 {
    rows.iter()
        .filter(|row| row["session_id"] == session_id)
        .filter(|row| keys_of(row).iter().any(|found| Some(found) != removed))
        .count() as u64
}

fn token(db: &Path, role: &str) -> String {
    let stdout = run_ok(&[
        "--db",
        path_str(db),
        "token",
        "create",
        "--role",
        role,
        "--name",
        role,
    ]);
    stdout.lines().last().expect("a token line").to_string()
}

fn session_attacks(
    client: &reqwest::blocking::Client,
    server: &Server,
    token: &str,
    session_id: &str,
) -> u64 {
    let body: Value = client
        .get(format!(
            "{}/api/v1/sessions/{session_id}?from=2026-11-01T00:00:00Z",
            server.base
        ))
        .bearer_auth(token)
        .send()
        .expect("session answers")
        .json()
        .expect("session is JSON");
    body["parts"]
        .as_array()
        .expect("parts")
        .iter()
        .map(|part| part["attacks"].as_u64().unwrap_or(0))
        .sum()
}

#[test]
fn a_false_positive_marked_through_the_api_disappears_on_reingest_and_after_reevaluation() {
    let dir = tempfile::tempdir().unwrap();
    let traffic = dir.path().join("traffic.ndjson");
    let truth = dir.path().join("truth.ndjson");
    let first = dir.path().join("first.db");
    let fresh = dir.path().join("fresh.db");
    run_ok(&[
        "generate",
        "--requests",
        "3000",
        "--seed",
        "5",
        "--start",
        "2026-11-20T12:00:00Z",
        "--out",
        path_str(&traffic),
        "--truth",
        path_str(&truth),
    ]);
    // The generator labels attackers and scanners in its truth; detection must have found some.
    let labelled_attacks = std::fs::read_to_string(&truth)
        .unwrap()
        .lines()
        .filter(|line| {
            serde_json::from_str::<Value>(line)
                .map(|truth| truth["attack"].is_string())
                .unwrap_or(false)
        })
        .count();
    assert!(labelled_attacks > 0, "the generated traffic has attacks");
    run_ok(&["--db", path_str(&first), "ingest", path_str(&traffic)]);
    let before = exported_rows(&first);

    // The finding repeated most often, so the rule has several stored requests to act on.
    let mut frequency: HashMap<FindingKey, usize> = HashMap::new();
    for key in before.iter().flat_map(keys_of) {
        *frequency.entry(key).or_insert(0) += 1;
    }
    let (chosen, repeats) = frequency
        .iter()
        .max_by(|left, right| {
            left.1
                .cmp(right.1)
                .then(right.0.payload.cmp(&left.0.payload))
        })
        .map(|(key, count)| (key.clone(), *count))
        .expect("detection found attacks in the generated traffic");
    let marked_row = before
        .iter()
        .find(|row| keys_of(row).contains(&chosen))
        .expect("a request carries the chosen finding");
    let request_id = marked_row["id"].as_str().unwrap().to_string();
    let session_id = marked_row["session_id"].as_str().unwrap().to_string();
    let other_attacks = before.iter().flat_map(keys_of).count() - repeats;

    let analyst = token(&first, "analyst");
    let admin = token(&first, "admin");
    let server = Server::start(&["--db", path_str(&first)]);
    let client = reqwest::blocking::Client::new();
    let session_attacks_before = session_attacks(&client, &server, &analyst, &session_id);
    assert_eq!(
        session_attacks_before,
        attacked_requests(&before, &session_id, None)
    );

    // Mark it through the API, with the narrowest defaults: this payload, this endpoint.
    let response = client
        .post(format!(
            "{}/api/v1/requests/{request_id}/false-positive",
            server.base
        ))
        .bearer_auth(&analyst)
        .json(&json!({"type": chosen.kind, "point": chosen.point}))
        .send()
        .unwrap();
    assert_eq!(response.status(), 201);
    let marked: Value = response.json().unwrap();
    assert_eq!(marked["rule"]["kind"], "false_positive");
    assert_eq!(marked["rule"]["payload"], chosen.payload.as_str());
    assert_eq!(marked["rule"]["scope"]["host"], chosen.host.as_str());
    assert_eq!(
        marked["rule"]["scope"]["endpoint"],
        chosen.endpoint.as_str()
    );
    let rules: Value = client
        .get(format!("{}/api/v1/rules", server.base))
        .bearer_auth(&analyst)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(rules["rules"].as_array().unwrap().len(), 1, "{rules}");

    // Re-ingest the same traffic into a fresh store carrying the same rule.
    run_ok(&[
        "--db",
        path_str(&fresh),
        "rules",
        "add",
        &rules["rules"][0].to_string(),
    ]);
    run_ok(&["--db", path_str(&fresh), "ingest", path_str(&traffic)]);
    let reingested = exported_rows(&fresh);
    assert_eq!(reingested.len(), before.len());
    assert_eq!(
        count_of(&reingested, &chosen),
        0,
        "the finding is gone on re-ingest"
    );
    assert_eq!(
        reingested.iter().flat_map(keys_of).count(),
        other_attacks,
        "every other finding is still there"
    );

    // The first store still has it until re-evaluated.
    assert_eq!(count_of(&exported_rows(&first), &chosen), repeats);
    let response = client
        .post(format!("{}/api/v1/rules/reevaluate", server.base))
        .bearer_auth(&admin)
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    let outcome: Value = response.json().unwrap();
    assert_eq!(outcome["attacks_removed"], repeats as u64, "{outcome}");
    let details: Value = client
        .get(format!("{}/api/v1/requests/{request_id}", server.base))
        .bearer_auth(&analyst)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let still_there = keys_of(&details).contains(&chosen);
    assert!(!still_there, "{details}");
    let expected_session_attacks = attacked_requests(&before, &session_id, Some(&chosen));
    assert!(expected_session_attacks < session_attacks_before);
    assert_eq!(
        session_attacks(&client, &server, &analyst, &session_id),
        expected_session_attacks,
        "the session's attack count follows"
    );
    drop(server);
    let after = exported_rows(&first);
    assert_eq!(count_of(&after, &chosen), 0);
    assert_eq!(after.iter().flat_map(keys_of).count(), other_attacks);

    // Undo from the command line: the rule goes, later ingests find the payload again.
    let listed = run_ok(&["--db", path_str(&first), "rules", "list"]);
    let rule_id = marked["rule"]["id"].as_str().unwrap();
    assert!(listed.starts_with(rule_id), "{listed}");
    run_ok(&["--db", path_str(&first), "rules", "remove", rule_id]);
    assert!(run_ok(&["--db", path_str(&first), "rules", "list"]).contains("no detection rules"));
}
