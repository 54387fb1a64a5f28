//! The sessions and tasks of an agent server on a [`Supervisor`]: what the
//! HTTP layer calls. Each live session has an event log, its open permission
//! requests and its record; the database has every session's record, so one
//! not live in this process (after a restart) is loaded on first use.
//!
//! Hosts sharing a database own sessions by lease (see `leases`): a session
//! owned by another live host is answered 421 with its address; one whose
//! owner died is taken over.

mod leases;
mod permissions;
mod sessions;
mod supervision;
mod tasks;
mod turns;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::auth::Principal;
use super::config::ServerConfig;
use super::db::{DbError, ServerDb, SessionRecord};
use super::error::ApiError;
use super::events::{EventLog, EventWriter, Lost};
use super::limits::{RateLimiter, Tier};
use super::metrics::ServerMetrics;
use super::webhooks::Webhooks;
use crate::options::AgentOptionsBuilder;
use crate::permission::PermissionMode;
use crate::supervisor::{Supervisor, SupervisorConfig, SupervisorError};

pub(crate) use permissions::{AnswerError, Decision};
pub use tasks::TaskRequest;

/// What a client asks for when it creates a session (`POST /v1/sessions`);
/// stored with the session, so its options can be built again after a restart.
///
/// ```
/// let spec: agent_sdk::server::SessionSpec = serde_json::from_value(serde_json::json!({
///     "system_prompt": "You are terse.", "max_turns": 3, "permission_mode": "default"
/// })).unwrap();
/// assert_eq!(spec.max_turns, Some(3));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SessionSpec {
    /// The system prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_prompt: Option<String>,
    /// The model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The most agent turns per message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_turns: Option<u32>,
    /// Tools allowed without asking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_tools: Option<Vec<String>>,
    /// The permission mode (`default` asks the session's clients).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission_mode: Option<PermissionMode>,
    /// The end user (a service caller may name one; a user's token sets it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The tenant (as `user`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// The caller's metadata, returned as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    /// The working directory; with a work-dir root, relative to the
    /// session's `<root>/<tenant>/<user>/` (escaping it is a 400).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<std::path::PathBuf>,
}

/// Builds a session's options from its spec and the caller: where an app
/// mounting the router adds its own tools, hooks and settings. The server
/// then applies the spec's fields, its permission bridge and the session store.
pub type OptionsHook = Arc<dyn Fn(&SessionSpec, &Principal) -> AgentOptionsBuilder + Send + Sync>;

/// A random id with a prefix: `ses_3f2a...` (128 bits from the OS).
pub(crate) fn new_id(prefix: &str) -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // No OS randomness: time and a counter still give unique ids in this process.
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        bytes[..8].copy_from_slice(&super::events::now_millis().to_le_bytes());
        bytes[8..].copy_from_slice(&n.to_le_bytes());
    }
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}_{hex}")
}

/// A session's lease as this host finds it.
pub(crate) enum LeaseState {
    /// Another live host owns the session.
    HeldElsewhere,
    /// Nobody live holds it: writes go under `epoch` (`None`: it never had a lease).
    Free { epoch: Option<u64> },
}

pub(crate) fn db_error(err: DbError) -> ApiError {
    tracing::error!(%err, "database error");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "database_error",
        err.to_string(),
    )
}

pub(crate) fn supervisor_error(err: SupervisorError) -> ApiError {
    match err {
        SupervisorError::AtCapacity { max_sessions } => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "at_capacity",
            format!("{max_sessions} sessions are live; try again later"),
        ),
        SupervisorError::QueueFull { bound } => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "queue_full",
            format!(
                "the session already has {bound} messages waiting; try again after a turn completes"
            ),
        ),
        SupervisorError::ShuttingDown => draining(),
        SupervisorError::NoSuchSession => {
            ApiError::new(StatusCode::NOT_FOUND, "not_found", "the session is gone")
        }
        other => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "session_error",
            other.to_string(),
        ),
    }
}

pub(crate) fn draining() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "draining",
        "the server is shutting down; try another instance",
    )
}

pub(crate) fn not_found(what: &str, id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no {what} {id:?}"),
    )
}

