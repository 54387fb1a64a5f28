//! Arguments the schema accepts reach a `#[tool]` function: integral floats for
//! integer parameters; and what serde still refuses names the field.

use agent_sdk::prelude::*;
use serde_json::json;

/// Repeats a word.
#[tool]
async fn repeat(word: String, times: i64, scale: f64) -> String {
    format!("{} x{scale}", word.repeat(times as usize))
}

fn server() -> SdkMcpServer {
    create_sdk_mcp_server!("words", tools = [repeat]).unwrap()
}

#[tokio::test]
async fn an_integral_float_for_an_integer_parameter_is_called() {
    // JSON Schema counts 2.0 as an integer, so validation lets it through: serde must too.
    let result = server()
        .call_tool("repeat", json!({"word": "ab", "times": 2.0, "scale": 3}))
        .await;
    assert!(!result.is_error, "{result:?}");
    assert_eq!(result.text_content(), "abab x3");
}

#[tokio::test]
async fn a_fractional_float_for_an_integer_parameter_names_the_field() {
    let result = server()
        .call_tool("repeat", json!({"word": "ab", "times": 2.5, "scale": 1}))
        .await;
    assert!(result.is_error);
    // Refused by the schema before serde: the message names the field either way.
    assert!(result.text_content().contains("\"times\""), "{result:?}");
}
