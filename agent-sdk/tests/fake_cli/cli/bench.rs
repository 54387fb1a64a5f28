//! The benchmark scenarios `tools` and `stream` (`benches/protocol`).
//!
//! Borrowed serde types, so that this side costs little. It speaks the frames
//! of the real CLI 2.1.330 (see `/work/shared/spec/transcripts/b_sdk_mcp.jsonl`):
//! answers `initialize` after the MCP handshake (`initialize`,
//! `notifications/initialized`, `tools/list` through `mcp_message`), waits for
//! the first user prompt, runs its mode, reports its own measurements in a
//! `system` frame with subtype `bench_report`, writes a `result` and waits for
//! stdin to close.

use std::borrow::Cow;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{Value, json};

use super::{Fail, Pipes, frames};

/// The CPU the fake CLI pins itself to (optional).
pub const CPU_ENV: &str = "AGENT_SDK_BENCH_FAKE_CPU";
/// Calls per concurrency level in tools mode.
pub const CALLS_ENV: &str = "AGENT_SDK_BENCH_CALLS";
/// Assistant frames in stream mode.
pub const MESSAGES_ENV: &str = "AGENT_SDK_BENCH_MESSAGES";

/// Calls before the timed C=1 run (page faults, allocator and branch warm-up).
pub const WARMUP_CALLS: u64 = 2_000;
const IN_FLIGHT: u64 = 16;

#[derive(Deserialize)]
struct Frame<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    request_id: Option<Cow<'a, str>>,
    #[serde(default)]
    request: Option<Value>,
}

/// `{"type":"control_response","response":{...}}` carrying an `mcp_response`.
#[derive(Deserialize)]
struct McpAnswer<'a> {
    #[serde(borrow)]
    response: McpAnswerBody<'a>,
}

#[derive(Deserialize)]
struct McpAnswerBody<'a> {
    #[serde(borrow)]
    subtype: Cow<'a, str>,
    #[serde(borrow)]
    request_id: Cow<'a, str>,
    response: Option<McpEnvelope<'a>>,
}

#[derive(Deserialize)]
struct McpEnvelope<'a> {
    #[serde(borrow)]
    mcp_response: JsonRpcAnswer<'a>,
}

#[derive(Deserialize)]
struct JsonRpcAnswer<'a> {
    #[serde(default)]
    id: Option<u64>,
    #[serde(default, borrow)]
    result: Option<&'a serde_json::value::RawValue>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
struct CallResult<'a> {
    #[serde(borrow)]
    content: Vec<TextBlock<'a>>,
    #[serde(rename = "isError", default)]
    is_error: bool,
}

#[derive(Deserialize)]
struct TextBlock<'a> {
    #[serde(borrow)]
    text: Cow<'a, str>,
}

pub(super) fn serve(mode: &str) -> Result<(), Fail> {
    if let Some(cpu) = std::env::var(CPU_ENV).ok().and_then(|v| v.parse().ok()) {
        super::pin_to_cpu(cpu);
    }
    let mut pipes = Pipes::new();
    let server = sdk_server_name().ok_or("no SDK MCP server in --mcp-config")?;

    // 1. The SDK's `initialize` request.
    let init_id = loop {
        let line = pipes.read_line()?;
        let frame: Frame<'_> = serde_json::from_slice(line)?;
        let subtype = frame
            .request
            .as_ref()
            .and_then(|r| r.get("subtype"))
            .and_then(Value::as_str);
        if frame.kind == "control_request" && subtype == Some("initialize") {
            break frame
                .request_id
                .ok_or("initialize without request_id")?
                .into_owned();
        }
    };

    // 2. The MCP handshake, before answering `initialize` (as the real CLI does).
    let answer = mcp_exchange(
        &mut pipes,
        &server,
        "hs-init",
        json!({"method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {},
               "clientInfo": {"name": "claude-code", "title": "Claude Code", "version": "2.1.330"}},
               "jsonrpc": "2.0", "id": 0}),
    )?;
    if answer.get("protocolVersion").is_none() {
        return Err(format!("MCP initialize answer without protocolVersion: {answer}").into());
    }
    mcp_exchange(
        &mut pipes,
        &server,
        "hs-initialized",
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    )?;
    let tools = mcp_exchange(
        &mut pipes,
        &server,
        "hs-list",
        json!({"method": "tools/list", "jsonrpc": "2.0", "id": 1}),
    )?;
    let has_add = tools["tools"]
        .as_array()
        .is_some_and(|tools| tools.iter().any(|t| t["name"] == "add"));
    if !has_add {
        return Err(format!("tools/list has no `add` tool: {tools}").into());
    }
    pipes.write_frame(&json!({"type": "control_response", "response": {
        "subtype": "success", "request_id": init_id,
        "response": {"commands": [], "agents": [], "output_style": "default",
                     "available_output_styles": ["default"], "models": [], "account": {}}}}))?;
    pipes.output.flush()?;

    // 3. Wait for the prompt that starts the run.
    loop {
        let line = pipes.read_line()?;
        let frame: Frame<'_> = serde_json::from_slice(line)?;
        if frame.kind == "user" {
            break;
        }
    }

    let report = match mode {
        "tools" => tools_mode(&mut pipes, &server)?,
        "stream" => stream_mode(&mut pipes)?,
        other => return Err(format!("unknown mode `{other}` (tools, stream)").into()),
    };
    let mut frame = json!({"type": "system", "subtype": "bench_report",
                           "session_id": SESSION, "uuid": "00000000-0000-0000-0000-00000000bench"});
    frame
        .as_object_mut()
        .expect("object")
        .extend(report.as_object().expect("object").clone());
    pipes.write_frame(&frame)?;
    pipes.output.write_all(RESULT_FRAME.as_bytes())?;
    pipes.output.write_all(b"\n")?;
    pipes.output.flush()?;

    // 4. Stay until the SDK closes stdin (it disconnects).
    let mut rest = Vec::new();
    let _ = pipes.input.read_to_end(&mut rest);
    Ok(())
}

