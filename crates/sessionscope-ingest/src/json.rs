//! Borrowing JSON building blocks for the line parsers. Their visitors never fail on a value's type:
//! they record what they saw, so the parser can reject a record with the name of the field that had
//! the wrong type instead of serde's position-only message. Strings that need no unescaping are
//! borrowed from the line, which keeps the NDJSON hot path to one allocation per kept string.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use sessionscope_model::Headers;

/// A JSON value of any type; arrays and objects are skipped and only their kind is kept.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Loose<'a> {
    Text(Cow<'a, str>),
    Unsigned(u64),
    Signed(i64),
    Float(f64),
    Bool(bool),
    Null,
    Array,
    Object,
}

impl<'a> Loose<'a> {
    /// The JSON type name, for messages.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Loose::Text(_) => "string",
            Loose::Unsigned(_) | Loose::Signed(_) | Loose::Float(_) => "number",
            Loose::Bool(_) => "boolean",
            Loose::Null => "null",
            Loose::Array => "array",
            Loose::Object => "object",
        }
    }

    /// Any number as f64.
    pub(crate) fn as_number(&self) -> Option<f64> {
        match *self {
            Loose::Unsigned(value) => Some(value as f64),
            Loose::Signed(value) => Some(value as f64),
            Loose::Float(value) => Some(value),
            _ => None,
        }
    }

    /// Strings as they are and numbers and booleans as text; used by log formats whose writers
    /// disagree on whether `status` is `200` or `"200"`.
    pub(crate) fn to_text(&self) -> Option<Cow<'a, str>> {
        match self {
            Loose::Text(text) => Some(text.clone()),
            Loose::Unsigned(value) => Some(Cow::Owned(value.to_string())),
            Loose::Signed(value) => Some(Cow::Owned(value.to_string())),
            Loose::Float(value) => Some(Cow::Owned(value.to_string())),
            Loose::Bool(value) => Some(Cow::Borrowed(if *value { "true" } else { "false" })),
            Loose::Null | Loose::Array | Loose::Object => None,
        }
    }
}

struct LooseVisitor;

impl<'de> Visitor<'de> for LooseVisitor {
    type Value = Loose<'de>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Self::Value, E> {
        Ok(Loose::Text(Cow::Borrowed(value)))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        Ok(Loose::Text(Cow::Owned(value.to_string())))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Self::Value, E> {
        Ok(Loose::Text(Cow::Owned(value)))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
        Ok(Loose::Unsigned(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
        Ok(Loose::Signed(value))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Self::Value, E> {
        Ok(Loose::Float(value))
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Self::Value, E> {
        Ok(Loose::Bool(value))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Loose::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Loose::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut sequence: A) -> Result<Self::Value, A::Error> {
        while sequence.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Loose::Array)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Loose::Object)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Loose<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LooseVisitor)
    }
}

/// An object key, borrowed when it needs no unescaping.
pub(crate) struct Key<'a>(pub Cow<'a, str>);

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("an object key")
    }

    fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Self::Value, E> {
        Ok(Key(Cow::Borrowed(value)))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        Ok(Key(Cow::Owned(value.to_string())))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Self::Value, E> {
        Ok(Key(Cow::Owned(value)))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Key<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// A field that must be an object: the object parsed as `T`, or the type name found instead.
pub(crate) enum Nested<T> {
    Object(T),
    WrongType(&'static str),
}

struct NestedVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for NestedVisitor<T> {
    type Value = Nested<T>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Nested::Object)
    }

    fn visit_str<E: de::Error>(self, _value: &str) -> Result<Self::Value, E> {
        Ok(Nested::WrongType("string"))
    }

    fn visit_u64<E: de::Error>(self, _value: u64) -> Result<Self::Value, E> {
        Ok(Nested::WrongType("number"))
    }

    fn visit_i64<E: de::Error>(self, _value: i64) -> Result<Self::Value, E> {
        Ok(Nested::WrongType("number"))
    }

    fn visit_f64<E: de::Error>(self, _value: f64) -> Result<Self::Value, E> {
        Ok(Nested::WrongType("number"))
    }

    fn visit_bool<E: de::Error>(self, _value: bool) -> Result<Self::Value, E> {
        Ok(Nested::WrongType("boolean"))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Nested::WrongType("null"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut sequence: A) -> Result<Self::Value, A::Error> {
        while sequence.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Nested::WrongType("array"))
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Nested<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NestedVisitor(PhantomData))
    }
}

