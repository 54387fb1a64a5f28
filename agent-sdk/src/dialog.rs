//! User dialogs: the CLI asks the host application to show a dialog of a kind it declared.
//!
//! The CLI (2.1.330) sends a `request_user_dialog` control request only for the
//! `dialog_kind`s the host declared in `initialize` (`supportedDialogKinds`); it treats
//! an undeclared kind as "cannot display" and falls back to its no-dialog behaviour
//! (for `refusal_fallback_prompt`, the plain refusal error). Declare kinds and answer
//! them with [`AgentOptionsBuilder::on_user_dialog`](crate::AgentOptionsBuilder::on_user_dialog).
//!
//! **Kinds the CLI 2.1.330 knows** (read from its bundle): `terminal_prompt`,
//! `refusal_fallback_prompt` ("retry on fallback model or edit prompt"),
//! `auto_mode_server_fallback`, `auto_mode_outside_reads` and
//! `send_to_project_remote_control_offer`; the list is open-ended. The one a plain
//! stream-json session can reach is `refusal_fallback_prompt`: when a Messages API answer
//! ends with `stop_reason: "refusal"` and the session has a fallback model
//! ([`fallback_model`](crate::AgentOptionsBuilder::fallback_model)), the query loop yields
//! a fallback request and, on the main thread with the kind declared, asks
//! `request_user_dialog` with a payload of `originalModel`, `fallbackModel`,
//! `apiRefusalCategory`, `guidanceText` and `retractedMessageUuids`. Driven end to end
//! (`tests/e2e/dialogs.rs`, with `Turn::refusal` of the fake Messages API), the real CLI
//! does not get there: the refusal lane is armed by `refusalFallbackModel`, which
//! `--fallback-model` does not set, so a refusal shows the safety-classifier notice, the
//! turn goes on on the same model, and no dialog is asked. The handler's wire format is
//! covered by unit tests.
//!
//! ```
//! use agent_sdk::AgentOptions;
//! use agent_sdk::dialog::{UserDialogRequest, UserDialogResponse};
//!
//! let options = AgentOptions::builder()
//!     .on_user_dialog(["refusal_fallback_prompt"], |request: UserDialogRequest| async move {
//!         println!("the CLI asks: {} {}", request.dialog_kind, request.payload);
//!         UserDialogResponse::Cancelled
//!     })
//!     .build()?;
//! # let _ = options;
//! # Ok::<(), agent_sdk::Error>(())
//! ```

use std::future::Future;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::handler::BoxFuture;

/// One `request_user_dialog` request.
///
/// ```
/// let request: agent_sdk::dialog::UserDialogRequest = serde_json::from_value(serde_json::json!({
///     "dialog_kind": "refusal_fallback_prompt", "payload": {"model": "x"}, "tool_use_id": "toolu_1"
/// }))?;
/// assert_eq!(request.tool_use_id.as_deref(), Some("toolu_1"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct UserDialogRequest {
    /// Which dialog to show: one of the kinds declared with `on_user_dialog`.
    pub dialog_kind: String,
    /// What the dialog shows; its shape depends on the kind.
    #[serde(default)]
    pub payload: Value,
    /// The tool call the dialog belongs to, if any.
    #[serde(default)]
    pub tool_use_id: Option<String>,
}

/// The outcome of a dialog.
///
/// ```
/// use agent_sdk::dialog::UserDialogResponse;
/// let done = UserDialogResponse::Completed(serde_json::json!({"choice": "retry"}));
/// assert_eq!(done.to_wire()["behavior"], "completed");
/// assert_eq!(UserDialogResponse::Cancelled.to_wire(), serde_json::json!({"behavior": "cancelled"}));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum UserDialogResponse {
    /// The user finished the dialog with this result (its shape depends on the kind).
    Completed(Value),
    /// The user dismissed the dialog.
    Cancelled,
}

impl UserDialogResponse {
    /// The answer on the wire.
    pub fn to_wire(&self) -> Value {
        match self {
            UserDialogResponse::Completed(result) => {
                json!({"behavior": "completed", "result": result})
            }
            UserDialogResponse::Cancelled => json!({"behavior": "cancelled"}),
        }
    }
}

/// Shows user dialogs. Any `Fn(UserDialogRequest) -> impl Future<Output = UserDialogResponse>` is one.
///
/// ```
/// use agent_sdk::dialog::{UserDialogHandler, UserDialogRequest, UserDialogResponse};
/// struct Dismiss;
/// impl UserDialogHandler for Dismiss {
///     async fn show(&self, _request: UserDialogRequest) -> UserDialogResponse {
///         UserDialogResponse::Cancelled
///     }
/// }
/// # let _ = agent_sdk::AgentOptions::builder().on_user_dialog(["refusal_fallback_prompt"], Dismiss);
/// ```
pub trait UserDialogHandler: Send + Sync + 'static {
    /// The outcome of one dialog.
    fn show(&self, request: UserDialogRequest) -> impl Future<Output = UserDialogResponse> + Send;
}

impl<F, Fut> UserDialogHandler for F
where
    F: Fn(UserDialogRequest) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = UserDialogResponse> + Send,
{
    fn show(&self, request: UserDialogRequest) -> impl Future<Output = UserDialogResponse> + Send {
        self(request)
    }
}

/// A type-erased handler, as the options keep it.
pub(crate) type DynUserDialogHandler =
    Arc<dyn Fn(UserDialogRequest) -> BoxFuture<'static, UserDialogResponse> + Send + Sync>;

pub(crate) fn erase<H: UserDialogHandler>(handler: H) -> DynUserDialogHandler {
    let handler = Arc::new(handler);
    Arc::new(move |request| {
        let handler = handler.clone();
        Box::pin(async move { handler.show(request).await })
    })
}

/// The answer to the CLI's `request_user_dialog` request.
///
/// Without a handler no kind was declared, so the CLI should not ask; if it does, the
/// answer is an error, which the CLI discards (a `cancelled` answer would count as the
/// user dismissing a dialog nobody showed).
pub(crate) async fn answer(
    handler: Option<&DynUserDialogHandler>,
    request: Value,
) -> Result<Value, String> {
    let request = UserDialogRequest::deserialize(&request)
        .map_err(|error| format!("malformed request_user_dialog request: {error}"))?;
    match handler {
        Some(handler) => Ok(handler(request).await.to_wire()),
        None => Err(format!(
            "no user dialog handler: the dialog kind `{}` was not declared",
            request.dialog_kind
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_handler_answers_and_without_one_the_answer_is_an_error() {
        let request =
            json!({"subtype": "request_user_dialog", "dialog_kind": "k", "payload": {"a": 1}});
        let handler = erase(|request: UserDialogRequest| async move {
            UserDialogResponse::Completed(request.payload)
        });
        assert_eq!(
            answer(Some(&handler), request.clone()).await.unwrap(),
            json!({"behavior": "completed", "result": {"a": 1}})
        );
        let error = answer(None, request).await.unwrap_err();
        assert!(error.contains("`k`"), "{error}");
        assert!(
            answer(None, json!({}))
                .await
                .unwrap_err()
                .contains("dialog_kind")
        );
    }
}
