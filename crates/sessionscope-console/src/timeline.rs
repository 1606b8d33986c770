//! The session timeline (PRODUCT.md E11): the session's requests on a time axis, drawn on the
//! server as inline SVG. One mark per request, coloured by status class, attacks drawn taller in
//! the attack colour, business flows as bands below. A session with more requests than fit as
//! separate marks is drawn as buckets (stacked columns per status class), so the SVG stays small
//! whatever the session's size.
//!
//! The SVG carries its time range (`data-start`, `data-end`, RFC 3339) and plot geometry
//! (`data-plot-left`, `data-plot-width`, in viewBox units) so console.js can turn a dragged
//! range into an in-session time filter.

use maud::{html, Markup};
use sessionscope_model::{format_rfc3339, Flow, Micros, RequestRow, MICROS_PER_SECOND};

use crate::format::{self, status_class};

/// Up to this many requests are drawn one mark each; more are bucketed.
pub const MAX_SEPARATE_MARKS: usize = 300;
/// Columns of a bucketed timeline.
pub const BUCKETS: usize = 200;

const VIEW_WIDTH: f64 = 1000.0;
const PLOT_LEFT: f64 = 130.0;
const PLOT_WIDTH: f64 = VIEW_WIDTH - PLOT_LEFT - 10.0;
const MARKS_TOP: f64 = 6.0;
const MARKS_HEIGHT: f64 = 46.0;
const LANE_HEIGHT: f64 = 9.0;
const LANE_GAP: f64 = 4.0;
const AXIS_HEIGHT: f64 = 18.0;
/// Requests of one flow closer than this (viewBox units) join one band segment.
const BAND_JOIN_GAP: f64 = 8.0;

/// What the timeline needs of one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    pub ts: Micros,
    pub status: Option<u16>,
    pub attack: bool,
    pub flows: Vec<String>,
    /// Shown on hover: "10:00:01 GET /v1/users/{int} 200".
    pub label: String,
}

impl Mark {
    pub fn from_row(row: &RequestRow) -> Mark {
        let clock = format_rfc3339(row.ts);
        let clock = clock.get(11..23).unwrap_or(&clock).to_string();
        let status = row
            .status
            .map(|status| status.to_string())
            .unwrap_or_else(|| String::from("no response"));
        let mut label = format!("{clock} {} {} {status}", row.method, row.endpoint);
        for attack in &row.attacks {
            label.push_str(&format!(" · {}", attack.kind));
        }
        Mark {
            ts: row.ts,
            status: row.status,
            attack: !row.attacks.is_empty(),
            flows: row.flows.clone(),
            label,
        }
    }
}

/// One column of a bucketed timeline.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bucket {
    /// Requests per status class: index 0 no response, 1..=5 the hundreds digit.
    pub by_class: [u32; 6],
    pub attacks: u32,
}

impl Bucket {
    pub fn total(&self) -> u32 {
        self.by_class.iter().sum()
    }
}

/// The time range drawn: from the first to the last mark, widened to at least a second so a
/// single request still sits on an axis.
pub fn time_range(marks: &[Mark]) -> Option<(Micros, Micros)> {
    let first = marks.iter().map(|mark| mark.ts).min()?;
    let last = marks.iter().map(|mark| mark.ts).max()?;
    if last - first < MICROS_PER_SECOND {
        let middle = first + (last - first) / 2;
        return Some((
            middle - MICROS_PER_SECOND / 2,
            middle + MICROS_PER_SECOND / 2,
        ));
    }
    Some((first, last))
}

/// Position 0..=1 of a time in the range.
fn fraction(ts: Micros, (start, end): (Micros, Micros)) -> f64 {
    if end <= start {
        return 0.5;
    }
    ((ts - start) as f64 / (end - start) as f64).clamp(0.0, 1.0)
}

fn class_index(status: Option<u16>) -> usize {
    match status {
        Some(code) if (100..600).contains(&code) => (code / 100) as usize,
        _ => 0,
    }
}

