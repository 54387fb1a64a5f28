//! The built-in offline model of the `agent-server` binary: without
//! `ANTHROPIC_API_KEY` the sessions' CLIs talk to the SDK's scripted fake
//! Messages API on loopback, answered by a small deterministic model, so the
//! server works on a machine with no key and no network.
//!
//! The model echoes each message (`You said: ... (message N)`, N counting
//! the user's messages it was shown); a message containing
//! `bash: <command>` makes it call the `Bash` tool with that command (a
//! permission request in `default` mode), and after a tool result it reports
//! what the tool printed.

use std::collections::BTreeMap;
use std::io;
use std::time::Duration;

use serde_json::{Value, json};

use crate::testing::{RecordedRequest, Script, TestEnv, Turn};

/// Turns queued ahead; a refill keeps the script from running dry.
const QUEUED: usize = 256;
const REFILL_EVERY: Duration = Duration::from_millis(250);

/// The prompt a user wrote: the last text block of the last user message
/// that is not a reminder the CLI added.
fn user_prompt(request: &RecordedRequest) -> String {
    let Some(message) = request
        .messages()
        .iter()
        .rev()
        .find(|m| m["role"] == "user")
    else {
        return String::new();
    };
    match &message["content"] {
        Value::String(text) => text.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|b| b["text"].as_str())
            .rfind(|t| !t.trim_start().starts_with("<system-reminder>"))
            .unwrap_or_default()
            .to_owned(),
        _ => String::new(),
    }
}

fn is_tool_result(message: &Value) -> bool {
    message["content"]
        .as_array()
        .is_some_and(|blocks| blocks.iter().any(|b| b["type"] == "tool_result"))
}

/// The model's answer to one request.
///
/// ```
/// // Used by the binary; a test can script its own model instead.
/// let _answer: fn(&agent_sdk::testing::RecordedRequest) -> agent_sdk::testing::Turn =
///     agent_sdk::server::offline::answer;
/// ```
pub fn answer(request: &RecordedRequest) -> Turn {
    if let Some(result) = request.tool_results().last() {
        return Turn::text(format!("The tool printed: {}", result.text.trim()));
    }
    let prompt = user_prompt(request);
    if let Some((_, command)) = prompt.split_once("bash:") {
        let command = command.trim();
        if !command.is_empty() {
            return Turn::tool_use(
                "Bash",
                json!({"command": command, "description": "Run the command the user asked for"}),
            );
        }
    }
    // The count shows the conversation's history reached the model (after a resume too).
    let asked = request
        .messages()
        .iter()
        .filter(|m| m["role"] == "user" && !is_tool_result(m))
        .count();
    Turn::text(format!("You said: {} (message {asked})", prompt.trim()))
}

/// A running offline model; the CLIs reach it through [`env`](Self::env).
/// It stops when dropped.
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// let model = agent_sdk::server::offline::OfflineModel::start().await?;
/// let config = agent_sdk::server::ServerConfig::default()
///     .cli_env(model.env())
///     .default_cwd(model.cwd());
/// # let _ = config;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct OfflineModel {
    env: std::sync::Arc<TestEnv>,
    refill: tokio::task::JoinHandle<()>,
}

impl OfflineModel {
    /// Starts the fake Messages API on loopback with the model's script.
    pub async fn start() -> io::Result<OfflineModel> {
        let script: Script = std::iter::repeat_n(Turn::from_fn(answer), QUEUED).collect();
        let env = std::sync::Arc::new(TestEnv::start(script).await?);
        let filled = env.clone();
        let refill = tokio::spawn(async move {
            loop {
                tokio::time::sleep(REFILL_EVERY).await;
                let api = filled.api();
                for _ in api.turns_left()..QUEUED {
                    api.push(Turn::from_fn(answer));
                }
            }
        });
        Ok(OfflineModel { env, refill })
    }

    /// The environment a session's CLI needs to use the model.
    pub fn env(&self) -> BTreeMap<String, String> {
        self.env.cli_env()
    }

    /// A scratch working directory for sessions that set none.
    pub fn cwd(&self) -> std::path::PathBuf {
        self.env.cwd().to_path_buf()
    }
}

impl Drop for OfflineModel {
    fn drop(&mut self) {
        self.refill.abort();
    }
}
