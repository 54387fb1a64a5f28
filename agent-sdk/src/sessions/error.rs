//! [`SessionError`]: what can go wrong reading or changing history on disk.

use std::path::PathBuf;

/// What can go wrong reading or changing the CLI's transcripts.
///
/// ```
/// use agent_sdk::sessions::{SessionError, SessionFiles};
///
/// let files = SessionFiles::new("/nonexistent/.claude");
/// match files.rename_session("not-a-uuid", "title", None) {
///     Err(SessionError::InvalidSessionId(id)) => assert_eq!(id, "not-a-uuid"),
///     other => panic!("{other:?}"),
/// }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// A session id that is not a UUID (every CLI session id is one).
    #[error("invalid session id {0:?}: session ids are UUIDs")]
    InvalidSessionId(String),

    /// A message id that is not a UUID (transcript entries are keyed by UUIDs).
    #[error("invalid message id {0:?}: message ids are UUIDs")]
    InvalidMessageId(String),

    /// No transcript of this session (a missing or empty file).
    #[error("session {session_id} not found{}", in_directory(.directory))]
    NotFound {
        /// The session looked for.
        session_id: String,
        /// The project directory searched, when one was given.
        directory: Option<PathBuf>,
    },

    /// The session has no subagent with this id.
    #[error("session {session_id} has no subagent {agent_id:?}")]
    SubagentNotFound {
        /// The session searched.
        session_id: String,
        /// The subagent looked for.
        agent_id: String,
    },

    /// The message to fork at is not in the session's transcript.
    #[error("message {message_id} not found in session {session_id}")]
    MessageNotFound {
        /// The session searched.
        session_id: String,
        /// The message looked for.
        message_id: String,
    },

    /// The session has no conversation entries to fork.
    #[error("session {0} has no messages to fork")]
    NothingToFork(String),

    /// A title that is empty once trimmed.
    #[error("a session title must not be empty")]
    EmptyTitle,

    /// A tag that is empty once trimmed and cleaned of invisible characters
    /// (pass `None` to clear a tag).
    #[error("a session tag must not be empty (pass None to clear the tag)")]
    EmptyTag,

    /// Neither `CLAUDE_CONFIG_DIR` nor a home directory is set.
    #[error("no config directory: set CLAUDE_CONFIG_DIR or HOME")]
    NoConfigDir,

    /// Reading or writing a transcript failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

fn in_directory(directory: &Option<PathBuf>) -> String {
    directory
        .as_ref()
        .map(|d| format!(" in the project directory for {}", d.display()))
        .unwrap_or_default()
}

impl SessionError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        SessionError::Io {
            path: path.into(),
            source,
        }
    }
}
