use agent_sdk::prelude::*;

#[tool(timeout = 5)]
async fn add(a: f64, b: f64) -> f64 {
    a + b
}

fn main() {}
