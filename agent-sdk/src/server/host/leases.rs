//! Sessions owned by lease when several hosts share a database: the one
//! place a request for a session finds it (here, on another live host: 421,
//! or taken over from a dead one), the heartbeat that renews this host's
//! leases, and dropping a session another host took.
//!
//! A lease is `(owner, address, epoch, expires_at)` in the database. A host
//! takes it before it runs a session (a compare-and-set on the epoch, so of
//! two hosts racing one wins), renews it by heartbeat, and writes every
//! event, record update and usage record under its epoch: once another host
//! has taken the session, the stale host's writes are refused and it drops
//! the session.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::http::{HeaderValue, StatusCode};
use serde_json::{Value, json};

use super::sessions::set_status;
use super::{Host, LeaseHold, LeaseState, LiveSession, SessionSpec, db_error, lock, not_found};
use crate::handler::BoxFuture;
use crate::server::auth::Principal;
use crate::server::db::ServerDb;
use crate::server::db::{DbError, Lease, SessionStatus};
use crate::server::error::ApiError;
use crate::server::events::{EventKind, now_millis};
use crate::store::{SessionKey, SessionStore, StoreEntry, StoreError, StoredSession};

/// How many of a session's newest events are read, when it is loaded, to
/// find turns that started without completing.
const TURN_SCAN: usize = 2_000;

/// The header naming the owner host's address in a 421.
pub(crate) const OWNER_HEADER: &str = "x-agent-owner";

/// The session store as one session's CLI mirrors its transcript through it:
/// appends only while this host holds the session's lease (asking the
/// database when the last renewal is older than the TTL), so a host that
/// lost the session (paused past its lease, then back) stops writing the
/// transcript the new owner resumed from. Reads go straight through.
struct LeasedStore {
    inner: Arc<dyn SessionStore>,
    db: Arc<dyn ServerDb>,
    host_id: String,
    lease: (String, u64),
    hold: Arc<LeaseHold>,
    ttl: std::time::Duration,
}

impl LeasedStore {
    async fn check(&self) -> Result<(), StoreError> {
        if self.hold.fresh() {
            return Ok(());
        }
        let refused = || {
            StoreError::backend(
                "server",
                format!(
                    "session {:?} belongs to another host now; its transcript is not written here",
                    self.lease.0
                ),
            )
        };
        if self.hold.dropped.load(Ordering::Acquire) {
            return Err(refused());
        }
        let before = Instant::now();
        let millis = i64::try_from(self.ttl.as_millis()).unwrap_or(i64::MAX);
        let lost = self
            .db
            .renew_leases(
                &self.host_id,
                std::slice::from_ref(&self.lease),
                now_millis().saturating_add(millis),
            )
            .await
            .map_err(|err| StoreError::backend("server", err))?;
        if lost.is_empty() {
            self.hold.renewed(before + self.ttl);
            Ok(())
        } else {
            self.hold.dropped();
            Err(refused())
        }
    }
}

impl SessionStore for LeasedStore {
    fn append<'a>(
        &'a self,
        key: &'a SessionKey,
        entries: Vec<StoreEntry>,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.check().await?;
            self.inner.append(key, entries).await
        })
    }

    fn load<'a>(
        &'a self,
        key: &'a SessionKey,
    ) -> BoxFuture<'a, Result<Option<Vec<StoreEntry>>, StoreError>> {
        self.inner.load(key)
    }

    fn list_sessions<'a>(
        &'a self,
        project_key: &'a str,
    ) -> BoxFuture<'a, Result<Vec<StoredSession>, StoreError>> {
        self.inner.list_sessions(project_key)
    }

    fn list_session_summaries<'a>(
        &'a self,
        project_key: &'a str,
    ) -> BoxFuture<'a, Result<Vec<crate::store::SessionSummary>, StoreError>> {
        self.inner.list_session_summaries(project_key)
    }

    fn delete<'a>(&'a self, key: &'a SessionKey) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.check().await?;
            self.inner.delete(key).await
        })
    }

    fn list_subkeys<'a>(
        &'a self,
        key: &'a SessionKey,
    ) -> BoxFuture<'a, Result<Vec<String>, StoreError>> {
        self.inner.list_subkeys(key)
    }
}

/// 421 Misdirected Request: the session is served by another host, at the
/// address given in `X-Agent-Owner` and in `error.owner.address`.
fn misdirected(id: &str, lease: &Lease) -> ApiError {
    let error = ApiError::new(
        StatusCode::MISDIRECTED_REQUEST,
        "wrong_host",
        format!(
            "session {id:?} is served by host {:?} at {}; send the request there",
            lease.owner, lease.address
        ),
    )
    .with_field(
        "owner",
        json!({"host_id": lease.owner, "address": lease.address}),
    );
    match HeaderValue::from_str(&lease.address) {
        Ok(value) => error.with_header(axum::http::HeaderName::from_static(OWNER_HEADER), value),
        Err(_) => error,
    }
}

