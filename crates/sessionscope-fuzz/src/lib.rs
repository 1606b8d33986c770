//! Fuzz targets of sessionscope: one function per parser or decoder that reads untrusted bytes,
//! each asserting the invariants that must hold for any input (no panic, bounded output, round
//! trips, line numbers on rejections), not only that nothing crashes. The cargo-fuzz project in
//! `fuzz/` calls these functions from libFuzzer (nightly); `tests/replay.rs` replays every
//! committed corpus and regression input through them on stable, on every test run.
//! `docs/fuzzing.md` says how to run them.

mod analyze;
mod detect;
mod exchange;
mod filters;
mod ingest;

pub use analyze::{jwt, point, settings};
pub use detect::{decode, detect, exchange_from_bytes};
pub use exchange::{check_exchange, to_ndjson_line};
pub use filters::filters;
pub use ingest::{combined, har, ndjson, nginx_json, reader, zeek};

/// A fuzz target: takes any bytes, panics when an invariant breaks.
pub type Target = fn(&[u8]);

/// Every target by the name of its corpus directory (`fuzz/corpus/NAME`) and fuzz binary.
pub const TARGETS: &[(&str, Target)] = &[
    ("ndjson", ndjson),
    ("har", har),
    ("combined", combined),
    ("nginx_json", nginx_json),
    ("zeek", zeek),
    ("reader", reader),
    ("point", point),
    ("jwt", jwt),
    ("decode", decode),
    ("detect", detect),
    ("filters", filters),
    ("settings", settings),
];
