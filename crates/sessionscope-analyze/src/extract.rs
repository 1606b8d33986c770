//! Reading the values of a point from an exchange (through the lazy view).

use serde_json::Value;

use crate::point::{JsonPath, Point};
use crate::view::ExchangeView;

/// Pushes the scalar(s) at a JSON node: strings as they are, numbers and booleans as text, each
/// scalar of an array. `null`, objects and nested arrays give nothing: a point names a value, and
/// storing a whole object could carry a secret past the masking rules.
fn push_json_values(node: &Value, out: &mut Vec<String>) {
    match node {
        Value::Array(items) => {
            for item in items {
                push_json_scalar(item, out);
            }
        }
        other => push_json_scalar(other, out),
    }
}

fn push_json_scalar(node: &Value, out: &mut Vec<String>) {
    match node {
        Value::String(text) => push_text(text, out),
        Value::Number(number) => out.push(number.to_string()),
        Value::Bool(flag) => out.push(flag.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => {}
    }
}

fn push_text(text: &str, out: &mut Vec<String>) {
    let trimmed = text.trim();
    if !trimmed.is_empty() {
        out.push(trimmed.to_string());
    }
}

/// A text value, or the claim it holds as a JWT.
fn from_text(
    view: &ExchangeView<'_>,
    text: Option<&str>,
    claim: Option<&JsonPath>,
    out: &mut Vec<String>,
) {
    let Some(text) = text else {
        return;
    };
    let Some(claim) = claim else {
        push_text(text, out);
        return;
    };
    let Some(claims) = view.jwt_claims(text) else {
        return;
    };
    if let Some(node) = claim.resolve(&claims) {
        push_json_values(node, out);
    }
}

fn from_json(
    view: &ExchangeView<'_>,
    node: Option<&Value>,
    claim: Option<&JsonPath>,
    out: &mut Vec<String>,
) {
    let Some(node) = node else {
        return;
    };
    match (claim, node) {
        (None, node) => push_json_values(node, out),
        (Some(_), Value::String(text)) => from_text(view, Some(text), claim, out),
        (Some(_), _) => {}
    }
}

fn cookie<'a>(cookies: &[(&'a str, &'a str)], name: &str) -> Option<&'a str> {
    cookies
        .iter()
        .find(|(candidate, _)| *candidate == name)
        .map(|(_, value)| *value)
}

/// Pushes every value of a point present in the exchange (usually one; a JSON array gives each
/// element). Empty values count as absent.
pub(crate) fn extract(point: &Point, view: &ExchangeView<'_>, out: &mut Vec<String>) {
    match point {
        Point::RequestIp => {
            if let Some(ip) = view.exchange.client_ip {
                out.push(ip.to_string());
            }
        }
        Point::RequestHeader { name, claim } => {
            from_text(view, view.request_header(name), claim.as_ref(), out)
        }
        Point::RequestCookie { name, claim } => from_text(
            view,
            cookie(view.request_cookies(), name),
            claim.as_ref(),
            out,
        ),
        Point::RequestQuery { name, claim } => {
            from_text(view, view.query(name), claim.as_ref(), out)
        }
        Point::RequestForm { name, claim } => from_text(view, view.form(name), claim.as_ref(), out),
        Point::RequestJson { path, claim } => from_json(
            view,
            view.request_json().and_then(|root| path.resolve(root)),
            claim.as_ref(),
            out,
        ),
        Point::RequestGraphql { path, claim } => {
            let found = view
                .graphql_variables()
                .iter()
                .find_map(|variables| path.resolve(variables));
            from_json(view, found, claim.as_ref(), out)
        }
        Point::ResponseHeader { name, claim } => {
            from_text(view, view.response_header(name), claim.as_ref(), out)
        }
        Point::ResponseCookie { name, claim } => from_text(
            view,
            cookie(view.response_cookies(), name),
            claim.as_ref(),
            out,
        ),
        Point::ResponseJson { path, claim } => from_json(
            view,
            view.response_json().and_then(|root| path.resolve(root)),
            claim.as_ref(),
            out,
        ),
    }
}

/// The first value of a point, if any.
pub(crate) fn extract_first(point: &Point, view: &ExchangeView<'_>) -> Option<String> {
    let mut values = Vec::new();
    extract(point, view, &mut values);
    values.into_iter().next()
}
