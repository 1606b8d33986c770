//! Writing one API call into the draft: request line, headers and body for a `Call`, and a
//! response drawn from the endpoint's behaviour (status, latency, size). Also the login, refresh,
//! logout and signup exchanges and the injection-carrying variants used by attackers.

use std::fmt::Write;

use crate::catalog::{
    App, Behaviour, Call, CATEGORY_SLUGS, LANGUAGES, PROMPT_OPENERS, PROMPT_TOPICS, SEARCH_WORDS,
    SHOP_API, TRANSFER_REFERENCES,
};
use crate::draft::Draft;
use crate::payload::{write_payload, AttackType};
use crate::random::{mix, Random};
use crate::text::{
    civil_from_days, push_hundredths, push_json_escaped, push_percent_encoded,
    push_percent_encoded_keeping_escapes, push_random_hex, push_random_uuid,
};

/// What the client sends to prove who it is.
#[derive(Clone, Copy)]
pub(crate) enum Credential<'a> {
    Anonymous,
    Bearer(&'a str),
    ApiKey(&'a str),
}

/// The calling client as far as one request is concerned.
pub(crate) struct Caller<'a> {
    pub(crate) agent: &'a str,
    pub(crate) credential: Credential<'a>,
    pub(crate) user_number: u64,
    /// Pseudonymous id of the user's bank account, stable across visits.
    pub(crate) account_key: u64,
}

/// What a client remembers between calls to make the next ones plausible.
#[derive(Default)]
pub(crate) struct CallMemory {
    pub(crate) cart_items: u32,
    pub(crate) checked_out: bool,
}

pub(crate) fn api_request_headers(draft: &mut Draft, caller: &Caller<'_>, json_body: bool) {
    draft.request_header("user-agent", caller.agent);
    draft.request_header("accept", "application/json");
    draft.request_header("accept-encoding", "gzip, br");
    match caller.credential {
        Credential::Anonymous => {}
        Credential::Bearer(token) => {
            draft.request_header_prefixed("authorization", "Bearer ", token)
        }
        Credential::ApiKey(key) => draft.request_header("x-api-key", key),
    }
    if json_body {
        draft.request_header("content-type", "application/json");
    }
}

/// Draws the status of a call from its behaviour.
pub(crate) fn draw_status(random: &mut Random, behaviour: &Behaviour) -> u16 {
    let draw = random.unit();
    if draw < behaviour.server_error_share {
        return random.pick(&[500, 502, 503]);
    }
    if draw < behaviour.server_error_share + behaviour.client_error_share {
        return behaviour.client_error_status;
    }
    behaviour.ok_status
}

fn error_code(status: u16) -> &'static str {
    match status {
        400 => "bad_request",
        401 => "invalid_credentials",
        402 => "payment_declined",
        403 => "forbidden",
        404 => "not_found",
        409 => "conflict",
        422 => "validation_failed",
        423 => "account_locked",
        429 => "rate_limited",
        500 => "internal_error",
        502 => "bad_gateway",
        503 => "service_unavailable",
        _ => "error",
    }
}

/// Fills the response part of the draft: status, JSON content type, latency and size drawn from the
/// behaviour. Errors carry a small JSON error body; their latency is shorter (validation fails
/// early) except for server errors, which are often timeouts upstream.
pub(crate) fn respond(draft: &mut Draft, random: &mut Random, behaviour: &Behaviour, status: u16) {
    draft.status = status;
    let mut duration = random.lognormal(behaviour.duration_median_ms, behaviour.duration_sigma);
    if (400..500).contains(&status) {
        duration *= 0.4;
    } else if status >= 500 {
        duration *= if status == 502 { 30.0 } else { 2.5 };
    }
    draft.duration_tenths_ms = (duration.clamp(0.1, 120_000.0) * 10.0) as u64;
    if status == 204 {
        draft.size = 0;
        return;
    }
    draft.response_header("content-type", "application/json; charset=utf-8");
    if status >= 400 {
        let body = draft.response_body();
        body.push_str("{\"error\":\"");
        body.push_str(error_code(status));
        body.push_str("\"}");
        draft.size = draft.response_body.len() as u64;
        return;
    }
    if behaviour.size_median <= 0.0 {
        draft.size = 0;
        return;
    }
    draft.size = random
        .lognormal(behaviour.size_median, behaviour.size_sigma)
        .clamp(2.0, 50_000_000.0) as u64;
}

