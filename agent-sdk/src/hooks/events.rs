//! The hook events (spec section 5.1): one marker type per event, tying its
//! name on the wire to its input and output types, generated from one table.
//!
//! Which events the pinned CLI (2.1.330) actually calls SDK callbacks for, observed in
//! stream-json mode: `UserPromptSubmit`, `PreToolUse`, `PostToolUse`, `PermissionRequest`,
//! `PostToolBatch` and `Stop`. A registered `SessionStart` callback was **not** called in a
//! fresh session, nor were `PermissionDenied` (after a `can_use_tool` deny),
//! `PostToolUseFailure`, `Notification`, `Setup` or `InstructionsLoaded` in our probe.
//! The other events are typed from the CLI's TypeScript SDK types; they may fire in
//! situations not recorded yet (subagents, compaction, MCP elicitation, ...).

use super::event::HookEvent;
use super::inputs::*;
use super::matcher::HookMatcher;
use super::outputs::*;

/// What the rustdoc of an event says about whether the pinned CLI calls it.
macro_rules! observed {
    (fired) => {
        "**Fired** for SDK callbacks by the pinned CLI (2.1.330) in stream-json mode (observed)."
    };
    (unseen) => {
        "Not observed firing for SDK callbacks with the pinned CLI (2.1.330); typed from the \
         CLI's SDK types."
    };
    // The row's own rustdoc says it.
    (noted) => {
        ""
    };
}

