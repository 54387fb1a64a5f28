//! Session stores: a second home for session transcripts, so a session can be
//! resumed on another machine.
//!
//! The CLI writes every session to a JSONL file under its config directory
//! (see [`sessions`](crate::sessions)). With a [`SessionStore`] the SDK also
//! receives each line as it is written and hands it to the store; a session
//! whose file is not on this machine is loaded from the store before the CLI
//! starts.
//!
//! The contract is the official SDKs' (`SessionStore` in the Python SDK
//! 0.2.187): [`append`](SessionStore::append) and [`load`](SessionStore::load)
//! are required, the listing, deleting and sub-key methods are optional and
//! answer [`StoreError::Unsupported`] by default. Entries are opaque JSON
//! objects: a store keeps them as they are and gives them back deep-equal (key
//! order may change).
//!
//! Around the trait: `AgentOptions::session_store` mirrors a session into a
//! store ([`StoreFlush`] says when) and resumes from it; [`StoredSessions`]
//! lists, reads, renames, tags, deletes and forks the sessions of a store;
//! [`import_session_to_store`] copies a local session into one.
//!
//! Three stores come with the SDK: [`InMemorySessionStore`] (tests, one
//! process), `SqliteSessionStore` (feature `sqlite`: an embedded file, the
//! store of a single host) and `PostgresSessionStore` (feature `postgres`:
//! many hosts sharing sessions). Each keeps a running summary of every
//! session ([`fold_session_summary`]) so listing needs no transcript reads.
//! `testing::session_store_conformance` (feature `testing`) proves a store of
//! your own against the contract.
//!
//! ```
//! use agent_sdk::store::{SessionKey, SessionStore, StoreEntry, StoreError};
//! use agent_sdk::BoxFuture;
//! use std::collections::HashMap;
//! use std::sync::Mutex;
//!
//! /// The smallest store: the two required methods, in memory.
//! #[derive(Default)]
//! struct Tiny(Mutex<HashMap<SessionKey, Vec<StoreEntry>>>);
//!
//! impl SessionStore for Tiny {
//!     fn append<'a>(
//!         &'a self,
//!         key: &'a SessionKey,
//!         entries: Vec<StoreEntry>,
//!     ) -> BoxFuture<'a, Result<(), StoreError>> {
//!         Box::pin(async move {
//!             if !entries.is_empty() {
//!                 self.0.lock().unwrap().entry(key.clone()).or_default().extend(entries);
//!             }
//!             Ok(())
//!         })
//!     }
//!
//!     fn load<'a>(
//!         &'a self,
//!         key: &'a SessionKey,
//!     ) -> BoxFuture<'a, Result<Option<Vec<StoreEntry>>, StoreError>> {
//!         Box::pin(async move { Ok(self.0.lock().unwrap().get(key).cloned()) })
//!     }
//! }
//! ```

mod history;
mod import;
mod materialize;
mod mirror;
pub(crate) mod resume;
pub(crate) mod wiring;

pub use history::StoredSessions;
pub use import::import_session_to_store;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) mod schema;
#[cfg(feature = "sqlite")]
mod sqlite;
mod summary;

pub use memory::InMemorySessionStore;
#[cfg(feature = "postgres")]
pub use postgres::PostgresSessionStore;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteSessionStore;
pub use summary::{fold_session_summary, summary_to_session_info};

use crate::handler::BoxFuture;

/// When mirrored transcript entries are handed to the session store
/// (`AgentOptions::session_store_flush`).
///
/// Either way appends reach the store in the order the CLI wrote the lines,
/// one call at a time, and the reader of the messages is never kept waiting
/// on the store, except that a turn's `result` is passed on once the store
/// has the turn.
///
/// ```
/// use agent_sdk::store::StoreFlush;
/// assert_eq!(StoreFlush::default(), StoreFlush::Batched);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreFlush {
    /// Once per turn (at its `result`), or sooner past 500 pending entries or 1 MiB.
    #[default]
    Batched,
    /// After every `transcript_mirror` frame, in the background: the store
    /// sees entries in near real time (frames that arrive while an append is
    /// running go together in the next one).
    Eager,
}

/// One transcript line: a JSON object the store keeps as it is.
///
/// Most entries carry `type`, `uuid` and `timestamp`; stores may use `uuid`
/// as an idempotency key (an entry whose `uuid` is already stored for the
/// same key is not stored twice) and must append entries without one.
pub type StoreEntry = serde_json::Map<String, serde_json::Value>;

/// Where a transcript lives in a store: a project, a session, and for a
/// subagent's transcript a sub-path such as `subagents/agent-<id>`.
///
/// ```
/// use agent_sdk::store::SessionKey;
///
/// let main = SessionKey::new("my-project", "6f1c0d2e-0000-4000-8000-000000000000");
/// let agent = main.subkey("subagents/agent-a1");
/// assert_eq!(agent.session_id, main.session_id);
/// assert_eq!(agent.subpath.as_deref(), Some("subagents/agent-a1"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionKey {
    /// The scope chosen by the caller: by default the sanitized working
    /// directory, as the CLI names its project directories; a tenant or
    /// project name in a multi-tenant deployment.
    pub project_key: String,
    /// The CLI's session id.
    pub session_id: String,
    /// `None` for the main transcript; the path below the session for a
    /// subagent's transcript. Never `Some("")`.
    pub subpath: Option<String>,
}

