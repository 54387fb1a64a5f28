use agent_sdk::prelude::*;

#[derive(schemars::JsonSchema)]
struct Point {
    x: f64,
}

#[tool]
async fn norm(point: Point) -> f64 {
    point.x
}

fn main() {}
