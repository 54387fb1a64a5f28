use agent_sdk::prelude::*;

#[tool]
async fn add(a: f64, b: f64) -> f64 {
    a + b
}

fn main() -> agent_sdk::Result<()> {
    // Every problem is reported in one compile; the `?` after it adds no error.
    let _calc = create_sdk_mcp_server!("my calc", version = 1.0, tool = [add], tools = [add, add, 5], version = "2")?;
    Ok(())
}
