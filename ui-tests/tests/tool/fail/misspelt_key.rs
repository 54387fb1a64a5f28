use agent_sdk::prelude::*;

#[tool(read_onyl)]
async fn add(a: f64, b: f64) -> f64 {
    a + b
}

fn main() {}
