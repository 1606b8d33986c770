//! Injection into query languages other than SQL and into templates: NoSQL (MongoDB operators in
//! names and values, server-side JavaScript conditions), LDAP filters, and server-side template
//! expressions.

use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind};
use regex::Regex;

use crate::features::{
    AMPERSAND, ANGLE, AT, BRACE, BRACKET, DOLLAR, EXCLAMATION, HASH, PAREN, PIPE, QUOTE, SEMICOLON,
    STAR,
};
use crate::finding::AttackKind;
use crate::scan::{Hit, Origin, Subject};

/// MongoDB query operators that change what a filter matches or run code.
const MONGO_OPERATORS: &[&str] = &[
    "$ne",
    "$eq",
    "$gt",
    "$gte",
    "$lt",
    "$lte",
    "$in",
    "$nin",
    "$regex",
    "$where",
    "$exists",
    "$expr",
    "$or",
    "$and",
    "$not",
    "$nor",
    "$elemmatch",
    "$all",
    "$function",
    "$accumulator",
    "$jsonschema",
    "$options",
    "$text",
    "$mod",
    "$size",
    "$type",
];

static OPERATOR_IN_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)(?:^|[{\[,\s'"])['"]?\$(?:ne|eq|gt|gte|lt|lte|in|nin|regex|where|exists|expr|or|and|not|nor|elemmatch|function|accumulator|comment)['"]?\s*[:\]]"#,
    )
    .expect("static nosqli rule compiles")
});

static JAVASCRIPT_CONDITION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)['"]\s*(?:;|&&|\|\|)\s*(?:this\.|return\b|sleep\s*\(|while\s*\(|db\.|[\w'"]+\s*==)|\bthis\.\w+\.match\s*\(|\bdb\.[\w.]+\.(?:find|insert|update|remove|drop|mapreduce|aggregate)\s*\(|\|\|\s*['"]?(\w+)['"]?\s*==\s*['"]?\w+|;\s*return\s+(?:true|1)\b"#,
    )
    .expect("static nosqli rule compiles")
});

/// `name[$ne]`, `user[password][$regex]`: a query or form name that PHP/Express parse into an
/// object holding an operator.
fn operator_in_name(name: &str) -> Option<(usize, usize)> {
    let mut search_from = 0;
    while let Some(offset) = name[search_from..].find("[$") {
        let start = search_from + offset;
        let end = name[start..]
            .find(']')
            .map_or(name.len(), |close| start + close + 1);
        let operator = name[start + 1..end]
            .trim_end_matches(']')
            .to_ascii_lowercase();
        if MONGO_OPERATORS.contains(&operator.as_str()) {
            return Some((start, end));
        }
        search_from = start + 2;
    }
    None
}

pub(crate) fn detect_nosqli(subject: &Subject<'_>) -> Option<Hit> {
    let text = subject.text;
    let features = subject.features;
    match subject.origin {
        Origin::ParameterName => {
            if features.has(BRACKET) && features.has(DOLLAR) {
                if let Some((start, end)) = operator_in_name(text) {
                    return Some(Hit::new(
                        AttackKind::Nosqli,
                        "nosqli.operator-name",
                        start,
                        end,
                    ));
                }
            }
            return None;
        }
        Origin::JsonKey => {
            if text.starts_with('$')
                && MONGO_OPERATORS.contains(&text.to_ascii_lowercase().as_str())
            {
                return Some(Hit::new(
                    AttackKind::Nosqli,
                    "nosqli.operator-name",
                    0,
                    text.len(),
                ));
            }
            return None;
        }
        _ => {}
    }
    if features.has(DOLLAR) {
        if let Some(found) = OPERATOR_IN_VALUE.find(text) {
            return Some(Hit::over(
                AttackKind::Nosqli,
                "nosqli.operator-value",
                found.range(),
            ));
        }
    }
    if features.has(QUOTE | PIPE | PAREN | SEMICOLON) {
        if let Some(found) = JAVASCRIPT_CONDITION.find(text) {
            return Some(Hit::over(
                AttackKind::Nosqli,
                "nosqli.operator-value",
                found.range(),
            ));
        }
    }
    None
}

