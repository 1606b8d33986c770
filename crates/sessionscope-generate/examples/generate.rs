//! Writes generated traffic and truth to files and reports the rate:
//! `cargo run --release -p sessionscope-generate --example generate -- REQUESTS SEED OUT TRUTH`.

use std::fs::File;
use std::io::BufWriter;
use std::time::Instant;

use sessionscope_generate::{generate_to, GeneratorOptions};

fn main() -> std::io::Result<()> {
    let arguments: Vec<String> = std::env::args().collect();
    let requests = arguments
        .get(1)
        .and_then(|text| text.parse().ok())
        .unwrap_or(100_000);
    let seed = arguments
        .get(2)
        .and_then(|text| text.parse().ok())
        .unwrap_or(1);
    let out_path = arguments
        .get(3)
        .cloned()
        .unwrap_or_else(|| String::from("/dev/null"));
    let truth_path = arguments.get(4).cloned();
    let options = GeneratorOptions {
        requests,
        seed,
        ..GeneratorOptions::default()
    };
    let mut out = BufWriter::new(File::create(&out_path)?);
    let mut truth_file = match &truth_path {
        Some(path) => Some(BufWriter::new(File::create(path)?)),
        None => None,
    };
    let started = Instant::now();
    let written = match truth_file.as_mut() {
        Some(truth) => generate_to(&options, &mut out, Some(truth))?,
        None => generate_to(&options, &mut out, None)?,
    };
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "{written} exchanges in {seconds:.2} s: {:.0} exchanges/s",
        written as f64 / seconds
    );
    Ok(())
}