impl Host {
    /// Whether a lease was taken by this host, or by a previous process of
    /// it that crashed and came back (a new random id, the same address; a
    /// host that advertises no address is a single host, and every lease
    /// without one is its own). An unspecified address (`0.0.0.0`, `[::]`),
    /// which every host could show, names nobody.
    fn is_mine(&self, lease: &Lease) -> bool {
        let unspecified = self.address.contains("0.0.0.0") || self.address.contains("[::]");
        lease.owner == self.host_id || (lease.address == self.address && !unspecified)
    }

    /// The database's session store, writable for this session only while
    /// this host holds its lease.
    pub(super) fn leased_store(&self, live: &LiveSession) -> Arc<dyn SessionStore> {
        Arc::new(LeasedStore {
            inner: self.db.session_store(),
            db: self.db.clone(),
            host_id: self.host_id.clone(),
            lease: (live.id.clone(), live.epoch),
            hold: live.lease.clone(),
            ttl: self.config.lease_ttl,
        })
    }

    /// Whether another live host owns the session now, else the epoch a
    /// write of this host's goes under (from one read of the lease).
    pub(crate) async fn lease_state(&self, id: &str) -> Result<LeaseState, DbError> {
        Ok(match self.db.lease(id).await? {
            Some(lease) if lease.is_live(now_millis()) && !self.is_mine(&lease) => {
                LeaseState::HeldElsewhere
            }
            lease => LeaseState::Free {
                epoch: lease.map(|lease| lease.epoch),
            },
        })
    }

    /// The session to act on, owned by this host: live here (its lease
    /// checked with the database when the last renewal is older than the
    /// TTL), or loaded from the database by taking its lease. A session
    /// another live host owns is a 421 naming that host.
    pub(crate) async fn session(&self, id: &str) -> Result<Arc<LiveSession>, ApiError> {
        let local = lock(&self.sessions).get(id).cloned();
        if let Some(live) = local {
            if live.lease.fresh() {
                return Ok(live);
            }
            let (until, expires_at) = self.lease_deadline();
            let mine = [(live.id.clone(), live.epoch)];
            let lost = self
                .db
                .renew_leases(&self.host_id, &mine, expires_at)
                .await
                .map_err(db_error)?;
            if lost.is_empty() {
                live.lease.renewed(until);
                return Ok(live);
            }
            self.drop_session(id, live.epoch).await;
        }
        self.load(id).await
    }

    /// Takes the session's lease and makes it live here: a new owner after a
    /// dead one (a takeover) reports the turns that were running there as
    /// interrupted and carries on its event sequence from the database.
    async fn load(&self, id: &str) -> Result<Arc<LiveSession>, ApiError> {
        let _one_at_a_time = self.loading.lock().await;
        if let Some(live) = lock(&self.sessions).get(id).cloned() {
            return Ok(live);
        }
        if self.db.get_session(id).await.map_err(db_error)?.is_none() {
            return Err(not_found("session", id));
        }
        let previous = self.db.lease(id).await.map_err(db_error)?;
        if let Some(lease) = &previous
            && lease.is_live(now_millis())
            && !self.is_mine(lease)
        {
            return Err(misdirected(id, lease));
        }
        let expected = previous.as_ref().map_or(0, |lease| lease.epoch);
        let (until, expires_at) = self.lease_deadline();
        let taken = self
            .db
            .take_lease(id, expected, &self.host_id, &self.address, expires_at)
            .await
            .map_err(db_error)?;
        let Some(lease) = taken else {
            // Another host took it between the read and the take.
            return match self.db.lease(id).await.map_err(db_error)? {
                Some(winner) => Err(misdirected(id, &winner)),
                None => Err(not_found("session", id)),
            };
        };
        // Read after the take: the previous owner can write nothing more.
        let record = self
            .db
            .get_session(id)
            .await
            .map_err(db_error)?
            .ok_or_else(|| not_found("session", id))?;
        let last_seq = self.db.last_event_seq(id).await.map_err(db_error)?;
        let request = record.spec.get("request").cloned().unwrap_or(Value::Null);
        let spec: SessionSpec = serde_json::from_value(request).unwrap_or_default();
        let principal: Principal = record
            .spec
            .get("principal")
            .cloned()
            .and_then(|p| serde_json::from_value(p).ok())
            .unwrap_or_else(Principal::anonymous);
        let live = self.register(record, principal, spec, last_seq, (lease.epoch, until));
        let takeover = previous
            .as_ref()
            .is_some_and(|old| old.expires_at != 0 && !self.is_mine(old));
        if takeover {
            self.metrics.takeover();
            tracing::warn!(session_id = %id, previous = ?previous, epoch = lease.epoch, "took over a session whose host stopped renewing its lease");
            self.interrupt_running_tasks("the host running it stopped", &[(id, lease.epoch)])
                .await;
        }
        self.report_unfinished_turns(&live).await?;
        if matches!(
            live.record().status,
            SessionStatus::Starting | SessionStatus::Idle | SessionStatus::Running
        ) {
            set_status(&live, self.db.as_ref(), SessionStatus::Paused).await;
        }
        Ok(live)
    }

