//! Requests the CLI sends us: `mcp_message`, `can_use_tool`, `hook_callback`.
//!
//! The session owns the concurrency and cancellation of all of them, MCP calls
//! included: each runs on its own task, inside one panic catcher, and gets
//! exactly one answer (success or error), unless the CLI withdraws it:
//! - `control_cancel_request` aborts the task, and nothing is written;
//! - an MCP `notifications/cancelled` names the JSON-RPC id of a call: that call
//!   is aborted and answers JSON-RPC error `-32800` "Request cancelled".
//!
//! Before a tool call is aborted its `ToolContext::cancelled()` completes; a handler
//! waiting on it gets `CANCELLED_CALL_GRACE` to clean up before the abort.
//!
//! A request's handler starts as a [`Job`]: spawned on the handlers' runtime,
//! or, when the thread that read the request can run it (see `leader`), polled
//! once on that thread first and spawned only if it is not done by then.
//!
//! JSON-RPC ids are numbered by each CLI process, so they are looked up among
//! this session's requests only: a server shared by many sessions keeps no state
//! per call.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use serde_json::Value;
use tokio::task::AbortHandle;
use tracing::Instrument;

use super::trace;
use super::wire::{self, Payload};
use super::{Shared, lock};
use crate::handler::catch_panic;
use crate::mcp::{CallOrigin, Cancellation, ClientLink, JsonRpcAnswer, OriginParts};

/// A request from the CLI being handled: the entry of `Shared::inflight`.
pub(super) struct InFlight {
    /// `None` until the task is spawned.
    task: Option<AbortHandle>,
    /// The server and JSON-RPC id of an MCP request, which `notifications/cancelled` names.
    mcp: Option<McpRequestId>,
    /// What a tool handler's `ToolContext::cancelled()` waits on (MCP requests only).
    cancellation: Option<Arc<Cancellation>>,
}

impl InFlight {
    /// Stops the request's handler (it writes nothing once out of the table): at once,
    /// or after a grace period when the handler waits on its cancellation (timed
    /// on `runtime`, the handlers' runtime).
    pub(super) fn abort(self, runtime: &tokio::runtime::Handle) {
        let cooperating = self.cancellation.is_some_and(|c| c.cancel());
        let Some(task) = self.task else {
            return;
        };
        if cooperating {
            crate::task::spawn_on(runtime, async move {
                tokio::time::sleep(crate::mcp::CANCELLED_CALL_GRACE).await;
                task.abort();
            });
        } else {
            task.abort();
        }
    }
}

