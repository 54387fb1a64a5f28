use agent_sdk::prelude::*;

#[derive(serde::Deserialize)]
struct Point {
    x: f64,
    y: f64,
}

#[tool]
async fn norm(point: Point) -> f64 {
    (point.x * point.x + point.y * point.y).sqrt()
}

fn main() {}
