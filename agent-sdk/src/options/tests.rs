//! Crate-internal accessors of the options: initialize fields, skill rules, bidirectional needs.

use std::sync::Arc;

use serde_json::{Value, json};

use super::*;
use crate::error::Error;
use crate::handler::BoxFuture;
use crate::permission::ErasedPermissionHandler;

fn fields(builder: AgentOptionsBuilder) -> Value {
    Value::Object(builder.build().unwrap().initialize_fields())
}

#[test]
fn no_initialize_fields_by_default() {
    assert_eq!(fields(AgentOptions::builder()), json!({}));
}

#[test]
fn preset_prompt_fields() {
    let prompt = SystemPrompt::preset()
        .append("x")
        .exclude_dynamic_sections(true)
        .snapshot(false);
    assert_eq!(
        fields(AgentOptions::builder().system_prompt(prompt)),
        json!({"excludeDynamicSections": true, "systemPromptSnapshot": false})
    );
}

#[test]
fn custom_prompt_snapshot_only() {
    assert_eq!(
        fields(AgentOptions::builder().system_prompt(SystemPrompt::custom("p").snapshot(true))),
        json!({"systemPromptSnapshot": true})
    );
    // Builder methods that do not apply to a form leave it unchanged.
    assert_eq!(
        SystemPrompt::custom("p")
            .append("x")
            .exclude_dynamic_sections(true),
        SystemPrompt::custom("p")
    );
    assert_eq!(
        fields(AgentOptions::builder().system_prompt("plain")),
        json!({})
    );
}

#[test]
fn skills_list_is_sent_deduplicated_but_all_is_not() {
    assert_eq!(
        fields(AgentOptions::builder().skills(Skills::list(["pdf", "xlsx", "pdf"]))),
        json!({"skills": ["pdf", "xlsx"]})
    );
    assert_eq!(
        fields(AgentOptions::builder().skills(Skills::All)),
        json!({})
    );
}

#[test]
fn forward_subagent_text_only_when_true() {
    assert_eq!(
        fields(AgentOptions::builder().forward_subagent_text(true)),
        json!({"forwardSubagentText": true})
    );
    assert_eq!(
        fields(AgentOptions::builder().forward_subagent_text(false)),
        json!({})
    );
}

#[test]
fn agents_are_camel_case_without_unset_fields() {
    let reviewer = AgentDefinition::new("Reviews", "You review.")
        .tools(["Read"])
        .disallowed_tools(["Bash"])
        .model("sonnet")
        .skills(["pdf"])
        .memory(AgentMemory::Project)
        .mcp_servers([
            AgentMcpServer::from("calc"),
            AgentMcpServer::Inline(
                [(
                    "inline".to_owned(),
                    json!({"type": "stdio", "command": "x"}),
                )]
                .into(),
            ),
        ])
        .initial_prompt("Start.")
        .max_turns(4)
        .background(true)
        .effort(Effort::High)
        .permission_mode(PermissionMode::Plan);
    let minimal = AgentDefinition::new("Short", "Prompt.").effort(2048);
    assert_eq!(
        fields(
            AgentOptions::builder()
                .agent("rev", reviewer)
                .agent("min", minimal)
        ),
        json!({"agents": {
            "rev": {
                "description": "Reviews", "prompt": "You review.", "tools": ["Read"],
                "disallowedTools": ["Bash"], "model": "sonnet", "skills": ["pdf"],
                "memory": "project", "mcpServers": ["calc", {"inline": {"type": "stdio", "command": "x"}}],
                "initialPrompt": "Start.", "maxTurns": 4, "background": true, "effort": "high",
                "permissionMode": "plan"
            },
            "min": {"description": "Short", "prompt": "Prompt.", "effort": 2048}
        }})
    );
}

#[test]
fn all_initialize_fields_together() {
    let value = fields(
        AgentOptions::builder()
            .system_prompt(
                SystemPrompt::preset()
                    .exclude_dynamic_sections(true)
                    .snapshot(true),
            )
            .skills(Skills::list(["pdf"]))
            .forward_subagent_text(true)
            .agent("rev", AgentDefinition::new("d", "p")),
    );
    let keys: Vec<&String> = value.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "agents",
            "excludeDynamicSections",
            "systemPromptSnapshot",
            "skills",
            "forwardSubagentText"
        ]
    );
}

