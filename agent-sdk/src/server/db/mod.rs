//! The server's records in a database: sessions, tasks, each session's event
//! log, usage records and the webhook outbox.
//!
//! One [`ServerDb`] per server, opened from `DATABASE_URL` with [`open`]
//! (`sqlite://path`, `postgres://...`, or `memory://` for tests). The same
//! database holds the transcripts: [`ServerDb::session_store`] is a
//! [`SessionStore`] on it.
//!
//! ```no_run
//! # async fn run() -> Result<(), agent_sdk::server::db::DbError> {
//! let db = agent_sdk::server::db::open("sqlite://agent-server.db").await?;
//! db.ping().await?;
//! # Ok(())
//! # }
//! ```

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::handler::BoxFuture;
use crate::store::SessionStore;

mod codec;
mod memory;
mod postgres;
mod sqlite;

pub use memory::MemoryServerDb;
pub use postgres::PostgresServerDb;
pub use sqlite::SqliteServerDb;

/// Milliseconds since the Unix epoch (UTC); every time in the records.
pub type Millis = i64;

/// The `next_attempt_at` of a dead-lettered outbox item: one that failed its
/// last allowed attempt. It stays in the outbox (with its `attempts` and
/// `last_error`) for an operator, is never due again, and is listed by
/// [`ServerDb::dead_webhooks`].
///
/// ```
/// use agent_sdk::server::db::DEAD_LETTER;
/// assert_eq!(DEAD_LETTER, i64::MAX);
/// ```
pub const DEAD_LETTER: Millis = Millis::MAX;

/// What went wrong in the database.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DbError {
    /// `DATABASE_URL` is not `sqlite://...`, `postgres://...` or `memory://`,
    /// or names a backend this build was compiled without.
    #[error("unsupported database URL {url:?}: {reason}")]
    UnsupportedUrl {
        /// The URL as given (password removed).
        url: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// A record with this id exists already.
    #[error("{what} {id:?} already exists")]
    Conflict {
        /// `"session"` or `"task"`.
        what: &'static str,
        /// The id.
        id: String,
    },
    /// An event with this sequence number is stored already for the session
    /// (events are append-only and numbered without gaps by their writer).
    #[error("event {seq} of session {session_id:?} is already stored")]
    DuplicateEvent {
        /// The session.
        session_id: String,
        /// The sequence number.
        seq: u64,
    },
    /// A write for a session was refused: the writer's lease epoch is no
    /// longer the session's current one (another host took the session over).
    #[error("session {session_id:?} belongs to another host now (lease epoch {epoch} is stale)")]
    Fenced {
        /// The session.
        session_id: String,
        /// The stale epoch the write carried.
        epoch: u64,
    },
    /// The database failed or could not be reached.
    #[error("database error: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Where a server session is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SessionStatus {
    /// Created; its CLI is starting.
    Starting,
    /// Waiting for a message.
    Idle,
    /// A turn is running.
    Running,
    /// Not live in this process (evicted, or the server restarted); the next
    /// message resumes its conversation from the session store.
    Paused,
    /// Its CLI failed past the restart limit.
    Failed,
    /// Deleted or closed: messages are refused with 409.
    Closed,
}

/// Where a task is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TaskStatus {
    /// Its turn is running.
    Running,
    /// The turn ended with a result.
    Completed,
    /// The turn ended with an error.
    Failed,
    /// Interrupted by a request, a drain or a lost host.
    Interrupted,
}

/// Tokens and cost, summed over turns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Usage {
    /// Input tokens (cache reads and writes included).
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Cost in US dollars as the CLI reported it.
    pub cost_usd: f64,
}

