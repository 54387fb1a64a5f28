//! Permission policy: answering the CLI's `can_use_tool` requests.
//!
//! The CLI asks before it runs a tool that no rule allows (only when started with
//! `--permission-prompt-tool stdio`, which the SDK passes whenever a handler is set).
//! A handler gets a typed [`ToolPermissionRequest`] and answers a [`PermissionResult`]:
//!
//! ```
//! use agent_sdk::prelude::*;
//! use agent_sdk::tool_inputs::WriteInput;
//!
//! let options = AgentOptions::builder()
//!     .can_use_tool(|request: ToolPermissionRequest| async move {
//!         if let Some(write) = request.tool_input_as::<WriteInput>() {
//!             if !write.file_path.starts_with("/srv/tenant-a/") {
//!                 return PermissionResult::deny("writes stay inside /srv/tenant-a");
//!             }
//!         }
//!         PermissionResult::allow()
//!     })
//!     .build()
//!     .unwrap();
//! # let _ = options;
//! ```
//!
//! Note: the CLI only asks when its rules say "ask". Whole-tool `allowed_tools` entries,
//! `bypassPermissions`, `acceptEdits` (for edits), settings rules and a PreToolUse hook
//! answering `allow` all bypass the handler.

use std::future::Future;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::handler::BoxFuture;
pub use crate::handler::HandlerError;
use crate::tool_inputs::ToolInput;

mod mode;
pub use mode::PermissionMode;

/// Type-erased permission handler the protocol core calls.
///
/// `request` is the whole `request` object of a `can_use_tool` control request;
/// the answer is the payload that goes into `response.response`, or an error text.
pub(crate) trait ErasedPermissionHandler: Send + Sync {
    fn handle(
        &self,
        request: serde_json::Value,
    ) -> BoxFuture<'static, Result<serde_json::Value, String>>;
}

/// Shared handle to a permission handler.
pub(crate) type DynPermissionHandler = Arc<dyn ErasedPermissionHandler>;

// ---------------------------------------------------------------------------
// Permission updates (spec section 6)
// ---------------------------------------------------------------------------

/// Where a [`PermissionUpdate`] is stored. Defaults to [`Session`](Self::Session).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum PermissionUpdateDestination {
    /// `~/.claude/settings.json`.
    UserSettings,
    /// `.claude/settings.json` of the project.
    ProjectSettings,
    /// `.claude/settings.local.json` of the project.
    LocalSettings,
    /// This session only.
    #[default]
    Session,
    /// As if passed on the command line.
    CliArg,
}

/// What a permission rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum PermissionBehavior {
    /// Run without asking.
    Allow,
    /// Refuse.
    Deny,
    /// Ask (the permission handler).
    Ask,
}

/// One rule: a tool, optionally narrowed by a rule content such as a command prefix.
///
/// ```
/// use agent_sdk::permission::PermissionRuleValue;
/// let whole_tool = PermissionRuleValue::tool("Read");
/// assert_eq!(serde_json::to_value(&whole_tool).unwrap(), serde_json::json!({"toolName": "Read"}));
/// let narrowed = PermissionRuleValue::with_content("Bash", "npm test");
/// assert_eq!(narrowed.rule_content.as_deref(), Some("npm test"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PermissionRuleValue {
    /// The tool, e.g. `Bash` or `mcp__calc__add`.
    #[serde(rename = "toolName")]
    pub tool_name: String,
    /// The narrowing content (e.g. a command); `None` is a whole-tool rule (omitted on the wire).
    #[serde(
        rename = "ruleContent",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub rule_content: Option<String>,
}

impl PermissionRuleValue {
    /// A rule for the whole tool.
    pub fn tool(tool_name: impl Into<String>) -> Self {
        PermissionRuleValue {
            tool_name: tool_name.into(),
            rule_content: None,
        }
    }

    /// A rule for the tool narrowed by `content`.
    pub fn with_content(tool_name: impl Into<String>, content: impl Into<String>) -> Self {
        PermissionRuleValue {
            tool_name: tool_name.into(),
            rule_content: Some(content.into()),
        }
    }
}

