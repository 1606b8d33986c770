//! Users, tokens and the audit log through the real binary (PRODUCT.md R1, R2, R4): tokens made
//! with the documented command get unique names, are listed without their secret and revoked by
//! name; users are listed, removed and given new passwords; a `serve` process running beside the
//! command line sees every change on the very next request; and every change is in the audit log.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use common::{binary, path_str, run, run_ok, text, Server};

fn get(server: &Server, path: &str, token: &str) -> reqwest::blocking::Response {
    reqwest::blocking::Client::new()
        .get(format!("{}{path}", server.base))
        .bearer_auth(token)
        .send()
        .unwrap()
}

fn store_in(directory: &tempfile::TempDir) -> PathBuf {
    directory.path().join("s.db")
}

/// The token printed on the last line of `token create`.
fn created_token(output: &str) -> String {
    output.lines().last().unwrap().trim().to_owned()
}

/// The OS user the command line runs as in these tests, which the audit log names.
const OS_USER: &str = "auditor";

/// `run_ok` as `OS_USER`.
fn run_as_os_user(args: &[&str]) -> String {
    let output = binary().args(args).env("USER", OS_USER).output().unwrap();
    assert!(
        output.status.success(),
        "`sessionscope {}` failed: {}",
        args.join(" "),
        text(&output.stderr)
    );
    text(&output.stdout)
}

fn add_user(database: &Path, name: &str, role: &str, password: &str) {
    let mut child = binary()
        .env("USER", OS_USER)
        .args([
            "user",
            "add",
            name,
            "--role",
            role,
            "--password-stdin",
            "--db",
        ])
        .arg(database)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    assert!(child.wait().unwrap().success(), "user add {name} failed");
}

#[test]
fn a_second_token_can_be_created_with_the_documented_command() {
    let directory = tempfile::tempdir().unwrap();
    let database = store_in(&directory);
    let db = path_str(&database);
    let first = run_ok(&["token", "create", "--role", "analyst", "--db", db]);
    let second = run_ok(&["token", "create", "--role", "api_developer", "--db", db]);
    let third = run_ok(&["token", "create", "--role", "analyst", "--db", db]);
    assert!(first.contains("`analyst-1`"), "{first}");
    assert!(second.contains("`api_developer-1`"), "{second}");
    assert!(third.contains("`analyst-2`"), "{third}");
    let tokens = [&first, &second, &third].map(|output| created_token(output));
    assert!(tokens.iter().all(|token| token.starts_with("sst_")));

    // An explicit name still works, and a taken one is a clear error.
    run_ok(&[
        "token",
        "create",
        "--role",
        "ingest",
        "--name",
        "capture-1",
        "--db",
        db,
    ]);
    let duplicate = run(&[
        "token",
        "create",
        "--role",
        "ingest",
        "--name",
        "capture-1",
        "--db",
        db,
    ]);
    assert!(!duplicate.status.success());
    let message = text(&duplicate.stderr);
    assert!(message.contains("`capture-1` already exists"), "{message}");

    // The list names every token with its role, and never shows a token or its hash.
    let list = run_ok(&["token", "list", "--db", db]);
    for name in ["analyst-1", "analyst-2", "api_developer-1", "capture-1"] {
        assert!(list.contains(name), "{list}");
    }
    assert!(list.contains("LAST USED"), "{list}");
    for token in &tokens {
        assert!(!list.contains(token.as_str()));
        assert!(!list.contains(&sessionscope_store::token_hash(token)));
    }
}

#[test]
fn a_revoked_token_is_refused_by_a_running_server_at_once() {
    let directory = tempfile::tempdir().unwrap();
    let database = store_in(&directory);
    let db = path_str(&database);
    let server = Server::start(&["--db", path_str(&database)]);
    let token = created_token(&run_ok(&["token", "create", "--role", "admin", "--db", db]));
    // Used a few times first, so any cache in the server would hold it.
    for _ in 0..3 {
        assert_eq!(get(&server, "/api/v1/me", &token).status(), 200);
    }
    // The server records when the token was last used (written beside the answer, so wait for it).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let list = run_ok(&["token", "list", "--db", db]);
        let row = list
            .lines()
            .find(|line| line.starts_with("admin-1"))
            .unwrap()
            .to_owned();
        if !row.trim_end().ends_with("never") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "last use never recorded: {row}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    run_ok(&["token", "revoke", "admin-1", "--db", db]);
    let refused = get(&server, "/api/v1/me", &token);
    assert_eq!(refused.status(), 401, "revoked in another process");

    let again = run(&["token", "revoke", "admin-1", "--db", db]);
    assert!(!again.status.success());
    assert!(text(&again.stderr).contains("no token `admin-1`"));
    assert!(!run_ok(&["token", "list", "--db", db]).contains("admin-1"));
}

