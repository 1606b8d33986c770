//! Console logins (PRODUCT.md R3): the sessions a browser holds after signing in with a user's
//! password, their CSRF tokens, and the limiter that slows down password guessing.
//!
//! A login is a random cookie value; only its SHA-256 is kept, in memory, so a restart signs
//! everybody out (the console then shows the login page again). Each login carries its own CSRF
//! token: forms send it as a hidden field and scripts as the `x-csrf-token` header, and every
//! state-changing call made with the cookie must present it. Logins expire after
//! `LOGIN_IDLE_SECONDS` without use and after `LOGIN_MAX_SECONDS` in any case, and at once when
//! the store no longer holds their user with the role and password they signed in with
//! (`Login::is_current_for`, checked on every request, so `sessionscope user remove` or
//! `user passwd` in another process ends them).
//!
//! The sign-in form itself carries a pre-login value (`PreLogins`): issued by this server with
//! the form, kept only as a hash, accepted once, for `PRELOGIN_SECONDS`.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sessionscope_model::Role;
use sessionscope_store::{new_token, token_hash, UserRecord};

/// Name of the cookie that carries a console login.
pub const LOGIN_COOKIE: &str = "sessionscope_login";
/// Header a script sends the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// A login unused for this long is forgotten.
pub const LOGIN_IDLE_SECONDS: u64 = 8 * 3600;
/// A login lasts at most this long, used or not.
pub const LOGIN_MAX_SECONDS: u64 = 7 * 24 * 3600;
/// Bound on live logins, so a flood of sign-ins cannot grow memory without end.
const LOGIN_CAPACITY: usize = 10_000;

/// Failed sign-ins allowed per client address, and per user name, within `FAILURE_WINDOW`.
pub const MAX_FAILURES: usize = 5;
const FAILURE_WINDOW: Duration = Duration::from_secs(300);
/// Bound on tracked addresses and names.
const LIMITER_CAPACITY: usize = 50_000;

/// How long the pre-login value of a sign-in form is accepted.
pub const PRELOGIN_SECONDS: u64 = 600;
/// Bound on outstanding pre-login values; past it the oldest are forgotten.
const PRELOGIN_CAPACITY: usize = 20_000;

/// A signed-in console user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    pub user: String,
    pub role: Role,
    /// Sent back with every state-changing request.
    pub csrf: String,
    /// `credential_stamp` of the user's password hash at sign-in.
    pub credential: String,
}

impl Login {
    /// Whether the login still belongs to the user as stored: same name, role and password.
    pub fn is_current_for(&self, user: Option<&UserRecord>) -> bool {
        user.is_some_and(|user| {
            user.name == self.user
                && user.role == self.role
                && secrets_equal(&credential_stamp(&user.password_hash), &self.credential)
        })
    }
}

/// What a login remembers of the password it was made with: the SHA-256 of its argon2 hash.
pub fn credential_stamp(password_hash: &str) -> String {
    token_hash(password_hash)
}

/// The pre-login values of sign-in forms this server handed out, by SHA-256, with their issue
/// time: each is accepted once and for `PRELOGIN_SECONDS`, so a value an attacker made up, or
/// one already used, never signs anybody in.
pub struct PreLogins {
    issued: Mutex<IssuedPreLogins>,
    clock: Arc<dyn Fn() -> Instant + Send + Sync>,
}

#[derive(Default)]
struct IssuedPreLogins {
    by_hash: HashMap<String, Instant>,
    /// Issue order, for forgetting the oldest first; may hold values already redeemed.
    order: VecDeque<(String, Instant)>,
}

impl Default for PreLogins {
    fn default() -> PreLogins {
        PreLogins::with_clock(Instant::now)
    }
}

impl PreLogins {
    /// Tests move time forward through `clock`.
    pub fn with_clock(clock: impl Fn() -> Instant + Send + Sync + 'static) -> PreLogins {
        PreLogins {
            issued: Mutex::new(IssuedPreLogins::default()),
            clock: Arc::new(clock),
        }
    }

