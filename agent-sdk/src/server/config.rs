//! How an agent server behaves: queues, event retention, timeouts, drain.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use super::events::LogLimits;
use super::limits::Tiers;
use super::webhooks::WebhookConfig;

/// Settings of an [`AgentServer`](super::AgentServer). The defaults suit a
/// small deployment: 16 queued turns per session, 512 events in memory per
/// session, 10,000 replayable, 5 minutes to answer a permission request, a
/// 30 s drain window, a keep-alive comment every 15 s, sessions' leases of
/// 15 s renewed every 5 s.
///
/// ```
/// use std::time::Duration;
/// use agent_sdk::server::ServerConfig;
/// let config = ServerConfig::default()
///     .queue_bound(4)
///     .permission_timeout(Duration::from_secs(60))
///     .max_sessions(100);
/// assert_eq!(config.queue_bound_value(), 4);
/// ```
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub(crate) queue_bound: usize,
    pub(crate) ring: usize,
    pub(crate) subscriber_bound: usize,
    pub(crate) replay_window: u64,
    pub(crate) permission_timeout: Duration,
    pub(crate) drain_window: Duration,
    pub(crate) keep_alive: Duration,
    pub(crate) max_sessions: Option<usize>,
    pub(crate) idle_timeout: Duration,
    pub(crate) cli_path: Option<PathBuf>,
    pub(crate) cli_env: BTreeMap<String, String>,
    pub(crate) default_cwd: Option<PathBuf>,
    pub(crate) tiers: Tiers,
    pub(crate) rate_limit_per_minute: Option<u32>,
    pub(crate) max_body_bytes: usize,
    pub(crate) max_message_chars: Option<usize>,
    pub(crate) workdir_root: Option<PathBuf>,
    pub(crate) webhooks: Option<WebhookConfig>,
    pub(crate) host_id: Option<String>,
    pub(crate) advertise: Option<String>,
    pub(crate) lease_ttl: Duration,
    pub(crate) heartbeat: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            queue_bound: 16,
            ring: 512,
            subscriber_bound: 1024,
            replay_window: 10_000,
            permission_timeout: Duration::from_secs(300),
            drain_window: Duration::from_secs(30),
            keep_alive: Duration::from_secs(15),
            max_sessions: None,
            idle_timeout: Duration::from_secs(300),
            cli_path: None,
            cli_env: BTreeMap::new(),
            default_cwd: None,
            tiers: Tiers::default(),
            rate_limit_per_minute: None,
            max_body_bytes: 1 << 20,
            max_message_chars: None,
            workdir_root: None,
            webhooks: None,
            host_id: None,
            advertise: None,
            lease_ttl: Duration::from_secs(15),
            heartbeat: Duration::from_secs(5),
        }
    }
}

impl ServerConfig {
    /// How many turns may wait behind a session's running turn; past it a message gets 503.
    pub fn queue_bound(mut self, bound: usize) -> Self {
        self.queue_bound = bound.max(1);
        self
    }

    /// The queue bound in effect.
    pub fn queue_bound_value(&self) -> usize {
        self.queue_bound
    }

    /// Events kept in memory per session (older ones are read from the database).
    pub fn ring(mut self, events: usize) -> Self {
        self.ring = events.max(1);
        self
    }

    /// Events a subscriber may fall behind before it is cut off with an `error` event.
    pub fn subscriber_bound(mut self, events: usize) -> Self {
        self.subscriber_bound = events.max(1);
        self
    }

    /// How many of a session's newest events a client may resume from; an older
    /// `Last-Event-ID` is answered 412.
    pub fn replay_window(mut self, events: u64) -> Self {
        self.replay_window = events.max(1);
        self
    }

    /// How long a permission request waits for a client before the call is denied.
    pub fn permission_timeout(mut self, timeout: Duration) -> Self {
        self.permission_timeout = timeout;
        self
    }

    /// How long running turns get to finish on a drain.
    pub fn drain_window(mut self, window: Duration) -> Self {
        self.drain_window = window;
        self
    }

    /// How often an idle SSE stream gets a keep-alive comment.
    pub fn keep_alive(mut self, every: Duration) -> Self {
        self.keep_alive = every;
        self
    }

    /// The most sessions with a live CLI at once; a new session past it gets 503.
    pub fn max_sessions(mut self, max: usize) -> Self {
        self.max_sessions = Some(max);
        self
    }

