//! Shared helpers of the end-to-end tests: the real CLI, the scripted fake
//! Messages API and a scratch environment, in one call.
//!
//! These tests never skip: if the pinned CLI cannot be found or installed,
//! they fail with the installer's output.

/// The API client and SSE reader of the `agent-sdk` server tests (one file for both crates).
#[path = "../../agent-sdk/tests/support/http.rs"]
pub mod http;
/// Loopback servers and the webhook receiver of the `agent-sdk` server tests.
#[path = "../../agent-sdk/tests/support/loopback.rs"]
pub mod loopback;
pub mod otlp;
pub mod server;

use std::time::Duration;

use agent_sdk::testing::{Script, TestEnv, ensure_cli};
use agent_sdk::{AgentOptionsBuilder, Message};
use futures_util::{Stream, StreamExt};

/// A test's world: the fake API with its script, a scratch HOME and cwd, and options pointing at them.
pub struct World {
    /// The fake API and scratch directories.
    pub env: TestEnv,
    cli: std::path::PathBuf,
}

impl World {
    /// Starts the fake API with `script` and finds (or installs) the pinned CLI.
    pub async fn start(script: Script) -> World {
        init_tracing();
        let cli = ensure_cli().await.unwrap_or_else(|err| {
            panic!("the real Claude Code CLI is required for e2e tests: {err}")
        });
        let env = TestEnv::start(script)
            .await
            .expect("fake Messages API starts");
        World { env, cli }
    }

    /// Options wired to the fake API and the real CLI; add what the test needs.
    pub fn options(&self) -> AgentOptionsBuilder {
        self.env.configure(
            agent_sdk::AgentOptions::builder()
                .cli_path(&self.cli)
                .control_timeout(Duration::from_secs(30)),
        )
    }
}

/// Collects a stream with a deadline, so a hang fails the test instead of stalling CI.
pub async fn collect<S, T>(stream: S) -> Vec<T>
where
    S: Stream<Item = T>,
{
    tokio::time::timeout(Duration::from_secs(90), stream.collect::<Vec<_>>())
        .await
        .expect("the stream did not end within 90 s")
}

/// The last `result` of a list of messages.
pub fn last_result(messages: &[agent_sdk::Result<Message>]) -> &agent_sdk::message::ResultMessage {
    messages
        .iter()
        .rev()
        .find_map(|m| match m {
            Ok(Message::Result(r)) => Some(r),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no result message in {messages:#?}"))
}

/// All assistant text of a list of messages, joined.
pub fn assistant_text(messages: &[agent_sdk::Result<Message>]) -> String {
    messages
        .iter()
        .filter_map(|m| match m {
            Ok(Message::Assistant(a)) => Some(a.text()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("")
}

/// `RUST_LOG=agent_sdk=debug cargo test` shows the whole conversation.
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}
