//! [`PostgresSessionStore`]: sessions in PostgreSQL, shared by many hosts.

use serde_json::Value;
use tokio::sync::Mutex;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, NoTls};

use super::schema::{Schema, migrate_postgres};
use super::summary::fold_session_summary;
use super::{SessionKey, SessionStore, SessionSummary, StoreEntry, StoreError, StoredSession};
use crate::handler::BoxFuture;

const STORE: &str = "postgres";

/// Taken for the migration transaction, so hosts starting together migrate once.
const MIGRATION_LOCK: i64 = 0x6167_656e_7473_646b; // "agentsdk"

/// The schema, one step per version; the store applies the steps a database lacks.
const MIGRATIONS: &[&str] = &[
    // 1: transcripts (one row per key: its write time on the server's clock,
    // and the lock that orders appends to it), entries in append order
    // (idempotent on `uuid` per key), and session summaries.
    "CREATE TABLE agent_sdk_transcripts (
        project_key TEXT NOT NULL, session_id TEXT NOT NULL, subpath TEXT NOT NULL,
        mtime BIGINT NOT NULL,
        PRIMARY KEY (project_key, session_id, subpath));
     CREATE TABLE agent_sdk_entries (
        seq BIGSERIAL PRIMARY KEY,
        project_key TEXT NOT NULL, session_id TEXT NOT NULL, subpath TEXT NOT NULL,
        uuid TEXT, entry JSONB NOT NULL);
     CREATE INDEX agent_sdk_entries_by_key ON agent_sdk_entries (project_key, session_id, subpath, seq);
     CREATE UNIQUE INDEX agent_sdk_entries_uuid ON agent_sdk_entries (project_key, session_id, subpath, uuid)
        WHERE uuid IS NOT NULL;
     CREATE TABLE agent_sdk_summaries (
        project_key TEXT NOT NULL, session_id TEXT NOT NULL,
        mtime BIGINT NOT NULL, data JSONB NOT NULL,
        PRIMARY KEY (project_key, session_id));",
];

/// Sessions in PostgreSQL (feature `postgres`), with every optional method:
/// the store for many hosts.
///
/// Appends to one key are serialized by a row lock, and an entry whose
/// `uuid` is already stored under its key is skipped, so two hosts appending
/// the same session at once lose and duplicate nothing. A session's summary
/// is updated in the append's transaction. Write times come from the
/// server's clock, one clock for every host. The tables (`agent_sdk_*`, in
/// the connection's `search_path`) are created and migrated by the store
/// (a `agent_sdk_schema_version` table).
///
/// One store holds one connection and runs its calls one at a time; open
/// several stores for parallel appends.
///
/// ```no_run
/// use agent_sdk::store::{PostgresSessionStore, SessionKey, SessionStore};
///
/// # async fn demo() -> Result<(), agent_sdk::store::StoreError> {
/// let store = PostgresSessionStore::connect("postgres://agent@db.internal/sessions").await?;
/// let entries = store.load(&SessionKey::new("proj", "s1")).await?;
/// # let _ = entries;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct PostgresSessionStore {
    client: Mutex<Client>,
}

