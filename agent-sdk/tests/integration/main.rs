//! The integration tests of `agent-sdk`: one module per subject, all in one
//! binary, so that the test build links once. Run one subject with a filter:
//! `cargo test -p agent-sdk --all-features --test integration messages::`.
//!
//! The fault tests are a binary of their own (`tests/faults.rs`): each of their
//! cases counts the open descriptors of the whole process.

mod common;

// The scripted fake Messages API is the `testing` feature.
#[cfg(feature = "testing")]
mod fake_api;
mod hooks_inputs;
mod hooks_outputs;
mod hooks_tool_inputs;
mod mcp_arguments;
mod mcp_fuzz;
mod mcp_known_schema;
mod mcp_macro;
mod mcp_schema_gallery;
mod mcp_server;
mod messages;
mod options_validation;
mod permission_wire;
mod schema_keywords;
// Runs the fake CLI, a binary built with the `testing` feature.
#[cfg(feature = "testing")]
mod secrets;
mod structured_schemas;
