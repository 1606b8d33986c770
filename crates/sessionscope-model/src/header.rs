//! Reading HTTP header values the same way wherever they are read (analysis points, detection,
//! samples): media types, `; name=value` parameters and cookie pairs.

/// Whether `haystack` contains `needle`, ASCII case ignored (media types: `Application/JSON`).
pub fn contains_ignore_case(haystack: &str, needle: &str) -> bool {
    haystack
        .as_bytes()
        .windows(needle.len())
        .any(|window| window.eq_ignore_ascii_case(needle.as_bytes()))
}

/// A value without one pair of surrounding double quotes.
pub fn strip_quotes(value: &str) -> &str {
    value
        .strip_prefix('"')
        .and_then(|inner| inner.strip_suffix('"'))
        .unwrap_or(value)
}

/// The value of a `; name=value` parameter of a header such as `Content-Type` or
/// `Content-Disposition` (name compared without case, quotes removed).
pub fn header_parameter<'h>(header: &'h str, parameter: &str) -> Option<&'h str> {
    for piece in header.split(';').skip(1) {
        let Some((name, value)) = piece.split_once('=') else {
            continue;
        };
        if name.trim().eq_ignore_ascii_case(parameter) {
            return Some(strip_quotes(value.trim()));
        }
    }
    None
}

/// The `name=value` pairs of a `Cookie` header, in order: names trimmed and not empty, values
/// trimmed and unquoted. Pieces without `=` are skipped.
pub fn cookie_pairs(header: &str) -> impl Iterator<Item = (&str, &str)> {
    header.split(';').filter_map(|piece| {
        let (name, value) = piece.split_once('=')?;
        let name = name.trim();
        (!name.is_empty()).then(|| (name, strip_quotes(value.trim())))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_read_alike() {
        assert!(contains_ignore_case(
            "Application/JSON; charset=utf-8",
            "json"
        ));
        assert!(!contains_ignore_case("text/plain", "json"));
        assert_eq!(
            header_parameter("multipart/form-data; Boundary=\"b-1\"", "boundary"),
            Some("b-1")
        );
        assert_eq!(header_parameter("text/plain", "charset"), None);
        let pairs: Vec<_> = cookie_pairs(" sid=\"a b\"; =x; flag; theme = dark ").collect();
        assert_eq!(pairs, vec![("sid", "a b"), ("theme", "dark")]);
    }
}