    /// Turns the event log shows accepted (`user_message`) and never ended
    /// (no `turn_complete` nor a turn's `error`): the process running them
    /// stopped. Each gets a `turn_complete` with `interrupted: true`; none is
    /// run again. The next turn is numbered after the last accepted one.
    async fn report_unfinished_turns(&self, live: &LiveSession) -> Result<(), ApiError> {
        let last = live.log.last_seq();
        let events = self
            .db
            .events_after(&live.id, last.saturating_sub(TURN_SCAN as u64), TURN_SCAN)
            .await
            .map_err(db_error)?;
        let turn_of = |data: &Value| data.get("turn").and_then(Value::as_u64);
        let mut started = std::collections::BTreeSet::new();
        for event in &events {
            match (event.kind.as_str(), turn_of(&event.data)) {
                ("user_message", Some(turn)) => {
                    started.insert(turn);
                }
                ("turn_complete" | "error", Some(turn)) => {
                    started.remove(&turn);
                }
                _ => {}
            }
        }
        let last_turn = events
            .iter()
            .filter(|e| e.kind == "user_message")
            .filter_map(|e| turn_of(&e.data))
            .max()
            .unwrap_or(0);
        live.turns_sent.fetch_max(last_turn, Ordering::AcqRel);
        for turn in started {
            tracing::warn!(session_id = %live.id, turn, "a turn was running on a host that stopped: reported interrupted");
            live.log.emit(
                EventKind::TurnComplete,
                json!({
                    "turn": turn,
                    "result": Value::Null,
                    "is_error": true,
                    "interrupted": true,
                    "subtype": "host_lost",
                    "error": "the host running this turn stopped before it completed; it was not run again",
                    "usage": crate::server::db::Usage::default(),
                }),
            );
        }
        Ok(())
    }

    /// Starts the heartbeat: every `heartbeat` interval it renews the leases
    /// of this host's sessions, and it drops the sessions whose leases or
    /// writes were refused. It stops when the host is dropped.
    pub(crate) fn start_heartbeat(self: &Arc<Self>) {
        let Some(mut lost) = lock(&self.lost).take() else {
            return;
        };
        let host = Arc::downgrade(self);
        let every = self.config.heartbeat;
        let task = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = ticks.tick() => {
                        let Some(host) = host.upgrade() else { return };
                        host.renew().await;
                    }
                    refused = lost.recv() => {
                        let (Some((id, epoch)), Some(host)) = (refused, host.upgrade()) else {
                            return;
                        };
                        host.drop_session(&id, epoch).await;
                    }
                }
            }
        });
        *lock(&self.heartbeat) = Some(task);
    }

    async fn renew(&self) {
        let sessions: Vec<Arc<LiveSession>> = lock(&self.sessions).values().cloned().collect();
        if sessions.is_empty() {
            return;
        }
        let leases: Vec<(String, u64)> = sessions
            .iter()
            .map(|live| (live.id.clone(), live.epoch))
            .collect();
        let (until, expires_at) = self.lease_deadline();
        match self
            .db
            .renew_leases(&self.host_id, &leases, expires_at)
            .await
        {
            Ok(lost) => {
                for live in &sessions {
                    if lost.contains(&live.id) {
                        self.drop_session(&live.id, live.epoch).await;
                    } else {
                        live.lease.renewed(until);
                    }
                }
            }
            Err(err) => tracing::warn!(%err, "could not renew the sessions' leases"),
        }
    }

    /// Drops a session another host took (its lease at `epoch` is gone):
    /// its CLI stops, its subscribers' streams end (they reconnect and are
    /// sent to the new owner), nothing more is written for it.
    pub(crate) async fn drop_session(&self, id: &str, epoch: u64) {
        let live = {
            let mut sessions = lock(&self.sessions);
            match sessions.get(id) {
                Some(live) if live.epoch == epoch => sessions.remove(id),
                _ => None,
            }
        };
        let Some(live) = live else {
            return;
        };
        tracing::warn!(session_id = %id, epoch, "another host owns the session now: dropped here");
        live.lease.dropped();
        live.log.close();
        let _ = self.supervisor.terminate_session(&live.id).await;
        self.update_gauges();
    }

    /// Gives a session's lease up (closed, or paused by a drain): another
    /// host may take it at once.
    pub(crate) async fn release(&self, live: &LiveSession) {
        if let Err(err) = self.db.release_lease(&live.id, live.epoch).await {
            tracing::warn!(%err, session_id = %live.id, "could not release the session's lease");
        }
    }
}
