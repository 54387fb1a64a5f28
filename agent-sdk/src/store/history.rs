//! Sessions kept in a store: list, read, rename, tag, delete and fork them
//! as [`SessionFiles`] does for the CLI's local files.
//!
//! Reads and edits write the session to a scratch config directory and run
//! the `sessions` code on it, so both paths parse, chain and edit transcripts
//! the same way; an edit appends the lines it wrote to the store.

use std::path::Path;
use std::sync::Arc;

use super::materialize::{LoadedSession, ScratchDir, bounded, load_session, read_jsonl};
use super::resume::project_key_of;
use super::{SessionKey, SessionStore, StoreError};
use crate::error::Result;
use crate::sessions::{
    ForkSession, ListSessions, ReadMessages, SessionError, SessionFiles, SessionInfo,
    SessionMessage, is_uuid,
};

/// The sessions of one project in a [`SessionStore`].
///
/// ```no_run
/// use std::sync::Arc;
/// use agent_sdk::sessions::{ForkSession, ReadMessages};
/// use agent_sdk::store::{SessionStore, StoredSessions};
///
/// # async fn demo(store: Arc<dyn SessionStore>) -> agent_sdk::Result<()> {
/// let sessions = StoredSessions::for_directory(store, "/srv/app");
/// let newest = &sessions.list_sessions(Some(1), 0).await?[0];
/// let messages = sessions.session_messages(&newest.session_id, &ReadMessages::new()).await?;
/// sessions.rename_session(&newest.session_id, "Quarterly report").await?;
/// let fork = sessions
///     .fork_session(&newest.session_id, &ForkSession::new().up_to_message(&messages[1].uuid))
///     .await?;
/// println!("resume {fork} on any host");
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct StoredSessions {
    store: Arc<dyn SessionStore>,
    project_key: String,
}

impl std::fmt::Debug for StoredSessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredSessions")
            .field("project_key", &self.project_key)
            .finish_non_exhaustive()
    }
}

impl StoredSessions {
    /// The sessions run in `directory`: the project key is the name the CLI
    /// gives its project directory (the key the mirror stores them under).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # fn demo(store: Arc<dyn agent_sdk::store::SessionStore>) {
    /// let sessions = agent_sdk::store::StoredSessions::for_directory(store, "/no/such/dir");
    /// assert_eq!(sessions.project_key(), "-no-such-dir");
    /// # }
    /// ```
    pub fn for_directory(store: Arc<dyn SessionStore>, directory: impl AsRef<Path>) -> Self {
        let project_dir = SessionFiles::new("/").project_dir(directory);
        Self::for_project_key(store, project_key_of(&project_dir))
    }

    /// The sessions under a project key of your choice.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # fn demo(store: Arc<dyn agent_sdk::store::SessionStore>) {
    /// let sessions = agent_sdk::store::StoredSessions::for_project_key(store, "tenant-42");
    /// # }
    /// ```
    pub fn for_project_key(store: Arc<dyn SessionStore>, project_key: impl Into<String>) -> Self {
        StoredSessions {
            store,
            project_key: project_key.into(),
        }
    }

    /// The project key.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # fn demo(store: Arc<dyn agent_sdk::store::SessionStore>) {
    /// assert_eq!(agent_sdk::store::StoredSessions::for_project_key(store, "p").project_key(), "p");
    /// # }
    /// ```
    pub fn project_key(&self) -> &str {
        &self.project_key
    }

    fn key(&self, session_id: &str) -> Result<SessionKey> {
        if !is_uuid(session_id) {
            return Err(SessionError::InvalidSessionId(session_id.to_owned()).into());
        }
        Ok(SessionKey::new(self.project_key.clone(), session_id))
    }

    async fn load(&self, session_id: &str) -> Result<LoadedSession> {
        let key = self.key(session_id)?;
        load_session(self.store.as_ref(), &key)
            .await?
            .ok_or_else(|| {
                SessionError::NotFound {
                    session_id: session_id.to_owned(),
                    directory: None,
                }
                .into()
            })
    }

