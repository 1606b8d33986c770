//! Every input sessionscope accepts, turned into `sessionscope_model::Exchange` values with a
//! diagnostic for each record that could not be read: exchange NDJSON (the native format of
//! `exchange-format.md`), HAR 1.2, Apache/nginx combined and common logs, nginx JSON logs and Zeek
//! `http.log`, each optionally gzip-compressed. A bad record is a `Rejection` on its own; the records
//! around it still parse. Only a file that cannot be opened, read or recognised is an `IngestError`.
//!
//! Record ids are stable: reading the same file twice yields the same ids, so re-ingesting a file is
//! idempotent in the store.

mod combined;
mod cursor;
mod detect;
mod har;
mod ids;
mod json;
mod limits;
mod ndjson;
mod nginx;
mod reader;
mod text;
mod zeek;

use std::fmt;
use std::str::FromStr;

use sessionscope_model::Exchange;

pub use detect::detect_format;
pub use limits::{MAX_BODY_BYTES, MAX_HEADER_BYTES, MAX_RECORD_BYTES, MAX_URL_BYTES};
pub use ndjson::{parse_exchange_line, ExchangeBuffers};
pub use reader::{open_file, open_reader, LineBatch, RecordReader};

/// The input formats sessionscope reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Exchange NDJSON, `exchange-format.md`.
    Ndjson,
    /// HAR 1.2 (`log.entries[]`), as exported by browsers, mitmproxy, Charles, Insomnia, Postman.
    Har,
    /// Apache / nginx combined or common access log.
    Combined,
    /// nginx access log written with a JSON `log_format` (see NGINX.md).
    NginxJson,
    /// Zeek `http.log`, TSV with `#fields` header (or Zeek's JSON log variant).
    Zeek,
}

impl Format {
    pub const ALL: [Format; 5] = [
        Format::Ndjson,
        Format::Har,
        Format::Combined,
        Format::NginxJson,
        Format::Zeek,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Ndjson => "ndjson",
            Format::Har => "har",
            Format::Combined => "combined",
            Format::NginxJson => "nginx-json",
            Format::Zeek => "zeek",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = IngestError;

    /// Accepts the canonical names and a few common aliases (`jsonl`, `common`, `clf`, `apache`).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let normalized = text.trim().to_ascii_lowercase();
        let format = match normalized.as_str() {
            "ndjson" | "jsonl" => Format::Ndjson,
            "har" => Format::Har,
            "combined" | "common" | "clf" | "apache" => Format::Combined,
            "nginx-json" | "nginx_json" => Format::NginxJson,
            "zeek" => Format::Zeek,
            _ => {
                return Err(IngestError::UnknownFormatName {
                    name: text.to_string(),
                })
            }
        };
        Ok(format)
    }
}

/// A record that could not be turned into an exchange, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// 1-based line number in the (decompressed) file. For HAR, the 1-based index of the entry in
    /// `log.entries`, which the reason also says (`HAR entry 3: ...`).
    pub line: u64,
    pub reason: String,
}

impl fmt::Display for Rejection {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "line {}: {}", self.line, self.reason)
    }
}

/// One record of an input: an exchange, or the diagnostic for a record that was not one.
// Exchanges are nearly every record; boxing them would cost an allocation each to save space on
// the rare rejection.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Exchange(Exchange),
    Rejected(Rejection),
}

/// Failures that concern a whole input rather than one record.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("failed to open `{path}`: {source}")]
    Open {
        path: String,
        source: std::io::Error,
    },

    #[error("failed to read `{name}`: {source}")]
    Read {
        name: String,
        source: std::io::Error,
    },

    #[error(
        "`{name}` is not a recognised format: expected exchange NDJSON, HAR, combined log, nginx JSON log or Zeek http.log; use --format"
    )]
    UnrecognisedFormat { name: String },

    #[error("`{name}` is not a valid HAR file: {reason}")]
    InvalidHar { name: String, reason: String },

    #[error("unknown format `{name}`; expected one of ndjson, har, combined, nginx-json, zeek")]
    UnknownFormatName { name: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names_round_trip_and_unknown_names_are_explained() {
        for format in Format::ALL {
            assert_eq!(format.as_str().parse::<Format>().unwrap(), format);
            assert_eq!(format.to_string(), format.as_str());
        }
        assert_eq!("common".parse::<Format>().unwrap(), Format::Combined);
        let message = "csv".parse::<Format>().unwrap_err().to_string();
        assert!(
            message.contains("`csv`") && message.contains("nginx-json"),
            "{message}"
        );
    }
}
