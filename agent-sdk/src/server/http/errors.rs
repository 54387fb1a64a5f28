//! Every error answer in the API's one shape, `{"error": {"code", "message"}}`:
//! what axum's extractors and router answer on their own (a body over the
//! limit, malformed JSON, a wrong content type, a bad path or query, an
//! unknown route or method) is plain text, so it is rewritten here, in one
//! place, with a code from one table.

use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::server::error::ApiError;

/// The most of a plain-text error body kept as the message.
const MESSAGE_LIMIT: usize = 4096;

/// The status and stable code of an answer axum made: each status's code,
/// and 422 (JSON of the wrong shape) answered as a 400 like malformed JSON.
const CODES: &[(StatusCode, StatusCode, &str)] = &[
    (
        StatusCode::BAD_REQUEST,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    ),
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    ),
    (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND, "not_found"),
    (
        StatusCode::METHOD_NOT_ALLOWED,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    ),
    (
        StatusCode::PAYLOAD_TOO_LARGE,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    ),
    (
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    ),
    (
        StatusCode::UPGRADE_REQUIRED,
        StatusCode::UPGRADE_REQUIRED,
        "upgrade_required",
    ),
];

/// An [`ApiError`] for an answer axum made with `status` and a plain-text `message`.
pub(crate) fn from_status(status: StatusCode, message: impl Into<String>) -> ApiError {
    let (status, code) = CODES
        .iter()
        .find(|(from, _, _)| *from == status)
        .map_or((status, "http_error"), |(_, to, code)| (*to, *code));
    let mut message: String = message.into();
    if message.trim().is_empty() {
        message = status
            .canonical_reason()
            .unwrap_or("request failed")
            .to_owned();
    }
    ApiError::new(status, code, message)
}

/// The answer to a path no route has (the router's fallback, which a
/// router merged into another does not pass through its layers).
pub(crate) async fn no_route(uri: axum::http::Uri) -> ApiError {
    from_status(StatusCode::NOT_FOUND, format!("no route {}", uri.path()))
}

/// Middleware: an error answer that is not JSON already becomes an [`ApiError`]
/// (its headers, such as `Allow` or `WWW-Authenticate`, kept).
pub(crate) async fn uniform_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, MESSAGE_LIMIT)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default();
    let mut answer = from_status(status, text).into_response();
    parts.headers.remove(header::CONTENT_TYPE);
    parts.headers.remove(header::CONTENT_LENGTH);
    for (name, value) in &parts.headers {
        answer.headers_mut().insert(name.clone(), value.clone());
    }
    answer
}
