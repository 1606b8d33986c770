//! The evaluation corpus of the detection bench: labelled values from the public attack data in
//! `shared/data/attacks` (HttpParams, libinjection, PayloadsAllTheThings, SecLists), each wrapped
//! into requests the way an API receives them — a query parameter of a `GET` and a property of a
//! JSON `POST` — plus the NDJSON form another engine's comparison script reads, and the recall /
//! false-positive arithmetic.
//!
//! What is taken from each source (and what is left out, and why):
//! - `httpparams/payload_train.csv`: every row; `norm` → benign, `sqli`, `xss`, `cmdi` → rce,
//!   `path-traversal` → ptrav.
//! - `libinjection/`: `sqli-*.txt` → sqli, `xss-*.txt` and `tbd-xss-*.txt` → xss,
//!   `false_positives.txt` → benign. Lines are URL-encoded inputs (the upstream format), so each is
//!   percent-decoded once (`+` as space) to get the value a user sent; `#` lines are comments.
//! - `payloadsallthethings/`: every non-empty line of the `Intruder(s)` and `Files` lists, by folder:
//!   SQL → sqli, XSS → xss, Command Injection → rce, Directory Traversal and File Inclusion → ptrav,
//!   LDAP → ldapi, NoSQL → nosqli, SSTI → ssti, SSI → ssi, XXE → xxe, CRLF → crlf,
//!   Open Redirect → redir, Insecure Management Interface → scanner. Left out: `LDAP_attributes.txt`
//!   (attribute names), `php-filter-iconv.txt` (charset names of a filter chain) and `Web-files.txt`
//!   (`robots.txt`, `style.css`: not attacks); Command Injection lines without a letter or digit
//!   (a bare `;` or `|` probe). Each XXE `Files/*` document is one value.
//! - `seclists/SSRF_hacktricks.txt`: every line → ssrf.
//!
//! Request shapes: a value becomes `GET /search?q=<percent-encoded>` (variant `query`) and
//! `POST /api/items` with `{"q": value}` (variant `json`). Two classes differ because their attack
//! is not a value in any parameter: open-redirect values go into `next` (a redirect target
//! elsewhere is the site's business), and management-interface probes become the path
//! `GET /actuator/<name>` (variant `path`, one request per value).

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::{Deserialize, Serialize};
use sessionscope_model::{Exchange, Headers, Request};

use crate::decode::percent_decode_once;
use crate::finding::Finding;

/// Everything but the unreserved characters of RFC 3986 is encoded.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The class of benign values.
pub const BENIGN: &str = "benign";

#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    #[error("failed to read `{path}`")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to read CSV `{path}`")]
    Csv {
        path: PathBuf,
        #[source]
        source: csv::Error,
    },
    #[error("line {line} of `{path}` is not a corpus request")]
    Line {
        path: PathBuf,
        line: usize,
        #[source]
        source: serde_json::Error,
    },
    #[error("failed to write the corpus")]
    Write(#[source] std::io::Error),
}

/// One labelled value from the public data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelledValue {
    pub class: String,
    pub source: String,
    pub value: String,
}

/// One request of the corpus, in the NDJSON shape of `--emit-corpus`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorpusRequest {
    pub id: u64,
    pub class: String,
    pub source: String,
    /// `query`, `json` or `path`.
    pub variant: String,
    pub method: String,
    pub path: String,
    /// The query string without `?`; empty when none.
    pub query: String,
    pub content_type: Option<String>,
    pub body: Option<String>,
}

impl CorpusRequest {
    /// The request as the pipeline sees it.
    pub fn to_exchange(&self) -> Exchange {
        let url = if self.query.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{}", self.path, self.query)
        };
        let mut headers = Headers::default();
        headers.push("Host", "shop.example");
        headers.push("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36");
        if let Some(content_type) = &self.content_type {
            headers.push("Content-Type", content_type.clone());
        }
        Exchange {
            id: format!("corpus-{}", self.id),
            request: Request {
                method: self.method.clone(),
                url,
                host: Some("shop.example".to_string()),
                headers,
                body: self.body.as_ref().map(|body| body.as_bytes().to_vec()),
                body_truncated: false,
            },
            ..Exchange::default()
        }
    }
}

