//! The server's Prometheus metrics: sessions, tasks, turns, tokens and cost,
//! tool calls, permission requests, SSE replays, and HTTP requests by route.
//!
//! One [`ServerMetrics`] per server, shared in an `Arc`; the parts that see
//! an event call its method, the `/metrics` route calls [`ServerMetrics::render`].
//!
//! ```
//! use std::time::Duration;
//! use agent_sdk::server::metrics::ServerMetrics;
//!
//! let metrics = ServerMetrics::new();
//! metrics.session_created();
//! metrics.task_finished("completed", Duration::from_secs(3));
//! let text = metrics.render();
//! assert!(text.contains("agent_server_sessions_created_total 1"));
//! assert!(text.contains("agent_server_tasks_finished_total{status=\"completed\"} 1"));
//! ```

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::{EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::db::Usage;

/// The `Content-Type` of [`ServerMetrics::render`]'s text (OpenMetrics,
/// which Prometheus reads).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A label value, escaped on output as the exposition format requires
/// (`\\`, `\"`, `\n`): the encoder writes values verbatim, and reasons or
/// outcomes come from callers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct LabelText(String);

impl EncodeLabelValue for LabelText {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> std::fmt::Result {
        for c in self.0.chars() {
            match c {
                '\\' => encoder.write_str("\\\\")?,
                '"' => encoder.write_str("\\\"")?,
                '\n' => encoder.write_str("\\n")?,
                c => encoder.write_char(c)?,
            }
        }
        Ok(())
    }
}

type Labels = Vec<(&'static str, LabelText)>;
type CounterFamily = Family<Labels, Counter>;
type HistogramFamily = Family<Labels, Histogram, fn() -> Histogram>;

fn labels<const N: usize>(pairs: [(&'static str, &str); N]) -> Labels {
    pairs
        .into_iter()
        .map(|(key, value)| (key, LabelText(value.to_owned())))
        .collect()
}

/// HTTP request durations: 1 ms to about 33 s.
fn http_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

/// Turn and task durations: 100 ms to about 27 minutes.
fn work_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.1, 2.0, 15))
}

/// Every metric of the server, registered under the `agent_server_` prefix.
pub struct ServerMetrics {
    registry: Registry,
    sessions_created: Counter,
    sessions_evicted: CounterFamily,
    live_sessions: Gauge,
    running_turns: Gauge,
    running_tasks: Gauge,
    tasks_finished: CounterFamily,
    task_duration: HistogramFamily,
    turns: Counter,
    turn_duration: Histogram,
    tokens: CounterFamily,
    cost_usd: Counter<f64, AtomicU64>,
    tool_calls: CounterFamily,
    permissions: CounterFamily,
    sse_replays: Counter,
    sse_gone: Counter,
    takeovers: Counter,
    http_requests: CounterFamily,
    http_duration: HistogramFamily,
}

impl std::fmt::Debug for ServerMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerMetrics").finish_non_exhaustive()
    }
}

impl Default for ServerMetrics {
    fn default() -> Self {
        let metrics = Self {
            registry: Registry::with_prefix("agent_server"),
            sessions_created: Counter::default(),
            sessions_evicted: Family::default(),
            live_sessions: Gauge::default(),
            running_turns: Gauge::default(),
            running_tasks: Gauge::default(),
            tasks_finished: Family::default(),
            task_duration: Family::new_with_constructor(work_histogram),
            turns: Counter::default(),
            turn_duration: work_histogram(),
            tokens: Family::default(),
            cost_usd: Counter::default(),
            tool_calls: Family::default(),
            permissions: Family::default(),
            sse_replays: Counter::default(),
            sse_gone: Counter::default(),
            takeovers: Counter::default(),
            http_requests: Family::default(),
            http_duration: Family::new_with_constructor(http_histogram),
        };
        metrics.registered()
    }
}

