//! Opening an input: gzip recognised by its magic bytes and decompressed on the fly, a UTF-8 BOM
//! skipped, the format detected from the first bytes unless given, then records read one line at a
//! time (HAR: one entry at a time, on a thread of its own) with their line numbers. Memory stays
//! bounded by the record limit (`MAX_RECORD_BYTES`) whatever the input: a longer line is read
//! past, not buffered, and no format is ever read whole.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;

use flate2::read::MultiGzDecoder;

use crate::combined::convert_access_line;
use crate::detect::detect_format;
use crate::har::{stream_har, HarFailure};
use crate::ids::OccurrenceCounter;
use crate::limits::{apply_field_limits, MAX_RECORD_BYTES};
use crate::ndjson::parse_exchange_line;
use crate::nginx::convert_nginx_line;
use crate::zeek::ZeekParser;
use crate::{Format, IngestError, Record, Rejection};

/// A line batch is closed once it holds this many bytes, so a batch of long lines holds a few of
/// them, not `max_lines`; a batch grown past `MAX_KEPT_BATCH_BYTES` is not reused.
const MAX_BATCH_BYTES: usize = 4 << 20;
const MAX_KEPT_BATCH_BYTES: usize = 8 << 20;
/// The line buffer is given back after a line longer than this.
const MAX_KEPT_LINE_BYTES: usize = 1 << 20;
/// HAR records converted ahead of the reader.
const HAR_RECORDS_AHEAD: usize = 16;

/// How much of the decompressed start of an input detection looks at; extended up to
/// `DETECTION_MAX_BYTES` while no line has ended yet.
const DETECTION_BYTES: usize = 64 << 10;
const DETECTION_MAX_BYTES: usize = 1 << 20;

const READ_BUFFER_BYTES: usize = 256 << 10;
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";
const GZIP_MAGIC: &[u8] = b"\x1f\x8b";

/// Opens a file (gzip recognised by its magic bytes 1f 8b), detects or uses the given format, and
/// returns a reader of its records.
pub fn open_file(path: &Path, format: Option<Format>) -> Result<RecordReader, IngestError> {
    let file = File::open(path).map_err(|source| IngestError::Open {
        path: path.display().to_string(),
        source,
    })?;
    open_reader(Box::new(file), &path.display().to_string(), format)
}

/// As `open_file`, for any byte stream (standard input, an HTTP body); `name` is used in messages.
pub fn open_reader(
    reader: Box<dyn Read + Send>,
    name: &str,
    format: Option<Format>,
) -> Result<RecordReader, IngestError> {
    let read_error = |source: io::Error| IngestError::Read {
        name: name.to_string(),
        source,
    };
    let bytes_read = Arc::new(AtomicU64::new(0));
    let mut counted = CountingReader {
        inner: reader,
        count: Arc::clone(&bytes_read),
    };

    let magic =
        read_prefix(&mut counted, GZIP_MAGIC.len(), GZIP_MAGIC.len()).map_err(read_error)?;
    let is_gzip = magic.as_slice() == GZIP_MAGIC;
    let raw: Box<dyn Read + Send> = Box::new(Cursor::new(magic).chain(counted));
    let mut decoded: Box<dyn Read + Send> = if is_gzip {
        Box::new(MultiGzDecoder::new(raw))
    } else {
        raw
    };

    let mut start =
        read_prefix(&mut decoded, DETECTION_BYTES, DETECTION_MAX_BYTES).map_err(read_error)?;
    if start.starts_with(UTF8_BOM) {
        start.drain(..UTF8_BOM.len());
    }
    let format = match format.or_else(|| detect_format(&start)) {
        Some(format) => format,
        // An empty input has no records in any format; reading it as NDJSON yields none.
        None if start.iter().all(u8::is_ascii_whitespace) => Format::Ndjson,
        None => {
            return Err(IngestError::UnrecognisedFormat {
                name: name.to_string(),
            })
        }
    };
    let input: Box<dyn BufRead + Send> = Box::new(BufReader::with_capacity(
        READ_BUFFER_BYTES,
        Cursor::new(start).chain(decoded),
    ));

    let source = match format {
        Format::Har => Source::Har(HarSource::start(input, name)?),
        Format::Ndjson => Source::Lines(LineSource::new(input, LineParser::Ndjson)),
        Format::Combined => Source::Lines(LineSource::new(
            input,
            LineParser::Combined(OccurrenceCounter::new()),
        )),
        Format::NginxJson => Source::Lines(LineSource::new(
            input,
            LineParser::NginxJson(OccurrenceCounter::new()),
        )),
        Format::Zeek => Source::Lines(LineSource::new(
            input,
            LineParser::Zeek(Box::new(ZeekParser::new())),
        )),
    };
    Ok(RecordReader {
        format,
        is_gzip,
        name: name.to_string(),
        bytes_read,
        source,
        read_error: None,
    })
}

