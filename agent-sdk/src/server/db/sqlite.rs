//! [`SqliteServerDb`]: the server's records in an embedded SQLite file, next
//! to the transcripts of a [`SqliteSessionStore`] on the same file.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use super::codec::{
    backend, cost_json, from_sql_int, json_text, parse_cost, parse_json, parse_status, status_name,
    to_sql_int, usage_report,
};
use super::{
    DEAD_LETTER, DbError, EventRecord, Lease, Millis, OutboxItem, ServerDb, SessionFilter,
    SessionRecord, TaskRecord, TaskStatus, Usage, UsageQuery, UsageRecord, UsageReport,
    fenced_session,
};
use crate::handler::BoxFuture;
use crate::store::schema::{Schema, migrate_sqlite};
use crate::store::{SessionStore, SqliteSessionStore};

/// The server's tables, one step per version (`server_schema_version`, apart
/// from the session store's `schema_version`); `open` applies the steps a
/// file lacks.
const MIGRATIONS: &[&str] = &[
    // 1: sessions, their event logs, tasks, usage records and the outbox.
    "CREATE TABLE server_sessions (
        id TEXT PRIMARY KEY, user TEXT, tenant TEXT, status TEXT NOT NULL,
        spec TEXT NOT NULL, metadata TEXT NOT NULL, claude_session_id TEXT,
        turns INTEGER NOT NULL, input_tokens INTEGER NOT NULL,
        output_tokens INTEGER NOT NULL, cost_usd REAL NOT NULL,
        created_at INTEGER NOT NULL, last_activity INTEGER NOT NULL);
     CREATE INDEX server_sessions_by_age ON server_sessions (created_at, id);
     CREATE TABLE server_events (
        session_id TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL,
        data TEXT NOT NULL, at INTEGER NOT NULL,
        PRIMARY KEY (session_id, seq)) WITHOUT ROWID;
     CREATE TABLE server_tasks (
        task_id TEXT PRIMARY KEY, session_id TEXT NOT NULL, status TEXT NOT NULL,
        prompt TEXT NOT NULL, result TEXT, error TEXT,
        input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL, cost_usd REAL NOT NULL,
        created_at INTEGER NOT NULL, finished_at INTEGER);
     CREATE INDEX server_tasks_by_session ON server_tasks (session_id);
     CREATE TABLE server_usage (
        id INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL,
        user TEXT, tenant TEXT, turn INTEGER NOT NULL,
        input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL, cost_usd REAL NOT NULL,
        at INTEGER NOT NULL);
     CREATE INDEX server_usage_by_user ON server_usage (user);
     CREATE TABLE server_outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT, tenant TEXT NOT NULL, url TEXT NOT NULL,
        event TEXT NOT NULL, body TEXT NOT NULL, attempts INTEGER NOT NULL,
        next_attempt_at INTEGER NOT NULL, last_error TEXT);
     CREATE INDEX server_outbox_due ON server_outbox (next_attempt_at, id);",
    // 2: which host owns each session, until when, under which fencing epoch.
    "CREATE TABLE server_leases (
        session_id TEXT PRIMARY KEY, owner TEXT NOT NULL, address TEXT NOT NULL,
        epoch INTEGER NOT NULL, expires_at INTEGER NOT NULL);",
    // 3: each session's cost baseline (what its CLIs' running totals counted).
    "ALTER TABLE server_sessions ADD COLUMN cli_cost TEXT NOT NULL DEFAULT '{}';",
];

/// The server's records in a SQLite file (`sqlite://path`); the transcripts
/// live in the same file ([`session_store`](ServerDb::session_store) is a
/// [`SqliteSessionStore`] on it). Calls run on tokio's blocking pool, one at
/// a time per database.
///
/// ```
/// use agent_sdk::server::db::{ServerDb, SqliteServerDb};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let dir = tempfile::tempdir().unwrap();
/// let db = SqliteServerDb::open(dir.path().join("server.db")).await?;
/// db.ping().await?;
/// assert!(db.get_session("s1").await?.is_none());
/// # Ok::<(), agent_sdk::server::db::DbError>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct SqliteServerDb {
    connection: Arc<Mutex<Connection>>,
    store: Arc<SqliteSessionStore>,
}

