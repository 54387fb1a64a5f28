//! OpenTelemetry export of the SDK's `tracing` spans (feature `otel`).
//!
//! The SDK always creates `tracing` spans (cheap when nothing listens): one per
//! session, turn, tool call, hook, permission decision and control request, named
//! after the OpenTelemetry GenAI conventions where they apply (`invoke_agent`,
//! `execute_tool <name>`, `gen_ai.usage.input_tokens`, ...). This module sends them
//! to an OTLP/HTTP collector: [`init`] installs a subscriber that does, [`layer`]
//! gives the layer for a subscriber of your own. With the feature on, the CLI
//! also gets the trace context current when its transport is built, as
//! `TRACEPARENT`/`TRACESTATE`, so the CLI's own spans join the caller's trace.
//!
//! ```no_run
//! use agent_sdk::otel::{self, OtelConfig};
//! use agent_sdk::prelude::*;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // Endpoint from OTEL_EXPORTER_OTLP_ENDPOINT (default http://localhost:4318).
//! let _otel = otel::init(OtelConfig::new().service_name("billing-agent"))?;
//! let mut replies = query("Hello", AgentOptions::builder().build()?);
//! while let Some(message) = replies.next().await {
//!     message?;
//! }
//! // Dropping the guard flushes the spans still buffered.
//! # Ok(())
//! # }
//! ```

mod http;
pub(crate) mod propagation;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

pub use propagation::{TraceContext, continue_trace};

/// Where and how spans are exported.
///
/// ```
/// let config = agent_sdk::otel::OtelConfig::new()
///     .endpoint("http://127.0.0.1:4318")
///     .service_name("my-agent")
///     .filter("agent_sdk=info,my_agent=debug");
/// # let _ = config;
/// ```
#[derive(Debug, Clone)]
pub struct OtelConfig {
    endpoint: Option<String>,
    service_name: String,
    filter: String,
}

impl Default for OtelConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl OtelConfig {
    /// The standard environment decides the endpoint (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`,
    /// else `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`, else `http://localhost:4318`);
    /// service name `OTEL_SERVICE_NAME` or `agent-sdk`; spans at `info` and above.
    ///
    /// ```
    /// let config = agent_sdk::otel::OtelConfig::new();
    /// # let _ = config;
    /// ```
    pub fn new() -> Self {
        Self {
            endpoint: None,
            service_name: std::env::var("OTEL_SERVICE_NAME")
                .ok()
                .filter(|name| !name.is_empty())
                .unwrap_or_else(|| "agent-sdk".to_owned()),
            filter: "info".to_owned(),
        }
    }

    /// The collector's base URL, as `OTEL_EXPORTER_OTLP_ENDPOINT` would give it
    /// (`/v1/traces` is appended); wins over the environment.
    ///
    /// ```
    /// let config = agent_sdk::otel::OtelConfig::new().endpoint("http://collector:4318");
    /// # let _ = config;
    /// ```
    pub fn endpoint(mut self, base_url: impl Into<String>) -> Self {
        self.endpoint = Some(base_url.into());
        self
    }

    /// The `service.name` resource attribute of every span.
    ///
    /// ```
    /// let config = agent_sdk::otel::OtelConfig::new().service_name("agent-server");
    /// # let _ = config;
    /// ```
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = name.into();
        self
    }

    /// Which spans are exported, as `tracing_subscriber::EnvFilter` directives
    /// (default `info`: every span of the SDK).
    ///
    /// ```
    /// let config = agent_sdk::otel::OtelConfig::new().filter("agent_sdk=info");
    /// # let _ = config;
    /// ```
    pub fn filter(mut self, directives: impl Into<String>) -> Self {
        self.filter = directives.into();
        self
    }

    fn traces_endpoint(&self) -> Option<String> {
        self.endpoint
            .as_deref()
            .map(|base| format!("{}/v1/traces", base.trim_end_matches('/')))
    }
}

