//! Scanning one value: the pre-filter, decoding, every detector, and turning hits into findings
//! with a point and a payload excerpt.

use std::borrow::Cow;
use std::fmt::Write as _;

use crate::decode::{decode_clear_base64, deep_decode};
use crate::detectors;
use crate::features::{
    Features, AMPERSAND, ANGLE, BACKSLASH, BACKTICK, BRACE, BRACKET, CONTROL, DOLLAR, ENCODED,
    EQUALS, HASH, NON_ASCII, PERCENT, PIPE, PLUS, QUOTE, SPACE, STAR,
};
use crate::verdicts::{self, KnownHit};

/// Characters that a normal User-Agent, Referer or forwarding header does not need.
const HEADER_SIGNS: u32 = QUOTE
    | BACKTICK
    | ANGLE
    | BRACE
    | BRACKET
    | DOLLAR
    | PIPE
    | AMPERSAND
    | BACKSLASH
    | PERCENT
    | CONTROL
    | EQUALS
    | STAR
    | HASH
    | NON_ASCII;
use crate::finding::{AttackKind, Finding, MAX_PAYLOAD_CHARS};

/// Where in the request a value came from; detectors that only make sense in some places (a
/// redirect parameter, a header) look at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// The whole decoded path (for traversal; scanner probes are checked on the raw path).
    Path,
    PathSegment,
    QueryValue,
    /// A query or form parameter name: attacks hide in names too (`user[$ne]`).
    ParameterName,
    FormValue,
    JsonValue,
    JsonKey,
    /// The file name of a multipart file part.
    FileName,
    /// A whole XML body: checked for XXE only; its text is scanned value by value.
    XmlBody,
    XmlText,
    Header,
    Cookie,
    /// A body read whole (plain text, or JSON that does not parse).
    Body,
}

/// One step of a point below its prefix: a name or an array index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PathPart<'a> {
    Name(&'a str),
    Index(usize),
}

/// The point of a value, kept in pieces so that nothing is formatted unless an attack is found.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Place<'p> {
    /// e.g. `request.query`.
    pub prefix: &'static str,
    pub parts: &'p [PathPart<'p>],
}

impl Place<'_> {
    pub(crate) fn render(&self) -> String {
        let mut point = String::with_capacity(self.prefix.len() + 16);
        point.push_str(self.prefix);
        for part in self.parts {
            point.push('.');
            match part {
                PathPart::Name(name) => point.push_str(name),
                PathPart::Index(index) => {
                    let _ = write!(point, "{index}");
                }
            }
        }
        point
    }
}

/// What a detector sees of one value.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Subject<'a> {
    /// The decoded value.
    pub text: &'a str,
    pub features: Features,
    pub origin: Origin,
    /// The value's own name (parameter, header in lowercase, last JSON key); may be empty.
    pub name: &'a str,
    /// The request's host, lowercase without port, when known (for open redirects).
    pub request_host: Option<&'a str>,
}

/// A detector's verdict: which rule, and where in the text (byte range) for the excerpt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hit {
    pub kind: AttackKind,
    pub rule: &'static str,
    pub start: usize,
    pub end: usize,
}

impl Hit {
    pub(crate) fn new(kind: AttackKind, rule: &'static str, start: usize, end: usize) -> Hit {
        Hit {
            kind,
            rule,
            start,
            end,
        }
    }

    /// A hit over the bytes a rule matched (`found.range()` of a regex or automaton match).
    pub(crate) fn over(kind: AttackKind, rule: &'static str, range: std::ops::Range<usize>) -> Hit {
        Hit::new(kind, rule, range.start, range.end)
    }
}

/// The excerpt of `text` around `start..end`: at most `MAX_PAYLOAD_CHARS` characters, starting a
/// little before the match so the reader sees what led to it. Control characters are shown as
/// escapes so a stored payload cannot break a log line or a CSV row.
pub(crate) fn excerpt(text: &str, start: usize, end: usize) -> String {
    const LEAD_CHARS: usize = 20;
    // A detector that read a transformed copy may hand over offsets inside a character here.
    let floor = |mut at: usize| {
        at = at.min(text.len());
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        at
    };
    let start = floor(start);
    let end = floor(end.max(start));
    let mut from = start;
    let mut lead = 0;
    for (index, _) in text[..start].char_indices().rev() {
        if lead == LEAD_CHARS {
            break;
        }
        from = index;
        lead += 1;
    }
    // If the match itself is long, start at it rather than before it.
    let match_chars = text[start..end].chars().count();
    if match_chars + lead > MAX_PAYLOAD_CHARS {
        from = start;
    }
    // Escapes count with their own length, so the excerpt is never longer than the limit.
    let mut out = String::with_capacity(MAX_PAYLOAD_CHARS);
    let mut written = 0;
    let mut escape = String::new();
    for character in text[from..].chars() {
        escape.clear();
        match character {
            '\r' => escape.push_str("\\r"),
            '\n' => escape.push_str("\\n"),
            '\t' => escape.push_str("\\t"),
            '\0' => escape.push_str("\\0"),
            other if other.is_control() => {
                let _ = write!(escape, "\\u{{{:x}}}", other as u32);
            }
            other => escape.push(other),
        }
        // Every escape is ASCII and a plain character is one, so bytes or one count characters.
        let length = if escape.is_ascii() { escape.len() } else { 1 };
        if written + length > MAX_PAYLOAD_CHARS {
            break;
        }
        out.push_str(&escape);
        written += length;
    }
    out
}

