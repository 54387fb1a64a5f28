//! Typed inputs of every hook event (spec section 5.2), snake_case as on the wire.
//!
//! Every input carries the common fields (`session_id`, `transcript_path`, `cwd`, ...)
//! and keeps the fields this SDK does not know in `extra`, so a newer CLI never breaks
//! a hook.

use serde::{Deserialize, Serialize};

use crate::permission::{McpServerRef, PermissionUpdate};
use crate::tool_inputs::ToolInput;

/// Type of the unknown-field map every input keeps.
pub type ExtraFields = serde_json::Map<String, serde_json::Value>;

/// The reasoning effort of the turn, as a hook input reports it (`effort` on the wire).
///
/// ```
/// use agent_sdk::hooks::TurnEffort;
/// let effort: TurnEffort = serde_json::from_value(serde_json::json!({"level": "medium"})).unwrap();
/// assert_eq!(effort.level, "medium");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TurnEffort {
    /// `low`, `medium`, `high`, `xhigh` or `max`.
    pub level: String,
    /// Fields this SDK does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

macro_rules! hook_input {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$fmeta:meta])* $field:ident : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[non_exhaustive]
        pub struct $name {
            /// The session's id.
            pub session_id: String,
            /// Path of the session's transcript file.
            pub transcript_path: String,
            /// The working directory.
            pub cwd: String,
            /// The permission mode (`default`, `acceptEdits`, ...).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub permission_mode: Option<String>,
            /// The id of the user prompt this event belongs to.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub prompt_id: Option<String>,
            /// The reasoning effort of the turn.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub effort: Option<TurnEffort>,
            /// The subagent's id, inside a subagent.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub agent_id: Option<String>,
            /// The subagent's type, inside a subagent.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub agent_type: Option<String>,
            /// The event's name, e.g. `PreToolUse`.
            pub hook_event_name: String,
            $( $(#[$fmeta])* pub $field: $ty, )*
            /// Fields this SDK does not know, kept as sent.
            #[serde(flatten)]
            pub extra: ExtraFields,
        }
    };
}

macro_rules! tool_input_as {
    ($($name:ident),*) => {$(
        impl $name {
            /// The tool input parsed as the typed input of a built-in tool, when the
            /// tool is that one (`None` for another tool or an input that does not fit).
            pub fn tool_input_as<T: ToolInput>(&self) -> Option<T> {
                T::from_value(&self.tool_name, &self.tool_input)
            }
        }
    )*};
}

hook_input! {
    /// Input of [`PreToolUse`](super::PreToolUse): a tool is about to run.
    PreToolUseInput {
        /// The tool, e.g. `Bash` or `mcp__calc__add`.
        tool_name: String,
        /// The tool's input.
        tool_input: serde_json::Value,
        /// The id of the `tool_use` block.
        tool_use_id: String,
        /// The MCP server of an MCP tool.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mcp_server: Option<McpServerRef>,
    }
}

hook_input! {
    /// Input of [`PostToolUse`](super::PostToolUse): a tool ran.
    PostToolUseInput {
        /// The tool.
        tool_name: String,
        /// The tool's input.
        tool_input: serde_json::Value,
        /// What the tool returned (for MCP tools, the content blocks).
        tool_response: serde_json::Value,
        /// The id of the `tool_use` block.
        tool_use_id: String,
        /// How long the tool ran.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duration_ms: Option<u64>,
        /// The MCP server of an MCP tool.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mcp_server: Option<McpServerRef>,
    }
}

hook_input! {
    /// Input of [`PostToolUseFailure`](super::PostToolUseFailure): a tool failed.
    PostToolUseFailureInput {
        /// The tool.
        tool_name: String,
        /// The tool's input.
        tool_input: serde_json::Value,
        /// The id of the `tool_use` block.
        tool_use_id: String,
        /// The error text.
        error: String,
        /// True when the failure is an interrupt.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        is_interrupt: Option<bool>,
        /// How long the tool ran.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duration_ms: Option<u64>,
        /// The MCP server of an MCP tool.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mcp_server: Option<McpServerRef>,
    }
}

