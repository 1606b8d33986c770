//! Node.js and JavaScript on the server: reaching `child_process` or the process object
//! (`require('child_process')`, `process.mainModule`, `this.constructor.constructor`), code
//! built from strings (`new Function(...)`, `eval` of decoded text), node-serialize's function
//! marker, and prototype pollution — `__proto__` or `constructor.prototype` as a key or in a
//! bracketed parameter name (`a[__proto__][admin]=1`), where merging a request into an object
//! changes every object of the application.

use std::sync::LazyLock;

use regex::Regex;

use crate::features::{Features, BRACKET, DOT, PAREN, QUOTE};
use crate::finding::AttackKind;
use crate::scan::{Hit, Origin, Subject};

static CODE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)\brequire\s*\(\s*['"`]\s*(?:node:)?child_process|\bimport\s*\(\s*['"`](?:node:)?child_process|\bchild_process\b['"`\])\s]*\.\s*(?:exec|execsync|spawn|spawnsync|fork|execfile|execfilesync)\b|\bprocess\s*\.\s*(?:mainmodule|binding\s*\(|dlopen\s*\(|kill\s*\(|getbuiltinmodule\s*\()|\bprocess\s*\[\s*['"`](?:mainmodule|binding)|\bglobal(?:this)?\s*\.\s*process\b|\bthis\s*\.\s*constructor\s*\.\s*constructor\b|\bconstructor\s*\.\s*constructor\s*\(|\[\s*['"`]constructor['"`]\s*\]\s*\[\s*['"`]constructor['"`]\s*\]|\bnew\s+function\s*\(\s*['"`]|\bfunction\s*\(\s*['"`]return\b|\beval\s*\(\s*(?:atob|buffer\.from|string\.fromcharcode|unescape|decodeuricomponent|require|process)\b|_\$\$nd_func\$\$_|\b__js_function\b|\brequire\s*\(\s*['"`](?:vm|fs|net|os)['"`]\s*\)\s*\.\s*(?:runinthiscontext|runinnewcontext|readfilesync|writefilesync|createconnection|userinfo)\s*\("#,
    )
    .expect("static node rule compiles")
});

static ANCHORS: LazyLock<aho_corasick::AhoCorasick> = LazyLock::new(|| {
    super::anchors(&[
        "require",
        "child_process",
        "process",
        "constructor",
        "function",
        "eval",
        "_$$nd_func$$_",
        "__js_function",
        "import",
    ])
});

/// `__proto__`, or `constructor` then `prototype`, as steps of a name or path: a bracketed
/// parameter name, a dotted path, a JSON document inside a value.
static POLLUTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?:^|[\[."'\s{,])__proto__(?:$|[\]."'\s:=\[])|(?:^|[\[."'\s{,])constructor['"]?\s*(?:\]\s*\[|\[|\.|['"]?\s*:\s*\{\s*)\s*['"]?prototype\b"#,
    )
    .expect("static node rule compiles")
});

/// Prototype pollution in a name (parameter name, JSON key, cookie name) or a value holding a
/// path or a JSON document.
fn pollution(text: &str) -> Option<Hit> {
    memchr::memmem::find(text.as_bytes(), b"proto")?;
    POLLUTION
        .find(text)
        .map(|found| Hit::over(AttackKind::Rce, "rce.prototype-pollution", found.range()))
}

/// For values of letters, digits and dots: `constructor.prototype.x` and `__proto__` paths.
pub(crate) fn plain_value(text: &str, features: Features) -> Option<Hit> {
    if text.len() < 9 || !features.has(crate::features::DOT) && !text.contains("__") {
        return None;
    }
    pollution(text)
}

/// A JSON key `prototype` under a key `constructor`, or a key `__proto__`, as the JSON walk
/// sees them.
pub(crate) fn is_polluting_key(key: &str, parent: Option<&str>) -> bool {
    key == "__proto__" || key == "prototype" && parent == Some("constructor")
}

pub(crate) fn detect(subject: &Subject<'_>) -> Option<Hit> {
    let text = subject.text;
    let features = subject.features;
    if text.len() < 9 {
        return None;
    }
    if let Some(hit) = pollution(text) {
        return Some(hit);
    }
    if matches!(subject.origin, Origin::ParameterName | Origin::JsonKey) && !features.has(PAREN) {
        return None;
    }
    if features.has(PAREN | DOT | BRACKET)
        && features.has(PAREN | QUOTE | DOT)
        && ANCHORS.is_match(text)
    {
        if let Some(found) = CODE.find(text) {
            return Some(Hit::over(AttackKind::Rce, "rce.node-code", found.range()));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::check;

    #[test]
    fn node_code_and_prototype_pollution_are_found() {
        check(
            detect,
            &[
                "require('child_process').exec('id')",
                "require(\"child_process\").spawnSync('ls')",
                "global.process.mainModule.require('child_process').execSync('id')",
                "process.mainModule.require('fs')",
                "this.constructor.constructor('return process')()",
                "new Function('return this.process')()",
                "eval(String.fromCharCode(97,108,101,114,116))",
                "_$$ND_FUNC$$_function(){require('child_process').exec('id')}()",
                "require('vm').runInThisContext('1')",
                "__proto__[admin]=1",
                "a[__proto__][isAdmin]",
                "constructor[prototype][admin]",
                "constructor.prototype.polluted",
                "{\"__proto__\":{\"isAdmin\":true}}",
                "{\"constructor\": {\"prototype\": {\"x\": 1}}}",
            ],
            &[
                "How do I use require('express') in Node?",
                "const fs = require('fs'); fs.readFileSync('a.txt')",
                "Never call eval() on user input",
                "class Car { constructor(make) { this.make = make; } }",
                "The prototype was ready in May",
                "constructor",
                "prototype",
                "proto",
                "function add(a, b) { return a + b; }",
                "array.map(x => x * 2)",
                "the process is slow",
                "constructor of the prototype",
            ],
        );
    }
}
