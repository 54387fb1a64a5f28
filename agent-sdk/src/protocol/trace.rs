//! The session's `tracing` spans, all made here: the session, its turns, and the
//! control requests both ways (a tool call, a hook callback and a permission
//! decision are the CLI's requests with spans of their own kind).
//!
//! Names and attributes follow the OpenTelemetry GenAI conventions where they
//! apply (`invoke_agent`, `execute_tool <tool>`, `gen_ai.*`); the rest are
//! `agent_sdk.*`. `otel.name` is the exported name where it carries a value.
//! One span per session, turn or request, never per message: with no subscriber
//! each costs a callsite check.

use std::sync::Mutex;

use serde_json::Value;
use tracing::Span;
use tracing::field::Empty;

use super::lock;
use crate::message::ResultMessage;

/// Who GenAI spans name as the provider (`gen_ai.provider.name`, and the older `gen_ai.system`).
const PROVIDER: &str = "anthropic";

/// A span for one control request: the fields every such span has, then its own.
/// Its level is INFO, like every span here: an exporter filtered at `info` sees them all.
macro_rules! request_span {
    ($parent:expr, $name:literal, $direction:literal, $subtype:expr, $request_id:expr $(, $($field:tt)*)?) => {
        tracing::info_span!(
            parent: $parent,
            $name,
            otel.name = Empty,
            agent_sdk.control.direction = $direction,
            agent_sdk.control.subtype = %$subtype,
            agent_sdk.control.request_id = %$request_id,
            error.type = Empty,
            otel.status_code = Empty,
            $($($field)*)?
        )
    };
}

/// The spans of one session: the session's, and the turn that is open.
pub(super) struct SessionTrace {
    session: Span,
    /// The span current when the session started, as OpenTelemetry knows it.
    #[cfg(feature = "otel")]
    started_under: Option<crate::otel::propagation::SpanIds>,
    /// The model asked for (`gen_ai.request.model`), if the options name one.
    model: Option<String>,
    turn: Mutex<Option<Span>>,
    /// The session cost the previous `result` reported (results are cumulative).
    last_total_cost: Mutex<f64>,
}

impl SessionTrace {
    /// Opens the session span under the current span; it ends when the session is gone.
    pub(super) fn start(model: Option<&str>) -> Self {
        let current = Span::current();
        let session = tracing::info_span!(
            parent: tracing_parent(&current),
            "agent_session",
            gen_ai.provider.name = PROVIDER,
            gen_ai.system = PROVIDER,
            gen_ai.request.model = model,
            gen_ai.conversation.id = Empty,
            agent_sdk.total_cost_usd = Empty,
        );
        adopt(&session, &current);
        Self {
            session,
            #[cfg(feature = "otel")]
            started_under: crate::otel::propagation::ids(&current),
            model: model.map(str::to_owned),
            turn: Mutex::new(None),
            last_total_cost: Mutex::new(0.0),
        }
    }

    /// The CLI said which session this is (`system/init`).
    pub(super) fn conversation(&self, session_id: &str) {
        self.session.record("gen_ai.conversation.id", session_id);
        if let Some(turn) = lock(&self.turn).as_ref() {
            turn.record("gen_ai.conversation.id", session_id);
        }
    }

    /// A prompt went out: a turn opens, unless one is open.
    ///
    /// Its parent is the session, unless it was asked for under another span
    /// than the session was (a later HTTP request, say): then that span, and a
    /// turn in another trace than the session's links to the session.
    pub(super) fn begin_turn(&self) {
        let mut turn = lock(&self.turn);
        if turn.is_some() || self.session.is_disabled() {
            return;
        }
        let current = Span::current();
        let asked_elsewhere = self.asked_elsewhere(&current);
        let parent = match asked_elsewhere {
            Some(_) => tracing_parent(&current),
            None => self.session.id(),
        };
        let span = tracing::info_span!(
            parent: parent,
            "invoke_agent",
            gen_ai.operation.name = "invoke_agent",
            gen_ai.provider.name = PROVIDER,
            gen_ai.system = PROVIDER,
            gen_ai.request.model = self.model.as_deref(),
            gen_ai.conversation.id = Empty,
            gen_ai.response.finish_reasons = Empty,
            gen_ai.usage.input_tokens = Empty,
            gen_ai.usage.output_tokens = Empty,
            gen_ai.usage.cache_read.input_tokens = Empty,
            gen_ai.usage.cache_creation.input_tokens = Empty,
            agent_sdk.cost_usd = Empty,
            agent_sdk.total_cost_usd = Empty,
            agent_sdk.num_turns = Empty,
            error.type = Empty,
            otel.status_code = Empty,
        );
        if let Some(other_trace) = asked_elsewhere {
            adopt(&span, &current);
            if other_trace {
                link_to(&span, &self.session);
            }
        }
        *turn = Some(span);
    }

