//! [`SqliteSessionStore`]: sessions in an embedded SQLite file, the store of
//! a single host.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, params};

use super::memory::now_millis;
use super::schema::{Schema, migrate_sqlite};
use super::summary::fold_session_summary;
use super::{SessionKey, SessionStore, SessionSummary, StoreEntry, StoreError, StoredSession};
use crate::handler::BoxFuture;

const STORE: &str = "sqlite";

/// The schema, one step per version; `open` applies the steps a file lacks.
const MIGRATIONS: &[&str] = &[
    // 1: transcripts (one row per key, its write time), their entries in
    // append order (idempotent on `uuid` per key), and session summaries.
    "CREATE TABLE transcripts (
        project_key TEXT NOT NULL, session_id TEXT NOT NULL, subpath TEXT NOT NULL,
        mtime INTEGER NOT NULL,
        PRIMARY KEY (project_key, session_id, subpath));
     CREATE TABLE entries (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        project_key TEXT NOT NULL, session_id TEXT NOT NULL, subpath TEXT NOT NULL,
        uuid TEXT, entry TEXT NOT NULL);
     CREATE INDEX entries_by_key ON entries (project_key, session_id, subpath, seq);
     CREATE UNIQUE INDEX entries_uuid ON entries (project_key, session_id, subpath, uuid)
        WHERE uuid IS NOT NULL;
     CREATE TABLE summaries (
        project_key TEXT NOT NULL, session_id TEXT NOT NULL,
        mtime INTEGER NOT NULL, data TEXT NOT NULL,
        PRIMARY KEY (project_key, session_id));",
];

/// Sessions in a SQLite file (feature `sqlite`), with every optional method.
///
/// The schema is created and migrated by [`open`](Self::open) (a
/// `schema_version` table). An entry whose `uuid` is already stored under its
/// key is skipped, so a retried batch is not stored twice. Calls run on
/// tokio's blocking pool, one at a time per store.
///
/// ```
/// use agent_sdk::store::{SessionKey, SessionStore, SqliteSessionStore};
/// use serde_json::json;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let dir = tempfile::tempdir().unwrap();
/// let store = SqliteSessionStore::open(dir.path().join("sessions.db")).await?;
/// let key = SessionKey::new("proj", "s1");
/// store.append(&key, vec![json!({"type": "x", "uuid": "a"}).as_object().unwrap().clone()]).await?;
/// assert_eq!(store.load(&key).await?.map(|e| e.len()), Some(1));
/// # Ok::<(), agent_sdk::store::StoreError>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct SqliteSessionStore {
    connection: Arc<Mutex<Connection>>,
}

fn backend(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> StoreError {
    StoreError::backend(STORE, error)
}

impl SqliteSessionStore {
    /// Opens (creating it if needed) the database file at `path` and brings
    /// its schema up to date.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_owned();
        let connection = tokio::task::spawn_blocking(move || {
            let connection = Connection::open(&path)
                .map_err(|e| backend(format!("cannot open {}: {e}", path.display())))?;
            Ok::<_, StoreError>(connection)
        })
        .await
        .map_err(backend)??;
        Self::from_connection(connection).await
    }

    /// A store on a database already open (for example `Connection::open_in_memory()`);
    /// creates or migrates its schema.
    pub async fn from_connection(mut connection: Connection) -> Result<Self, StoreError> {
        let connection = tokio::task::spawn_blocking(move || {
            migrate(&mut connection)?;
            Ok::<_, StoreError>(connection)
        })
        .await
        .map_err(backend)??;
        Ok(Self {
            connection: Arc::new(Mutex::new(connection)),
        })
    }

    /// Runs `job` with the connection on the blocking pool.
    async fn with<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let connection = Arc::clone(&self.connection);
        tokio::task::spawn_blocking(move || {
            // A panicked job rolled its transaction back: the data is sound.
            let mut connection = connection.lock().unwrap_or_else(|p| p.into_inner());
            job(&mut connection)
        })
        .await
        .map_err(backend)?
    }
}

