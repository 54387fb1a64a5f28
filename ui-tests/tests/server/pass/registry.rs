use agent_sdk::mcp::SdkMcpServer;
use agent_sdk::prelude::*;

#[tool(server = "calc")]
async fn add(a: i64, b: i64) -> i64 {
    a + b
}

#[tool(server = "calc")]
async fn sub(a: i64, b: i64) -> i64 {
    a - b
}

fn main() {
    let calc: Result<SdkMcpServer, _> = create_sdk_mcp_server!("calc", version = "1.0.0", instructions = "Arithmetic.");
    assert_eq!(calc.unwrap().qualified_tool_names(), ["mcp__calc__add", "mcp__calc__sub"]);
}
