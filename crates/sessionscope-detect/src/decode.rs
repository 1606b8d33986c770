//! Decoding a value the way a server or browser behind us might, so that an encoded attack is
//! judged by what it becomes: nested percent-encoding (also `%uXXXX` and overlong UTF-8),
//! HTML entities, JavaScript / JSON `\x` and `\u` escapes, Unicode compatibility forms (fullwidth
//! `＜`), and base64 where a value clearly is base64. Every function borrows when there is
//! nothing to decode, because almost every value needs nothing.

use std::borrow::Cow;

use base64::engine::general_purpose::{
    GeneralPurpose, STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD,
};
use base64::Engine;
use unicode_normalization::UnicodeNormalization;

/// Percent-decoding is repeated at most this often: real traffic is encoded once, attacks two or
/// three times; more rounds only cost time.
const MAX_PERCENT_ROUNDS: usize = 4;

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

fn hex_pair(high: u8, low: u8) -> Option<u8> {
    Some(hex_value(high)? << 4 | hex_value(low)?)
}

fn push_char(out: &mut Vec<u8>, character: char) {
    let mut buffer = [0u8; 4];
    out.extend_from_slice(character.encode_utf8(&mut buffer).as_bytes());
}

/// Folds overlong UTF-8 forms of ASCII (`C0 AE` = `.`, `C0 AF` = `/`, `E0 80 AE`) into the ASCII
/// byte: old decoders accepted them, and traversal payloads use them to hide `../`.
fn fold_overlong(bytes: Vec<u8>) -> Vec<u8> {
    if !bytes
        .iter()
        .any(|byte| *byte == 0xC0 || *byte == 0xC1 || *byte == 0xE0)
    {
        return bytes;
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        let next = bytes.get(index + 1).copied().unwrap_or(0);
        if (byte == 0xC0 || byte == 0xC1) && (0x80..0xC0).contains(&next) {
            out.push(((byte & 0x1F) << 6) | (next & 0x3F));
            index += 2;
            continue;
        }
        let third = bytes.get(index + 2).copied().unwrap_or(0);
        if byte == 0xE0 && (0x80..0xA0).contains(&next) && (0x80..0xC0).contains(&third) {
            let value = (((next & 0x3F) as u32) << 6) | (third & 0x3F) as u32;
            if value < 0x80 {
                out.push(value as u8);
                index += 3;
                continue;
            }
        }
        out.push(byte);
        index += 1;
    }
    out
}

/// One round of percent-decoding: `%XX`, IIS-style `%uXXXX`, and `+` as space when asked.
/// Malformed escapes stay as they are. Invalid UTF-8 becomes U+FFFD.
pub fn percent_decode_once(text: &str, plus_as_space: bool) -> Cow<'_, str> {
    let has_percent = memchr::memchr(b'%', text.as_bytes()).is_some();
    let has_plus = plus_as_space && memchr::memchr(b'+', text.as_bytes()).is_some();
    if !has_percent && !has_plus {
        return Cow::Borrowed(text);
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        if byte == b'+' && plus_as_space {
            out.push(b' ');
            index += 1;
            continue;
        }
        if byte != b'%' {
            out.push(byte);
            index += 1;
            continue;
        }
        if let (Some(&high), Some(&low)) = (bytes.get(index + 1), bytes.get(index + 2)) {
            if let Some(decoded) = hex_pair(high, low) {
                out.push(decoded);
                index += 3;
                continue;
            }
        }
        if matches!(bytes.get(index + 1), Some(b'u') | Some(b'U')) && index + 6 <= bytes.len() {
            let digits = &bytes[index + 2..index + 6];
            let code = digits.iter().try_fold(0u32, |value, digit| {
                hex_value(*digit).map(|digit| value << 4 | digit as u32)
            });
            if let Some(character) = code.and_then(char::from_u32) {
                push_char(&mut out, character);
                index += 6;
                continue;
            }
        }
        out.push(byte);
        index += 1;
    }
    let out = fold_overlong(out);
    match String::from_utf8(out) {
        Ok(decoded) => Cow::Owned(decoded),
        Err(error) => Cow::Owned(String::from_utf8_lossy(error.as_bytes()).into_owned()),
    }
}

