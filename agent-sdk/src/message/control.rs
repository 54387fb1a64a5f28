//! Typed answers of the CLI to our control requests: `initialize` ([`ServerInfo`]),
//! `mcp_status` ([`McpStatus`]), `get_context_usage` ([`ContextUsage`]) and
//! `rewind_files` ([`RewindFilesResult`]).
//!
//! The shapes are those of the CLI 2.1.330 (the TypeScript SDK's `sdk.d.ts` names
//! them). Every struct keeps the keys it does not model in `extra`, so a newer
//! CLI's fields are never lost, and fields the CLI may leave out default to empty.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::Usage;
use super::serde_util::{lenient_opt_u64, lenient_u64, null_default};

/// The CLI's answer to `initialize`: its commands, agents, models, account and more.
///
/// Building it never fails: a field that does not fit its type stays empty and is
/// kept, as sent, in [`extra`](Self::extra).
///
/// ```
/// use agent_sdk::message::ServerInfo;
/// use serde_json::json;
///
/// let info = ServerInfo::from_value(json!({
///     "commands": [{"name": "debug", "description": "Enable debug logging", "argumentHint": "[issue]"}],
///     "agents": [{"name": "Explore", "description": "Searches the code", "model": "haiku"}],
///     "output_style": "default",
///     "available_output_styles": ["default", "Explanatory"],
///     "models": [{"value": "opus", "displayName": "Opus", "description": "Most capable", "supportsEffort": true}],
///     "account": {"apiKeySource": "ANTHROPIC_API_KEY", "apiProvider": "firstParty"},
///     "pid": 4242,
///     "claude_code_version": "2.1.330",
///     "fast_mode_state": "off"
/// }));
/// assert_eq!(info.commands[0].argument_hint, "[issue]");
/// assert_eq!(info.models[0].supports_effort, Some(true));
/// assert_eq!(info.account.api_provider.as_deref(), Some("firstParty"));
/// assert_eq!(info.pid, Some(4242));
/// assert_eq!(info.extra["fast_mode_state"], "off");
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ServerInfo {
    /// Slash commands and skills.
    pub commands: Vec<SlashCommand>,
    /// Sub-agents the model can start.
    pub agents: Vec<AgentInfo>,
    /// The current output style.
    pub output_style: Option<String>,
    /// Every output style that can be chosen.
    pub available_output_styles: Vec<String>,
    /// Models that can be chosen.
    pub models: Vec<ModelInfo>,
    /// The account in use.
    pub account: AccountInfo,
    /// Process id of the CLI.
    pub pid: Option<u32>,
    /// CLI version, `X.Y.Z`.
    pub claude_code_version: Option<String>,
    /// The permission mode in effect (`default`, `acceptEdits`, ...).
    pub current_permission_mode: Option<String>,
    /// Protocol capabilities of the CLI.
    pub capabilities: Vec<String>,
    /// Every other key, as sent (`fast_mode_state`, `session_state`, ...), and any
    /// typed key whose value did not fit.
    pub extra: Map<String, Value>,
}

impl ServerInfo {
    /// Reads the answer to `initialize`; anything that is not an object gives an
    /// empty `ServerInfo`.
    pub fn from_value(value: Value) -> ServerInfo {
        let mut fields = match value {
            Value::Object(fields) => fields,
            _ => Map::new(),
        };
        ServerInfo {
            commands: take(&mut fields, "commands"),
            agents: take(&mut fields, "agents"),
            output_style: take(&mut fields, "output_style"),
            available_output_styles: take(&mut fields, "available_output_styles"),
            models: take(&mut fields, "models"),
            account: take(&mut fields, "account"),
            pid: take(&mut fields, "pid"),
            claude_code_version: take(&mut fields, "claude_code_version"),
            current_permission_mode: take(&mut fields, "current_permission_mode"),
            capabilities: take(&mut fields, "capabilities"),
            extra: fields,
        }
    }
}

impl<'de> Deserialize<'de> for ServerInfo {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Value::deserialize(deserializer).map(ServerInfo::from_value)
    }
}

/// Removes `key` and decodes it; a value that does not fit goes back, untouched.
fn take<T: DeserializeOwned + Default>(fields: &mut Map<String, Value>, key: &str) -> T {
    let Some(value) = fields.remove(key) else {
        return T::default();
    };
    if value.is_null() {
        return T::default();
    }
    match T::deserialize(&value) {
        Ok(typed) => typed,
        Err(_) => {
            fields.insert(key.to_owned(), value);
            T::default()
        }
    }
}