fn read_text(path: &Path) -> Result<String, CorpusError> {
    let bytes = fs::read(path).map_err(|source| CorpusError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn push_lines(
    text: &str,
    class: &str,
    source: &str,
    keep: impl Fn(&str) -> bool,
    out: &mut Vec<LabelledValue>,
) {
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || !keep(line) {
            continue;
        }
        out.push(LabelledValue {
            class: class.to_string(),
            source: source.to_string(),
            value: line.to_string(),
        });
    }
}

fn sorted_files(directory: &Path) -> Result<Vec<PathBuf>, CorpusError> {
    let entries = fs::read_dir(directory).map_err(|source| CorpusError::Read {
        path: directory.to_path_buf(),
        source,
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    Ok(files)
}

fn file_name(path: &Path) -> &str {
    path.file_name()
        .and_then(|name| name.to_str())
        .unwrap_or("")
}

fn httpparams(data: &Path, out: &mut Vec<LabelledValue>) -> Result<(), CorpusError> {
    let path = data.join("httpparams/payload_train.csv");
    let csv_error = |source| CorpusError::Csv {
        path: path.clone(),
        source,
    };
    let mut reader = csv::Reader::from_path(&path).map_err(csv_error)?;
    for record in reader.records() {
        let record = record.map_err(csv_error)?;
        let (Some(payload), Some(attack_type)) = (record.get(0), record.get(2)) else {
            continue;
        };
        let class = match attack_type {
            "norm" => BENIGN,
            "sqli" => "sqli",
            "xss" => "xss",
            "cmdi" => "rce",
            "path-traversal" => "ptrav",
            _ => continue,
        };
        out.push(LabelledValue {
            class: class.to_string(),
            source: "httpparams".to_string(),
            value: payload.to_string(),
        });
    }
    Ok(())
}

fn libinjection(data: &Path, out: &mut Vec<LabelledValue>) -> Result<(), CorpusError> {
    for path in sorted_files(&data.join("libinjection"))? {
        let name = file_name(&path);
        let class = if name.starts_with("sqli-") {
            "sqli"
        } else if name.starts_with("xss-") || name.starts_with("tbd-xss-") {
            "xss"
        } else if name == "false_positives.txt" {
            BENIGN
        } else {
            continue;
        };
        for line in read_text(&path)?.lines() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            out.push(LabelledValue {
                class: class.to_string(),
                source: "libinjection".to_string(),
                value: percent_decode_once(line, true).into_owned(),
            });
        }
    }
    Ok(())
}

fn payloads_all_the_things(data: &Path, out: &mut Vec<LabelledValue>) -> Result<(), CorpusError> {
    const FOLDERS: &[(&str, &str)] = &[
        ("SQL Injection", "sqli"),
        ("XSS Injection", "xss"),
        ("Command Injection", "rce"),
        ("Directory Traversal", "ptrav"),
        ("File Inclusion", "ptrav"),
        ("LDAP Injection", "ldapi"),
        ("NoSQL Injection", "nosqli"),
        ("Server Side Template Injection", "ssti"),
        ("Server Side Include Injection", "ssi"),
        ("XXE Injection", "xxe"),
        ("CRLF Injection", "crlf"),
        ("Open Redirect", "redir"),
        ("Insecure Management Interface", "scanner"),
    ];
    const LEFT_OUT: &[&str] = &[
        "LDAP_attributes.txt",
        "php-filter-iconv.txt",
        "Web-files.txt",
    ];
    let root = data.join("payloadsallthethings");
    for (folder, class) in FOLDERS {
        for sub in ["Intruder", "Intruders", "Files"] {
            let directory = root.join(folder).join(sub);
            if !directory.is_dir() {
                continue;
            }
            for path in sorted_files(&directory)? {
                if LEFT_OUT.contains(&file_name(&path)) {
                    continue;
                }
                let text = read_text(&path)?;
                if *class == "xxe" && sub == "Files" {
                    out.push(LabelledValue {
                        class: class.to_string(),
                        source: "payloadsallthethings".to_string(),
                        value: text.trim().to_string(),
                    });
                    continue;
                }
                let needs_word = *class == "rce";
                push_lines(
                    &text,
                    class,
                    "payloadsallthethings",
                    |line| !needs_word || line.bytes().any(|byte| byte.is_ascii_alphanumeric()),
                    out,
                );
            }
        }
    }
    Ok(())
}

fn seclists(data: &Path, out: &mut Vec<LabelledValue>) -> Result<(), CorpusError> {
    let text = read_text(&data.join("seclists/SSRF_hacktricks.txt"))?;
    push_lines(&text, "ssrf", "seclists", |_| true, out);
    Ok(())
}

/// Every labelled value of the public data, in a stable order.
pub fn labelled_values(data: &Path) -> Result<Vec<LabelledValue>, CorpusError> {
    let mut values = Vec::new();
    httpparams(data, &mut values)?;
    libinjection(data, &mut values)?;
    payloads_all_the_things(data, &mut values)?;
    seclists(data, &mut values)?;
    Ok(values)
}

/// The requests for labelled values (see the module documentation for the shapes).
pub fn requests_for(values: &[LabelledValue]) -> Vec<CorpusRequest> {
    let mut requests = Vec::with_capacity(values.len() * 2);
    let mut next_id = 1u64;
    let mut push = |labelled: &LabelledValue,
                    variant: &str,
                    method: &str,
                    path: String,
                    query: String,
                    body: Option<String>| {
        requests.push(CorpusRequest {
            id: next_id,
            class: labelled.class.clone(),
            source: labelled.source.clone(),
            variant: variant.to_string(),
            method: method.to_string(),
            path,
            query,
            content_type: body.as_ref().map(|_| "application/json".to_string()),
            body,
        });
        next_id += 1;
    };
    for labelled in values {
        if labelled.class == "scanner" {
            let name =
                utf8_percent_encode(labelled.value.trim().trim_start_matches('/'), QUERY_VALUE)
                    .to_string();
            push(
                labelled,
                "path",
                "GET",
                format!("/actuator/{name}"),
                String::new(),
                None,
            );
            continue;
        }
        let parameter = if labelled.class == "redir" {
            "next"
        } else {
            "q"
        };
        let encoded = utf8_percent_encode(&labelled.value, QUERY_VALUE);
        push(
            labelled,
            "query",
            "GET",
            "/search".to_string(),
            format!("{parameter}={encoded}"),
            None,
        );
        let body = serde_json::json!({ parameter: labelled.value }).to_string();
        push(
            labelled,
            "json",
            "POST",
            "/api/items".to_string(),
            String::new(),
            Some(body),
        );
    }
    requests
}

/// Writes requests as NDJSON, one per line.
pub fn write_ndjson(requests: &[CorpusRequest], out: &mut impl Write) -> Result<(), CorpusError> {
    for request in requests {
        let line =
            serde_json::to_string(request).map_err(|error| CorpusError::Write(error.into()))?;
        writeln!(out, "{line}").map_err(CorpusError::Write)?;
    }
    Ok(())
}

/// Reads requests written by `write_ndjson` (or by hand in the same shape).
pub fn read_ndjson(path: &Path) -> Result<Vec<CorpusRequest>, CorpusError> {
    let file = fs::File::open(path).map_err(|source| CorpusError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut requests = Vec::new();
    for (index, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|source| CorpusError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let request = serde_json::from_str(&line).map_err(|source| CorpusError::Line {
            path: path.to_path_buf(),
            line: index + 1,
            source,
        })?;
        requests.push(request);
    }
    Ok(requests)
}

/// Counts for one (source, class) or one class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub total: u64,
    /// Requests with at least one finding of any type.
    pub detected: u64,
    /// Requests with a finding of the expected type.
    pub right_type: u64,
}

impl Tally {
    fn add(&mut self, detected: bool, right_type: bool) {
        self.total += 1;
        self.detected += u64::from(detected);
        self.right_type += u64::from(right_type);
    }

    /// `detected / total` in percent (0 for an empty tally).
    pub fn detected_percent(&self) -> f64 {
        percent(self.detected, self.total)
    }

    pub fn right_type_percent(&self) -> f64 {
        percent(self.right_type, self.total)
    }
}

fn percent(part: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        part as f64 * 100.0 / total as f64
    }
}

/// Recall per class and per (source, class), and flagged benign requests.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evaluation {
    pub by_class: BTreeMap<String, Tally>,
    pub by_source_class: BTreeMap<(String, String), Tally>,
    /// For benign requests `detected` counts the false positives.
    pub benign: Tally,
    /// A few flagged benign and missed attack requests with their findings, for reading.
    pub false_positive_examples: Vec<(CorpusRequest, Vec<Finding>)>,
    pub missed_examples: Vec<CorpusRequest>,
    /// Attacks found, but not as their own type.
    pub wrong_type_examples: Vec<(CorpusRequest, Vec<Finding>)>,
}

