//! The code the macros generate is lint-clean. CI's `cargo clippy --workspace --all-targets
//! -- -D warnings` builds this target, so clippy itself runs over the expansions of every
//! form below; the `deny` makes any rustc or clippy warning in them an error there.
#![deny(
    warnings,
    missing_docs,
    missing_debug_implementations,
    unreachable_pub,
    unused_qualifications,
    clippy::all,
    clippy::pedantic
)]

use agent_sdk::prelude::*;
use serde_json::json;

/// Add two numbers.
#[tool(read_only, title = "Add")]
async fn add(
    /// The first addend.
    a: f64,
    /// The second addend.
    b: f64,
) -> f64 {
    a + b
}

/// Greet someone.
///
/// # Errors
///
/// Never; the `Result` is for the lint check.
#[tool(
    name = "greet",
    idempotent,
    open_world = false,
    max_result_size_chars = 100
)]
pub async fn hello(name: String, #[serde(default)] loud: bool) -> Result<String, ToolError> {
    let text = format!("hello {name}");
    Ok(if loud { text.to_uppercase() } else { text })
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Query {
    /// Words to look for.
    text: String,
    limit: Option<u32>,
}

#[derive(serde::Serialize, schemars::JsonSchema)]
struct Hits {
    count: usize,
}

/// Search.
#[tool(server = "lint_clean")]
async fn search(#[args] query: Query) -> Json<Hits> {
    Json(Hits {
        count: query.text.len() + usize::try_from(query.limit.unwrap_or(0)).unwrap_or(0),
    })
}

/// Nothing in, nothing out.
#[tool(crate = "::agent_sdk")]
pub(crate) async fn ping() {}

#[tokio::test]
async fn every_form_builds_and_runs() {
    let listed = create_sdk_mcp_server!(
        "calc",
        version = env!("CARGO_PKG_VERSION"),
        instructions = "Arithmetic.",
        tools = [add, hello, ping],
    )
    .unwrap();
    assert_eq!(
        listed.qualified_tool_names(),
        ["mcp__calc__add", "mcp__calc__greet", "mcp__calc__ping"]
    );
    let sum = listed.call_tool("add", json!({"a": 1, "b": 2})).await;
    assert_eq!(sum.text_content(), "3");
    let registered = create_sdk_mcp_server!("lint_clean", crate = "::agent_sdk").unwrap();
    let hits = registered
        .call_tool("search", json!({"text": "abc", "limit": 2}))
        .await;
    assert_eq!(hits.structured_content, Some(json!({"count": 5})));
}
