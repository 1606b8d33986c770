//! The actors whose interleaved timelines make the traffic: token users of the APIs (alone, behind
//! a NAT, on a phone, or attacking), storefront browsers, partners with API keys, and bots
//! (credential stuffing, a scraper, a vulnerability scanner, anonymous attackers).
//!
//! An actor is a small state machine: `step` writes its next exchange into the draft, fills the
//! ground truth and returns the delay until its following exchange, or `None` when it is done.
//! Only running actors exist, so memory depends on concurrency, never on the number of requests.
//!
//! Truth labels follow what a correct sessionizer with the demo configuration can know:
//! a token, a session cookie or an API key makes a session; an exchange without any of them can
//! only be grouped by (client IP, User-Agent), so its label is derived from exactly that pair
//! (`anon-<ip>-<agent id>`), which makes two actors that share a pair one truth session, as they
//! are indistinguishable. Bots get addresses no one else uses, so their pairs are their own.

use std::fmt::Write;

use crate::calls::{
    emit_anonymous_browse, emit_attack, emit_call, emit_login, emit_logout, emit_refresh,
    emit_signup, respond, CallMemory, Caller, Credential,
};
use crate::catalog::{
    App, Call, API_CLIENT_AGENTS, ATTACKER_AGENTS, BROWSER_AGENTS, CATEGORY_SLUGS, FIRST_NAMES,
    LAST_NAMES, MAIL_DOMAINS, MOBILE_AGENTS, OFFICE_AGENTS, PARTNER_AGENTS, PRODUCT_ADJECTIVES,
    PRODUCT_NOUNS, ROLE_ADMIN, ROLE_CUSTOMER, ROLE_CUSTOMER_BETA, ROLE_PARTNER, ROLE_SUPPORT,
    ROLE_SUPPORT_ADMIN, SCANNER_AGENTS, SCANNER_PROBES, SCRAPER_AGENTS, SEARCH_WORDS, SHOP_API,
    SHOP_WEB, STUFFER_AGENTS,
};
use crate::draft::{Draft, TruthDraft};
use crate::jwt::{mint, Claims};
use crate::payload::{AttackType, ATTACK_MIX};
use crate::random::{mix, Random};
use crate::text::{
    push_form_encoded, push_percent_encoded, push_percent_encoded_keeping_escapes,
    push_random_alphanumeric, push_random_hex, push_random_lower_alphanumeric, push_random_uuid,
};

const MILLI: i64 = 1_000;
const SECOND: i64 = 1_000_000;
const MINUTE: i64 = 60 * SECOND;

/// Kinds of actors, named as in the ground truth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    ApiUser,
    Browser,
    Partner,
    NatUser,
    Mobile,
    CredentialStuffing,
    Scraper,
    Scanner,
    Attacker,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::ApiUser => "api_user",
            Kind::Browser => "browser",
            Kind::Partner => "partner",
            Kind::NatUser => "nat_user",
            Kind::Mobile => "mobile",
            Kind::CredentialStuffing => "credential_stuffing",
            Kind::Scraper => "scraper",
            Kind::Scanner => "scanner",
            Kind::Attacker => "attacker",
        }
    }

    fn bot(self) -> Option<&'static str> {
        match self {
            Kind::CredentialStuffing => Some("account_takeover"),
            Kind::Scraper => Some("scraping"),
            Kind::Scanner => Some("security_crawlers"),
            _ => None,
        }
    }
}

/// Kinds started by the arrival process (partners run for the whole span instead), with the share
/// of all requests each should produce and a prior guess of requests per instance.
pub(crate) const SPAWNED: [(Kind, f64, f64); 8] = [
    (Kind::ApiUser, 0.45, 16.0),
    (Kind::Browser, 0.20, 22.0),
    (Kind::NatUser, 0.06, 16.0),
    (Kind::Mobile, 0.05, 24.0),
    (Kind::CredentialStuffing, 0.04, 300.0),
    (Kind::Scraper, 0.05, 500.0),
    (Kind::Scanner, 0.02, 180.0),
    (Kind::Attacker, 0.03, 35.0),
];

pub(crate) const PARTNER_SHARE: f64 = 0.10;

/// Users behind one NAT address.
const NAT_GROUP_SIZE: u64 = 8;
/// Attacker accounts are numbered far above regular users.
const ATTACKER_ACCOUNT_BASE: u64 = 8_000_000;

/// Constants of one run, derived from the options.
pub(crate) struct World {
    pub(crate) seed: u64,
    pub(crate) span: i64,
    pub(crate) requests: u64,
    pub(crate) user_pool: u64,
    pub(crate) nat_groups: u64,
    pub(crate) partners: u64,
    secrets: [[u8; 32]; 3],
}

impl World {
    pub(crate) fn new(seed: u64, span: i64, requests: u64) -> World {
        let mut secrets = [[0u8; 32]; 3];
        for (index, secret) in secrets.iter_mut().enumerate() {
            for (chunk_index, chunk) in secret.chunks_mut(8).enumerate() {
                let word = mix(seed, index as u64, 100 + chunk_index as u64);
                chunk.copy_from_slice(&word.to_le_bytes());
            }
        }
        World {
            seed,
            span,
            requests,
            user_pool: (requests / 150).max(60),
            nat_groups: (requests / 20_000).clamp(2, 2_000),
            partners: (3 + requests / 1_000_000).min(12),
            secrets,
        }
    }

    /// Upper bound of one bot instance's requests: small runs still get several bot instances.
    fn bot_cap(&self, share: f64) -> u64 {
        ((share * self.requests as f64 / 2.0) as u64).max(15)
    }
}

/// Counters that make labels and addresses unique across the run.
#[derive(Default)]
pub(crate) struct Counters {
    token_sessions: u64,
    browser_sessions: u64,
    instances: u64,
    cellular: u64,
}

/// Everything a step may use besides the actor itself.
pub(crate) struct StepContext<'a> {
    pub(crate) now: i64,
    pub(crate) random: &'a mut Random,
    pub(crate) world: &'a World,
    pub(crate) counters: &'a mut Counters,
    pub(crate) draft: &'a mut Draft,
    pub(crate) truth: &'a mut TruthDraft,
}

