//! The ingest pipeline: a reader turns files into exchanges, analysis workers run the pure stages
//! on chunks in parallel, and one writer thread puts chunks back in order, runs the order-dependent
//! stage and appends batches to the store. Threads are joined by bounded channels, so memory stays
//! flat whatever the input size.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use crossbeam_channel::{bounded, Receiver, Sender};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sessionscope_analyze::{Analyzer, SessionState};
use sessionscope_ingest::{ExchangeBuffers, Format, LineBatch, Record, RecordReader, Rejection};
use sessionscope_model::{AnalyzedExchange, Exchange, Micros, SessionId};
use sessionscope_store::Store;

use crate::samples::{self, SampleCollector};

/// Records handed to an analysis worker at a time.
const CHUNK_RECORDS: usize = 2_048;

/// A chunk of parsed exchanges is also closed once its exchanges hold this many bytes, so a file
/// of large bodies sends a few of them at a time, not `CHUNK_RECORDS`.
const CHUNK_BYTES: usize = 8 << 20;
/// Sessions whose user and roles the writer remembers for inheritance (the most recently active
/// ones; a session idle past this many others starts over without an inherited user).
const SESSION_MEMORY: usize = 100_000;

pub struct IngestOptions {
    pub format: Option<Format>,
    pub batch_size: usize,
    pub progress: bool,
    pub workers: usize,
}

/// A record that was not ingested, with where it was.
pub struct RejectedRecord {
    pub file: String,
    pub line: u64,
    pub reason: String,
}

/// A file that could not be ingested at all.
pub struct FailedFile {
    pub file: String,
    pub message: String,
}

/// A file whose reading stopped before its end (a truncated gzip file, a disk error): what was
/// read before is ingested, the rest is lost.
pub struct CutShortFile {
    pub file: String,
    /// Records (exchanges and rejected records) read before the failure.
    pub records: u64,
    pub message: String,
}

#[derive(Default)]
pub struct IngestSummary {
    pub files: usize,
    pub accepted: u64,
    pub inserted: u64,
    pub duplicates: u64,
    pub rejected: u64,
    pub sessions: usize,
    pub elapsed: Duration,
    pub failed_files: Vec<FailedFile>,
    pub cut_short_files: Vec<CutShortFile>,
    pub formats: Vec<(String, Format)>,
    /// Sample exchanges saved for the point builder (sanitised).
    pub samples_saved: usize,
}

impl IngestSummary {
    pub fn rate(&self) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        if seconds <= 0.0 {
            return 0.0;
        }
        self.accepted as f64 / seconds
    }
}

/// What the reader hands to an analysis worker: parsed exchanges, or raw NDJSON lines that the
/// worker parses itself (so parsing runs on every core too).
enum Records {
    Parsed(Vec<Exchange>),
    Lines(LineBatch),
}

struct Chunk {
    sequence: u64,
    file: Arc<str>,
    records: Records,
    /// Rejections found while reading, kept with the chunk so they are reported in input order.
    rejections: Vec<Rejection>,
}

struct AnalyzedChunk {
    sequence: u64,
    file: Arc<str>,
    /// The worker that analysed the chunk: its exchanges go back to it to be freed.
    worker: usize,
    exchanges: Vec<AnalyzedExchange>,
    /// The sanitised full content of the chunk's exchanges with attacks (PRODUCT.md E8), as
    /// `(exchange id, ts, NDJSON line)`, in the chunk's order; made here so the writer only stores it.
    attack_contents: Vec<AttackContent>,
    rejections: Vec<Rejection>,
}

/// `(exchange id, ts, sanitised exchange NDJSON line)`, as `Store::put_attack_contents` takes it.
type AttackContent = (String, Micros, String);

/// The sanitised content of an exchange that has attacks; nothing (and no work) for the others.
fn attack_content(
    analyzer: &Analyzer,
    analyzed: &AnalyzedExchange,
    exchange: &Exchange,
) -> Option<AttackContent> {
    if analyzed.attacks.is_empty() {
        return None;
    }
    let line = samples::exchange_to_line(&analyzer.sanitize_sample(exchange));
    Some((analyzed.id.to_string(), analyzed.ts, line))
}

