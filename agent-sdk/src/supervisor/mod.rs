//! A supervisor of many named sessions, for hosting agents in a server.
//!
//! Each session is a CLI process behind a key of yours (a name, a `(tenant, user)`
//! pair). The supervisor runs each session's turns one at a time, restarts a CLI
//! that dies and resumes its conversation by the CLI session id, gives idle CLIs
//! back (evicted, not forgotten: the next turn resumes), caps the live CLIs,
//! keeps warm spares, reports health, events and counters, and leaves no CLI
//! behind: on Linux its CLIs die with the process, even on SIGKILL.
//!
//! ```no_run
//! use agent_sdk::prelude::*;
//! use agent_sdk::supervisor::{Supervisor, SupervisorConfig};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let supervisor = Supervisor::new(SupervisorConfig::default().max_sessions(100));
//! let options = AgentOptions::builder().max_turns(5).build()?;
//! let alice = supervisor.start_session("alice".to_owned(), options).await?;
//! let mut turn = alice.send("Hello!")?;
//! while let Some(message) = turn.next().await {
//!     if let Message::Assistant(reply) = message? {
//!         println!("{}", reply.text());
//!     }
//! }
//! supervisor.shutdown(std::time::Duration::from_secs(30)).await;
//! # Ok(())
//! # }
//! ```
//!
//! Restarts follow OTP's restart intensity: more than `max_restarts` within
//! `max_seconds` (3 in 5 s) and the session is [`Failed`](SessionState::Failed);
//! other sessions never notice.

mod actor;
mod config;
mod core;
mod error;
mod handle;
mod live;
mod metrics;
mod status;

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use futures_core::Stream;
use tokio::sync::{broadcast, mpsc, oneshot};

pub use self::config::{CapacityPolicy, Profile, SupervisorConfig};
pub use self::core::SessionKey;
pub use self::error::SupervisorError;
pub use self::handle::{SessionHandle, Subscription, TurnStream};
pub use self::metrics::CounterSnapshot;
pub use self::status::{
    Conversation, EvictReason, Health, SessionInfo, SessionState, SupervisorEvent,
};

use self::actor::{Actor, Start};
use self::core::{Control, Inner, Slot, lock};
use self::metrics::Counters;
use crate::options::AgentOptions;

/// Named sessions, each a CLI process; see the [module documentation](self).
///
/// Dropping the supervisor closes every session's CLI (in the background);
/// [`shutdown`](Self::shutdown) does it in order and waits.
pub struct Supervisor<K: SessionKey> {
    inner: Arc<Inner<K>>,
    reaper: tokio::task::JoinHandle<()>,
}

impl<K: SessionKey> std::fmt::Debug for Supervisor<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Supervisor")
            .field("sessions", &lock(&self.inner.sessions).len())
            .field("live", &self.inner.live_count())
            .finish_non_exhaustive()
    }
}

/// What [`Supervisor::shutdown`] leaves behind.
///
/// ```no_run
/// # async fn stop(supervisor: agent_sdk::supervisor::Supervisor<String>) {
/// let report = supervisor.shutdown(std::time::Duration::from_secs(10)).await;
/// for (key, cli_session_id) in &report.resumable {
///     println!("{key} resumes with AgentOptions::builder().resume({cli_session_id:?})");
/// }
/// # }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ShutdownReport<K> {
    /// Each session with a conversation, and the CLI session id that resumes it.
    pub resumable: Vec<(K, String)>,
    /// How long the shutdown took.
    pub took: Duration,
}

impl<K: SessionKey> Supervisor<K> {
    /// A supervisor with no sessions yet. Needs a tokio runtime (it starts the reaper).
    pub fn new(config: SupervisorConfig) -> Self {
        let every = config.reap_every();
        let inner = Arc::new(Inner::new(config));
        let reaper = tokio::spawn(reap(Arc::downgrade(&inner), every));
        Self { inner, reaper }
    }

    /// Starts a session's CLI and returns its handle; turns sent meanwhile wait.
    ///
    /// Refused with [`AlreadyExists`](SupervisorError::AlreadyExists),
    /// [`ShuttingDown`](SupervisorError::ShuttingDown) or
    /// [`AtCapacity`](SupervisorError::AtCapacity). A CLI that fails to start is
    /// restarted like one that died, so the session may end up
    /// [`Failed`](SessionState::Failed) rather than this call failing.
    pub async fn start_session(
        &self,
        key: K,
        options: AgentOptions,
    ) -> Result<SessionHandle, SupervisorError> {
        self.start(key, options, None).await
    }

    /// Starts a session with a profile's options, taking one of its warm spares
    /// if one is ready (see [`prewarm`](Self::prewarm)).
    pub async fn start_profile_session(
        &self,
        key: K,
        profile: &Profile,
    ) -> Result<SessionHandle, SupervisorError> {
        self.start(key, profile.options.clone(), Some(profile))
            .await
    }