struct Deny;

impl ErasedPermissionHandler for Deny {
    fn handle(&self, _request: Value) -> BoxFuture<'static, Result<Value, String>> {
        Box::pin(async { Ok(json!({"behavior": "deny", "message": "no"})) })
    }
}

#[test]
fn bidirectional_needs_and_accessors() {
    let plain = AgentOptions::builder().build().unwrap();
    assert!(!plain.has_bidirectional_needs());
    assert_eq!(plain.sdk_mcp_servers().count(), 0);
    assert!(!plain.verbatim_prompts());
    assert_eq!(plain.max_buffer_size(), 1024 * 1024);
    assert_eq!(plain.control_timeout(), Duration::from_secs(60));

    let mut builder = AgentOptions::builder()
        .verbatim_prompts(true)
        .max_buffer_size(10)
        .control_timeout(Duration::from_millis(5));
    builder.options.can_use_tool = Some(Arc::new(Deny));
    builder.options.mcp_servers.insert(
        "ext".into(),
        McpServerConfig::Stdio(McpStdioServer::new("x")),
    );
    let options = builder.build().unwrap();
    assert!(options.has_bidirectional_needs());
    // External servers are the CLI's business, not ours.
    assert_eq!(options.sdk_mcp_servers().count(), 0);
    assert!(options.verbatim_prompts());
    assert_eq!(options.max_buffer_size(), 10);
    assert_eq!(options.control_timeout(), Duration::from_millis(5));
}

#[test]
fn permission_handler_and_prompt_tool_conflict() {
    let mut builder = AgentOptions::builder().permission_prompt_tool_name("mcp__x__ask");
    builder.options.can_use_tool = Some(Arc::new(Deny));
    let err = builder.build().unwrap_err().to_string();
    assert!(
        err.contains("can_use_tool") && err.contains("permission_prompt_tool_name"),
        "{err}"
    );
}

#[test]
fn debug_redacts_handler_and_secrets() {
    let mut builder = AgentOptions::builder()
        .env("ANTHROPIC_API_KEY", "sk-ant-secret")
        .extra_arg("token", Some("tok-secret"))
        .settings(Settings::Json(r#"{"env":{"K":"settings-secret"}}"#.into()))
        .mcp_config(McpConfigSource::Json(r#"{"x":"mcp-secret"}"#.into()));
    builder.options.can_use_tool = Some(Arc::new(Deny));
    builder.options.mcp_servers.insert(
        "web".into(),
        McpServerConfig::Http(
            McpHttpServer::new("http://127.0.0.1/").header("Authorization", "header-secret"),
        ),
    );
    builder.options.mcp_servers.insert(
        "cmd".into(),
        McpServerConfig::Stdio(McpStdioServer::new("srv").env("TOKEN", "stdio-secret")),
    );
    let text = format!("{:?}", builder.build().unwrap());
    for secret in [
        "sk-ant-secret",
        "tok-secret",
        "settings-secret",
        "mcp-secret",
        "header-secret",
        "stdio-secret",
    ] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    for key in [
        "ANTHROPIC_API_KEY",
        "token",
        "Authorization",
        "TOKEN",
        "<handler>",
    ] {
        assert!(text.contains(key), "{key} missing: {text}");
    }
}

#[test]
fn external_mcp_config_must_be_an_object_and_names_non_empty() {
    let err = AgentOptions::builder()
        .mcp_server("x", McpServerConfig::External(json!([1])))
        .build()
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidOptions { option: "mcp_server", rule } if rule.contains("must be a JSON object")),
        "{err}"
    );
    let err = AgentOptions::builder()
        .mcp_server("", McpStdioServer::new("x"))
        .build()
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidOptions { option: "mcp_server", rule } if rule.contains("cannot be empty")),
        "{err}"
    );
}

