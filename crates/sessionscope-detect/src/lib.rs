//! Attack detection for sessionscope (DESIGN.md stage 4, PRODUCT.md A1–A2): every user-controlled
//! value of a request — path segments, query and form parameters and their names, JSON keys and
//! values, multipart fields and file names, XML, cookies, and the headers attacks travel in — is
//! decoded as a server would and checked by grammar-based detectors (libinjection's SQL and HTML
//! tokenizers, a shell command grammar, URL and address parsing) and compact rule sets. The result
//! is a list of `Finding`s: type, point, payload excerpt and a stable rule id (`explain` gives its
//! meaning).
//!
//! Speed matters because detection runs on every ingested exchange: a one-pass byte-class
//! pre-filter (`features`) clears ordinary values in nanoseconds, decoding borrows when there is
//! nothing to decode, and points are formatted only for findings. Pure functions of the exchange:
//! no IO, no clock; the memory kept between calls is per thread — the findings of User-Agents and
//! the verdicts of values already scanned (`verdicts`) — and cannot change a result.

mod decode;
mod detectors;
mod extract;
mod features;
mod finding;
mod scan;
mod verdicts;

pub mod corpus;

pub use decode::{
    backslash_unescape, decode_clear_base64, deep_decode, html_entity_decode,
    percent_decode_nested, percent_decode_once, unicode_compatibility_fold,
};
pub use extract::MAX_BODY_BYTES;
pub use finding::{explain, AttackKind, Finding, MAX_PAYLOAD_CHARS, RULES};
pub use scan::SecretPlace;

use sessionscope_model::{Exchange, UrlParts};

use crate::scan::RequestScan;

/// What a secret's payload is replaced with.
pub const MASK: &str = "***";

/// Finds attacks in exchanges. Cheap to build and to share between threads.
#[derive(Debug, Clone, Copy)]
pub struct Detector {
    is_secret_name: fn(SecretPlace<'_>) -> bool,
}

impl Default for Detector {
    fn default() -> Detector {
        Detector::new()
    }
}

fn no_secret_names(_: SecretPlace<'_>) -> bool {
    false
}

impl Detector {
    /// A detector that masks the payloads of cookies only. The analysis pipeline uses
    /// `with_secret_names` with its own secret-name rules.
    pub fn new() -> Detector {
        Detector {
            is_secret_name: no_secret_names,
        }
    }

    /// A detector that still scans values at secret places but replaces their payload excerpt
    /// with `***` when `is_secret_name` says the place holds a secret (cookies always do).
    pub fn with_secret_names(is_secret_name: fn(SecretPlace<'_>) -> bool) -> Detector {
        Detector { is_secret_name }
    }

    /// Every attack found in the request of one exchange; at most one finding per (type, point).
    pub fn detect(&self, exchange: &Exchange) -> Vec<Finding> {
        let url = extract::split_url(&exchange.request.url);
        self.detect_with_parsed_body(exchange, &url, None)
    }

    /// `detect` for a caller that has split the request's URL (`url`, from
    /// `sessionscope_model::split_url`) and parsed the request body as JSON already
    /// (`parsed_body`, the same document `serde_json` reads from the body), so neither is done
    /// twice. `parsed_body` is `None` when the body is not JSON or was not parsed: the body is
    /// read here then.
    pub fn detect_with_parsed_body(
        &self,
        exchange: &Exchange,
        url: &UrlParts<'_>,
        parsed_body: Option<&serde_json::Value>,
    ) -> Vec<Finding> {
        let mut scan = RequestScan::new(extract::request_host(exchange, url), self.is_secret_name);
        extract::scan_exchange(exchange, url, parsed_body, &mut scan);
        scan.findings
    }
}

/// `Detector::new().detect(exchange)`.
pub fn detect(exchange: &Exchange) -> Vec<Finding> {
    Detector::new().detect(exchange)
}

#[cfg(test)]
mod tests;