impl SqliteServerDb {
    /// Opens (creating it if needed) the database file at `path`, brings the
    /// server's schema and the session store's up to date.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, DbError> {
        let path = path.as_ref().to_owned();
        // The store first: it creates the file and switches it to WAL.
        let store = SqliteSessionStore::open(&path).await.map_err(backend)?;
        let connection = tokio::task::spawn_blocking(move || {
            let mut connection = Connection::open(&path)
                .map_err(|e| backend(format!("cannot open {}: {e}", path.display())))?;
            migrate(&mut connection)?;
            Ok::<_, DbError>(connection)
        })
        .await
        .map_err(backend)??;
        Ok(Self {
            connection: Arc::new(Mutex::new(connection)),
            store: Arc::new(store),
        })
    }

    /// Runs `job` with the connection on the blocking pool.
    fn with<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Connection) -> Result<T, DbError> + Send + 'static,
    ) -> BoxFuture<'static, Result<T, DbError>> {
        let connection = Arc::clone(&self.connection);
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                // A panicked job rolled its transaction back: the data is sound.
                let mut connection = connection.lock().unwrap_or_else(|p| p.into_inner());
                job(&mut connection)
            })
            .await
            .map_err(backend)?
        })
    }
}

fn migrate(connection: &mut Connection) -> Result<(), DbError> {
    connection
        .busy_timeout(std::time::Duration::from_secs(5))
        .map_err(backend)?;
    connection
        .pragma_update(None, "synchronous", "NORMAL")
        .map_err(backend)?;
    let schema = Schema {
        version_table: "server_schema_version",
        name: "server schema",
        migrations: MIGRATIONS,
    };
    migrate_sqlite(connection, &schema).map_err(backend)
}

fn is_unique_violation(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(rusqlite::ErrorCode::ConstraintViolation)
    )
}

const SESSION_COLUMNS: &str = "id, user, tenant, status, spec, metadata, claude_session_id, turns,
    input_tokens, output_tokens, cost_usd, created_at, last_activity, cli_cost";

fn usage_from(row: &Row<'_>, first: usize) -> rusqlite::Result<(i64, i64, f64)> {
    Ok((row.get(first)?, row.get(first + 1)?, row.get(first + 2)?))
}

fn usage(columns: (i64, i64, f64)) -> Result<Usage, DbError> {
    Ok(Usage {
        input_tokens: from_sql_int(columns.0)?,
        output_tokens: from_sql_int(columns.1)?,
        cost_usd: columns.2,
    })
}

type SessionRow = (
    String,
    Option<String>,
    Option<String>,
    String,
    String,
    String,
    Option<String>,
    i64,
    (i64, i64, f64),
    i64,
    i64,
    String,
);

fn session_row(row: &Row<'_>) -> rusqlite::Result<SessionRow> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
        row.get(7)?,
        usage_from(row, 8)?,
        row.get(11)?,
        row.get(12)?,
        row.get(13)?,
    ))
}

fn session_record(row: SessionRow) -> Result<SessionRecord, DbError> {
    let (
        id,
        user,
        tenant,
        status,
        spec,
        metadata,
        claude_session_id,
        turns,
        used,
        created,
        last,
        cost,
    ) = row;
    Ok(SessionRecord {
        id,
        user,
        tenant,
        status: parse_status(&status)?,
        spec: parse_json(&spec)?,
        metadata: parse_json(&metadata)?,
        claude_session_id,
        turns: from_sql_int(turns)?,
        usage: usage(used)?,
        cli_cost: parse_cost(parse_json(&cost)?)?,
        created_at: created,
        last_activity: last,
    })
}

