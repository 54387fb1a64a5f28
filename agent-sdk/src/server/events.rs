//! Each session's event log: numbered events, an in-memory ring of the
//! newest, batched writes to the database, live subscribers with a bound each,
//! and replay after a sequence number from the ring or the database.
//!
//! A subscriber that falls `subscriber_bound` events behind is cut off: it
//! gets what it had buffered, then [`Delivery::Cut`], and reconnects with the
//! last seq it saw. Memory per session stays bounded whatever the clients do.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use super::db::{EventRecord, Millis, ServerDb};

/// How many events the writer appends in one call at most.
const BATCH: usize = 256;
/// How long a failed append waits before it is tried again.
const RETRY_AFTER: Duration = Duration::from_millis(200);
/// How often a failed append is tried before its events are given up (and logged).
const ATTEMPTS: usize = 5;

/// The event types a session produces, as they appear on the wire.
///
/// ```
/// use agent_sdk::server::EventKind;
/// assert_eq!(EventKind::TurnComplete.as_str(), "turn_complete");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventKind {
    /// The session's status changed: `{status}`.
    Status,
    /// A message was accepted: `{turn, text}`.
    UserMessage,
    /// The model wrote text: `{turn, text}`.
    AssistantText,
    /// The model called a tool: `{turn, id, name, input}`.
    ToolUse,
    /// A tool answered: `{turn, tool_use_id, content, is_error}`.
    ToolResult,
    /// A tool call waits for a decision: `{correlation_id, tool_name, input, suggestions}`.
    PermissionRequest,
    /// A decision was made (by a client or the timeout): `{correlation_id, behavior, by}`.
    PermissionResolved,
    /// A turn ended: `{turn, result, is_error, interrupted, usage, duration_ms}`.
    /// A turn that was running on a host that died is reported by the host
    /// that takes the session over with `{turn, interrupted: true, is_error:
    /// true, subtype: "host_lost", result: null, error}`; it is never run again.
    TurnComplete,
    /// Something failed: `{code, message, turn?}`.
    Error,
}

impl EventKind {
    /// The type name on the wire (`event:` in SSE, `type` in WebSocket frames).
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Status => "status",
            EventKind::UserMessage => "user_message",
            EventKind::AssistantText => "assistant_text",
            EventKind::ToolUse => "tool_use",
            EventKind::ToolResult => "tool_result",
            EventKind::PermissionRequest => "permission_request",
            EventKind::PermissionResolved => "permission_resolved",
            EventKind::TurnComplete => "turn_complete",
            EventKind::Error => "error",
        }
    }
}

/// Sizes of a log.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LogLimits {
    /// Events kept in memory per session.
    pub(crate) ring: usize,
    /// Events a subscriber may have buffered before it is cut off.
    pub(crate) subscriber_bound: usize,
    /// How far back (in events) a client may resume; older is 412.
    pub(crate) replay_window: u64,
}

/// Why a replay cannot be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ReplayError {
    /// The seq is older than what is retained, or newer than the log.
    #[error(
        "event {after} is not retained (the log holds {first}..={last}); reconnect without a position to follow live events"
    )]
    NotRetained { after: u64, first: u64, last: u64 },
    /// The database failed.
    #[error("the event log could not be read: {0}")]
    Db(String),
}

/// One event as subscribers get it: its data serialized to JSON once, when
/// it is emitted (or read back for a replay), and shared by every subscriber
/// (`Arc`), so a fan-out to many clients copies text instead of serializing.
#[derive(Debug, PartialEq)]
pub(crate) struct SharedEvent {
    /// Its sequence number in the session.
    pub(crate) seq: u64,
    /// The event type.
    pub(crate) kind: String,
    /// The event's data as JSON text.
    pub(crate) data: Box<str>,
}