/// What the HAR thread sends: a record, or the failure that ended the document early.
/// Records go by value: boxing each would cost an allocation per entry for nothing.
#[allow(clippy::large_enum_variant)]
enum HarMessage {
    Record(Record),
    Failed { entries: u64, failure: HarFailure },
}

/// A HAR document read on a thread of its own (serde_json reads a document in one call; the
/// thread turns that into records the iterator can pull), a few records ahead.
struct HarSource {
    receiver: Receiver<HarMessage>,
    first: Option<Record>,
    finished: bool,
    /// The reading thread, joined once it has said its last word, so nothing of it outlives the
    /// reader. (Not joined on drop: it may be blocked reading standard input.)
    thread: Option<std::thread::JoinHandle<()>>,
}

impl HarSource {
    /// Marks the document finished and waits for its thread, which has sent its last message and
    /// is ending.
    fn finish(&mut self) {
        self.finished = true;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }

    /// Starts the thread and waits for its first message, so a file that is not HAR at all is
    /// refused here, as every other unreadable input is.
    fn start(input: Box<dyn BufRead + Send>, name: &str) -> Result<HarSource, IngestError> {
        let (sender, receiver) = sync_channel(HAR_RECORDS_AHEAD);
        let spawned = std::thread::Builder::new()
            .name("har-reader".into())
            .spawn(move || {
                let mut sink = |record| sender.send(HarMessage::Record(record)).is_ok();
                if let Err((entries, failure)) = stream_har(input, MAX_RECORD_BYTES, &mut sink) {
                    let _ = sender.send(HarMessage::Failed { entries, failure });
                }
            });
        let thread = match spawned {
            Ok(thread) => thread,
            Err(source) => {
                return Err(IngestError::Read {
                    name: name.to_string(),
                    source,
                })
            }
        };
        let mut source = HarSource {
            receiver,
            first: None,
            finished: false,
            thread: Some(thread),
        };
        match source.receiver.recv() {
            Ok(HarMessage::Record(record)) => source.first = Some(record),
            Ok(HarMessage::Failed { failure, .. }) => {
                source.finish();
                return Err(har_failure(failure, name));
            }
            Err(_) => source.finish(),
        }
        Ok(source)
    }
}

/// The error for a HAR document that failed (before or after its first entry).
fn har_failure(failure: HarFailure, name: &str) -> IngestError {
    let name = name.to_string();
    match failure {
        HarFailure::Read(source) => IngestError::Read { name, source },
        HarFailure::Invalid(reason) => IngestError::InvalidHar { name, reason },
        HarFailure::EntryTooLong { entry, limit } => IngestError::InvalidHar {
            name,
            reason: format!("entry {entry} is longer than the record limit of {limit} bytes"),
        },
        HarFailure::Stopped => IngestError::InvalidHar {
            name,
            reason: "reading stopped".to_string(),
        },
    }
}

/// Reads at least `wanted` bytes (fewer only at the end of the input), and past that up to `limit`
/// until a newline has been seen, so detection gets at least one whole line when there is one.
fn read_prefix(reader: &mut dyn Read, wanted: usize, limit: usize) -> io::Result<Vec<u8>> {
    let mut prefix = Vec::with_capacity(wanted.min(limit));
    let mut chunk = [0u8; 8192];
    while prefix.len() < limit {
        if prefix.len() >= wanted && (wanted <= 2 || memchr::memchr(b'\n', &prefix).is_some()) {
            break;
        }
        let room = (limit - prefix.len()).min(chunk.len());
        let count = match reader.read(&mut chunk[..room]) {
            Ok(0) => break,
            Ok(count) => count,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        prefix.extend_from_slice(&chunk[..count]);
    }
    Ok(prefix)
}

/// Counts the bytes taken from the underlying input (compressed bytes for gzip) for progress.
struct CountingReader {
    inner: Box<dyn Read + Send>,
    count: Arc<AtomicU64>,
}

impl Read for CountingReader {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let count = self.inner.read(buffer)?;
        self.count.fetch_add(count as u64, Ordering::Relaxed);
        Ok(count)
    }
}