fn push_product_id(out: &mut String, random: &mut Random) {
    // A small catalogue of popular products plus a long tail.
    let id = if random.chance(0.6) {
        random.between(1_000, 1_400)
    } else {
        random.between(1_000, 98_000)
    };
    let _ = write!(out, "{id}");
}

fn push_phone(out: &mut String, random: &mut Random) {
    let _ = write!(out, "+1555010{:04}", random.below(10_000));
}

/// `YYYY-MM` of the month before `now`, for statements.
fn push_previous_month(out: &mut String, now: i64) {
    let (year, month, _) = civil_from_days(now.div_euclid(86_400_000_000));
    let (year, month) = if month == 1 {
        (year - 1, 12)
    } else {
        (year, month - 1)
    };
    let _ = write!(out, "{year:04}-{month:02}");
}

fn push_account_id(out: &mut String, account_key: u64) {
    let _ = write!(out, "{:012x}", account_key & 0xffff_ffff_ffff);
}

/// Writes a complete API call (request and response) into the draft.
pub(crate) fn emit_call(
    draft: &mut Draft,
    random: &mut Random,
    now: i64,
    call: Call,
    caller: &Caller<'_>,
    memory: &mut CallMemory,
) {
    let behaviour = call.behaviour();
    draft.start(behaviour.method, behaviour.host);
    let url = &mut draft.url;
    let mut body = String::new();
    match call {
        Call::ShopListProducts => {
            let _ = write!(
                url,
                "/v1/products?page={}&limit={}",
                random.between(1, 12),
                random.pick(&[20, 50])
            );
            if random.chance(0.4) {
                url.push_str("&category=");
                url.push_str(random.pick(CATEGORY_SLUGS));
            }
            if random.chance(0.25) {
                url.push_str("&sort=");
                url.push_str(random.pick(&["price_asc", "price_desc", "newest", "rating"]));
            }
        }
        Call::ShopGetProduct => {
            url.push_str("/v1/products/");
            push_product_id(url, random);
        }
        Call::ShopProductReviews => {
            url.push_str("/v1/products/");
            push_product_id(url, random);
            let _ = write!(url, "/reviews?page={}", random.between(1, 3));
        }
        Call::ShopCategory => {
            url.push_str("/v1/categories/");
            url.push_str(random.pick(CATEGORY_SLUGS));
        }
        Call::ShopSearch => {
            url.push_str("/v1/search?q=");
            push_percent_encoded(url, random.pick(SEARCH_WORDS));
            if random.chance(0.3) {
                let _ = write!(url, "&page={}", random.between(2, 5));
            }
        }
        Call::ShopGetCart => url.push_str("/v1/cart"),
        Call::ShopAddCartItem => {
            url.push_str("/v1/cart/items");
            body.push_str("{\"product_id\":");
            push_product_id(&mut body, random);
            let _ = write!(body, ",\"quantity\":{}}}", random.between(1, 3));
        }
        Call::ShopRemoveCartItem => {
            url.push_str("/v1/cart/items/");
            push_product_id(url, random);
        }
        Call::ShopListOrders => {
            url.push_str("/v1/orders?status=");
            url.push_str(random.pick(&["all", "open", "shipped", "delivered"]));
        }
        Call::ShopGetOrder => {
            url.push_str("/v1/orders/");
            push_random_uuid(url, random);
        }
        Call::ShopCreateOrder => {
            url.push_str("/v1/orders");
            body.push_str("{\"items\":[");
            let items = random.between(1, 4);
            for index in 0..items {
                if index > 0 {
                    body.push(',');
                }
                body.push_str("{\"product_id\":");
                push_product_id(&mut body, random);
                let _ = write!(body, ",\"quantity\":{}}}", random.between(1, 3));
            }
            let _ = write!(
                body,
                "],\"shipping\":\"{}\"}}",
                random.pick(&["standard", "express", "pickup"])
            );
        }
        Call::ShopCheckout => {
            url.push_str("/v1/checkout");
            body.push_str("{\"cart_id\":\"");
            push_random_hex(&mut body, random, 16);
            let _ = write!(
                body,
                "\",\"shipping_method\":\"{}\",\"coupon\":{}}}",
                random.pick(&["standard", "express"]),
                if random.chance(0.15) {
                    "\"WINTER15\""
                } else {
                    "null"
                }
            );
        }
        Call::ShopPayment => {
            url.push_str("/v1/payments");
            body.push_str("{\"order_id\":\"");
            push_random_uuid(&mut body, random);
            let _ = write!(
                body,
                "\",\"method\":\"{}\",\"card_last4\":\"{:04}\",\"amount\":",
                random.pick(&["card", "card", "paypal", "sepa"]),
                random.below(10_000)
            );
            push_hundredths(&mut body, random.between(499, 89_900));
            body.push_str(",\"currency\":\"EUR\"}");
        }
        Call::ShopInvoice => {
            url.push_str("/v1/billing/invoices/");
            if random.chance(0.5) {
                let _ = write!(url, "{}", random.between(10_000, 999_999));
            } else {
                let _ = write!(url, "INV-2026-{:06}", random.below(1_000_000));
            }
        }
        Call::ShopGetProfile => {
            let _ = write!(url, "/v1/users/{}/profile", caller.user_number);
        }
        Call::ShopUpdateProfile => {
            let _ = write!(url, "/v1/users/{}/profile", caller.user_number);
            body.push_str("{\"display_name\":\"");
            let first = crate::catalog::FIRST_NAMES[(caller.user_number % 36) as usize];
            push_json_escaped(&mut body, first);
            body.push_str("\",\"phone\":\"");
            push_phone(&mut body, random);
            body.push_str("\"}");
        }
        Call::ShopChangePassword => {
            url.push_str("/v1/account/password");
            body.push_str("{\"current_password\":\"");
            crate::text::push_random_alphanumeric(&mut body, random, 12);
            body.push_str("\",\"new_password\":\"");
            crate::text::push_random_alphanumeric(&mut body, random, 14);
            body.push_str("!\"}");
        }
        Call::ShopGetSettings => url.push_str("/v1/account/settings"),
        Call::ShopUpdateSettings => {
            url.push_str("/v1/account/settings");
            let _ = write!(
                body,
                "{{\"newsletter\":{},\"language\":\"{}\"}}",
                random.chance(0.5),
                random.pick(LANGUAGES)
            );
        }
        Call::ShopOtp | Call::BankOtp => {
            url.push_str("/v1/auth/otp");
            let _ = write!(body, "{{\"code\":\"{:06}\"}}", random.below(1_000_000));
        }
        Call::ShopSmsSend => {
            url.push_str("/v1/sms/send");
            body.push_str("{\"phone\":\"");
            push_phone(&mut body, random);
            body.push_str("\",\"template\":\"");
            body.push_str(random.pick(&["otp", "order_shipped", "delivery_window"]));
            body.push_str("\"}");
        }
        Call::BankAccounts => url.push_str("/v1/accounts"),
        Call::BankBalance => {
            url.push_str("/v1/accounts/");
            push_account_id(url, caller.account_key);
            url.push_str("/balance");
        }
        Call::BankTransactions => {
            url.push_str("/v1/accounts/");
            push_account_id(url, caller.account_key);
            let _ = write!(
                url,
                "/transactions?limit={}&offset={}",
                random.pick(&[25, 50, 100]),
                random.below(4) * 50
            );
        }
        Call::BankTransfer => {
            url.push_str("/v1/transfers");
            body.push_str("{\"from_account\":\"");
            push_account_id(&mut body, caller.account_key);
            let _ = write!(
                body,
                "\",\"to_iban\":\"DE{:02}{:018}\",\"amount\":",
                random.between(10, 99),
                random.below(1_000_000_000_000_000_000)
            );
            push_hundredths(&mut body, random.between(500, 250_000));
            let _ = write!(
                body,
                ",\"currency\":\"EUR\",\"reference\":\"{}\"}}",
                random.pick(TRANSFER_REFERENCES)
            );
        }
        Call::BankGetTransfer => {
            url.push_str("/v1/transfers/");
            push_random_uuid(url, random);
        }
        Call::BankStatement => {
            url.push_str("/v1/statements/");
            push_previous_month(url, now);
        }
        Call::BankCards => url.push_str("/v1/cards"),
        Call::BankFreezeCard => {
            url.push_str("/v1/cards/");
            let _ = write!(url, "{:08x}", mix(caller.account_key, 1, 2) as u32);
            url.push_str("/freeze");
            body.push_str("{\"reason\":\"");
            body.push_str(random.pick(&["lost", "stolen", "travel"]));
            body.push_str("\"}");
        }
        Call::AssistantChat => {
            url.push_str("/v1/chat/completions");
            let _ = write!(
                body,
                "{{\"model\":\"{}\",\"messages\":[{{\"role\":\"system\",\"content\":\"You are a helpful shop assistant.\"}},{{\"role\":\"user\",\"content\":\"{} {}\"}}],\"max_tokens\":{},\"temperature\":0.{}}}",
                random.pick(&["assist-large-2", "assist-mini-2", "assist-mini-2"]),
                random.pick(PROMPT_OPENERS),
                random.pick(PROMPT_TOPICS),
                random.pick(&[256, 512, 1024]),
                random.between(1, 9)
            );
        }
        Call::AssistantEmbeddings => {
            url.push_str("/v1/embeddings");
            let _ = write!(
                body,
                "{{\"model\":\"embed-small-2\",\"input\":\"{} {}\"}}",
                random.pick(crate::catalog::PRODUCT_ADJECTIVES),
                random.pick(SEARCH_WORDS)
            );
        }
        Call::AssistantModels => url.push_str("/v1/models"),
        Call::AdminUsers => {
            let _ = write!(url, "/admin/users?page={}", random.between(1, 40));
            if random.chance(0.3) {
                url.push_str("&q=");
                push_percent_encoded(url, random.pick(crate::catalog::LAST_NAMES));
            }
        }
        Call::AdminUser => {
            let _ = write!(url, "/admin/users/{}", random.between(1, 60_000));
        }
        Call::AdminOrder => {
            let _ = write!(url, "/admin/orders/{}", random.between(100_000, 999_999));
        }
        Call::AdminGetSettings => url.push_str("/admin/settings"),
        Call::AdminUpdateSettings => {
            url.push_str("/admin/settings");
            let _ = write!(
                body,
                "{{\"maintenance_mode\":{},\"max_cart_items\":{}}}",
                random.chance(0.05),
                random.pick(&[25, 50, 100])
            );
        }
    }
    let has_body = !body.is_empty();
    api_request_headers(draft, caller, has_body);
    if has_body {
        draft.request_body().push_str(&body);
    }
    let mut status = draw_status(random, behaviour);
    match call {
        Call::ShopAddCartItem if status < 300 => memory.cart_items += 1,
        Call::ShopRemoveCartItem if status < 300 => {
            memory.cart_items = memory.cart_items.saturating_sub(1)
        }
        Call::ShopCheckout if status < 300 => memory.checked_out = true,
        Call::ShopCheckout if memory.cart_items == 0 => status = 409,
        _ => {}
    }
    respond(draft, random, behaviour, status);
}

