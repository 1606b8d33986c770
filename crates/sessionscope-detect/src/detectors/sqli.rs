//! SQL injection: libinjection's tokenizer and fingerprints (a real SQL grammar, run in the
//! unquoted, single- and double-quoted contexts and ANSI and MySQL dialects), plus a few rules for
//! what fingerprints miss: UNION SELECT behind comments, time delays, stacked statements, catalogue
//! probes and error-based functions.

use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use regex::Regex;

use crate::features::{
    Features, BACKTICK, DASH, EQUALS, HASH, PAREN, PLUS, QUOTE, SEMICOLON, SPACE, STAR,
};
use crate::finding::AttackKind;
use crate::scan::{Hit, Origin, Subject};

/// Words without which a value of letters, digits and spaces cannot be SQL that changes a query.
const KEYWORDS: &[&str] = &[
    "union",
    "select",
    "or",
    "and",
    "xor",
    "sleep",
    "benchmark",
    "waitfor",
    "having",
    "order",
    "group",
    "exec",
    "execute",
    "drop",
    "insert",
    "delete",
    "update",
    "like",
    "rlike",
    "regexp",
    "procedure",
    "into",
    "declare",
    "limit",
    "null",
    "not",
    "div",
];

static KEYWORD_FINDER: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasickBuilder::new()
        .kind(Some(AhoCorasickKind::DFA))
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::LeftmostLongest)
        .build(KEYWORDS)
        .expect("static keyword list builds")
});

/// True when a plain value (letters, digits, spaces) holds an SQL keyword as a whole word.
pub(crate) fn has_keyword(text: &str) -> bool {
    let bytes = text.as_bytes();
    KEYWORD_FINDER.find_iter(text).any(|found| {
        let before_ok = found.start() == 0 || !bytes[found.start() - 1].is_ascii_alphanumeric();
        let after_ok = found.end() == bytes.len() || !bytes[found.end()].is_ascii_alphanumeric();
        before_ok && after_ok
    })
}

/// Space or an inline comment, as SQL accepts between words.
const GAP: &str = r"(?:\s|/\*.*?\*/|\+|\(|\)|`)";

static RULES: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
    let union_select =
        format!(r"(?i)\bunion{GAP}+(?:(?:all|distinct|distinctrow){GAP}+)?(?:select|values)\b");
    let rules: [(&str, &str); 11] = [
        ("sqli.union-select", &union_select),
        (
            "sqli.time-delay",
            r"(?i)(?:^|[^\w.])(?:(?:pg_)?sleep\s*\(\s*[\d'(@]|benchmark\s*\(\s*\d|waitfor\s+(?:delay|time)\s+'|dbms_(?:pipe\.receive_message|lock\.sleep)\s*\(|randomblob\s*\(\s*\d{6,})",
        ),
        (
            "sqli.tautology",
            r#"(?i)['"`)]\s*(?:\b(?:or|and|xor|div)\b|\|\||&&)\s*(?:not\s+)?[(\s]*['"`]?[\w@.-]+['"`]?\s*(?:=|<=>|<>|!=|>=?|<=?|\blike\b|\bis\b|\brlike\b|\bregexp\b|\bbetween\b|\bin\s*\()"#,
        ),
        (
            "sqli.tautology",
            r#"(?i)^\s*['"`)]*\s*(?:or|and|xor|having|where|\|\||&&)\s+(?:not\s+)?\(*\s*['"`]?[\w@.]+['"`]?\s*(?:=|<=>|<>|!=|>=?|<=?|\blike\b|\bis\b)|\b(?:or|and|xor|where|having)\s+\(*\s*(\d+)\s*(?:=|<>|!=|<|>)\s*\(*\s*'?\d+"#,
        ),
        (
            // A literal closed at the start of the value, then a comparison: `x'!=1`, `'=''`,
            // `1' sounds like 1`, `a' IS NOT NULL`.
            "sqli.quote-comparison",
            r#"(?i)^[\w.@-]{0,40}['"`]\s*(?:(?:!=|<>|<=>|=|<=|>=)\s*(?:['"`(@-]|\d|[a-z_]\w*|$)|(?:not\s+)?(?:r?like|regexp|sounds\s+like|between)\s+['"`(\d]|is\s+(?:not\s+)?null\s*(?:$|--|#|/\*|;|\b(?:and|or)\b))"#,
        ),
        (
            // A number, then a boolean or a pattern match that always holds: `1 or true`,
            // `1 rlike 1`.
            "sqli.tautology",
            r#"(?i)^\s*-?\d+\s+(?:(?:or|and|xor|\|\||&&)\s+(?:not\s+)?(?:true|false)\s*(?:$|--|#|/\*|;|\))|(?:r?like|regexp|sounds\s+like)\s+['"]?\d)"#,
        ),
        (
            "sqli.comment-terminator",
            r#"(?i)^\s*(?:-?\d+|@@?\w+|\w+\s*\(\s*\))\s*(?:--|#|/\*)|['"`]\s*(?:--[\s+-]*|#\s*|/\*[^*]*(?:\*/)?\s*)$|\b(?:order|group)\s+by\s+\d+\s*(?:--|#|/\*|;|,|$)|\blimit\s+\d+\s*,\s*\d+\s*(?:--|#|/\*|;|$)"#,
        ),
        (
            "sqli.union-select",
            r"(?i)\bselect\s+(?:\*|(?:top\s+\d+\s+)?[\w.()@]+(?:\s*,\s*[\w.()@]+)+|count\s*\(\s*\*?\s*\)|@@\w+|session_user|current_user|system_user|user\s*\(\s*\)|version\s*\(\s*\)|database\s*\(\s*\))\s*(?:from\b|;|$|--|#)",
        ),
        (
            "sqli.stacked-query",
            r"(?i);\s*(?:drop\s+(?:table|database|user)|insert\s+into|delete\s+from|update\s+\S+\s+set\b|truncate\s+table|exec(?:ute)?\s*(?:\(|master\.|xp_|sp_)|declare\s+@|shutdown\b|create\s+(?:table|user|procedure|function)|alter\s+(?:table|user|database)|select\s+\S+.*?\bfrom\b|grant\s+)",
        ),
        (
            "sqli.schema-probe",
            r"(?i)\b(?:information_schema|sysobjects|syscolumns|sysdatabases|sys\.(?:tables|objects|columns|databases|sql_logins)|pg_catalog|pg_shadow|pg_user|sqlite_master|mysql\.user|all_tables|user_tables|dba_users|xp_cmdshell|sp_executesql|msysobjects)\b|@@(?:version|datadir|hostname|basedir|servername|spid|language|tmpdir)\b",
        ),
        (
            "sqli.error-function",
            r"(?i)\b(?:extractvalue|updatexml|load_file|name_const|ctxsys\.drithsx\.sn|utl_inaddr\.get_host_(?:name|address)|utl_http\.request|dbms_xmlgen\.getxml|xmltype|geometrycollection|multipoint|polygon|linestring|exp\s*\(\s*~)\s*\(|\binto\s+(?:out|dump)file\b|\bconvert\s*\(\s*int\s*,|\bchr\s*\(\s*\d+\s*\)\s*\|\||\bchar\s*\(\s*\d+\s*(?:,\s*\d+\s*){2,}\)",
        ),
    ];
    rules
        .into_iter()
        .map(|(rule, pattern)| {
            (
                rule,
                Regex::new(pattern).expect("static sqli rule compiles"),
            )
        })
        .collect()
});

