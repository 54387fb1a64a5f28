//! Typed messages against recorded CLI traffic and hand-written frames.

use agent_sdk::message::{ContentBlock, ImageSource, Message, MessageContent, SystemMessage};
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::common;
mod control_replies;
mod python_parser;

fn parse(value: Value) -> Message {
    Message::from_slice(&serde_json::to_vec(&value).unwrap())
        .unwrap_or_else(|e| panic!("{e}: {value}"))
}

fn parse_err(value: Value) -> String {
    Message::from_slice(&serde_json::to_vec(&value).unwrap())
        .expect_err("should fail")
        .to_string()
}

/// Every `cli->sdk` frame of every recorded transcript, with its file name.
fn transcript_frames() -> Vec<(String, Value)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/transcripts");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 7, "all transcripts are copied");
    let mut frames = Vec::new();
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        for line in std::fs::read_to_string(&file).unwrap().lines() {
            let record: Value = serde_json::from_str(line).unwrap();
            if record["dir"] == "cli->sdk" {
                frames.push((name.clone(), record["msg"].clone()));
            }
        }
    }
    frames
}

#[test]
fn every_transcript_frame_parses_into_its_variant() {
    let frames = transcript_frames();
    assert!(frames.len() > 150);
    let mut seen = std::collections::BTreeSet::new();
    for (file, frame) in &frames {
        let tag = frame["type"].as_str().unwrap();
        let bytes = serde_json::to_vec(frame).unwrap();
        let parsed = Message::from_slice(&bytes);
        if tag.starts_with("control_") {
            // Routed by the core, but must not trip the parser.
            assert!(matches!(parsed, Ok(Message::Unknown(_))), "{file}: {frame}");
            continue;
        }
        let message = parsed.unwrap_or_else(|e| panic!("{file}: {e}: {frame}"));
        let ok = match (tag, &message) {
            ("user", Message::User(_))
            | ("assistant", Message::Assistant(_))
            | ("result", Message::Result(_)) => true,
            ("system", Message::System(system)) => {
                seen.insert(system.subtype().to_owned());
                assert_eq!(system.data(), frame, "raw data kept");
                match frame["subtype"].as_str().unwrap() {
                    "init" => matches!(system, SystemMessage::Init(_)),
                    "status" => matches!(system, SystemMessage::Status(_)),
                    "session_state_changed" => {
                        matches!(system, SystemMessage::SessionStateChanged(_))
                    }
                    "notification" => matches!(system, SystemMessage::Notification(_)),
                    _ => true,
                }
            }
            _ => false,
        };
        assert!(ok, "{file}: wrong variant {message:?} for {frame}");
        assert_eq!(
            message.session_id(),
            frame["session_id"].as_str(),
            "{file}: session id of {frame}"
        );
    }
    assert!(seen.contains("init") && seen.contains("session_state_changed"));
}

#[test]
fn transcript_assistant_and_user_fields_land() {
    let frames = transcript_frames();
    let mut tool_uses = 0;
    let mut tool_results = 0;
    for (file, frame) in &frames {
        match parse(frame.clone()) {
            Message::Assistant(a) => {
                assert_eq!(a.model, frame["message"]["model"], "{file}");
                assert_eq!(a.message_id.as_deref(), frame["message"]["id"].as_str());
                assert_eq!(a.content.len(), 1, "one block per frame");
                // Typed usage keeps every key the CLI wrote.
                let usage = serde_json::to_value(a.usage.as_ref().expect("usage")).unwrap();
                assert_eq!(usage, frame["message"]["usage"], "{file}");
                tool_uses += a.tool_uses().count();
                for call in a.tool_uses() {
                    assert!(call.id.starts_with("toolu_"), "{file}");
                    assert!(call.input.is_object());
                }
            }
            Message::User(u) => {
                for block in u.content.blocks() {
                    if let ContentBlock::ToolResult(r) = block {
                        tool_results += 1;
                        assert!(r.tool_use_id.starts_with("toolu_"), "{file}");
                    }
                }
            }
            Message::Result(r) => {
                assert_eq!(r.is_error, frame["is_error"], "{file}");
                assert!(!r.model_usage.is_empty(), "{file}: modelUsage");
                let usage = serde_json::to_value(r.usage.as_ref().expect("usage")).unwrap();
                assert_eq!(usage, frame["usage"], "{file}");
                let (model, usage) = r.model_usage.iter().next().unwrap();
                assert_eq!(
                    usage.input_tokens, frame["modelUsage"][model]["inputTokens"],
                    "{file}"
                );
                assert_eq!(
                    r.terminal_reason.as_deref(),
                    frame["terminal_reason"].as_str()
                );
            }
            Message::System(SystemMessage::Init(init)) => {
                assert_eq!(init.claude_code_version.as_deref(), Some("2.1.330"));
                assert!(!init.tools.is_empty());
                assert!(init.permission_mode.is_some());
                assert_eq!(init.api_key_source.as_deref(), Some("ANTHROPIC_API_KEY"));
            }
            _ => {}
        }
    }
    assert_eq!(tool_uses, 20);
    assert_eq!(tool_results, 20);
}

