//! The pre-filter: one pass over a value's bytes records which kinds of characters it holds, as
//! bits. Every detector names the characters its attacks cannot do without, so a value of letters,
//! digits and a few harmless marks is cleared in nanoseconds and never reaches a grammar or rule.

/// A set of character classes present in a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Features(pub u32);

pub(crate) const QUOTE: u32 = 1 << 0; // ' "
pub(crate) const BACKTICK: u32 = 1 << 1;
pub(crate) const ANGLE: u32 = 1 << 2; // < >
pub(crate) const PAREN: u32 = 1 << 3; // ( )
pub(crate) const BRACE: u32 = 1 << 4; // { }
pub(crate) const BRACKET: u32 = 1 << 5; // [ ]
pub(crate) const SEMICOLON: u32 = 1 << 6;
pub(crate) const PIPE: u32 = 1 << 7;
pub(crate) const AMPERSAND: u32 = 1 << 8;
pub(crate) const DOLLAR: u32 = 1 << 9;
pub(crate) const PERCENT: u32 = 1 << 10;
pub(crate) const BACKSLASH: u32 = 1 << 11;
pub(crate) const SLASH: u32 = 1 << 12;
pub(crate) const DOT: u32 = 1 << 13;
pub(crate) const COLON: u32 = 1 << 14;
pub(crate) const EQUALS: u32 = 1 << 15;
pub(crate) const STAR: u32 = 1 << 16;
pub(crate) const HASH: u32 = 1 << 17;
/// Bytes below 0x20 and DEL: tab, CR, LF, NUL.
pub(crate) const CONTROL: u32 = 1 << 18;
pub(crate) const NON_ASCII: u32 = 1 << 19;
pub(crate) const SPACE: u32 = 1 << 20;
pub(crate) const PLUS: u32 = 1 << 21;
pub(crate) const DASH: u32 = 1 << 22;
pub(crate) const AT: u32 = 1 << 23;
pub(crate) const EXCLAMATION: u32 = 1 << 24;
pub(crate) const QUESTION: u32 = 1 << 25;
pub(crate) const TILDE: u32 = 1 << 26;
pub(crate) const COMMA: u32 = 1 << 27;
/// CR or LF specifically (also counted in `CONTROL`).
pub(crate) const NEWLINE: u32 = 1 << 28;
pub(crate) const CARET: u32 = 1 << 29;

/// Characters that can start an encoded form another layer would decode.
pub(crate) const ENCODED: u32 = PERCENT | BACKSLASH | AMPERSAND | NON_ASCII;

/// Classes that never take part in an attack on their own: letters and digits carry no class,
/// and these marks appear in names, numbers, dates, emails and file names.
const HARMLESS: u32 = SPACE | DASH | DOT | AT | COMMA | PLUS;

const fn class_of(byte: u8) -> u32 {
    match byte {
        b'\'' | b'"' => QUOTE,
        b'`' => BACKTICK,
        b'<' | b'>' => ANGLE,
        b'(' | b')' => PAREN,
        b'{' | b'}' => BRACE,
        b'[' | b']' => BRACKET,
        b';' => SEMICOLON,
        b'|' => PIPE,
        b'&' => AMPERSAND,
        b'$' => DOLLAR,
        b'%' => PERCENT,
        b'\\' => BACKSLASH,
        b'/' => SLASH,
        b'.' => DOT,
        b':' => COLON,
        b'=' => EQUALS,
        b'*' => STAR,
        b'#' => HASH,
        b'\r' | b'\n' => CONTROL | NEWLINE,
        0..=0x1F | 0x7F => CONTROL,
        0x80..=0xFF => NON_ASCII,
        b' ' => SPACE,
        b'+' => PLUS,
        b'-' => DASH,
        b'@' => AT,
        b'!' => EXCLAMATION,
        b'?' => QUESTION,
        b'~' => TILDE,
        b',' => COMMA,
        b'^' => CARET,
        _ => 0,
    }
}

const CLASS_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut byte = 0;
    while byte < 256 {
        table[byte] = class_of(byte as u8);
        byte += 1;
    }
    table
};

impl Features {
    pub(crate) fn of(text: &str) -> Features {
        let mut bits = 0u32;
        for byte in text.bytes() {
            bits |= CLASS_TABLE[byte as usize];
        }
        Features(bits)
    }

    pub(crate) fn has(self, classes: u32) -> bool {
        self.0 & classes != 0
    }

    #[cfg(test)]
    pub(crate) fn has_all(self, classes: u32) -> bool {
        self.0 & classes == classes
    }

    /// True when the value holds nothing but letters, digits and harmless marks: no detector can
    /// match it, except the keyword checks for values with spaces, which the caller handles.
    pub(crate) fn is_plain(self) -> bool {
        self.0 & !HARMLESS == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_are_collected_in_one_pass() {
        let features = Features::of("a'b<c(d");
        assert!(features.has_all(QUOTE | ANGLE | PAREN));
        assert!(!features.has(SEMICOLON));
        assert!(Features::of("line\r\nnext").has_all(CONTROL | NEWLINE));
        assert!(Features::of("é").has(NON_ASCII));
    }

    #[test]
    fn names_numbers_and_emails_are_plain() {
        for plain in [
            "john.doe@example.com",
            "report.v2.final.pdf",
            "42",
            "New York, NY",
            "+49 30 1234-5678",
            "",
        ] {
            assert!(Features::of(plain).is_plain(), "{plain}");
        }
        for suspicious in ["1'", "a/b", "x=1", "10:30", "a;b", "%27"] {
            assert!(!Features::of(suspicious).is_plain(), "{suspicious}");
        }
    }
}
