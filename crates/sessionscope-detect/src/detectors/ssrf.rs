//! Server-side request forgery and remote file inclusion: every URL in a value is taken apart and
//! its host judged as a resolver would — loopback, private, link-local and metadata addresses, IPv4
//! written in decimal, hex, octal or shortened form, IPv6 loopback and mapped forms, names that
//! resolve to internal addresses (`localhost`, `*.nip.io` with an embedded private address), and
//! schemes that reach internal services or files. Bare hosts count only in URL-like parameters.

use std::net::Ipv4Addr;

use crate::features::{COLON, SLASH};
use crate::finding::AttackKind;
use crate::scan::{Hit, Origin, Subject};

/// Schemes that let a server-side fetch reach internal services or files.
const DANGEROUS_SCHEMES: &[&str] = &[
    "file", "gopher", "dict", "ldap", "ldaps", "tftp", "jar", "netdoc", "sftp", "smb", "rmi",
    "redis", "memcache", "mysql", "postgres", "mongodb", "iiop", "corba",
];

/// Host names that are internal wherever they are resolved.
const INTERNAL_NAMES: &[&str] = &[
    "localhost",
    "localtest.me",
    "metadata.google.internal",
    "metadata",
    "instance-data",
    "kubernetes.default",
    "kubernetes.default.svc",
    "0",
    "[::]",
    "[::1]",
    "ip6-localhost",
    "ip6-loopback",
    "localhost.localdomain",
];

/// Out-of-band interaction domains used to confirm blind SSRF.
const CALLBACK_DOMAINS: &[&str] = &[
    "burpcollaborator.net",
    "oastify.com",
    "interact.sh",
    "oast.pro",
    "oast.live",
    "oast.site",
    "oast.online",
    "oast.fun",
    "oast.me",
    "requestbin.net",
    "canarytokens.com",
    "dnslog.cn",
    "ceye.io",
    "pipedream.net",
];

/// Wildcard DNS services that resolve a name to the address written inside it.
const REFLECTING_DOMAINS: &[&str] = &["nip.io", "xip.io", "sslip.io", "localtest.me", "lvh.me"];

/// Names of parameters whose values are fetched or followed by the server.
const URL_PARAMETER_WORDS: &[&str] = &[
    "url", "uri", "host", "hostname", "target", "callback", "webhook", "endpoint", "dest", "src",
    "source", "feed", "proxy", "server", "domain", "site", "image", "imageurl", "link", "fetch",
    "load", "remote", "address", "addr", "ip", "redirect", "path", "file", "page", "document",
];

/// An IPv4 address as `inet_aton` reads it: one to four parts, each decimal, octal (leading 0)
/// or hex (0x). Returns the address and whether it was written in an unusual form.
pub(crate) fn parse_loose_ipv4(host: &str) -> Option<(Ipv4Addr, bool)> {
    if host.is_empty() || host.len() > 40 {
        return None;
    }
    let parts: Vec<&str> = host.split('.').collect();
    if parts.len() > 4 || parts.iter().any(|part| part.is_empty()) {
        return None;
    }
    let mut values = Vec::with_capacity(4);
    let mut unusual = parts.len() != 4;
    for part in &parts {
        let lower = part.to_ascii_lowercase();
        let (digits, radix) = if let Some(hex) = lower.strip_prefix("0x") {
            unusual = true;
            (hex.to_string(), 16)
        } else if lower.len() > 1 && lower.starts_with('0') {
            unusual = true;
            (lower[1..].to_string(), 8)
        } else {
            (lower.clone(), 10)
        };
        let value = if digits.is_empty() {
            0
        } else {
            u64::from_str_radix(&digits, radix).ok()?
        };
        values.push(value);
    }
    let last_index = values.len() - 1;
    let mut address: u64 = 0;
    for (index, value) in values.iter().enumerate() {
        if index < last_index {
            if *value > 255 {
                return None;
            }
            address |= value << (8 * (3 - index));
        } else {
            let room = 8 * (4 - index) as u32;
            if *value >= 1u64 << room {
                return None;
            }
            address |= value;
        }
    }
    Some((Ipv4Addr::from(address as u32), unusual))
}

