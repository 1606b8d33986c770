//! Points: where in an exchange a value is read from (PRODUCT.md C2). The text syntax is documented
//! in `POINTS.md`; `Point` parses it strictly and prints it back in the same form.

use std::fmt;
use std::str::FromStr;

use crate::names;

/// One step of a JSON path: an object key or an array index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PathStep {
    Key(String),
    Index(usize),
}

/// A path into a JSON document, e.g. `user.ids[0].name`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JsonPath(pub Vec<PathStep>);

impl JsonPath {
    /// The last key of the path, which names the value (indexes are skipped).
    pub fn last_key(&self) -> Option<&str> {
        self.0.iter().rev().find_map(|step| match step {
            PathStep::Key(key) => Some(key.as_str()),
            PathStep::Index(_) => None,
        })
    }

    /// Follows the path from `root`.
    pub fn resolve<'v>(&self, root: &'v serde_json::Value) -> Option<&'v serde_json::Value> {
        let mut node = root;
        for step in &self.0 {
            node = match step {
                PathStep::Key(key) => node.as_object()?.get(key)?,
                PathStep::Index(index) => node.as_array()?.get(*index)?,
            };
        }
        Some(node)
    }

    /// Writes the path; `quote_jwt_keys` quotes a key named `jwt` after the first step, because
    /// there it would otherwise start a claim suffix.
    fn write(&self, f: &mut fmt::Formatter<'_>, quote_jwt_keys: bool) -> fmt::Result {
        for (position, step) in self.0.iter().enumerate() {
            match step {
                PathStep::Index(index) => write!(f, "[{index}]")?,
                PathStep::Key(key) => {
                    let needs_quotes = key.is_empty()
                        || key.chars().any(|c| {
                            matches!(c, '.' | '[' | ']') || c.is_whitespace() || c.is_control()
                        })
                        || (quote_jwt_keys && position > 0 && key == "jwt");
                    if needs_quotes {
                        write!(f, "[\"{key}\"]")?;
                    } else {
                        if position > 0 {
                            f.write_str(".")?;
                        }
                        f.write_str(key)?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// A parsed step with whether it was written in quotes (a quoted `jwt` never starts a claim).
struct ParsedStep {
    step: PathStep,
    quoted: bool,
}

/// Parses `a.b[0]["c.d"]`. Keys may hold any character but `.`, `[`, `]`, `"` and whitespace unless
/// quoted; quoted keys may hold anything but `"`.
fn parse_path_steps(text: &str) -> Result<Vec<ParsedStep>, String> {
    let mut steps = Vec::new();
    let bytes = text.as_bytes();
    let mut position = 0;
    let mut expect_key = true;
    if text.is_empty() {
        return Err("expected a path such as `user.ids[0].name`, found nothing".to_string());
    }
    while position < bytes.len() {
        match bytes[position] {
            b'[' => {
                let close = text[position..]
                    .find(']')
                    .map(|offset| position + offset)
                    .ok_or_else(|| format!("unclosed `[` at position {position}"))?;
                let inside = &text[position + 1..close];
                if let Some(quoted) = inside.strip_prefix('"') {
                    let key = quoted
                        .strip_suffix('"')
                        .filter(|key| !key.contains('"'))
                        .ok_or_else(|| {
                            format!("quoted key `[{inside}]` must look like `[\"name\"]`")
                        })?;
                    steps.push(ParsedStep {
                        step: PathStep::Key(key.to_string()),
                        quoted: true,
                    });
                } else {
                    let index: usize = inside
                        .parse()
                        .ok()
                        .filter(|_| {
                            inside.len() <= MAX_INDEX_DIGITS
                                && inside.bytes().all(|byte| byte.is_ascii_digit())
                        })
                        .ok_or_else(|| format!("`[{inside}]` is not an array index; expected a number like `[0]` or a quoted key like `[\"a.b\"]`"))?;
                    steps.push(ParsedStep {
                        step: PathStep::Index(index),
                        quoted: false,
                    });
                }
                position = close + 1;
                expect_key = false;
            }
            b'.' => {
                if expect_key {
                    return Err(format!(
                        "empty key at position {position}; keys are separated by single dots"
                    ));
                }
                position += 1;
                expect_key = true;
                if position == bytes.len() {
                    return Err("path ends with a dot; expected a key after it".to_string());
                }
            }
            _ => {
                if !expect_key {
                    return Err(format!("expected `.` or `[` at position {position}"));
                }
                let end = text[position..]
                    .find(['.', '['])
                    .map(|offset| position + offset)
                    .unwrap_or(text.len());
                let key = &text[position..end];
                if let Some(bad) = key
                    .chars()
                    .find(|c| c.is_whitespace() || c.is_control() || matches!(c, ']' | '"'))
                {
                    return Err(format!(
                        "key `{key}` contains `{}`; quote such keys like `[\"{key}\"]`",
                        bad.escape_default()
                    ));
                }
                steps.push(ParsedStep {
                    step: PathStep::Key(key.to_string()),
                    quoted: false,
                });
                position = end;
                expect_key = false;
            }
        }
    }
    Ok(steps)
}

fn parse_claim(text: &str) -> Result<JsonPath, String> {
    let steps = parse_path_steps(text)
        .map_err(|problem| format!("in the claim after `.jwt.`: {problem}"))?;
    Ok(JsonPath(
        steps.into_iter().map(|parsed| parsed.step).collect(),
    ))
}

/// A JSON path with its optional claim suffix: the first unquoted key `jwt` after the first step,
/// when more steps follow, starts the claim.
fn parse_json_point(text: &str) -> Result<(JsonPath, Option<JsonPath>), String> {
    let steps = parse_path_steps(text)?;
    let claim_start = steps.iter().enumerate().position(|(position, parsed)| {
        position > 0
            && position + 1 < steps.len()
            && !parsed.quoted
            && parsed.step == PathStep::Key("jwt".to_string())
    });
    let mut path: Vec<PathStep> = steps.into_iter().map(|parsed| parsed.step).collect();
    let Some(claim_start) = claim_start else {
        return Ok((JsonPath(path), None));
    };
    let claim = path.split_off(claim_start + 1);
    path.pop();
    Ok((JsonPath(path), Some(JsonPath(claim))))
}

/// Splits `name.jwt.claim` into the name and the claim; the first `.jwt.` after a non-empty name
/// starts the claim (so a cookie named `jwt` is read with `request.cookie.jwt.jwt.sub`).
fn split_name_and_claim(text: &str) -> Result<(&str, Option<JsonPath>), String> {
    let first = text.chars().next().map_or(0, char::len_utf8);
    let marker = text[first..].find(".jwt.").map(|offset| offset + first);
    match marker {
        None => Ok((text, None)),
        Some(position) => Ok((&text[..position], Some(parse_claim(&text[position + 5..])?))),
    }
}

/// Where a value is read from. Parse with `str::parse`, print with `Display`; the two round-trip.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Point {
    /// `request.ip`: the client address.
    RequestIp,
    /// `request.header.<name>`; the name is stored lowercase.
    RequestHeader {
        name: String,
        claim: Option<JsonPath>,
    },
    /// `request.cookie.<name>`; cookie names are case-sensitive.
    RequestCookie {
        name: String,
        claim: Option<JsonPath>,
    },
    /// `request.query.<name>`: a query parameter, after percent-decoding.
    RequestQuery {
        name: String,
        claim: Option<JsonPath>,
    },
    /// `request.form.<name>`: a field of a url-encoded or multipart form body.
    RequestForm {
        name: String,
        claim: Option<JsonPath>,
    },
    /// `request.json.<path>`: a property of a JSON request body.
    RequestJson {
        path: JsonPath,
        claim: Option<JsonPath>,
    },
    /// `request.graphql.<path>`: a GraphQL variable (JSON body `variables`, or the `variables` query parameter).
    RequestGraphql {
        path: JsonPath,
        claim: Option<JsonPath>,
    },
    /// `response.header.<name>`.
    ResponseHeader {
        name: String,
        claim: Option<JsonPath>,
    },
    /// `response.cookie.<name>`: a cookie set by `Set-Cookie`.
    ResponseCookie {
        name: String,
        claim: Option<JsonPath>,
    },
    /// `response.json.<path>`: a property of a JSON response body.
    ResponseJson {
        path: JsonPath,
        claim: Option<JsonPath>,
    },
}

/// How values of a point are stored, decided by the point alone (PRODUCT.md C4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PointStorage {
    /// A password or card field: stored as `***`.
    Masked,
    /// A credential: always stored as a keyed hash.
    Hashed,
    /// Clear unless configured hashed (values that look like secrets are still protected).
    AsConfigured,
}

impl Point {
    /// The `.jwt.<claim>` suffix, when the point reads a claim.
    pub fn claim(&self) -> Option<&JsonPath> {
        match self {
            Point::RequestIp => None,
            Point::RequestHeader { claim, .. }
            | Point::RequestCookie { claim, .. }
            | Point::RequestQuery { claim, .. }
            | Point::RequestForm { claim, .. }
            | Point::RequestJson { claim, .. }
            | Point::RequestGraphql { claim, .. }
            | Point::ResponseHeader { claim, .. }
            | Point::ResponseCookie { claim, .. }
            | Point::ResponseJson { claim, .. } => claim.as_ref(),
        }
    }

    /// True for points read from the response.
    pub fn is_response(&self) -> bool {
        matches!(
            self,
            Point::ResponseHeader { .. }
                | Point::ResponseCookie { .. }
                | Point::ResponseJson { .. }
        )
    }

    /// The name that says what the value is: the claim when there is one, else the header,
    /// cookie or parameter name, else the last JSON key.
    pub fn final_name(&self) -> &str {
        if let Some(claim) = self.claim() {
            return claim.last_key().unwrap_or("");
        }
        match self {
            Point::RequestIp => "ip",
            Point::RequestHeader { name, .. }
            | Point::RequestCookie { name, .. }
            | Point::RequestQuery { name, .. }
            | Point::RequestForm { name, .. }
            | Point::ResponseHeader { name, .. }
            | Point::ResponseCookie { name, .. } => name,
            Point::RequestJson { path, .. }
            | Point::RequestGraphql { path, .. }
            | Point::ResponseJson { path, .. } => path.last_key().unwrap_or(""),
        }
    }

    /// True when the point's values are never stored (so it cannot group sessions).
    pub fn is_masked(&self) -> bool {
        self.storage() == PointStorage::Masked
    }

    pub(crate) fn storage(&self) -> PointStorage {
        if names::is_masked_name(self.final_name()) {
            return PointStorage::Masked;
        }
        // A claim such as `sub` or `role` is not a secret even when the token holding it is.
        if self.claim().is_some() {
            return PointStorage::AsConfigured;
        }
        let is_credential = match self {
            Point::RequestIp => false,
            Point::RequestCookie { .. } | Point::ResponseCookie { .. } => true,
            Point::RequestHeader { name, .. } | Point::ResponseHeader { name, .. } => {
                names::is_credential_header(name)
            }
            _ => names::is_credential_name(self.final_name()),
        };
        if is_credential {
            PointStorage::Hashed
        } else {
            PointStorage::AsConfigured
        }
    }
}

/// The longest array index of a path, `[9999999999999999999]`.
const MAX_INDEX_DIGITS: usize = 19;

/// Characters that `char::is_whitespace` or `char::is_control` reports, as a regular-expression
/// class body: names and keys of the point syntax contain none of them.
pub const SPACE_OR_CONTROL_CLASS: &str =
    "\\x00-\\x20\\x7f-\\x9f\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";

/// The grammar of a request point (`request.…`) as a regular expression, for documents that state
/// it (the OpenAPI schema of virtual patches); `Point::from_str` accepts exactly these.
pub fn request_point_pattern() -> String {
    let space = SPACE_OR_CONTROL_CLASS;
    let key = format!("[^.\\[\\]\"{space}]+");
    let bracket = "\\[(?:\"[^\"\\]]*\"|[0-9]{1,19})\\]";
    let path = format!("(?:{key}|{bracket})(?:\\.{key}|\\.?{bracket})*");
    let header = "[A-Za-z0-9!#$%&'*+^_`|~-]+";
    let name = format!("[^{space}](?:(?!\\.jwt\\.)[^{space}])*");
    format!(
        "^request\\.(?:ip|header\\.{header}(?:\\.jwt\\.{path})?|(?:cookie|query|form)\\.{name}(?:\\.jwt\\.{path})?|(?:json|graphql)\\.{path})$"
    )
}

const REQUEST_KINDS: &str = "ip, header, cookie, query, form, json, graphql";
const RESPONSE_KINDS: &str = "header, cookie, json";

fn check_plain_name(kind: &str, name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err(format!("expected a {kind} name after `{kind}.`"));
    }
    if let Some(bad) = name.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "{kind} name `{name}` contains `{}`",
            bad.escape_default()
        ));
    }
    Ok(())
}

