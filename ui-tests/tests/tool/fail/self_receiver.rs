use agent_sdk::prelude::*;

struct Calculator;

impl Calculator {
    #[tool]
    async fn add(&self, a: f64, b: f64) -> f64 {
        a + b
    }
}

fn main() {}
