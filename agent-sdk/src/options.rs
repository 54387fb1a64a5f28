//! [`AgentOptions`]: everything a caller can set, validated at `build()`.
//!
//! (Skeleton: the full option set and argv building land with the core issue.)

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::hooks::HookRegistry;
use crate::mcp::SdkMcpServer;
use crate::permission::DynPermissionHandler;

/// Default per-line limit on the CLI's stdout: 1 MiB.
pub const DEFAULT_MAX_BUFFER_SIZE: usize = 1024 * 1024;
/// Default timeout of a control request we send: 60 s.
pub const DEFAULT_CONTROL_TIMEOUT: Duration = Duration::from_secs(60);

/// A callback that receives the CLI's stderr, one line at a time.
pub type StderrCallback = Arc<dyn Fn(&str) + Send + Sync>;

/// The permission mode of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum PermissionMode {
    /// Ask for anything not allowed by a rule.
    Default,
    /// Accept file edits without asking.
    AcceptEdits,
    /// Plan only, run nothing.
    Plan,
    /// Skip every permission check (as root the CLI needs `IS_SANDBOX=1`).
    BypassPermissions,
    /// Deny anything not allowed by a rule, without asking.
    DontAsk,
    /// Let the CLI's classifier decide.
    Auto,
}

impl PermissionMode {
    /// The wire spelling, e.g. `acceptEdits`.
    pub fn as_str(self) -> &'static str {
        match self {
            PermissionMode::Default => "default",
            PermissionMode::AcceptEdits => "acceptEdits",
            PermissionMode::Plan => "plan",
            PermissionMode::BypassPermissions => "bypassPermissions",
            PermissionMode::DontAsk => "dontAsk",
            PermissionMode::Auto => "auto",
        }
    }
}

/// An MCP server the CLI should connect to.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum McpServerConfig {
    /// An in-process server answered by this SDK.
    Sdk(SdkMcpServer),
    /// Any external server config (stdio, sse, http), passed to the CLI verbatim.
    External(serde_json::Value),
}

/// Options of a session. Build them with [`AgentOptions::builder`].
///
/// ```
/// use agent_sdk::AgentOptions;
/// let options = AgentOptions::builder().max_turns(2).build().unwrap();
/// # let _ = options;
/// ```
#[derive(Clone, Default)]
pub struct AgentOptions {
    pub(crate) cli_path: Option<PathBuf>,
    pub(crate) cwd: Option<PathBuf>,
    pub(crate) env: BTreeMap<String, String>,
    pub(crate) max_turns: Option<u32>,
    pub(crate) max_buffer_size: Option<usize>,
    pub(crate) control_timeout: Option<Duration>,
    pub(crate) stderr: Option<StderrCallback>,
    pub(crate) mcp_servers: BTreeMap<String, McpServerConfig>,
    pub(crate) hooks: HookRegistry,
    pub(crate) can_use_tool: Option<DynPermissionHandler>,
    pub(crate) output_schema: Option<serde_json::Value>,
}

impl std::fmt::Debug for AgentOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentOptions")
            .field("cli_path", &self.cli_path)
            .field("cwd", &self.cwd)
            .field("env", &self.env.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl AgentOptions {
    /// Starts a builder with every option at its default.
    pub fn builder() -> AgentOptionsBuilder {
        AgentOptionsBuilder::default()
    }

    pub(crate) fn max_buffer_size(&self) -> usize {
        self.max_buffer_size.unwrap_or(DEFAULT_MAX_BUFFER_SIZE)
    }

    pub(crate) fn control_timeout(&self) -> Duration {
        self.control_timeout.unwrap_or(DEFAULT_CONTROL_TIMEOUT)
    }

    /// In-process servers by name.
    pub(crate) fn sdk_mcp_servers(&self) -> impl Iterator<Item = (&str, &SdkMcpServer)> {
        self.mcp_servers
            .iter()
            .filter_map(|(name, config)| match config {
                McpServerConfig::Sdk(server) => Some((name.as_str(), server)),
                McpServerConfig::External(_) => None,
            })
    }

    /// Hooks, a permission handler or in-process servers: the CLI may call us at any time.
    pub(crate) fn has_bidirectional_needs(&self) -> bool {
        !self.hooks.is_empty()
            || self.can_use_tool.is_some()
            || self.sdk_mcp_servers().next().is_some()
    }

    /// Fields of the `initialize` request besides `hooks`.
    pub(crate) fn initialize_fields(&self) -> serde_json::Map<String, serde_json::Value> {
        serde_json::Map::new()
    }
}

/// Builder of [`AgentOptions`].
#[derive(Default)]
pub struct AgentOptionsBuilder {
    /// Other modules add their builder methods (`mcp_server`, `hook`, ...) in their own `impl` blocks.
    pub(crate) options: AgentOptions,
}

impl AgentOptionsBuilder {
    /// Limit the number of agentic turns.
    pub fn max_turns(mut self, turns: u32) -> Self {
        self.options.max_turns = Some(turns);
        self
    }

    /// Path of the `claude` executable (no search is done).
    pub fn cli_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.options.cli_path = Some(path.into());
        self
    }

    /// Working directory of the CLI.
    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Self {
        self.options.cwd = Some(dir.into());
        self
    }

    /// Sets an environment variable for the CLI (merged over the inherited environment).
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.options.env.insert(key.into(), value.into());
        self
    }

    /// Validates and returns the options.
    pub fn build(self) -> Result<AgentOptions> {
        if self.options.max_buffer_size == Some(0) {
            return Err(Error::InvalidOptions("max_buffer_size must be > 0".into()));
        }
        Ok(self.options)
    }
}