    /// A new value for a sign-in form.
    pub fn issue(&self) -> String {
        let value = new_token();
        let now = (self.clock)();
        let lifetime = Duration::from_secs(PRELOGIN_SECONDS);
        if let Ok(mut issued) = self.issued.lock() {
            let issued = &mut *issued;
            while let Some((hash, at)) = issued.order.front() {
                let expired = now.saturating_duration_since(*at) > lifetime;
                if !expired && issued.order.len() < PRELOGIN_CAPACITY {
                    break;
                }
                if issued.by_hash.get(hash) == Some(at) {
                    issued.by_hash.remove(hash);
                }
                issued.order.pop_front();
            }
            let hash = token_hash(&value);
            issued.by_hash.insert(hash.clone(), now);
            issued.order.push_back((hash, now));
        }
        value
    }

    /// Accepts a value once: true when this server issued it less than `PRELOGIN_SECONDS` ago
    /// and it was not accepted before.
    pub fn redeem(&self, value: &str) -> bool {
        if value.is_empty() {
            return false;
        }
        let now = (self.clock)();
        let Ok(mut issued) = self.issued.lock() else {
            return false;
        };
        match issued.by_hash.remove(&token_hash(value)) {
            Some(at) => now.saturating_duration_since(at) <= Duration::from_secs(PRELOGIN_SECONDS),
            None => false,
        }
    }
}

struct LoginEntry {
    login: Login,
    created: Instant,
    last_used: Instant,
}

/// The live console logins, by the SHA-256 of their cookie value.
#[derive(Default)]
pub struct Logins {
    entries: Mutex<HashMap<String, LoginEntry>>,
}

impl Logins {
    /// Starts a login for a stored user; returns the cookie value (shown to the browser once,
    /// never kept) and the login with its CSRF token.
    pub fn start(&self, user: &UserRecord) -> (String, Login) {
        let cookie = new_token();
        let login = Login {
            user: user.name.clone(),
            role: user.role,
            csrf: new_token(),
            credential: credential_stamp(&user.password_hash),
        };
        let now = Instant::now();
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= LOGIN_CAPACITY {
                entries.retain(|_, entry| is_live(entry, now));
                if entries.len() >= LOGIN_CAPACITY {
                    // Still full of live logins: drop the least recently used one.
                    let oldest = entries
                        .iter()
                        .min_by_key(|(_, entry)| entry.last_used)
                        .map(|(key, _)| key.clone());
                    if let Some(key) = oldest {
                        entries.remove(&key);
                    }
                }
            }
            entries.insert(
                token_hash(&cookie),
                LoginEntry {
                    login: login.clone(),
                    created: now,
                    last_used: now,
                },
            );
        }
        (cookie, login)
    }

    /// The login a cookie value belongs to, if it is still live; marks it used.
    pub fn find(&self, cookie: &str) -> Option<Login> {
        let hash = token_hash(cookie);
        let now = Instant::now();
        let mut entries = self.entries.lock().ok()?;
        let entry = entries.get_mut(&hash)?;
        if !is_live(entry, now) {
            entries.remove(&hash);
            return None;
        }
        entry.last_used = now;
        Some(entry.login.clone())
    }

    /// Ends a login (sign out).
    pub fn end(&self, cookie: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(&token_hash(cookie));
        }
    }

    /// Ends every login of a user (after a password or role change).
    pub fn end_all_of(&self, user: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|_, entry| entry.login.user != user);
        }
    }
}

fn is_live(entry: &LoginEntry, now: Instant) -> bool {
    now.duration_since(entry.last_used) <= Duration::from_secs(LOGIN_IDLE_SECONDS)
        && now.duration_since(entry.created) <= Duration::from_secs(LOGIN_MAX_SECONDS)
}

/// Counts failed sign-ins per client address and per user name; once either has `MAX_FAILURES`
/// within the window, further attempts are refused until the oldest failure leaves the window.
#[derive(Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