/// True when the text holds at least one well-formed `%XX` or `%uXXXX` escape.
fn has_percent_escape(text: &str) -> bool {
    let bytes = text.as_bytes();
    memchr::memchr_iter(b'%', bytes).any(|at| {
        let pair = bytes
            .get(at + 1)
            .zip(bytes.get(at + 2))
            .is_some_and(|(high, low)| hex_pair(*high, *low).is_some());
        let unicode = matches!(bytes.get(at + 1), Some(b'u') | Some(b'U'))
            && bytes.len() >= at + 6
            && bytes[at + 2..at + 6].iter().all(u8::is_ascii_hexdigit);
        pair || unicode
    })
}

/// Percent-decodes until nothing changes (at most `MAX_PERCENT_ROUNDS`). Inside a value that was
/// already decoded once, `+` is a space only when the value has no literal space: an encoded
/// string never has one, prose with a `+` ("C++ and C#") keeps it.
pub fn percent_decode_nested(text: &str) -> Cow<'_, str> {
    let mut current = Cow::Borrowed(text);
    for _ in 0..MAX_PERCENT_ROUNDS {
        if !has_percent_escape(&current) {
            break;
        }
        let plus_as_space = !current.contains(' ');
        let next = percent_decode_once(&current, plus_as_space);
        if let Cow::Owned(decoded) = next {
            if decoded == *current {
                break;
            }
            current = Cow::Owned(decoded);
        }
    }
    current
}

/// Named entities a browser would turn into characters that matter for injection.
const NAMED_ENTITIES: &[(&str, char)] = &[
    ("lt", '<'),
    ("gt", '>'),
    ("quot", '"'),
    ("apos", '\''),
    ("amp", '&'),
    ("sol", '/'),
    ("bsol", '\\'),
    ("colon", ':'),
    ("semi", ';'),
    ("lpar", '('),
    ("rpar", ')'),
    ("lsqb", '['),
    ("rsqb", ']'),
    ("lcub", '{'),
    ("rcub", '}'),
    ("equals", '='),
    ("period", '.'),
    ("comma", ','),
    ("excl", '!'),
    ("num", '#'),
    ("dollar", '$'),
    ("percnt", '%'),
    ("grave", '`'),
    ("tab", '\t'),
    ("newline", '\n'),
    ("nbsp", ' '),
];

/// Decodes `&lt;`, `&#60;`, `&#x3c;` (numeric forms also without the `;`, as browsers accept).
pub fn html_entity_decode(text: &str) -> Cow<'_, str> {
    if memchr::memchr(b'&', text.as_bytes()).is_none() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut changed = false;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        match decode_one_entity(after) {
            Some((character, consumed)) => {
                out.push(character);
                rest = &after[consumed..];
                changed = true;
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(text)
    }
}

/// The character of the entity at the start of `after` (the text after `&`) and how many bytes it
/// used, including an optional `;`.
fn decode_one_entity(after: &str) -> Option<(char, usize)> {
    let bytes = after.as_bytes();
    if bytes.first() == Some(&b'#') {
        let (radix, digits_start) = match bytes.get(1) {
            Some(b'x') | Some(b'X') => (16, 2),
            _ => (10, 1),
        };
        let digits_end = bytes[digits_start..]
            .iter()
            .position(|byte| !(byte.is_ascii_hexdigit() && (radix == 16 || byte.is_ascii_digit())))
            .map_or(bytes.len(), |offset| digits_start + offset);
        // Browsers accept leading zeros; cap the digits so the number cannot overflow.
        if digits_end == digits_start || digits_end - digits_start > 10 {
            return None;
        }
        let code = u32::from_str_radix(&after[digits_start..digits_end], radix).ok()?;
        let character = char::from_u32(code).unwrap_or('\u{FFFD}');
        let consumed = digits_end + usize::from(bytes.get(digits_end) == Some(&b';'));
        return Some((character, consumed));
    }
    let name_end = bytes.iter().take(12).position(|byte| *byte == b';')?;
    let name = &after[..name_end];
    NAMED_ENTITIES
        .iter()
        .find(|(candidate, _)| candidate.eq_ignore_ascii_case(name))
        .map(|(_, character)| (*character, name_end + 1))
}