type TaskRow = (
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    (i64, i64, f64),
    i64,
    Option<i64>,
);

const TASK_COLUMNS: &str = "task_id, session_id, status, prompt, result, error,
    input_tokens, output_tokens, cost_usd, created_at, finished_at";

fn task_row(row: &Row<'_>) -> rusqlite::Result<TaskRow> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        usage_from(row, 6)?,
        row.get(9)?,
        row.get(10)?,
    ))
}

fn task_record(row: TaskRow) -> Result<TaskRecord, DbError> {
    let (task_id, session_id, status, prompt, result, error, used, created_at, finished_at) = row;
    Ok(TaskRecord {
        task_id,
        session_id,
        status: parse_status(&status)?,
        prompt,
        result,
        error,
        usage: usage(used)?,
        created_at,
        finished_at,
    })
}

fn outbox_item(row: &Row<'_>) -> rusqlite::Result<OutboxItem> {
    Ok(OutboxItem {
        id: row.get(0)?,
        tenant: row.get(1)?,
        url: row.get(2)?,
        event: row.get(3)?,
        body: row.get(4)?,
        attempts: row.get(5)?,
        next_attempt_at: row.get(6)?,
        last_error: row.get(7)?,
    })
}

const OUTBOX_COLUMNS: &str = "id, tenant, url, event, body, attempts, next_attempt_at, last_error";

/// Writes a session's row: a new one, or over the stored one.
fn write_session(
    connection: &Connection,
    session: &SessionRecord,
    update: bool,
) -> Result<usize, DbError> {
    let sql = if update {
        "UPDATE server_sessions SET user = ?2, tenant = ?3, status = ?4, spec = ?5, metadata = ?6,
            claude_session_id = ?7, turns = ?8, input_tokens = ?9, output_tokens = ?10,
            cost_usd = ?11, created_at = ?12, last_activity = ?13, cli_cost = ?14 WHERE id = ?1"
    } else {
        "INSERT INTO server_sessions (id, user, tenant, status, spec, metadata, claude_session_id,
            turns, input_tokens, output_tokens, cost_usd, created_at, last_activity, cli_cost)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
    };
    connection
        .execute(
            sql,
            params![
                session.id,
                session.user,
                session.tenant,
                status_name(&session.status),
                json_text(&session.spec),
                json_text(&session.metadata),
                session.claude_session_id,
                to_sql_int(session.turns)?,
                to_sql_int(session.usage.input_tokens)?,
                to_sql_int(session.usage.output_tokens)?,
                session.usage.cost_usd,
                session.created_at,
                session.last_activity,
                json_text(&cost_json(&session.cli_cost)),
            ],
        )
        .map_err(|e| {
            if !update && is_unique_violation(&e) {
                DbError::Conflict {
                    what: "session",
                    id: session.id.clone(),
                }
            } else {
                backend(e)
            }
        })
}

fn write_task(connection: &Connection, task: &TaskRecord, update: bool) -> Result<usize, DbError> {
    let sql = if update {
        "UPDATE server_tasks SET session_id = ?2, status = ?3, prompt = ?4, result = ?5, error = ?6,
            input_tokens = ?7, output_tokens = ?8, cost_usd = ?9, created_at = ?10,
            finished_at = ?11 WHERE task_id = ?1"
    } else {
        "INSERT INTO server_tasks (task_id, session_id, status, prompt, result, error,
            input_tokens, output_tokens, cost_usd, created_at, finished_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
    };
    connection
        .execute(
            sql,
            params![
                task.task_id,
                task.session_id,
                status_name(&task.status),
                task.prompt,
                task.result,
                task.error,
                to_sql_int(task.usage.input_tokens)?,
                to_sql_int(task.usage.output_tokens)?,
                task.usage.cost_usd,
                task.created_at,
                task.finished_at,
            ],
        )
        .map_err(|e| {
            if !update && is_unique_violation(&e) {
                DbError::Conflict {
                    what: "task",
                    id: task.task_id.clone(),
                }
            } else {
                backend(e)
            }
        })
}

