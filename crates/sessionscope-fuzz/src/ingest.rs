//! Targets for the input formats, all driven through the public reader (`open_reader`) the way
//! `sessionscope ingest` reads a file, so detection, line splitting, gzip and each parser run as
//! they do in production.

use std::io::{Read, Write};

use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use sessionscope_ingest::{
    open_reader, parse_exchange_line, ExchangeBuffers, Format, IngestError, Record, RecordReader,
};
use sessionscope_model::Exchange;

use crate::exchange::{check_exchange, check_rejection, MAX_REASON_BYTES};

/// A decompressed input larger than this is not compared line by line (the fuzzer's inputs are a
/// few kilobytes; a gzip bomb of them stays far below it).
const MAX_DECODED_BYTES: u64 = 64 << 20;

fn open(data: &[u8], format: Option<Format>) -> Result<RecordReader, IngestError> {
    open_reader(
        Box::new(std::io::Cursor::new(data.to_vec())),
        "fuzz",
        format,
    )
}

/// Lines of a decoded input as the reader counts them (a last line without a newline counts).
fn line_count(decoded: &[u8]) -> u64 {
    let newlines = decoded.iter().filter(|byte| **byte == b'\n').count() as u64;
    newlines + u64::from(!decoded.ends_with(b"\n"))
}

/// Reads every record, checking each exchange and each rejection. `max_line` bounds line numbers
/// (entries for HAR). Returns the records for comparisons.
fn read_all(label: &str, mut reader: RecordReader, max_line: u64) -> Vec<Record> {
    let mut records = Vec::new();
    for record in reader.by_ref() {
        match &record {
            Record::Exchange(exchange) => check_exchange(label, exchange),
            Record::Rejected(rejection) => {
                // A read failure is reported on the line it was reading: one past the last.
                check_rejection(label, rejection.line, &rejection.reason, max_line + 1)
            }
        }
        records.push(record);
        assert!(
            records.len() as u64 <= max_line + 1,
            "{label}: more records than lines"
        );
    }
    records
}

fn check_open_error(label: &str, error: &IngestError) {
    let message = error.to_string();
    assert!(!message.is_empty(), "{label}: an empty error");
    assert!(
        message.len() <= MAX_REASON_BYTES,
        "{label}: an error of {} bytes",
        message.len()
    );
}

/// One line format read from `data`: records checked, line numbers within the input, and the
/// same records (ids included) on a second read, which is what makes re-ingest idempotent.
fn line_format(label: &str, data: &[u8], format: Format) -> Vec<Record> {
    let max_line = line_count(data);
    let first = match open(data, Some(format)) {
        Ok(reader) => {
            assert_eq!(
                reader.format(),
                format,
                "{label}: format given, format used"
            );
            read_all(label, reader, max_line)
        }
        Err(error) => {
            check_open_error(label, &error);
            return Vec::new();
        }
    };
    let second = read_all(
        label,
        open(data, Some(format)).expect("the second open of the same bytes succeeds"),
        max_line,
    );
    assert_eq!(first, second, "{label}: two reads of one input differ");
    first
}

/// Exchange NDJSON, read three ways that must agree: the reader's records, line batches parsed
/// with recycled buffers (the ingest pipeline's path), and each line alone. A line the strict
/// cursor reads is also read through serde_json (an unknown field sends it there), and both must
/// give the same exchange. Every accepted exchange survives a write and read back.
pub fn ndjson(data: &[u8]) {
    let records = line_format("ndjson", data, Format::Ndjson);

    // A gzip magic with a broken header is refused at open; `line_format` checked the error.
    let Ok(mut reader) = open(data, Some(Format::Ndjson)) else {
        return;
    };
    let mut buffers = ExchangeBuffers::default();
    let mut batched = Vec::new();
    let mut rejections = Vec::new();
    while let Some(batch) = reader.next_line_batch(3, &mut rejections) {
        for (number, line) in batch.iter() {
            let parsed = buffers.parse(line, number);
            let alone = parse_exchange_line(line, number);
            assert_eq!(parsed, alone, "ndjson: recycled buffers change the result");
            match parsed {
                Ok(exchange) => {
                    batched.push(Record::Exchange(exchange.clone()));
                    buffers.recycle(exchange);
                }
                Err(rejection) => batched.push(Record::Rejected(rejection)),
            }
        }
    }
    assert!(
        rejections.is_empty(),
        "ndjson: batch rejections {rejections:?}"
    );
    assert_eq!(
        records, batched,
        "ndjson: the reader and line batches differ"
    );

    for line in data.split(|byte| *byte == b'\n') {
        compare_paths(line);
    }
}

/// The cursor's result for a line against serde_json's for the same line with an unknown field.
fn compare_paths(line: &[u8]) {
    let trimmed = line.strip_suffix(b"\r").unwrap_or(line);
    let Some(rest) = trimmed.strip_prefix(b"{") else {
        return;
    };
    let mut widened = b"{\"fuzz_unknown_field\":[0],".to_vec();
    widened.extend_from_slice(rest);
    let direct = parse_exchange_line(line, 1);
    let general = parse_exchange_line(&widened, 1);
    match (direct, general) {
        (Ok(direct), Ok(general)) => {
            assert_eq!(
                without_id(direct),
                without_id(general),
                "ndjson: the strict reader and serde_json read a line differently"
            );
        }
        (Ok(direct), Err(rejection)) => panic!(
            "ndjson: an unknown field turns an accepted line into a rejection ({rejection}): {direct:?}"
        ),
        (Err(rejection), Ok(_)) if rest.trim_ascii_start().starts_with(b"}") => {
            // `{}` plus a field is a different object; nothing to compare.
            let _ = rejection;
        }
        (Err(rejection), Ok(general)) => panic!(
            "ndjson: a rejected line ({rejection}) is accepted with an unknown field: {general:?}"
        ),
        (Err(_), Err(_)) => {}
    }
}

