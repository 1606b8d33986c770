//! CR/LF injection: a decoded line break followed by a header line. An HTTP header (or a status
//! line, or a blank line and markup) means response splitting or header injection (`crlf`); a
//! mail header with an address, or an SMTP / IMAP command, means mail injection.

use std::sync::LazyLock;

use regex::Regex;

use crate::features::{NEWLINE, NON_ASCII};
use crate::finding::AttackKind;
use crate::scan::{Hit, Origin, Subject};

static HTTP_HEADER_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^[ \t]*(?:set-cookie\s*:|location\s*:\s*(?:[a-z][a-z0-9+.-]*:|/)|content-(?:type\s*:\s*[\w.+-]+/|length\s*:\s*\d|disposition\s*:|security-policy\s*:|encoding\s*:)|refresh\s*:\s*\d|x-xss-protection\s*:|x-frame-options\s*:|x-content-type-options\s*:|access-control-allow-[\w-]+\s*:|cache-control\s*:|transfer-encoding\s*:|connection\s*:|host\s*:\s*[\w-]+\.[\w.-]+\s*$|cookie\s*:\s*[\w-]+=|x-forwarded-[\w-]+\s*:|x-[\w-]+\s*:\s*\S|strict-transport-security\s*:|link\s*:\s*<|server\s*:|http/\d(?:\.\d)?\s+\d{3})",
    )
    .expect("static crlf rule compiles")
});

/// A request line after a line break (or starting a multi-line value): a second request
/// smuggled inside the first.
static REQUEST_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?:^|[\r\n])[ \t]*(?:get|post|put|delete|head|options|patch|trace|track|connect|propfind|proppatch|mkcol|copy|move|lock|unlock)[ \t]+\S+[ \t]+http/\d(?:\.\d)?[ \t]*(?:[\r\n]|$)",
    )
    .expect("static crlf rule compiles")
});

/// A header line: a token, a colon, a value.
static ANY_HEADER_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[ \t]*[A-Za-z][A-Za-z0-9-]{0,40}[ \t]*:[ \t]*\S")
        .expect("static crlf rule compiles")
});

static SPLIT_BODY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\r?\n[ \t]*<(?:html|script|body|svg|img|iframe)\b")
        .expect("static crlf rule compiles")
});

static MAIL_HEADER_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^[ \t]*(?:(?:to|cc|bcc|from|reply-to|sender|return-path|resent-to|resent-cc|resent-bcc)\s*:[^\r\n]*@|subject\s*:|mime-version\s*:\s*\d|content-transfer-encoding\s*:)",
    )
    .expect("static mail rule compiles")
});

static MAIL_COMMAND_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^[ \t]*(?:rcpt\s+to\s*:|mail\s+from\s*:|data\s*(?:\r|\n|$)|helo\s+\S|ehlo\s+\S|quit\s*(?:\r|\n|$)|rset\s*(?:\r|\n|$)|vrfy\s+\S|expn\s+\S|\.\s*(?:\r|\n)|[a-z0-9]{1,8}\s+(?:login|select|fetch|store|logout|capability|list|examine|create|delete|rename|append|uid|copy|search|noop|authenticate)\b)",
    )
    .expect("static mail rule compiles")
});

/// Some servers keep only the low byte of a UTF-16 unit: U+560A and U+560D then become LF and CR.
fn is_line_break(character: char) -> bool {
    matches!(
        character,
        '\r' | '\n' | '\u{560A}' | '\u{560D}' | '\u{2028}' | '\u{2029}' | '\u{0085}'
    )
}

/// Names of fields that end up in a mail header or an SMTP / IMAP conversation.
fn mail_field(name: &str) -> bool {
    let lowered = name.to_ascii_lowercase();
    [
        "mail",
        "email",
        "to",
        "cc",
        "bcc",
        "from",
        "subject",
        "recipient",
        "sender",
        "reply",
    ]
    .iter()
    .any(|word| {
        lowered == *word
            || lowered.contains("mail")
            || lowered.ends_with(word) && lowered.len() <= word.len() + 6
    })
}

