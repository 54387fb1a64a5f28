//! [`PostgresServerDb`]: the server's records in PostgreSQL, next to the
//! transcripts of a [`PostgresSessionStore`] on the same database.

use std::sync::Arc;

use serde_json::Value;
use tokio::sync::Mutex;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, GenericClient, NoTls, Row};

use super::codec::{
    backend, cost_json, from_sql_int, parse_cost, parse_status, status_name, to_sql_int,
    usage_report,
};
use super::{
    DEAD_LETTER, DbError, EventRecord, Lease, Millis, OutboxItem, ServerDb, SessionFilter,
    SessionRecord, TaskRecord, TaskStatus, Usage, UsageQuery, UsageRecord, UsageReport,
    fenced_session,
};
use crate::handler::BoxFuture;
use crate::store::schema::{Schema, migrate_postgres};
use crate::store::{PostgresSessionStore, SessionStore};

/// Taken for the migration transaction, so servers starting together migrate once.
const MIGRATION_LOCK: i64 = 0x6167_656e_7473_7276; // "agentsrv"

/// The server's tables, one step per version (`server_schema_version`).
const MIGRATIONS: &[&str] = &[
    // 1: sessions, their event logs, tasks, usage records and the outbox.
    "CREATE TABLE server_sessions (
        id TEXT PRIMARY KEY, \"user\" TEXT, tenant TEXT, status TEXT NOT NULL,
        spec JSONB NOT NULL, metadata JSONB NOT NULL, claude_session_id TEXT,
        turns BIGINT NOT NULL, input_tokens BIGINT NOT NULL,
        output_tokens BIGINT NOT NULL, cost_usd DOUBLE PRECISION NOT NULL,
        created_at BIGINT NOT NULL, last_activity BIGINT NOT NULL);
     CREATE INDEX server_sessions_by_age ON server_sessions (created_at, id);
     CREATE TABLE server_events (
        session_id TEXT NOT NULL, seq BIGINT NOT NULL, kind TEXT NOT NULL,
        data JSONB NOT NULL, at BIGINT NOT NULL,
        PRIMARY KEY (session_id, seq));
     CREATE TABLE server_tasks (
        task_id TEXT PRIMARY KEY, session_id TEXT NOT NULL, status TEXT NOT NULL,
        prompt TEXT NOT NULL, result TEXT, error TEXT,
        input_tokens BIGINT NOT NULL, output_tokens BIGINT NOT NULL,
        cost_usd DOUBLE PRECISION NOT NULL,
        created_at BIGINT NOT NULL, finished_at BIGINT);
     CREATE INDEX server_tasks_by_session ON server_tasks (session_id);
     CREATE TABLE server_usage (
        id BIGSERIAL PRIMARY KEY, session_id TEXT NOT NULL,
        \"user\" TEXT, tenant TEXT, turn BIGINT NOT NULL,
        input_tokens BIGINT NOT NULL, output_tokens BIGINT NOT NULL,
        cost_usd DOUBLE PRECISION NOT NULL, at BIGINT NOT NULL);
     CREATE INDEX server_usage_by_user ON server_usage (\"user\");
     CREATE TABLE server_outbox (
        id BIGSERIAL PRIMARY KEY, tenant TEXT NOT NULL, url TEXT NOT NULL,
        event TEXT NOT NULL, body TEXT NOT NULL, attempts BIGINT NOT NULL,
        next_attempt_at BIGINT NOT NULL, last_error TEXT);
     CREATE INDEX server_outbox_due ON server_outbox (next_attempt_at, id);",
    // 2: which host owns each session, until when, under which fencing epoch.
    "CREATE TABLE server_leases (
        session_id TEXT PRIMARY KEY, owner TEXT NOT NULL, address TEXT NOT NULL,
        epoch BIGINT NOT NULL, expires_at BIGINT NOT NULL);",
    // 3: each session's cost baseline (what its CLIs' running totals counted).
    "ALTER TABLE server_sessions ADD COLUMN cli_cost JSONB NOT NULL DEFAULT '{}';",
];