/// Characters at least one of which an SQL injection beyond plain keywords needs.
const SQL_SIGNS: u32 = QUOTE | BACKTICK | PAREN | SEMICOLON | HASH | EQUALS | STAR;

fn worth_checking(text: &str, features: Features) -> bool {
    if features.has(SQL_SIGNS) {
        return true;
    }
    if features.has(DASH) && text.contains("--") {
        return true;
    }
    features.has(SPACE | PLUS) && has_keyword(text)
}

pub(crate) fn detect(subject: &Subject<'_>) -> Option<Hit> {
    let text = subject.text;
    if text.len() < 2 || !worth_checking(text, subject.features) {
        return None;
    }
    for (rule, pattern) in RULES.iter() {
        if let Some(found) = pattern.find(text) {
            return Some(Hit::over(AttackKind::Sqli, rule, found.range()));
        }
    }
    // User-Agent and similar headers are full of parentheses, semicolons and words like "like";
    // in a header only a quote or a comment makes the tokenizer's verdict worth asking for.
    if subject.origin == Origin::Header
        && !subject.features.has(QUOTE | BACKTICK)
        && !text.contains("--")
        && !text.contains("/*")
    {
        return None;
    }
    if libinjectionrs::detect_sqli(text.as_bytes()).is_injection() {
        return Some(Hit::new(
            AttackKind::Sqli,
            "sqli.libinjection",
            0,
            text.len(),
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::check;

    #[test]
    fn sql_injection_is_found() {
        check(
            detect,
            &[
                "1' or '1'='1",
                "admin'--",
                "1 union select 1,2,3",
                "'!=1",
                "'=''",
                "1' sounds like 1",
                "x' IS NOT NULL --",
                "1 rlike 1",
                "1 or true",
                "1/**/UNION/**/ALL/**/SELECT/**/password/**/FROM/**/users",
                "-1 or 1=1",
                "1) and sleep(5)#",
                "1; drop table users--",
                "' and extractvalue(1,concat(0x7e,version()))--",
                "x' AND 1=(SELECT COUNT(*) FROM information_schema.tables)--",
                "1;waitfor delay '0:0:5'--",
                "%27%20or%201%3D1--",
                "\" or \"\"=\"",
                "1 and benchmark(5000000,md5(1))",
            ],
            &[
                "select the best option from our list",
                "Rock and roll or jazz",
                "O'Reilly",
                "it's 5 o'clock",
                "john.doe@example.com",
                "2024-05-01",
                "order by price",
                "SELECT * is fine in a sentence, isn't it",
                "Smith & Sons; est. 1920",
                "(555) 123-4567",
                "Union Square Hotel",
                "time.sleep(5) in python",
                "1 or 2 items, not more",
                "x != y in math",
                "5 or true love",
                "it's = great",
                "Tom's diner & O'Reilly's pub",
                "DANCIN' LIKE A ROBOT ON FIRE",
            ],
        );
    }

    #[test]
    fn keywords_are_whole_words() {
        assert!(has_keyword("1 or 1"));
        assert!(has_keyword("x UNION y"));
        assert!(!has_keyword("oracle andorra"));
    }
}
