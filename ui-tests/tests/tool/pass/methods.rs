use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use agent_sdk::mcp::{SdkMcpServer, State, ToolContext};
use agent_sdk::prelude::*;

#[derive(Default)]
struct Store {
    writes: AtomicU64,
}

#[derive(Clone)]
struct Tenant(&'static str);

#[tools]
impl Store {
    /// Write a value.
    #[tool(destructive = false)]
    async fn write(
        &self,
        /// The key.
        key: String,
        context: ToolContext,
    ) -> String {
        let n = self.writes.fetch_add(1, Ordering::SeqCst) + 1;
        format!("{key} written by {} ({n})", context.tool_name())
    }

    /// Say whose store this is.
    #[tool(name = "owner", read_only)]
    async fn tenant(&self, State(tenant): State<Tenant>) -> String {
        format!("{} after {} writes", tenant.0, self.writes())
    }

    /// Not a tool: an ordinary method.
    fn writes(&self) -> u64 {
        self.writes.load(Ordering::SeqCst)
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let store = Arc::new(Store::default());
    let server = create_sdk_mcp_server!("store", state = Tenant("acme"), methods = store.clone()).unwrap();
    assert_eq!(server.qualified_tool_names(), ["mcp__store__write", "mcp__store__owner"]);
    let schema = &server.tools()[0].input_schema;
    assert_eq!(schema["properties"]["key"]["description"], "The key.");
    let text = server.call_tool("write", serde_json::json!({"key": "k"})).await.text_content();
    assert_eq!(text, "k written by write (1)");
    let text = server.call_tool("owner", serde_json::json!({})).await.text_content();
    assert_eq!(text, "acme after 1 writes");
    // The builder, and a missing state: a build error naming tool and type.
    let error = SdkMcpServer::builder("store").methods(store).build().unwrap_err();
    assert!(error.to_string().contains("'owner' takes `State<"), "{error}");
}