#[test]
fn transcript_frames_parse_with_type_not_first() {
    // The fast path needs `{"type":...` first; other key orders take the fallback.
    for (file, frame) in transcript_frames() {
        let Value::Object(map) = &frame else { panic!() };
        let mut reordered = serde_json::Map::new();
        for (k, v) in map.iter().filter(|(k, _)| *k != "type") {
            reordered.insert(k.clone(), v.clone());
        }
        reordered.insert("type".into(), frame["type"].clone());
        let a = Message::from_slice(&serde_json::to_vec(&frame).unwrap()).unwrap();
        let b = Message::from_slice(&serde_json::to_vec(&reordered).unwrap()).unwrap();
        if let (Message::System(x), Message::System(y)) = (&a, &b) {
            assert_eq!(x.subtype(), y.subtype(), "{file}");
        } else if !matches!(a, Message::Unknown(_)) {
            assert_eq!(a, b, "{file}");
        }
    }
}

fn probe_lines(name: &str) -> Vec<Vec<u8>> {
    let path = format!(
        "{}/tests/data/transcripts/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(path)
        .unwrap()
        .split(|&b| b == b'\n')
        .filter(|line| !line.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

#[test]
fn real_cli_partial_messages_bytes_as_written() {
    let messages: Vec<Message> = probe_lines("probe_partial_messages.stdout")
        .iter()
        .map(|line| Message::from_slice(line).unwrap())
        .collect();
    let events: Vec<_> = messages
        .iter()
        .filter_map(|m| match m {
            Message::StreamEvent(e) => Some(e),
            _ => None,
        })
        .collect();
    assert_eq!(events.len(), 11);
    assert_eq!(events[0].event_type(), Some("message_start"));
    assert_eq!(events[0].ttft_ms, Some(19));
    assert!(
        events
            .iter()
            .all(|e| e.api_message_id.as_deref() == Some("msg_p1"))
    );
    assert!(events.iter().all(|e| e.parent_tool_use_id.is_none()));
    let assistants: Vec<_> = messages
        .iter()
        .filter_map(|m| match m {
            Message::Assistant(a) => Some(a),
            _ => None,
        })
        .collect();
    assert_eq!(assistants.len(), 2, "one frame per block");
    assert!(
        matches!(&assistants[0].content[0], ContentBlock::Thinking(t) if t.signature == "sig123")
    );
    assert_eq!(assistants[1].text(), "Hello probe");
    assert_eq!(assistants[0].message_id, assistants[1].message_id);
    let system: Vec<_> = messages
        .iter()
        .filter_map(|m| match m {
            Message::System(s) => Some(s.subtype()),
            _ => None,
        })
        .collect();
    assert_eq!(system, ["init", "status", "thinking_tokens"]);
    let Some(Message::Result(result)) = messages.last() else {
        panic!()
    };
    assert!(result.is_success());
    assert_eq!(result.result.as_deref(), Some("Hello probe"));
}

#[test]
fn real_cli_api_error_is_error_with_subtype_success() {
    let messages: Vec<Message> = probe_lines("probe_api_error_400.stdout")
        .iter()
        .map(|line| Message::from_slice(line).unwrap())
        .collect();
    let Message::Assistant(a) = &messages[1] else {
        panic!("{:?}", messages[1])
    };
    assert_eq!(a.model, "<synthetic>");
    assert_eq!(a.error.as_deref(), Some("unknown"));
    assert_eq!(a.api_error_status, Some(400));
    assert!(a.is_api_error_message);
    assert_eq!(a.text(), "API Error: 400 probe: bad request");
    let Message::Result(r) = &messages[2] else {
        panic!()
    };
    assert_eq!((r.subtype.as_str(), r.is_error), ("success", true));
    assert_eq!(r.api_error_status, Some(400));
    assert_eq!(r.terminal_reason.as_deref(), Some("api_error"));
    assert!(r.errors.is_empty());
}

fn assistant(blocks: Value) -> Value {
    json!({"type":"assistant","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":blocks,"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":1}},"parent_tool_use_id":null,"session_id":"s1","uuid":"u1","request_id":"req_1","user_message_uuid":"m1","user_message_uuids":["m1"],"some_future_field":{"x":1}})
}

#[test]
fn assistant_fields_and_helpers() {
    let Message::Assistant(a) = parse(assistant(json!([
        {"type":"text","text":"Hello, "},
        {"type":"tool_use","id":"toolu_1","name":"mcp__calc__add","input":{"a":1,"b":2}},
        {"type":"text","text":"world"}
    ]))) else {
        panic!()
    };
    assert_eq!(a.text(), "Hello, world");
    let calls: Vec<_> = a.tool_uses().collect();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].name, "mcp__calc__add");
    assert_eq!(calls[0].input, json!({"a":1,"b":2}));
    assert_eq!(a.model, "claude-sonnet-4-5");
    assert_eq!(a.message_id.as_deref(), Some("msg_1"));
    assert_eq!(a.stop_reason, None);
    let usage = a.usage.as_ref().unwrap();
    assert_eq!((usage.input_tokens, usage.output_tokens), (5, 1));
    assert_eq!(a.request_id.as_deref(), Some("req_1"));
    assert_eq!(
        a.user_message_uuids.as_deref(),
        Some(&["m1".to_owned()][..])
    );
    assert!(a.is_main_thread());
    assert_eq!(a.error, None);
}

