//! CSV and NDJSON forms of request rows and session parts. The REST API, the console's
//! "Download CSV" and the CLI's `export` command all write through here, so a CSV file looks
//! the same whichever way it was made. Columns are documented in API.md; list values are joined
//! with `;`, absent values are empty cells, times are RFC 3339 UTC. A text cell that a
//! spreadsheet would read as a formula (it starts with `=`, `+`, `-`, `@`, a tab or a carriage
//! return) gets a leading `'`, so traffic values cannot run formulas in whoever opens the file.

use std::io::Write;

use sessionscope_model::{format_rfc3339, Count, RequestRow, SessionSummary};

/// Columns of the request CSV, in order.
pub const REQUEST_CSV_COLUMNS: &[&str] = &[
    "id",
    "ts",
    "session_id",
    "session_part",
    "session_key",
    "client_ip",
    "app",
    "host",
    "method",
    "path",
    "endpoint",
    "status",
    "duration_ms",
    "size",
    "user",
    "roles",
    "flows",
    "attack_types",
    "bots",
];

/// Columns of the session CSV, in order.
pub const SESSION_CSV_COLUMNS: &[&str] = &[
    "session_id",
    "part",
    "part_index",
    "part_count",
    "start",
    "end",
    "requests",
    "attacks",
    "users",
    "roles",
    "client_ips",
    "hosts",
    "apps",
    "flows",
    "endpoints",
];

const LIST_SEPARATOR: &str = ";";

pub fn write_requests_csv_header(out: &mut csv::Writer<impl Write>) -> csv::Result<()> {
    out.write_record(REQUEST_CSV_COLUMNS)
}

pub fn write_request_csv(out: &mut csv::Writer<impl Write>, row: &RequestRow) -> csv::Result<()> {
    // Each attack type once, in the order first detected.
    let mut attack_types: Vec<&str> = Vec::new();
    for attack in &row.attacks {
        if !attack_types.contains(&attack.kind.as_str()) {
            attack_types.push(attack.kind.as_str());
        }
    }
    let record: [String; 19] = [
        text(&row.id),
        format_rfc3339(row.ts),
        row.session_id.to_hex(),
        text(&row.session_part),
        text(&row.session_key),
        text(row.client_ip.as_deref().unwrap_or_default()),
        text(&row.app),
        text(&row.host),
        text(&row.method),
        text(&row.path),
        text(&row.endpoint),
        row.status
            .map(|status| status.to_string())
            .unwrap_or_default(),
        row.duration_ms.map(format_number).unwrap_or_default(),
        row.size.map(|size| size.to_string()).unwrap_or_default(),
        text(row.user.as_deref().unwrap_or_default()),
        text(&row.roles.join(LIST_SEPARATOR)),
        text(&row.flows.join(LIST_SEPARATOR)),
        text(&attack_types.join(LIST_SEPARATOR)),
        text(&row.bots.join(LIST_SEPARATOR)),
    ];
    out.write_record(&record)
}

pub fn write_sessions_csv_header(out: &mut csv::Writer<impl Write>) -> csv::Result<()> {
    out.write_record(SESSION_CSV_COLUMNS)
}

pub fn write_session_csv(
    out: &mut csv::Writer<impl Write>,
    session: &SessionSummary,
) -> csv::Result<()> {
    let record: [String; 15] = [
        session.session_id.to_hex(),
        text(&session.part),
        session.part_index.to_string(),
        session.part_count.to_string(),
        format_rfc3339(session.start),
        format_rfc3339(session.end),
        session.requests.to_string(),
        session.attacks.to_string(),
        text(&session.users.join(LIST_SEPARATOR)),
        text(&session.roles.join(LIST_SEPARATOR)),
        text(&join_values(&session.client_ips)),
        text(&join_values(&session.hosts)),
        text(&join_values(&session.apps)),
        text(&join_values(&session.flows)),
        text(&join_values(&session.endpoints)),
    ];
    out.write_record(&record)
}

/// One request as a line of the request export (NDJSON), newline included.
pub fn write_request_ndjson(out: &mut impl Write, row: &RequestRow) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, row)?;
    out.write_all(b"\n")
}

/// One session part as a line of the session export (NDJSON), newline included.
pub fn write_session_ndjson(out: &mut impl Write, session: &SessionSummary) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, session)?;
    out.write_all(b"\n")
}

/// A text cell as written: one a spreadsheet would take for a formula is prefixed with `'`.
/// Numbers and times we format ourselves never start with these characters, so only text
/// cells go through here.
fn text(value: &str) -> String {
    match value.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => format!("'{value}"),
        _ => value.to_owned(),
    }
}

/// The values of counted lists, most frequent first as the store gives them; counts are left
/// out so the cell stays a plain list (IPv6 addresses already contain `:`).
fn join_values(counts: &[Count]) -> String {
    let values: Vec<&str> = counts.iter().map(|count| count.value.as_str()).collect();
    values.join(LIST_SEPARATOR)
}

