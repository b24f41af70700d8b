//! Every error answer is JSON (`protocol::ErrorBody`) with a stable code. Causes below the
//! protocol (a database down, a bug) are logged and answered without detail.

use crate::protocol::{ErrorBody, SUPPORTED_HEADER, VersionRange};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// An error answer.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: ErrorBody,
    pub retry_after_seconds: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            body: ErrorBody {
                code: code.into(),
                message: message.into(),
                supported: None,
                reason: None,
            },
            retry_after_seconds: None,
        }
    }

    /// No token, a malformed one, an unknown one or a revoked one: one answer for all, so a
    /// caller learns nothing about which.
    pub fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid device token is required (Authorization: Bearer …)",
        )
    }

    pub fn bad_request(code: &str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn version(code: &str, message: impl Into<String>) -> ApiError {
        let mut e = ApiError::new(StatusCode::UPGRADE_REQUIRED, code, message);
        e.body.supported = Some(VersionRange::THIS_BUILD);
        e
    }

    pub fn resync(reason: &str, message: impl Into<String>) -> ApiError {
        let mut e = ApiError::new(StatusCode::GONE, "resync_required", message);
        e.body.reason = Some(reason.into());
        e
    }

    /// The database did not answer: worth retrying later.
    pub fn unavailable(cause: &dyn std::fmt::Display) -> ApiError {
        tracing::error!("database unavailable: {cause}");
        let mut e = ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the portal's database did not answer; try again",
        );
        e.retry_after_seconds = Some(5);
        e
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body)).into_response();
        let headers = response.headers_mut();
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(seconds) = self.retry_after_seconds
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            headers.insert(header::RETRY_AFTER, value);
        }
        response
    }
}

/// The header value naming the versions this portal speaks.
pub fn supported_header() -> (header::HeaderName, HeaderValue) {
    let range = VersionRange::THIS_BUILD;
    (
        header::HeaderName::from_static(SUPPORTED_HEADER),
        HeaderValue::from_str(&format!("{}-{}", range.min, range.max))
            .unwrap_or(HeaderValue::from_static("1-1")),
    )
}