/// Records of one input, in file order; see `open_file`.
pub struct RecordReader {
    format: Format,
    is_gzip: bool,
    name: String,
    bytes_read: Arc<AtomicU64>,
    source: Source,
    read_error: Option<IngestError>,
}

/// One per file read, so the size of the variants does not matter.
#[allow(clippy::large_enum_variant)]
enum Source {
    Lines(LineSource),
    Har(HarSource),
}

struct LineSource {
    input: Box<dyn BufRead + Send>,
    line: Vec<u8>,
    line_number: u64,
    finished: bool,
    parser: LineParser,
    /// Bytes of the last line batch, to size the next one at once (growing a batch of megabytes
    /// by doubling costs copies and fresh pages on every batch).
    last_batch_bytes: usize,
}

enum LineParser {
    Ndjson,
    Combined(OccurrenceCounter),
    NginxJson(OccurrenceCounter),
    Zeek(Box<ZeekParser>),
}

/// Raw lines for parsing elsewhere (several threads, for NDJSON with `parse_exchange_line`): all
/// lines share one buffer; each has its 1-based line number and its byte range, without the line
/// terminator. Empty lines are left out.
#[derive(Debug, Default, Clone)]
pub struct LineBatch {
    pub bytes: Vec<u8>,
    pub lines: Vec<(u64, Range<usize>)>,
}

impl LineBatch {
    pub fn iter(&self) -> impl Iterator<Item = (u64, &[u8])> + '_ {
        self.lines
            .iter()
            .map(|(number, range)| (*number, &self.bytes[range.clone()]))
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
}

enum LineRead {
    Line,
    TooLong(u64),
    End,
}

impl LineSource {
    fn new(input: Box<dyn BufRead + Send>, parser: LineParser) -> LineSource {
        LineSource {
            input,
            line: Vec::with_capacity(4096),
            line_number: 0,
            finished: false,
            parser,
            last_batch_bytes: 0,
        }
    }

    /// Reads the next line into `self.line` without its terminator, BOM removed on line 1.
    fn read_line(&mut self) -> io::Result<LineRead> {
        self.line.clear();
        if self.line.capacity() > MAX_KEPT_LINE_BYTES {
            self.line = Vec::with_capacity(4096);
        }
        let mut total: u64 = 0;
        let mut too_long = false;
        loop {
            let available = match self.input.fill_buf() {
                Ok(available) => available,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            };
            if available.is_empty() {
                if total == 0 {
                    return Ok(LineRead::End);
                }
                break;
            }
            let (taken, found_end) = match memchr::memchr(b'\n', available) {
                Some(position) => (position + 1, true),
                None => (available.len(), false),
            };
            total += taken as u64;
            if !too_long {
                if self.line.len() + taken > MAX_RECORD_BYTES {
                    too_long = true;
                    self.line.clear();
                } else {
                    self.line.extend_from_slice(&available[..taken]);
                }
            }
            self.input.consume(taken);
            if found_end {
                break;
            }
        }
        self.line_number += 1;
        if too_long {
            return Ok(LineRead::TooLong(total));
        }
        while matches!(self.line.last(), Some(b'\n' | b'\r')) {
            self.line.pop();
        }
        if self.line_number == 1 && self.line.starts_with(UTF8_BOM) {
            self.line.drain(..UTF8_BOM.len());
        }
        Ok(LineRead::Line)
    }

    fn parse_current(&mut self) -> Option<Record> {
        let mut record = self.parse_current_unlimited()?;
        if let Record::Exchange(exchange) = &mut record {
            apply_field_limits(exchange);
        }
        Some(record)
    }

