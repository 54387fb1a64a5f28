use agent_sdk::prelude::*;

#[tool]
async fn add(a: f64, b: f64) -> f64 {
    a + b
}

fn main() {
    let _ = create_sdk_mcp_server!("calc", crate = "agent_sdk_renamed", tools = [add]);
}