#[test]
fn assistant_error_and_subagent() {
    let mut frame = assistant(json!([{"type":"text","text":"API Error: 429"}]));
    frame["error"] = json!("rate_limit");
    frame["parent_tool_use_id"] = json!("toolu_task");
    let Message::Assistant(a) = parse(frame) else {
        panic!()
    };
    assert_eq!(a.error.as_deref(), Some("rate_limit"));
    assert_eq!(a.parent_tool_use_id.as_deref(), Some("toolu_task"));
    assert!(!a.is_main_thread());
}

#[test]
fn several_assistant_frames_share_a_message_id() {
    let first = parse(assistant(
        json!([{"type":"thinking","thinking":"hmm","signature":"sig"}]),
    ));
    let second = parse(assistant(json!([{"type":"text","text":"4"}])));
    let (Message::Assistant(a), Message::Assistant(b)) = (first, second) else {
        panic!()
    };
    assert_eq!(a.message_id, b.message_id);
    let ContentBlock::Thinking(thinking) = &a.content[0] else {
        panic!()
    };
    assert_eq!(
        (thinking.thinking.as_str(), thinking.signature.as_str()),
        ("hmm", "sig")
    );
    assert_eq!(a.text(), "");
    assert_eq!(b.text(), "4");
}

#[test]
fn every_block_type() {
    let Message::Assistant(a) = parse(assistant(json!([
        {"type":"redacted_thinking","data":"opaque"},
        {"type":"server_tool_use","id":"srvtoolu_1","name":"advisor","input":{}},
        {"type":"advisor_tool_result","tool_use_id":"srvtoolu_1","content":{"type":"advisor_result","text":"ok"}},
        {"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAAA"}},
        {"type":"image","source":{"type":"url","url":"https://example.com/a.png"}},
        {"type":"image","source":{"type":"file","file_id":"f1"}},
        {"type":"web_search_tool_result","tool_use_id":"srvtoolu_2","content":[{"url":"u"}]},
        {"text":"no type at all"},
    ]))) else {
        panic!()
    };
    let c = &a.content;
    assert!(matches!(&c[0], ContentBlock::RedactedThinking(b) if b.data == "opaque"));
    assert!(matches!(&c[1], ContentBlock::ServerToolUse(b) if b.name == "advisor"));
    assert!(
        matches!(&c[2], ContentBlock::AdvisorToolResult(b) if b.content["text"] == "ok" && b.tool_use_id == "srvtoolu_1")
    );
    assert!(
        matches!(&c[3], ContentBlock::Image(b) if b.source == ImageSource::Base64 { media_type: "image/png".into(), data: "AAAA".into() })
    );
    assert!(
        matches!(&c[4], ContentBlock::Image(b) if matches!(&b.source, ImageSource::Url { url } if url == "https://example.com/a.png"))
    );
    assert!(
        matches!(&c[5], ContentBlock::Image(b) if matches!(&b.source, ImageSource::Unknown(v) if v["file_id"] == "f1"))
    );
    assert_eq!(
        c[6],
        ContentBlock::Unknown(
            json!({"type":"web_search_tool_result","tool_use_id":"srvtoolu_2","content":[{"url":"u"}]})
        )
    );
    assert_eq!(c[6].block_type(), "web_search_tool_result");
    assert_eq!(
        c[7],
        ContentBlock::Unknown(json!({"text":"no type at all"}))
    );
}

