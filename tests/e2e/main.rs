//! End-to-end tests: the real `claude` CLI against the scripted fake Messages API.
//!
//! Run with `cargo test -p agent-sdk-e2e`. They install the pinned CLI on first use.

mod console;
mod core;
mod dialogs;
mod elicitation;
mod hooks;
mod isolation;
mod load;
mod mcp_content;
mod mcp_servers;
#[cfg(unix)]
mod os_user;
mod server;
mod server_limits;
mod server_ws;
mod sessions;
mod store;
mod structured;
mod supervisor;
mod tool_state;
mod tool_timeouts;
mod tools;