fn migrate(connection: &mut Connection) -> Result<(), StoreError> {
    connection
        .busy_timeout(std::time::Duration::from_secs(5))
        .map_err(backend)?;
    // WAL lets readers of other processes go on while one writes.
    connection
        .pragma_update(None, "journal_mode", "WAL")
        .map_err(backend)?;
    // With WAL, NORMAL syncs at checkpoints, not at every commit: a power
    // loss may drop the last appends, never corrupt the file (the CLI's own
    // JSONL is the first copy of them).
    connection
        .pragma_update(None, "synchronous", "NORMAL")
        .map_err(backend)?;
    let schema = Schema {
        version_table: "schema_version",
        name: "schema",
        migrations: MIGRATIONS,
    };
    migrate_sqlite(connection, &schema).map_err(backend)
}

fn append_blocking(
    connection: &mut Connection,
    key: &SessionKey,
    entries: Vec<StoreEntry>,
) -> Result<(), StoreError> {
    let subpath = key.subpath_column()?;
    let (project, session) = (key.project_key.as_str(), key.session_id.as_str());
    let tx = connection.transaction().map_err(backend)?;
    // Past every write time of this file, so the newest session is unambiguous.
    let last: i64 = tx
        .query_row("SELECT coalesce(max(mtime), 0) FROM transcripts", [], |r| {
            r.get(0)
        })
        .map_err(backend)?;
    let mtime = now_millis().max(last + 1);
    let mut inserted = Vec::with_capacity(entries.len());
    {
        let mut insert = tx
            .prepare_cached(
                "INSERT OR IGNORE INTO entries (project_key, session_id, subpath, uuid, entry)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .map_err(backend)?;
        for entry in entries {
            let uuid = entry.get("uuid").and_then(serde_json::Value::as_str);
            let text = serde_json::to_string(&entry).map_err(backend)?;
            if insert
                .execute(params![project, session, subpath, uuid, text])
                .map_err(backend)?
                > 0
            {
                inserted.push(entry);
            }
        }
    }
    tx.execute(
        "INSERT INTO transcripts (project_key, session_id, subpath, mtime) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT DO UPDATE SET mtime = excluded.mtime",
        params![project, session, subpath, mtime],
    )
    .map_err(backend)?;
    if key.subpath.is_none() {
        let prev = tx
            .query_row(
                "SELECT mtime, data FROM summaries WHERE project_key = ?1 AND session_id = ?2",
                params![project, session],
                |row| Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?)),
            )
            .optional()
            .map_err(backend)?
            .map(|(mtime, data)| summary_of(session, mtime, &data))
            .transpose()?;
        let mut summary = fold_session_summary(prev.as_ref(), key, &inserted);
        summary.mtime = mtime;
        let data = serde_json::to_string(&summary.data).map_err(backend)?;
        tx.execute(
            "INSERT INTO summaries (project_key, session_id, mtime, data) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT DO UPDATE SET mtime = excluded.mtime, data = excluded.data",
            params![project, session, mtime, data],
        )
        .map_err(backend)?;
    }
    tx.commit().map_err(backend)
}

fn summary_of(session_id: &str, mtime: i64, data: &str) -> Result<SessionSummary, StoreError> {
    Ok(SessionSummary {
        session_id: session_id.to_owned(),
        mtime,
        data: serde_json::from_str(data).map_err(backend)?,
    })
}

