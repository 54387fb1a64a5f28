//! Permissions: a policy confining file tools to one directory, the tenant isolation of a
//! multi-user service (each tenant's agent may only touch its own tree).
//!
//! `cargo run -p agent-sdk-examples --example permissions` builds the options and asks the
//! policy about a few sample calls, printing the answers the CLI would receive.

use std::path::{Component, Path, PathBuf};

use agent_sdk::prelude::*;
use agent_sdk::tool_inputs::{EditInput, GlobInput, GrepInput, ReadInput, WriteInput};

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
    fn target(request: &PermissionRequest) -> Option<Option<String>> {
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
    async fn decide(&self, request: PermissionRequest) -> Result<PermissionResult, HandlerError> {
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

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let policy = TenantPolicy {
        root: Path::new("/srv/tenants/acme").to_path_buf(),
    };
    let options = AgentOptions::builder()
        .cwd(&policy.root)
        .can_use_tool(policy.clone())
        .build()?;
    println!("options: {options:?}");

    let calls = [
        (
            "Read",
            serde_json::json!({"file_path": "/srv/tenants/acme/notes.md"}),
        ),
        (
            "Write",
            serde_json::json!({"file_path": "/srv/tenants/acme/../globex/secrets", "content": "x"}),
        ),
        ("Glob", serde_json::json!({"pattern": "**/*.rs"})),
        ("Bash", serde_json::json!({"command": "cat /etc/passwd"})),
    ];
    for (tool, input) in calls {
        let request: PermissionRequest = serde_json::from_value(serde_json::json!({
            "tool_name": tool, "input": input, "tool_use_id": "toolu_example"
        }))?;
        let original = request.input.clone();
        let answer = policy.decide(request).await?;
        println!("{tool:>6} -> {}", answer.to_wire(&original));
    }
    Ok(())
}
