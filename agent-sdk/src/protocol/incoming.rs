//! Requests the CLI sends us: `mcp_message`, `can_use_tool`, `hook_callback`.
//!
//! Each runs on its own task and gets exactly one answer (success or error),
//! unless the CLI cancels it with `control_cancel_request`: then the task is
//! aborted and nothing is written.

use std::sync::Arc;

use futures_util::FutureExt;
use serde_json::{Value, json};
use tracing::Instrument;

use super::{Shared, lock, wire};

/// Starts handling one request from the CLI.
pub(super) fn spawn(shared: &Arc<Shared>, request_id: String, request: Value) {
    {
        let mut inflight = lock(&shared.inflight);
        if inflight.contains_key(&request_id) {
            tracing::warn!(%request_id, "the CLI reused the id of a request still in flight");
            let outcome = Err(format!("duplicate request id: {request_id}"));
            let _ = shared.send_line(wire::response_line(&request_id, &outcome));
            return;
        }
        inflight.insert(request_id.clone(), None);
    }
    let task_shared = shared.clone();
    let task_id = request_id.clone();
    let subtype = request
        .get("subtype")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let span = tracing::debug_span!("cli_request", %subtype, %request_id);
    let task = tokio::spawn(
        async move {
            let outcome =
                match std::panic::AssertUnwindSafe(handle(&task_shared, &subtype, request))
                    .catch_unwind()
                    .await
                {
                    Ok(outcome) => outcome,
                    Err(panic) => Err(format!(
                        "the {subtype} handler panicked: {}",
                        panic_message(&panic)
                    )),
                };
            // Gone from the table means cancelled: write nothing.
            if lock(&task_shared.inflight).remove(&task_id).is_some() {
                if let Err(message) = &outcome {
                    tracing::debug!(%subtype, %message, "answering a CLI request with an error");
                }
                let _ = task_shared.send_line(wire::response_line(&task_id, &outcome));
            }
        }
        .instrument(span),
    );
    if let Some(slot) = lock(&shared.inflight).get_mut(&request_id) {
        *slot = Some(task.abort_handle());
    }
}

/// Cancels a request the CLI withdrew; no answer is written for it.
pub(super) fn cancel(shared: &Shared, request_id: &str) {
    match lock(&shared.inflight).remove(request_id) {
        Some(Some(handle)) => {
            tracing::debug!(%request_id, "the CLI cancelled a request; aborting its handler");
            handle.abort();
        }
        Some(None) => {}
        None => tracing::debug!(%request_id, "cancel for a request that is not in flight"),
    }
}

async fn handle(shared: &Shared, subtype: &str, mut request: Value) -> Result<Value, String> {
    match subtype {
        "mcp_message" => {
            let server_name = request
                .get("server_name")
                .and_then(Value::as_str)
                .ok_or("mcp_message request without `server_name`")?
                .to_owned();
            let message = request
                .get_mut("message")
                .map(Value::take)
                .ok_or("mcp_message request without `message`")?;
            let response = match shared.handlers.servers.get(&server_name) {
                Some(server) => server.handle_message(message).await,
                None => crate::mcp::server_not_found(&message, &server_name),
            };
            Ok(json!({ "mcp_response": response }))
        }
        "can_use_tool" => match &shared.handlers.permission {
            Some(handler) => handler.handle(request).await,
            None => Err("canUseTool callback is not provided".to_owned()),
        },
        "hook_callback" => {
            let callback_id = request
                .get("callback_id")
                .and_then(Value::as_str)
                .ok_or("hook_callback request without `callback_id`")?
                .to_owned();
            let tool_use_id = request
                .get("tool_use_id")
                .and_then(Value::as_str)
                .map(str::to_owned);
            let input = request
                .get_mut("input")
                .map(Value::take)
                .unwrap_or(Value::Null);
            shared
                .handlers
                .hooks
                .dispatch(&callback_id, input, tool_use_id)
                .await
        }
        other => Err(format!("Unsupported control request subtype: {other}")),
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("unknown panic")
}
