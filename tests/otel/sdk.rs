//! A real-CLI session with an in-process tool, a permission handler and a hook:
//! the spans it exports, and the trace context the CLI received.

use agent_sdk::hooks::{HookContext, PreToolUse, PreToolUseInput, PreToolUseOutput};
use agent_sdk::permission::{HandlerError, PermissionResult, ToolPermissionRequest};
use agent_sdk::prelude::*;
use agent_sdk::testing::{Script, Turn};
use agent_sdk_e2e::World;
use serde_json::json;
use tracing::Instrument;

use super::{assert_parent, exported, has_all, one, telemetry, trace_id};

/// Add two numbers.
#[tool]
pub(super) async fn add(a: f64, b: f64) -> f64 {
    a + b
}

/// The CLI's own OpenTelemetry, pointed at our collector: its spans show that
/// it received our trace context.
pub(super) fn cli_telemetry_env() -> Vec<(&'static str, String)> {
    vec![
        ("CLAUDE_CODE_ENABLE_TELEMETRY", "1".into()),
        ("CLAUDE_CODE_ENHANCED_TELEMETRY_BETA", "1".into()),
        ("OTEL_TRACES_EXPORTER", "otlp".into()),
        ("OTEL_METRICS_EXPORTER", "none".into()),
        ("OTEL_LOGS_EXPORTER", "none".into()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".into()),
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            telemetry().collector.endpoint(),
        ),
        ("OTEL_BSP_SCHEDULE_DELAY", "200".into()),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_exports_its_turn_tool_call_hook_and_permission_spans() {
    telemetry();
    let world = World::start(
        Script::new()
            .then(Turn::tool_use("mcp__calc__add", json!({"a": 2, "b": 3})))
            .then(Turn::text("2 + 3 = 5.")),
    )
    .await;
    let calc = create_sdk_mcp_server!("calc", version = "1.0.0", tools = [add]).unwrap();
    let mut options = world
        .options()
        .mcp_server("calc", calc)
        // Not in allowed_tools: the CLI asks our permission handler.
        .can_use_tool(|request: ToolPermissionRequest| async move {
            assert_eq!(request.tool_name, "mcp__calc__add");
            PermissionResult::allow()
        })
        .hook(
            PreToolUse::matching("mcp__calc__add"),
            // No decision: the permission handler decides.
            |_input: PreToolUseInput, _ctx: HookContext| async move {
                Ok::<_, HandlerError>(PreToolUseOutput::none())
            },
        );
    for (key, value) in cli_telemetry_env() {
        options = options.env(key, value);
    }
    let options = options.build().unwrap();

    let root = tracing::info_span!("test_root");
    let trace = trace_id(&root);
    let result = async {
        let client = Client::connect(options).await.expect("connect");
        client.query("What is 2 + 3?").await.expect("query");
        let mut result = None;
        let mut replies = client.receive_response();
        while let Some(message) = replies.next().await {
            if let Message::Result(done) = message.expect("message") {
                result = Some(done);
            }
        }
        drop(replies);
        client.disconnect().await.expect("disconnect");
        result.expect("a result")
    }
    .instrument(root.clone())
    .await;
    drop(root);
    assert!(!result.is_error, "{result:?}");

    // Ours, and the CLI's turn: it exports on its own schedule, and at exit.
    let spans = exported(&trace, |spans| {
        has_all(spans, &["agent_session", "claude_code.interaction"])
    })
    .await;
    let ours: Vec<_> = spans
        .iter()
        .filter(|span| span.service == "agent-sdk-tests")
        .cloned()
        .collect();
    let root = one(&ours, "test_root");
    let session = one(&ours, "agent_session");
    let turn = one(&ours, "invoke_agent");
    let tool = one(&ours, "execute_tool mcp__calc__add");
    let permission = one(&ours, "permission");
    let hook = one(&ours, "hook PreToolUse");
    let initialize = one(&ours, "control_request initialize");
    assert_parent(session, root);
    assert_parent(turn, session);
    assert_parent(initialize, session);
    for child in [tool, permission, hook] {
        assert_parent(child, turn);
    }

    // The turn: GenAI names, and the usage and cost of the result, which the CLI
    // added up from the fake API's answers.
    let usage = result.usage.as_ref().expect("the result has usage");
    assert!(usage.output_tokens > 0, "{usage:?}");
    assert_eq!(
        turn.attr("gen_ai.operation.name").as_deref(),
        Some("invoke_agent")
    );
    assert_eq!(
        turn.attr("gen_ai.provider.name").as_deref(),
        Some("anthropic")
    );
    assert_eq!(
        turn.int("gen_ai.usage.input_tokens"),
        Some(usage.total_input_tokens() as i64)
    );
    assert_eq!(
        turn.int("gen_ai.usage.output_tokens"),
        Some(usage.output_tokens as i64)
    );
    assert_eq!(
        turn.attr("gen_ai.conversation.id").as_deref(),
        Some(result.session_id.as_str())
    );
    let cost = result.total_cost_usd.expect("a cost");
    assert_eq!(turn.attributes["agent_sdk.total_cost_usd"], json!(cost));
    assert_eq!(
        session.attr("gen_ai.conversation.id").as_deref(),
        Some(result.session_id.as_str())
    );

    // The tool call, the permission decision and the hook, each with its tool use.
    assert_eq!(
        tool.attr("gen_ai.operation.name").as_deref(),
        Some("execute_tool")
    );
    assert_eq!(
        tool.attr("gen_ai.tool.name").as_deref(),
        Some("mcp__calc__add")
    );
    assert_eq!(
        tool.attr("gen_ai.tool.call.id").as_deref(),
        Some("toolu_0001")
    );
    assert_eq!(
        permission.attr("gen_ai.tool.name").as_deref(),
        Some("mcp__calc__add")
    );
    assert_eq!(
        permission.attr("agent_sdk.permission.decision").as_deref(),
        Some("allow")
    );
    assert_eq!(
        hook.attr("agent_sdk.hook.event").as_deref(),
        Some("PreToolUse")
    );
    assert_eq!(
        hook.attr("gen_ai.tool.call.id").as_deref(),
        Some("toolu_0001")
    );
    assert_eq!(
        initialize.attr("agent_sdk.control.direction").as_deref(),
        Some("sdk->cli")
    );

    // The CLI got TRACEPARENT: its own turn span is in our trace, under the span
    // that was current when the client connected, and says it took its parent
    // from the environment.
    let cli: Vec<_> = spans
        .iter()
        .filter(|span| span.service == "claude-code")
        .cloned()
        .collect();
    let interaction = one(&cli, "claude_code.interaction");
    assert_parent(interaction, root);
    assert_eq!(interaction.attr("parent.source").as_deref(), Some("env"));
    assert_eq!(
        interaction.attr("gen_ai.operation.name").as_deref(),
        Some("invoke_agent")
    );
}

/// A turn still running when the client disconnects ends failed, not silently.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_turn_cut_short_by_a_disconnect_ends_failed() {
    telemetry();
    let world = World::start(
        Script::new().then(Turn::text("too late").with_delay(std::time::Duration::from_secs(30))),
    )
    .await;
    let root = tracing::info_span!("test_root");
    let trace = trace_id(&root);
    async {
        let client = Client::connect(world.options().build().unwrap())
            .await
            .expect("connect");
        client.query("Take your time.").await.expect("query");
        // The model is answering (the fake API holds its reply back): cut it short.
        while world.env.api().main_loop_requests().is_empty() {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        client.disconnect().await.expect("disconnect");
    }
    .instrument(root.clone())
    .await;
    drop(root);

    let spans = exported(&trace, |spans| {
        has_all(spans, &["agent_session", "invoke_agent"])
    })
    .await;
    let turn = one(&spans, "invoke_agent");
    assert_parent(turn, one(&spans, "agent_session"));
    assert_eq!(turn.attr("error.type").as_deref(), Some("disconnected"));
    assert!(turn.failed, "{turn:?}");
    assert_eq!(turn.int("gen_ai.usage.output_tokens"), None);
}
