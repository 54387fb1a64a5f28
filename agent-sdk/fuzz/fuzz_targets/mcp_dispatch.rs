//! MCP dispatch: any JSON-RPC message gets an answer (never a panic); a request
//! with an id is answered under that id, with a result or an error.
#![no_main]

use agent_sdk_fuzz::{block_on, fuzz_server};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(message) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let answer = block_on(fuzz_server().handle_json_rpc(message.clone()));
    assert_eq!(answer["jsonrpc"], "2.0", "{answer}");
    if let Some(id) = message.get("id") {
        if message.get("method").is_some() || answer.get("error").is_some() {
            assert_eq!(&answer["id"], id, "{answer}");
        }
        assert!(
            answer.get("result").is_some() != answer.get("error").is_some(),
            "a result or an error: {answer}"
        );
    }
});
