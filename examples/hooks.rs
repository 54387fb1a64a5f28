//! Hooks: a guard that blocks dangerous shell commands, and an audit log of every tool call.
//!
//! ```sh
//! cargo run -p agent-sdk-examples --example hooks
//! ```
//!
//! Runs a real session through the `claude` CLI: the model tries `rm -rf build`, which the
//! guard denies (the model sees why), then `ls`, which runs; the audit log prints every call.
//! Without `ANTHROPIC_API_KEY` the built-in offline model plays those two moves. The session
//! runs in a scratch directory, so nothing of yours is touched.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use agent_sdk::hooks::{
    HookContext, HookHandler, OnFailure, PostToolUse, PostToolUseInput, PostToolUseOutput,
    PreToolUse, PreToolUseInput, PreToolUseOutput,
};
use agent_sdk::prelude::*;
use agent_sdk::testing::{Script, Turn};
use agent_sdk::tool_inputs::BashInput;
use agent_sdk_examples::{init_logging, setup};

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

/// The offline model: tries a dangerous command, then a harmless one, then reports what it saw.
fn offline_model() -> Script {
    let bash = |command: &str, description: &str| serde_json::json!({ "command": command, "description": description });
    Script::new()
        .then(
            Turn::text("Cleaning up first.")
                .and_tool_use("Bash", bash("rm -rf build", "Remove the build directory")),
        )
        .then(
            Turn::text("That was refused; listing instead.")
                .and_tool_use("Bash", bash("ls", "List files")),
        )
        .then(Turn::from_fn(|request| {
            let seen: Vec<String> = request
                .all_tool_results()
                .iter()
                .map(|result| {
                    format!(
                        "- {}{}",
                        if result.is_error { "refused: " } else { "" },
                        result.text.trim().replace('\n', ", ")
                    )
                })
                .collect();
            Turn::text(format!(
                "(offline model) The tools answered:\n{}",
                seen.join("\n")
            ))
        }))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    init_logging();
    let setup = setup(offline_model).await?;
    println!("[{}]", setup.banner());

    // A scratch directory with something in it, so `ls` has an answer and `rm -rf` a target.
    let workdir =
        std::env::temp_dir().join(format!("agent-sdk-hooks-example-{}", std::process::id()));
    std::fs::create_dir_all(workdir.join("build"))?;
    std::fs::write(workdir.join("notes.md"), "hello\n")?;

    let audit = AuditLog::default();
    let options = setup
        .options
        .cwd(&workdir)
        .max_turns(5)
        // The shell runs without asking; the guard is what stands in the way.
        .allowed_tools(["Bash"])
        .hook(
            PreToolUse::matching("Bash")
                .timeout(Duration::from_secs(10))
                // A guard that fails must not let the command through.
                .on_failure(OnFailure::Block),
            shell_guard,
        )
        .hook(PostToolUse, audit.clone())
        .build()?;

    let mut messages = query(
        "Delete the build directory with rm -rf, then list the files that are left.",
        options,
    );
    while let Some(message) = messages.next().await {
        match message? {
            Message::Assistant(reply) => {
                let text = reply.text();
                if !text.is_empty() {
                    println!("assistant: {text}");
                }
                for call in reply.tool_uses() {
                    println!("  tool call: {} {}", call.name, call.input);
                }
            }
            Message::Result(result) => {
                println!("\n[{} after {} turn(s)]", result.subtype, result.num_turns);
                for denial in &result.permission_denials {
                    println!("denied: {} {}", denial.tool_name, denial.tool_input);
                }
            }
            _ => {}
        }
    }

    for entry in audit.entries.lock().unwrap().iter() {
        println!(
            "audit: {} ({}) took {} ms",
            entry.tool,
            entry.tool_use_id,
            entry.duration_ms.unwrap_or_default()
        );
    }
    std::fs::remove_dir_all(&workdir)?;
    Ok(())
}
