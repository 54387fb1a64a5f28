//! Golden argv, environment and discovery tests of the child command line.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::json;

use super::*;
use crate::handler::BoxFuture;
use crate::options::{
    AgentDefinition, AgentOptionsBuilder, Effort, McpHttpServer, McpServerConfig, McpSseServer,
    McpStdioServer, PermissionMode, SettingSource, Skills, Thinking, ThinkingDisplay,
};
use crate::permission::ErasedPermissionHandler;

const HEAD: [&str; 5] = [
    "--output-format",
    "stream-json",
    "--verbose",
    "--system-prompt",
    "",
];
const TAIL: [&str; 2] = ["--input-format", "stream-json"];

fn argv(builder: AgentOptionsBuilder) -> Vec<String> {
    let options = builder.build().expect("valid options");
    build_args(&options)
        .expect("argv builds")
        .into_iter()
        .map(|arg| arg.into_string().expect("utf-8 argument"))
        .collect()
}

/// The default head, then `middle`, then the tail.
fn with_default_prompt(middle: &[&str]) -> Vec<String> {
    HEAD.iter()
        .chain(middle)
        .chain(TAIL.iter())
        .map(|s| s.to_string())
        .collect()
}

/// Asserts the argv of `builder` is the default head + `middle` + tail.
#[track_caller]
fn assert_middle(builder: AgentOptionsBuilder, middle: &[&str]) {
    assert_eq!(argv(builder), with_default_prompt(middle));
}

fn b() -> AgentOptionsBuilder {
    AgentOptions::builder()
}

struct AllowAll;

impl ErasedPermissionHandler for AllowAll {
    fn handle(&self, request: Value) -> BoxFuture<'static, std::result::Result<Value, String>> {
        Box::pin(async move { Ok(json!({"behavior": "allow", "updatedInput": request["input"]})) })
    }
}

fn with_handler(mut builder: AgentOptionsBuilder) -> AgentOptionsBuilder {
    builder.options.can_use_tool = Some(Arc::new(AllowAll));
    builder
}

// ---- argv: one golden per option ----

#[test]
fn defaults_are_streaming_with_empty_system_prompt_and_no_print() {
    let args = argv(b());
    assert_eq!(args, with_default_prompt(&[]));
    assert!(!args.iter().any(|a| a == "--print" || a == "-p"));
}

#[test]
fn system_prompt_forms() {
    let tail = |mid: &[&str]| {
        ["--output-format", "stream-json", "--verbose"]
            .iter()
            .chain(mid)
            .chain(TAIL.iter())
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        argv(b().system_prompt("Be terse.")),
        tail(&["--system-prompt", "Be terse."])
    );
    assert_eq!(
        argv(b().system_prompt(SystemPrompt::file("/p/prompt.md"))),
        tail(&["--system-prompt-file", "/p/prompt.md"])
    );
    assert_eq!(
        argv(b().system_prompt(SystemPrompt::custom("Custom.").snapshot(true))),
        tail(&["--system-prompt", "Custom."])
    );
    assert_eq!(argv(b().system_prompt(SystemPrompt::preset())), tail(&[]));
    assert_eq!(
        argv(
            b().system_prompt(
                SystemPrompt::preset()
                    .append("Extra.")
                    .exclude_dynamic_sections(true)
            )
        ),
        tail(&["--append-system-prompt", "Extra."])
    );
}

#[test]
fn tools_list_empty_and_preset() {
    assert_middle(
        b().tools(Tools::list(["Read", "Grep"])),
        &["--tools", "Read,Grep"],
    );
    assert_middle(b().tools(Tools::none()), &["--tools", ""]);
    assert_middle(b().tools(Tools::ClaudeCode), &["--tools", "default"]);
}

#[test]
fn allowed_and_disallowed_tools_are_comma_joined() {
    assert_middle(
        b().allowed_tools(["Read", "mcp__calc__add"]),
        &["--allowedTools", "Read,mcp__calc__add"],
    );
    assert_middle(
        b().disallowed_tools(["WebFetch", "Bash"]),
        &["--disallowedTools", "WebFetch,Bash"],
    );
}

#[test]
fn max_turns_zero_is_dropped() {
    assert_middle(b().max_turns(3), &["--max-turns", "3"]);
    assert_middle(b().max_turns(0), &[]);
}

