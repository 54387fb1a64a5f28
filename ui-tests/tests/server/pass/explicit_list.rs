use agent_sdk::prelude::*;

mod math {
    use agent_sdk::prelude::*;

    /// Divide a by b.
    #[tool(read_only)]
    pub async fn divide(a: f64, b: f64) -> Result<f64, ToolError> {
        if b == 0.0 { Err(ToolError::new("division by zero")) } else { Ok(a / b) }
    }
}

/// Add two numbers.
#[tool]
async fn add(a: f64, b: f64) -> f64 {
    a + b
}

fn main() -> agent_sdk::Result<()> {
    let calc = create_sdk_mcp_server!("calc", version = "1.0.0", tools = [add, math::divide])?;
    let _trailing_comma = create_sdk_mcp_server!("calc2", tools = [add,],)?;
    let _env_version = create_sdk_mcp_server!("calc3", version = env!("CARGO_PKG_VERSION"), tools = [])?;
    let _options = AgentOptions::builder().mcp_server("calc", calc).build()?;
    Ok(())
}