static LDAP_FILTER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\)\s*\(\s*(?:[|&!]|[\w.;-]+\s*[~<>]?=)|\(\s*[|&!]\s*\(\s*[\w.;-]+\s*[~<>]?=|^\s*\*\s*\)\s*[()&|]|\*\s*\)\s*\(|\)\s*\)\s*(?:\x00|\(|$)|\)\s*\x00",
    )
    .expect("static ldapi rule compiles")
});

/// The first run of LDAP filter metacharacters (RFC 4515: parentheses, the `&` `|` `!` operators,
/// the `*` wildcard, comparison marks and quotes) that holds a whole empty filter `()`, an
/// operator and a wildcard: placed into `(attr=VALUE)` such a run rewrites the filter's structure,
/// and no name, number or sentence has one (`*()|&'`).
fn filter_metacharacter_run(text: &str) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut start = 0;
    while start < bytes.len() {
        if !is_filter_metacharacter(bytes[start]) {
            start += 1;
            continue;
        }
        let mut end = start;
        while end < bytes.len() && is_filter_metacharacter(bytes[end]) {
            end += 1;
        }
        let run = &bytes[start..end];
        let has_empty_filter = run.windows(2).any(|pair| pair == b"()");
        let has_operator = run.iter().any(|byte| matches!(byte, b'&' | b'|' | b'!'));
        let has_wildcard = run.contains(&b'*');
        if run.len() >= 4 && has_empty_filter && has_operator && has_wildcard {
            return Some((start, end));
        }
        start = end;
    }
    None
}

fn is_filter_metacharacter(byte: u8) -> bool {
    matches!(
        byte,
        b'(' | b')' | b'&' | b'|' | b'!' | b'*' | b'=' | b'~' | b'<' | b'>' | b'\'' | b'"'
    )
}

pub(crate) fn detect_ldapi(subject: &Subject<'_>) -> Option<Hit> {
    if !subject.features.has(PAREN) {
        return None;
    }
    let text = subject.text;
    if subject.features.has(STAR) && subject.features.has(PIPE | AMPERSAND | EXCLAMATION) {
        if let Some((start, end)) = filter_metacharacter_run(text) {
            return Some(Hit::new(
                AttackKind::Ldapi,
                "ldapi.filter-metacharacters",
                start,
                end,
            ));
        }
    }
    let has_filter_join = [")(", "(|", "(&", "(!", "*)", "))", ")\0"]
        .iter()
        .any(|needle| text.contains(needle));
    if !has_filter_join {
        return None;
    }
    let found = LDAP_FILTER.find(text)?;
    // `))` at the end is only a filter break-out when the value opened nothing itself.
    let matched = found.as_str();
    if matched.starts_with(')') && matched.trim_end_matches('\0').ends_with("))") {
        let opens = text.matches('(').count();
        let closes = text.matches(')').count();
        if closes <= opens {
            return None;
        }
    }
    Some(Hit::over(
        AttackKind::Ldapi,
        "ldapi.filter-injection",
        found.range(),
    ))
}

static TEMPLATE_OPENERS: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasickBuilder::new()
        .kind(Some(AhoCorasickKind::DFA))
        .build([
            "{{",
            "${",
            "#{",
            "*{",
            "@(",
            "<%",
            "{%",
            "<#",
            "#set",
            "#foreach",
            "#if",
            "#evaluate",
            "{php}",
        ])
        .expect("static ssti openers build")
});