pub(crate) enum Actor {
    User(UserVisit),
    Browser(BrowserVisit),
    Partner(PartnerClient),
    Stuffer(CredentialStuffer),
    Scraper(Scraper),
    Scanner(Scanner),
    AnonymousAttacker(AnonymousAttacker),
}

impl Actor {
    pub(crate) fn step(&mut self, context: &mut StepContext<'_>) -> Option<i64> {
        match self {
            Actor::User(actor) => actor.step(context),
            Actor::Browser(actor) => actor.step(context),
            Actor::Partner(actor) => actor.step(context),
            Actor::Stuffer(actor) => actor.step(context),
            Actor::Scraper(actor) => actor.step(context),
            Actor::Scanner(actor) => actor.step(context),
            Actor::AnonymousAttacker(actor) => actor.step(context),
        }
    }

    /// Requests the actor intends to make (its planned length), for calibrating the arrival rate.
    pub(crate) fn planned(&self) -> u64 {
        match self {
            Actor::User(actor) => actor.script.len() as u64,
            Actor::Browser(actor) => actor.planned,
            Actor::Partner(_) => 0,
            Actor::Stuffer(actor) => actor.remaining,
            Actor::Scraper(actor) => actor.remaining,
            Actor::Scanner(actor) => actor.remaining,
            Actor::AnonymousAttacker(actor) => actor.remaining,
        }
    }
}

/// How an actor is started: by kind, or the long phone session placed across midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    Kind(Kind),
    MidnightPhone,
}

pub(crate) fn spawn(
    start: Start,
    world: &World,
    random: &mut Random,
    counters: &mut Counters,
) -> Actor {
    let kind = match start {
        Start::MidnightPhone => {
            return Actor::User(UserVisit::new(
                Kind::Mobile,
                world,
                random,
                counters,
                Some(90),
            ));
        }
        Start::Kind(kind) => kind,
    };
    match kind {
        Kind::ApiUser | Kind::NatUser | Kind::Mobile => {
            Actor::User(UserVisit::new(kind, world, random, counters, None))
        }
        Kind::Attacker if random.chance(0.5) => {
            Actor::User(UserVisit::new(kind, world, random, counters, None))
        }
        Kind::Attacker => Actor::AnonymousAttacker(AnonymousAttacker::new(world, random, counters)),
        Kind::Browser => Actor::Browser(BrowserVisit::new(world, random, counters)),
        Kind::CredentialStuffing => Actor::Stuffer(CredentialStuffer::new(world, random, counters)),
        Kind::Scraper => Actor::Scraper(Scraper::new(world, random, counters)),
        Kind::Scanner => Actor::Scanner(Scanner::new(world, random, counters)),
        Kind::Partner => Actor::Partner(PartnerClient::new(0, world, random)),
    }
}

pub(crate) fn spawn_partner(index: u64, world: &World, random: &mut Random) -> Actor {
    Actor::Partner(PartnerClient::new(index, world, random))
}

// ---------------------------------------------------------------------------------------------
// People and addresses

/// A user account, derived from its number alone so that it is the same on every visit.
struct Person {
    number: u64,
    subject: String,
    email: String,
    handle: String,
    password: String,
    roles: &'static [&'static str],
    account_key: u64,
}

impl Person {
    fn new(world: &World, number: u64) -> Person {
        let name_hash = mix(world.seed, number, 1);
        let first = FIRST_NAMES[(name_hash % FIRST_NAMES.len() as u64) as usize];
        let last = LAST_NAMES[((name_hash >> 16) % LAST_NAMES.len() as u64) as usize];
        let digits = (name_hash >> 32) % 100;
        let domain = MAIL_DOMAINS[((name_hash >> 40) % MAIL_DOMAINS.len() as u64) as usize];
        let handle = format!("{first}.{last}{digits}");
        let email = format!("{handle}@{domain}");
        let subject = format!("u-{number:06}");
        let password_hash = mix(world.seed, number, 2);
        let stem: String = last.chars().take(4).collect();
        let password = format!("{stem}{:x}!{digits}", password_hash & 0xffff_ffff);
        let role_draw = mix(world.seed, number, 3) % 1_000;
        let roles = match role_draw {
            0..=7 => ROLE_ADMIN,
            8..=19 => ROLE_SUPPORT,
            20..=22 => ROLE_SUPPORT_ADMIN,
            23..=69 => ROLE_CUSTOMER_BETA,
            70..=84 => ROLE_PARTNER,
            _ => ROLE_CUSTOMER,
        };
        Person {
            number,
            subject,
            email,
            handle,
            password,
            roles,
            account_key: mix(world.seed, number, 4),
        }
    }

    fn is_staff(&self) -> bool {
        self.roles
            .iter()
            .any(|role| *role == "admin" || *role == "support")
    }
}

/// Regular users: a power law over the pool, so some users come back often.
fn pick_user_number(random: &mut Random, pool: u64) -> u64 {
    let draw = random.unit();
    ((pool as f64) * draw * draw) as u64
}

/// The address a user's home connection has: private IPv4 for most, documentation IPv6 for some.
fn home_address(world: &World, number: u64) -> String {
    if mix(world.seed, number, 6) % 100 < 15 {
        let value = number + 1;
        return format!(
            "2001:db8:1{:03x}:{:x}::{:x}",
            (value >> 16) & 0xfff,
            value & 0xffff,
            1 + (number % 7)
        );
    }
    let value = number + 1;
    format!(
        "10.{}.{}.{}",
        (value >> 16) & 0xff,
        (value >> 8) & 0xff,
        value & 0xff
    )
}

fn nat_address(group: u64) -> String {
    if group < 250 {
        return format!("192.0.2.{}", group + 2);
    }
    let value = group - 250;
    format!(
        "172.{}.{}.{}",
        16 + (value >> 16) % 15,
        (value >> 8) & 0xff,
        value & 0xff
    )
}

/// A fresh public address used by exactly one bot or anonymous attacker in the run.
fn instance_address(counters: &mut Counters) -> String {
    let index = counters.instances;
    counters.instances += 1;
    if index < 250 {
        return format!("203.0.113.{}", index + 2);
    }
    if index < 500 {
        return format!("198.51.100.{}", index - 250 + 2);
    }
    let value = index - 500;
    format!(
        "2001:db8:f{:03x}:{:x}::{:x}",
        (value >> 32) & 0xfff,
        (value >> 16) & 0xffff,
        value & 0xffff
    )
}

