//! `sessionscope-detect-bench`: recall per source and class, false-positive rate on benign values
//! and single-thread throughput of the detectors on the public attack data (see the `corpus`
//! module for what is read and how values become requests).
//!
//! Flags: `--data DIR` (default `../shared/data/attacks`), `--corpus FILE` (run on an NDJSON
//! corpus instead), `--emit-corpus FILE` (write the corpus as NDJSON), `--json` (machine-readable
//! result), `--passes N` (time N passes, report the fastest; default 3), `--show-missed N` / `--show-false-positives N` (print examples), `--class CLASS` (print
//! missed and wrong-type examples of that class only, to study one detector's misses).

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use sessionscope_detect::corpus::{self, CorpusRequest, Evaluation};
use sessionscope_detect::Detector;

struct Options {
    data: PathBuf,
    corpus: Option<PathBuf>,
    emit_corpus: Option<PathBuf>,
    json: bool,
    show_missed: usize,
    show_false_positives: usize,
    only_class: Option<String>,
    passes: usize,
}

fn parse_options() -> Result<Options> {
    let mut options = Options {
        data: PathBuf::from("../shared/data/attacks"),
        corpus: None,
        emit_corpus: None,
        json: false,
        show_missed: 0,
        show_false_positives: 0,
        only_class: None,
        passes: 3,
    };
    let mut arguments = std::env::args().skip(1);
    while let Some(argument) = arguments.next() {
        let mut value = |flag: &str| {
            arguments
                .next()
                .with_context(|| format!("`{flag}` needs a value"))
        };
        match argument.as_str() {
            "--data" => options.data = PathBuf::from(value("--data")?),
            "--corpus" => options.corpus = Some(PathBuf::from(value("--corpus")?)),
            "--emit-corpus" => options.emit_corpus = Some(PathBuf::from(value("--emit-corpus")?)),
            "--json" => options.json = true,
            "--passes" => {
                options.passes = value("--passes")?
                    .parse::<usize>()
                    .context("`--passes` takes a number")?
                    .max(1)
            }
            "--show-missed" => {
                options.show_missed = value("--show-missed")?
                    .parse()
                    .context("`--show-missed` takes a number")?
            }
            "--class" => options.only_class = Some(value("--class")?),
            "--show-false-positives" => {
                options.show_false_positives = value("--show-false-positives")?
                    .parse()
                    .context("`--show-false-positives` takes a number")?
            }
            "--help" | "-h" => {
                println!("usage: sessionscope-detect-bench [--data DIR] [--corpus FILE] [--emit-corpus FILE] [--json] [--passes N] [--show-missed N] [--show-false-positives N] [--class CLASS]");
                std::process::exit(0);
            }
            other => bail!("unknown argument `{other}`"),
        }
    }
    Ok(options)
}

fn load_requests(options: &Options) -> Result<Vec<CorpusRequest>> {
    if let Some(path) = &options.corpus {
        return corpus::read_ndjson(path)
            .with_context(|| format!("failed to read corpus `{}`", path.display()));
    }
    let values = corpus::labelled_values(&options.data).with_context(|| {
        format!(
            "failed to build the corpus from `{}`",
            options.data.display()
        )
    })?;
    Ok(corpus::requests_for(&values))
}

/// Writes to stdout without panicking when the reader went away (`| head`).
fn emit(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("failed to write to stdout"),
    }
}

fn table(evaluation: &Evaluation, requests: usize, seconds: f64) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<22} {:<8} {:>7} {:>9} {:>11}",
        "source", "class", "total", "detected", "right type"
    );
    for ((source, class), tally) in &evaluation.by_source_class {
        let _ = writeln!(
            out,
            "{:<22} {:<8} {:>7} {:>8.1}% {:>10.1}%",
            source,
            class,
            tally.total,
            tally.detected_percent(),
            tally.right_type_percent()
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<31} {:>7} {:>9} {:>11}",
        "class (all sources)", "total", "detected", "right type"
    );
    for (class, tally) in &evaluation.by_class {
        let _ = writeln!(
            out,
            "{:<31} {:>7} {:>8.1}% {:>10.1}%",
            class,
            tally.total,
            tally.detected_percent(),
            tally.right_type_percent()
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<31} {:>7} {:>9} {:>11} {:>8} {:>9}",
        "delivery", "attacks", "detected", "right type", "benign", "flagged"
    );
    for (variant, tally) in &evaluation.by_variant {
        let benign = evaluation
            .benign_by_variant
            .get(variant)
            .copied()
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{:<31} {:>7} {:>8.1}% {:>10.1}% {:>8} {:>8.2}%",
            variant,
            tally.total,
            tally.detected_percent(),
            tally.right_type_percent(),
            benign.total,
            benign.detected_percent()
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "benign: {} requests, {} flagged ({:.2}% false positives)",
        evaluation.benign.total,
        evaluation.benign.detected,
        evaluation.benign.detected_percent()
    );
    let _ = writeln!(
        out,
        "throughput: {requests} requests in {seconds:.3} s = {:.0} requests/s (one thread)",
        requests as f64 / seconds
    );
    out
}