/// A session loaded in this process.
pub(crate) struct LiveSession {
    pub(crate) id: String,
    pub(crate) log: Arc<EventLog>,
    pub(crate) permissions: Arc<permissions::Permissions>,
    pub(crate) principal: Principal,
    pub(crate) spec: SessionSpec,
    record: Mutex<SessionRecord>,
    /// Turns accepted so far (the number of the next one is this + 1).
    turns_sent: AtomicU64,
    /// Turns accepted and not yet complete.
    active_turns: AtomicUsize,
    /// Which of its supervised session's CLI processes
    /// ([`SessionInfo::cli_starts`](crate::supervisor::SessionInfo::cli_starts))
    /// reported the last result charged (`None`: none since this host started
    /// the CLI): a result of another is a new process's first.
    cli_process: Mutex<Option<u64>>,
    /// Serializes starting its CLI.
    start: tokio::sync::Mutex<()>,
    /// Its lease epoch on this host: every write for it carries this.
    pub(crate) epoch: u64,
    /// Until when its lease is known held (by the last take or renewal);
    /// past it, the database is asked before the session is served or its
    /// transcript written.
    lease: Arc<LeaseHold>,
    /// Clients streaming its events (SSE, WebSocket) right now.
    watchers: AtomicUsize,
    /// While there are watchers, a subscription to its supervised session:
    /// the supervisor does not evict a session with a subscriber for idleness.
    pin: Mutex<Option<crate::supervisor::Subscription>>,
}

/// Held by a client streaming a session's events: while one is held, the
/// session's CLI is not evicted for idleness (see [`Host::watch`]).
pub(crate) struct Watch {
    live: Arc<LiveSession>,
}

