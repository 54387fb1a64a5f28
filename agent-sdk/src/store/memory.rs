//! [`InMemorySessionStore`]: the reference store, for tests and single
//! processes that need no persistence.

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::sync::Mutex;

use super::summary::fold_session_summary;
use super::{SessionKey, SessionStore, SessionSummary, StoreEntry, StoreError, StoredSession};
use crate::handler::BoxFuture;

/// Sessions kept in this process's memory, with every optional method.
///
/// Write times are strictly increasing even within one millisecond, as a
/// real backend's would be, so "newest session" is always well defined.
///
/// ```
/// use agent_sdk::store::{InMemorySessionStore, SessionKey, SessionStore};
/// use serde_json::json;
///
/// # tokio_test_block_on(async {
/// let store = InMemorySessionStore::new();
/// let key = SessionKey::new("proj", "s1");
/// store.append(&key, vec![json!({"type": "x", "uuid": "a"}).as_object().unwrap().clone()]).await?;
/// assert_eq!(store.load(&key).await?.map(|e| e.len()), Some(1));
/// # Ok::<(), agent_sdk::store::StoreError>(())
/// # }).unwrap();
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Debug, Default)]
pub struct InMemorySessionStore {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    transcripts: BTreeMap<SessionKey, Transcript>,
    summaries: HashMap<(String, String), SessionSummary>,
    last_mtime: i64,
}

#[derive(Debug, Default)]
struct Transcript {
    entries: Vec<StoreEntry>,
    mtime: i64,
}

impl State {
    /// Now in epoch milliseconds, past every earlier write time.
    fn next_mtime(&mut self) -> i64 {
        self.last_mtime = now_millis().max(self.last_mtime + 1);
        self.last_mtime
    }
}

pub(crate) fn now_millis() -> i64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

impl InMemorySessionStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent data (every
        // mutation is a single insert or remove), so poisoning is ignored.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl SessionStore for InMemorySessionStore {
    fn append<'a>(
        &'a self,
        key: &'a SessionKey,
        entries: Vec<StoreEntry>,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        let result = (|| {
            key.subpath_column()?;
            if entries.is_empty() {
                return Ok(());
            }
            let mut state = self.state();
            let mtime = state.next_mtime();
            if key.subpath.is_none() {
                let id = (key.project_key.clone(), key.session_id.clone());
                let mut summary = fold_session_summary(state.summaries.get(&id), key, &entries);
                summary.mtime = mtime;
                state.summaries.insert(id, summary);
            }
            let transcript = state.transcripts.entry(key.clone()).or_default();
            transcript.entries.extend(entries);
            transcript.mtime = mtime;
            Ok(())
        })();
        Box::pin(std::future::ready(result))
    }

    fn load<'a>(
        &'a self,
        key: &'a SessionKey,
    ) -> BoxFuture<'a, Result<Option<Vec<StoreEntry>>, StoreError>> {
        let entries = key
            .subpath_column()
            .map(|_| self.state().transcripts.get(key).map(|t| t.entries.clone()));
        Box::pin(std::future::ready(entries))
    }

    fn list_sessions<'a>(
        &'a self,
        project_key: &'a str,
    ) -> BoxFuture<'a, Result<Vec<StoredSession>, StoreError>> {
        let sessions = self
            .state()
            .transcripts
            .iter()
            .filter(|(key, _)| key.project_key == project_key && key.subpath.is_none())
            .map(|(key, transcript)| StoredSession {
                session_id: key.session_id.clone(),
                mtime: transcript.mtime,
            })
            .collect();
        Box::pin(std::future::ready(Ok(sessions)))
    }

    fn list_session_summaries<'a>(
        &'a self,
        project_key: &'a str,
    ) -> BoxFuture<'a, Result<Vec<SessionSummary>, StoreError>> {
        let summaries = self
            .state()
            .summaries
            .iter()
            .filter(|((project, _), _)| project == project_key)
            .map(|(_, summary)| summary.clone())
            .collect();
        Box::pin(std::future::ready(Ok(summaries)))
    }

    fn delete<'a>(&'a self, key: &'a SessionKey) -> BoxFuture<'a, Result<(), StoreError>> {
        if let Err(invalid) = key.subpath_column() {
            return Box::pin(std::future::ready(Err(invalid)));
        }
        let mut state = self.state();
        if key.subpath.is_some() {
            state.transcripts.remove(key);
        } else {
            state.transcripts.retain(|stored, _| stored.main() != *key);
            state
                .summaries
                .remove(&(key.project_key.clone(), key.session_id.clone()));
        }
        Box::pin(std::future::ready(Ok(())))
    }

    fn list_subkeys<'a>(
        &'a self,
        key: &'a SessionKey,
    ) -> BoxFuture<'a, Result<Vec<String>, StoreError>> {
        let main = key.main();
        let subkeys = self
            .state()
            .transcripts
            .keys()
            .filter(|stored| stored.main() == main)
            .filter_map(|stored| stored.subpath.clone())
            .collect();
        Box::pin(std::future::ready(Ok(subkeys)))
    }
}