impl LoginLimiter {
    /// `Err(seconds)` when an attempt from this address or for this name must wait.
    pub fn check(&self, address: Option<IpAddr>, user: &str) -> Result<(), u64> {
        let now = Instant::now();
        let Ok(mut failures) = self.failures.lock() else {
            return Ok(());
        };
        let mut wait = 0u64;
        for key in limiter_keys(address, user) {
            let Some(times) = failures.get_mut(&key) else {
                continue;
            };
            times.retain(|time| now.duration_since(*time) < FAILURE_WINDOW);
            if times.len() >= MAX_FAILURES {
                let oldest = times.first().copied().unwrap_or(now);
                let left = FAILURE_WINDOW.saturating_sub(now.duration_since(oldest));
                wait = wait.max(left.as_secs().max(1));
            }
        }
        if wait > 0 {
            return Err(wait);
        }
        Ok(())
    }

    pub fn record_failure(&self, address: Option<IpAddr>, user: &str) {
        let now = Instant::now();
        let Ok(mut failures) = self.failures.lock() else {
            return;
        };
        if failures.len() >= LIMITER_CAPACITY {
            failures.retain(|_, times| {
                times
                    .last()
                    .is_some_and(|time| now.duration_since(*time) < FAILURE_WINDOW)
            });
        }
        for key in limiter_keys(address, user) {
            let times = failures.entry(key).or_default();
            times.push(now);
            // Only the newest failures matter for the decision.
            if times.len() > MAX_FAILURES {
                times.remove(0);
            }
        }
    }

    /// A successful sign-in clears the name's failures (not the address's: one right password
    /// must not reset guessing against other names from the same place).
    pub fn record_success(&self, user: &str) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.remove(&user_key(user));
        }
    }
}

fn limiter_keys(address: Option<IpAddr>, user: &str) -> Vec<String> {
    let mut keys = vec![user_key(user)];
    if let Some(address) = address {
        keys.push(format!("ip:{address}"));
    }
    keys
}

fn user_key(user: &str) -> String {
    format!("user:{}", user.to_lowercase())
}

/// The value of a cookie in a `Cookie` request header.
pub fn cookie_value<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (key, value) = pair.trim().split_once('=')?;
        (key == name).then(|| value.trim_matches('"'))
    })
}

