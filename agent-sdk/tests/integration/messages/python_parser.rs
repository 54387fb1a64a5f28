//! Every frame the official Python SDK's parser tests pin, through our parser.
//!
//! `tests/data/python_parser/cases.json` is written by `extract.py` (next to it),
//! which runs the SDK's own `tests/test_message_parser.py` with `parse_message`
//! wrapped: each case is a frame and what Python's parser made of it. Here each
//! frame goes through [`Message::from_slice`], our result is written in Python's
//! vocabulary ([`as_python`]), and the two must be equal, except for the
//! differences listed, each with its reason, in [`DIFFERENT_OUTCOMES`] and
//! [`compare`].

use agent_sdk::message::{
    ContentBlock, Message, MessageContent, MessageOrigin, ResultMessage, SystemMessage, TaskUsage,
};
use serde_json::{Map, Value, json};

/// Cases where Python raises or skips and we do not, or the reverse, by test name.
const DIFFERENT_OUTCOMES: &[(&str, &str, &str)] = &[
    (
        "test_parse_invalid_data_type",
        "unknown",
        "a line that is JSON but not an object is kept as `Message::Unknown`: the \
         stream never fails on a line it could read (Python raises)",
    ),
    (
        "test_parse_missing_type_field",
        "unknown",
        "an object without `type` is kept as `Message::Unknown`, like any frame type \
         we do not know (Python raises)",
    ),
];

#[derive(serde::Deserialize)]
struct Case {
    test: String,
    frame: Value,
    python: Value,
}

fn cases() -> Vec<Case> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/python_parser/cases.json"
    );
    #[derive(serde::Deserialize)]
    struct File {
        cases: Vec<Case>,
    }
    let file: File = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    file.cases
}

#[test]
fn every_frame_of_the_python_parser_tests_parses_as_python_says() {
    let cases = cases();
    assert_eq!(cases.len(), 103, "every recorded call of parse_message");
    let mut differences_seen = Vec::new();
    for case in &cases {
        let Case {
            test,
            frame,
            python,
        } = case;
        let ours = Message::from_slice(&serde_json::to_vec(frame).unwrap());
        if let Some((_, outcome, _)) = DIFFERENT_OUTCOMES.iter().find(|(name, ..)| name == test) {
            let got = match &ours {
                Ok(Message::Unknown(_)) => "unknown",
                Ok(_) => "parsed",
                Err(_) => "error",
            };
            assert_eq!(got, *outcome, "{test}: {frame} gave {ours:?}");
            assert!(
                python.get("class").is_none() && python.get("error").is_some(),
                "{test}: Python did not raise"
            );
            differences_seen.push(test.as_str());
            continue;
        }
        // An outcome without a class is Python's `{"error": ...}` or `{"skipped": true}`.
        let raised = python
            .get("class")
            .is_none()
            .then(|| python.get("error"))
            .flatten();
        match (raised, python.get("skipped"), &ours) {
            (Some(error), _, Err(_)) => {
                // Both refuse; the wording differs (serde's `missing field ...`).
                assert!(error.is_string());
            }
            (Some(error), _, Ok(message)) => {
                panic!("{test}: Python raised {error}, we parsed {message:?}")
            }
            (None, Some(_), Ok(Message::Unknown(_))) => {}
            (None, _, Err(err)) => panic!("{test}: we failed with {err} on {frame}"),
            (None, _, Ok(message)) => {
                let mine = as_python(message);
                if let Err(why) = compare(python, &mine, "") {
                    panic!("{test}: {why}\nframe:  {frame}\npython: {python}\nours:   {mine}");
                }
            }
        }
    }
    assert_eq!(
        differences_seen.len(),
        DIFFERENT_OUTCOMES.len(),
        "every listed difference still happens"
    );
}

/// Compares Python's result with ours, allowing only the differences below.
fn compare(python: &Value, ours: &Value, path: &str) -> Result<(), String> {
    match (python, ours) {
        (Value::Object(p), Value::Object(o)) => {
            let typed_view = TYPED_VIEWS.iter().any(|part| path.contains(part));
            for (key, p_value) in p {
                let here = format!("{path}.{key}");
                match o.get(key) {
                    Some(o_value) => compare(p_value, o_value, &here)?,
                    None => return Err(format!("{here}: missing in ours")),
                }
            }
            for key in o.keys() {
                // Our typed views have fields beyond the keys the frame carried.
                if !p.contains_key(key) && !typed_view {
                    return Err(format!("{path}.{key}: only in ours"));
                }
            }
            Ok(())
        }
        (Value::Array(p), Value::Array(o)) if p.len() == o.len() => p
            .iter()
            .zip(o)
            .enumerate()
            .try_for_each(|(i, (p, o))| compare(p, o, &format!("{path}[{i}]"))),
        (Value::Null, o) if EMPTY_FOR_ABSENT.iter().any(|f| path.ends_with(f)) => match o {
            Value::Array(a) if a.is_empty() => Ok(()),
            Value::Object(m) if m.is_empty() => Ok(()),
            _ => Err(format!("{path}: Python None, ours {o}")),
        },
        (p, o) if p == o => Ok(()),
        // Numbers: Python keeps `1` and `1.0` apart, serde_json too; ours are typed.
        (Value::Number(p), Value::Number(o)) if p.as_f64() == o.as_f64() => Ok(()),
        (p, o) => Err(format!("{path}: Python {p}, ours {o}")),
    }
}

