//! The state every part of a supervisor shares: the session table, capacity,
//! warm spares, events and counters.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Instant;

use tokio::sync::{broadcast, mpsc, oneshot, watch};

use super::config::{CapacityPolicy, Profile, SupervisorConfig};
use super::error::SupervisorError;
use super::live::LiveCli;
use super::metrics::Counters;
use super::status::{Conversation, EvictReason, SessionState, SupervisorEvent};
use crate::message::{Message, UserInput};

/// What a session key needs; any such type is one (a `String`, a `(tenant, user)` pair...).
///
/// ```
/// fn accepts<K: agent_sdk::supervisor::SessionKey>(_key: K) {}
/// accepts(("acme".to_owned(), 42_u64));
/// ```
pub trait SessionKey: Hash + Eq + Clone + Send + Sync + 'static {}
impl<T: Hash + Eq + Clone + Send + Sync + 'static> SessionKey for T {}

/// How many events a slow [`events`](super::Supervisor::events) reader may fall behind.
const EVENT_BUFFER: usize = 1024;
/// How many messages a slow subscriber may fall behind (it then skips).
const SUBSCRIBER_BUFFER: usize = 256;

pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// A turn waiting for its session.
pub(super) struct TurnRequest {
    pub(super) prompt: UserInput,
    pub(super) reply: mpsc::UnboundedSender<Result<Message, SupervisorError>>,
    /// The span current where the turn was asked for: its trace goes on in the session.
    pub(super) span: tracing::Span,
}

/// What the supervisor asks of a session's task, between turns.
pub(super) enum Control {
    Restart(oneshot::Sender<()>),
    Evict {
        reason: EvictReason,
        done: oneshot::Sender<bool>,
    },
    Terminate(oneshot::Sender<()>),
}

/// What the session's task reports and the supervisor reads.
pub(super) struct Status {
    pub(super) state: SessionState,
    pub(super) conversation: Conversation,
    pub(super) turns: u64,
    pub(super) restarts: u64,
    pub(super) cli_starts: u64,
    pub(super) cost_usd: f64,
    pub(super) last_activity: Instant,
    pub(super) cli_session_id: Option<String>,
    pub(super) last_error: Option<String>,
}

/// One named session as the table holds it. Handles keep a `Weak` to it, so a
/// terminated session's handle stops working and its task ends.
pub(super) struct Slot {
    pub(super) control: mpsc::UnboundedSender<Control>,
    pub(super) turns: mpsc::Sender<TurnRequest>,
    pub(super) status: Arc<Mutex<Status>>,
    pub(super) live: Arc<Mutex<Option<Arc<LiveCli>>>>,
    pub(super) messages: Subscribers,
    pub(super) task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Slot {
    pub(super) fn new(
        control: mpsc::UnboundedSender<Control>,
        turns: mpsc::Sender<TurnRequest>,
    ) -> Slot {
        Slot {
            control,
            turns,
            status: Arc::new(Mutex::new(Status {
                state: SessionState::Starting,
                conversation: Conversation::New,
                turns: 0,
                restarts: 0,
                cli_starts: 0,
                cost_usd: 0.0,
                last_activity: Instant::now(),
                cli_session_id: None,
                last_error: None,
            })),
            live: Arc::default(),
            messages: Subscribers::default(),
            task: Mutex::new(None),
        }
    }

    /// Asks the session to give its CLI back; true if it did.
    pub(super) async fn evict(&self, reason: EvictReason) -> bool {
        let (done, answer) = oneshot::channel();
        if self.control.send(Control::Evict { reason, done }).is_err() {
            return false;
        }
        answer.await.unwrap_or(false)
    }
}

/// The subscribers of a session's messages. The channel is made at the first
/// subscription: its buffer is most of an idle session's memory otherwise.
#[derive(Clone, Default)]
pub(super) struct Subscribers {
    channel: Arc<Mutex<Option<broadcast::Sender<Message>>>>,
}

impl Subscribers {
    pub(super) fn subscribe(&self) -> broadcast::Receiver<Message> {
        lock(&self.channel)
            .get_or_insert_with(|| broadcast::channel(SUBSCRIBER_BUFFER).0)
            .subscribe()
    }

    pub(super) fn count(&self) -> usize {
        lock(&self.channel)
            .as_ref()
            .map_or(0, broadcast::Sender::receiver_count)
    }

    pub(super) fn send(&self, message: &Message) {
        if let Some(channel) = lock(&self.channel).as_ref()
            && channel.receiver_count() > 0
        {
            let _ = channel.send(message.clone());
        }
    }
}

/// A place among the `max_sessions` live CLIs; given back when dropped.
pub(super) struct LivePermit {
    live: Arc<Mutex<usize>>,
}

impl Drop for LivePermit {
    fn drop(&mut self) {
        *lock(&self.live) -= 1;
    }
}

/// The warm spares of one profile.
struct Pool {
    profile: Profile,
    target: usize,
    ready: Vec<LiveCli>,
    starting: usize,
}

pub(super) struct Inner<K> {
    pub(super) config: SupervisorConfig,
    pub(super) sessions: Mutex<HashMap<K, Arc<Slot>>>,
    pub(super) events: broadcast::Sender<SupervisorEvent<K>>,
    pub(super) counters: Counters,
    live: Arc<Mutex<usize>>,
    spares: Mutex<HashMap<Arc<str>, Pool>>,
    /// The shutdown deadline, once a shutdown has begun.
    pub(super) shutdown: watch::Sender<Option<tokio::time::Instant>>,
}

impl<K: SessionKey> Inner<K> {
    pub(super) fn new(config: SupervisorConfig) -> Self {
        Self {
            config,
            sessions: Mutex::default(),
            events: broadcast::channel(EVENT_BUFFER).0,
            counters: Counters::default(),
            live: Arc::default(),
            spares: Mutex::default(),
            shutdown: watch::channel(None).0,
        }
    }

