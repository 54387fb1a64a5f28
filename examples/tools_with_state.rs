//! Tools backed by the application's own data: an in-memory inventory database handed to
//! the tools as `State<Inventory>`, a `ToolContext` for progress, logs and cancellation.
//!
//! ```sh
//! cargo run -p agent-sdk-examples --example tools_with_state
//! ```
//!
//! Without `ANTHROPIC_API_KEY`, the built-in offline model plays Claude: it searches the
//! inventory, restocks what runs low, then reports. With a key, the real model decides.
//! The application reads the same database afterwards: the tools changed it.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use agent_sdk::mcp::{LogLevel, State, ToolContext};
use agent_sdk::prelude::*;
use agent_sdk::testing::{Script, Turn};
use agent_sdk_examples::{init_logging, setup};
use serde_json::json;

/// One product line.
#[derive(Clone, Debug, serde::Serialize, schemars::JsonSchema)]
struct Product {
    sku: String,
    name: String,
    in_stock: u32,
}

/// What a search found.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
struct Found {
    products: Vec<Product>,
}

/// The database handle: cheap to clone, shared by every tool call and by the application.
#[derive(Clone, Default)]
struct Inventory {
    products: Arc<RwLock<BTreeMap<String, Product>>>,
}

impl Inventory {
    fn seeded() -> Self {
        let inventory = Inventory::default();
        for (sku, name, in_stock) in [
            ("T-100", "green tea", 40),
            ("T-200", "black tea", 2),
            ("C-100", "coffee beans", 12),
            ("T-300", "tea pot", 1),
        ] {
            let product = Product {
                sku: sku.into(),
                name: name.into(),
                in_stock,
            };
            inventory
                .products
                .write()
                .unwrap()
                .insert(sku.into(), product);
        }
        inventory
    }
}

/// Find the products whose name contains `text`.
#[tool(read_only)]
async fn find_products(
    State(inventory): State<Inventory>,
    /// Part of a product name, e.g. "tea".
    text: String,
    context: ToolContext,
) -> Result<Json<Found>, ToolError> {
    let all: Vec<Product> = inventory
        .products
        .read()
        .unwrap()
        .values()
        .cloned()
        .collect();
    let mut found = Vec::new();
    for (scanned, product) in all.iter().enumerate() {
        if context.is_cancelled() {
            return Err(ToolError::new("search cancelled"));
        }
        // The CLI gets a `notifications/progress` for the call (see `ToolContext::progress`).
        context.progress(
            (scanned + 1) as f64,
            Some(all.len() as f64),
            Some("scanning"),
        );
        if product.name.contains(&text) {
            found.push(product.clone());
        }
    }
    Ok(Json(Found { products: found }))
}

/// Add `quantity` units of the product `sku` to the stock.
#[tool(idempotent = false)]
async fn restock(
    State(inventory): State<Inventory>,
    sku: String,
    quantity: u32,
    context: ToolContext,
) -> Result<String, ToolError> {
    let mut products = inventory.products.write().unwrap();
    let product = products
        .get_mut(&sku)
        .ok_or_else(|| ToolError::new(format!("no product {sku}")))?;
    product.in_stock += quantity;
    context.log(LogLevel::Info, format!("restocked {sku} by {quantity}"));
    Ok(format!(
        "{} now has {} in stock",
        product.name, product.in_stock
    ))
}

const QUESTION: &str = "Which tea products are low on stock (under 5)? Restock each of them by 20.";

/// The offline model: search, restock every low product it saw, report.
fn offline_model() -> Script {
    Script::new()
        .then(
            Turn::text("Let me look at the tea products.")
                .and_tool_use("mcp__inventory__find_products", json!({"text": "tea"})),
        )
        .then(Turn::from_fn(|request| {
            let found: serde_json::Value = request
                .tool_results()
                .last()
                .and_then(|r| serde_json::from_str(&r.text).ok())
                .unwrap_or_default();
            let low: Vec<&serde_json::Value> = found["products"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in_stock"].as_u64().is_some_and(|n| n < 5))
                .collect();
            let calls = low.iter().map(|p| {
                (
                    "mcp__inventory__restock",
                    json!({"sku": p["sku"], "quantity": 20}),
                )
            });
            Turn::tool_uses(calls)
        }))
        .then(Turn::from_fn(|request| {
            let done: Vec<String> = request.tool_results().into_iter().map(|r| r.text).collect();
            Turn::text(format!("Restocked: {}.", done.join("; ")))
        }))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    init_logging();
    let setup = setup(offline_model).await?;
    println!("[{}]\n", setup.banner());

    let inventory = Inventory::seeded();
    let server = create_sdk_mcp_server!(
        "inventory",
        state = inventory.clone(),
        tools = [find_products, restock]
    )?;
    let options = setup
        .options
        .allowed_tools(server.qualified_tool_names())
        .mcp_server("inventory", server)
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
            Message::Result(result) => {
                println!("\n[{}: {} turn(s)]", result.subtype, result.num_turns)
            }
            _ => {}
        }
    }

    // The application's handle sees what the tools did.
    println!("\nstock now:");
    for product in inventory.products.read().unwrap().values() {
        println!(
            "  {} {:<13} {}",
            product.sku, product.name, product.in_stock
        );
    }
    Ok(())
}
