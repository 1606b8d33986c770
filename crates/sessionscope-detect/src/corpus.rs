//! The evaluation corpus of the detection bench: labelled values from the public attack data in
//! `shared/data/attacks` and from the project's own files (`data/families.txt`,
//! `data/lookalikes.txt`), each delivered in every place an API receives a parameter (see
//! `Delivery`), plus the NDJSON form another engine's comparison script reads, and the recall /
//! false-positive arithmetic, per class and per delivery.
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
//!   (a bare `;` or `|` probe). Each XXE `Files/*` document is one value. The upload extension
//!   lists become file names `shell<extension>` (class `upload`); the Ruby YAML deserialization
//!   document is one rce value.
//! - `seclists/`: `SSRF_hacktricks.txt` → ssrf; from `Fuzzing/`: the LDAP, SSI, SQLi and XSS
//!   polyglot and SQLi lists by their names. The mixed Unix / Windows lists carry no labels and
//!   are left out.
//! - `fuzzdb/attack/`: the command-injection (Unix, Windows), CRLF, LDAP, SSI, NoSQL, XSS, SQLi and
//!   LFI lists; the command-injection templates with each of the `useful-commands` lists'
//!   commands in `{cmd}`; the upload extension and filter-bypass lists as file names (`upload`).
//!   Lines of fuzzing lists count when they have three characters and a letter or digit (a lone
//!   `!` or `%26` tests a parser, not an attack).
//! - `data/families.txt`: attacks of the families the public lists lack (Java, PHP, Node.js,
//!   PowerShell, shell evasions), written for the project.
//! - `data/lookalikes.txt`: benign values that look like attacks.
//!
//! Deliveries: a parameter value goes into a query parameter, a form field, a JSON property and
//! key, XML text and an attribute, a multipart field and (where it can be one) a file name, the
//! `Referer` header (where it can be one), a cookie, a whole `text/plain` body, and pasted unescaped
//! into a JSON and an XML template (as a template engine without escaping would). Open-redirect
//! values go into `next` of a query, form or JSON (a redirect target elsewhere is the site's
//! business), management-interface probes become the path `GET /actuator/<name>`, upload names
//! only file names, and XXE documents are also sent as the whole XML body.

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
    /// Headers besides the corpus's `Host` and browser `User-Agent`, as `[name, value]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<[String; 2]>,
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
        for [name, value] in &self.headers {
            headers.push(name.clone(), value.clone());
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

/// A probe line of a fuzzing list (`!`, `%26`, `|`) tests a parser, not an attack: list values
/// count when they have three characters and a letter or digit.
fn is_attack_line(line: &str) -> bool {
    line.trim().len() >= 3 && line.bytes().any(|byte| byte.is_ascii_alphanumeric())
}

/// Lines of one list file, percent-decoded once when the list is URL-encoded input.
fn list_file(
    path: &Path,
    class: &str,
    source: &str,
    url_encoded: bool,
    out: &mut Vec<LabelledValue>,
) -> Result<(), CorpusError> {
    for line in read_text(path)?.lines() {
        let line = line.trim_end_matches('\r');
        if !is_attack_line(line) {
            continue;
        }
        let value = if url_encoded {
            percent_decode_once(line, true).into_owned()
        } else {
            line.to_string()
        };
        out.push(LabelledValue {
            class: class.to_string(),
            source: source.to_string(),
            value,
        });
    }
    Ok(())
}

fn fuzzdb(data: &Path, out: &mut Vec<LabelledValue>) -> Result<(), CorpusError> {
    let root = data.join("fuzzdb/attack");
    // (file, class, URL-encoded)
    const LISTS: &[(&str, &str, bool)] = &[
        ("os-cmd-execution/command-execution-unix.txt", "rce", true),
        ("os-cmd-execution/OSCommandInject.Windows.txt", "rce", true),
        ("http-protocol/crlf-injection.txt", "crlf", true),
        ("ldap/ldap-injection.txt", "ldapi", true),
        (
            "server-side-include/server-side-includes-generic.txt",
            "ssi",
            false,
        ),
        ("no-sql-injection/mongodb.txt", "nosqli", false),
        ("xss/xss-rsnake.txt", "xss", false),
        ("xss/xss-other.txt", "xss", false),
        ("xss/XSSPolyglot.txt", "xss", false),
        ("lfi/JHADDIX_LFI.txt", "ptrav", false),
    ];
    for (file, class, url_encoded) in LISTS {
        list_file(&root.join(file), class, "fuzzdb", *url_encoded, out)?;
    }
    for folder in ["detect", "exploit"] {
        for path in sorted_files(&root.join("sql-injection").join(folder))? {
            list_file(&path, "sqli", "fuzzdb", false, out)?;
        }
    }
    // Command-injection templates with each of the lists' commands in `{cmd}`.
    let templates = read_text(&root.join("os-cmd-execution/command-injection-template.txt"))?;
    let mut commands = read_text(&root.join("os-cmd-execution/useful-commands-unix.txt"))?;
    commands.push('\n');
    commands.push_str(&read_text(
        &root.join("os-cmd-execution/useful-commands-windows.txt"),
    )?);
    for template in templates.lines().filter(|line| line.contains("{cmd}")) {
        for command in commands
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
        {
            out.push(LabelledValue {
                class: "rce".to_string(),
                source: "fuzzdb".to_string(),
                value: percent_decode_once(&template.replace("{cmd}", command), false).into_owned(),
            });
        }
    }
    // Upload names: script extensions and the filter-bypass names, as the file name of a part.
    for path in sorted_files(&root.join("file-upload"))? {
        let name = file_name(&path);
        let extensions = name.starts_with("alt-extensions-");
        if !extensions && !name.starts_with("file-ul-filter-bypass-")
            || name.contains("directories")
        {
            continue;
        }
        for line in read_text(&path)?.lines() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() {
                continue;
            }
            let decoded = percent_decode_once(line, false);
            let value = if extensions {
                format!("shell.{decoded}")
            } else {
                decoded
                    .replace("{PHPSCRIPT}", "shell.php")
                    .replace("{ASPSCRIPT}", "shell.asp")
            };
            out.push(LabelledValue {
                class: "upload".to_string(),
                source: "fuzzdb".to_string(),
                value,
            });
        }
    }
    Ok(())
}

