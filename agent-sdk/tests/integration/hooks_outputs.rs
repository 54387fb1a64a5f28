//! Every hook output serializes to the recorded wire form (`e_hooks`) or, for events not
//! recorded, to the form of spec 5.3.

use std::time::Duration;

use agent_sdk::hooks::*;
use agent_sdk::permission::{PermissionBehavior, PermissionRuleValue, PermissionUpdate};
use agent_sdk::tool_inputs::BashInput;
use serde::Serialize;
use serde_json::{Value, json};

fn wire<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap()
}

/// The `response.response` payloads the Python SDK sent in `e_hooks`, in order.
fn recorded_answers() -> Vec<Value> {
    let path = format!("{}/tests/data/e_hooks.jsonl", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|record| record["dir"] == "sdk->cli")
        .map(|record| record["msg"].clone())
        .filter(|msg| msg["type"] == "control_response")
        .map(|msg| msg["response"]["response"].clone())
        .filter(|payload| {
            payload.get("mcp_response").is_none() && payload.get("commands").is_none()
        })
        .collect()
}

#[test]
fn outputs_serialize_to_the_recorded_answers() {
    let ours = vec![
        wire(&UserPromptSubmitOutput::additional_context(
            "USERPROMPTSUBMIT-CONTEXT",
        )),
        wire(&PreToolUseOutput::allow_because("calc add is fine")),
        wire(&PreToolUseOutput::none()),
        wire(&PostToolUseOutput::additional_context(
            "POSTTOOLUSE-CONTEXT",
        )),
        wire(&PreToolUseOutput::deny("Bash denied by PreToolUse hook")),
        wire(&PreToolUseOutput::none()),
        wire(&PostToolUseOutput::additional_context(
            "POSTTOOLUSE-CONTEXT",
        )),
        wire(&StopOutput::block("Stop hook says: keep going once more")),
        wire(&StopOutput::none()),
    ];
    assert_eq!(ours, recorded_answers());
}

#[test]
fn common_keys_use_the_wire_spelling() {
    let stop = PreToolUseOutput::stop_session("budget exhausted")
        .with_system_message("stopping")
        .with_suppressed_output();
    assert_eq!(
        wire(&stop),
        json!({"continue": false, "stopReason": "budget exhausted",
               "systemMessage": "stopping", "suppressOutput": true})
    );
    assert_eq!(
        wire(&NotificationOutput::run_async(Some(Duration::from_secs(2)))),
        json!({"async": true, "asyncTimeout": 2000})
    );
    assert_eq!(
        wire(&SessionEndOutput::none().with_extra("terminalSequence", json!("\u{1b}]9;done\u{7}"))),
        json!({"terminalSequence": "\u{1b}]9;done\u{7}"})
    );
    assert_eq!(
        wire(&PostToolUseOutput::block("fix the lint first")),
        json!({"decision": "block", "reason": "fix the lint first"})
    );
}

