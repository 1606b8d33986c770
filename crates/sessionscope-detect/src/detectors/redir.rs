//! Open redirects: a parameter whose name says it is a redirect target (`next`, `return_to`,
//! `redirect`, ...) holding a URL that leaves the site, in any of the forms browsers accept:
//! `//evil`, `/\evil`, `\\evil`, `https:evil`, tabs and newlines inside the scheme, user
//! information before the real host.

use crate::features::{BACKSLASH, COLON, SLASH};
use crate::finding::AttackKind;
use crate::scan::{Hit, Origin, Subject};

/// Parameter names (lowercase, separators removed) that hold where to send the user next.
/// `redirect_uri` and callbacks are left out: OAuth and webhooks point off-site by design.
const REDIRECT_NAMES: &[&str] = &[
    "next",
    "nexturl",
    "url",
    "returnto",
    "returnurl",
    "return",
    "returnpath",
    "redirect",
    "redirecturl",
    "redirectto",
    "redir",
    "redirurl",
    "continue",
    "continueurl",
    "dest",
    "destination",
    "desturl",
    "goto",
    "gotourl",
    "target",
    "targeturl",
    "forward",
    "forwardurl",
    "to",
    "out",
    "backurl",
    "back",
    "rurl",
    "go",
    "jump",
    "jumpurl",
    "exit",
    "successurl",
    "failureurl",
    "cancelurl",
    "checkouturl",
    "landing",
    "from",
    "origin",
    "location",
];

pub(crate) fn is_redirect_name(name: &str) -> bool {
    let mut squashed = [0u8; 24];
    let mut length = 0;
    for byte in name.bytes() {
        if matches!(byte, b'-' | b'_' | b'.' | b' ') {
            continue;
        }
        if length == squashed.len() {
            return false;
        }
        squashed[length] = byte.to_ascii_lowercase();
        length += 1;
    }
    let squashed = &squashed[..length];
    REDIRECT_NAMES
        .iter()
        .any(|candidate| candidate.as_bytes() == squashed)
}

/// The host a browser would go to for `value`, if it leaves the current origin.
fn offsite_host(value: &str) -> Option<(String, usize)> {
    // Browsers drop tabs and newlines anywhere in a URL and trim spaces and controls at its ends.
    let cleaned: String = value
        .chars()
        .filter(|character| !matches!(character, '\t' | '\n' | '\r'))
        .collect();
    let cleaned = cleaned.trim_matches(|character: char| character <= ' ');
    let lowered = cleaned.to_ascii_lowercase();
    let after_scheme = if let Some(rest) = lowered
        .strip_prefix("https:")
        .or_else(|| lowered.strip_prefix("http:"))
    {
        rest
    } else if lowered.starts_with("//")
        || lowered.starts_with("/\\")
        || lowered.starts_with("\\\\")
        || lowered.starts_with("\\/")
    {
        lowered.as_str()
    } else {
        return None;
    };
    let authority_start = after_scheme.trim_start_matches(['/', '\\']);
    let authority_end = authority_start
        .find(['/', '\\', '?', '#'])
        .unwrap_or(authority_start.len());
    let authority = &authority_start[..authority_end];
    let host = authority.rsplit('@').next().unwrap_or(authority);
    let host = host.split(':').next().unwrap_or(host).trim_end_matches('.');
    if host.is_empty() {
        return None;
    }
    Some((host.to_string(), cleaned.len().min(value.len())))
}

fn same_site(host: &str, request_host: &str) -> bool {
    let request_host = request_host.split(':').next().unwrap_or(request_host);
    host == request_host || host.ends_with(&format!(".{request_host}"))
}

pub(crate) fn detect(subject: &Subject<'_>) -> Option<Hit> {
    if !subject.features.has(SLASH | BACKSLASH | COLON) {
        return None;
    }
    if !matches!(
        subject.origin,
        Origin::QueryValue | Origin::FormValue | Origin::JsonValue
    ) || !is_redirect_name(subject.name)
    {
        return None;
    }
    let (host, end) = offsite_host(subject.text)?;
    if let Some(request_host) = subject.request_host {
        if same_site(&host, request_host) {
            return None;
        }
    }
    Some(Hit::new(AttackKind::Redir, "redir.offsite", 0, end))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::query_subject;

    #[test]
    fn offsite_redirects_are_found_in_redirect_parameters() {
        let attacks = [
            ("next", "//evil.example"),
            ("next", "https://evil.example/login"),
            ("returnTo", "/\\evil.example"),
            ("redirect_url", "https:evil.example"),
            ("url", "//shop.example@evil.example"),
            ("continue", "\\\\evil.example"),
            ("dest", "/\t/evil.example"),
            ("next", "ht\ttps://evil.example"),
        ];
        for (name, value) in attacks {
            assert!(
                detect(&query_subject(name, value)).is_some(),
                "{name}={value}"
            );
        }
    }

    #[test]
    fn same_site_and_relative_targets_are_fine() {
        let benign = [
            ("next", "/account/orders?page=2"),
            ("next", "https://shop.example/cart"),
            ("next", "https://www.shop.example/cart"),
            ("next", "orders"),
            ("redirect_uri", "https://client.example/callback"),
            ("q", "//evil.example"),
            ("comment", "see https://evil.example"),
        ];
        for (name, value) in benign {
            assert!(
                detect(&query_subject(name, value)).is_none(),
                "{name}={value}"
            );
        }
    }
}
