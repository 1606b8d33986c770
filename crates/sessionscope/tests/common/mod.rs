//! Helpers the binary's integration tests share: running the real `sessionscope` binary with a
//! clean environment and reading its output.
// Each test file uses a different subset.
#![allow(dead_code)]

pub mod browser;

use std::path::Path;
use std::process::{Command, Output};

/// The binary, with the environment variables that would change its configuration removed.
pub fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sessionscope"));
    command.env_remove("SESSIONSCOPE_CONFIG");
    command.env_remove("SESSIONSCOPE_STORE");
    command.env_remove("SESSIONSCOPE_LOG");
    command
}

pub fn run(args: &[&str]) -> Output {
    binary().args(args).output().expect("the binary runs")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs the binary, fails the test with its output unless it succeeds, returns its stdout.
pub fn run_ok(args: &[&str]) -> String {
    let output = run(args);
    assert!(
        output.status.success(),
        "`sessionscope {}` failed:\nstdout:\n{}\nstderr:\n{}",
        args.join(" "),
        text(&output.stdout),
        text(&output.stderr)
    );
    text(&output.stdout)
}

pub fn path_str(path: &Path) -> &str {
    path.to_str().expect("test paths are UTF-8")
}
