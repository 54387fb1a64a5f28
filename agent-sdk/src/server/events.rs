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
    /// A turn ended: `{turn, result, is_error, usage, duration_ms}`.
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
    /// A log whose last stored event is `last_seq` (0 for a new session).
    pub(crate) fn new(
        session_id: String,
        last_seq: u64,
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
            writer,
        }
    }

    /// Appends an event, hands it to every subscriber and to the database writer; returns its seq.
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
        self.writer.append(self.persisted.clone(), record);
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
    Append(Arc<AtomicU64>, EventRecord),
    Flush(oneshot::Sender<()>),
}

/// The database writer of every log: appends in batches, in order.
#[derive(Clone)]
pub(crate) struct EventWriter {
    tx: mpsc::UnboundedSender<WriterCommand>,
}

impl EventWriter {
    /// Starts the writer task on `db`.
    pub(crate) fn start(db: Arc<dyn ServerDb>) -> EventWriter {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(write_batches(db, rx));
        EventWriter { tx }
    }

    fn append(&self, persisted: Arc<AtomicU64>, record: EventRecord) {
        let _ = self.tx.send(WriterCommand::Append(persisted, record));
    }

    /// Waits until every event emitted before the call is in the database.
    pub(crate) async fn flush(&self) {
        let (done, flushed) = oneshot::channel();
        if self.tx.send(WriterCommand::Flush(done)).is_ok() {
            let _ = flushed.await;
        }
    }
}

async fn write_batches(db: Arc<dyn ServerDb>, mut rx: mpsc::UnboundedReceiver<WriterCommand>) {
    let mut batch: Vec<(Arc<AtomicU64>, EventRecord)> = Vec::new();
    let mut flushes = Vec::new();
    while let Some(command) = rx.recv().await {
        let mut next = Some(command);
        while let Some(command) = next.take() {
            match command {
                WriterCommand::Append(mark, record) => batch.push((mark, record)),
                WriterCommand::Flush(done) => flushes.push(done),
            }
            if batch.len() < BATCH {
                next = rx.try_recv().ok();
            }
        }
        let (marks, records): (Vec<_>, Vec<_>) = batch.drain(..).unzip();
        store(db.as_ref(), &records).await;
        for (mark, record) in marks.into_iter().zip(&records) {
            mark.fetch_max(record.seq, Ordering::AcqRel);
        }
        for done in flushes.drain(..) {
            let _ = done.send(());
        }
    }
}

async fn store(db: &dyn ServerDb, records: &[EventRecord]) {
    if records.is_empty() {
        return;
    }
    for attempt in 1..=ATTEMPTS {
        match db.append_events(records).await {
            Ok(()) => return,
            // Stored by an earlier attempt whose answer was lost: nothing to redo.
            Err(super::db::DbError::DuplicateEvent { .. }) => return,
            Err(err) if attempt == ATTEMPTS => {
                tracing::error!(%err, events = records.len(), "events could not be stored; replay after a restart will miss them");
            }
            Err(err) => {
                tracing::warn!(%err, attempt, "storing events failed; trying again");
                tokio::time::sleep(RETRY_AFTER).await;
            }
        }
    }
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
        let log = EventLog::new("s".into(), 0, limits, EventWriter::start(db.clone()));
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
