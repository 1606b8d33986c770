//! The public sample files in `shared/data/traffic` ingest completely: every record is an exchange,
//! and reading a file twice yields the same ids.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use sessionscope_ingest::{open_file, Format, Record};
use sessionscope_model::Exchange;

fn traffic(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/traffic")
        .join(relative)
}

/// Reads a file, failing on any rejection, and returns its format and exchanges.
fn ingest_without_rejections(path: &Path) -> (Format, Vec<Exchange>) {
    let reader = open_file(path, None).unwrap_or_else(|error| panic!("{error}"));
    let format = reader.format();
    let mut exchanges = Vec::new();
    for record in reader {
        match record {
            Record::Exchange(exchange) => exchanges.push(exchange),
            Record::Rejected(rejection) => panic!("{}: {rejection}", path.display()),
        }
    }
    (format, exchanges)
}

fn assert_ids_stable_and_distinct(path: &Path, exchanges: &[Exchange]) {
    let (_, again) = ingest_without_rejections(path);
    let first_ids: Vec<&str> = exchanges
        .iter()
        .map(|exchange| exchange.id.as_str())
        .collect();
    let second_ids: Vec<&str> = again.iter().map(|exchange| exchange.id.as_str()).collect();
    assert_eq!(
        first_ids,
        second_ids,
        "{}: ids differ between two reads",
        path.display()
    );
    let distinct: HashSet<&str> = first_ids.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        first_ids.len(),
        "{}: ids are not distinct",
        path.display()
    );
}

#[test]
fn every_mitmproxy_har_file_ingests_without_rejections() {
    let expected = [
        ("charles.har", 1),
        ("chrome.har", 3),
        ("firefox.har", 14),
        ("insomnia.har", 1),
        ("postdata.har", 1),
        ("safari.har", 19),
        ("with-bom.har", 1),
    ];
    for (name, count) in expected {
        let path = traffic(&format!("mitmproxy-har/{name}"));
        let (format, exchanges) = ingest_without_rejections(&path);
        assert_eq!(format, Format::Har, "{name}");
        assert_eq!(exchanges.len(), count, "{name}");
        assert_ids_stable_and_distinct(&path, &exchanges);
    }
}

#[test]
fn har_details_survive_from_the_browser_exports() {
    let (_, chrome) = ingest_without_rejections(&traffic("mitmproxy-har/chrome.har"));
    // The second entry was aborted (status 0, net::ERR_INTERNET_DISCONNECTED).
    assert_eq!(chrome[1].response, None);
    assert_eq!(
        chrome[0].response.as_ref().map(|response| response.status),
        Some(304)
    );

    let (_, post) = ingest_without_rejections(&traffic("mitmproxy-har/postdata.har"));
    assert_eq!(post[0].request.method, "POST");
    let body = post[0].request.body.as_deref().unwrap_or_default();
    assert!(!body.is_empty(), "the POST body is kept");
    assert_eq!(
        post[0].request.host.as_deref(),
        Some("signal-metrics-collector-beta.s-onetag.com")
    );

    let (_, with_bom) = ingest_without_rejections(&traffic("mitmproxy-har/with-bom.har"));
    assert_eq!(with_bom[0].request.body, post[0].request.body);

    let (_, firefox) = ingest_without_rejections(&traffic("mitmproxy-har/firefox.har"));
    let favicon = firefox
        .iter()
        .find(|exchange| exchange.request.url.ends_with("favicon.ico"))
        .unwrap();
    let icon = favicon
        .response
        .as_ref()
        .and_then(|response| response.body.as_deref())
        .unwrap_or_default();
    assert_eq!(
        &icon[..4],
        &[0, 0, 1, 0],
        "the base64 icon is decoded to ICO bytes"
    );
}

#[test]
fn the_apache_log_ingests_all_ten_thousand_lines() {
    let path = traffic("elastic-apache-logs/apache_logs");
    let (format, exchanges) = ingest_without_rejections(&path);
    assert_eq!(format, Format::Combined);
    assert_eq!(exchanges.len(), 10_000);
    assert_ids_stable_and_distinct(&path, &exchanges);
    let with_ip = exchanges
        .iter()
        .filter(|exchange| exchange.client_ip.is_some())
        .count();
    assert_eq!(with_ip, 10_000);
    let client_ips: HashSet<_> = exchanges
        .iter()
        .filter_map(|exchange| exchange.client_ip)
        .collect();
    assert_eq!(
        client_ips.len(),
        1_753,
        "SOURCES.md counts 1,753 client IPs"
    );
    let with_agent = exchanges
        .iter()
        .filter(|exchange| exchange.request.headers.get("user-agent").is_some())
        .count();
    assert_eq!(
        with_agent,
        10_000 - 190,
        "190 lines log the user agent as `-`"
    );
    // Identical lines are distinct requests and get occurrence suffixes.
    assert!(exchanges.iter().any(|exchange| exchange.id.ends_with("-2")));
}

#[test]
fn every_zeek_log_ingests_without_rejections() {
    let expected = [
        ("header-names.http.log", 14),
        ("http-methods.http.log", 49),
        ("http-pipelining.http.log", 5),
    ];
    let mut all_ids = HashSet::new();
    for (name, count) in expected {
        let path = traffic(&format!("zeek/{name}"));
        let (format, exchanges) = ingest_without_rejections(&path);
        assert_eq!(format, Format::Zeek, "{name}");
        assert_eq!(exchanges.len(), count, "{name}");
        assert_ids_stable_and_distinct(&path, &exchanges);
        all_ids.extend(exchanges.into_iter().map(|exchange| exchange.id));
    }
    assert_eq!(
        all_ids.len(),
        14 + 49 + 5,
        "the three logs reuse uids; ids must still differ"
    );

    let (_, methods) = ingest_without_rejections(&traffic("zeek/http-methods.http.log"));
    let unknown = methods
        .iter()
        .filter(|exchange| exchange.request.method == "UNKNOWN")
        .count();
    assert_eq!(unknown, 23, "rows with an unset method are kept");
    assert!(methods
        .iter()
        .any(|exchange| exchange.request.method == "CCM_POST"));
}

/// Single-core rate of the combined-log parser on the public Apache log. Run:
/// `cargo test --release -p sessionscope-ingest --test public_data -- --ignored --nocapture`
#[test]
#[ignore]
fn combined_log_parse_rate() {
    let path = traffic("elastic-apache-logs/apache_logs");
    let bytes = std::fs::read(&path).unwrap();
    let rounds = 20;
    let started = std::time::Instant::now();
    let mut exchanges = 0u64;
    for _ in 0..rounds {
        let reader = sessionscope_ingest::open_reader(
            Box::new(std::io::Cursor::new(bytes.clone())),
            "apache_logs",
            None,
        )
        .unwrap();
        exchanges += reader
            .filter(|record| matches!(record, Record::Exchange(_)))
            .count() as u64;
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "combined: {exchanges} lines in {elapsed:.3} s = {:.0} lines/s of wall time",
        exchanges as f64 / elapsed
    );
}