fn backend(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> StoreError {
    StoreError::backend(STORE, error)
}

impl PostgresSessionStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/db`,
    /// or a `key=value` string), without TLS, and brings the schema up to date.
    /// The connection is driven by a task spawned on the current tokio runtime.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let (client, connection) = tokio_postgres::connect(url, NoTls)
            .await
            .map_err(|e| backend(format!("cannot connect to PostgreSQL: {e}")))?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::warn!(%error, "the session store's PostgreSQL connection ended");
            }
        });
        Self::from_client(client).await
    }

    /// A store on a client already connected (with TLS, a `search_path`, ...);
    /// its connection future must be running. Creates or migrates the schema.
    pub async fn from_client(mut client: Client) -> Result<Self, StoreError> {
        migrate(&mut client).await?;
        Ok(Self {
            client: Mutex::new(client),
        })
    }
}

async fn migrate(client: &mut Client) -> Result<(), StoreError> {
    let schema = Schema {
        version_table: "agent_sdk_schema_version",
        name: "schema",
        migrations: MIGRATIONS,
    };
    migrate_postgres(client, MIGRATION_LOCK, &schema)
        .await
        .map_err(backend)
}

impl SessionStore for PostgresSessionStore {
    fn append<'a>(
        &'a self,
        key: &'a SessionKey,
        entries: Vec<StoreEntry>,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let subpath = key.subpath_column()?;
            if entries.is_empty() {
                return Ok(());
            }
            let (project, session) = (&key.project_key, &key.session_id);
            let mut client = self.client.lock().await;
            let tx = client.transaction().await.map_err(backend)?;
            // The transcript's row lock orders concurrent appends to this key.
            let mtime: i64 = tx
                .query_one(
                    "INSERT INTO agent_sdk_transcripts (project_key, session_id, subpath, mtime)
                     VALUES ($1, $2, $3, (extract(epoch FROM clock_timestamp()) * 1000)::bigint)
                     ON CONFLICT (project_key, session_id, subpath)
                     DO UPDATE SET mtime = GREATEST(EXCLUDED.mtime, agent_sdk_transcripts.mtime + 1)
                     RETURNING mtime",
                    &[project, session, &subpath],
                )
                .await
                .map_err(backend)?
                .get(0);
            let insert = tx
                .prepare(
                    "INSERT INTO agent_sdk_entries (project_key, session_id, subpath, uuid, entry)
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                )
                .await
                .map_err(backend)?;
            let values: Vec<(Option<&str>, Value)> = entries
                .iter()
                .map(|e| {
                    (
                        e.get("uuid").and_then(Value::as_str),
                        Value::Object(e.clone()),
                    )
                })
                .collect();
            let rows: Vec<[&(dyn ToSql + Sync); 5]> = values
                .iter()
                .map(|(uuid, entry)| {
                    [
                        project as _,
                        session as _,
                        &subpath as _,
                        uuid as _,
                        entry as _,
                    ]
                })
                .collect();
            // Sent together (the client pipelines them), run in order.
            let counts = futures_util::future::try_join_all(
                rows.iter().map(|params| tx.execute(&insert, params)),
            )
            .await
            .map_err(backend)?;
            if key.subpath.is_none() {
                let inserted: Vec<StoreEntry> = entries
                    .into_iter()
                    .zip(counts)
                    .filter(|(_, count)| *count > 0)
                    .map(|(entry, _)| entry)
                    .collect();
                let prev = tx
                    .query_opt(
                        "SELECT mtime, data FROM agent_sdk_summaries WHERE project_key = $1 AND session_id = $2",
                        &[project, session],
                    )
                    .await
                    .map_err(backend)?
                    .map(|row| summary_of(session, row.get(0), row.get(1)))
                    .transpose()?;
                let mut summary = fold_session_summary(prev.as_ref(), key, &inserted);
                summary.mtime = mtime;
                let data = Value::Object(summary.data);
                tx.execute(
                    "INSERT INTO agent_sdk_summaries (project_key, session_id, mtime, data) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (project_key, session_id) DO UPDATE SET mtime = EXCLUDED.mtime, data = EXCLUDED.data",
                    &[project, session, &mtime, &data],
                )
                .await
                .map_err(backend)?;
            }
            tx.commit().await.map_err(backend)
        })
    }

    fn load<'a>(
        &'a self,
        key: &'a SessionKey,
    ) -> BoxFuture<'a, Result<Option<Vec<StoreEntry>>, StoreError>> {
        Box::pin(async move {
            let subpath = key.subpath_column()?;
            let params: [&(dyn ToSql + Sync); 3] = [&key.project_key, &key.session_id, &subpath];
            let client = self.client.lock().await;
            let known = client
                .query_opt(
                    "SELECT 1 FROM agent_sdk_transcripts WHERE project_key = $1 AND session_id = $2 AND subpath = $3",
                    &params,
                )
                .await
                .map_err(backend)?;
            if known.is_none() {
                return Ok(None);
            }
            let rows = client
                .query(
                    "SELECT entry FROM agent_sdk_entries
                     WHERE project_key = $1 AND session_id = $2 AND subpath = $3 ORDER BY seq",
                    &params,
                )
                .await
                .map_err(backend)?;
            rows.into_iter()
                .map(|row| match row.get::<_, Value>(0) {
                    Value::Object(entry) => Ok(entry),
                    other => Err(backend(format!("a stored entry is not an object: {other}"))),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some)
        })
    }

    fn list_sessions<'a>(
        &'a self,
        project_key: &'a str,
    ) -> BoxFuture<'a, Result<Vec<StoredSession>, StoreError>> {
        Box::pin(async move {
            let rows = self
                .client
                .lock()
                .await
                .query(
                    "SELECT session_id, mtime FROM agent_sdk_transcripts WHERE project_key = $1 AND subpath = ''",
                    &[&project_key],
                )
                .await
                .map_err(backend)?;
            Ok(rows
                .into_iter()
                .map(|row| StoredSession {
                    session_id: row.get(0),
                    mtime: row.get(1),
                })
                .collect())
        })
    }

    fn list_session_summaries<'a>(
        &'a self,
        project_key: &'a str,
    ) -> BoxFuture<'a, Result<Vec<SessionSummary>, StoreError>> {
        Box::pin(async move {
            let rows = self
                .client
                .lock()
                .await
                .query(
                    "SELECT session_id, mtime, data FROM agent_sdk_summaries WHERE project_key = $1",
                    &[&project_key],
                )
                .await
                .map_err(backend)?;
            rows.into_iter()
                .map(|row| summary_of(row.get(0), row.get(1), row.get(2)))
                .collect()
        })
    }

    fn delete<'a>(&'a self, key: &'a SessionKey) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let subpath = key.subpath_column()?;
            let (project, session) = (&key.project_key, &key.session_id);
            let mut client = self.client.lock().await;
            let tx = client.transaction().await.map_err(backend)?;
            // The main transcript ('') takes its sub-keys and summary with it.
            for table in ["agent_sdk_entries", "agent_sdk_transcripts"] {
                let sql = format!(
                    "DELETE FROM {table} WHERE project_key = $1 AND session_id = $2 AND ($3 = '' OR subpath = $3)"
                );
                tx.execute(&sql, &[project, session, &subpath])
                    .await
                    .map_err(backend)?;
            }
            if key.subpath.is_none() {
                tx.execute(
                    "DELETE FROM agent_sdk_summaries WHERE project_key = $1 AND session_id = $2",
                    &[project, session],
                )
                .await
                .map_err(backend)?;
            }
            tx.commit().await.map_err(backend)
        })
    }

    fn list_subkeys<'a>(
        &'a self,
        key: &'a SessionKey,
    ) -> BoxFuture<'a, Result<Vec<String>, StoreError>> {
        Box::pin(async move {
            let rows = self
                .client
                .lock()
                .await
                .query(
                    "SELECT subpath FROM agent_sdk_transcripts
                     WHERE project_key = $1 AND session_id = $2 AND subpath <> ''",
                    &[&key.project_key, &key.session_id],
                )
                .await
                .map_err(backend)?;
            Ok(rows.into_iter().map(|row| row.get(0)).collect())
        })
    }
}

fn summary_of(session_id: &str, mtime: i64, data: Value) -> Result<SessionSummary, StoreError> {
    match data {
        Value::Object(data) => Ok(SessionSummary {
            session_id: session_id.to_owned(),
            mtime,
            data,
        }),
        other => Err(backend(format!(
            "a stored summary is not an object: {other}"
        ))),
    }
}
