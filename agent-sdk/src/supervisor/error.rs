//! What the supervisor refuses, and why.

/// An error of the [`Supervisor`](super::Supervisor) or of one of its sessions' turns.
///
/// ```
/// use agent_sdk::supervisor::SupervisorError;
/// fn status(error: &SupervisorError) -> u16 {
///     match error {
///         SupervisorError::AtCapacity { .. } | SupervisorError::QueueFull { .. } => 503,
///         SupervisorError::NoSuchSession => 404,
///         _ => 500,
///     }
/// }
/// assert_eq!(status(&SupervisorError::AtCapacity { max_sessions: 1 }), 503);
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SupervisorError {
    /// `max_sessions` CLI processes are live and none could be evicted.
    #[error("at capacity: {max_sessions} sessions have a live CLI")]
    AtCapacity {
        /// The configured cap.
        max_sessions: usize,
    },
    /// The session's queue of waiting turns is full.
    #[error("the session already has {bound} turns waiting")]
    QueueFull {
        /// The configured bound.
        bound: usize,
    },
    /// No session with this key (never started, or terminated).
    #[error("no such session")]
    NoSuchSession,
    /// A session with this key exists already.
    #[error("a session with this key exists already")]
    AlreadyExists,
    /// The supervisor is shutting down: no new sessions or turns.
    #[error("the supervisor is shutting down")]
    ShuttingDown,
    /// The session restarted too often and was given up; the last exit's error.
    #[error("the session failed: {last_error}")]
    Failed {
        /// Why the last start or run of its CLI ended.
        last_error: String,
    },
    /// The CLI reported an error (or died) during the turn.
    #[error(transparent)]
    Cli(#[from] crate::error::Error),
}