/// A change to the permission rules, as suggested by the CLI in a `can_use_tool`
/// request or sent back in an allow answer (`updatedPermissions`).
///
/// On the wire the kind is the `type` key; a missing or null `destination` reads as
/// [`Session`](PermissionUpdateDestination::Session). An update this SDK cannot read (a
/// newer kind or mode) is kept as [`Other`](Self::Other) and sent back verbatim.
///
/// ```
/// use agent_sdk::permission::{PermissionBehavior, PermissionRuleValue, PermissionUpdate};
/// let update = PermissionUpdate::add_rules(
///     vec![PermissionRuleValue::tool("mcp__calc__add")],
///     PermissionBehavior::Allow,
/// );
/// assert_eq!(
///     serde_json::to_value(&update).unwrap(),
///     serde_json::json!({"type": "addRules", "destination": "session",
///                        "rules": [{"toolName": "mcp__calc__add"}], "behavior": "allow"})
/// );
/// let newer: PermissionUpdate =
///     serde_json::from_value(serde_json::json!({"type": "addSandboxRule", "host": "a.test"})).unwrap();
/// assert!(matches!(newer, PermissionUpdate::Other(_)));
/// ```
// Fields are in wire order (`destination` first, as the Python SDK sends them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
#[non_exhaustive]
pub enum PermissionUpdate {
    /// Add rules.
    AddRules {
        /// Where they are stored.
        #[serde(default, deserialize_with = "destination_or_session")]
        destination: PermissionUpdateDestination,
        /// The rules.
        rules: Vec<PermissionRuleValue>,
        /// What they do.
        behavior: PermissionBehavior,
    },
    /// Replace the rules of this behavior.
    ReplaceRules {
        /// Where they are stored.
        #[serde(default, deserialize_with = "destination_or_session")]
        destination: PermissionUpdateDestination,
        /// The rules.
        rules: Vec<PermissionRuleValue>,
        /// What they do.
        behavior: PermissionBehavior,
    },
    /// Remove rules.
    RemoveRules {
        /// Where they are stored.
        #[serde(default, deserialize_with = "destination_or_session")]
        destination: PermissionUpdateDestination,
        /// The rules.
        rules: Vec<PermissionRuleValue>,
        /// What they did.
        behavior: PermissionBehavior,
    },
    /// Switch the permission mode.
    SetMode {
        /// Where it is stored.
        #[serde(default, deserialize_with = "destination_or_session")]
        destination: PermissionUpdateDestination,
        /// The new mode.
        mode: PermissionMode,
    },
    /// Add working directories.
    AddDirectories {
        /// Where they are stored.
        #[serde(default, deserialize_with = "destination_or_session")]
        destination: PermissionUpdateDestination,
        /// The directories.
        directories: Vec<String>,
    },
    /// Remove working directories.
    RemoveDirectories {
        /// Where they are stored.
        #[serde(default, deserialize_with = "destination_or_session")]
        destination: PermissionUpdateDestination,
        /// The directories.
        directories: Vec<String>,
    },
    /// An update this SDK does not know, kept as the CLI sent it (sent back verbatim).
    #[serde(untagged)]
    Other(serde_json::Value),
}

/// `destination` absent or null reads as `session`.
fn destination_or_session<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<PermissionUpdateDestination, D::Error> {
    Ok(Option::<PermissionUpdateDestination>::deserialize(deserializer)?.unwrap_or_default())
}

impl PermissionUpdate {
    /// `addRules` in the session.
    pub fn add_rules(rules: Vec<PermissionRuleValue>, behavior: PermissionBehavior) -> Self {
        PermissionUpdate::AddRules {
            rules,
            behavior,
            destination: PermissionUpdateDestination::Session,
        }
    }

    /// `setMode` in the session.
    pub fn set_mode(mode: PermissionMode) -> Self {
        PermissionUpdate::SetMode {
            mode,
            destination: PermissionUpdateDestination::Session,
        }
    }

    /// `addDirectories` in the session.
    pub fn add_directories(directories: Vec<String>) -> Self {
        PermissionUpdate::AddDirectories {
            directories,
            destination: PermissionUpdateDestination::Session,
        }
    }

