//! A strict, borrowing JSON reader for the common shape of a record. It reads exactly what the
//! caller expects and gives up (`None`) at the first thing it does not handle itself — an escaped
//! key, an unexpected type, `null`, invalid JSON — leaving the record to serde_json, which either
//! reads it the same way or explains what is wrong. It never accepts text serde_json would reject
//! and never reads a value differently: numbers other than plain integers are handed to serde_json
//! one by one, and strings with escapes are unescaped by JSON's rules, giving up on anything
//! doubtful (an unknown escape, a lone surrogate).
//!
//! Generic serde visitors cost most of a line's parse time; reading the few fields of a record
//! straight off the bytes took a bench line from ~14,700 to ~10,800 instructions (BENCHMARKS.md).

use std::borrow::Cow;

use crate::json::Loose;

/// A position in one record's text.
pub(crate) struct Cursor<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(text: &'a str) -> Cursor<'a> {
        Cursor { text, at: 0 }
    }

    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes().get(self.at) {
            self.at += 1;
        }
    }

    /// The next byte after whitespace, not consumed.
    fn peek(&mut self) -> Option<u8> {
        self.skip_whitespace();
        self.bytes().get(self.at).copied()
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        if self.peek()? != byte {
            return None;
        }
        self.at += 1;
        Some(())
    }

    /// Nothing but whitespace is left.
    pub(crate) fn finish(mut self) -> Option<()> {
        self.skip_whitespace();
        (self.at == self.text.len()).then_some(())
    }

    /// Reads an object, calling `member` with each key; `member` must read the value.
    pub(crate) fn object(
        &mut self,
        mut member: impl FnMut(&mut Cursor<'a>, &'a str) -> Option<()>,
    ) -> Option<()> {
        self.sequence(b'{', b'}', |cursor| {
            let Cow::Borrowed(key) = cursor.string()? else {
                return None;
            };
            cursor.expect(b':')?;
            member(cursor, key)
        })
    }

    /// Reads an array, calling `element` for each element; `element` must read it.
    pub(crate) fn array(
        &mut self,
        element: impl FnMut(&mut Cursor<'a>) -> Option<()>,
    ) -> Option<()> {
        self.sequence(b'[', b']', element)
    }

    /// `open`, items separated by commas, `close`.
    fn sequence(
        &mut self,
        open: u8,
        close: u8,
        mut item: impl FnMut(&mut Cursor<'a>) -> Option<()>,
    ) -> Option<()> {
        self.expect(open)?;
        if self.peek()? == close {
            self.at += 1;
            return Some(());
        }
        loop {
            item(self)?;
            match self.peek()? {
                b',' => self.at += 1,
                byte if byte == close => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// Reads a string: borrowed from the text when it has no escapes.
    pub(crate) fn string(&mut self) -> Option<Cow<'a, str>> {
        self.expect(b'"')?;
        let start = self.at;
        let bytes = self.bytes();
        let mut escaped = false;
        let mut end = start;
        loop {
            end = find_special(bytes, end)?;
            match bytes[end] {
                b'"' => break,
                // A backslash and the byte it escapes; `"` and `\` never occur inside a
                // multi-byte character, so skipping one byte cannot hide one that matters.
                b'\\' => {
                    escaped = true;
                    end += 2;
                }
                // Raw control characters are not allowed in JSON strings.
                _ => return None,
            }
        }
        self.at = end + 1;
        let text = self.text.get(start..end)?;
        if escaped {
            unescape(text).map(Cow::Owned)
        } else {
            Some(Cow::Borrowed(text))
        }
    }

    /// Reads a string, number or boolean; `null`, arrays and objects give up.
    pub(crate) fn scalar(&mut self) -> Option<Loose<'a>> {
        match self.peek()? {
            b'"' => self.string().map(Loose::Text),
            b't' => self.literal("true").map(|()| Loose::Bool(true)),
            b'f' => self.literal("false").map(|()| Loose::Bool(false)),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    fn literal(&mut self, word: &str) -> Option<()> {
        let rest = self.text.get(self.at..)?;
        if !rest.starts_with(word) {
            return None;
        }
        self.at += word.len();
        Some(())
    }

    fn number(&mut self) -> Option<Loose<'a>> {
        let start = self.at;
        let bytes = self.bytes();
        let mut end = start;
        while let Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') = bytes.get(end) {
            end += 1;
        }
        self.at = end;
        let digits = self.text.get(start..end)?;
        // Signs, exponents and huge integers: serde_json decides, exactly as in place.
        short_number(digits).or_else(|| serde_json::from_str::<Loose>(digits).ok())
    }
}

/// Exact powers of ten, for `short_number`.
const POWERS_OF_TEN: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/// The two kinds of number nearly every log line holds, read in one pass: an unsigned integer of
/// up to 19 digits (`200`, sizes), and a decimal with a fraction and at most 15 digits in all
/// (`731.7`, `-0.5`; durations). Such a decimal's digits fit a double exactly, and one division
/// by an exact power of ten rounds correctly, so the value is the one serde_json gives. `None`
/// for anything else (a sign on an integer, an exponent, a leading zero, more digits).
fn short_number(text: &str) -> Option<Loose<'static>> {
    let (negative, unsigned) = match text.as_bytes().split_first()? {
        (b'-', rest) => (true, rest),
        _ => (false, text.as_bytes()),
    };
    if unsigned.len() > 1 && unsigned[0] == b'0' && unsigned[1] != b'.' {
        return None;
    }
    let mut significand = 0u64;
    let mut digit_count = 0;
    let mut fraction_digits: Option<usize> = None;
    for &byte in unsigned {
        match byte {
            b'0'..=b'9' if digit_count < 19 => {
                significand = significand * 10 + u64::from(byte - b'0');
                digit_count += 1;
                if let Some(count) = &mut fraction_digits {
                    *count += 1;
                }
            }
            b'.' if fraction_digits.is_none() && digit_count > 0 => fraction_digits = Some(0),
            _ => return None,
        }
    }
    match fraction_digits {
        None if !negative && digit_count > 0 => Some(Loose::Unsigned(significand)),
        Some(fraction) if fraction > 0 && digit_count <= 15 => {
            let magnitude = significand as f64 / POWERS_OF_TEN[fraction];
            Some(Loose::Float(if negative { -magnitude } else { magnitude }))
        }
        _ => None,
    }
}

/// Where the first `"`, `\` or control character is in `bytes[from..]`, eight bytes at a time.
fn find_special(bytes: &[u8], from: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let is_special = |byte: u8| byte == b'"' || byte == b'\\' || byte < 0x20;
    let mut at = from;
    while let Some(chunk) = bytes.get(at..at + 8) {
        let word = u64::from_le_bytes(chunk.try_into().ok()?);
        let quotes = word ^ (ONES * u64::from(b'"'));
        let backslashes = word ^ (ONES * u64::from(b'\\'));
        // A byte's high bit is set where it is zero (or below 0x20); a false mark can only sit
        // above a true one, so the lowest mark is the first special byte.
        let marks = (quotes.wrapping_sub(ONES) & !quotes
            | backslashes.wrapping_sub(ONES) & !backslashes
            | word.wrapping_sub(ONES * 0x20) & !word)
            & HIGHS;
        if marks != 0 {
            return Some(at + marks.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    bytes
        .get(at..)?
        .iter()
        .position(|&byte| is_special(byte))
        .map(|offset| at + offset)
}

/// The text of a JSON string with escapes (without its quotes, free of raw control characters),
/// unescaped; `None` for an escape serde_json would reject or a lone surrogate.
fn unescape(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = String::with_capacity(raw.len());
    let mut at = 0;
    loop {
        let Some(offset) = memchr::memchr(b'\\', &bytes[at..]) else {
            out.push_str(&raw[at..]);
            return Some(out);
        };
        out.push_str(&raw[at..at + offset]);
        at += offset + 1;
        let escape = *bytes.get(at)?;
        at += 1;
        let character = match escape {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let first = hex4(bytes.get(at..at + 4)?)?;
                at += 4;
                if (0xD800..0xDC00).contains(&first) {
                    if bytes.get(at..at + 2)? != b"\\u" {
                        return None;
                    }
                    let second = hex4(bytes.get(at + 2..at + 6)?)?;
                    if !(0xDC00..0xE000).contains(&second) {
                        return None;
                    }
                    at += 6;
                    char::from_u32(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))?
                } else {
                    // A lone trailing surrogate is no character: `from_u32` refuses it.
                    char::from_u32(first)?
                }
            }
            _ => return None,
        };
        out.push(character);
    }
}

fn hex4(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |value, &digit| {
        Some(value << 4 | char::from(digit).to_digit(16)?)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(text: &str) -> Option<Loose<'_>> {
        let mut cursor = Cursor::new(text);
        let value = cursor.scalar()?;
        cursor.finish()?;
        Some(value)
    }

    #[test]
    fn scalars_read_as_serde_json_reads_them() {
        for text in [
            "0",
            "7",
            "18446744073709551615",
            "18446744073709551616",
            "-3",
            "-0",
            "41.5",
            "1e3",
            "1795341600.123456",
            "2.5E-3",
            "true",
            "false",
            r#""plain""#,
            r#""a\"b\\c\u00e9\ud83d\ude00\n""#,
            r#""\/\b\f\r\t\u0000\uFFFF\uD834\uDD1E end""#,
            r#""a long string of more than eight bytes with an \"escape\" late in it""#,
            r#""nothing special in a string longer than eight bytes""#,
            r#""été""#,
            " 5 ",
        ] {
            let expected: Loose = serde_json::from_str(text).unwrap();
            assert_eq!(scalar(text), Some(expected), "{text}");
        }
    }

    #[test]
    fn short_decimals_are_the_doubles_serde_json_reads() {
        let mut texts: Vec<String> = [
            "-0.0",
            "0.1",
            "731.7",
            "900719925474.099",
            "0.00000000000001",
        ]
        .iter()
        .map(|text| text.to_string())
        .collect();
        // Every split of 1–15 pseudo-random digits into a whole and a fraction part, both signs.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..3_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let length = 2 + (state % 14) as usize;
            let digits: String = (0..length)
                .map(|index| char::from(b'0' + ((state >> (index * 4)) % 10) as u8))
                .collect();
            let point = 1 + (state >> 60) as usize % (length - 1);
            let whole = digits[..point].trim_start_matches('0');
            let whole = if whole.is_empty() { "0" } else { whole };
            let sign = if state & 1 == 0 { "" } else { "-" };
            texts.push(format!("{sign}{whole}.{}", &digits[point..]));
        }
        for text in &texts {
            assert!(short_number(text).is_some(), "{text}");
            let Some(Loose::Float(read)) = scalar(text) else {
                panic!("{text} is not read as a float");
            };
            let expected: f64 = serde_json::from_str(text).unwrap();
            assert_eq!(read.to_bits(), expected.to_bits(), "{text}");
        }
        for text in [
            "01.5",
            "1.",
            ".5",
            "1.5e3",
            "-",
            "1.2.3",
            "1234567890123.456",
            "+1.5",
            "-3",
            "00",
            "12345678901234567890",
        ] {
            assert!(short_number(text).is_none(), "{text}");
        }
        // Integers are read as serde_json reads them too.
        for text in ["0", "7", "200", "9999999999999999999", "1795341600"] {
            let expected: Loose = serde_json::from_str(text).unwrap();
            assert_eq!(short_number(text), Some(expected), "{text}");
        }
    }

    #[test]
    fn special_bytes_are_found_where_a_byte_by_byte_search_finds_them() {
        // Bytes around the special ones (", \, controls) and high bytes, at every offset.
        let alphabet = [
            b'"', b'\\', 0x00, 0x1f, 0x20, 0x21, b'!', b'#', b'[', b']', b'a', 0x7f, 0x80, 0xc3,
            0xff,
        ];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for length in 0..40 {
            for _ in 0..200 {
                let bytes: Vec<u8> = (0..length)
                    .map(|_| {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        alphabet[(state % alphabet.len() as u64) as usize]
                    })
                    .collect();
                for from in 0..=length {
                    let expected = bytes[from..]
                        .iter()
                        .position(|&byte| byte == b'"' || byte == b'\\' || byte < 0x20)
                        .map(|offset| from + offset);
                    assert_eq!(
                        find_special(&bytes, from),
                        expected,
                        "{bytes:?} from {from}"
                    );
                }
            }
        }
    }

    #[test]
    fn anything_unusual_or_invalid_gives_up() {
        for text in [
            "null",
            "[1]",
            "{}",
            "01",
            "1.",
            "--1",
            "1e",
            "+1",
            "tru",
            "\"open",
            "\"a\u{1}b\"",
            r#""\x""#,
            r#""\ud800""#,
            r#""\udc00""#,
            r#""\ud800\u0041""#,
            r#""\u12""#,
            r#""\u12G4""#,
            "\"long enough to be read eight bytes at a time\u{1f}\"",
            "\"ends in a backslash\\",
            "5 6",
        ] {
            assert_eq!(scalar(text), None, "{text:?}");
        }
    }

    #[test]
    fn objects_and_arrays_hand_each_member_to_the_caller() {
        let mut cursor = Cursor::new(r#" {"a" : [["x","y"], []], "b":1} "#);
        let mut seen = Vec::new();
        cursor
            .object(|cursor, key| {
                seen.push(key.to_string());
                match key {
                    "a" => cursor.array(|cursor| cursor.array(|cursor| cursor.string().map(drop))),
                    _ => cursor.scalar().map(drop),
                }
            })
            .unwrap();
        cursor.finish().unwrap();
        assert_eq!(seen, ["a", "b"]);

        for broken in [
            r#"{"a":1,}"#,
            r#"{"a":1"#,
            r#"{"a" 1}"#,
            r#"{"a\u0062":1}"#,
            "{} x",
        ] {
            let mut cursor = Cursor::new(broken);
            let read = cursor
                .object(|cursor, _| cursor.scalar().map(drop))
                .and_then(|()| cursor.finish());
            assert_eq!(read, None, "{broken}");
        }
    }
}
