//! The one error type of the HTTP side. Every handler returns it, and it becomes the stable error
//! body `{"code": "...", "message": "..."}`. Server-side failures are logged here, with their
//! detail, and answered with a message that says nothing internal.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sessionscope_store::StoreError;

use crate::filters::FilterError;

/// An error answered to an API client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    pub status: StatusCode,
    /// Stable machine-readable code: `unauthorized`, `forbidden`, `not_found`, `bad_request`,
    /// `method_not_allowed`, `internal`.
    pub code: &'static str,
    /// Human-readable, lowercase, names the thing.
    pub message: String,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: &'a str,
    message: &'a str,
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "bad_request",
            message: message.into(),
        }
    }

    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::UNAUTHORIZED,
            code: "unauthorized",
            message: message.into(),
        }
    }

    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::FORBIDDEN,
            code: "forbidden",
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            code: "not_found",
            message: message.into(),
        }
    }

    pub fn method_not_allowed(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::METHOD_NOT_ALLOWED,
            code: "method_not_allowed",
            message: message.into(),
        }
    }

    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::CONFLICT,
            code: "conflict",
            message: message.into(),
        }
    }

    /// A failure on our side. `detail` goes to the log only; the client learns nothing internal.
    pub fn internal(detail: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %detail, "request failed on the server");
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal",
            message: String::from("internal error; the server log has the details"),
        }
    }
}

impl From<FilterError> for ApiError {
    fn from(error: FilterError) -> ApiError {
        ApiError::bad_request(error.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        match error {
            // A cursor comes from the client, so a bad one is the client's mistake.
            StoreError::InvalidCursor(cursor) => ApiError::bad_request(format!(
                "invalid value `{}` for parameter `cursor`",
                shorten(&cursor)
            )),
            stale @ StoreError::StaleSettings { .. } => ApiError::conflict(stale.to_string()),
            other => ApiError::internal(other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            code: self.code,
            message: &self.message,
        };
        let json = serde_json::to_vec(&body)
            .unwrap_or_else(|_| b"{\"code\":\"internal\",\"message\":\"\"}".to_vec());
        let mut response = (self.status, json).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// Client-supplied text echoed in a message, cut so a huge value cannot bloat the answer.
pub(crate) fn shorten(text: &str) -> String {
    sessionscope_model::shortened(text, 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_hide_their_detail() {
        let error = ApiError::from(StoreError::Backend(String::from(
            "disk I/O error at /var/lib/secret.db",
        )));
        assert_eq!(error.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(error.code, "internal");
        assert!(!error.message.contains("secret.db"));
    }

    #[test]
    fn a_bad_cursor_is_the_clients_mistake() {
        let error = ApiError::from(StoreError::InvalidCursor(String::from("zzz")));
        assert_eq!(error.status, StatusCode::BAD_REQUEST);
        assert!(error.message.contains("`cursor`") && error.message.contains("`zzz`"));
    }

    #[test]
    fn long_values_are_shortened_in_messages() {
        let long = "x".repeat(1000);
        assert_eq!(shorten(&long).chars().count(), 101);
        assert_eq!(shorten("short"), "short");
    }
}