#[test]
fn budgets() {
    assert_middle(b().max_budget_usd(1.5), &["--max-budget-usd", "1.5"]);
    assert_middle(b().max_budget_usd(2.0), &["--max-budget-usd", "2.0"]);
    assert_middle(b().task_budget(50_000), &["--task-budget", "50000"]);
}

#[test]
fn model_fallback_and_betas() {
    assert_middle(b().model("sonnet"), &["--model", "sonnet"]);
    assert_middle(b().fallback_model("haiku"), &["--fallback-model", "haiku"]);
    assert_middle(
        b().betas(["context-1m-2025-08-07", "x"]),
        &["--betas", "context-1m-2025-08-07,x"],
    );
}

#[test]
fn permission_prompt_tool_and_mode() {
    assert_middle(
        b().permission_prompt_tool_name("mcp__auth__ask"),
        &["--permission-prompt-tool", "mcp__auth__ask"],
    );
    assert_middle(with_handler(b()), &["--permission-prompt-tool", "stdio"]);
    for (mode, text) in [
        (PermissionMode::Default, "default"),
        (PermissionMode::AcceptEdits, "acceptEdits"),
        (PermissionMode::Plan, "plan"),
        (PermissionMode::BypassPermissions, "bypassPermissions"),
        (PermissionMode::DontAsk, "dontAsk"),
        (PermissionMode::Auto, "auto"),
    ] {
        assert_middle(b().permission_mode(mode), &["--permission-mode", text]);
    }
}

#[test]
fn session_flags_use_equals_forms() {
    assert_middle(b().continue_conversation(true), &["--continue"]);
    assert_middle(b().resume("-abc"), &["--resume=-abc"]);
    assert_middle(b().session_id("1234-uuid"), &["--session-id=1234-uuid"]);
    assert_middle(b().fork_session(true), &["--fork-session"]);
    assert_middle(
        b().resume_session_at("msg-1"),
        &["--resume-session-at=msg-1"],
    );
    assert_middle(
        b().resume_drops_turn("msg-2"),
        &["--resume-drops-turn=msg-2"],
    );
    // An empty resume_drops_turn is forwarded on purpose; an empty resume is not.
    assert_middle(b().resume_drops_turn(""), &["--resume-drops-turn="]);
    assert_middle(b().resume(""), &[]);
}

