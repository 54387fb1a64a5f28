//! The agent server: many agent sessions behind HTTP, Server-Sent Events and
//! WebSocket, with permission requests answered by a person, users, tenants
//! and tiers, limits, usage, webhooks, persistence and metrics.
//!
//! Layers, each importing only the ones below it:
//!
//! | module | job |
//! |---|---|
//! | `http` | the axum routes, SSE, WebSocket, errors, OpenAPI |
//! | `host` | sessions and tasks on the [`Supervisor`](crate::supervisor::Supervisor): turns, events, permissions, usage |
//! | `events` | each session's event log: sequence numbers, in-memory ring, replay, subscribers |
//! | `auth`, `limits`, `metrics`, `webhooks` | bearer tokens, tickets and JWTs; tiers and rate limits; Prometheus; signed deliveries from the outbox |
//! | [`db`] | the server's records (sessions, tasks, events, usage, webhook outbox) in SQLite or PostgreSQL |
//!
//! Transcripts are mirrored to the [`SessionStore`](crate::store::SessionStore)
//! of the same database, so a session resumes with its history after a restart.

pub mod auth;
mod config;
mod console;
pub mod db;
mod error;
mod events;
mod host;
mod http;
pub mod limits;
pub mod metrics;
pub mod offline;
pub mod webhooks;
pub mod workdir;

use std::sync::Arc;

use axum::Router;

pub use config::ServerConfig;
pub use error::ApiError;
pub use events::EventKind;
pub use host::{OptionsHook, SessionSpec, TaskRequest};

use self::auth::{AuthConfig, AuthError, Authenticator, Principal};
use self::db::{DbError, ServerDb};
use self::host::Host;
use self::http::AppState;
use self::metrics::ServerMetrics;
use crate::options::{AgentOptions, AgentOptionsBuilder};

/// Why a server could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// No database was given.
    #[error("no database: call AgentServerBuilder::db (see server::db::open)")]
    NoDatabase,
    /// The database failed while the server recovered its sessions.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The authentication settings are not usable.
    #[error(transparent)]
    Auth(#[from] AuthError),
}

/// The agent server: an axum [`Router`] to serve or mount, over a database,
/// a supervisor of sessions and an authenticator.
///
/// ```no_run
/// use agent_sdk::AgentOptions;
/// use agent_sdk::server::{AgentServer, ServerConfig};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let db = agent_sdk::server::db::open("sqlite://agent-server.db").await?;
/// let server = AgentServer::builder()
///     .db(db)
///     .config(ServerConfig::default().max_sessions(50))
///     // Every session gets the app's own options; the request's fields go on top.
///     .options(|_spec, _principal| AgentOptions::builder().max_turns(8))
///     .build()
///     .await?;
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// axum::serve(listener, server.router()).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct AgentServer {
    state: AppState,
}

impl std::fmt::Debug for AgentServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentServer").finish_non_exhaustive()
    }
}

impl AgentServer {
    /// A builder; [`db`](AgentServerBuilder::db) is required.
    pub fn builder() -> AgentServerBuilder {
        AgentServerBuilder {
            config: ServerConfig::default(),
            db: None,
            options: Arc::new(|_, _| AgentOptions::builder()),
            auth: AuthConfig::new(),
            metrics: None,
        }
    }

    /// The routes (see the README for the API), with authentication and
    /// request metrics. `GET /metrics` is included, behind authentication;
    /// `GET /` is the web console (a page without data, served to anyone).
    pub fn router(&self) -> Router {
        let metrics = self.state.host.metrics.clone();
        let metrics_route = Router::new()
            .route("/metrics", axum::routing::get(metrics::serve_metrics))
            .with_state(metrics.clone())
            .layer(axum::middleware::from_fn_with_state(
                self.state.auth.clone(),
                auth::require_auth,
            ));
        http::router(self.state.clone())
            .merge(metrics_route)
            .merge(console::router())
            .layer(axum::middleware::from_fn_with_state(
                metrics,
                metrics::track_http,
            ))
    }

    /// The OpenAPI 3.1 document of [`router`](Self::router)'s routes.
    pub fn openapi() -> serde_json::Value {
        http::document()
    }

    /// The server's metrics (for a separate `--metrics-listen` listener).
    pub fn metrics(&self) -> Arc<ServerMetrics> {
        self.state.host.metrics.clone()
    }

    /// Stops taking work (`/readyz` and new sessions and messages answer 503),
    /// gives running turns the drain window, then pauses every session
    /// (each resumes on its next message, here or after a restart).
    pub async fn drain(&self) {
        self.state.host.drain().await;
    }
}

/// Builds an [`AgentServer`].
pub struct AgentServerBuilder {
    config: ServerConfig,
    db: Option<Arc<dyn ServerDb>>,
    options: OptionsHook,
    auth: AuthConfig,
    metrics: Option<Arc<ServerMetrics>>,
}

impl std::fmt::Debug for AgentServerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentServerBuilder")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl AgentServerBuilder {
    /// The settings.
    pub fn config(mut self, config: ServerConfig) -> Self {
        self.config = config;
        self
    }

    /// The database (from [`db::open`]).
    pub fn db(mut self, db: Arc<dyn ServerDb>) -> Self {
        self.db = Some(db);
        self
    }

    /// Each session's base options from its request and caller: the app's
    /// tools, hooks, settings. The request's fields, the permission bridge and
    /// the session store are applied on top.
    pub fn options(
        mut self,
        hook: impl Fn(&SessionSpec, &Principal) -> AgentOptionsBuilder + Send + Sync + 'static,
    ) -> Self {
        self.options = Arc::new(hook);
        self
    }

    /// Authentication (default: none, every caller anonymous; serve on loopback only).
    pub fn auth(mut self, auth: AuthConfig) -> Self {
        self.auth = auth;
        self
    }

    /// Shares a metrics registry (default: a new one).
    pub fn metrics(mut self, metrics: Arc<ServerMetrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Checks the settings and marks what a previous process left running as
    /// paused (sessions) or interrupted (tasks).
    pub async fn build(self) -> Result<AgentServer, ServerError> {
        let db = self.db.ok_or(ServerError::NoDatabase)?;
        let auth = Arc::new(Authenticator::new(self.auth)?);
        let metrics = self.metrics.unwrap_or_default();
        let host = Arc::new(Host::new(self.config, db, self.options, metrics));
        host.recover().await?;
        host.start_heartbeat();
        host.follow_supervisor();
        Ok(AgentServer {
            state: AppState { host, auth },
        })
    }
}
