//! One tool server shared by several sessions: each CLI process numbers its
//! JSON-RPC requests on its own, so a `notifications/cancelled` from one CLI must
//! reach only the calls of that CLI, even when another CLI has a call with the same id.

use std::time::Duration;

use agent_sdk::mcp::DynamicTool;
use agent_sdk::prelude::*;
use agent_sdk::testing::{Script, Turn};
use agent_sdk_e2e::{World, assistant_text, collect};
use serde_json::json;
use tokio::sync::watch;

/// What `outlast` answers when the other session's call ended while it waited.
const OUTLASTED: &str = "the other session's call ended first";

/// Flips its flag when dropped: the `hang` handler's future was cancelled.
struct SetOnDrop(watch::Sender<bool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.send_replace(true);
    }
}

/// A server with two tools: `outlast` (session A) waits until `hang` (session B)
/// has been cancelled, then answers; `hang` never answers.
fn shared_server(
    outlast_started: watch::Sender<bool>,
    hang_dropped: watch::Sender<bool>,
) -> SdkMcpServer {
    let hang_dropped_rx = hang_dropped.subscribe();
    let outlast = DynamicTool::new("outlast", json!({"type": "object"}), move |_| {
        outlast_started.send_replace(true);
        let mut hang_dropped = hang_dropped_rx.clone();
        async move {
            let ended = tokio::time::timeout(
                Duration::from_secs(60),
                hang_dropped.wait_for(|dropped| *dropped),
            )
            .await;
            match ended {
                Ok(Ok(_)) => OUTLASTED.to_owned(),
                _ => "the other session's call never ended".to_owned(),
            }
        }
    });
    let hang = DynamicTool::new("hang", json!({"type": "object"}), move |_| {
        let guard = SetOnDrop(hang_dropped.clone());
        async move {
            std::future::pending::<()>().await;
            drop(guard);
            "unreachable"
        }
    });
    SdkMcpServer::builder("shared")
        .tool(outlast)
        .tool(hang)
        .build()
        .expect("the shared server builds")
}

/// Two CLI processes share one server; both number their first `tools/call` 2.
/// B's CLI gives up on its call (its MCP tool timeout) and sends
/// `notifications/cancelled` for request 2: B's handler is dropped, and A's call
/// with the same id runs on and answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_in_one_session_leaves_another_sessions_call_with_the_same_id_running() {
    let world_a = World::start(
        Script::new()
            .then(Turn::tool_use("mcp__shared__outlast", json!({})))
            .then(Turn::text("A is done")),
    )
    .await;
    let world_b = World::start(
        Script::new()
            .then(Turn::tool_use("mcp__shared__hang", json!({})))
            .then(Turn::text("B gave up")),
    )
    .await;
    let (outlast_started, mut outlast_started_rx) = watch::channel(false);
    let (hang_dropped, mut hang_dropped_rx) = watch::channel(false);
    let server = shared_server(outlast_started, hang_dropped);
    let allowed = server.qualified_tool_names();

    let client_a = Client::connect(
        world_a
            .options()
            .allowed_tools(allowed.clone())
            .mcp_server("shared", server.clone())
            .build()
            .unwrap(),
    )
    .await
    .unwrap();
    client_a.query("call outlast").await.unwrap();
    tokio::time::timeout(
        Duration::from_secs(60),
        outlast_started_rx.wait_for(|started| *started),
    )
    .await
    .expect("session A called `outlast` within 60 s")
    .unwrap();

    // B starts only now, so A's call (id 2) is in flight when B's call (id 2) comes.
    let client_b = Client::connect(
        world_b
            .options()
            // The CLI's own limit for MCP tool calls, in milliseconds.
            .env("MCP_TOOL_TIMEOUT", "3000")
            .allowed_tools(allowed)
            .mcp_server("shared", server.clone())
            .build()
            .unwrap(),
    )
    .await
    .unwrap();
    client_b.query("call hang").await.unwrap();
    let b_messages = collect(client_b.receive_response()).await;
    assert_eq!(assistant_text(&b_messages), "B gave up");
    let b_results = world_b.env.api().last_tool_results();
    assert_eq!(b_results.len(), 1, "{b_results:?}");
    assert!(
        b_results[0].is_error && b_results[0].text.contains("timed out"),
        "B's CLI gave up on its call: {b_results:?}"
    );
    let a_messages = collect(client_a.receive_response()).await;
    let a_results = world_a.env.api().last_tool_results();
    assert_eq!(a_results.len(), 1, "{a_results:?}");
    assert!(
        !a_results[0].is_error,
        "B's cancel must not reach A's call: {a_results:?}"
    );
    assert_eq!(a_results[0].text, OUTLASTED);
    assert_eq!(assistant_text(&a_messages), "A is done");
    assert!(
        *hang_dropped_rx.borrow_and_update(),
        "B's cancel dropped B's own handler"
    );

    client_b.disconnect().await.unwrap();
    client_a.disconnect().await.unwrap();
}
