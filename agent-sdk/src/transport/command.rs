//! CLI discovery, argv and environment of the child process.
//!
//! (Skeleton: replaced by the full option -> argv mapping.)

use std::ffi::OsString;
use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::options::AgentOptions;

/// How to start the CLI: everything `tokio::process::Command` needs, built without a shell.
#[derive(Debug, Clone)]
pub(crate) struct CommandSpec {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    /// Variables set on top of the inherited environment.
    pub env: Vec<(OsString, OsString)>,
    /// Inherited variables removed.
    pub env_remove: Vec<OsString>,
    pub cwd: Option<PathBuf>,
}

/// Builds the command line for `options`.
pub(crate) fn build_command(options: &AgentOptions) -> Result<CommandSpec> {
    let program = options
        .cli_path
        .clone()
        .ok_or(Error::CliNotFound { searched: vec![] })?;
    let args = [
        "--output-format",
        "stream-json",
        "--verbose",
        "--system-prompt",
        "",
        "--input-format",
        "stream-json",
    ]
    .into_iter()
    .map(OsString::from)
    .collect();
    Ok(CommandSpec {
        program,
        args,
        env: vec![
            ("CLAUDE_CODE_ENTRYPOINT".into(), "sdk-rust".into()),
            ("CLAUDE_CODE_SDK_READS_SESSION_STATE".into(), "1".into()),
        ],
        env_remove: vec!["CLAUDECODE".into()],
        cwd: options.cwd.clone(),
    })
}