/// Compares two secrets in time independent of where they first differ.
pub fn secrets_equal(left: &str, right: &str) -> bool {
    let (left, right) = (left.as_bytes(), right.as_bytes());
    if left.len() != right.len() {
        return false;
    }
    left.iter()
        .zip(right)
        .fold(0u8, |difference, (a, b)| difference | (a ^ b))
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str, role: Role, password_hash: &str) -> UserRecord {
        UserRecord {
            name: name.to_owned(),
            role,
            password_hash: password_hash.to_owned(),
            created: 0,
        }
    }

    #[test]
    fn logins_are_found_by_cookie_and_end() {
        let logins = Logins::default();
        let (cookie, login) = logins.start(&user("ana", Role::Analyst, "$argon2id$a"));
        assert_eq!(logins.find(&cookie), Some(login.clone()));
        assert_ne!(cookie, login.csrf);
        assert!(logins.find("not-a-cookie").is_none());
        logins.end(&cookie);
        assert!(logins.find(&cookie).is_none());

        let (first, _) = logins.start(&user("ana", Role::Analyst, "$argon2id$a"));
        let (other, _) = logins.start(&user("bob", Role::Admin, "$argon2id$b"));
        logins.end_all_of("ana");
        assert!(logins.find(&first).is_none());
        assert!(logins.find(&other).is_some());
    }

    #[test]
    fn a_login_is_current_only_while_its_user_keeps_role_and_password() {
        let ana = user("ana", Role::Analyst, "$argon2id$a");
        let (_, login) = Logins::default().start(&ana);
        assert!(login.is_current_for(Some(&ana)));
        assert!(!login.is_current_for(None), "user removed");
        assert!(!login.is_current_for(Some(&user("ana", Role::Analyst, "$argon2id$new"))));
        assert!(!login.is_current_for(Some(&user("ana", Role::ReadOnly, "$argon2id$a"))));
        assert!(
            !login.credential.contains("argon2"),
            "only a digest is kept"
        );
    }

    /// A clock the test moves by hand.
    fn manual_clock() -> (Arc<Mutex<Instant>>, PreLogins) {
        let now = Arc::new(Mutex::new(Instant::now()));
        let read = Arc::clone(&now);
        let prelogins = PreLogins::with_clock(move || *read.lock().unwrap());
        (now, prelogins)
    }

    #[test]
    fn a_prelogin_value_made_up_by_an_attacker_is_refused() {
        let prelogins = PreLogins::default();
        prelogins.issue();
        assert!(!prelogins.redeem("sst_attackerchosen123"));
        assert!(!prelogins.redeem(""));
    }

    #[test]
    fn a_prelogin_value_is_accepted_once() {
        let prelogins = PreLogins::default();
        let value = prelogins.issue();
        assert!(prelogins.redeem(&value));
        assert!(!prelogins.redeem(&value), "a used value is refused");
    }

    #[test]
    fn a_prelogin_value_expires() {
        let (now, prelogins) = manual_clock();
        let fresh = prelogins.issue();
        let stale = prelogins.issue();
        *now.lock().unwrap() += Duration::from_secs(PRELOGIN_SECONDS - 1);
        assert!(prelogins.redeem(&fresh), "still inside its lifetime");
        *now.lock().unwrap() += Duration::from_secs(2);
        assert!(!prelogins.redeem(&stale), "past its lifetime");
    }

    #[test]
    fn outstanding_prelogin_values_are_bounded() {
        let (now, prelogins) = manual_clock();
        let first = prelogins.issue();
        for _ in 0..PRELOGIN_CAPACITY {
            prelogins.issue();
        }
        {
            let issued = prelogins.issued.lock().unwrap();
            assert!(issued.order.len() <= PRELOGIN_CAPACITY);
            assert!(issued.by_hash.len() <= PRELOGIN_CAPACITY);
        }
        assert!(!prelogins.redeem(&first), "the oldest was forgotten");
        // Expired values leave on the next issue.
        *now.lock().unwrap() += Duration::from_secs(PRELOGIN_SECONDS + 1);
        prelogins.issue();
        assert_eq!(prelogins.issued.lock().unwrap().by_hash.len(), 1);
    }

    #[test]
    fn limiter_blocks_after_failures_by_name_and_by_address() {
        let limiter = LoginLimiter::default();
        let address: IpAddr = "192.0.2.7".parse().unwrap();
        for _ in 0..MAX_FAILURES {
            assert!(limiter.check(Some(address), "admin").is_ok());
            limiter.record_failure(Some(address), "admin");
        }
        let wait = limiter.check(Some(address), "admin").unwrap_err();
        assert!(wait >= 1 && wait <= FAILURE_WINDOW.as_secs());
        // The same address guessing another name is still blocked, and so is the name elsewhere.
        assert!(limiter.check(Some(address), "root").is_err());
        assert!(limiter
            .check(Some("198.51.100.1".parse().unwrap()), "ADMIN")
            .is_err());
        // An unrelated name from an unrelated address is not.
        assert!(limiter
            .check(Some("198.51.100.1".parse().unwrap()), "ana")
            .is_ok());
    }

    #[test]
    fn cookies_are_read_by_name() {
        let header = "theme=dark; sessionscope_login=abc123; other=\"x\"";
        assert_eq!(cookie_value(header, LOGIN_COOKIE), Some("abc123"));
        assert_eq!(cookie_value(header, "other"), Some("x"));
        assert_eq!(cookie_value(header, "missing"), None);
        assert_eq!(cookie_value("", LOGIN_COOKIE), None);
    }

    #[test]
    fn secrets_compare_by_content() {
        assert!(secrets_equal("abc", "abc"));
        assert!(!secrets_equal("abc", "abd"));
        assert!(!secrets_equal("abc", "abcd"));
    }
}
