//! Requests the CLI sends us: `mcp_message`, `can_use_tool`, `hook_callback`.
//!
//! Each runs on its own task and gets exactly one answer (success or error),
//! unless the CLI cancels it with `control_cancel_request`: then the task is
//! aborted and nothing is written.

use std::sync::Arc;

use futures_util::FutureExt;
use serde_json::Value;
use tracing::Instrument;

use super::wire::{self, Payload};
use super::{Shared, lock};
use crate::mcp::JsonRpcAnswer;

/// A request from the CLI, parsed as far as its handler needs.
pub(super) enum Request {
    /// `mcp_message` carrying a `tools/call`, read straight into its parts (the
    /// hot path of every tool call: neither the request nor the JSON-RPC
    /// envelope becomes a `Value`).
    ToolCall {
        server_name: String,
        id: Value,
        name: String,
        arguments: Value,
    },
    /// Any other `mcp_message`, with its `server_name` and JSON-RPC `message`.
    Mcp { server_name: String, message: Value },
    /// Any other request (or an `mcp_message` missing a field: its handler says which).
    Other(Value),
}

impl Request {
    /// Parses the `request` of a `control_request` frame from its already read
    /// `head`; `line` is the whole frame, parsed again only for subtypes
    /// without a fast path.
    pub(super) fn parse(
        head: wire::RequestHead<'_>,
        line: &[u8],
    ) -> Result<Request, serde_json::Error> {
        if let (Some("mcp_message"), Some(server_name), Some(message)) =
            (head.subtype.as_deref(), head.server_name, head.message)
        {
            let server_name = server_name.into_owned();
            if let Ok(call) = serde_json::from_str::<wire::ToolCallMessage<'_>>(message.get())
                && call.method == "tools/call"
            {
                return Ok(Request::ToolCall {
                    server_name,
                    id: call.id,
                    name: call.params.name,
                    arguments: call.params.arguments,
                });
            }
            return Ok(Request::Mcp {
                server_name,
                message: serde_json::from_str(message.get())?,
            });
        }
        serde_json::from_slice::<wire::ControlRequestWhole>(line)
            .map(|frame| Request::Other(frame.request))
    }

    fn subtype(&self) -> &str {
        match self {
            Request::ToolCall { .. } | Request::Mcp { .. } => "mcp_message",
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
        Request::ToolCall {
            server_name,
            id,
            name,
            arguments,
        } => {
            let mcp_response = match shared.handlers.servers.get(&server_name) {
                Some(server) => server.answer_tool_call(id, &name, arguments).await,
                None => JsonRpcAnswer::Value(crate::mcp::server_not_found(id, &server_name)),
            };
            return Ok(Payload::Mcp { mcp_response });
        }
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
        "" => Err("control request without a string `subtype`".to_owned()),
        other => Err(format!("Unsupported control request subtype: {other}")),
    };
    value.map(Payload::Value)
}

async fn mcp_message(shared: &Shared, server_name: &str, message: Value) -> Payload {
    let mcp_response = match shared.handlers.servers.get(server_name) {
        Some(server) => server.answer(message).await,
        None => {
            let id = message.get("id").cloned().unwrap_or(Value::Null);
            JsonRpcAnswer::Value(crate::mcp::server_not_found(id, server_name))
        }
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