/// Delimited template expressions: `{{…}}`, `${…}`, `#{…}`, `*{…}`, `@(…)`, `<%…%>`, `{%…%}`.
static TEMPLATE_EXPRESSION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\{\{(.{1,200}?)\}\}|[$#*@]\{(.{1,200}?)\}|@\((.{1,200}?)\)|<%=?(.{1,200}?)%>|\{%-?\s*((?:for|if|import|include|set|extends|macro|raw|debug|print|load|block|with|call|filter|from)\b.{0,200}?)%\}|<#(?:assign|list|if|include|import|function|macro)\b(.{0,200}?)>|#(?:set|foreach|if|evaluate)\s*\((.{1,200}?)\)|\{php\}(.{0,200}?)\{/php\}",
    )
    .expect("static ssti rule compiles")
});

static OBJECT_TRAVERSAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)__(?:class|mro|subclasses|globals|builtins|init|import|base|bases|dict)__|\bgetclass\s*\(|\.constructor\b|\bT\s*\(\s*java\.|\bnew\(\)|freemarker\.template|\$class\.|\b(?:config|self|request|settings|lipsum|cycler|joiner|namespace|url_for|get_flashed_messages|_self|app|environment|runtime|process|session)\b",
    )
    .expect("static ssti rule compiles")
});

/// Log4j lookups share the `${…}` syntax; they are the shell detector's business.
fn is_log4j_or_shell(content: &str) -> bool {
    let lowered = content.trim_start().to_ascii_lowercase();
    [
        "jndi", "lower:", "upper:", "env:", "sys:", "::-", "date:", "ifs",
    ]
    .iter()
    .any(|prefix| lowered.starts_with(prefix))
}

fn is_arithmetic_or_call(content: &str) -> bool {
    let bytes = content.as_bytes();
    bytes.iter().enumerate().any(|(index, byte)| match byte {
        b'*' | b'+' | b'%' | b'[' | b'|' => true,
        b'(' => index > 0 && (bytes[index - 1].is_ascii_alphanumeric() || bytes[index - 1] == b'_'),
        _ => false,
    })
}

fn is_expression(content: &str) -> bool {
    let trimmed = content.trim();
    if trimmed.is_empty() {
        return false;
    }
    // A bare variable or dotted property (`{{ user.name }}`) is a placeholder, not code.
    let bare_name = trimmed
        .bytes()
        .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'.' | b' ' | b'-'));
    if bare_name {
        return false;
    }
    trimmed.bytes().any(|byte| {
        matches!(
            byte,
            b'*' | b'+'
                | b'/'
                | b'%'
                | b'('
                | b')'
                | b'['
                | b']'
                | b'|'
                | b'\''
                | b'"'
                | b'<'
                | b'>'
                | b'='
                | b'~'
                | b'!'
                | b'^'
                | b'{'
                | b'}'
                | b'@'
                | b'$'
                | b'#'
                | b'?'
                | b':'
        )
    })
}

