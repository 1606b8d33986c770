//! The exchange being produced (`Draft`) and its ground truth (`TruthDraft`), both made of reused
//! buffers. Actors fill them; the generator turns them into one NDJSON line of the exchange format
//! (`docs/exchange-format.md`) and, when asked, one truth line.

use crate::text::{push_json_escaped, push_json_string, push_tenths, push_u64, TimestampWriter};

pub(crate) struct Draft {
    pub(crate) client_ip: String,
    pub(crate) method: &'static str,
    /// Absolute URL as sent on the wire (query already percent-encoded).
    pub(crate) url: String,
    /// JSON fragment of `[name, value]` pairs, without the surrounding brackets.
    request_headers: String,
    pub(crate) request_body: String,
    pub(crate) has_request_body: bool,
    pub(crate) status: u16,
    response_headers: String,
    pub(crate) response_body: String,
    pub(crate) has_response_body: bool,
    pub(crate) duration_tenths_ms: u64,
    pub(crate) size: u64,
}

impl Draft {
    pub(crate) fn new() -> Draft {
        Draft {
            client_ip: String::with_capacity(40),
            method: "GET",
            url: String::with_capacity(256),
            request_headers: String::with_capacity(1024),
            request_body: String::with_capacity(512),
            has_request_body: false,
            status: 200,
            response_headers: String::with_capacity(256),
            response_body: String::with_capacity(512),
            has_response_body: false,
            duration_tenths_ms: 0,
            size: 0,
        }
    }

    pub(crate) fn reset(&mut self) {
        self.client_ip.clear();
        self.method = "GET";
        self.url.clear();
        self.request_headers.clear();
        self.request_body.clear();
        self.has_request_body = false;
        self.status = 200;
        self.response_headers.clear();
        self.response_body.clear();
        self.has_response_body = false;
        self.duration_tenths_ms = 0;
        self.size = 0;
    }

    /// Sets the method and starts the URL with `https://<host>`; the caller appends path and query.
    pub(crate) fn start(&mut self, method: &'static str, host: &str) {
        self.method = method;
        self.url.clear();
        self.url.push_str("https://");
        self.url.push_str(host);
    }

    pub(crate) fn request_header(&mut self, name: &str, value: &str) {
        push_header_pair(&mut self.request_headers, name, value);
    }

    /// A request header whose value is `prefix` followed by `value` (e.g. `Bearer ` and a token).
    pub(crate) fn request_header_prefixed(&mut self, name: &str, prefix: &str, value: &str) {
        push_header_pair(&mut self.request_headers, name, prefix);
        // Reopen the value just written: drop its closing `"]` and append the rest.
        self.request_headers
            .truncate(self.request_headers.len() - 2);
        push_json_escaped(&mut self.request_headers, value);
        self.request_headers.push_str("\"]");
    }

    pub(crate) fn response_header(&mut self, name: &str, value: &str) {
        push_header_pair(&mut self.response_headers, name, value);
    }

    /// The request body buffer, marked present; the caller writes the raw body text into it.
    pub(crate) fn request_body(&mut self) -> &mut String {
        self.has_request_body = true;
        &mut self.request_body
    }

    /// The response body buffer, marked present; the caller writes the raw body text into it.
    pub(crate) fn response_body(&mut self) -> &mut String {
        self.has_response_body = true;
        &mut self.response_body
    }

    #[cfg(test)]
    pub(crate) fn request_headers_for_tests(&self) -> &str {
        &self.request_headers
    }

    /// Appends the exchange as one JSON object (no trailing newline) to `out`.
    pub(crate) fn write_line(
        &self,
        out: &mut String,
        id: &Id,
        ts: i64,
        clock: &mut TimestampWriter,
    ) {
        out.push_str("{\"id\":\"");
        id.push(out);
        out.push_str("\",\"ts\":\"");
        clock.push(out, ts);
        out.push_str("\",\"client_ip\":\"");
        out.push_str(&self.client_ip);
        out.push_str("\",\"request\":{\"method\":\"");
        out.push_str(self.method);
        out.push_str("\",\"url\":");
        push_json_string(out, &self.url);
        out.push_str(",\"headers\":[");
        out.push_str(&self.request_headers);
        out.push(']');
        if self.has_request_body {
            out.push_str(",\"body\":");
            push_json_string(out, &self.request_body);
        }
        out.push_str("},\"response\":{\"status\":");
        push_u64(out, self.status as u64);
        out.push_str(",\"headers\":[");
        out.push_str(&self.response_headers);
        out.push(']');
        if self.has_response_body {
            out.push_str(",\"body\":");
            push_json_string(out, &self.response_body);
        }
        out.push_str(",\"duration_ms\":");
        push_tenths(out, self.duration_tenths_ms);
        out.push_str(",\"size\":");
        push_u64(out, self.size);
        out.push_str("}}");
    }
}

fn push_header_pair(out: &mut String, name: &str, value: &str) {
    if !out.is_empty() {
        out.push(',');
    }
    out.push_str("[\"");
    push_json_escaped(out, name);
    out.push_str("\",\"");
    push_json_escaped(out, value);
    out.push_str("\"]");
}

/// An exchange id `g<seed>-<n>`, written without allocating.
pub(crate) struct Id {
    pub(crate) seed: u64,
    pub(crate) number: u64,
}

impl Id {
    pub(crate) fn push(&self, out: &mut String) {
        out.push('g');
        push_u64(out, self.seed);
        out.push('-');
        push_u64(out, self.number);
    }
}

/// The ground truth of the exchange in the draft; the public `Truth` is built from it.
pub(crate) struct TruthDraft {
    pub(crate) session: String,
    pub(crate) actor: &'static str,
    pub(crate) user: String,
    pub(crate) has_user: bool,
    pub(crate) roles: &'static [&'static str],
    pub(crate) attack: Option<&'static str>,
    pub(crate) bot: Option<&'static str>,
}

impl TruthDraft {
    pub(crate) fn new() -> TruthDraft {
        TruthDraft {
            session: String::with_capacity(64),
            actor: "",
            user: String::with_capacity(32),
            has_user: false,
            roles: &[],
            attack: None,
            bot: None,
        }
    }

    pub(crate) fn set(&mut self, actor: &'static str, session: &str) {
        self.actor = actor;
        self.session.clear();
        self.session.push_str(session);
        self.user.clear();
        self.has_user = false;
        self.roles = &[];
        self.attack = None;
        self.bot = None;
    }

    pub(crate) fn set_user(&mut self, user: &str) {
        self.user.clear();
        self.user.push_str(user);
        self.has_user = true;
    }

    /// Appends the truth as one JSON object in the shape `Truth` deserializes from.
    pub(crate) fn write_line(&self, out: &mut String, id: &Id) {
        out.push_str("{\"id\":\"");
        id.push(out);
        out.push_str("\",\"session\":");
        push_json_string(out, &self.session);
        out.push_str(",\"actor\":\"");
        out.push_str(self.actor);
        out.push_str("\",\"user\":");
        if self.has_user {
            push_json_string(out, &self.user);
        } else {
            out.push_str("null");
        }
        out.push_str(",\"roles\":[");
        for (index, role) in self.roles.iter().enumerate() {
            if index > 0 {
                out.push(',');
            }
            push_json_string(out, role);
        }
        out.push_str("],\"attack\":");
        push_optional(out, self.attack);
        out.push_str(",\"bot\":");
        push_optional(out, self.bot);
        out.push('}');
    }
}

fn push_optional(out: &mut String, value: Option<&str>) {
    match value {
        Some(text) => push_json_string(out, text),
        None => out.push_str("null"),
    }
}