#[test]
fn tool_result_content_forms_and_type_not_first() {
    let Message::User(u) = parse(json!({"type":"user","message":{"role":"user","content":[
        {"tool_use_id":"toolu_1","type":"tool_result","content":[{"type":"text","text":"3"}]},
        {"tool_use_id":"toolu_2","type":"tool_result","content":"Error: boom","is_error":true},
        {"tool_use_id":"toolu_3","type":"tool_result"},
        {"tool_use_id":"toolu_4","content":null,"type":"tool_result","is_error":null},
        {"extra":[1,2],"type":"future_block","text":5}
    ]},"parent_tool_use_id":null,"session_id":"s1","uuid":"u2","tool_use_result":[{"type":"text","text":"3"}],"isSynthetic":true})) else {
        panic!()
    };
    let b = u.content.blocks();
    let ContentBlock::ToolResult(r1) = &b[0] else {
        panic!()
    };
    assert_eq!(r1.content.as_ref().unwrap().text(), "3");
    assert_eq!(r1.is_error, None);
    let ContentBlock::ToolResult(r2) = &b[1] else {
        panic!()
    };
    assert_eq!(r2.content, Some(MessageContent::Text("Error: boom".into())));
    assert_eq!(r2.is_error, Some(true));
    let ContentBlock::ToolResult(r3) = &b[2] else {
        panic!()
    };
    assert_eq!((r3.content.as_ref(), r3.is_error), (None, None));
    let ContentBlock::ToolResult(r4) = &b[3] else {
        panic!()
    };
    assert_eq!(
        (r4.tool_use_id.as_str(), r4.content.as_ref()),
        ("toolu_4", None)
    );
    // Unknown block: every key kept, even ones a known block would type differently.
    assert_eq!(
        b[4],
        ContentBlock::Unknown(json!({"extra":[1,2],"type":"future_block","text":5}))
    );
    assert_eq!(u.tool_use_result, Some(json!([{"type":"text","text":"3"}])));
    assert!(u.is_synthetic);
    assert!(!u.is_replay);
}

#[test]
fn user_string_content() {
    let Message::User(u) = parse(
        json!({"type":"user","message":{"role":"user","content":"compute 1+2"},"parent_tool_use_id":null,"session_id":"","isReplay":true}),
    ) else {
        panic!()
    };
    assert_eq!(u.content, MessageContent::Text("compute 1+2".into()));
    assert_eq!(u.text(), "compute 1+2");
    assert!(u.is_replay);
}

#[test]
fn result_all_fields_and_camel_case() {
    let Message::Result(r) = parse(json!({
        "type":"result","subtype":"success","is_error":true,"num_turns":2,"result":"API Error: 500",
        "duration_ms":264,"duration_api_ms":51,"stop_reason":"end_turn","session_id":"s1","uuid":"u9",
        "total_cost_usd":0.000188,"usage":{"input_tokens":24},
        "modelUsage":{"claude-sonnet-4-5":{"inputTokens":24,"outputTokens":14,"cacheReadInputTokens":1,"cacheCreationInputTokens":2,"webSearchRequests":3,"costUSD":0.000188,"contextWindow":1000000,"maxOutputTokens":128000,"provider":"firstParty"}},
        "permission_denials":[{"tool_name":"Bash","tool_use_id":"toolu_9","tool_input":{"command":"rm -rf /"}}],
        "terminal_reason":"api_error","api_error_status":500,"structured_output":{"answer":4},
        "deferred_tool_use":{"id":"toolu_d","name":"Write","input":{"path":"x"}},
        "user_message_uuid":"m1","user_message_uuids":["m1"],"queued_turn_count":0,"ttft_ms":87,"errors":null
    })) else {
        panic!()
    };
    assert_eq!(r.subtype, "success");
    assert!(r.is_error, "is_error with subtype success");
    assert!(!r.is_success());
    assert_eq!(r.api_error_status, Some(500));
    assert_eq!(r.result.as_deref(), Some("API Error: 500"));
    assert_eq!(
        (r.duration_ms, r.duration_api_ms, r.num_turns),
        (264, 51, 2)
    );
    assert_eq!(r.total_cost_usd, Some(0.000188));
    assert_eq!(r.usage.as_ref().map(|u| u.input_tokens), Some(24));
    let usage = &r.model_usage["claude-sonnet-4-5"];
    assert_eq!(
        (
            usage.input_tokens,
            usage.output_tokens,
            usage.cache_read_input_tokens
        ),
        (24, 14, 1)
    );
    assert_eq!(
        (usage.cache_creation_input_tokens, usage.web_search_requests),
        (2, 3)
    );
    assert_eq!(usage.cost_usd, 0.000188);
    assert_eq!(usage.context_window, Some(1_000_000));
    assert_eq!(r.permission_denials[0].tool_name, "Bash");
    assert_eq!(r.permission_denials[0].tool_input["command"], "rm -rf /");
    assert_eq!(r.terminal_reason.as_deref(), Some("api_error"));
    assert_eq!(r.structured_output, Some(json!({"answer":4})));
    assert_eq!(r.deferred_tool_use.as_ref().unwrap().name, "Write");
    assert!(r.errors.is_empty(), "null errors read as empty");
    assert_eq!(r.ttft_ms, Some(87));
    assert_eq!(
        r.user_message_uuids.as_deref(),
        Some(&["m1".to_owned()][..])
    );
}

