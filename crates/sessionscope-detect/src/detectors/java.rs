//! Java: the classes that deserialization gadgets, XML binders (XStream, `XMLDecoder`) and
//! expression languages reach for to run code (`java.lang.Runtime`, `ProcessBuilder`,
//! `javax.script`, JNDI, RMI and CORBA, the gadget classes of Commons Collections, Xalan,
//! Groovy, Spring, C3P0, fastjson's `@type` targets), serialized-object magic in clear, hex and
//! base64, and the expression-language and OGNL constructs that call them. Class names are read
//! in values and in names (parameter and JSON keys, XML element names), fully qualified: a bare
//! `Runtime` or a stack trace's `java.lang.NullPointerException` is prose.

use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
use regex::Regex;

use crate::features::{Features, AT, BACKSLASH, BRACE, DOLLAR, DOT, HASH, NON_ASCII, PAREN};
use crate::finding::AttackKind;
use crate::scan::{Hit, Subject};

/// Fully qualified classes (or packages, ending in `.`) that exist to run code, load classes,
/// open connections or files, or that gadget chains are built from.
const DANGEROUS_CLASSES: &[&str] = &[
    "java.lang.runtime",
    "java.lang.processbuilder",
    "java.lang.processimpl",
    "java.lang.unixprocess",
    "java.lang.reflect.",
    "java.lang.classloader",
    "java.lang.invoke.",
    "java.io.objectinputstream",
    "java.io.objectoutputstream",
    "java.io.fileoutputstream",
    "java.io.filewriter",
    "java.io.randomaccessfile",
    "java.nio.file.files",
    "java.net.urlclassloader",
    "java.net.socket",
    "java.rmi.",
    "java.beans.xmldecoder",
    "java.beans.eventhandler",
    "javax.script.",
    "javax.naming.",
    "javax.management.",
    "javax.el.",
    "javax.xml.transform.templates",
    "jdk.jshell",
    "jdk.nashorn.",
    "sun.misc.unsafe",
    "sun.misc.base64",
    "sun.reflect.",
    "sun.rmi.",
    "com.sun.org.apache.",
    "com.sun.rowset.",
    "com.sun.jndi.",
    "com.sun.corba.",
    "org.omg.corba",
    "org.apache.commons.collections.functors",
    "org.apache.commons.collections.keyvalue",
    "org.apache.commons.collections4.functors",
    "org.apache.commons.beanutils.",
    "org.apache.commons.fileupload.disk",
    "org.apache.xalan.",
    "org.apache.xbean.",
    "org.apache.tomcat.dbcp.",
    "org.apache.naming.",
    "org.apache.ibatis.",
    "org.apache.log4j.net.",
    "org.codehaus.groovy.runtime",
    "org.codehaus.groovy.ast",
    "groovy.lang.",
    "groovy.util.eval",
    "org.springframework.beans.factory.",
    "org.springframework.context.support.",
    "org.springframework.jndi.",
    "org.springframework.aop.",
    "org.springframework.expression.",
    "org.hibernate.engine.",
    "org.hibernate.tuple.",
    "com.mchange.v2.c3p0.",
    "com.opensymphony.xwork2.",
    "ognl.ognlcontext",
    "ognl.memberaccess",
    "bsh.interpreter",
    "bsh.xthis",
    "org.mozilla.javascript.",
    "com.alibaba.fastjson.",
    "com.zaxxer.hikari.",
    "org.yaml.snakeyaml.",
    "net.sf.json.",
    "com.thoughtworks.xstream.",
    "clojure.core",
    "clojure.lang.",
    "org.python.core.",
    "weblogic.jms.",
    "weblogic.rjvm.",
    "com.bea.core.",
    "oracle.jdbc.rowset.",
    "org.jboss.",
    // Class-loader paths of bound parameters (Struts, Spring: `class.module.classLoader...`).
    "class.module.classloader",
    "class.classloader",
    "class['classloader']",
];

static CLASSES: LazyLock<AhoCorasick> = LazyLock::new(|| super::anchors(DANGEROUS_CLASSES));

