//! The typed answers to our control requests, against the real CLI's answers
//! (`tests/data/control_replies`, see its README).

use agent_sdk::message::{ContextUsage, McpStatus, RewindFilesResult, ServerInfo};
use serde_json::{Value, json};

fn reply(name: &str) -> Value {
    let path = format!(
        "{}/tests/data/control_replies/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn initialize_answer_is_typed_and_keeps_the_rest() {
    let raw = reply("initialize");
    let info = ServerInfo::from_value(raw.clone());
    assert_eq!(
        info.commands.len(),
        raw["commands"].as_array().unwrap().len()
    );
    let review = info
        .commands
        .iter()
        .find(|c| c.name == "code-review")
        .unwrap();
    assert_eq!(review.aliases, ["review"]);
    assert_eq!(review.builtin, Some(true));
    assert!(review.argument_hint.starts_with("[low|medium|high"));
    let guide = info
        .agents
        .iter()
        .find(|a| a.name == "claude-code-guide")
        .unwrap();
    assert_eq!(guide.model.as_deref(), Some("haiku"));
    assert_eq!(info.output_style.as_deref(), Some("default"));
    assert_eq!(info.available_output_styles.len(), 5);
    let default = &info.models[0];
    assert_eq!(default.value, "default");
    assert_eq!(default.resolved_model.as_deref(), Some("claude-opus-5-5"));
    assert_eq!(default.supports_effort, Some(true));
    assert!(default.supported_effort_levels.contains(&"max".to_owned()));
    // A key the type does not model stays in `extra`.
    assert_eq!(default.extra["supportsThinkingOff"], false);
    assert_eq!(
        info.account.api_key_source.as_deref(),
        Some("ANTHROPIC_API_KEY")
    );
    assert_eq!(info.account.api_provider.as_deref(), Some("firstParty"));
    assert_eq!(info.pid, Some(31190));
    assert_eq!(info.claude_code_version.as_deref(), Some("2.1.330"));
    assert_eq!(info.current_permission_mode.as_deref(), Some("acceptEdits"));
    assert_eq!(info.capabilities.len(), 7);
    assert_eq!(info.extra["fast_mode_state"], "off");
    assert_eq!(info.extra["session_state"], "idle");
    assert!(
        !info.extra.contains_key("commands"),
        "typed keys leave extra"
    );

    // Through serde as well.
    let via_serde: ServerInfo = serde_json::from_value(raw).unwrap();
    assert_eq!(via_serde, info);
}

#[test]
fn initialize_answer_of_odd_shape_loses_nothing() {
    // The fakes answer with a bare pid; a key of the wrong type is kept raw.
    let info = ServerInfo::from_value(json!({"pid": 7, "commands": "not a list", "models": null}));
    assert_eq!(info.pid, Some(7));
    assert!(info.commands.is_empty() && info.models.is_empty());
    assert_eq!(info.extra["commands"], "not a list");
    assert!(!info.extra.contains_key("models"));
    assert_eq!(ServerInfo::from_value(Value::Null), ServerInfo::default());
}

#[test]
fn context_usage_answer_is_typed() {
    let raw = reply("get_context_usage");
    let usage: ContextUsage = serde_json::from_value(raw.clone()).unwrap();
    assert_eq!(usage.total_tokens, 18_082);
    assert_eq!(usage.max_tokens, 1_000_000);
    assert_eq!(usage.raw_max_tokens, Some(1_000_000));
    assert_eq!(usage.percentage, 2.0);
    assert_eq!(usage.model, "claude-opus-5-5");
    let ids: Vec<_> = usage
        .categories
        .iter()
        .map(|c| (c.id.as_deref().unwrap(), c.kind.as_str()))
        .collect();
    assert_eq!(
        ids,
        [
            ("system_tools", "used"),
            ("skills", "used"),
            ("messages", "used"),
            ("autocompact_buffer", "buffer"),
            ("free_space", "free"),
        ]
    );
    assert_eq!(usage.grid_rows.len(), 10);
    assert_eq!(usage.grid_rows[0][0].category_name, "System tools");
    assert!(usage.memory_files.is_empty() && usage.mcp_tools.is_empty() && usage.agents.is_empty());
    assert_eq!(usage.auto_compact_threshold, Some(967_000));
    assert!(usage.is_auto_compact_enabled);
    let breakdown = usage.message_breakdown.as_ref().unwrap();
    assert_eq!(breakdown.tool_call_tokens, 35);
    assert_eq!(breakdown.extra["toolCallsByType"][0]["name"], "Write");
    let api = usage.api_usage.as_ref().unwrap();
    assert_eq!((api.input_tokens, api.output_tokens), (18_082, 2));
    assert_eq!(usage.extra["autocompactSource"], "model-default");
    assert_eq!(usage.extra["skills"]["totalSkills"], 13);
    // `apiUsage` is null before the first response.
    let mut before = raw;
    before["apiUsage"] = Value::Null;
    let usage: ContextUsage = serde_json::from_value(before).unwrap();
    assert_eq!(usage.api_usage, None);
}

#[test]
fn mcp_status_answer_is_typed() {
    let status: McpStatus = serde_json::from_value(reply("mcp_status")).unwrap();
    let [server] = status.mcp_servers.as_slice() else {
        panic!("{status:?}")
    };
    assert_eq!(
        (server.name.as_str(), server.status.as_str()),
        ("empty", "connected")
    );
    let version = server.server_info.as_ref().unwrap();
    assert_eq!(
        (version.name.as_str(), version.version.as_str()),
        ("empty", "1.0.0")
    );
    assert_eq!(server.scope.as_deref(), Some("dynamic"));
    assert_eq!(server.source.as_deref(), Some("sdk"));
    assert!(server.tools.is_empty());
    assert_eq!(server.extra["transport"], "sdk");
    // A failed server, in the shape the TypeScript SDK documents.
    let status: McpStatus = serde_json::from_value(json!({"mcpServers":[{"name":"db","status":"failed",
        "error":"spawn ENOENT","config":{"type":"stdio","command":"db-server"},"scope":"project"}]}))
    .unwrap();
    assert_eq!(status.mcp_servers[0].error.as_deref(), Some("spawn ENOENT"));
    assert_eq!(
        status.mcp_servers[0].config.as_ref().unwrap()["command"],
        "db-server"
    );
}

#[test]
fn rewind_files_answers_are_typed() {
    let preview: RewindFilesResult = serde_json::from_value(reply("rewind_files_dry_run")).unwrap();
    assert!(preview.can_rewind);
    assert_eq!(
        preview.files_changed,
        ["/tmp/agent-sdk-test-0/work/notes.txt"]
    );
    assert_eq!((preview.insertions, preview.deletions), (Some(0), Some(2)));
    assert_eq!(preview.skipped_links, None);

    let done: RewindFilesResult = serde_json::from_value(reply("rewind_files")).unwrap();
    assert!(done.can_rewind);
    assert_eq!(done.skipped_links, Some(0));
    assert!(done.files_changed.is_empty());

    let refused: RewindFilesResult = serde_json::from_value(reply("rewind_files_refused")).unwrap();
    assert!(!refused.can_rewind);
    assert_eq!(
        refused.error.as_deref(),
        Some("No file checkpoint found for this message.")
    );
}