#[test]
fn result_error_subtype() {
    let Message::Result(r) = parse(
        json!({"type":"result","subtype":"error_max_turns","is_error":true,"num_turns":1,"duration_ms":1,"duration_api_ms":1,"session_id":"s","errors":["Reached maximum number of turns (1)"],"terminal_reason":"max_turns"}),
    ) else {
        panic!()
    };
    assert_eq!(r.errors, ["Reached maximum number of turns (1)"]);
    assert_eq!(r.result, None);
    assert!(r.model_usage.is_empty());
}

#[test]
fn numbers_typed_as_js_number_accept_floats() {
    let Message::Result(r) = parse(
        json!({"type":"result","subtype":"success","is_error":false,"num_turns":1,"duration_ms":264.6,"duration_api_ms":51.0,"session_id":"s","ttft_ms":null,"modelUsage":{"m":{"inputTokens":5.0,"contextWindow":null}}}),
    ) else {
        panic!()
    };
    assert_eq!(
        (r.duration_ms, r.duration_api_ms, r.ttft_ms),
        (265, 51, None)
    );
    assert_eq!(r.model_usage["m"].input_tokens, 5);
    assert_eq!(r.model_usage["m"].context_window, None);
    let err = parse_err(
        json!({"type":"result","subtype":"success","is_error":false,"num_turns":1,"duration_ms":-1,"duration_api_ms":0,"session_id":"s"}),
    );
    assert!(err.contains("invalid value"), "{err}");
}

#[test]
fn missing_required_fields_are_clear_errors() {
    let err = parse_err(
        json!({"type":"result","subtype":"success","is_error":false,"duration_ms":1,"duration_api_ms":1,"num_turns":1}),
    );
    assert!(err.contains("missing field `session_id`"), "{err}");
    let err = parse_err(
        json!({"type":"assistant","message":{"content":[{"type":"text","text":"x"}]},"session_id":"s"}),
    );
    assert!(err.contains("missing field `model`"), "{err}");
    let err = parse_err(json!({"type":"assistant","message":{"model":"m","content":"not a list"}}));
    assert!(err.contains("invalid type"), "{err}");
    let err = parse_err(assistant(json!([{"type":"tool_use","id":"t","input":{}}])));
    assert!(err.contains("missing field `name`"), "{err}");
    let err = parse_err(assistant(json!([{"type":"text"}])));
    assert!(err.contains("missing field `text`"), "{err}");
    let err = parse_err(json!({"type":"user","session_id":"s"}));
    assert!(err.contains("missing field `message`"), "{err}");
    let err = parse_err(json!({"type":"system","session_id":"s"}));
    assert!(err.contains("missing field `subtype`"), "{err}");
    let err = parse_err(
        json!({"type":"system","subtype":"task_started","description":"d","uuid":"u","session_id":"s"}),
    );
    assert!(err.contains("missing field `task_id`"), "{err}");
    let err = parse_err(
        json!({"type":"system","subtype":"task_notification","task_id":"t","status":"completed","output_file":"o","summary":"s","session_id":"s"}),
    );
    assert!(err.contains("missing field `uuid`"), "{err}");
    let err = parse_err(json!({"type":"stream_event","uuid":"u","session_id":"s"}));
    assert!(err.contains("missing field `event`"), "{err}");
    assert!(Message::from_slice(b"{\"type\":\"assistant\",").is_err());
    assert!(Message::from_slice(b"not json").is_err());
}