fn parse_header_name(name: &str) -> Result<String, String> {
    check_plain_name("header", name)?;
    let is_token_byte =
        |byte: u8| byte.is_ascii_alphanumeric() || b"!#$%&'*+-^_`|~".contains(&byte);
    if let Some(bad) = name.bytes().find(|byte| !is_token_byte(*byte)) {
        return Err(format!(
            "header name `{name}` contains `{}`; header names are letters, digits and `-` (read a JWT claim with `.jwt.<claim>`)",
            (bad as char).escape_default()
        ));
    }
    Ok(name.to_ascii_lowercase())
}

impl FromStr for Point {
    type Err = String;

    fn from_str(text: &str) -> Result<Point, String> {
        // The point and the detail (which may quote a part of it) are quoted shortened, so a
        // huge point text makes a short message.
        let problem = |detail: String| {
            format!(
                "invalid point `{}`: {}",
                sessionscope_model::shortened(text, 200),
                sessionscope_model::shortened(&detail, 300)
            )
        };
        let (is_request, rest) = if let Some(rest) = text.strip_prefix("request.") {
            (true, rest)
        } else if let Some(rest) = text.strip_prefix("response.") {
            (false, rest)
        } else {
            return Err(problem(
                "expected it to start with `request.` or `response.`".to_string(),
            ));
        };
        if is_request && rest == "ip" {
            return Ok(Point::RequestIp);
        }
        let (kind, detail) = rest.split_once('.').unwrap_or((rest, ""));
        let expected_kinds = if is_request {
            REQUEST_KINDS
        } else {
            RESPONSE_KINDS
        };
        if detail.is_empty()
            && matches!(
                kind,
                "header" | "cookie" | "query" | "form" | "json" | "graphql"
            )
        {
            return Err(problem(format!("expected a name or path after `{kind}.`")));
        }
        let side = if is_request { "request" } else { "response" };
        let point = match (is_request, kind) {
            (true, "header") | (false, "header") => {
                let (name, claim) = split_name_and_claim(detail).map_err(problem)?;
                let name = parse_header_name(name).map_err(problem)?;
                if is_request {
                    Point::RequestHeader { name, claim }
                } else {
                    Point::ResponseHeader { name, claim }
                }
            }
            (_, "cookie") | (true, "query") | (true, "form") => {
                let (name, claim) = split_name_and_claim(detail).map_err(problem)?;
                check_plain_name(kind, name).map_err(problem)?;
                let name = name.to_string();
                match (is_request, kind) {
                    (true, "cookie") => Point::RequestCookie { name, claim },
                    (false, _) => Point::ResponseCookie { name, claim },
                    (true, "query") => Point::RequestQuery { name, claim },
                    _ => Point::RequestForm { name, claim },
                }
            }
            (_, "json") | (true, "graphql") => {
                let (path, claim) = parse_json_point(detail).map_err(problem)?;
                match (is_request, kind) {
                    (true, "json") => Point::RequestJson { path, claim },
                    (false, _) => Point::ResponseJson { path, claim },
                    _ => Point::RequestGraphql { path, claim },
                }
            }
            (true, "ip") => return Err(problem("`request.ip` takes nothing after it".to_string())),
            _ => {
                return Err(problem(format!(
                    "unknown kind `{kind}` after `{side}.`; expected one of {expected_kinds}"
                )))
            }
        };
        Ok(point)
    }
}

