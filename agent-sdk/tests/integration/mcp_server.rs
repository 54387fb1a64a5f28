//! JSON-RPC dispatch of the in-process MCP server, shapes checked against the
//! answers recorded from the Python SDK (`b_sdk_mcp`, `c_mcp_errors`).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use agent_sdk::mcp::{Content, DynamicTool, SdkMcpServer, ServerBuildError, ToolResult};
use agent_sdk::prelude::*;
use serde_json::{Value, json};

/// Add two numbers
#[tool]
async fn add(a: f64, b: f64) -> f64 {
    a + b
}

/// Divide a by b
#[tool(read_only, max_result_size_chars = 5000)]
async fn divide(a: f64, b: f64) -> Result<f64, ToolError> {
    if b == 0.0 {
        return Err(ToolError::new("division by zero"));
    }
    Ok(a / b)
}

#[tool]
async fn boom() -> String {
    panic!("kaboom")
}

#[tool]
async fn slow(millis: u64) -> String {
    tokio::time::sleep(Duration::from_millis(millis)).await;
    "done".into()
}

#[derive(serde::Serialize, schemars::JsonSchema)]
struct Stats {
    count: u32,
    mean: f64,
}

/// Statistics of a list.
#[tool(idempotent, title = "Stats")]
async fn stats(values: Vec<f64>) -> Json<Stats> {
    let count = values.len() as u32;
    let mean = values.iter().sum::<f64>() / f64::from(count.max(1));
    Json(Stats { count, mean })
}

#[tool]
async fn pictures() -> Vec<Content> {
    vec![
        Content::image("AAAA", "image/png"),
        Content::text_resource("file:///x", "hello res", Some("text/plain")),
        Content::resource_link("file:///y", "n").description("d"),
    ]
}

fn calc() -> SdkMcpServer {
    create_sdk_mcp_server!(
        "calc",
        version = "1.0.0",
        tools = [add, divide, boom, slow, stats, pictures]
    )
    .expect("server builds")
}