/// The id is derived from the line's bytes when not given, so it differs between the two lines.
fn without_id(mut exchange: Exchange) -> Exchange {
    exchange.id.clear();
    exchange
}

/// HAR: one document; rejections carry the 1-based entry index.
pub fn har(data: &[u8]) {
    // Entries are objects of at least two bytes each.
    let max_entry = data.len() as u64 / 2 + 1;
    let first = match open(data, Some(Format::Har)) {
        Ok(reader) => read_all("har", reader, max_entry),
        Err(error) => {
            check_open_error("har", &error);
            assert!(
                matches!(
                    error,
                    IngestError::InvalidHar { .. } | IngestError::Read { .. }
                ),
                "har: unexpected error {error}"
            );
            return;
        }
    };
    for record in &first {
        if let Record::Rejected(rejection) = record {
            let entry = format!("HAR entry {}", rejection.line);
            assert!(
                rejection.reason.contains(&entry),
                "har: rejection on entry {} says {}",
                rejection.line,
                rejection.reason
            );
        }
    }
    let second = read_all(
        "har",
        open(data, Some(Format::Har)).expect("har opens twice"),
        max_entry,
    );
    assert_eq!(first, second, "har: two reads of one input differ");
}

/// Apache / nginx combined and common logs.
pub fn combined(data: &[u8]) {
    line_format("combined", data, Format::Combined);
}

/// nginx JSON logs.
pub fn nginx_json(data: &[u8]) {
    line_format("nginx-json", data, Format::NginxJson);
}

/// Zeek `http.log`, TSV with its header lines or Zeek's JSON form.
pub fn zeek(data: &[u8]) {
    line_format("zeek", data, Format::Zeek);
}

/// The whole reader over arbitrary bytes: gzip framing, BOM, format detection, then the chosen
/// parser. The first byte picks how the rest is presented: as is, gzip-compressed, compressed and
/// cut short, or as two gzip members; so the decoder's framing and everything behind it are
/// reached without the fuzzer having to forge checksums.
pub fn reader(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        whole_reader(data, None);
        return;
    };
    match mode % 4 {
        0 => whole_reader(data, None),
        1 => whole_reader(&gzip(rest), Some(rest.to_vec())),
        2 => {
            let mut compressed = gzip(rest);
            // Cut inside the stream or its trailer, never to nothing.
            let cut = 1 + usize::from(mode / 4) % compressed.len().max(1);
            compressed.truncate(compressed.len().saturating_sub(cut).max(2));
            truncated_reader(&compressed);
        }
        _ => {
            let (first, second) = rest.split_at(rest.len() / 2);
            let mut members = gzip(first);
            members.extend_from_slice(&gzip(second));
            whole_reader(&members, Some(rest.to_vec()));
        }
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(bytes).expect("writing to memory");
    encoder.finish().expect("writing to memory")
}

/// The decompressed bytes of an input as the reader sees them, when they can be had.
fn decoded(input: &[u8]) -> Option<Vec<u8>> {
    if !input.starts_with(b"\x1f\x8b") {
        return Some(input.to_vec());
    }
    let mut out = Vec::new();
    MultiGzDecoder::new(input)
        .take(MAX_DECODED_BYTES)
        .read_to_end(&mut out)
        .ok()?;
    Some(out)
}

/// Detection and reading of an input that is whole. `plain` is what a compressed input holds.
fn whole_reader(input: &[u8], plain: Option<Vec<u8>>) {
    let text = plain.or_else(|| decoded(input));
    let max_line = text.as_deref().map_or(u64::MAX - 1, line_count);
    let reader = match open(input, None) {
        Ok(reader) => reader,
        Err(error) => {
            check_open_error("reader", &error);
            return;
        }
    };
    let format = reader.format();
    let label = format!("reader ({format})");
    let max_line = if format == Format::Har {
        text.as_deref()
            .map_or(u64::MAX - 1, |text| text.len() as u64 / 2 + 1)
    } else {
        max_line
    };
    let records = read_all(&label, reader, max_line);
    // Gzip is only framing (a plain input that itself starts like gzip is not plain).
    if let Some(text) = text.filter(|text| !text.starts_with(b"\x1f\x8b")) {
        let plain = open(&text, Some(format)).expect("the decompressed input opens");
        assert_eq!(
            read_all(&label, plain, max_line),
            records,
            "{label}: compressed and plain inputs read differently"
        );
    }
}

/// An input cut short inside its gzip stream: whatever was read before is kept, and the reader
/// says the input ended early (a rejection and `read_error`) instead of ending quietly.
fn truncated_reader(input: &[u8]) {
    let mut reader = match open(input, None) {
        Ok(reader) => reader,
        Err(error) => {
            check_open_error("reader (cut gzip)", &error);
            return;
        }
    };
    let mut rejected = 0;
    for record in reader.by_ref() {
        match record {
            Record::Exchange(exchange) => check_exchange("reader (cut gzip)", &exchange),
            Record::Rejected(rejection) => {
                rejected += 1;
                check_rejection(
                    "reader (cut gzip)",
                    rejection.line,
                    &rejection.reason,
                    u64::MAX,
                );
            }
        }
    }
    if reader.format() != Format::Har {
        assert!(
            reader.read_error().is_some() && rejected > 0,
            "reader: a gzip input cut short ended without a read error"
        );
    }
}
