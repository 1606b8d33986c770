//! Path traversal and local file inclusion: `..` path segments after decoding (either slash, the
//! filter-bypass forms `....//` and `..;/`), well-known sensitive files and system directories,
//! PHP stream wrappers, and NUL bytes that cut a file name short.

use std::sync::LazyLock;

use regex::Regex;

use crate::features::{BACKSLASH, COLON, CONTROL, DOT, NON_ASCII, PERCENT, SLASH};
use crate::finding::AttackKind;
use crate::scan::{Hit, Subject};

static DOT_DOT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[/\\;])\.{2,}[/\\;]|[/\\]\.\.(?:[/\\;]|$)")
        .expect("static ptrav rule compiles")
});

static SENSITIVE_FILE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?:^|[/\\:=\s'(]|\x00|\.\.)(?:etc[/\\](?:passwd|shadow|group|hosts|issue|motd|crontab|sudoers|fstab|mtab|hostname|resolv\.conf|apache2?[/\\]|httpd[/\\]|nginx[/\\]|mysql[/\\]|ssh[/\\]|php[0-9.]*[/\\]|environment|profile|security[/\\]|network[/\\]|init\.d[/\\]|master\.passwd|pwd\.db|spwd\.db|inetd\.conf|syslog\.conf|my\.cnf|lighttpd|vsftpd|proftpd|cups[/\\]|samba[/\\]|xinetd|aliases|ld\.so|redhat-release|debian_version|lsb-release|os-release|shells|exports|netconfig|knockd|login\.defs|modules|ftpusers)|proc[/\\](?:self|version|cmdline|mounts|net[/\\]|sched_debug|cpuinfo|meminfo|\d+[/\\])|var[/\\](?:log|mail|spool|lib[/\\]mysql|run|www[/\\](?:html[/\\])?\S*\.(?:php|conf|log|ini))|root[/\\]|(?:windows|winnt)[/\\](?:win\.ini|system\.ini|system32|repair|debug|panther|php\.ini|iis|windowsupdate\.log|temp)|boot\.ini|win\.ini|system32[/\\]|\.htaccess|\.htpasswd|web\.config|wp-config\.php|\.ssh[/\\]|id_[rd]sa|authorized_keys|known_hosts|\.bash_history|\.bash_profile|\.bashrc|\.zsh_history|\.mysql_history|web-inf[/\\]|meta-inf[/\\]|php\.ini|httpd\.conf|httpd-vhosts\.conf|usr[/\\]local[/\\](?:apache|etc|lib|www)|sys[/\\](?:class|kernel|power)|dev[/\\](?:null|zero|random|urandom|tcp|udp|stdin|stdout|fd)|inetpub[/\\]|xampp[/\\]|wamp[/\\]|(?:^|[/\\])\.env(?:\.\w+)?$|config\.inc\.php|localsettings\.php|configuration\.php|settings\.py|database\.yml|applicationhost\.config|sam$|ntuser\.dat|pagefile\.sys|hiberfil\.sys|access[._]log|error[._]log)",
    )
    .expect("static ptrav rule compiles")
});

/// The classic targets with the separator disguised as anything short that is not a letter
/// (`etc%c0%afpasswd`, `etc0x2fpasswd`, `windows∖win.ini`): the file name gives it away.
static DISGUISED_TARGET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)etc(?:[^a-z0-9\s]|0x[25][fc]|%[0-9a-z]{1,2}){1,16}(?:passwd|shadow|issue|hosts|group|master\.passwd)\b|\b(?:windows|winnt)(?:[^a-z0-9\s]|0x[25][fc]|%[0-9a-z]{1,2}){1,16}(?:win\.ini|system\.ini|system32)\b")
        .expect("static ptrav rule compiles")
});

static PHP_WRAPPER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:php|phar|zip|expect|glob|compress\.zlib|compress\.bzip2|zlib|ogg|rar|ssh2\.\w+)://|\bdata:(?://)?text/plain|\bconvert\.(?:base64|iconv|quoted)|\bstring\.(?:rot13|toupper|tolower)|\bfile:/")
        .expect("static ptrav rule compiles")
});