/// A server session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// The server's id of the session (not the CLI's).
    pub id: String,
    /// The end user it belongs to, if any.
    pub user: Option<String>,
    /// The tenant it belongs to, if any.
    pub tenant: Option<String>,
    /// Where it is.
    pub status: SessionStatus,
    /// The creation request (system prompt, model, limits...): enough to
    /// build its options again after a restart.
    pub spec: Value,
    /// The caller's metadata, returned as given.
    pub metadata: Value,
    /// The CLI's session id once known: what resumes the conversation.
    pub claude_session_id: Option<String>,
    /// Turns completed.
    pub turns: u64,
    /// Usage summed over its turns.
    pub usage: Usage,
    /// What its CLIs reported of their running totals: what the next turn's
    /// cost is told from, by this host or another after a restart or takeover.
    #[serde(default)]
    pub cli_cost: crate::message::CostBaseline,
    /// When it was created.
    pub created_at: Millis,
    /// When it last received a message or produced an event.
    pub last_activity: Millis,
}

/// Which sessions [`ServerDb::list_sessions`] returns; `None` matches all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionFilter {
    /// Only this user's.
    pub user: Option<String>,
    /// Only this tenant's.
    pub tenant: Option<String>,
    /// Only sessions in this status.
    pub status: Option<SessionStatus>,
}

/// A one-shot job: a prompt run as one turn of a session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRecord {
    /// The task's id (given by the caller or generated).
    pub task_id: String,
    /// The session it runs in.
    pub session_id: String,
    /// Where it is.
    pub status: TaskStatus,
    /// The prompt.
    pub prompt: String,
    /// The result text, once completed.
    pub result: Option<String>,
    /// Why it failed or was interrupted.
    pub error: Option<String>,
    /// Usage of its turn.
    pub usage: Usage,
    /// When it was created.
    pub created_at: Millis,
    /// When it ended.
    pub finished_at: Option<Millis>,
}

/// One event of a session's log, as SSE and WebSocket clients receive it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    /// The session.
    pub session_id: String,
    /// Its sequence number: 1, 2, 3... per session, no gaps.
    pub seq: u64,
    /// The event type (`status`, `assistant_text`, `turn_complete`, ...).
    pub kind: String,
    /// The event's JSON body.
    pub data: Value,
    /// When it happened.
    pub at: Millis,
}

/// The usage of one turn, kept for budgets and reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageRecord {
    /// The session.
    pub session_id: String,
    /// Its user, if any (budgets are per user).
    pub user: Option<String>,
    /// Its tenant, if any.
    pub tenant: Option<String>,
    /// The turn number in the session (1-based).
    pub turn: u64,
    /// Tokens and cost of the turn.
    pub usage: Usage,
    /// When the turn completed.
    pub at: Millis,
}

/// Which usage records [`ServerDb::usage_report`] sums; `None` matches all.
///
/// ```
/// use agent_sdk::server::db::UsageQuery;
///
/// // Alice of no tenant, in the first second of 1970 (times in ms since the epoch).
/// let query = UsageQuery {
///     user: Some("alice".into()),
///     tenant: Some(None),
///     from: Some(0),
///     to: Some(1_000),
///     ..UsageQuery::default()
/// };
/// assert_eq!(query.session_id, None);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageQuery {
    /// Only this user's turns.
    pub user: Option<String>,
    /// Only this tenant's turns: `Some(None)` is the turns of no tenant.
    pub tenant: Option<Option<String>>,
    /// Only this session's turns.
    pub session_id: Option<String>,
    /// Turns completed at or after this time.
    pub from: Option<Millis>,
    /// Turns completed before this time.
    pub to: Option<Millis>,
}

/// Usage summed over the records a [`UsageQuery`] matches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct UsageReport {
    /// Tokens and cost summed.
    pub usage: Usage,
    /// Sessions with at least one matching turn (deleted ones included).
    pub sessions: u64,
    /// Turns matched.
    pub turns: u64,
}

/// Which host owns a session, until when, and under which fencing epoch.
///
/// A host takes a session's lease before it runs the session; it renews the
/// lease by heartbeat; another host may take it once `expires_at` has passed.
/// Each take raises `epoch` by one, and every write a host makes for the
/// session carries the epoch it took: a write with an older one is refused
/// ([`DbError::Fenced`]), so a host that lost a session cannot write into it.
///
/// ```
/// use agent_sdk::server::db::Lease;
/// let lease = Lease {
///     session_id: "ses_1".into(), owner: "host-a".into(),
///     address: "http://10.0.0.5:8080".into(), epoch: 3, expires_at: 1_000,
/// };
/// assert!(lease.is_live(999) && !lease.is_live(1_000));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// The session.
    pub session_id: String,
    /// The owner host's id.
    pub owner: String,
    /// Where the owner host takes requests (its advertised address).
    pub address: String,
    /// The fencing token: 1 for the first owner, one more on each take.
    pub epoch: u64,
    /// Until when it is held (0 once released).
    pub expires_at: Millis,
}

