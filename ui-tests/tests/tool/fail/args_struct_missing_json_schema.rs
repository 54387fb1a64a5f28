use agent_sdk::prelude::*;

#[derive(serde::Deserialize)]
struct Query {
    text: String,
}

#[tool(server = "docs")]
async fn search(#[args] query: Query) -> String {
    query.text
}

fn main() {}