    /// The turn's `result`: its usage and cost go on the turn span, which ends.
    pub(super) fn end_turn(&self, result: &ResultMessage) {
        let Some(turn) = lock(&self.turn).take() else {
            return;
        };
        turn.record("gen_ai.conversation.id", result.session_id.as_str());
        if let Some(usage) = &result.usage {
            turn.record(
                "gen_ai.usage.input_tokens",
                count(usage.total_input_tokens()),
            );
            turn.record("gen_ai.usage.output_tokens", count(usage.output_tokens));
            if let Some(read) = usage.cache_read_input_tokens {
                turn.record("gen_ai.usage.cache_read.input_tokens", count(read));
            }
            if let Some(created) = usage.cache_creation_input_tokens {
                turn.record("gen_ai.usage.cache_creation.input_tokens", count(created));
            }
        }
        if let Some(reason) = &result.stop_reason {
            turn.record("gen_ai.response.finish_reasons", reason.as_str());
        }
        if let Some(total) = result.total_cost_usd {
            let mut last = lock(&self.last_total_cost);
            turn.record("agent_sdk.cost_usd", (total - *last).max(0.0));
            turn.record("agent_sdk.total_cost_usd", total);
            self.session.record("agent_sdk.total_cost_usd", total);
            *last = total;
        }
        turn.record("agent_sdk.num_turns", i64::from(result.num_turns));
        if result.is_error {
            turn.record("error.type", result.subtype.as_str());
            turn.record("otel.status_code", "ERROR");
        }
    }

    /// `Some` when `current` is an exported span other than the one the session
    /// started under; `Some(true)` when it is in another trace as well.
    #[cfg(feature = "otel")]
    fn asked_elsewhere(&self, current: &Span) -> Option<bool> {
        let (trace, span) = crate::otel::propagation::ids(current)?;
        match self.started_under {
            Some((_, started)) if started == span => None,
            _ => {
                let session_trace = crate::otel::propagation::ids(&self.session).map(|(t, _)| t);
                Some(session_trace != Some(trace))
            }
        }
    }

    /// Without OpenTelemetry there are no span ids to tell apart: turns go under the session.
    #[cfg(not(feature = "otel"))]
    fn asked_elsewhere(&self, _current: &Span) -> Option<bool> {
        None
    }

    /// The CLI is gone with a turn open: that turn ends, failed, with `why` as its `error.type`.
    pub(super) fn abandon_turn(&self, why: &str) {
        if let Some(turn) = lock(&self.turn).take() {
            record_error(&turn, why);
        }
    }

    /// Where a request's span goes: under the open turn, else under the session.
    fn parent(&self) -> Span {
        match lock(&self.turn).as_ref() {
            Some(turn) => turn.clone(),
            None => self.session.clone(),
        }
    }

    /// A control request we send to the CLI.
    pub(super) fn outgoing(&self, subtype: &str, request_id: &str) -> Span {
        let span = request_span!(
            &self.parent(),
            "control_request",
            "sdk->cli",
            subtype,
            request_id
        );
        name(&span, format_args!("control_request {subtype}"));
        span
    }

    /// An MCP `tools/call` the CLI sends to one of our in-process servers.
    pub(super) fn tool_call(
        &self,
        request_id: &str,
        server_name: &str,
        tool: &str,
        tool_use_id: Option<&str>,
    ) -> Span {
        let span = request_span!(
            &self.parent(),
            "execute_tool",
            "cli->sdk",
            "mcp_message",
            request_id,
            gen_ai.operation.name = "execute_tool",
            gen_ai.tool.name = Empty,
            gen_ai.tool.call.id = tool_use_id,
            mcp.method.name = "tools/call",
        );
        if !span.is_disabled() {
            let qualified = format!("mcp__{server_name}__{tool}");
            name(&span, format_args!("execute_tool {qualified}"));
            span.record("gen_ai.tool.name", qualified);
        }
        span
    }

