//! Human-readable output for the terminal: numbers, durations and plain tables.

use std::fmt::Write as _;
use std::time::Duration;

use sessionscope_model::{format_rfc3339, Count, Micros, SessionSummary};

pub use sessionscope_model::display::{human_span, thousands};

pub fn human_elapsed(elapsed: Duration) -> String {
    format!("{:.2} s", elapsed.as_secs_f64())
}

/// `2026-11-22 10:00:00` (UTC, seconds).
pub fn short_time(micros: Micros) -> String {
    let text = format_rfc3339(micros);
    text.get(..19)
        .map(|head| head.replace('T', " "))
        .unwrap_or(text)
}

/// The first value and `+N` for the rest.
pub fn first_and_more(values: &[Count]) -> String {
    match values.split_first() {
        None => "—".to_string(),
        Some((first, [])) => first.value.clone(),
        Some((first, rest)) => format!("{} +{}", first.value, rest.len()),
    }
}

pub fn joined_or_dash(values: &[String]) -> String {
    if values.is_empty() {
        "—".to_string()
    } else {
        values.join(",")
    }
}

/// Columns padded to their widest cell; the last column is not padded.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|cell| cell.chars().count()).collect();
    for row in rows {
        for (index, cell) in row.iter().enumerate() {
            if let Some(width) = widths.get_mut(index) {
                *width = (*width).max(cell.chars().count());
            }
        }
    }
    let mut text = String::new();
    let header_cells: Vec<String> = header.iter().map(|cell| cell.to_string()).collect();
    for row in std::iter::once(&header_cells).chain(rows.iter()) {
        let mut line = String::new();
        for (index, cell) in row.iter().enumerate() {
            if index + 1 == row.len() {
                line.push_str(cell);
            } else {
                let padding = widths[index].saturating_sub(cell.chars().count());
                let _ = write!(line, "{cell}{}  ", " ".repeat(padding));
            }
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

/// One session-list row as table cells.
pub fn session_row(session: &SessionSummary) -> Vec<String> {
    let part = if session.part_count > 1 {
        format!(" ({}/{})", session.part_index, session.part_count)
    } else {
        String::new()
    };
    let flows: Vec<String> = session
        .flows
        .iter()
        .map(|flow| format!("{} {}", flow.value, flow.count))
        .collect();
    let mut endpoints: Vec<String> = session
        .endpoints
        .iter()
        .take(2)
        .map(|endpoint| format!("{} {}", endpoint.value, endpoint.count))
        .collect();
    let more = session
        .endpoints_total
        .saturating_sub(endpoints.len() as u64);
    if more > 0 {
        endpoints.push(format!("+{more} more"));
    }
    vec![
        short_time(session.start),
        human_span(session.end - session.start),
        format!(
            "{} / {}",
            thousands(session.requests),
            thousands(session.attacks)
        ),
        session.users.first().cloned().unwrap_or_else(|| "—".into()),
        joined_or_dash(&session.roles),
        first_and_more(&session.client_ips),
        first_and_more(&session.hosts),
        if flows.is_empty() {
            "—".into()
        } else {
            flows.join(", ")
        },
        format!("{}{part}", session.session_id),
        endpoints.join(", "),
    ]
}

pub const SESSION_HEADER: [&str; 10] = [
    "START (UTC)",
    "DURATION",
    "REQ / ATT",
    "USER",
    "ROLES",
    "CLIENT IPS",
    "HOSTS",
    "FLOWS",
    "SESSION",
    "TOP ENDPOINTS",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_spans_read_naturally() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(human_span(45_000_000), "45 s");
        assert_eq!(human_span(180_000_000), "3 min");
        assert_eq!(human_span((2 * 3600 + 600) * 1_000_000), "2 h 10 min");
    }

    #[test]
    fn tables_pad_all_but_the_last_column() {
        let text = table(&["A", "BB"], &[vec!["long".into(), "x".into()]]);
        assert_eq!(text, "A     BB\nlong  x\n");
    }
}
