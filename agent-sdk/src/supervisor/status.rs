//! What a caller can read about sessions: their state, health and the supervisor's events.

use std::time::{Duration, Instant};

/// Where a session stands.
///
/// ```
/// use agent_sdk::supervisor::SessionState;
/// assert!(SessionState::Idle.has_process());
/// assert!(!SessionState::Evicted.has_process());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionState {
    /// Its first CLI is starting.
    Starting,
    /// A CLI is live and no turn runs.
    Idle,
    /// A turn runs.
    Running,
    /// Its CLI died (or a restart was asked) and a new one is starting.
    Restarting,
    /// Its CLI was given back (idle, capacity, request); the next turn starts one.
    Evicted,
    /// It restarted too often and was given up; `last_error` says why.
    Failed,
}

impl SessionState {
    /// True while the session holds (or is starting) a CLI process.
    pub fn has_process(self) -> bool {
        matches!(
            self,
            SessionState::Starting
                | SessionState::Idle
                | SessionState::Running
                | SessionState::Restarting
        )
    }
}

/// Whether the session's current CLI carries the conversation of the one before it.
///
/// ```
/// use agent_sdk::supervisor::Conversation;
/// assert_ne!(Conversation::Resumed, Conversation::StartedFresh);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Conversation {
    /// The session's first CLI: nothing to carry yet.
    New,
    /// A restart or revival resumed the conversation by its CLI session id.
    Resumed,
    /// A restart or revival started a new conversation: no session id was known
    /// yet, resuming is not possible for these options, or the resume failed.
    StartedFresh,
}

/// Why a session's CLI was given back.
///
/// ```
/// use agent_sdk::supervisor::EvictReason;
/// assert_eq!(EvictReason::Idle.as_str(), "idle");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EvictReason {
    /// No turn and no subscriber for the idle timeout.
    Idle,
    /// Its slot went to another session (least recently used).
    Capacity,
    /// [`Supervisor::evict_session`](super::Supervisor::evict_session) asked for it.
    Requested,
}

impl EvictReason {
    /// A short label, for metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            EvictReason::Idle => "idle",
            EvictReason::Capacity => "capacity",
            EvictReason::Requested => "requested",
        }
    }
}

/// One session as [`list_sessions`](super::Supervisor::list_sessions) reports it.
///
/// ```no_run
/// # fn show(supervisor: &agent_sdk::supervisor::Supervisor<String>) {
/// for info in supervisor.list_sessions() {
///     println!("{}: {:?}, {} turns, ${:.4}", info.key, info.state, info.turns, info.cost_usd);
/// }
/// # }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SessionInfo<K> {
    /// The session's key.
    pub key: K,
    /// Where it stands.
    pub state: SessionState,
    /// Whether its current CLI carries the conversation of the one before.
    pub conversation: Conversation,
    /// Turns completed (with a result or an error).
    pub turns: u64,
    /// CLI restarts (deaths and requested restarts; not evictions).
    pub restarts: u64,
    /// CLI processes started for it so far (the first, restarts, revivals
    /// after an eviction): a result of another process than the last one
    /// seen tells its CLI changed.
    pub cli_starts: u64,
    /// Cost of its turns, from the CLI's results.
    pub cost_usd: f64,
    /// When it last started or finished a turn (or was started).
    pub last_activity: Instant,
    /// The CLI's session id, once a turn has told it: what a restart resumes.
    pub cli_session_id: Option<String>,
    /// Why its last CLI ended, or its last start failed.
    pub last_error: Option<String>,
}

/// A session's health, from [`health`](super::Supervisor::health).
///
/// ```no_run
/// # async fn check(supervisor: &agent_sdk::supervisor::Supervisor<&'static str>) {
/// let health = supervisor.health(&"alice").await.unwrap();
/// if !health.alive || health.answer_time.is_none() {
///     eprintln!("alice is unwell: {:?}", health.last_error);
/// }
/// # }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Health {
    /// Where the session stands.
    pub state: SessionState,
    /// True while its CLI process runs.
    pub alive: bool,
    /// The CLI's process id, while it runs.
    pub pid: Option<u32>,
    /// How long a cheap control request (`mcp_status`) took; `None` if it failed or timed out.
    pub answer_time: Option<Duration>,
    /// Why its last CLI ended (or the probe failed).
    pub last_error: Option<String>,
}

/// What happened to a session, as [`events`](super::Supervisor::events) streams it.
///
/// ```no_run
/// use agent_sdk::prelude::*;
/// use agent_sdk::supervisor::SupervisorEvent;
/// # async fn log(supervisor: &agent_sdk::supervisor::Supervisor<String>) {
/// let mut events = supervisor.events();
/// while let Some(event) = events.next().await {
///     if let SupervisorEvent::Failed { key, error } = event {
///         eprintln!("{key} failed: {error}");
///     }
/// }
/// # }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum SupervisorEvent<K> {
    /// A session's first CLI is connected.
    Started {
        /// The session.
        key: K,
        /// True when it took a warm spare.
        warm: bool,
    },
    /// A session's CLI was replaced.
    Restarted {
        /// The session.
        key: K,
        /// Why: the old CLI's exit, a failed start, or a request.
        reason: String,
        /// Whether the new CLI resumed the conversation.
        conversation: Conversation,
    },
    /// A session's CLI was given back.
    Evicted {
        /// The session.
        key: K,
        /// Why.
        reason: EvictReason,
    },
    /// A session's CLI came back for a turn after an eviction.
    Revived {
        /// The session.
        key: K,
        /// Whether it resumed the conversation.
        conversation: Conversation,
    },
    /// A session restarted too often and was given up.
    Failed {
        /// The session.
        key: K,
        /// The last exit's error.
        error: String,
    },
    /// A session was terminated and removed.
    Terminated {
        /// The session.
        key: K,
    },
}