    async fn start(
        &self,
        key: K,
        options: AgentOptions,
        profile: Option<&Profile>,
    ) -> Result<SessionHandle, SupervisorError> {
        if self.inner.shutting_down() {
            return Err(SupervisorError::ShuttingDown);
        }
        if lock(&self.inner.sessions).contains_key(&key) {
            return Err(SupervisorError::AlreadyExists);
        }
        let permit = self.inner.reserve(None).await?;
        let spare = profile.and_then(|profile| self.inner.take_spare(&profile.name));
        if spare.is_some() {
            Counters::bump(&self.inner.counters.spares_taken);
        }
        let (control_tx, control_rx) = mpsc::unbounded_channel();
        let (turns_tx, turns_rx) = mpsc::channel(self.inner.config.queue_bound);
        let slot = Arc::new(Slot::new(control_tx, turns_tx));
        {
            let mut sessions = lock(&self.inner.sessions);
            if sessions.contains_key(&key) {
                return Err(SupervisorError::AlreadyExists);
            }
            sessions.insert(key.clone(), slot.clone());
        }
        Counters::bump(&self.inner.counters.sessions_created);
        let actor = Actor::new(
            key,
            self.inner.clone(),
            &slot,
            control_rx,
            turns_rx,
            options.clone(),
        );
        let task = tokio::spawn(actor.run(Start {
            options,
            permit,
            spare,
            span: tracing::Span::current(),
        }));
        *lock(&slot.task) = Some(task);
        Ok(SessionHandle::new(&slot, self.inner.config.queue_bound))
    }

    fn slot(&self, key: &K) -> Result<Arc<Slot>, SupervisorError> {
        lock(&self.inner.sessions)
            .get(key)
            .cloned()
            .ok_or(SupervisorError::NoSuchSession)
    }

    /// The handle of a session, if it exists.
    ///
    /// ```no_run
    /// # fn get(supervisor: &agent_sdk::supervisor::Supervisor<(u32, u32)>) {
    /// let session = supervisor.session(&(7, 42)); // (tenant, user)
    /// # let _ = session;
    /// # }
    /// ```
    pub fn session(&self, key: &K) -> Option<SessionHandle> {
        let slot = self.slot(key).ok()?;
        Some(SessionHandle::new(&slot, self.inner.config.queue_bound))
    }

    /// Closes a session's CLI (after its running turn) and removes it; waiting turns are refused.
    pub async fn terminate_session(&self, key: &K) -> Result<(), SupervisorError> {
        let slot = lock(&self.inner.sessions)
            .remove(key)
            .ok_or(SupervisorError::NoSuchSession)?;
        let (done, finished) = oneshot::channel();
        if slot.control.send(Control::Terminate(done)).is_ok() {
            let _ = finished.await;
        }
        self.inner
            .emit(SupervisorEvent::Terminated { key: key.clone() });
        Ok(())
    }

    /// Replaces a session's CLI (after its running turn), resuming the conversation.
    /// Not counted against the restart intensity; a failed session gets another chance.
    pub async fn restart_session(&self, key: &K) -> Result<(), SupervisorError> {
        let slot = self.slot(key)?;
        let (done, finished) = oneshot::channel();
        slot.control
            .send(Control::Restart(done))
            .map_err(|_| SupervisorError::NoSuchSession)?;
        finished.await.map_err(|_| SupervisorError::NoSuchSession)
    }

    /// Gives an idle session's CLI back now; its next turn resumes it. False if a
    /// turn runs or waits, or it has no CLI.
    pub async fn evict_session(&self, key: &K) -> Result<bool, SupervisorError> {
        Ok(self.slot(key)?.evict(EvictReason::Requested).await)
    }

    /// Every session with its state, turns, restarts, cost and last activity.
    pub fn list_sessions(&self) -> Vec<SessionInfo<K>> {
        lock(&self.inner.sessions)
            .iter()
            .map(|(key, slot)| info(key, slot))
            .collect()
    }

    /// One session's [`SessionInfo`].
    pub fn session_info(&self, key: &K) -> Option<SessionInfo<K>> {
        self.slot(key).ok().map(|slot| info(key, &slot))
    }

    /// How many sessions exist (live, evicted or failed).
    pub fn count(&self) -> usize {
        lock(&self.inner.sessions).len()
    }

    /// Process alive, the answer time of a cheap control request, last error.
    pub async fn health(&self, key: &K) -> Result<Health, SupervisorError> {
        let slot = self.slot(key)?;
        let live = lock(&slot.live).clone();
        let (state, mut last_error) = {
            let status = lock(&slot.status);
            (status.state, status.last_error.clone())
        };
        let Some(live) = live else {
            return Ok(Health {
                state,
                alive: false,
                pid: None,
                answer_time: None,
                last_error,
            });
        };
        let alive = live.exit_report().is_none();
        let started = Instant::now();
        let probe =
            tokio::time::timeout(self.inner.config.health_timeout, live.client.mcp_status()).await;
        let answer_time = match probe {
            Ok(Ok(_)) => Some(started.elapsed()),
            Ok(Err(err)) => {
                last_error = Some(err.to_string());
                None
            }
            Err(_) => {
                last_error = Some("the health probe timed out".to_owned());
                None
            }
        };
        Ok(Health {
            state,
            alive,
            pid: live.pid,
            answer_time,
            last_error,
        })
    }

