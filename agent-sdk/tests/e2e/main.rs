//! End-to-end tests: the SDK driving the real `claude` CLI against the scripted
//! fake Messages API (`agent_sdk::testing`), one module per subject. Run one
//! subject with a filter: `cargo test -p agent-sdk --all-features --test e2e store::`.
#![cfg(feature = "testing")]

mod store;