fn is_internal_ipv4(address: Ipv4Addr) -> bool {
    let octets = address.octets();
    address.is_loopback()
        || address.is_private()
        || address.is_link_local()
        || address.is_unspecified()
        || octets[0] == 0
        || (octets[0] == 100 && (64..128).contains(&octets[1]))
        || address == Ipv4Addr::new(100, 100, 100, 200)
        || (octets[0] == 192 && octets[1] == 0 && octets[2] == 0)
        || (octets[0] == 198 && (octets[1] == 18 || octets[1] == 19))
}

fn is_internal_ipv6(inner: &str) -> bool {
    let Ok(address) = inner.parse::<std::net::Ipv6Addr>() else {
        return false;
    };
    if address.is_loopback() || address.is_unspecified() {
        return true;
    }
    if let Some(mapped) = address.to_ipv4_mapped() {
        return is_internal_ipv4(mapped);
    }
    let first = address.segments()[0];
    // Unique local (fc00::/7, e.g. the AWS metadata fd00:ec2::254) and link-local (fe80::/10).
    (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfe80
}

/// How a host is to be judged.
#[derive(Debug, PartialEq, Eq)]
enum HostVerdict {
    Internal,
    Obfuscated,
    Callback,
    PublicAddress,
    Name,
}

fn judge_host(host: &str) -> HostVerdict {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host.is_empty() {
        return HostVerdict::Name;
    }
    if let Some(inner) = host
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
    {
        return if is_internal_ipv6(inner) {
            HostVerdict::Internal
        } else {
            HostVerdict::PublicAddress
        };
    }
    if INTERNAL_NAMES.contains(&host.as_str())
        || host.ends_with(".localhost")
        || host.ends_with(".internal")
    {
        return HostVerdict::Internal;
    }
    if let Some((address, unusual)) = parse_loose_ipv4(&host) {
        return match (is_internal_ipv4(address), unusual) {
            (true, _) => HostVerdict::Internal,
            (false, true) => HostVerdict::Obfuscated,
            (false, false) => HostVerdict::PublicAddress,
        };
    }
    // `example.com.127.0.0.1`: resolvers that try the trailing labels as an address.
    let labels: Vec<&str> = host.rsplitn(5, '.').collect();
    if labels.len() == 5
        && labels[..4]
            .iter()
            .all(|label| !label.is_empty() && label.bytes().all(|byte| byte.is_ascii_digit()))
    {
        let quad = format!("{}.{}.{}.{}", labels[3], labels[2], labels[1], labels[0]);
        if parse_loose_ipv4(&quad).is_some_and(|(address, _)| is_internal_ipv4(address)) {
            return HostVerdict::Internal;
        }
    }
    for domain in REFLECTING_DOMAINS {
        if host == *domain || host.ends_with(&format!(".{domain}")) {
            // `10.0.0.1.nip.io`, `app.127.0.0.1.nip.io`: look for an embedded internal address.
            let labels: Vec<&str> = host.split('.').collect();
            for window in labels.windows(4) {
                if let Some((address, _)) = parse_loose_ipv4(&window.join(".")) {
                    if is_internal_ipv4(address) {
                        return HostVerdict::Internal;
                    }
                }
            }
            if *domain == "localtest.me" || *domain == "lvh.me" {
                return HostVerdict::Internal;
            }
        }
    }
    if CALLBACK_DOMAINS
        .iter()
        .any(|domain| host == *domain || host.ends_with(&format!(".{domain}")))
    {
        return HostVerdict::Callback;
    }
    HostVerdict::Name
}

/// The hosts named by an authority (`user@host:port`), including the user-information part, since
/// parsers disagree about which `@` ends it (`a@b@c`, `a\@b`).
fn authority_hosts(authority: &str) -> Vec<&str> {
    let mut hosts = Vec::new();
    for piece in authority.split(['@', '\\', '#', '?', '&', ';']) {
        let host = strip_port(piece.trim());
        if !host.is_empty() {
            hosts.push(host);
        }
    }
    hosts
}

fn strip_port(piece: &str) -> &str {
    if piece.starts_with('[') {
        return match piece.find(']') {
            Some(close) => &piece[..=close],
            None => piece,
        };
    }
    match piece.find(':') {
        Some(colon) => &piece[..colon],
        None => piece,
    }
}

/// The authority after `://` (or a leading `//`), up to the path.
fn authority_at(text: &str, start: usize) -> &str {
    let rest = &text[start..];
    let end = rest
        .find(|character: char| {
            matches!(
                character,
                '/' | ' ' | '\t' | '\r' | '\n' | '"' | '\'' | '<' | '>'
            ) || character.is_control()
        })
        .unwrap_or(rest.len());
    &rest[..end]
}

fn judge_authority(text: &str, authority_start: usize, scheme_start: usize) -> Option<Hit> {
    let authority = authority_at(text, authority_start);
    let end = authority_start + authority.len();
    for host in authority_hosts(authority) {
        let rule = match judge_host(host) {
            HostVerdict::Internal => "ssrf.internal-address",
            HostVerdict::Obfuscated => "ssrf.obfuscated-address",
            HostVerdict::Callback => "ssrf.remote-include",
            HostVerdict::PublicAddress | HostVerdict::Name => continue,
        };
        return Some(Hit::new(AttackKind::Ssrf, rule, scheme_start, end));
    }
    None
}

fn url_like_parameter(name: &str) -> bool {
    let lowered: String = name
        .chars()
        .filter(|character| character.is_ascii_alphanumeric())
        .map(|character| character.to_ascii_lowercase())
        .collect();
    URL_PARAMETER_WORDS
        .iter()
        .any(|word| lowered == *word || lowered.ends_with(word) && lowered.len() <= word.len() + 8)
}

pub(crate) fn detect(subject: &Subject<'_>) -> Option<Hit> {
    let text = subject.text;
    let features = subject.features;
    if !features.has(COLON | SLASH) && !url_like_parameter(subject.name) {
        return None;
    }
    // A Referer or forwarding header naming an internal address is how proxies work.
    if text.len() < 3 || subject.origin == Origin::Header {
        return None;
    }
    let bytes = text.as_bytes();
    for (colon, _) in text.match_indices(':') {
        let scheme_start = bytes[..colon]
            .iter()
            .rposition(|byte| !(byte.is_ascii_alphanumeric() || matches!(byte, b'+' | b'-' | b'.')))
            .map_or(0, |position| position + 1);
        let scheme = text[scheme_start..colon].to_ascii_lowercase();
        let after = &text[colon + 1..];
        if DANGEROUS_SCHEMES.contains(&scheme.as_str())
            && (after.starts_with('/') || scheme == "jar")
        {
            return Some(Hit::new(
                AttackKind::Ssrf,
                "ssrf.dangerous-scheme",
                scheme_start,
                (colon + 3).min(text.len()),
            ));
        }
        if !after.starts_with("//") || scheme.is_empty() {
            continue;
        }
        let authority_start = colon + 3;
        if let Some(hit) = judge_authority(text, authority_start, scheme_start) {
            return Some(hit);
        }
        // Remote file inclusion: a fetched URL on a raw public IP, or one that ends in `?` so
        // the server's own suffix is cut off.
        if scheme_start == 0 && matches!(scheme.as_str(), "http" | "https" | "ftp" | "ftps") {
            let authority = authority_at(text, authority_start);
            let host = strip_port(authority.rsplit('@').next().unwrap_or(authority));
            let public_ip = parse_loose_ipv4(host).is_some();
            let ends_with_question =
                text.trim_end().ends_with('?') && text[authority_start..].contains('/');
            if public_ip || ends_with_question {
                return Some(Hit::new(
                    AttackKind::Ssrf,
                    "ssrf.remote-include",
                    0,
                    text.len(),
                ));
            }
        }
    }
    // Scheme-relative `//host` and bare hosts: only where the value is meant as an address.
    let trimmed = text.trim();
    if let Some(rest) = trimmed.strip_prefix("//") {
        let offset = text.len() - rest.len();
        if let Some(hit) = judge_authority(text, offset, 0) {
            return Some(hit);
        }
    }
    if url_like_parameter(subject.name) && !trimmed.contains("://") {
        let authority = authority_at(trimmed, 0);
        // A bare host is the whole value, or the value up to a path: `0" AND ...` in a `url`
        // parameter is an injection attempt, not the address 0.0.0.0.
        if !matches!(trimmed[authority.len()..].chars().next(), None | Some('/')) {
            return None;
        }
        for host in authority_hosts(authority) {
            if matches!(
                judge_host(host),
                HostVerdict::Internal | HostVerdict::Obfuscated
            ) {
                return Some(Hit::new(
                    AttackKind::Ssrf,
                    "ssrf.internal-address",
                    0,
                    authority.len(),
                ));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::{check, query_subject};

    #[test]
    fn loose_ipv4_forms_parse_like_inet_aton() {
        let cases = [
            ("127.0.0.1", Some(([127, 0, 0, 1], false))),
            ("2130706433", Some(([127, 0, 0, 1], true))),
            ("0x7f000001", Some(([127, 0, 0, 1], true))),
            ("017700000001", Some(([127, 0, 0, 1], true))),
            ("0177.0.0.1", Some(([127, 0, 0, 1], true))),
            ("127.1", Some(([127, 0, 0, 1], true))),
            ("10.0.1", Some(([10, 0, 0, 1], true))),
            ("256.1.1.1", None),
            ("shop.example", None),
        ];
        for (host, expected) in cases {
            let parsed =
                parse_loose_ipv4(host).map(|(address, unusual)| (address.octets(), unusual));
            assert_eq!(parsed, expected, "{host}");
        }
    }

    #[test]
    fn internal_urls_are_found() {
        check(
            detect,
            &[
                "http://127.0.0.1:8080/admin",
                "http://169.254.169.254/latest/meta-data/",
                "http://[::1]/",
                "http://[0:0:0:0:0:ffff:127.0.0.1]/",
                "http://2130706433/",
                "http://0x7f000001/",
                "http://example.com@127.0.0.1/",
                "http://localhost#@example.com",
                "http://customer1.app.127.0.0.1.nip.io/",
                "http://①②⑦.⓪.⓪.①/",
                "gopher://internal:6379/_INFO",
                "dict://127.0.0.1:11211/stats",
                "file:///etc/passwd",
                "http://metadata.google.internal/computeMetadata/v1/",
                "http://10.0.0.5/",
                "https://evil.example/shell.txt?",
                "http://203.0.113.9/shell.txt",
                "http://x.oastify.com/",
                "http://example.com.127.0.0.1/",
            ],
            &[
                "https://shop.example/p/1",
                "http://example.com/a:b",
                "meeting at 10:30",
                "https://cdn.example.com/img.png",
                "mailto:ann@example.com",
                "127.0.0.1",
                "ratio 1:2",
            ],
        );
    }

    #[test]
    fn bare_hosts_count_only_in_url_parameters() {
        assert!(detect(&query_subject("callback_url", "localhost:11211")).is_some());
        assert!(detect(&query_subject("host", "127.0.0.1")).is_some());
        assert!(detect(&query_subject("comment", "localhost")).is_none());
        assert!(detect(&query_subject("host", "api.shop.example")).is_none());
        assert!(detect(&query_subject("url", "10.0.0.5/admin")).is_some());
        assert!(detect(&query_subject("url", "0\" AND (SELECT 1 FROM admin)='$'#")).is_none());
        assert!(detect(&query_subject("url", "0 or 1=1")).is_none());
    }
}