#[test]
fn users_are_listed_removed_and_given_new_passwords_but_the_last_admin_stays() {
    let directory = tempfile::tempdir().unwrap();
    let database = store_in(&directory);
    let db = path_str(&database);
    add_user(&database, "root", "admin", "root-password-1");
    add_user(&database, "ann", "analyst", "ann-password-1");
    let list = run_ok(&["user", "list", "--db", db]);
    assert!(list.contains("root") && list.contains("ann") && list.contains("analyst"));
    assert!(!list.contains("argon2"), "{list}");

    let last = run(&["user", "remove", "root", "--db", db]);
    assert!(!last.status.success());
    assert!(
        text(&last.stderr).contains("last admin"),
        "{}",
        text(&last.stderr)
    );

    let changed = run_ok(&["user", "passwd", "ann", "--db", db]);
    let password = changed
        .lines()
        .find_map(|line| line.strip_prefix("password: "))
        .expect("a generated password is printed");
    assert!(password.len() >= 16);
    let mut child = binary()
        .args(["user", "passwd", "ann", "--password-stdin", "--db", db])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "short").unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(!output.status.success(), "a short password is refused");

    run_ok(&["user", "remove", "ann", "--db", db]);
    assert!(!run_ok(&["user", "list", "--db", db]).contains("ann"));
    let missing = run(&["user", "remove", "ann", "--db", db]);
    assert!(!missing.status.success());
    assert!(text(&missing.stderr).contains("no user `ann`"));
}

#[test]
fn every_access_change_is_in_the_audit_log_without_secrets() {
    let directory = tempfile::tempdir().unwrap();
    let database = store_in(&directory);
    let db = path_str(&database);
    add_user(&database, "root", "admin", "root-password-secret-1");
    add_user(&database, "ann", "analyst", "ann-password-secret-1");
    let token = created_token(&run_as_os_user(&[
        "token", "create", "--role", "admin", "--db", db,
    ]));
    run_as_os_user(&[
        "token", "create", "--role", "ingest", "--name", "node", "--db", db,
    ]);
    run_as_os_user(&["token", "revoke", "node", "--db", db]);
    let new_password = run_as_os_user(&["user", "passwd", "ann", "--db", db]);
    let new_password = new_password
        .lines()
        .find_map(|line| line.strip_prefix("password: "))
        .unwrap()
        .to_owned();
    run_as_os_user(&["user", "remove", "ann", "--db", db]);

    let log = run_as_os_user(&["audit", "--db", db]);
    let user = OS_USER;
    for (action, target) in [
        ("user.add", "root"),
        ("user.add", "ann"),
        ("token.create", "admin-1"),
        ("token.create", "node"),
        ("token.revoke", "node"),
        ("user.passwd", "ann"),
        ("user.remove", "ann"),
    ] {
        assert!(
            log.lines().any(|line| line.contains(action)
                && line.contains(target)
                && line.contains(&format!("cli:{user}"))),
            "no {action} {target} by cli:{user} in\n{log}"
        );
    }
    // Newest first.
    let first_event = log.lines().nth(1).unwrap();
    assert!(first_event.contains("user.remove"), "{log}");
    for secret in [
        token.as_str(),
        &sessionscope_store::token_hash(&token),
        "root-password-secret-1",
        "ann-password-secret-1",
        &new_password,
        "argon2",
    ] {
        assert!(!log.contains(secret), "the audit log shows a secret");
    }

    // The same log through the API, for admins only.
    let server = Server::start(&["--db", path_str(&database)]);
    let answer = get(&server, "/api/v1/audit?limit=3", &token);
    assert_eq!(answer.status(), 200);
    let body: serde_json::Value = answer.json().unwrap();
    let events = body["events"].as_array().unwrap();
    assert_eq!(events.len(), 3);
    // `serve` saved the first version of the analysis settings as it started.
    assert_eq!(events[0]["action"], "config.change");
    assert!(events[0]["config_change"].as_i64().is_some());
    assert_eq!(events[1]["action"], "user.remove");
    assert_eq!(events[1]["who"], format!("cli:{user}"));
    assert_eq!(events[1]["target"], "ann");
    let analyst = created_token(&run_as_os_user(&[
        "token", "create", "--role", "analyst", "--db", db,
    ]));
    assert_eq!(get(&server, "/api/v1/audit", &analyst).status(), 403);
}
