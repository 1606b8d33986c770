//! Security headers on every answer, console pages and API alike: a content security policy
//! that runs only the console's own script file and stylesheet (no inline script, no inline
//! style, no `eval`), refuses framing, and sends no referrer, so a traffic value that slipped
//! past HTML escaping still could not run, and a page cannot be framed for clickjacking.

use axum::http::header::{
    HeaderName, CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::HeaderValue;
use axum::response::Response;

/// The policy: everything from this origin only, and only as files (`'self'` without
/// `'unsafe-inline'` / `'unsafe-eval'`): the console's markup has no inline script, handler
/// attribute or `style` attribute (bars are SVG, sized by attributes); forms post only here; no
/// plugins, no `<base>`, no framing.
pub const CONTENT_SECURITY_POLICY_VALUE: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; \
     base-uri 'none'; object-src 'none'; frame-ancestors 'none'";

/// The headers every answer carries, as (name, value).
pub fn security_headers() -> [(HeaderName, &'static str); 4] {
    [
        (CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY_VALUE),
        (X_FRAME_OPTIONS, "DENY"),
        (X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (REFERRER_POLICY, "no-referrer"),
    ]
}

/// Response mapper for `axum::middleware::map_response`: adds the security headers.
pub async fn add_security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in security_headers() {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}
