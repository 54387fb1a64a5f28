use agent_sdk::prelude::*;

#[tool]
async fn add((a, b): (f64, f64)) -> f64 {
    a + b
}

fn main() {}
