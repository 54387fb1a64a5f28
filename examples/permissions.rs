//! Permissions: a policy confining file tools to one directory, the tenant isolation of a
//! multi-user service (each tenant's agent may only touch its own tree).
//!
//! ```sh
//! cargo run -p agent-sdk-examples --example permissions
//! ```
//!
//! Runs a real session through the `claude` CLI with the tenant `acme` confined to its
//! directory: reading another tenant's file and using the shell are refused, writing a
//! report inside its own tree is allowed. Without `ANTHROPIC_API_KEY` the built-in offline
//! model makes those calls. Everything happens in a scratch directory.
//!
//! The CLI only asks the policy when its own rules would ask: reads inside the working
//! directory are allowed without asking, writes and anything outside it are asked.

use std::path::{Component, Path, PathBuf};

use agent_sdk::prelude::*;
use agent_sdk::testing::{Script, Turn};
use agent_sdk::tool_inputs::{EditInput, GlobInput, GrepInput, ReadInput, WriteInput};
use agent_sdk_examples::{init_logging, setup};

/// Confines file tools to `root`; refuses the shell; lets other tools through.
#[derive(Clone)]
struct TenantPolicy {
    root: PathBuf,
}

impl TenantPolicy {
    /// True when `path` (absolute, or relative to the root) stays inside the root after
    /// resolving `.` and `..` (lexically: the CLI has not created the file yet).
    fn inside(&self, path: &str) -> bool {
        let joined = self.root.join(path);
        let mut resolved = PathBuf::new();
        for part in joined.components() {
            match part {
                Component::ParentDir => {
                    resolved.pop();
                }
                Component::CurDir => {}
                other => resolved.push(other),
            }
        }
        resolved.starts_with(&self.root)
    }

    /// The file path a call touches, for the file tools.
    fn target(request: &ToolPermissionRequest) -> Option<Option<String>> {
        if let Some(read) = request.tool_input_as::<ReadInput>() {
            return Some(Some(read.file_path));
        }
        if let Some(write) = request.tool_input_as::<WriteInput>() {
            return Some(Some(write.file_path));
        }
        if let Some(edit) = request.tool_input_as::<EditInput>() {
            return Some(Some(edit.file_path));
        }
        if let Some(glob) = request.tool_input_as::<GlobInput>() {
            return Some(glob.path);
        }
        if let Some(grep) = request.tool_input_as::<GrepInput>() {
            return Some(grep.path);
        }
        None
    }
}

impl PermissionHandler for TenantPolicy {
    async fn decide(
        &self,
        request: ToolPermissionRequest,
    ) -> Result<PermissionResult, HandlerError> {
        if request.tool_name == "Bash" {
            return Ok(PermissionResult::deny(
                "the shell is disabled for tenants; use the file tools",
            ));
        }
        match Self::target(&request) {
            // A search without a path would run in the CLI's cwd: pin it to the tenant root.
            Some(None) => {
                let mut input = request.input.clone();
                input["path"] = self.root.display().to_string().into();
                Ok(PermissionResult::allow().with_updated_input(input))
            }
            Some(Some(path)) if self.inside(&path) => Ok(PermissionResult::allow()),
            Some(Some(path)) => Ok(PermissionResult::deny(format!(
                "{path} is outside your workspace {}",
                self.root.display()
            ))),
            None => Ok(PermissionResult::allow()),
        }
    }
}

/// Prints each question of the CLI and the policy's answer.
struct Logged<P>(P);

impl<P: PermissionHandler> PermissionHandler for Logged<P> {
    async fn decide(
        &self,
        request: ToolPermissionRequest,
    ) -> Result<PermissionResult, HandlerError> {
        let asked = format!("{} {}", request.tool_name, request.input);
        let answer = self.0.decide(request).await?;
        println!("  policy: {asked}\n       -> {answer:?}");
        Ok(answer)
    }
}

/// The offline model: one call of each kind, then a summary of what the tools answered.
fn offline_model(root: &Path) -> Script {
    let inside = |name: &str| root.join(name).display().to_string();
    let other_tenant = root.join("../globex/secrets.txt").display().to_string();
    Script::new()
        .then(Turn::tool_use("Read", serde_json::json!({ "file_path": inside("notes.md") })))
        .then(Turn::tool_use("Read", serde_json::json!({ "file_path": other_tenant })))
        .then(Turn::tool_use(
            "Write",
            serde_json::json!({ "file_path": inside("report.md"), "content": "all good\n" }),
        ))
        .then(Turn::tool_use(
            "Bash",
            serde_json::json!({ "command": "cat /etc/passwd", "description": "Read the user list" }),
        ))
        .then(Turn::from_fn(|request| {
            let seen: Vec<String> = request
                .all_tool_results()
                .iter()
                .map(|r| {
                    let status = if r.is_error { "refused" } else { "ok" };
                    format!("- {status}: {}", r.text.lines().next().unwrap_or_default())
                })
                .collect();
            Turn::text(format!("(offline model) The tools answered:\n{}", seen.join("\n")))
        }))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    init_logging();
    // Two tenants side by side; the agent works for acme.
    let base = std::env::temp_dir().join(format!(
        "agent-sdk-permissions-example-{}",
        std::process::id()
    ));
    let root = base.join("acme");
    std::fs::create_dir_all(&root)?;
    std::fs::create_dir_all(base.join("globex"))?;
    std::fs::write(root.join("notes.md"), "acme's notes\n")?;
    std::fs::write(base.join("globex/secrets.txt"), "globex's secrets\n")?;

    let model_root = root.clone();
    let setup = setup(move || offline_model(&model_root)).await?;
    println!("[{}]", setup.banner());

    let policy = TenantPolicy { root: root.clone() };
    let options = setup
        .options
        .cwd(&root)
        .max_turns(6)
        .can_use_tool(Logged(policy))
        .build()?;
    let mut messages = query(
        "Read notes.md, peek at ../globex/secrets.txt, write report.md, and show /etc/passwd.",
        options,
    );
    while let Some(message) = messages.next().await {
        match message? {
            Message::Assistant(reply) => {
                for call in reply.tool_uses() {
                    println!("tool call: {} {}", call.name, call.input);
                }
                let text = reply.text();
                if !text.is_empty() {
                    println!("assistant: {text}");
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
    println!(
        "report.md written inside the tenant: {}",
        root.join("report.md").exists()
    );
    std::fs::remove_dir_all(&base)?;
    Ok(())
}