/// The flexible `headers` field of exchange NDJSON: an array of `[name, value]` pairs, an object
/// of strings, or an object of arrays of strings. A value of another shape is not an error here;
/// `problem` says what was wrong so the caller can name the field.
#[derive(Debug, Default)]
pub(crate) struct WireHeaders {
    pub pairs: Headers,
    pub problem: Option<String>,
}

impl WireHeaders {
    fn note_problem(&mut self, problem: String) {
        if self.problem.is_none() {
            self.problem = Some(problem);
        }
    }
}

/// One element of the pair form: `[name, value]`, borrowed from the line where it has no escapes.
struct HeaderPair<'de>(Result<(Cow<'de, str>, Cow<'de, str>), String>);

struct HeaderPairVisitor;

impl<'de> Visitor<'de> for HeaderPairVisitor {
    type Value = HeaderPair<'de>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a [name, value] pair")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut sequence: A) -> Result<Self::Value, A::Error> {
        let name = sequence.next_element::<Loose>()?;
        let value = sequence.next_element::<Loose>()?;
        let mut extra = 0usize;
        while sequence.next_element::<IgnoredAny>()?.is_some() {
            extra += 1;
        }
        let pair = match (name, value) {
            (Some(Loose::Text(name)), Some(Loose::Text(value))) if extra == 0 => Ok((name, value)),
            (Some(Loose::Text(_)), Some(Loose::Text(_))) => Err(format!(
                "a header pair has {} elements instead of 2",
                extra + 2
            )),
            (Some(Loose::Text(_)), Some(other)) => Err(format!(
                "a header value must be a string, got {}",
                other.type_name()
            )),
            (Some(Loose::Text(_)), None) => Err("a header pair has no value".to_string()),
            (Some(other), _) => Err(format!(
                "a header name must be a string, got {}",
                other.type_name()
            )),
            (None, _) => Err("a header pair is empty".to_string()),
        };
        Ok(HeaderPair(pair))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(HeaderPair(Err(
            "a header pair must be an array [name, value], got object".to_string(),
        )))
    }

    fn visit_borrowed_str<E: de::Error>(self, _value: &'de str) -> Result<Self::Value, E> {
        Ok(HeaderPair(Err(
            "a header pair must be an array [name, value], got string".to_string(),
        )))
    }

    fn visit_str<E: de::Error>(self, _value: &str) -> Result<Self::Value, E> {
        Ok(HeaderPair(Err(
            "a header pair must be an array [name, value], got string".to_string(),
        )))
    }

    fn visit_u64<E: de::Error>(self, _value: u64) -> Result<Self::Value, E> {
        Ok(HeaderPair(Err(
            "a header pair must be an array [name, value], got number".to_string(),
        )))
    }

    fn visit_i64<E: de::Error>(self, _value: i64) -> Result<Self::Value, E> {
        Ok(HeaderPair(Err(
            "a header pair must be an array [name, value], got number".to_string(),
        )))
    }

    fn visit_f64<E: de::Error>(self, _value: f64) -> Result<Self::Value, E> {
        Ok(HeaderPair(Err(
            "a header pair must be an array [name, value], got number".to_string(),
        )))
    }

    fn visit_bool<E: de::Error>(self, _value: bool) -> Result<Self::Value, E> {
        Ok(HeaderPair(Err(
            "a header pair must be an array [name, value], got boolean".to_string(),
        )))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(HeaderPair(Err(
            "a header pair must be an array [name, value], got null".to_string(),
        )))
    }
}

impl<'de> Deserialize<'de> for HeaderPair<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(HeaderPairVisitor)
    }
}

/// The value side of the object form: one string or an array of strings.
struct HeaderValues(Result<HeaderValueShape, String>);

enum HeaderValueShape {
    One(String),
    Many(Vec<String>),
}

struct HeaderValuesVisitor;

