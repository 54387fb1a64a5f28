//! Permission types on the wire: `PermissionUpdate` per spec section 6, `PermissionResult`
//! answers, and typed requests.

use agent_sdk::permission::*;
use agent_sdk::prelude::PermissionMode;
use agent_sdk::tool_inputs::{BashInput, EditInput, ToolInput};
use serde_json::{Value, json};

fn wire(update: &PermissionUpdate) -> Value {
    serde_json::to_value(update).unwrap()
}

#[test]
fn updates_serialize_per_spec() {
    let rules = vec![
        PermissionRuleValue::tool("Read"),
        PermissionRuleValue::with_content("Bash", "npm test"),
    ];
    // Destination defaults to session; a whole-tool rule has no ruleContent (not null).
    assert_eq!(
        wire(&PermissionUpdate::add_rules(
            rules.clone(),
            PermissionBehavior::Deny
        )),
        json!({"type": "addRules", "destination": "session", "behavior": "deny",
               "rules": [{"toolName": "Read"}, {"toolName": "Bash", "ruleContent": "npm test"}]})
    );
    let replace = PermissionUpdate::ReplaceRules {
        rules: rules.clone(),
        behavior: PermissionBehavior::Ask,
        destination: PermissionUpdateDestination::ProjectSettings,
    };
    assert_eq!(wire(&replace)["type"], "replaceRules");
    assert_eq!(wire(&replace)["destination"], "projectSettings");
    assert_eq!(wire(&replace)["behavior"], "ask");
    let remove = PermissionUpdate::RemoveRules {
        rules,
        behavior: PermissionBehavior::Allow,
        destination: PermissionUpdateDestination::UserSettings,
    };
    assert_eq!(wire(&remove)["type"], "removeRules");
    assert_eq!(wire(&remove)["destination"], "userSettings");
    assert_eq!(
        wire(&PermissionUpdate::set_mode(PermissionMode::AcceptEdits)),
        json!({"type": "setMode", "destination": "session", "mode": "acceptEdits"})
    );
    assert_eq!(
        wire(
            &PermissionUpdate::add_directories(vec!["/srv/a".into()])
                .with_destination(PermissionUpdateDestination::CliArg)
        ),
        json!({"type": "addDirectories", "destination": "cliArg", "directories": ["/srv/a"]})
    );
    let remove_dirs = PermissionUpdate::RemoveDirectories {
        directories: vec!["/tmp".into()],
        destination: PermissionUpdateDestination::LocalSettings,
    };
    assert_eq!(
        wire(&remove_dirs),
        json!({"type": "removeDirectories", "destination": "localSettings", "directories": ["/tmp"]})
    );
}

#[test]
fn updates_parse_leniently() {
    // A missing or null destination reads as session.
    for raw in [
        json!({"type": "setMode", "mode": "plan"}),
        json!({"type": "setMode", "mode": "plan", "destination": null}),
    ] {
        let update: PermissionUpdate = serde_json::from_value(raw).unwrap();
        assert_eq!(
            update,
            PermissionUpdate::SetMode {
                mode: PermissionMode::Plan,
                destination: PermissionUpdateDestination::Session
            }
        );
    }
    // An update kind (or mode) this SDK does not know is kept and sent back verbatim.
    for raw in [
        json!({"type": "addSandboxRule", "host": "example.test", "destination": "session"}),
        json!({"type": "setMode", "mode": "turbo", "destination": "session"}),
        json!({"type": "addRules", "rules": "not a list", "behavior": "allow"}),
        json!({"destination": "session"}),
        json!("setMode"),
    ] {
        let update: PermissionUpdate = serde_json::from_value(raw.clone()).unwrap();
        assert_eq!(update, PermissionUpdate::Other(raw.clone()));
        assert_eq!(update.destination(), None);
        assert_eq!(wire(&update), raw);
    }
}

#[test]
fn typed_request_fields() {
    let request: ToolPermissionRequest = serde_json::from_value(json!({
        "subtype": "can_use_tool", "tool_name": "Bash", "display_name": "Bash",
        "input": {"command": "rm -rf /tmp/x", "description": "remove"},
        "description": "remove", "tool_use_id": "toolu_9", "decision_reason": "rule",
        "decision_reason_type": "rule", "title": "Run rm?", "agent_id": "agent_1",
        "classifier_approvable": false,
        "permission_suggestions": [{"type": "addRules",
            "rules": [{"toolName": "Bash", "ruleContent": "rm -rf /tmp/x"}],
            "behavior": "allow", "destination": "localSettings"}]
    }))
    .unwrap();
    assert_eq!(request.tool_name, "Bash");
    assert_eq!(request.title.as_deref(), Some("Run rm?"));
    assert_eq!(request.agent_id.as_deref(), Some("agent_1"));
    assert_eq!(request.decision_reason_type.as_deref(), Some("rule"));
    assert_eq!(request.extra["classifier_approvable"], json!(false));
    assert_eq!(
        request.suggestions[0].destination(),
        Some(PermissionUpdateDestination::LocalSettings)
    );
    let bash = request.tool_input_as::<BashInput>().unwrap();
    assert_eq!(bash.command, "rm -rf /tmp/x");
    assert!(request.tool_input_as::<EditInput>().is_none());
    assert!(BashInput::is_tool("Bash") && !BashInput::is_tool("bash"));
}

#[test]
fn handler_errors_convert_from_std_errors() {
    fn parse(text: &str) -> Result<u32, HandlerError> {
        Ok(text.parse::<u32>()?)
    }
    let err = parse("x").unwrap_err();
    assert_eq!(err.message(), "invalid digit found in string");
    assert_eq!(err.to_string(), err.message());
}

/// Every `msg` of one direction in the recorded `can_use_tool` transcript.
fn recorded(direction: &str) -> Vec<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/transcripts/d_can_use_tool.jsonl"
    );
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|record| record["dir"] == direction)
        .map(|record| record["msg"].clone())
        .collect()
}

#[test]
fn recorded_updates_round_trip_byte_for_byte() {
    // The CLI's suggestions parse as known updates and serialize to the same value.
    let suggestions: Vec<Value> = recorded("cli->sdk")
        .iter()
        .filter_map(|msg| msg["request"]["permission_suggestions"].as_array().cloned())
        .flatten()
        .collect();
    assert!(suggestions.len() >= 5, "{suggestions:?}");
    for raw in &suggestions {
        let update: PermissionUpdate = serde_json::from_value(raw.clone()).unwrap();
        assert!(
            !matches!(update, PermissionUpdate::Other(_)),
            "known kind kept as Other: {raw}"
        );
        assert_eq!(&wire(&update), raw);
    }
    // The Python SDK's echo of them (`updatedPermissions`) is what we send, key order included.
    let sent: Vec<Value> = recorded("sdk->cli")
        .iter()
        .filter_map(|msg| {
            msg["response"]["response"]["updatedPermissions"]
                .as_array()
                .cloned()
        })
        .flatten()
        .collect();
    assert_eq!(sent.len(), 3);
    for raw in &sent {
        let update: PermissionUpdate = serde_json::from_value(raw.clone()).unwrap();
        assert_eq!(
            serde_json::to_string(&update).unwrap(),
            serde_json::to_string(raw).unwrap()
        );
    }
}