impl Drop for Watch {
    fn drop(&mut self) {
        // Under the pin's lock, so a watcher arriving meanwhile pins again after.
        let mut pin = lock(&self.live.pin);
        if self.live.watchers.fetch_sub(1, Ordering::AcqRel) == 1 {
            pin.take();
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl LiveSession {
    pub(crate) fn record(&self) -> SessionRecord {
        lock(&self.record).clone()
    }

    /// Subscribes to its supervised session if someone watches and nothing holds it yet.
    fn pin_if_watched(&self, supervisor: &Supervisor<String>) {
        let mut pin = lock(&self.pin);
        if self.watchers.load(Ordering::Acquire) > 0 && pin.is_none() {
            *pin = supervisor
                .session(&self.id)
                .and_then(|handle| handle.subscribe().ok());
        }
    }
}

/// How long this host knows it holds a session's lease, and whether it let
/// the session go.
pub(crate) struct LeaseHold {
    until: Mutex<Instant>,
    pub(crate) dropped: AtomicBool,
}

impl LeaseHold {
    pub(crate) fn new(until: Instant) -> Self {
        LeaseHold {
            until: Mutex::new(until),
            dropped: AtomicBool::new(false),
        }
    }

    /// Held for sure: renewed (or taken) less than the TTL ago.
    pub(crate) fn fresh(&self) -> bool {
        !self.dropped.load(Ordering::Acquire) && Instant::now() < *lock(&self.until)
    }

    pub(crate) fn renewed(&self, until: Instant) {
        let mut held = lock(&self.until);
        *held = (*held).max(until);
    }

    pub(crate) fn dropped(&self) {
        self.dropped.store(true, Ordering::Release);
    }
}

/// Everything the routes share.
pub(crate) struct Host {
    pub(crate) config: ServerConfig,
    pub(crate) db: Arc<dyn ServerDb>,
    pub(crate) metrics: Arc<ServerMetrics>,
    supervisor: Supervisor<String>,
    sessions: Mutex<HashMap<String, Arc<LiveSession>>>,
    writer: EventWriter,
    options: OptionsHook,
    draining: AtomicBool,
    started: Instant,
    running_turns: AtomicUsize,
    /// Tasks started and not finished (their turns are among the running turns).
    running_tasks: AtomicUsize,
    pub(crate) limiter: Option<Arc<RateLimiter>>,
    webhooks: Option<Webhooks>,
    deliverer: Option<tokio::task::JoinHandle<()>>,
    /// This host's id and advertised address in the leases.
    pub(crate) host_id: String,
    pub(crate) address: String,
    /// Serializes loading sessions from the database (taking their leases).
    loading: tokio::sync::Mutex<()>,
    /// Sessions whose writes were refused; the heartbeat drops them.
    lost: Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<Lost>>>,
    heartbeat: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// The supervisor's events until the follower takes them, then the follower.
    supervisor_events: Mutex<Option<supervision::SupervisorEvents>>,
    follower: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Drop for Host {
    fn drop(&mut self) {
        if let Some(deliverer) = &self.deliverer {
            deliverer.abort();
        }
        if let Some(heartbeat) = lock(&self.heartbeat).take() {
            heartbeat.abort();
        }
        if let Some(follower) = lock(&self.follower).take() {
            follower.abort();
        }
    }
}

impl Host {
    pub(crate) fn new(
        config: ServerConfig,
        db: Arc<dyn ServerDb>,
        options: OptionsHook,
        metrics: Arc<ServerMetrics>,
    ) -> Host {
        let mut supervisor_config = SupervisorConfig::default()
            .queue_bound(config.queue_bound)
            .idle_timeout(config.idle_timeout);
        if let Some(max) = config.max_sessions {
            supervisor_config = supervisor_config.max_sessions(max);
        }
        let limiter = config
            .rate_limit_per_minute
            .map(|per_minute| Arc::new(RateLimiter::per_minute(per_minute)));
        let webhooks = config
            .webhooks
            .clone()
            .map(|hooks| Webhooks::new(db.clone(), hooks));
        let deliverer = webhooks.as_ref().map(Webhooks::start);
        let (writer, lost) = EventWriter::start(db.clone());
        let supervisor = Supervisor::new(supervisor_config);
        let supervisor_events: supervision::SupervisorEvents = Box::pin(supervisor.events());
        Host {
            limiter,
            webhooks,
            deliverer,
            host_id: config.host_id.clone().unwrap_or_else(|| new_id("host")),
            address: config.advertise.clone().unwrap_or_default(),
            loading: tokio::sync::Mutex::new(()),
            lost: Mutex::new(Some(lost)),
            heartbeat: Mutex::new(None),
            supervisor_events: Mutex::new(Some(supervisor_events)),
            follower: Mutex::new(None),
            writer,
            supervisor,
            sessions: Mutex::new(HashMap::new()),
            config,
            db,
            metrics,
            options,
            draining: AtomicBool::new(false),
            started: Instant::now(),
            running_turns: AtomicUsize::new(0),
            running_tasks: AtomicUsize::new(0),
        }
    }

    pub(crate) fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    pub(crate) fn uptime(&self) -> std::time::Duration {
        self.started.elapsed()
    }

    /// Sessions with a live CLI in this process.
    pub(crate) fn live_sessions(&self) -> usize {
        self.supervisor.counters().sessions_live as usize
    }

    pub(crate) fn running_turns(&self) -> usize {
        self.running_turns.load(Ordering::Acquire)
    }

    pub(crate) fn running_tasks(&self) -> usize {
        self.running_tasks.load(Ordering::Acquire)
    }

    /// The caller's tier of limits; an unknown tier name is a 403.
    pub(crate) fn tier(&self, principal: &Principal) -> Result<Tier, ApiError> {
        self.config
            .tiers
            .for_principal(principal)
            .map(|(_, tier)| *tier)
            .map_err(|err| ApiError::new(StatusCode::FORBIDDEN, "unknown_tier", err.to_string()))
    }

    /// Puts a webhook event in the outbox (when webhooks are configured);
    /// a database failure is logged, never the request's failure.
    pub(crate) async fn webhook(&self, tenant: Option<&str>, event: &str, payload: Value) {
        if let Some(webhooks) = &self.webhooks
            && let Err(err) = webhooks.emit(tenant, event, payload).await
        {
            tracing::warn!(%err, event, "could not queue a webhook");
        }
    }

    /// When a lease taken or renewed now runs out: locally (with the time
    /// the database call takes on the safe side) and in the database.
    fn lease_deadline(&self) -> (Instant, super::db::Millis) {
        let ttl = self.config.lease_ttl;
        let millis = super::db::Millis::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        (
            Instant::now() + ttl,
            super::events::now_millis().saturating_add(millis),
        )
    }

    /// Marks a client as streaming the session's events until the guard is
    /// dropped; meanwhile idle eviction leaves its CLI alone.
    pub(crate) fn watch(&self, live: &Arc<LiveSession>) -> Watch {
        live.watchers.fetch_add(1, Ordering::AcqRel);
        live.pin_if_watched(&self.supervisor);
        Watch { live: live.clone() }
    }

    fn update_gauges(&self) {
        self.metrics.set_live_sessions(self.live_sessions());
        self.metrics.set_running_turns(self.running_turns());
        self.metrics.set_running_tasks(self.running_tasks());
    }
}