fn seclists_fuzzing(data: &Path, out: &mut Vec<LabelledValue>) -> Result<(), CorpusError> {
    let root = data.join("seclists/Fuzzing");
    const LISTS: &[(&str, &str, bool)] = &[
        ("LDAP.Fuzzing.txt", "ldapi", true),
        ("SSI-Injection-Jhaddix.txt", "ssi", false),
        ("Polyglots/SQLi_Polyglots.txt", "sqli", false),
        ("Polyglots/XSS_Polyglots.txt", "xss", false),
        ("Polyglots/DMIESSLER_XSS_Polyglots.txt", "xss", false),
        ("SQLi/safe-SQLi-payloads.txt", "sqli", false),
        ("Databases/SQLi/quick-SQLi.txt", "sqli", false),
        ("Databases/SQLi/sqli.auth.bypass.txt", "sqli", false),
    ];
    for (file, class, url_encoded) in LISTS {
        list_file(&root.join(file), class, "seclists", *url_encoded, out)?;
    }
    Ok(())
}

/// Upload names and the Ruby YAML deserialization document of PayloadsAllTheThings.
fn payloads_all_the_things_files(
    data: &Path,
    out: &mut Vec<LabelledValue>,
) -> Result<(), CorpusError> {
    let root = data.join("payloadsallthethings");
    for folder in ["Extension PHP", "Extension ASP"] {
        let text = read_text(
            &root
                .join("Upload Insecure Files")
                .join(folder)
                .join("extensions.lst"),
        )?;
        for extension in text.lines().map(str::trim).filter(|line| !line.is_empty()) {
            out.push(LabelledValue {
                class: "upload".to_string(),
                source: "payloadsallthethings".to_string(),
                value: format!("shell{extension}"),
            });
        }
    }
    let document = read_text(&root.join("Insecure Deserialization/Files/ruby-serialize.yaml"))?;
    out.push(LabelledValue {
        class: "rce".to_string(),
        source: "payloadsallthethings".to_string(),
        value: document.trim().to_string(),
    });
    Ok(())
}

/// Benign values written for the project: the hard look-alikes of every attack family (code in
/// forum posts, file names with dots, Windows paths in support tickets, JSON keys such as
/// `constructor`, words such as `select` or `runtime` in prose), one per line.
pub const LOOKALIKES: &str = include_str!("../data/lookalikes.txt");

/// Attacks of the families the public lists lack, written for the project (see the file's
/// header): `class<TAB>value` per line.
pub const FAMILIES: &str = include_str!("../data/families.txt");

/// The values of one of the project's files: a value per line, `class<TAB>value` when `class`
/// is `None`; `#` lines are comments, `{LF}` and `{CR}` stand for line breaks.
fn project_file(text: &str, class: Option<&str>, source: &str, out: &mut Vec<LabelledValue>) {
    for line in text.lines() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((class, value)) = class
            .map(|class| (class, line))
            .or_else(|| line.split_once('\t'))
        else {
            continue;
        };
        out.push(LabelledValue {
            class: class.to_string(),
            source: source.to_string(),
            value: value.replace("{LF}", "\n").replace("{CR}", "\r"),
        });
    }
}