#[test]
fn system_subtypes_typed_views() {
    let sys = |v: Value| match parse(v) {
        Message::System(s) => s,
        other => panic!("{other:?}"),
    };
    let s = sys(
        json!({"type":"system","subtype":"status","status":"compacting","uuid":"u","session_id":"s"}),
    );
    assert!(matches!(&s, SystemMessage::Status(f) if f.status.as_deref() == Some("compacting")));
    let s = sys(
        json!({"type":"system","subtype":"task_started","task_id":"t1","description":"research","task_type":"local_agent","is_backgrounded":true,"uuid":"u","session_id":"s"}),
    );
    let SystemMessage::TaskStarted(t) = &s else {
        panic!()
    };
    assert_eq!((t.task_id.as_str(), t.is_backgrounded), ("t1", Some(true)));
    assert_eq!(s.tracked_task_started(), Some("t1"));
    let s = sys(
        json!({"type":"system","subtype":"task_progress","task_id":"t1","description":"d","usage":{"total_tokens":10,"tool_uses":2,"duration_ms":300},"last_tool_name":"Read","uuid":"u","session_id":"s"}),
    );
    assert!(matches!(&s, SystemMessage::TaskProgress(p) if p.usage.tool_uses == 2));
    let s = sys(
        json!({"type":"system","subtype":"task_updated","task_id":"t1","patch":{"status":"completed","end_time":1700000000},"uuid":"u","session_id":"s"}),
    );
    assert_eq!(s.task_ended(), Some("t1"));
    let s = sys(
        json!({"type":"system","subtype":"hook_response","hook_id":"h1","hook_name":"PreToolUse:Bash","hook_event":"PreToolUse","output":"","stdout":"","stderr":"","exit_code":0,"outcome":"success","uuid":"u","session_id":"s"}),
    );
    let SystemMessage::HookResponse(h) = &s else {
        panic!()
    };
    assert_eq!((h.event_name(), h.exit_code), (Some("PreToolUse"), Some(0)));
    let s = sys(
        json!({"type":"system","subtype":"compact_boundary","compact_metadata":{"trigger":"auto","pre_tokens":1000},"uuid":"u","session_id":"s"}),
    );
    assert!(
        matches!(&s, SystemMessage::CompactBoundary(c) if c.compact_metadata.pre_tokens == Some(1000))
    );
    let s = sys(
        json!({"type":"system","subtype":"api_retry","attempt":1,"max_retries":10,"retry_delay_ms":500,"error_status":529,"error":"overloaded","uuid":"u","session_id":"s"}),
    );
    assert!(matches!(&s, SystemMessage::ApiRetry(r) if r.error_status == Some(529)));
    let s = sys(
        json!({"type":"system","subtype":"permission_denied","tool_name":"Bash","tool_use_id":"toolu_1","message":"no","uuid":"u","session_id":"s"}),
    );
    assert!(
        matches!(&s, SystemMessage::PermissionDenied(p) if p.tool_name.as_deref() == Some("Bash"))
    );
    // Unknown subtype: kept raw with its subtype.
    let s = sys(
        json!({"type":"system","subtype":"memory_recall","memories":[1],"uuid":"u","session_id":"s"}),
    );
    assert!(matches!(&s, SystemMessage::Other(_)));
    assert_eq!(s.subtype(), "memory_recall");
    assert_eq!(s.data()["memories"], json!([1]));
    assert_eq!((s.uuid(), s.session_id()), (Some("u"), Some("s")));
    // A generic subtype whose payload does not fit its typed view degrades to Other.
    let s = sys(json!({"type":"system","subtype":"init","tools":"not a list","session_id":"s"}));
    assert!(matches!(&s, SystemMessage::Other(f) if f.subtype == "init"));
    let s = sys(
        json!({"type":"system","subtype":"session_state_changed","state":7,"sdk_host_only":true}),
    );
    assert!(s.is_sdk_host_only());
    assert_eq!(s.session_state(), None);
}

