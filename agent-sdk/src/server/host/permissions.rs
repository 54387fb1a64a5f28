//! Permission requests answered by a person: each `can_use_tool` of a
//! session's CLI becomes a `permission_request` event; the first reply
//! decides, later ones are refused; no reply in time denies the call.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tracing::Instrument;

use super::super::events::{EventKind, EventLog};
use crate::permission::{PermissionResult, ToolPermissionRequest};

/// A client's answer to a permission request.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
pub(crate) struct Decision {
    pub(crate) behavior: Behavior,
    #[serde(default)]
    pub(crate) message: Option<String>,
    #[serde(default)]
    pub(crate) updated_input: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Behavior {
    Allow,
    Deny,
}

/// Why an answer was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AnswerError {
    /// Answered already (or timed out).
    AlreadyResolved,
    /// No such request in this session.
    Unknown,
}

/// The open permission requests of one session.
#[derive(Default)]
pub(crate) struct Permissions {
    pending: Mutex<HashMap<String, oneshot::Sender<Decision>>>,
    resolved: Mutex<HashSet<String>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Permissions {
    /// Takes the first answer to a request; refuses later ones.
    pub(crate) fn answer(
        &self,
        correlation_id: &str,
        decision: Decision,
    ) -> Result<(), AnswerError> {
        let sender = lock(&self.pending).remove(correlation_id);
        match sender {
            Some(sender) => {
                lock(&self.resolved).insert(correlation_id.to_owned());
                // The waiting call may have timed out at this very moment; the timeout's event says so.
                let _ = sender.send(decision);
                Ok(())
            }
            None if lock(&self.resolved).contains(correlation_id) => {
                Err(AnswerError::AlreadyResolved)
            }
            None => Err(AnswerError::Unknown),
        }
    }

    /// Asks the session's subscribers and waits for the first answer or the timeout.
    pub(crate) async fn ask(
        self: Arc<Self>,
        log: Arc<EventLog>,
        request: ToolPermissionRequest,
        timeout: Duration,
        metrics: Arc<crate::server::metrics::ServerMetrics>,
    ) -> PermissionResult {
        let correlation_id = super::new_id("perm");
        let span = tracing::info_span!(
            "permission_request",
            session_id = %log.session_id(),
            correlation_id = %correlation_id,
            tool = %request.tool_name,
            tool_use_id = %request.tool_use_id,
            seq = tracing::field::Empty,
        );
        async move {
            let (tx, rx) = oneshot::channel();
            lock(&self.pending).insert(correlation_id.clone(), tx);
            let seq = log.emit(
                EventKind::PermissionRequest,
                json!({
                    "correlation_id": correlation_id,
                    "tool_name": request.tool_name,
                    "tool_use_id": request.tool_use_id,
                    "input": request.input,
                    "suggestions": request.suggestions,
                }),
            );
            tracing::Span::current().record("seq", seq);
            tracing::info!(seq, "waiting for a client's decision");
            let decision = tokio::time::timeout(timeout, rx).await;
            let (result, by) = match decision {
                Ok(Ok(decision)) => (to_result(&decision), "client"),
                // Timed out, or the session went away: nobody allowed it.
                _ => {
                    lock(&self.pending).remove(&correlation_id);
                    lock(&self.resolved).insert(correlation_id.clone());
                    let message = format!(
                        "Nobody answered the permission request for {} within {} s, so the call was denied.",
                        request.tool_name,
                        timeout.as_secs()
                    );
                    (PermissionResult::deny(message), "timeout")
                }
            };
            let (behavior, message) = match &result {
                PermissionResult::Deny { message, .. } => ("deny", Some(message.clone())),
                _ => ("allow", None),
            };
            metrics.permission(if by == "timeout" { by } else { behavior });
            log.emit(
                EventKind::PermissionResolved,
                json!({"correlation_id": correlation_id, "behavior": behavior, "message": message, "by": by}),
            );
            result
        }
        .instrument(span)
        .await
    }
}

fn to_result(decision: &Decision) -> PermissionResult {
    match decision.behavior {
        Behavior::Allow => {
            let allow = PermissionResult::allow();
            match &decision.updated_input {
                Some(input) => allow.with_updated_input(input.clone()),
                None => allow,
            }
        }
        Behavior::Deny => PermissionResult::deny(
            decision
                .message
                .clone()
                .unwrap_or_else(|| "The user denied this tool call.".to_owned()),
        ),
    }
}
