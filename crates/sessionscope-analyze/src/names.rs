//! Which parameter, header, cookie and JSON property names hold secrets.
//!
//! Two tiers: a *masked* name (a password, a card number) is never stored in any form; a *credential*
//! name (a token, a session cookie, an API key) is stored only as a keyed hash, so it stays unreadable
//! but equal values still group. Names are compared case-insensitively and `-` / `_` / `.` tolerant:
//! `card-number`, `card_number` and `cardNumber` are the same name.

use crate::memory::{new_memory, recall, Memory};

/// Fragments that make a name masked wherever they occur in it (after lowercasing and removing
/// separators). Only fragments long or rare enough not to hit ordinary words sit here.
const MASKED_FRAGMENTS: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "passcode",
    "secret",
    "cardnumber",
    "creditcard",
    "cardnum",
    "securitycode",
    "pincode",
    "cvv",
    "cvc",
];

/// Short words that make a name masked only when they are a whole word of it (`old_pass`,
/// `userPin`), because as fragments they hit `passport`, `spinner` or `company`.
const MASKED_WORDS: &[&str] = &["pwd", "pass", "pw", "pin", "pan", "ccv", "cvv2"];

/// Fragments that make a name a credential (always stored hashed).
const CREDENTIAL_FRAGMENTS: &[&str] = &[
    "token",
    "session",
    "sessid",
    "secret",
    "apikey",
    "cookie",
    "credential",
    "bearer",
    "jwt",
    "csrf",
    "xsrf",
];

/// Exact names that are sensitive in a query string on top of the masked and credential names
/// (signed URLs and OAuth redirects carry secrets under these).
const QUERY_SECRET_NAMES: &[&str] = &["key", "sig", "signature", "code", "hmac"];

/// Headers whose whole value is a credential.
const CREDENTIAL_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "api-key",
    "apikey",
    "x-auth-token",
    "x-access-token",
];

/// A name lowercased with `-`, `_`, `.` and spaces removed, kept on the stack: this runs for every
/// query parameter of every exchange, so it must not allocate. Longer names keep their first
/// `SQUASHED_CAPACITY` bytes, which is plenty to hold the fragments looked for.
const SQUASHED_CAPACITY: usize = 64;

struct Squashed {
    bytes: [u8; SQUASHED_CAPACITY],
    length: usize,
}

impl Squashed {
    fn new(name: &str) -> Squashed {
        let mut squashed = Squashed {
            bytes: [0; SQUASHED_CAPACITY],
            length: 0,
        };
        for byte in name.bytes() {
            if matches!(byte, b'-' | b'_' | b'.' | b' ') {
                continue;
            }
            if squashed.length == SQUASHED_CAPACITY {
                break;
            }
            squashed.bytes[squashed.length] = byte.to_ascii_lowercase();
            squashed.length += 1;
        }
        squashed
    }

    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.length]
    }

    /// Substring search; a plain window scan beats building a searcher on names this short.
    fn contains(&self, fragment: &str) -> bool {
        let fragment = fragment.as_bytes();
        self.length >= fragment.len()
            && self
                .as_bytes()
                .windows(fragment.len())
                .any(|window| window == fragment)
    }
}

/// Calls `visit` with each word of a name: words are split on anything that is not a letter or
/// digit and where a lower-case letter is followed by an upper-case one (`userPin` → `user`, `Pin`).
/// Stops early and returns true when `visit` does.
pub(crate) fn any_word(name: &str, mut visit: impl FnMut(&str) -> bool) -> bool {
    let bytes = name.as_bytes();
    let mut start: Option<usize> = None;
    for index in 0..bytes.len() {
        let byte = bytes[index];
        let is_word_byte = byte.is_ascii_alphanumeric() || byte >= 0x80;
        if !is_word_byte {
            if let Some(word_start) = start.take() {
                if visit(&name[word_start..index]) {
                    return true;
                }
            }
            continue;
        }
        match start {
            None => start = Some(index),
            Some(word_start) => {
                let previous = bytes[index - 1];
                if previous.is_ascii_lowercase() && byte.is_ascii_uppercase() {
                    if visit(&name[word_start..index]) {
                        return true;
                    }
                    start = Some(index);
                }
            }
        }
    }
    match start {
        Some(word_start) => visit(&name[word_start..]),
        None => false,
    }
}

fn squashed_is_masked(name: &str, squashed: &Squashed) -> bool {
    if MASKED_FRAGMENTS
        .iter()
        .any(|fragment| squashed.contains(fragment))
    {
        return true;
    }
    any_word(name, |word| {
        MASKED_WORDS
            .iter()
            .any(|masked| word.eq_ignore_ascii_case(masked))
    })
}

fn squashed_is_credential(squashed: &Squashed) -> bool {
    if CREDENTIAL_FRAGMENTS
        .iter()
        .any(|fragment| squashed.contains(fragment))
    {
        return true;
    }
    // `auth` covers authorization, oauth, x-auth; `author` (a person) is the one common word it
    // would wrongly catch.
    if squashed.contains("auth") {
        let is_only_author = squashed.contains("author") && !squashed.contains("authoriz");
        return !is_only_author;
    }
    false
}

/// What a name is, as bits: every question below is answered at once and remembered.
const MASKED: u8 = 1 << 0;
const CREDENTIAL: u8 = 1 << 1;
const CREDENTIAL_HEADER: u8 = 1 << 2;
const SENSITIVE_QUERY: u8 = 1 << 3;