fn insert_events(connection: &Connection, events: &[EventRecord]) -> Result<(), DbError> {
    let mut insert = connection
        .prepare_cached(
            "INSERT INTO server_events (session_id, seq, kind, data, at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .map_err(backend)?;
    for event in events {
        insert
            .execute(params![
                event.session_id,
                to_sql_int(event.seq)?,
                event.kind,
                json_text(&event.data),
                event.at,
            ])
            .map_err(|e| {
                if is_unique_violation(&e) {
                    DbError::DuplicateEvent {
                        session_id: event.session_id.clone(),
                        seq: event.seq,
                    }
                } else {
                    backend(e)
                }
            })?;
    }
    Ok(())
}

fn insert_usage(connection: &Connection, usage: &UsageRecord) -> Result<(), DbError> {
    connection
        .execute(
            "INSERT INTO server_usage (session_id, user, tenant, turn, input_tokens,
                output_tokens, cost_usd, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                usage.session_id,
                usage.user,
                usage.tenant,
                to_sql_int(usage.turn)?,
                to_sql_int(usage.usage.input_tokens)?,
                to_sql_int(usage.usage.output_tokens)?,
                usage.usage.cost_usd,
                usage.at,
            ],
        )
        .map_err(backend)?;
    Ok(())
}

fn lease_row(row: &Row<'_>) -> rusqlite::Result<(String, String, String, i64, i64)> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
    ))
}

fn get_lease(connection: &Connection, session_id: &str) -> Result<Option<Lease>, DbError> {
    let row = connection
        .query_row(
            "SELECT session_id, owner, address, epoch, expires_at FROM server_leases
             WHERE session_id = ?1",
            [session_id],
            lease_row,
        )
        .optional()
        .map_err(backend)?;
    row.map(|(session_id, owner, address, epoch, expires_at)| {
        Ok(Lease {
            session_id,
            owner,
            address,
            epoch: from_sql_int(epoch)?,
            expires_at,
        })
    })
    .transpose()
}

/// Runs `write` in a transaction that holds the database's write lock from
/// its start (so no take can slip between the check and the write) when
/// `epoch` is the session's lease epoch; [`DbError::Fenced`] otherwise.
fn fenced<T>(
    connection: &mut Connection,
    session_id: &str,
    epoch: u64,
    write: impl FnOnce(&Connection) -> Result<T, DbError>,
) -> Result<T, DbError> {
    let tx = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(backend)?;
    if get_lease(&tx, session_id)?.is_none_or(|lease| lease.epoch != epoch) {
        return Err(DbError::Fenced {
            session_id: session_id.to_owned(),
            epoch,
        });
    }
    let written = write(&tx)?;
    tx.commit().map_err(backend)?;
    Ok(written)
}