/// Lists and maps where "absent" and "empty" mean the same (no errors, no
/// denials, no per-model usage): we keep them as an empty `Vec`/map, Python as `None`.
/// (`user_message_uuids` is not among them: there absent means an older CLI.)
const EMPTY_FOR_ABSENT: &[&str] = &[".errors", ".permission_denials", ".model_usage"];

/// Paths where ours is a typed view with every field, Python the keys as sent:
/// only Python's keys are compared (ours adds `is_using_overage`, and model
/// counters the frame left out, as 0).
const TYPED_VIEWS: &[&str] = &[".rate_limit_info", ".model_usage."];

/// Our message in the vocabulary of Python's parser: its class name and fields.
fn as_python(message: &Message) -> Value {
    match message {
        Message::User(m) => json!({
            "class": "UserMessage",
            "content": content(&m.content),
            "uuid": m.uuid,
            "parent_tool_use_id": m.parent_tool_use_id,
            "tool_use_result": m.tool_use_result,
            "origin": origin(m.origin.as_ref()),
        }),
        Message::Assistant(m) => json!({
            "class": "AssistantMessage",
            "content": blocks(&m.content),
            "model": m.model,
            "parent_tool_use_id": m.parent_tool_use_id,
            "error": m.error,
            "usage": m.usage,
            "message_id": m.message_id,
            "stop_reason": m.stop_reason,
            "session_id": m.session_id,
            "uuid": m.uuid,
            "user_message_uuid": m.user_message_uuid,
            "user_message_uuids": m.user_message_uuids,
        }),
        Message::System(s) => system(s),
        Message::Result(m) => result(m),
        Message::StreamEvent(m) => json!({
            "class": "StreamEvent",
            "uuid": m.uuid,
            "session_id": m.session_id,
            "event": m.event,
            "parent_tool_use_id": m.parent_tool_use_id,
            "user_message_uuid": m.user_message_uuid,
            "user_message_uuids": m.user_message_uuids,
        }),
        Message::RateLimit(m) => {
            let info = &m.rate_limit_info;
            json!({
                "class": "RateLimitEvent",
                "uuid": m.uuid,
                "session_id": m.session_id,
                "rate_limit_info": {
                    "class": "RateLimitInfo",
                    "status": info.status,
                    "resets_at": info.resets_at,
                    "rate_limit_type": info.rate_limit_type,
                    "utilization": info.utilization,
                    "overage_status": info.overage_status,
                    "overage_resets_at": info.overage_resets_at,
                    "overage_disabled_reason": info.overage_disabled_reason,
                    "is_using_overage": info.is_using_overage,
                    "raw": info.raw,
                },
            })
        }
        Message::ConversationReset(m) => json!({
            "class": "ConversationResetMessage",
            "new_conversation_id": m.new_conversation_id,
            "uuid": m.uuid,
            "session_id": m.session_id,
        }),
        other => panic!("no Python counterpart for {other:?}"),
    }
}