/// Expression-language, OGNL and reflection constructs that reach code from a template or a
/// bound parameter, and serialized-object magic written as text.
static CONSTRUCTS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)#_memberaccess|@ognl\.|\(#(?:context|_|dm|ct|os|cmd|iswin|cmds|p|process|ros)\b|#context\s*\[|%\{\s*\(?\s*#|\$\{\s*#|\bclass\.forname\s*\(|\.getclass\s*\(\s*\)\s*\.\s*(?:forname|getclassloader|getmethod|getdeclared\w*|getresource|getprotectiondomain|getmodule)\b|\.getruntime\s*\(\s*\)|\.getdeclaredmethod\s*\(|\.getmethod\s*\(\s*['"](?:exec|invoke|getruntime|forname|start|getenginebyname|eval)|\.invoke\s*\(\s*null|\bnew\s+(?:java|javax)\.|\bt\s*\(\s*(?:java|javax|org)\.|\.getenginebyname\s*\(|\.defineclass\s*\(|\.newinstance\s*\(\s*\)\s*\.\s*(?:exec|eval|getenginebyname|start)|\$\{\s*(?:pagecontext|applicationscope|sessionscope|requestscope|facescontext|initparam|header|cookie)\s*[.\[]|#\{\s*(?:request|session|facescontext|application)\s*\.\s*(?:getclass|getattribute|getservletcontext|getsession)|\bruntime\s*\.\s*getruntime\b|\bprocessbuilder\s*\(|\bscriptenginemanager\s*\(|(?:^|[^0-9a-z])aced0005[0-9a-f]{4}|\\xac\\xed\\x00\\x05"#,
    )
    .expect("static java rule compiles")
});

static CONSTRUCT_ANCHORS: LazyLock<AhoCorasick> = LazyLock::new(|| {
    super::anchors(&[
        "#_memberaccess",
        "@ognl.",
        "(#",
        "#context",
        "%{",
        "${",
        "#{",
        "forname",
        "getclass",
        "getruntime",
        "getdeclaredmethod",
        "getmethod",
        "invoke",
        "new java",
        "new javax",
        "getenginebyname",
        "defineclass",
        "newinstance",
        "processbuilder",
        "scriptenginemanager",
        "aced0005",
        "\\xac\\xed",
    ])
});

