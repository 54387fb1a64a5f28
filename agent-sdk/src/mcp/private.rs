//! Support code for `#[tool]` and `create_sdk_mcp_server!` expansions. Not public API.
//!
//! Generated code names nothing of the SDK but this module (as `<crate>::__private::...`),
//! so a rename elsewhere in the SDK is one line here, not a change to the macros.

use std::marker::PhantomData;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub use crate::handler::BoxFuture;
pub use crate::mcp::known_schema::{
    KnownParameterType, KnownParameters, KnownSchema, known_object_schema,
};
pub use crate::mcp::{
    IntoToolResult, SdkMcpServer, ServerBuildError, Tool, ToolAnnotations, ToolDefinition,
    ToolRegistration, ToolResult,
};
pub use crate::schema::SchemaError;

/// Every `#[tool]` parameter type must be deserializable and have a schema.
///
/// The macro checks each parameter with [`assert_tool_parameter`] (this message, once) and
/// writes `for<'__tool> T: ToolParameter` on the items that need it: a higher-ranked bound is
/// not a "trivial bound", so a type without the traits makes no further error in serde's or
/// schemars' derived code.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a `#[tool]` parameter: it must implement `Deserialize` and `JsonSchema`",
    label = "this parameter type lacks `serde::Deserialize` or `schemars::JsonSchema`",
    note = "add `#[derive(serde::Deserialize, schemars::JsonSchema)]` to the type, or use a type that has both (String, numbers, Vec<T>, Option<T>, ...)"
)]
pub trait ToolParameter: DeserializeOwned + JsonSchema {}

impl<T: DeserializeOwned + JsonSchema> ToolParameter for T {}

/// Compile-time check that a parameter type is usable.
pub const fn assert_tool_parameter<T: ToolParameter>() {}

/// Compile-time check that a return type is usable (`IntoToolResult` carries the message).
pub const fn assert_tool_output<R: IntoToolResult>() {}

/// What `#[tool(...)]` says about a tool, besides its types.
pub struct ToolSpec {
    /// The tool name.
    pub name: &'static str,
    /// `description`, or the doc comment.
    pub description: Option<&'static str>,
    /// `title`.
    pub title: Option<&'static str>,
    /// `read_only`.
    pub read_only: Option<bool>,
    /// `destructive`.
    pub destructive: Option<bool>,
    /// `idempotent`.
    pub idempotent: Option<bool>,
    /// `open_world`.
    pub open_world: Option<bool>,
    /// `max_result_size_chars`.
    pub max_result_size_chars: Option<u64>,
}

/// The definition of a tool whose arguments are `A` and whose function returns `R`.
pub fn tool_definition<A: JsonSchema, R: IntoToolResult>(
    spec: &ToolSpec,
) -> Result<ToolDefinition, SchemaError> {
    let input_schema =
        crate::schema::shape_object_schema(crate::schema::raw_schema_for::<A>(), spec.name)?;
    definition_with::<R>(spec, input_schema)
}

/// Where a tool of plain parameters (types `P`, a tuple) gets its input
/// schema: the known table when every type is in it, else schemars through
/// `A`'s derive. The generated code calls
/// `(&&DefinitionProbe::<P, A, R>::new()).definition(..)`, and method lookup
/// picks [`DefineFromTable`] when `P: KnownParameters` (its impl is on
/// `&DefinitionProbe`, one reference closer), else [`DefineWithSchemars`]. Only
/// the chosen one is compiled into the tool: schemars' code for a table tool
/// was ~10 KiB of every such tool's code.
pub struct DefinitionProbe<P, A, R>(PhantomData<Types<P, A, R>>);

/// The types a [`DefinitionProbe`] is about (owning none of them).
type Types<P, A, R> = fn() -> (P, A, R);

impl<P, A, R> DefinitionProbe<P, A, R> {
    /// A probe of parameter types `P`, arguments `A` and output `R`.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        DefinitionProbe(PhantomData)
    }
}

/// The definition from the known table; see [`DefinitionProbe`].
pub trait DefineFromTable {
    /// The tool's definition; `parameters` are the names and one-line docs.
    fn definition(
        &self,
        spec: &ToolSpec,
        parameters: &[(&'static str, Option<&'static str>)],
    ) -> Result<ToolDefinition, SchemaError>;
    /// Whether the table is used (for tests).
    fn uses_table(&self) -> bool {
        true
    }
}

impl<P: KnownParameters, A, R: IntoToolResult> DefineFromTable for &DefinitionProbe<P, A, R> {
    fn definition(
        &self,
        spec: &ToolSpec,
        parameters: &[(&'static str, Option<&'static str>)],
    ) -> Result<ToolDefinition, SchemaError> {
        definition_with::<R>(spec, known_object_schema::<P>(parameters))
    }
}

