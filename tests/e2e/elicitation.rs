//! Elicitation: an external MCP server asks the user for input during a tool call;
//! the CLI forwards it as an `elicitation` control request and our handler answers.

use std::sync::{Arc, Mutex};

use agent_sdk::elicitation::{ElicitationMode, ElicitationRequest, ElicitationResponse};
use agent_sdk::testing::{Script, Turn};
use agent_sdk_e2e::{World, collect, last_result};
use serde_json::json;

/// Our stdio MCP server whose `book_table` tool elicits a party size (`tests/support`).
pub(crate) fn concierge() -> agent_sdk::options::McpStdioServer {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/support/eliciting_mcp_server.py"
    );
    agent_sdk::options::McpStdioServer::new("python3").arg(script)
}

/// Runs one `book_table` call with these options; returns what the tool told the model.
async fn book_a_table(
    world: &World,
    configure: impl FnOnce(agent_sdk::AgentOptionsBuilder) -> agent_sdk::AgentOptionsBuilder,
) -> String {
    let options = configure(
        world
            .options()
            .mcp_server("concierge", concierge())
            .allowed_tools(["mcp__concierge__book_table"]),
    )
    .build()
    .unwrap();
    let messages = collect(agent_sdk::query("book a table", options)).await;
    assert_eq!(last_result(&messages).subtype, "success", "{messages:#?}");
    let results = world.env.api().last_tool_results();
    assert_eq!(results.len(), 1, "{results:#?}");
    assert!(!results[0].is_error, "{results:#?}");
    results[0].text.clone()
}

fn script() -> Script {
    Script::new()
        .then(Turn::tool_use("mcp__concierge__book_table", json!({})))
        .then(Turn::text("booked"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_elicitation_answered_with_content_reaches_the_server() {
    let world = World::start(script()).await;
    let seen: Arc<Mutex<Vec<ElicitationRequest>>> = Arc::default();
    let record = seen.clone();
    let told = book_a_table(&world, |options| {
        options.on_elicitation(move |request: ElicitationRequest| {
            record.lock().unwrap().push(request);
            async { ElicitationResponse::accept(json!({"party_size": 4})) }
        })
    })
    .await;
    assert_eq!(told, r#"accepted {"party_size": 4}"#);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1, "{seen:#?}");
    assert_eq!(seen[0].server_name, "concierge");
    assert_eq!(seen[0].message, "How many people?");
    assert_eq!(seen[0].mode, ElicitationMode::Form);
    assert_eq!(seen[0].property_order, ["party_size"]);
    assert_eq!(
        seen[0].requested_schema.as_ref().unwrap()["required"],
        json!(["party_size"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_elicitation_declined_or_cancelled_reaches_the_server_as_such() {
    let world = World::start(
        script()
            .then(Turn::tool_use("mcp__concierge__book_table", json!({})))
            .then(Turn::text("booked")),
    )
    .await;
    let told = book_a_table(&world, |options| {
        options
            .on_elicitation(|_request: ElicitationRequest| async { ElicitationResponse::Decline })
    })
    .await;
    assert_eq!(told, "declined");
    let told = book_a_table(&world, |options| {
        options.on_elicitation(|_request: ElicitationRequest| async { ElicitationResponse::Cancel })
    })
    .await;
    assert_eq!(told, "cancelled");
}

// As the TypeScript SDK: no handler declines (an error answer would read as `cancel`).
// A client keeps stdin open, so the CLI asks; a one-shot `query` without callbacks has
// closed it, and the CLI cancels the elicitation itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_handler_an_elicitation_is_declined() {
    let world = World::start(script()).await;
    let options = world
        .options()
        .mcp_server("concierge", concierge())
        .allowed_tools(["mcp__concierge__book_table"])
        .build()
        .unwrap();
    let client = agent_sdk::Client::connect(options).await.unwrap();
    client.query("book a table").await.unwrap();
    let messages = collect(client.receive_response()).await;
    assert_eq!(last_result(&messages).subtype, "success", "{messages:#?}");
    let results = world.env.api().last_tool_results();
    assert_eq!(results.len(), 1, "{results:#?}");
    assert_eq!(results[0].text, "declined");
    client.disconnect().await.unwrap();
}