fn cellular_address(counters: &mut Counters) -> String {
    let value = counters.cellular;
    counters.cellular += 1;
    format!(
        "2001:db8:c{:03x}:{:x}::{:x}",
        (value >> 32) & 0xfff,
        (value >> 16) & 0xffff,
        (value & 0xffff) + 1
    )
}

fn anonymous_label(address: &str, agent_family: char, agent_index: usize) -> String {
    format!("anon-{address}-{agent_family}{agent_index}")
}

/// Thinking between requests: a share of quick follow-ups (a screen loading several resources),
/// otherwise seconds to minutes.
fn think(random: &mut Random, burst_share: f64, median_seconds: f64) -> i64 {
    let micros = if random.chance(burst_share) {
        random.lognormal(220.0 * MILLI as f64, 0.6)
    } else {
        random.lognormal(median_seconds * SECOND as f64, 1.1)
    };
    round_to_millis(micros.clamp(5.0 * MILLI as f64, 20.0 * MINUTE as f64))
}

fn round_to_millis(micros: f64) -> i64 {
    ((micros / MILLI as f64).round() as i64).max(1) * MILLI
}

fn write_random_email(out: &mut String, random: &mut Random) {
    out.clear();
    let first = random.pick(FIRST_NAMES);
    match random.below(4) {
        0 => {
            let _ = write!(out, "{first}{}", random.between(1, 9_999));
        }
        1 => {
            let _ = write!(out, "{first}.{}", random.pick(LAST_NAMES));
        }
        2 => {
            let initial = first.chars().next().unwrap_or('x');
            let _ = write!(
                out,
                "{initial}{}{}",
                random.pick(LAST_NAMES),
                random.between(60, 99)
            );
        }
        _ => {
            let _ = write!(
                out,
                "{}_{}",
                random.pick(LAST_NAMES),
                random.between(1, 999)
            );
        }
    }
    let _ = write!(
        out,
        "@{}",
        random.pick(&[
            "mail.example",
            "example.com",
            "webmail.example",
            "example.net"
        ])
    );
}

fn write_guessed_password(out: &mut String, random: &mut Random) {
    out.clear();
    let base = random.pick(&[
        "summer", "password", "qwerty", "letmein", "dragon", "monkey", "welcome", "iloveyou",
    ]);
    out.push_str(base);
    if random.chance(0.6) {
        let _ = write!(out, "{}", random.between(1, 2_026));
    }
    if random.chance(0.3) {
        out.push('!');
    }
}

// ---------------------------------------------------------------------------------------------
// Token users: API users, NAT users, phones, authenticated attackers

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UserAction {
    Browse,
    Signup,
    FailedLogin,
    Login,
    Call,
    Payment,
    Logout,
}

pub(crate) struct UserVisit {
    kind: Kind,
    person: Person,
    agent: &'static str,
    anonymous_label: String,
    address: String,
    cellular: Option<String>,
    switch_after_calls: u32,
    app: App,
    /// Remaining actions, next one last.
    script: Vec<UserAction>,
    token: String,
    previous_token: String,
    token_expires: i64,
    label: String,
    calls_done: u32,
    memory: CallMemory,
    attack_share: f64,
    payload: String,
    scratch: String,
}

impl UserVisit {
    fn new(
        kind: Kind,
        world: &World,
        random: &mut Random,
        counters: &mut Counters,
        calls: Option<u32>,
    ) -> UserVisit {
        let (number, address) = match kind {
            Kind::NatUser => {
                let group = random.below(world.nat_groups);
                let member = random.below(NAT_GROUP_SIZE);
                (
                    world.user_pool + group * NAT_GROUP_SIZE + member,
                    nat_address(group),
                )
            }
            Kind::Attacker => {
                let number = ATTACKER_ACCOUNT_BASE + random.below(400);
                (number, home_address(world, number))
            }
            _ => {
                let number = pick_user_number(random, world.user_pool);
                (number, home_address(world, number))
            }
        };
        let person = Person::new(world, number);
        let device = mix(world.seed, number, 5);
        let app = match kind {
            Kind::Attacker => App::Shop,
            Kind::Mobile => {
                if random.chance(0.75) {
                    App::Shop
                } else {
                    App::Bank
                }
            }
            _ if person.is_staff() && random.chance(0.7) => App::Backoffice,
            _ => random.weighted(&[(App::Shop, 62), (App::Bank, 22), (App::Assistant, 16)]),
        };
        let (agent, family, agent_index) = match kind {
            Kind::Mobile => {
                // The shop app or the bank app, matching the API it talks to.
                let range = if app == App::Bank { 4..6 } else { 0..4 };
                let index = range.start + (device % (range.end - range.start) as u64) as usize;
                (MOBILE_AGENTS[index], 'm', index)
            }
            Kind::NatUser => {
                let index = (device % OFFICE_AGENTS.len() as u64) as usize;
                (OFFICE_AGENTS[index], 'o', index)
            }
            Kind::Attacker => {
                let index = (device % ATTACKER_AGENTS.len() as u64) as usize;
                (ATTACKER_AGENTS[index], 't', index)
            }
            _ if device % 10 < 6 => {
                let index = ((device >> 8) % API_CLIENT_AGENTS.len() as u64) as usize;
                (API_CLIENT_AGENTS[index], 'a', index)
            }
            _ => {
                let index = ((device >> 8) % BROWSER_AGENTS.len() as u64) as usize;
                (BROWSER_AGENTS[index], 'b', index)
            }
        };
        let median_calls = match kind {
            Kind::Mobile => 18.0,
            Kind::Attacker => 30.0,
            _ => 10.0,
        };
        let call_count =
            calls.unwrap_or_else(|| random.lognormal(median_calls, 0.8).clamp(1.0, 250.0) as u32);

        let mut plan = Vec::with_capacity(call_count as usize + 6);
        if app == App::Shop && kind != Kind::Attacker && random.chance(0.2) {
            for _ in 0..random.between(1, 3) {
                plan.push(UserAction::Browse);
            }
        }
        if app == App::Shop && random.chance(0.04) {
            plan.push(UserAction::Signup);
        }
        let failed_login_share = if kind == Kind::Attacker { 0.3 } else { 0.08 };
        if random.chance(failed_login_share) {
            for _ in 0..random.between(1, 2) {
                plan.push(UserAction::FailedLogin);
            }
        }
        plan.push(UserAction::Login);
        for _ in 0..call_count {
            plan.push(UserAction::Call);
        }
        if random.chance(0.35) {
            plan.push(UserAction::Logout);
        }
        plan.reverse();

        let (cellular, switch_after_calls) =
            if kind == Kind::Mobile && (calls.is_some() || random.chance(0.6)) {
                let switch = (call_count as f64 * (0.3 + 0.4 * random.unit())) as u32;
                (Some(cellular_address(counters)), switch.max(1))
            } else {
                (None, u32::MAX)
            };
        let anonymous_label = anonymous_label(&address, family, agent_index);
        UserVisit {
            kind,
            person,
            agent,
            anonymous_label,
            address,
            cellular,
            switch_after_calls,
            app,
            script: plan,
            token: String::new(),
            previous_token: String::new(),
            token_expires: i64::MIN,
            label: String::new(),
            calls_done: 0,
            memory: CallMemory::default(),
            attack_share: if kind == Kind::Attacker { 0.45 } else { 0.0 },
            payload: String::new(),
            scratch: String::new(),
        }
    }