impl ServerMetrics {
    /// All metrics at zero, in an `Arc` to share.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Registers every metric (clones share their values) under its name.
    fn registered(mut self) -> Self {
        let r = &mut self.registry;
        r.register(
            "sessions_created",
            "Sessions created",
            self.sessions_created.clone(),
        );
        r.register(
            "sessions_evicted",
            "Sessions evicted, by reason",
            self.sessions_evicted.clone(),
        );
        r.register(
            "live_sessions",
            "Sessions with a live CLI",
            self.live_sessions.clone(),
        );
        r.register(
            "running_turns",
            "Turns running now",
            self.running_turns.clone(),
        );
        r.register(
            "running_tasks",
            "Tasks running now",
            self.running_tasks.clone(),
        );
        r.register(
            "tasks_finished",
            "Tasks finished, by status",
            self.tasks_finished.clone(),
        );
        r.register(
            "task_duration_seconds",
            "Task durations, by status",
            self.task_duration.clone(),
        );
        r.register("turns", "Turns completed", self.turns.clone());
        r.register(
            "turn_duration_seconds",
            "Turn durations",
            self.turn_duration.clone(),
        );
        r.register(
            "tokens",
            "Tokens used, by kind (input, output)",
            self.tokens.clone(),
        );
        r.register(
            "cost_usd",
            "Cost in US dollars as the CLI reported it",
            self.cost_usd.clone(),
        );
        r.register(
            "tool_calls",
            "Tool calls, by outcome",
            self.tool_calls.clone(),
        );
        r.register(
            "permission_requests",
            "Permission requests, by outcome",
            self.permissions.clone(),
        );
        r.register(
            "sse_replays",
            "SSE subscriptions that replayed events (Last-Event-ID or ?after=)",
            self.sse_replays.clone(),
        );
        r.register(
            "sse_gone",
            "SSE replays refused with 412 (the sequence number is no longer retained)",
            self.sse_gone.clone(),
        );
        r.register(
            "takeovers",
            "Sessions taken over from another server",
            self.takeovers.clone(),
        );
        r.register(
            "http_requests",
            "HTTP requests, by route, method and status",
            self.http_requests.clone(),
        );
        r.register(
            "http_request_duration_seconds",
            "HTTP request durations until the response head, by route, method and status",
            self.http_duration.clone(),
        );
        self
    }

    /// A session was created.
    pub fn session_created(&self) {
        self.sessions_created.inc();
    }

    /// A session's CLI was given back, by reason: the server counts the
    /// supervisor's evictions (`idle`, `capacity`, `requested`) and the
    /// sessions it gave up after too many restarts (`failed`).
    pub fn session_evicted(&self, reason: &str) {
        self.sessions_evicted
            .get_or_create(&labels([("reason", reason)]))
            .inc();
    }

    /// Sets the number of sessions with a live CLI.
    pub fn set_live_sessions(&self, count: usize) {
        self.live_sessions.set(gauge_value(count));
    }

    /// Sets the number of turns running.
    pub fn set_running_turns(&self, count: usize) {
        self.running_turns.set(gauge_value(count));
    }

    /// Sets the number of tasks (`POST /v1/tasks`) running.
    pub fn set_running_tasks(&self, count: usize) {
        self.running_tasks.set(gauge_value(count));
    }

    /// A task ended with `status` (`completed`, `failed`, `interrupted`) after `duration`.
    pub fn task_finished(&self, status: &str, duration: Duration) {
        let labels = labels([("status", status)]);
        self.tasks_finished.get_or_create(&labels).inc();
        self.task_duration
            .get_or_create(&labels)
            .observe(duration.as_secs_f64());
    }

    /// A turn completed with this usage (its own, not a running sum) after `duration`.
    pub fn turn_completed(&self, usage: &Usage, duration: Duration) {
        self.turns.inc();
        self.turn_duration.observe(duration.as_secs_f64());
        for (kind, count) in [
            ("input", usage.input_tokens),
            ("output", usage.output_tokens),
        ] {
            self.tokens
                .get_or_create(&labels([("kind", kind)]))
                .inc_by(count);
        }
        if usage.cost_usd.is_finite() && usage.cost_usd > 0.0 {
            self.cost_usd.inc_by(usage.cost_usd);
        }
    }