/// The login exchange. On success the response body carries the token (already minted into
/// `token`); on failure a 401 with an error and no token.
pub(crate) fn emit_login(
    draft: &mut Draft,
    random: &mut Random,
    app: App,
    agent: &str,
    email: &str,
    password: &str,
    token: Option<&str>,
) {
    let lifetime = app.token_lifetime_seconds();
    draft.start("POST", app.login_host());
    draft.url.push_str(app.login_path());
    draft.request_header("user-agent", agent);
    draft.request_header("accept", "application/json");
    draft.request_header("content-type", "application/json");
    let body = draft.request_body();
    body.push_str("{\"email\":\"");
    push_json_escaped(body, email);
    body.push_str("\",\"password\":\"");
    push_json_escaped(body, password);
    body.push_str("\"}");
    respond_login(draft, random, token.map(|token| (token, lifetime)), 401);
}

/// Response of a login-like exchange: the token (and its lifetime in seconds) on success, else
/// `failure_status`.
pub(crate) fn respond_login(
    draft: &mut Draft,
    random: &mut Random,
    token: Option<(&str, i64)>,
    failure_status: u16,
) {
    match token {
        Some((token, lifetime)) => {
            draft.status = 200;
            draft.response_header("content-type", "application/json");
            draft.response_header("cache-control", "no-store");
            let body = draft.response_body();
            body.push_str("{\"access_token\":\"");
            body.push_str(token);
            let _ = write!(
                body,
                "\",\"token_type\":\"Bearer\",\"expires_in\":{lifetime}}}"
            );
            draft.size = draft.response_body.len() as u64;
            // Password hashing makes successful logins slow.
            draft.duration_tenths_ms = (random.lognormal(190.0, 0.3) * 10.0) as u64;
        }
        None => {
            draft.status = failure_status;
            draft.response_header("content-type", "application/json");
            let body = draft.response_body();
            body.push_str("{\"error\":\"");
            body.push_str(error_code(failure_status));
            body.push_str("\"}");
            draft.size = draft.response_body.len() as u64;
            draft.duration_tenths_ms = (random.lognormal(170.0, 0.35) * 10.0) as u64;
        }
    }
}