    /// Issues a new token, which starts a new truth session.
    fn mint_token(&mut self, context: &mut StepContext<'_>) {
        context.counters.token_sessions += 1;
        std::mem::swap(&mut self.token, &mut self.previous_token);
        self.scratch.clear();
        push_random_hex(&mut self.scratch, context.random, 16);
        let issued = context.now.div_euclid(SECOND);
        let lifetime = self.app.token_lifetime_seconds();
        let claims = Claims {
            issuer: self.app.issuer(),
            subject: &self.person.subject,
            roles: self.person.roles,
            issued_at_seconds: issued,
            expires_at_seconds: issued + lifetime,
            token_id: &self.scratch,
        };
        mint(
            &mut self.token,
            &context.world.secrets[self.app.secret_index()],
            &claims,
        );
        self.token_expires = context.now + lifetime * SECOND;
        self.label.clear();
        let _ = write!(
            self.label,
            "{}-{}-t{}",
            self.kind.name(),
            self.person.number,
            context.counters.token_sessions
        );
    }

    fn step(&mut self, context: &mut StepContext<'_>) -> Option<i64> {
        let action = self.script.pop()?;
        let uses_token = matches!(
            action,
            UserAction::Call | UserAction::Payment | UserAction::Logout
        );
        if uses_token && context.now >= self.token_expires.saturating_sub(MINUTE) {
            // Refresh first; the action waits for the next step.
            self.script.push(action);
            self.mint_token(context);
            context.draft.client_ip.push_str(&self.address);
            context.truth.set(self.kind.name(), &self.label);
            context.truth.set_user(&self.person.subject);
            context.truth.roles = self.person.roles;
            emit_refresh(
                context.draft,
                context.random,
                self.app,
                self.agent,
                &self.previous_token,
                &self.token,
            );
            return Some(round_to_millis(
                context.random.lognormal(150.0 * MILLI as f64, 0.5),
            ));
        }
        if self.calls_done >= self.switch_after_calls {
            if let Some(cellular) = self.cellular.take() {
                // The phone left the wifi; the token stays.
                self.address = cellular;
            }
        }
        context.draft.client_ip.push_str(&self.address);
        let caller = Caller {
            agent: self.agent,
            credential: Credential::Bearer(&self.token),
            user_number: self.person.number,
            account_key: self.person.account_key,
        };
        match action {
            UserAction::Browse => {
                context.truth.set(self.kind.name(), &self.anonymous_label);
                let anonymous = Caller {
                    credential: Credential::Anonymous,
                    ..caller
                };
                emit_anonymous_browse(context.draft, context.random, context.now, &anonymous);
            }
            UserAction::Signup => {
                context.truth.set(self.kind.name(), &self.anonymous_label);
                emit_signup(
                    context.draft,
                    context.random,
                    self.agent,
                    &self.person.email,
                    &self.person.password,
                    &self.person.subject,
                );
            }
            UserAction::FailedLogin => {
                context.truth.set(self.kind.name(), &self.anonymous_label);
                write_guessed_password(&mut self.scratch, context.random);
                emit_login(
                    context.draft,
                    context.random,
                    self.app,
                    self.agent,
                    &self.person.email,
                    &self.scratch,
                    None,
                );
            }
            UserAction::Login => {
                self.mint_token(context);
                context.truth.set(self.kind.name(), &self.label);
                emit_login(
                    context.draft,
                    context.random,
                    self.app,
                    self.agent,
                    &self.person.email,
                    &self.person.password,
                    Some(&self.token),
                );
            }
            UserAction::Call | UserAction::Payment => {
                context.truth.set(self.kind.name(), &self.label);
                context.truth.set_user(&self.person.subject);
                context.truth.roles = self.person.roles;
                self.calls_done += 1;
                if self.attack_share > 0.0 && context.random.chance(self.attack_share) {
                    let kind = context.random.weighted(ATTACK_MIX);
                    emit_attack(
                        context.draft,
                        context.random,
                        kind,
                        &caller,
                        true,
                        &mut self.payload,
                    );
                    context.truth.attack = Some(kind.name());
                } else {
                    let call = if action == UserAction::Payment {
                        Call::ShopPayment
                    } else if self.app == App::Shop
                        && self.memory.cart_items > 0
                        && context.random.chance(0.15)
                    {
                        Call::ShopCheckout
                    } else {
                        context.random.weighted(self.app.calls())
                    };
                    let caller = Caller {
                        agent: self.agent,
                        credential: Credential::Bearer(&self.token),
                        user_number: self.person.number,
                        account_key: self.person.account_key,
                    };
                    emit_call(
                        context.draft,
                        context.random,
                        context.now,
                        call,
                        &caller,
                        &mut self.memory,
                    );
                    if call == Call::ShopCheckout && self.memory.checked_out {
                        self.memory.checked_out = false;
                        self.memory.cart_items = 0;
                        self.script.push(UserAction::Payment);
                    }
                }
            }
            UserAction::Logout => {
                context.truth.set(self.kind.name(), &self.label);
                context.truth.set_user(&self.person.subject);
                context.truth.roles = self.person.roles;
                emit_logout(
                    context.draft,
                    context.random,
                    self.app,
                    self.agent,
                    &self.token,
                );
            }
        }
        let next = *self.script.last()?;
        let delay = match (action, next) {
            // Typing the password again, or opening the app after signing up.
            (UserAction::FailedLogin, _) => think(context.random, 0.0, 6.0),
            (UserAction::Login, _) => {
                round_to_millis(context.random.lognormal(400.0 * MILLI as f64, 0.6))
            }
            (_, UserAction::Payment) => {
                round_to_millis(context.random.lognormal(2.0 * SECOND as f64, 0.5))
            }
            _ if self.kind == Kind::Attacker => think(context.random, 0.4, 4.0),
            _ => think(context.random, 0.3, 9.0),
        };
        Some(delay)
    }
}

