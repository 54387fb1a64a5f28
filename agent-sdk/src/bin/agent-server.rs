//! `agent-server`: the agent server on a port, configured by flags and
//! environment. `cargo run -p agent-sdk --features server --bin agent-server`
//! starts it on 127.0.0.1:8080 with SQLite in the working directory and,
//! without `ANTHROPIC_API_KEY`, the built-in offline model.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use agent_sdk::server::auth::{AuthConfig, JwtKey, check_listen};
use agent_sdk::server::limits::{Tier, Tiers};
use agent_sdk::server::offline::OfflineModel;
use agent_sdk::server::webhooks::WebhookConfig;
use agent_sdk::server::{AgentServer, ServerConfig, db};
use clap::{Parser, ValueEnum};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

/// Agent sessions over HTTP, Server-Sent Events and WebSocket.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Address to listen on (a non-loopback address needs a token or a JWT key).
    #[arg(long, env = "AGENT_SERVER_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Bearer token for the API (compared in constant time).
    #[arg(long, env = "AGENT_SERVER_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// HS256 secret of end-user JWTs.
    #[arg(long, env = "AGENT_SERVER_JWT_SECRET", hide_env_values = true)]
    jwt_secret: Option<String>,
    /// RS256 public key (PEM file) of end-user JWTs.
    #[arg(long, env = "AGENT_SERVER_JWT_PUBLIC_KEY")]
    jwt_public_key: Option<PathBuf>,
    /// `sqlite://path`, `postgres://...` or `memory://`.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://agent-server.db")]
    database_url: String,
    /// Serve `/metrics` without authentication on this address too.
    #[arg(long, env = "AGENT_SERVER_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
    /// The most sessions with a live CLI.
    #[arg(long, env = "AGENT_SERVER_MAX_SESSIONS")]
    max_sessions: Option<usize>,
    /// Messages that may wait per session.
    #[arg(long, env = "AGENT_SERVER_QUEUE_BOUND", default_value_t = 16)]
    queue_bound: usize,
    /// Seconds a permission request waits for an answer.
    #[arg(long, env = "AGENT_SERVER_PERMISSION_TIMEOUT", default_value_t = 300)]
    permission_timeout: u64,
    /// Seconds running turns get on SIGTERM.
    #[arg(long, env = "AGENT_SERVER_DRAIN_SECONDS", default_value_t = 30)]
    drain_seconds: u64,
    /// Seconds before an idle session gives its CLI back.
    #[arg(long, env = "AGENT_SERVER_IDLE_TIMEOUT", default_value_t = 300)]
    idle_timeout: u64,
    /// The `claude` executable (default: the pinned CLI, installed with npm if missing).
    #[arg(long, env = "AGENT_SERVER_CLI")]
    cli: Option<PathBuf>,
    /// Working directory of sessions (default: the offline model's scratch
    /// directory, or this process's).
    #[arg(long, env = "AGENT_SERVER_WORKDIR")]
    workdir: Option<PathBuf>,
    /// Tiers of limits as JSON: `{"default": "free", "tiers": {"free": {"max_sessions": 2,
    /// "max_turns": 8, "max_thinking_tokens": 4000, "budget_usd": 1.0}, ...}}`. Without it,
    /// the `--user-*` and `--max-turns` flags make the one default tier.
    #[arg(long, env = "AGENT_SERVER_TIERS")]
    tiers: Option<PathBuf>,
    /// Open sessions per user (429 past it), without `--tiers`.
    #[arg(long, env = "AGENT_SERVER_USER_MAX_SESSIONS", conflicts_with = "tiers")]
    user_max_sessions: Option<u32>,
    /// Spend per user in USD (402 on the next message past it), without `--tiers`.
    #[arg(long, env = "AGENT_SERVER_USER_BUDGET_USD", conflicts_with = "tiers")]
    user_budget_usd: Option<f64>,
    /// Agent turns per message, without `--tiers`.
    #[arg(long, env = "AGENT_SERVER_MAX_TURNS", conflicts_with = "tiers")]
    max_turns: Option<u32>,
    /// Requests per minute per caller (429 with Retry-After past it; 0: no limit).
    #[arg(long, env = "AGENT_SERVER_RATE_LIMIT", default_value_t = 0)]
    rate_limit: u32,
    /// The largest request body in bytes (413 past it).
    #[arg(long, env = "AGENT_SERVER_MAX_BODY_BYTES", default_value_t = 1 << 20)]
    max_body_bytes: usize,
    /// The longest message in characters (413 past it).
    #[arg(long, env = "AGENT_SERVER_MAX_MESSAGE_CHARS")]
    max_message_chars: Option<usize>,
    /// Root of the per-tenant work directories (`<root>/<tenant>/<user>/`).
    #[arg(long, env = "AGENT_SERVER_WORKDIR_ROOT")]
    workdir_root: Option<PathBuf>,
    /// Webhook targets as JSON: `{"tenants": {"acme": {"url": "...", "secret": "..."}},
    /// "default": {"url": "...", "secret": "..."}}`.
    #[arg(long, env = "AGENT_SERVER_WEBHOOKS")]
    webhooks: Option<PathBuf>,
    /// The webhook URL of every tenant without one in `--webhooks`.
    #[arg(long, env = "AGENT_SERVER_WEBHOOK_URL", requires = "webhook_secret")]
    webhook_url: Option<String>,
    /// The secret signing deliveries to `--webhook-url`.
    #[arg(long, env = "AGENT_SERVER_WEBHOOK_SECRET", hide_env_values = true)]
    webhook_secret: Option<String>,
    /// This host's id in the sessions' leases (default: a random one). Hosts
    /// sharing a database need distinct ids.
    #[arg(long, env = "AGENT_SERVER_HOST_ID")]
    host_id: Option<String>,
    /// The address other hosts and clients reach this one at, sent with a
    /// 421 for a session this host owns (default: `http://<listen address>`).
    #[arg(long, env = "AGENT_SERVER_ADVERTISE")]
    advertise: Option<String>,
    /// Seconds a session's lease holds without a heartbeat: how long after a
    /// host dies its sessions can move to another host.
    #[arg(long, env = "AGENT_SERVER_LEASE_TTL", default_value_t = 15.0, value_parser = seconds)]
    lease_ttl: f64,
    /// Seconds between two renewals of this host's leases.
    #[arg(long, env = "AGENT_SERVER_HEARTBEAT", default_value_t = 5.0, value_parser = seconds)]
    heartbeat: f64,
    /// Log lines as text or JSON.
    #[arg(
        long,
        env = "AGENT_SERVER_LOG_FORMAT",
        value_enum,
        default_value = "text"
    )]
    log_format: LogFormat,
    /// Export spans with OTLP/HTTP to `OTEL_EXPORTER_OTLP_ENDPOINT` (default
    /// http://localhost:4318); also on with the standard `OTEL_TRACES_EXPORTER=otlp`.
    /// Requests continue their callers' `traceparent`, and the CLIs join the trace.
    #[arg(long, env = "AGENT_SERVER_OTEL")]
    otel: bool,
}

