//! [`MemoryServerDb`]: the server's records in this process's memory, the
//! reference backend for tests (`memory://`).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use super::{
    DEAD_LETTER, DbError, EventRecord, Lease, Millis, OutboxItem, ServerDb, SessionFilter,
    SessionRecord, TaskRecord, TaskStatus, UsageQuery, UsageRecord, UsageReport, fenced_session,
};
use crate::handler::BoxFuture;
use crate::store::{InMemorySessionStore, SessionStore};

/// The server's records kept in memory (nothing survives the process); its
/// [`session_store`](ServerDb::session_store) is an [`InMemorySessionStore`].
///
/// ```
/// use agent_sdk::server::db::{MemoryServerDb, ServerDb};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let db = MemoryServerDb::new();
/// db.ping().await?;
/// assert_eq!(db.last_event_seq("s1").await?, 0);
/// # Ok::<(), agent_sdk::server::db::DbError>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Default)]
pub struct MemoryServerDb {
    state: Mutex<State>,
    store: Arc<InMemorySessionStore>,
}

#[derive(Debug, Default)]
struct State {
    sessions: HashMap<String, SessionRecord>,
    events: HashMap<String, BTreeMap<u64, EventRecord>>,
    tasks: HashMap<String, TaskRecord>,
    usage: Vec<UsageRecord>,
    outbox: BTreeMap<i64, OutboxItem>,
    last_outbox_id: i64,
    leases: HashMap<String, Lease>,
}

impl State {
    /// `Ok` when `epoch` is the session's lease epoch.
    fn check_fence(&self, session_id: &str, epoch: u64) -> Result<(), DbError> {
        match self.leases.get(session_id) {
            Some(lease) if lease.epoch == epoch => Ok(()),
            _ => Err(DbError::Fenced {
                session_id: session_id.to_owned(),
                epoch,
            }),
        }
    }

    fn insert_task(&mut self, task: &TaskRecord) -> Result<(), DbError> {
        if self.tasks.contains_key(&task.task_id) {
            return Err(DbError::Conflict {
                what: "task",
                id: task.task_id.clone(),
            });
        }
        self.tasks.insert(task.task_id.clone(), task.clone());
        Ok(())
    }

    fn update_task(&mut self, task: &TaskRecord) -> bool {
        match self.tasks.get_mut(&task.task_id) {
            Some(stored) => {
                *stored = task.clone();
                true
            }
            None => false,
        }
    }

    fn append(&mut self, events: &[EventRecord]) -> Result<(), DbError> {
        // Checked before any is stored: a batch is all or nothing.
        let mut batch: HashMap<&str, Vec<u64>> = HashMap::new();
        for event in events {
            let seqs = batch.entry(event.session_id.as_str()).or_default();
            let stored = self
                .events
                .get(&event.session_id)
                .is_some_and(|log| log.contains_key(&event.seq));
            if stored || seqs.contains(&event.seq) {
                return Err(DbError::DuplicateEvent {
                    session_id: event.session_id.clone(),
                    seq: event.seq,
                });
            }
            seqs.push(event.seq);
        }
        for event in events {
            self.events
                .entry(event.session_id.clone())
                .or_default()
                .insert(event.seq, event.clone());
        }
        Ok(())
    }

    fn update(&mut self, session: &SessionRecord) -> bool {
        match self.sessions.get_mut(&session.id) {
            Some(stored) => {
                *stored = session.clone();
                true
            }
            None => false,
        }
    }
}

impl MemoryServerDb {
    /// An empty database.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Every method leaves the state whole before it can panic.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn ready<'a, T: Send + 'a>(value: T) -> BoxFuture<'a, T> {
    Box::pin(std::future::ready(value))
}

