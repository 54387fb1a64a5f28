//! `server_load`: the CLI of the agent server's load benchmark
//! (`benches/server_load`). It answers `initialize` and every other control
//! request, and each user message with one assistant frame whose text is
//! `stamp <ns>` (this machine's `CLOCK_MONOTONIC` just before the write, so
//! that a client of the server can time the frame's way to it), then a
//! `result`. It costs the server what a real CLI's turn costs it, without a model.

use std::io::Write;

use serde_json::{Value, json};

use super::{Fail, Pipes};

/// The prefix of the assistant text; the nanoseconds follow it.
pub const STAMP_PREFIX: &str = "stamp ";

const SESSION: &str = "5e55f00d-0000-4000-8000-00000000bench";

/// `CLOCK_MONOTONIC` in nanoseconds: one clock for every process of the machine.
pub fn monotonic_ns() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64
}

pub(super) fn serve() -> Result<(), Fail> {
    let mut pipes = Pipes::new();
    let mut turn = 0u64;
    // Until the SDK closes stdin, as the real CLI does.
    while let Some(line) = pipes.next_line()? {
        if line.is_empty() {
            continue;
        }
        let frame: Value = serde_json::from_slice(line)?;
        match frame["type"].as_str() {
            Some("control_request") => {
                let response = if frame["request"]["subtype"] == "initialize" {
                    json!({"pid": std::process::id(), "commands": []})
                } else {
                    json!({})
                };
                pipes.write_frame(&json!({"type": "control_response", "response": {
                    "subtype": "success", "request_id": frame["request_id"], "response": response}}))?;
            }
            Some("user") => {
                turn += 1;
                let text = format!("{STAMP_PREFIX}{}", monotonic_ns());
                pipes.write_frame(&json!({"type": "assistant", "message": {
                    "id": format!("msg_{turn}"), "type": "message", "role": "assistant", "model": "fake",
                    "content": [{"type": "text", "text": text}], "stop_reason": null,
                    "stop_sequence": null, "usage": {"input_tokens": 3, "output_tokens": 2}},
                    "parent_tool_use_id": null, "session_id": SESSION}))?;
                pipes.write_frame(
                    &json!({"type": "result", "subtype": "success", "is_error": false,
                    "duration_ms": 0, "duration_api_ms": 0, "num_turns": 1, "result": "done",
                    "stop_reason": "end_turn", "session_id": SESSION, "total_cost_usd": 0.0001,
                    "usage": {"input_tokens": 3, "output_tokens": 2}}),
                )?;
            }
            _ => continue,
        }
        pipes.output.flush()?;
    }
    Ok(())
}