fn request(id: u64, method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

async fn call(server: &SdkMcpServer, name: &str, arguments: Value) -> Value {
    server
        .handle_json_rpc(request(
            2,
            "tools/call",
            json!({"name": name, "arguments": arguments, "_meta": {"claudecode/toolUseId": "toolu_1", "progressToken": 2}}),
        ))
        .await
}

#[tokio::test]
async fn initialize_matches_the_recorded_answer() {
    let server = calc();
    let answer = server
        .handle_json_rpc(json!({"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"claude-code","version":"2.1.330"}},"jsonrpc":"2.0","id":0}))
        .await;
    // The recorded answer, plus what our server does beyond the official SDKs' (tools that
    // change at run time, log messages).
    assert_eq!(
        answer,
        json!({"jsonrpc":"2.0","id":0,"result":{"capabilities":{"tools":{"listChanged":true},"logging":{}},"protocolVersion":"2025-11-25","serverInfo":{"name":"calc","version":"1.0.0"}}})
    );
    let older = server
        .handle_json_rpc(request(
            1,
            "initialize",
            json!({"protocolVersion": "2025-06-18"}),
        ))
        .await;
    assert_eq!(older["result"]["protocolVersion"], "2025-06-18");
    let unknown = server
        .handle_json_rpc(request(
            1,
            "initialize",
            json!({"protocolVersion": "1999-01-01"}),
        ))
        .await;
    assert_eq!(unknown["result"]["protocolVersion"], "2025-11-25");
}

#[tokio::test]
async fn notifications_are_acknowledged() {
    let server = calc();
    for method in [
        "notifications/initialized",
        "notifications/cancelled",
        "notifications/whatever",
    ] {
        let answer = server
            .handle_json_rpc(json!({"jsonrpc": "2.0", "method": method}))
            .await;
        assert_eq!(answer, json!({"jsonrpc": "2.0", "result": {}}));
    }
}

#[tokio::test]
async fn ping_and_unknown_method() {
    let server = calc();
    assert_eq!(
        server.handle_json_rpc(request(5, "ping", json!({}))).await,
        json!({"jsonrpc":"2.0","id":5,"result":{}})
    );
    assert_eq!(
        server
            .handle_json_rpc(request(6, "resources/list", json!({})))
            .await,
        json!({"jsonrpc":"2.0","id":6,"error":{"code":-32601,"message":"Method not found","data":"resources/list"}})
    );
}

#[tokio::test]
async fn tools_list_has_schemas_annotations_and_meta() {
    let answer = calc()
        .handle_json_rpc(request(1, "tools/list", json!({})))
        .await;
    let tools = answer["result"]["tools"].as_array().unwrap();
    let names: Vec<_> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["add", "divide", "boom", "slow", "stats", "pictures"]
    );
    assert_eq!(
        tools[0],
        json!({"name":"add","description":"Add two numbers","inputSchema":{"type":"object","properties":{"a":{"type":"number"},"b":{"type":"number"}},"required":["a","b"]}})
    );
    assert_eq!(tools[1]["annotations"], json!({"readOnlyHint": true}));
    assert_eq!(
        tools[1]["_meta"],
        json!({"anthropic/maxResultSizeChars": 5000})
    );
    assert_eq!(
        tools[2]["inputSchema"],
        json!({"type":"object","properties":{},"required":[]})
    );
    assert_eq!(tools[4]["title"], "Stats");
    assert_eq!(
        tools[4]["annotations"],
        json!({"title": "Stats", "idempotentHint": true})
    );
    assert_eq!(
        tools[4]["outputSchema"],
        json!({"type":"object","properties":{"count":{"type":"integer","minimum":0,"maximum":4294967295u64},"mean":{"type":"number"}},"required":["count","mean"]})
    );
}

#[tokio::test]
async fn tools_call_ok_matches_the_recorded_answer() {
    assert_eq!(
        call(&calc(), "add", json!({"a": 2, "b": 3})).await,
        json!({"jsonrpc":"2.0","id":2,"result":{"content":[{"text":"5","type":"text"}],"isError":false}})
    );
    let half = call(&calc(), "divide", json!({"a": 1, "b": 2})).await;
    assert_eq!(half["result"]["content"][0]["text"], "0.5");
}

#[tokio::test]
async fn handler_error_is_an_is_error_result() {
    let answer = call(&calc(), "divide", json!({"a": 1, "b": 0})).await;
    assert_eq!(
        answer["result"],
        json!({"content":[{"type":"text","text":"division by zero"}],"isError":true})
    );
}

#[tokio::test]
async fn handler_panic_is_an_is_error_result_and_the_server_lives_on() {
    let server = calc();
    let answer = call(&server, "boom", json!({})).await;
    assert_eq!(answer["result"]["isError"], true);
    assert_eq!(
        answer["result"]["content"][0]["text"],
        "Tool 'boom' panicked: kaboom"
    );
    assert_eq!(
        call(&server, "add", json!({"a": 1, "b": 1})).await["result"]["content"][0]["text"],
        "2"
    );
}

#[tokio::test]
async fn validation_failure_names_the_field() {
    let server = calc();
    let missing = call(&server, "add", json!({"a": "two"})).await;
    assert_eq!(missing["result"]["isError"], true);
    let text = missing["result"]["content"][0]["text"].as_str().unwrap();
    assert!(text.starts_with("Input validation error: "), "{text}");
    assert!(
        text.contains("\"a\": \"two\" is not of type \"number\""),
        "{text}"
    );
    assert!(text.contains("\"b\" is a required property"), "{text}");
    let no_args = server
        .handle_json_rpc(request(3, "tools/call", json!({"name": "add"})))
        .await;
    assert_eq!(
        no_args["result"]["content"][0]["text"],
        "Input validation error: \"a\" is a required property; \"b\" is a required property"
    );
}

#[tokio::test]
async fn unknown_tool_is_an_is_error_result() {
    assert_eq!(
        call(&calc(), "nope", json!({})).await["result"],
        json!({"content":[{"type":"text","text":"Tool 'nope' not found"}],"isError":true})
    );
}

#[tokio::test]
async fn json_result_has_structured_content_and_a_text_copy() {
    let answer = call(&calc(), "stats", json!({"values": [1.0, 2.0, 6.0]})).await;
    assert_eq!(
        answer["result"],
        json!({"content":[{"type":"text","text":"{\"count\":3,\"mean\":3.0}"}],"structuredContent":{"count":3,"mean":3.0},"isError":false})
    );
}

#[tokio::test]
async fn content_list_result() {
    let answer = call(&calc(), "pictures", json!({})).await;
    assert_eq!(
        answer["result"]["content"],
        json!([
            {"type":"image","data":"AAAA","mimeType":"image/png"},
            {"type":"resource","resource":{"uri":"file:///x","mimeType":"text/plain","text":"hello res"}},
            {"type":"resource_link","uri":"file:///y","name":"n","description":"d"}
        ])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_run_concurrently() {
    let server = calc();
    let started = std::time::Instant::now();
    let slow = |id| {
        server.handle_json_rpc(request(
            id,
            "tools/call",
            json!({"name": "slow", "arguments": {"millis": 300}}),
        ))
    };
    let (a, b) = (slow(10), slow(11));
    let (a, b) = tokio::join!(a, b);
    assert_eq!(a["result"]["content"][0]["text"], "done");
    assert_eq!(b["result"]["content"][0]["text"], "done");
    assert!(
        started.elapsed() < Duration::from_millis(550),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_reused_in_flight_id_still_runs() {
    let server = calc();
    let slow = |id| {
        server.handle_json_rpc(request(
            id,
            "tools/call",
            json!({"name": "slow", "arguments": {"millis": 100}}),
        ))
    };
    let (first, second) = tokio::join!(slow(4), slow(4));
    assert_eq!(first["result"]["content"][0]["text"], "done");
    assert_eq!(second["result"]["content"][0]["text"], "done");
}

/// The server keeps no state per call: which call a `notifications/cancelled`
/// names depends on the session that sent it, so cancelling is the protocol
/// core's job (`protocol/tests.rs`). Standalone, the notification is acknowledged
/// and the call runs on; dropping a call's future cancels it.
#[tokio::test]
async fn a_cancel_notification_is_acknowledged_and_changes_nothing_standalone() {
    let server = calc();
    let call = server.handle_json_rpc(request(
        9,
        "tools/call",
        json!({"name": "slow", "arguments": {"millis": 100}}),
    ));
    let cancel = async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        server
            .handle_json_rpc(json!({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":9,"reason":"user"}}))
            .await
    };
    let (answer, ack) = tokio::join!(call, cancel);
    assert_eq!(ack, json!({"jsonrpc":"2.0","result":{}}));
    assert_eq!(answer["result"]["content"][0]["text"], "done");
}

#[tokio::test]
async fn dropping_the_call_aborts_the_handler() {
    static FINISHED: AtomicUsize = AtomicUsize::new(0);
    let server = SdkMcpServer::builder("drop")
        .tool(DynamicTool::new(
            "wait",
            json!({"type": "object"}),
            |_| async {
                tokio::time::sleep(Duration::from_millis(200)).await;
                FINISHED.fetch_add(1, Ordering::SeqCst);
            },
        ))
        .build()
        .unwrap();
    let call = server.handle_json_rpc(request(1, "tools/call", json!({"name": "wait"})));
    assert!(
        tokio::time::timeout(Duration::from_millis(20), call)
            .await
            .is_err()
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(FINISHED.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn dynamic_tool_validates_against_its_runtime_schema() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let server = SdkMcpServer::builder("dyn")
        .tool(
            DynamicTool::new(
                "echo",
                json!({"type":"object","properties":{"text":{"type":"string"}},"required":["text"]}),
                move |args: Value| {
                    counter.fetch_add(1, Ordering::SeqCst);
                    async move { args["text"].as_str().unwrap_or_default().to_owned() }
                },
            )
            .description("Echo."),
        )
        .build()
        .unwrap();
    assert_eq!(
        server
            .call_tool("echo", json!({"text": "hi"}))
            .await
            .text_content(),
        "hi"
    );
    let bad = server.call_tool("echo", json!({"text": 3})).await;
    assert!(bad.is_error);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "the handler never sees invalid arguments"
    );
}

#[tokio::test]
async fn a_broken_hand_written_schema_is_reported_on_call_and_by_compile_validators() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let broken = DynamicTool::new(
        "broken",
        json!({"type": "object", "properties": {"n": {"type": "integr"}}}),
        move |_args: Value| {
            counter.fetch_add(1, Ordering::SeqCst);
            async { ToolResult::text("ran") }
        },
    );
    let fine = DynamicTool::new("fine", json!({"type": "object"}), |_| async {
        ToolResult::text("ok")
    });
    // Validators compile lazily: building succeeds, and a good tool is unaffected.
    let server = SdkMcpServer::builder("mixed")
        .tool(broken)
        .tool(fine)
        .build()
        .expect("build does not compile validators");
    assert_eq!(
        server.call_tool("fine", json!({})).await.text_content(),
        "ok"
    );

    let result = server.call_tool("broken", json!({"n": 1})).await;
    assert!(result.is_error);
    let text = result.text_content();
    assert!(
        text.starts_with(
            "Tool 'broken' cannot be called: its input schema is not valid JSON Schema"
        ) && text.contains("integr"),
        "{text}"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0, "the handler never ran");

    let error = server.compile_validators().unwrap_err();
    assert!(
        matches!(error, ServerBuildError::InvalidInputSchema { ref tool, ref reason } if tool == "broken" && reason.contains("integr")),
        "{error}"
    );
    assert!(
        calc().compile_validators().is_ok(),
        "derived schemas compile"
    );
}

#[test]
fn duplicate_names_are_a_typed_error() {
    let make = || {
        DynamicTool::new("same", json!({"type": "object"}), |_| async {
            ToolResult::text("x")
        })
    };
    let error = SdkMcpServer::builder("dup")
        .tool(make())
        .tool(make())
        .build()
        .unwrap_err();
    assert!(
        matches!(error, ServerBuildError::DuplicateTool { ref tool, .. } if tool == "same"),
        "{error}"
    );
}

#[test]
fn non_object_schema_is_a_typed_error() {
    let error = SdkMcpServer::builder("bad")
        .tool(DynamicTool::new(
            "t",
            json!({"type": "string"}),
            |_| async { "" },
        ))
        .build()
        .unwrap_err();
    assert!(matches!(error, ServerBuildError::Schema { .. }), "{error}");
    let error = SdkMcpServer::builder("bad")
        .tool(DynamicTool::new(
            "bad name",
            json!({"type": "object"}),
            |_| async { "" },
        ))
        .build()
        .unwrap_err();
    assert!(
        matches!(error, ServerBuildError::InvalidToolName { .. }),
        "{error}"
    );
}

#[test]
fn options_take_the_server_under_its_name() {
    let server = calc();
    assert_eq!(
        server.qualified_tool_names(),
        [
            "mcp__calc__add",
            "mcp__calc__divide",
            "mcp__calc__boom",
            "mcp__calc__slow",
            "mcp__calc__stats",
            "mcp__calc__pictures"
        ]
    );
    let options = AgentOptions::builder()
        .mcp_server("calc", server)
        .build()
        .unwrap();
    let debug = format!("{options:?}");
    assert!(!debug.is_empty());
}

#[tokio::test]
async fn tools_stay_plain_functions() {
    assert_eq!(add(1.0, 2.0).await, 3.0);
    assert!(divide(1.0, 0.0).await.is_err());
}
