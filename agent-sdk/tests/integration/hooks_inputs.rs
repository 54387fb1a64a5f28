//! Every hook input type parses: the recorded `hook_callback` inputs of `e_hooks`, and a
//! sample per spec 5.2 for the events not recorded. Parsing then serializing loses nothing.

use agent_sdk::hooks::*;
use agent_sdk::tool_inputs::{BashInput, ReadInput};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

fn transcript(name: &str) -> Vec<Value> {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("{path}: {err}"))
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).expect("a JSON line"))
        .filter_map(|record| record.get("msg").cloned())
        .collect()
}

fn hook_inputs(name: &str) -> Vec<Value> {
    transcript(name)
        .into_iter()
        .filter(|msg| msg["request"]["subtype"] == "hook_callback")
        .map(|msg| msg["request"]["input"].clone())
        .collect()
}

/// Parses `input` as `T` and checks the round trip is lossless.
fn parse_lossless<T: DeserializeOwned + Serialize>(input: &Value) -> T {
    let typed: T = serde_json::from_value(input.clone())
        .unwrap_or_else(|err| panic!("{}: {err}\n{input:#}", std::any::type_name::<T>()));
    assert_eq!(&serde_json::to_value(&typed).unwrap(), input, "round trip");
    typed
}

#[test]
fn recorded_hook_inputs_parse_into_their_types() {
    let inputs = hook_inputs("e_hooks.jsonl");
    assert_eq!(inputs.len(), 9, "hook_callback requests in e_hooks");
    let mut seen = std::collections::BTreeSet::new();
    for input in &inputs {
        let event = input["hook_event_name"].as_str().unwrap();
        seen.insert(event.to_owned());
        match event {
            "PreToolUse" => {
                let typed: PreToolUseInput = parse_lossless(input);
                assert_eq!(typed.session_id, "c80c03eb-6c35-4854-8a96-c6cc79edc6b3");
                assert_eq!(typed.effort.as_ref().unwrap().level, "medium");
                assert!(typed.tool_use_id.starts_with("toolu_"));
                if typed.tool_name == "Bash" {
                    let bash = typed.tool_input_as::<BashInput>().expect("a Bash input");
                    assert_eq!(bash.command, "touch hooked.txt");
                    assert!(typed.mcp_server.is_none());
                    assert!(typed.tool_input_as::<ReadInput>().is_none());
                } else {
                    assert_eq!(typed.mcp_server.as_ref().unwrap().name, "calc");
                    assert_eq!(
                        typed.mcp_server.as_ref().unwrap().source.as_deref(),
                        Some("sdk")
                    );
                    assert!(typed.tool_input_as::<BashInput>().is_none());
                }
            }
            "PostToolUse" => {
                let typed: PostToolUseInput = parse_lossless(input);
                assert!(typed.duration_ms.is_some());
                assert_eq!(typed.tool_response[0]["type"], "text");
            }
            "UserPromptSubmit" => {
                let typed: UserPromptSubmitInput = parse_lossless(input);
                assert_eq!(typed.prompt, "exercise hooks");
                assert_eq!(typed.permission_mode.as_deref(), Some("default"));
            }
            "Stop" => {
                let typed: StopInput = parse_lossless(input);
                assert!(typed.background_tasks.is_empty());
                assert!(typed.last_assistant_message.is_some());
            }
            other => panic!("unexpected event {other}"),
        }
    }
    let expected = ["PostToolUse", "PreToolUse", "Stop", "UserPromptSubmit"];
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), expected);
}

#[test]
fn second_stop_call_reports_the_stop_hook_active() {
    let stops: Vec<StopInput> = hook_inputs("e_hooks.jsonl")
        .iter()
        .filter(|input| input["hook_event_name"] == "Stop")
        .map(parse_lossless)
        .collect();
    let active: Vec<bool> = stops.iter().map(|stop| stop.stop_hook_active).collect();
    assert_eq!(active, [false, true]);
}