/// Collects the findings of one request.
pub(crate) struct RequestScan<'a> {
    pub request_host: Option<&'a str>,
    pub is_secret_name: fn(SecretPlace<'_>) -> bool,
    pub findings: Vec<Finding>,
    /// The hits of the value being scanned, kept for the verdict memory (`verdicts`) while a
    /// value it will remember is scanned.
    recording: Option<Vec<KnownHit>>,
}

/// A named place whose value may be a secret; see `Detector::with_secret_names`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretPlace<'a> {
    /// A request header, by lowercase name.
    Header(&'a str),
    /// A query, form, multipart or JSON parameter, by its own (last) name.
    Parameter(&'a str),
}

impl<'a> RequestScan<'a> {
    pub(crate) fn new(
        request_host: Option<&'a str>,
        is_secret_name: fn(SecretPlace<'_>) -> bool,
    ) -> RequestScan<'a> {
        RequestScan {
            request_host,
            is_secret_name,
            findings: Vec::new(),
            recording: None,
        }
    }

    fn already_found(&self, kind: AttackKind, point: &str) -> bool {
        self.findings
            .iter()
            .any(|finding| finding.kind == kind && finding.point == point)
    }

    fn is_secret(&self, origin: Origin, name: &str) -> bool {
        match origin {
            // Every cookie is a credential (analyze stores them hashed).
            Origin::Cookie => true,
            Origin::Header => (self.is_secret_name)(SecretPlace::Header(name)),
            Origin::Path | Origin::PathSegment | Origin::XmlBody => false,
            _ => !name.is_empty() && (self.is_secret_name)(SecretPlace::Parameter(name)),
        }
    }

    pub(crate) fn record_hit(
        &mut self,
        place: &Place<'_>,
        origin: Origin,
        name: &str,
        text: &str,
        hit: Hit,
    ) {
        let Some(recording) = &mut self.recording else {
            self.add_hit(place, origin, name, hit.kind, hit.rule, || {
                excerpt(text, hit.start, hit.end)
            });
            return;
        };
        let cut = excerpt(text, hit.start, hit.end);
        recording.push(KnownHit {
            kind: hit.kind,
            rule: hit.rule,
            excerpt: cut.as_str().into(),
        });
        self.add_hit(place, origin, name, hit.kind, hit.rule, || cut);
    }

    /// A finding of `kind` at `place`, unless the request has one there already; `excerpt` is
    /// asked for only when the payload is shown (not for a secret).
    fn add_hit(
        &mut self,
        place: &Place<'_>,
        origin: Origin,
        name: &str,
        kind: AttackKind,
        rule: &'static str,
        excerpt: impl FnOnce() -> String,
    ) {
        let point = place.render();
        if self.already_found(kind, &point) {
            return;
        }
        let payload = if self.is_secret(origin, name) {
            crate::MASK.to_string()
        } else {
            excerpt()
        };
        self.findings.push(Finding {
            kind,
            point,
            payload,
            rule,
        });
    }

    /// Adds a finding made elsewhere (a remembered one), unless its type is already found there.
    pub(crate) fn add_finding(&mut self, finding: Finding) {
        if !self.already_found(finding.kind, &finding.point) {
            self.findings.push(finding);
        }
    }

    /// Scans one value found at `place`. `name` is the value's own name (see `Subject::name`).
    pub(crate) fn scan(&mut self, place: &Place<'_>, origin: Origin, name: &str, raw: &str) {
        if raw.is_empty() {
            return;
        }
        let raw_features = Features::of(raw);
        if raw_features.is_plain() {
            // Letters, digits and harmless marks: what is left to look at is a few words that
            // are attacks on their own (SQL keywords, class and function names, commands with
            // options, prototype keys) and base64.
            if let Some(hit) = detectors::plain_value(raw, raw_features, origin) {
                self.record_hit(place, origin, name, raw, hit);
                return;
            }
            let may_hide_sql = raw_features.has(SPACE | PLUS) && detectors::sqli::has_keyword(raw);
            if !may_hide_sql {
                self.scan_base64(place, origin, name, raw);
                return;
            }
        }
        if raw.len() > verdicts::MAX_REMEMBERED_BYTES || !verdicts::remembers(origin) {
            self.scan_decoded(place, origin, name, raw, raw_features);
            return;
        }
        let key = verdicts::ValueKey {
            origin,
            name,
            request_host: self.request_host,
            raw,
        };
        let known = verdicts::recall(&key, |hit| {
            self.add_hit(place, origin, name, hit.kind, hit.rule, || {
                hit.excerpt.to_string()
            });
        });
        if known {
            return;
        }
        self.recording = Some(Vec::new());
        self.scan_decoded(place, origin, name, raw, raw_features);
        if let Some(hits) = self.recording.take() {
            verdicts::remember(&key, hits);
        }
    }

    /// `scan` past the pre-filter: decodes the value and runs the detectors on it.
    fn scan_decoded(
        &mut self,
        place: &Place<'_>,
        origin: Origin,
        name: &str,
        raw: &str,
        raw_features: Features,
    ) {
        let text: Cow<'_, str> = if raw_features.has(ENCODED) {
            deep_decode(raw)
        } else {
            Cow::Borrowed(raw)
        };
        let features = match &text {
            Cow::Borrowed(_) => raw_features,
            Cow::Owned(decoded) => Features::of(decoded),
        };
        let subject = Subject {
            text: &text,
            features,
            origin,
            name,
            request_host: self.request_host,
        };
        if origin == Origin::Header && !features.has(HEADER_SIGNS) && !text.contains("..") {
            // A User-Agent's parentheses, semicolons and slashes are its grammar, not an attack;
            // without any other sign only a command after a `;` and a dangerous class or
            // function name are left to look for.
            let hit = detectors::shell::detect(&subject)
                .or_else(|| detectors::java::detect(&subject))
                .or_else(|| detectors::php::detect(&subject));
            if let Some(hit) = hit {
                self.record_hit(place, origin, name, &text, hit);
            }
            return;
        }
        let mut hits = [None; detectors::DETECTOR_COUNT];
        let found = detectors::run_all(&subject, &mut hits);
        for hit in hits.iter().take(found).flatten() {
            self.record_hit(place, origin, name, &text, *hit);
        }
        self.scan_base64(place, origin, name, &text);
    }

    /// Scans the file name of an uploaded part: for a script the server would run, then as
    /// any value.
    pub(crate) fn scan_file_name(&mut self, place: &Place<'_>, file_name: &str) {
        if let Some(hit) = detectors::upload::detect_file_name(file_name) {
            self.record_hit(place, Origin::FileName, "filename", file_name, hit);
        }
        self.scan(place, Origin::FileName, "filename", file_name);
    }

    fn scan_base64(&mut self, place: &Place<'_>, origin: Origin, name: &str, text: &str) {
        if text.len() < 12 || matches!(origin, Origin::Path | Origin::XmlBody) {
            return;
        }
        let Some(decoded) = decode_clear_base64(text) else {
            return;
        };
        let decoded_text: Cow<'_, str> = deep_decode(&decoded);
        let subject = Subject {
            text: &decoded_text,
            features: Features::of(&decoded_text),
            origin,
            name,
            request_host: self.request_host,
        };
        if subject.features.is_plain() {
            return;
        }
        let mut hits = [None; detectors::DETECTOR_COUNT];
        let found = detectors::run_all(&subject, &mut hits);
        for hit in hits.iter().take(found).flatten() {
            // A redirect target hidden in base64 is not followed by a browser.
            if hit.kind != AttackKind::Redir {
                self.record_hit(place, origin, name, &decoded_text, *hit);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_render_names_and_indexes() {
        let parts = [
            PathPart::Name("user"),
            PathPart::Name("ids"),
            PathPart::Index(0),
        ];
        let place = Place {
            prefix: "request.json",
            parts: &parts,
        };
        assert_eq!(place.render(), "request.json.user.ids.0");
    }

    #[test]
    fn excerpts_are_short_lead_into_the_match_and_escape_controls() {
        let long = format!("{}' or 1=1--{}", "a".repeat(200), "b".repeat(200));
        let start = 200;
        let cut = excerpt(&long, start, start + 10);
        assert_eq!(cut.chars().count(), MAX_PAYLOAD_CHARS);
        assert!(cut.starts_with(&"a".repeat(20)));
        assert!(cut.contains("' or 1=1--"));
        assert_eq!(excerpt("a\r\nSet-Cookie: x", 1, 3), "a\\r\\nSet-Cookie: x");
        assert_eq!(excerpt("été", 0, 2), "été");
        // Offsets inside a character are moved to its start.
        assert_eq!(excerpt("aé", 2, 3), "aé");
        assert_eq!(excerpt("é", 1, 9), "é");
        // Escapes count with their length: controls never stretch an excerpt past the limit.
        for control in ["\n", "\u{1}", "\u{9f}"] {
            let text = format!("x{}", control.repeat(300));
            let cut = excerpt(&text, 0, text.len());
            assert!(cut.chars().count() <= MAX_PAYLOAD_CHARS, "{cut}");
            assert!(cut.chars().count() > MAX_PAYLOAD_CHARS - 8, "{cut}");
        }
    }
}
