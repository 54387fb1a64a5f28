//! Typed hook outputs (spec section 5.3): the common keys plus one
//! `hookSpecificOutput` type per event.
//!
//! [`HookOutput::default()`] is `{}`, "no opinion".

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::event::HookEvent;
use super::inputs::ExtraFields;
use crate::permission::PermissionUpdate;

/// The top-level `decision` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum HookDecision {
    /// Block the action (for Stop: make the agent go on, with `reason` as feedback).
    Block,
    /// Deprecated approval (TS only).
    Approve,
}

/// The output of a hook for event `E`.
///
/// Common constructors work for every event; each event adds its own
/// (for instance [`PreToolUseOutput::deny`](HookOutput::deny)).
///
/// ```
/// use agent_sdk::hooks::{PreToolUseOutput, StopOutput};
/// let deny = PreToolUseOutput::deny("Bash denied by PreToolUse hook");
/// assert_eq!(
///     serde_json::to_value(&deny).unwrap(),
///     serde_json::json!({"hookSpecificOutput": {"hookEventName": "PreToolUse",
///         "permissionDecision": "deny", "permissionDecisionReason": "Bash denied by PreToolUse hook"}})
/// );
/// let keep_going = StopOutput::block("one more check");
/// assert_eq!(
///     serde_json::to_value(&keep_going).unwrap(),
///     serde_json::json!({"decision": "block", "reason": "one more check"})
/// );
/// ```
#[non_exhaustive]
pub struct HookOutput<E: HookEvent> {
    /// `continue`: `false` stops the session after the hook.
    pub continue_: Option<bool>,
    /// `suppressOutput`: hide the hook's output in the transcript.
    pub suppress_output: Option<bool>,
    /// `stopReason`: the message when `continue` is false.
    pub stop_reason: Option<String>,
    /// `decision`: `block`.
    pub decision: Option<HookDecision>,
    /// `systemMessage`: a warning shown to the user.
    pub system_message: Option<String>,
    /// `reason`: feedback for the model.
    pub reason: Option<String>,
    /// `async`: the hook answers later (`asyncTimeout` in ms bounds it).
    pub async_: Option<bool>,
    /// `asyncTimeout` in milliseconds.
    pub async_timeout_ms: Option<u64>,
    /// `hookSpecificOutput` (its `hookEventName` is added on the wire).
    pub specific: Option<E::Specific>,
    /// Extra top-level keys, sent as given.
    pub extra: ExtraFields,
}

// Manual impls: derives would demand the marker `E` itself be Debug/Clone/Default/PartialEq.
impl<E: HookEvent> Default for HookOutput<E> {
    fn default() -> Self {
        HookOutput {
            continue_: None,
            suppress_output: None,
            stop_reason: None,
            decision: None,
            system_message: None,
            reason: None,
            async_: None,
            async_timeout_ms: None,
            specific: None,
            extra: ExtraFields::new(),
        }
    }
}

impl<E: HookEvent> Clone for HookOutput<E> {
    fn clone(&self) -> Self {
        HookOutput {
            continue_: self.continue_,
            suppress_output: self.suppress_output,
            stop_reason: self.stop_reason.clone(),
            decision: self.decision,
            system_message: self.system_message.clone(),
            reason: self.reason.clone(),
            async_: self.async_,
            async_timeout_ms: self.async_timeout_ms,
            specific: self.specific.clone(),
            extra: self.extra.clone(),
        }
    }
}

impl<E: HookEvent> PartialEq for HookOutput<E> {
    fn eq(&self, other: &Self) -> bool {
        self.continue_ == other.continue_
            && self.suppress_output == other.suppress_output
            && self.stop_reason == other.stop_reason
            && self.decision == other.decision
            && self.system_message == other.system_message
            && self.reason == other.reason
            && self.async_ == other.async_
            && self.async_timeout_ms == other.async_timeout_ms
            && self.specific == other.specific
            && self.extra == other.extra
    }
}

