//! [`AgentOptions`]: everything a caller can set, validated at `build()`.
//!
//! Options map onto the `claude` command line, its environment and the
//! `initialize` request (see `transport::command`). Typed values of single
//! options live in this module too: [`SystemPrompt`], [`Tools`], [`Thinking`],
//! [`Effort`], [`SettingSource`], [`Skills`], [`Plugin`], [`Settings`],
//! [`McpServerConfig`] and [`AgentDefinition`].
//!
//! ```
//! use agent_sdk::options::{AgentOptions, Effort, PermissionMode, SystemPrompt, Thinking};
//!
//! let options = AgentOptions::builder()
//!     .system_prompt(SystemPrompt::preset().append("Answer briefly."))
//!     .model("sonnet")
//!     .allowed_tools(["Read", "Grep"])
//!     .permission_mode(PermissionMode::AcceptEdits)
//!     .thinking(Thinking::adaptive())
//!     .effort(Effort::Low)
//!     .max_turns(5)
//!     .build()?;
//! # let _ = options;
//! # Ok::<(), agent_sdk::Error>(())
//! ```

mod agent;
mod builder;
mod mcp_config;
mod types;
mod validate;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::hooks::HookRegistry;
use crate::mcp::SdkMcpServer;
use crate::permission::DynPermissionHandler;
pub use crate::permission::PermissionMode;

pub use agent::{AgentDefinition, AgentEffort, AgentMcpServer, AgentMemory};
pub use builder::AgentOptionsBuilder;
pub(crate) use mcp_config::with_tool_timeout;
pub use mcp_config::{
    McpConfigSource, McpHttpServer, McpServerConfig, McpSseServer, McpStdioServer,
};
pub use types::{
    Effort, Plugin, SettingSource, Settings, Skills, SystemPrompt, Thinking, ThinkingDisplay, Tools,
};

/// Default per-line limit on the CLI's stdout: 1 MiB.
pub const DEFAULT_MAX_BUFFER_SIZE: usize = 1024 * 1024;
/// Default timeout of a control request we send: 60 s.
pub const DEFAULT_CONTROL_TIMEOUT: Duration = Duration::from_secs(60);

/// A callback that receives the CLI's stderr, one line at a time.
pub type StderrCallback = Arc<dyn Fn(&str) + Send + Sync>;

/// Options of a session. Build them with [`AgentOptions::builder`].
///
/// Every field is optional; the defaults match the official SDKs (an empty
/// system prompt, the CLI's default tools, all setting sources, 1 MiB line
/// limit, 60 s control timeout).
///
/// ```
/// use agent_sdk::AgentOptions;
/// let options = AgentOptions::builder()
///     .max_turns(2)
///     .env("ANTHROPIC_API_KEY", "sk-secret")
///     .build()
///     .unwrap();
/// // Debug output keeps variable names but never their values.
/// assert!(!format!("{options:?}").contains("sk-secret"));
/// ```
#[derive(Clone, Default)]
pub struct AgentOptions {
    // Process
    pub(crate) cli_path: Option<PathBuf>,
    pub(crate) cwd: Option<PathBuf>,
    /// The OS user the CLI runs as (unix).
    pub(crate) user: Option<String>,
    pub(crate) env: BTreeMap<String, String>,
    pub(crate) extra_args: Vec<(String, Option<String>)>,
    pub(crate) max_buffer_size: Option<usize>,
    pub(crate) control_timeout: Option<Duration>,
    pub(crate) stderr: Option<StderrCallback>,
    pub(crate) client_app: Option<String>,
    pub(crate) enable_file_checkpointing: bool,

    // Prompt, model and tools
    pub(crate) system_prompt: Option<SystemPrompt>,
    pub(crate) tools: Option<Tools>,
    pub(crate) allowed_tools: Vec<String>,
    pub(crate) disallowed_tools: Vec<String>,
    pub(crate) model: Option<String>,
    pub(crate) fallback_model: Option<String>,
    pub(crate) betas: Vec<String>,
    pub(crate) thinking: Option<Thinking>,
    pub(crate) max_thinking_tokens: Option<u32>,
    pub(crate) effort: Option<Effort>,
    pub(crate) output_schema: Option<Value>,
    /// Why `output_type::<T>()` could not make a schema; reported by `build()`.
    pub(crate) output_schema_error: Option<crate::schema::SchemaError>,