impl<'de> Visitor<'de> for HeaderValuesVisitor {
    type Value = HeaderValues;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a header value or an array of values")
    }

    fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Self::Value, E> {
        Ok(HeaderValues(Ok(HeaderValueShape::One(value.to_string()))))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        Ok(HeaderValues(Ok(HeaderValueShape::One(value.to_string()))))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Self::Value, E> {
        Ok(HeaderValues(Ok(HeaderValueShape::One(value))))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut sequence: A) -> Result<Self::Value, A::Error> {
        let mut values = Vec::new();
        let mut problem = None;
        while let Some(element) = sequence.next_element::<Loose>()? {
            match element {
                Loose::Text(text) => values.push(text.into_owned()),
                other => {
                    if problem.is_none() {
                        problem = Some(format!(
                            "a header value must be a string, got {}",
                            other.type_name()
                        ));
                    }
                }
            }
        }
        match problem {
            Some(problem) => Ok(HeaderValues(Err(problem))),
            None => Ok(HeaderValues(Ok(HeaderValueShape::Many(values)))),
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(HeaderValues(Err(
            "a header value must be a string or an array of strings, got object".to_string(),
        )))
    }

    fn visit_u64<E: de::Error>(self, _value: u64) -> Result<Self::Value, E> {
        Ok(HeaderValues(Err(
            "a header value must be a string, got number".to_string(),
        )))
    }

    fn visit_i64<E: de::Error>(self, _value: i64) -> Result<Self::Value, E> {
        Ok(HeaderValues(Err(
            "a header value must be a string, got number".to_string(),
        )))
    }

    fn visit_f64<E: de::Error>(self, _value: f64) -> Result<Self::Value, E> {
        Ok(HeaderValues(Err(
            "a header value must be a string, got number".to_string(),
        )))
    }

    fn visit_bool<E: de::Error>(self, _value: bool) -> Result<Self::Value, E> {
        Ok(HeaderValues(Err(
            "a header value must be a string, got boolean".to_string(),
        )))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(HeaderValues(Err(
            "a header value must be a string, got null".to_string(),
        )))
    }
}

impl<'de> Deserialize<'de> for HeaderValues {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(HeaderValuesVisitor)
    }
}

struct WireHeadersVisitor;

impl<'de> Visitor<'de> for WireHeadersVisitor {
    type Value = WireHeaders;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("headers as [[name, value], ...] or {name: value}")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut sequence: A) -> Result<Self::Value, A::Error> {
        let mut headers = WireHeaders {
            pairs: Headers::with_capacity(sequence.size_hint().unwrap_or(8), 256),
            problem: None,
        };
        while let Some(HeaderPair(pair)) = sequence.next_element::<HeaderPair>()? {
            match pair {
                Ok((name, value)) => headers.pairs.push(name, value),
                Err(problem) => headers.note_problem(problem),
            }
        }
        Ok(headers)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut headers = WireHeaders {
            pairs: Headers::with_capacity(8, 256),
            problem: None,
        };
        while let Some(Key(name)) = map.next_key::<Key>()? {
            let HeaderValues(values) = map.next_value::<HeaderValues>()?;
            match values {
                Ok(HeaderValueShape::One(value)) => headers.pairs.push(&name, value),
                Ok(HeaderValueShape::Many(values)) => {
                    for value in values {
                        headers.pairs.push(&name, value);
                    }
                }
                Err(problem) => headers.note_problem(problem),
            }
        }
        Ok(headers)
    }

    fn visit_str<E: de::Error>(self, _value: &str) -> Result<Self::Value, E> {
        Ok(WireHeaders::wrong_type("string"))
    }

    fn visit_u64<E: de::Error>(self, _value: u64) -> Result<Self::Value, E> {
        Ok(WireHeaders::wrong_type("number"))
    }

    fn visit_i64<E: de::Error>(self, _value: i64) -> Result<Self::Value, E> {
        Ok(WireHeaders::wrong_type("number"))
    }

    fn visit_f64<E: de::Error>(self, _value: f64) -> Result<Self::Value, E> {
        Ok(WireHeaders::wrong_type("number"))
    }

    fn visit_bool<E: de::Error>(self, _value: bool) -> Result<Self::Value, E> {
        Ok(WireHeaders::wrong_type("boolean"))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(WireHeaders::default())
    }
}

impl WireHeaders {
    fn wrong_type(type_name: &str) -> WireHeaders {
        WireHeaders {
            pairs: Headers::default(),
            problem: Some(format!(
                "must be an array of [name, value] pairs or an object, got {type_name}"
            )),
        }
    }
}

impl<'de> Deserialize<'de> for WireHeaders {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(WireHeadersVisitor)
    }
}