/// The start of a Java serialization stream (`AC ED 00 05`) in base64, at the start of a value
/// or after a separator: `rO0AB` when the stream starts the encoded text.
fn serialized_base64(text: &str) -> Option<usize> {
    let at = text.find("rO0AB")?;
    let before_ok = at == 0
        || !matches!(text.as_bytes()[at - 1], b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z' | b'+' | b'/' | b'_' | b'-');
    let long_enough = text.len() - at >= 16;
    (before_ok && long_enough).then_some(at)
}

/// The raw stream magic, as decoded bytes read leniently: `AC ED` become U+00AC U+00ED when a
/// value was decoded as Latin-1, or U+FFFD twice when read as UTF-8 with the `00 05` after it.
fn serialized_raw(text: &str) -> Option<usize> {
    text.find("\u{ac}\u{ed}\u{0}\u{5}")
        .or_else(|| text.find("\u{fffd}\u{fffd}\u{0}\u{5}"))
}

/// True when a `.` joins two letters somewhere (`java.lang`): every dangerous name has one, a
/// traversal (`../`), a number or a sentence's full stop does not.
fn has_dotted_name(text: &str) -> bool {
    let bytes = text.as_bytes();
    memchr::memchr_iter(b'.', bytes).any(|at| {
        at > 0
            && bytes[at - 1].is_ascii_alphabetic()
            && bytes
                .get(at + 1)
                .is_some_and(|byte| byte.is_ascii_alphabetic() || *byte == b'[')
    })
}

/// A dangerous class name in `text`, as a name of its own: not inside a longer identifier.
pub(crate) fn class_name(text: &str) -> Option<Hit> {
    if !has_dotted_name(text) {
        return None;
    }
    for found in CLASSES.find_iter(text) {
        let bytes = text.as_bytes();
        let before = found.start().checked_sub(1).map(|index| bytes[index]);
        if before.is_some_and(|byte| byte.is_ascii_alphanumeric() || byte == b'_') {
            continue;
        }
        let pattern = DANGEROUS_CLASSES[found.pattern().as_usize()];
        // A class (not a package) must end there: `java.lang.Runtime` but not
        // `java.lang.RuntimeException`.
        if !pattern.ends_with('.') {
            let after = bytes.get(found.end()).copied();
            if after.is_some_and(|byte| byte.is_ascii_alphanumeric() || byte == b'_') {
                continue;
            }
        }
        return Some(Hit::over(AttackKind::Rce, "rce.java-class", found.range()));
    }
    None
}

/// Cheap test for values of letters, digits and dots (class names as plain values).
pub(crate) fn plain_value(text: &str, features: Features) -> Option<Hit> {
    if !features.has(DOT) || text.len() < 8 {
        return None;
    }
    class_name(text)
}

pub(crate) fn detect(subject: &Subject<'_>) -> Option<Hit> {
    let text = subject.text;
    let features = subject.features;
    if text.len() < 5 {
        return None;
    }
    if features.has(DOT) {
        if let Some(hit) = class_name(text) {
            return Some(hit);
        }
    }
    if let Some(at) = serialized_base64(text) {
        return Some(Hit::new(
            AttackKind::Rce,
            "rce.java-serialized",
            at,
            text.len(),
        ));
    }
    if features.has(NON_ASCII) {
        if let Some(at) = serialized_raw(text) {
            return Some(Hit::new(
                AttackKind::Rce,
                "rce.java-serialized",
                at,
                text.len(),
            ));
        }
    }
    let may_hold_construct = features.has(HASH | AT | PAREN | BRACE | DOLLAR | BACKSLASH)
        || text.len() >= 12 && memchr::memmem::find(text.as_bytes(), b"ced0005").is_some();
    if may_hold_construct && CONSTRUCT_ANCHORS.is_match(text) {
        if let Some(found) = CONSTRUCTS.find(text) {
            return Some(Hit::over(
                AttackKind::Rce,
                "rce.java-expression",
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
    fn java_classes_serialization_and_expressions_are_found() {
        check(
            detect,
            &[
                "java.lang.Runtime",
                "java.lang.Runtime.getRuntime().exec('id')",
                "<java.lang.ProcessBuilder><command><string>id</string></command></java.lang.ProcessBuilder>",
                "{\"@type\":\"com.sun.rowset.JdbcRowSetImpl\",\"dataSourceName\":\"ldap://x/a\"}",
                "[\"com.sun.org.apache.xalan.internal.xsltc.trax.TemplatesImpl\",{}]",
                "org.apache.commons.collections.functors.InvokerTransformer",
                "javax.script.ScriptEngineManager",
                "javax.naming.InitialContext",
                "org.omg.CORBA.ORB",
                "java.rmi.registry.LocateRegistry",
                "rO0ABXNyABdqYXZhLnV0aWwuUHJpb3JpdHlRdWV1ZQ",
                "aced00057372001",
                "%{(#_memberAccess['allowStaticMethodAccess']=true)}",
                "${#context['xwork.MethodAccessor.denyMethodExecution']=false}",
                "#{T(java.lang.Runtime).getRuntime().exec('id')}",
                "''.getClass().forName('java.lang.Runtime')",
                "Class.forName(\"x\").newInstance()",
                "${pageContext.request.getSession()}",
                "new ScriptEngineManager().getEngineByName(\"js\").eval(\"1\")",
                "JAVA.LANG.RUNTIME",
                "class.module.classLoader.resources.context.parent.pipeline.first.pattern",
            ],
            &[
                "java.lang.NullPointerException at com.shop.Cart.add(Cart.java:42)",
                "Exception in thread \"main\" java.lang.IllegalStateException: closed",
                "java.lang.RuntimeException: boom",
                "The ProcessBuilder class starts processes",
                "Runtime: 2h 15min",
                "Our runtime is Java 17 and Spring Boot",
                "import java.util.List;",
                "System.out.println(\"hello\");",
                "public static void main(String[] args)",
                "com.example.shop.Order",
                "org.example.rmi.Client",
                "${user.name} placeholder",
                "#{id} in the docs",
                "rO0ABC",
                "photo_rO0ABXNyABdqYXZh",
            ],
        );
    }
}
