use agent_sdk::prelude::*;

// Every problem is reported in one compile, each underlining what is wrong.
#[tool(name = "add numbers", read_onyl, title = 5, read_only)]
fn add<T>((a, b): (f64, f64), label: &str) -> impl std::fmt::Display {
    format!("{label}: {}", a + b)
}

fn main() {
    // The tool's errors are all above: using it adds none.
    let _ = create_sdk_mcp_server!("calc", tools = [add]);
}
