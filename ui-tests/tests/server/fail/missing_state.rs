use agent_sdk::mcp::State;
use agent_sdk::prelude::*;

#[derive(Clone)]
struct Db;

#[tool]
async fn lookup(key: String, db: State<Db>) -> String {
    let _ = db;
    key
}

#[tool]
async fn add(a: f64, b: f64) -> f64 {
    a + b
}

fn main() {
    // No state at all.
    let _ = create_sdk_mcp_server!("db", tools = [add, lookup]);
    // State of another type.
    let _ = create_sdk_mcp_server!("db", state = String::new(), tools = [lookup, add]);
}
