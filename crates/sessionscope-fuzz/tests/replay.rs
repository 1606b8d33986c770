//! Replays every committed fuzz input through its target on the stable compiler: the minimised
//! corpus of each target (`fuzz/corpus/TARGET/`) and every input that once broke it
//! (`fuzz/regressions/TARGET/`). A failure names the file; `docs/fuzzing.md` says how to debug it.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// Regression inputs of bugs that are known and fixed on another line of work, so they are not
/// yet fixed here. Each is replayed and must still fail; once the fix is in, this test fails and
/// asks for the entry to be removed, so a known input is never skipped silently for long.
const KNOWN_UNFIXED: &[(&str, &str)] = &[];

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("a readable directory entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

fn replay(target: &str) {
    let function = sessionscope_fuzz::TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .map(|(_, function)| *function)
        .unwrap_or_else(|| panic!("no target `{target}`"));
    let corpus = files(&fuzz_dir().join("corpus").join(target));
    assert!(
        !corpus.is_empty(),
        "fuzz/corpus/{target} is empty: every target keeps a seed corpus"
    );
    let regressions = files(&fuzz_dir().join("regressions").join(target));
    let mut failures = Vec::new();
    let mut fixed_known = Vec::new();
    for path in corpus.iter().chain(&regressions) {
        let data = std::fs::read(path).expect("a readable fuzz input");
        let name = format!(
            "{target}/{}",
            path.file_name().unwrap_or_default().to_string_lossy()
        );
        let outcome = catch_unwind(AssertUnwindSafe(|| function(&data)));
        let known = KNOWN_UNFIXED.iter().find(|(known, _)| *known == name);
        match (outcome, known) {
            (Ok(()), None) | (Err(_), Some(_)) => {}
            (Ok(()), Some(_)) => fixed_known.push(name),
            (Err(_), None) => failures.push(path.display().to_string()),
        }
    }
    assert!(
        failures.is_empty(),
        "fuzz inputs that fail target `{target}` (replay one with `cargo +nightly fuzz run {target} FILE`): {failures:#?}"
    );
    assert!(
        fixed_known.is_empty(),
        "these inputs pass now: remove them from KNOWN_UNFIXED in {}: {fixed_known:?}",
        file!()
    );
}

#[test]
fn every_target_has_a_test_here() {
    let source = include_str!("replay.rs");
    for (name, _) in sessionscope_fuzz::TARGETS {
        assert!(
            source.contains(&format!("fn {name}_inputs_keep_their_invariants")),
            "no replay test for target `{name}`"
        );
        let corpus = fuzz_dir().join("corpus").join(name);
        assert!(
            corpus.is_dir(),
            "no corpus for `{name}`: {}",
            corpus.display()
        );
        let binary = fuzz_dir().join("fuzz_targets").join(format!("{name}.rs"));
        assert!(binary.is_file(), "no fuzz binary for `{name}`");
    }
    for (known, _) in KNOWN_UNFIXED {
        assert!(
            fuzz_dir().join("regressions").join(known).is_file(),
            "KNOWN_UNFIXED names a missing file: {known}"
        );
    }
}

#[test]
fn ndjson_inputs_keep_their_invariants() {
    replay("ndjson");
}

#[test]
fn har_inputs_keep_their_invariants() {
    replay("har");
}

#[test]
fn combined_inputs_keep_their_invariants() {
    replay("combined");
}

#[test]
fn nginx_json_inputs_keep_their_invariants() {
    replay("nginx_json");
}

#[test]
fn zeek_inputs_keep_their_invariants() {
    replay("zeek");
}

#[test]
fn reader_inputs_keep_their_invariants() {
    replay("reader");
}

#[test]
fn point_inputs_keep_their_invariants() {
    replay("point");
}

#[test]
fn jwt_inputs_keep_their_invariants() {
    replay("jwt");
}

#[test]
fn decode_inputs_keep_their_invariants() {
    replay("decode");
}

#[test]
fn detect_inputs_keep_their_invariants() {
    replay("detect");
}

#[test]
fn filters_inputs_keep_their_invariants() {
    replay("filters");
}

#[test]
fn settings_inputs_keep_their_invariants() {
    replay("settings");
}
