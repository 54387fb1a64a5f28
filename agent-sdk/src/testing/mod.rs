//! Testing your agent offline: a scripted fake Anthropic Messages API.
//!
//! The real `claude` CLI runs your agent, but instead of Anthropic it talks
//! to a [`FakeApi`] served by your test on `127.0.0.1`. The fake model
//! answers from a [`Script`] of [`Turn`]s: text, tool calls (the CLI really
//! runs them, your in-process tools included), structured output, HTTP
//! errors, slow answers. Every request the CLI makes is recorded, so a test
//! can assert what the model was shown: the tools, the prompt, the
//! `tool_result` of each call.
//!
//! Nothing leaves the machine: the CLI gets `ANTHROPIC_BASE_URL` pointing at
//! the fake, a dummy API key, non-essential traffic and the auto-updater
//! disabled, and a scratch `HOME` and working directory ([`TestEnv`]).
//!
//! Enable the `testing` feature in your dev-dependencies:
//!
//! ```toml
//! [dev-dependencies]
//! agent-sdk = { version = "0.1", features = ["testing"] }
//! ```
//!
//! # A test
//!
//! ```no_run
//! use agent_sdk::AgentOptions;
//! use agent_sdk::testing::{Script, TestEnv, Turn, ensure_cli};
//! use serde_json::json;
//!
//! # async fn run_my_agent(_prompt: &str, _options: AgentOptions) -> Result<String, Box<dyn std::error::Error>> { Ok(String::new()) }
//! # async fn the_test() -> Result<(), Box<dyn std::error::Error>> {
//! // The model runs `echo hi`, then reports what the tool printed.
//! let script = Script::new()
//!     .then(Turn::tool_use("Bash", json!({"command": "echo hi"})))
//!     .then(Turn::from_fn(|request| {
//!         let output = request.tool_results().last().map(|r| r.text.clone());
//!         Turn::text(format!("the command printed {}", output.unwrap_or_default()))
//!     }));
//! let env = TestEnv::start(script).await?;
//!
//! let options = env
//!     .configure(AgentOptions::builder().max_turns(3))
//!     .cli_path(ensure_cli().await?) // installs the pinned CLI with npm when missing
//!     .build()?;
//!
//! // Your agent: `agent_sdk::query(...)` or a `Client`, with these options.
//! let answer = run_my_agent("say hi with Bash", options).await?;
//! assert_eq!(answer, "the command printed hi");
//!
//! // What the model was shown on its second turn:
//! let second = &env.api().main_loop_requests()[1];
//! assert_eq!(second.tool_results()[0].text.trim(), "hi");
//! # Ok(())
//! # }
//! ```
//!
//! # How requests are answered
//!
//! * `POST /v1/messages` of the agent loop (a `tools` key and `max_tokens`
//!   above 1) takes the next turn; streamed as server-sent events when the
//!   body says `"stream": true` (the CLI always does), plain JSON otherwise.
//! * Other `POST /v1/messages` (the CLI's side calls: model probes with
//!   `max_tokens: 1`, titles, quota checks) get [`SIDE_REQUEST_TEXT`] and leave
//!   the script alone.
//! * Once the script is exhausted, main-loop requests get
//!   [`SCRIPT_EXHAUSTED_TEXT`], so a test fails on its assertions instead of
//!   hanging.
//! * `POST /v1/messages/count_tokens` gets a rough count; any other route a
//!   404 error body.
//! * Tool-use ids are `toolu_0001`, `toolu_0002`, ... in the order they are sent.
//!
//! The CLI retries failed requests, and each retry takes the next turn (see
//! [`Turn::http_error`]).

mod cli;
mod env;
pub mod fuzz;
mod record;
mod script;
mod server;
mod store_conformance;
mod wire;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use cli::{
    CLI_NPM_PACKAGE, CLI_PATH_ENV, PINNED_CLI_VERSION, ensure_cli, ensure_cli_blocking_in,
    ensure_cli_in, workspace_root,
};
pub use env::{DUMMY_API_KEY, TestEnv};
pub use record::{Answer, RecordedRequest, RecordedToolResult, RequestKind};
pub use script::{Block, STRUCTURED_OUTPUT_TOOL, Script, Turn, TurnFn};
pub use server::{FakeApi, SCRIPT_EXHAUSTED_TEXT, SIDE_REQUEST_TEXT};
pub use store_conformance::{OptionalMethod, session_store_conformance, test_postgres_url};

/// What can go wrong in the test helpers.
///
/// Cloneable, because one [`ensure_cli`] outcome is shared by every test of a process.
///
/// ```
/// use agent_sdk::testing::TestingError;
/// fn hint(error: &TestingError) -> &'static str {
///     match error {
///         TestingError::CliInstall { .. } => "is npm installed and the registry reachable?",
///         TestingError::Timeout { .. } => "the CLI never asked the model",
///         _ => "see the message",
///     }
/// }
/// # let _ = hint;
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum TestingError {
    /// Fewer requests than expected arrived in time.
    #[error("waited {waited:?} for {expected} {what} but saw {seen}")]
    Timeout {
        /// What was counted, e.g. `main-loop requests`.
        what: &'static str,
        /// How many were expected.
        expected: usize,
        /// How many arrived.
        seen: usize,
        /// How long the wait was.
        waited: Duration,
    },

    /// `npm install` of the pinned CLI failed.
    #[error(
        "could not install {CLI_NPM_PACKAGE}@{PINNED_CLI_VERSION} into {}; npm said:\n{output_tail}",
        dir.display()
    )]
    CliInstall {
        /// The `--prefix` directory.
        dir: PathBuf,
        /// The end of npm's output.
        output_tail: String,
    },

    /// A CLI was found but it is not the pinned version (or does not run).
    #[error(
        "{} is not Claude Code {PINNED_CLI_VERSION}: `--version` gave {found:?} (unset ${CLI_PATH_ENV} or point it at {PINNED_CLI_VERSION})",
        path.display()
    )]
    CliVersion {
        /// The executable checked.
        path: PathBuf,
        /// The first line of its `--version` output, or why it could not run.
        found: String,
    },

    /// No `Cargo.toml` with `[workspace]` above the start directory.
    #[error("no Cargo workspace found above {}; use ensure_cli_in(dir)", start.display())]
    NoWorkspaceRoot {
        /// Where the search started.
        start: PathBuf,
    },

    /// An I/O error.
    #[error(transparent)]
    Io(Arc<std::io::Error>),
}

impl From<std::io::Error> for TestingError {
    fn from(error: std::io::Error) -> Self {
        TestingError::Io(Arc::new(error))
    }
}