/// A slash command or skill (`commands` of [`ServerInfo`]).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SlashCommand {
    /// Name, without the leading slash.
    pub name: String,
    /// What it does.
    #[serde(default)]
    pub description: String,
    /// Hint for its arguments, e.g. `<file>`.
    #[serde(default, deserialize_with = "null_default")]
    pub argument_hint: String,
    /// Other names that run it.
    #[serde(default, deserialize_with = "null_default")]
    pub aliases: Vec<String>,
    /// `true` for Claude Code's own commands.
    #[serde(default)]
    pub builtin: Option<bool>,
    /// Every other key, as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A sub-agent the model can start (`agents` of [`ServerInfo`]).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct AgentInfo {
    /// Agent type, e.g. `Explore`.
    pub name: String,
    /// When to use it.
    #[serde(default)]
    pub description: String,
    /// Its model (an alias, an id, or `inherit`); `None` for the default.
    #[serde(default)]
    pub model: Option<String>,
    /// Every other key, as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A model that can be chosen (`models` of [`ServerInfo`]).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ModelInfo {
    /// The id or alias to pass as the model, e.g. `opus`.
    pub value: String,
    /// The model id `value` resolves to.
    #[serde(default)]
    pub resolved_model: Option<String>,
    /// Name for display.
    #[serde(default)]
    pub display_name: String,
    /// What it is good at.
    #[serde(default)]
    pub description: String,
    /// Whether it takes an effort level.
    #[serde(default)]
    pub supports_effort: Option<bool>,
    /// The effort levels it takes (`low` ... `max`).
    #[serde(default, deserialize_with = "null_default")]
    pub supported_effort_levels: Vec<String>,
    /// Whether it supports adaptive thinking.
    #[serde(default)]
    pub supports_adaptive_thinking: Option<bool>,
    /// Whether it supports fast mode.
    #[serde(default)]
    pub supports_fast_mode: Option<bool>,
    /// Whether it supports auto mode.
    #[serde(default)]
    pub supports_auto_mode: Option<bool>,
    /// Every other key, as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The account in use (`account` of [`ServerInfo`]).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct AccountInfo {
    /// E-mail address of a logged-in user.
    pub email: Option<String>,
    /// Organization.
    pub organization: Option<String>,
    /// Subscription type.
    pub subscription_type: Option<String>,
    /// Where the token came from.
    pub token_source: Option<String>,
    /// Where the API key came from, e.g. `ANTHROPIC_API_KEY`.
    pub api_key_source: Option<String>,
    /// The API backend: `firstParty`, `bedrock`, `vertex`, ...
    pub api_provider: Option<String>,
    /// Every other key, as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The CLI's answer to `mcp_status`: every MCP server and its connection.
///
/// ```
/// use agent_sdk::message::McpStatus;
///
/// let status: McpStatus = serde_json::from_str(r#"{"mcpServers":[{"name":"calc","status":"connected",
///     "serverInfo":{"name":"calc","version":"1.0.0"},"transport":"sdk","scope":"dynamic","source":"sdk",
///     "tools":[{"name":"add","annotations":{"readOnly":true}}]}]}"#)?;
/// let calc = &status.mcp_servers[0];
/// assert_eq!((calc.name.as_str(), calc.status.as_str()), ("calc", "connected"));
/// assert_eq!(calc.server_info.as_ref().unwrap().version, "1.0.0");
/// assert_eq!(calc.tools[0].name, "add");
/// assert_eq!(calc.extra["transport"], "sdk");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct McpStatus {
    /// One entry per configured server.
    #[serde(default, deserialize_with = "null_default")]
    pub mcp_servers: Vec<McpServerStatus>,
    /// Every other key, as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One MCP server in [`McpStatus`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct McpServerStatus {
    /// The server name, as configured.
    pub name: String,
    /// `connected`, `failed`, `needs-auth`, `pending` or `disabled`.
    pub status: String,
    /// Name and version the server reported (when connected).
    #[serde(default)]
    pub server_info: Option<McpServerVersion>,
    /// Why it failed (when `failed`).
    #[serde(default)]
    pub error: Option<String>,
    /// Its configuration, as sent (includes the URL of HTTP/SSE servers).
    #[serde(default)]
    pub config: Option<Value>,
    /// Configuration scope: `project`, `user`, `local`, `dynamic`, ...
    #[serde(default)]
    pub scope: Option<String>,
    /// Where the definition came from: `sdk`, `plugin`, or a configuration scope.
    #[serde(default)]
    pub source: Option<String>,
    /// Its tools (when connected).
    #[serde(default, deserialize_with = "null_default")]
    pub tools: Vec<McpToolStatus>,
    /// Every other key, as sent (`transport`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `serverInfo` of an [`McpServerStatus`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct McpServerVersion {
    /// Server name.
    #[serde(default)]
    pub name: String,
    /// Server version.
    #[serde(default)]
    pub version: String,
    /// Every other key, as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A tool of an [`McpServerStatus`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct McpToolStatus {
    /// Tool name.
    pub name: String,
    /// Tool description.
    #[serde(default)]
    pub description: Option<String>,
    /// `readOnly`, `destructive`, `openWorld`, as sent.
    #[serde(default)]
    pub annotations: Option<Value>,
    /// Every other key, as sent (`_meta`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The CLI's answer to `get_context_usage`: how the context window is used.
