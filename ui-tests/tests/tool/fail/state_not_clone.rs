use agent_sdk::mcp::State;
use agent_sdk::prelude::*;

struct Pool;

#[tool]
async fn query(sql: String, pool: State<Pool>) -> String {
    let _ = pool;
    sql
}

fn main() {}
