//! The demo: an agent whose calculator tools are plain async Rust functions,
//! called by Claude through the real `claude` CLI.
//!
//! ```sh
//! cargo run -p agent-sdk-examples --example calculator
//! ```
//!
//! Without `ANTHROPIC_API_KEY`, the built-in offline model plays Claude: it
//! calls `add`, then `divide` with the result it got back, then reports the
//! answer. With a key, the real model decides.

use agent_sdk::prelude::*;
use agent_sdk::testing::{Script, Turn};
use agent_sdk_examples::{init_logging, setup};
use serde_json::json;

/// Add two numbers.
#[tool(read_only, idempotent)]
async fn add(
    /// The first addend.
    a: f64,
    /// The second addend.
    b: f64,
) -> f64 {
    a + b
}

/// Divide `a` by `b`.
#[tool(read_only, idempotent)]
async fn divide(
    /// The dividend.
    a: f64,
    /// The divisor; must not be zero.
    b: f64,
) -> Result<f64, ToolError> {
    if b == 0.0 {
        return Err(ToolError::new("division by zero: pick a non-zero divisor"));
    }
    Ok(a / b)
}

const QUESTION: &str = "What is (12.5 + 30) / 5? Use the calculator tools, one step at a time.";

/// The offline model: the tool calls a real model would make, computed from what the tools answered.
fn offline_model() -> Script {
    let last_number = |request: &agent_sdk::testing::RecordedRequest| -> f64 {
        request
            .tool_results()
            .last()
            .and_then(|r| r.text.trim().parse().ok())
            .unwrap_or(f64::NAN)
    };
    Script::new()
        .then(
            Turn::text("I'll add first.")
                .and_tool_use("mcp__calc__add", json!({"a": 12.5, "b": 30})),
        )
        .then(Turn::from_fn(move |request| {
            let sum = last_number(request);
            Turn::text(format!("The sum is {sum}; now the division."))
                .and_tool_use("mcp__calc__divide", json!({"a": sum, "b": 5}))
        }))
        .then(Turn::from_fn(move |request| {
            Turn::text(format!("(12.5 + 30) / 5 = {}", last_number(request)))
        }))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    init_logging();
    let setup = setup(offline_model).await?;
    println!("[{}]\n", setup.banner());

    let calc = create_sdk_mcp_server!("calc", version = "1.0.0", tools = [add, divide])?;
    let options = setup
        .options
        .allowed_tools(calc.qualified_tool_names()) // no permission prompt for our own tools
        .mcp_server("calc", calc)
        .max_turns(6)
        .build()?;

    println!("you> {QUESTION}");
    let mut messages = agent_sdk::query(QUESTION, options);
    while let Some(message) = messages.next().await {
        match message? {
            Message::Assistant(reply) => {
                for block in &reply.content {
                    match block {
                        ContentBlock::Text(text) => println!("claude> {}", text.text),
                        ContentBlock::ToolUse(call) => {
                            println!("  [calls {} {}]", call.name, call.input)
                        }
                        _ => {}
                    }
                }
            }
            Message::User(user) => {
                // What the CLI handed back to the model: our tool's content blocks.
                if let Some(serde_json::Value::Array(blocks)) = &user.tool_use_result {
                    let texts: Vec<&str> =
                        blocks.iter().filter_map(|b| b["text"].as_str()).collect();
                    println!("  [tool answered {}]", texts.join(" "));
                }
            }
            Message::Result(result) => {
                println!(
                    "\n[{}: {} turn(s), {} ms]",
                    result.subtype, result.num_turns, result.duration_ms
                );
            }
            _ => {}
        }
    }
    Ok(())
}