///
/// ```
/// use agent_sdk::message::ContextUsage;
///
/// let usage: ContextUsage = serde_json::from_str(r#"{"categories":[{"id":"messages","name":"Messages",
///     "tokens":2964,"color":"purple","kind":"used"}],"totalTokens":18082,"maxTokens":1000000,
///     "rawMaxTokens":1000000,"percentage":2,"model":"claude-opus-5-5","isAutoCompactEnabled":true,
///     "apiUsage":{"input_tokens":18082,"output_tokens":2}}"#)?;
/// assert_eq!(usage.categories[0].kind, "used");
/// assert_eq!((usage.total_tokens, usage.max_tokens), (18_082, 1_000_000));
/// assert_eq!(usage.api_usage.unwrap().input_tokens, 18_082);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ContextUsage {
    /// One row per category (system prompt, tools, messages, free space, ...).
    #[serde(default, deserialize_with = "null_default")]
    pub categories: Vec<ContextCategory>,
    /// Tokens in the context.
    #[serde(deserialize_with = "lenient_u64")]
    pub total_tokens: u64,
    /// The effective context limit.
    #[serde(deserialize_with = "lenient_u64")]
    pub max_tokens: u64,
    /// The model's context window before any reserve.
    #[serde(default, deserialize_with = "lenient_opt_u64")]
    pub raw_max_tokens: Option<u64>,
    /// Percent of the context used, 0 to 100.
    #[serde(default)]
    pub percentage: f64,
    /// The model the numbers are for.
    #[serde(default)]
    pub model: String,
    /// The `/context` grid, row by row.
    #[serde(default, deserialize_with = "null_default")]
    pub grid_rows: Vec<Vec<ContextGridCell>>,
    /// Memory files (`CLAUDE.md`, ...).
    #[serde(default, deserialize_with = "null_default")]
    pub memory_files: Vec<ContextMemoryFile>,
    /// MCP tools.
    #[serde(default, deserialize_with = "null_default")]
    pub mcp_tools: Vec<ContextMcpTool>,
    /// Custom agents.
    #[serde(default, deserialize_with = "null_default")]
    pub agents: Vec<ContextAgent>,
    /// Token count at which the conversation is compacted.
    #[serde(default, deserialize_with = "lenient_opt_u64")]
    pub auto_compact_threshold: Option<u64>,
    /// Whether automatic compaction is on.
    #[serde(default)]
    pub is_auto_compact_enabled: bool,
    /// How the messages' tokens divide.
    #[serde(default)]
    pub message_breakdown: Option<ContextMessageBreakdown>,
    /// The API usage of the last response (`None` before the first).
    #[serde(default)]
    pub api_usage: Option<Usage>,
    /// Every other key, as sent (`slashCommands`, `skills`, `mcpInstructions`,
    /// `systemTools`, `autocompactSource`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A category row of [`ContextUsage`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ContextCategory {
    /// Stable id (`system_prompt`, `messages`, `free_space`, ...); match on this, not on `name`.
    #[serde(default)]
    pub id: Option<String>,
    /// Name for display.
    pub name: String,
    /// Tokens.
    #[serde(deserialize_with = "lenient_u64")]
    pub tokens: u64,
    /// Display color.
    #[serde(default)]
    pub color: String,
    /// `used`, `free`, `buffer` or `deferred`.
    #[serde(default)]
    pub kind: String,
    /// Whether the row counts out-of-window tool schemas.
    #[serde(default)]
    pub is_deferred: Option<bool>,
    /// Every other key, as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A square of the `/context` grid.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ContextGridCell {
    /// Display color.
    #[serde(default)]
    pub color: String,
    /// Whether the square is filled.
    #[serde(default)]
    pub is_filled: bool,
    /// The category it shows.
    #[serde(default)]
    pub category_name: String,
    /// Tokens of that category.
    #[serde(default, deserialize_with = "lenient_u64")]
    pub tokens: u64,
    /// Percent of the window.
    #[serde(default)]
    pub percentage: f64,
    /// How full the square is, 0 to 1.
    #[serde(default)]
    pub square_fullness: f64,
    /// Every other key, as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A memory file in [`ContextUsage`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct ContextMemoryFile {
    /// File path.
    pub path: String,
    /// Kind of memory file.
    #[serde(default, rename = "type")]
    pub kind: String,
    /// Tokens.
    #[serde(default, deserialize_with = "lenient_u64")]
    pub tokens: u64,
    /// Every other key, as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An MCP tool in [`ContextUsage`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ContextMcpTool {
    /// Tool name.
    pub name: String,
    /// Its server (normalized name).
    #[serde(default)]
    pub server_name: String,
    /// Tokens.
    #[serde(default, deserialize_with = "lenient_u64")]
    pub tokens: u64,
    /// Whether its schema is loaded.
    #[serde(default)]
    pub is_loaded: Option<bool>,
    /// Every other key, as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A custom agent in [`ContextUsage`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ContextAgent {
    /// Agent type.
    pub agent_type: String,
    /// Where it is defined.
    #[serde(default)]
    pub source: String,
    /// Tokens.
    #[serde(default, deserialize_with = "lenient_u64")]
    pub tokens: u64,
    /// Every other key, as sent (`pluginId`, `path`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `messageBreakdown` of [`ContextUsage`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct ContextMessageBreakdown {
    /// Tokens of tool calls.
    #[serde(deserialize_with = "lenient_u64")]
    pub tool_call_tokens: u64,
    /// Tokens of tool results.
    #[serde(deserialize_with = "lenient_u64")]
    pub tool_result_tokens: u64,
    /// Tokens of attachments.
    #[serde(deserialize_with = "lenient_u64")]
    pub attachment_tokens: u64,
    /// Tokens of assistant messages.
    #[serde(deserialize_with = "lenient_u64")]
    pub assistant_message_tokens: u64,
    /// Tokens of user messages.
    #[serde(deserialize_with = "lenient_u64")]
    pub user_message_tokens: u64,
    /// Every other key, as sent (`toolCallsByType`, `attachmentsByType`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The CLI's answer to `rewind_files` (and to its dry run).