/// The name of the first `"type": "sdk"` server in `--mcp-config`.
fn sdk_server_name() -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    let at = args.iter().position(|a| a == "--mcp-config")?;
    let config: Value = serde_json::from_str(args.get(at + 1)?).ok()?;
    config["mcpServers"]
        .as_object()?
        .iter()
        .find(|(_, server)| server["type"] == "sdk")
        .map(|(name, _)| name.clone())
}

/// Sends one `mcp_message` and returns the JSON-RPC `result` of its answer.
fn mcp_exchange(
    pipes: &mut Pipes,
    server: &str,
    request_id: &str,
    message: Value,
) -> Result<Value, Fail> {
    pipes.write_frame(&json!({"type": "control_request", "request_id": request_id,
        "request": {"subtype": "mcp_message", "server_name": server, "message": message}}))?;
    pipes.output.flush()?;
    let line = pipes.read_line()?;
    let answer: McpAnswer<'_> = serde_json::from_slice(line)?;
    if answer.response.subtype != "success" || answer.response.request_id != request_id {
        return Err(format!(
            "unexpected answer to {request_id}: {}",
            String::from_utf8_lossy(line)
        )
        .into());
    }
    let rpc = answer
        .response
        .response
        .ok_or("mcp answer without response")?
        .mcp_response;
    if let Some(error) = rpc.error {
        return Err(format!("{request_id} failed: {error}").into());
    }
    Ok(match rpc.result {
        Some(raw) => serde_json::from_str(raw.get())?,
        None => Value::Null,
    })
}

fn calls_from_env() -> u64 {
    std::env::var(CALLS_ENV)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50_000)
}

/// Writes the `tools/call` request for call `id`: `add(a = id, b = 2)`.
fn write_call(output: &mut impl Write, server: &str, id: u64) -> std::io::Result<()> {
    writeln!(
        output,
        "{{\"type\":\"control_request\",\"request_id\":\"call-{id}\",\"request\":{{\"subtype\":\"mcp_message\",\
         \"server_name\":\"{server}\",\"message\":{{\"method\":\"tools/call\",\"params\":{{\"name\":\"add\",\
         \"arguments\":{{\"a\":{id},\"b\":2}},\"_meta\":{{\"claudecode/toolUseId\":\"toolu_{id}\",\"progressToken\":{id}}}}},\
         \"jsonrpc\":\"2.0\",\"id\":{id}}}}}}}"
    )
}

