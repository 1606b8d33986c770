//! Scanners and attack tools: their User-Agent names, and request paths that only a scanner asks
//! for (version-control data, secrets files, backup dumps, admin and management interfaces).

use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};

use crate::finding::AttackKind;
use crate::scan::Hit;

/// Tool names as they appear in User-Agent headers.
const SCANNER_AGENTS: &[&str] = &[
    "sqlmap",
    "nikto",
    "nmap scripting engine",
    "nmap",
    "masscan",
    "zgrab",
    "nuclei",
    "acunetix",
    "wpscan",
    "dirbuster",
    "gobuster",
    "ffuf",
    "feroxbuster",
    "wfuzz",
    "hydra",
    "arachni",
    "skipfish",
    "netsparker",
    "invicti",
    "w3af",
    "openvas",
    "nessus",
    "qualys",
    "jaeles",
    "whatweb",
    "commix",
    "xsstrike",
    "dirb/",
    "owasp zap",
    "zaproxy",
    "appscan",
    "webinspect",
    "paros",
    "havij",
    "pangolin",
    "fimap",
    "sqlninja",
    "bbqsql",
    "nosqlmap",
    "metasploit",
    "morfeus",
    "zmeu",
    "l9explore",
    "l9tcpid",
    "interactsh",
    "burp collaborator",
    "burpsuite",
    "wapiti",
    "vega/",
    "grabber",
    "jorgee",
    "dotdotpwn",
    "gospider",
    "hakrawler",
    "katana/",
    "xray",
    "tsunami",
    "detectify",
    "intruder.io",
    "projectdiscovery",
    "httpx - open-source",
    "cgichk",
    "webshag",
    "brutus",
    "medusa",
    "ncrack",
    "censysinspect",
    "zmap",
    "fuzz faster",
];

/// Case-sensitive over a lowercased copy: that lets the automaton use its fast literal prefilter,
/// and this runs on the User-Agent of every request.
static AGENT_FINDER: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasickBuilder::new()
        .kind(Some(AhoCorasickKind::DFA))
        .match_kind(MatchKind::LeftmostFirst)
        .build(SCANNER_AGENTS)
        .expect("static scanner list builds")
});

/// Path pieces that scanners probe. Each must sit at a segment boundary (checked below).
const PROBE_PATHS: &[&str] = &[
    "/.git/",
    "/.git",
    "/.svn/",
    "/.svn",
    "/.hg/",
    "/.bzr/",
    "/.env",
    "/.ds_store",
    "/.aws/",
    "/.ssh/",
    "/.htpasswd",
    "/.htaccess",
    "/.npmrc",
    "/.dockercfg",
    "/.docker/",
    "/.kube/",
    "/.vscode/",
    "/.idea/",
    "/web.config",
    "/wp-admin",
    "/wp-login.php",
    "/xmlrpc.php",
    "/wp-config.php",
    "/wp-includes/",
    "/phpmyadmin",
    "/pma/",
    "/myadmin/",
    "/mysqladmin",
    "/adminer.php",
    "/adminer/",
    "/server-status",
    "/server-info",
    "/actuator/",
    "/actuator",
    "/jolokia",
    "/jmx-console",
    "/web-console",
    "/manager/html",
    "/manager/text",
    "/host-manager",
    "/admin-console",
    "/_profiler",
    "/debug/pprof",
    "/phpinfo.php",
    "/info.php",
    "/test.php",
    "/cgi-bin/",
    "/vendor/phpunit",
    "/boaform",
    "/hnap1",
    "/_ignition",
    "/telescope/requests",
    "/solr/admin",
    "/config.php.bak",
    "/backup.sql",
    "/dump.sql",
    "/db.sql",
    "/database.sql",
    "/backup.zip",
    "/backup.tar.gz",
    "/site.tar.gz",
    "/www.zip",
    "/shell.php",
    "/cmd.php",
    "/c99.php",
    "/r57.php",
    "/wso.php",
    "/.bash_history",
    "/id_rsa",
    "/heapdump",
    "/threaddump",
    "/druid/index.html",
    "/console/login/loginform.jsp",
    "/invoker/jmxinvokerservlet",
    "/hudson/script",
    "/jenkins/script",
    "/setup.php",
    "/install.php",
    "/elmah.axd",
    "/trace.axd",
    "/_vti_bin/",
    "/_vti_pvt/",
    "/nmaplowercheck",
    "/evox/about",
    "/owa/auth/x.js",
    "/.well-known/security.txt.bak",
    "/crossdomain.xml.bak",
    "/debug/vars",
    "/swagger-resources/../",
    "/v2/_catalog",
    "/.circleci/",
    "/.travis.yml",
    "/docker-compose.yml",
    "/composer.json",
    "/composer.lock",
    "/package-lock.json",
    "/yarn.lock",
    "/config.json.bak",
    "/settings.py",
    "/credentials.json",
    "/secrets.json",
    "/.terraform/",
];

static PROBE_FINDER: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasickBuilder::new()
        .kind(Some(AhoCorasickKind::DFA))
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::LeftmostLongest)
        .build(PROBE_PATHS)
        .expect("static probe list builds")
});

/// Every probe is a `/` and at least four more characters, so a path can hold one only where a
/// `/` is followed by the first four characters of some probe. This set of those starts (by a
/// small hash of the four lowercased bytes; a collision only costs a search) turns down nearly
/// every API path without running the automaton, which would stop at every `/` of it.
struct ProbeStarts([u64; ProbeStarts::WORDS]);

