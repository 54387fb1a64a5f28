//! Constructors of the outputs of particular events: a PreToolUse decision, a
//! PermissionRequest answer, a PermissionDenied retry, an elicitation answer.

use super::events::{Elicitation, PermissionDenied, PermissionRequest, PostToolUse, PreToolUse};
use super::outputs::{
    ElicitationAction, ElicitationSpecificOutput, HookOutput, PermissionDecision,
    PermissionDeniedSpecificOutput, PermissionRequestDecision, PermissionRequestSpecificOutput,
    PreToolUseSpecificOutput,
};
use crate::tool_inputs::ToolInput;

impl HookOutput<PreToolUse> {
    fn decision(decision: PermissionDecision, reason: Option<String>) -> Self {
        Self::specific(PreToolUseSpecificOutput {
            permission_decision: Some(decision),
            permission_decision_reason: reason,
            ..Default::default()
        })
    }

    /// `permissionDecision: "allow"`: run the tool without asking.
    pub fn allow() -> Self {
        Self::decision(PermissionDecision::Allow, None)
    }

    /// Allow, with a reason.
    ///
    /// ```
    /// use agent_sdk::hooks::PreToolUseOutput;
    /// let out = PreToolUseOutput::allow_because("calc add is fine");
    /// assert_eq!(
    ///     serde_json::to_value(&out).unwrap(),
    ///     serde_json::json!({"hookSpecificOutput": {"hookEventName": "PreToolUse",
    ///         "permissionDecision": "allow", "permissionDecisionReason": "calc add is fine"}})
    /// );
    /// ```
    pub fn allow_because(reason: impl Into<String>) -> Self {
        Self::decision(PermissionDecision::Allow, Some(reason.into()))
    }

    /// `permissionDecision: "deny"`: the tool does not run and the model sees `reason`.
    pub fn deny(reason: impl Into<String>) -> Self {
        Self::decision(PermissionDecision::Deny, Some(reason.into()))
    }

    /// `permissionDecision: "ask"`: go through the usual permission check, with `reason`.
    pub fn ask(reason: impl Into<String>) -> Self {
        Self::decision(PermissionDecision::Ask, Some(reason.into()))
    }

    /// `permissionDecision: "defer"`: end the run, handing the call back in `result.deferred_tool_use`.
    pub fn defer() -> Self {
        Self::decision(PermissionDecision::Defer, None)
    }

    /// Allow and run the tool with `input` instead of the model's.
    ///
    /// ```
    /// use agent_sdk::hooks::PreToolUseOutput;
    /// use agent_sdk::tool_inputs::BashInput;
    /// let mut bash = BashInput::default();
    /// bash.command = "ls -la".into();
    /// let out = PreToolUseOutput::allow_with_input(&bash);
    /// let wire = serde_json::to_value(&out).unwrap();
    /// assert_eq!(wire["hookSpecificOutput"]["updatedInput"], serde_json::json!({"command": "ls -la"}));
    /// ```
    pub fn allow_with_input<T: ToolInput>(input: &T) -> Self {
        Self::allow().with_updated_input(input.to_value())
    }

    /// Sets `updatedInput`.
    pub fn with_updated_input(mut self, input: serde_json::Value) -> Self {
        self.specific_mut().updated_input = Some(input);
        self
    }
}

impl HookOutput<PostToolUse> {
    /// Replaces the tool output the model sees (`updatedToolOutput`).
    pub fn with_updated_tool_output(mut self, output: serde_json::Value) -> Self {
        self.specific_mut().updated_tool_output = Some(output);
        self
    }

    /// Replaces an MCP tool's output (`updatedMCPToolOutput`).
    pub fn with_updated_mcp_tool_output(mut self, output: serde_json::Value) -> Self {
        self.specific_mut().updated_mcp_tool_output = Some(output);
        self
    }
}

impl HookOutput<PermissionRequest> {
    /// Allow the call (optionally with another input).
    pub fn allow(updated_input: Option<serde_json::Value>) -> Self {
        Self::specific(PermissionRequestSpecificOutput {
            decision: Some(PermissionRequestDecision::Allow {
                updated_input,
                updated_permissions: Vec::new(),
            }),
            ..Default::default()
        })
    }

    /// Deny the call with a message for the model.
    pub fn deny(message: impl Into<String>) -> Self {
        Self::specific(PermissionRequestSpecificOutput {
            decision: Some(PermissionRequestDecision::Deny {
                message: Some(message.into()),
                interrupt: false,
            }),
            ..Default::default()
        })
    }
}

impl HookOutput<PermissionDenied> {
    /// Let the model retry the denied call.
    pub fn retry() -> Self {
        Self::specific(PermissionDeniedSpecificOutput {
            retry: Some(true),
            ..Default::default()
        })
    }
}

impl HookOutput<Elicitation> {
    /// Answer the elicitation with `content`.
    pub fn accept(content: serde_json::Value) -> Self {
        Self::specific(ElicitationSpecificOutput {
            action: Some(ElicitationAction::Accept),
            content: Some(content),
            ..Default::default()
        })
    }

    /// Decline the elicitation.
    pub fn decline() -> Self {
        Self::specific(ElicitationSpecificOutput {
            action: Some(ElicitationAction::Decline),
            ..Default::default()
        })
    }
}