/// One row per event:
///
/// ```text
/// /// <what it does, continuing "Hook event `Name`:">
/// Name: NameInput -> NameOutput(HookSpecificOutputType), <fired|unseen|noted>[, r#"<example body>"#];
/// ```
///
/// generates the marker type `Name` with its rustdoc and example (the body defaults to
/// `Ok(NameOutput::none())`), its `any()`/`matching()` matchers, its [`HookEvent`] impl,
/// the alias `NameOutput = HookOutput<Name>`, and [`ALL_EVENT_NAMES`] in table order.
macro_rules! hook_events {
    ($(
        $(#[doc = $doc:literal])*
        $name:ident: $input:ident -> $output:ident($specific:ident), $observed:ident
        $(, $example:literal)?;
    )*) => {
        /// Every event name of spec section 5.1, in its order.
        ///
        /// ```
        /// assert!(agent_sdk::hooks::ALL_EVENT_NAMES.contains(&"PreToolUse"));
        /// ```
        pub const ALL_EVENT_NAMES: [&str; [$(stringify!($name)),*].len()] = [$(stringify!($name)),*];

        $(hook_events!(@row
            $(#[doc = $doc])*
            $name: $input -> $output($specific), $observed, [$($example)?]
        );)*
    };
    (@row
        $(#[doc = $doc:literal])*
        $name:ident: $input:ident -> $output:ident($specific:ident), $observed:ident, []
    ) => {
        hook_events!(@event
            $(#[doc = $doc])*
            $name: $input -> $output($specific), $observed,
            concat!(
                "let _ = &input.session_id; // the fields every input has\n        Ok(",
                stringify!($output),
                "::none())"
            )
        );
    };
    (@row
        $(#[doc = $doc:literal])*
        $name:ident: $input:ident -> $output:ident($specific:ident), $observed:ident, [$example:literal]
    ) => {
        hook_events!(@event
            $(#[doc = $doc])*
            $name: $input -> $output($specific), $observed, $example
        );
    };
    (@event
        $(#[doc = $doc:literal])*
        $name:ident: $input:ident -> $output:ident($specific:ident), $observed:ident,
        $example:expr
    ) => {
        #[doc = concat!("Hook event `", stringify!($name), "`:")]
        $(#[doc = $doc])*
        ///
        #[doc = observed!($observed)]
        ///
        #[doc = concat!(
            "Input: [`", stringify!($input), "`]; output: [`", stringify!($output),
            "`] (`hookSpecificOutput`: [`", stringify!($specific), "`])."
        )]
        ///
        /// ```
        /// use agent_sdk::prelude::*;
        #[doc = concat!(
            "use agent_sdk::hooks::{", stringify!($name), ", ", stringify!($input), ", ",
            stringify!($output), "};"
        )]
        ///
        /// let options = AgentOptions::builder()
        #[doc = concat!(
            "    .hook(", stringify!($name), ", |input: ", stringify!($input),
            ", _ctx: HookContext| async move {"
        )]
        #[doc = concat!("        ", $example)]
        ///     })
        ///     .build()
        ///     .unwrap();
        /// # let _ = options;
        /// ```
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
        pub struct $name;

        impl $name {
            /// A matcher for every call of this event (`matcher: null`).
            pub fn any() -> HookMatcher<Self> {
                HookMatcher::any()
            }

            /// A matcher for calls whose tool name matches `pattern` (`"Bash"`, `"Write|Edit"`,
            /// `"mcp__calc__.*"`), as the CLI reads it.
            pub fn matching(pattern: impl Into<String>) -> HookMatcher<Self> {
                HookMatcher::matching(pattern)
            }
        }

        impl HookEvent for $name {
            const NAME: &'static str = stringify!($name);
            type Input = $input;
            type Specific = $specific;
        }

        #[doc = concat!("The output of a [`", stringify!($name), "`] hook.")]
        pub type $output = HookOutput<$name>;
    };
}

hook_events! {
    /// runs before a tool runs; can allow, deny, ask or rewrite the input.
    PreToolUse: PreToolUseInput -> PreToolUseOutput(PreToolUseSpecificOutput), fired,
        r#"Ok(PreToolUseOutput::allow_because(format!("{} is allowed here", input.tool_name)))"#;
    /// runs after a tool ran; sees `tool_response`, can add context or replace the output.
    PostToolUse: PostToolUseInput -> PostToolUseOutput(PostToolUseSpecificOutput), fired,
        r#"Ok(PostToolUseOutput::additional_context(format!("{} was checked", input.tool_name)))"#;
    /// runs after a tool failed.
    ///
    /// **Not called** by the pinned CLI (2.1.330) for a call denied by `can_use_tool` (observed);
    /// typed from the CLI's SDK types for real tool failures.
    PostToolUseFailure: PostToolUseFailureInput -> PostToolUseFailureOutput(AdditionalContextOutput), noted,
        r#"Ok(PostToolUseFailureOutput::additional_context(format!("it failed: {}", input.error)))"#;
    /// runs after all tool calls of one model turn ran.
    PostToolBatch: PostToolBatchInput -> PostToolBatchOutput(AdditionalContextOutput), fired,
        r#"Ok(PostToolBatchOutput::additional_context(format!("{} calls ran", input.tool_calls.len())))"#;
    /// runs when the CLI shows a notification.
    ///
    /// Not called in our probes of the pinned CLI (2.1.330) in stream-json mode; typed from the
    /// CLI's SDK types.
    Notification: NotificationInput -> NotificationOutput(AdditionalContextOutput), noted;
    /// runs when a prompt is submitted, before the model sees it; can add context.
    UserPromptSubmit: UserPromptSubmitInput -> UserPromptSubmitOutput(UserPromptSubmitSpecificOutput), fired,
        r#"Ok(UserPromptSubmitOutput::additional_context("today is Monday"))"#;
    /// runs when a slash command or MCP prompt expands.
    UserPromptExpansion: UserPromptExpansionInput -> UserPromptExpansionOutput(UserPromptExpansionSpecificOutput), unseen;
    /// runs when a session starts, resumes, clears or compacts.
    ///
    /// **Not called** for an SDK callback in a fresh stream-json session with the pinned CLI
    /// (2.1.330, observed); it may fire on resume, clear or compact.
    SessionStart: SessionStartInput -> SessionStartOutput(SessionStartSpecificOutput), noted,
        r#"Ok(SessionStartOutput::additional_context(format!("session source: {}", input.source)))"#;
    /// runs when the session ends.
    SessionEnd: SessionEndInput -> SessionEndOutput(NoSpecificOutput), unseen;
    /// runs when the agent is about to end its turn; `block` makes it go on.
    Stop: StopInput -> StopOutput(AdditionalContextOutput), fired,
        r#"if input.stop_hook_active { Ok(StopOutput::none()) } else { Ok(StopOutput::block("run the tests first")) }"#;
    /// runs when the turn ends with an API error.
    StopFailure: StopFailureInput -> StopFailureOutput(NoSpecificOutput), unseen;
    /// runs when a subagent starts.
    SubagentStart: SubagentStartInput -> SubagentStartOutput(AdditionalContextOutput), unseen;
    /// runs when a subagent is about to finish; `block` makes it go on.
    SubagentStop: SubagentStopInput -> SubagentStopOutput(AdditionalContextOutput), unseen,
        r#"if input.stop_hook_active { Ok(SubagentStopOutput::none()) } else { Ok(SubagentStopOutput::block("check the result")) }"#;
    /// runs before the conversation is compacted.
    PreCompact: PreCompactInput -> PreCompactOutput(NoSpecificOutput), unseen;
    /// runs after the conversation was compacted.
    PostCompact: PostCompactInput -> PostCompactOutput(NoSpecificOutput), unseen;
    /// runs before the model changes; can allow, deny or ask.
    PreModelSwitch: PreModelSwitchInput -> PreModelSwitchOutput(PreModelSwitchSpecificOutput), unseen;
    /// runs after the model changed.
    PostModelSwitch: PostModelSwitchInput -> PostModelSwitchOutput(AdditionalContextOutput), unseen;
    /// runs when the CLI is about to ask for a permission; can decide instead.
    PermissionRequest: PermissionRequestInput -> PermissionRequestOutput(PermissionRequestSpecificOutput), fired,
        r#"if input.tool_name == "Bash" { Ok(PermissionRequestOutput::deny("no shell")) } else { Ok(PermissionRequestOutput::allow(None)) }"#;
    /// runs after a tool call was denied; can let the model retry.
    ///
    /// **Not called** by the pinned CLI (2.1.330) when `can_use_tool` denies a call (observed in
    /// our probe); it may fire for classifier/auto-mode denials.
    PermissionDenied: PermissionDeniedInput -> PermissionDeniedOutput(PermissionDeniedSpecificOutput), noted,
        r#"Ok(PermissionDeniedOutput::retry())"#;
    /// runs on repository setup or maintenance.
    ///
    /// Not called in our probes of the pinned CLI (2.1.330) in stream-json mode; typed from the
    /// CLI's SDK types.
    Setup: SetupInput -> SetupOutput(AdditionalContextOutput), noted;
    /// runs when a teammate agent has nothing to do.
    TeammateIdle: TeammateIdleInput -> TeammateIdleOutput(NoSpecificOutput), unseen;
    /// runs when a task is added to the task list.
    TaskCreated: TaskCreatedInput -> TaskCreatedOutput(NoSpecificOutput), unseen;
    /// runs when a task is about to be marked done.
    TaskCompleted: TaskCompletedInput -> TaskCompletedOutput(NoSpecificOutput), unseen;
    /// runs when an MCP server asks the user for input; can answer for the user.
    Elicitation: ElicitationInput -> ElicitationOutput(ElicitationSpecificOutput), unseen,
        r#"Ok(ElicitationOutput::decline())"#;
    /// runs after the user answered an elicitation.
    ElicitationResult: ElicitationResultInput -> ElicitationResultOutput(ElicitationSpecificOutput), unseen;
    /// runs when a settings file changes.
    ConfigChange: ConfigChangeInput -> ConfigChangeOutput(NoSpecificOutput), unseen;
    /// runs when a git worktree is to be created.
    WorktreeCreate: WorktreeCreateInput -> WorktreeCreateOutput(WorktreeCreateSpecificOutput), unseen;
    /// runs when a git worktree is to be removed.
    WorktreeRemove: WorktreeRemoveInput -> WorktreeRemoveOutput(NoSpecificOutput), unseen;
    /// runs when a memory file (CLAUDE.md, rules) is loaded.
    ///
    /// Not called in our probes of the pinned CLI (2.1.330) in stream-json mode (no CLAUDE.md
    /// present); typed from the CLI's SDK types.
    InstructionsLoaded: InstructionsLoadedInput -> InstructionsLoadedOutput(NoSpecificOutput), noted;
    /// runs when the working directory changes.
    CwdChanged: CwdChangedInput -> CwdChangedOutput(WatchPathsOutput), unseen;
    /// runs when a watched file changes.
    FileChanged: FileChangedInput -> FileChangedOutput(WatchPathsOutput), unseen;
    /// runs when a working directory is added.
    DirectoryAdded: DirectoryAddedInput -> DirectoryAddedOutput(NoSpecificOutput), unseen;
    /// runs when assistant text is about to be displayed.
    MessageDisplay: MessageDisplayInput -> MessageDisplayOutput(MessageDisplaySpecificOutput), unseen;
}