/// A positive number of seconds (fractions allowed: `0.5`).
fn seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(value) if value.is_finite() && value > 0.0 => Ok(value),
        _ => Err(format!("{text:?} is not a positive number of seconds")),
    }
}

/// Logs on stderr, and spans to an OTLP collector when asked: the guard flushes them at exit.
fn init_logging(
    format: LogFormat,
    otel: bool,
) -> Result<Option<agent_sdk::otel::OtelGuard>, Box<dyn std::error::Error>> {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{EnvFilter, Layer};

    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let logs = match format {
        LogFormat::Json => logs.json().with_filter(filter).boxed(),
        LogFormat::Text => logs.with_filter(filter).boxed(),
    };
    let otel = otel || std::env::var("OTEL_TRACES_EXPORTER").is_ok_and(|value| value == "otlp");
    let (spans, guard) = if otel {
        let config = agent_sdk::otel::OtelConfig::new();
        let config = match std::env::var("OTEL_SERVICE_NAME") {
            Ok(name) if !name.is_empty() => config,
            _ => config.service_name("agent-server"),
        };
        let (layer, guard) = agent_sdk::otel::layer(config)?;
        (Some(layer), Some(guard))
    } else {
        (None, None)
    };
    tracing_subscriber::registry()
        .with(logs)
        .with(spans)
        .try_init()?;
    Ok(guard)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let _spans = match init_logging(args.log_format, args.otel) {
        Ok(guard) => guard,
        Err(err) => {
            eprintln!("agent-server: {err}");
            return ExitCode::FAILURE;
        }
    };
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err}");
            eprintln!("agent-server: {err}");
            ExitCode::FAILURE
        }
    }
}

/// One webhook target in the `--webhooks` file.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetFile {
    url: String,
    secret: String,
}

/// The `--webhooks` file.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhooksFile {
    #[serde(default)]
    tenants: std::collections::BTreeMap<String, TargetFile>,
    #[serde(default)]
    default: Option<TargetFile>,
}

fn webhook_config(args: &Args) -> Result<Option<WebhookConfig>, Box<dyn std::error::Error>> {
    let file: WebhooksFile = match &args.webhooks {
        Some(path) => serde_json::from_str(&std::fs::read_to_string(path)?)
            .map_err(|err| format!("{}: {err}", path.display()))?,
        None => WebhooksFile::default(),
    };
    let default = match (&args.webhook_url, &args.webhook_secret) {
        (Some(url), Some(secret)) => Some(TargetFile {
            url: url.clone(),
            secret: secret.clone(),
        }),
        _ => file.default,
    };
    if file.tenants.is_empty() && default.is_none() {
        return Ok(None);
    }
    let mut config = WebhookConfig::new();
    for (tenant, target) in file.tenants {
        config = config.tenant(tenant, target.url, target.secret);
    }
    if let Some(target) = default {
        config = config.default_target(target.url, target.secret);
    }
    Ok(Some(config))
}