impl Lease {
    /// Whether the lease still holds at `now`.
    pub fn is_live(&self, now: Millis) -> bool {
        self.expires_at > now
    }
}

/// A webhook delivery waiting in the outbox (written in the same database as
/// the record it reports, so a restart loses none).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxItem {
    /// Assigned by the database on [`ServerDb::enqueue_webhook`]; ignored there.
    pub id: i64,
    /// The tenant whose webhook it is.
    pub tenant: String,
    /// Where it goes.
    pub url: String,
    /// The event name (`session.created`, `turn.completed`, ...).
    pub event: String,
    /// The exact body to send (signed as is).
    pub body: String,
    /// Attempts made so far.
    pub attempts: u32,
    /// Not before this time.
    pub next_attempt_at: Millis,
    /// The last attempt's error, if any.
    pub last_error: Option<String>,
}

/// The server's database. Every method is one transaction; implementations
/// are cheap to share (`Arc<dyn ServerDb>`).
pub trait ServerDb: Send + Sync + 'static {
    /// Answers when the database does (for `/readyz`).
    fn ping(&self) -> BoxFuture<'_, Result<(), DbError>>;

    /// The transcripts' store on the same database.
    fn session_store(&self) -> Arc<dyn SessionStore>;

    /// Stores a new session; [`DbError::Conflict`] if the id exists.
    fn insert_session<'a>(
        &'a self,
        session: &'a SessionRecord,
    ) -> BoxFuture<'a, Result<(), DbError>>;
    /// Replaces a stored session's record (status, counters, ids); `Ok(false)` if unknown.
    fn update_session<'a>(
        &'a self,
        session: &'a SessionRecord,
    ) -> BoxFuture<'a, Result<bool, DbError>>;
    /// One session.
    fn get_session<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<SessionRecord>, DbError>>;
    /// Sessions matching the filter, oldest first.
    fn list_sessions<'a>(
        &'a self,
        filter: &'a SessionFilter,
    ) -> BoxFuture<'a, Result<Vec<SessionRecord>, DbError>>;
    /// Removes a session with its events and tasks; `Ok(false)` if unknown.
    /// Usage records stay (budgets count spent money).
    fn delete_session<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<bool, DbError>>;

    /// Appends events, in order; [`DbError::DuplicateEvent`] if a seq is stored.
    fn append_events<'a>(&'a self, events: &'a [EventRecord])
    -> BoxFuture<'a, Result<(), DbError>>;
    /// Up to `limit` events of a session with `seq > after`, in order.
    fn events_after<'a>(
        &'a self,
        session_id: &'a str,
        after: u64,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<EventRecord>, DbError>>;
    /// The highest stored seq of a session (0 when none).
    fn last_event_seq<'a>(&'a self, session_id: &'a str) -> BoxFuture<'a, Result<u64, DbError>>;

    /// Stores a new task; [`DbError::Conflict`] if the id exists.
    fn insert_task<'a>(&'a self, task: &'a TaskRecord) -> BoxFuture<'a, Result<(), DbError>>;
    /// Replaces a stored task's record; `Ok(false)` if unknown.
    fn update_task<'a>(&'a self, task: &'a TaskRecord) -> BoxFuture<'a, Result<bool, DbError>>;
    /// One task.
    fn get_task<'a>(
        &'a self,
        task_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<TaskRecord>, DbError>>;
    /// Tasks, oldest first, optionally only those in one status.
    fn list_tasks<'a>(
        &'a self,
        status: Option<TaskStatus>,
    ) -> BoxFuture<'a, Result<Vec<TaskRecord>, DbError>>;

    /// Records one turn's usage.
    fn record_usage<'a>(&'a self, usage: &'a UsageRecord) -> BoxFuture<'a, Result<(), DbError>>;
    /// What a user of a tenant (`None`: of no tenant) has spent in total
    /// (USD), over all their sessions, deleted ones included. Users are
    /// named per tenant: `alice` of one tenant is not `alice` of another.
    fn user_spend<'a>(
        &'a self,
        tenant: Option<&'a str>,
        user: &'a str,
    ) -> BoxFuture<'a, Result<f64, DbError>>;

    /// Tokens, cost, sessions and turns summed over the usage records
    /// `query` matches (deleted sessions' included).
    fn usage_report<'a>(
        &'a self,
        query: &'a UsageQuery,
    ) -> BoxFuture<'a, Result<UsageReport, DbError>>;

    /// Puts a delivery in the outbox; returns its id.
    fn enqueue_webhook<'a>(&'a self, item: &'a OutboxItem) -> BoxFuture<'a, Result<i64, DbError>>;
    /// Deliveries due at `now` (oldest first), at most `limit`.
    fn due_webhooks(
        &self,
        now: Millis,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<OutboxItem>, DbError>>;
    /// Claims the deliveries due at `now` (oldest first, at most `limit`) for
    /// one deliverer: each is due again only at `claim_until` unless it is
    /// delivered or failed before, so deliverers of several hosts on one
    /// database do not send the same item at once; one that dies holding a
    /// claim leaves the item to the next after `claim_until`.
    fn claim_webhooks(
        &self,
        now: Millis,
        claim_until: Millis,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<OutboxItem>, DbError>>;
    /// Removes a delivered item from the outbox.
    fn webhook_delivered(&self, id: i64) -> BoxFuture<'_, Result<(), DbError>>;
    /// Records a failed attempt: `attempts + 1`, the error, the next time
    /// ([`DEAD_LETTER`] when no attempt is left).
    fn webhook_failed<'a>(
        &'a self,
        id: i64,
        next_attempt_at: Millis,
        error: &'a str,
    ) -> BoxFuture<'a, Result<(), DbError>>;
    /// Dead-lettered deliveries (oldest first), at most `limit`.
    fn dead_webhooks(&self, limit: usize) -> BoxFuture<'_, Result<Vec<OutboxItem>, DbError>>;

    /// A session's lease, if it ever had one.
    fn lease<'a>(&'a self, session_id: &'a str) -> BoxFuture<'a, Result<Option<Lease>, DbError>>;
    /// Takes a session's lease for `owner` at `address` until `expires_at`,
    /// as a compare-and-set on the epoch in one statement: it succeeds only
    /// while the stored epoch is `expected_epoch` (0: no lease yet). Returns
    /// the new lease (epoch `expected_epoch + 1`), or `None` when another
    /// host changed the lease first (it lost the race).
    fn take_lease<'a>(
        &'a self,
        session_id: &'a str,
        expected_epoch: u64,
        owner: &'a str,
        address: &'a str,
        expires_at: Millis,
    ) -> BoxFuture<'a, Result<Option<Lease>, DbError>>;
    /// Extends `owner`'s leases `(session id, epoch)` to `expires_at`; returns
    /// the ids of those no longer held at that epoch (taken over: the host
    /// drops them).
    fn renew_leases<'a>(
        &'a self,
        owner: &'a str,
        leases: &'a [(String, u64)],
        expires_at: Millis,
    ) -> BoxFuture<'a, Result<Vec<String>, DbError>>;
    /// Gives a lease up (expired at once, epoch kept); `Ok(false)` when the
    /// epoch is not the current one.
    fn release_lease<'a>(
        &'a self,
        session_id: &'a str,
        epoch: u64,
    ) -> BoxFuture<'a, Result<bool, DbError>>;

    /// [`append_events`](Self::append_events) of one session's events, in
    /// one transaction with a check that `epoch` is the session's lease
    /// epoch; [`DbError::Fenced`] (nothing stored) otherwise.
    fn append_events_fenced<'a>(
        &'a self,
        epoch: u64,
        events: &'a [EventRecord],
    ) -> BoxFuture<'a, Result<(), DbError>>;
    /// [`update_session`](Self::update_session) under the lease's `epoch`
    /// ([`DbError::Fenced`] otherwise).
    fn update_session_fenced<'a>(
        &'a self,
        epoch: u64,
        session: &'a SessionRecord,
    ) -> BoxFuture<'a, Result<bool, DbError>>;
    /// [`record_usage`](Self::record_usage) under the session's lease
    /// `epoch` ([`DbError::Fenced`] otherwise).
    fn record_usage_fenced<'a>(
        &'a self,
        epoch: u64,
        usage: &'a UsageRecord,
    ) -> BoxFuture<'a, Result<(), DbError>>;
    /// [`insert_task`](Self::insert_task) under the lease `epoch` of the
    /// task's session ([`DbError::Fenced`] otherwise).
    fn insert_task_fenced<'a>(
        &'a self,
        epoch: u64,
        task: &'a TaskRecord,
    ) -> BoxFuture<'a, Result<(), DbError>>;
    /// [`update_task`](Self::update_task) under the lease `epoch` of the
    /// task's session ([`DbError::Fenced`] otherwise): a host that lost the
    /// session cannot finish or interrupt its tasks any more.
    fn update_task_fenced<'a>(
        &'a self,
        epoch: u64,
        task: &'a TaskRecord,
    ) -> BoxFuture<'a, Result<bool, DbError>>;
}