    fn parse_current_unlimited(&mut self) -> Option<Record> {
        let line_number = self.line_number;
        let reject = |reason: String| {
            Record::Rejected(Rejection {
                line: line_number,
                reason,
            })
        };
        match &mut self.parser {
            LineParser::Ndjson => Some(match parse_exchange_line(&self.line, line_number) {
                Ok(exchange) => Record::Exchange(exchange),
                Err(rejection) => Record::Rejected(rejection),
            }),
            LineParser::Combined(occurrences) => {
                let text = String::from_utf8_lossy(&self.line);
                Some(convert_access_line(&text, occurrences).map_or_else(reject, Record::Exchange))
            }
            LineParser::NginxJson(occurrences) => {
                let text = String::from_utf8_lossy(&self.line);
                Some(convert_nginx_line(&text, occurrences).map_or_else(reject, Record::Exchange))
            }
            LineParser::Zeek(parser) => {
                let text = String::from_utf8_lossy(&self.line);
                parser
                    .parse_line(&text)
                    .map(|result| result.map_or_else(reject, Record::Exchange))
            }
        }
    }
}

impl RecordReader {
    pub fn format(&self) -> Format {
        self.format
    }

    /// The name given to `open_reader`, or the path.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Bytes taken from the underlying input so far (compressed bytes for gzip), for a progress
    /// bar; it runs ahead of the records by up to the read buffer.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read.load(Ordering::Relaxed)
    }

    /// The read failure that ended the input early, if any. The iterator has also yielded it as a
    /// rejection of the line it was reading, so a caller that only counts rejections still sees it.
    pub fn read_error(&self) -> Option<&IngestError> {
        self.read_error.as_ref()
    }

    /// Why the input ended before its end, in words for a summary ("truncated gzip data
    /// (unexpected end of file)", "read error: ..."), or None when it was read to its end.
    pub fn cut_short_reason(&self) -> Option<String> {
        let error = self.read_error.as_ref()?;
        let source = match error {
            IngestError::Read { source, .. } => source,
            IngestError::InvalidHar { reason, .. } => {
                return Some(format!("HAR document broken off ({reason})"))
            }
            other => return Some(other.to_string()),
        };
        Some(match (self.is_gzip, source.kind()) {
            (true, io::ErrorKind::UnexpectedEof) => format!("truncated gzip data ({source})"),
            (true, _) => format!("damaged gzip data ({source})"),
            (false, _) => format!("read error ({source})"),
        })
    }

    /// Up to `max_lines` raw non-empty lines, for inputs whose lines are independent (NDJSON): the
    /// caller parses them, e.g. with `parse_exchange_line` on several threads. Lines longer than
    /// `MAX_RECORD_BYTES` and read failures are returned in `rejections`. A batch holds fewer lines
    /// when they are long (about `MAX_BATCH_BYTES` at most, plus one line). None at the end of
    /// input, and always for HAR, which has no lines.
    pub fn next_line_batch(
        &mut self,
        max_lines: usize,
        rejections: &mut Vec<Rejection>,
    ) -> Option<LineBatch> {
        self.next_line_batch_into(max_lines, rejections, LineBatch::default())
    }

    /// `next_line_batch` filling `batch`, a spent batch handed back for its buffers (emptied
    /// first): a pipeline that recycles its batches allocates and faults in no new memory.
    pub fn next_line_batch_into(
        &mut self,
        max_lines: usize,
        rejections: &mut Vec<Rejection>,
        mut batch: LineBatch,
    ) -> Option<LineBatch> {
        let Source::Lines(source) = &mut self.source else {
            return None;
        };
        if source.finished {
            return None;
        }
        let max_lines = max_lines.max(1);
        batch.bytes.clear();
        batch.lines.clear();
        if batch.bytes.capacity() > MAX_KEPT_BATCH_BYTES {
            batch.bytes = Vec::new();
        }
        batch
            .bytes
            .reserve(source.last_batch_bytes.min(MAX_BATCH_BYTES) * 9 / 8);
        batch.lines.reserve(max_lines);
        while batch.lines.len() < max_lines && batch.bytes.len() < MAX_BATCH_BYTES {
            match source.read_line() {
                Ok(LineRead::End) => {
                    source.finished = true;
                    break;
                }
                Ok(LineRead::TooLong(length)) => {
                    rejections.push(too_long_rejection(source.line_number, length))
                }
                Ok(LineRead::Line) => {
                    if source.line.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    let start = batch.bytes.len();
                    batch.bytes.extend_from_slice(&source.line);
                    batch
                        .lines
                        .push((source.line_number, start..batch.bytes.len()));
                }
                Err(error) => {
                    source.finished = true;
                    rejections.push(read_failure_rejection(
                        &self.name,
                        source.line_number + 1,
                        &error,
                    ));
                    self.read_error = Some(IngestError::Read {
                        name: self.name.clone(),
                        source: error,
                    });
                    break;
                }
            }
        }
        if batch.lines.is_empty() && source.finished {
            return None;
        }
        source.last_batch_bytes = batch.bytes.len();
        Some(batch)
    }
}

