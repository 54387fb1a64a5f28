use agent_sdk::prelude::*;

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Query {
    /// Words to look for.
    text: String,
    limit: Option<u32>,
}

/// Search the docs.
#[tool]
async fn search(#[args] query: Query) -> String {
    format!("{} {:?}", query.text, query.limit)
}

fn main() {
    let server = create_sdk_mcp_server!("p", tools = [search]).unwrap();
    assert_eq!(server.tools()[0].input_schema["required"], serde_json::json!(["text"]));
}
