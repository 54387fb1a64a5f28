//! The agent server continues a caller's `traceparent`: the request spans are
//! children of the caller's span, the session and its turn hang under them, and
//! the CLI joins the same trace.

use agent_sdk::hooks::{HookContext, PreToolUse, PreToolUseInput, PreToolUseOutput};
use agent_sdk::permission::HandlerError;
use agent_sdk::prelude::*;
use agent_sdk::server::{AgentServer, ServerConfig, db};
use agent_sdk::testing::{Script, Turn};
use agent_sdk_e2e::World;
use serde_json::{Value, json};

use super::sdk::{add, cli_telemetry_env};
use super::{assert_parent, exported, has_all, one, telemetry};

/// A caller's `traceparent`: its trace, and the span the request is made under.
fn traceparent(trace: &str, span: &str) -> String {
    format!("00-{trace}-{span}-01")
}

/// A caller's trace id, new for each run: the time, with bit `bit` set so the
/// ids of one test differ.
fn new_trace_id(bit: u32) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{:032x}", nanos | (1 << bit))
}

/// POSTs `body` with the caller's `traceparent`; returns the status and the answer.
async fn post(http: &reqwest::Client, url: String, traceparent: &str, body: Value) -> (u16, Value) {
    let response = http
        .post(url)
        .header("traceparent", traceparent)
        .json(&body)
        .send()
        .await
        .expect("the request is answered");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_continue_the_callers_trace_down_to_the_turn_and_the_cli() {
    telemetry();
    let world = World::start(
        Script::new()
            .then(Turn::tool_use("mcp__calc__add", json!({"a": 2, "b": 3})))
            .then(Turn::text("5"))
            .then(Turn::text("Still 5.")),
    )
    .await;
    let cli = agent_sdk::testing::ensure_cli().await.expect("the CLI");
    let mut cli_env = world.env.cli_env();
    cli_env.extend(
        cli_telemetry_env()
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value)),
    );
    let config = ServerConfig::default()
        .cli_path(cli)
        .cli_env(cli_env)
        .default_cwd(world.env.cwd());
    let server = AgentServer::builder()
        .db(db::open("memory://").await.expect("memory db"))
        .config(config)
        .options(|_spec, _principal| {
            let calc = create_sdk_mcp_server!("calc", tools = [add]).expect("calc builds");
            agent_sdk::AgentOptions::builder()
                .allowed_tools(calc.qualified_tool_names())
                .mcp_server("calc", calc)
                .hook(
                    PreToolUse::matching("mcp__calc__add"),
                    |_input: PreToolUseInput, _ctx: HookContext| async move {
                        Ok::<_, HandlerError>(PreToolUseOutput::none())
                    },
                )
        })
        .build()
        .await
        .expect("server builds");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = server.router();
    tokio::spawn(async move { axum::serve(listener, router).await });
    let http = reqwest::Client::new();

    // The caller's trace: a new id for each run, and a span of its own per request.
    let trace = new_trace_id(100);
    let (create_parent, message_parent) = ("00000000000000a1", "00000000000000b2");
    let (status, created) = post(
        &http,
        format!("{base}/v1/sessions"),
        &traceparent(&trace, create_parent),
        json!({}),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().expect("a session id");
    let (status, answer) = post(
        &http,
        format!("{base}/v1/sessions/{id}/messages"),
        &traceparent(&trace, message_parent),
        json!({"text": "What is 2 + 3?"}),
    )
    .await;
    assert!((200..300).contains(&status), "{status} {answer}");

    // The turn ends after the request was answered; the CLI exports at its own pace.
    // The create request's span is out while the session it started lives on.
    let spans = exported(&trace, |spans| {
        has_all(
            spans,
            &[
                "POST /v1/sessions",
                "execute_tool mcp__calc__add",
                "claude_code.interaction",
                "tool_call",
                "turn",
            ],
        ) && spans.iter().any(|span| {
            span.name == "invoke_agent" && span.int("gen_ai.usage.output_tokens").is_some()
        })
    })
    .await;
    let create = one(&spans, "POST /v1/sessions");
    // Likewise the create request's span ended, though the session it started lives on.
    assert!(!spans.iter().any(|span| span.name == "agent_session"));
    let message = one(&spans, "POST /v1/sessions/{id}/messages");
    assert_eq!(create.parent_span_id, create_parent);
    assert_eq!(message.parent_span_id, message_parent);
    // The turn went with the message, and outlived it: the request's span ended
    // when the request was answered (202), not with the turn.
    let turn = one(&spans, "invoke_agent");
    assert_parent(turn, message);
    assert!(message.end_unix_nano < turn.end_unix_nano);
    assert!(
        turn.int("gen_ai.usage.output_tokens").unwrap_or(0) > 0,
        "{turn:?}"
    );
    for child in [
        one(&spans, "execute_tool mcp__calc__add"),
        one(&spans, "hook PreToolUse"),
    ] {
        assert_parent(child, turn);
    }
    // The server's own spans: a tool call lasts from its `tool_use` to its
    // result, under the server's turn, with the session, the tool use and the
    // events' seqs as fields.
    let server_turn = one(&spans, "turn");
    assert_eq!(server_turn.attr("session_id").as_deref(), Some(id));
    let tool_call = one(&spans, "tool_call");
    assert_parent(tool_call, server_turn);
    let execute_tool = one(&spans, "execute_tool mcp__calc__add");
    assert_eq!(tool_call.attr("tool").as_deref(), Some("mcp__calc__add"));
    assert_eq!(tool_call.attr("session_id").as_deref(), Some(id));
    assert_eq!(
        tool_call.attr("tool_use_id"),
        execute_tool.attr("gen_ai.tool.call.id")
    );
    assert_eq!(tool_call.attr("is_error").as_deref(), Some("false"));
    // u64 fields are exported as text.
    let seq_of = |key: &str| tool_call.attr(key).and_then(|v| v.parse::<u64>().ok());
    let (seq, result_seq) = (seq_of("seq"), seq_of("result_seq"));
    assert!(seq.is_some() && result_seq > seq, "{tool_call:?}");
    assert!(
        tool_call.end_unix_nano >= execute_tool.end_unix_nano,
        "the tool call span ends with its result, after the tool ran"
    );

    // The CLI started under the create request: TRACEPARENT carried the caller's trace.
    let interaction = one(&spans, "claude_code.interaction");
    assert_parent(interaction, create);
    assert_eq!(interaction.attr("parent.source").as_deref(), Some("env"));

    // A later message in another trace: its turn joins that trace, linked to the session's.
    let other_trace = new_trace_id(101);
    let other_parent = "00000000000000c3";
    let (status, answer) = post(
        &http,
        format!("{base}/v1/sessions/{id}/messages"),
        &traceparent(&other_trace, other_parent),
        json!({"text": "And again?"}),
    )
    .await;
    assert!((200..300).contains(&status), "{status} {answer}");
    let later = exported(&other_trace, |spans| {
        spans.iter().any(|span| {
            span.name == "invoke_agent" && span.int("gen_ai.usage.output_tokens").is_some()
        })
    })
    .await;
    let message = one(&later, "POST /v1/sessions/{id}/messages");
    assert_eq!(message.parent_span_id, other_parent);
    let later_turn = one(&later, "invoke_agent");
    assert_parent(later_turn, message);
    assert_eq!(later_turn.linked_traces, std::slice::from_ref(&trace));

    // The session started with the create request, and ends when it is closed.
    let closed = http
        .delete(format!("{base}/v1/sessions/{id}"))
        .send()
        .await
        .expect("the close is answered");
    assert!(closed.status().is_success(), "{}", closed.status());
    let spans = exported(&trace, |spans| has_all(spans, &["agent_session"])).await;
    let session = one(&spans, "agent_session");
    assert_parent(session, one(&spans, "POST /v1/sessions"));
    assert_eq!(
        session.attr("gen_ai.conversation.id"),
        turn.attr("gen_ai.conversation.id")
    );
    assert_parent(one(&spans, "control_request initialize"), session);
}

