//! Requests the CLI sends us: `mcp_message`, `can_use_tool`, `hook_callback`.
//!
//! Each runs on its own task and gets exactly one answer (success or error),
//! unless the CLI cancels it with `control_cancel_request`: then the task is
//! aborted and nothing is written.

use std::sync::Arc;

use futures_util::FutureExt;
use serde_json::Value;
use serde_json::value::RawValue;
use tracing::Instrument;

use super::wire::{self, Payload};
use super::{Shared, lock};

/// A request from the CLI, parsed as far as its handler needs.
pub(super) enum Request {
    /// `mcp_message` with its `server_name` and JSON-RPC `message`: the outer
    /// request never becomes a `Value` (the hot path of every tool call).
    Mcp { server_name: String, message: Value },
    /// Any other request (or an `mcp_message` missing a field: its handler says which).
    Other(Value),
}

impl Request {
    /// Parses the `request` of a `control_request` frame.
    pub(super) fn parse(raw: &RawValue) -> Result<Request, serde_json::Error> {
        if let Ok(head) = serde_json::from_str::<wire::RequestHead<'_>>(raw.get())
            && let (Some("mcp_message"), Some(server_name), Some(message)) =
                (head.subtype.as_deref(), head.server_name, head.message)
        {
            return Ok(Request::Mcp {
                server_name: server_name.into_owned(),
                message: serde_json::from_str(message.get())?,
            });
        }
        serde_json::from_str(raw.get()).map(Request::Other)
    }

    fn subtype(&self) -> &str {
        match self {
            Request::Mcp { .. } => "mcp_message",
            Request::Other(request) => request
                .get("subtype")
                .and_then(Value::as_str)
                .unwrap_or_default(),
        }
    }
}

/// Starts handling one request from the CLI.
pub(super) fn spawn(shared: &Arc<Shared>, request_id: String, request: Request) {
    {
        let mut inflight = lock(&shared.inflight);
        if inflight.contains_key(&request_id) {
            tracing::warn!(%request_id, "the CLI reused the id of a request still in flight");
            let outcome: Result<Payload, String> =
                Err(format!("duplicate request id: {request_id}"));
            let _ = shared.send_line(wire::response_line(&request_id, &outcome));
            return;
        }
        inflight.insert(request_id.clone(), None);
    }
    let task_shared = shared.clone();
    let task_id = request_id.clone();
    let subtype = request.subtype().to_owned();
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

async fn handle(shared: &Shared, subtype: &str, request: Request) -> Result<Payload, String> {
    let mut request = match request {
        Request::Mcp {
            server_name,
            message,
        } => return Ok(mcp_message(shared, &server_name, message).await),
        Request::Other(request) => request,
    };
    let value = match subtype {
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
            return Ok(mcp_message(shared, &server_name, message).await);
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
    };
    value.map(Payload::Value)
}

async fn mcp_message(shared: &Shared, server_name: &str, message: Value) -> Payload {
    let mcp_response = match shared.handlers.servers.get(server_name) {
        Some(server) => server.handle_message(message).await,
        None => crate::mcp::server_not_found(&message, server_name),
    };
    Payload::Mcp { mcp_response }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("unknown panic")
}
