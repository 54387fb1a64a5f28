//! [`SessionFiles`]: every operation on the transcripts of one config directory.

use std::path::{Path, PathBuf};

use super::error::SessionError;
use super::info::{self, ListSessions, SessionInfo};
use super::locate::Projects;
use super::messages::{self, ReadMessages, SessionMessage};
use super::mutate::{self, ForkSession, ForkedSession, check_session_id};
use super::paths::{canonical_path, config_dir_from_env, sanitize_path};

/// The CLI's session transcripts under one config directory
/// (`<config dir>/projects/<sanitized cwd>/<session id>.jsonl`).
///
/// Every method does blocking file I/O: in async code, call it from
/// `tokio::task::spawn_blocking` when the directory may be large.
///
/// ```no_run
/// use agent_sdk::sessions::{ListSessions, ReadMessages, SessionFiles};
///
/// # fn demo() -> Result<(), agent_sdk::sessions::SessionError> {
/// let files = SessionFiles::from_env()?; // $CLAUDE_CONFIG_DIR, else ~/.claude
/// for session in files.list_sessions(&ListSessions::in_directory(".").limit(3))? {
///     println!("{}: {}", session.session_id, session.summary);
///     for message in files.session_messages(&session.session_id, &ReadMessages::new())? {
///         println!("  {:?}: {}", message.role, message.content.text());
///     }
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct SessionFiles {
    config_dir: PathBuf,
    projects: Projects,
}

impl SessionFiles {
    /// The transcripts under `config_dir` (what the CLI gets as `CLAUDE_CONFIG_DIR`).
    ///
    /// ```
    /// let files = agent_sdk::sessions::SessionFiles::new("/home/me/.claude");
    /// assert!(files.projects_dir().ends_with("projects"));
    /// ```
    pub fn new(config_dir: impl Into<PathBuf>) -> Self {
        let config_dir = config_dir.into();
        let projects = Projects {
            dir: config_dir.join("projects"),
        };
        SessionFiles {
            config_dir,
            projects,
        }
    }

    /// The transcripts the CLI writes by default: under `$CLAUDE_CONFIG_DIR`,
    /// else `$HOME/.claude`.
    ///
    /// ```no_run
    /// let files = agent_sdk::sessions::SessionFiles::from_env()?;
    /// # Ok::<(), agent_sdk::sessions::SessionError>(())
    /// ```
    pub fn from_env() -> Result<Self, SessionError> {
        config_dir_from_env().map(SessionFiles::new)
    }

    /// The config directory.
    ///
    /// ```
    /// let files = agent_sdk::sessions::SessionFiles::new("/tmp/.claude");
    /// assert_eq!(files.config_dir(), std::path::Path::new("/tmp/.claude"));
    /// ```
    pub fn config_dir(&self) -> &Path {
        &self.config_dir
    }

    /// `<config dir>/projects`, one directory per project.
    ///
    /// ```
    /// let files = agent_sdk::sessions::SessionFiles::new("/tmp/.claude");
    /// assert_eq!(files.projects_dir(), std::path::Path::new("/tmp/.claude/projects"));
    /// ```
    pub fn projects_dir(&self) -> &Path {
        &self.projects.dir
    }

    /// Where the CLI keeps the transcripts of sessions run in `cwd` (the
    /// directory may not exist yet): `projects/` + the sanitized canonical path.
    ///
    /// ```
    /// let files = agent_sdk::sessions::SessionFiles::new("/c");
    /// assert_eq!(
    ///     files.project_dir("/no/such/dir"),
    ///     std::path::Path::new("/c/projects/-no-such-dir"),
    /// );
    /// ```
    pub fn project_dir(&self, cwd: impl AsRef<Path>) -> PathBuf {
        let canonical = canonical_path(cwd.as_ref());
        self.projects
            .dir
            .join(sanitize_path(&canonical.to_string_lossy()))
    }