impl ServerDb for MemoryServerDb {
    fn ping(&self) -> BoxFuture<'_, Result<(), DbError>> {
        ready(Ok(()))
    }

    fn session_store(&self) -> Arc<dyn SessionStore> {
        self.store.clone()
    }

    fn insert_session<'a>(
        &'a self,
        session: &'a SessionRecord,
    ) -> BoxFuture<'a, Result<(), DbError>> {
        let mut state = self.state();
        if state.sessions.contains_key(&session.id) {
            return ready(Err(DbError::Conflict {
                what: "session",
                id: session.id.clone(),
            }));
        }
        state.sessions.insert(session.id.clone(), session.clone());
        ready(Ok(()))
    }

    fn update_session<'a>(
        &'a self,
        session: &'a SessionRecord,
    ) -> BoxFuture<'a, Result<bool, DbError>> {
        ready(Ok(self.state().update(session)))
    }

    fn get_session<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<SessionRecord>, DbError>> {
        ready(Ok(self.state().sessions.get(id).cloned()))
    }

    fn list_sessions<'a>(
        &'a self,
        filter: &'a SessionFilter,
    ) -> BoxFuture<'a, Result<Vec<SessionRecord>, DbError>> {
        let mut sessions: Vec<SessionRecord> = self
            .state()
            .sessions
            .values()
            .filter(|s| filter.user.is_none() || s.user == filter.user)
            .filter(|s| filter.tenant.is_none() || s.tenant == filter.tenant)
            .filter(|s| filter.status.is_none_or(|status| s.status == status))
            .cloned()
            .collect();
        sessions.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        ready(Ok(sessions))
    }

    fn delete_session<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<bool, DbError>> {
        let mut state = self.state();
        let existed = state.sessions.remove(id).is_some();
        state.events.remove(id);
        state.leases.remove(id);
        state.tasks.retain(|_, task| task.session_id != id);
        ready(Ok(existed))
    }

    fn append_events<'a>(
        &'a self,
        events: &'a [EventRecord],
    ) -> BoxFuture<'a, Result<(), DbError>> {
        ready(self.state().append(events))
    }

    fn events_after<'a>(
        &'a self,
        session_id: &'a str,
        after: u64,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<EventRecord>, DbError>> {
        let events = self
            .state()
            .events
            .get(session_id)
            .map(|log| {
                log.range(after.saturating_add(1)..)
                    .take(limit)
                    .map(|(_, e)| e.clone())
                    .collect()
            })
            .unwrap_or_default();
        ready(Ok(events))
    }

    fn last_event_seq<'a>(&'a self, session_id: &'a str) -> BoxFuture<'a, Result<u64, DbError>> {
        let last = self
            .state()
            .events
            .get(session_id)
            .and_then(|log| log.keys().next_back().copied())
            .unwrap_or(0);
        ready(Ok(last))
    }

    fn insert_task<'a>(&'a self, task: &'a TaskRecord) -> BoxFuture<'a, Result<(), DbError>> {
        ready(self.state().insert_task(task))
    }

    fn update_task<'a>(&'a self, task: &'a TaskRecord) -> BoxFuture<'a, Result<bool, DbError>> {
        ready(Ok(self.state().update_task(task)))
    }

    fn get_task<'a>(
        &'a self,
        task_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<TaskRecord>, DbError>> {
        ready(Ok(self.state().tasks.get(task_id).cloned()))
    }

    fn list_tasks<'a>(
        &'a self,
        status: Option<TaskStatus>,
    ) -> BoxFuture<'a, Result<Vec<TaskRecord>, DbError>> {
        let mut tasks: Vec<TaskRecord> = self
            .state()
            .tasks
            .values()
            .filter(|t| status.is_none_or(|status| t.status == status))
            .cloned()
            .collect();
        tasks.sort_by(|a, b| (a.created_at, &a.task_id).cmp(&(b.created_at, &b.task_id)));
        ready(Ok(tasks))
    }

    fn record_usage<'a>(&'a self, usage: &'a UsageRecord) -> BoxFuture<'a, Result<(), DbError>> {
        self.state().usage.push(usage.clone());
        ready(Ok(()))
    }

    fn user_spend<'a>(
        &'a self,
        tenant: Option<&'a str>,
        user: &'a str,
    ) -> BoxFuture<'a, Result<f64, DbError>> {
        let spent = self
            .state()
            .usage
            .iter()
            .filter(|u| u.user.as_deref() == Some(user) && u.tenant.as_deref() == tenant)
            .map(|u| u.usage.cost_usd)
            .sum();
        ready(Ok(spent))
    }

    fn usage_report<'a>(
        &'a self,
        query: &'a UsageQuery,
    ) -> BoxFuture<'a, Result<UsageReport, DbError>> {
        let state = self.state();
        let mut report = UsageReport::default();
        let mut sessions = std::collections::HashSet::new();
        let matching = state.usage.iter().filter(|u| {
            query
                .user
                .as_ref()
                .is_none_or(|user| u.user.as_ref() == Some(user))
                && query
                    .tenant
                    .as_ref()
                    .is_none_or(|tenant| &u.tenant == tenant)
                && query
                    .session_id
                    .as_ref()
                    .is_none_or(|id| &u.session_id == id)
                && query.from.is_none_or(|from| u.at >= from)
                && query.to.is_none_or(|to| u.at < to)
        });
        for record in matching {
            report.usage.input_tokens += record.usage.input_tokens;
            report.usage.output_tokens += record.usage.output_tokens;
            report.usage.cost_usd += record.usage.cost_usd;
            report.turns += 1;
            sessions.insert(record.session_id.as_str());
        }
        report.sessions = sessions.len() as u64;
        ready(Ok(report))
    }

    fn enqueue_webhook<'a>(&'a self, item: &'a OutboxItem) -> BoxFuture<'a, Result<i64, DbError>> {
        let mut state = self.state();
        state.last_outbox_id += 1;
        let id = state.last_outbox_id;
        state.outbox.insert(id, OutboxItem { id, ..item.clone() });
        ready(Ok(id))
    }

    fn due_webhooks(
        &self,
        now: Millis,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<OutboxItem>, DbError>> {
        let due = self
            .state()
            .outbox
            .values()
            .filter(|item| item.next_attempt_at <= now && item.next_attempt_at != DEAD_LETTER)
            .take(limit)
            .cloned()
            .collect();
        ready(Ok(due))
    }

    fn claim_webhooks(
        &self,
        now: Millis,
        claim_until: Millis,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<OutboxItem>, DbError>> {
        let claimed = self
            .state()
            .outbox
            .values_mut()
            .filter(|item| item.next_attempt_at <= now && item.next_attempt_at != DEAD_LETTER)
            .take(limit)
            .map(|item| {
                let due = item.clone();
                item.next_attempt_at = claim_until;
                due
            })
            .collect();
        ready(Ok(claimed))
    }

    fn webhook_delivered(&self, id: i64) -> BoxFuture<'_, Result<(), DbError>> {
        self.state().outbox.remove(&id);
        ready(Ok(()))
    }

    fn webhook_failed<'a>(
        &'a self,
        id: i64,
        next_attempt_at: Millis,
        error: &'a str,
    ) -> BoxFuture<'a, Result<(), DbError>> {
        if let Some(item) = self.state().outbox.get_mut(&id) {
            item.attempts += 1;
            item.next_attempt_at = next_attempt_at;
            item.last_error = Some(error.to_owned());
        }
        ready(Ok(()))
    }

    fn dead_webhooks(&self, limit: usize) -> BoxFuture<'_, Result<Vec<OutboxItem>, DbError>> {
        let dead = self
            .state()
            .outbox
            .values()
            .filter(|item| item.next_attempt_at == DEAD_LETTER)
            .take(limit)
            .cloned()
            .collect();
        ready(Ok(dead))
    }

    fn lease<'a>(&'a self, session_id: &'a str) -> BoxFuture<'a, Result<Option<Lease>, DbError>> {
        ready(Ok(self.state().leases.get(session_id).cloned()))
    }

    fn take_lease<'a>(
        &'a self,
        session_id: &'a str,
        expected_epoch: u64,
        owner: &'a str,
        address: &'a str,
        expires_at: Millis,
    ) -> BoxFuture<'a, Result<Option<Lease>, DbError>> {
        let mut state = self.state();
        let current = state.leases.get(session_id).map_or(0, |lease| lease.epoch);
        if current != expected_epoch {
            return ready(Ok(None));
        }
        let lease = Lease {
            session_id: session_id.to_owned(),
            owner: owner.to_owned(),
            address: address.to_owned(),
            epoch: expected_epoch + 1,
            expires_at,
        };
        state.leases.insert(session_id.to_owned(), lease.clone());
        ready(Ok(Some(lease)))
    }

    fn renew_leases<'a>(
        &'a self,
        owner: &'a str,
        leases: &'a [(String, u64)],
        expires_at: Millis,
    ) -> BoxFuture<'a, Result<Vec<String>, DbError>> {
        let mut state = self.state();
        let mut lost = Vec::new();
        for (session_id, epoch) in leases {
            match state.leases.get_mut(session_id) {
                Some(lease) if lease.epoch == *epoch && lease.owner == owner => {
                    lease.expires_at = expires_at;
                }
                _ => lost.push(session_id.clone()),
            }
        }
        ready(Ok(lost))
    }

    fn release_lease<'a>(
        &'a self,
        session_id: &'a str,
        epoch: u64,
    ) -> BoxFuture<'a, Result<bool, DbError>> {
        let released = match self.state().leases.get_mut(session_id) {
            Some(lease) if lease.epoch == epoch => {
                lease.expires_at = 0;
                true
            }
            _ => false,
        };
        ready(Ok(released))
    }

    fn append_events_fenced<'a>(
        &'a self,
        epoch: u64,
        events: &'a [EventRecord],
    ) -> BoxFuture<'a, Result<(), DbError>> {
        let Some(session_id) = fenced_session(events) else {
            return ready(Ok(()));
        };
        let mut state = self.state();
        ready(
            session_id
                .and_then(|id| state.check_fence(id, epoch))
                .and_then(|()| state.append(events)),
        )
    }

    fn update_session_fenced<'a>(
        &'a self,
        epoch: u64,
        session: &'a SessionRecord,
    ) -> BoxFuture<'a, Result<bool, DbError>> {
        let mut state = self.state();
        ready(
            state
                .check_fence(&session.id, epoch)
                .map(|()| state.update(session)),
        )
    }

    fn record_usage_fenced<'a>(
        &'a self,
        epoch: u64,
        usage: &'a UsageRecord,
    ) -> BoxFuture<'a, Result<(), DbError>> {
        let mut state = self.state();
        ready(state.check_fence(&usage.session_id, epoch).map(|()| {
            state.usage.push(usage.clone());
        }))
    }

    fn insert_task_fenced<'a>(
        &'a self,
        epoch: u64,
        task: &'a TaskRecord,
    ) -> BoxFuture<'a, Result<(), DbError>> {
        let mut state = self.state();
        ready(
            state
                .check_fence(&task.session_id, epoch)
                .and_then(|()| state.insert_task(task)),
        )
    }

    fn update_task_fenced<'a>(
        &'a self,
        epoch: u64,
        task: &'a TaskRecord,
    ) -> BoxFuture<'a, Result<bool, DbError>> {
        let mut state = self.state();
        ready(
            state
                .check_fence(&task.session_id, epoch)
                .map(|()| state.update_task(task)),
        )
    }
}
