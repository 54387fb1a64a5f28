//! The in-process MCP server: tools written in Rust that the CLI calls through `mcp_message`.
//!
//! - [`Tool`]: what a server serves; `#[tool]` implements it for an async fn, and
//!   [`DynamicTool`] for a schema and handler known only at run time;
//! - [`IntoToolResult`], [`ToolResult`], [`Content`], [`Json`], [`ToolError`]: what a tool returns;
//! - [`State`] and [`ToolContext`]: what a tool takes besides its arguments (the
//!   application's data; the call's ids, cancellation, progress and logs);
//! - [`SdkMcpServer`]: JSON-RPC dispatch (`initialize`, `tools/list`, `tools/call`, `ping`,
//!   notifications), argument validation with a validator compiled once per tool (at its first
//!   call). It keeps no state per call: the protocol core runs each call on its own task and
//!   cancels calls per session.
//!
//! In-process servers serve tools only: no MCP prompts or resources. The CLI
//! (2.1.330, probed) asks an in-process server for `initialize` and `tools/list`
//! and nothing else, even when its `initialize` answer declares `prompts` and
//! `resources` (an stdio server's prompts become slash commands and its resources
//! get read tools; an in-process server's would not be used). For prompts or
//! resources, configure an stdio or HTTP MCP server ([`crate::options::McpServerConfig`]).
//!
//! ```
//! use agent_sdk::prelude::*;
//!
//! /// Add two numbers.
//! #[tool]
//! async fn add(
//!     /// The first addend.
//!     a: f64,
//!     /// The second addend.
//!     b: f64,
//! ) -> f64 {
//!     a + b
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> agent_sdk::Result<()> {
//! assert_eq!(add(1.0, 2.0).await, 3.0); // still a plain function
//! let calc = create_sdk_mcp_server!("calc", version = "1.0.0", tools = [add])?;
//! assert_eq!(calc.qualified_tool_names(), ["mcp__calc__add"]);
//! let result = calc.call_tool("add", serde_json::json!({"a": 1, "b": 2})).await;
//! assert_eq!(result.text_content(), "3");
//! # Ok(()) }
//! ```

mod context;
mod known_schema;
#[doc(hidden)]
pub mod private;
#[doc(hidden)]
pub mod private_state;
mod result;
mod server;
mod state;
mod tool;
mod validate;

pub use context::{CANCELLED_CALL_GRACE, LogLevel, ToolContext};
pub(crate) use context::{CallOrigin, Cancellation, ClientLink, OriginParts};
pub use state::{RequiredState, State, ToolState};

pub use result::{
    Content, EmbeddedResource, IntoToolResult, Json, ResourceBody, ToolError, ToolResult,
};
pub(crate) use server::{JsonRpcAnswer, acknowledged, request_cancelled, server_not_found};
pub use server::{
    LATEST_PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS, SdkMcpServer, SdkMcpServerBuilder,
    ServerBuildError,
};
pub use tool::{
    DynamicTool, Tool, ToolAnnotations, ToolDefinition, ToolMethods, ToolRegistration,
    is_valid_tool_name,
};