    /// The supervisor's events, from now on. A reader more than 1024 events
    /// behind skips ahead.
    pub fn events(&self) -> impl Stream<Item = SupervisorEvent<K>> + Send + Unpin + 'static {
        let receiver = self.inner.events.subscribe();
        Box::pin(futures_util::stream::unfold(
            receiver,
            |mut receiver| async move {
                loop {
                    match receiver.recv().await {
                        Ok(event) => return Some((event, receiver)),
                        Err(broadcast::error::RecvError::Lagged(_)) => continue,
                        Err(broadcast::error::RecvError::Closed) => return None,
                    }
                }
            },
        ))
    }

    /// The counters now: sessions live/created/evicted by reason/failed, restarts, turns, cost.
    pub fn counters(&self) -> CounterSnapshot {
        self.inner.counters.snapshot(self.inner.live_count())
    }

    /// Keeps `n` connected CLIs with `profile`'s options, so a new session's
    /// first turn skips the CLI's start-up; taken spares are replaced in the
    /// background. Waits up to 60 s for them and returns how many are ready (a
    /// spare that fails to start is logged and tried again at the next take).
    ///
    /// ```no_run
    /// # async fn warm(supervisor: &agent_sdk::supervisor::Supervisor<String>) -> Result<(), Box<dyn std::error::Error>> {
    /// use agent_sdk::supervisor::Profile;
    /// let support = Profile::new("support", agent_sdk::AgentOptions::builder().build()?);
    /// supervisor.prewarm(&support, 2).await;
    /// let session = supervisor.start_profile_session("bob".into(), &support).await?;
    /// # let _ = session;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn prewarm(&self, profile: &Profile, n: usize) -> usize {
        self.inner.set_spares(profile, n);
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.inner.spares_ready(&profile.name) < n && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.inner.spares_ready(&profile.name)
    }

    /// How many warm spares of `profile` are ready now.
    pub fn spares_ready(&self, profile: &Profile) -> usize {
        self.inner.spares_ready(&profile.name)
    }

    /// Stops: no new sessions or turns; running turns get until `deadline`, then
    /// are interrupted; then every CLI (and spare) is closed. The report lists
    /// the CLI session ids that resume each conversation after a host restart.
    pub async fn shutdown(self, deadline: Duration) -> ShutdownReport<K> {
        let started = Instant::now();
        self.inner
            .shutdown
            .send_replace(Some(tokio::time::Instant::now() + deadline));
        self.reaper.abort();
        let slots: Vec<(K, Arc<Slot>)> = lock(&self.inner.sessions)
            .iter()
            .map(|(key, slot)| (key.clone(), slot.clone()))
            .collect();
        for (_, slot) in &slots {
            let task = lock(&slot.task).take();
            if let Some(task) = task {
                let _ = task.await;
            }
        }
        self.inner.drain_spares().await;
        let resumable = slots
            .iter()
            .filter_map(|(key, slot)| {
                let id = lock(&slot.status).cli_session_id.clone()?;
                Some((key.clone(), id))
            })
            .collect();
        ShutdownReport {
            resumable,
            took: started.elapsed(),
        }
    }
}

impl<K: SessionKey> Drop for Supervisor<K> {
    fn drop(&mut self) {
        self.reaper.abort();
        // Each session's task ends when its table entry goes, closing its CLI.
        lock(&self.inner.sessions).clear();
    }
}

fn info<K: Clone>(key: &K, slot: &Slot) -> SessionInfo<K> {
    let status = lock(&slot.status);
    SessionInfo {
        key: key.clone(),
        state: status.state,
        conversation: status.conversation,
        turns: status.turns,
        restarts: status.restarts,
        cli_starts: status.cli_starts,
        cost_usd: status.cost_usd,
        last_activity: status.last_activity,
        cli_session_id: status.cli_session_id.clone(),
        last_error: status.last_error.clone(),
    }
}

/// Evicts sessions idle past the timeout, at a bounded interval, until the supervisor goes.
async fn reap<K: SessionKey>(inner: Weak<Inner<K>>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(inner) = inner.upgrade() else { return };
        let idle_timeout = inner.config.idle_timeout;
        let idle: Vec<Arc<Slot>> = lock(&inner.sessions)
            .values()
            .filter(|slot| {
                let status = lock(&slot.status);
                status.state == SessionState::Idle
                    && slot.messages.count() == 0
                    && status.last_activity.elapsed() >= idle_timeout
            })
            .cloned()
            .collect();
        drop(inner);
        for slot in idle {
            // The session checks again: a turn may have arrived meanwhile.
            slot.evict(EvictReason::Idle).await;
        }
    }
}