/// One call of a [`PostToolBatchInput`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ToolCallSummary {
    /// The tool.
    pub tool_name: String,
    /// The tool's input.
    pub tool_input: serde_json::Value,
    /// The id of the `tool_use` block.
    pub tool_use_id: String,
    /// What the tool returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_response: Option<serde_json::Value>,
    /// Fields this SDK does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

hook_input! {
    /// Input of [`PostToolBatch`](super::PostToolBatch): every tool call of one model turn ran.
    PostToolBatchInput {
        /// The calls of the batch.
        #[serde(default)]
        tool_calls: Vec<ToolCallSummary>,
    }
}

hook_input! {
    /// Input of [`PermissionRequest`](super::PermissionRequest): the CLI is about to ask for a permission.
    PermissionRequestInput {
        /// The tool.
        tool_name: String,
        /// The tool's input.
        tool_input: serde_json::Value,
        /// Updates the CLI suggests for "always allow".
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        permission_suggestions: Vec<PermissionUpdate>,
        /// The MCP server of an MCP tool.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mcp_server: Option<McpServerRef>,
    }
}

hook_input! {
    /// Input of [`PermissionDenied`](super::PermissionDenied): a tool call was denied.
    PermissionDeniedInput {
        /// The tool.
        tool_name: String,
        /// The tool's input.
        tool_input: serde_json::Value,
        /// The id of the `tool_use` block.
        tool_use_id: String,
        /// Why it was denied.
        reason: String,
        /// The MCP server of an MCP tool.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mcp_server: Option<McpServerRef>,
    }
}

tool_input_as!(
    PreToolUseInput,
    PostToolUseInput,
    PostToolUseFailureInput,
    PermissionRequestInput,
    PermissionDeniedInput
);

hook_input! {
    /// Input of [`UserPromptSubmit`](super::UserPromptSubmit): a prompt is about to reach the model.
    UserPromptSubmitInput {
        /// The prompt text.
        prompt: String,
        /// Where it came from: `user`, `sdk`, `system`, `loop_wakeup`, `schedule_wakeup`, `poll_event`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        source: Option<String>,
        /// The session's title.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session_title: Option<String>,
    }
}

hook_input! {
    /// Input of [`UserPromptExpansion`](super::UserPromptExpansion): a slash command or MCP prompt expands.
    UserPromptExpansionInput {
        /// `slash_command` or `mcp_prompt`.
        expansion_type: String,
        /// The command's name.
        command_name: String,
        /// The command's arguments.
        command_args: String,
        /// Where the command is defined.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        command_source: Option<String>,
        /// The expanded prompt.
        prompt: String,
    }
}

/// A background task listed in a [`StopInput`] or [`SubagentStopInput`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BackgroundTask {
    /// The task's id.
    pub id: String,
    /// The kind of task (`type` on the wire).
    #[serde(rename = "type")]
    pub task_type: String,
    /// Its status.
    pub status: String,
    /// What it does.
    pub description: String,
    /// Fields this SDK does not know (`command`, `agent_type`, `server`, `tool`, `name`, ...).
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// A scheduled prompt listed in a [`StopInput`] or [`SubagentStopInput`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SessionCron {
    /// The cron's id.
    pub id: String,
    /// Its schedule.
    pub schedule: String,
    /// True when it repeats.
    pub recurring: bool,
    /// The prompt it sends.
    pub prompt: String,
    /// Fields this SDK does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

hook_input! {
    /// Input of [`Stop`](super::Stop): the agent is about to end its turn.
    StopInput {
        /// True when the agent already continues because of a Stop hook (avoid loops).
        stop_hook_active: bool,
        /// The text of the last assistant message.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_assistant_message: Option<String>,
        /// Background tasks still running.
        #[serde(default)]
        background_tasks: Vec<BackgroundTask>,
        /// Scheduled prompts of the session.
        #[serde(default)]
        session_crons: Vec<SessionCron>,
    }
}

hook_input! {
    /// Input of [`StopFailure`](super::StopFailure): the turn ended with an API error.
    StopFailureInput {
        /// The error kind (e.g. `rate_limit`).
        error: serde_json::Value,
        /// Details of the error.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error_details: Option<serde_json::Value>,
        /// The text of the last assistant message.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_assistant_message: Option<String>,
    }
}