    // Limits
    pub(crate) max_turns: Option<u32>,
    pub(crate) max_budget_usd: Option<f64>,
    pub(crate) task_budget: Option<u64>,

    // Permissions
    pub(crate) permission_mode: Option<PermissionMode>,
    pub(crate) permission_prompt_tool_name: Option<String>,
    pub(crate) can_use_tool: Option<DynPermissionHandler>,

    // Settings, skills, agents, plugins
    pub(crate) add_dirs: Vec<PathBuf>,
    pub(crate) settings: Option<Settings>,
    pub(crate) sandbox: Option<Value>,
    pub(crate) setting_sources: Option<Vec<SettingSource>>,
    pub(crate) skills: Option<Skills>,
    pub(crate) agents: BTreeMap<String, AgentDefinition>,
    pub(crate) plugins: Vec<Plugin>,

    // MCP
    pub(crate) mcp_servers: BTreeMap<String, McpServerConfig>,
    /// Per-server tool-call timeouts, by server name (`timeout` of its config).
    pub(crate) mcp_tool_timeouts: BTreeMap<String, Duration>,
    pub(crate) mcp_config: Option<McpConfigSource>,
    pub(crate) strict_mcp_config: bool,

    // Sessions
    pub(crate) continue_conversation: bool,
    pub(crate) resume: Option<String>,
    pub(crate) session_id: Option<String>,
    pub(crate) fork_session: bool,
    pub(crate) resume_session_at: Option<String>,
    pub(crate) resume_drops_turn: Option<String>,
    pub(crate) session_store: Option<Arc<dyn crate::store::SessionStore>>,
    pub(crate) session_store_flush: crate::store::StoreFlush,

    // Stream shape
    pub(crate) include_partial_messages: bool,
    pub(crate) include_hook_events: bool,
    pub(crate) forward_subagent_text: bool,
    pub(crate) verbatim_prompts: bool,

    // Callbacks
    pub(crate) hooks: HookRegistry,
    pub(crate) on_elicitation: Option<crate::elicitation::DynElicitationHandler>,
    pub(crate) on_user_dialog: Option<crate::dialog::DynUserDialogHandler>,
    /// The dialog kinds `on_user_dialog` shows (`supportedDialogKinds`).
    pub(crate) dialog_kinds: Vec<String>,
}

/// Shows a map's keys with every value replaced, for `Debug` output of secrets.
pub(crate) struct RedactedMap<'a>(pub(crate) &'a BTreeMap<String, String>);

impl std::fmt::Debug for RedactedMap<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.0.keys().map(|key| (key, "<redacted>")))
            .finish()
    }
}