pub(crate) fn detect_ssti(subject: &Subject<'_>) -> Option<Hit> {
    let features = subject.features;
    if !features.has(BRACE | PAREN | ANGLE | HASH | AT | STAR)
        || !features.has(BRACE | ANGLE | PAREN)
    {
        return None;
    }
    let text = subject.text;
    if !TEMPLATE_OPENERS.is_match(text) {
        return None;
    }
    for captures in TEMPLATE_EXPRESSION.captures_iter(text) {
        let Some(whole) = captures.get(0) else {
            continue;
        };
        let Some(content) = captures.iter().skip(1).flatten().next() else {
            continue;
        };
        let content = content.as_str();
        let opener = whole.as_str().as_bytes()[0];
        if opener == b'$' && is_log4j_or_shell(content) {
            continue;
        }
        if OBJECT_TRAVERSAL.is_match(content) {
            return Some(Hit::new(
                AttackKind::Ssti,
                "ssti.object-traversal",
                whole.start(),
                whole.end(),
            ));
        }
        // `${…}`, `#{…}`, `*{…}` and `@(…)` also appear in URLs, CSS and prose: they need
        // arithmetic, a call or an index, not just punctuation.
        let strict = matches!(opener, b'$' | b'#' | b'*' | b'@');
        if strict && !is_arithmetic_or_call(content) {
            continue;
        }
        let keyword_tag = !matches!(opener, b'$' | b'#' | b'*' | b'@' | b'{')
            || whole.as_str().starts_with("{%")
            || whole.as_str().starts_with("{php}")
            || (opener == b'#' && !whole.as_str().starts_with("#{"));
        if keyword_tag || is_expression(content) {
            // `<% %>` and `{% %}` tags are statements; `#{…}` in a sentence needs an operator too.
            return Some(Hit::new(
                AttackKind::Ssti,
                "ssti.expression",
                whole.start(),
                whole.end(),
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::{check, query_subject};
    use crate::features::Features;

    fn subject<'a>(origin: Origin, text: &'a str) -> Subject<'a> {
        Subject {
            text,
            features: Features::of(text),
            origin,
            name: text,
            request_host: None,
        }
    }

    #[test]
    fn mongo_operators_in_names_and_keys_are_found() {
        assert!(detect_nosqli(&subject(Origin::ParameterName, "user[$ne]")).is_some());
        assert!(
            detect_nosqli(&subject(Origin::ParameterName, "login[password][$regex]")).is_some()
        );
        assert!(detect_nosqli(&subject(Origin::JsonKey, "$where")).is_some());
        assert!(detect_nosqli(&subject(Origin::JsonKey, "$schema")).is_none());
        assert!(detect_nosqli(&subject(Origin::ParameterName, "items[0]")).is_none());
        assert!(detect_nosqli(&subject(Origin::JsonKey, "price")).is_none());
    }

    #[test]
    fn nosql_injection_in_values_is_found() {
        check(
            detect_nosqli,
            &[
                "{\"$gt\": \"\"}",
                "true, $where: '1 == 1'",
                "' || 'a'=='a",
                "'; return true; var x='",
                "' && this.password.match(/.*/)//",
                "db.users.find({})",
                "[$ne]=1",
            ],
            &[
                "costs $100",
                "{\"price\": \"$5.00\"}",
                "a || b",
                "US$ 20 or more",
            ],
        );
    }

    #[test]
    fn ldap_filter_injection_is_found() {
        check(
            detect_ldapi,
            &[
                "*)(uid=*))(|(uid=*",
                "admin)(&)",
                "*)(&",
                "*(|(mail=*))",
                ")(cn=))\x00",
                "x)(|(password=*)",
            ],
            &[
                "(555) 123-4567",
                "see (a)(b)",
                "f(x) = (x+1)",
                "(draft)",
                "call me (maybe)",
            ],
        );
        check(
            detect_ldapi,
            &["*()|&'", "*()|%26'", "x*()!(", "admin)(|(*)", "admin)%00"],
            &[
                "(*) required field",
                "wow!!! (*)",
                "a && b || (c)",
                "rating: *** (3/5) & more",
                "=()=",
            ],
        );
        assert!(
            detect_ldapi(&query_subject("q", "*))%00")).is_some()
                || detect_ldapi(&query_subject("q", "*))\0")).is_some()
        );
    }

    #[test]
    fn template_expressions_are_found() {
        check(
            detect_ssti,
            &[
                "{{7*7}}",
                "${7*7}",
                "#{7*7}",
                "<%= 7 * 7 %>",
                "{{config.items()}}",
                "{{''.__class__.__mro__[1].__subclasses__()}}",
                "{% import os %}",
                "${T(java.lang.Runtime).getRuntime().exec('id')}",
                "@(1+2)",
                "*{7*7}",
                "<#assign ex=\"freemarker.template.utility.Execute\"?new()>",
                "{{constructor.constructor('alert(1)')()}}",
            ],
            &[
                "Hello {{ user.name }}",
                "Dear {{first_name}},",
                "${user}",
                "${jndi:ldap://x}",
                "issue #{42}",
                "a {b} c",
                "email me @ noon (or later)",
            ],
        );
    }
}