/// A permission request a person answers: the SDK's `permission` span under the
/// turn says the tool and the decision, and the server's `permission_request`
/// span under it names the session, the request's correlation id and the
/// event's seq, so a trace leads to the event a console showed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permission_request_has_spans_with_the_tool_the_decision_and_the_event() {
    use agent_sdk::server::ServerConfig;
    use agent_sdk_e2e::server::{TestServer, of_kind};

    telemetry();
    let world = World::start(
        Script::new()
            .then(Turn::tool_use(
                "Bash",
                json!({"command": "touch never.txt"}),
            ))
            .then(Turn::text("understood")),
    )
    .await;
    let server = TestServer::start(&world, ServerConfig::default()).await;
    let trace = new_trace_id(102);
    let (status, created) = post(
        &server.http,
        format!("{}/v1/sessions", server.base),
        &traceparent(&trace, "00000000000000d4"),
        json!({"permission_mode": "default"}),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().expect("a session id").to_owned();
    let mut events = server.events(&id, Some(0)).await;
    let (status, answer) = post(
        &server.http,
        format!("{}/v1/sessions/{id}/messages", server.base),
        &traceparent(&trace, "00000000000000e5"),
        json!({"text": "run it"}),
    )
    .await;
    assert!((200..300).contains(&status), "{status} {answer}");

    let seen = events.until("permission_request").await;
    let (seq, request) = seen
        .iter()
        .find(|event| event.1 == "permission_request")
        .map(|event| (event.0.expect("a seq"), event.2.clone()))
        .expect("a permission request");
    let cid = request["correlation_id"]
        .as_str()
        .expect("a correlation id");
    let path = format!("/v1/sessions/{id}/permissions/{cid}");
    let (status, denied) = server
        .post(&path, json!({"behavior": "deny", "message": "not today"}))
        .await;
    assert_eq!(status, 200, "{denied}");
    let seen = events.until("turn_complete").await;
    assert_eq!(of_kind(&seen, "permission_resolved")[0]["behavior"], "deny");

    let spans = exported(&trace, |spans| {
        spans.iter().any(|span| {
            span.name == "permission" && span.attr("agent_sdk.permission.decision").is_some()
        }) && has_all(spans, &["permission_request"])
    })
    .await;
    let asked = one(&spans, "permission");
    assert_parent(asked, one(&spans, "invoke_agent"));
    assert_eq!(asked.attr("gen_ai.tool.name").as_deref(), Some("Bash"));
    assert_eq!(
        asked.attr("agent_sdk.permission.decision").as_deref(),
        Some("deny")
    );
    assert_eq!(
        asked.attr("gen_ai.tool.call.id").as_deref(),
        request["tool_use_id"].as_str()
    );
    let waited = one(&spans, "permission_request");
    assert_parent(waited, asked);
    assert_eq!(waited.attr("session_id").as_deref(), Some(id.as_str()));
    assert_eq!(waited.attr("correlation_id").as_deref(), Some(cid));
    assert_eq!(waited.attr("tool").as_deref(), Some("Bash"));
    assert_eq!(
        waited.attr("tool_use_id").as_deref(),
        request["tool_use_id"].as_str()
    );
    assert_eq!(waited.attr("seq"), Some(seq.to_string()), "{waited:?}");
}
