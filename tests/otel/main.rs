//! The SDK's spans exported over OTLP to a collector of ours on loopback, with the
//! real CLI and the scripted fake Messages API: their names, parents and GenAI
//! attributes, the trace context the CLI receives, and the agent server continuing
//! a caller's `traceparent`.
//!
//! A process of its own: it installs the global `tracing` subscriber (the OTLP
//! layer) once, and each test looks only at the trace of its own root span.

use std::sync::LazyLock;
use std::time::Duration;

use agent_sdk::otel::{OtelConfig, OtelGuard, TraceContext};
use agent_sdk_e2e::otlp::{Collector, ExportedSpan};

mod sdk;
mod server;

/// The collector and the exporter every test of this process shares.
struct Telemetry {
    collector: Collector,
    guard: OtelGuard,
}

static TELEMETRY: LazyLock<Telemetry> = LazyLock::new(|| {
    let collector = Collector::start();
    let guard = agent_sdk::otel::init(
        OtelConfig::new()
            .endpoint(collector.endpoint())
            .service_name("agent-sdk-tests"),
    )
    .expect("the OTLP exporter installs");
    Telemetry { collector, guard }
});

fn telemetry() -> &'static Telemetry {
    &TELEMETRY
}

/// The trace id of an exported span.
fn trace_id(span: &tracing::Span) -> String {
    TraceContext::of(span)
        .and_then(|context| context.trace_id().map(str::to_owned))
        .expect("the span is exported")
}

/// Sends the finished spans until `done` holds for those of `trace` (the CLI
/// exports on its own schedule; a server's turn ends after the request), and
/// returns them; after 30 s, whatever arrived.
async fn exported(trace: &str, done: impl Fn(&[ExportedSpan]) -> bool) -> Vec<ExportedSpan> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        tokio::task::spawn_blocking(|| telemetry().guard.flush())
            .await
            .expect("flush");
        let spans = telemetry().collector.trace(trace);
        if done(&spans) || tokio::time::Instant::now() >= deadline {
            return spans;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Whether every name in `names` is among the spans.
fn has_all(spans: &[ExportedSpan], names: &[&str]) -> bool {
    names
        .iter()
        .all(|name| spans.iter().any(|span| span.name == *name))
}

/// The one span named `name` (the exported name).
fn one<'a>(spans: &'a [ExportedSpan], name: &str) -> &'a ExportedSpan {
    let found: Vec<_> = spans.iter().filter(|span| span.name == name).collect();
    assert_eq!(
        found.len(),
        1,
        "one {name:?} span expected in {}",
        names(spans)
    );
    found[0]
}

fn names(spans: &[ExportedSpan]) -> String {
    spans
        .iter()
        .map(|span| format!("{} ({})", span.name, span.service))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Asserts `child`'s parent is `parent`.
fn assert_parent(child: &ExportedSpan, parent: &ExportedSpan) {
    assert_eq!(
        child.parent_span_id, parent.span_id,
        "{:?} should be a child of {:?}",
        child.name, parent.name
    );
}