/// Reads one `tools/call` answer, checks it, and returns its JSON-RPC id.
fn read_call_answer(pipes: &mut Pipes) -> Result<u64, Fail> {
    let line = pipes.read_line()?;
    let answer: McpAnswer<'_> = serde_json::from_slice(line)?;
    let body = answer.response;
    let rpc = body
        .response
        .ok_or("tools/call answer without response")?
        .mcp_response;
    let id = rpc.id.ok_or("tools/call answer without id")?;
    let expected_request = format!("call-{id}");
    if body.subtype != "success" || body.request_id != expected_request {
        return Err(format!("bad envelope: {}", String::from_utf8_lossy(line)).into());
    }
    let result: CallResult<'_> =
        serde_json::from_str(rpc.result.ok_or("tools/call answer without result")?.get())?;
    let sum: f64 = result
        .content
        .first()
        .ok_or("empty tool result")?
        .text
        .parse()?;
    if result.is_error || sum != (id + 2) as f64 {
        return Err(format!(
            "wrong answer for call {id}: {}",
            String::from_utf8_lossy(line)
        )
        .into());
    }
    Ok(id)
}

fn tools_mode(pipes: &mut Pipes, server: &str) -> Result<Value, Fail> {
    let calls = calls_from_env();

    // C = 1: one call at a time, every round trip timed.
    for id in 0..WARMUP_CALLS {
        write_call(&mut pipes.output, server, id)?;
        pipes.output.flush()?;
        read_call_answer(pipes)?;
    }
    let mut samples = Vec::with_capacity(calls as usize);
    let start = Instant::now();
    for id in 0..calls {
        let sent = Instant::now();
        write_call(&mut pipes.output, server, id)?;
        pipes.output.flush()?;
        let got = read_call_answer(pipes)?;
        samples.push(sent.elapsed());
        if got != id {
            return Err(format!("answer for {got} while waiting for {id}").into());
        }
    }
    let c1_elapsed = start.elapsed();
    samples.sort_unstable();
    let percentile = |p: usize| samples[(samples.len() * p / 100).min(samples.len() - 1)];

    // C = 16: keep 16 calls in flight; flush only when no answer is waiting in the buffer.
    let mut answered = vec![false; calls as usize];
    let start = Instant::now();
    let mut next = 0u64;
    while next < IN_FLIGHT.min(calls) {
        write_call(&mut pipes.output, server, next)?;
        next += 1;
    }
    pipes.output.flush()?;
    for _ in 0..calls {
        let id = read_call_answer(pipes)?;
        let slot = answered
            .get_mut(id as usize)
            .ok_or_else(|| format!("answer for unknown call {id}"))?;
        if std::mem::replace(slot, true) {
            return Err(format!("call {id} answered twice").into());
        }
        if next < calls {
            write_call(&mut pipes.output, server, next)?;
            next += 1;
        }
        if pipes.input.buffer().is_empty() {
            pipes.output.flush()?;
        }
    }
    let c16_elapsed = start.elapsed();
    let micros = |d: Duration| d.as_secs_f64() * 1e6;
    Ok(json!({
        "calls": calls,
        "tools_c1_p50_us": micros(percentile(50)),
        "tools_c1_p99_us": micros(percentile(99)),
        "tools_c1_calls_per_s": calls as f64 / c1_elapsed.as_secs_f64(),
        "tools_c16_calls_per_s": calls as f64 / c16_elapsed.as_secs_f64(),
    }))
}

const SESSION: &str = "0c6b1a4e-9d3f-4b8e-a1c2-5f7d9e0b3a61";

/// The `result` that ends the run, shaped like the real CLI's.
const RESULT_FRAME: &str = r#"{"type":"result","subtype":"success","is_error":false,"duration_ms":1200,"duration_api_ms":1100,"num_turns":1,"result":"done","stop_reason":"end_turn","session_id":"0c6b1a4e-9d3f-4b8e-a1c2-5f7d9e0b3a61","total_cost_usd":0.00024,"usage":{"input_tokens":10,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":10,"server_tool_use":{"web_search_requests":0,"web_fetch_requests":0},"service_tier":"standard"},"modelUsage":{},"permission_denials":[],"terminal_reason":"completed","uuid":"5f2b8c1d-3e4a-4f6b-9c7d-8e1f2a3b4c5d"}"#;

fn stream_mode(pipes: &mut Pipes) -> Result<Value, Fail> {
    let messages: u64 = std::env::var(MESSAGES_ENV)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let mut sample = Vec::new();
    frames::write_assistant(&mut sample, 0)?;
    let start = Instant::now();
    for n in 0..messages {
        frames::write_assistant(&mut pipes.output, n)?;
    }
    pipes.output.flush()?;
    let elapsed = start.elapsed();
    Ok(json!({
        "messages": messages,
        "frame_bytes": sample.len(),
        "write_msgs_per_s": messages as f64 / elapsed.as_secs_f64(),
    }))
}
