//! Plumbing shared by every user handler (hooks, permission policy, tools, transports):
//! the boxed future of type-erased handlers, the error a handler returns, and the
//! capture of a handler's panic. A leaf: it imports nothing from the crate.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;

use futures_util::FutureExt;

/// A boxed, sendable future: what type-erased handlers and transports return.
///
/// ```
/// use agent_sdk::BoxFuture;
/// fn answer() -> BoxFuture<'static, u32> {
///     Box::pin(async { 42 })
/// }
/// # let _ = answer();
/// ```
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The error a hook or permission handler returns; the CLI gets it as the text of a
/// control error answer.
///
/// Any `std::error::Error` converts with `?`; [`HandlerError::new`] makes one from text.
///
/// ```
/// use agent_sdk::HandlerError;
/// fn check(path: &str) -> Result<(), HandlerError> {
///     let _meta = std::fs::metadata(path)?; // io::Error converts
///     Err(HandlerError::new("policy store unavailable"))
/// }
/// assert!(check("/definitely/not/here").is_err());
/// ```
pub struct HandlerError {
    message: String,
}

impl HandlerError {
    /// An error with this message.
    ///
    /// ```
    /// let err = agent_sdk::HandlerError::new("policy store unavailable");
    /// assert_eq!(err.to_string(), "policy store unavailable");
    /// ```
    pub fn new(message: impl fmt::Display) -> Self {
        HandlerError {
            message: message.to_string(),
        }
    }

    /// The message sent to the CLI.
    ///
    /// ```
    /// let err = agent_sdk::HandlerError::new("no");
    /// assert_eq!(err.message(), "no");
    /// ```
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The message, owned.
    pub(crate) fn into_message(self) -> String {
        self.message
    }
}

impl fmt::Debug for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("HandlerError").field(&self.message).finish()
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for HandlerError {
    fn from(error: E) -> Self {
        HandlerError::new(error)
    }
}

/// A private error type carrying the message, so `HandlerError` itself can stay out of
/// `std::error::Error` (which would clash with its blanket `From`).
#[derive(Debug)]
struct HandlerErrorMessage(String);

impl fmt::Display for HandlerErrorMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HandlerErrorMessage {}

impl From<HandlerError> for Box<dyn std::error::Error + Send + Sync + 'static> {
    fn from(error: HandlerError) -> Self {
        Box::new(HandlerErrorMessage(error.message))
    }
}

impl From<HandlerError> for Box<dyn std::error::Error + 'static> {
    fn from(error: HandlerError) -> Self {
        Box::new(HandlerErrorMessage(error.message))
    }
}

/// Runs `future`; a panic inside it becomes `Err` with the panic's text, so a broken
/// handler yields an error answer instead of taking its task down.
pub(crate) async fn catch_panic<F: Future>(future: F) -> Result<F::Output, String> {
    AssertUnwindSafe(future)
        .catch_unwind()
        .await
        .map_err(|panic| panic_message(panic.as_ref()))
}

/// Text of a caught panic payload.
fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_becomes_its_text() {
        let text = catch_panic(async { panic!("boom {}", 7) }).await;
        assert_eq!(text, Err::<(), _>("boom 7".to_owned()));
        let literal = catch_panic(async { panic!("literal") }).await;
        assert_eq!(literal, Err::<(), _>("literal".to_owned()));
        let other = catch_panic(async { std::panic::panic_any(3_u8) }).await;
        assert_eq!(other, Err::<(), _>("non-string panic payload".to_owned()));
        assert_eq!(catch_panic(async { 5 }).await, Ok(5));
    }

    #[test]
    fn handler_errors_convert_and_box() {
        fn parse(text: &str) -> Result<u32, HandlerError> {
            Ok(text.parse::<u32>()?)
        }
        let err = parse("x").unwrap_err();
        assert_eq!(err.message(), "invalid digit found in string");
        let boxed: Box<dyn std::error::Error + Send + Sync> = err.into();
        assert_eq!(boxed.to_string(), "invalid digit found in string");
    }
}