const MAX_EXAMPLES: usize = 100_000;

impl Evaluation {
    /// Adds one request and what the detector found in it.
    pub fn add(&mut self, request: &CorpusRequest, findings: &[Finding]) {
        let detected = !findings.is_empty();
        if request.class == BENIGN {
            self.benign.add(detected, detected);
            if detected && self.false_positive_examples.len() < MAX_EXAMPLES {
                self.false_positive_examples
                    .push((request.clone(), findings.to_vec()));
            }
            return;
        }
        let right_type = findings
            .iter()
            .any(|finding| finding.kind.as_str() == request.class);
        self.by_class
            .entry(request.class.clone())
            .or_default()
            .add(detected, right_type);
        self.by_source_class
            .entry((request.source.clone(), request.class.clone()))
            .or_default()
            .add(detected, right_type);
        if !detected && self.missed_examples.len() < MAX_EXAMPLES {
            self.missed_examples.push(request.clone());
        }
        if detected && !right_type && self.wrong_type_examples.len() < MAX_EXAMPLES {
            self.wrong_type_examples
                .push((request.clone(), findings.to_vec()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_become_a_query_and_a_json_request() {
        let value = LabelledValue {
            class: "sqli".into(),
            source: "test".into(),
            value: "1' or 1=1 -- é".into(),
        };
        let requests = requests_for(&[value]);
        assert_eq!(requests.len(), 2);
        assert_eq!(requests[0].query, "q=1%27%20or%201%3D1%20--%20%C3%A9");
        assert_eq!(requests[0].method, "GET");
        assert_eq!(
            requests[1].body.as_deref(),
            Some(r#"{"q":"1' or 1=1 -- é"}"#)
        );
        assert_eq!(
            requests[1].content_type.as_deref(),
            Some("application/json")
        );
        let exchange = requests[0].to_exchange();
        assert_eq!(
            exchange.request.url,
            "/search?q=1%27%20or%201%3D1%20--%20%C3%A9"
        );
    }

    #[test]
    fn ndjson_round_trips() {
        let requests = requests_for(&[LabelledValue {
            class: "scanner".into(),
            source: "test".into(),
            value: "env".into(),
        }]);
        assert_eq!(requests[0].path, "/actuator/env");
        let mut buffer = Vec::new();
        write_ndjson(&requests, &mut buffer).expect("writes to memory");
        let line = String::from_utf8(buffer).expect("utf-8");
        assert!(line.starts_with(r#"{"id":1,"class":"scanner","source":"test","variant":"path","method":"GET","path":"/actuator/env","query":"","content_type":null,"body":null}"#));
        let parsed: CorpusRequest = serde_json::from_str(line.trim()).expect("parses back");
        assert_eq!(parsed, requests[0]);
    }
}
