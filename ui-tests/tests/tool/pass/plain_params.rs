use agent_sdk::prelude::*;

/// Add two numbers.
#[tool]
async fn add(
    /// The first addend.
    a: f64,
    /// The second addend.
    b: f64,
) -> f64 {
    a + b
}

#[tool]
pub async fn greet(name: String, times: Option<u32>, #[serde(default)] loud: bool) -> String {
    let text = format!("hello {name} x{}", times.unwrap_or(1));
    if loud { text.to_uppercase() } else { text }
}

#[tool]
pub(crate) async fn tags(mut list: Vec<String>, extra: std::collections::HashMap<String, serde_json::Value>) -> usize {
    list.sort();
    list.len() + extra.len()
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(add(1.0, 2.0).await, 3.0);
    assert_eq!(greet("a".into(), None, false).await, "hello a x1");
    let server = create_sdk_mcp_server!("p", tools = [add, greet, tags]).unwrap();
    assert_eq!(server.tools().len(), 3);
}