/// A token refresh: sent with the old token, answered with a new one.
pub(crate) fn emit_refresh(
    draft: &mut Draft,
    random: &mut Random,
    app: App,
    agent: &str,
    old: &str,
    new: &str,
) {
    draft.start("POST", app.login_host());
    draft.url.push_str(app.refresh_path());
    draft.request_header("user-agent", agent);
    draft.request_header("accept", "application/json");
    draft.request_header_prefixed("authorization", "Bearer ", old);
    respond_login(
        draft,
        random,
        Some((new, app.token_lifetime_seconds())),
        401,
    );
    draft.duration_tenths_ms = (random.lognormal(35.0, 0.4) * 10.0) as u64;
}

pub(crate) fn emit_logout(
    draft: &mut Draft,
    random: &mut Random,
    app: App,
    agent: &str,
    token: &str,
) {
    draft.start("POST", app.login_host());
    draft.url.push_str(app.logout_path());
    draft.request_header("user-agent", agent);
    draft.request_header("accept", "application/json");
    draft.request_header_prefixed("authorization", "Bearer ", token);
    draft.status = 204;
    draft.size = 0;
    draft.duration_tenths_ms = (random.lognormal(12.0, 0.4) * 10.0) as u64;
}

/// Account creation on the shop: anonymous, answered with the new user's id (never a token, so
/// the exchange stays with the client's address and agent).
pub(crate) fn emit_signup(
    draft: &mut Draft,
    random: &mut Random,
    agent: &str,
    email: &str,
    password: &str,
    subject: &str,
) {
    draft.start("POST", SHOP_API);
    draft.url.push_str("/v1/signup");
    draft.request_header("user-agent", agent);
    draft.request_header("accept", "application/json");
    draft.request_header("content-type", "application/json");
    let body = draft.request_body();
    body.push_str("{\"email\":\"");
    push_json_escaped(body, email);
    body.push_str("\",\"password\":\"");
    push_json_escaped(body, password);
    body.push_str("\",\"accept_terms\":true}");
    if random.chance(0.1) {
        respond(draft, random, Call::ShopUpdateProfile.behaviour(), 409);
        return;
    }
    draft.status = 201;
    draft.response_header("content-type", "application/json");
    let body = draft.response_body();
    body.push_str("{\"id\":\"");
    body.push_str(subject);
    body.push_str("\",\"status\":\"pending_verification\"}");
    draft.size = draft.response_body.len() as u64;
    draft.duration_tenths_ms = (random.lognormal(240.0, 0.3) * 10.0) as u64;
}