    /// A tool call ended with `outcome` (`ok`, `error`, `denied`, ...).
    pub fn tool_call(&self, outcome: &str) {
        self.tool_calls
            .get_or_create(&labels([("outcome", outcome)]))
            .inc();
    }

    /// A permission request was resolved with `outcome` (`allow`, `deny`, `timeout`, ...).
    pub fn permission(&self, outcome: &str) {
        self.permissions
            .get_or_create(&labels([("outcome", outcome)]))
            .inc();
    }

    /// An SSE subscriber replayed events after a sequence number.
    pub fn sse_replay(&self) {
        self.sse_replays.inc();
    }

    /// An SSE replay was refused with 412.
    pub fn sse_gone(&self) {
        self.sse_gone.inc();
    }

    /// A session was taken over from another server.
    pub fn takeover(&self) {
        self.takeovers.inc();
    }

    /// An HTTP request to `route` (the matched path pattern) ended with `status`.
    pub fn http_request(&self, route: &str, method: &Method, status: u16, duration: Duration) {
        let status = status.to_string();
        let labels = labels([
            ("route", route),
            ("method", method_label(method)),
            ("status", &status),
        ]);
        self.http_requests.get_or_create(&labels).inc();
        self.http_duration
            .get_or_create(&labels)
            .observe(duration.as_secs_f64());
    }

    /// Every metric in the text exposition format (see [`CONTENT_TYPE`]).
    pub fn render(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String does not fail");
        text
    }
}

fn gauge_value(count: usize) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

/// Methods outside the standard set share one label: a client cannot grow
/// the number of series by inventing methods.
fn method_label(method: &Method) -> &'static str {
    const KNOWN: [(Method, &str); 9] = [
        (Method::GET, "GET"),
        (Method::POST, "POST"),
        (Method::PUT, "PUT"),
        (Method::PATCH, "PATCH"),
        (Method::DELETE, "DELETE"),
        (Method::HEAD, "HEAD"),
        (Method::OPTIONS, "OPTIONS"),
        (Method::CONNECT, "CONNECT"),
        (Method::TRACE, "TRACE"),
    ];
    KNOWN
        .iter()
        .find(|(known, _)| known == method)
        .map_or("other", |(_, name)| name)
}

/// Axum middleware: counts each request by route pattern (`MatchedPath`;
/// `unmatched` for 404s of no route), method and status, and observes its
/// duration until the response head (a stream's body is not waited for).
/// Add it with `Router::layer` so the route is known.
///
/// ```
/// use agent_sdk::server::metrics::{ServerMetrics, track_http};
/// use axum::{Router, middleware, routing::get};
///
/// let metrics = ServerMetrics::new();
/// let app: Router = Router::new()
///     .route("/v1/sessions/{id}", get(|| async { "ok" }))
///     .layer(middleware::from_fn_with_state(metrics, track_http));
/// ```
pub async fn track_http(
    State(metrics): State<Arc<ServerMetrics>>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let method = request.method().clone();
    let start = Instant::now();
    let response = next.run(request).await;
    metrics.http_request(&route, &method, response.status().as_u16(), start.elapsed());
    response
}

/// An axum handler for `GET /metrics`: [`ServerMetrics::render`] with its
/// content type.
///
/// ```
/// use agent_sdk::server::metrics::{ServerMetrics, serve_metrics};
/// let app: axum::Router = axum::Router::new()
///     .route("/metrics", axum::routing::get(serve_metrics))
///     .with_state(ServerMetrics::new());
/// ```
pub async fn serve_metrics(State(metrics): State<Arc<ServerMetrics>>) -> Response {
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))],
        metrics.render(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        let metrics = ServerMetrics::default();
        metrics.session_evicted("a \"quoted\" back\\slash\nnewline");
        assert!(
            metrics.render().contains(
                "agent_server_sessions_evicted_total{reason=\"a \\\"quoted\\\" back\\\\slash\\nnewline\"} 1"
            ),
            "{}",
            metrics.render()
        );
    }

    #[test]
    fn odd_methods_share_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "other");
    }
}