// ---------------------------------------------------------------------------------------------
// Storefront browsers

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BrowserAction {
    Landing,
    Page,
    LoginPage,
    LoginPost { succeeds: bool },
    AccountPage,
    CheckoutPage,
    CheckoutPost,
    Logout,
}

pub(crate) struct BrowserVisit {
    person: Person,
    agent: &'static str,
    address: String,
    label: String,
    /// `Cookie` header sent once the session cookie is set.
    cookie_header: String,
    /// `Cookie` header of the very first request (analytics only, for returning visitors).
    first_cookie_header: String,
    session_value: String,
    script: Vec<BrowserAction>,
    pending_background_calls: u32,
    user_known: bool,
    last_page: String,
    planned: u64,
    scratch: String,
}

impl BrowserVisit {
    fn new(world: &World, random: &mut Random, counters: &mut Counters) -> BrowserVisit {
        let number = pick_user_number(random, world.user_pool);
        let person = Person::new(world, number);
        let device = mix(world.seed, number, 7);
        let agent = BROWSER_AGENTS[(device % BROWSER_AGENTS.len() as u64) as usize];
        counters.browser_sessions += 1;
        let label = format!("browser-{}-c{}", number, counters.browser_sessions);
        let mut session_value = String::with_capacity(32);
        push_random_lower_alphanumeric(&mut session_value, random, 32);
        // Two in three visitors come back and already carry an analytics cookie.
        let returning = device % 3 >= 1;
        let mut first_cookie_header = String::new();
        if returning {
            let _ = write!(
                first_cookie_header,
                "_ga=GA1.1.{}.{}",
                100_000_000 + (device >> 20) % 900_000_000,
                1_700_000_000 + (device >> 8) % 90_000_000
            );
        }
        let mut cookie_header = first_cookie_header.clone();
        if !cookie_header.is_empty() {
            cookie_header.push_str("; ");
        }
        cookie_header.push_str("sessionid=");
        cookie_header.push_str(&session_value);
        if device % 4 == 1 {
            cookie_header.push_str("; cookie_consent=all; lang=en");
        }

        let pages = random.lognormal(6.0, 0.8).clamp(1.0, 60.0) as usize;
        let mut plan = vec![BrowserAction::Landing];
        let login_at = if random.chance(0.45) {
            Some(random.below(pages as u64 + 1) as usize)
        } else {
            None
        };
        let mut logged_in = false;
        for page in 0..=pages {
            if login_at == Some(page) {
                plan.push(BrowserAction::LoginPage);
                if random.chance(0.12) {
                    plan.push(BrowserAction::LoginPost { succeeds: false });
                }
                plan.push(BrowserAction::LoginPost { succeeds: true });
                plan.push(BrowserAction::AccountPage);
                logged_in = true;
            }
            if page < pages {
                plan.push(BrowserAction::Page);
            }
        }
        if logged_in && random.chance(0.3) {
            plan.push(BrowserAction::CheckoutPage);
            plan.push(BrowserAction::CheckoutPost);
        }
        if logged_in && random.chance(0.25) {
            plan.push(BrowserAction::Logout);
        }
        // Pages load about 1.2 background calls each.
        let planned = (plan.len() as f64 * 2.2) as u64;
        plan.reverse();
        BrowserVisit {
            address: home_address(world, number),
            person,
            agent,
            label,
            cookie_header,
            first_cookie_header,
            session_value,
            script: plan,
            pending_background_calls: 0,
            user_known: false,
            last_page: String::from("/"),
            planned,
            scratch: String::new(),
        }
    }

    /// Headers of the first request of the visit: no session cookie yet, analytics only.
    fn first_page_headers(&self, draft: &mut Draft) {
        draft.request_header("user-agent", self.agent);
        draft.request_header(
            "accept",
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        );
        draft.request_header("accept-language", "en-US,en;q=0.9");
        if !self.first_cookie_header.is_empty() {
            draft.request_header("cookie", &self.first_cookie_header);
        }
    }

    fn html_response(draft: &mut Draft, random: &mut Random, size_median: f64) {
        draft.status = 200;
        draft.response_header("content-type", "text/html; charset=utf-8");
        draft.size = random.lognormal(size_median, 0.3) as u64;
        draft.duration_tenths_ms = (random.lognormal(85.0, 0.5) * 10.0) as u64;
    }

    fn redirect(draft: &mut Draft, random: &mut Random, location: &str) {
        draft.status = 302;
        draft.response_header("location", location);
        draft.size = 0;
        draft.duration_tenths_ms = (random.lognormal(40.0, 0.5) * 10.0) as u64;
    }

    fn write_page_path(&mut self, random: &mut Random) {
        self.scratch.clear();
        match random.below(6) {
            0 => self.scratch.push('/'),
            1 | 2 => {
                let _ = write!(
                    self.scratch,
                    "/products/{}-{}-{}",
                    random.pick(PRODUCT_ADJECTIVES),
                    random.pick(PRODUCT_NOUNS),
                    random.between(1_000, 9_999)
                );
            }
            3 => {
                let _ = write!(self.scratch, "/c/{}", random.pick(CATEGORY_SLUGS));
            }
            4 => {
                self.scratch.push_str("/search?q=");
                push_percent_encoded(&mut self.scratch, random.pick(SEARCH_WORDS));
            }
            _ => self.scratch.push_str("/cart"),
        }
    }