#[test]
fn settings_path_or_json_as_given() {
    assert_middle(
        b().settings(Settings::Path("/etc/s.json".into())),
        &["--settings", "/etc/s.json"],
    );
    assert_middle(
        b().settings(Settings::Json(r#"{"a":1}"#.into())),
        &["--settings", r#"{"a":1}"#],
    );
}

#[test]
fn sandbox_alone_becomes_settings_json() {
    assert_middle(
        b().sandbox(json!({"enabled": true})),
        &["--settings", r#"{"sandbox":{"enabled":true}}"#],
    );
}

#[test]
fn sandbox_merges_into_inline_settings() {
    assert_middle(
        b().settings(Settings::Json(
            r#"{"model":"x","sandbox":{"old":1}}"#.into(),
        ))
        .sandbox(json!({"enabled": true})),
        &["--settings", r#"{"model":"x","sandbox":{"enabled":true}}"#],
    );
}

#[test]
fn sandbox_merges_into_settings_file_relative_to_cwd_with_bom() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("s.json"),
        "\u{FEFF}{\"permissions\":{\"allow\":[]}}",
    )
    .unwrap();
    assert_middle(
        b().cwd(dir.path())
            .settings(Settings::Path("s.json".into()))
            .sandbox(json!({"enabled": false})),
        &[
            "--settings",
            r#"{"permissions":{"allow":[]},"sandbox":{"enabled":false}}"#,
        ],
    );
}

#[test]
fn unreadable_settings_with_sandbox_is_a_clear_error() {
    let options = b()
        .settings(Settings::Path("/nonexistent/settings.json".into()))
        .sandbox(json!({"enabled": true}))
        .build()
        .unwrap();
    let err = build_args(&options).unwrap_err();
    assert!(
        matches!(&err, Error::InvalidOptions { option: "settings", rule } if rule.contains("cannot read")),
        "{err}"
    );
    let options = b()
        .settings(Settings::Json("[1]".into()))
        .sandbox(json!({}))
        .build()
        .unwrap();
    assert!(
        build_args(&options)
            .unwrap_err()
            .to_string()
            .contains("not a JSON object")
    );
}

#[test]
fn add_dirs_repeat() {
    assert_middle(
        b().add_dir("/a").add_dir("/b c"),
        &["--add-dir", "/a", "--add-dir", "/b c"],
    );
}

#[test]
fn mcp_config_typed_servers() {
    let mut builder = b();
    builder.options.mcp_servers.insert(
        "files".into(),
        McpServerConfig::Stdio(McpStdioServer::new("srv").arg("-v").env("K", "V")),
    );
    builder.options.mcp_servers.insert(
        "events".into(),
        McpServerConfig::Sse(McpSseServer::new("http://127.0.0.1:1/sse")),
    );
    builder.options.mcp_servers.insert(
        "web".into(),
        McpServerConfig::Http(McpHttpServer::new("http://127.0.0.1:1/mcp").header("A", "b")),
    );
    builder.options.mcp_servers.insert(
        "raw".into(),
        McpServerConfig::External(json!({"type": "stdio", "command": "x"})),
    );
    let args = argv(builder);
    let at = args.iter().position(|a| a == "--mcp-config").unwrap();
    let config: Value = serde_json::from_str(&args[at + 1]).unwrap();
    assert_eq!(
        config,
        json!({"mcpServers": {
            "files": {"type": "stdio", "command": "srv", "args": ["-v"], "env": {"K": "V"}},
            "events": {"type": "sse", "url": "http://127.0.0.1:1/sse"},
            "web": {"type": "http", "url": "http://127.0.0.1:1/mcp", "headers": {"A": "b"}},
            "raw": {"type": "stdio", "command": "x"},
        }})
    );
}

#[test]
fn mcp_config_raw_path_or_json() {
    assert_middle(
        b().mcp_config(McpConfigSource::Path("/p/.mcp.json".into())),
        &["--mcp-config", "/p/.mcp.json"],
    );
    assert_middle(
        b().mcp_config(McpConfigSource::Json(r#"{"mcpServers":{}}"#.into())),
        &["--mcp-config", r#"{"mcpServers":{}}"#],
    );
}

#[test]
fn boolean_stream_flags() {
    assert_middle(
        b().include_partial_messages(true),
        &["--include-partial-messages"],
    );
    assert_middle(b().include_hook_events(true), &["--include-hook-events"]);
    assert_middle(b().strict_mcp_config(true), &["--strict-mcp-config"]);
    // These travel elsewhere (initialize, user frames, env), never on argv.
    assert_middle(
        b().forward_subagent_text(true)
            .verbatim_prompts(true)
            .enable_file_checkpointing(true)
            .client_app("app"),
        &[],
    );
}

#[test]
fn setting_sources_none_empty_and_list() {
    assert_middle(b(), &[]);
    assert_middle(b().setting_sources([]), &["--setting-sources="]);
    assert_middle(
        b().setting_sources([
            SettingSource::User,
            SettingSource::Project,
            SettingSource::Local,
        ]),
        &["--setting-sources=user,project,local"],
    );
}

#[test]
fn skills_add_allowed_rules_and_default_setting_sources() {
    assert_middle(
        b().skills(Skills::All),
        &["--allowedTools", "Skill", "--setting-sources=user,project"],
    );
    assert_middle(
        b().allowed_tools(["Read"])
            .skills(Skills::list(["pdf", "xlsx", "pdf"]))
            .setting_sources([SettingSource::Local]),
        &[
            "--allowedTools",
            "Read,Skill(pdf),Skill(xlsx)",
            "--setting-sources=local",
        ],
    );
    // An explicit empty source list is kept, even with skills.
    assert_middle(
        b().skills(Skills::All).setting_sources([]),
        &["--allowedTools", "Skill", "--setting-sources="],
    );
}

#[test]
fn plugins_are_plugin_dirs() {
    assert_middle(
        b().plugin(Plugin::local("/plug/a"))
            .plugin(Plugin::local("rel/b")),
        &["--plugin-dir", "/plug/a", "--plugin-dir", "rel/b"],
    );
}

#[test]
fn extra_args_dash_rule_and_order() {
    assert_middle(
        b().extra_arg("debug-to-stderr", None::<String>)
            .extra_arg("agent", Some("reviewer"))
            .extra_arg("weird", Some("-starts-with-dash"))
            .extra_arg("agent", Some("replaced")),
        &[
            "--debug-to-stderr",
            "--agent",
            "replaced",
            "--weird=-starts-with-dash",
        ],
    );
}

#[test]
#[allow(deprecated)]
fn thinking_forms_and_precedence() {
    assert_middle(
        b().thinking(Thinking::adaptive()),
        &["--thinking", "adaptive"],
    );
    assert_middle(
        b().thinking(Thinking::adaptive().display(ThinkingDisplay::Summarized)),
        &["--thinking", "adaptive", "--thinking-display", "summarized"],
    );
    assert_middle(
        b().thinking(Thinking::enabled(8000).display(ThinkingDisplay::Omitted)),
        &[
            "--max-thinking-tokens",
            "8000",
            "--thinking-display",
            "omitted",
        ],
    );
    assert_middle(
        b().thinking(Thinking::Disabled.display(ThinkingDisplay::Omitted)),
        &["--thinking", "disabled"],
    );
    assert_middle(b().max_thinking_tokens(0), &["--max-thinking-tokens", "0"]);
    assert_middle(
        b().max_thinking_tokens(500).thinking(Thinking::adaptive()),
        &["--thinking", "adaptive"],
    );
}

#[test]
fn effort_levels() {
    for (effort, text) in [
        (Effort::Low, "low"),
        (Effort::Medium, "medium"),
        (Effort::High, "high"),
        (Effort::Xhigh, "xhigh"),
        (Effort::Max, "max"),
    ] {
        assert_middle(b().effort(effort), &["--effort", text]);
    }
}

#[test]
fn output_schema_is_json_schema_flag() {
    assert_middle(
        b().output_schema(json!({"type": "object", "properties": {"x": {"type": "string"}}})),
        &[
            "--json-schema",
            r#"{"type":"object","properties":{"x":{"type":"string"}}}"#,
        ],
    );
}

#[test]
fn agents_never_go_on_argv() {
    let args = argv(b().agent("rev", AgentDefinition::new("d", "p")));
    assert!(!args.iter().any(|a| a.starts_with("--agent")));
}

/// Every option at once, in the Python SDK's emission order.
pub(super) fn maximal() -> AgentOptionsBuilder {
    let mut builder = b()
        .system_prompt(SystemPrompt::preset().append("Be brief."))
        .tools(Tools::list(["Read", "Bash"]))
        .allowed_tools(["Read", "mcp__calc__add"])
        .skills(Skills::list(["pdf"]))
        .max_turns(3)
        .max_budget_usd(1.5)
        .disallowed_tools(["WebFetch"])
        .task_budget(100_000)
        .model("sonnet")
        .fallback_model("haiku")
        .betas(["context-1m-2025-08-07"])
        .permission_mode(PermissionMode::AcceptEdits)
        .continue_conversation(true)
        .session_id("11111111-2222-3333-4444-555555555555")
        .settings(Settings::Json(r#"{"cleanupPeriodDays":30}"#.into()))
        .add_dir("/tmp")
        .include_partial_messages(true)
        .include_hook_events(true)
        .strict_mcp_config(true)
        .fork_session(true)
        .setting_sources([])
        .extra_arg("debug-to-stderr", None::<String>)
        .thinking(Thinking::adaptive().display(ThinkingDisplay::Summarized))
        .effort(Effort::Low)
        .output_schema(json!({"type": "object", "properties": {"x": {"type": "string"}}}));
    builder.options.mcp_servers.insert(
        "ext".into(),
        McpServerConfig::Stdio(McpStdioServer::new("/bin/false")),
    );
    with_handler(builder)
}

#[test]
fn maximal_argv_in_python_order() {
    let expected: Vec<&str> = vec![
        "--output-format",
        "stream-json",
        "--verbose",
        "--append-system-prompt",
        "Be brief.",
        "--tools",
        "Read,Bash",
        "--allowedTools",
        "Read,mcp__calc__add,Skill(pdf)",
        "--max-turns",
        "3",
        "--max-budget-usd",
        "1.5",
        "--disallowedTools",
        "WebFetch",
        "--task-budget",
        "100000",
        "--model",
        "sonnet",
        "--fallback-model",
        "haiku",
        "--betas",
        "context-1m-2025-08-07",
        "--permission-prompt-tool",
        "stdio",
        "--permission-mode",
        "acceptEdits",
        "--continue",
        "--session-id=11111111-2222-3333-4444-555555555555",
        "--settings",
        r#"{"cleanupPeriodDays":30}"#,
        "--add-dir",
        "/tmp",
        "--mcp-config",
        r#"{"mcpServers":{"ext":{"command":"/bin/false","type":"stdio"}}}"#,
        "--include-partial-messages",
        "--include-hook-events",
        "--strict-mcp-config",
        "--fork-session",
        "--setting-sources=",
        "--debug-to-stderr",
        "--thinking",
        "adaptive",
        "--thinking-display",
        "summarized",
        "--effort",
        "low",
        "--json-schema",
        r#"{"type":"object","properties":{"x":{"type":"string"}}}"#,
        "--input-format",
        "stream-json",
    ];
    let mut args = argv(maximal());
    // serde_json's map order is not the point here: compare the config as JSON.
    let at = args.iter().position(|a| a == "--mcp-config").unwrap() + 1;
    let config: Value = serde_json::from_str(&args[at]).unwrap();
    assert_eq!(
        config,
        json!({"mcpServers": {"ext": {"type": "stdio", "command": "/bin/false"}}})
    );
    args[at] = expected[at].to_owned();
    assert_eq!(args, expected);
}

#[test]
fn hostile_values_stay_single_verbatim_entries() {
    let hostile = [
        "--foo",
        ";rm -rf /",
        "a\nb\r\nc",
        "$(reboot)",
        "`id`",
        "'\"",
        " ",
    ];
    for value in hostile {
        let args = argv(
            b().model(value)
                .system_prompt(value)
                .add_dir(value)
                .allowed_tools([value])
                .extra_arg("x", Some(value)),
        );
        let count = |needle: &str| args.iter().filter(|a| *a == needle).count();
        assert!(args.iter().any(|a| a == value), "{value:?} in {args:?}");
        // --model, --system-prompt, --add-dir, --allowedTools (+ --x when not dash-led).
        let expected = if value.starts_with('-') { 4 } else { 5 };
        assert_eq!(count(value), expected, "{value:?} in {args:?}");
        assert_eq!(count("--input-format"), 1);
        assert_eq!(args.last().unwrap(), "stream-json");
    }
    // A dash-leading id cannot turn into a flag.
    assert_middle(
        b().resume("--dangerously-skip-permissions"),
        &["--resume=--dangerously-skip-permissions"],
    );
}

#[test]
fn nul_bytes_are_refused_not_truncated() {
    let options = b().model("a\0b").build().unwrap();
    let err = build_args(&options).unwrap_err();
    assert!(
        matches!(err, Error::InvalidOptions { option: "argv", ref rule } if rule.contains("NUL")),
        "{err}"
    );
}

#[cfg(unix)]
#[test]
fn non_utf8_paths_pass_through() {
    use std::os::unix::ffi::OsStrExt;
    let dir = PathBuf::from(std::ffi::OsStr::from_bytes(b"/tmp/\xff\xfe"));
    let options = b().add_dir(dir.clone()).build().unwrap();
    let args = build_args(&options).unwrap();
    assert!(args.contains(&dir.into_os_string()));
}

// ---- environment ----

fn env_of(
    builder: AgentOptionsBuilder,
    inherited: &[&str],
) -> (BTreeMap<String, String>, Vec<String>) {
    let options = builder.build().unwrap();
    let (set, remove) = build_env(&options, inherited.iter().map(OsString::from));
    let keys: Vec<_> = set.iter().map(|(k, _)| k.clone()).collect();
    let mut unique = keys.clone();
    unique.dedup();
    assert_eq!(keys.len(), unique.len(), "no key set twice");
    for key in &remove {
        assert!(!keys.contains(key), "{key:?} both set and removed");
    }
    (
        set.into_iter()
            .map(|(k, v)| (k.into_string().unwrap(), v.into_string().unwrap()))
            .collect(),
        remove
            .into_iter()
            .map(|k| k.into_string().unwrap())
            .collect(),
    )
}

/// The trace context the CLI gets: set, replacing an inherited one, unless the
/// options' own env names it.
#[cfg(feature = "otel")]
#[test]
fn trace_context_goes_to_the_cli_unless_the_env_sets_it() {
    let context = |tracestate: Option<&str>| crate::otel::TraceContext {
        traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into(),
        tracestate: tracestate.map(str::to_owned),
    };
    let traced = |builder: AgentOptionsBuilder, context| {
        let options = builder.build().unwrap();
        let (mut set, mut remove) = build_env(&options, std::iter::empty());
        put_trace_context(&options, context, &mut set, &mut remove);
        let value = |key: &str| {
            set.iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.to_string_lossy().into_owned())
        };
        let removed = |key: &str| remove.iter().any(|k| k == key);
        (
            value("TRACEPARENT"),
            value("TRACESTATE"),
            removed("TRACESTATE"),
        )
    };

    let (parent, state, state_removed) = traced(b(), Some(context(Some("vendor=1"))));
    assert_eq!(
        parent.as_deref(),
        Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
    );
    assert_eq!(state.as_deref(), Some("vendor=1"));
    assert!(!state_removed);

    // No tracestate of ours: an inherited one would not belong to our trace.
    let (parent, state, state_removed) = traced(b(), Some(context(None)));
    assert!(parent.is_some());
    assert_eq!(state, None);
    assert!(state_removed);

    // The caller's explicit env wins.
    let explicit = b().env(
        "TRACEPARENT",
        "00-11111111111111111111111111111111-2222222222222222-01",
    );
    let (parent, _, _) = traced(explicit, Some(context(None)));
    assert_eq!(
        parent.as_deref(),
        Some("00-11111111111111111111111111111111-2222222222222222-01")
    );

    // No current trace: nothing set, nothing removed.
    assert_eq!(traced(b(), None), (None, None, false));
}

#[test]
fn default_environment() {
    let (set, remove) = env_of(b(), &["HOME", "CLAUDECODE"]);
    assert_eq!(set["CLAUDE_CODE_ENTRYPOINT"], "sdk-rust");
    assert_eq!(set["CLAUDE_AGENT_SDK_VERSION"], env!("CARGO_PKG_VERSION"));
    assert_eq!(set["CLAUDE_CODE_SDK_READS_SESSION_STATE"], "1");
    assert!(!set.contains_key("PWD"));
    assert!(!set.contains_key("CLAUDE_CODE_ENABLE_SDK_FILE_CHECKPOINTING"));
    assert!(!set.contains_key("CLAUDE_AGENT_SDK_CLIENT_APP"));
    assert_eq!(
        remove,
        ["CLAUDECODE", "CLAUDE_AGENT_SDK_DERIVED_CLIENT_APP"]
    );
}

#[test]
fn user_env_overrides_entrypoint_but_not_sdk_version() {
    let (set, _) = env_of(
        b().env("CLAUDE_CODE_ENTRYPOINT", "mine")
            .env("CLAUDE_AGENT_SDK_VERSION", "9.9.9")
            .env("ANTHROPIC_BASE_URL", "http://127.0.0.1:1"),
        &[],
    );
    assert_eq!(set["CLAUDE_CODE_ENTRYPOINT"], "mine");
    assert_eq!(set["CLAUDE_AGENT_SDK_VERSION"], env!("CARGO_PKG_VERSION"));
    assert_eq!(set["ANTHROPIC_BASE_URL"], "http://127.0.0.1:1");
}

#[test]
fn session_state_var_respects_existing_key_case_insensitively() {
    let (set, _) = env_of(b(), &["claude_code_sdk_reads_session_state"]);
    assert!(!set.contains_key("CLAUDE_CODE_SDK_READS_SESSION_STATE"));
    let (set, _) = env_of(b().env("Claude_Code_Sdk_Reads_Session_State", "0"), &[]);
    assert!(!set.contains_key("CLAUDE_CODE_SDK_READS_SESSION_STATE"));
    assert_eq!(set["Claude_Code_Sdk_Reads_Session_State"], "0");
}

#[test]
fn explicit_claudecode_is_kept() {
    let (set, remove) = env_of(b().env("CLAUDECODE", "1"), &["CLAUDECODE"]);
    assert_eq!(set["CLAUDECODE"], "1");
    assert!(!remove.contains(&"CLAUDECODE".to_owned()));
}

#[test]
fn cwd_checkpointing_and_client_app() {
    let (set, _) = env_of(
        b().cwd("/work/project")
            .env("PWD", "/elsewhere")
            .enable_file_checkpointing(true)
            .client_app(""),
        &[],
    );
    assert_eq!(set["PWD"], "/work/project");
    assert_eq!(set["CLAUDE_CODE_ENABLE_SDK_FILE_CHECKPOINTING"], "true");
    assert_eq!(set["CLAUDE_AGENT_SDK_CLIENT_APP"], "");
}

#[test]
fn build_command_uses_cli_path_and_cwd() {
    let spec = build_command(&b().cli_path("/opt/claude").cwd("/tmp").build().unwrap()).unwrap();
    assert_eq!(spec.program, PathBuf::from("/opt/claude"));
    assert_eq!(spec.cwd.as_deref(), Some(Path::new("/tmp")));
    assert_eq!(spec.args.last().unwrap(), "stream-json");
    assert!(spec.env.iter().any(|(k, v)| k == "PWD" && v == "/tmp"));
}

#[test]
fn build_command_refuses_nul_in_env() {
    let options = b()
        .cli_path("/opt/claude")
        .env("K", "a\0b")
        .build()
        .unwrap();
    assert!(matches!(
        build_command(&options),
        Err(Error::InvalidOptions { option: "env", .. })
    ));
}

#[cfg(unix)]
#[test]
fn build_command_runs_as_the_user_with_its_home_unless_env_says_otherwise() {
    let spec = build_command(&b().cli_path("/opt/claude").user("root").build().unwrap()).unwrap();
    let run_as = spec.run_as.as_ref().expect("looked up");
    assert_eq!((run_as.uid, run_as.gid), (0, 0));
    let env = |spec: &CommandSpec, key: &str| {
        let found: Vec<_> = spec.env.iter().filter(|(k, _)| k == key).collect();
        assert_eq!(found.len(), 1, "{key} set once");
        found[0].1.clone()
    };
    assert_eq!(env(&spec, "HOME"), run_as.home.as_os_str());
    assert_eq!(env(&spec, "USER"), "root");
    assert_eq!(env(&spec, "LOGNAME"), "root");

    let explicit = b()
        .cli_path("/opt/claude")
        .user("root")
        .env("HOME", "/srv/agent")
        .build()
        .unwrap();
    let spec = build_command(&explicit).unwrap();
    assert_eq!(env(&spec, "HOME"), "/srv/agent");
    assert_eq!(env(&spec, "USER"), "root");

    // Without the option nothing about the user changes.
    let plain = build_command(&b().cli_path("/opt/claude").build().unwrap()).unwrap();
    assert!(plain.run_as.is_none());
    assert!(!plain.env.iter().any(|(k, _)| k == "LOGNAME"));
}

#[test]
fn build_command_refuses_an_unknown_user_and_build_an_empty_name() {
    let options = b()
        .cli_path("/opt/claude")
        .user("no-such-user-agent-sdk")
        .build()
        .unwrap();
    let error = build_command(&options).unwrap_err();
    if cfg!(unix) {
        assert!(
            matches!(&error, Error::UnknownUser { name } if name == "no-such-user-agent-sdk"),
            "{error:?}"
        );
    } else {
        assert!(
            matches!(error, Error::UnsupportedOnPlatform { option: "user" }),
            "{error:?}"
        );
    }
    for bad in ["", "a\0b"] {
        assert!(matches!(
            b().user(bad).build(),
            Err(Error::InvalidOptions { option: "user", .. })
        ));
    }
}

// ---- discovery ----

#[cfg(unix)]
fn fake_cli(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn an_npm_install_is_found_through_bin_on_unix_and_the_package_binary_on_windows() {
    let dir = Path::new("proj");
    assert_eq!(
        npm_cli_path_for(dir, false),
        Path::new("proj/node_modules/.bin/claude")
    );
    // npm's `.bin` on Windows has only shims; the package ships the native claude.exe.
    let windows: Vec<_> = npm_cli_path_for(dir, true)
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        windows,
        [
            "proj",
            "node_modules",
            "@anthropic-ai",
            "claude-code",
            "bin",
            "claude.exe"
        ]
    );
    assert!(!is_batch_file(&npm_cli_path_for(dir, true)));
}

#[test]
fn cli_path_option_wins_without_search() {
    let found = find_cli_in(Some(Path::new("/no/such/claude")), &SearchPlaces::default()).unwrap();
    assert_eq!(found, PathBuf::from("/no/such/claude"));
}

#[cfg(unix)]
#[test]
fn finds_cli_on_path() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("bin");
    fake_cli(&bin.join("claude"));
    let path_var = std::env::join_paths([tmp.path().join("empty"), bin.clone()]).unwrap();
    let places = SearchPlaces {
        path_var: Some(path_var),
        current_dir: None,
        home: None,
    };
    assert_eq!(find_cli_in(None, &places).unwrap(), bin.join("claude"));
}

#[cfg(unix)]
#[test]
fn node_modules_in_an_ancestor_comes_before_path() {
    let tmp = tempfile::tempdir().unwrap();
    let local = tmp.path().join("node_modules/.bin/claude");
    fake_cli(&local);
    let on_path = tmp.path().join("bin/claude");
    fake_cli(&on_path);
    let deep = tmp.path().join("a/b/c");
    std::fs::create_dir_all(&deep).unwrap();
    let places = SearchPlaces {
        path_var: Some(tmp.path().join("bin").into_os_string()),
        current_dir: Some(deep),
        home: None,
    };
    assert_eq!(find_cli_in(None, &places).unwrap(), local);
}

#[cfg(unix)]
#[test]
fn non_executable_files_and_directories_are_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("bin");
    std::fs::create_dir_all(bin.join("claude")).unwrap(); // a directory named claude
    let other = tmp.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("claude"), "not executable").unwrap();
    let home = tmp.path().join("home");
    fake_cli(&home.join(".claude/local/claude"));
    let places = SearchPlaces {
        path_var: Some(std::env::join_paths([&bin, &other]).unwrap()),
        current_dir: None,
        home: Some(home.clone()),
    };
    assert_eq!(
        find_cli_in(None, &places).unwrap(),
        home.join(".claude/local/claude")
    );
}

#[cfg(unix)]
#[test]
fn not_found_lists_every_place_searched() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path().join("proj");
    std::fs::create_dir_all(&cwd).unwrap();
    let home = tmp.path().join("home");
    let places = SearchPlaces {
        path_var: Some(
            std::env::join_paths([tmp.path().join("bin"), PathBuf::from("relative")]).unwrap(),
        ),
        current_dir: Some(cwd.clone()),
        home: Some(home.clone()),
    };
    let Err(Error::CliNotFound { searched }) = find_cli_in(None, &places) else {
        panic!("expected CliNotFound");
    };
    assert_eq!(searched[0], cwd.join("node_modules/.bin/claude"));
    assert!(searched.contains(&tmp.path().join("node_modules/.bin/claude")));
    assert!(searched.contains(&PathBuf::from("/node_modules/.bin/claude")));
    assert!(searched.contains(&tmp.path().join("bin/claude")));
    // Relative PATH entries are never searched.
    assert!(!searched.contains(&PathBuf::from("relative/claude")));
    for tail in [
        ".npm-global/bin/claude",
        ".local/bin/claude",
        "node_modules/.bin/claude",
        ".yarn/bin/claude",
        ".claude/local/claude",
    ] {
        assert!(searched.contains(&home.join(tail)), "{tail}");
    }
    assert!(searched.contains(&PathBuf::from("/usr/local/bin/claude")));
    let message = Error::CliNotFound { searched }.to_string();
    assert!(message.contains("/usr/local/bin/claude"), "{message}");
}

// ---- the real CLI ----

#[test]
fn batch_files_are_recognised() {
    for path in [
        r"C:\tools\claude.cmd",
        "claude.BAT",
        "claude.cmd. .",
        "dir.bat/claude.exe",
        "claude.cmd:stream",
    ] {
        assert!(is_batch_file(Path::new(path)), "{path}");
    }
    for path in [
        "/usr/bin/claude",
        "claude.exe",
        "cmd/claude",
        "batch/claude",
    ] {
        assert!(!is_batch_file(Path::new(path)), "{path}");
    }
}