impl SharedEvent {
    fn new(record: &EventRecord) -> Arc<SharedEvent> {
        Arc::new(SharedEvent {
            seq: record.seq,
            kind: record.kind.clone(),
            data: record.data.to_string().into_boxed_str(),
        })
    }
}

/// What a subscriber receives.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Delivery {
    /// The next event.
    Event(Arc<SharedEvent>),
    /// The subscriber fell too far behind and was cut off after its last event.
    Cut,
}

struct Subscriber {
    tx: mpsc::Sender<Arc<SharedEvent>>,
    cut: Arc<AtomicBool>,
}

struct LogState {
    next_seq: u64,
    ring: VecDeque<Arc<SharedEvent>>,
    subscribers: Vec<Subscriber>,
}

/// One session's log. Cheap to share (`Arc`).
pub(crate) struct EventLog {
    session_id: String,
    limits: LogLimits,
    state: Mutex<LogState>,
    /// The highest seq the database holds; the ring drops nothing above it.
    persisted: Arc<AtomicU64>,
    /// The session's lease epoch this host holds: every write carries it.
    epoch: u64,
    writer: EventWriter,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn now_millis() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or_default()
}

impl EventLog {
    /// A log whose last stored event is `last_seq` (0 for a new session),
    /// written under the session's lease `epoch`.
    pub(crate) fn new(
        session_id: String,
        last_seq: u64,
        epoch: u64,
        limits: LogLimits,
        writer: EventWriter,
    ) -> Self {
        EventLog {
            session_id,
            limits,
            state: Mutex::new(LogState {
                next_seq: last_seq + 1,
                ring: VecDeque::new(),
                subscribers: Vec::new(),
            }),
            persisted: Arc::new(AtomicU64::new(last_seq)),
            epoch,
            writer,
        }
    }

    /// The seq of its newest event (0 when none).
    pub(crate) fn last_seq(&self) -> u64 {
        lock(&self.state).next_seq - 1
    }

    /// Tells the host that a write was refused: the session has another owner.
    pub(crate) fn report_lost(&self) {
        self.writer.report_lost(&self.session_id, self.epoch);
    }

    /// Ends every subscriber's stream (the session left this host); they
    /// reconnect and are sent to its new owner.
    pub(crate) fn close(&self) {
        lock(&self.state).subscribers.clear();
    }

    /// Appends an event, hands it to every subscriber and to the database writer; returns its seq.
    /// The session whose log this is.
    pub(crate) fn session_id(&self) -> &str {
        &self.session_id
    }

    pub(crate) fn emit(&self, kind: EventKind, data: Value) -> u64 {
        let mut state = lock(&self.state);
        let seq = state.next_seq;
        state.next_seq += 1;
        let record = EventRecord {
            session_id: self.session_id.clone(),
            seq,
            kind: kind.as_str().to_owned(),
            data,
            at: now_millis(),
        };
        tracing::debug!(session_id = %self.session_id, seq, kind = kind.as_str(), "event");
        let shared = SharedEvent::new(&record);
        state
            .subscribers
            .retain(|sub| match sub.tx.try_send(shared.clone()) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    sub.cut.store(true, Ordering::Release);
                    false
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            });
        state.ring.push_back(shared);
        let persisted = self.persisted.load(Ordering::Acquire);
        while state.ring.len() > self.limits.ring
            && state.ring.front().is_some_and(|e| e.seq <= persisted)
        {
            state.ring.pop_front();
        }
        drop(state);
        self.writer
            .append(self.persisted.clone(), self.epoch, record);
        seq
    }

    /// Subscribes to the events after `after` (`None`: only new events), the
    /// older ones read from the database when the ring no longer has them.
    pub(crate) async fn subscribe(
        &self,
        after: Option<u64>,
        db: &dyn ServerDb,
    ) -> Result<EventStream, ReplayError> {
        let (tx, rx) = mpsc::channel(self.limits.subscriber_bound.max(1));
        let cut = Arc::new(AtomicBool::new(false));
        let (ring_first, mut backlog) = {
            let mut state = lock(&self.state);
            let last = state.next_seq - 1;
            let after = after.unwrap_or(last);
            let first = last.saturating_sub(self.limits.replay_window) + 1;
            if after > last || after + 1 < first {
                return Err(ReplayError::NotRetained {
                    after,
                    first: first.min(last),
                    last,
                });
            }
            state.subscribers.push(Subscriber {
                tx,
                cut: cut.clone(),
            });
            let ring_first = state.ring.front().map_or(state.next_seq, |e| e.seq);
            let backlog: VecDeque<Arc<SharedEvent>> = state
                .ring
                .iter()
                .filter(|e| e.seq > after)
                .cloned()
                .collect();
            (
                (after + 1 < ring_first).then_some((after, ring_first)),
                backlog,
            )
        };
        if let Some((after, ring_first)) = ring_first {
            let wanted = (ring_first - after - 1) as usize;
            let older = db
                .events_after(&self.session_id, after, wanted)
                .await
                .map_err(|err| ReplayError::Db(err.to_string()))?;
            for event in older.into_iter().rev().filter(|e| e.seq < ring_first) {
                backlog.push_front(SharedEvent::new(&event));
            }
        }
        Ok(EventStream { backlog, rx, cut })
    }
}