impl SessionKey {
    /// The key of a session's main transcript.
    pub fn new(project_key: impl Into<String>, session_id: impl Into<String>) -> Self {
        Self {
            project_key: project_key.into(),
            session_id: session_id.into(),
            subpath: None,
        }
    }

    /// The key of a transcript below this session (a subagent's).
    pub fn subkey(&self, subpath: impl Into<String>) -> Self {
        Self {
            subpath: Some(subpath.into()),
            ..self.main()
        }
    }

    /// The key of this session's main transcript.
    pub fn main(&self) -> Self {
        Self::new(self.project_key.clone(), self.session_id.clone())
    }
}

impl SessionKey {
    /// The sub-path as a database column: `""` for the main transcript.
    /// Refuses an empty session id and `Some("")` (every built-in store does).
    pub(crate) fn subpath_column(&self) -> Result<&str, StoreError> {
        let reason = if self.session_id.is_empty() {
            "the session id is empty"
        } else if self.subpath.as_deref() == Some("") {
            "the subpath is Some(\"\"); use None for the main transcript"
        } else {
            return Ok(self.subpath.as_deref().unwrap_or_default());
        };
        Err(StoreError::InvalidKey {
            reason: reason.to_owned(),
        })
    }
}

/// A session listed by [`SessionStore::list_sessions`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSession {
    /// The CLI's session id.
    pub session_id: String,
    /// When the store last wrote to the session, in Unix epoch milliseconds.
    pub mtime: i64,
}

/// A session's running summary, kept by the store beside its transcript
/// (returned by [`SessionStore::list_session_summaries`]).
///
/// `data` belongs to the SDK: a store writes what it is given and returns it
/// untouched. `mtime` is the store's write time of the summary, on the same
/// clock as [`StoredSession::mtime`].
#[derive(Debug, Clone, PartialEq)]
pub struct SessionSummary {
    /// The CLI's session id.
    pub session_id: String,
    /// When the store wrote the summary, in Unix epoch milliseconds.
    pub mtime: i64,
    /// The SDK's summary state; opaque to the store.
    pub data: serde_json::Map<String, serde_json::Value>,
}

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store does not implement an optional method.
    #[error("this session store does not implement `{method}`")]
    Unsupported {
        /// The method's name.
        method: &'static str,
    },
    /// A key the store refuses (an empty session id, `Some("")` as sub-path).
    #[error("invalid session store key: {reason}")]
    InvalidKey {
        /// What is wrong with it.
        reason: String,
    },
    /// The backend failed (database, network, disk).
    #[error("session store `{store}` failed: {source}")]
    Backend {
        /// The store's name, for example `sqlite`.
        store: &'static str,
        /// The backend's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl StoreError {
    /// A backend error of the store named `store`.
    pub fn backend(
        store: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self::Backend {
            store,
            source: source.into(),
        }
    }
}

/// Where session transcripts are kept besides the CLI's local files.
///
/// Implement [`append`](Self::append) and [`load`](Self::load); the other
/// methods are optional and answer [`StoreError::Unsupported`] unless
/// overridden. The conformance suite `testing::session_store_conformance`
/// (feature `testing`) checks an implementation against the whole contract.
///
/// Calls for one session arrive in order from one SDK process; several
/// processes (hosts) may append to the same session at once, so a store for
/// many hosts must be safe under concurrent appends.
///
/// See the [module documentation](self) for a complete small store.
pub trait SessionStore: Send + Sync + 'static {
    /// Appends `entries`, in order, to the transcript at `key`. An empty batch
    /// changes nothing. An entry whose `uuid` is already stored under `key`
    /// may be skipped (stores for many hosts should skip it).
    fn append<'a>(
        &'a self,
        key: &'a SessionKey,
        entries: Vec<StoreEntry>,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Every entry stored at `key`, in append order; `None` for a key never
    /// written.
    fn load<'a>(
        &'a self,
        key: &'a SessionKey,
    ) -> BoxFuture<'a, Result<Option<Vec<StoreEntry>>, StoreError>>;

    /// The sessions of a project (main transcripts only), in any order.
    fn list_sessions<'a>(
        &'a self,
        project_key: &'a str,
    ) -> BoxFuture<'a, Result<Vec<StoredSession>, StoreError>> {
        let _ = project_key;
        unsupported("list_sessions")
    }

    /// The summaries of a project's sessions (main transcripts only).
    fn list_session_summaries<'a>(
        &'a self,
        project_key: &'a str,
    ) -> BoxFuture<'a, Result<Vec<SessionSummary>, StoreError>> {
        let _ = project_key;
        unsupported("list_session_summaries")
    }

    /// Deletes the transcript at `key`. Deleting a main transcript also
    /// deletes every sub-key of the session; deleting a sub-key deletes only
    /// it.
    fn delete<'a>(&'a self, key: &'a SessionKey) -> BoxFuture<'a, Result<(), StoreError>> {
        let _ = key;
        unsupported("delete")
    }

    /// The sub-paths stored below a session (its `subpath` is ignored), in
    /// any order; never the main transcript.
    fn list_subkeys<'a>(
        &'a self,
        key: &'a SessionKey,
    ) -> BoxFuture<'a, Result<Vec<String>, StoreError>> {
        let _ = key;
        unsupported("list_subkeys")
    }
}

fn unsupported<'a, T: Send + 'a>(method: &'static str) -> BoxFuture<'a, Result<T, StoreError>> {
    Box::pin(std::future::ready(Err(StoreError::Unsupported { method })))
}