/// A JSON object read as an ordered list of keys and loose values; used by the log formats whose
/// keys are open-ended (`http_<name>`, `sent_http_<name>`, `cookie_<name>`).
pub(crate) struct FlatObject<'a>(pub Vec<(Cow<'a, str>, Loose<'a>)>);

impl<'a> FlatObject<'a> {
    pub(crate) fn get(&self, key: &str) -> Option<&Loose<'a>> {
        self.0
            .iter()
            .find(|(candidate, _)| candidate == key)
            .map(|(_, value)| value)
    }

    pub(crate) fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
}

struct FlatObjectVisitor;

impl<'de> Visitor<'de> for FlatObjectVisitor {
    type Value = FlatObject<'de>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(16));
        while let Some(Key(key)) = map.next_key::<Key>()? {
            let value = map.next_value::<Loose>()?;
            fields.push((key, value));
        }
        Ok(FlatObject(fields))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for FlatObject<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(FlatObjectVisitor)
    }
}

/// serde_json's message without its "at line 1 column N" suffix, with the column kept: every line
/// format parses one line at a time, so the line number inside the record is always 1.
pub(crate) fn describe_json_error(error: &serde_json::Error) -> String {
    let message = json_error_message(error);
    if error.column() == 0 {
        return message;
    }
    format!("{message} at column {}", error.column())
}

/// serde_json's message without its position, cut to `MAX_JSON_MESSAGE_CHARS`: it quotes the
/// value it did not expect, which may be a whole record.
pub(crate) fn json_error_message(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let message = match text.rfind(" at line ") {
        Some(position) => &text[..position],
        None => text.as_str(),
    };
    if message.chars().count() <= MAX_JSON_MESSAGE_CHARS {
        return message.to_string();
    }
    let mut short: String = message.chars().take(MAX_JSON_MESSAGE_CHARS - 3).collect();
    short.push_str("...");
    short
}

const MAX_JSON_MESSAGE_CHARS: usize = 160;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_json_error_quoting_a_huge_value_is_cut_short() {
        let document = format!("\"{}\"", "R".repeat(5_000));
        let error = serde_json::from_str::<Vec<u8>>(&document).unwrap_err();
        let described = describe_json_error(&error);
        assert!(
            described.len() < 200,
            "a message of {} bytes",
            described.len()
        );
        assert!(described.contains("at column"), "{described}");
    }

    #[test]
    fn headers_accept_pairs_objects_and_arrays_of_values() {
        let cases = [
            (r#"[["a","1"],["A","2"]]"#, vec![("a", "1"), ("A", "2")]),
            (r#"{"a":"1","b":"2"}"#, vec![("a", "1"), ("b", "2")]),
            (
                r#"{"a":["1","2"],"b":"3"}"#,
                vec![("a", "1"), ("a", "2"), ("b", "3")],
            ),
            (r#"{"x\"y":"\u0041"}"#, vec![("x\"y", "A")]),
            ("[]", vec![]),
        ];
        for (input, expected) in cases {
            let headers: WireHeaders = serde_json::from_str(input).unwrap();
            assert_eq!(headers.problem, None, "{input}");
            let pairs: Vec<(&str, &str)> = headers.pairs.iter().collect();
            assert_eq!(pairs, expected, "{input}");
        }
    }

    #[test]
    fn headers_of_the_wrong_shape_are_described_not_failed() {
        let cases = [
            (r#"[["a",1]]"#, "value must be a string, got number"),
            (r#"[["a"]]"#, "no value"),
            (r#"[["a","b","c"]]"#, "3 elements"),
            (r#"[{"name":"a","value":"b"}]"#, "got object"),
            (r#"{"a":{"b":"c"}}"#, "got object"),
            (r#"{"a":[1]}"#, "got number"),
            (r#""a: b""#, "got string"),
        ];
        for (input, expected) in cases {
            let headers: WireHeaders = serde_json::from_str(input).unwrap();
            let problem = headers.problem.unwrap_or_default();
            assert!(problem.contains(expected), "{input}: {problem}");
        }
    }

    #[test]
    fn json_errors_name_the_column_not_line_one() {
        let error = serde_json::from_str::<FlatObject>(r#"{"a": }"#)
            .err()
            .unwrap();
        let message = describe_json_error(&error);
        assert!(message.ends_with("at column 7"), "{message}");
        assert!(!message.contains("line"), "{message}");
    }
}