struct WriterTotals {
    accepted: u64,
    rejected: u64,
    inserted: u64,
    duplicates: u64,
    sessions: usize,
}

/// Called on the writer thread for every rejected record, in input order.
pub type RejectHandler = Box<dyn FnMut(&RejectedRecord) + Send>;

/// Ingests files one after another through one pipeline. `on_reject` sees every rejected record.
/// A file that cannot be opened is recorded in the summary and the others still run. Returns the
/// handler back so the caller can finish what it wrote.
pub fn ingest_files(
    paths: &[PathBuf],
    store: Arc<dyn Store>,
    analyzer: Arc<Analyzer>,
    options: &IngestOptions,
    on_reject: RejectHandler,
) -> anyhow::Result<(IngestSummary, RejectHandler)> {
    let started = Instant::now();
    let workers = options.workers.max(1);
    // Deep enough that the workers analyse ahead while the writer stores a batch, and bounded:
    // about one batch in flight per channel whatever the input size (peak RSS at 10 M exchanges
    // stays under 300 MB; a deeper pipeline bought a few percent of rate for 40 MB).
    let depth = (options.batch_size / CHUNK_RECORDS / 2 + 1).max(workers * 2);
    let (chunk_sender, chunk_receiver) = bounded::<Chunk>(depth);
    let (analyzed_sender, analyzed_receiver) = bounded::<AnalyzedChunk>(depth);
    // Spent line batches go back to the reader to be filled again (see `next_line_batch_into`),
    // and stored result vectors, exchanges still in them, to the worker that made them: big
    // buffers are reused, and an exchange's text is freed by the thread that allocated it, whose
    // next allocations then find those blocks at hand instead of cold ones freed elsewhere.
    let (spare_sender, spare_receiver) = bounded::<LineBatch>(depth);
    let mut spare_vec_senders = Vec::with_capacity(workers);

    let mut worker_handles = Vec::new();
    for index in 0..workers {
        let receiver = chunk_receiver.clone();
        let sender = analyzed_sender.clone();
        let (spare_vec_sender, spare_vec_receiver) =
            bounded::<Vec<AnalyzedExchange>>(depth.div_ceil(workers) + 1);
        spare_vec_senders.push(spare_vec_sender);
        let spares = Spares {
            batches: spare_sender.clone(),
            vectors: spare_vec_receiver,
        };
        let analyzer = Arc::clone(&analyzer);
        let handle = std::thread::Builder::new()
            .name(format!("analyze-{index}"))
            .spawn(move || analyze_chunks(&analyzer, index, receiver, sender, spares))
            .context("failed to start an analysis thread")?;
        worker_handles.push(handle);
    }
    drop(chunk_receiver);
    drop(analyzed_sender);
    drop(spare_sender);

    let batch_size = options.batch_size;
    let writer_store = Arc::clone(&store);
    let writer = std::thread::Builder::new()
        .name("store-writer".into())
        .spawn(move || {
            write_chunks(
                writer_store.as_ref(),
                analyzed_receiver,
                spare_vec_senders,
                batch_size,
                on_reject,
            )
        })
        .context("failed to start the store writer thread")?;

    let total_bytes: u64 = paths
        .iter()
        .filter_map(|path| std::fs::metadata(path).ok())
        .map(|metadata| metadata.len())
        .sum();
    let progress = if options.progress {
        let bar = ProgressBar::with_draw_target(Some(total_bytes), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} {msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar
    } else {
        ProgressBar::hidden()
    };

    let mut summary = IngestSummary::default();
    let mut sequence = 0u64;
    let mut finished_bytes = 0u64;
    let mut read_error: Option<anyhow::Error> = None;
    for path in paths {
        let name = path.display().to_string();
        progress.set_message(short_name(path));
        let reader = match open(path, options.format) {
            Ok(reader) => reader,
            Err(message) => {
                summary.failed_files.push(FailedFile {
                    file: name,
                    message,
                });
                continue;
            }
        };
        summary.files += 1;
        summary.formats.push((name.clone(), reader.format()));
        let sent = read_file(
            reader,
            &name,
            &chunk_sender,
            &spare_receiver,
            &mut sequence,
            &progress,
            finished_bytes,
        );
        finished_bytes += std::fs::metadata(path)
            .map(|metadata| metadata.len())
            .unwrap_or(0);
        match sent {
            Ok(FileRead::Complete) => {}
            Ok(FileRead::CutShort(cut_short)) => summary.cut_short_files.push(cut_short),
            Err(error) => {
                read_error = Some(error);
                break;
            }
        }
    }
    drop(chunk_sender);
    progress.finish_and_clear();

    let mut collectors = Vec::with_capacity(worker_handles.len());
    for handle in worker_handles {
        match handle.join() {
            Ok(collector) => collectors.push(collector),
            Err(_) => anyhow::bail!("an analysis thread stopped unexpectedly"),
        }
    }
    let (totals, on_reject) = writer
        .join()
        .map_err(|_| anyhow::anyhow!("the store writer thread stopped unexpectedly"))??;
    if let Some(error) = read_error {
        return Err(error);
    }
    summary.accepted = totals.accepted;
    summary.rejected = totals.rejected;
    summary.inserted = totals.inserted;
    summary.duplicates = totals.duplicates;
    summary.sessions = totals.sessions;
    // The set is replaced only when this ingest saw traffic, so an empty run keeps the last one.
    let newest = SampleCollector::merge(collectors);
    if !newest.is_empty() {
        let lines = samples::sample_lines(&analyzer, &newest);
        store
            .replace_samples(&lines)
            .context("failed to save the sample exchanges")?;
        summary.samples_saved = lines.len();
    }
    summary.elapsed = started.elapsed();
    Ok((summary, on_reject))
}

fn short_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

fn open(path: &Path, format: Option<Format>) -> Result<RecordReader, String> {
    if path == Path::new("-") {
        let stdin: Box<dyn std::io::Read + Send> = Box::new(std::io::stdin());
        return sessionscope_ingest::open_reader(stdin, "standard input", format)
            .map_err(|error| error.to_string());
    }
    sessionscope_ingest::open_file(path, format).map_err(|error| error.to_string())
}

/// How the reading of one file ended.
enum FileRead {
    Complete,
    CutShort(CutShortFile),
}

fn read_file(
    mut reader: RecordReader,
    name: &str,
    sender: &Sender<Chunk>,
    spares: &Receiver<LineBatch>,
    sequence: &mut u64,
    progress: &ProgressBar,
    finished_bytes: u64,
) -> anyhow::Result<FileRead> {
    let file: Arc<str> = Arc::from(name);
    // Every record the reader yields, the rejection that reports a read failure included.
    let mut records_read = 0u64;
    if reader.format() == Format::Ndjson {
        loop {
            let mut rejections = Vec::new();
            let spare = spares.try_recv().unwrap_or_default();
            let batch = reader.next_line_batch_into(CHUNK_RECORDS, &mut rejections, spare);
            let finished = batch.is_none();
            let records = Records::Lines(batch.unwrap_or_default());
            if let Records::Lines(lines) = &records {
                records_read += (lines.len() + rejections.len()) as u64;
            }
            send_chunk(sender, sequence, &file, records, rejections)?;
            progress.set_position(finished_bytes + reader.bytes_read());
            if finished {
                return Ok(file_read(&reader, name, records_read));
            }
        }
    }
    let mut exchanges = Vec::with_capacity(CHUNK_RECORDS);
    let mut rejections = Vec::new();
    let mut chunk_bytes = 0;
    while let Some(record) = reader.next() {
        records_read += 1;
        match record {
            Record::Exchange(exchange) => {
                chunk_bytes += exchange_bytes(&exchange);
                exchanges.push(exchange);
            }
            Record::Rejected(rejection) => rejections.push(rejection),
        }
        if exchanges.len() + rejections.len() >= CHUNK_RECORDS || chunk_bytes >= CHUNK_BYTES {
            chunk_bytes = 0;
            let full = std::mem::replace(&mut exchanges, Vec::with_capacity(CHUNK_RECORDS));
            let found = std::mem::take(&mut rejections);
            send_chunk(sender, sequence, &file, Records::Parsed(full), found)?;
            progress.set_position(finished_bytes + reader.bytes_read());
        }
    }
    send_chunk(
        sender,
        sequence,
        &file,
        Records::Parsed(exchanges),
        rejections,
    )?;
    Ok(file_read(&reader, name, records_read))
}

/// About how many bytes an exchange holds: its URL, headers and bodies.
fn exchange_bytes(exchange: &Exchange) -> usize {
    let headers = |headers: &sessionscope_model::Headers| {
        headers
            .iter()
            .map(|(name, value)| name.len() + value.len())
            .sum::<usize>()
    };
    let body = |body: &Option<Vec<u8>>| body.as_ref().map_or(0, Vec::len);
    let request = &exchange.request;
    let response = exchange.response.as_ref().map_or(0, |response| {
        headers(&response.headers) + body(&response.body)
    });
    request.url.len() + headers(&request.headers) + body(&request.body) + response
}

/// Whether the reader reached the end of its input. After a read failure, the records counted
/// include the rejection that reported it, which is not one of the file's records.
fn file_read(reader: &RecordReader, name: &str, records_read: u64) -> FileRead {
    match reader.cut_short_reason() {
        None => FileRead::Complete,
        Some(message) => FileRead::CutShort(CutShortFile {
            file: name.to_string(),
            records: records_read.saturating_sub(1),
            message,
        }),
    }
}

fn send_chunk(
    sender: &Sender<Chunk>,
    sequence: &mut u64,
    file: &Arc<str>,
    records: Records,
    rejections: Vec<Rejection>,
) -> anyhow::Result<()> {
    let chunk = Chunk {
        sequence: *sequence,
        file: Arc::clone(file),
        records,
        rejections,
    };
    *sequence += 1;
    sender
        .send(chunk)
        .map_err(|_| anyhow::anyhow!("the ingest pipeline stopped early (see the error above)"))
}

/// Where a worker returns spent line batches and finds its stored result vectors.
struct Spares {
    batches: Sender<LineBatch>,
    vectors: Receiver<Vec<AnalyzedExchange>>,
}

impl Spares {
    /// A result vector to fill: a stored one, its old exchanges still in it, or a new one.
    fn vector(&self, capacity: usize) -> Refill<AnalyzedExchange> {
        let mut vector = self.vectors.try_recv().unwrap_or_default();
        vector.reserve(capacity.saturating_sub(vector.len()));
        Refill { vector, filled: 0 }
    }
}

/// A result vector being filled again. Each new result takes the place of an old exchange, which
/// is freed just then: its memory is about to be written anyway, and the old exchange's heap
/// blocks go straight to the next results. Clearing the vector first would read every old
/// exchange in one pass, long before their memory is written again.
struct Refill<T> {
    vector: Vec<T>,
    filled: usize,
}

impl<T> Refill<T> {
    fn push(&mut self, value: T) {
        match self.vector.get_mut(self.filled) {
            Some(slot) => *slot = value,
            None => self.vector.push(value),
        }
        self.filled += 1;
    }

    /// The new results; old exchanges not replaced are freed.
    fn finish(mut self) -> Vec<T> {
        self.vector.truncate(self.filled);
        self.vector
    }
}

/// Returns the samples this worker kept.
fn analyze_chunks(
    analyzer: &Analyzer,
    worker: usize,
    receiver: Receiver<Chunk>,
    sender: Sender<AnalyzedChunk>,
    spares: Spares,
) -> SampleCollector {
    yield_to_the_store();
    let mut samples = SampleCollector::default();
    let mut buffers = ExchangeBuffers::default();
    for chunk in receiver {
        let mut rejections = chunk.rejections;
        let mut attack_contents = Vec::new();
        let exchanges = match chunk.records {
            Records::Parsed(exchanges) => {
                let mut analyzed = spares.vector(exchanges.len());
                for exchange in exchanges {
                    let result = analyzer.analyze(&exchange);
                    attack_contents.extend(attack_content(analyzer, &result, &exchange));
                    let _ = samples.offer(&result, exchange);
                    analyzed.push(result);
                }
                analyzed.finish()
            }
            Records::Lines(batch) => {
                let mut analyzed = spares.vector(batch.len());
                for (line_number, line) in batch.iter() {
                    match buffers.parse(line, line_number) {
                        Ok(exchange) => {
                            let result = analyzer.analyze(&exchange);
                            attack_contents.extend(attack_content(analyzer, &result, &exchange));
                            if let Some(unused) = samples.offer(&result, exchange) {
                                buffers.recycle(unused);
                            }
                            analyzed.push(result);
                        }
                        Err(rejection) => rejections.push(rejection),
                    }
                }
                // Rejections found while reading and while parsing interleave by line.
                rejections.sort_by_key(|rejection| rejection.line);
                // Back to the reader; when it has enough spares, the batch is simply freed.
                let _ = spares.batches.try_send(batch);
                analyzed.finish()
            }
        };
        let analyzed = AnalyzedChunk {
            sequence: chunk.sequence,
            file: chunk.file,
            worker,
            exchanges,
            attack_contents,
            rejections,
        };
        if sender.send(analyzed).is_err() {
            return samples;
        }
    }
    samples
}

/// Lowers the calling thread's scheduling priority a little. The store append is the one serial
/// stage; when the analysis workers outnumber the cores, a fair share would leave it a fraction
/// of a core and the workers would then wait for it. Failure only costs speed.
fn yield_to_the_store() {
    #[cfg(target_os = "linux")]
    let _ = rustix::process::nice(5);
}

fn write_chunks(
    store: &dyn Store,
    receiver: Receiver<AnalyzedChunk>,
    spare_vectors: Vec<Sender<Vec<AnalyzedExchange>>>,
    batch_size: usize,
    mut on_reject: RejectHandler,
) -> anyhow::Result<(WriterTotals, RejectHandler)> {
    let mut session_state = SessionState::new(SESSION_MEMORY);
    let mut waiting: BTreeMap<u64, AnalyzedChunk> = BTreeMap::new();
    let mut next_sequence = 0u64;
    let mut sessions: HashSet<SessionId, foldhash::fast::RandomState> = HashSet::default();
    let mut totals = WriterTotals {
        accepted: 0,
        rejected: 0,
        inserted: 0,
        duplicates: 0,
        sessions: 0,
    };
    std::thread::scope(|scope| {
        let appender = Appender::start(scope, store, spare_vectors)?;
        let mut batch = appender.empty_batch();
        // Exchanges in `batch`, whose chunks are kept whole rather than copied into one vector.
        let mut batch_len = 0;
        let mut batch_contents: Vec<AttackContent> = Vec::new();
        let mut stopped = false;
        for chunk in receiver {
            if stopped {
                // Keep draining so the other threads can finish; nothing more is written.
                continue;
            }
            waiting.insert(chunk.sequence, chunk);
            while let Some(chunk) = waiting.remove(&next_sequence) {
                next_sequence += 1;
                for rejection in chunk.rejections {
                    totals.rejected += 1;
                    on_reject(&RejectedRecord {
                        file: chunk.file.to_string(),
                        line: rejection.line,
                        reason: rejection.reason,
                    });
                }
                totals.accepted += chunk.exchanges.len() as u64;
                batch_contents.extend(chunk.attack_contents);
                let mut exchanges = chunk.exchanges;
                for exchange in &mut exchanges {
                    session_state.complete(exchange);
                    sessions.insert(exchange.session_id);
                }
                batch_len += exchanges.len();
                batch.push((chunk.worker, exchanges));
                if batch_len >= batch_size {
                    batch_len = 0;
                    let full = std::mem::replace(&mut batch, appender.empty_batch());
                    if !appender.store(full, std::mem::take(&mut batch_contents)) {
                        stopped = true;
                        break;
                    }
                }
            }
        }
        if !stopped {
            appender.store(batch, batch_contents);
        }
        let (inserted, duplicates) = appender.finish()?;
        totals.inserted = inserted;
        totals.duplicates = duplicates;
        totals.sessions = sessions.len();
        Ok((totals, on_reject))
    })
}

/// The exchanges of one batch, in the chunks they were analysed in, each with its worker.
type Batch = Vec<(usize, Vec<AnalyzedExchange>)>;

/// A batch to append, with the full content of its requests with attacks (PRODUCT.md E8).
struct Flush {
    batch: Batch,
    contents: Vec<AttackContent>,
}

/// Stores batches on a thread of its own while the writer orders and completes the next one, so
/// the analysis workers never wait for a transaction to end; a second thread hands the chunks of
/// a stored batch back to the workers that made them (which free the exchanges when they reuse
/// the vector) and the batch's list of them back to the writer.
struct Appender<'scope> {
    batches: Sender<Flush>,
    empty: Receiver<Batch>,
    appending: std::thread::ScopedJoinHandle<'scope, anyhow::Result<(u64, u64)>>,
}