/// One subscriber's events: the replayed backlog, then live ones.
pub(crate) struct EventStream {
    backlog: VecDeque<Arc<SharedEvent>>,
    rx: mpsc::Receiver<Arc<SharedEvent>>,
    cut: Arc<AtomicBool>,
}

impl EventStream {
    /// The next delivery; `None` once the log is gone (session deleted) or after [`Delivery::Cut`].
    pub(crate) async fn next(&mut self) -> Option<Delivery> {
        if let Some(event) = self.backlog.pop_front() {
            return Some(Delivery::Event(event));
        }
        match self.rx.recv().await {
            Some(event) => Some(Delivery::Event(event)),
            None if self.cut.swap(false, Ordering::AcqRel) => Some(Delivery::Cut),
            None => None,
        }
    }
}

enum WriterCommand {
    Append(Arc<AtomicU64>, u64, EventRecord),
    Flush(oneshot::Sender<()>),
}

/// A session whose write was refused for a stale lease epoch: `(id, epoch)`.
pub(crate) type Lost = (String, u64);

/// The database writer of every log: appends in batches, in order, each
/// session's events under its lease epoch.
#[derive(Clone)]
pub(crate) struct EventWriter {
    tx: mpsc::UnboundedSender<WriterCommand>,
    lost: mpsc::UnboundedSender<Lost>,
}

impl EventWriter {
    /// Starts the writer task on `db`; the receiver gets the sessions whose
    /// writes were refused (fenced), for the host to drop.
    pub(crate) fn start(db: Arc<dyn ServerDb>) -> (EventWriter, mpsc::UnboundedReceiver<Lost>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let (lost, lost_rx) = mpsc::unbounded_channel();
        tokio::spawn(write_batches(db, rx, lost.clone()));
        (EventWriter { tx, lost }, lost_rx)
    }

    fn append(&self, persisted: Arc<AtomicU64>, epoch: u64, record: EventRecord) {
        let _ = self
            .tx
            .send(WriterCommand::Append(persisted, epoch, record));
    }

    fn report_lost(&self, session_id: &str, epoch: u64) {
        let _ = self.lost.send((session_id.to_owned(), epoch));
    }

    /// Waits until every event emitted before the call is in the database.
    pub(crate) async fn flush(&self) {
        let (done, flushed) = oneshot::channel();
        if self.tx.send(WriterCommand::Flush(done)).is_ok() {
            let _ = flushed.await;
        }
    }
}

