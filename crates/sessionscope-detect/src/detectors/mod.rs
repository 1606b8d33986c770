//! The detectors, one module per attack family. Each is a function of one decoded value
//! (`Subject`) that first checks the characters its attacks need (`Features`) and returns at
//! most one `Hit`: the first of its rules that matches.

pub(crate) mod crlf;
pub(crate) mod injection;
pub(crate) mod java;
pub(crate) mod markup;
pub(crate) mod node;
pub(crate) mod php;
pub(crate) mod ptrav;
pub(crate) mod redir;
pub(crate) mod scanner;
pub(crate) mod shell;
pub(crate) mod sqli;
pub(crate) mod ssrf;
pub(crate) mod upload;
pub(crate) mod windows;
pub(crate) mod xss;

use crate::features::Features;
use crate::scan::{Hit, Origin, Subject};

type DetectorFn = fn(&Subject<'_>) -> Option<Hit>;

/// Every value detector, cheapest gates first within reason; each reports at most one hit.
const DETECTORS: &[DetectorFn] = &[
    sqli::detect,
    injection::detect_nosqli,
    xss::detect,
    shell::detect,
    windows::detect,
    php::detect,
    java::detect,
    node::detect,
    ptrav::detect,
    ssrf::detect,
    markup::detect_xxe,
    injection::detect_ldapi,
    injection::detect_ssti,
    markup::detect_ssi,
    crlf::detect,
    redir::detect,
];

pub(crate) const DETECTOR_COUNT: usize = DETECTORS.len();

/// A case-insensitive automaton of words, reporting the first listed word that matches at the
/// leftmost place: the names a family looks for (classes, cmdlets), or the anchor words its rules
/// cannot match without, so one fast pass decides whether its regular expressions run at all.
pub(crate) fn anchors(words: &[&str]) -> aho_corasick::AhoCorasick {
    aho_corasick::AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(aho_corasick::MatchKind::LeftmostFirst)
        .build(words)
        .expect("static anchor words build")
}

/// The attacks a value of letters, digits and harmless marks can still be: a dangerous class
/// name, a prototype path, a cmdlet, a PHP function's name, a command with an option. Runs
/// before the pre-filter clears such a value.
pub(crate) fn plain_value(text: &str, features: Features, origin: Origin) -> Option<Hit> {
    if matches!(origin, Origin::Path | Origin::XmlBody) || text.len() < 6 {
        return None;
    }
    java::plain_value(text, features)
        .or_else(|| node::plain_value(text, features))
        .or_else(|| windows::plain_value(text, features))
        // A path segment named after a function is a page (`/phpinfo`), probed by scanners.
        .or_else(|| {
            (origin != Origin::PathSegment)
                .then(|| php::plain_value(text))
                .flatten()
        })
        .or_else(|| shell::plain_value(text))
}

/// Runs every detector on one value; fills `hits` and returns how many slots were used.
pub(crate) fn run_all(subject: &Subject<'_>, hits: &mut [Option<Hit>; DETECTOR_COUNT]) -> usize {
    // The whole path is only read for traversal (its segments are scanned one by one), and a
    // whole XML body only for markup attacks (its text nodes are scanned one by one).
    let only: Option<&[DetectorFn]> = match subject.origin {
        Origin::Path => Some(&[ptrav::detect]),
        Origin::XmlBody => Some(&[markup::detect_xxe, markup::detect_ssi]),
        _ => None,
    };
    let detectors = only.unwrap_or(DETECTORS);
    for (slot, detector) in hits.iter_mut().zip(detectors) {
        *slot = detector(subject);
    }
    detectors.len()
}

/// Shared by the detectors' unit tests: a subject for a query parameter value.
#[cfg(test)]
pub(crate) fn query_subject<'a>(name: &'a str, text: &'a str) -> Subject<'a> {
    Subject {
        text,
        features: crate::features::Features::of(text),
        origin: crate::scan::Origin::QueryValue,
        name,
        request_host: Some("shop.example"),
    }
}

/// Asserts that `detector` flags each attack (after the crate's decoding) and none of the benign values.
#[cfg(test)]
pub(crate) fn check(detector: DetectorFn, attacks: &[&str], benign: &[&str]) {
    for attack in attacks {
        let decoded = crate::decode::deep_decode(attack);
        let subject = query_subject("q", &decoded);
        assert!(detector(&subject).is_some(), "missed attack {attack:?}");
    }
    for value in benign {
        let decoded = crate::decode::deep_decode(value);
        let subject = query_subject("q", &decoded);
        let hit = detector(&subject);
        assert!(hit.is_none(), "false positive {value:?}: {hit:?}");
    }
}
