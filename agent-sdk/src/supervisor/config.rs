//! How a supervisor behaves: restart intensity, queue bound, idle eviction, capacity.

use std::sync::Arc;
use std::time::Duration;

use crate::options::AgentOptions;

/// What [`start_session`](super::Supervisor::start_session) (or a turn that revives an
/// evicted session) does when `max_sessions` CLI processes are already live.
///
/// ```
/// use agent_sdk::supervisor::{CapacityPolicy, SupervisorConfig};
/// let config = SupervisorConfig::default()
///     .max_sessions(50)
///     .capacity_policy(CapacityPolicy::EvictLeastRecentlyUsed);
/// # let _ = config;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum CapacityPolicy {
    /// Refuse with [`SupervisorError::AtCapacity`](super::SupervisorError::AtCapacity)
    /// (an HTTP server answers 503).
    #[default]
    Refuse,
    /// Evict the idle session used least recently; refuse only when none is idle.
    EvictLeastRecentlyUsed,
}

/// Settings of a [`Supervisor`](super::Supervisor). Defaults follow OTP and the
/// hosting guides: 3 restarts in 5 s, 128 queued turns, 300 s idle timeout, no cap.
///
/// ```
/// use std::time::Duration;
/// use agent_sdk::supervisor::SupervisorConfig;
/// let config = SupervisorConfig::default()
///     .max_restarts(5, Duration::from_secs(10))
///     .idle_timeout(Duration::from_secs(60))
///     .queue_bound(16);
/// assert_eq!(config.queue_bound_value(), 16);
/// ```
#[derive(Debug, Clone)]
pub struct SupervisorConfig {
    pub(super) max_restarts: usize,
    pub(super) restart_window: Duration,
    pub(super) queue_bound: usize,
    pub(super) idle_timeout: Duration,
    pub(super) reap_interval: Option<Duration>,
    pub(super) max_sessions: Option<usize>,
    pub(super) capacity_policy: CapacityPolicy,
    pub(super) health_timeout: Duration,
    pub(super) interrupt_grace: Duration,
}

impl Default for SupervisorConfig {
    fn default() -> Self {
        Self {
            max_restarts: 3,
            restart_window: Duration::from_secs(5),
            queue_bound: 128,
            idle_timeout: Duration::from_secs(300),
            reap_interval: None,
            max_sessions: None,
            capacity_policy: CapacityPolicy::Refuse,
            health_timeout: Duration::from_secs(5),
            interrupt_grace: Duration::from_secs(10),
        }
    }
}

impl SupervisorConfig {
    /// More than `restarts` restarts of one session within `window` and it is failed.
    pub fn max_restarts(mut self, restarts: usize, window: Duration) -> Self {
        self.max_restarts = restarts;
        self.restart_window = window;
        self
    }

    /// How many turns may wait behind a session's running turn (at least 1).
    pub fn queue_bound(mut self, bound: usize) -> Self {
        self.queue_bound = bound.max(1);
        self
    }

    /// The queue bound in effect.
    pub fn queue_bound_value(&self) -> usize {
        self.queue_bound
    }

    /// A session with no turn and no subscriber for this long gives its CLI back.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// How often the reaper looks for idle sessions (default: a quarter of the idle
    /// timeout, between 10 ms and 30 s).
    pub fn reap_interval(mut self, interval: Duration) -> Self {
        self.reap_interval = Some(interval);
        self
    }

    /// The most sessions with a live CLI process at once (warm spares not counted).
    pub fn max_sessions(mut self, max: usize) -> Self {
        self.max_sessions = Some(max);
        self
    }

    /// What happens past `max_sessions`.
    pub fn capacity_policy(mut self, policy: CapacityPolicy) -> Self {
        self.capacity_policy = policy;
        self
    }

    /// How long [`health`](super::Supervisor::health) waits for the CLI's answer.
    pub fn health_timeout(mut self, timeout: Duration) -> Self {
        self.health_timeout = timeout;
        self
    }

    /// After a shutdown deadline interrupts a turn, how long the turn gets to end.
    pub fn interrupt_grace(mut self, grace: Duration) -> Self {
        self.interrupt_grace = grace;
        self
    }

    pub(super) fn reap_every(&self) -> Duration {
        self.reap_interval.unwrap_or_else(|| {
            (self.idle_timeout / 4).clamp(Duration::from_millis(10), Duration::from_secs(30))
        })
    }
}

/// Named options for warm spares: [`prewarm`](super::Supervisor::prewarm) keeps CLIs
/// started with them, [`start_profile_session`](super::Supervisor::start_profile_session)
/// takes one. Cheap to clone.
///
/// ```
/// use agent_sdk::AgentOptions;
/// use agent_sdk::supervisor::Profile;
/// let support = Profile::new("support", AgentOptions::builder().max_turns(5).build()?);
/// assert_eq!(support.name(), "support");
/// # Ok::<(), agent_sdk::Error>(())
/// ```
#[derive(Clone)]
pub struct Profile {
    pub(super) name: Arc<str>,
    pub(super) options: AgentOptions,
}

impl std::fmt::Debug for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Profile")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Profile {
    /// A profile: a name for a set of options.
    pub fn new(name: impl Into<Arc<str>>, options: AgentOptions) -> Self {
        Self {
            name: name.into(),
            options,
        }
    }

    /// The profile's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}
