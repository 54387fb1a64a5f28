use agent_sdk::prelude::*;

#[tool(crate = "agent_sdk_renamed")]
async fn add(a: f64, b: f64) -> f64 {
    a + b
}

fn main() {}