impl<E: HookEvent> std::fmt::Debug for HookOutput<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HookOutput")
            .field("event", &E::NAME)
            .field("continue_", &self.continue_)
            .field("suppress_output", &self.suppress_output)
            .field("stop_reason", &self.stop_reason)
            .field("decision", &self.decision)
            .field("system_message", &self.system_message)
            .field("reason", &self.reason)
            .field("async_", &self.async_)
            .field("async_timeout_ms", &self.async_timeout_ms)
            .field("specific", &self.specific)
            .field("extra", &self.extra)
            .finish()
    }
}

#[derive(Serialize)]
struct Wire<'a, S> {
    #[serde(rename = "continue", skip_serializing_if = "Option::is_none")]
    continue_: Option<bool>,
    #[serde(rename = "suppressOutput", skip_serializing_if = "Option::is_none")]
    suppress_output: Option<bool>,
    #[serde(rename = "stopReason", skip_serializing_if = "Option::is_none")]
    stop_reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    decision: Option<HookDecision>,
    #[serde(rename = "systemMessage", skip_serializing_if = "Option::is_none")]
    system_message: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    #[serde(rename = "async", skip_serializing_if = "Option::is_none")]
    async_: Option<bool>,
    #[serde(rename = "asyncTimeout", skip_serializing_if = "Option::is_none")]
    async_timeout: Option<u64>,
    #[serde(rename = "hookSpecificOutput", skip_serializing_if = "Option::is_none")]
    specific: Option<Tagged<'a, S>>,
    #[serde(flatten)]
    extra: &'a ExtraFields,
}

#[derive(Serialize)]
struct Tagged<'a, S> {
    #[serde(rename = "hookEventName")]
    event: &'static str,
    #[serde(flatten)]
    inner: &'a S,
}

impl<E: HookEvent> Serialize for HookOutput<E> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Wire {
            continue_: self.continue_,
            suppress_output: self.suppress_output,
            stop_reason: self.stop_reason.as_deref(),
            decision: self.decision,
            system_message: self.system_message.as_deref(),
            reason: self.reason.as_deref(),
            async_: self.async_,
            async_timeout: self.async_timeout_ms,
            specific: self.specific.as_ref().map(|inner| Tagged {
                event: E::NAME,
                inner,
            }),
            extra: &self.extra,
        }
        .serialize(serializer)
    }
}

impl<E: HookEvent> HookOutput<E> {
    /// `{}`: no opinion, the CLI goes on as if no hook ran.
    pub fn none() -> Self {
        Self::default()
    }

    /// `decision: "block"` with `reason` as feedback for the model. On Stop and
    /// SubagentStop this makes the agent go on; on PostToolUse the reason reaches the model.
    pub fn block(reason: impl Into<String>) -> Self {
        HookOutput {
            decision: Some(HookDecision::Block),
            reason: Some(reason.into()),
            ..Self::default()
        }
    }

    /// `continue: false`: stop the session after this hook, with `reason` shown.
    pub fn stop_session(reason: impl Into<String>) -> Self {
        HookOutput {
            continue_: Some(false),
            stop_reason: Some(reason.into()),
            ..Self::default()
        }
    }

    /// An output whose `hookSpecificOutput` is `specific`.
    pub fn specific(specific: E::Specific) -> Self {
        HookOutput {
            specific: Some(specific),
            ..Self::default()
        }
    }

    /// Adds a `systemMessage` shown to the user.
    pub fn with_system_message(mut self, message: impl Into<String>) -> Self {
        self.system_message = Some(message.into());
        self
    }

    /// Sets `suppressOutput: true`.
    pub fn with_suppressed_output(mut self) -> Self {
        self.suppress_output = Some(true);
        self
    }

    /// Sets `reason`, feedback for the model.
    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// Adds an extra top-level key (for keys newer than this SDK).
    pub fn with_extra(mut self, key: impl Into<String>, value: serde_json::Value) -> Self {
        self.extra.insert(key.into(), value);
        self
    }

