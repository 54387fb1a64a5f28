//! The erased handler the core calls, replayed against `d_can_use_tool`.

use std::sync::Arc;

use serde_json::{Value, json};

use super::*;
use crate::options::AgentOptions;

const D_CAN_USE_TOOL: &str = include_str!("../../tests/data/d_can_use_tool.jsonl");

/// (request, recorded answer payload) pairs of the recording.
fn exchanges() -> Vec<(Value, Value)> {
    let msgs: Vec<(String, Value)> = D_CAN_USE_TOOL
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|record| record.get("msg").is_some())
        .map(|record| {
            (
                record["dir"].as_str().unwrap().to_owned(),
                record["msg"].clone(),
            )
        })
        .collect();
    msgs.iter()
        .filter(|(dir, msg)| dir == "cli->sdk" && msg["request"]["subtype"] == "can_use_tool")
        .map(|(_, msg)| {
            let answer = msgs
                .iter()
                .find(|(dir, m)| {
                    dir == "sdk->cli" && m["response"]["request_id"] == msg["request_id"]
                })
                .map(|(_, m)| m["response"]["response"].clone())
                .expect("an answer");
            (msg["request"].clone(), answer)
        })
        .collect()
}

fn handler_of(options: AgentOptions) -> DynPermissionHandler {
    options.can_use_tool.expect("a handler")
}

/// The policy of the recorded script, written against the typed request.
fn scripted_policy() -> DynPermissionHandler {
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    handler_of(
        AgentOptions::builder()
            .can_use_tool(move |request: ToolPermissionRequest| {
                let n = calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                async move {
                    match n {
                        0 => PermissionResult::allow(),
                        1 => PermissionResult::deny("no dividing today (scripted deny)"),
                        2 => {
                            PermissionResult::allow().with_updated_input(json!({"a": 10, "b": 20}))
                        }
                        3 => PermissionResult::allow()
                            .with_updated_permissions(request.suggestions.clone()),
                        _ => PermissionResult::deny_and_interrupt("deny and interrupt (scripted)"),
                    }
                }
            })
            .build()
            .unwrap(),
    )
}

#[tokio::test]
async fn recorded_requests_get_the_recorded_answers() {
    let handler = scripted_policy();
    let exchanges = exchanges();
    assert_eq!(exchanges.len(), 5);
    for (request, recorded) in exchanges {
        let answer = handler.handle(request).await.unwrap();
        assert_eq!(answer, recorded);
    }
}

#[tokio::test]
async fn handler_errors_become_error_texts_and_a_panic_is_left_to_the_core() {
    let (request, _) = exchanges().remove(0);
    let failing = handler_of(
        AgentOptions::builder()
            .can_use_tool(|_: ToolPermissionRequest| async {
                Err(HandlerError::new("policy store down"))
            })
            .build()
            .unwrap(),
    );
    assert_eq!(
        failing.handle(request.clone()).await.unwrap_err(),
        "policy store down"
    );

    let panicking = handler_of(
        AgentOptions::builder()
            .can_use_tool(|request: ToolPermissionRequest| async move {
                if request.tool_name.starts_with("mcp__") {
                    panic!("policy bug");
                }
                PermissionResult::allow()
            })
            .build()
            .unwrap(),
    );
    // A panic is caught by the protocol core's request task (tests/faults.rs drives it
    // over real pipes); the adapter lets it through.
    let handler = Arc::clone(&panicking);
    let panicked = tokio::spawn(async move { handler.handle(request).await.map(|_| ()) }).await;
    assert!(panicked.unwrap_err().is_panic());

    let err = panicking
        .handle(json!({"subtype": "can_use_tool", "input": {}}))
        .await
        .unwrap_err();
    assert!(
        err.starts_with("invalid can_use_tool request:") && err.contains("tool_name"),
        "{err}"
    );
}

#[test]
fn recorded_requests_parse_into_typed_requests() {
    for (request, _) in exchanges() {
        let typed = ToolPermissionRequest::from_control_request(request.clone()).unwrap();
        assert!(!typed.extra.contains_key("subtype"));
        assert!(typed.tool_use_id.starts_with("toolu_"));
        assert!(!typed.suggestions.is_empty());
        // Suggestions go back to the wire exactly as the CLI sent them, modulo key order.
        assert_eq!(
            serde_json::to_value(&typed.suggestions).unwrap(),
            request["permission_suggestions"]
        );
        if typed.tool_name == "Bash" {
            assert_eq!(
                typed.blocked_path.as_deref(),
                Some("/home/dev/project/made_by_bash.txt")
            );
            assert_eq!(typed.description.as_deref(), Some("touch a file"));
            assert_eq!(typed.suggestions.len(), 3);
            assert!(matches!(
                typed.suggestions[2],
                PermissionUpdate::SetMode {
                    mode: PermissionMode::AcceptEdits,
                    destination: PermissionUpdateDestination::Session
                }
            ));
        } else {
            assert_eq!(typed.mcp_server.as_ref().unwrap().name, "calc");
            assert_eq!(typed.extra["server_policy_ask_only"], json!(true));
            assert!(typed.display_name.is_some());
        }
    }
}

/// The `response.response` payload of a `can_use_tool` answer.
#[test]
fn results_serialize_like_the_python_sdk() {
    let original = json!({"command": "touch x", "description": "touch"});
    assert_eq!(
        PermissionResult::allow().to_wire(&original),
        json!({"behavior": "allow", "updatedInput": original})
    );
    let edit = crate::tool_inputs::EditInput {
        file_path: "/srv/a/x.rs".into(),
        old_string: "a".into(),
        new_string: "b".into(),
        ..Default::default()
    };
    assert_eq!(
        PermissionResult::allow_with_input(&edit).to_wire(&original),
        json!({"behavior": "allow", "updatedInput":
            {"file_path": "/srv/a/x.rs", "old_string": "a", "new_string": "b"}})
    );
    assert_eq!(
        PermissionResult::allow()
            .with_updated_permissions([PermissionUpdate::set_mode(
                crate::permission::PermissionMode::AcceptEdits
            )])
            .to_wire(&original),
        json!({"behavior": "allow", "updatedInput": original, "updatedPermissions":
            [{"type": "setMode", "destination": "session", "mode": "acceptEdits"}]})
    );
    assert_eq!(
        PermissionResult::deny("no touching").to_wire(&original),
        json!({"behavior": "deny", "message": "no touching"})
    );
    assert_eq!(
        PermissionResult::deny_and_interrupt("stop").to_wire(&original),
        json!({"behavior": "deny", "message": "stop", "interrupt": true})
    );
    // Allow-only modifiers leave a deny alone.
    let deny = PermissionResult::deny("no")
        .with_updated_input(json!({}))
        .with_updated_permissions([PermissionUpdate::set_mode(
            crate::permission::PermissionMode::Plan,
        )]);
    assert_eq!(deny, PermissionResult::deny("no"));
}
