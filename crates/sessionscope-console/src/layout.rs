//! The page shell every console page shares: document head with the embedded stylesheet and
//! script, the top bar (brand, navigation the role may use, the user and sign-out), and the
//! helpers pages use to build URLs and error pages.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sessionscope_model::Role;

use crate::assets;
use crate::auth::ConsoleUser;

/// Which top-level section a page belongs to, for the navigation highlight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Sessions,
    Config,
    Account,
}

/// A full console page for a signed-in user.
pub fn page(user: &ConsoleUser, active: Nav, title: &str, body: Markup) -> Markup {
    let link = |target: Nav, href: &str, label: &str| {
        html! {
            a.nav-link.active[target == active] href=(href)
                aria-current=[(target == active).then_some("page")] { (label) }
        }
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body data-csrf=(user.csrf) data-role=(user.role) {
                header.topbar {
                    a.brand href="/" { span.brand-mark {} "sessionscope" }
                    nav.nav {
                        @if user.role.can_read_sessions() {
                            (link(Nav::Sessions, "/sessions", "Sessions"))
                        }
                        @if user.role == Role::Admin {
                            (link(Nav::Config, "/config", "Configuration"))
                        }
                    }
                    div.topbar-right {
                        button.icon-button type="button" data-action="shortcuts" title="Keyboard shortcuts (?)" { "?" }
                        a.user-chip href="/account" title="Account" {
                            span.user-name { (user.name) }
                            span.role-badge { (user.role) }
                        }
                        form.inline method="post" action="/logout" {
                            input type="hidden" name="csrf" value=(user.csrf);
                            button.link-button type="submit" { "Sign out" }
                        }
                    }
                }
                div.content { (body) }
                (shortcuts_dialog())
            }
        }
    }
}

/// A page without the top bar (the login page).
pub fn bare_page(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body.bare { (body) }
        }
    }
}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="color-scheme" content="light dark";
            title { (title) " · sessionscope" }
            link rel="stylesheet" href=(assets::STYLESHEET_PATH);
            link rel="icon" href=(assets::ICON_PATH);
            script src=(assets::SCRIPT_PATH) defer {}
        }
    }
}

fn shortcuts_dialog() -> Markup {
    let keys = [
        ("/", "Focus the endpoint search"),
        ("j / k", "Next / previous session"),
        ("Enter", "Expand the selected session"),
        ("Esc", "Collapse, close dialogs"),
        ("?", "Show this list"),
    ];
    html! {
        dialog #shortcuts {
            h2 { "Keyboard shortcuts" }
            table.shortcuts {
                @for (key, action) in keys {
                    tr { td { kbd { (key) } } td { (action) } }
                }
            }
            form method="dialog" { button type="submit" { "Close" } }
        }
    }
}

/// A complete error page (works signed in or not) telling the user what happened and what to do.
pub fn error_page(status: StatusCode, title: &str, advice: &str) -> Response {
    let body = html! {
        main.login {
            section.login-card {
                h1 { (title) }
                p { (advice) }
                p { a href="/" { "Back to the console" } }
            }
        }
    };
    (status, bare_page(title, body)).into_response()
}

/// Characters escaped in a query value: everything but unreserved characters, so the value
/// survives any position in a URL.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'*')
    .remove(b'/')
    .remove(b':');

pub fn encode_query_value(value: &str) -> String {
    utf8_percent_encode(value, QUERY_VALUE).to_string()
}

/// A query string from pairs, in order, skipping empty values.
pub fn query_string<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut text = String::new();
    for (key, value) in pairs {
        if value.is_empty() {
            continue;
        }
        text.push(if text.is_empty() { '?' } else { '&' });
        text.push_str(&encode_query_value(key));
        text.push('=');
        text.push_str(&encode_query_value(value));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_skip_empty_values_and_escape() {
        assert_eq!(
            query_string([("window", "1h"), ("host", ""), ("endpoint", "/api/*?x=1&y")]),
            "?window=1h&endpoint=/api/*%3Fx%3D1%26y"
        );
        assert_eq!(query_string([("a", "")]), "");
    }
}