/// Why the exporter could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OtelError {
    /// The exporter could not be built (a bad endpoint, for instance).
    #[error("the OTLP exporter could not be built: {0}")]
    Exporter(String),
    /// The filter directives did not parse.
    #[error("invalid span filter: {0}")]
    Filter(String),
    /// A global `tracing` subscriber was already installed (use [`layer`] with it).
    #[error("a global tracing subscriber is already installed: {0}")]
    AlreadyInstalled(String),
}

/// Keeps the exporter alive; dropping it flushes the buffered spans and shuts the
/// exporter down.
///
/// ```no_run
/// # fn run() -> Result<(), agent_sdk::otel::OtelError> {
/// let guard = agent_sdk::otel::init(agent_sdk::otel::OtelConfig::new())?;
/// // ... work ...
/// guard.flush(); // or just drop it
/// # Ok(())
/// # }
/// ```
#[must_use = "dropping the guard shuts the exporter down"]
#[derive(Debug)]
pub struct OtelGuard {
    provider: SdkTracerProvider,
}

impl OtelGuard {
    /// Sends every finished span now (blocks until the collector answered).
    ///
    /// ```no_run
    /// # fn run(guard: &agent_sdk::otel::OtelGuard) {
    /// guard.flush();
    /// # }
    /// ```
    pub fn flush(&self) {
        if let Err(err) = self.provider.force_flush() {
            tracing::warn!(%err, "flushing spans to the OTLP collector failed");
        }
    }
}

impl Drop for OtelGuard {
    fn drop(&mut self) {
        self.flush();
        let _ = self.provider.shutdown();
    }
}

/// The OpenTelemetry layer, for a `tracing` subscriber of your own, and its guard.
///
/// ```no_run
/// use tracing_subscriber::layer::SubscriberExt;
/// use tracing_subscriber::util::SubscriberInitExt;
///
/// # fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let (otel_layer, _guard) = agent_sdk::otel::layer(agent_sdk::otel::OtelConfig::new())?;
/// tracing_subscriber::registry()
///     .with(otel_layer)
///     .with(tracing_subscriber::fmt::layer())
///     .try_init()?;
/// # Ok(())
/// # }
/// ```
pub fn layer<S>(
    config: OtelConfig,
) -> Result<(impl tracing_subscriber::Layer<S> + Send + Sync, OtelGuard), OtelError>
where
    S: tracing::Subscriber + for<'span> LookupSpan<'span> + Send + Sync,
{
    use tracing_subscriber::Layer as _;
    let filter = tracing_subscriber::EnvFilter::try_new(&config.filter)
        .map_err(|err| OtelError::Filter(err.to_string()))?;
    let mut exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_http_client(http::BlockingClient::default());
    if let Some(endpoint) = config.traces_endpoint() {
        exporter = exporter.with_endpoint(endpoint);
    }
    let exporter = exporter
        .build()
        .map_err(|err| OtelError::Exporter(err.to_string()))?;
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(config.service_name)
        .build();
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build();
    let tracer = provider.tracer("agent-sdk");
    // Span timing and thread attributes are noise next to the GenAI ones.
    let layer = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_tracked_inactivity(false)
        .with_threads(false)
        .with_filter(filter);
    Ok((layer, OtelGuard { provider }))
}

/// Installs a global `tracing` subscriber that exports spans over OTLP/HTTP.
///
/// `RUST_LOG` is not read: the exported spans are chosen by
/// [`OtelConfig::filter`]. For logs as well, build your own subscriber with [`layer`].
///
/// ```no_run
/// # fn run() -> Result<(), agent_sdk::otel::OtelError> {
/// let _guard = agent_sdk::otel::init(
///     agent_sdk::otel::OtelConfig::new().endpoint("http://127.0.0.1:4318"),
/// )?;
/// # Ok(())
/// # }
/// ```
pub fn init(config: OtelConfig) -> Result<OtelGuard, OtelError> {
    let (layer, guard) = layer(config)?;
    tracing_subscriber::registry()
        .with(layer)
        .try_init()
        .map_err(|err| OtelError::AlreadyInstalled(err.to_string()))?;
    Ok(guard)
}