impl<'scope> Appender<'scope> {
    fn start<'env>(
        scope: &'scope std::thread::Scope<'scope, 'env>,
        store: &'env dyn Store,
        spare_vectors: Vec<Sender<Vec<AnalyzedExchange>>>,
    ) -> anyhow::Result<Appender<'scope>> {
        // A rendezvous: the writer hands a batch over only when the last one is stored, so at
        // most one batch waits in the writer's hands (memory stays bounded).
        let (batches, to_store) = bounded::<Flush>(0);
        let (stored, to_empty) = bounded::<Batch>(1);
        // Two lists take turns: one being filled, the other being stored or emptied.
        let (emptied, empty) = bounded::<Batch>(2);
        let _ = emptied.send(Batch::new());
        let _ = emptied.send(Batch::new());
        std::thread::Builder::new()
            .name("batch-emptier".into())
            .spawn_scoped(scope, move || {
                for mut batch in to_empty {
                    for (worker, exchanges) in batch.drain(..) {
                        // When the worker has spares enough (or is gone), it is freed here.
                        if let Some(worker) = spare_vectors.get(worker) {
                            let _ = worker.try_send(exchanges);
                        }
                    }
                    if emptied.send(batch).is_err() {
                        return;
                    }
                }
            })
            .context("failed to start the batch emptier thread")?;
        let appending = std::thread::Builder::new()
            .name("store-append".into())
            .spawn_scoped(scope, move || {
                let mut inserted = 0;
                let mut duplicates = 0;
                for Flush { batch, contents } in to_store {
                    if batch.is_empty() {
                        continue;
                    }
                    let chunks: Vec<&[AnalyzedExchange]> = batch
                        .iter()
                        .map(|(_, exchanges)| exchanges.as_slice())
                        .collect();
                    let outcome = store
                        .append_chunks(&chunks)
                        .context("failed to write a batch to the store")?;
                    inserted += outcome.inserted;
                    duplicates += outcome.duplicates;
                    // If the emptier is gone, the batch comes back in the error and is dropped here.
                    let _ = stored.send(batch);
                    if !contents.is_empty() {
                        store
                            .put_attack_contents(&contents)
                            .context("failed to store the contents of requests with attacks")?;
                    }
                }
                Ok((inserted, duplicates))
            })
            .context("failed to start the store append thread")?;
        Ok(Appender {
            batches,
            empty,
            appending,
        })
    }

    /// An emptied list, or a new one if the emptier is gone.
    fn empty_batch(&self) -> Batch {
        self.empty.recv().unwrap_or_default()
    }

    /// Hands a batch over; false when the append thread has stopped (its error comes from `finish`).
    fn store(&self, batch: Batch, contents: Vec<AttackContent>) -> bool {
        self.batches.send(Flush { batch, contents }).is_ok()
    }

    /// Waits for the last batch; the numbers of inserted and duplicate exchanges.
    fn finish(self) -> anyhow::Result<(u64, u64)> {
        drop(self.batches);
        self.appending
            .join()
            .map_err(|_| anyhow::anyhow!("the store append thread stopped unexpectedly"))?
    }
}

#[cfg(test)]
mod tests {
    use super::Refill;

    #[test]
    fn a_refilled_vector_holds_exactly_the_new_values() {
        let old = || vec![String::from("a"), String::from("b"), String::from("c")];
        for new in [
            vec![],
            vec!["x"],
            vec!["x", "y", "z"],
            vec!["x", "y", "z", "w", "v"],
        ] {
            let mut refill = Refill {
                vector: old(),
                filled: 0,
            };
            for value in &new {
                refill.push(String::from(*value));
            }
            assert_eq!(refill.finish(), new);
        }
    }
}