/// Golden argv: in-process and external servers, added with the one builder method,
/// reach the CLI in one `--mcp-config`, shaped as the Python SDK sends them.
#[test]
fn every_mcp_server_goes_into_one_mcp_config() {
    let calc = crate::mcp::SdkMcpServer::builder("calc").build().unwrap();
    let options = AgentOptions::builder()
        .mcp_server("calc", calc)
        .mcp_server(
            "files",
            McpStdioServer::new("npx")
                .args(["-y", "server-filesystem"])
                .env("TOKEN", "t"),
        )
        .mcp_server("events", McpSseServer::new("http://127.0.0.1:1/sse"))
        .mcp_server(
            "web",
            McpHttpServer::new("http://127.0.0.1:1/mcp").header("Authorization", "Bearer t"),
        )
        .mcp_server(
            "raw",
            McpServerConfig::External(json!({"type": "stdio", "command": "x"})),
        )
        .build()
        .unwrap();
    let mut args: Vec<String> = crate::transport::command::build_args(&options)
        .unwrap()
        .into_iter()
        .map(|arg| arg.into_string().unwrap())
        .collect();
    let at = args.iter().position(|a| a == "--mcp-config").unwrap() + 1;
    // Map order is serde_json's business: compare the config as JSON, the rest as text.
    let config: Value = serde_json::from_str(&args[at]).unwrap();
    assert_eq!(
        config,
        json!({"mcpServers": {
            "calc": {"type": "sdk", "name": "calc"},
            "files": {"type": "stdio", "command": "npx", "args": ["-y", "server-filesystem"], "env": {"TOKEN": "t"}},
            "events": {"type": "sse", "url": "http://127.0.0.1:1/sse"},
            "web": {"type": "http", "url": "http://127.0.0.1:1/mcp", "headers": {"Authorization": "Bearer t"}},
            "raw": {"type": "stdio", "command": "x"},
        }})
    );
    args[at] = "<config>".into();
    assert_eq!(
        args,
        [
            "--output-format",
            "stream-json",
            "--verbose",
            "--system-prompt",
            "",
            "--mcp-config",
            "<config>",
            "--input-format",
            "stream-json",
        ]
    );
}

#[test]
fn windows_session_value_rules() {
    let ok = AgentOptions::builder()
        .resume("0f0e-uuid")
        .session_id("abc")
        .build()
        .unwrap();
    assert!(validate::validate_session_values_for_windows(&ok).is_ok());
    for bad in [
        "a&b", "a|b", "a<b", "a>b", "a^b", "%PATH%", "a!b", "a\"b", "a\nb", "a\rb",
    ] {
        let options = AgentOptions {
            resume_drops_turn: Some(bad.into()),
            ..AgentOptions::default()
        };
        let err = validate::validate_session_values_for_windows(&options).unwrap_err();
        assert!(err.to_string().contains("resume_drops_turn"), "{err}");
    }
}

#[test]
fn a_server_tool_timeout_is_its_configs_timeout_in_milliseconds() {
    let calc = crate::mcp::SdkMcpServer::builder("calc").build().unwrap();
    let options = AgentOptions::builder()
        .mcp_server("calc", calc)
        .mcp_server("files", super::McpStdioServer::new("srv"))
        .mcp_tool_timeout("calc", std::time::Duration::from_secs(90))
        .build()
        .unwrap();
    let json = |name: &str| options.mcp_server_json(name, &options.mcp_servers[name]);
    assert_eq!(
        json("calc"),
        json!({"type": "sdk", "name": "calc", "timeout": 90_000})
    );
    assert_eq!(json("files"), json!({"type": "stdio", "command": "srv"}));
}

#[test]
fn a_tool_timeout_under_a_second_is_refused() {
    let error = AgentOptions::builder()
        .mcp_tool_timeout("calc", std::time::Duration::from_millis(500))
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("under one second"), "{error}");
}

#[test]
fn dialog_kinds_are_declared_only_with_a_handler() {
    use crate::dialog::{UserDialogRequest, UserDialogResponse};
    let with = fields(AgentOptions::builder().on_user_dialog(
        ["refusal_fallback_prompt", "refusal_fallback_prompt"],
        |_request: UserDialogRequest| async { UserDialogResponse::Cancelled },
    ));
    assert_eq!(
        with,
        json!({"supportedDialogKinds": ["refusal_fallback_prompt"]})
    );
}