fn synthetic() -> serde_json::Map<String, Value> {
    let path = format!(
        "{}/tests/data/hook_inputs_synthetic.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Parses the synthetic sample of `E` and checks the unknown field is kept.
fn check_sample<E: HookEvent>(samples: &serde_json::Map<String, Value>) -> E::Input
where
    E::Input: Serialize,
{
    let sample = samples
        .get(E::NAME)
        .unwrap_or_else(|| panic!("no sample for {}", E::NAME));
    let typed: E::Input = parse_lossless(sample);
    let back = serde_json::to_value(&typed).unwrap();
    assert_eq!(back["some_future_field"], json!({"kept": true}));
    typed
}

#[test]
fn every_other_event_input_parses_from_its_spec_sample() {
    let s = synthetic();
    let failure = check_sample::<PostToolUseFailure>(&s);
    assert_eq!(failure.error, "exit 1");
    let batch = check_sample::<PostToolBatch>(&s);
    assert_eq!(batch.tool_calls.len(), 2);
    assert!(batch.tool_calls[1].tool_response.is_none());
    check_sample::<Notification>(&s);
    check_sample::<UserPromptExpansion>(&s);
    assert_eq!(check_sample::<SessionStart>(&s).source, "startup");
    check_sample::<SessionEnd>(&s);
    check_sample::<StopFailure>(&s);
    let start = check_sample::<SubagentStart>(&s);
    assert_eq!(start.agent_id.as_deref(), Some("a1"));
    let sub_stop = check_sample::<SubagentStop>(&s);
    assert_eq!(sub_stop.background_tasks[0].task_type, "local_bash");
    assert!(sub_stop.session_crons[0].recurring);
    assert_eq!(check_sample::<PreCompact>(&s).custom_instructions, None);
    check_sample::<PostCompact>(&s);
    check_sample::<PreModelSwitch>(&s);
    check_sample::<PostModelSwitch>(&s);
    let permission = check_sample::<PermissionRequest>(&s);
    assert_eq!(permission.permission_suggestions.len(), 2);
    assert_eq!(
        permission.tool_input_as::<BashInput>().unwrap().command,
        "touch x"
    );
    check_sample::<PermissionDenied>(&s);
    check_sample::<Setup>(&s);
    check_sample::<TeammateIdle>(&s);
    check_sample::<TaskCreated>(&s);
    check_sample::<TaskCompleted>(&s);
    check_sample::<Elicitation>(&s);
    check_sample::<ElicitationResult>(&s);
    check_sample::<ConfigChange>(&s);
    check_sample::<WorktreeCreate>(&s);
    check_sample::<WorktreeRemove>(&s);
    check_sample::<InstructionsLoaded>(&s);
    check_sample::<CwdChanged>(&s);
    check_sample::<FileChanged>(&s);
    check_sample::<DirectoryAdded>(&s);
    assert!(check_sample::<MessageDisplay>(&s).is_final);
    // The samples plus the four recorded events cover the whole list of spec 5.1.
    assert_eq!(s.len() + 4, ALL_EVENT_NAMES.len());
    for name in ALL_EVENT_NAMES {
        let recorded = ["PreToolUse", "PostToolUse", "UserPromptSubmit", "Stop"];
        assert!(
            s.contains_key(name) || recorded.contains(&name),
            "{name} has no test input"
        );
    }
}

#[test]
fn a_missing_required_field_is_a_clear_error() {
    let err = serde_json::from_value::<PreToolUseInput>(json!({
        "session_id": "s", "transcript_path": "t", "cwd": "/", "hook_event_name": "PreToolUse",
        "tool_input": {}, "tool_use_id": "toolu_1"
    }))
    .unwrap_err();
    assert!(err.to_string().contains("tool_name"), "{err}");
}

/// `probe_permission_hooks.jsonl`: our own probe of CLI 2.1.330 with hooks on 12 events and
/// `can_use_tool` (allow the first Bash call, deny the second). The CLI called back
/// UserPromptSubmit, PreToolUse, PermissionRequest, PostToolUse, PostToolBatch and Stop.
#[test]
fn probed_permission_request_and_post_tool_batch_inputs_parse() {
    let inputs = hook_inputs("probe_permission_hooks.jsonl");
    let events: Vec<&str> = inputs
        .iter()
        .map(|input| input["hook_event_name"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        [
            "UserPromptSubmit",
            "PreToolUse",
            "PermissionRequest",
            "PostToolUse",
            "PreToolUse",
            "PermissionRequest",
            "PostToolBatch",
            "Stop"
        ]
    );
    for input in &inputs {
        match input["hook_event_name"].as_str().unwrap() {
            "PermissionRequest" => {
                let typed: PermissionRequestInput = parse_lossless(input);
                assert_eq!(typed.permission_suggestions.len(), 3);
                assert!(typed.tool_input_as::<BashInput>().is_some());
            }
            "PostToolBatch" => {
                let typed: PostToolBatchInput = parse_lossless(input);
                assert_eq!(typed.tool_calls.len(), 2);
                // A denied call's response is the deny message.
                assert_eq!(typed.tool_calls[1].tool_response, Some(json!("probe deny")));
            }
            "PostToolUse" => {
                let typed: PostToolUseInput = parse_lossless(input);
                assert_eq!(typed.tool_response["interrupted"], json!(false));
            }
            "PreToolUse" => {
                parse_lossless::<PreToolUseInput>(input);
            }
            "UserPromptSubmit" => {
                parse_lossless::<UserPromptSubmitInput>(input);
            }
            "Stop" => {
                parse_lossless::<StopInput>(input);
            }
            other => panic!("unexpected {other}"),
        }
    }
}