    /// A session with no turn and no subscriber for this long gives its CLI back
    /// (it resumes on its next message).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// The `claude` executable every session runs (default: found on `PATH`).
    pub fn cli_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.cli_path = Some(path.into());
        self
    }

    /// Environment for every session's CLI, applied after the options hook's
    /// (the binary points the CLI at the offline model this way).
    pub fn cli_env(mut self, env: impl IntoIterator<Item = (String, String)>) -> Self {
        self.cli_env.extend(env);
        self
    }

    /// The working directory of sessions whose options set none.
    pub fn default_cwd(mut self, dir: impl Into<PathBuf>) -> Self {
        self.default_cwd = Some(dir.into());
        self
    }

    /// The tiers of limits (sessions per user, turns, thinking tokens, budget
    /// per user in USD); a principal's `tier` claim picks one, the default
    /// tier the rest.
    ///
    /// ```
    /// use agent_sdk::server::ServerConfig;
    /// use agent_sdk::server::limits::{Tier, Tiers};
    /// let tiers = Tiers::builder()
    ///     .tier("free", Tier { max_sessions: Some(1), budget_usd: Some(0.5), ..Tier::default() })
    ///     .default_tier("free")
    ///     .build()?;
    /// let config = ServerConfig::default().tiers(tiers);
    /// # Ok::<(), agent_sdk::server::limits::LimitsError>(())
    /// ```
    pub fn tiers(mut self, tiers: Tiers) -> Self {
        self.tiers = tiers;
        self
    }

    /// Requests per minute per caller on the authenticated routes (429 with
    /// `Retry-After` past it); 0 turns the limit off (the default).
    pub fn rate_limit_per_minute(mut self, per_minute: u32) -> Self {
        self.rate_limit_per_minute = (per_minute > 0).then_some(per_minute);
        self
    }

    /// The largest request body in bytes (413 past it; default 1 MiB).
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes.max(1);
        self
    }

    /// The longest message text in characters (413 `message_too_long` past it).
    pub fn max_message_chars(mut self, chars: usize) -> Self {
        self.max_message_chars = Some(chars);
        self
    }

    /// Every session works under `<root>/<tenant>/<user>/` (see
    /// [`tenant_workdir`](super::workdir::tenant_workdir)); a request's `cwd`
    /// is taken relative to it, and one escaping it is a 400.
    pub fn workdir_root(mut self, root: impl Into<PathBuf>) -> Self {
        self.workdir_root = Some(root.into());
        self
    }

    /// Signed webhooks per tenant, delivered from the database's outbox.
    pub fn webhooks(mut self, config: WebhookConfig) -> Self {
        self.webhooks = Some(config);
        self
    }

    /// This host's id in the sessions' leases (default: a random one per process).
    /// Hosts sharing a database need distinct ids.
    pub fn host_id(mut self, id: impl Into<String>) -> Self {
        self.host_id = Some(id.into());
        self
    }

    /// Where other hosts and clients reach this one (`http://10.0.0.5:8080`):
    /// a request for a session this host owns, sent to another host, is
    /// answered 421 with this address. Hosts sharing a database must each
    /// set their own; without one the server takes itself for the only host
    /// (a lease a crashed process of it left is its own at once).
    ///
    /// ```
    /// use std::time::Duration;
    /// use agent_sdk::server::ServerConfig;
    /// let config = ServerConfig::default()
    ///     .host_id("host-a")
    ///     .advertise("http://10.0.0.5:8080")
    ///     .lease_ttl(Duration::from_secs(15))
    ///     .heartbeat(Duration::from_secs(5));
    /// # let _ = config;
    /// ```
    pub fn advertise(mut self, address: impl Into<String>) -> Self {
        self.advertise = Some(address.into());
        self
    }

    /// How long a session's lease holds without renewal: after a host dies,
    /// its sessions move to another host this long after its last heartbeat
    /// (default 15 s).
    pub fn lease_ttl(mut self, ttl: Duration) -> Self {
        self.lease_ttl = ttl.max(Duration::from_millis(100));
        self
    }

    /// How often the host renews the leases of its sessions (default 5 s;
    /// keep it well under the TTL).
    pub fn heartbeat(mut self, every: Duration) -> Self {
        self.heartbeat = every.max(Duration::from_millis(10));
        self
    }

    pub(crate) fn log_limits(&self) -> LogLimits {
        LogLimits {
            ring: self.ring,
            subscriber_bound: self.subscriber_bound,
            replay_window: self.replay_window,
        }
    }
}