#[test]
fn pre_tool_use_outputs() {
    assert_eq!(
        wire(&PreToolUseOutput::ask("check with a human")),
        json!({"hookSpecificOutput": {"hookEventName": "PreToolUse",
            "permissionDecision": "ask", "permissionDecisionReason": "check with a human"}})
    );
    assert_eq!(
        wire(&PreToolUseOutput::defer()),
        json!({"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "defer"}})
    );
    let mut bash = BashInput::default();
    bash.command = "ls -la".into();
    bash.description = Some("list".into());
    assert_eq!(
        wire(&PreToolUseOutput::allow_with_input(&bash).with_additional_context("rewritten")),
        json!({"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "allow",
            "updatedInput": {"command": "ls -la", "description": "list"},
            "additionalContext": "rewritten"}})
    );
}

#[test]
fn event_specific_outputs() {
    assert_eq!(
        wire(
            &PostToolUseOutput::none()
                .with_updated_mcp_tool_output(json!([{"type": "text", "text": "42"}]))
        ),
        json!({"hookSpecificOutput": {"hookEventName": "PostToolUse",
            "updatedMCPToolOutput": [{"type": "text", "text": "42"}]}})
    );
    assert_eq!(
        wire(&PostToolUseOutput::none().with_updated_tool_output(json!("redacted"))),
        json!({"hookSpecificOutput": {"hookEventName": "PostToolUse", "updatedToolOutput": "redacted"}})
    );
    for (out, event) in [
        (
            wire(&PostToolUseFailureOutput::additional_context("c")),
            "PostToolUseFailure",
        ),
        (
            wire(&PostToolBatchOutput::additional_context("c")),
            "PostToolBatch",
        ),
        (
            wire(&NotificationOutput::additional_context("c")),
            "Notification",
        ),
        (
            wire(&SubagentStartOutput::additional_context("c")),
            "SubagentStart",
        ),
        (wire(&StopOutput::additional_context("c")), "Stop"),
        (
            wire(&SubagentStopOutput::additional_context("c")),
            "SubagentStop",
        ),
        (
            wire(&PostModelSwitchOutput::additional_context("c")),
            "PostModelSwitch",
        ),
        (wire(&SetupOutput::additional_context("c")), "Setup"),
        (
            wire(&SessionStartOutput::additional_context("c")),
            "SessionStart",
        ),
        (
            wire(&UserPromptExpansionOutput::additional_context("c")),
            "UserPromptExpansion",
        ),
    ] {
        assert_eq!(
            out,
            json!({"hookSpecificOutput": {"hookEventName": event, "additionalContext": "c"}})
        );
    }
    let mut title = UserPromptSubmitSpecificOutput::default();
    title.session_title = Some("Refactor".into());
    title.suppress_original_prompt = Some(true);
    assert_eq!(
        wire(&UserPromptSubmitOutput::specific(title)),
        json!({"hookSpecificOutput": {"hookEventName": "UserPromptSubmit",
            "sessionTitle": "Refactor", "suppressOriginalPrompt": true}})
    );
    let mut start = SessionStartSpecificOutput::default();
    start.watch_paths = Some(vec![".env".into()]);
    start.initial_user_message = Some("hi".into());
    assert_eq!(
        wire(&SessionStartOutput::specific(start)),
        json!({"hookSpecificOutput": {"hookEventName": "SessionStart",
            "initialUserMessage": "hi", "watchPaths": [".env"]}})
    );
    assert_eq!(
        wire(&PermissionDeniedOutput::retry()),
        json!({"hookSpecificOutput": {"hookEventName": "PermissionDenied", "retry": true}})
    );
    let mut switch = PreModelSwitchSpecificOutput::default();
    switch.permission_decision = Some(PermissionDecision::Deny);
    switch.permission_decision_reason = Some("stay on sonnet".into());
    assert_eq!(
        wire(&PreModelSwitchOutput::specific(switch)),
        json!({"hookSpecificOutput": {"hookEventName": "PreModelSwitch",
            "permissionDecision": "deny", "permissionDecisionReason": "stay on sonnet"}})
    );
    assert_eq!(
        wire(&ElicitationOutput::accept(json!({"repo": "x/y"}))),
        json!({"hookSpecificOutput": {"hookEventName": "Elicitation", "action": "accept", "content": {"repo": "x/y"}}})
    );
    assert_eq!(
        wire(&ElicitationOutput::decline()),
        json!({"hookSpecificOutput": {"hookEventName": "Elicitation", "action": "decline"}})
    );
    let mut watch = WatchPathsOutput::default();
    watch.watch_paths = Some(vec!["Cargo.toml".into()]);
    assert_eq!(
        wire(&FileChangedOutput::specific(watch.clone())),
        json!({"hookSpecificOutput": {"hookEventName": "FileChanged", "watchPaths": ["Cargo.toml"]}})
    );
    assert_eq!(
        wire(&CwdChangedOutput::specific(watch)),
        json!({"hookSpecificOutput": {"hookEventName": "CwdChanged", "watchPaths": ["Cargo.toml"]}})
    );
    let mut worktree = WorktreeCreateSpecificOutput::default();
    worktree.worktree_path = Some("/tmp/wt".into());
    assert_eq!(
        wire(&WorktreeCreateOutput::specific(worktree)),
        json!({"hookSpecificOutput": {"hookEventName": "WorktreeCreate", "worktreePath": "/tmp/wt"}})
    );
    let mut display = MessageDisplaySpecificOutput::default();
    display.display_content = Some("**hi**".into());
    assert_eq!(
        wire(&MessageDisplayOutput::specific(display)),
        json!({"hookSpecificOutput": {"hookEventName": "MessageDisplay", "displayContent": "**hi**"}})
    );
    // Events without a specific output still have the common keys.
    assert_eq!(
        wire(&PreCompactOutput::block("not now")),
        json!({"decision": "block", "reason": "not now"})
    );
}

#[test]
fn permission_request_hook_decisions() {
    assert_eq!(
        wire(&PermissionRequestOutput::allow(None)),
        json!({"hookSpecificOutput": {"hookEventName": "PermissionRequest", "decision": {"behavior": "allow"}}})
    );
    assert_eq!(
        wire(&PermissionRequestOutput::deny("no")),
        json!({"hookSpecificOutput": {"hookEventName": "PermissionRequest",
            "decision": {"behavior": "deny", "message": "no"}}})
    );
    let mut specific = PermissionRequestSpecificOutput::default();
    specific.decision = Some(PermissionRequestDecision::Allow {
        updated_input: Some(json!({"command": "ls"})),
        updated_permissions: vec![PermissionUpdate::add_rules(
            vec![PermissionRuleValue::with_content("Bash", "ls")],
            PermissionBehavior::Allow,
        )],
    });
    assert_eq!(
        wire(&PermissionRequestOutput::specific(specific)),
        json!({"hookSpecificOutput": {"hookEventName": "PermissionRequest", "decision": {
            "behavior": "allow", "updatedInput": {"command": "ls"},
            "updatedPermissions": [{"type": "addRules", "destination": "session",
                "rules": [{"toolName": "Bash", "ruleContent": "ls"}], "behavior": "allow"}]}}})
    );
}
