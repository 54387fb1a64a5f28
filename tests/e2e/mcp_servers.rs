//! MCP servers that change in a running session (`Client::set_mcp_servers`).

use agent_sdk::Client;
use agent_sdk::message::Message;
use agent_sdk::prelude::*;
use agent_sdk::testing::{Script, Turn};
use agent_sdk_e2e::{World, collect, last_result};
use serde_json::json;

/// Add two numbers.
#[tool(read_only)]
async fn add(a: i64, b: i64) -> i64 {
    a + b
}

/// Reverse a word.
#[tool(read_only)]
async fn reverse(word: String) -> String {
    word.chars().rev().collect()
}

async fn one_turn(client: &Client, prompt: &str) -> Vec<agent_sdk::Result<Message>> {
    client.query(prompt).await.unwrap();
    let messages = collect(client.receive_response()).await;
    assert_eq!(last_result(&messages).subtype, "success", "{messages:#?}");
    messages
}

// An in-process server added mid-session is connected and called by the model in the
// next turn; the one left out is gone from the model's tools.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_mcp_servers_swaps_in_process_servers_in_a_running_session() {
    let world = World::start(
        Script::new()
            .then(Turn::tool_use("mcp__calc__add", json!({"a": 2, "b": 3})))
            .then(Turn::text("5"))
            .then(Turn::tool_use(
                "mcp__words__reverse",
                json!({"word": "stressed"}),
            ))
            .then(Turn::text("desserts")),
    )
    .await;
    let calc = create_sdk_mcp_server!("calc", tools = [add]).unwrap();
    let options = world
        .options()
        .mcp_server("calc", calc)
        .allowed_tools(["mcp__calc__add", "mcp__words__reverse"])
        .build()
        .unwrap();
    let client = Client::connect(options).await.unwrap();
    one_turn(&client, "add 2 and 3").await;
    assert_eq!(world.env.api().last_tool_results()[0].text, "5");

    let words = create_sdk_mcp_server!("words", tools = [reverse]).unwrap();
    let result = client.set_mcp_servers([("words", words)]).await.unwrap();
    assert_eq!(result.added, ["words"], "{result:?}");
    assert_eq!(result.removed, ["calc"], "{result:?}");
    assert!(result.errors.is_empty(), "{result:?}");

    one_turn(&client, "reverse stressed").await;
    let requests = world.env.api().main_loop_requests();
    let offered = requests[2].tool_names();
    assert!(offered.contains(&"mcp__words__reverse"), "{offered:?}");
    assert!(!offered.contains(&"mcp__calc__add"), "{offered:?}");
    let results = world.env.api().last_tool_results();
    assert_eq!(results[0].text, "desserts", "{results:?}");
    assert!(!results[0].is_error);

    let status = client.mcp_status().await.unwrap();
    let names: Vec<&str> = status.mcp_servers.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["words"], "{status:?}");
    client.disconnect().await.unwrap();
}