impl std::fmt::Debug for AgentOptions {
    // Never print env values, settings text, extra-arg values or MCP headers: they carry credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let extra_args: Vec<(&str, &str)> = self
            .extra_args
            .iter()
            .map(|(flag, value)| {
                (
                    flag.as_str(),
                    if value.is_some() {
                        "<redacted>"
                    } else {
                        "<none>"
                    },
                )
            })
            .collect();
        f.debug_struct("AgentOptions")
            .field("cli_path", &self.cli_path)
            .field("cwd", &self.cwd)
            .field("user", &self.user)
            .field("env", &RedactedMap(&self.env))
            .field("extra_args", &extra_args)
            .field("max_buffer_size", &self.max_buffer_size())
            .field("control_timeout", &self.control_timeout())
            .field("stderr", &self.stderr.as_ref().map(|_| "<callback>"))
            .field("client_app", &self.client_app)
            .field("enable_file_checkpointing", &self.enable_file_checkpointing)
            .field("system_prompt", &self.system_prompt)
            .field("tools", &self.tools)
            .field("allowed_tools", &self.allowed_tools)
            .field("disallowed_tools", &self.disallowed_tools)
            .field("model", &self.model)
            .field("fallback_model", &self.fallback_model)
            .field("betas", &self.betas)
            .field("thinking", &self.thinking)
            .field("max_thinking_tokens", &self.max_thinking_tokens)
            .field("effort", &self.effort)
            .field(
                "output_schema",
                &self.output_schema.as_ref().map(|_| "<schema>"),
            )
            .field("max_turns", &self.max_turns)
            .field("max_budget_usd", &self.max_budget_usd)
            .field("task_budget", &self.task_budget)
            .field("permission_mode", &self.permission_mode)
            .field(
                "permission_prompt_tool_name",
                &self.permission_prompt_tool_name,
            )
            .field(
                "can_use_tool",
                &self.can_use_tool.as_ref().map(|_| "<handler>"),
            )
            .field("add_dirs", &self.add_dirs)
            .field("settings", &self.settings)
            .field(
                "sandbox",
                &self.sandbox.as_ref().map(|_| "<sandbox settings>"),
            )
            .field("setting_sources", &self.setting_sources)
            .field("skills", &self.skills)
            .field("agents", &self.agents.keys().collect::<Vec<_>>())
            .field("plugins", &self.plugins)
            .field("mcp_servers", &self.mcp_servers)
            .field("mcp_tool_timeouts", &self.mcp_tool_timeouts)
            .field("mcp_config", &self.mcp_config)
            .field("strict_mcp_config", &self.strict_mcp_config)
            .field("continue_conversation", &self.continue_conversation)
            .field("resume", &self.resume)
            .field("session_id", &self.session_id)
            .field("fork_session", &self.fork_session)
            .field("resume_session_at", &self.resume_session_at)
            .field("resume_drops_turn", &self.resume_drops_turn)
            .field("session_store", &self.session_store.is_some())
            .field("session_store_flush", &self.session_store_flush)
            .field("include_partial_messages", &self.include_partial_messages)
            .field("include_hook_events", &self.include_hook_events)
            .field("forward_subagent_text", &self.forward_subagent_text)
            .field("verbatim_prompts", &self.verbatim_prompts)
            .field("hooks", &self.hooks)
            .field(
                "on_elicitation",
                &self.on_elicitation.as_ref().map(|_| "<handler>"),
            )
            .field(
                "on_user_dialog",
                &self.on_user_dialog.as_ref().map(|_| "<handler>"),
            )
            .field("dialog_kinds", &self.dialog_kinds)
            .finish()
    }
}

impl AgentOptions {
    /// Starts a builder with every option at its default.
    ///
    /// ```
    /// use agent_sdk::AgentOptions;
    /// let options = AgentOptions::builder().model("sonnet").build().unwrap();
    /// # let _ = options;
    /// ```
    pub fn builder() -> AgentOptionsBuilder {
        AgentOptionsBuilder::default()
    }

    pub(crate) fn max_buffer_size(&self) -> usize {
        self.max_buffer_size.unwrap_or(DEFAULT_MAX_BUFFER_SIZE)
    }

    pub(crate) fn control_timeout(&self) -> Duration {
        self.control_timeout.unwrap_or(DEFAULT_CONTROL_TIMEOUT)
    }

    /// Whether user frames are sent with `client_composed: true` (no CLI-side prompt expansion).
    /// The config directory the CLI will use: `CLAUDE_CONFIG_DIR`, else
    /// `HOME/.claude`, each from the session's environment before the SDK's.
    pub(crate) fn cli_config_dir(&self) -> Option<PathBuf> {
        let var = |name: &str| {
            self.env
                .get(name)
                .cloned()
                .or_else(|| std::env::var(name).ok())
                .filter(|value| !value.is_empty())
        };
        let home = if cfg!(windows) { "USERPROFILE" } else { "HOME" };
        var("CLAUDE_CONFIG_DIR")
            .map(PathBuf::from)
            .or_else(|| var(home).map(|home| PathBuf::from(home).join(".claude")))
    }

    /// The CLI's working directory: `cwd`, else the SDK's.
    pub(crate) fn effective_cwd(&self) -> PathBuf {
        self.cwd
            .clone()
            .or_else(|| std::env::current_dir().ok())
            .unwrap_or_else(|| PathBuf::from("."))
    }

