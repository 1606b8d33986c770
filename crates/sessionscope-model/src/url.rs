//! Splitting request URLs into authority, path and query without allocating, shared by the
//! analysis (points, templates) and attack detection so both read a URL the same way.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UrlParts<'a> {
    /// `host:port` of an absolute URL, with any user information still attached.
    pub authority: Option<&'a str>,
    /// The path without query and fragment; `/` for an absolute URL without one.
    pub path: &'a str,
    /// The query without `?`, when there is a `?`.
    pub query: Option<&'a str>,
}

/// Splits an absolute (`https://host/path?q`) or origin-form (`/path?q`) URL.
pub fn split_url(url: &str) -> UrlParts<'_> {
    let mut authority = None;
    let mut rest = url;
    // A scheme is short; look for `://` only among the first bytes (and without building a searcher).
    let scheme_end = url
        .bytes()
        .take(16)
        .position(|byte| byte == b':')
        .filter(|colon| url[colon + 1..].starts_with("//"));
    if let Some(scheme_end) = scheme_end {
        let scheme = &url[..scheme_end];
        let is_scheme = !scheme.is_empty()
            && scheme.as_bytes()[0].is_ascii_alphabetic()
            && scheme
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'+' | b'-' | b'.'));
        if is_scheme {
            let after_scheme = &url[scheme_end + 3..];
            let authority_end = memchr::memchr3(b'/', b'?', b'#', after_scheme.as_bytes())
                .unwrap_or(after_scheme.len());
            authority = Some(&after_scheme[..authority_end]);
            rest = &after_scheme[authority_end..];
        }
    }
    let (path, query) = match memchr::memchr2(b'?', b'#', rest.as_bytes()) {
        None => (rest, None),
        Some(end) if rest.as_bytes()[end] == b'#' => (&rest[..end], None),
        Some(question) => {
            let after = &rest[question + 1..];
            let query_end = memchr::memchr(b'#', after.as_bytes()).unwrap_or(after.len());
            (&rest[..question], Some(&after[..query_end]))
        }
    };
    let path = if path.is_empty() && authority.is_some() {
        "/"
    } else {
        path
    };
    UrlParts {
        authority,
        path,
        query,
    }
}