    fn step(&mut self, context: &mut StepContext<'_>) -> Option<i64> {
        context.draft.client_ip.push_str(&self.address);
        context.truth.set(Kind::Browser.name(), &self.label);
        if self.user_known {
            context.truth.set_user(&self.person.handle);
        }
        if self.pending_background_calls > 0 {
            self.pending_background_calls -= 1;
            self.background_call(context);
            return Some(self.delay_after_background(context.random));
        }
        let action = self.script.pop()?;
        let draft = &mut *context.draft;
        let random = &mut *context.random;
        match action {
            BrowserAction::Landing => {
                self.write_page_path(random);
                draft.start("GET", SHOP_WEB);
                draft.url.push_str(&self.scratch);
                self.first_page_headers(draft);
                if random.chance(0.4) {
                    draft.request_header("referer", "https://www.search.example/");
                }
                Self::html_response(draft, random, 42_000.0);
                let set_cookie = format!(
                    "sessionid={}; HttpOnly; Path=/; Secure; SameSite=Lax",
                    self.session_value
                );
                draft.response_header("set-cookie", &set_cookie);
                self.last_page.clear();
                self.last_page.push_str(&self.scratch);
                self.pending_background_calls = random.below(3) as u32;
            }
            BrowserAction::Page => {
                self.write_page_path(random);
                draft.start("GET", SHOP_WEB);
                draft.url.push_str(&self.scratch);
                self.page_headers_with_referer(draft);
                Self::html_response(draft, random, 38_000.0);
                self.last_page.clear();
                self.last_page.push_str(&self.scratch);
                self.pending_background_calls = random.below(4) as u32;
            }
            BrowserAction::LoginPage => {
                draft.start("GET", SHOP_WEB);
                draft.url.push_str("/login?next=%2Faccount");
                self.page_headers_with_referer(draft);
                Self::html_response(draft, random, 9_000.0);
                self.last_page.clear();
                self.last_page.push_str("/login?next=%2Faccount");
            }
            BrowserAction::LoginPost { succeeds } => {
                self.user_known = true;
                context.truth.set_user(&self.person.handle);
                draft.start("POST", SHOP_WEB);
                draft.url.push_str("/login");
                self.page_headers_with_referer(draft);
                draft.request_header("content-type", "application/x-www-form-urlencoded");
                draft.request_header("origin", "https://www.shop.example");
                let body = draft.request_body();
                body.push_str("csrfmiddlewaretoken=");
                push_random_alphanumeric(body, random, 32);
                body.push_str("&username=");
                push_form_encoded(body, &self.person.handle);
                body.push_str("&password=");
                if succeeds {
                    push_form_encoded(body, &self.person.password);
                } else {
                    self.scratch.clear();
                    write_guessed_password(&mut self.scratch, random);
                    push_form_encoded(body, &self.scratch);
                }
                body.push_str("&next=%2Faccount");
                if succeeds {
                    Self::redirect(draft, random, "/account");
                } else {
                    // The login page again, with an error message.
                    Self::html_response(draft, random, 9_400.0);
                }
                draft.duration_tenths_ms += 1_500; // password hashing
            }
            BrowserAction::AccountPage => {
                draft.start("GET", SHOP_WEB);
                draft.url.push_str("/account");
                self.page_headers_with_referer(draft);
                Self::html_response(draft, random, 21_000.0);
                self.last_page.clear();
                self.last_page.push_str("/account");
                self.pending_background_calls = 1;
            }
            BrowserAction::CheckoutPage => {
                draft.start("GET", SHOP_WEB);
                draft.url.push_str("/checkout");
                self.page_headers_with_referer(draft);
                Self::html_response(draft, random, 27_000.0);
                self.last_page.clear();
                self.last_page.push_str("/checkout");
            }
            BrowserAction::CheckoutPost => {
                draft.start("POST", SHOP_WEB);
                draft.url.push_str("/checkout");
                self.page_headers_with_referer(draft);
                draft.request_header("content-type", "application/x-www-form-urlencoded");
                let body = draft.request_body();
                let _ = write!(
                    body,
                    "shipping={}&payment={}&terms=on",
                    random.pick(&["standard", "express", "pickup"]),
                    random.pick(&["card", "paypal", "invoice"])
                );
                self.scratch.clear();
                self.scratch.push_str("/orders/");
                push_random_uuid(&mut self.scratch, random);
                self.scratch.push_str("/confirmation");
                Self::redirect(draft, random, &self.scratch);
                draft.duration_tenths_ms += 4_000;
            }
            BrowserAction::Logout => {
                draft.start("GET", SHOP_WEB);
                draft.url.push_str("/logout");
                self.page_headers_with_referer(draft);
                Self::redirect(draft, random, "/");
                draft.response_header(
                    "set-cookie",
                    "sessionid=; expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/",
                );
            }
        }
        if self.pending_background_calls > 0 {
            return Some(round_to_millis(
                context.random.lognormal(180.0 * MILLI as f64, 0.5),
            ));
        }
        let next = *self.script.last()?;
        let delay = match next {
            BrowserAction::LoginPost { .. } => think(context.random, 0.0, 8.0),
            _ => think(context.random, 0.05, 12.0),
        };
        Some(delay)
    }

    fn page_headers_with_referer(&self, draft: &mut Draft) {
        draft.request_header("user-agent", self.agent);
        draft.request_header(
            "accept",
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        );
        draft.request_header("accept-language", "en-US,en;q=0.9");
        draft.request_header_prefixed("referer", "https://www.shop.example", &self.last_page);
        draft.request_header("cookie", &self.cookie_header);
    }

    fn delay_after_background(&self, random: &mut Random) -> i64 {
        if self.pending_background_calls > 0 {
            return round_to_millis(random.lognormal(90.0 * MILLI as f64, 0.6));
        }
        think(random, 0.05, 12.0)
    }

