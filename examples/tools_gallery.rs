//! Every kind of `#[tool]`: argument forms, return types and annotations.
//!
//! Builds one in-process MCP server, prints what `tools/list` announces, and calls
//! each tool through the server's JSON-RPC dispatch, exactly as the CLI does with
//! `mcp_message` requests. Run: `cargo run -p agent-sdk-examples --example tools_gallery`.

use std::collections::BTreeMap;

use agent_sdk::mcp::{DynamicTool, SdkMcpServer, ToolAnnotations, ToolResult};
use agent_sdk::prelude::*;
use serde_json::{Value, json};

/// Add two numbers.
#[tool(read_only, idempotent, title = "Add")]
async fn add(
    /// The first addend.
    a: f64,
    /// The second addend.
    b: f64,
) -> f64 {
    a + b
}

/// Divide `a` by `b`; dividing by zero is an error the model sees.
#[tool(read_only)]
async fn divide(a: f64, b: f64) -> Result<f64, ToolError> {
    if b == 0.0 {
        return Err(ToolError::new("division by zero"));
    }
    Ok(a / b)
}

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Unit {
    Celsius,
    Fahrenheit,
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct WeatherQuery {
    /// City name, e.g. "Lisbon".
    city: String,
    /// Temperature unit (default celsius).
    unit: Option<Unit>,
}

#[derive(serde::Serialize, schemars::JsonSchema)]
struct Forecast {
    city: String,
    temperature: f64,
    unit: String,
}

/// Weather forecast for a city (structured result with an output schema).
#[tool(
    name = "get_weather",
    read_only,
    open_world,
    max_result_size_chars = 2000
)]
async fn weather(#[args] query: WeatherQuery) -> Json<Forecast> {
    let unit = query.unit.unwrap_or(Unit::Celsius);
    let temperature = match unit {
        Unit::Celsius => 21.0,
        Unit::Fahrenheit => 69.8,
    };
    Json(Forecast {
        city: query.city,
        temperature,
        unit: format!("{unit:?}").to_lowercase(),
    })
}

/// Word counts of a text.
#[tool(read_only)]
async fn word_count(text: String) -> Json<BTreeMap<String, usize>> {
    let mut counts = BTreeMap::new();
    for word in text.split_whitespace() {
        *counts.entry(word.to_lowercase()).or_insert(0) += 1;
    }
    Json(counts)
}

/// A report as several content blocks: text, an image, a resource and a link.
#[tool]
async fn report() -> Vec<Content> {
    vec![
        Content::text("Quarterly report"),
        // A 1x1 transparent PNG.
        Content::image(
            "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=",
            "image/png",
        ),
        Content::text_resource(
            "file:///reports/q3.csv",
            "month,total\njul,10",
            Some("text/csv"),
        ),
        Content::resource_link("file:///reports/q3.pdf", "q3.pdf").description("The full PDF"),
    ]
}

/// Delete a file (pretend): destructive, so a permission policy should look at it.
#[tool(destructive, idempotent, title = "Delete file")]
async fn delete_file(path: String) -> Result<String, std::io::Error> {
    Ok(format!("would delete {path}"))
}

/// A handler that panics: the model gets an error result, the session goes on.
#[tool]
async fn flaky() -> String {
    panic!("the flaky tool fell over")
}

/// A tool built from a JSON schema known only at run time.
fn shout_tool() -> DynamicTool {
    DynamicTool::new(
        "shout",
        json!({"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}),
        |args: Value| async move {
            ToolResult::text(args["text"].as_str().unwrap_or_default().to_uppercase())
        },
    )
    .description("Upper-case the text.")
    .annotations(ToolAnnotations::new().read_only(true))
}

#[tokio::main]
async fn main() -> agent_sdk::Result<()> {
    let gallery: SdkMcpServer = SdkMcpServer::builder("gallery")
        .version("1.0.0")
        .tool(add {})
        .tool(divide {})
        .tool(weather {})
        .tool(word_count {})
        .tool(report {})
        .tool(delete_file {})
        .tool(flaky {})
        .tool(shout_tool())
        .build()?;
    // The macro form of the same thing, for tools known at compile time:
    let calc = create_sdk_mcp_server!("calc", version = "1.0.0", tools = [add, divide])?;
    println!("calc serves {:?}", calc.qualified_tool_names());

    let list = gallery
        .handle_json_rpc(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
        .await;
    println!(
        "tools/list:\n{}",
        serde_json::to_string_pretty(&list["result"]).unwrap_or_default()
    );

    let calls = [
        ("add", json!({"a": 2, "b": 3})),
        ("divide", json!({"a": 1, "b": 0})),
        ("divide", json!({"a": 1})),
        (
            "get_weather",
            json!({"city": "Lisbon", "unit": "fahrenheit"}),
        ),
        ("word_count", json!({"text": "the cat and the hat"})),
        ("report", json!({})),
        ("delete_file", json!({"path": "/tmp/x"})),
        ("flaky", json!({})),
        ("shout", json!({"text": "hello"})),
        ("missing", json!({})),
    ];
    for (id, (name, arguments)) in calls.into_iter().enumerate() {
        let request = json!({
            "jsonrpc": "2.0",
            "id": id + 2,
            "method": "tools/call",
            "params": {"name": name, "arguments": arguments},
        });
        let answer = gallery.handle_json_rpc(request).await;
        println!("{name}: {}", answer["result"]);
    }

    // Tools stay ordinary functions, so unit tests need no protocol at all.
    assert_eq!(add(1.0, 2.0).await, 3.0);

    let options = AgentOptions::builder()
        .mcp_server("gallery", gallery)
        .mcp_server("calc", calc)
        .build()?;
    println!("options ready: {options:?}");
    Ok(())
}
