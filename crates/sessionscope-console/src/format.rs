//! How numbers, times and shares look on the console's pages: durations ("3 min", "2 h 10 min"),
//! shares ("15%"), times (UTC in a `<time>` element that console.js shows in local time) and
//! status classes. Pure functions, so every page writes them the same way.

use maud::{html, Markup};
use sessionscope_model::{format_rfc3339, Flow, Micros};

pub use sessionscope_model::display::human_span as human_duration;

/// A share 0..=1 as a whole percentage; tiny non-zero shares say "<1%" and nearly-all says
/// "99%" rather than rounding to a misleading 0% or 100%.
pub fn share_percent(share: f64) -> String {
    if !share.is_finite() || share <= 0.0 {
        return String::from("0%");
    }
    if share >= 1.0 {
        return String::from("100%");
    }
    if share < 0.01 {
        return String::from("<1%");
    }
    let percent = (share * 100.0).round() as i64;
    format!("{}%", percent.min(99))
}

pub use sessionscope_model::display::thousands as grouped;

/// Milliseconds with a precision that suits their size: "0.4", "12.5", "1,204".
pub fn milliseconds(duration_ms: f64) -> String {
    if !duration_ms.is_finite() || duration_ms < 0.0 {
        return String::from("—");
    }
    if duration_ms < 100.0 {
        return format!("{duration_ms:.1}");
    }
    grouped(duration_ms.round() as u64)
}

/// `2026-11-22 10:00:00 UTC`: the server's rendering before console.js localises it.
pub fn utc_text(micros: Micros) -> String {
    let iso = format_rfc3339(micros);
    // `2026-11-22T10:00:00.120Z` → `2026-11-22 10:00:00 UTC`
    match (iso.get(0..10), iso.get(11..19)) {
        (Some(day), Some(clock)) => format!("{day} {clock} UTC"),
        _ => iso,
    }
}

/// A time the browser localises: `<time datetime="…Z" data-format="…">UTC text</time>`.
/// `format` is `datetime` (date and time) or `clock` (time of day with milliseconds).
pub fn time_element(micros: Micros, format: &str) -> Markup {
    let iso = format_rfc3339(micros);
    let text = match format {
        "clock" => iso
            .get(11..23)
            .map(str::to_string)
            .unwrap_or_else(|| iso.clone()),
        _ => utc_text(micros),
    };
    html! {
        time datetime=(iso) data-format=(format) title=(iso) { (text) }
    }
}

/// The display label of a flow id; unknown ids are shown as they are.
pub fn flow_label(flow_id: &str) -> String {
    match Flow::from_id(flow_id) {
        Some(flow) => flow.label().to_string(),
        None => flow_id.to_string(),
    }
}

/// CSS class of a response status: `s2`, `s3`, `s4`, `s5`, or `s0` when there was no response.
pub fn status_class(status: Option<u16>) -> &'static str {
    match status {
        Some(200..=299) => "s2",
        Some(300..=399) => "s3",
        Some(400..=499) => "s4",
        Some(500..=599) => "s5",
        Some(100..=199) => "s1",
        _ => "s0",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_never_round_to_a_misleading_zero_or_hundred() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0%"),
            (0.004, "<1%"),
            (0.15, "15%"),
            (0.154, "15%"),
            (0.155, "16%"),
            (0.996, "99%"),
            (1.0, "100%"),
            (f64::NAN, "0%"),
        ];
        for (share, expected) in cases {
            assert_eq!(share_percent(*share), *expected, "{share}");
        }
    }

    #[test]
    fn counts_and_milliseconds_are_grouped() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1_000), "1,000");
        assert_eq!(grouped(12_345_678), "12,345,678");
        assert_eq!(milliseconds(12.46), "12.5");
        assert_eq!(milliseconds(1204.4), "1,204");
        assert_eq!(milliseconds(f64::NAN), "—");
    }

    #[test]
    fn times_render_in_utc_with_a_machine_readable_datetime() {
        let micros = sessionscope_model::parse_rfc3339("2026-11-22T10:00:00.120Z").unwrap();
        assert_eq!(utc_text(micros), "2026-11-22 10:00:00 UTC");
        let markup = time_element(micros, "clock").into_string();
        assert!(
            markup.contains(r#"datetime="2026-11-22T10:00:00.120Z""#),
            "{markup}"
        );
        assert!(markup.contains(">10:00:00.120<"), "{markup}");
    }

    #[test]
    fn statuses_fall_into_classes() {
        assert_eq!(status_class(Some(204)), "s2");
        assert_eq!(status_class(Some(404)), "s4");
        assert_eq!(status_class(Some(503)), "s5");
        assert_eq!(status_class(None), "s0");
        assert_eq!(flow_label("billing"), "Billing");
        assert_eq!(flow_label("custom"), "custom");
    }
}
