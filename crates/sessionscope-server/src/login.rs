//! Console logins (PRODUCT.md R3): the sessions a browser holds after signing in with a user's
//! password, their CSRF tokens, and the limiter that slows down password guessing.
//!
//! A login is a random cookie value; only its SHA-256 is kept, in memory, so a restart signs
//! everybody out (the console then shows the login page again). Each login carries its own CSRF
//! token: forms send it as a hidden field and scripts as the `x-csrf-token` header, and every
//! state-changing call made with the cookie must present it. Logins expire after
//! `LOGIN_IDLE_SECONDS` without use and after `LOGIN_MAX_SECONDS` in any case.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sessionscope_model::Role;
use sessionscope_store::{new_token, token_hash};

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

/// A signed-in console user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    pub user: String,
    pub role: Role,
    /// Sent back with every state-changing request.
    pub csrf: String,
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
    /// Starts a login; returns the cookie value (shown to the browser once, never kept) and the
    /// login with its CSRF token.
    pub fn start(&self, user: &str, role: Role) -> (String, Login) {
        let cookie = new_token();
        let login = Login {
            user: user.to_owned(),
            role,
            csrf: new_token(),
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

    #[test]
    fn logins_are_found_by_cookie_and_end() {
        let logins = Logins::default();
        let (cookie, login) = logins.start("ana", Role::Analyst);
        assert_eq!(logins.find(&cookie), Some(login.clone()));
        assert_ne!(cookie, login.csrf);
        assert!(logins.find("not-a-cookie").is_none());
        logins.end(&cookie);
        assert!(logins.find(&cookie).is_none());

        let (first, _) = logins.start("ana", Role::Analyst);
        let (other, _) = logins.start("bob", Role::Admin);
        logins.end_all_of("ana");
        assert!(logins.find(&first).is_none());
        assert!(logins.find(&other).is_some());
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