impl ProbeStarts {
    const WORDS: usize = 64;

    fn slot(start: [u8; 4]) -> usize {
        let hash = start.iter().fold(0, |hash, byte| {
            hash * 31 + usize::from(byte.to_ascii_lowercase())
        });
        hash % (Self::WORDS * 64)
    }

    fn new(probes: &[&str]) -> ProbeStarts {
        let mut bits = [0u64; Self::WORDS];
        for probe in probes {
            let bytes = probe.as_bytes();
            assert!(
                bytes.len() >= 5 && bytes[0] == b'/',
                "probe {probe} starts with / and 4 more"
            );
            let slot = Self::slot([bytes[1], bytes[2], bytes[3], bytes[4]]);
            bits[slot / 64] |= 1 << (slot % 64);
        }
        ProbeStarts(bits)
    }

    /// False when no probe can start at any `/` of `path`.
    fn may_hold_probe(&self, path: &[u8]) -> bool {
        memchr::memchr_iter(b'/', path).any(|index| {
            path.get(index + 1..index + 5).is_some_and(|start| {
                let slot = Self::slot([start[0], start[1], start[2], start[3]]);
                self.0[slot / 64] & (1 << (slot % 64)) != 0
            })
        })
    }
}

static PROBE_STARTS: LazyLock<ProbeStarts> = LazyLock::new(|| ProbeStarts::new(PROBE_PATHS));

/// Management endpoints that are probed but also polled legitimately by load balancers.
const HARMLESS_ACTUATORS: &[&str] = &["/actuator/health", "/actuator/info", "/actuator/prometheus"];

pub(crate) fn user_agent(value: &str) -> Option<Hit> {
    let mut lowered = [0u8; 512];
    let length = value.len().min(lowered.len());
    for (target, source) in lowered.iter_mut().zip(value.as_bytes()) {
        *target = source.to_ascii_lowercase();
    }
    let found = AGENT_FINDER.find(&lowered[..length])?;
    Some(Hit::over(
        AttackKind::Scanner,
        "scanner.user-agent",
        found.range(),
    ))
}

pub(crate) fn probe_path(path: &str) -> Option<Hit> {
    let bytes = path.as_bytes();
    if !PROBE_STARTS.may_hold_probe(bytes) {
        return None;
    }
    for found in PROBE_FINDER.find_iter(path) {
        let pattern = PROBE_PATHS[found.pattern().as_usize()];
        // The probe must end at a segment boundary unless it is itself a directory prefix.
        let boundary = pattern.ends_with('/')
            || found.end() == bytes.len()
            || matches!(bytes[found.end()], b'/' | b'?' | b'#' | b'.' | b';' | b'~');
        if !boundary {
            continue;
        }
        let rest = &path[found.start()..];
        if HARMLESS_ACTUATORS.iter().any(|harmless| {
            rest.len() >= harmless.len()
                && rest[..harmless.len()].eq_ignore_ascii_case(harmless)
                && matches!(
                    rest.as_bytes().get(harmless.len()),
                    None | Some(b'/') | Some(b'?')
                )
        }) {
            continue;
        }
        return Some(Hit::over(
            AttackKind::Scanner,
            "scanner.probe-path",
            found.range(),
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scanner_user_agents_are_found() {
        for agent in [
            "sqlmap/1.7.2#stable (https://sqlmap.org)",
            "Mozilla/5.00 (Nikto/2.1.6) (Evasions:None) (Test:000001)",
            "Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)",
            "Fuzz Faster U Fool v2.1.0",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Nuclei",
        ] {
            assert!(user_agent(agent).is_some(), "{agent}");
        }
        for agent in [
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
            "curl/8.5.0",
            "okhttp/4.12.0",
            "Googlebot/2.1 (+http://www.google.com/bot.html)",
        ] {
            assert!(user_agent(agent).is_none(), "{agent}");
        }
    }

    #[test]
    fn the_start_gate_lets_through_every_probe_anywhere_in_a_path() {
        for probe in PROBE_PATHS {
            let upper = probe.to_ascii_uppercase();
            for path in [
                probe.to_string(),
                format!("/api/v1{probe}"),
                format!("/x{upper}"),
            ] {
                assert!(PROBE_STARTS.may_hold_probe(path.as_bytes()), "{path}");
            }
        }
        // The paths of an ordinary API are turned down before the automaton runs.
        let api = [
            "/v1/orders/b62274ef-a502-4919-8524-b974b069d40e",
            "/v1/products/1324",
            "/api/users/7/payments",
            "/",
            "",
        ];
        for path in api {
            assert!(!PROBE_STARTS.may_hold_probe(path.as_bytes()), "{path}");
        }
    }

    #[test]
    fn probe_paths_are_found_at_segment_boundaries() {
        for path in [
            "/.git/config",
            "/.env",
            "/app/.env.production",
            "/wp-admin/install.php",
            "/actuator/env",
            "/actuator/heapdump",
            "/phpmyadmin/index.php",
            "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php",
            "/server-status",
            "/backup.sql",
        ] {
            assert!(probe_path(path).is_some(), "{path}");
        }
        for path in [
            "/api/v1/users/7",
            "/actuator/health",
            "/environment/settings",
            "/gitlab/projects",
            "/docs/.github-guide",
            "/api/envelopes",
        ] {
            assert!(probe_path(path).is_none(), "{path}");
        }
    }
}