    /// The project's sessions, newest first, as [`SessionFiles::list_sessions`]
    /// describes them (needs the store's `list_sessions`).
    ///
    /// ```no_run
    /// # async fn demo(sessions: &agent_sdk::store::StoredSessions) -> agent_sdk::Result<()> {
    /// for info in sessions.list_sessions(Some(20), 0).await? {
    ///     println!("{} {}", info.session_id, info.summary);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn list_sessions(
        &self,
        limit: Option<usize>,
        offset: usize,
    ) -> Result<Vec<SessionInfo>> {
        let listed = bounded(
            self.store.list_sessions(&self.project_key),
            "SessionStore::list_sessions",
        )
        .await?;
        let scratch = Scratch::new()?;
        for session in listed {
            if !is_uuid(&session.session_id) {
                continue;
            }
            let key = SessionKey::new(self.project_key.clone(), session.session_id);
            if let Some(loaded) = load_session(self.store.as_ref(), &key).await? {
                let path = scratch.write(&loaded)?;
                // The listing's "modified" time is the store's write time.
                let mtime = std::time::UNIX_EPOCH
                    + std::time::Duration::from_millis(session.mtime.max(0) as u64);
                if let Ok(file) = std::fs::File::options().write(true).open(&path) {
                    let _ = file.set_modified(mtime);
                }
            }
        }
        let mut query = ListSessions::all().offset(offset);
        if let Some(limit) = limit {
            query = query.limit(limit);
        }
        Ok(scratch.files.list_sessions(&query)?)
    }

    /// One session's [`SessionInfo`]; `None` when the store has no such session.
    ///
    /// ```no_run
    /// # async fn demo(sessions: &agent_sdk::store::StoredSessions, id: &str) -> agent_sdk::Result<()> {
    /// if let Some(info) = sessions.session_info(id).await? {
    ///     println!("{:?}", info.custom_title);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn session_info(&self, session_id: &str) -> Result<Option<SessionInfo>> {
        let key = self.key(session_id)?;
        let Some(loaded) = load_session(self.store.as_ref(), &key).await? else {
            return Ok(None);
        };
        let scratch = Scratch::new()?;
        scratch.write(&loaded)?;
        Ok(scratch.files.session_info(session_id, None)?)
    }

    /// A session's messages in conversation order, as
    /// [`SessionFiles::session_messages`] reads them.
    ///
    /// ```no_run
    /// # async fn demo(sessions: &agent_sdk::store::StoredSessions, id: &str) -> agent_sdk::Result<()> {
    /// let messages = sessions.session_messages(id, &agent_sdk::sessions::ReadMessages::new()).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn session_messages(
        &self,
        session_id: &str,
        read: &ReadMessages,
    ) -> Result<Vec<SessionMessage>> {
        let scratch = self.scratch_copy(session_id).await?;
        let read = ReadMessages {
            directory: None,
            ..read.clone()
        };
        Ok(scratch.files.session_messages(session_id, &read)?)
    }

    /// The ids of a session's subagents whose transcripts the store holds
    /// (needs the store's `list_subkeys`).
    ///
    /// ```no_run
    /// # async fn demo(sessions: &agent_sdk::store::StoredSessions, id: &str) -> agent_sdk::Result<()> {
    /// for agent_id in sessions.list_subagents(id).await? {
    ///     println!("subagent {agent_id}");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn list_subagents(&self, session_id: &str) -> Result<Vec<String>> {
        let scratch = self.scratch_copy(session_id).await?;
        Ok(scratch.files.list_subagents(session_id, None)?)
    }

    /// A subagent's conversation, as [`SessionFiles::subagent_messages`] reads it.
    ///
    /// ```no_run
    /// # async fn demo(sessions: &agent_sdk::store::StoredSessions, id: &str) -> agent_sdk::Result<()> {
    /// let read = agent_sdk::sessions::ReadMessages::new();
    /// let messages = sessions.subagent_messages(id, "a1b2c3", &read).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn subagent_messages(
        &self,
        session_id: &str,
        agent_id: &str,
        read: &ReadMessages,
    ) -> Result<Vec<SessionMessage>> {
        let scratch = self.scratch_copy(session_id).await?;
        let read = ReadMessages {
            directory: None,
            ..read.clone()
        };
        Ok(scratch
            .files
            .subagent_messages(session_id, agent_id, &read)?)
    }

    /// The session, loaded from the store and written to a scratch directory.
    async fn scratch_copy(&self, session_id: &str) -> Result<Scratch> {
        let loaded = self.load(session_id).await?;
        let scratch = Scratch::new()?;
        scratch.write(&loaded)?;
        Ok(scratch)
    }

    /// Sets a session's title (appends a `custom-title` entry to the store).
    ///
    /// ```no_run
    /// # async fn demo(sessions: &agent_sdk::store::StoredSessions, id: &str) -> agent_sdk::Result<()> {
    /// sessions.rename_session(id, "Release notes").await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn rename_session(&self, session_id: &str, title: &str) -> Result<()> {
        self.edit(session_id, |files| {
            files.rename_session(session_id, title, None)
        })
        .await
    }

    /// Sets or clears (`None`) a session's tag (appends a `tag` entry to the store).
    ///
    /// ```no_run
    /// # async fn demo(sessions: &agent_sdk::store::StoredSessions, id: &str) -> agent_sdk::Result<()> {
    /// sessions.tag_session(id, Some("keep")).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn tag_session(&self, session_id: &str, tag: Option<&str>) -> Result<()> {
        self.edit(session_id, |files| files.tag_session(session_id, tag, None))
            .await
    }

    /// Deletes a session and its sub-keys from the store (needs the store's `delete`).
    ///
    /// ```no_run
    /// # async fn demo(sessions: &agent_sdk::store::StoredSessions, id: &str) -> agent_sdk::Result<()> {
    /// sessions.delete_session(id).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn delete_session(&self, session_id: &str) -> Result<()> {
        let key = self.key(session_id)?;
        Ok(bounded(self.store.delete(&key), "SessionStore::delete").await?)
    }

    /// Forks a session as [`SessionFiles::fork_session`] does and writes the
    /// fork to the store; returns the fork's session id (resume it with a
    /// store on any host).
    ///
    /// ```no_run
    /// # async fn demo(sessions: &agent_sdk::store::StoredSessions, id: &str) -> agent_sdk::Result<()> {
    /// let fork = sessions.fork_session(id, &agent_sdk::sessions::ForkSession::new().title("plan B")).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn fork_session(&self, session_id: &str, fork: &ForkSession) -> Result<String> {
        let loaded = self.load(session_id).await?;
        let scratch = Scratch::new()?;
        scratch.write(&loaded)?;
        let forked = scratch.files.fork_session(session_id, fork)?;
        let entries = read_jsonl(&forked.path).map_err(|source| SessionError::Io {
            path: forked.path.clone(),
            source,
        })?;
        let key = SessionKey::new(self.project_key.clone(), forked.session_id.clone());
        bounded(self.store.append(&key, entries), "SessionStore::append").await?;
        Ok(forked.session_id)
    }

    /// Runs a local edit on the session written to a scratch directory and
    /// appends the lines the edit added to the store.
    async fn edit(
        &self,
        session_id: &str,
        edit: impl FnOnce(&SessionFiles) -> std::result::Result<(), SessionError>,
    ) -> Result<()> {
        let loaded = self.load(session_id).await?;
        let scratch = Scratch::new()?;
        let path = scratch.write(&loaded)?;
        edit(&scratch.files)?;
        let after = read_jsonl(&path).map_err(|source| SessionError::Io {
            path: path.clone(),
            source,
        })?;
        let added: Vec<_> = after.into_iter().skip(loaded.main.len()).collect();
        let key = self.key(session_id)?;
        bounded(self.store.append(&key, added), "SessionStore::append").await?;
        Ok(())
    }
}

/// A scratch config directory with the `sessions` view of it.
struct Scratch {
    files: SessionFiles,
    _dir: ScratchDir,
}

impl Scratch {
    fn new() -> Result<Scratch> {
        let dir =
            ScratchDir::new().map_err(|source| StoreError::backend("scratch directory", source))?;
        Ok(Scratch {
            files: SessionFiles::new(dir.path()),
            _dir: dir,
        })
    }

    fn write(&self, loaded: &LoadedSession) -> Result<std::path::PathBuf> {
        loaded.write(self.files.projects_dir()).map_err(|source| {
            SessionError::Io {
                path: self.files.projects_dir().to_owned(),
                source,
            }
            .into()
        })
    }
}