impl fmt::Display for Point {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Point::RequestIp => return f.write_str("request.ip"),
            Point::RequestHeader { name, .. } => write!(f, "request.header.{name}")?,
            Point::RequestCookie { name, .. } => write!(f, "request.cookie.{name}")?,
            Point::RequestQuery { name, .. } => write!(f, "request.query.{name}")?,
            Point::RequestForm { name, .. } => write!(f, "request.form.{name}")?,
            Point::ResponseHeader { name, .. } => write!(f, "response.header.{name}")?,
            Point::ResponseCookie { name, .. } => write!(f, "response.cookie.{name}")?,
            Point::RequestJson { path, .. } => {
                f.write_str("request.json.")?;
                path.write(f, true)?;
            }
            Point::RequestGraphql { path, .. } => {
                f.write_str("request.graphql.")?;
                path.write(f, true)?;
            }
            Point::ResponseJson { path, .. } => {
                f.write_str("response.json.")?;
                path.write(f, true)?;
            }
        }
        if let Some(claim) = self.claim() {
            f.write_str(".jwt.")?;
            claim.write(f, false)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> PathStep {
        PathStep::Key(name.to_string())
    }

    #[test]
    fn every_kind_parses_and_prints_back() {
        let texts = [
            "request.ip",
            "request.header.x-session-id",
            "request.header.authorization.jwt.sub",
            "request.header.authorization.jwt.realm_access.roles",
            "request.cookie.connect.sid",
            "request.cookie.token.jwt.sub",
            "request.cookie.jwt.jwt.sub",
            "request.query.user[id]",
            "request.query.token.jwt.sub",
            "request.form.username",
            "request.json.user.ids[0].name",
            "request.json.[0].id",
            "request.json.a[\"b.c\"].d",
            "request.json.auth.token.jwt.sub",
            "request.json.jwt.sub",
            "request.json.a[\"jwt\"].b",
            "request.graphql.input.email",
            "response.header.mcp-session-id",
            "response.cookie.PHPSESSID",
            "response.json.access_token.jwt.sid",
            "response.json.data.user.id",
        ];
        for text in texts {
            let point: Point = text
                .parse()
                .unwrap_or_else(|problem| panic!("{text}: {problem}"));
            assert_eq!(point.to_string(), text, "round trip of {text}");
            let again: Point = point.to_string().parse().unwrap();
            assert_eq!(again, point);
        }
    }

    #[test]
    fn header_names_are_case_insensitive() {
        let point: Point = "request.header.X-Session-ID".parse().unwrap();
        assert_eq!(
            point,
            Point::RequestHeader {
                name: "x-session-id".to_string(),
                claim: None
            }
        );
        assert_eq!(point.to_string(), "request.header.x-session-id");
    }

    #[test]
    fn json_paths_and_claims_are_split_where_documented() {
        let point: Point = "request.json.auth.token.jwt.user.id".parse().unwrap();
        assert_eq!(
            point,
            Point::RequestJson {
                path: JsonPath(vec![key("auth"), key("token")]),
                claim: Some(JsonPath(vec![key("user"), key("id")])),
            }
        );
        let first_key_named_jwt: Point = "request.json.jwt.sub".parse().unwrap();
        assert_eq!(
            first_key_named_jwt,
            Point::RequestJson {
                path: JsonPath(vec![key("jwt"), key("sub")]),
                claim: None
            }
        );
        let indexed: Point = "request.json.user.ids[2].name".parse().unwrap();
        assert_eq!(
            indexed,
            Point::RequestJson {
                path: JsonPath(vec![
                    key("user"),
                    key("ids"),
                    PathStep::Index(2),
                    key("name")
                ]),
                claim: None
            }
        );
    }

    #[test]
    fn bad_points_are_refused_with_a_message_naming_the_bad_part() {
        let cases = [
            ("", "start with `request.` or `response.`"),
            ("req.header.x", "start with `request.` or `response.`"),
            ("request.heder.x", "unknown kind `heder`"),
            ("response.query.x", "unknown kind `query`"),
            ("response.ip", "unknown kind `ip`"),
            ("request.header.", "expected a name or path after `header.`"),
            ("request.header", "expected a name or path after `header.`"),
            ("request.header.x y", "contains"),
            ("request.header.a.b", "header name `a.b`"),
            ("request.json.a..b", "empty key"),
            ("request.json.a.", "ends with a dot"),
            ("request.json.a[x]", "not an array index"),
            ("request.json.a[0", "unclosed"),
            ("request.header.authorization.jwt.", "claim after `.jwt.`"),
            ("request.ip.jwt.sub", "takes nothing after it"),
        ];
        for (text, expected) in cases {
            let problem = text.parse::<Point>().unwrap_err();
            assert!(problem.contains(expected), "{text:?}: {problem}");
            assert!(
                problem.contains(&format!("`{text}`")),
                "message names the point: {problem}"
            );
        }
    }

    #[test]
    fn storage_follows_the_final_name() {
        let cases = [
            ("request.form.password", PointStorage::Masked),
            ("request.json.card.card_number", PointStorage::Masked),
            ("request.json.client_secret", PointStorage::Masked),
            ("request.header.authorization", PointStorage::Hashed),
            ("request.header.cookie", PointStorage::Hashed),
            ("request.header.x-api-key", PointStorage::Hashed),
            ("request.cookie.theme", PointStorage::Hashed),
            ("response.cookie.sid", PointStorage::Hashed),
            ("response.json.access_token", PointStorage::Hashed),
            ("request.query.session", PointStorage::Hashed),
            (
                "request.header.authorization.jwt.sub",
                PointStorage::AsConfigured,
            ),
            ("request.cookie.token.jwt.role", PointStorage::AsConfigured),
            ("request.json.user.email", PointStorage::AsConfigured),
            ("request.ip", PointStorage::AsConfigured),
        ];
        for (text, expected) in cases {
            let point: Point = text.parse().unwrap();
            assert_eq!(point.storage(), expected, "{text}");
        }
    }
}
