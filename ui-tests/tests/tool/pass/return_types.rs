use agent_sdk::mcp::ToolResult;
use agent_sdk::prelude::*;

#[derive(serde::Serialize, schemars::JsonSchema)]
struct Sum {
    total: i64,
}

#[tool] async fn text() -> String { "x".into() }
#[tool] async fn number() -> u64 { 1 }
#[tool] async fn float() -> f32 { 1.5 }
#[tool] async fn flag() -> bool { true }
#[tool] async fn json() -> Json<Sum> { Json(Sum { total: 1 }) }
#[tool] async fn blocks() -> Vec<Content> { vec![Content::text("a"), Content::image("AAAA", "image/png")] }
#[tool] async fn one_block() -> Content { Content::text("a") }
#[tool] async fn raw() -> ToolResult { ToolResult::error("no") }
#[tool] async fn value() -> serde_json::Value { serde_json::json!({"a": 1}) }
#[tool] async fn fallible() -> Result<Json<Sum>, ToolError> { Ok(Json(Sum { total: 2 })) }
#[tool] async fn io() -> Result<String, std::io::Error> { Ok("ok".into()) }
#[tool] async fn stringly() -> Result<u8, String> { Err("bad".into()) }

fn main() {
    let server = create_sdk_mcp_server!(
        "r",
        tools = [text, number, float, flag, json, blocks, one_block, raw, value, fallible, io, stringly]
    )
    .unwrap();
    assert!(server.tools()[4].output_schema.is_some());
    assert!(server.tools()[9].output_schema.is_some());
}