/// Every labelled value of the public data and the project's look-alikes, in a stable order.
pub fn labelled_values(data: &Path) -> Result<Vec<LabelledValue>, CorpusError> {
    let mut values = Vec::new();
    httpparams(data, &mut values)?;
    libinjection(data, &mut values)?;
    payloads_all_the_things(data, &mut values)?;
    payloads_all_the_things_files(data, &mut values)?;
    seclists(data, &mut values)?;
    seclists_fuzzing(data, &mut values)?;
    fuzzdb(data, &mut values)?;
    project_file(FAMILIES, None, "families", &mut values);
    project_file(LOOKALIKES, Some(BENIGN), "lookalikes", &mut values);
    Ok(values)
}

/// How a value is delivered in a corpus request: the places an API receives parameters in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// `GET /search?q=<percent-encoded>`.
    Query,
    /// `POST /search` with an urlencoded form `q=<percent-encoded>`.
    Form,
    /// `POST /api/items` with `{"q": value}`.
    Json,
    /// `POST /api/items` with `{value: "1"}`: the value as a JSON key.
    JsonKey,
    /// `POST /api/items` with `<request><q>value</q></request>` (escaped as XML text).
    XmlText,
    /// `POST /api/items` with `<request><item q="value"/></request>`.
    XmlAttribute,
    /// `POST /upload` with a multipart form field `q`.
    Multipart,
    /// `POST /upload` with a multipart file part whose file name is the value.
    FileName,
    /// The value in the `Referer` header of a `GET`.
    Header,
    /// The value (percent-encoded) in a cookie `q`.
    Cookie,
    /// The value as a whole `text/plain` body.
    TextBody,
    /// `{"q": "value"}` with the value pasted in unescaped, as a template without escaping writes
    /// it (often no longer JSON).
    RawJson,
    /// `<request><q>value</q></request>` with the value pasted in unescaped (often no longer XML).
    RawXml,
    /// `GET /actuator/<value>`: management-interface probes.
    Path,
    /// The value is the whole XML body (XXE documents).
    XmlDocument,
}

impl Delivery {
    /// Every delivery a parameter value is tried in (for the classes that are parameter values).
    pub const PARAMETER: [Delivery; 13] = [
        Delivery::Query,
        Delivery::Form,
        Delivery::Json,
        Delivery::JsonKey,
        Delivery::XmlText,
        Delivery::XmlAttribute,
        Delivery::Multipart,
        Delivery::FileName,
        Delivery::Header,
        Delivery::Cookie,
        Delivery::TextBody,
        Delivery::RawJson,
        Delivery::RawXml,
    ];

    /// The name in the corpus (`variant`) and in the tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::Query => "query",
            Delivery::Form => "form",
            Delivery::Json => "json",
            Delivery::JsonKey => "json-key",
            Delivery::XmlText => "xml",
            Delivery::XmlAttribute => "xml-attribute",
            Delivery::Multipart => "multipart",
            Delivery::FileName => "file-name",
            Delivery::Header => "header",
            Delivery::Cookie => "cookie",
            Delivery::TextBody => "text-body",
            Delivery::RawJson => "json-raw",
            Delivery::RawXml => "xml-raw",
            Delivery::Path => "path",
            Delivery::XmlDocument => "xml-document",
        }
    }
}

/// The multipart boundary of corpus requests.
const BOUNDARY: &str = "sessionscope-corpus-boundary";