hook_input! {
    /// Input of [`SubagentStart`](super::SubagentStart): a subagent starts
    /// (`agent_id` and `agent_type` are set).
    SubagentStartInput {}
}

hook_input! {
    /// Input of [`SubagentStop`](super::SubagentStop): a subagent is about to finish.
    SubagentStopInput {
        /// True when the subagent already continues because of a hook.
        stop_hook_active: bool,
        /// The subagent's transcript.
        agent_transcript_path: String,
        /// The text of its last assistant message.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_assistant_message: Option<String>,
        /// Background tasks still running.
        #[serde(default)]
        background_tasks: Vec<BackgroundTask>,
        /// Scheduled prompts.
        #[serde(default)]
        session_crons: Vec<SessionCron>,
    }
}

hook_input! {
    /// Input of [`PreCompact`](super::PreCompact): the conversation is about to be compacted.
    PreCompactInput {
        /// `manual` or `auto`.
        trigger: String,
        /// Instructions given with `/compact`.
        #[serde(default)]
        custom_instructions: Option<String>,
    }
}

hook_input! {
    /// Input of [`PostCompact`](super::PostCompact): the conversation was compacted.
    PostCompactInput {
        /// `manual` or `auto`.
        trigger: String,
        /// The summary that replaced the conversation.
        compact_summary: String,
    }
}

hook_input! {
    /// Input of [`Notification`](super::Notification): the CLI shows a notification.
    NotificationInput {
        /// The text.
        message: String,
        /// A title.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
        /// The kind of notification.
        notification_type: String,
    }
}

hook_input! {
    /// Input of [`SessionStart`](super::SessionStart): a session starts, resumes, clears or compacts.
    SessionStartInput {
        /// `startup`, `resume`, `clear`, `compact` or `fork`.
        source: String,
        /// The model.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        model: Option<String>,
        /// The session's title.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session_title: Option<String>,
        /// Seconds since the last model answer (on resume).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seconds_since_last_response: Option<f64>,
        /// Tokens in the context.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        context_tokens: Option<u64>,
        /// True when the prompt cache has likely expired.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prompt_cache_likely_expired: Option<bool>,
        /// Estimated cost of rewriting the cache.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        estimated_cache_write_usd: Option<f64>,
    }
}

hook_input! {
    /// Input of [`SessionEnd`](super::SessionEnd): the session ends.
    SessionEndInput {
        /// `clear`, `resume`, `logout`, `prompt_input_exit` or `other`.
        reason: String,
    }
}

hook_input! {
    /// Input of [`Setup`](super::Setup): repository setup or maintenance.
    SetupInput {
        /// `init` or `maintenance`.
        trigger: String,
    }
}