/// Counts the marks per column; the last instant of the range falls in the last column.
pub fn bucket_marks(marks: &[Mark], range: (Micros, Micros), buckets: usize) -> Vec<Bucket> {
    let mut columns = vec![Bucket::default(); buckets.max(1)];
    let last_column = columns.len() - 1;
    for mark in marks {
        let column = ((fraction(mark.ts, range) * columns.len() as f64) as usize).min(last_column);
        columns[column].by_class[class_index(mark.status)] += 1;
        if mark.attack {
            columns[column].attacks += 1;
        }
    }
    columns
}

/// Segments (start, end) of the plot, in viewBox units relative to the plot's left edge, where
/// requests of one flow sit; neighbours closer than `join_gap` make one segment.
pub fn flow_segments(positions: &[f64], join_gap: f64) -> Vec<(f64, f64)> {
    let mut sorted: Vec<f64> = positions
        .iter()
        .copied()
        .filter(|x| x.is_finite())
        .collect();
    sorted.sort_by(f64::total_cmp);
    let mut segments: Vec<(f64, f64)> = Vec::new();
    for x in sorted {
        match segments.last_mut() {
            Some((_, end)) if x - *end <= join_gap => *end = x,
            _ => segments.push((x, x)),
        }
    }
    segments
}

/// The timeline of a session's requests. `total` is how many requests the session has under the
/// current filters; when it is more than `marks.len()` the caption says the drawing is partial.
pub fn render(marks: &[Mark], total: u64) -> Markup {
    let Some(range) = time_range(marks) else {
        return html! {
            p.muted.timeline-empty { "No requests to draw." }
        };
    };
    let flows: Vec<Flow> = Flow::ALL
        .into_iter()
        .filter(|flow| {
            marks
                .iter()
                .any(|mark| mark.flows.iter().any(|id| id == flow.id()))
        })
        .collect();
    let lanes_top = MARKS_TOP + MARKS_HEIGHT + 6.0;
    let axis_top = lanes_top + flows.len() as f64 * (LANE_HEIGHT + LANE_GAP);
    let height = axis_top + AXIS_HEIGHT;
    let x_of = |ts: Micros| PLOT_LEFT + fraction(ts, range) * PLOT_WIDTH;
    let bucketed = marks.len() > MAX_SEPARATE_MARKS;
    let view_box = format!("0 0 {VIEW_WIDTH} {height:.0}");
    let baseline = MARKS_TOP + MARKS_HEIGHT;

    let mark_layer = if bucketed {
        let columns = bucket_marks(marks, range, BUCKETS);
        let tallest = columns.iter().map(Bucket::total).max().unwrap_or(1).max(1) as f64;
        let column_width = PLOT_WIDTH / columns.len() as f64;
        html! {
            @for (index, column) in columns.iter().enumerate() {
                @if column.total() > 0 {
                    @let x = PLOT_LEFT + index as f64 * column_width;
                    g {
                        title { (bucket_title(column, range, index, columns.len())) }
                        @for (class, top, bar) in stacked(column, tallest, baseline) {
                            rect class={ "tl-mark s" (class) } x=(svg_number(x)) y=(svg_number(top))
                                width=(svg_number((column_width - 0.6).max(0.8))) height=(svg_number(bar)) {}
                        }
                        @if column.attacks > 0 {
                            rect.tl-attack x=(svg_number(x)) y=(svg_number(MARKS_TOP - 4.0))
                                width=(svg_number((column_width - 0.6).max(0.8))) height="3" {}
                        }
                    }
                }
            }
        }
    } else {
        html! {
            @for mark in marks {
                @let x = x_of(mark.ts);
                @if mark.attack {
                    rect.tl-mark.tl-attack x=(svg_number(x - 1.0)) y=(svg_number(MARKS_TOP - 4.0))
                        width="2" height=(svg_number(MARKS_HEIGHT + 4.0)) {
                        title { (mark.label) }
                    }
                } @else {
                    rect class={ "tl-mark " (status_class(mark.status)) } x=(svg_number(x - 0.75))
                        y=(svg_number(MARKS_TOP + MARKS_HEIGHT * 0.35)) width="1.5"
                        height=(svg_number(MARKS_HEIGHT * 0.65)) {
                        title { (mark.label) }
                    }
                }
            }
        }
    };

    let ticks = axis_ticks(range, 5);
    html! {
        figure.timeline {
            svg #timeline xmlns="http://www.w3.org/2000/svg" viewBox=(view_box)
                preserveAspectRatio="none" role="img"
                aria-label={ "Timeline of " (marks.len()) " requests" }
                data-start=(format_rfc3339(range.0)) data-end=(format_rfc3339(range.1))
                data-plot-left=(PLOT_LEFT) data-plot-width=(PLOT_WIDTH) data-view-width=(VIEW_WIDTH)
                data-bucketed=(if bucketed { "true" } else { "false" }) {
                rect.tl-plot x=(PLOT_LEFT) y=(MARKS_TOP) width=(PLOT_WIDTH) height=(MARKS_HEIGHT) {}
                text.tl-label x="0" y=(svg_number(MARKS_TOP + MARKS_HEIGHT / 2.0 + 4.0)) {
                    @if bucketed { "Requests (bucketed)" } @else { "Requests" }
                }
                (mark_layer)
                @for (lane, flow) in flows.iter().enumerate() {
                    @let top = lanes_top + lane as f64 * (LANE_HEIGHT + LANE_GAP);
                    @let positions: Vec<f64> = marks.iter()
                        .filter(|mark| mark.flows.iter().any(|id| id == flow.id()))
                        .map(|mark| x_of(mark.ts) - PLOT_LEFT).collect();
                    g.tl-band data-flow=(flow.id()) {
                        text.tl-label x="0" y=(svg_number(top + LANE_HEIGHT - 1.0)) { (flow.label()) }
                        @for (start, end) in flow_segments(&positions, BAND_JOIN_GAP) {
                            rect x=(svg_number(PLOT_LEFT + start - 1.5)) y=(svg_number(top))
                                width=(svg_number(end - start + 3.0)) height=(LANE_HEIGHT) rx="2" {
                                title { (flow.label()) " · " (positions.len()) " requests" }
                            }
                        }
                    }
                }
                line.tl-axis x1=(PLOT_LEFT) x2=(PLOT_LEFT + PLOT_WIDTH)
                    y1=(svg_number(axis_top)) y2=(svg_number(axis_top)) {}
                @for (ts, anchor) in ticks {
                    text.tl-tick x=(svg_number(x_of(ts))) y=(svg_number(axis_top + 13.0))
                        text-anchor=(anchor) { (tick_text(ts, range)) }
                }
                rect.tl-selection x="0" y="0" width="0" height=(svg_number(height)) {}
            }
            figcaption.hint {
                (format::grouped(marks.len() as u64)) " requests from "
                (format::time_element(range.0, "datetime")) " to " (format::time_element(range.1, "datetime"))
                @if total > marks.len() as u64 {
                    " · the first " (format::grouped(marks.len() as u64)) " of " (format::grouped(total)) " are drawn"
                }
                " · drag across the timeline to show only that range"
            }
        }
    }
}