fn classify(name: &str) -> u8 {
    let squashed = Squashed::new(name);
    let mut class = 0;
    if squashed_is_masked(name, &squashed) {
        class |= MASKED | SENSITIVE_QUERY;
    }
    if squashed_is_credential(&squashed) {
        class |= CREDENTIAL | CREDENTIAL_HEADER | SENSITIVE_QUERY;
    }
    if CREDENTIAL_HEADERS.contains(&name) {
        class |= CREDENTIAL_HEADER;
    }
    if QUERY_SECRET_NAMES
        .iter()
        .any(|secret| name.eq_ignore_ascii_case(secret))
    {
        class |= SENSITIVE_QUERY;
    }
    class
}

/// Names longer than this are classified every time rather than remembered.
const MAX_REMEMBERED_NAME_BYTES: usize = 64;
/// Distinct names a thread remembers (then it starts over).
const REMEMBERED_NAMES: usize = 4_096;

thread_local! {
    /// The same few dozen parameter, header and property names come back on every request and
    /// are asked about several times each (analysis, detection masks, samples); a lookup costs a
    /// tenth of the fragment scans.
    static CLASSES: Memory<Box<str>, u8> = new_memory(256);
}

fn class_of(name: &str) -> u8 {
    if name.len() > MAX_REMEMBERED_NAME_BYTES {
        return classify(name);
    }
    CLASSES.with(|memory| recall(memory, REMEMBERED_NAMES, name, || classify(name)))
}

/// True for names whose values must never be stored, not even hashed: passwords, card data, secrets.
pub fn is_masked_name(name: &str) -> bool {
    class_of(name) & MASKED != 0
}

/// True for names whose values are credentials: stored only as a keyed hash.
pub fn is_credential_name(name: &str) -> bool {
    class_of(name) & CREDENTIAL != 0
}

/// True for header names whose value is a credential as a whole.
pub fn is_credential_header(lowercase_name: &str) -> bool {
    class_of(lowercase_name) & CREDENTIAL_HEADER != 0
}

/// True for query parameter names whose values are replaced by `***` in the stored query string.
pub fn is_sensitive_query_name(name: &str) -> bool {
    class_of(name) & SENSITIVE_QUERY != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembered_classes_are_the_classes() {
        let long = format!("password_{}", "x".repeat(MAX_REMEMBERED_NAME_BYTES));
        let mut names: Vec<String> = ["password", "Authorization", "x-api-key", "key", "author"]
            .iter()
            .map(|name| name.to_string())
            .collect();
        names.push(long);
        // More distinct names than a thread keeps, so the memory starts over on the way.
        names.extend((0..REMEMBERED_NAMES + 10).map(|index| format!("field{index}_token")));
        for round in 0..2 {
            for name in &names {
                assert_eq!(class_of(name), classify(name), "{name} in round {round}");
            }
        }
        assert!(CLASSES.with(|cell| cell.borrow().len()) <= REMEMBERED_NAMES);
        assert!(is_masked_name(&names[5]) && !is_credential_name(&names[5]));
        assert!(is_credential_header("x-api-key") && !is_credential_header("accept"));
    }

    #[test]
    fn masked_names_are_recognised_in_any_spelling() {
        let masked = [
            "password",
            "Password",
            "new_password",
            "confirmPassword",
            "passwd",
            "pwd",
            "pass",
            "old-pass",
            "secret",
            "client_secret",
            "CLIENT-SECRET",
            "pin",
            "userPin",
            "cvv",
            "cvc",
            "card_number",
            "cardNumber",
            "card-number",
            "cardnumber",
            "pan",
            "passphrase",
        ];
        for name in masked {
            assert!(is_masked_name(name), "{name} should be masked");
        }
        let clear = [
            "passport", "spinner", "company", "username", "email", "role", "sub", "compass",
        ];
        for name in clear {
            assert!(!is_masked_name(name), "{name} should not be masked");
        }
    }

    #[test]
    fn credential_names_are_recognised() {
        let credentials = [
            "access_token",
            "refreshToken",
            "x-session-id",
            "PHPSESSID",
            "api_key",
            "x-api-key",
            "apikey",
            "auth",
            "x-auth",
            "Authorization",
            "oauth_state",
            "csrf_token",
            "jwt",
        ];
        for name in credentials {
            assert!(is_credential_name(name), "{name} should be a credential");
        }
        let clear = ["author", "authors", "user", "page", "id", "sort"];
        for name in clear {
            assert!(
                !is_credential_name(name),
                "{name} should not be a credential"
            );
        }
    }

    #[test]
    fn query_names_add_signed_url_parameters() {
        for name in [
            "key",
            "sig",
            "signature",
            "code",
            "access_token",
            "password",
        ] {
            assert!(is_sensitive_query_name(name), "{name} should be sensitive");
        }
        for name in ["keyword", "page", "q", "zip_code"] {
            assert!(
                !is_sensitive_query_name(name),
                "{name} should not be sensitive"
            );
        }
    }

    #[test]
    fn words_split_on_separators_and_camel_case() {
        let mut words = Vec::new();
        any_word("x-userPin_code.v2", |word| {
            words.push(word.to_string());
            false
        });
        assert_eq!(words, vec!["x", "user", "Pin", "code", "v2"]);
    }
}
