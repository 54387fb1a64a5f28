use agent_sdk::mcp::ToolContext;
use agent_sdk::prelude::*;

#[tool]
async fn report(first: ToolContext, text: String, second: ToolContext) -> String {
    let _ = (first, second);
    text
}

fn main() {}
