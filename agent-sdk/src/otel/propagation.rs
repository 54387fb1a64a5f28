//! W3C trace context in and out: `traceparent`/`tracestate` from an incoming
//! request onto a span, and from the current span into the CLI's environment.

use std::collections::HashMap;

use opentelemetry::propagation::TextMapPropagator as _;
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// A W3C trace context: what the `traceparent` and `tracestate` headers carry.
///
/// ```
/// let context = agent_sdk::otel::TraceContext::current();
/// // None: no OpenTelemetry layer is installed, or no span is current.
/// assert!(context.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    /// `00-<trace id>-<span id>-<flags>`.
    pub traceparent: String,
    /// Vendor entries, if any.
    pub tracestate: Option<String>,
}

impl TraceContext {
    /// The context of the current `tracing` span, if it is exported with
    /// OpenTelemetry (see [`layer`](super::layer)).
    ///
    /// ```
    /// if let Some(context) = agent_sdk::otel::TraceContext::current() {
    ///     println!("traceparent: {}", context.traceparent);
    /// }
    /// ```
    pub fn current() -> Option<TraceContext> {
        Self::of(&tracing::Span::current())
    }

    /// The context of `span`, if it is exported with OpenTelemetry.
    ///
    /// ```
    /// let span = tracing::info_span!("work");
    /// assert!(agent_sdk::otel::TraceContext::of(&span).is_none()); // no layer installed
    /// ```
    pub fn of(span: &tracing::Span) -> Option<TraceContext> {
        let context = span.context();
        if !context.span().span_context().is_valid() {
            return None;
        }
        let mut carrier = HashMap::new();
        TraceContextPropagator::new().inject_context(&context, &mut carrier);
        Some(TraceContext {
            traceparent: carrier.remove("traceparent")?,
            tracestate: carrier
                .remove("tracestate")
                .filter(|state| !state.is_empty()),
        })
    }

    /// The trace id, 32 hex digits (from `traceparent`).
    ///
    /// ```
    /// let context = agent_sdk::otel::TraceContext {
    ///     traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into(),
    ///     tracestate: None,
    /// };
    /// assert_eq!(context.trace_id(), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
    /// ```
    pub fn trace_id(&self) -> Option<&str> {
        self.traceparent
            .split('-')
            .nth(1)
            .filter(|id| id.len() == 32)
    }
}

/// Makes a remote caller's trace the parent of `span` (which must not have been
/// entered yet): the `traceparent`/`tracestate` of an incoming HTTP request, say.
/// Returns whether `traceparent` was valid and `span` took it.
///
/// ```
/// let span = tracing::info_span!("handle_request");
/// let continued = agent_sdk::otel::continue_trace(
///     &span,
///     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
///     None,
/// );
/// // false here: no OpenTelemetry layer is installed, so the span is not exported.
/// assert!(!continued);
/// ```
pub fn continue_trace(span: &tracing::Span, traceparent: &str, tracestate: Option<&str>) -> bool {
    let mut carrier = HashMap::from([("traceparent".to_owned(), traceparent.to_owned())]);
    if let Some(state) = tracestate {
        carrier.insert("tracestate".to_owned(), state.to_owned());
    }
    let context = TraceContextPropagator::new().extract(&carrier);
    if !context.span().span_context().is_valid() {
        return false;
    }
    span.set_parent(context).is_ok()
}

/// The trace and span ids of an exported span.
pub(crate) type SpanIds = (opentelemetry::trace::TraceId, opentelemetry::trace::SpanId);

/// The OpenTelemetry ids of `span`, if it is exported.
pub(crate) fn ids(span: &tracing::Span) -> Option<SpanIds> {
    if span.is_disabled() {
        return None;
    }
    let context = span.context();
    let span_context = context.span().span_context().clone();
    span_context
        .is_valid()
        .then(|| (span_context.trace_id(), span_context.span_id()))
}
