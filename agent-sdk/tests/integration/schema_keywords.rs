//! Which JSON Schema keywords are evaluated with and without the `jsonschema`
//! feature: the built-in evaluator for what the SDK's schemas use, a clear
//! refusal (or the `jsonschema` crate, with the feature) for the rest. CI runs
//! this module both ways (`--all-features`, and `--features testing`).

use agent_sdk::mcp::{DynamicTool, SdkMcpServer};
use agent_sdk::prelude::*;
use agent_sdk::structured::OutputSchema;
use serde_json::{Value, json};

/// Look a product up by its code.
#[tool]
async fn product(
    /// Upper-case letters only.
    #[schemars(regex(pattern = "^[A-Z]+$"))]
    code: String,
) -> String {
    format!("product {code}")
}

/// A parameter named like a keyword is a property, not a keyword.
#[tool]
async fn grep(pattern: String, items: Vec<String>) -> usize {
    items.iter().filter(|item| item.contains(&pattern)).count()
}

/// A product code as structured output.
#[derive(serde::Deserialize, schemars::JsonSchema)]
#[cfg_attr(not(feature = "jsonschema"), allow(dead_code))]
struct Code {
    #[schemars(regex(pattern = "^[A-Z]+$"))]
    code: String,
}

async fn call(server: &SdkMcpServer, name: &str, arguments: Value) -> (bool, String) {
    let answer = server
        .handle_json_rpc(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name, "arguments": arguments}}))
        .await;
    let text = answer["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    (answer["result"]["isError"] == json!(true), text)
}

#[tokio::test]
async fn keywords_the_sdk_makes_are_evaluated_without_the_feature() {
    let server = create_sdk_mcp_server!("s", tools = [grep]).expect("server");
    assert_eq!(
        call(
            &server,
            "grep",
            json!({"pattern": "a", "items": ["a", "b", "ab"]})
        )
        .await,
        (false, "2".to_owned())
    );
    let (is_error, text) = call(&server, "grep", json!({"pattern": 1, "items": "a"})).await;
    assert!(is_error);
    assert_eq!(
        text,
        "Input validation error: \"pattern\": 1 is not of type \"string\"; \"items\": \"a\" is not of type \"array\""
    );
    let bounded = DynamicTool::new(
        "bounded",
        json!({"type": "object", "properties": {"n": {"type": "integer", "minimum": 1, "multipleOf": 2}}, "required": ["n"]}),
        |_| async { "ok".to_owned() },
    );
    let server = SdkMcpServer::builder("d")
        .tool(bounded)
        .build()
        .expect("server");
    let (is_error, text) = call(&server, "bounded", json!({"n": -1})).await;
    assert!(is_error);
    assert_eq!(
        text,
        "Input validation error: \"n\": -1 is less than the minimum of 1; \"n\": -1 is not a multiple of 2"
    );
}

#[cfg(not(feature = "jsonschema"))]
#[tokio::test]
async fn a_pattern_without_the_feature_is_refused_when_the_server_is_built() {
    use agent_sdk::mcp::ServerBuildError;
    use agent_sdk::schema::SchemaError;

    let error = create_sdk_mcp_server!("s", tools = [product]).unwrap_err();
    let ServerBuildError::InvalidInputSchema { tool, reason } = &error else {
        panic!("{error:?}");
    };
    assert_eq!(tool, "product");
    assert_eq!(
        reason,
        "the schema uses `pattern` (at /properties/code/pattern), which agent-sdk's built-in \
         validator does not evaluate; enable agent-sdk's `jsonschema` feature for full JSON Schema"
    );
    let error = OutputSchema::of::<Code>().unwrap_err();
    assert!(
        matches!(&error, SchemaError::NotEvaluated { reason, .. } if reason.contains("`pattern`")),
        "{error}"
    );
    assert!(
        error.to_string().contains("`jsonschema` feature"),
        "{error}"
    );
}

#[cfg(feature = "jsonschema")]
#[tokio::test]
async fn a_pattern_with_the_feature_is_evaluated() {
    let server = create_sdk_mcp_server!("s", tools = [product]).expect("server");
    assert_eq!(
        call(&server, "product", json!({"code": "ABC"})).await,
        (false, "product ABC".to_owned())
    );
    assert_eq!(
        call(&server, "product", json!({"code": "abc"})).await,
        (
            true,
            "Input validation error: \"code\": \"abc\" does not match \"^[A-Z]+$\"".to_owned()
        )
    );
    let schema = OutputSchema::of::<Code>().expect("compiles with the feature");
    let code: Code = schema.decode(&json!({"code": "ABC"})).expect("fits");
    assert_eq!(code.code, "ABC");
    assert!(schema.validate(&json!({"code": "abc"})).is_err());
}