///
/// A rewind the CLI cannot do is an answer too: `can_rewind` is `false` and
/// `error` says why.
///
/// ```
/// use agent_sdk::message::RewindFilesResult;
///
/// let preview: RewindFilesResult = serde_json::from_str(
///     r#"{"canRewind":true,"filesChanged":["/work/notes.txt"],"insertions":0,"deletions":2}"#,
/// )?;
/// assert!(preview.can_rewind);
/// assert_eq!(preview.files_changed, ["/work/notes.txt"]);
/// assert_eq!(preview.deletions, Some(2));
///
/// let refused: RewindFilesResult = serde_json::from_str(
///     r#"{"canRewind":false,"error":"No file checkpoint found for this message."}"#,
/// )?;
/// assert_eq!(refused.error.as_deref(), Some("No file checkpoint found for this message."));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RewindFilesResult {
    /// Whether the files can be (or were) rewound.
    pub can_rewind: bool,
    /// Why not.
    #[serde(default)]
    pub error: Option<String>,
    /// Files that change (dry run).
    #[serde(default, deserialize_with = "null_default")]
    pub files_changed: Vec<String>,
    /// Lines added back (dry run).
    #[serde(default, deserialize_with = "lenient_opt_u64")]
    pub insertions: Option<u64>,
    /// Lines removed (dry run).
    #[serde(default, deserialize_with = "lenient_opt_u64")]
    pub deletions: Option<u64>,
    /// Files left alone because a link or non-regular file was found there (real rewind only).
    #[serde(default, deserialize_with = "lenient_opt_u64")]
    pub skipped_links: Option<u64>,
    /// Every other key, as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The answer to [`Client::set_mcp_servers`](crate::Client::set_mcp_servers): which
/// servers the CLI added and removed, and why any could not be set.
///
/// ```
/// use agent_sdk::message::McpSetServersResult;
/// let result: McpSetServersResult = serde_json::from_str(
///     r#"{"added":["calc"],"removed":["old"],"errors":{"bad":"spawn failed"}}"#,
/// )?;
/// assert_eq!(result.added, ["calc"]);
/// assert_eq!(result.errors["bad"], "spawn failed");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct McpSetServersResult {
    /// Servers the CLI connected to.
    #[serde(default, deserialize_with = "null_default")]
    pub added: Vec<String>,
    /// Servers the CLI disconnected.
    #[serde(default, deserialize_with = "null_default")]
    pub removed: Vec<String>,
    /// Servers that could not be set, with the CLI's reason.
    #[serde(default, deserialize_with = "null_default")]
    pub errors: std::collections::BTreeMap<String, String>,
}