impl ServerDb for SqliteServerDb {
    fn ping(&self) -> BoxFuture<'_, Result<(), DbError>> {
        self.with(|c| c.query_row("SELECT 1", [], |_| Ok(())).map_err(backend))
    }

    fn session_store(&self) -> Arc<dyn SessionStore> {
        self.store.clone()
    }

    fn insert_session<'a>(
        &'a self,
        session: &'a SessionRecord,
    ) -> BoxFuture<'a, Result<(), DbError>> {
        let session = session.clone();
        self.with(move |c| write_session(c, &session, false).map(drop))
    }

    fn update_session<'a>(
        &'a self,
        session: &'a SessionRecord,
    ) -> BoxFuture<'a, Result<bool, DbError>> {
        let session = session.clone();
        self.with(move |c| Ok(write_session(c, &session, true)? > 0))
    }

    fn get_session<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<SessionRecord>, DbError>> {
        let id = id.to_owned();
        self.with(move |c| {
            c.query_row(
                &format!("SELECT {SESSION_COLUMNS} FROM server_sessions WHERE id = ?1"),
                [id],
                session_row,
            )
            .optional()
            .map_err(backend)?
            .map(session_record)
            .transpose()
        })
    }

    fn list_sessions<'a>(
        &'a self,
        filter: &'a SessionFilter,
    ) -> BoxFuture<'a, Result<Vec<SessionRecord>, DbError>> {
        let filter = filter.clone();
        self.with(move |c| {
            let status = filter.status.as_ref().map(status_name);
            let mut statement = c
                .prepare_cached(&format!(
                    "SELECT {SESSION_COLUMNS} FROM server_sessions
                     WHERE (?1 IS NULL OR user = ?1) AND (?2 IS NULL OR tenant = ?2)
                       AND (?3 IS NULL OR status = ?3)
                     ORDER BY created_at, id"
                ))
                .map_err(backend)?;
            let rows = statement
                .query_map(params![filter.user, filter.tenant, status], session_row)
                .map_err(backend)?;
            rows.map(|row| session_record(row.map_err(backend)?))
                .collect()
        })
    }

    fn delete_session<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<bool, DbError>> {
        let id = id.to_owned();
        self.with(move |c| {
            let tx = c.transaction().map_err(backend)?;
            let deleted = tx
                .execute("DELETE FROM server_sessions WHERE id = ?1", [&id])
                .map_err(backend)?;
            tx.execute("DELETE FROM server_events WHERE session_id = ?1", [&id])
                .map_err(backend)?;
            tx.execute("DELETE FROM server_tasks WHERE session_id = ?1", [&id])
                .map_err(backend)?;
            tx.execute("DELETE FROM server_leases WHERE session_id = ?1", [&id])
                .map_err(backend)?;
            tx.commit().map_err(backend)?;
            Ok(deleted > 0)
        })
    }

    fn append_events<'a>(
        &'a self,
        events: &'a [EventRecord],
    ) -> BoxFuture<'a, Result<(), DbError>> {
        let events = events.to_vec();
        self.with(move |c| {
            let tx = c.transaction().map_err(backend)?;
            insert_events(&tx, &events)?;
            tx.commit().map_err(backend)
        })
    }

    fn events_after<'a>(
        &'a self,
        session_id: &'a str,
        after: u64,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<EventRecord>, DbError>> {
        let session_id = session_id.to_owned();
        self.with(move |c| {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            // Past every stored seq: nothing comes after it.
            let Ok(after) = to_sql_int(after) else {
                return Ok(Vec::new());
            };
            let mut statement = c
                .prepare_cached(
                    "SELECT seq, kind, data, at FROM server_events
                     WHERE session_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
                )
                .map_err(backend)?;
            let rows = statement
                .query_map(params![session_id, after, limit], |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, i64>(3)?,
                    ))
                })
                .map_err(backend)?;
            rows.map(|row| {
                let (seq, kind, data, at) = row.map_err(backend)?;
                Ok(EventRecord {
                    session_id: session_id.clone(),
                    seq: from_sql_int(seq)?,
                    kind,
                    data: parse_json(&data)?,
                    at,
                })
            })
            .collect()
        })
    }

    fn last_event_seq<'a>(&'a self, session_id: &'a str) -> BoxFuture<'a, Result<u64, DbError>> {
        let session_id = session_id.to_owned();
        self.with(move |c| {
            let last: i64 = c
                .query_row(
                    "SELECT coalesce(max(seq), 0) FROM server_events WHERE session_id = ?1",
                    [session_id],
                    |r| r.get(0),
                )
                .map_err(backend)?;
            from_sql_int(last)
        })
    }

    fn insert_task<'a>(&'a self, task: &'a TaskRecord) -> BoxFuture<'a, Result<(), DbError>> {
        let task = task.clone();
        self.with(move |c| write_task(c, &task, false).map(drop))
    }

    fn update_task<'a>(&'a self, task: &'a TaskRecord) -> BoxFuture<'a, Result<bool, DbError>> {
        let task = task.clone();
        self.with(move |c| Ok(write_task(c, &task, true)? > 0))
    }

    fn get_task<'a>(
        &'a self,
        task_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<TaskRecord>, DbError>> {
        let task_id = task_id.to_owned();
        self.with(move |c| {
            c.query_row(
                &format!("SELECT {TASK_COLUMNS} FROM server_tasks WHERE task_id = ?1"),
                [task_id],
                task_row,
            )
            .optional()
            .map_err(backend)?
            .map(task_record)
            .transpose()
        })
    }

    fn list_tasks<'a>(
        &'a self,
        status: Option<TaskStatus>,
    ) -> BoxFuture<'a, Result<Vec<TaskRecord>, DbError>> {
        self.with(move |c| {
            let status = status.as_ref().map(status_name);
            let mut statement = c
                .prepare_cached(&format!(
                    "SELECT {TASK_COLUMNS} FROM server_tasks WHERE ?1 IS NULL OR status = ?1
                     ORDER BY created_at, task_id"
                ))
                .map_err(backend)?;
            let rows = statement.query_map([status], task_row).map_err(backend)?;
            rows.map(|row| task_record(row.map_err(backend)?)).collect()
        })
    }

    fn record_usage<'a>(&'a self, usage: &'a UsageRecord) -> BoxFuture<'a, Result<(), DbError>> {
        let usage = usage.clone();
        self.with(move |c| insert_usage(c, &usage))
    }

    fn user_spend<'a>(
        &'a self,
        tenant: Option<&'a str>,
        user: &'a str,
    ) -> BoxFuture<'a, Result<f64, DbError>> {
        let (tenant, user) = (tenant.map(str::to_owned), user.to_owned());
        self.with(move |c| {
            // `IS` matches a NULL tenant too.
            c.query_row(
                "SELECT coalesce(sum(cost_usd), 0.0) FROM server_usage
                 WHERE user = ?1 AND tenant IS ?2",
                params![user, tenant],
                |r| r.get(0),
            )
            .map_err(backend)
        })
    }

    fn usage_report<'a>(
        &'a self,
        query: &'a UsageQuery,
    ) -> BoxFuture<'a, Result<UsageReport, DbError>> {
        let query = query.clone();
        self.with(move |c| {
            let (any_tenant, tenant) = match query.tenant {
                None => (true, None),
                Some(tenant) => (false, tenant),
            };
            c.query_row(
                "SELECT coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0),
                    coalesce(sum(cost_usd), 0.0), count(DISTINCT session_id), count(*)
                 FROM server_usage
                 WHERE (?1 IS NULL OR user = ?1) AND (?2 OR tenant IS ?3)
                   AND (?4 IS NULL OR session_id = ?4)
                   AND (?5 IS NULL OR at >= ?5) AND (?6 IS NULL OR at < ?6)",
                params![
                    query.user,
                    any_tenant,
                    tenant,
                    query.session_id,
                    query.from,
                    query.to
                ],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .map_err(backend)
            .and_then(usage_report)
        })
    }

    fn enqueue_webhook<'a>(&'a self, item: &'a OutboxItem) -> BoxFuture<'a, Result<i64, DbError>> {
        let item = item.clone();
        self.with(move |c| {
            c.query_row(
                "INSERT INTO server_outbox (tenant, url, event, body, attempts, next_attempt_at,
                    last_error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
                params![
                    item.tenant,
                    item.url,
                    item.event,
                    item.body,
                    item.attempts,
                    item.next_attempt_at,
                    item.last_error,
                ],
                |r| r.get(0),
            )
            .map_err(backend)
        })
    }

    fn due_webhooks(
        &self,
        now: Millis,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<OutboxItem>, DbError>> {
        self.with(move |c| {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let mut statement = c
                .prepare_cached(&format!(
                    "SELECT {OUTBOX_COLUMNS} FROM server_outbox
                     WHERE next_attempt_at <= ?1 AND next_attempt_at <> ?2 ORDER BY id LIMIT ?3"
                ))
                .map_err(backend)?;
            let rows = statement
                .query_map(params![now, DEAD_LETTER, limit], outbox_item)
                .map_err(backend)?;
            rows.collect::<Result<_, _>>().map_err(backend)
        })
    }

    fn claim_webhooks(
        &self,
        now: Millis,
        claim_until: Millis,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<OutboxItem>, DbError>> {
        self.with(move |c| {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            // One statement: atomic against another connection's claim.
            let mut statement = c
                .prepare_cached(&format!(
                    "UPDATE server_outbox SET next_attempt_at = ?4 WHERE id IN
                     (SELECT id FROM server_outbox
                      WHERE next_attempt_at <= ?1 AND next_attempt_at <> ?2 ORDER BY id LIMIT ?3)
                     RETURNING {OUTBOX_COLUMNS}"
                ))
                .map_err(backend)?;
            let rows = statement
                .query_map(params![now, DEAD_LETTER, limit, claim_until], outbox_item)
                .map_err(backend)?;
            let mut claimed: Vec<OutboxItem> = rows.collect::<Result<_, _>>().map_err(backend)?;
            claimed.sort_by_key(|item| item.id);
            Ok(claimed)
        })
    }

    fn webhook_delivered(&self, id: i64) -> BoxFuture<'_, Result<(), DbError>> {
        self.with(move |c| {
            c.execute("DELETE FROM server_outbox WHERE id = ?1", [id])
                .map_err(backend)?;
            Ok(())
        })
    }

    fn webhook_failed<'a>(
        &'a self,
        id: i64,
        next_attempt_at: Millis,
        error: &'a str,
    ) -> BoxFuture<'a, Result<(), DbError>> {
        let error = error.to_owned();
        self.with(move |c| {
            c.execute(
                "UPDATE server_outbox SET attempts = attempts + 1, next_attempt_at = ?2,
                    last_error = ?3 WHERE id = ?1",
                params![id, next_attempt_at, error],
            )
            .map_err(backend)?;
            Ok(())
        })
    }

    fn dead_webhooks(&self, limit: usize) -> BoxFuture<'_, Result<Vec<OutboxItem>, DbError>> {
        self.with(move |c| {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let mut statement = c
                .prepare_cached(&format!(
                    "SELECT {OUTBOX_COLUMNS} FROM server_outbox WHERE next_attempt_at = ?1
                     ORDER BY id LIMIT ?2"
                ))
                .map_err(backend)?;
            let rows = statement
                .query_map(params![DEAD_LETTER, limit], outbox_item)
                .map_err(backend)?;
            rows.collect::<Result<_, _>>().map_err(backend)
        })
    }

    fn lease<'a>(&'a self, session_id: &'a str) -> BoxFuture<'a, Result<Option<Lease>, DbError>> {
        let session_id = session_id.to_owned();
        self.with(move |c| get_lease(c, &session_id))
    }

    fn take_lease<'a>(
        &'a self,
        session_id: &'a str,
        expected_epoch: u64,
        owner: &'a str,
        address: &'a str,
        expires_at: Millis,
    ) -> BoxFuture<'a, Result<Option<Lease>, DbError>> {
        let lease = Lease {
            session_id: session_id.to_owned(),
            owner: owner.to_owned(),
            address: address.to_owned(),
            epoch: expected_epoch + 1,
            expires_at,
        };
        self.with(move |c| {
            // One statement each: the compare and the set cannot be split.
            let changed = if expected_epoch == 0 {
                c.execute(
                    "INSERT INTO server_leases (session_id, owner, address, epoch, expires_at)
                     VALUES (?1, ?2, ?3, 1, ?4) ON CONFLICT (session_id) DO NOTHING",
                    params![lease.session_id, lease.owner, lease.address, expires_at],
                )
            } else {
                c.execute(
                    "UPDATE server_leases SET owner = ?2, address = ?3, epoch = epoch + 1,
                        expires_at = ?4 WHERE session_id = ?1 AND epoch = ?5",
                    params![
                        lease.session_id,
                        lease.owner,
                        lease.address,
                        expires_at,
                        to_sql_int(expected_epoch)?
                    ],
                )
            }
            .map_err(backend)?;
            Ok((changed == 1).then_some(lease))
        })
    }

    fn renew_leases<'a>(
        &'a self,
        owner: &'a str,
        leases: &'a [(String, u64)],
        expires_at: Millis,
    ) -> BoxFuture<'a, Result<Vec<String>, DbError>> {
        let owner = owner.to_owned();
        let leases = leases.to_vec();
        self.with(move |c| {
            let tx = c.transaction().map_err(backend)?;
            let mut lost = Vec::new();
            {
                let mut renew = tx
                    .prepare_cached(
                        "UPDATE server_leases SET expires_at = ?1
                         WHERE session_id = ?2 AND epoch = ?3 AND owner = ?4",
                    )
                    .map_err(backend)?;
                for (session_id, epoch) in leases {
                    let renewed = renew
                        .execute(params![expires_at, session_id, to_sql_int(epoch)?, owner])
                        .map_err(backend)?;
                    if renewed == 0 {
                        lost.push(session_id);
                    }
                }
            }
            tx.commit().map_err(backend)?;
            Ok(lost)
        })
    }

    fn release_lease<'a>(
        &'a self,
        session_id: &'a str,
        epoch: u64,
    ) -> BoxFuture<'a, Result<bool, DbError>> {
        let session_id = session_id.to_owned();
        self.with(move |c| {
            let released = c
                .execute(
                    "UPDATE server_leases SET expires_at = 0 WHERE session_id = ?1 AND epoch = ?2",
                    params![session_id, to_sql_int(epoch)?],
                )
                .map_err(backend)?;
            Ok(released > 0)
        })
    }

    fn append_events_fenced<'a>(
        &'a self,
        epoch: u64,
        events: &'a [EventRecord],
    ) -> BoxFuture<'a, Result<(), DbError>> {
        let session_id = match fenced_session(events) {
            None => return Box::pin(std::future::ready(Ok(()))),
            Some(Err(err)) => return Box::pin(std::future::ready(Err(err))),
            Some(Ok(id)) => id.to_owned(),
        };
        let events = events.to_vec();
        self.with(move |c| fenced(c, &session_id, epoch, |tx| insert_events(tx, &events)))
    }

    fn update_session_fenced<'a>(
        &'a self,
        epoch: u64,
        session: &'a SessionRecord,
    ) -> BoxFuture<'a, Result<bool, DbError>> {
        let session = session.clone();
        self.with(move |c| {
            fenced(c, &session.id, epoch, |tx| {
                Ok(write_session(tx, &session, true)? > 0)
            })
        })
    }

    fn record_usage_fenced<'a>(
        &'a self,
        epoch: u64,
        usage: &'a UsageRecord,
    ) -> BoxFuture<'a, Result<(), DbError>> {
        let usage = usage.clone();
        self.with(move |c| fenced(c, &usage.session_id, epoch, |tx| insert_usage(tx, &usage)))
    }

    fn insert_task_fenced<'a>(
        &'a self,
        epoch: u64,
        task: &'a TaskRecord,
    ) -> BoxFuture<'a, Result<(), DbError>> {
        let task = task.clone();
        self.with(move |c| {
            fenced(c, &task.session_id, epoch, |tx| {
                write_task(tx, &task, false).map(drop)
            })
        })
    }

    fn update_task_fenced<'a>(
        &'a self,
        epoch: u64,
        task: &'a TaskRecord,
    ) -> BoxFuture<'a, Result<bool, DbError>> {
        let task = task.clone();
        self.with(move |c| {
            fenced(c, &task.session_id, epoch, |tx| {
                Ok(write_task(tx, &task, true)? > 0)
            })
        })
    }
}