pub(crate) fn detect(subject: &Subject<'_>) -> Option<Hit> {
    let text = subject.text;
    if !subject.features.has(NEWLINE | NON_ASCII) {
        return None;
    }
    if subject.origin == Origin::XmlBody {
        return None;
    }
    if subject.features.has(NEWLINE) {
        if let Some(found) = REQUEST_LINE.find(text) {
            return Some(Hit::over(
                AttackKind::Crlf,
                "crlf.request-smuggling",
                found.range(),
            ));
        }
        // No name, path or header value has a line break of its own: one there splits the
        // request or the response that reflects it.
        let broken = match subject.origin {
            Origin::ParameterName | Origin::PathSegment => true,
            Origin::Header => text
                .split(['\r', '\n'])
                .skip(1)
                .any(|line| ANY_HEADER_LINE.is_match(line)),
            _ => false,
        };
        if broken {
            let at = text.find(['\r', '\n']).unwrap_or(0);
            return Some(Hit::new(
                AttackKind::Crlf,
                "crlf.header-injection",
                at,
                text.len().min(at + 60),
            ));
        }
    }
    if subject.origin == Origin::Header {
        return None;
    }
    // Multi-line text typed into a JSON or form field is normal; a header or mail command on the
    // next line is not.
    for (index, character) in text.char_indices() {
        if !is_line_break(character) {
            continue;
        }
        let next = index + character.len_utf8();
        let line = &text[next..];
        let line = line.trim_start_matches(is_line_break);
        if SPLIT_BODY.is_match(&text[next..]) {
            return Some(Hit::new(
                AttackKind::Crlf,
                "crlf.header-injection",
                index,
                text.len().min(next + 40),
            ));
        }
        let line_start = text.len() - line.len();
        let line_end = line
            .find(is_line_break)
            .map_or(text.len(), |end| line_start + end);
        if MAIL_COMMAND_LINE.is_match(line) {
            return Some(Hit::new(
                AttackKind::MailInjection,
                "mail_injection.command",
                index,
                line_end,
            ));
        }
        let mail_header = MAIL_HEADER_LINE.is_match(line);
        let http_header = HTTP_HEADER_LINE.is_match(line);
        if mail_header && (mail_field(subject.name) || !http_header) {
            return Some(Hit::new(
                AttackKind::MailInjection,
                "mail_injection.header",
                index,
                line_end,
            ));
        }
        if http_header {
            return Some(Hit::new(
                AttackKind::Crlf,
                "crlf.header-injection",
                index,
                line_end,
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::{check, query_subject};

    #[test]
    fn header_injection_is_found() {
        check(
            detect,
            &[
                "/%0d%0aSet-Cookie:crlf=injection",
                "%0aSet-Cookie:crlf=injection",
                "x%E5%98%8A%E5%98%8DSet-Cookie:crlf=injection",
                "en%0d%0aLocation:%20https://evil.example",
                "a%0d%0aContent-Length:%200%0d%0a%0d%0aHTTP/1.1%20200%20OK",
                "%0d%0a%0d%0a<script>alert(1)</script>",
                "%0d%0aX-Injected: yes",
            ],
            &[
                "Hello,\nthanks for the quick reply.\nBest, Ann",
                "Line one\r\nLine two",
                "Note:\nLocation: Berlin office",
                "shipping\nhost: Ann",
            ],
        );
    }

    #[test]
    fn smuggling_and_line_breaks_where_none_belong_are_found() {
        check(
            detect,
            &[
                "x%0d%0aGET /admin HTTP/1.1%0d%0aHost: internal",
                "0\r\n\r\nPOST /transfer HTTP/1.1\r\n",
            ],
            &[
                "GET /admin HTTP/1.1 is in the log",
                "HTTP/1.1 is older than HTTP/2",
            ],
        );
        let name = Subject {
            origin: Origin::ParameterName,
            ..query_subject("a\nb", "a\nb")
        };
        assert_eq!(detect(&name).map(|hit| hit.kind), Some(AttackKind::Crlf));
        let header = Subject {
            origin: Origin::Header,
            ..query_subject("x-note", "a\r\nSet-Cookie: s=1")
        };
        assert_eq!(detect(&header).map(|hit| hit.kind), Some(AttackKind::Crlf));
        let folded = Subject {
            origin: Origin::Header,
            ..query_subject("x-note", "first line\r\n second line")
        };
        assert!(detect(&folded).is_none());
    }

    #[test]
    fn mail_injection_is_found() {
        let cases = [
            ("email", "ann@example.com%0d%0aBcc:victim@example.org"),
            ("subject", "hi%0aCc: all@example.org"),
            ("message", "x\r\nRCPT TO:<victim@example.org>"),
            ("to", "ann@example.com\nA1 SELECT INBOX"),
        ];
        for (name, value) in cases {
            let decoded = crate::decode::deep_decode(value);
            let hit = detect(&query_subject(name, &decoded));
            assert_eq!(
                hit.map(|hit| hit.kind),
                Some(AttackKind::MailInjection),
                "{value}"
            );
        }
        let prose = "Dear team,\nTo: whoever reads this";
        assert!(detect(&query_subject("comment", prose)).is_none());
    }
}