/// The stacked bars of one column: (status class, top, height), from the baseline upwards.
fn stacked(column: &Bucket, tallest: f64, baseline: f64) -> Vec<(usize, f64, f64)> {
    let mut bars = Vec::new();
    let mut top = baseline;
    for (class, count) in column.by_class.iter().enumerate() {
        if *count == 0 {
            continue;
        }
        let bar = (*count as f64 / tallest * MARKS_HEIGHT).max(1.0);
        top -= bar;
        bars.push((class, top, bar));
    }
    bars
}

/// Numbers in SVG attributes: two decimals are plenty at this size.
fn svg_number(value: f64) -> String {
    let text = format!("{value:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text.is_empty() || text == "-" {
        return String::from("0");
    }
    text.to_string()
}

fn bucket_title(column: &Bucket, range: (Micros, Micros), index: usize, columns: usize) -> String {
    let span = (range.1 - range.0) as f64 / columns as f64;
    let start = range.0 + (span * index as f64) as Micros;
    let clock = format_rfc3339(start);
    let clock = clock.get(11..19).unwrap_or(&clock).to_string();
    let mut text = format!("from {clock} UTC: {} requests", column.total());
    for (class, count) in column.by_class.iter().enumerate() {
        if *count > 0 && class > 0 {
            text.push_str(&format!(", {class}xx {count}"));
        }
    }
    if column.by_class[0] > 0 {
        text.push_str(&format!(", no response {}", column.by_class[0]));
    }
    if column.attacks > 0 {
        text.push_str(&format!(", {} attacks", column.attacks));
    }
    text
}