struct McpRequestId {
    server_name: String,
    id: Value,
}

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
        meta: wire::ToolCallMeta,
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
                    meta: call.params.meta,
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

    /// The server and JSON-RPC id of an MCP request (a notification has no id).
    fn mcp_request_id(&self) -> Option<McpRequestId> {
        let (server_name, id) = match self {
            Request::ToolCall {
                server_name, id, ..
            } => (server_name, id),
            Request::Mcp {
                server_name,
                message,
            } => (server_name, message.get("id")?),
            Request::Other(_) => return None,
        };
        Some(McpRequestId {
            server_name: server_name.clone(),
            id: id.clone(),
        })
    }

    /// For an MCP `notifications/cancelled`: the server and the JSON-RPC id it withdraws.
    fn cancelled_mcp_request(&self) -> Option<(&str, &Value)> {
        let Request::Mcp {
            server_name,
            message,
        } = self
        else {
            return None;
        };
        if message.get("id").is_some()
            || message.get("method").and_then(Value::as_str) != Some("notifications/cancelled")
        {
            return None;
        }
        Some((server_name, message.pointer("/params/requestId")?))
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

/// A request's handler, recorded in flight and not yet started.
pub(super) struct Job {
    shared: Arc<Shared>,
    request_id: String,
    /// Handles the request and writes its answer.
    future: Pin<Box<dyn Future<Output = ()> + Send>>,
}

impl Job {
    /// Starts the handler as a task of the handlers' runtime.
    pub(super) fn spawn(self) {
        let task = crate::task::spawn_boxed_on(&self.shared.handler_runtime, self.future);
        // Cancelled meanwhile: the task finds itself out of the table and writes nothing.
        if let Some(entry) = lock(&self.shared.inflight).get_mut(&self.request_id) {
            entry.task = Some(task.abort_handle());
        }
    }

    /// Polls the handler once on this thread, in the handlers' runtime's
    /// context (its `tokio::spawn`, timers and I/O are that runtime's, as in
    /// a task of it); a handler not done after that poll goes on as a task.
    pub(super) fn run_inline(mut self) {
        // Withdrawn before it started: nothing to run, nothing to answer.
        if !lock(&self.shared.inflight).contains_key(&self.request_id) {
            return;
        }
        let polled = {
            let _runtime = self.shared.handler_runtime.enter();
            let mut cx = Context::from_waker(Waker::noop());
            std::panic::catch_unwind(AssertUnwindSafe(|| self.future.as_mut().poll(&mut cx)))
        };
        match polled {
            Ok(Poll::Ready(())) => {}
            // The waker of this poll was a no-op: the task polls again at once
            // and registers its own.
            Ok(Poll::Pending) => self.spawn(),
            Err(_) => {
                // Handlers catch their own panics: this is the SDK's, and the
                // request still gets its one answer.
                tracing::error!(request_id = %self.request_id, "a request's task panicked");
                if lock(&self.shared.inflight)
                    .remove(&self.request_id)
                    .is_some()
                {
                    let outcome: Result<Payload, String> =
                        Err("the SDK failed while handling the request".to_owned());
                    let line = wire::response_line(&self.request_id, &outcome);
                    let _ = self.shared.send_router_answer(line);
                }
            }
        }
    }
}

/// Records a request from the CLI and returns its handler, to be started;
/// `None` when there is nothing to run (a duplicate id, a cancellation
/// handled here).
pub(super) fn start(shared: &Arc<Shared>, request_id: String, request: Request) -> Option<Job> {
    // One lock to check for a duplicate and to record the request.
    let mut inflight = lock(&shared.inflight);
    if inflight.contains_key(&request_id) {
        // Ignored, as the TypeScript SDK does: an error under the same id would be
        // a second answer to the request in flight, which a CLI may take for its answer.
        drop(inflight);
        tracing::warn!(%request_id, "ignoring a request that reuses the id of one still in flight");
        return None;
    }
    if let Some((server_name, cancelled_id)) = request.cancelled_mcp_request()
        && shared.handlers.servers.contains(server_name)
    {
        drop(inflight);
        // Handled here, in order with the calls read before it.
        cancel_mcp_call(shared, server_name, cancelled_id);
        let ack = Ok(Payload::Mcp {
            mcp_response: JsonRpcAnswer::Value(crate::mcp::acknowledged()),
        });
        let _ = shared.send_router_answer(wire::response_line(&request_id, &ack));
        return None;
    }
    let cancellation = matches!(request, Request::ToolCall { .. } | Request::Mcp { .. })
        .then(|| Arc::new(Cancellation::default()));
    let entry = InFlight {
        task: None,
        mcp: request.mcp_request_id(),
        cancellation: cancellation.clone(),
    };
    inflight.insert(request_id.clone(), entry);
    drop(inflight);
    let task_shared = shared.clone();
    let task_id = request_id.clone();
    let subtype = request.subtype().to_owned();
    let span = match &request {
        Request::ToolCall {
            server_name,
            name,
            meta,
            ..
        } => shared
            .trace
            .tool_call(&request_id, server_name, name, meta.tool_use_id.as_deref()),
        Request::Other(value) => shared.trace.incoming(&request_id, &subtype, value),
        Request::Mcp { .. } => shared.trace.incoming(&request_id, &subtype, &Value::Null),
    };
    let task_span = span.clone();
    // On the handlers' runtime or a reading thread, never the core's: a
    // handler that blocks holds up only its own request.
    let future = Box::pin(
        async move {
            let outcome = handle(&task_shared, &subtype, request, cancellation).await;
            record_outcome(&task_span, &subtype, &outcome);
            // Gone from the table means cancelled: its answer, if any, is written.
            if lock(&task_shared.inflight).remove(&task_id).is_some() {
                if let Err(message) = &outcome {
                    tracing::debug!(%subtype, %message, "answering a CLI request with an error");
                }
                let _ = task_shared
                    .send_line(wire::response_line(&task_id, &outcome))
                    .await;
            }
        }
        .instrument(span),
    );
    Some(Job {
        shared: shared.clone(),
        request_id,
        future,
    })
}

/// What the answer says, on the request's span: a decision, or a failure.
fn record_outcome(span: &tracing::Span, subtype: &str, outcome: &Result<Payload, String>) {
    match outcome {
        Ok(Payload::Value(answer)) => trace::record_decision(span, subtype, answer),
        Ok(Payload::Mcp {
            mcp_response: JsonRpcAnswer::ToolResult { result, .. },
        }) if result.is_error => trace::record_error(span, "tool_error"),
        Ok(_) => {}
        Err(_) => trace::record_error(span, "control_error"),
    }
}

/// Answers a request that cannot be handled (unreadable, over the line limit)
/// with an error saying `why`; a duplicate of a request in flight is ignored.
pub(super) fn refuse(shared: &Shared, request_id: &str, why: &str) {
    if lock(&shared.inflight).contains_key(request_id) {
        tracing::warn!(%request_id, why, "ignoring an unreadable request that reuses the id of one still in flight");
        return;
    }
    tracing::warn!(%request_id, why, "answering an unreadable control request with an error");
    let outcome: Result<Payload, String> = Err(why.to_owned());
    let _ = shared.send_router_answer(wire::response_line(request_id, &outcome));
}

/// Cancels a request the CLI withdrew; no answer is written for it.
pub(super) fn cancel(shared: &Shared, request_id: &str) {
    match lock(&shared.inflight).remove(request_id) {
        Some(request) => {
            tracing::debug!(%request_id, "the CLI cancelled a request; aborting its handler");
            request.abort(&shared.handler_runtime);
        }
        None => tracing::debug!(%request_id, "cancel for a request that is not in flight"),
    }
}

/// Aborts this session's MCP request `id` on `server_name` (every one, should the
/// CLI have reused the id) and answers it `-32800 "Request cancelled"`.
fn cancel_mcp_call(shared: &Shared, server_name: &str, id: &Value) {
    let cancelled: Vec<(String, InFlight)> = {
        let mut inflight = lock(&shared.inflight);
        let named: Vec<String> = inflight
            .iter()
            .filter(|(_, request)| {
                request
                    .mcp
                    .as_ref()
                    .is_some_and(|mcp| mcp.server_name == server_name && mcp.id == *id)
            })
            .map(|(request_id, _)| request_id.clone())
            .collect();
        named
            .into_iter()
            .filter_map(|request_id| inflight.remove_entry(&request_id))
            .collect()
    };
    if cancelled.is_empty() {
        tracing::debug!(%server_name, %id, "notifications/cancelled for a call that is not in flight");
    }
    for (request_id, request) in cancelled {
        tracing::debug!(%request_id, %server_name, %id, "the CLI cancelled an MCP call; aborting its handler");
        request.abort(&shared.handler_runtime);
        let answer = Ok(Payload::Mcp {
            mcp_response: JsonRpcAnswer::Value(crate::mcp::request_cancelled(id.clone())),
        });
        let _ = shared.send_router_answer(wire::response_line(&request_id, &answer));
    }
}

/// Runs a request's handler inside the request's one panic catcher: an MCP
/// server's (a tool that panics answers an `isError` result, as MCP servers do)
/// or the control error of [`caught`].
///
/// Only a `tools/call` runs inline: the other handlers' futures are boxed, as
/// they are several KiB, and the request task's future, which tokio moves
/// (copies) three times per task, would be as large as the largest of them.
async fn handle(
    shared: &Arc<Shared>,
    subtype: &str,
    request: Request,
    cancellation: Option<Arc<Cancellation>>,
) -> Result<Payload, String> {
    let origin = |tool_use_id, progress_token| {
        CallOrigin::new(OriginParts {
            tool_use_id,
            progress_token,
            cancellation,
            link: Some(shared.clone() as Arc<dyn ClientLink>),
        })
    };
    match request {
        Request::ToolCall {
            server_name,
            id,
            name,
            arguments,
            meta,
        } => {
            let origin = origin(meta.tool_use_id, meta.progress_token);
            Ok(tool_call(shared, &server_name, id, &name, arguments, origin).await)
        }
        Request::Mcp {
            server_name,
            message,
        } => Ok(Box::pin(mcp_message(
            shared,
            &server_name,
            message,
            origin(None, None),
        ))
        .await),
        Request::Other(request) => {
            Box::pin(caught(subtype, handle_other(shared, subtype, request))).await
        }
    }
}

/// A `tools/call` read on the fast path.
async fn tool_call(
    shared: &Shared,
    server_name: &str,
    id: Value,
    name: &str,
    arguments: Value,
    origin: CallOrigin,
) -> Payload {
    let Some(server) = shared.handlers.servers.get(server_name) else {
        let mcp_response = crate::mcp::server_not_found(id, server_name);
        return Payload::Mcp {
            mcp_response: JsonRpcAnswer::Value(mcp_response),
        };
    };
    let result = server.call_tool_from(name, arguments, origin, None).await;
    Payload::Mcp {
        mcp_response: JsonRpcAnswer::ToolResult { id, result },
    }
}

/// Any other request: a handler that panics answers a control error.
async fn caught(
    subtype: &str,
    handler: impl Future<Output = Result<Payload, String>>,
) -> Result<Payload, String> {
    catch_panic(handler)
        .await
        .unwrap_or_else(|panic| Err(format!("the {subtype} handler panicked: {panic}")))
}

async fn handle_other(
    shared: &Shared,
    subtype: &str,
    mut request: Value,
) -> Result<Payload, String> {
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
            let origin = CallOrigin::default();
            return Ok(mcp_message(shared, &server_name, message, origin).await);
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
        "elicitation" => {
            crate::elicitation::answer(shared.handlers.elicitation.as_ref(), request).await
        }
        "request_user_dialog" => {
            crate::dialog::answer(shared.handlers.user_dialog.as_ref(), request).await
        }
        "" => Err("control request without a string `subtype`".to_owned()),
        other => Err(format!("Unsupported control request subtype: {other}")),
    };
    value.map(Payload::Value)
}

async fn mcp_message(
    shared: &Shared,
    server_name: &str,
    message: Value,
    origin: CallOrigin,
) -> Payload {
    let mcp_response = match shared.handlers.servers.get(server_name) {
        Some(server) => server.answer(message, origin).await,
        None => {
            let id = message.get("id").cloned().unwrap_or(Value::Null);
            JsonRpcAnswer::Value(crate::mcp::server_not_found(id, server_name))
        }
    };
    Payload::Mcp { mcp_response }
}
