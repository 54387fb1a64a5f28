//! A client of the protocol bench (`benches/protocol/main.rs` builds and runs
//! it), the floor: the same fake CLI driven by raw tokio + serde_json on a
//! current-thread runtime, no SDK, in a program of its own. It frames lines,
//! parses every frame into a `serde_json::Value`, answers the MCP handshake and
//! every `tools/call` inline, counts assistant frames. What the SDK costs is
//! its figures divided by these, taken in the same run.

mod measure;

use std::process::Stdio;
use std::time::Instant;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, BufWriter};

use measure::{SessionFigures, machine_cpu_ticks, rss_mib, steal_percent};

/// Runs the session the bench assigned (`tools` or `stream`) against a fresh fake CLI.
#[tokio::main(flavor = "current_thread")]
async fn main() {
    let (cli, mode) = measure::assignment();
    measure::dump_resident_pages("start");
    let rss_before_connect_mib = rss_mib();
    let config = json!({"mcpServers": {"calc": {"type": "sdk", "name": "calc"}}});
    let mut child = tokio::process::Command::new(cli)
        .args(["--mcp-config", &config.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("starting the fake CLI");
    let mut stdin = BufWriter::new(child.stdin.take().expect("piped"));
    let mut lines =
        BufReader::with_capacity(64 * 1024, child.stdout.take().expect("piped")).lines();
    let write = async |frame: Value, stdin: &mut BufWriter<_>| {
        let mut line = serde_json::to_vec(&frame).expect("JSON");
        line.push(b'\n');
        stdin.write_all(&line).await.expect("writing");
    };
    write(
        json!({"type": "control_request", "request_id": "init",
                 "request": {"subtype": "initialize"}}),
        &mut stdin,
    )
    .await;
    stdin.flush().await.expect("flush");

    let (mut idle_rss_mib, mut start, mut cpu_start, mut stat_start) = (
        0.0,
        Instant::now(),
        measure::cpu_time(),
        machine_cpu_ticks(),
    );
    let mut idle_breakdown = Value::Null;
    let mut report = Value::Null;
    let mut assistant_messages = 0;
    while let Some(line) = lines.next_line().await.expect("reading") {
        let frame: Value = serde_json::from_str(&line).expect("a JSON frame");
        match frame["type"].as_str() {
            Some("assistant") => assistant_messages += 1,
            Some("control_request") => {
                let message = &frame["request"]["message"];
                let answer = match message["method"].as_str() {
                    Some("initialize") => json!({"protocolVersion": "2025-11-25",
                        "capabilities": {"tools": {}}, "serverInfo": {"name": "calc", "version": "1"}}),
                    Some("tools/list") => {
                        json!({"tools": [{"name": "add", "inputSchema": {"type": "object"}}]})
                    }
                    Some("tools/call") => {
                        let arguments = &message["params"]["arguments"];
                        let sum = arguments["a"].as_f64().unwrap_or(f64::NAN)
                            + arguments["b"].as_f64().unwrap_or(f64::NAN);
                        json!({"content": [{"type": "text", "text": sum.to_string()}]})
                    }
                    _ => json!({}),
                };
                let rpc = json!({"jsonrpc": "2.0", "id": message["id"], "result": answer});
                write(
                    json!({"type": "control_response", "response": {"subtype": "success",
                    "request_id": frame["request_id"], "response": {"mcp_response": rpc}}}),
                    &mut stdin,
                )
                .await;
                // Flush only when no request waits in the buffer, as the SDK's writer does.
                if lines.get_ref().buffer().is_empty() {
                    stdin.flush().await.expect("flush");
                }
            }
            Some("control_response") => {
                // Connected: the run starts with the prompt.
                tokio::time::sleep(measure::SETTLE).await;
                idle_rss_mib = rss_mib();
                measure::dump_resident_pages("connected");
                idle_breakdown = measure::memory_breakdown();
                if mode == "tools" {
                    measure::print_smaps("the floor, after connect");
                }
                measure::reset_peak_rss();
                (start, cpu_start, stat_start) =
                    (Instant::now(), measure::cpu_time(), machine_cpu_ticks());
                write(
                    json!({"type": "user", "message": {"role": "user", "content": "go"},
                             "parent_tool_use_id": null, "session_id": ""}),
                    &mut stdin,
                )
                .await;
                stdin.flush().await.expect("flush");
            }
            Some("system") if frame["subtype"] == "bench_report" => report = frame,
            Some("result") => break,
            _ => {}
        }
    }
    let run_time = start.elapsed();
    let cpu = measure::cpu_time().saturating_sub(cpu_start);
    let steal_percent = steal_percent(stat_start, machine_cpu_ticks());
    let peak_rss_mib = measure::status_mib("VmHWM:");
    if mode == "stream" {
        measure::print_smaps("after the floor's stream");
    }
    drop(stdin);
    child.wait().await.expect("the fake CLI exits");
    SessionFigures {
        report,
        idle_rss_mib,
        rss_before_connect_mib,
        peak_rss_mib,
        assistant_messages,
        run_time,
        cpu,
        steal_percent,
        idle_breakdown,
    }
    .hand_back();
}