    /// The same update stored elsewhere (no effect on [`Other`](Self::Other)).
    ///
    /// ```
    /// use agent_sdk::permission::{PermissionUpdate, PermissionUpdateDestination};
    /// use agent_sdk::prelude::PermissionMode;
    /// let update = PermissionUpdate::set_mode(PermissionMode::AcceptEdits)
    ///     .with_destination(PermissionUpdateDestination::LocalSettings);
    /// assert_eq!(update.destination(), Some(PermissionUpdateDestination::LocalSettings));
    /// ```
    pub fn with_destination(mut self, new: PermissionUpdateDestination) -> Self {
        match &mut self {
            PermissionUpdate::AddRules { destination, .. }
            | PermissionUpdate::ReplaceRules { destination, .. }
            | PermissionUpdate::RemoveRules { destination, .. }
            | PermissionUpdate::SetMode { destination, .. }
            | PermissionUpdate::AddDirectories { destination, .. }
            | PermissionUpdate::RemoveDirectories { destination, .. } => *destination = new,
            PermissionUpdate::Other(_) => {}
        }
        self
    }

    /// Where the update is stored (`None` for [`Other`](Self::Other)).
    pub fn destination(&self) -> Option<PermissionUpdateDestination> {
        match self {
            PermissionUpdate::AddRules { destination, .. }
            | PermissionUpdate::ReplaceRules { destination, .. }
            | PermissionUpdate::RemoveRules { destination, .. }
            | PermissionUpdate::SetMode { destination, .. }
            | PermissionUpdate::AddDirectories { destination, .. }
            | PermissionUpdate::RemoveDirectories { destination, .. } => Some(*destination),
            PermissionUpdate::Other(_) => None,
        }
    }
}

// ---------------------------------------------------------------------------
// Request
// ---------------------------------------------------------------------------

/// The MCP server a tool belongs to (`mcp_server` on the wire).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct McpServerRef {
    /// The server's name (the key in `mcp_servers`).
    pub name: String,
    /// Where it is configured, e.g. `sdk` for an in-process server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// A `can_use_tool` request: the CLI asks whether a tool call may run.
///
/// Not the hook event [`hooks::PermissionRequest`](crate::hooks::PermissionRequest), which
/// the CLI runs after this request for the same call.
///
/// ```
/// use agent_sdk::permission::ToolPermissionRequest;
/// use agent_sdk::tool_inputs::BashInput;
///
/// let request: ToolPermissionRequest = serde_json::from_value(serde_json::json!({
///     "subtype": "can_use_tool", "tool_name": "Bash", "tool_use_id": "toolu_1",
///     "input": {"command": "touch a.txt"}, "blocked_path": "/p/a.txt"
/// })).unwrap();
/// assert_eq!(request.tool_input_as::<BashInput>().unwrap().command, "touch a.txt");
/// assert_eq!(request.blocked_path.as_deref(), Some("/p/a.txt"));
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct ToolPermissionRequest {
    /// The tool, e.g. `Bash` or `mcp__calc__add`.
    pub tool_name: String,
    /// The tool's input as the model wrote it.
    pub input: serde_json::Value,
    /// The id of the `tool_use` block.
    pub tool_use_id: String,
    /// Updates the CLI suggests for "always allow" (`permission_suggestions`).
    #[serde(default, rename = "permission_suggestions")]
    pub suggestions: Vec<PermissionUpdate>,
    /// The path that needs a permission, for file and shell tools.
    #[serde(default)]
    pub blocked_path: Option<String>,
    /// Why the CLI asks.
    #[serde(default)]
    pub decision_reason: Option<String>,
    /// The kind of reason: `rule`, `mode`, `hook`, `workingDir`, `safetyCheck`, `classifier`, ...
    #[serde(default)]
    pub decision_reason_type: Option<String>,
    /// A title for a permission prompt.
    #[serde(default)]
    pub title: Option<String>,
    /// The tool's display name (e.g. `Add` for `mcp__calc__add`).
    #[serde(default)]
    pub display_name: Option<String>,
    /// What the call does (e.g. a Bash command's description).
    #[serde(default)]
    pub description: Option<String>,
    /// The subagent making the call, if any.
    #[serde(default)]
    pub agent_id: Option<String>,
    /// The MCP server of an MCP tool.
    #[serde(default)]
    pub mcp_server: Option<McpServerRef>,
    /// Fields this version of the SDK does not know (e.g. `server_policy_ask_only`,
    /// `classifier_approvable`, `matched_ask_rule`), kept as sent.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl ToolPermissionRequest {
    /// The input parsed as the typed input of a built-in tool, when the tool is that one.
    pub fn tool_input_as<T: ToolInput>(&self) -> Option<T> {
        T::from_value(&self.tool_name, &self.input)
    }

    pub(crate) fn from_control_request(request: serde_json::Value) -> Result<Self, String> {
        let mut parsed: ToolPermissionRequest = serde_json::from_value(request)
            .map_err(|err| format!("invalid can_use_tool request: {err}"))?;
        parsed.extra.remove("subtype");
        Ok(parsed)
    }
}

