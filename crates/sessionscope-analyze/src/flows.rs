//! Sensitive business flows of an endpoint (PRODUCT.md F1, F2), found by keywords in the words of its
//! template. The keyword lists are documented in `POINTS.md`.

use sessionscope_model::{Flow, FlowSet};

use crate::memory::{new_memory, recall, Memory};
use crate::names::any_word;
use crate::template::is_placeholder;

/// The flows a single lowercase word means. A `match` compiles to a length switch and a few
/// comparisons, which matters because this runs for every exchange. Keep `POINTS.md` in step.
fn flows_of_word(word: &str) -> &'static [Flow] {
    use Flow::*;
    match word {
        "ai" | "llm" | "llms" | "genai" | "chat" | "chats" | "chatbot" | "completion"
        | "completions" | "embedding" | "embeddings" | "prompt" | "prompts" | "assistant"
        | "assistants" | "gpt" | "inference" | "openai" | "copilot" | "rag" | "moderation"
        | "moderations" => &[AiLlm],
        "signup" | "register" | "registration" | "registrations" | "onboarding" | "onboard"
        | "enroll" | "enrollment" | "createaccount" => &[AccountCreation],
        "account" | "accounts" | "profile" | "profiles" | "password" | "passwords" | "settings"
        | "me" | "email" | "emails" | "preferences" | "avatar" | "username" => &[AccountManagement],
        "mfa" | "2fa" => &[AccountManagement, Authentication],
        "admin" | "admins" | "administrator" | "administration" | "backoffice" | "internal"
        | "manage" | "management" | "staff" | "console" | "superuser" | "sudo" => &[Admin],
        "login" | "logout" | "logon" | "logoff" | "signin" | "signout" | "auth" | "oauth"
        | "oauth2" | "token" | "tokens" | "session" | "sessions" | "sso" | "otp" | "verify"
        | "saml" | "oidc" | "authorize" | "authenticate" | "jwt" | "refresh" => &[Authentication],
        "billing" | "payment" | "payments" | "pay" | "invoice" | "invoices" | "checkout"
        | "subscription" | "subscriptions" | "card" | "cards" | "charge" | "charges" | "refund"
        | "refunds" | "transfer" | "transfers" | "wallet" | "purchase" | "purchases" | "payout"
        | "payouts" => &[Billing],
        "sms" | "mms" | "twilio" | "smsc" => &[SmsGateway],
        _ => &[],
    }
}

/// Two consecutive words that mean a flow together (`sign-up`, `otp/send`). A bare `text` is too
/// common in paths to mean SMS on its own, so it only counts in these phrases.
fn flow_of_phrase(first: &str, second: &str) -> Option<Flow> {
    let flow = match (first, second) {
        ("sign", "up") | ("create", "account") | ("new", "account") => Flow::AccountCreation,
        ("sign", "in") | ("sign", "out") | ("log", "in") | ("log", "out") => Flow::Authentication,
        ("otp", "send")
        | ("send", "otp")
        | ("send", "code")
        | ("send", "text")
        | ("text", "message")
        | ("text", "messages")
        | ("phone", "verify")
        | ("verify", "phone")
        | ("phone", "verification") => Flow::SmsGateway,
        ("back", "office") => Flow::Admin,
        _ => return None,
    };
    Some(flow)
}

/// Collections whose creation by `POST` is an account creation (`POST /users`).
const ACCOUNT_COLLECTIONS: &[&str] = &["users", "accounts", "customers", "members"];

/// The longest keyword; longer words cannot match and are not lowercased.
const MAX_KEYWORD_BYTES: usize = 24;

/// A word of a template lowercased on the stack (this runs for every exchange).
#[derive(Clone, Copy)]
struct Word {
    bytes: [u8; MAX_KEYWORD_BYTES],
    length: usize,
}

impl Word {
    fn new(text: &str) -> Option<Word> {
        if text.len() > MAX_KEYWORD_BYTES {
            return None;
        }
        let mut word = Word {
            bytes: [0; MAX_KEYWORD_BYTES],
            length: text.len(),
        };
        for (slot, byte) in word.bytes.iter_mut().zip(text.bytes()) {
            *slot = byte.to_ascii_lowercase();
        }
        Some(word)
    }