async fn write_batches(
    db: Arc<dyn ServerDb>,
    mut rx: mpsc::UnboundedReceiver<WriterCommand>,
    lost: mpsc::UnboundedSender<Lost>,
) {
    let mut batch: Vec<(Arc<AtomicU64>, u64, EventRecord)> = Vec::new();
    let mut flushes = Vec::new();
    while let Some(command) = rx.recv().await {
        let mut next = Some(command);
        while let Some(command) = next.take() {
            match command {
                WriterCommand::Append(mark, epoch, record) => batch.push((mark, epoch, record)),
                WriterCommand::Flush(done) => flushes.push(done),
            }
            if batch.len() < BATCH {
                next = rx.try_recv().ok();
            }
        }
        // One fenced append per run of a session's events, in order.
        let mut start = 0;
        while start < batch.len() {
            let (_, epoch, first) = &batch[start];
            let end = batch[start..]
                .iter()
                .position(|(_, e, r)| r.session_id != first.session_id || e != epoch)
                .map_or(batch.len(), |n| start + n);
            let records: Vec<EventRecord> = batch[start..end]
                .iter()
                .map(|(_, _, r)| r.clone())
                .collect();
            if let Stored::Fenced = store(db.as_ref(), *epoch, &records).await {
                let _ = lost.send((first.session_id.clone(), *epoch));
            }
            start = end;
        }
        for (mark, _, record) in batch.drain(..) {
            mark.fetch_max(record.seq, Ordering::AcqRel);
        }
        for done in flushes.drain(..) {
            let _ = done.send(());
        }
    }
}

enum Stored {
    Done,
    Fenced,
}

async fn store(db: &dyn ServerDb, epoch: u64, records: &[EventRecord]) -> Stored {
    if records.is_empty() {
        return Stored::Done;
    }
    for attempt in 1..=ATTEMPTS {
        match db.append_events_fenced(epoch, records).await {
            Ok(()) => return Stored::Done,
            // Stored by an earlier attempt whose answer was lost: nothing to redo.
            Err(super::db::DbError::DuplicateEvent { .. }) => return Stored::Done,
            // Another host owns the session now: its log is not ours to write.
            Err(err @ super::db::DbError::Fenced { .. }) => {
                tracing::warn!(%err, events = records.len(), "events refused: the session moved to another host");
                return Stored::Fenced;
            }
            Err(err) if attempt == ATTEMPTS => {
                tracing::error!(%err, events = records.len(), "events could not be stored; replay after a restart will miss them");
            }
            Err(err) => {
                tracing::warn!(%err, attempt, "storing events failed; trying again");
                tokio::time::sleep(RETRY_AFTER).await;
            }
        }
    }
    Stored::Done
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_subscriber_shares_one_serialized_event() {
        let db: Arc<dyn ServerDb> = Arc::new(super::super::db::MemoryServerDb::new());
        let limits = LogLimits {
            ring: 16,
            subscriber_bound: 16,
            replay_window: 16,
        };
        let log = EventLog::new("s".into(), 0, 1, limits, EventWriter::start(db.clone()).0);
        let mut first = log.subscribe(None, db.as_ref()).await.unwrap();
        let mut second = log.subscribe(None, db.as_ref()).await.unwrap();
        log.emit(EventKind::AssistantText, serde_json::json!({"text": "hi"}));
        let mut replay = log.subscribe(Some(0), db.as_ref()).await.unwrap();
        let next = async |stream: &mut EventStream| match stream.next().await {
            Some(Delivery::Event(event)) => event,
            other => panic!("{other:?}"),
        };
        let (a, b, c) = (
            next(&mut first).await,
            next(&mut second).await,
            next(&mut replay).await,
        );
        assert!(
            Arc::ptr_eq(&a, &b) && Arc::ptr_eq(&a, &c),
            "one event, shared"
        );
        assert_eq!((a.seq, a.kind.as_str()), (1, "assistant_text"));
        assert_eq!(&*a.data, r#"{"text":"hi"}"#);
    }
}