// ---------------------------------------------------------------------------
// Result
// ---------------------------------------------------------------------------

/// The answer to a [`ToolPermissionRequest`].
///
/// ```
/// use agent_sdk::permission::{PermissionResult, PermissionUpdate};
/// use agent_sdk::prelude::PermissionMode;
///
/// let allow = PermissionResult::allow()
///     .with_updated_input(serde_json::json!({"command": "ls"}))
///     .with_updated_permissions(vec![PermissionUpdate::set_mode(PermissionMode::AcceptEdits)]);
/// assert!(allow.is_allow());
/// let deny = PermissionResult::deny("not in this directory");
/// assert!(!deny.is_allow());
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum PermissionResult {
    /// Run the tool.
    Allow {
        /// The input to run with instead of the model's (`None`: unchanged).
        updated_input: Option<serde_json::Value>,
        /// Rule changes to apply (for example the request's suggestions, to stop asking).
        updated_permissions: Vec<PermissionUpdate>,
    },
    /// Refuse the tool.
    Deny {
        /// What the model is told.
        message: String,
        /// Also end the turn (`error_during_execution`).
        interrupt: bool,
    },
}

impl PermissionResult {
    /// Allow with the model's input.
    pub fn allow() -> Self {
        PermissionResult::Allow {
            updated_input: None,
            updated_permissions: Vec::new(),
        }
    }

    /// Allow with a typed built-in tool input in place of the model's.
    ///
    /// ```
    /// use agent_sdk::permission::PermissionResult;
    /// use agent_sdk::tool_inputs::BashInput;
    /// let mut bash = BashInput::default();
    /// bash.command = "ls -la".into();
    /// let result = PermissionResult::allow_with_input(&bash);
    /// assert!(result.is_allow());
    /// ```
    pub fn allow_with_input<T: ToolInput>(input: &T) -> Self {
        PermissionResult::allow().with_updated_input(input.to_value())
    }

    /// Deny; the model sees `message` and the turn goes on.
    pub fn deny(message: impl Into<String>) -> Self {
        PermissionResult::Deny {
            message: message.into(),
            interrupt: false,
        }
    }

    /// Deny and end the turn.
    pub fn deny_and_interrupt(message: impl Into<String>) -> Self {
        PermissionResult::Deny {
            message: message.into(),
            interrupt: true,
        }
    }

    /// Replaces the tool input of an allow (no effect on a deny).
    pub fn with_updated_input(mut self, input: serde_json::Value) -> Self {
        if let PermissionResult::Allow { updated_input, .. } = &mut self {
            *updated_input = Some(input);
        }
        self
    }

    /// Adds rule changes to an allow (no effect on a deny).
    pub fn with_updated_permissions(
        mut self,
        updates: impl IntoIterator<Item = PermissionUpdate>,
    ) -> Self {
        if let PermissionResult::Allow {
            updated_permissions,
            ..
        } = &mut self
        {
            updated_permissions.extend(updates);
        }
        self
    }

    /// True for an allow.
    pub fn is_allow(&self) -> bool {
        matches!(self, PermissionResult::Allow { .. })
    }

