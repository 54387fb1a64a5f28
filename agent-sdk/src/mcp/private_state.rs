//! Support code for the `State<T>` and `ToolContext` parameters of `#[tool]` and the
//! `state = ...` of `create_sdk_mcp_server!`. Not public API.

use std::sync::Arc;

pub use crate::mcp::{RequiredState, State, ToolContext, ToolMethods, ToolState};
use crate::mcp::{SdkMcpServer, SdkMcpServerBuilder, ServerBuildError, Tool, ToolResult};

/// Compile-time check that a `State<T>` parameter's `T` can be state
/// (`ToolState` carries the message).
pub const fn assert_tool_state<T: ToolState>() {}

/// The `State<T>` of a call; an `isError` result when the server holds no `T` (only
/// possible for a tool called outside a server built with the checks).
pub fn extract_state<T: ToolState>(context: &ToolContext) -> Result<State<T>, ToolResult> {
    context.state::<T>().map(State).ok_or_else(|| {
        ToolResult::error(format!(
            "Tool '{}' cannot run: its server has no state of type `{}`",
            context.tool_name(),
            std::any::type_name::<T>()
        ))
    })
}

/// The state of a `create_sdk_mcp_server!` without `state = ...`.
#[derive(Clone, Copy, Debug)]
pub struct NoStateSupplied;

/// A tool listed in a `create_sdk_mcp_server!` whose state is `S`: every tool that
/// takes no state, and a tool whose `State<T>` parameters all have `S = T`.
///
/// `<tool as ServedWith<_>>::check(&state)` is the check: written as a type path, a listed
/// item that is not a tool is reported once, with the other uses of its type.
pub trait ServedWith<S> {
    /// Compiles when the tool can be served with `state`.
    fn check(_state: &S) {}
}

/// `Self` (the server's state) is `T` (the type of a tool's `State<T>`).
#[diagnostic::on_unimplemented(
    message = "a listed tool takes `State<{T}>`, but the server's state is `{Self}`",
    label = "this tool needs `State<{T}>`",
    note = "supply it: `create_sdk_mcp_server!(\"name\", state = <a {T}>, tools = [...])`, or use `SdkMcpServer::builder(..).state(..)` for several state types"
)]
pub trait IsState<T> {}

impl<T> IsState<T> for T {}

/// What `create_sdk_mcp_server!(.., state = .., methods = ..)` builds: the listed tools
/// (or, `None`, the registered ones), then what `configure` adds (state, methods).
pub fn build_server_with(
    name: &str,
    version: Option<&str>,
    instructions: Option<&str>,
    tools: Option<Vec<Arc<dyn Tool>>>,
    configure: impl FnOnce(SdkMcpServerBuilder) -> SdkMcpServerBuilder,
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
    configure(builder).build()
}