/// An anonymous catalogue call (browsing before logging in).
pub(crate) fn emit_anonymous_browse(
    draft: &mut Draft,
    random: &mut Random,
    now: i64,
    caller: &Caller<'_>,
) {
    let call = random.weighted(&[
        (Call::ShopListProducts, 4),
        (Call::ShopGetProduct, 5),
        (Call::ShopSearch, 3),
        (Call::ShopCategory, 1),
    ]);
    emit_call(draft, random, now, call, caller, &mut CallMemory::default());
}

/// An exchange carrying an injection payload of `kind` in a query parameter or a body property of
/// a plausible endpoint. `authenticated` says whether the caller has a token; endpoints that need
/// one answer 401 otherwise. The payload text is left in `payload` for callers that want it.
pub(crate) fn emit_attack(
    draft: &mut Draft,
    random: &mut Random,
    kind: AttackType,
    caller: &Caller<'_>,
    authenticated: bool,
    payload: &mut String,
) {
    write_payload(payload, random, kind);
    let mut needs_token = false;
    let mut body = String::new();
    let mut content_type = "application/json";
    let method: &'static str;
    let host = SHOP_API;
    let mut path = String::with_capacity(96);
    // (vector) choices per type; each is an endpoint real clients also call
    let vector = random.below(3);
    match (kind, vector) {
        (AttackType::Sqli, 0)
        | (AttackType::Xss, 0)
        | (AttackType::Ssti, 0)
        | (AttackType::Ldapi, _) => {
            method = "GET";
            path.push_str("/v1/search?q=");
            push_percent_encoded_keeping_escapes(&mut path, payload);
        }
        (AttackType::Sqli, 1) => {
            method = "GET";
            let _ = write!(path, "/v1/products?page={}&sort=", random.between(1, 3));
            push_percent_encoded_keeping_escapes(&mut path, payload);
        }
        (AttackType::Sqli, _) if !authenticated => {
            method = "POST";
            path.push_str("/v1/login");
            body.push_str("{\"email\":\"");
            push_json_escaped(&mut body, payload);
            body.push_str("\",\"password\":\"x\"}");
        }
        (AttackType::Sqli, _) => {
            method = "GET";
            needs_token = true;
            path.push_str("/v1/orders?status=");
            push_percent_encoded_keeping_escapes(&mut path, payload);
        }
        (AttackType::Xss, _) | (AttackType::Ssti, _) if vector == 1 || !authenticated => {
            method = "POST";
            needs_token = true;
            path.push_str("/v1/products/");
            push_product_id(&mut path, random);
            path.push_str("/reviews");
            let _ = write!(body, "{{\"rating\":{},\"text\":\"", random.between(1, 5));
            push_json_escaped(&mut body, payload);
            body.push_str("\"}");
        }
        (AttackType::Xss, _) | (AttackType::Ssti, _) => {
            method = "PATCH";
            needs_token = true;
            let _ = write!(path, "/v1/users/{}/profile", caller.user_number);
            body.push_str("{\"display_name\":\"");
            push_json_escaped(&mut body, payload);
            body.push_str("\"}");
        }
        (AttackType::Rce, 0) => {
            method = "GET";
            path.push_str("/v1/search?q=");
            push_percent_encoded_keeping_escapes(&mut path, payload);
        }
        (AttackType::Rce, _) => {
            method = "GET";
            needs_token = true;
            path.push_str("/v1/orders/export?format=");
            push_percent_encoded_keeping_escapes(&mut path, payload);
        }
        (AttackType::Ptrav, 0) => {
            method = "GET";
            path.push_str("/v1/products/");
            push_product_id(&mut path, random);
            path.push_str("/image?name=");
            push_percent_encoded_keeping_escapes(&mut path, payload);
        }
        (AttackType::Ptrav, _) => {
            method = "GET";
            needs_token = true;
            let _ = write!(
                path,
                "/v1/billing/invoices/{}/pdf?file=",
                random.between(10_000, 999_999)
            );
            push_percent_encoded_keeping_escapes(&mut path, payload);
        }
        (AttackType::Ssrf, 0) => {
            method = "GET";
            path.push_str("/v1/products/preview?url=");
            push_percent_encoded_keeping_escapes(&mut path, payload);
        }
        (AttackType::Ssrf, _) => {
            method = "PUT";
            needs_token = true;
            path.push_str("/v1/account/settings");
            body.push_str("{\"webhook_url\":\"");
            push_json_escaped(&mut body, payload);
            body.push_str("\",\"language\":\"en\"}");
        }
        (AttackType::Nosqli, _) => {
            method = "POST";
            path.push_str("/v1/login");
            // The operator object replaces the string, as a JSON-decoding backend would accept it.
            body.push_str("{\"email\":");
            body.push_str(payload);
            body.push_str(",\"password\":");
            body.push_str(payload);
            body.push('}');
        }
        (AttackType::Crlf, _) => {
            method = "GET";
            path.push_str("/v1/products?lang=");
            push_percent_encoded_keeping_escapes(&mut path, payload);
        }
        (AttackType::Redir, _) => {
            method = "GET";
            path.push_str("/v1/auth/callback?code=");
            push_random_hex(&mut path, random, 20);
            path.push_str("&redirect_uri=");
            push_percent_encoded_keeping_escapes(&mut path, payload);
        }
        (AttackType::Xxe, _) => {
            method = "POST";
            needs_token = true;
            path.push_str("/v1/orders/import");
            content_type = "application/xml";
            body.push_str(payload);
        }
    }
    draft.start(method, host);
    draft.url.push_str(&path);
    draft.request_header("user-agent", caller.agent);
    draft.request_header("accept", "*/*");
    match caller.credential {
        Credential::Bearer(token) if authenticated => {
            draft.request_header_prefixed("authorization", "Bearer ", token)
        }
        _ => {}
    }
    if !body.is_empty() {
        draft.request_header("content-type", content_type);
        draft.request_body().push_str(&body);
    }
    let status = if needs_token && !authenticated {
        401
    } else if path.starts_with("/v1/login") {
        random.pick(&[400, 401, 401, 500])
    } else {
        random.weighted(&[(400u16, 40), (403, 20), (200, 25), (500, 10), (404, 5)])
    };
    respond(draft, random, Call::ShopSearch.behaviour(), status);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(credential: Credential<'_>) -> Caller<'_> {
        Caller {
            agent: "test-agent/1.0",
            credential,
            user_number: 42,
            account_key: 0xabcdef,
        }
    }

    #[test]
    fn every_call_writes_a_request_that_parses() {
        let mut random = Random::new(1);
        let mut draft = Draft::new();
        let mut clock = crate::text::TimestampWriter::new();
        let calls = App::Shop
            .calls()
            .iter()
            .chain(App::Bank.calls())
            .map(|(call, _)| *call);
        for call in calls.chain([
            Call::AssistantChat,
            Call::AssistantEmbeddings,
            Call::AssistantModels,
            Call::AdminUsers,
            Call::AdminUser,
            Call::AdminOrder,
            Call::AdminGetSettings,
            Call::AdminUpdateSettings,
            Call::ShopCheckout,
            Call::ShopPayment,
        ]) {
            for _ in 0..20 {
                draft.reset();
                draft.client_ip.push_str("10.0.0.1");
                let mut memory = CallMemory::default();
                emit_call(
                    &mut draft,
                    &mut random,
                    1_795_780_800_000_000,
                    call,
                    &caller(Credential::Bearer("t.o.k")),
                    &mut memory,
                );
                let mut line = String::new();
                draft.write_line(
                    &mut line,
                    &crate::draft::Id { seed: 1, number: 1 },
                    0,
                    &mut clock,
                );
                let value: serde_json::Value = serde_json::from_str(&line)
                    .unwrap_or_else(|error| panic!("{call:?}: {error}: {line}"));
                let url = value["request"]["url"].as_str().unwrap();
                assert!(url.starts_with("https://"), "{call:?}: {url}");
                if let Some(body) = value["request"]["body"].as_str() {
                    serde_json::from_str::<serde_json::Value>(body)
                        .unwrap_or_else(|error| panic!("{call:?} body: {error}: {body}"));
                }
            }
        }
    }

    #[test]
    fn attacks_carry_the_payload_in_the_request() {
        let mut random = Random::new(2);
        let mut draft = Draft::new();
        let mut payload = String::new();
        for (kind, _) in crate::payload::ATTACK_MIX {
            for authenticated in [false, true] {
                for _ in 0..30 {
                    draft.reset();
                    emit_attack(
                        &mut draft,
                        &mut random,
                        *kind,
                        &caller(Credential::Bearer("t.o.k")),
                        authenticated,
                        &mut payload,
                    );
                    let in_body = draft.request_body.contains(payload.as_str());
                    let mut encoded = String::new();
                    push_percent_encoded_keeping_escapes(&mut encoded, &payload);
                    let in_url =
                        draft.url.contains(&encoded) || draft.url.contains(payload.as_str());
                    let mut escaped = String::new();
                    push_json_escaped(&mut escaped, &payload);
                    let in_json = draft.request_body.contains(&escaped);
                    assert!(
                        in_url || in_json || in_body,
                        "{kind:?} payload {payload} not in {} / {}",
                        draft.url,
                        draft.request_body
                    );
                    let has_authorization =
                        draft.request_headers_for_tests().contains("authorization");
                    assert_eq!(has_authorization, authenticated, "{kind:?}");
                }
            }
        }
    }
}