/// Shortest text that reads back as the same number (`41.5`, `3`), never exponent notation for
/// the durations we see.
fn format_number(value: f64) -> String {
    if !value.is_finite() {
        return String::new();
    }
    format!("{value}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use sessionscope_model::{parse_rfc3339, Attack, SessionId};

    fn sample_row() -> RequestRow {
        RequestRow {
            id: String::from("r-1"),
            ts: parse_rfc3339("2026-11-22T10:00:00.120Z").unwrap(),
            session_id: SessionId([0xab; 16]),
            session_part: String::from("2026-11-22"),
            session_key: String::from("builtin:cookie.PHPSESSID"),
            client_ip: Some(String::from("203.0.113.7")),
            app: String::from("shop"),
            host: String::from("api.shop.example"),
            method: String::from("GET"),
            path: String::from("/v1/search"),
            endpoint: String::from("/v1/search"),
            status: Some(200),
            duration_ms: Some(41.5),
            size: None,
            user: None,
            roles: vec![String::from("admin"), String::from("user")],
            flows: vec![],
            attacks: vec![
                Attack {
                    kind: "sqli".into(),
                    point: "q".into(),
                    payload: "1' or 1=1".into(),
                    rule: "r1".into(),
                },
                Attack {
                    kind: "xss".into(),
                    point: "q".into(),
                    payload: "<script>".into(),
                    rule: "r2".into(),
                },
                Attack {
                    kind: "sqli".into(),
                    point: "p".into(),
                    payload: "union".into(),
                    rule: "r3".into(),
                },
            ],
            bots: vec![String::from("scraping")],
        }
    }

    /// The first CSV record `write` produces, read back.
    fn first_record(
        write: impl FnOnce(&mut csv::Writer<Vec<u8>>) -> csv::Result<()>,
    ) -> csv::StringRecord {
        let mut out = csv::Writer::from_writer(Vec::new());
        write(&mut out).unwrap();
        let bytes = out.into_inner().unwrap();
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(bytes.as_slice());
        reader.records().next().unwrap().unwrap()
    }

    #[test]
    fn request_csv_has_the_documented_columns_in_order() {
        let mut out = csv::Writer::from_writer(Vec::new());
        write_requests_csv_header(&mut out).unwrap();
        write_request_csv(&mut out, &sample_row()).unwrap();
        let text = String::from_utf8(out.into_inner().unwrap()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "id,ts,session_id,session_part,session_key,client_ip,app,host,method,path,endpoint,status,duration_ms,size,user,roles,flows,attack_types,bots"
        );
        assert_eq!(
            lines[1],
            "r-1,2026-11-22T10:00:00.120Z,abababababababababababababababab,2026-11-22,builtin:cookie.PHPSESSID,203.0.113.7,shop,api.shop.example,GET,/v1/search,/v1/search,200,41.5,,,admin;user,,sqli;xss,scraping"
        );
    }

    #[test]
    fn cells_with_separators_are_quoted() {
        let mut row = sample_row();
        row.path = String::from("/a,b\"c");
        let record = first_record(|out| write_request_csv(out, &row));
        assert_eq!(record.len(), REQUEST_CSV_COLUMNS.len());
        assert_eq!(&record[9], "/a,b\"c");
    }

    #[test]
    fn text_cells_that_a_spreadsheet_would_run_are_neutralised() {
        let mut row = sample_row();
        row.id = String::from("=HYPERLINK(\"http://x.example\")");
        row.user = Some(String::from("+1+cmd|' /C calc'!A0"));
        row.path = String::from("-2+3");
        row.host = String::from("@SUM(A1)");
        row.app = String::from("\tshop");
        row.session_key = String::from("\rkey");
        row.roles = vec![String::from("=admin"), String::from("user")];
        let record = first_record(|out| write_request_csv(out, &row));
        assert_eq!(&record[0], "'=HYPERLINK(\"http://x.example\")");
        assert_eq!(&record[14], "'+1+cmd|' /C calc'!A0");
        assert_eq!(&record[9], "'-2+3");
        assert_eq!(&record[7], "'@SUM(A1)");
        assert_eq!(&record[6], "'\tshop");
        assert_eq!(&record[4], "'\rkey");
        assert_eq!(&record[15], "'=admin;user");
        // Benign look-alikes stay as they are: a sign inside a value, numbers we write.
        assert_eq!(&record[10], "/v1/search");
        assert_eq!(&record[11], "200");
        assert_eq!(&record[12], "41.5");

        let session = SessionSummary {
            session_id: SessionId([1; 16]),
            part: String::from("2026-11-22"),
            part_index: 1,
            part_count: 1,
            start: parse_rfc3339("2026-11-22T10:00:00Z").unwrap(),
            end: parse_rfc3339("2026-11-22T10:00:00Z").unwrap(),
            requests: 1,
            attacks: 0,
            status: String::new(),
            users: vec![String::from("-x"), String::from("a=b")],
            roles: vec![],
            session_keys: vec![],
            client_ips: vec![],
            hosts: vec![],
            apps: vec![],
            flows: vec![],
            endpoints: vec![Count {
                value: String::from("@/v1"),
                count: 1,
                share: 1.0,
            }],
            endpoints_total: 1,
        };
        let record = first_record(|out| write_session_csv(out, &session));
        assert_eq!(&record[8], "'-x;a=b");
        assert_eq!(&record[14], "'@/v1");
    }

    #[test]
    fn ndjson_lines_read_back_as_request_rows() {
        let mut out = Vec::new();
        write_request_ndjson(&mut out, &sample_row()).unwrap();
        assert!(out.ends_with(b"\n"));
        let read: RequestRow = serde_json::from_slice(&out).unwrap();
        assert_eq!(read, sample_row());
    }
}
