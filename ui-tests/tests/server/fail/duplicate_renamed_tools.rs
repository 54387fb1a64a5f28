use agent_sdk::prelude::*;

#[tool(name = "sum")]
async fn add(a: f64, b: f64) -> f64 {
    a + b
}

#[tool]
async fn sub(a: f64, b: f64) -> f64 {
    a - b
}

mod math {
    use agent_sdk::prelude::*;

    #[tool(name = "sum")]
    pub async fn plus(a: f64, b: f64) -> f64 {
        a + b
    }

    #[tool(name = "sub")]
    pub async fn minus(a: f64, b: f64) -> f64 {
        a - b
    }
}

fn main() {
    // Two clashes, each one error naming both tools and underlining the second.
    let _ = create_sdk_mcp_server!("calc", tools = [add, sub, math::plus, math::minus]);
}