    /// The `response.response` payload; an allow always carries `updatedInput`
    /// (`original_input` when unchanged), a deny carries `interrupt` only when true.
    pub(crate) fn to_wire(&self, original_input: &serde_json::Value) -> serde_json::Value {
        let mut out = serde_json::Map::new();
        match self {
            PermissionResult::Allow {
                updated_input,
                updated_permissions,
            } => {
                out.insert("behavior".into(), "allow".into());
                let input = updated_input.as_ref().unwrap_or(original_input).clone();
                out.insert("updatedInput".into(), input);
                if !updated_permissions.is_empty() {
                    let updates = serde_json::to_value(updated_permissions)
                        .unwrap_or(serde_json::Value::Array(Vec::new()));
                    out.insert("updatedPermissions".into(), updates);
                }
            }
            PermissionResult::Deny { message, interrupt } => {
                out.insert("behavior".into(), "deny".into());
                out.insert("message".into(), message.clone().into());
                if *interrupt {
                    out.insert("interrupt".into(), true.into());
                }
            }
        }
        serde_json::Value::Object(out)
    }
}

// ---------------------------------------------------------------------------
// Handler role
// ---------------------------------------------------------------------------

/// What a permission handler may return: a [`PermissionResult`], or a `Result` of one
/// (an `Err` becomes a control error answer).
pub trait IntoPermissionOutcome: Send {
    /// The result or the handler's error.
    fn into_outcome(self) -> Result<PermissionResult, HandlerError>;
}

impl IntoPermissionOutcome for PermissionResult {
    fn into_outcome(self) -> Result<PermissionResult, HandlerError> {
        Ok(self)
    }
}

impl IntoPermissionOutcome for Result<PermissionResult, HandlerError> {
    fn into_outcome(self) -> Result<PermissionResult, HandlerError> {
        self
    }
}

/// The permission policy role: answers `can_use_tool`.
///
/// Async closures `|request: ToolPermissionRequest| async move { ... }` implement it; so can
/// a struct that holds state:
///
/// ```
/// use agent_sdk::permission::{HandlerError, PermissionHandler, ToolPermissionRequest, PermissionResult};
/// use std::sync::atomic::{AtomicUsize, Ordering};
///
/// struct Budget { left: AtomicUsize }
///
/// impl PermissionHandler for Budget {
///     async fn decide(&self, _request: ToolPermissionRequest) -> Result<PermissionResult, HandlerError> {
///         if self.left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok() {
///             Ok(PermissionResult::allow())
///         } else {
///             Ok(PermissionResult::deny("tool budget used up"))
///         }
///     }
/// }
///
/// let options = agent_sdk::AgentOptions::builder()
///     .can_use_tool(Budget { left: AtomicUsize::new(10) })
///     .build()
///     .unwrap();
/// # let _ = options;
/// ```
pub trait PermissionHandler: Send + Sync + 'static {
    /// Decides on one request.
    fn decide(
        &self,
        request: ToolPermissionRequest,
    ) -> impl Future<Output = Result<PermissionResult, HandlerError>> + Send;
}

impl<F, Fut> PermissionHandler for F
where
    F: Fn(ToolPermissionRequest) -> Fut + Send + Sync + 'static,
    Fut: Future + Send,
    Fut::Output: IntoPermissionOutcome,
{
    fn decide(
        &self,
        request: ToolPermissionRequest,
    ) -> impl Future<Output = Result<PermissionResult, HandlerError>> + Send {
        let future = self(request);
        async move { future.await.into_outcome() }
    }
}

/// Adapts a typed handler to the core's erased interface.
struct TypedPermissionHandler<H> {
    handler: Arc<H>,
}

impl<H: PermissionHandler> ErasedPermissionHandler for TypedPermissionHandler<H> {
    fn handle(
        &self,
        request: serde_json::Value,
    ) -> BoxFuture<'static, Result<serde_json::Value, String>> {
        let handler = Arc::clone(&self.handler);
        Box::pin(async move {
            let request = ToolPermissionRequest::from_control_request(request)?;
            let original_input = request.input.clone();
            // A panic is caught once, by the protocol core's request task.
            handler
                .decide(request)
                .await
                .map(|result| result.to_wire(&original_input))
                .map_err(HandlerError::into_message)
        })
    }
}

/// Erases a typed handler (the builder's `can_use_tool` stores this).
pub(crate) fn erase_permission_handler<H: PermissionHandler>(handler: H) -> DynPermissionHandler {
    Arc::new(TypedPermissionHandler {
        handler: Arc::new(handler),
    })
}

#[cfg(test)]
mod tests;
