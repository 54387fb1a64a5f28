//! Procedural macros of `agent-sdk`: [`macro@tool`] and [`create_sdk_mcp_server!`].
//!
//! Use them through `agent_sdk` (`use agent_sdk::prelude::*;`): the generated code
//! refers to `::agent_sdk::__private` re-exports, so no direct dependency on serde,
//! schemars or inventory is needed. A program that renames the dependency passes
//! `crate = "..."` to both macros.
//!
//! Every problem the macros can see is reported in one compile, each underlining the
//! construct at fault; a parameter type without `Deserialize`/`JsonSchema`, a return type
//! that is not `IntoToolResult`, and two listed tools of the same name are each one error.

mod options;
mod server;
mod tool;

// The README (this crate's page in the package registry) is doctested.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme {}

#[cfg(test)]
mod expand_tests;

use proc_macro::TokenStream;

/// Turns an async function into an MCP tool.
///
/// The function stays an ordinary function; next to it the macro adds a companion
/// type of the same name (a braced unit struct, in the type namespace) that
/// implements `agent_sdk::mcp::Tool`. List the function in
/// `create_sdk_mcp_server!(..., tools = [add])`, or pass `add {}` to
/// `SdkMcpServerBuilder::tool`.
///
/// Arguments: either plain typed parameters (the macro derives the argument struct;
/// parameter doc comments become property descriptions, and `#[serde(...)]` /
/// `#[schemars(...)]` on a parameter are kept), or one parameter marked `#[args]`
/// whose type derives `Deserialize` + `JsonSchema`. Parameter types must be owned.
///
/// Return: anything `IntoToolResult` (strings, numbers, `Json<T>`, `Vec<Content>`,
/// `ToolResult`, `Result<T, E: Display>`).
///
/// | argument | meaning | example |
/// |---|---|---|
/// | `name = "..."` | tool name (default: the function name); 1-64 of `[A-Za-z0-9_-]` | `#[tool(name = "get_weather")]` |
/// | `description = "..."` | description (default: the doc comment) | `#[tool(description = "Add two numbers")]` |
/// | `title = "..."` | human-readable title (`title`, `annotations.title`) | `#[tool(title = "Add")]` |
/// | `read_only` / `read_only = bool` | `annotations.readOnlyHint`; the CLI may run such tools concurrently | `#[tool(read_only)]` |
/// | `destructive` / `destructive = bool` | `annotations.destructiveHint` | `#[tool(destructive = false)]` |
/// | `idempotent` / `idempotent = bool` | `annotations.idempotentHint` | `#[tool(idempotent)]` |
/// | `open_world` / `open_world = bool` | `annotations.openWorldHint` | `#[tool(open_world)]` |
/// | `max_result_size_chars = N` | `_meta["anthropic/maxResultSizeChars"]` | `#[tool(max_result_size_chars = 5000)]` |
/// | `server = "..."` | register for `create_sdk_mcp_server!("...")` without a tool list | `#[tool(server = "calc")]` |
/// | `crate = "..."` | the path of the SDK when the dependency is renamed (default `::agent_sdk`) | `#[tool(crate = "sdk")]` |
///
/// ```
/// use agent_sdk::prelude::*;
///
/// /// Divide `a` by `b`.
/// #[tool(read_only, title = "Divide")]
/// async fn divide(
///     /// The dividend.
///     a: f64,
///     /// The divisor; must not be zero.
///     b: f64,
/// ) -> Result<f64, ToolError> {
///     if b == 0.0 {
///         return Err(ToolError::new("division by zero"));
///     }
///     Ok(a / b)
/// }
///
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct Query {
///     /// Words to look for.
///     text: String,
///     limit: Option<u32>,
/// }
///
/// #[tool(name = "search", server = "docs")]
/// async fn search_docs(#[args] query: Query) -> String {
///     format!("{} (limit {:?})", query.text, query.limit)
/// }
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// assert_eq!(divide(1.0, 4.0).await.unwrap(), 0.25);
/// let docs = create_sdk_mcp_server!("docs").unwrap();
/// assert_eq!(docs.qualified_tool_names(), ["mcp__docs__search"]);
/// # }
/// ```
#[proc_macro_attribute]
pub fn tool(args: TokenStream, item: TokenStream) -> TokenStream {
    tool::expand(args.into(), item.into()).into()
}

/// Serves the `#[tool]` methods of an `impl` block from an `Arc<Self>`, for tools that
/// belong to a value (a database, a client) rather than free functions.
///
/// Each `#[tool]` method takes `&self` (not `&mut self`: calls run concurrently on one
/// shared value) and follows the rules of a `#[tool]` function otherwise (typed arguments,
/// `State<T>`, `ToolContext`). Serve them with `SdkMcpServerBuilder::methods(Arc::new(value))`
/// or `methods = arc` in `create_sdk_mcp_server!`. Methods without `#[tool]` stay ordinary.
/// Takes `crate = "..."` when the SDK dependency is renamed.
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::{Arc, Mutex};
/// use agent_sdk::prelude::*;
///
/// #[derive(Default)]
/// struct Notes {
///     by_title: Mutex<HashMap<String, String>>,
/// }
///
/// #[tools]
/// impl Notes {
///     /// Save a note.
///     #[tool]
///     async fn save(&self, title: String, text: String) -> String {
///         self.by_title.lock().unwrap().insert(title.clone(), text);
///         format!("saved {title}")
///     }
///
///     /// Read a note.
///     #[tool(read_only)]
///     async fn read(&self, title: String) -> Result<String, ToolError> {
///         self.by_title.lock().unwrap().get(&title).cloned().ok_or_else(|| ToolError::new("no such note"))
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> agent_sdk::Result<()> {
/// let notes = Arc::new(Notes::default());
/// let server = create_sdk_mcp_server!("notes", methods = notes.clone())?;
/// assert_eq!(server.qualified_tool_names(), ["mcp__notes__save", "mcp__notes__read"]);
/// server.call_tool("save", serde_json::json!({"title": "a", "text": "b"})).await;
/// assert_eq!(notes.by_title.lock().unwrap()["a"], "b");
/// # Ok(()) }
/// ```
#[proc_macro_attribute]
pub fn tools(args: TokenStream, item: TokenStream) -> TokenStream {
    tool::methods::expand(args.into(), item.into()).into()
}

/// Builds an in-process MCP server: `Result<SdkMcpServer, ServerBuildError>`.
///
/// | argument | meaning | example |
/// |---|---|---|
/// | first, a string literal | server name (the key in `--mcp-config`, the middle of `mcp__calc__add`) | `"calc"` |
/// | `version = "..."` | `serverInfo.version` (default `1.0.0`); a literal or `env!(...)` | `version = "1.0.0"` |
/// | `instructions = "..."` | instructions sent in the `initialize` answer | `instructions = "Use add for sums."` |
/// | `tools = [f, g]` | the `#[tool]` functions, each once; a repeat, or two with the same tool name, is a compile error | `tools = [add, math::divide]` |
/// | `state = ...` | the value `State<T>` parameters get (one type; `SdkMcpServerBuilder::state` for several); a listed tool taking another `State<T>`, or any `State<T>` without `state`, is a compile error | `state = app.clone()` |
/// | `methods = ...` | an `Arc` of a type with a `#[tools]` impl: its `#[tool]` methods | `methods = Arc::new(db)` |
/// | `crate = "..."` | the path of the SDK when the dependency is renamed (default `::agent_sdk`) | `crate = "sdk"` |
///
/// Without `tools`, the server holds every `#[tool(server = "<name>")]` of the program,
/// across modules and crates; a name clash among those is a `ServerBuildError` when built.
///
/// ```
/// use agent_sdk::prelude::*;
///
/// /// Add two numbers.
/// #[tool]
/// async fn add(a: f64, b: f64) -> f64 { a + b }
///
/// # fn main() -> agent_sdk::Result<()> {
/// let calc = create_sdk_mcp_server!("calc", version = "1.0.0", tools = [add])?;
/// let options = AgentOptions::builder()
///     .mcp_server("calc", calc)
///     .build()?;
/// # let _ = options; Ok(()) }
/// ```
#[proc_macro]
pub fn create_sdk_mcp_server(input: TokenStream) -> TokenStream {
    server::expand(input.into()).into()
}