    /// `{"async": true}`: the CLI does not wait for this hook (optionally bounded).
    pub fn run_async(timeout: Option<Duration>) -> Self {
        HookOutput {
            async_: Some(true),
            async_timeout_ms: timeout.map(|t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX)),
            ..Self::default()
        }
    }

    pub(super) fn specific_mut(&mut self) -> &mut E::Specific {
        self.specific.get_or_insert_with(Default::default)
    }
}

/// The `hookSpecificOutput` types that carry `additionalContext`.
pub trait WithAdditionalContext {
    /// Sets `additionalContext`.
    fn set_additional_context(&mut self, context: String);
}

impl<E: HookEvent> HookOutput<E>
where
    E::Specific: WithAdditionalContext,
{
    /// Text added to the model's context (`hookSpecificOutput.additionalContext`).
    ///
    /// ```
    /// use agent_sdk::hooks::UserPromptSubmitOutput;
    /// let out = UserPromptSubmitOutput::additional_context("USERPROMPTSUBMIT-CONTEXT");
    /// assert_eq!(
    ///     serde_json::to_value(&out).unwrap(),
    ///     serde_json::json!({"hookSpecificOutput": {"hookEventName": "UserPromptSubmit",
    ///         "additionalContext": "USERPROMPTSUBMIT-CONTEXT"}})
    /// );
    /// ```
    pub fn additional_context(context: impl Into<String>) -> Self {
        Self::default().with_additional_context(context)
    }

    /// Adds `additionalContext` to this output.
    pub fn with_additional_context(mut self, context: impl Into<String>) -> Self {
        self.specific_mut().set_additional_context(context.into());
        self
    }
}

macro_rules! specific_output {
    (
        $(#[$meta:meta])*
        $name:ident { $( $(#[$fmeta:meta])* $field:ident : $ty:ty ),* $(,)? }
        $(context: $ctx:ident)?
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
        #[serde(rename_all = "camelCase")]
        #[non_exhaustive]
        pub struct $name {
            $(
                $(#[$fmeta])*
                #[serde(default, skip_serializing_if = "Option::is_none")]
                pub $field: Option<$ty>,
            )*
            /// Extra keys, sent as given.
            #[serde(flatten)]
            pub extra: ExtraFields,
        }
        $(
            impl WithAdditionalContext for $name {
                fn set_additional_context(&mut self, context: String) {
                    self.$ctx = Some(context);
                }
            }
        )?
    };
}

/// `permissionDecision` of PreToolUse (and PreModelSwitch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum PermissionDecision {
    /// Run without asking (skips `can_use_tool`).
    Allow,
    /// Refuse; the model sees the reason.
    Deny,
    /// Ask as usual.
    Ask,
    /// End the run with `result.deferred_tool_use` (PreToolUse only).
    Defer,
}

specific_output! {
    /// `hookSpecificOutput` of PreToolUse.
    PreToolUseSpecificOutput {
        /// Allow, deny, ask or defer.
        permission_decision: PermissionDecision,
        /// Why (the model sees it on deny).
        permission_decision_reason: String,
        /// The input to run the tool with instead.
        updated_input: serde_json::Value,
        /// Text added to the model's context.
        additional_context: String,
    }
    context: additional_context
}

specific_output! {
    /// `hookSpecificOutput` of PostToolUse.
    PostToolUseSpecificOutput {
        /// Text added to the model's context.
        additional_context: String,
        /// Replaces the tool's output the model sees.
        updated_tool_output: serde_json::Value,
        /// Replaces an MCP tool's output (`updatedMCPToolOutput`).
        #[serde(rename = "updatedMCPToolOutput")]
        updated_mcp_tool_output: serde_json::Value,
    }
    context: additional_context
}

specific_output! {
    /// `hookSpecificOutput` carrying only `additionalContext` (PostToolUseFailure,
    /// PostToolBatch, Notification, SubagentStart, Stop, SubagentStop, PostModelSwitch, Setup).
    AdditionalContextOutput {
        /// Text added to the model's context.
        additional_context: String,
    }
    context: additional_context
}

specific_output! {
    /// `hookSpecificOutput` of UserPromptSubmit.
    UserPromptSubmitSpecificOutput {
        /// Text added to the model's context.
        additional_context: String,
        /// Sets the session's title.
        session_title: String,
        /// Drop the user's prompt.
        suppress_original_prompt: bool,
    }
    context: additional_context
}

specific_output! {
    /// `hookSpecificOutput` of UserPromptExpansion.
    UserPromptExpansionSpecificOutput {
        /// Text added to the model's context.
        additional_context: String,
        /// Drop the original prompt.
        suppress_original_prompt: bool,
    }
    context: additional_context
}

specific_output! {
    /// `hookSpecificOutput` of SessionStart.
    SessionStartSpecificOutput {
        /// Text added to the model's context.
        additional_context: String,
        /// A first user message to send.
        initial_user_message: String,
        /// Sets the session's title.
        session_title: String,
        /// Paths to watch for FileChanged.
        watch_paths: Vec<String>,
        /// Reload skills.
        reload_skills: bool,
    }
    context: additional_context
}

/// `decision` of a PermissionRequest hook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "behavior", rename_all = "lowercase")]
#[non_exhaustive]
pub enum PermissionRequestDecision {
    /// Allow the call.
    Allow {
        /// The input to run with instead.
        #[serde(
            rename = "updatedInput",
            default,
            skip_serializing_if = "Option::is_none"
        )]
        updated_input: Option<serde_json::Value>,
        /// Rule changes to apply.
        #[serde(
            rename = "updatedPermissions",
            default,
            skip_serializing_if = "Vec::is_empty"
        )]
        updated_permissions: Vec<PermissionUpdate>,
    },
    /// Deny the call.
    Deny {
        /// What the model is told.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
        /// Also end the turn.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        interrupt: bool,
    },
}

