//! The one error shape every route answers with:
//! `{"error": {"code": "...", "message": "..."}}` and the right status.

use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// An HTTP error answer. `code` is stable and machine-readable (`not_found`,
/// `at_capacity`, `rate_limited`, ...); `message` says what to do about it.
///
/// ```
/// use agent_sdk::server::ApiError;
/// use axum::http::StatusCode;
///
/// let error = ApiError::new(StatusCode::NOT_FOUND, "not_found", "no session \"s1\"");
/// assert_eq!(error.status(), StatusCode::NOT_FOUND);
/// ```
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    headers: Vec<(HeaderName, HeaderValue)>,
    /// Extra fields of the error object (boxed: most errors have none, and
    /// `Result<_, ApiError>` stays small).
    fields: Option<Box<serde_json::Map<String, serde_json::Value>>>,
}

impl ApiError {
    /// An error with a status, a stable code and a message for people.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            headers: Vec::new(),
            fields: None,
        }
    }

    /// Adds a header (`Retry-After`, `WWW-Authenticate`, ...).
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// Adds a field to the error object, next to `code` and `message`
    /// (a 421's `owner`, ...).
    ///
    /// ```
    /// use agent_sdk::server::ApiError;
    /// use axum::http::StatusCode;
    ///
    /// let error = ApiError::new(StatusCode::MISDIRECTED_REQUEST, "wrong_host", "ask host b")
    ///     .with_field("owner", serde_json::json!({"address": "http://b:8080"}));
    /// assert_eq!(error.field("owner").unwrap()["address"], "http://b:8080");
    /// ```
    pub fn with_field(mut self, name: &str, value: serde_json::Value) -> Self {
        self.fields
            .get_or_insert_default()
            .insert(name.to_owned(), value);
        self
    }

    /// A field added with [`with_field`](Self::with_field).
    pub fn field(&self, name: &str) -> Option<&serde_json::Value> {
        self.fields.as_ref()?.get(name)
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl std::error::Error for ApiError {}

/// The body of every error answer, as it is documented.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
#[schemars(rename = "Error")]
pub(crate) struct ErrorBody {
    pub(crate) error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub(crate) struct ErrorDetail {
    /// Stable and machine-readable (`not_found`, `rate_limited`, ...).
    pub(crate) code: String,
    /// What to do about it, for people.
    pub(crate) message: String,
    /// What some errors add: `owner` (`{host_id, address}`) on a 421.
    #[serde(flatten)]
    pub(crate) fields: serde_json::Map<String, serde_json::Value>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
                fields: self.fields.map(|fields| *fields).unwrap_or_default(),
            },
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        response.headers_mut().extend(self.headers);
        response
    }
}