    /// A call the page's script makes to the storefront's own `/api`.
    fn background_call(&mut self, context: &mut StepContext<'_>) {
        let draft = &mut *context.draft;
        let random = &mut *context.random;
        let call = random.below(5);
        let method = if call == 2 { "POST" } else { "GET" };
        draft.start(method, SHOP_WEB);
        match call {
            0 => draft.url.push_str("/api/cart"),
            1 => {
                let _ = write!(
                    draft.url,
                    "/api/products?page={}&per_page=24",
                    random.between(1, 8)
                );
            }
            2 => draft.url.push_str("/api/cart/items"),
            3 => {
                let _ = write!(
                    draft.url,
                    "/api/recommendations?product={}",
                    random.between(1_000, 9_999)
                );
            }
            _ => draft.url.push_str("/api/session"),
        }
        draft.request_header("user-agent", self.agent);
        draft.request_header("accept", "application/json");
        draft.request_header("x-requested-with", "XMLHttpRequest");
        draft.request_header_prefixed("referer", "https://www.shop.example", &self.last_page);
        draft.request_header("cookie", &self.cookie_header);
        if call == 2 {
            draft.request_header("content-type", "application/json");
            let _ = write!(
                draft.request_body(),
                "{{\"product_id\":{},\"quantity\":{}}}",
                random.between(1_000, 9_999),
                random.between(1, 2)
            );
        }
        let behaviour = match call {
            0 => Call::ShopGetCart.behaviour(),
            1 => Call::ShopListProducts.behaviour(),
            2 => Call::ShopAddCartItem.behaviour(),
            3 => Call::ShopCategory.behaviour(),
            _ => Call::ShopGetSettings.behaviour(),
        };
        let status = crate::calls::draw_status(random, behaviour);
        respond(draft, random, behaviour, status);
    }
}

// ---------------------------------------------------------------------------------------------
// Partners

pub(crate) struct PartnerClient {
    style: u64,
    key: String,
    agent: &'static str,
    addresses: [String; 2],
    label: String,
    interval_mean: f64,
    memory: CallMemory,
}

impl PartnerClient {
    fn new(index: u64, world: &World, random: &mut Random) -> PartnerClient {
        let mut key = String::from("pk_live_");
        push_random_alphanumeric(&mut key, random, 24);
        let partners = world.partners.max(1);
        let requests_per_partner =
            (PARTNER_SHARE * world.requests as f64 / partners as f64).max(1.0);
        PartnerClient {
            style: index % 3,
            key,
            agent: PARTNER_AGENTS[(index % PARTNER_AGENTS.len() as u64) as usize],
            addresses: [
                format!("172.31.{}.10", index % 256),
                format!("172.31.{}.11", index % 256),
            ],
            label: format!("partner-{index}"),
            interval_mean: world.span as f64 / requests_per_partner,
            memory: CallMemory::default(),
        }
    }

    /// When the partner's first request comes: somewhere in its first interval.
    pub(crate) fn first_delay(&self, random: &mut Random) -> i64 {
        round_to_millis(random.unit() * self.interval_mean.min(10.0 * MINUTE as f64))
    }

