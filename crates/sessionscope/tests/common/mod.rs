//! Helpers the binary's integration tests share: running the real `sessionscope` binary with a
//! clean environment and reading its output.
// Each test file uses a different subset.
#![allow(dead_code)]

pub mod browser;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

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

/// A `sessionscope serve` on a free loopback port, stopped when dropped.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`, as the server printed it.
    pub base: String,
}

impl Server {
    /// `sessionscope ARGS serve --listen 127.0.0.1:0` with standard error discarded.
    pub fn start(args: &[&str]) -> Server {
        let mut command = binary();
        command.args(args).stderr(Stdio::null());
        Server::spawn(command)
    }

    /// Runs `command` (the binary with its global flags) as `serve` on a free port and waits
    /// until it prints the address it listens on.
    pub fn spawn(mut command: Command) -> Server {
        let mut child = command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("serve starts");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout is piped")).lines();
        let base = loop {
            let line = lines
                .next()
                .expect("serve prints its address")
                .expect("serve's output is text");
            if let Some(address) = line.trim().strip_prefix("serving on ") {
                break address.trim().to_owned();
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server { child, base }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