impl SessionStore for SqliteSessionStore {
    fn append<'a>(
        &'a self,
        key: &'a SessionKey,
        entries: Vec<StoreEntry>,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            key.subpath_column()?;
            if entries.is_empty() {
                return Ok(());
            }
            let key = key.clone();
            self.with(move |c| append_blocking(c, &key, entries)).await
        })
    }

    fn load<'a>(
        &'a self,
        key: &'a SessionKey,
    ) -> BoxFuture<'a, Result<Option<Vec<StoreEntry>>, StoreError>> {
        Box::pin(async move {
            let subpath = key.subpath_column()?.to_owned();
            let key = key.clone();
            self.with(move |c| {
                let params = params![key.project_key, key.session_id, subpath];
                let known = c
                    .query_row(
                        "SELECT 1 FROM transcripts WHERE project_key = ?1 AND session_id = ?2 AND subpath = ?3",
                        params,
                        |_| Ok(()),
                    )
                    .optional()
                    .map_err(backend)?;
                if known.is_none() {
                    return Ok(None);
                }
                let mut select = c
                    .prepare_cached(
                        "SELECT entry FROM entries WHERE project_key = ?1 AND session_id = ?2 AND subpath = ?3 ORDER BY seq",
                    )
                    .map_err(backend)?;
                let rows = select
                    .query_map(params, |row| row.get::<_, String>(0))
                    .map_err(backend)?;
                let mut entries = Vec::new();
                for row in rows {
                    entries.push(serde_json::from_str(&row.map_err(backend)?).map_err(backend)?);
                }
                Ok(Some(entries))
            })
            .await
        })
    }

    fn list_sessions<'a>(
        &'a self,
        project_key: &'a str,
    ) -> BoxFuture<'a, Result<Vec<StoredSession>, StoreError>> {
        let project = project_key.to_owned();
        Box::pin(self.with(move |c| {
            let mut select = c
                .prepare_cached("SELECT session_id, mtime FROM transcripts WHERE project_key = ?1 AND subpath = ''")
                .map_err(backend)?;
            let rows = select
                .query_map([project], |row| {
                    Ok(StoredSession {
                        session_id: row.get(0)?,
                        mtime: row.get(1)?,
                    })
                })
                .map_err(backend)?;
            rows.collect::<Result<_, _>>().map_err(backend)
        }))
    }

    fn list_session_summaries<'a>(
        &'a self,
        project_key: &'a str,
    ) -> BoxFuture<'a, Result<Vec<SessionSummary>, StoreError>> {
        let project = project_key.to_owned();
        Box::pin(self.with(move |c| {
            let mut select = c
                .prepare_cached(
                    "SELECT session_id, mtime, data FROM summaries WHERE project_key = ?1",
                )
                .map_err(backend)?;
            let rows = select
                .query_map([project], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, i64>(1)?,
                        row.get::<_, String>(2)?,
                    ))
                })
                .map_err(backend)?;
            let mut summaries = Vec::new();
            for row in rows {
                let (session, mtime, data) = row.map_err(backend)?;
                summaries.push(summary_of(&session, mtime, &data)?);
            }
            Ok(summaries)
        }))
    }

    fn delete<'a>(&'a self, key: &'a SessionKey) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            key.subpath_column()?;
            let key = key.clone();
            self.with(move |c| {
                let tx = c.transaction().map_err(backend)?;
                let (project, session) = (&key.project_key, &key.session_id);
                // The main transcript takes its sub-keys and summary with it.
                let (filter, subpath) = match &key.subpath {
                    Some(subpath) => (
                        "project_key = ?1 AND session_id = ?2 AND subpath = ?3",
                        subpath.as_str(),
                    ),
                    None => ("project_key = ?1 AND session_id = ?2 AND ?3 = ?3", ""),
                };
                for table in ["entries", "transcripts"] {
                    tx.execute(
                        &format!("DELETE FROM {table} WHERE {filter}"),
                        params![project, session, subpath],
                    )
                    .map_err(backend)?;
                }
                if key.subpath.is_none() {
                    tx.execute(
                        "DELETE FROM summaries WHERE project_key = ?1 AND session_id = ?2",
                        params![project, session],
                    )
                    .map_err(backend)?;
                }
                tx.commit().map_err(backend)
            })
            .await
        })
    }

    fn list_subkeys<'a>(
        &'a self,
        key: &'a SessionKey,
    ) -> BoxFuture<'a, Result<Vec<String>, StoreError>> {
        let key = key.main();
        Box::pin(self.with(move |c| {
            let mut select = c
                .prepare_cached(
                    "SELECT subpath FROM transcripts WHERE project_key = ?1 AND session_id = ?2 AND subpath <> ''",
                )
                .map_err(backend)?;
            let rows = select
                .query_map(params![key.project_key, key.session_id], |row| row.get(0))
                .map_err(backend)?;
            rows.collect::<Result<_, _>>().map_err(backend)
        }))
    }
}
