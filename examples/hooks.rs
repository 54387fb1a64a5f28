//! Hooks: a guard that blocks dangerous shell commands, and an audit log of every tool call.
//!
//! `cargo run -p agent-sdk-examples --example hooks` builds the options and feeds the
//! handlers a few sample calls, printing what the CLI would receive.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use agent_sdk::hooks::{
    HookContext, HookHandler, OnFailure, PostToolUse, PostToolUseInput, PostToolUseOutput,
    PreToolUse, PreToolUseInput, PreToolUseOutput,
};
use agent_sdk::prelude::*;
use agent_sdk::tool_inputs::BashInput;

/// Shell fragments the guard refuses.
const DANGEROUS: &[&str] = &[
    "rm -rf", "mkfs", "dd if=", ":(){", "| sh", "| bash", "--force",
];

/// PreToolUse on `Bash`: deny dangerous commands, with a reason the model sees.
async fn shell_guard(
    input: PreToolUseInput,
    _ctx: HookContext,
) -> Result<PreToolUseOutput, HandlerError> {
    let Some(bash) = input.tool_input_as::<BashInput>() else {
        return Ok(PreToolUseOutput::none());
    };
    if let Some(pattern) = DANGEROUS.iter().find(|p| bash.command.contains(*p)) {
        return Ok(PreToolUseOutput::deny(format!(
            "blocked by policy: `{pattern}` is not allowed in shell commands"
        )));
    }
    Ok(PreToolUseOutput::none())
}

/// One line of the audit log.
#[derive(Clone)]
struct AuditEntry {
    tool: String,
    tool_use_id: String,
    duration_ms: Option<u64>,
}

/// PostToolUse on every tool: remembers each call. Cloning shares the log.
#[derive(Clone, Default)]
struct AuditLog {
    entries: Arc<Mutex<Vec<AuditEntry>>>,
}

impl HookHandler<PostToolUse> for AuditLog {
    async fn handle(
        &self,
        input: PostToolUseInput,
        _ctx: HookContext,
    ) -> Result<PostToolUseOutput, HandlerError> {
        let entry = AuditEntry {
            tool: input.tool_name,
            tool_use_id: input.tool_use_id,
            duration_ms: input.duration_ms,
        };
        self.entries
            .lock()
            .map_err(|_| HandlerError::new("audit log poisoned"))?
            .push(entry);
        Ok(PostToolUseOutput::none())
    }
}

fn sample(event: &str, tool: &str, tool_input: serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "session_id": "example", "transcript_path": "/tmp/example.jsonl", "cwd": "/tmp",
        "hook_event_name": event, "tool_name": tool, "tool_input": tool_input,
        "tool_use_id": "toolu_example", "tool_response": "ok", "duration_ms": 12
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let audit = AuditLog::default();
    let options = AgentOptions::builder()
        .hook(
            PreToolUse::matching("Bash")
                .timeout(Duration::from_secs(10))
                // A guard that fails must not let the command through.
                .on_failure(OnFailure::Block),
            shell_guard,
        )
        .hook(PostToolUse, audit.clone())
        .build()?;
    println!("options: {options:?}");

    // What the guard answers for two commands.
    for command in ["ls -la", "rm -rf /"] {
        let input: PreToolUseInput = serde_json::from_value(sample(
            "PreToolUse",
            "Bash",
            serde_json::json!({ "command": command }),
        ))?;
        let output = shell_guard(input, example_context()).await?;
        println!("{command:>10} -> {}", serde_json::to_string(&output)?);
    }

    // The audit log after one call.
    let input: PostToolUseInput = serde_json::from_value(sample(
        "PostToolUse",
        "Read",
        serde_json::json!({ "file_path": "/tmp/a" }),
    ))?;
    audit.handle(input, example_context()).await?;
    for entry in audit.entries.lock().unwrap().iter() {
        println!(
            "audit: {} ({}) took {} ms",
            entry.tool,
            entry.tool_use_id,
            entry.duration_ms.unwrap_or_default()
        );
    }
    Ok(())
}

/// The context the SDK passes; built by hand here because no CLI is running.
fn example_context() -> HookContext {
    HookContext::new("hook_0", Some("toolu_example".into()))
}