    fn as_str(&self) -> &str {
        // Lowercasing ASCII bytes keeps UTF-8 valid; the fallback is never taken.
        std::str::from_utf8(&self.bytes[..self.length]).unwrap_or("")
    }
}

/// The business flows of an endpoint, from keywords in its template (and `POST` to a user or
/// account collection). Words are the template's segments split on `-`, `_`, `.` and camelCase,
/// lowercased; placeholder segments are skipped. An endpoint may have several flows.
pub fn flows_for(method: &str, template: &str) -> FlowSet {
    let mut flows = remembered_word_flows(template);
    let last_segment = template
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or("");
    if method.eq_ignore_ascii_case("POST")
        && ACCOUNT_COLLECTIONS
            .iter()
            .any(|name| last_segment.eq_ignore_ascii_case(name))
    {
        flows.insert(Flow::AccountCreation);
    }
    flows
}

/// Templates a thread remembers the word flows of (then it starts over). A service has a few
/// hundred templates and every exchange has one, so nearly every call is a lookup.
const CACHED_TEMPLATES: usize = 4_096;

thread_local! {
    static WORD_FLOWS: Memory<Box<str>, FlowSet> = new_memory(CACHED_TEMPLATES);
}

fn remembered_word_flows(template: &str) -> FlowSet {
    WORD_FLOWS.with(|memory| recall(memory, CACHED_TEMPLATES, template, || word_flows(template)))
}

/// The flows the words of a template mean, alone and in pairs.
fn word_flows(template: &str) -> FlowSet {
    let mut flows = FlowSet::default();
    let mut previous: Option<Word> = None;
    for segment in template.split('/') {
        if segment.is_empty() {
            continue;
        }
        if is_placeholder(segment) {
            previous = None;
            continue;
        }
        any_word(segment, |text| {
            let Some(word) = Word::new(text) else {
                previous = None;
                return false;
            };
            let word_text = word.as_str();
            for flow in flows_of_word(word_text) {
                flows.insert(*flow);
            }
            if let Some(flow) = previous
                .as_ref()
                .and_then(|previous| flow_of_phrase(previous.as_str(), word_text))
            {
                flows.insert(flow);
            }
            previous = Some(word);
            false
        });
    }
    flows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(method: &str, template: &str) -> Vec<String> {
        flows_for(method, template).ids()
    }

    #[test]
    fn keywords_tag_endpoints_with_flows() {
        let cases: &[(&str, &str, &[&str])] = &[
            ("POST", "/v1/chat/completions", &["ai_llm"]),
            ("POST", "/api/embeddings", &["ai_llm"]),
            (
                "POST",
                "/auth/sign-up",
                &["account_creation", "authentication"],
            ),
            ("POST", "/users/register", &["account_creation"]),
            ("POST", "/v1/users", &["account_creation"]),
            ("GET", "/v1/users", &[]),
            ("GET", "/users/me", &["account_management"]),
            (
                "PUT",
                "/users/{int}/changePassword",
                &["account_management"],
            ),
            ("GET", "/admin/users/{int}", &["admin"]),
            ("GET", "/internal/metrics", &["admin"]),
            ("POST", "/login", &["authentication"]),
            ("POST", "/oauth2/token", &["authentication"]),
            ("POST", "/api/log-in", &["authentication"]),
            (
                "POST",
                "/api/mfa/verify",
                &["account_management", "authentication"],
            ),
            ("POST", "/checkout/payments/{uuid}/refund", &["billing"]),
            ("GET", "/invoices/{int}", &["billing"]),
            ("POST", "/sms/send", &["sms_gateway"]),
            ("POST", "/otp/send", &["authentication", "sms_gateway"]),
            ("POST", "/phone/verify", &["authentication", "sms_gateway"]),
            ("GET", "/products/{int}", &[]),
            ("GET", "/text/render", &[]),
            ("GET", "/authors/{int}", &[]),
            ("GET", "/{param}/{token}", &[]),
        ];
        for (method, template, expected) in cases {
            assert_eq!(ids(method, template), *expected, "{method} {template}");
        }
    }

    #[test]
    fn placeholder_segments_are_ignored() {
        assert!(flows_for("GET", "/{int}/{param}").is_empty());
    }
}