    /// The transcript file of a session, found in the project directory of
    /// `directory` (and its worktrees), or in any project when `None`.
    ///
    /// ```no_run
    /// # fn demo(files: &agent_sdk::sessions::SessionFiles) -> Result<(), agent_sdk::sessions::SessionError> {
    /// let path = files.transcript_path("550e8400-e29b-41d4-a716-446655440000", None)?;
    /// println!("{}", path.display());
    /// # Ok(())
    /// # }
    /// ```
    pub fn transcript_path(
        &self,
        session_id: &str,
        directory: Option<&Path>,
    ) -> Result<PathBuf, SessionError> {
        check_session_id(session_id)?;
        Ok(self.projects.require_transcript(session_id, directory)?.0)
    }

    /// Sessions, newest first: of one project directory (and its git
    /// worktrees) or of all. Subagent transcripts and sessions with nothing
    /// to show are left out; a missing config directory lists nothing.
    ///
    /// ```no_run
    /// use agent_sdk::sessions::ListSessions;
    /// # fn demo(files: &agent_sdk::sessions::SessionFiles) -> Result<(), agent_sdk::sessions::SessionError> {
    /// let page = files.list_sessions(&ListSessions::in_directory("/my/project").limit(20))?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn list_sessions(&self, query: &ListSessions) -> Result<Vec<SessionInfo>, SessionError> {
        Ok(info::list_sessions(&self.projects, query))
    }

    /// One session's [`SessionInfo`]; `None` when there is no transcript, or
    /// it is a subagent's, or it has nothing to show.
    ///
    /// ```no_run
    /// # fn demo(files: &agent_sdk::sessions::SessionFiles) -> Result<(), agent_sdk::sessions::SessionError> {
    /// if let Some(info) = files.session_info("550e8400-e29b-41d4-a716-446655440000", None)? {
    ///     println!("{} on branch {:?}", info.summary, info.git_branch);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn session_info(
        &self,
        session_id: &str,
        directory: Option<&Path>,
    ) -> Result<Option<SessionInfo>, SessionError> {
        check_session_id(session_id)?;
        info::session_info(&self.projects, session_id, directory)
    }

    /// The conversation of a session, root first: the `parentUuid` chain of
    /// its newest main-thread message (abandoned branches, meta entries and
    /// sidechains left out; a parallel turn's calls and results all kept).
    ///
    /// ```no_run
    /// use agent_sdk::sessions::ReadMessages;
    /// # fn demo(files: &agent_sdk::sessions::SessionFiles) -> Result<(), agent_sdk::sessions::SessionError> {
    /// let last_two = files.session_messages("550e8400-e29b-41d4-a716-446655440000", &ReadMessages::new())?
    ///     .into_iter()
    ///     .rev()
    ///     .take(2);
    /// # let _ = last_two;
    /// # Ok(())
    /// # }
    /// ```
    pub fn session_messages(
        &self,
        session_id: &str,
        read: &ReadMessages,
    ) -> Result<Vec<SessionMessage>, SessionError> {
        check_session_id(session_id)?;
        messages::session_messages(&self.projects, session_id, read)
    }

    /// The ids of a session's subagents (`<session id>/subagents/agent-<id>.jsonl`).
    ///
    /// ```no_run
    /// # fn demo(files: &agent_sdk::sessions::SessionFiles, id: &str) -> Result<(), agent_sdk::sessions::SessionError> {
    /// for agent_id in files.list_subagents(id, None)? {
    ///     println!("subagent {agent_id}");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn list_subagents(
        &self,
        session_id: &str,
        directory: Option<&Path>,
    ) -> Result<Vec<String>, SessionError> {
        check_session_id(session_id)?;
        messages::list_subagents(&self.projects, session_id, directory)
    }

    /// A subagent's conversation; each message names the `Agent` tool call
    /// that started it ([`SessionMessage::parent_tool_use_id`]).
    ///
    /// ```no_run
    /// use agent_sdk::sessions::ReadMessages;
    /// # fn demo(files: &agent_sdk::sessions::SessionFiles, id: &str) -> Result<(), agent_sdk::sessions::SessionError> {
    /// for agent_id in files.list_subagents(id, None)? {
    ///     let messages = files.subagent_messages(id, &agent_id, &ReadMessages::new())?;
    ///     println!("{agent_id}: {} messages", messages.len());
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn subagent_messages(
        &self,
        session_id: &str,
        agent_id: &str,
        read: &ReadMessages,
    ) -> Result<Vec<SessionMessage>, SessionError> {
        check_session_id(session_id)?;
        messages::subagent_messages(&self.projects, session_id, agent_id, read)
    }

    /// Sets a session's title (trimmed; not empty). Appends a `custom-title`
    /// entry as the CLI's `/rename` does, so the newest title wins, also
    /// while the session runs.
    ///
    /// ```no_run
    /// # fn demo(files: &agent_sdk::sessions::SessionFiles, id: &str) -> Result<(), agent_sdk::sessions::SessionError> {
    /// files.rename_session(id, "Refactor the parser", None)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn rename_session(
        &self,
        session_id: &str,
        title: &str,
        directory: Option<&Path>,
    ) -> Result<(), SessionError> {
        mutate::rename_session(&self.projects, session_id, title, directory)
    }

    /// Tags a session, or clears its tag with `None`. The tag is trimmed
    /// and cleaned of invisible characters (zero-width, directional,
    /// format, private use), and must not end up empty. (The Python SDK
    /// also applies NFKC normalization, which needs Unicode tables this
    /// crate does not carry: a tag typed in full-width or compatibility
    /// characters is stored as typed.)
    ///
    /// ```no_run
    /// # fn demo(files: &agent_sdk::sessions::SessionFiles, id: &str) -> Result<(), agent_sdk::sessions::SessionError> {
    /// files.tag_session(id, Some("experiment"), None)?;
    /// files.tag_session(id, None, None)?; // cleared
    /// # Ok(())
    /// # }
    /// ```
    pub fn tag_session(
        &self,
        session_id: &str,
        tag: Option<&str>,
        directory: Option<&Path>,
    ) -> Result<(), SessionError> {
        mutate::tag_session(&self.projects, session_id, tag, directory)
    }

    /// Deletes a session's transcript and its subagents' transcripts, for good.
    ///
    /// ```no_run
    /// # fn demo(files: &agent_sdk::sessions::SessionFiles, id: &str) -> Result<(), agent_sdk::sessions::SessionError> {
    /// files.delete_session(id, None)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn delete_session(
        &self,
        session_id: &str,
        directory: Option<&Path>,
    ) -> Result<(), SessionError> {
        mutate::delete_session(&self.projects, session_id, directory)
    }

    /// Writes a new session with the conversation of `session_id` up to a
    /// message (inclusive; all of it by default), with fresh uuids, beside
    /// the source. Resume it like any session; the source is unchanged.
    ///
    /// ```no_run
    /// use agent_sdk::sessions::{ForkSession, ReadMessages};
    /// # fn demo(files: &agent_sdk::sessions::SessionFiles, id: &str) -> Result<(), agent_sdk::sessions::SessionError> {
    /// let first = &files.session_messages(id, &ReadMessages::new())?[1];
    /// let fork = files.fork_session(id, &ForkSession::new().up_to_message(&first.uuid).title("plan B"))?;
    /// let options = agent_sdk::AgentOptions::builder().resume(&fork.session_id);
    /// # let _ = options;
    /// # Ok(())
    /// # }
    /// ```
    pub fn fork_session(
        &self,
        session_id: &str,
        fork: &ForkSession,
    ) -> Result<ForkedSession, SessionError> {
        mutate::fork_session(&self.projects, session_id, fork)
    }
}