/// `..X..X..X`: the same short separator after `..` three times or more, whatever the separator
/// is encoded as (`..%c0%af`, `..0x2f`, `..%u2215`): the climbing shape is the attack.
fn repeated_climb(text: &str) -> Option<(usize, usize)> {
    let positions: Vec<usize> = text.match_indices("..").map(|(at, _)| at).collect();
    if positions.len() < 3 {
        return None;
    }
    let mut previous_separator: Option<&str> = None;
    let mut repeats = 0;
    let mut first = positions[0];
    for pair in positions.windows(2) {
        let (here, next) = (pair[0], pair[1]);
        if next < here + 2 {
            continue;
        }
        let separator = &text[here + 2..next];
        let plausible = !separator.is_empty()
            && separator.len() <= 16
            && !separator.starts_with('.')
            && !separator.bytes().all(|byte| byte.is_ascii_alphabetic());
        if plausible && previous_separator == Some(separator) {
            repeats += 1;
            if repeats >= 1 {
                return Some((first, next + 2));
            }
        } else {
            repeats = 0;
            first = here;
        }
        previous_separator = plausible.then_some(separator);
    }
    None
}

pub(crate) fn detect(subject: &Subject<'_>) -> Option<Hit> {
    let text = subject.text;
    let features = subject.features;
    if !features.has(DOT | SLASH | BACKSLASH | COLON | CONTROL | NON_ASCII | PERCENT)
        || text.len() < 3
    {
        return None;
    }
    // A Referer is a URL of the site itself; its path is the site's business.
    if subject.origin == crate::scan::Origin::Header && !text.contains("..") {
        return None;
    }
    if features.has(DOT) && features.has(SLASH | BACKSLASH | CONTROL) && text.contains("..") {
        if let Some(found) = DOT_DOT.find(text) {
            return Some(Hit::over(AttackKind::Ptrav, "ptrav.dot-dot", found.range()));
        }
    }
    if features.has(DOT) {
        if let Some((start, end)) = repeated_climb(text) {
            return Some(Hit::new(AttackKind::Ptrav, "ptrav.dot-dot", start, end));
        }
    }
    // The request path names the server's own files; only climbing out of it is an attack there
    // (a path that merely names /etc/passwd is a scanner probe, reported as such).
    if subject.origin == crate::scan::Origin::Path {
        return None;
    }
    if features.has(COLON) {
        if let Some(found) = PHP_WRAPPER.find(text) {
            return Some(Hit::over(
                AttackKind::Ptrav,
                "ptrav.php-wrapper",
                found.range(),
            ));
        }
    }
    if features.has(SLASH | BACKSLASH | DOT) {
        if let Some(found) = SENSITIVE_FILE.find(text) {
            return Some(Hit::over(
                AttackKind::Ptrav,
                "ptrav.sensitive-file",
                found.range(),
            ));
        }
    }
    if features.has(NON_ASCII | PERCENT | DOT | BACKSLASH | SLASH) {
        if let Some(found) = DISGUISED_TARGET.find(text) {
            return Some(Hit::over(
                AttackKind::Ptrav,
                "ptrav.sensitive-file",
                found.range(),
            ));
        }
    }
    if features.has(CONTROL) {
        if let Some(nul) = memchr::memchr(0, text.as_bytes()) {
            let before = &text[..nul];
            if before.contains(['/', '\\', '.']) {
                return Some(Hit::new(AttackKind::Ptrav, "ptrav.null-byte", 0, nul + 1));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::check;

    #[test]
    fn path_traversal_is_found() {
        check(
            detect,
            &[
                "../../../etc/passwd",
                "..\\..\\windows\\win.ini",
                "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
                "%252e%252e%252fetc",
                "..%c0%af..%c0%afetc",
                "....//....//etc/hosts",
                "/etc/shadow",
                "php://filter/convert.base64-encode/resource=index.php",
                "file:///etc/passwd",
                "C:\\boot.ini",
                "/proc/self/environ",
                "image.png%00.php/../x",
                "/var/www/html/wp-config.php",
                "..;/admin",
                "WEB-INF/web.xml",
                "..%u2215..%u2215..%u2215etc%u2215passwd",
                "..0x2f..0x2f..0x2fboot.ini",
                "..%c0%9v..%c0%9v..%c0%9vetc",
                "??%c1%8s??%c1%8setc%c1%8spasswd",
            ],
            &[
                "report.v2.final.pdf",
                "wait...",
                "...",
                "/api/v1/users/7",
                "john.doe@example.com",
                "C:\\Users\\ann\\Desktop\\photo.jpg",
                "3.14159",
                "https://shop.example/etc/index.html",
                "the environment is fine",
                "/home/docs/readme.md",
                "a..b..c..d",
                "the etc. passwords policy",
                "1..2, 3..4, 5..6",
            ],
        );
    }
}
