//! Long tool calls: the CLI's per-server tool timeout (`mcp_tool_timeout`) lets a
//! 90-second in-process tool finish where `MCP_TOOL_TIMEOUT` says 60 s, or cancels it
//! (handler dropped, model told) where it says less: the server's own timeout wins
//! both ways. The 90-second test runs alongside the others.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use agent_sdk::Message;
use agent_sdk::mcp::{DynamicTool, SdkMcpServer, ToolResult};
use agent_sdk::testing::{Script, Turn};
use agent_sdk_e2e::{World, assistant_text, collect, last_result};
use futures_util::StreamExt;
use serde_json::json;

/// Sets its flag when dropped before `finish`: the handler's future was cancelled.
struct DropFlag(&'static AtomicBool);

impl DropFlag {
    fn finish(self) {
        std::mem::forget(self);
    }
}

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// A server `slow` whose `wait` tool sleeps `secs` seconds; `dropped` is set if it is cancelled.
fn slow_server(secs: u64, dropped: &'static AtomicBool) -> SdkMcpServer {
    let tool = DynamicTool::new(
        "wait",
        json!({"type": "object", "properties": {}}),
        move |_arguments| async move {
            let flag = DropFlag(dropped);
            tokio::time::sleep(Duration::from_secs(secs)).await;
            flag.finish();
            ToolResult::text(format!("waited {secs} s"))
        },
    );
    SdkMcpServer::builder("slow").tool(tool).build().unwrap()
}

fn script() -> Script {
    Script::new()
        .then(Turn::tool_use("mcp__slow__wait", json!({})))
        .then(Turn::text("the tool answered"))
}

static FINISHED_DROPPED: AtomicBool = AtomicBool::new(false);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_90_second_tool_within_its_server_timeout_completes_past_mcp_tool_timeout() {
    let world = World::start(script()).await;
    let options = world
        .options()
        // Every server: 60 s. This one: 2 minutes, and it wins.
        .env("MCP_TOOL_TIMEOUT", "60000")
        .mcp_server("slow", slow_server(90, &FINISHED_DROPPED))
        .mcp_tool_timeout("slow", Duration::from_secs(120))
        .allowed_tools(["mcp__slow__wait"])
        .build()
        .unwrap();
    // Longer than `collect`'s 90 s deadline.
    let messages: Vec<_> = tokio::time::timeout(
        Duration::from_secs(180),
        agent_sdk::query("wait a while", options).collect(),
    )
    .await
    .expect("the run ended within 3 minutes");
    assert_eq!(last_result(&messages).subtype, "success", "{messages:#?}");
    assert_eq!(assistant_text(&messages), "the tool answered");
    let results = world.env.api().last_tool_results();
    assert_eq!(results.len(), 1, "{results:#?}");
    assert!(!results[0].is_error, "{results:#?}");
    assert_eq!(results[0].text, "waited 90 s");
    assert!(!FINISHED_DROPPED.load(Ordering::SeqCst));
    // The CLI's heartbeats of the running call arrive typed, every 30 s.
    let heartbeats: Vec<f64> = messages
        .iter()
        .filter_map(|m| match m {
            Ok(Message::ToolProgress(p)) if p.heartbeat => {
                assert_eq!(p.tool_name, "mcp__slow__wait");
                assert_ne!(p.call_id(), p.tool_use_id);
                Some(p.elapsed_time_seconds)
            }
            _ => None,
        })
        .collect();
    assert!(
        heartbeats.len() >= 2 && heartbeats[0] >= 29.0,
        "{heartbeats:?}"
    );
}

static CANCELLED_DROPPED: AtomicBool = AtomicBool::new(false);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_past_its_server_timeout_is_cancelled_and_the_model_told() {
    let world = World::start(script()).await;
    let options = world
        .options()
        // Every server: 10 minutes. This one: 2 s, and it wins.
        .env("MCP_TOOL_TIMEOUT", "600000")
        .mcp_server("slow", slow_server(90, &CANCELLED_DROPPED))
        .mcp_tool_timeout("slow", Duration::from_secs(2))
        .allowed_tools(["mcp__slow__wait"])
        .build()
        .unwrap();
    let started = Instant::now();
    let messages = collect(agent_sdk::query("wait a while", options)).await;
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "the run waited for the tool"
    );
    assert_eq!(last_result(&messages).subtype, "success", "{messages:#?}");
    let results = world.env.api().last_tool_results();
    assert_eq!(results.len(), 1, "{results:#?}");
    assert!(
        results[0].is_error,
        "the model is told the call failed: {results:#?}"
    );
    assert!(results[0].text.contains("timed out"), "{}", results[0].text);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !CANCELLED_DROPPED.load(Ordering::SeqCst) {
        assert!(Instant::now() < deadline, "the handler was never dropped");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