macro_rules! model_switch_input {
    ($(#[$meta:meta])* $name:ident) => {
        hook_input! {
            $(#[$meta])*
            $name {
                /// The model before the switch.
                #[serde(default, skip_serializing_if = "Option::is_none")]
                from_model: Option<String>,
                /// The model after the switch.
                #[serde(default, skip_serializing_if = "Option::is_none")]
                to_model: Option<String>,
                /// The model as requested.
                #[serde(default, skip_serializing_if = "Option::is_none")]
                requested_model: Option<String>,
                /// What asked for the switch.
                #[serde(default, skip_serializing_if = "Option::is_none")]
                source: Option<String>,
                /// Tokens in the context.
                #[serde(default, skip_serializing_if = "Option::is_none")]
                context_tokens: Option<u64>,
                /// True when the prompt cache is warm.
                #[serde(default, skip_serializing_if = "Option::is_none")]
                prompt_cache_warm: Option<bool>,
                /// The cache's time to live.
                #[serde(default, skip_serializing_if = "Option::is_none")]
                cache_ttl: Option<serde_json::Value>,
                /// Estimated cost of rewriting the cache.
                #[serde(default, skip_serializing_if = "Option::is_none")]
                estimated_cache_write_usd: Option<f64>,
                /// Pricing of the models.
                #[serde(default, skip_serializing_if = "Option::is_none")]
                pricing: Option<serde_json::Value>,
            }
        }
    };
}

model_switch_input!(
    /// Input of [`PreModelSwitch`](super::PreModelSwitch): the model is about to change.
    PreModelSwitchInput
);
model_switch_input!(
    /// Input of [`PostModelSwitch`](super::PostModelSwitch): the model changed.
    PostModelSwitchInput
);

hook_input! {
    /// Input of [`TeammateIdle`](super::TeammateIdle): a teammate agent has nothing to do.
    TeammateIdleInput {
        /// The teammate.
        teammate_name: String,
    }
}

hook_input! {
    /// Input of [`TaskCreated`](super::TaskCreated): a task was added to the task list.
    TaskCreatedInput {
        /// The task's id.
        task_id: String,
        /// Its subject.
        task_subject: String,
        /// Its description.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        task_description: Option<String>,
    }
}

hook_input! {
    /// Input of [`TaskCompleted`](super::TaskCompleted): a task is about to be marked done.
    TaskCompletedInput {
        /// The task's id.
        task_id: String,
        /// Its subject.
        task_subject: String,
        /// Its description.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        task_description: Option<String>,
    }
}

hook_input! {
    /// Input of [`Elicitation`](super::Elicitation): an MCP server asks the user for input.
    ElicitationInput {
        /// The server asking.
        mcp_server_name: String,
        /// What it asks.
        message: String,
        /// `form` or `url`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mode: Option<String>,
        /// The URL to open, in `url` mode.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        url: Option<String>,
        /// The elicitation's id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        elicitation_id: Option<String>,
        /// JSON Schema of the requested form.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        requested_schema: Option<serde_json::Value>,
    }
}

hook_input! {
    /// Input of [`ElicitationResult`](super::ElicitationResult): the user answered an elicitation.
    ElicitationResultInput {
        /// The server that asked.
        mcp_server_name: String,
        /// The elicitation's id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        elicitation_id: Option<String>,
        /// `form` or `url`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mode: Option<String>,
        /// `accept`, `decline` or `cancel`.
        action: String,
        /// The submitted form.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        content: Option<serde_json::Value>,
    }
}

hook_input! {
    /// Input of [`ConfigChange`](super::ConfigChange): a settings file changed.
    ConfigChangeInput {
        /// Which settings source.
        source: String,
        /// The file.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        file_path: Option<String>,
    }
}

hook_input! {
    /// Input of [`WorktreeCreate`](super::WorktreeCreate): a git worktree is to be created.
    WorktreeCreateInput {
        /// The worktree's name.
        name: String,
    }
}

hook_input! {
    /// Input of [`WorktreeRemove`](super::WorktreeRemove): a git worktree is to be removed.
    WorktreeRemoveInput {
        /// Its path.
        worktree_path: String,
    }
}

hook_input! {
    /// Input of [`InstructionsLoaded`](super::InstructionsLoaded): a memory file (CLAUDE.md, rules) was loaded.
    InstructionsLoadedInput {
        /// The file.
        file_path: String,
        /// The kind of memory.
        memory_type: String,
        /// Why it was loaded.
        load_reason: String,
        /// Path globs the file applies to.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        globs: Option<Vec<String>>,
        /// The file whose access triggered the load.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        trigger_file_path: Option<String>,
        /// The file that included this one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parent_file_path: Option<String>,
    }
}

hook_input! {
    /// Input of [`CwdChanged`](super::CwdChanged): the working directory changed.
    CwdChangedInput {
        /// Before.
        old_cwd: String,
        /// After.
        new_cwd: String,
    }
}

hook_input! {
    /// Input of [`FileChanged`](super::FileChanged): a watched file changed.
    FileChangedInput {
        /// The file.
        file_path: String,
        /// `change`, `add` or `unlink`.
        event: String,
    }
}

hook_input! {
    /// Input of [`DirectoryAdded`](super::DirectoryAdded): a working directory was added.
    DirectoryAddedInput {
        /// The directory.
        directory: String,
        /// Where the addition came from.
        source: String,
    }
}

hook_input! {
    /// Input of [`MessageDisplay`](super::MessageDisplay): assistant text is about to be displayed.
    MessageDisplayInput {
        /// The turn.
        turn_id: String,
        /// The message.
        message_id: String,
        /// The block index.
        index: u64,
        /// True for the last delta (`final` on the wire).
        #[serde(rename = "final")]
        is_final: bool,
        /// The text delta.
        delta: serde_json::Value,
    }
}
