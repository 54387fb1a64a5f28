// The SDK reached through another path, as when the dependency is renamed.
mod sdk {
    pub use ::agent_sdk::*;
}

use sdk::prelude::*;

#[tool(crate = "crate::sdk", server = "calc")]
async fn add(a: f64, b: f64) -> f64 {
    a + b
}

#[tool(crate = "crate::sdk")]
async fn sub(a: f64, b: f64) -> f64 {
    a - b
}

fn main() {
    let listed = create_sdk_mcp_server!("calc", crate = "crate::sdk", tools = [add, sub]).unwrap();
    assert_eq!(listed.qualified_tool_names(), ["mcp__calc__add", "mcp__calc__sub"]);
    let registered = create_sdk_mcp_server!("calc", crate = "crate::sdk").unwrap();
    assert_eq!(registered.qualified_tool_names(), ["mcp__calc__add"]);
}