    fn step(&mut self, context: &mut StepContext<'_>) -> Option<i64> {
        // Marketplace partners send from two egress addresses.
        let address = if self.style == 1 && context.random.chance(0.4) {
            1
        } else {
            0
        };
        context.draft.client_ip.push_str(&self.addresses[address]);
        context.truth.set(Kind::Partner.name(), &self.label);
        let call = match self.style {
            0 => context.random.weighted(&[
                (Call::ShopListProducts, 3),
                (Call::ShopGetProduct, 6),
                (Call::ShopCategory, 1),
            ]),
            1 => context.random.weighted(&[
                (Call::ShopCreateOrder, 3),
                (Call::ShopGetOrder, 5),
                (Call::ShopListOrders, 2),
                (Call::ShopInvoice, 2),
            ]),
            _ => context
                .random
                .weighted(&[(Call::AssistantEmbeddings, 7), (Call::AssistantChat, 3)]),
        };
        let caller = Caller {
            agent: self.agent,
            credential: Credential::ApiKey(&self.key),
            user_number: 0,
            account_key: 0,
        };
        emit_call(
            context.draft,
            context.random,
            context.now,
            call,
            &caller,
            &mut self.memory,
        );
        // Steady: jitter around the mean, with occasional paging bursts.
        if context.random.chance(0.05) {
            return Some(round_to_millis(
                context.random.lognormal(150.0 * MILLI as f64, 0.4),
            ));
        }
        Some(round_to_millis(
            self.interval_mean * (0.75 + 0.5 * context.random.unit()),
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// Bots

pub(crate) struct CredentialStuffer {
    address: String,
    agent: &'static str,
    label: String,
    remaining: u64,
    app: App,
    email: String,
    password: String,
}

impl CredentialStuffer {
    fn new(world: &World, random: &mut Random, counters: &mut Counters) -> CredentialStuffer {
        let address = instance_address(counters);
        let cap = world.bot_cap(0.04);
        CredentialStuffer {
            label: format!("credential_stuffing-{address}"),
            address,
            agent: random.pick(STUFFER_AGENTS),
            remaining: (random.lognormal(300.0, 0.6) as u64).clamp(10, cap.max(10)),
            app: random.weighted(&[(App::Shop, 7), (App::Bank, 3)]),
            email: String::new(),
            password: String::new(),
        }
    }

    fn step(&mut self, context: &mut StepContext<'_>) -> Option<i64> {
        self.remaining = self.remaining.checked_sub(1)?;
        context.draft.client_ip.push_str(&self.address);
        context
            .truth
            .set(Kind::CredentialStuffing.name(), &self.label);
        context.truth.bot = Kind::CredentialStuffing.bot();
        write_random_email(&mut self.email, context.random);
        write_guessed_password(&mut self.password, context.random);
        emit_login(
            context.draft,
            context.random,
            self.app,
            self.agent,
            &self.email,
            &self.password,
            None,
        );
        // Mostly wrong credentials; the API starts rate limiting and locking accounts.
        let status = context.random.weighted(&[(401u16, 88), (429, 8), (423, 4)]);
        if status != 401 {
            context.draft.status = status;
            context.draft.response_body.clear();
            let _ = write!(
                context.draft.response_body,
                "{{\"error\":\"{}\"}}",
                if status == 429 {
                    "rate_limited"
                } else {
                    "account_locked"
                }
            );
            context.draft.size = context.draft.response_body.len() as u64;
        }
        if self.remaining == 0 {
            return None;
        }
        if context.random.chance(0.02) {
            return Some(round_to_millis(
                context.random.lognormal(45.0 * SECOND as f64, 0.5),
            ));
        }
        Some(round_to_millis(
            context.random.lognormal(700.0 * MILLI as f64, 0.7),
        ))
    }
}

pub(crate) struct Scraper {
    address: String,
    agent: &'static str,
    label: String,
    remaining: u64,
    next_product: u64,
}

impl Scraper {
    fn new(world: &World, random: &mut Random, counters: &mut Counters) -> Scraper {
        let address = instance_address(counters);
        let cap = world.bot_cap(0.05);
        Scraper {
            label: format!("scraper-{address}"),
            address,
            agent: random.pick(SCRAPER_AGENTS),
            remaining: (random.lognormal(500.0, 0.6) as u64).clamp(10, cap.max(10)),
            next_product: random.between(1_000, 40_000),
        }
    }

    fn step(&mut self, context: &mut StepContext<'_>) -> Option<i64> {
        self.remaining = self.remaining.checked_sub(1)?;
        context.draft.client_ip.push_str(&self.address);
        context.truth.set(Kind::Scraper.name(), &self.label);
        context.truth.bot = Kind::Scraper.bot();
        let behaviour = Call::ShopGetProduct.behaviour();
        context.draft.start("GET", SHOP_API);
        let _ = write!(context.draft.url, "/v1/products/{}", self.next_product);
        context.draft.request_header("user-agent", self.agent);
        context.draft.request_header("accept", "application/json");
        self.next_product += if context.random.chance(0.08) {
            context.random.between(2, 6)
        } else {
            1
        };
        let status = if context.random.chance(0.07) {
            404
        } else {
            200
        };
        respond(context.draft, context.random, behaviour, status);
        if self.remaining == 0 {
            return None;
        }
        // Every two seconds, with a little jitter: the regularity is the giveaway.
        let jitter = context.random.between(0, 300) as i64 - 150;
        Some((2_000 + jitter) * MILLI)
    }
}

pub(crate) struct Scanner {
    address: String,
    agent: &'static str,
    label: String,
    remaining: u64,
    host: &'static str,
    probe: usize,
    payload: String,
}

impl Scanner {
    fn new(world: &World, random: &mut Random, counters: &mut Counters) -> Scanner {
        let address = instance_address(counters);
        let cap = world.bot_cap(0.02);
        Scanner {
            label: format!("scanner-{address}"),
            address,
            agent: random.pick(SCANNER_AGENTS),
            remaining: (random.lognormal(180.0, 0.5) as u64).clamp(10, cap.max(10)),
            host: if random.chance(0.5) {
                SHOP_WEB
            } else {
                SHOP_API
            },
            probe: random.below(SCANNER_PROBES.len() as u64) as usize,
            payload: String::new(),
        }
    }

    fn step(&mut self, context: &mut StepContext<'_>) -> Option<i64> {
        self.remaining = self.remaining.checked_sub(1)?;
        context.draft.client_ip.push_str(&self.address);
        context.truth.set(Kind::Scanner.name(), &self.label);
        context.truth.bot = Kind::Scanner.bot();
        let behaviour = Call::ShopGetSettings.behaviour();
        if context.random.chance(0.15) {
            let kind = context.random.pick(&[
                AttackType::Sqli,
                AttackType::Xss,
                AttackType::Ptrav,
                AttackType::Rce,
                AttackType::Ssti,
                AttackType::Ssrf,
            ]);
            crate::payload::write_payload(&mut self.payload, context.random, kind);
            context.draft.start("GET", self.host);
            let parameter = context
                .random
                .pick(&["id", "q", "page", "file", "url", "redirect", "cat"]);
            let _ = write!(context.draft.url, "/index.php?{parameter}=");
            push_percent_encoded_keeping_escapes(&mut context.draft.url, &self.payload);
            context.truth.attack = Some(kind.name());
            context.draft.request_header("user-agent", self.agent);
            context.draft.request_header("accept", "*/*");
            let status = context.random.pick(&[404u16, 404, 400, 403]);
            respond(context.draft, context.random, behaviour, status);
        } else {
            let (path, status) = SCANNER_PROBES[self.probe % SCANNER_PROBES.len()];
            self.probe += 1;
            let method = if path == "/xmlrpc.php" {
                "POST"
            } else if context.random.chance(0.1) {
                "HEAD"
            } else {
                "GET"
            };
            context.draft.start(method, self.host);
            context.draft.url.push_str(path);
            context.draft.request_header("user-agent", self.agent);
            context.draft.request_header("accept", "*/*");
            context.draft.request_header("connection", "close");
            if status == 200 {
                context.draft.status = 200;
                context.draft.response_header("content-type", "text/plain");
                context.draft.size = context.random.between(60, 900);
                context.draft.duration_tenths_ms = context.random.between(15, 60);
            } else {
                respond(context.draft, context.random, behaviour, status);
            }
        }
        if self.remaining == 0 {
            return None;
        }
        Some(round_to_millis(
            context.random.lognormal(180.0 * MILLI as f64, 0.8),
        ))
    }
}

pub(crate) struct AnonymousAttacker {
    address: String,
    agent: &'static str,
    label: String,
    remaining: u64,
    focus: AttackType,
    payload: String,
}

impl AnonymousAttacker {
    fn new(world: &World, random: &mut Random, counters: &mut Counters) -> AnonymousAttacker {
        let address = instance_address(counters);
        let cap = world.bot_cap(0.015);
        AnonymousAttacker {
            label: format!("attacker-{address}"),
            address,
            agent: random.pick(ATTACKER_AGENTS),
            remaining: (random.lognormal(35.0, 0.7) as u64).clamp(3, cap.max(3)),
            focus: random.weighted(ATTACK_MIX),
            payload: String::new(),
        }
    }

    fn step(&mut self, context: &mut StepContext<'_>) -> Option<i64> {
        self.remaining = self.remaining.checked_sub(1)?;
        context.draft.client_ip.push_str(&self.address);
        context.truth.set(Kind::Attacker.name(), &self.label);
        let caller = Caller {
            agent: self.agent,
            credential: Credential::Anonymous,
            user_number: 1,
            account_key: 0,
        };
        if context.random.chance(0.3) {
            // Reconnaissance looks like anyone browsing.
            emit_anonymous_browse(context.draft, context.random, context.now, &caller);
        } else {
            // Attackers stick to one technique and try others now and then.
            let kind = if context.random.chance(0.6) {
                self.focus
            } else {
                context.random.weighted(ATTACK_MIX)
            };
            emit_attack(
                context.draft,
                context.random,
                kind,
                &caller,
                false,
                &mut self.payload,
            );
            context.truth.attack = Some(kind.name());
        }
        if self.remaining == 0 {
            return None;
        }
        Some(think(context.random, 0.5, 3.0))
    }
}
