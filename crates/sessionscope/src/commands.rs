//! What each command does. Commands resolve the configuration, open the store and call into the
//! library crates; output formatting lives in `output`.

use std::fs::File;
use std::io::{BufRead, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context as _};
use sessionscope_analyze::Analyzer;
use sessionscope_ingest::Format;
use sessionscope_model::{
    day_of, day_start_micros, parse_time_spec, Micros, PageRequest, RequestSort, Role,
    SessionFilter, SessionId, SortDirection, SortField, MICROS_PER_DAY,
};
use sessionscope_store::Store;

use crate::cli::{
    AuditArgs, Cli, Command, ConfigCommand, DemoArgs, ExportArgs, ExportFormat, ExportWhat,
    FilterArgs, FormatArg, GenerateArgs, GlobalArgs, IngestArgs, SessionArgs, SessionsArgs,
    TokenCommand, UserCommand,
};
use crate::config::{self, Config};
use crate::output;
use crate::pipeline::{self, IngestOptions, IngestSummary, RejectedRecord};
use crate::stored_settings;

/// Rejections printed to the terminal before the rest are only counted.
const REJECTIONS_SHOWN: u64 = 50;

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let global = cli.global;
    match cli.command {
        Command::Demo(args) => demo(&global, args),
        Command::Serve(args) => {
            let config = load_config(&global, args.listen)?;
            serve(&config, None)
        }
        Command::Ingest(args) => ingest(&global, args),
        Command::Generate(args) => generate(args),
        Command::Sessions(args) => sessions(&global, args),
        Command::Session(args) => session(&global, args),
        Command::Export(args) => export(&global, args),
        Command::User { command } => user(&global, command),
        Command::Token { command } => token(&global, command),
        Command::Audit(args) => audit(&global, args),
        Command::Config {
            command: ConfigCommand::Check,
        } => config_check(&global),
        Command::Config {
            command: ConfigCommand::Import { file },
        } => config_import(&global, &file),
        Command::Retention => retention(&global),
        Command::Rules { command } => {
            let config = load_config(&global, None)?;
            let store = open_store(&config)?;
            crate::rules::run(store.as_ref(), command, now_micros())
        }
    }
}

fn environment(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

fn load_config(global: &GlobalArgs, listen: Option<String>) -> anyhow::Result<Config> {
    config::resolve(&global.flag_config(listen), &environment).map_err(|problems| {
        let lines: Vec<String> = problems
            .iter()
            .map(|problem| format!("  {problem}"))
            .collect();
        anyhow::anyhow!("invalid configuration:\n{}", lines.join("\n"))
    })
}

fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    if let Some(path) = config.sqlite_path() {
        if let Some(parent) = path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent).with_context(|| {
                format!(
                    "failed to create the store directory `{}`",
                    parent.display()
                )
            })?;
        }
    }
    let store = sessionscope_store::open(&config.store_uri)?;
    Ok(store)
}

fn now_micros() -> Micros {
    chrono::Utc::now().timestamp_micros()
}

fn ingest_format(format: FormatArg) -> Format {
    match format {
        FormatArg::Ndjson => Format::Ndjson,
        FormatArg::Har => Format::Har,
        FormatArg::Combined => Format::Combined,
        FormatArg::NginxJson => Format::NginxJson,
        FormatArg::Zeek => Format::Zeek,
    }
}

fn default_workers() -> usize {
    std::thread::available_parallelism()
        .map(|count| count.get())
        .unwrap_or(2)
}

/// How one ingest runs: from `sessionscope ingest`'s flags, or the demo's choices.
struct IngestRun {
    format: Option<Format>,
    progress: bool,
    workers: usize,
    detection: bool,
}