    pub(crate) fn verbatim_prompts(&self) -> bool {
        self.verbatim_prompts
    }

    /// In-process servers by name.
    pub(crate) fn sdk_mcp_servers(&self) -> impl Iterator<Item = (&str, &SdkMcpServer)> {
        self.mcp_servers
            .iter()
            .filter_map(|(name, config)| match config {
                McpServerConfig::Sdk(server) => Some((name.as_str(), server)),
                _ => None,
            })
    }

    /// The config the CLI receives for the server `name`, with its tool timeout if one is set.
    pub(crate) fn mcp_server_json(&self, name: &str, config: &McpServerConfig) -> Value {
        mcp_config::with_tool_timeout(config.to_cli_json(), self.mcp_tool_timeouts.get(name))
    }

    /// Hooks, a permission handler or in-process servers: the CLI may call us at any time.
    pub(crate) fn has_bidirectional_needs(&self) -> bool {
        !self.hooks.is_empty()
            || self.can_use_tool.is_some()
            || self.on_elicitation.is_some()
            || self.on_user_dialog.is_some()
            || self.sdk_mcp_servers().next().is_some()
    }

    /// Fields of the `initialize` request besides `hooks` (spec 3.5): `agents`,
    /// `excludeDynamicSections`, `systemPromptSnapshot`, `skills`, `forwardSubagentText`.
    pub(crate) fn initialize_fields(&self) -> Map<String, Value> {
        let mut fields = Map::new();
        if !self.agents.is_empty() {
            let agents = self
                .agents
                .iter()
                .map(|(name, agent)| {
                    let value = serde_json::to_value(agent)
                        .expect("AgentDefinition serializes: plain strings, numbers and maps");
                    (name.clone(), value)
                })
                .collect();
            fields.insert("agents".into(), Value::Object(agents));
        }
        match &self.system_prompt {
            Some(SystemPrompt::Preset {
                exclude_dynamic_sections,
                snapshot,
                ..
            }) => {
                if let Some(exclude) = exclude_dynamic_sections {
                    fields.insert("excludeDynamicSections".into(), (*exclude).into());
                }
                if let Some(snapshot) = snapshot {
                    fields.insert("systemPromptSnapshot".into(), (*snapshot).into());
                }
            }
            Some(SystemPrompt::Custom {
                snapshot: Some(snapshot),
                ..
            }) => {
                fields.insert("systemPromptSnapshot".into(), (*snapshot).into());
            }
            _ => {}
        }
        if let Some(Skills::List(names)) = &self.skills {
            fields.insert("skills".into(), Value::from(dedup(names)));
        }
        if self.forward_subagent_text {
            fields.insert("forwardSubagentText".into(), true.into());
        }
        if self.on_user_dialog.is_some() && !self.dialog_kinds.is_empty() {
            fields.insert(
                "supportedDialogKinds".into(),
                Value::from(dedup(&self.dialog_kinds)),
            );
        }
        fields
    }

    /// `allowed_tools` plus the skill rules (`Skill` or `Skill(<name>)`), without duplicates.
    pub(crate) fn effective_allowed_tools(&self) -> Vec<String> {
        let mut tools = self.allowed_tools.clone();
        let extra: Vec<String> = match &self.skills {
            None => Vec::new(),
            Some(Skills::All) => vec!["Skill".to_owned()],
            Some(Skills::List(names)) => names.iter().map(|n| format!("Skill({n})")).collect(),
        };
        for rule in extra {
            if !tools.contains(&rule) {
                tools.push(rule);
            }
        }
        tools
    }

    /// `setting_sources`, defaulted to `user,project` when skills are set (they live there).
    pub(crate) fn effective_setting_sources(&self) -> Option<Vec<SettingSource>> {
        match (&self.setting_sources, &self.skills) {
            (Some(sources), _) => Some(sources.clone()),
            (None, Some(_)) => Some(vec![SettingSource::User, SettingSource::Project]),
            (None, None) => None,
        }
    }
}

fn dedup(names: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(names.len());
    for name in names {
        if !out.contains(name) {
            out.push(name.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests;
