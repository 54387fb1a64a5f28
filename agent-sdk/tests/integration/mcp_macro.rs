//! What `#[tool]` generates: names, descriptions, annotations, argument forms,
//! and servers built from the `inventory` registry across modules.

use agent_sdk::mcp::{ServerBuildError, Tool};
use agent_sdk::prelude::*;
use serde_json::json;

/// Get the weather
/// for a city.
#[tool(
    name = "get_weather",
    title = "Weather",
    read_only,
    destructive = false,
    idempotent,
    open_world,
    max_result_size_chars = 1234
)]
async fn weather(
    /// The city name.
    city: String,
    /// Number of days.
    #[serde(default)]
    days: Option<u8>,
) -> String {
    format!("{city}: sunny for {} days", days.unwrap_or(1))
}

#[tool(description = "Overridden.")]
/// Ignored doc.
async fn described() {}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Search {
    /// Words to look for.
    query: String,
    limit: Option<u32>,
}

#[tool]
async fn search(#[args] search: Search) -> Result<String, std::io::Error> {
    Ok(format!("{} {:?}", search.query, search.limit))
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
enum NotAStruct {
    A,
}

#[tool]
async fn enum_args(#[args] _value: NotAStruct) {}

#[tool]
async fn list_output() -> Json<Vec<u8>> {
    Json(vec![1])
}

#[derive(serde::Serialize, schemars::JsonSchema)]
struct Maybe {
    present: u8,
    absent: Option<String>,
}

#[tool]
async fn maybe() -> Json<Maybe> {
    Json(Maybe {
        present: 1,
        absent: None,
    })
}

#[tool]
async fn r#mut(mut value: i32) -> i32 {
    value += 1;
    value
}

mod math {
    use agent_sdk::prelude::*;

    /// Add two numbers.
    #[tool(server = "registry_calc")]
    pub async fn add(a: i64, b: i64) -> i64 {
        a + b
    }
}

mod more_math {
    use agent_sdk::prelude::*;

    /// Multiply two numbers.
    #[tool(server = "registry_calc")]
    pub async fn multiply(a: i64, b: i64) -> i64 {
        a * b
    }

    #[tool(name = "same", server = "clashing")]
    pub async fn first() {}

    #[tool(name = "same", server = "clashing")]
    pub async fn second() {}
}

#[test]
fn attributes_become_the_definition() {
    let definition = weather {}.definition().unwrap();
    assert_eq!(
        serde_json::to_value(&definition).unwrap(),
        json!({
            "name": "get_weather",
            "title": "Weather",
            "description": "Get the weather\nfor a city.",
            "inputSchema": {
                "type": "object",
                "properties": {
                    "city": {"type": "string", "description": "The city name."},
                    "days": {"type": "integer", "description": "Number of days.", "minimum": 0, "maximum": 255}
                },
                "required": ["city"]
            },
            "annotations": {"title": "Weather", "readOnlyHint": true, "destructiveHint": false, "idempotentHint": true, "openWorldHint": true},
            "_meta": {"anthropic/maxResultSizeChars": 1234}
        })
    );
    assert_eq!(weather::NAME, "get_weather");
}

#[test]
fn description_argument_wins_over_docs() {
    let definition = described {}.definition().unwrap();
    assert_eq!(definition.description.as_deref(), Some("Overridden."));
}

#[tokio::test]
async fn one_struct_argument() {
    let definition = search {}.definition().unwrap();
    assert_eq!(
        definition.input_schema,
        json!({"type":"object","properties":{"query":{"type":"string","description":"Words to look for."},"limit":{"type":"integer","minimum":0,"maximum":4294967295u64}},"required":["query"]})
    );
    let server = create_sdk_mcp_server!("s", tools = [search, r#mut]).unwrap();
    let result = server.call_tool("search", json!({"query": "rust"})).await;
    assert_eq!(result.text_content(), "rust None");
    assert_eq!(
        server
            .call_tool("mut", json!({"value": 1}))
            .await
            .text_content(),
        "2"
    );
}

#[test]
fn non_object_struct_argument_is_a_typed_error_at_build() {
    let error = create_sdk_mcp_server!("bad", tools = [enum_args]).unwrap_err();
    assert!(
        matches!(error, ServerBuildError::Schema { ref tool, .. } if tool == "enum_args"),
        "{error}"
    );
    assert!(error.to_string().contains("not a JSON object"), "{error}");
}

#[tokio::test]
async fn registry_collects_tools_from_several_modules() {
    let server = create_sdk_mcp_server!("registry_calc", version = "2.0.0").unwrap();
    assert_eq!(server.version(), "2.0.0");
    assert_eq!(
        server.qualified_tool_names(),
        ["mcp__registry_calc__add", "mcp__registry_calc__multiply"]
    );
    assert_eq!(
        server
            .call_tool("multiply", json!({"a": 6, "b": 7}))
            .await
            .text_content(),
        "42"
    );
    assert_eq!(math::add(1, 2).await, 3);
}

#[test]
fn registry_duplicates_are_a_typed_error() {
    let error = create_sdk_mcp_server!("clashing").unwrap_err();
    assert!(
        matches!(error, ServerBuildError::DuplicateTool { ref tool, .. } if tool == "same"),
        "{error}"
    );
    let _ = (more_math::first, more_math::second);
}

#[test]
fn explicit_list_keeps_order_and_paths() {
    let server = create_sdk_mcp_server!(
        "mixed",
        version = env!("CARGO_PKG_VERSION"),
        instructions = "Use the tools.",
        tools = [more_math::multiply, math::add, weather],
    )
    .unwrap();
    assert_eq!(
        server.qualified_tool_names(),
        [
            "mcp__mixed__multiply",
            "mcp__mixed__add",
            "mcp__mixed__get_weather"
        ]
    );
}

#[test]
fn non_object_output_is_a_typed_error_naming_the_tool() {
    let error = create_sdk_mcp_server!("bad_output", tools = [list_output]).unwrap_err();
    assert!(
        matches!(error, ServerBuildError::Schema { ref tool, .. } if tool == "list_output"),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains("output type `alloc::vec::Vec<u8>`"),
        "{error}"
    );
}

#[tokio::test]
async fn none_fields_are_absent_from_structured_content() {
    let server = create_sdk_mcp_server!("maybe", tools = [maybe]).unwrap();
    assert_eq!(
        server.tools()[0].output_schema.as_ref().unwrap()["required"],
        json!(["present"])
    );
    let result = server.call_tool("maybe", json!({})).await;
    assert_eq!(result.structured_content, Some(json!({"present": 1})));
    assert_eq!(result.text_content(), r#"{"present":1}"#);
}