/// The one session a fenced batch of events belongs to: `None` for an empty
/// batch, an error when it mixes sessions.
pub(super) fn fenced_session(events: &[EventRecord]) -> Option<Result<&str, DbError>> {
    let first = events.first()?.session_id.as_str();
    if events.iter().any(|e| e.session_id != first) {
        return Some(Err(codec::backend(
            "a fenced batch of events must belong to one session",
        )));
    }
    Some(Ok(first))
}

/// Opens the database a URL names: `sqlite://<path>` (created if missing;
/// `sqlite::memory:` is refused, use `memory://`), `postgres://...` /
/// `postgresql://...`, or `memory://` (nothing kept; for tests).
pub async fn open(url: &str) -> Result<Arc<dyn ServerDb>, DbError> {
    let unsupported = |reason: &str| DbError::UnsupportedUrl {
        url: without_password(url),
        reason: reason.to_owned(),
    };
    if url == "memory://" {
        return Ok(Arc::new(MemoryServerDb::new()));
    }
    if let Some(path) = url.strip_prefix("sqlite://") {
        if path.is_empty() || path.contains(":memory:") {
            return Err(unsupported(
                "an SQLite URL names a file (sqlite://path); use memory:// for a throwaway database",
            ));
        }
        return Ok(Arc::new(SqliteServerDb::open(path).await?));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Arc::new(PostgresServerDb::connect(url).await?));
    }
    Err(unsupported(
        "expected sqlite://<path>, postgres://... or memory://",
    ))
}

/// The URL with the password of its user info (`user:password@`) replaced,
/// for error messages and logs.
fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rsplit_once('@') {
        Some((user_info, host)) if user_info.contains(':') => {
            let user = user_info.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}{}", &rest[authority_end..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_in_errors_carry_no_password() {
        assert_eq!(
            without_password("postgres://agent:s3cret@db:5432/x"),
            "postgres://agent:***@db:5432/x"
        );
        assert_eq!(
            without_password("postgres://agent@db/x"),
            "postgres://agent@db/x"
        );
        assert_eq!(without_password("sqlite://a.db"), "sqlite://a.db");
    }

    #[tokio::test]
    async fn unknown_schemes_and_in_memory_sqlite_are_refused() {
        for url in [
            "mysql://x",
            "sqlite://",
            "sqlite://:memory:",
            "redis://a:pw@h/0",
        ] {
            let Err(DbError::UnsupportedUrl { url: shown, .. }) = open(url).await else {
                panic!("{url} was accepted");
            };
            assert!(!shown.contains("pw"), "{shown}");
        }
    }
}