/// Decodes `\xNN`, `\uNNNN` and `\u{N..}` escapes (JavaScript and JSON strings inside a value).
/// Other backslashes stay, so Windows paths keep theirs.
pub fn backslash_unescape(text: &str) -> Cow<'_, str> {
    if memchr::memchr(b'\\', text.as_bytes()).is_none() {
        return Cow::Borrowed(text);
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    let mut index = 0;
    let mut copied_until = 0;
    while index < bytes.len() {
        if bytes[index] != b'\\' {
            index += 1;
            continue;
        }
        let decoded = match bytes.get(index + 1) {
            Some(b'x') | Some(b'X') => bytes
                .get(index + 2)
                .zip(bytes.get(index + 3))
                .and_then(|(high, low)| hex_pair(*high, *low))
                .map(|byte| (char::from(byte), 4)),
            Some(b'u') | Some(b'U') => {
                unicode_escape(&text[index + 2..]).map(|(c, used)| (c, used + 2))
            }
            _ => None,
        };
        match decoded {
            Some((character, used)) => {
                out.push_str(&text[copied_until..index]);
                out.push(character);
                index += used;
                copied_until = index;
                changed = true;
            }
            None => index += 1,
        }
    }
    if !changed {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[copied_until..]);
    Cow::Owned(out)
}

fn unicode_escape(after_u: &str) -> Option<(char, usize)> {
    if let Some(braced) = after_u.strip_prefix('{') {
        let close = braced.find('}')?;
        if close == 0 || close > 6 {
            return None;
        }
        let code = u32::from_str_radix(&braced[..close], 16).ok()?;
        return char::from_u32(code).map(|character| (character, close + 2));
    }
    let digits = after_u.get(..4)?;
    if !digits.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return None;
    }
    let code = u32::from_str_radix(digits, 16).ok()?;
    char::from_u32(code).map(|character| (character, 4))
}

/// NFKC for non-ASCII text: fullwidth and other compatibility forms become their ASCII selves
/// (`＜ｓｃｒｉｐｔ＞`, `①②⑦` → `127`).
pub fn unicode_compatibility_fold(text: &str) -> Cow<'_, str> {
    if text.is_ascii() {
        return Cow::Borrowed(text);
    }
    let folded: String = text.nfkc().collect();
    if folded == text {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(folded)
    }
}

/// Everything above, in the order a request travels: percent-encoding (nested), then Unicode
/// compatibility forms, then HTML entities and string escapes, then percent-encoding once more in
/// case an entity or escape hid one. Borrows when nothing applies.
pub fn deep_decode(text: &str) -> Cow<'_, str> {
    let mut current = percent_decode_nested(text);
    for step in [
        unicode_compatibility_fold as fn(&str) -> Cow<'_, str>,
        html_entity_decode,
        backslash_unescape,
        percent_decode_nested,
    ] {
        if let Cow::Owned(decoded) = step(&current) {
            current = Cow::Owned(decoded);
        }
    }
    current
}

/// The decoded text of a value that clearly is base64: long enough, only base64 characters,
/// not plain hex or a plain word, and decoding to mostly printable UTF-8 text. Identifiers and
/// hashes decode to binary and are left alone.
/// What a byte can be in base64 text, as bits: one table lookup per byte instead of a chain of
/// comparisons, since every token-like value of every request is looked at.
const B64_UPPER: u8 = 1 << 0;
const B64_LOWER: u8 = 1 << 1;
const B64_DIGIT_OR_SYMBOL: u8 = 1 << 2;
const B64_NOT_HEX: u8 = 1 << 3;
/// `-` and `_`, of the URL-safe alphabet.
const B64_URL_SAFE: u8 = 1 << 4;
/// `+` and `/`, of the standard alphabet.
const B64_STANDARD: u8 = 1 << 5;
/// Not in either alphabet (including `=` before the end).
const B64_OTHER: u8 = 1 << 6;