fn print_json(evaluation: &Evaluation, requests: usize, seconds: f64) -> Result<()> {
    let classes: serde_json::Map<String, serde_json::Value> = evaluation
        .by_class
        .iter()
        .map(|(class, tally)| {
            (
                class.clone(),
                serde_json::json!({"total": tally.total, "detected": tally.detected, "right_type": tally.right_type}),
            )
        })
        .collect();
    let tallies = |map: &std::collections::BTreeMap<String, corpus::Tally>| {
        map.iter()
            .map(|(variant, tally)| {
                (
                    variant.clone(),
                    serde_json::json!({"total": tally.total, "detected": tally.detected}),
                )
            })
            .collect::<serde_json::Map<String, serde_json::Value>>()
    };
    let result = serde_json::json!({
        "engine": "sessionscope",
        "classes": classes,
        "variants": tallies(&evaluation.by_variant),
        "benign_variants": tallies(&evaluation.benign_by_variant),
        "benign": {"total": evaluation.benign.total, "flagged": evaluation.benign.detected},
        "seconds": seconds,
        "requests_per_second": requests as f64 / seconds,
    });
    emit(&format!("{}\n", serde_json::to_string_pretty(&result)?))
}

fn run() -> Result<()> {
    let options = parse_options()?;
    let requests = load_requests(&options)?;
    if let Some(path) = &options.emit_corpus {
        let file =
            File::create(path).with_context(|| format!("failed to create `{}`", path.display()))?;
        let mut writer = BufWriter::new(file);
        corpus::write_ndjson(&requests, &mut writer)?;
        eprintln!("wrote {} requests to {}", requests.len(), path.display());
    }
    let exchanges: Vec<_> = requests.iter().map(CorpusRequest::to_exchange).collect();
    let detector = Detector::new();
    // The first pass also builds the rule tables; the best of the passes is the steady state.
    let mut results = Vec::new();
    let mut seconds = f64::MAX;
    for _ in 0..options.passes {
        let started = Instant::now();
        results = exchanges
            .iter()
            .map(|exchange| detector.detect(exchange))
            .collect();
        seconds = seconds.min(started.elapsed().as_secs_f64().max(1e-9));
    }
    let mut evaluation = Evaluation::default();
    for (request, findings) in requests.iter().zip(&results) {
        evaluation.add(request, findings);
    }
    if options.json {
        print_json(&evaluation, requests.len(), seconds)?;
    } else {
        emit(&table(&evaluation, requests.len(), seconds))?;
    }
    let mut examples = String::new();
    let wanted = |request: &&CorpusRequest| {
        options
            .only_class
            .as_ref()
            .is_none_or(|class| *class == request.class)
    };
    for request in evaluation
        .missed_examples
        .iter()
        .filter(wanted)
        .take(options.show_missed)
    {
        let value = shown(request);
        let _ = writeln!(
            examples,
            "missed {} {} {}: {}",
            request.source, request.class, request.variant, value
        );
    }
    for (request, findings) in evaluation
        .wrong_type_examples
        .iter()
        .filter(|(request, _)| wanted(&request))
        .take(options.show_missed)
    {
        let value = shown(request);
        let rules: Vec<&str> = findings.iter().map(|finding| finding.rule).collect();
        let _ = writeln!(
            examples,
            "wrong type {} {} {:?}: {}",
            request.source, request.class, rules, value
        );
    }
    for (request, findings) in evaluation
        .false_positive_examples
        .iter()
        .take(options.show_false_positives)
    {
        let value = shown(request);
        let rules: Vec<&str> = findings.iter().map(|finding| finding.rule).collect();
        let _ = writeln!(
            examples,
            "false positive {} {:?}: {}",
            request.source, rules, value
        );
    }
    emit(&examples)
}

/// What an example shows of a request: its body, else its headers, else its URL.
fn shown(request: &CorpusRequest) -> String {
    if let Some(body) = &request.body {
        return body.clone();
    }
    if let Some([name, value]) = request.headers.first() {
        return format!("{name}: {value}");
    }
    format!("{}?{}", request.path, request.query)
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