fn tiers(args: &Args) -> Result<Tiers, Box<dyn std::error::Error>> {
    if let Some(path) = &args.tiers {
        return Ok(Tiers::from_file(path)?);
    }
    let tier = Tier {
        max_sessions: args.user_max_sessions,
        max_turns: args.max_turns,
        budget_usd: args.user_budget_usd,
        ..Tier::default()
    };
    Ok(Tiers::builder()
        .tier("default", tier)
        .default_tier("default")
        .build()?)
}

fn auth_config(args: &Args) -> Result<AuthConfig, Box<dyn std::error::Error>> {
    let mut auth = AuthConfig::new();
    if let Some(token) = &args.token {
        auth = auth.token(token.clone());
    }
    if let Some(secret) = &args.jwt_secret {
        auth = auth.jwt_key(JwtKey::hs256(secret));
    } else if let Some(path) = &args.jwt_public_key {
        auth = auth.jwt_key(JwtKey::rs256_pem(&std::fs::read(path)?)?);
    }
    Ok(auth)
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let auth = auth_config(&args)?;
    check_listen(args.listen, &auth)?;
    let cli = match &args.cli {
        Some(path) => path.clone(),
        None => agent_sdk::testing::ensure_cli().await?,
    };
    let mut config = ServerConfig::default()
        .cli_path(cli)
        .queue_bound(args.queue_bound)
        .permission_timeout(Duration::from_secs(args.permission_timeout))
        .drain_window(Duration::from_secs(args.drain_seconds))
        .idle_timeout(Duration::from_secs(args.idle_timeout));
    if let Some(max) = args.max_sessions {
        config = config.max_sessions(max);
    }
    config = config
        .tiers(tiers(&args)?)
        .rate_limit_per_minute(args.rate_limit)
        .max_body_bytes(args.max_body_bytes);
    if let Some(max) = args.max_message_chars {
        config = config.max_message_chars(max);
    }
    if let Some(root) = &args.workdir_root {
        config = config.workdir_root(root.clone());
    }
    if let Some(webhooks) = webhook_config(&args)? {
        config = config.webhooks(webhooks);
    }
    let has_key = std::env::var_os("ANTHROPIC_API_KEY").is_some_and(|k| !k.is_empty());
    let offline = if has_key {
        None
    } else {
        let model = OfflineModel::start().await?;
        tracing::info!("no ANTHROPIC_API_KEY: sessions use the built-in offline model");
        config = config.cli_env(model.env()).default_cwd(model.cwd());
        Some(model)
    };
    if let Some(dir) = &args.workdir {
        config = config.default_cwd(dir.clone());
    }
    // Bound first: the advertised address defaults to the one really bound (port 0).
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    let addr = listener.local_addr()?;
    config = config
        .advertise(
            args.advertise
                .clone()
                .unwrap_or_else(|| format!("http://{addr}")),
        )
        .lease_ttl(Duration::from_secs_f64(args.lease_ttl))
        .heartbeat(Duration::from_secs_f64(args.heartbeat));
    if args.advertise.is_none() && addr.ip().is_unspecified() {
        tracing::warn!(%addr, "listening on every interface without --advertise: other hosts cannot send clients here; set --advertise when hosts share a database");
    }
    if let Some(id) = &args.host_id {
        config = config.host_id(id.clone());
    }
    let database = db::open(&args.database_url).await?;
    let server = AgentServer::builder()
        .db(database)
        .config(config)
        .auth(auth)
        .build()
        .await?;

    if let Some(addr) = args.metrics_listen {
        let metrics = axum::Router::new()
            .route(
                "/metrics",
                axum::routing::get(agent_sdk::server::metrics::serve_metrics),
            )
            .with_state(server.metrics());
        let listener = tokio::net::TcpListener::bind(addr).await?;
        // The address really bound: the port may have been 0.
        let addr = listener.local_addr()?;
        tracing::info!(%addr, "metrics listening");
        tokio::spawn(async move { axum::serve(listener, metrics).await });
    }

    tracing::info!(%addr, "agent-server listening");
    // Tests and scripts read the bound address (the port may be 0) from this line.
    println!("agent-server listening on http://{addr}");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(
        axum::serve(listener, server.router())
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .into_future(),
    );
    shutdown_signal().await;
    tracing::info!("shutting down: draining");
    server.drain().await;
    let _ = stop.send(());
    // Open event streams never end by themselves: give them a moment, then go.
    let _ = tokio::time::timeout(Duration::from_secs(2), serving).await;
    drop(offline);
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