const BASE64_CLASSES: [u8; 256] = {
    let mut table = [B64_OTHER | B64_NOT_HEX; 256];
    let mut byte = 0;
    while byte < 256 {
        let character = byte as u8;
        table[byte] = match character {
            b'A'..=b'F' => B64_UPPER,
            b'G'..=b'Z' => B64_UPPER | B64_NOT_HEX,
            b'a'..=b'f' => B64_LOWER,
            b'g'..=b'z' => B64_LOWER | B64_NOT_HEX,
            b'0'..=b'9' => B64_DIGIT_OR_SYMBOL,
            b'-' | b'_' => B64_DIGIT_OR_SYMBOL | B64_NOT_HEX | B64_URL_SAFE,
            b'+' | b'/' => B64_DIGIT_OR_SYMBOL | B64_NOT_HEX | B64_STANDARD,
            _ => B64_OTHER | B64_NOT_HEX,
        };
        byte += 1;
    }
    table
};

pub fn decode_clear_base64(text: &str) -> Option<String> {
    let trimmed = text.trim();
    if trimmed.len() < 12 || trimmed.len() > 64 * 1024 {
        return None;
    }
    let bytes = trimmed.as_bytes();
    // Padding is one or two `=` at the end; anything else outside the alphabets turns it down.
    let unpadded = bytes.strip_suffix(b"=").unwrap_or(bytes);
    let unpadded = unpadded.strip_suffix(b"=").unwrap_or(unpadded);
    let mut classes = 0u8;
    for byte in unpadded {
        classes |= BASE64_CLASSES[usize::from(*byte)];
    }
    let padded = unpadded.len() < bytes.len();
    let all_hex = classes & B64_NOT_HEX == 0 && !padded;
    let mixed_case = classes & (B64_UPPER | B64_LOWER) == B64_UPPER | B64_LOWER;
    if classes & B64_OTHER != 0 || all_hex || !(classes & B64_DIGIT_OR_SYMBOL != 0 || mixed_case) {
        return None;
    }
    // The alphabet and the padding say which variant it can be; one decode (and one buffer)
    // instead of trying all four on every token-like value.
    let url_safe = classes & B64_URL_SAFE != 0;
    if url_safe && classes & B64_STANDARD != 0 {
        return None;
    }
    let engine = match (url_safe, bytes.ends_with(b"=")) {
        (false, true) => STANDARD,
        (false, false) => STANDARD_NO_PAD,
        (true, true) => URL_SAFE,
        (true, false) => URL_SAFE_NO_PAD,
    };
    if !prefix_may_be_text(&engine, bytes) {
        return None;
    }
    let decoded = engine.decode(bytes).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let printable = text
        .chars()
        .filter(|character| !character.is_control() || matches!(character, '\n' | '\r' | '\t'))
        .count();
    if printable * 10 < text.chars().count() * 9 {
        return None;
    }
    Some(text)
}

/// Characters of a base64 value decoded first, alone: a whole number of quanta, and the shortest
/// value `decode_clear_base64` takes.
const PREFIX_CHARS: usize = 12;