/// Runs the pipeline over files and prints rejections to standard error as they come.
fn ingest_into(
    config: &Config,
    store: &Arc<dyn Store>,
    files: &[PathBuf],
    run: IngestRun,
    mut rejects_file: Option<BufWriter<File>>,
) -> anyhow::Result<IngestSummary> {
    let IngestRun {
        format,
        progress,
        workers,
        detection,
    } = run;
    let secret = store.installation_secret()?;
    // The store's settings win over the file's once stored (see `stored_settings`).
    let analysis = stored_settings::effective_analysis(config, store.as_ref(), true)?;
    let analyzer = Arc::new(Analyzer::new(analysis, secret).with_detection(detection));
    let options = IngestOptions {
        format,
        batch_size: config.ingest_batch_size,
        progress,
        workers,
    };
    // Shared with the writer thread, which reports rejections; flushed here when the ingest ends.
    let rejects_file = Arc::new(std::sync::Mutex::new(rejects_file.take()));
    let failure: Arc<std::sync::Mutex<Option<std::io::Error>>> = Arc::default();
    let hidden = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let on_reject = {
        let rejects_file = Arc::clone(&rejects_file);
        let failure = Arc::clone(&failure);
        let hidden = Arc::clone(&hidden);
        let mut shown = 0u64;
        Box::new(move |rejected: &RejectedRecord| {
            if let Ok(mut guard) = rejects_file.lock() {
                if let Some(out) = guard.as_mut() {
                    if let Err(error) = writeln!(
                        out,
                        "{}:{}: {}",
                        rejected.file, rejected.line, rejected.reason
                    ) {
                        if let Ok(mut slot) = failure.lock() {
                            slot.get_or_insert(error);
                        }
                    }
                }
            }
            if shown < REJECTIONS_SHOWN {
                shown += 1;
                eprintln!(
                    "rejected {}:{}: {}",
                    rejected.file, rejected.line, rejected.reason
                );
            } else {
                hidden.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        })
    };
    let (summary, on_reject) =
        pipeline::ingest_files(files, Arc::clone(store), analyzer, &options, on_reject)?;
    drop(on_reject);
    if let Some(out) = rejects_file.lock().ok().and_then(|mut guard| guard.take()) {
        out.into_inner()
            .map_err(|error| error.into_error())
            .context("failed to write the rejects file")?;
    }
    let hidden = hidden.load(std::sync::atomic::Ordering::Relaxed);
    if hidden > 0 {
        eprintln!("… and {hidden} more rejected records (write them all with --rejects FILE)");
    }
    if let Some(error) = failure.lock().ok().and_then(|mut slot| slot.take()) {
        bail!("failed to write the rejects file: {error}");
    }
    Ok(summary)
}

fn print_summary(summary: &IngestSummary) {
    for (file, format) in &summary.formats {
        println!("read {file} as {}", format.as_str());
    }
    println!(
        "accepted  {} exchanges ({} new, {} already stored)",
        output::thousands(summary.accepted),
        output::thousands(summary.inserted),
        output::thousands(summary.duplicates)
    );
    println!("rejected  {}", output::thousands(summary.rejected));
    for cut_short in &summary.cut_short_files {
        println!(
            "cut short {}: {} after {} records; the rest of the file was not read",
            cut_short.file,
            cut_short.message,
            output::thousands(cut_short.records)
        );
    }
    println!(
        "sessions  {} touched",
        output::thousands(summary.sessions as u64)
    );
    println!("elapsed   {}", output::human_elapsed(summary.elapsed));
    println!(
        "rate      {} exchanges/s",
        output::thousands(summary.rate().round() as u64)
    );
}

fn ingest(global: &GlobalArgs, args: IngestArgs) -> anyhow::Result<ExitCode> {
    let config = load_config(global, None)?;
    let store = open_store(&config)?;
    let rejects_file = match &args.rejects {
        Some(path) => Some(BufWriter::new(File::create(path).with_context(|| {
            format!("failed to create the rejects file `{}`", path.display())
        })?)),
        None => None,
    };
    let progress = !args.no_progress && std::io::stderr().is_terminal();
    // Retention runs before the ingest, never after it: nothing this run accepts can be removed
    // by it, and the pages it frees are reused by the new data.
    let retention_before = enforce_retention(&config, store.as_ref())?;
    let summary = ingest_into(
        &config,
        &store,
        &args.files,
        IngestRun {
            format: args.format.map(ingest_format),
            progress,
            workers: args.workers.unwrap_or_else(default_workers),
            detection: !args.no_detection,
        },
        rejects_file,
    )?;
    for failed in &summary.failed_files {
        eprintln!("error: {}: {}", failed.file, failed.message);
    }
    print_summary(&summary);
    print_retention_removal(&retention_before, config.retention_days);
    println!(
        "kept      every accepted exchange, until {} UTC at least ({} days after storage)",
        output::short_time(
            now_micros().saturating_add(config.retention_days as Micros * MICROS_PER_DAY)
        ),
        config.retention_days
    );
    for cut_short in &summary.cut_short_files {
        eprintln!(
            "error: {}: {} after {} records; what was read before is stored",
            cut_short.file,
            cut_short.message,
            output::thousands(cut_short.records)
        );
    }
    if !summary.failed_files.is_empty() || !summary.cut_short_files.is_empty() {
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// Retention by time of storage: a UTC day of traffic is removed once nothing was stored into
/// it for `retention_days`, whatever the times inside it, so an import of old logs is kept for
/// the whole period after it arrives. The clock is read here, at the edge.
fn retention_cutoff(retention_days: u32, now: Micros) -> Micros {
    now.saturating_sub(retention_days as Micros * MICROS_PER_DAY)
}

/// What a retention run removed, and the cutoff it used.
struct RetentionRun {
    stored_before: Micros,
    outcome: sessionscope_store::RetentionOutcome,
}

fn enforce_retention(config: &Config, store: &dyn Store) -> anyhow::Result<RetentionRun> {
    let stored_before = retention_cutoff(config.retention_days, now_micros());
    let usage = store.usage()?;
    let mut run = RetentionRun {
        stored_before,
        outcome: Default::default(),
    };
    if usage
        .oldest_storage
        .is_some_and(|oldest| oldest < stored_before)
    {
        run.outcome = store.apply_retention(stored_before)?;
        tracing::info!(
            exchanges_removed = run.outcome.exchanges_removed,
            parts_removed = run.outcome.parts_removed,
            days_removed = run.outcome.days_removed,
            "retention applied"
        );
    }
    Ok(run)
}

/// The summary line of a retention run that removed something, e.g. before an ingest.
fn print_retention_removal(run: &RetentionRun, retention_days: u32) {
    if run.outcome.days_removed == 0 {
        return;
    }
    println!(
        "removed   {} exchanges of {} day{} last stored before {} UTC (retention: {} days after storage)",
        output::thousands(run.outcome.exchanges_removed),
        output::thousands(run.outcome.days_removed),
        if run.outcome.days_removed == 1 { "" } else { "s" },
        output::short_time(run.stored_before),
        retention_days
    );
}

fn retention(global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let config = load_config(global, None)?;
    let store = open_store(&config)?;
    let run = enforce_retention(&config, store.as_ref())?;
    let usage = store.usage()?;
    println!(
        "retention {} days after storage: a UTC day of traffic is removed once nothing was stored into it for {} days",
        config.retention_days, config.retention_days
    );
    print_retention_removal(&run, config.retention_days);
    println!("exchanges {}", output::thousands(usage.exchanges));
    println!("sessions  {} parts", output::thousands(usage.session_parts));
    println!("disk      {} bytes", output::thousands(usage.bytes));
    if let (Some(oldest), Some(newest)) = (usage.oldest, usage.newest) {
        println!(
            "traffic   {} to {}",
            output::short_time(oldest),
            output::short_time(newest)
        );
    }
    if let Some(oldest_storage) = usage.oldest_storage {
        println!(
            "next      {} UTC at the earliest (the least recently stored day)",
            output::short_time(
                oldest_storage.saturating_add(config.retention_days as Micros * MICROS_PER_DAY)
            )
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn generator_start(start: Option<&str>, now: Micros) -> anyhow::Result<Micros> {
    match start {
        Some(text) => {
            parse_time_spec(text, now).map_err(|message| anyhow::anyhow!("--start: {message}"))
        }
        // Noon yesterday: a day of traffic that crosses one UTC midnight.
        None => Ok(day_start_micros(day_of(now) - 1) + MICROS_PER_DAY / 2),
    }
}

fn generate(args: GenerateArgs) -> anyhow::Result<ExitCode> {
    if args.print_config {
        print!("{}", sessionscope_generate::DEMO_CONFIG);
        return Ok(ExitCode::SUCCESS);
    }
    let options = sessionscope_generate::GeneratorOptions {
        requests: args.requests,
        seed: args.seed,
        start: generator_start(args.start.as_deref(), now_micros())?,
        hours: args.hours.max(1),
    };
    write_generated(&options, args.out.as_deref(), args.truth.as_deref())?;
    Ok(ExitCode::SUCCESS)
}

fn write_generated(
    options: &sessionscope_generate::GeneratorOptions,
    out: Option<&Path>,
    truth: Option<&Path>,
) -> anyhow::Result<u64> {
    let mut out_writer: Box<dyn Write> = match out {
        Some(path) => Box::new(BufWriter::with_capacity(
            1 << 20,
            File::create(path).with_context(|| format!("failed to create `{}`", path.display()))?,
        )),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    let mut truth_writer = match truth {
        Some(path) => Some(BufWriter::with_capacity(
            1 << 20,
            File::create(path).with_context(|| format!("failed to create `{}`", path.display()))?,
        )),
        None => None,
    };
    let written = sessionscope_generate::generate_to(
        options,
        &mut out_writer,
        truth_writer.as_mut().map(|writer| writer as &mut dyn Write),
    )
    .context("failed to write generated traffic")?;
    out_writer
        .flush()
        .context("failed to write generated traffic")?;
    if let Some(mut writer) = truth_writer {
        writer.flush().context("failed to write the truth file")?;
    }
    Ok(written)
}

/// A command line the program cannot use (a bad filter value): the process exits with status 2,
/// as for the options the argument parser refuses itself.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

fn parse_filter(filter: &FilterArgs) -> anyhow::Result<SessionFilter> {
    sessionscope_server::filters::parse_filter(&filter.pairs(), now_micros())
        .map_err(|error| UsageError(format!("invalid filter: {error}")).into())
}

fn sessions(global: &GlobalArgs, args: SessionsArgs) -> anyhow::Result<ExitCode> {
    let filter = parse_filter(&args.filter)?;
    let config = load_config(global, None)?;
    let store = open_store(&config)?;
    let page = store.list_sessions(
        &filter,
        &PageRequest {
            limit: args.limit.clamp(1, 500),
            cursor: args.cursor,
        },
    )?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&page)?);
        return Ok(ExitCode::SUCCESS);
    }
    let total = match page.total {
        None => "an unknown number of".to_string(),
        Some(total) if page.total_exact => output::thousands(total),
        Some(total) => format!("about {}", output::thousands(total)),
    };
    println!("{total} sessions");
    if page.total.is_none() {
        println!("(counting them means reading every candidate's requests; follow the pages with --cursor)");
    }
    if !page.flows.is_empty() {
        let flows: Vec<String> = page
            .flows
            .iter()
            .map(|flow| format!("{} {} ({:.0}%)", flow.value, flow.count, flow.share * 100.0))
            .collect();
        println!("flows: {}", flows.join(", "));
    }
    let rows: Vec<Vec<String>> = page.sessions.iter().map(output::session_row).collect();
    print!("{}", output::table(&output::SESSION_HEADER, &rows));
    if let Some(cursor) = page.next_cursor {
        println!("more: --cursor {cursor}");
    }
    Ok(ExitCode::SUCCESS)
}

fn parse_sort(text: &str) -> anyhow::Result<RequestSort> {
    let (direction, name) = match text.strip_prefix('-') {
        Some(name) => (SortDirection::Desc, name),
        None => (SortDirection::Asc, text),
    };
    let field = match name {
        "time" => SortField::Time,
        "duration" => SortField::Duration,
        "size" => SortField::Size,
        _ => {
            bail!("invalid --sort `{text}`; expected time, duration or size, with - for descending")
        }
    };
    Ok(RequestSort { field, direction })
}

fn session(global: &GlobalArgs, args: SessionArgs) -> anyhow::Result<ExitCode> {
    let filter = parse_filter(&args.filter)?;
    let config = load_config(global, None)?;
    let store = open_store(&config)?;
    let session_id: SessionId = args.id.parse()?;
    let sort = parse_sort(&args.sort)?;
    let parts = store.session_parts(session_id, &filter)?;
    if parts.is_empty() {
        bail!("no session `{session_id}` with requests matching the filters");
    }
    let stats = store.session_stats(session_id, None, &filter)?;
    let requests = store.session_requests(
        session_id,
        None,
        &filter,
        sort,
        &PageRequest {
            limit: args.limit.clamp(1, 1000),
            cursor: None,
        },
    )?;
    if args.json {
        let document = serde_json::json!({ "session_id": session_id, "parts": parts, "stats": stats, "requests": requests });
        println!("{}", serde_json::to_string_pretty(&document)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("session {session_id}");
    let rows: Vec<Vec<String>> = parts.iter().map(output::session_row).collect();
    print!("{}", output::table(&output::SESSION_HEADER, &rows));
    println!();
    let stat_lines = [
        ("attack types", &stats.attack_types),
        ("users", &stats.users),
        ("client IPs", &stats.client_ips),
        ("methods", &stats.methods),
        ("response codes", &stats.statuses),
        ("flows", &stats.flows),
    ];
    for (name, counts) in stat_lines {
        let values: Vec<String> = counts
            .iter()
            .take(8)
            .map(|count| {
                format!(
                    "{} {} ({:.0}%)",
                    count.value,
                    count.count,
                    count.share * 100.0
                )
            })
            .collect();
        println!(
            "{name:<15} {}",
            if values.is_empty() {
                "—".to_string()
            } else {
                values.join(", ")
            }
        );
    }
    println!();
    let request_rows: Vec<Vec<String>> = requests
        .requests
        .iter()
        .map(|request| {
            let attacks: Vec<&str> = request
                .attacks
                .iter()
                .map(|attack| attack.kind.as_str())
                .collect();
            vec![
                output::short_time(request.ts),
                request.method.clone(),
                request.endpoint.clone(),
                request
                    .status
                    .map(|status| status.to_string())
                    .unwrap_or_else(|| "—".into()),
                request
                    .duration_ms
                    .map(|ms| format!("{ms:.1}"))
                    .unwrap_or_else(|| "—".into()),
                request
                    .size
                    .map(|size| size.to_string())
                    .unwrap_or_else(|| "—".into()),
                output::joined_or_dash(&request.flows),
                if attacks.is_empty() {
                    "—".into()
                } else {
                    attacks.join(",")
                },
                request.id.clone(),
            ]
        })
        .collect();
    print!(
        "{}",
        output::table(
            &[
                "TIME (UTC)",
                "METHOD",
                "ENDPOINT",
                "STATUS",
                "MS",
                "BYTES",
                "FLOWS",
                "ATTACKS",
                "REQUEST ID"
            ],
            &request_rows
        )
    );
    println!(
        "{} of {} requests",
        requests.requests.len(),
        output::thousands(requests.total)
    );
    Ok(ExitCode::SUCCESS)
}

fn export(global: &GlobalArgs, args: ExportArgs) -> anyhow::Result<ExitCode> {
    let filter = parse_filter(&args.filter)?;
    let config = load_config(global, None)?;
    let store = open_store(&config)?;
    let out: Box<dyn Write> = match &args.out {
        Some(path) => Box::new(
            File::create(path).with_context(|| format!("failed to create `{}`", path.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    let out = BufWriter::with_capacity(1 << 20, out);
    let written = match args.format {
        ExportFormat::Ndjson => export_ndjson(store.as_ref(), &filter, args.what, out)?,
        ExportFormat::Csv => export_csv(store.as_ref(), &filter, args.what, out)?,
    };
    if args.out.is_some() {
        eprintln!(
            "exported {} {}",
            output::thousands(written),
            match args.what {
                ExportWhat::Requests => "requests",
                ExportWhat::Sessions => "session parts",
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn sink_error(error: impl std::fmt::Display) -> sessionscope_store::StoreError {
    sessionscope_store::StoreError::Sink(error.to_string())
}

fn export_ndjson(
    store: &dyn Store,
    filter: &SessionFilter,
    what: ExportWhat,
    mut out: impl Write,
) -> anyhow::Result<u64> {
    let written = match what {
        ExportWhat::Requests => store.export_requests(filter, &mut |row| {
            serde_json::to_writer(&mut out, &row).map_err(sink_error)?;
            out.write_all(b"\n").map_err(sink_error)
        })?,
        ExportWhat::Sessions => store.export_sessions(filter, &mut |row| {
            serde_json::to_writer(&mut out, &row).map_err(sink_error)?;
            out.write_all(b"\n").map_err(sink_error)
        })?,
    };
    out.flush().context("failed to write the export")?;
    Ok(written)
}

fn export_csv(
    store: &dyn Store,
    filter: &SessionFilter,
    what: ExportWhat,
    out: impl Write,
) -> anyhow::Result<u64> {
    use sessionscope_server::export as csv_export;
    let mut writer = csv::Writer::from_writer(out);
    let written = match what {
        ExportWhat::Requests => {
            csv_export::write_requests_csv_header(&mut writer)?;
            store.export_requests(filter, &mut |row| {
                csv_export::write_request_csv(&mut writer, &row).map_err(sink_error)
            })?
        }
        ExportWhat::Sessions => {
            csv_export::write_sessions_csv_header(&mut writer)?;
            store.export_sessions(filter, &mut |row| {
                csv_export::write_session_csv(&mut writer, &row).map_err(sink_error)
            })?
        }
    };
    writer.flush().context("failed to write the export")?;
    Ok(written)
}

fn parse_role(text: &str) -> anyhow::Result<Role> {
    text.parse::<Role>()
        .map_err(|message| anyhow::anyhow!(message))
}

fn random_password() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..20)
        .map(|_| rng.sample(rand::distributions::Alphanumeric) as char)
        .collect()
}

/// Who an access change made from the command line is recorded as: `cli:` and the OS user (from
/// the environment, else the process's user id looked up in `/etc/passwd`, else `uid N`).
fn cli_actor() -> String {
    let name = ["USER", "LOGNAME", "USERNAME"]
        .into_iter()
        .find_map(|variable| std::env::var(variable).ok().filter(|name| !name.is_empty()))
        .or_else(os_user_from_uid);
    match name {
        Some(name) => format!("cli:{name}"),
        None => "cli:unknown".to_string(),
    }
}

#[cfg(unix)]
fn os_user_from_uid() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self").ok()?.uid();
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let name = passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let id = fields.nth(1)?;
        (id.parse::<u32>().ok()? == uid).then(|| name.to_string())
    });
    Some(name.unwrap_or_else(|| format!("uid {uid}")))
}

#[cfg(not(unix))]
fn os_user_from_uid() -> Option<String> {
    None
}

/// A new password: the first line of standard input (at least 8 characters), or generated.
/// Returns it and whether it was generated (and must be printed).
fn new_password(password_stdin: bool) -> anyhow::Result<(String, bool)> {
    if !password_stdin {
        return Ok((random_password(), true));
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("failed to read the password")?;
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    if password.len() < 8 {
        bail!("the password must have at least 8 characters");
    }
    Ok((password, false))
}

fn user(global: &GlobalArgs, command: UserCommand) -> anyhow::Result<ExitCode> {
    let config = load_config(global, None)?;
    let store = open_store(&config)?;
    let actor = cli_actor();
    match command {
        UserCommand::Add {
            name,
            role,
            password_stdin,
        } => {
            let role = parse_role(&role)?;
            if name.trim().is_empty() {
                bail!("a user name cannot be empty");
            }
            let (password, generated) = new_password(password_stdin)?;
            store.create_user(&name, role, &sessionscope_store::hash_password(&password))?;
            store.record_audit(&actor, "user.add", &name, &format!("role {role}"))?;
            println!("added user {name} with role {role}");
            if generated {
                println!("password: {password}");
            }
        }
        UserCommand::List => {
            let rows: Vec<Vec<String>> = store
                .users()?
                .into_iter()
                .map(|user| {
                    vec![
                        user.name,
                        user.role.to_string(),
                        output::short_time(user.created),
                    ]
                })
                .collect();
            print!(
                "{}",
                output::table(&["NAME", "ROLE", "CREATED (UTC)"], &rows)
            );
        }
        UserCommand::Remove { name } => {
            if !store.remove_user(&name)? {
                bail!("no user `{name}`; `sessionscope user list` shows the users");
            }
            store.record_audit(&actor, "user.remove", &name, "")?;
            println!("removed user {name}; their console logins have ended");
        }
        UserCommand::Passwd {
            name,
            password_stdin,
        } => {
            if store.user(&name)?.is_none() {
                bail!("no user `{name}`; `sessionscope user list` shows the users");
            }
            let (password, generated) = new_password(password_stdin)?;
            let hash = sessionscope_store::hash_password(&password);
            if !store.set_user_password(&name, &hash)? {
                bail!("no user `{name}`; `sessionscope user list` shows the users");
            }
            store.record_audit(&actor, "user.passwd", &name, "")?;
            println!("changed the password of {name}; their console logins have ended");
            if generated {
                println!("password: {password}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn create_token(store: &dyn Store, role: Role, name: &str) -> anyhow::Result<String> {
    let token = sessionscope_store::new_token();
    store.create_token(&sessionscope_store::token_hash(&token), name, role)?;
    Ok(token)
}

/// A token under the first free default name `ROLE-N`; another process taking the same name
/// meanwhile only moves this one to the next number.
fn create_token_with_default_name(
    store: &dyn Store,
    role: Role,
) -> anyhow::Result<(String, String)> {
    let taken: std::collections::HashSet<String> = store
        .tokens()?
        .into_iter()
        .map(|token| token.name)
        .collect();
    // Numbers past the taken names; a few more in case other processes take names meanwhile.
    for number in 1..=taken.len() + 100 {
        let name = format!("{role}-{number}");
        if taken.contains(&name) {
            continue;
        }
        match create_token(store, role, &name) {
            Ok(token) => return Ok((name, token)),
            Err(error)
                if matches!(
                    error.downcast_ref::<sessionscope_store::StoreError>(),
                    Some(sessionscope_store::StoreError::AlreadyExists(_))
                ) =>
            {
                continue
            }
            Err(error) => return Err(error),
        }
    }
    bail!("found no free token name for role {role}; give one with --name")
}

fn token(global: &GlobalArgs, command: TokenCommand) -> anyhow::Result<ExitCode> {
    let config = load_config(global, None)?;
    let store = open_store(&config)?;
    let actor = cli_actor();
    match command {
        TokenCommand::Create { role, name } => {
            let role = parse_role(&role)?;
            let (name, token) = match name {
                Some(name) => {
                    if name.trim().is_empty() {
                        bail!("a token name cannot be empty");
                    }
                    let token = match create_token(store.as_ref(), role, &name) {
                        Err(error)
                            if matches!(
                                error.downcast_ref::<sessionscope_store::StoreError>(),
                                Some(sessionscope_store::StoreError::AlreadyExists(_))
                            ) =>
                        {
                            bail!("a token named `{name}` already exists; choose another --name, or revoke it first with `sessionscope token revoke {name}`")
                        }
                        other => other?,
                    };
                    (name, token)
                }
                None => create_token_with_default_name(store.as_ref(), role)?,
            };
            store.record_audit(&actor, "token.create", &name, &format!("role {role}"))?;
            println!("created token `{name}` with role {role}; it is shown only once:");
            println!("{token}");
        }
        TokenCommand::List => {
            let rows: Vec<Vec<String>> = store
                .tokens()?
                .into_iter()
                .map(|token| {
                    vec![
                        token.name,
                        token.role.to_string(),
                        output::short_time(token.created),
                        token
                            .last_used
                            .map_or_else(|| "never".to_string(), output::short_time),
                    ]
                })
                .collect();
            print!(
                "{}",
                output::table(&["NAME", "ROLE", "CREATED (UTC)", "LAST USED (UTC)"], &rows)
            );
        }
        TokenCommand::Revoke { name } => {
            if !store.revoke_token(&name)? {
                bail!("no token `{name}`; `sessionscope token list` shows the tokens");
            }
            store.record_audit(&actor, "token.revoke", &name, "")?;
            println!("revoked token `{name}`; a running server refuses it from now on");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `audit`: the newest audit events, newest first.
fn audit(global: &GlobalArgs, args: AuditArgs) -> anyhow::Result<ExitCode> {
    let config = load_config(global, None)?;
    let store = open_store(&config)?;
    let events = store.audit_events(args.limit as usize)?;
    if events.is_empty() {
        println!("the audit log is empty");
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = events
        .into_iter()
        .map(|event| {
            let detail = match event.config_change {
                Some(id) => format!("{} (change {id})", event.detail),
                None => event.detail,
            };
            vec![
                output::short_time(event.at),
                event.who,
                event.action,
                event.target,
                detail,
            ]
        })
        .collect();
    print!(
        "{}",
        output::table(&["WHEN (UTC)", "WHO", "ACTION", "TARGET", "DETAIL"], &rows)
    );
    Ok(ExitCode::SUCCESS)
}

fn config_check(global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    match config::resolve(&global.flag_config(None), &environment) {
        Ok(config) => {
            print!("{}", config.to_toml());
            eprintln!("configuration is valid");
            Ok(ExitCode::SUCCESS)
        }
        Err(problems) => {
            eprintln!(
                "configuration has {} problem{}:",
                problems.len(),
                if problems.len() == 1 { "" } else { "s" }
            );
            for problem in problems {
                eprintln!("  {problem}");
            }
            Ok(ExitCode::FAILURE)
        }
    }
}

/// `config import FILE`: the file's analysis settings replace the store's, recorded in the change log.
fn config_import(global: &GlobalArgs, file: &Path) -> anyhow::Result<ExitCode> {
    let config = load_config(global, None)?;
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("failed to read the configuration file `{}`", file.display()))?;
    let parsed = match config::parse_file_config(&text) {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("{}: {message}", file.display());
            return Ok(ExitCode::FAILURE);
        }
    };
    let mut settings = sessionscope_analyze::AnalysisSettings {
        session_keys: parsed.session_keys,
        context: parsed.context,
        apps: parsed.apps,
        rules: Vec::new(),
    };
    if let Err(problems) = settings.validate() {
        eprintln!(
            "{} has {} problem{}; nothing was imported:",
            file.display(),
            problems.len(),
            if problems.len() == 1 { "" } else { "s" }
        );
        for problem in problems {
            eprintln!("  {problem}");
        }
        return Ok(ExitCode::FAILURE);
    }
    let store = open_store(&config)?;
    // The file has no detection rules: the stored ones (false positives marked through the API
    // or `sessionscope rules`) are kept.
    settings.rules = stored_settings::stored(store.as_ref())?
        .map(|stored| stored.rules)
        .unwrap_or_default();
    match stored_settings::import(store.as_ref(), &settings, &file.display().to_string())? {
        Some(change) => println!(
            "{}; applies to traffic ingested from now on",
            change.summary
        ),
        None => println!(
            "the stored analysis settings already equal `{}`; nothing changed",
            file.display()
        ),
    }
    Ok(ExitCode::SUCCESS)
}

/// Serves until Ctrl-C. `ready` receives the bound address (used by the demo to print it).
fn serve(
    config: &Config,
    banner: Option<&dyn Fn(std::net::SocketAddr)>,
) -> anyhow::Result<ExitCode> {
    let store = open_store(config)?;
    enforce_retention(config, store.as_ref())?;
    // A store served before anything was ingested still gets its first settings version, so the
    // console's configuration page starts from the file's settings.
    stored_settings::effective_analysis(config, store.as_ref(), false)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("failed to start the async runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(config.listen).await.with_context(|| {
            format!("failed to listen on {}; is another process using it? choose another with --listen", config.listen)
        })?;
        let address = listener.local_addr().context("failed to read the bound address")?;
        match banner {
            Some(banner) => banner(address),
            None => println!("serving on http://{address}"),
        }
        let retention_config = config.clone();
        let retention_store = Arc::clone(&store);
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(std::time::Duration::from_secs(600));
            interval.tick().await;
            loop {
                interval.tick().await;
                let config = retention_config.clone();
                let store = Arc::clone(&retention_store);
                let result = tokio::task::spawn_blocking(move || enforce_retention(&config, store.as_ref())).await;
                if let Ok(Err(error)) = result {
                    tracing::warn!(error = %error, "retention failed");
                }
            }
        });
        // A re-evaluation stopped by an earlier process goes on in the background; every piece
        // it commits is visible at once, and `GET /api/v1/rules` shows its progress.
        let reevaluation_store = Arc::clone(&store);
        tokio::task::spawn_blocking(move || {
            let resumed = sessionscope_server::rules::resume_reevaluation(
                reevaluation_store.as_ref(),
                &mut |job| {
                    tracing::debug!(
                        requests_done = job.requests_done,
                        requests_total = job.requests_total,
                        "re-evaluation progress"
                    );
                },
            );
            match resumed {
                Ok(Some(answer)) => {
                    tracing::info!(message = %answer.message, "unfinished re-evaluation continued")
                }
                Ok(None) => {}
                Err(error) => tracing::warn!(error = %error, "unfinished re-evaluation failed"),
            }
        });
        let state = sessionscope_server::AppState::new(store);
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        tracing::info!(%address, "serving the rest api and the console");
        sessionscope_server::serve_router(listener, sessionscope_console::router(state), shutdown)
            .await
            .context("server stopped")?;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Generates a day of traffic whose last exchange is about a minute ago, so the console's and the
/// API's "last hour" show something. The generator's span is approximate (its sessions run past
/// the planned end by an amount that depends on the start), so after a corrected second try any
/// remaining difference is removed by shifting every timestamp: the demo never shows requests
/// from the future. Returns the time of the last generated exchange.
fn generate_until_now(
    requests: u64,
    seed: u64,
    traffic: &Path,
    truth: &Path,
) -> anyhow::Result<Option<Micros>> {
    const FIVE_MINUTES: Micros = 5 * 60 * 1_000_000;
    let target_end = now_micros() - 60 * 1_000_000;
    let mut options = sessionscope_generate::GeneratorOptions {
        requests,
        seed,
        start: target_end - 24 * 3_600 * 1_000_000,
        hours: 24,
    };
    let mut last = None;
    for attempt in 0..2 {
        write_generated(&options, Some(traffic), Some(truth))?;
        last = last_exchange_time(traffic)?;
        let Some(generated_last) = last else {
            return Ok(None);
        };
        let drift = target_end - generated_last;
        // Ending a few minutes early is fine; ending in the future is not.
        if (0..FIVE_MINUTES).contains(&drift) {
            return Ok(last);
        }
        if attempt == 0 {
            options.start += drift;
            continue;
        }
        shift_timestamps(traffic, drift)?;
        last = Some(generated_last + drift);
    }
    Ok(last)
}

/// Moves every exchange of a generated NDJSON file by `delta` microseconds.
fn shift_timestamps(path: &Path, delta: Micros) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("failed to read `{}`", path.display()))?;
    let mut shifted = String::with_capacity(text.len());
    for line in text.lines().filter(|line| !line.trim().is_empty()) {
        let mut value: serde_json::Value =
            serde_json::from_str(line).context("the generated traffic is not valid NDJSON")?;
        if let Some(ts) = value["ts"]
            .as_str()
            .and_then(sessionscope_model::parse_rfc3339)
        {
            value["ts"] = serde_json::Value::String(sessionscope_model::format_rfc3339(ts + delta));
        }
        shifted.push_str(&value.to_string());
        shifted.push('\n');
    }
    std::fs::write(path, shifted).with_context(|| format!("failed to write `{}`", path.display()))
}

/// The sample call's query: the last hour when the traffic reaches into it, else the hour
/// before the last generated exchange (the generator's end is approximate with few requests).
fn sample_query(last: Option<Micros>, now: Micros) -> String {
    const HOUR: Micros = 3_600 * 1_000_000;
    match last {
        Some(last) if now - last > HOUR - 5 * 60 * 1_000_000 => {
            format!(
                "from={}&limit=5",
                sessionscope_model::format_rfc3339(last - HOUR)
            )
        }
        _ => "window=1h&limit=5".to_string(),
    }
}

/// The `ts` of the last line of a generated file.
fn last_exchange_time(path: &Path) -> anyhow::Result<Option<Micros>> {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let mut file =
        File::open(path).with_context(|| format!("failed to open `{}`", path.display()))?;
    let length = file.metadata()?.len();
    file.seek(SeekFrom::Start(length.saturating_sub(64 * 1024)))?;
    let mut tail = String::new();
    file.read_to_string(&mut tail)?;
    let Some(line) = tail.lines().rev().find(|line| !line.trim().is_empty()) else {
        return Ok(None);
    };
    let value: serde_json::Value =
        serde_json::from_str(line).context("the generated traffic is not valid NDJSON")?;
    Ok(value["ts"]
        .as_str()
        .and_then(sessionscope_model::parse_rfc3339))
}

fn demo(global: &GlobalArgs, args: DemoArgs) -> anyhow::Result<ExitCode> {
    let directory = match &args.keep {
        Some(directory) => {
            std::fs::create_dir_all(directory)
                .with_context(|| format!("failed to create `{}`", directory.display()))?;
            directory.clone()
        }
        None => std::env::temp_dir().join(format!("sessionscope-demo-{}", std::process::id())),
    };
    let database = directory.join("demo.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", database.display()));
    }
    std::fs::create_dir_all(&directory)
        .with_context(|| format!("failed to create `{}`", directory.display()))?;

    let mut flags = global.flag_config(Some(args.listen.clone()));
    flags.db = Some(database.clone());
    flags.store = None;
    let demo_config_path = directory.join("demo.toml");
    if flags.config_file.is_none() {
        std::fs::write(&demo_config_path, sessionscope_generate::DEMO_CONFIG)
            .with_context(|| format!("failed to write `{}`", demo_config_path.display()))?;
        flags.config_file = Some(demo_config_path.clone());
    }
    let config = config::resolve(&flags, &environment).map_err(|problems| {
        let lines: Vec<String> = problems
            .iter()
            .map(|problem| format!("  {problem}"))
            .collect();
        anyhow::anyhow!("invalid configuration:\n{}", lines.join("\n"))
    })?;

    let traffic = directory.join("traffic.ndjson");
    let truth = directory.join("truth.ndjson");
    eprintln!(
        "generating {} exchanges …",
        output::thousands(args.requests)
    );
    let last_exchange = generate_until_now(args.requests, args.seed, &traffic, &truth)?;

    let store = open_store(&config)?;
    let summary = ingest_into(
        &config,
        &store,
        std::slice::from_ref(&traffic),
        IngestRun {
            format: Some(Format::Ndjson),
            progress: std::io::stderr().is_terminal(),
            workers: default_workers(),
            detection: true,
        },
        None,
    )?;
    print_summary(&summary);

    let password = random_password();
    store.create_user(
        "admin",
        Role::Admin,
        &sessionscope_store::hash_password(&password),
    )?;
    store.record_audit("demo", "user.add", "admin", "role admin")?;
    let token = create_token(store.as_ref(), Role::Admin, "demo")?;
    store.record_audit("demo", "token.create", "demo", "role admin")?;
    drop(store);

    let banner = |address: std::net::SocketAddr| {
        println!();
        println!("sessionscope demo is serving on http://{address}");
        println!("  store:    {}", database.display());
        println!(
            "  traffic:  {} (ground truth in {})",
            traffic.display(),
            truth.display()
        );
        println!("  console:  http://{address}/  (user admin, password {password})");
        println!("  token:    {token}");
        println!("try:");
        let query = sample_query(last_exchange, now_micros());
        println!("  curl -s -H 'Authorization: Bearer {token}' 'http://{address}/api/v1/sessions?{query}'");
        println!("press Ctrl-C to stop");
    };
    serve(&config, Some(&banner))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_counts_back_from_now_whatever_the_traffic_times() {
        let day = MICROS_PER_DAY;
        assert_eq!(retention_cutoff(7, 100 * day), 93 * day);
        assert_eq!(retention_cutoff(3650, 0), -3650 * day);
    }

    #[test]
    fn the_demo_sample_call_covers_the_generated_traffic() {
        let now = 100 * MICROS_PER_DAY;
        let minute = 60 * 1_000_000;
        assert_eq!(
            sample_query(Some(now - 2 * minute), now),
            "window=1h&limit=5"
        );
        let early = sample_query(Some(now - 90 * minute), now);
        assert!(
            early.starts_with("from=") && early.ends_with("&limit=5"),
            "{early}"
        );
    }

    #[test]
    fn sort_flags_parse_with_direction() {
        assert_eq!(
            parse_sort("-duration").unwrap(),
            RequestSort {
                field: SortField::Duration,
                direction: SortDirection::Desc
            }
        );
        assert_eq!(parse_sort("time").unwrap(), RequestSort::default());
        assert!(parse_sort("speed").is_err());
    }
}
