//! The in-process MCP server: tools written in Rust that the CLI calls through `mcp_message`.
//!
//! (Skeleton: the tool framework lands with the tool framework issue.)

use std::sync::Arc;

/// An in-process MCP server, served by the SDK inside its own process.
#[derive(Clone)]
pub struct SdkMcpServer {
    inner: Arc<ServerInner>,
}

struct ServerInner {
    name: String,
    version: String,
}

impl std::fmt::Debug for SdkMcpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SdkMcpServer")
            .field("name", &self.inner.name)
            .field("version", &self.inner.version)
            .finish_non_exhaustive()
    }
}

impl SdkMcpServer {
    /// The server name: the key in `--mcp-config` and the middle of `mcp__<server>__<tool>`.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Answers one JSON-RPC message from the CLI. Returns the JSON-RPC response
    /// (for a notification: `{"jsonrpc":"2.0","result":{}}`).
    pub(crate) async fn handle_message(&self, message: serde_json::Value) -> serde_json::Value {
        let id = message.get("id").cloned();
        match id {
            None => serde_json::json!({"jsonrpc": "2.0", "result": {}}),
            Some(id) => serde_json::json!({
                "jsonrpc": "2.0",
                "id": id,
                "error": {"code": -32601, "message": "Method not found"}
            }),
        }
    }
}