/// False when the first `PREFIX_CHARS` characters of `bytes` decode to bytes that cannot start
/// UTF-8 text, so the whole value cannot either. A session id or an API key is a run of letters
/// and digits that decodes to random bytes, nearly always invalid UTF-8 within its first nine;
/// such values are turned down without decoding (and allocating) the whole of them. True when the
/// prefix may be text or does not decode alone; the whole decode then decides.
fn prefix_may_be_text(engine: &GeneralPurpose, bytes: &[u8]) -> bool {
    let Some(prefix) = bytes.get(..PREFIX_CHARS) else {
        return true;
    };
    let mut decoded = [0u8; PREFIX_CHARS / 4 * 3];
    let Ok(length) = engine.decode_slice(prefix, &mut decoded) else {
        return true;
    };
    // An error with a length is an invalid sequence; without one, a character cut at the end.
    std::str::from_utf8(&decoded[..length])
        .map_or_else(|error| error.error_len().is_none(), |_| true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(decoder: fn(&str) -> Cow<'_, str>, cases: &[(&str, &str)]) {
        for (input, expected) in cases {
            assert_eq!(decoder(input), *expected, "input {input:?}");
        }
    }

    #[test]
    fn percent_encoding_decodes_once_with_plus_as_space() {
        assert_eq!(percent_decode_once("a+b%20c", true), "a b c");
        assert_eq!(percent_decode_once("a+b", false), "a+b");
        assert_eq!(percent_decode_once("100%", true), "100%");
        assert_eq!(percent_decode_once("%zz%4", true), "%zz%4");
        assert_eq!(percent_decode_once("%C3%A9", true), "é");
    }

    #[test]
    fn iis_unicode_escapes_decode() {
        assert_eq!(percent_decode_once("%u003cscript%u003E", false), "<script>");
        assert_eq!(percent_decode_once("%u002e%u002e%u2215", false), "..∕");
    }

    #[test]
    fn overlong_utf8_folds_to_ascii() {
        assert_eq!(percent_decode_once("%c0%ae%c0%ae%c0%af", false), "../");
        assert_eq!(percent_decode_once("%e0%80%ae", false), ".");
        // A real two-byte character is kept.
        assert_eq!(percent_decode_once("%c3%a9", false), "é");
    }

    #[test]
    fn nested_percent_encoding_decodes_fully() {
        check(
            percent_decode_nested,
            &[
                ("%252e%252e%252f", "../"),
                ("%25252e", "."),
                ("%2527+or+1%3D1", "' or 1=1"),
                ("C++ and 100% sure", "C++ and 100% sure"),
                ("plain", "plain"),
            ],
        );
    }

    #[test]
    fn html_entities_decode_named_decimal_and_hex() {
        check(
            html_entity_decode,
            &[
                ("&lt;script&gt;", "<script>"),
                ("&#60;img&#x3E;", "<img>"),
                ("&#0000106avascript", "javascript"),
                ("&#X3c;", "<"),
                ("Tom &amp; Jerry", "Tom & Jerry"),
                ("AT&T &unknown; &", "AT&T &unknown; &"),
            ],
        );
    }

    #[test]
    fn javascript_escapes_decode_but_windows_paths_stay() {
        check(
            backslash_unescape,
            &[
                ("\\x3cscript\\x3e", "<script>"),
                ("\\u003cimg\\u{3e}", "<img>"),
                ("C:\\windows\\win.ini", "C:\\windows\\win.ini"),
                ("\\xZZ", "\\xZZ"),
            ],
        );
    }

    #[test]
    fn fullwidth_forms_fold_to_ascii() {
        check(
            unicode_compatibility_fold,
            &[
                ("＜ｓｃｒｉｐｔ＞", "<script>"),
                ("①②⑦.⓪.⓪.①", "127.0.0.1"),
                ("café", "café"),
            ],
        );
    }

    #[test]
    fn deep_decoding_combines_layers() {
        check(
            deep_decode,
            &[
                ("%26lt%3Bscript%26gt%3B", "<script>"),
                ("&#37;2e&#37;2e/", "../"),
                ("%EF%BC%9Cscript", "<script"),
                ("nothing to do", "nothing to do"),
            ],
        );
        assert!(matches!(deep_decode("plain value"), Cow::Borrowed(_)));
    }

    #[test]
    fn clear_base64_decodes_and_identifiers_do_not() {
        assert_eq!(
            decode_clear_base64("Y2F0IC9ldGMvcGFzc3dk").as_deref(),
            Some("cat /etc/passwd")
        );
        assert_eq!(
            decode_clear_base64("PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==").as_deref(),
            Some("<script>alert(1)</script>")
        );
        for other in [
            "d41d8cd98f00b204e9800998ecf8427e",
            "shortvalue",
            "averyplainlowercaseword",
            "6f1c2a9e-1b7d-4c1e-9a51-0c8f3b2d4e77",
            "dGhpcyBpcyBub3Q=!",
        ] {
            assert_eq!(decode_clear_base64(other), None, "{other}");
        }
    }

    /// The alphabet rules as written out byte by byte: `None` when a value is not base64 text
    /// to try, else whether it is the URL-safe variant.
    fn alphabet_by_rules(bytes: &[u8]) -> Option<bool> {
        if bytes.len() < 12 {
            return None;
        }
        let (mut symbol, mut upper, mut lower, mut all_hex) = (false, false, false, true);
        for (position, byte) in bytes.iter().enumerate() {
            match byte {
                b'A'..=b'Z' => upper = true,
                b'a'..=b'z' => lower = true,
                b'0'..=b'9' | b'+' | b'/' | b'-' | b'_' => symbol = true,
                b'=' if position + 2 >= bytes.len() => {}
                _ => return None,
            }
            all_hex &= byte.is_ascii_hexdigit();
        }
        if all_hex || !(symbol || upper && lower) {
            return None;
        }
        let url_safe = bytes.iter().any(|byte| matches!(byte, b'-' | b'_'));
        let standard = bytes.iter().any(|byte| matches!(byte, b'+' | b'/'));
        (!(url_safe && standard)).then_some(url_safe)
    }

    #[test]
    fn the_alphabet_table_decides_as_the_rules_do() {
        const BYTES: &[u8] = b"aF9zZ=+/-_.% ";
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let (mut decoded_count, mut refused_count) = (0, 0);
        for _ in 0..40_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let length = 12 + (state % 9) as usize;
            let mut value: Vec<u8> = (0..length)
                .map(|index| BYTES[((state >> (index * 3)) % BYTES.len() as u64) as usize])
                .collect();
            // Real base64 as often as not: letters, digits and a symbol, maybe padded.
            if state >> 63 == 1 {
                value = STANDARD
                    .encode(&value[..(state >> 40) as usize % 4 + 9])
                    .into_bytes();
            }
            let text = std::str::from_utf8(&value).unwrap();
            let decoded = decode_clear_base64(text);
            decoded_count += usize::from(decoded.is_some());
            refused_count += usize::from(alphabet_by_rules(text.trim().as_bytes()).is_none());
            match alphabet_by_rules(text.trim().as_bytes()) {
                None => assert_eq!(decoded, None, "{text}"),
                Some(url_safe) => {
                    let trimmed = text.trim().as_bytes();
                    let engine = match (url_safe, trimmed.ends_with(b"=")) {
                        (false, true) => STANDARD,
                        (false, false) => STANDARD_NO_PAD,
                        (true, true) => URL_SAFE,
                        (true, false) => URL_SAFE_NO_PAD,
                    };
                    let whole = engine
                        .decode(trimmed)
                        .ok()
                        .and_then(|b| String::from_utf8(b).ok());
                    if decoded.is_some() {
                        assert_eq!(decoded, whole, "{text}");
                    } else if let Some(whole) = whole {
                        // Turned down for what it decodes to (control characters), not its alphabet.
                        let controls = whole.chars().filter(|c| c.is_control()).count();
                        assert!(controls > 0, "{text} decodes to {whole:?}");
                    }
                }
            }
        }
        assert!(
            decoded_count > 5_000 && refused_count > 5_000,
            "{decoded_count} {refused_count}"
        );
    }

    #[test]
    fn a_prefix_turns_down_only_what_the_whole_decode_would() {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let (mut checked, mut turned_down) = (0, 0);
        for length in 12..80 {
            for _ in 0..50 {
                let token: String = (0..length)
                    .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize] as char)
                    .collect();
                for engine in [STANDARD_NO_PAD, URL_SAFE_NO_PAD] {
                    checked += 1;
                    if prefix_may_be_text(&engine, token.as_bytes()) {
                        continue;
                    }
                    turned_down += 1;
                    let whole = engine.decode(token.as_bytes());
                    assert!(
                        whole.map_or(true, |bytes| String::from_utf8(bytes).is_err()),
                        "{token}"
                    );
                }
            }
        }
        // Random tokens are nearly all turned down by their prefix alone.
        assert!(turned_down * 10 > checked * 9, "{turned_down} of {checked}");
        // Text is not, even when the prefix ends inside a character.
        for text in [
            "aaaaaaaa\u{20ac}uro and more",
            "na\u{ef}ve caf\u{e9} \u{fc}n\u{ef}c\u{f6}d\u{e9}",
            "\u{65e5}\u{672c}\u{8a9e}\u{306e}\u{30c6}\u{30ad}\u{30b9}\u{30c8}",
            "cat /etc/passwd",
        ] {
            let encoded = STANDARD.encode(text);
            assert!(prefix_may_be_text(&STANDARD, encoded.as_bytes()), "{text}");
            assert_eq!(decode_clear_base64(&encoded).as_deref(), Some(text));
        }
    }
}