    /// Any other request from the CLI: `can_use_tool` and `hook_callback` get
    /// spans of their own kind, the rest a `control_request` span.
    pub(super) fn incoming(&self, request_id: &str, subtype: &str, request: &Value) -> Span {
        let parent = self.parent();
        let text = |key: &str| request.get(key).and_then(Value::as_str);
        let span = match subtype {
            "can_use_tool" => request_span!(
                &parent,
                "permission",
                "cli->sdk",
                subtype,
                request_id,
                gen_ai.tool.name = text("tool_name"),
                gen_ai.tool.call.id = text("tool_use_id"),
                agent_sdk.permission.decision = Empty,
            ),
            "hook_callback" => {
                let input = |key: &str| request.get("input")?.get(key)?.as_str();
                let event = input("hook_event_name");
                let span = request_span!(
                    &parent,
                    "hook",
                    "cli->sdk",
                    subtype,
                    request_id,
                    agent_sdk.hook.event = event,
                    agent_sdk.hook.callback_id = text("callback_id"),
                    agent_sdk.hook.decision = Empty,
                    gen_ai.tool.name = input("tool_name"),
                    gen_ai.tool.call.id = text("tool_use_id"),
                );
                if let Some(event) = event {
                    name(&span, format_args!("hook {event}"));
                }
                return span;
            }
            _ => request_span!(&parent, "control_request", "cli->sdk", subtype, request_id),
        };
        if subtype != "can_use_tool" {
            name(&span, format_args!("control_request {subtype}"));
        }
        span
    }
}

/// The decision a `can_use_tool` or `hook_callback` answer carries, on its span.
pub(super) fn record_decision(span: &Span, subtype: &str, answer: &Value) {
    let (field, decision) = match subtype {
        "can_use_tool" => ("agent_sdk.permission.decision", answer.get("behavior")),
        "hook_callback" => (
            "agent_sdk.hook.decision",
            answer
                .pointer("/hookSpecificOutput/permissionDecision")
                .or_else(|| answer.get("decision")),
        ),
        _ => return,
    };
    if let Some(decision) = decision.and_then(Value::as_str) {
        span.record(field, decision);
    }
}

/// Sets the exported name; nothing is formatted for a span no one records.
fn name(span: &Span, name: std::fmt::Arguments<'_>) {
    if !span.is_disabled() {
        span.record("otel.name", name.to_string());
    }
}

/// A count as a signed integer: OpenTelemetry has no unsigned one, and
/// `tracing-opentelemetry` would export a `u64` as text.
fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Marks a span failed, with `kind` as its `error.type`.
pub(super) fn record_error(span: &Span, kind: &str) {
    span.record("error.type", kind);
    span.record("otel.status_code", "ERROR");
}

/// The `tracing` parent of a span that may outlive `parent` (a session started by
/// an HTTP request, a turn that ends after the request that asked for it).
/// `tracing` keeps a parent open while any child lives, which would stretch the
/// request's span over the session: with OpenTelemetry the span is a `tracing`
/// root instead, and [`adopt`] gives it its exported parent.
#[cfg(feature = "otel")]
fn tracing_parent(_parent: &Span) -> Option<tracing::Id> {
    None
}

#[cfg(not(feature = "otel"))]
fn tracing_parent(parent: &Span) -> Option<tracing::Id> {
    parent.id()
}

/// Makes `parent` the exported parent of `span` (see [`tracing_parent`]).
#[cfg(feature = "otel")]
fn adopt(span: &Span, parent: &Span) {
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    if crate::otel::propagation::ids(parent).is_some() {
        let _ = span.set_parent(parent.context());
    }
}

#[cfg(not(feature = "otel"))]
fn adopt(_span: &Span, _parent: &Span) {}

/// A turn in another trace than its session's links to the session.
#[cfg(feature = "otel")]
fn link_to(span: &Span, session: &Span) {
    use opentelemetry::trace::TraceContextExt as _;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    span.add_link(session.context().span().span_context().clone());
}

#[cfg(not(feature = "otel"))]
fn link_to(_span: &Span, _session: &Span) {}
