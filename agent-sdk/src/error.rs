//! The one error type of the crate.

use std::path::PathBuf;

use crate::message::ResultError;
use crate::structured::StructuredOutputError;

/// Everything that can go wrong talking to the Claude Code CLI.
///
/// Variants are stable names a caller can match on; the `Display` text is
/// written for a person reading a log.
///
/// ```
/// use agent_sdk::Error;
///
/// fn explain(err: &Error) -> &'static str {
///     match err {
///         Error::CliNotFound { .. } => "install the CLI",
///         Error::ControlTimeout { .. } => "the CLI did not answer in time",
///         _ => "something else",
///     }
/// }
/// # let _ = explain;
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No `claude` executable was found.
    #[error(
        "Claude Code CLI not found. Looked in: {}.\nInstall it with `npm install -g @anthropic-ai/claude-code` \
         (or `npm install @anthropic-ai/claude-code` in your project), or set `AgentOptions::cli_path`.",
        searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    CliNotFound {
        /// Every place that was checked, in order.
        searched: Vec<PathBuf>,
    },

    /// The CLI could not be started.
    #[error("failed to start Claude Code at {path}: {source}")]
    Spawn {
        /// The executable that was run.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },

    /// The working directory given in the options does not exist.
    #[error("working directory does not exist: {0}")]
    WorkingDirectoryNotFound(PathBuf),

    /// The OS user of the [`user`](crate::AgentOptionsBuilder::user) option does
    /// not exist on this machine (checked when connecting).
    ///
    /// ```
    /// use agent_sdk::Error;
    /// let err = Error::UnknownUser { name: "ghost".into() };
    /// assert!(err.to_string().contains("ghost"));
    /// ```
    #[error("unknown OS user {name:?} (the `user` option): no such account on this machine")]
    UnknownUser {
        /// The name as given.
        name: String,
    },

    /// An option this platform cannot honour (`user` on Windows).
    #[error("the `{option}` option is not supported on this platform")]
    UnsupportedOnPlatform {
        /// The option, named as its builder method.
        option: &'static str,
    },

    /// The CLI exited (or closed its output) while the SDK still needed it.
    #[error(
        "Claude Code exited{}{}{}",
        exit_code.map(|c| format!(" with code {c}")).unwrap_or_default(),
        signal.map(|s| format!(" (killed by signal {s})")).unwrap_or_default(),
        stderr_suffix(stderr_tail)
    )]
    ProcessExited {
        /// The exit code, when the process exited normally.
        exit_code: Option<i32>,
        /// The signal that ended the process, if any.
        signal: Option<i32>,
        /// The last lines the CLI wrote on stderr.
        stderr_tail: String,
    },

    /// The CLI closed its output in the middle of a turn (a prompt was sent, or
    /// the model was answering, and no `result` came) yet exited without an
    /// error: the turn did not finish, whatever the exit code says.
    #[error(
        "Claude Code closed its output before the turn ended (no `result`); it exited{}{}{}",
        exit_code.map(|c| format!(" with code {c}")).unwrap_or_default(),
        signal.map(|s| format!(" (killed by signal {s})")).unwrap_or_default(),
        stderr_suffix(stderr_tail)
    )]
    TurnIncomplete {
        /// The exit code, when the process exited normally.
        exit_code: Option<i32>,
        /// The signal that ended the process, if any.
        signal: Option<i32>,
        /// The last lines the CLI wrote on stderr.
        stderr_tail: String,
    },

    /// A line on stdout starting with `{` was not valid JSON, or a message did not fit its type.
    ///
    /// The message streams report such a line as [`Message::Malformed`](crate::Message::Malformed)
    /// and go on; this error is for answers the caller asked to decode.
    #[error("could not decode a message from the CLI: {reason} (line starts: {excerpt:?})")]
    JsonDecode {
        /// What serde said.
        reason: String,
        /// The first characters of the offending line.
        excerpt: String,
    },

    /// One line on stdout grew past the configured limit.
    ///
    /// In the message streams such a line is a [`Message::Malformed`](crate::Message::Malformed);
    /// this error fails one of our control requests whose answer was over the limit.
    #[error("a line from the CLI exceeded the maximum buffer size of {limit} bytes")]
    LineTooLong {
        /// The limit in bytes (`AgentOptions::max_buffer_size`).
        limit: usize,
    },

    /// The CLI answered one of our control requests with an error.
    #[error("control request `{subtype}` failed: {message}")]
    ControlRequestFailed {
        /// The request subtype, e.g. `set_model`.
        subtype: String,
        /// The CLI's error text.
        message: String,
    },

    /// The CLI did not answer one of our control requests in time.
    #[error("control request `{subtype}` timed out after {timeout:?}")]
    ControlTimeout {
        /// The request subtype, e.g. `initialize`.
        subtype: String,
        /// How long we waited.
        timeout: std::time::Duration,
    },

    /// A method that needs a running CLI was called before `connect` or after `disconnect`.
    #[error("not connected: call `connect` first (or the session was already disconnected)")]
    NotConnected,

    /// The session ended in an error `result` (for example `error_max_turns`): the
    /// official SDKs' `ResultError` fields and the whole frame.
    ///
    /// ```
    /// # fn retry_later() {}
    /// # fn check(err: agent_sdk::Error) {
    /// if let agent_sdk::Error::Result(failure) = &err {
    ///     if failure.terminal_reason.as_deref() == Some("api_error") {
    ///         retry_later();
    ///     }
    /// }
    /// # }
    /// ```
    #[error("Claude Code returned an {0}")]
    Result(Box<ResultError>),

    /// The options contradict each other or hold a value the CLI refuses.
    ///
    /// ```
    /// use agent_sdk::{AgentOptions, Error};
    /// let err = AgentOptions::builder().max_buffer_size(0).build().unwrap_err();
    /// assert!(matches!(err, Error::InvalidOptions { option: "max_buffer_size", .. }));
    /// ```
    #[error("invalid option `{option}`: {rule}")]
    InvalidOptions {
        /// The option at fault, named as its builder method (`fallback_model`, `env`, ...).
        option: &'static str,
        /// The rule it breaks, with the offending value.
        rule: String,
    },

    /// [`Client::send_control_request`](crate::Client::send_control_request) was given
    /// `fields` that are not a JSON object (a control request's fields are named).
    #[error("control request `{subtype}`: fields must be a JSON object, got {fields}")]
    ControlFieldsNotObject {
        /// The request subtype.
        subtype: String,
        /// The value given.
        fields: serde_json::Value,
    },

    /// Structured output was asked for but could not be produced as the requested type:
    /// the model never complied, the value did not fit, or the session failed.
    #[error("structured output: {0}")]
    StructuredOutput(#[from] StructuredOutputError),

    /// Reading or changing a session's transcript on disk failed.
    #[error("session history: {0}")]
    Session(#[from] crate::sessions::SessionError),

    /// A session store call failed.
    #[error("session store: {0}")]
    Store(#[from] crate::store::StoreError),

    /// Writing to or reading from the CLI failed.
    #[error("I/O error talking to the CLI: {0}")]
    Io(#[from] std::io::Error),
}

fn stderr_suffix(tail: &str) -> String {
    if tail.trim().is_empty() {
        String::new()
    } else {
        format!("; stderr: {}", tail.trim_end())
    }
}

impl Error {
    /// An [`Error::InvalidOptions`] for `option` breaking `rule`.
    pub(crate) fn invalid_options(option: &'static str, rule: impl Into<String>) -> Error {
        Error::InvalidOptions {
            option,
            rule: rule.into(),
        }
    }
}

/// `Result` with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
