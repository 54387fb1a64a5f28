use agent_sdk::prelude::*;

/// The time of day.
#[tool]
async fn clock() -> &'static str {
    "noon"
}

#[tool]
async fn nothing() {}

fn main() {
    let server = create_sdk_mcp_server!("p", tools = [clock, nothing]).unwrap();
    assert_eq!(server.tools()[0].input_schema, serde_json::json!({"type": "object", "properties": {}, "required": []}));
}