fn too_long_rejection(line: u64, length: u64) -> Rejection {
    Rejection {
        line,
        reason: format!(
            "line is {length} bytes, longer than the record limit of {MAX_RECORD_BYTES} bytes; skipped"
        ),
    }
}

fn read_failure_rejection(name: &str, line: u64, error: &io::Error) -> Rejection {
    Rejection {
        line,
        reason: format!("failed to read `{name}` here: {error}; the rest of the input is lost"),
    }
}

impl Iterator for RecordReader {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        let source = match &mut self.source {
            Source::Har(har) => {
                if let Some(record) = har.first.take() {
                    return Some(record);
                }
                if har.finished {
                    return None;
                }
                return match har.receiver.recv() {
                    Ok(HarMessage::Record(record)) => Some(record),
                    Ok(HarMessage::Failed { entries, failure }) => {
                        har.finish();
                        let error = har_failure(failure, &self.name);
                        let rejection = Rejection {
                            line: entries + 1,
                            reason: format!(
                                "HAR entry {}: {error}; the rest of the input is lost",
                                entries + 1
                            ),
                        };
                        self.read_error = Some(error);
                        Some(Record::Rejected(rejection))
                    }
                    Err(_) => {
                        har.finish();
                        None
                    }
                };
            }
            Source::Lines(source) => source,
        };
        loop {
            if source.finished {
                return None;
            }
            match source.read_line() {
                Ok(LineRead::End) => {
                    source.finished = true;
                    return None;
                }
                Ok(LineRead::TooLong(length)) => {
                    return Some(Record::Rejected(too_long_rejection(
                        source.line_number,
                        length,
                    )));
                }
                Ok(LineRead::Line) => {
                    if source.line.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    if let Some(record) = source.parse_current() {
                        return Some(record);
                    }
                }
                Err(error) => {
                    source.finished = true;
                    let rejection =
                        read_failure_rejection(&self.name, source.line_number + 1, &error);
                    self.read_error = Some(IngestError::Read {
                        name: self.name.clone(),
                        source: error,
                    });
                    return Some(Record::Rejected(rejection));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::write::GzEncoder;
    use flate2::Compression;

    use super::*;

    fn read_all(bytes: Vec<u8>, format: Option<Format>) -> (Format, Vec<Record>) {
        let reader = open_reader(Box::new(Cursor::new(bytes)), "test input", format).unwrap();
        let format = reader.format();
        (format, reader.collect())
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    fn summary(records: &[Record]) -> Vec<String> {
        records
            .iter()
            .map(|record| match record {
                Record::Exchange(exchange) => {
                    format!("ok {} {}", exchange.request.method, exchange.request.url)
                }
                Record::Rejected(rejection) => {
                    format!("line {}: {}", rejection.line, rejection.reason)
                }
            })
            .collect()
    }

    const NDJSON: &str = "{\"ts\":1,\"request\":{\"method\":\"GET\",\"url\":\"/a\"}}\n\
        \n\
        {\"ts\":2,\"request\":{\"method\":\"GET\",\"url\":\"/b\"}\n\
        {\"ts\":3,\"request\":{\"url\":\"/c\"}}\r\n\
        {\"ts\":4,\"request\":{\"method\":\"GET\",\"url\":\"/d\"}}";

    const COMBINED: &str =
        "1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET /a HTTP/1.0\" 200 1 \"-\" \"ua\"\n\
        1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET /a HTTP/1.0\" 200 1 \"-\" \"ua\"\n\
        garbage\n";

    const NGINX: &str = "{\"msec\":\"1.5\",\"remote_addr\":\"1.2.3.4\",\"request\":\"GET /a HTTP/1.1\",\"status\":\"200\"}\n";

    const ZEEK: &str = "#separator \\x09\n#fields\tts\tuid\ttrans_depth\tmethod\turi\tstatus_code\n1.5\tC1\t1\tGET\t/a\t200\n";

    const HAR: &str = "{\n \"log\": {\"entries\": [{\"startedDateTime\":\"2026-11-22T10:00:00Z\",\"request\":{\"method\":\"GET\",\"url\":\"https://a.example/a\"}}]}\n}\n";

    #[test]
    fn a_bad_line_is_rejected_with_its_number_while_its_neighbours_parse() {
        let (format, records) = read_all(NDJSON.as_bytes().to_vec(), None);
        assert_eq!(format, Format::Ndjson);
        let lines = summary(&records);
        assert_eq!(lines.len(), 4, "{lines:?}");
        assert_eq!(lines[0], "ok GET /a");
        assert!(lines[1].starts_with("line 3: invalid JSON"), "{}", lines[1]);
        assert_eq!(lines[2], "line 4: missing `request.method`");
        assert_eq!(lines[3], "ok GET /d");
    }

    #[test]
    fn every_format_is_detected_and_read_plain_and_gzipped() {
        let cases = [
            (NDJSON, Format::Ndjson, 2),
            (COMBINED, Format::Combined, 2),
            (NGINX, Format::NginxJson, 1),
            (ZEEK, Format::Zeek, 1),
            (HAR, Format::Har, 1),
        ];
        for (text, expected_format, expected_exchanges) in cases {
            for bytes in [text.as_bytes().to_vec(), gzip(text.as_bytes())] {
                let (format, records) = read_all(bytes, None);
                assert_eq!(format, expected_format);
                let exchanges = records
                    .iter()
                    .filter(|record| matches!(record, Record::Exchange(_)))
                    .count();
                assert_eq!(
                    exchanges,
                    expected_exchanges,
                    "{expected_format}: {:?}",
                    summary(&records)
                );
                let first = records.iter().find_map(|record| match record {
                    Record::Exchange(exchange) => Some(exchange.request.url.clone()),
                    Record::Rejected(_) => None,
                });
                assert!(first.unwrap().ends_with("/a"), "{expected_format}");
            }
        }
    }

    #[test]
    fn concatenated_gzip_members_are_all_read() {
        let mut bytes = gzip(b"{\"ts\":1,\"request\":{\"method\":\"GET\",\"url\":\"/a\"}}\n");
        bytes.extend(gzip(
            b"{\"ts\":2,\"request\":{\"method\":\"GET\",\"url\":\"/b\"}}\n",
        ));
        let (_, records) = read_all(bytes, None);
        assert_eq!(summary(&records), ["ok GET /a", "ok GET /b"]);
    }

    #[test]
    fn a_bom_is_skipped_in_every_line_format_and_in_har() {
        for (text, format) in [
            (NDJSON, Format::Ndjson),
            (COMBINED, Format::Combined),
            (ZEEK, Format::Zeek),
            (HAR, Format::Har),
        ] {
            let mut bytes = UTF8_BOM.to_vec();
            bytes.extend_from_slice(text.as_bytes());
            let (detected, records) = read_all(bytes.clone(), None);
            assert_eq!(detected, format);
            assert!(
                summary(&records)[0].starts_with("ok GET"),
                "{format}: {:?}",
                summary(&records)
            );
            // Also when the format is given and detection did not run.
            let (_, records) = read_all(bytes, Some(format));
            assert!(summary(&records)[0].starts_with("ok GET"), "{format} given");
        }
    }

    #[test]
    fn the_given_format_overrides_detection() {
        let (format, records) = read_all(COMBINED.as_bytes().to_vec(), Some(Format::Ndjson));
        assert_eq!(format, Format::Ndjson);
        assert!(records
            .iter()
            .all(|record| matches!(record, Record::Rejected(_))));
    }

    #[test]
    fn unrecognisable_and_unreadable_inputs_are_errors_naming_the_file() {
        let error = open_reader(
            Box::new(Cursor::new(b"\x7fELF\x02\x01\x01\0\0\0".to_vec())),
            "x.bin",
            None,
        )
        .err()
        .unwrap();
        let message = error.to_string();
        assert!(
            message.starts_with("`x.bin` is not a recognised format"),
            "{message}"
        );
        assert!(message.contains("use --format"), "{message}");

        let missing = Path::new("/nonexistent/sessionscope/traffic.ndjson");
        let message = open_file(missing, None).err().unwrap().to_string();
        assert!(
            message.starts_with("failed to open `/nonexistent/sessionscope/traffic.ndjson`"),
            "{message}"
        );

        let directory = tempfile::tempdir().unwrap();
        let message = open_file(directory.path(), None).err().unwrap().to_string();
        assert!(message.starts_with("failed to read `"), "{message}");

        let message = open_reader(
            Box::new(Cursor::new(b"{\"log\":{\"entries\":[{".to_vec())),
            "cut.har",
            None,
        )
        .err()
        .unwrap()
        .to_string();
        assert!(
            message.starts_with("`cut.har` is not a valid HAR file"),
            "{message}"
        );
    }

    #[test]
    fn corrupt_gzip_ends_the_input_with_a_rejection_and_a_read_error() {
        let mut lines = String::new();
        for index in 0..20_000 {
            lines.push_str(&format!(
                "{{\"ts\":{index},\"request\":{{\"method\":\"GET\",\"url\":\"/{index}\"}}}}\n"
            ));
        }
        let mut bytes = gzip(lines.as_bytes());
        let cut = bytes.len() / 2;
        bytes.truncate(cut);
        let mut reader = open_reader(Box::new(Cursor::new(bytes)), "cut.ndjson.gz", None).unwrap();
        let records: Vec<Record> = reader.by_ref().collect();
        let Some(Record::Rejected(last)) = records.last() else {
            panic!("no rejection at the end")
        };
        assert!(
            last.reason.contains("failed to read `cut.ndjson.gz`"),
            "{}",
            last.reason
        );
        assert!(records.len() > 1, "the lines before the damage are kept");
        assert!(reader.read_error().is_some());
    }

    #[test]
    fn readers_can_move_to_another_thread() {
        fn assert_send<T: Send>() {}
        assert_send::<RecordReader>();
        assert_send::<Record>();
    }

    #[test]
    fn empty_input_has_no_records() {
        let (_, records) = read_all(Vec::new(), None);
        assert!(records.is_empty());
        let (_, records) = read_all(b"\n\n  \n".to_vec(), None);
        assert!(records.is_empty());
    }

    #[test]
    fn files_are_read_through_open_file_with_progress() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(&gzip(NDJSON.as_bytes())).unwrap();
        let mut reader = open_file(file.path(), None).unwrap();
        assert_eq!(reader.format(), Format::Ndjson);
        assert_eq!(reader.by_ref().count(), 4);
        assert_eq!(
            reader.bytes_read(),
            std::fs::metadata(file.path()).unwrap().len()
        );
    }

    #[test]
    fn line_batches_carry_line_numbers_and_skip_empty_lines() {
        let mut reader = open_reader(
            Box::new(Cursor::new(NDJSON.as_bytes().to_vec())),
            "batch",
            None,
        )
        .unwrap();
        let mut rejections = Vec::new();
        let first = reader.next_line_batch(2, &mut rejections).unwrap();
        let numbers: Vec<u64> = first.iter().map(|(number, _)| number).collect();
        assert_eq!(numbers, [1, 3]);
        let second = reader.next_line_batch(10, &mut rejections).unwrap();
        let parsed: Vec<bool> = second
            .iter()
            .map(|(number, line)| parse_exchange_line(line, number).is_ok())
            .collect();
        assert_eq!(
            second.iter().map(|(number, _)| number).collect::<Vec<_>>(),
            [4, 5]
        );
        assert_eq!(parsed, [false, true]);
        assert!(reader.next_line_batch(10, &mut rejections).is_none());
        assert!(rejections.is_empty());
    }

    #[test]
    fn a_line_over_the_limit_is_rejected_and_skipped() {
        let mut bytes =
            b"{\"ts\":1,\"request\":{\"method\":\"GET\",\"url\":\"/a\"}}\n{\"ts\":1,\"pad\":\""
                .to_vec();
        bytes.resize(bytes.len() + MAX_RECORD_BYTES, b'x');
        bytes.extend_from_slice(
            b"\"}\n{\"ts\":1,\"request\":{\"method\":\"GET\",\"url\":\"/c\"}}\n",
        );
        let (_, records) = read_all(bytes, None);
        let lines = summary(&records);
        assert_eq!(lines[0], "ok GET /a");
        assert!(
            lines[1].starts_with("line 2: line is")
                && lines[1].contains("longer than the record limit"),
            "{}",
            lines[1]
        );
        assert_eq!(lines[2], "ok GET /c");
    }
}