/// `count` evenly spaced tick times with their text anchor (the ends anchor inward).
fn axis_ticks(range: (Micros, Micros), count: usize) -> Vec<(Micros, &'static str)> {
    let count = count.max(2);
    (0..count)
        .map(|index| {
            let ts = range.0
                + ((range.1 - range.0) as f64 * index as f64 / (count - 1) as f64) as Micros;
            let anchor = match index {
                0 => "start",
                last if last == count - 1 => "end",
                _ => "middle",
            };
            (ts, anchor)
        })
        .collect()
}

/// UTC time of day; with seconds' fractions when the whole range is under a minute.
fn tick_text(ts: Micros, range: (Micros, Micros)) -> String {
    let iso = format_rfc3339(ts);
    let clock = if range.1 - range.0 < 60 * MICROS_PER_SECOND {
        iso.get(11..23)
    } else {
        iso.get(11..19)
    };
    format!("{} UTC", clock.unwrap_or(&iso))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(seconds: i64, status: Option<u16>, attack: bool, flows: &[&str]) -> Mark {
        Mark {
            ts: 1_800_000_000 * MICROS_PER_SECOND + seconds * MICROS_PER_SECOND,
            status,
            attack,
            flows: flows.iter().map(|flow| flow.to_string()).collect(),
            label: String::new(),
        }
    }

    #[test]
    fn buckets_count_every_mark_once_by_status_class() {
        let marks: Vec<Mark> = (0..=100)
            .map(|second| {
                let status = match second % 4 {
                    0 => Some(200),
                    1 => Some(404),
                    2 => Some(503),
                    _ => None,
                };
                mark(second, status, second % 10 == 0, &[])
            })
            .collect();
        let range = time_range(&marks).unwrap();
        let columns = bucket_marks(&marks, range, 10);
        assert_eq!(columns.len(), 10);
        let total: u32 = columns.iter().map(Bucket::total).sum();
        assert_eq!(total, 101);
        assert_eq!(columns.iter().map(|column| column.attacks).sum::<u32>(), 11);
        // The first second's request is a 200 in the first column, the last instant in the last.
        assert_eq!(columns[0].by_class[2], 3);
        assert!(columns[9].total() >= 1);
        assert_eq!(
            columns.iter().map(|column| column.by_class[0]).sum::<u32>(),
            25
        );
    }

    #[test]
    fn a_single_request_gets_a_one_second_range() {
        let marks = vec![mark(5, Some(200), false, &[])];
        let (start, end) = time_range(&marks).unwrap();
        assert_eq!(end - start, MICROS_PER_SECOND);
        assert!(time_range(&[]).is_none());
    }

    #[test]
    fn flow_segments_join_close_requests_only() {
        assert_eq!(
            flow_segments(&[50.0, 0.0, 4.0, 8.0, 30.0], 8.0),
            vec![(0.0, 8.0), (30.0, 30.0), (50.0, 50.0)]
        );
        assert!(flow_segments(&[], 8.0).is_empty());
    }

    #[test]
    fn small_sessions_draw_one_mark_per_request_and_large_ones_buckets() {
        let small: Vec<Mark> = (0..20)
            .map(|second| mark(second, Some(200), second == 3, &["billing"]))
            .collect();
        let svg = render(&small, 20).into_string();
        assert!(svg.contains(r#"id="timeline""#), "{svg}");
        assert_eq!(svg.matches("tl-mark").count(), 20);
        assert_eq!(svg.matches("tl-attack").count(), 1);
        assert!(svg.contains(r#"data-flow="billing""#));
        assert!(svg.contains(r#"data-bucketed="false""#));

        let large: Vec<Mark> = (0..5_000)
            .map(|second| mark(second, Some(200), false, &[]))
            .collect();
        let svg = render(&large, 9_000).into_string();
        assert!(svg.contains(r#"data-bucketed="true""#));
        assert!(svg.matches("tl-mark").count() <= BUCKETS);
        assert!(
            svg.contains("the first 5,000 of 9,000 are drawn"),
            "caption"
        );
    }
}
