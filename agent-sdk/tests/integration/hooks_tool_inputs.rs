//! The generated built-in tool inputs parse the recorded inputs and turn back into the same JSON.

use agent_sdk::tool_inputs::*;
use serde_json::{Value, json};

/// Every (tool_name, input) of a transcript: from hook inputs and `can_use_tool` requests.
fn recorded_tool_inputs(name: &str) -> Vec<(String, Value)> {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    let mut found = Vec::new();
    for line in std::fs::read_to_string(path).unwrap().lines() {
        let record: Value = serde_json::from_str(line).unwrap();
        let request = &record["msg"]["request"];
        match request["subtype"].as_str() {
            Some("hook_callback") if request["input"].get("tool_name").is_some() => found.push((
                request["input"]["tool_name"].as_str().unwrap().to_owned(),
                request["input"]["tool_input"].clone(),
            )),
            Some("can_use_tool") => found.push((
                request["tool_name"].as_str().unwrap().to_owned(),
                request["input"].clone(),
            )),
            _ => {}
        }
    }
    found
}

#[test]
fn recorded_bash_inputs_round_trip() {
    let mut bash_seen = 0;
    for transcript in ["d_can_use_tool.jsonl", "e_hooks.jsonl"] {
        for (tool, input) in recorded_tool_inputs(transcript) {
            if tool != "Bash" {
                assert!(BashInput::from_value(&tool, &input).is_none());
                continue;
            }
            let bash = BashInput::from_value(&tool, &input).expect("a Bash input");
            assert!(bash.command.starts_with("touch "));
            assert!(bash.description.is_some());
            assert_eq!(bash.to_value(), input);
            bash_seen += 1;
        }
    }
    assert_eq!(bash_seen, 2);
}

#[test]
fn unknown_fields_survive_and_numbers_parse() {
    let input = json!({"pattern": "fn main", "path": "src", "-n": true, "head_limit": 20,
                       "output_mode": "content", "future_flag": [1, 2]});
    let mut grep = GrepInput::from_value("Grep", &input).unwrap();
    assert_eq!(grep.pattern, "fn main");
    assert_eq!(grep.flag_n, Some(true));
    assert_eq!(grep.head_limit, Some(20.0));
    assert_eq!(grep.output_mode.as_deref(), Some("content"));
    assert_eq!(grep.extra["future_flag"], json!([1, 2]));
    grep.path = Some("tests".into());
    let back = grep.to_value();
    assert_eq!(back["path"], "tests");
    assert_eq!(back["future_flag"], json!([1, 2]));
    assert_eq!(back["-n"], json!(true));
}

#[test]
fn tool_names_follow_the_cli() {
    assert_eq!(ReadInput::TOOL_NAMES, ["Read"]);
    assert_eq!(WriteInput::TOOL_NAMES, ["Write"]);
    assert_eq!(EditInput::TOOL_NAMES, ["Edit"]);
    assert_eq!(TaskInput::TOOL_NAMES, ["Agent", "Task"]);
    assert_eq!(GlobInput::TOOL_NAMES, ["Glob"]);
    assert_eq!(WebFetchInput::TOOL_NAMES, ["WebFetch"]);
    assert_eq!(ListMcpResourcesInput::TOOL_NAMES, ["ListMcpResourcesTool"]);
    let task =
        json!({"description": "review", "prompt": "review the diff", "subagent_type": "reviewer"});
    assert_eq!(
        AgentInput::from_value("Task", &task)
            .unwrap()
            .subagent_type
            .as_deref(),
        Some("reviewer")
    );
    // Write and Read inputs both have `file_path`: the tool name keeps them apart.
    let write = json!({"file_path": "/tmp/a", "content": "x"});
    assert!(ReadInput::from_value("Write", &write).is_none());
    assert_eq!(
        WriteInput::from_value("Write", &write).unwrap().content,
        "x"
    );
    // A required field missing: not this tool's input.
    assert!(WriteInput::from_value("Write", &json!({"file_path": "/tmp/a"})).is_none());
}

#[test]
fn nested_objects_are_typed() {
    let todos = json!({"todos": [{"content": "a", "status": "pending", "activeForm": "doing a"}]});
    let todo = TodoWriteInput::from_value("TodoWrite", &todos).unwrap();
    assert_eq!(todo.todos[0].active_form, "doing a");
    assert_eq!(todo.to_value(), todos);
}