/// The definition from schemars; see [`DefinitionProbe`].
pub trait DefineWithSchemars {
    /// The tool's definition (`parameters` are in `A`'s schema already).
    fn definition(
        &self,
        spec: &ToolSpec,
        parameters: &[(&'static str, Option<&'static str>)],
    ) -> Result<ToolDefinition, SchemaError>;
    /// Whether the table is used (for tests).
    fn uses_table(&self) -> bool {
        false
    }
}

impl<P, A: JsonSchema, R: IntoToolResult> DefineWithSchemars for DefinitionProbe<P, A, R> {
    fn definition(
        &self,
        spec: &ToolSpec,
        _parameters: &[(&'static str, Option<&'static str>)],
    ) -> Result<ToolDefinition, SchemaError> {
        tool_definition::<A, R>(spec)
    }
}

/// The definition around an input schema: annotations, description, limits, output schema.
fn definition_with<R: IntoToolResult>(
    spec: &ToolSpec,
    input_schema: Value,
) -> Result<ToolDefinition, SchemaError> {
    let mut annotations = ToolAnnotations::new();
    if let Some(title) = spec.title {
        annotations = annotations.title(title);
    }
    type SetHint = fn(ToolAnnotations, bool) -> ToolAnnotations;
    let hints: [(Option<bool>, SetHint); 4] = [
        (spec.read_only, ToolAnnotations::read_only),
        (spec.destructive, ToolAnnotations::destructive),
        (spec.idempotent, ToolAnnotations::idempotent),
        (spec.open_world, ToolAnnotations::open_world),
    ];
    for (value, set) in hints {
        if let Some(value) = value {
            annotations = set(annotations, value);
        }
    }
    let mut definition = ToolDefinition::new(spec.name, input_schema).annotations(annotations);
    if let Some(description) = spec.description {
        definition = definition.description(description);
    }
    if let Some(chars) = spec.max_result_size_chars {
        definition = definition.max_result_size_chars(chars);
    }
    if let Some(output_schema) = output_schema::<R>(spec.name)? {
        definition = definition.output_schema(output_schema);
    }
    Ok(definition)
}

/// Deserializes validated arguments; a mismatch schema validation let through is an `isError` result
/// that names the field.
///
/// JSON Schema counts `2.0` as an integer, so the validator lets it through for an
/// integer parameter that serde refuses: on a failure, integral floats are read as
/// integers and the arguments read again. Read borrowed, so the rare failure can be
/// read again (and its field found) without a copy on the common path.
pub fn deserialize_arguments<T: DeserializeOwned>(mut arguments: Value) -> Result<T, ToolResult> {
    if let Ok(value) = T::deserialize(&arguments) {
        return Ok(value);
    }
    crate::mcp::validate::integral_floats_to_integers(&mut arguments);
    serde_path_to_error::deserialize(&arguments).map_err(|error| {
        let field = error.path().to_string();
        let reason = error.into_inner();
        if field == "." {
            ToolResult::error(format!("Input validation error: {reason}"))
        } else {
            ToolResult::error(format!("Input validation error: \"{field}\": {reason}"))
        }
    })
}

/// The result of a tool function's return value.
pub fn into_tool_result<R: IntoToolResult>(output: R) -> ToolResult {
    output.into_tool_result()
}

/// The output schema of a tool's return type, if it has one; errors name the tool.
fn output_schema<R: IntoToolResult>(tool_name: &str) -> Result<Option<Value>, SchemaError> {
    match R::output_schema() {
        None => Ok(None),
        Some(Ok(schema)) => Ok(Some(schema)),
        Some(Err(SchemaError::NotAnObject { type_name, found })) => Err(SchemaError::NotAnObject {
            type_name: tool_name.to_owned(),
            found: format!("{found} in its output type `{type_name}`"),
        }),
        Some(Err(other)) => Err(other),
    }
}

/// `DISTINCT` is whether two tools of one `create_sdk_mcp_server!` list have different names.
pub struct ToolNames<const DISTINCT: bool>;

/// Holds for [`ToolNames<true>`] only: the error names both tools (`A`, `B`, their companion types).
#[diagnostic::on_unimplemented(
    message = "the tools `{A}` and `{B}` have the same name in this server",
    label = "`{B}` has the same tool name as `{A}`",
    note = "tool names are the `#[tool(name = \"...\")]` given, or the function names: give one of the two another name"
)]
pub trait DistinctToolNames<A, B> {}