/// The server's records in PostgreSQL (`postgres://...`); the transcripts
/// live in the same database ([`session_store`](ServerDb::session_store) is
/// a [`PostgresSessionStore`] on the same URL). The tables (`server_*`, in
/// the connection's `search_path`) are created and migrated on connect.
/// One connection, its calls one at a time.
///
/// ```no_run
/// use agent_sdk::server::db::{PostgresServerDb, ServerDb};
///
/// # async fn demo() -> Result<(), agent_sdk::server::db::DbError> {
/// let db = PostgresServerDb::connect("postgres://agent@db.internal/agents").await?;
/// db.ping().await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct PostgresServerDb {
    client: Mutex<Client>,
    store: Arc<PostgresSessionStore>,
}

impl PostgresServerDb {
    /// Connects to the database at `url` without TLS, brings the server's
    /// schema and the session store's up to date. The connections are
    /// driven by tasks spawned on the current tokio runtime.
    pub async fn connect(url: &str) -> Result<Self, DbError> {
        let store = PostgresSessionStore::connect(url).await.map_err(backend)?;
        let (mut client, connection) = tokio_postgres::connect(url, NoTls)
            .await
            .map_err(|e| backend(format!("cannot connect to PostgreSQL: {e}")))?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::warn!(%error, "the server database's PostgreSQL connection ended");
            }
        });
        migrate(&mut client).await?;
        Ok(Self {
            client: Mutex::new(client),
            store: Arc::new(store),
        })
    }
}

async fn migrate(client: &mut Client) -> Result<(), DbError> {
    let schema = Schema {
        version_table: "server_schema_version",
        name: "server schema",
        migrations: MIGRATIONS,
    };
    migrate_postgres(client, MIGRATION_LOCK, &schema)
        .await
        .map_err(backend)
}

fn is_unique_violation(error: &tokio_postgres::Error) -> bool {
    error.code() == Some(&SqlState::UNIQUE_VIOLATION)
}

fn usage_at(row: &Row, first: usize) -> Result<Usage, DbError> {
    Ok(Usage {
        input_tokens: from_sql_int(row.get(first))?,
        output_tokens: from_sql_int(row.get(first + 1))?,
        cost_usd: row.get(first + 2),
    })
}

const SESSION_COLUMNS: &str = "id, \"user\", tenant, status, spec, metadata, claude_session_id,
    turns, input_tokens, output_tokens, cost_usd, created_at, last_activity, cli_cost";

fn session_record(row: &Row) -> Result<SessionRecord, DbError> {
    Ok(SessionRecord {
        id: row.get(0),
        user: row.get(1),
        tenant: row.get(2),
        status: parse_status(row.get(3))?,
        spec: row.get(4),
        metadata: row.get(5),
        claude_session_id: row.get(6),
        turns: from_sql_int(row.get(7))?,
        usage: usage_at(row, 8)?,
        cli_cost: parse_cost(row.get(13))?,
        created_at: row.get(11),
        last_activity: row.get(12),
    })
}

const TASK_COLUMNS: &str = "task_id, session_id, status, prompt, result, error,
    input_tokens, output_tokens, cost_usd, created_at, finished_at";

fn task_record(row: &Row) -> Result<TaskRecord, DbError> {
    Ok(TaskRecord {
        task_id: row.get(0),
        session_id: row.get(1),
        status: parse_status(row.get(2))?,
        prompt: row.get(3),
        result: row.get(4),
        error: row.get(5),
        usage: usage_at(row, 6)?,
        created_at: row.get(9),
        finished_at: row.get(10),
    })
}

const OUTBOX_COLUMNS: &str = "id, tenant, url, event, body, attempts, next_attempt_at, last_error";

fn outbox_item(row: &Row) -> Result<OutboxItem, DbError> {
    Ok(OutboxItem {
        id: row.get(0),
        tenant: row.get(1),
        url: row.get(2),
        event: row.get(3),
        body: row.get(4),
        attempts: u32::try_from(row.get::<_, i64>(5)).map_err(backend)?,
        next_attempt_at: row.get(6),
        last_error: row.get(7),
    })
}

fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// Writes a session's row (new, or over the stored one) on a connection or transaction.
async fn write_session(
    client: &impl GenericClient,
    session: &SessionRecord,
    update: bool,
) -> Result<u64, DbError> {
    let sql = if update {
        "UPDATE server_sessions SET \"user\" = $2, tenant = $3, status = $4, spec = $5,
            metadata = $6, claude_session_id = $7, turns = $8, input_tokens = $9,
            output_tokens = $10, cost_usd = $11, created_at = $12, last_activity = $13,
            cli_cost = $14
         WHERE id = $1"
    } else {
        "INSERT INTO server_sessions (id, \"user\", tenant, status, spec, metadata,
            claude_session_id, turns, input_tokens, output_tokens, cost_usd, created_at,
            last_activity, cli_cost)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
    };
    client
        .execute(
            sql,
            &[
                &session.id,
                &session.user,
                &session.tenant,
                &status_name(&session.status),
                &session.spec,
                &session.metadata,
                &session.claude_session_id,
                &to_sql_int(session.turns)?,
                &to_sql_int(session.usage.input_tokens)?,
                &to_sql_int(session.usage.output_tokens)?,
                &session.usage.cost_usd,
                &session.created_at,
                &session.last_activity,
                &cost_json(&session.cli_cost),
            ],
        )
        .await
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

/// Appends events in one statement: all stored or none.
async fn insert_events(
    client: &impl GenericClient,
    events: &[EventRecord],
    in_transaction: bool,
) -> Result<(), DbError> {
    if events.is_empty() {
        return Ok(());
    }
    let mut sessions = Vec::with_capacity(events.len());
    let mut seqs = Vec::with_capacity(events.len());
    let mut kinds = Vec::with_capacity(events.len());
    let mut data = Vec::with_capacity(events.len());
    let mut ats = Vec::with_capacity(events.len());
    for event in events {
        sessions.push(event.session_id.as_str());
        seqs.push(to_sql_int(event.seq)?);
        kinds.push(event.kind.as_str());
        data.push(event.data.clone());
        ats.push(event.at);
    }
    let result = client
        .execute(
            "INSERT INTO server_events (session_id, seq, kind, data, at)
             SELECT * FROM unnest($1::TEXT[], $2::BIGINT[], $3::TEXT[], $4::JSONB[],
                $5::BIGINT[])",
            &[&sessions, &seqs, &kinds, &data, &ats],
        )
        .await;
    match result {
        Ok(_) => Ok(()),
        // In a transaction the failed statement aborted it: nothing more can be asked there.
        Err(e) if is_unique_violation(&e) && in_transaction => Err(DbError::DuplicateEvent {
            session_id: events[0].session_id.clone(),
            seq: events[0].seq,
        }),
        Err(e) if is_unique_violation(&e) => Err(duplicate_in(client, events)
            .await
            .unwrap_or_else(|| backend(e))),
        Err(e) => Err(backend(e)),
    }
}

async fn insert_usage(client: &impl GenericClient, usage: &UsageRecord) -> Result<(), DbError> {
    client
        .execute(
            "INSERT INTO server_usage (session_id, \"user\", tenant, turn, input_tokens,
                output_tokens, cost_usd, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &usage.session_id,
                &usage.user,
                &usage.tenant,
                &to_sql_int(usage.turn)?,
                &to_sql_int(usage.usage.input_tokens)?,
                &to_sql_int(usage.usage.output_tokens)?,
                &usage.usage.cost_usd,
                &usage.at,
            ],
        )
        .await
        .map_err(backend)?;
    Ok(())
}

const LEASE_COLUMNS: &str = "session_id, owner, address, epoch, expires_at";

fn lease_record(row: &Row) -> Result<Lease, DbError> {
    Ok(Lease {
        session_id: row.get(0),
        owner: row.get(1),
        address: row.get(2),
        epoch: from_sql_int(row.get(3))?,
        expires_at: row.get(4),
    })
}