/// `system/task_updated` in every shape the Python SDK's parser tests pin: it never
/// fails, and only a terminal `patch.status` ends the task.
#[test]
fn task_updated_every_shape_parses_and_only_terminal_statuses_end_the_task() {
    // (extra fields of the frame, status read, ends the task)
    let shapes = [
        (
            json!({"patch":{"status":"completed","end_time":1780405729183_u64},"uuid":"u","session_id":"s"}),
            Some("completed"),
            true,
        ),
        // The observed CLI shape: no uuid, no session_id.
        (
            json!({"patch":{"status":"completed","end_time":1780405729183_u64}}),
            Some("completed"),
            true,
        ),
        (
            json!({"patch":{"status":"pending"}}),
            Some("pending"),
            false,
        ),
        (
            json!({"patch":{"status":"running"}}),
            Some("running"),
            false,
        ),
        (json!({"patch":{"status":"paused"}}), Some("paused"), false),
        (json!({}), None, false),
        (json!({"patch":{"end_time":1780405729183_u64}}), None, false),
        (json!({"patch":"completed"}), None, false),
        (json!({"patch":["completed"]}), None, false),
        (json!({"patch":42}), None, false),
        (json!({"patch":null}), None, false),
        (json!({"patch":{"status":"failed"}}), Some("failed"), true),
        (
            json!({"patch":{"status":"killed","end_time":1780405729183_u64}}),
            Some("killed"),
            true,
        ),
        (json!({"patch":{"status":"stopped"}}), Some("stopped"), true),
        // A status of the wrong type is no status.
        (json!({"patch":{"status":7}}), None, false),
    ];
    for (extra, status, ends) in shapes {
        let mut frame = json!({"type":"system","subtype":"task_updated","task_id":"b1m21w89v"});
        frame
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let Message::System(system) = parse(frame.clone()) else {
            panic!("{frame}")
        };
        let SystemMessage::TaskUpdated(update) = &system else {
            panic!("{frame}: {system:?}")
        };
        assert_eq!(update.task_id, "b1m21w89v");
        assert_eq!(update.patch.status.as_deref(), status, "{frame}");
        assert_eq!(update.patch.is_terminal(), ends, "{frame}");
        assert_eq!(system.task_ended(), ends.then_some("b1m21w89v"), "{frame}");
        match &frame["patch"] {
            Value::Object(patch) => assert_eq!(&update.patch.fields, patch),
            _ => assert!(update.patch.fields.is_empty(), "{frame}"),
        }
        assert_eq!(system.data(), &frame);
    }
    // No task_id at all: still a task_updated, as in Python (task_id "").
    let Message::System(SystemMessage::TaskUpdated(update)) =
        parse(json!({"type":"system","subtype":"task_updated","patch":{"status":"killed"}}))
    else {
        panic!()
    };
    assert_eq!(update.task_id, "");
}

#[test]
fn other_frame_types() {
    let Message::StreamEvent(e) = parse(
        json!({"type":"stream_event","uuid":"u","session_id":"s","parent_tool_use_id":null,"event":{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"a\": 1"}}}),
    ) else {
        panic!()
    };
    assert_eq!(e.event["delta"]["partial_json"], "{\"a\": 1");
    let Message::RateLimit(r) = parse(
        json!({"type":"rate_limit_event","rate_limit_info":{"status":"rejected","resetsAt":1700000000,"rateLimitType":"seven_day","utilization":1.0,"overageStatus":"allowed","overageResetsAt":1700001000,"overageDisabledReason":"x","isUsingOverage":true,"future":1},"uuid":"u","session_id":"s"}),
    ) else {
        panic!()
    };
    let info = &r.rate_limit_info;
    assert_eq!(info.status, "rejected");
    assert_eq!(info.resets_at, Some(1_700_000_000));
    assert_eq!(info.utilization, Some(1.0));
    assert_eq!(info.overage_resets_at, Some(1_700_001_000));
    assert_eq!(info.is_using_overage, Some(true));
    assert_eq!(info.raw["future"], 1);
    let Message::ConversationReset(c) = parse(
        json!({"type":"conversation_reset","new_conversation_id":"c2","uuid":"u","session_id":"s","trigger":"clear"}),
    ) else {
        panic!()
    };
    assert_eq!(c.trigger.as_deref(), Some("clear"));
    // A heartbeat of a long tool call, as the CLI 2.1.330 sends it every 30 s.
    let Message::ToolProgress(p) = parse(
        json!({"type":"tool_progress","tool_use_id":"toolu_1-heartbeat-1","tool_name":"mcp__slow__wait","parent_tool_use_id":"toolu_1","elapsed_time_seconds":60,"heartbeat":true,"uuid":"u","session_id":"s"}),
    ) else {
        panic!()
    };
    assert_eq!(
        (p.call_id(), p.elapsed_time_seconds, p.heartbeat),
        ("toolu_1", 60.0, true)
    );
    // A subagent's tool: not a heartbeat, its own id.
    let Message::ToolProgress(p) = parse(
        json!({"type":"tool_progress","tool_use_id":"toolu_2","tool_name":"Bash","parent_tool_use_id":"toolu_0","elapsed_time_seconds":3.5,"uuid":"u","session_id":"s"}),
    ) else {
        panic!()
    };
    assert_eq!((p.call_id(), p.heartbeat), ("toolu_2", false));
    for unknown in [
        json!({"type":"keep_alive"}),
        json!({"type":"command_lifecycle","command_uuid":"c","state":"queued","uuid":"u","session_id":"s"}),
        json!({"no_type":true}),
    ] {
        assert_eq!(parse(unknown.clone()), Message::Unknown(unknown));
    }
    let m = parse(json!({"type":"command_lifecycle","session_id":"s9"}));
    assert_eq!(m.session_id(), Some("s9"));
    // Non-object JSON is not a frame, but not a panic either.
    assert_eq!(
        Message::from_slice(b"[1,2]").unwrap(),
        Message::Unknown(json!([1, 2]))
    );
}