impl<A, B> DistinctToolNames<A, B> for ToolNames<true> {}

/// Compile-time check that the tools `A` and `B` have different names (`N` = [`ToolNames`]).
pub const fn assert_distinct_tool_names<A, B, N: DistinctToolNames<A, B>>() {}

/// `a == b`, in const evaluation.
pub const fn same_name(a: &str, b: &str) -> bool {
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

/// What `create_sdk_mcp_server!` builds: the listed tools, or (`None`) every tool registered
/// for the server with `#[tool(server = "...")]`.
pub fn build_server(
    name: &str,
    version: Option<&str>,
    instructions: Option<&str>,
    tools: Option<Vec<Arc<dyn Tool>>>,
) -> Result<SdkMcpServer, ServerBuildError> {
    let mut builder = SdkMcpServer::builder(name);
    if let Some(version) = version {
        builder = builder.version(version);
    }
    if let Some(instructions) = instructions {
        builder = builder.instructions(instructions);
    }
    builder = match tools {
        Some(tools) => tools.into_iter().fold(builder, |b, tool| b.tool_arc(tool)),
        None => builder.registered_tools(),
    };
    builder.build()
}

/// A listed tool, shared.
pub fn shared_tool<T: Tool>(tool: T) -> Arc<dyn Tool> {
    Arc::new(tool)
}

/// Makes the tool `T` for the `#[tool(server = "...")]` registry.
///
/// `(&&Registered::<T>(PhantomData)).make_tool()` picks [`MakeRegistered`] when `T` is a `Tool`,
/// else [`MakeUnbuilt`] (method lookup tries `&&Registered<T>` before `&Registered<T>`): a tool
/// whose types are wrong is reported once, by its checks, not again by its registration.
pub struct Registered<T>(pub PhantomData<T>);

/// The maker of a tool that is one.
pub trait MakeRegistered {
    /// The tool, shared.
    fn make_tool(&self) -> Arc<dyn Tool>;
}

impl<T: Tool + Default> MakeRegistered for &Registered<T> {
    fn make_tool(&self) -> Arc<dyn Tool> {
        Arc::new(T::default())
    }
}

/// The maker of a tool whose types are wrong (never called: the program does not compile).
pub trait MakeUnbuilt {
    /// Never returns.
    fn make_tool(&self) -> Arc<dyn Tool>;
}

impl<T> MakeUnbuilt for Registered<T> {
    fn make_tool(&self) -> Arc<dyn Tool> {
        unbuilt_tool()
    }
}

/// Stands for a server whose `create_sdk_mcp_server!` failed to expand (its errors are
/// already reported), so the code around it does not add errors of its own.
pub fn unbuilt_server() -> Result<SdkMcpServer, ServerBuildError> {
    unreachable!("create_sdk_mcp_server! reported a compile error")
}

/// Stands for a `#[tool]` that failed to expand, for the same reason.
pub fn unbuilt_tool() -> ! {
    unreachable!("#[tool] reported a compile error")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Args {
        n: i64,
        counts: Vec<u32>,
        ratio: f64,
    }

    #[test]
    fn integral_floats_read_as_integers() {
        let args: Args =
            deserialize_arguments(json!({"n": 2.0, "counts": [1.0, 3], "ratio": 2.0})).unwrap();
        assert_eq!(
            args,
            Args {
                n: 2,
                counts: vec![1, 3],
                ratio: 2.0
            }
        );
        let negative: Args =
            deserialize_arguments(json!({"n": -7.0, "counts": [], "ratio": 0.5})).unwrap();
        assert_eq!(negative.n, -7);
    }

    #[test]
    fn arguments_that_read_as_they_are_are_not_rewritten() {
        #[derive(serde::Deserialize)]
        struct Raw {
            any: Value,
        }
        let raw: Raw = deserialize_arguments(json!({"any": 2.0})).unwrap();
        assert!(raw.any.is_f64(), "{}", raw.any);
    }

    #[test]
    fn a_serde_error_names_the_field() {
        let error =
            deserialize_arguments::<Args>(json!({"n": 2.5, "counts": [], "ratio": 1})).unwrap_err();
        assert!(error.is_error);
        assert_eq!(
            error.text_content(),
            "Input validation error: \"n\": invalid type: floating point `2.5`, expected i64"
        );
        let nested = deserialize_arguments::<Args>(json!({"n": 1, "counts": [1, -1], "ratio": 1}))
            .unwrap_err();
        assert!(
            nested
                .text_content()
                .starts_with("Input validation error: \"counts[1]\": "),
            "{}",
            nested.text_content()
        );
    }
}