fn system(s: &SystemMessage) -> Value {
    let mut out = match s {
        SystemMessage::TaskStarted(f) => json!({
            "class": "TaskStartedMessage",
            "task_id": f.task_id,
            "description": f.description,
            "tool_use_id": f.tool_use_id,
            "task_type": f.task_type,
        }),
        SystemMessage::TaskProgress(f) => json!({
            "class": "TaskProgressMessage",
            "task_id": f.task_id,
            "description": f.description,
            "usage": task_usage(&f.usage),
            "tool_use_id": f.tool_use_id,
            "last_tool_name": f.last_tool_name,
        }),
        SystemMessage::TaskNotification(f) => json!({
            "class": "TaskNotificationMessage",
            "task_id": f.task_id,
            "status": f.status,
            "output_file": f.output_file,
            "summary": f.summary,
            "tool_use_id": f.tool_use_id,
            "usage": f.usage.as_ref().map(task_usage),
        }),
        SystemMessage::TaskUpdated(f) => json!({
            "class": "TaskUpdatedMessage",
            "task_id": f.task_id,
            "patch": f.patch.fields,
            "status": f.patch.status,
        }),
        // Python routes `hook_started` and `hook_response` to HookEventMessage and
        // leaves `hook_progress` generic.
        SystemMessage::HookStarted(f) | SystemMessage::HookResponse(f) => json!({
            "class": "HookEventMessage",
            "hook_event_name": f.event_name().unwrap_or_default(),
        }),
        _ => {
            // Python's generic SystemMessage has no uuid/session_id fields.
            assert_eq!(s.data()["subtype"], s.subtype());
            return json!({"class": "SystemMessage", "subtype": s.subtype()});
        }
    };
    let fields = out.as_object_mut().unwrap();
    fields.insert("subtype".into(), json!(s.subtype()));
    fields.insert("uuid".into(), json!(s.uuid()));
    fields.insert("session_id".into(), json!(s.session_id()));
    out
}

fn result(m: &ResultMessage) -> Value {
    let model_usage: Map<String, Value> = m
        .model_usage
        .iter()
        .map(|(model, u)| {
            let entry = json!({
                "inputTokens": u.input_tokens,
                "outputTokens": u.output_tokens,
                "cacheReadInputTokens": u.cache_read_input_tokens,
                "cacheCreationInputTokens": u.cache_creation_input_tokens,
                "webSearchRequests": u.web_search_requests,
                "costUSD": u.cost_usd,
                "contextWindow": u.context_window,
                "maxOutputTokens": u.max_output_tokens,
            });
            (model.clone(), entry)
        })
        .collect();
    json!({
        "class": "ResultMessage",
        "subtype": m.subtype,
        "duration_ms": m.duration_ms,
        "duration_api_ms": m.duration_api_ms,
        "is_error": m.is_error,
        "num_turns": m.num_turns,
        "session_id": m.session_id,
        "stop_reason": m.stop_reason,
        "total_cost_usd": m.total_cost_usd,
        "usage": m.usage,
        "result": m.result,
        "structured_output": m.structured_output,
        "model_usage": model_usage,
        "permission_denials": m.permission_denials.iter().map(|d| json!({
            "tool_name": d.tool_name,
            "tool_use_id": d.tool_use_id,
            "tool_input": d.tool_input,
        })).collect::<Vec<_>>(),
        "deferred_tool_use": m.deferred_tool_use.as_ref().map(|d| json!({
            "class": "DeferredToolUse",
            "id": d.id,
            "name": d.name,
            "input": d.input,
        })),
        "errors": m.errors,
        "api_error_status": m.api_error_status,
        "uuid": m.uuid,
        "terminal_reason": m.terminal_reason,
        "origin": origin(m.origin.as_ref()),
        "user_message_uuid": m.user_message_uuid,
        "user_message_uuids": m.user_message_uuids,
    })
}

fn task_usage(usage: &TaskUsage) -> Value {
    json!({
        "total_tokens": usage.total_tokens,
        "tool_uses": usage.tool_uses,
        "duration_ms": usage.duration_ms,
    })
}

fn origin(origin: Option<&MessageOrigin>) -> Value {
    origin.map_or(Value::Null, MessageOrigin::to_value)
}

fn content(content: &MessageContent) -> Value {
    match content {
        MessageContent::Text(text) => json!(text),
        MessageContent::Blocks(list) => blocks(list),
    }
}

fn blocks(blocks: &[ContentBlock]) -> Value {
    blocks
        .iter()
        .map(|block| match block {
            ContentBlock::Text(b) => json!({"class": "TextBlock", "text": b.text}),
            ContentBlock::Thinking(b) => {
                json!({"class": "ThinkingBlock", "thinking": b.thinking, "signature": b.signature})
            }
            ContentBlock::ToolUse(b) => {
                json!({"class": "ToolUseBlock", "id": b.id, "name": b.name, "input": b.input})
            }
            ContentBlock::ToolResult(b) => json!({
                "class": "ToolResultBlock",
                "tool_use_id": b.tool_use_id,
                "content": b.content,
                "is_error": b.is_error,
            }),
            ContentBlock::ServerToolUse(b) => {
                json!({"class": "ServerToolUseBlock", "id": b.id, "name": b.name, "input": b.input})
            }
            ContentBlock::AdvisorToolResult(b) => json!({
                "class": "ServerToolResultBlock",
                "tool_use_id": b.tool_use_id,
                "content": b.content,
            }),
            other => panic!("no Python block for {other:?}"),
        })
        .collect()
}