specific_output! {
    /// `hookSpecificOutput` of PermissionRequest.
    PermissionRequestSpecificOutput {
        /// The decision.
        decision: PermissionRequestDecision,
    }
}

specific_output! {
    /// `hookSpecificOutput` of PermissionDenied.
    PermissionDeniedSpecificOutput {
        /// Let the model retry the call.
        retry: bool,
    }
}

specific_output! {
    /// `hookSpecificOutput` of PreModelSwitch.
    PreModelSwitchSpecificOutput {
        /// Allow, deny or ask.
        permission_decision: PermissionDecision,
        /// Why.
        permission_decision_reason: String,
    }
}

/// `action` of an elicitation answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ElicitationAction {
    /// Submit `content`.
    Accept,
    /// Refuse.
    Decline,
    /// Dismiss.
    Cancel,
}

specific_output! {
    /// `hookSpecificOutput` of Elicitation and ElicitationResult.
    ElicitationSpecificOutput {
        /// Accept, decline or cancel.
        action: ElicitationAction,
        /// The form content on accept.
        content: serde_json::Value,
    }
}

specific_output! {
    /// `hookSpecificOutput` of CwdChanged and FileChanged.
    WatchPathsOutput {
        /// Paths to watch for FileChanged.
        watch_paths: Vec<String>,
    }
}

specific_output! {
    /// `hookSpecificOutput` of WorktreeCreate.
    WorktreeCreateSpecificOutput {
        /// Where the worktree was created.
        worktree_path: String,
    }
}

specific_output! {
    /// `hookSpecificOutput` of MessageDisplay.
    MessageDisplaySpecificOutput {
        /// The text to display instead.
        display_content: String,
    }
}

specific_output! {
    /// Events without a `hookSpecificOutput` of their own.
    NoSpecificOutput {}
}