impl PostgresServerDb {
    /// Runs a write in a transaction that first locks the session's lease row
    /// `FOR SHARE` and checks its epoch: a take (an `UPDATE` of that row)
    /// waits until the write commits, and a write after a take sees the new
    /// epoch and is refused with [`DbError::Fenced`].
    async fn fenced<T>(
        &self,
        session_id: &str,
        epoch: u64,
        write: impl AsyncFnOnce(&tokio_postgres::Transaction<'_>) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        let mut client = self.client.lock().await;
        let tx = client.transaction().await.map_err(backend)?;
        let current = tx
            .query_opt(
                "SELECT epoch FROM server_leases WHERE session_id = $1 FOR SHARE",
                &[&session_id],
            )
            .await
            .map_err(backend)?
            .map(|row| from_sql_int(row.get(0)))
            .transpose()?;
        if current != Some(epoch) {
            return Err(DbError::Fenced {
                session_id: session_id.to_owned(),
                epoch,
            });
        }
        let written = write(&tx).await?;
        tx.commit().await.map_err(backend)?;
        Ok(written)
    }

    async fn write_session(&self, session: &SessionRecord, update: bool) -> Result<u64, DbError> {
        let client = self.client.lock().await;
        write_session(&*client, session, update).await
    }

    async fn write_task(&self, task: &TaskRecord, update: bool) -> Result<u64, DbError> {
        let client = self.client.lock().await;
        write_task(&*client, task, update).await
    }
}

/// Writes a task's row (new, or over the stored one) on a connection or transaction.
async fn write_task(
    client: &impl GenericClient,
    task: &TaskRecord,
    update: bool,
) -> Result<u64, DbError> {
    let sql = if update {
        "UPDATE server_tasks SET session_id = $2, status = $3, prompt = $4, result = $5,
            error = $6, input_tokens = $7, output_tokens = $8, cost_usd = $9,
            created_at = $10, finished_at = $11 WHERE task_id = $1"
    } else {
        "INSERT INTO server_tasks (task_id, session_id, status, prompt, result, error,
            input_tokens, output_tokens, cost_usd, created_at, finished_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    };
    client
        .execute(
            sql,
            &[
                &task.task_id,
                &task.session_id,
                &status_name(&task.status),
                &task.prompt,
                &task.result,
                &task.error,
                &to_sql_int(task.usage.input_tokens)?,
                &to_sql_int(task.usage.output_tokens)?,
                &task.usage.cost_usd,
                &task.created_at,
                &task.finished_at,
            ],
        )
        .await
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

impl ServerDb for PostgresServerDb {
    fn ping(&self) -> BoxFuture<'_, Result<(), DbError>> {
        Box::pin(async move {
            let client = self.client.lock().await;
            client.execute("SELECT 1", &[]).await.map_err(backend)?;
            Ok(())
        })
    }

    fn session_store(&self) -> Arc<dyn SessionStore> {
        self.store.clone()
    }

    fn insert_session<'a>(
        &'a self,
        session: &'a SessionRecord,
    ) -> BoxFuture<'a, Result<(), DbError>> {
        Box::pin(async move { self.write_session(session, false).await.map(drop) })
    }

    fn update_session<'a>(
        &'a self,
        session: &'a SessionRecord,
    ) -> BoxFuture<'a, Result<bool, DbError>> {
        Box::pin(async move { Ok(self.write_session(session, true).await? > 0) })
    }

    fn get_session<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<SessionRecord>, DbError>> {
        Box::pin(async move {
            let client = self.client.lock().await;
            let row = client
                .query_opt(
                    &format!("SELECT {SESSION_COLUMNS} FROM server_sessions WHERE id = $1"),
                    &[&id],
                )
                .await
                .map_err(backend)?;
            row.as_ref().map(session_record).transpose()
        })
    }

    fn list_sessions<'a>(
        &'a self,
        filter: &'a SessionFilter,
    ) -> BoxFuture<'a, Result<Vec<SessionRecord>, DbError>> {
        Box::pin(async move {
            let status = filter.status.as_ref().map(status_name);
            let client = self.client.lock().await;
            let rows = client
                .query(
                    &format!(
                        "SELECT {SESSION_COLUMNS} FROM server_sessions
                         WHERE ($1::TEXT IS NULL OR \"user\" = $1)
                           AND ($2::TEXT IS NULL OR tenant = $2)
                           AND ($3::TEXT IS NULL OR status = $3)
                         ORDER BY created_at, id"
                    ),
                    &[&filter.user, &filter.tenant, &status],
                )
                .await
                .map_err(backend)?;
            rows.iter().map(session_record).collect()
        })
    }

    fn delete_session<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<bool, DbError>> {
        Box::pin(async move {
            let mut client = self.client.lock().await;
            let tx = client.transaction().await.map_err(backend)?;
            let deleted = tx
                .execute("DELETE FROM server_sessions WHERE id = $1", &[&id])
                .await
                .map_err(backend)?;
            tx.execute("DELETE FROM server_events WHERE session_id = $1", &[&id])
                .await
                .map_err(backend)?;
            tx.execute("DELETE FROM server_tasks WHERE session_id = $1", &[&id])
                .await
                .map_err(backend)?;
            tx.execute("DELETE FROM server_leases WHERE session_id = $1", &[&id])
                .await
                .map_err(backend)?;
            tx.commit().await.map_err(backend)?;
            Ok(deleted > 0)
        })
    }

    fn append_events<'a>(
        &'a self,
        events: &'a [EventRecord],
    ) -> BoxFuture<'a, Result<(), DbError>> {
        Box::pin(async move {
            let client = self.client.lock().await;
            insert_events(&*client, events, false).await
        })
    }

    fn events_after<'a>(
        &'a self,
        session_id: &'a str,
        after: u64,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<EventRecord>, DbError>> {
        Box::pin(async move {
            let Ok(after) = to_sql_int(after) else {
                return Ok(Vec::new());
            };
            let client = self.client.lock().await;
            let rows = client
                .query(
                    "SELECT seq, kind, data, at FROM server_events
                     WHERE session_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                    &[&session_id, &after, &sql_limit(limit)],
                )
                .await
                .map_err(backend)?;
            rows.iter()
                .map(|row| {
                    Ok(EventRecord {
                        session_id: session_id.to_owned(),
                        seq: from_sql_int(row.get(0))?,
                        kind: row.get(1),
                        data: row.get::<_, Value>(2),
                        at: row.get(3),
                    })
                })
                .collect()
        })
    }

    fn last_event_seq<'a>(&'a self, session_id: &'a str) -> BoxFuture<'a, Result<u64, DbError>> {
        Box::pin(async move {
            let client = self.client.lock().await;
            let row = client
                .query_one(
                    "SELECT coalesce(max(seq), 0)::BIGINT FROM server_events WHERE session_id = $1",
                    &[&session_id],
                )
                .await
                .map_err(backend)?;
            from_sql_int(row.get(0))
        })
    }

    fn insert_task<'a>(&'a self, task: &'a TaskRecord) -> BoxFuture<'a, Result<(), DbError>> {
        Box::pin(async move { self.write_task(task, false).await.map(drop) })
    }

    fn update_task<'a>(&'a self, task: &'a TaskRecord) -> BoxFuture<'a, Result<bool, DbError>> {
        Box::pin(async move { Ok(self.write_task(task, true).await? > 0) })
    }

    fn get_task<'a>(
        &'a self,
        task_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<TaskRecord>, DbError>> {
        Box::pin(async move {
            let client = self.client.lock().await;
            let row = client
                .query_opt(
                    &format!("SELECT {TASK_COLUMNS} FROM server_tasks WHERE task_id = $1"),
                    &[&task_id],
                )
                .await
                .map_err(backend)?;
            row.as_ref().map(task_record).transpose()
        })
    }

    fn list_tasks<'a>(
        &'a self,
        status: Option<TaskStatus>,
    ) -> BoxFuture<'a, Result<Vec<TaskRecord>, DbError>> {
        Box::pin(async move {
            let status = status.as_ref().map(status_name);
            let client = self.client.lock().await;
            let rows = client
                .query(
                    &format!(
                        "SELECT {TASK_COLUMNS} FROM server_tasks
                         WHERE $1::TEXT IS NULL OR status = $1 ORDER BY created_at, task_id"
                    ),
                    &[&status],
                )
                .await
                .map_err(backend)?;
            rows.iter().map(task_record).collect()
        })
    }

    fn record_usage<'a>(&'a self, usage: &'a UsageRecord) -> BoxFuture<'a, Result<(), DbError>> {
        Box::pin(async move {
            let client = self.client.lock().await;
            insert_usage(&*client, usage).await
        })
    }

    fn user_spend<'a>(
        &'a self,
        tenant: Option<&'a str>,
        user: &'a str,
    ) -> BoxFuture<'a, Result<f64, DbError>> {
        Box::pin(async move {
            let client = self.client.lock().await;
            // `IS NOT DISTINCT FROM` matches a NULL tenant too.
            let row = client
                .query_one(
                    "SELECT coalesce(sum(cost_usd), 0)::DOUBLE PRECISION FROM server_usage
                     WHERE \"user\" = $1 AND tenant IS NOT DISTINCT FROM $2",
                    &[&user, &tenant],
                )
                .await
                .map_err(backend)?;
            Ok(row.get(0))
        })
    }

    fn usage_report<'a>(
        &'a self,
        query: &'a UsageQuery,
    ) -> BoxFuture<'a, Result<UsageReport, DbError>> {
        Box::pin(async move {
            let (any_tenant, tenant) = match &query.tenant {
                None => (true, None),
                Some(tenant) => (false, tenant.as_deref()),
            };
            let client = self.client.lock().await;
            let row = client
                .query_one(
                    "SELECT coalesce(sum(input_tokens), 0)::BIGINT,
                        coalesce(sum(output_tokens), 0)::BIGINT,
                        coalesce(sum(cost_usd), 0)::DOUBLE PRECISION,
                        count(DISTINCT session_id), count(*)
                     FROM server_usage
                     WHERE ($1::TEXT IS NULL OR \"user\" = $1)
                       AND ($2::BOOLEAN OR tenant IS NOT DISTINCT FROM $3::TEXT)
                       AND ($4::TEXT IS NULL OR session_id = $4)
                       AND ($5::BIGINT IS NULL OR at >= $5) AND ($6::BIGINT IS NULL OR at < $6)",
                    &[
                        &query.user,
                        &any_tenant,
                        &tenant,
                        &query.session_id,
                        &query.from,
                        &query.to,
                    ],
                )
                .await
                .map_err(backend)?;
            usage_report((row.get(0), row.get(1), row.get(2), row.get(3), row.get(4)))
        })
    }

    fn enqueue_webhook<'a>(&'a self, item: &'a OutboxItem) -> BoxFuture<'a, Result<i64, DbError>> {
        Box::pin(async move {
            let client = self.client.lock().await;
            let row = client
                .query_one(
                    "INSERT INTO server_outbox (tenant, url, event, body, attempts,
                        next_attempt_at, last_error) VALUES ($1, $2, $3, $4, $5, $6, $7)
                     RETURNING id",
                    &[
                        &item.tenant,
                        &item.url,
                        &item.event,
                        &item.body,
                        &i64::from(item.attempts),
                        &item.next_attempt_at,
                        &item.last_error,
                    ],
                )
                .await
                .map_err(backend)?;
            Ok(row.get(0))
        })
    }

    fn due_webhooks(
        &self,
        now: Millis,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<OutboxItem>, DbError>> {
        Box::pin(async move {
            let client = self.client.lock().await;
            let rows = client
                .query(
                    &format!(
                        "SELECT {OUTBOX_COLUMNS} FROM server_outbox
                         WHERE next_attempt_at <= $1 AND next_attempt_at <> $2
                         ORDER BY id LIMIT $3"
                    ),
                    &[&now, &DEAD_LETTER, &sql_limit(limit)],
                )
                .await
                .map_err(backend)?;
            rows.iter().map(outbox_item).collect()
        })
    }

    fn claim_webhooks(
        &self,
        now: Millis,
        claim_until: Millis,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<OutboxItem>, DbError>> {
        Box::pin(async move {
            let client = self.client.lock().await;
            // SKIP LOCKED: rows another host is claiming right now are its own.
            let rows = client
                .query(
                    &format!(
                        "UPDATE server_outbox SET next_attempt_at = $4 WHERE id IN
                         (SELECT id FROM server_outbox
                          WHERE next_attempt_at <= $1 AND next_attempt_at <> $2
                          ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED)
                         RETURNING {OUTBOX_COLUMNS}"
                    ),
                    &[&now, &DEAD_LETTER, &sql_limit(limit), &claim_until],
                )
                .await
                .map_err(backend)?;
            let mut claimed = rows
                .iter()
                .map(outbox_item)
                .collect::<Result<Vec<_>, _>>()?;
            claimed.sort_by_key(|item| item.id);
            Ok(claimed)
        })
    }

    fn webhook_delivered(&self, id: i64) -> BoxFuture<'_, Result<(), DbError>> {
        Box::pin(async move {
            let client = self.client.lock().await;
            client
                .execute("DELETE FROM server_outbox WHERE id = $1", &[&id])
                .await
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
        Box::pin(async move {
            let client = self.client.lock().await;
            client
                .execute(
                    "UPDATE server_outbox SET attempts = attempts + 1, next_attempt_at = $2,
                        last_error = $3 WHERE id = $1",
                    &[&id, &next_attempt_at, &error],
                )
                .await
                .map_err(backend)?;
            Ok(())
        })
    }

    fn dead_webhooks(&self, limit: usize) -> BoxFuture<'_, Result<Vec<OutboxItem>, DbError>> {
        Box::pin(async move {
            let client = self.client.lock().await;
            let rows = client
                .query(
                    &format!(
                        "SELECT {OUTBOX_COLUMNS} FROM server_outbox WHERE next_attempt_at = $1
                         ORDER BY id LIMIT $2"
                    ),
                    &[&DEAD_LETTER, &sql_limit(limit)],
                )
                .await
                .map_err(backend)?;
            rows.iter().map(outbox_item).collect()
        })
    }

    fn lease<'a>(&'a self, session_id: &'a str) -> BoxFuture<'a, Result<Option<Lease>, DbError>> {
        Box::pin(async move {
            let client = self.client.lock().await;
            let row = client
                .query_opt(
                    &format!("SELECT {LEASE_COLUMNS} FROM server_leases WHERE session_id = $1"),
                    &[&session_id],
                )
                .await
                .map_err(backend)?;
            row.as_ref().map(lease_record).transpose()
        })
    }

    fn take_lease<'a>(
        &'a self,
        session_id: &'a str,
        expected_epoch: u64,
        owner: &'a str,
        address: &'a str,
        expires_at: Millis,
    ) -> BoxFuture<'a, Result<Option<Lease>, DbError>> {
        Box::pin(async move {
            let expected = to_sql_int(expected_epoch)?;
            let client = self.client.lock().await;
            // One statement each: a concurrent take of the same row waits for
            // this one, then finds the epoch changed and takes nothing.
            let row = if expected_epoch == 0 {
                client
                    .query_opt(
                        &format!(
                            "INSERT INTO server_leases ({LEASE_COLUMNS}) VALUES ($1, $2, $3, 1, $4)
                             ON CONFLICT (session_id) DO NOTHING RETURNING {LEASE_COLUMNS}"
                        ),
                        &[&session_id, &owner, &address, &expires_at],
                    )
                    .await
            } else {
                client
                    .query_opt(
                        &format!(
                            "UPDATE server_leases SET owner = $2, address = $3,
                                epoch = epoch + 1, expires_at = $4
                             WHERE session_id = $1 AND epoch = $5 RETURNING {LEASE_COLUMNS}"
                        ),
                        &[&session_id, &owner, &address, &expires_at, &expected],
                    )
                    .await
            }
            .map_err(backend)?;
            row.as_ref().map(lease_record).transpose()
        })
    }

    fn renew_leases<'a>(
        &'a self,
        owner: &'a str,
        leases: &'a [(String, u64)],
        expires_at: Millis,
    ) -> BoxFuture<'a, Result<Vec<String>, DbError>> {
        Box::pin(async move {
            if leases.is_empty() {
                return Ok(Vec::new());
            }
            let ids: Vec<&str> = leases.iter().map(|(id, _)| id.as_str()).collect();
            let epochs = leases
                .iter()
                .map(|(_, epoch)| to_sql_int(*epoch))
                .collect::<Result<Vec<_>, _>>()?;
            let client = self.client.lock().await;
            let rows = client
                .query(
                    "UPDATE server_leases AS l SET expires_at = $3
                     FROM unnest($1::TEXT[], $2::BIGINT[]) AS t(id, epoch)
                     WHERE l.session_id = t.id AND l.epoch = t.epoch AND l.owner = $4
                     RETURNING l.session_id",
                    &[&ids, &epochs, &expires_at, &owner],
                )
                .await
                .map_err(backend)?;
            let renewed: std::collections::HashSet<String> =
                rows.iter().map(|row| row.get(0)).collect();
            Ok(leases
                .iter()
                .filter(|(id, _)| !renewed.contains(id))
                .map(|(id, _)| id.clone())
                .collect())
        })
    }

    fn release_lease<'a>(
        &'a self,
        session_id: &'a str,
        epoch: u64,
    ) -> BoxFuture<'a, Result<bool, DbError>> {
        Box::pin(async move {
            let epoch = to_sql_int(epoch)?;
            let client = self.client.lock().await;
            let released = client
                .execute(
                    "UPDATE server_leases SET expires_at = 0 WHERE session_id = $1 AND epoch = $2",
                    &[&session_id, &epoch],
                )
                .await
                .map_err(backend)?;
            Ok(released > 0)
        })
    }

    fn append_events_fenced<'a>(
        &'a self,
        epoch: u64,
        events: &'a [EventRecord],
    ) -> BoxFuture<'a, Result<(), DbError>> {
        Box::pin(async move {
            let session_id = match fenced_session(events) {
                None => return Ok(()),
                Some(id) => id?,
            };
            self.fenced(session_id, epoch, async |tx| {
                insert_events(tx, events, true).await
            })
            .await
        })
    }

    fn update_session_fenced<'a>(
        &'a self,
        epoch: u64,
        session: &'a SessionRecord,
    ) -> BoxFuture<'a, Result<bool, DbError>> {
        Box::pin(async move {
            self.fenced(&session.id, epoch, async |tx| {
                Ok(write_session(tx, session, true).await? > 0)
            })
            .await
        })
    }

    fn record_usage_fenced<'a>(
        &'a self,
        epoch: u64,
        usage: &'a UsageRecord,
    ) -> BoxFuture<'a, Result<(), DbError>> {
        Box::pin(async move {
            self.fenced(&usage.session_id, epoch, async |tx| {
                insert_usage(tx, usage).await
            })
            .await
        })
    }

    fn insert_task_fenced<'a>(
        &'a self,
        epoch: u64,
        task: &'a TaskRecord,
    ) -> BoxFuture<'a, Result<(), DbError>> {
        Box::pin(async move {
            self.fenced(&task.session_id, epoch, async |tx| {
                write_task(tx, task, false).await.map(drop)
            })
            .await
        })
    }

    fn update_task_fenced<'a>(
        &'a self,
        epoch: u64,
        task: &'a TaskRecord,
    ) -> BoxFuture<'a, Result<bool, DbError>> {
        Box::pin(async move {
            self.fenced(&task.session_id, epoch, async |tx| {
                Ok(write_task(tx, task, true).await? > 0)
            })
            .await
        })
    }
}

/// Which event of a refused batch was stored already (or repeated within
/// it), to name it in the error.
async fn duplicate_in(client: &impl GenericClient, events: &[EventRecord]) -> Option<DbError> {
    let mut seen = std::collections::HashSet::new();
    for event in events {
        let seq = to_sql_int(event.seq).ok()?;
        let stored = client
            .query_opt(
                "SELECT 1 FROM server_events WHERE session_id = $1 AND seq = $2",
                &[&event.session_id, &seq],
            )
            .await
            .ok()?
            .is_some();
        if stored || !seen.insert((event.session_id.as_str(), event.seq)) {
            return Some(DbError::DuplicateEvent {
                session_id: event.session_id.clone(),
                seq: event.seq,
            });
        }
    }
    None
}
