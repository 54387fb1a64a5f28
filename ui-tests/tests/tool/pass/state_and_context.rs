use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use agent_sdk::mcp::{SdkMcpServer, State, ToolContext};
use agent_sdk::prelude::*;

#[derive(Clone, Default)]
struct Counter(Arc<AtomicU64>);

#[derive(Clone)]
struct Prefix(&'static str);

/// State first, context last.
#[tool]
async fn count(State(counter): State<Counter>, step: u64, context: ToolContext) -> String {
    let total = counter.0.fetch_add(step, Ordering::SeqCst) + step;
    format!("{} {total}", context.tool_name())
}

/// Context first, two states around an argument.
#[tool]
async fn label(context: ToolContext, prefix: State<Prefix>, text: String, counter: State<Counter>) -> String {
    format!("{}{text}@{}:{}", prefix.0.0, context.server_name(), counter.0.0.load(Ordering::SeqCst))
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Query {
    text: String,
}

/// `#[args]` with state.
#[tool]
async fn search(State(prefix): State<Prefix>, #[args] query: Query) -> String {
    format!("{}{}", prefix.0, query.text)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let counter = Counter::default();
    let server = create_sdk_mcp_server!("stateful", state = counter.clone(), tools = [count]).unwrap();
    assert_eq!(server.tools()[0].input_schema["required"], serde_json::json!(["step"]));
    assert_eq!(server.call_tool("count", serde_json::json!({"step": 2})).await.text_content(), "count 2");

    let both = SdkMcpServer::builder("both")
        .state(counter.clone())
        .state(Prefix("> "))
        .tool(label {})
        .tool(search {})
        .build()
        .unwrap();
    let text = both.call_tool("label", serde_json::json!({"text": "hi"})).await.text_content();
    assert_eq!(text, "> hi@both:2");
    let text = both.call_tool("search", serde_json::json!({"text": "q"})).await.text_content();
    assert_eq!(text, "> q");
    // Called directly, the function takes its state and context as values.
    let direct = count(State(counter), 1, ToolContext::detached("s", "count")).await;
    assert_eq!(direct, "count 3");
}
