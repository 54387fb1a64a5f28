//! Support code for `#[tool]` and `create_sdk_mcp_server!` expansions. Not public API.

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::result::ToolResult;
use crate::schema::SchemaError;

/// Every `#[tool]` parameter type must be deserializable and have a schema.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a `#[tool]` parameter: it must implement `Deserialize` and `JsonSchema`",
    label = "this parameter type lacks `serde::Deserialize` or `schemars::JsonSchema`",
    note = "add `#[derive(serde::Deserialize, schemars::JsonSchema)]` to the type, or use a type that has both (String, numbers, Vec<T>, Option<T>, ...)"
)]
pub trait ToolParameter {}

impl<T: DeserializeOwned + JsonSchema> ToolParameter for T {}

/// Compile-time check that a parameter type is usable.
pub const fn assert_tool_parameter<T: ToolParameter + ?Sized>() {}

/// Compile-time check (const evaluation) that no tool name repeats in one server.
pub const fn assert_unique_tool_names(names: &[&str]) {
    let mut i = 0;
    while i < names.len() {
        let mut j = i + 1;
        while j < names.len() {
            if const_str_eq(names[i], names[j]) {
                panic!("create_sdk_mcp_server!: two tools in this list have the same name");
            }
            j += 1;
        }
        i += 1;
    }
}

const fn const_str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The shaped input schema of a tool's argument type; errors name the tool.
pub fn input_schema<T: JsonSchema>(tool_name: &str) -> Result<Value, SchemaError> {
    crate::schema::shape_object_schema(crate::schema::raw_schema_for::<T>(), tool_name)
}

/// Deserializes validated arguments; a mismatch schema validation let through is an `isError` result.
pub fn deserialize_arguments<T: DeserializeOwned>(arguments: Value) -> Result<T, ToolResult> {
    serde_json::from_value(arguments)
        .map_err(|error| ToolResult::error(format!("Input validation error: {error}")))
}
