//! History on disk: list, read, rename, tag, delete and fork the sessions
//! the `claude` CLI keeps as JSONL transcripts.
//!
//! The CLI writes each session to
//! `<config dir>/projects/<sanitized cwd>/<session id>.jsonl`, where the
//! config directory is `$CLAUDE_CONFIG_DIR` or `~/.claude`, and the project
//! directory name is the session's canonical working directory with every
//! character but ASCII letters and digits turned into `-` ([`sanitize_path`];
//! names over 200 characters are cut and get a hash suffix). A subagent's
//! transcript is `<session id>/subagents/agent-<agent id>.jsonl` beside it.
//!
//! [`SessionFiles`] works on one config directory; the free functions here
//! use the default one ([`SessionFiles::from_env`]). Behaviour matches the
//! official Python SDK's session functions on the same files, except that
//! bad input (an id that is not a UUID, an unknown session) is a typed
//! [`SessionError`] rather than an empty result.
//!
//! ```no_run
//! use agent_sdk::sessions::{self, ForkSession, ListSessions, ReadMessages};
//!
//! fn main() -> Result<(), sessions::SessionError> {
//!     // The newest session run in this directory, and its conversation.
//!     let newest = &sessions::list_sessions(&ListSessions::in_directory(".").limit(1))?[0];
//!     println!("{}: {}", newest.session_id, newest.summary);
//!     let messages = sessions::session_messages(&newest.session_id, &ReadMessages::new())?;
//!     for message in &messages {
//!         println!("{:?}: {}", message.role, message.content.text());
//!     }
//!     // Branch off after the first answer; resume the fork with `AgentOptions::resume`.
//!     let fork = sessions::fork_session(
//!         &newest.session_id,
//!         &ForkSession::new().up_to_message(&messages[1].uuid).title("second try"),
//!     )?;
//!     sessions::tag_session(&fork.session_id, Some("experiment"), None)?;
//!     Ok(())
//! }
//! ```

mod chain;
mod error;
mod files;
mod ids;
mod info;
mod locate;
mod messages;
mod mutate;
mod paths;
pub(crate) mod scan;

#[cfg(test)]
mod parity_tests;
#[cfg(test)]
mod tests;

use std::path::Path;

pub use error::SessionError;
pub use files::SessionFiles;
pub use info::{ListSessions, SessionInfo};
pub use messages::{ReadMessages, SessionMessage, SessionRole};
pub use mutate::{ForkSession, ForkedSession};
pub(crate) use paths::is_uuid;
pub use paths::sanitize_path;

/// [`SessionFiles::list_sessions`] in the default config directory.
///
/// ```no_run
/// let recent = agent_sdk::sessions::list_sessions(&agent_sdk::sessions::ListSessions::all().limit(10))?;
/// # Ok::<(), agent_sdk::sessions::SessionError>(())
/// ```
pub fn list_sessions(query: &ListSessions) -> Result<Vec<SessionInfo>, SessionError> {
    SessionFiles::from_env()?.list_sessions(query)
}

/// [`SessionFiles::session_info`] in the default config directory.
///
/// ```no_run
/// let info = agent_sdk::sessions::session_info("550e8400-e29b-41d4-a716-446655440000", None)?;
/// # Ok::<(), agent_sdk::sessions::SessionError>(())
/// ```
pub fn session_info(
    session_id: &str,
    directory: Option<&Path>,
) -> Result<Option<SessionInfo>, SessionError> {
    SessionFiles::from_env()?.session_info(session_id, directory)
}

/// [`SessionFiles::session_messages`] in the default config directory.
///
/// ```no_run
/// use agent_sdk::sessions::{ReadMessages, session_messages};
/// let messages = session_messages("550e8400-e29b-41d4-a716-446655440000", &ReadMessages::new())?;
/// # Ok::<(), agent_sdk::sessions::SessionError>(())
/// ```
pub fn session_messages(
    session_id: &str,
    read: &ReadMessages,
) -> Result<Vec<SessionMessage>, SessionError> {
    SessionFiles::from_env()?.session_messages(session_id, read)
}

/// [`SessionFiles::list_subagents`] in the default config directory.
///
/// ```no_run
/// let agents = agent_sdk::sessions::list_subagents("550e8400-e29b-41d4-a716-446655440000", None)?;
/// # Ok::<(), agent_sdk::sessions::SessionError>(())
/// ```
pub fn list_subagents(
    session_id: &str,
    directory: Option<&Path>,
) -> Result<Vec<String>, SessionError> {
    SessionFiles::from_env()?.list_subagents(session_id, directory)
}

/// [`SessionFiles::subagent_messages`] in the default config directory.
///
/// ```no_run
/// use agent_sdk::sessions::{ReadMessages, subagent_messages};
/// let messages = subagent_messages("550e8400-e29b-41d4-a716-446655440000", "a1b2c3", &ReadMessages::new())?;
/// # Ok::<(), agent_sdk::sessions::SessionError>(())
/// ```
pub fn subagent_messages(
    session_id: &str,
    agent_id: &str,
    read: &ReadMessages,
) -> Result<Vec<SessionMessage>, SessionError> {
    SessionFiles::from_env()?.subagent_messages(session_id, agent_id, read)
}

/// [`SessionFiles::rename_session`] in the default config directory.
///
/// ```no_run
/// agent_sdk::sessions::rename_session("550e8400-e29b-41d4-a716-446655440000", "New title", None)?;
/// # Ok::<(), agent_sdk::sessions::SessionError>(())
/// ```
pub fn rename_session(
    session_id: &str,
    title: &str,
    directory: Option<&Path>,
) -> Result<(), SessionError> {
    SessionFiles::from_env()?.rename_session(session_id, title, directory)
}

/// [`SessionFiles::tag_session`] in the default config directory.
///
/// ```no_run
/// agent_sdk::sessions::tag_session("550e8400-e29b-41d4-a716-446655440000", Some("keep"), None)?;
/// # Ok::<(), agent_sdk::sessions::SessionError>(())
/// ```
pub fn tag_session(
    session_id: &str,
    tag: Option<&str>,
    directory: Option<&Path>,
) -> Result<(), SessionError> {
    SessionFiles::from_env()?.tag_session(session_id, tag, directory)
}

/// [`SessionFiles::delete_session`] in the default config directory.
///
/// ```no_run
/// agent_sdk::sessions::delete_session("550e8400-e29b-41d4-a716-446655440000", None)?;
/// # Ok::<(), agent_sdk::sessions::SessionError>(())
/// ```
pub fn delete_session(session_id: &str, directory: Option<&Path>) -> Result<(), SessionError> {
    SessionFiles::from_env()?.delete_session(session_id, directory)
}

/// [`SessionFiles::fork_session`] in the default config directory.
///
/// ```no_run
/// use agent_sdk::sessions::{ForkSession, fork_session};
/// let fork = fork_session("550e8400-e29b-41d4-a716-446655440000", &ForkSession::new())?;
/// # Ok::<(), agent_sdk::sessions::SessionError>(())
/// ```
pub fn fork_session(session_id: &str, fork: &ForkSession) -> Result<ForkedSession, SessionError> {
    SessionFiles::from_env()?.fork_session(session_id, fork)
}