    pub(super) fn emit(&self, event: SupervisorEvent<K>) {
        let _ = self.events.send(event);
    }

    pub(super) fn shutting_down(&self) -> bool {
        self.shutdown.borrow().is_some()
    }

    pub(super) fn live_count(&self) -> usize {
        *lock(&self.live)
    }

    fn try_permit(&self) -> Option<LivePermit> {
        let mut live = lock(&self.live);
        if self.config.max_sessions.is_some_and(|max| *live >= max) {
            return None;
        }
        *live += 1;
        Some(LivePermit {
            live: self.live.clone(),
        })
    }

    /// A place for one more live CLI, evicting the least recently used idle
    /// session (never `for_key` itself) if the policy says so.
    pub(super) async fn reserve(&self, for_key: Option<&K>) -> Result<LivePermit, SupervisorError> {
        let at_capacity = || SupervisorError::AtCapacity {
            max_sessions: self.config.max_sessions.unwrap_or(0),
        };
        // A freed place can be taken by a racing start; a few tries, then give up.
        for _ in 0..4 {
            if let Some(permit) = self.try_permit() {
                return Ok(permit);
            }
            if self.config.capacity_policy != CapacityPolicy::EvictLeastRecentlyUsed {
                return Err(at_capacity());
            }
            let victim = {
                let sessions = lock(&self.sessions);
                sessions
                    .iter()
                    .filter(|(key, _)| Some(*key) != for_key)
                    .filter_map(|(_, slot)| {
                        let status = lock(&slot.status);
                        (status.state == SessionState::Idle)
                            .then(|| (status.last_activity, slot.clone()))
                    })
                    .min_by_key(|(last, _)| *last)
                    .map(|(_, slot)| slot)
            };
            match victim {
                Some(slot) => {
                    slot.evict(EvictReason::Capacity).await;
                }
                None => return Err(at_capacity()),
            }
        }
        self.try_permit().ok_or_else(at_capacity)
    }

    /// Sets how many spares `profile` keeps and starts the missing ones.
    pub(super) fn set_spares(self: &Arc<Self>, profile: &Profile, target: usize) {
        {
            let mut pools = lock(&self.spares);
            let pool = pools.entry(profile.name.clone()).or_insert_with(|| Pool {
                profile: profile.clone(),
                target,
                ready: Vec::new(),
                starting: 0,
            });
            pool.profile = profile.clone();
            pool.target = target;
            pool.ready.truncate(target);
        }
        self.refill(&profile.name);
    }

    /// How many spares of `profile` are connected and waiting.
    pub(super) fn spares_ready(&self, profile: &str) -> usize {
        lock(&self.spares)
            .get(profile)
            .map_or(0, |pool| pool.ready.len())
    }

    /// A live spare of `profile`, if one is ready; its replacement starts in the background.
    pub(super) fn take_spare(self: &Arc<Self>, profile: &str) -> Option<LiveCli> {
        let spare = {
            let mut pools = lock(&self.spares);
            let pool = pools.get_mut(profile)?;
            // A spare whose CLI died while waiting is dropped, not handed out.
            pool.ready.retain(|spare| spare.exit_report().is_none());
            pool.ready.pop()
        };
        self.refill(profile);
        spare
    }

    /// Starts CLIs until `profile` has its target of spares (ready or starting).
    fn refill(self: &Arc<Self>, profile: &str) {
        if self.shutting_down() {
            return;
        }
        let mut pools = lock(&self.spares);
        let Some(pool) = pools.get_mut(profile) else {
            return;
        };
        pool.ready.retain(|spare| spare.exit_report().is_none());
        let missing = pool.target.saturating_sub(pool.ready.len() + pool.starting);
        for _ in 0..missing {
            pool.starting += 1;
            let weak: Weak<Self> = Arc::downgrade(self);
            let profile = pool.profile.clone();
            tokio::spawn(async move {
                let started = LiveCli::connect(&profile.options).await;
                let Some(inner) = weak.upgrade() else {
                    return;
                };
                let mut pools = lock(&inner.spares);
                let Some(pool) = pools.get_mut(&profile.name) else {
                    return;
                };
                pool.starting -= 1;
                match started {
                    Ok(spare) if pool.ready.len() < pool.target && !inner.shutting_down() => {
                        pool.ready.push(spare)
                    }
                    Ok(_) => {}
                    // Not retried in a loop: the next take or prewarm tries again.
                    Err(err) => {
                        tracing::warn!(%err, profile = %profile.name, "a warm spare did not start")
                    }
                }
            });
        }
    }

    /// Closes every spare (at shutdown).
    pub(super) async fn drain_spares(&self) {
        let spares: Vec<LiveCli> = lock(&self.spares)
            .values_mut()
            .flat_map(|pool| {
                pool.target = 0;
                std::mem::take(&mut pool.ready)
            })
            .collect();
        for spare in spares {
            let _ = spare.client.disconnect().await;
        }
    }
}