fn xml_escape(value: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    for character in value.chars() {
        match character {
            '<' => out.push_str("&lt;"),
            '&' => out.push_str("&amp;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            // XML 1.0 cannot carry most control characters, even as references; a client
            // sending them would have to encode them another way.
            control if control.is_control() && !matches!(control, '\t' | '\n' | '\r') => {
                out.push_str(&format!("&#{};", control as u32));
            }
            other => out.push(other),
        }
    }
    out
}

/// True when `value` can be sent as it is in a header or a multipart file name: no control
/// characters, and for a file name no path or quote.
fn fits_header(value: &str) -> bool {
    !value.is_empty() && !value.chars().any(char::is_control) && value.trim() == value
}

fn fits_file_name(value: &str) -> bool {
    fits_header(value) && value.len() <= 255 && !value.contains(['/', '\\', '"'])
}

/// Which deliveries a class is tried in: scanner probes are paths, redirect targets the `next`
/// parameter where a redirect reads it, upload names only file names; XXE documents are also a
/// whole XML body. Every other class (and benign values) goes everywhere it fits.
fn deliveries_for(labelled: &LabelledValue) -> Vec<Delivery> {
    match labelled.class.as_str() {
        "scanner" => vec![Delivery::Path],
        "redir" => vec![Delivery::Query, Delivery::Form, Delivery::Json],
        "upload" => vec![Delivery::FileName],
        "xxe" => vec![Delivery::Query, Delivery::Json, Delivery::XmlDocument],
        _ => Delivery::PARAMETER
            .into_iter()
            .filter(|delivery| match delivery {
                Delivery::Header => fits_header(&labelled.value),
                Delivery::FileName => fits_file_name(&labelled.value),
                _ => true,
            })
            .collect(),
    }
}

/// One request delivering `labelled` by `delivery`.
pub fn request_for(labelled: &LabelledValue, delivery: Delivery, id: u64) -> CorpusRequest {
    let value = labelled.value.as_str();
    let parameter = if labelled.class == "redir" {
        "next"
    } else {
        "q"
    };
    let encoded = || utf8_percent_encode(value, QUERY_VALUE).to_string();
    let mut request = CorpusRequest {
        id,
        class: labelled.class.clone(),
        source: labelled.source.clone(),
        variant: delivery.as_str().to_string(),
        method: "POST".to_string(),
        path: "/api/items".to_string(),
        query: String::new(),
        content_type: None,
        body: None,
        headers: Vec::new(),
    };
    let multipart = |head: String, content: &str| {
        format!("--{BOUNDARY}\r\n{head}\r\n\r\n{content}\r\n--{BOUNDARY}--\r\n")
    };
    let (content_type, body) = match delivery {
        Delivery::Query => {
            request.method = "GET".to_string();
            request.path = "/search".to_string();
            request.query = format!("{parameter}={}", encoded());
            return request;
        }
        Delivery::Path => {
            request.method = "GET".to_string();
            let name = utf8_percent_encode(value.trim().trim_start_matches('/'), QUERY_VALUE);
            request.path = format!("/actuator/{name}");
            return request;
        }
        Delivery::Header | Delivery::Cookie => {
            request.method = "GET".to_string();
            request.path = "/search".to_string();
            request.headers = vec![if delivery == Delivery::Header {
                ["Referer".to_string(), value.to_string()]
            } else {
                ["Cookie".to_string(), format!("{parameter}={}", encoded())]
            }];
            return request;
        }
        Delivery::Form => (
            "application/x-www-form-urlencoded",
            format!("{parameter}={}", encoded()),
        ),
        Delivery::Json => (
            "application/json",
            serde_json::json!({ parameter: value }).to_string(),
        ),
        Delivery::JsonKey => {
            let mut object = serde_json::Map::new();
            object.insert(value.to_string(), serde_json::Value::from("1"));
            ("application/json", serde_json::Value::Object(object).to_string())
        }
        Delivery::XmlText => (
            "application/xml",
            format!(
                "<?xml version=\"1.0\"?><request><{parameter}>{}</{parameter}></request>",
                xml_escape(value, false)
            ),
        ),
        Delivery::XmlAttribute => (
            "application/xml",
            format!(
                "<?xml version=\"1.0\"?><request><item {parameter}=\"{}\"/></request>",
                xml_escape(value, true)
            ),
        ),
        Delivery::XmlDocument => ("application/xml", value.to_string()),
        Delivery::TextBody => ("text/plain", value.to_string()),
        Delivery::RawJson => ("application/json", format!("{{\"{parameter}\": \"{value}\"}}")),
        Delivery::RawXml => (
            "application/xml",
            format!("<?xml version=\"1.0\"?><request><{parameter}>{value}</{parameter}></request>"),
        ),
        Delivery::Multipart => (
            "multipart/form-data",
            multipart(
                format!("Content-Disposition: form-data; name=\"{parameter}\""),
                value,
            ),
        ),
        Delivery::FileName => (
            "multipart/form-data",
            multipart(
                format!(
                    "Content-Disposition: form-data; name=\"file\"; filename=\"{value}\"\r\nContent-Type: application/octet-stream"
                ),
                "file content",
            ),
        ),
    };
    if matches!(delivery, Delivery::Multipart | Delivery::FileName) {
        request.path = "/upload".to_string();
        request.content_type = Some(format!("{content_type}; boundary={BOUNDARY}"));
    } else {
        request.content_type = Some(content_type.to_string());
    }
    request.body = Some(body);
    request
}

/// The requests for labelled values: each value in every delivery that fits its class (see
/// `Delivery` and the module documentation).
pub fn requests_for(values: &[LabelledValue]) -> Vec<CorpusRequest> {
    let mut requests = Vec::with_capacity(values.len() * Delivery::PARAMETER.len());
    for labelled in values {
        for delivery in deliveries_for(labelled) {
            let id = requests.len() as u64 + 1;
            requests.push(request_for(labelled, delivery, id));
        }
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
    /// Attack requests by delivery (`variant`).
    pub by_variant: BTreeMap<String, Tally>,
    /// For benign requests `detected` counts the false positives.
    pub benign: Tally,
    /// Benign requests by delivery.
    pub benign_by_variant: BTreeMap<String, Tally>,
    /// A few flagged benign and missed attack requests with their findings, for reading.
    pub false_positive_examples: Vec<(CorpusRequest, Vec<Finding>)>,
    pub missed_examples: Vec<CorpusRequest>,
    /// Attacks found, but not as their own type.
    pub wrong_type_examples: Vec<(CorpusRequest, Vec<Finding>)>,
}

const MAX_EXAMPLES: usize = 100_000;

/// The attack type a class is found as: uploads of scripts are code execution.
pub fn expected_kind(class: &str) -> &str {
    match class {
        "upload" => "rce",
        other => other,
    }
}

impl Evaluation {
    /// Adds one request and what the detector found in it.
    pub fn add(&mut self, request: &CorpusRequest, findings: &[Finding]) {
        let detected = !findings.is_empty();
        if request.class == BENIGN {
            self.benign.add(detected, detected);
            self.benign_by_variant
                .entry(request.variant.clone())
                .or_default()
                .add(detected, detected);
            if detected && self.false_positive_examples.len() < MAX_EXAMPLES {
                self.false_positive_examples
                    .push((request.clone(), findings.to_vec()));
            }
            return;
        }
        let right_type = findings
            .iter()
            .any(|finding| finding.kind.as_str() == expected_kind(&request.class));
        self.by_variant
            .entry(request.variant.clone())
            .or_default()
            .add(detected, right_type);
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
    fn values_are_delivered_everywhere_a_parameter_goes() {
        let value = LabelledValue {
            class: "sqli".into(),
            source: "test".into(),
            value: "1' or 1=1 -- é".into(),
        };
        let requests = requests_for(&[value]);
        let variants: Vec<&str> = requests.iter().map(|r| r.variant.as_str()).collect();
        assert_eq!(
            variants,
            [
                "query",
                "form",
                "json",
                "json-key",
                "xml",
                "xml-attribute",
                "multipart",
                "file-name",
                "header",
                "cookie",
                "text-body",
                "json-raw",
                "xml-raw"
            ]
        );
        assert_eq!(requests[0].query, "q=1%27%20or%201%3D1%20--%20%C3%A9");
        assert_eq!(requests[0].method, "GET");
        assert_eq!(
            requests[2].body.as_deref(),
            Some(r#"{"q":"1' or 1=1 -- é"}"#)
        );
        assert_eq!(
            requests[3].body.as_deref(),
            Some(r#"{"1' or 1=1 -- é":"1"}"#)
        );
        assert_eq!(
            requests[5].body.as_deref(),
            Some(r#"<?xml version="1.0"?><request><item q="1' or 1=1 -- é"/></request>"#)
        );
        assert!(requests[7]
            .body
            .as_deref()
            .is_some_and(|body| body.contains(r#"filename="1' or 1=1 -- é""#)));
        assert_eq!(
            requests[8].headers,
            [["Referer".to_string(), "1' or 1=1 -- é".to_string()]]
        );
        let exchange = requests[0].to_exchange();
        assert_eq!(
            exchange.request.url,
            "/search?q=1%27%20or%201%3D1%20--%20%C3%A9"
        );
        // Every request of the value is found, in every delivery.
        for request in &requests {
            let findings = crate::detect(&request.to_exchange());
            assert!(
                findings.iter().any(|f| f.kind.as_str() == "sqli"),
                "{request:?}: {findings:?}"
            );
        }
        // Markup is escaped in XML text, and a value that cannot be a header is not sent as one.
        let markup = LabelledValue {
            class: "xss".into(),
            source: "test".into(),
            value: "<b>a\nb</b>".into(),
        };
        let requests = requests_for(&[markup]);
        assert!(requests
            .iter()
            .all(|r| r.variant != "header" && r.variant != "file-name"));
        assert!(requests.iter().any(|r| r.body.as_deref()
            == Some("<?xml version=\"1.0\"?><request><q>&lt;b&gt;a\nb&lt;/b&gt;</q></request>")));
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