#[test]
fn message_deserialize_matches_from_slice() {
    for (_, frame) in transcript_frames() {
        let via_serde: Message = serde_json::from_value(frame.clone()).unwrap();
        let via_slice = parse(frame);
        assert_eq!(via_serde, via_slice);
    }
}

#[test]
fn blocks_round_trip_through_serialize() {
    let blocks = json!([
        {"type":"text","text":"t"},
        {"type":"thinking","thinking":"th","signature":"sg"},
        {"type":"redacted_thinking","data":"d"},
        {"type":"tool_use","id":"toolu_1","name":"n","input":{"a":[1]}},
        {"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"r"}],"is_error":false},
        {"type":"tool_result","tool_use_id":"toolu_2"},
        {"type":"server_tool_use","id":"s1","name":"web_search","input":{}},
        {"type":"advisor_tool_result","tool_use_id":"s1","content":{"k":"v"}},
        {"type":"image","source":{"type":"base64","media_type":"image/png","data":"AA=="}},
        {"type":"document","source":{"type":"text","data":"doc"}}
    ]);
    let parsed: Vec<ContentBlock> = serde_json::from_value(blocks.clone()).unwrap();
    assert_eq!(serde_json::to_value(&parsed).unwrap(), blocks);
}

/// Arbitrary JSON values, with the message vocabulary coming up often.
fn arb_json() -> impl Strategy<Value = Value> {
    common::arb_json(
        &["text", "tool_result", "init"],
        ".{0,8}",
        &[
            "type",
            "text",
            "content",
            "message",
            "subtype",
            "tool_use_id",
        ],
        "[a-z_]{1,10}",
    )
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = Message::from_slice(&bytes);
    }

    #[test]
    fn arbitrary_json_never_panics(value in arb_json()) {
        let _ = Message::from_slice(&serde_json::to_vec(&value).unwrap());
    }

    #[test]
    fn arbitrary_frames_of_known_types_never_panic(
        tag in prop::sample::select(vec!["user", "assistant", "system", "result", "stream_event", "rate_limit_event", "conversation_reset"]),
        subtype in prop::sample::select(vec!["init", "status", "task_started", "task_updated", "hook_response", "x"]),
        body in arb_json(),
        content in arb_json(),
    ) {
        let mut frame = json!({"type": tag, "subtype": subtype, "message": {"model": "m", "content": content}});
        if let (Value::Object(frame), Value::Object(body)) = (&mut frame, body) {
            frame.extend(body.into_iter().filter(|(k, _)| k != "type"));
        }
        let _ = Message::from_slice(&serde_json::to_vec(&frame).unwrap());
    }
}

/// Timing check, run by hand (never timed in CI):
/// `cargo test --release -p agent-sdk --test integration -- --ignored --nocapture messages::parse_speed`
#[test]
#[ignore = "timing check, run by hand with --release"]
fn parse_speed() {
    // A real assistant frame as the CLI writes it (compact, `type` first).
    let frame = br#"{"type":"assistant","message":{"id":"msg_0002","type":"message","role":"assistant","model":"claude-opus-5-5","content":[{"type":"tool_use","id":"toolu_0001","name":"mcp__calc__add","input":{"a":2,"b":3}}],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":1,"cache_creation_input_tokens":0,"cache_read_input_tokens":0},"context_management":null},"parent_tool_use_id":null,"session_id":"adb9010a-7831-44af-9ce4-6ad4d733f738","uuid":"6122cdf3-a770-46f6-9120-d779ef090daf","timestamp":"2026-11-21T13:37:48.364Z","tool_use_meta":[{"id":"toolu_0001","display_name":"Add","server_display_name":"calc","tool_name":"add"}]}"#;
    const N: u32 = 300_000;
    let rate = |f: &dyn Fn() -> bool| {
        let start = std::time::Instant::now();
        let mut ok = 0u32;
        for _ in 0..N {
            ok += u32::from(std::hint::black_box(f()));
        }
        assert_eq!(ok, N);
        f64::from(N) / start.elapsed().as_secs_f64()
    };
    let value = rate(&|| serde_json::from_slice::<Value>(std::hint::black_box(frame)).is_ok());
    let typed = rate(&|| {
        matches!(
            Message::from_slice(std::hint::black_box(frame)),
            Ok(Message::Assistant(_))
        )
    });
    println!("serde_json::Value: {value:>9.0} frames/s");
    println!("Message typed:     {typed:>9.0} frames/s");
}
