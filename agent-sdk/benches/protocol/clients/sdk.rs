//! The SDK client of the protocol bench: one session (`tools` or `stream`)
//! against the fake CLI, as a user's program runs it. The runtime is the
//! caller's (`sdk_multi_thread.rs`, `sdk_current_thread.rs`).

use std::pin::pin;
use std::time::Instant;

use agent_sdk::message::SystemMessage;
use agent_sdk::prelude::*;
use agent_sdk::{AgentOptions, Client, Message};
use futures_util::StreamExt;
use serde_json::Value;

use crate::measure::{self, SessionFigures};

/// Add two numbers.
#[tool(read_only)]
async fn add(a: f64, b: f64) -> f64 {
    a + b
}

/// Runs the session the bench assigned and hands its figures back.
pub async fn main() {
    let (cli, mode) = measure::assignment();
    measure::dump_resident_pages("start");
    let rss_at_start_mib = measure::rss_mib();
    let server = create_sdk_mcp_server!("calc", tools = [add]).expect("server");
    measure::dump_resident_pages("server");
    let rss_with_server_mib = measure::rss_mib();
    let options = AgentOptions::builder()
        .cli_path(cli)
        .mcp_server("calc", server)
        .stderr(|line| eprintln!("[fake CLI] {line}"))
        .build()
        .expect("options");
    let rss_before_connect_mib = measure::rss_mib();
    measure::dump_resident_pages("options");
    let client = Client::connect(options)
        .await
        .unwrap_or_else(|err| panic!("connecting to the fake CLI ({mode}): {err}"));
    tokio::time::sleep(measure::SETTLE).await;
    let idle_rss_mib = measure::rss_mib();
    measure::dump_resident_pages("connected");
    let idle_breakdown = measure::memory_breakdown();
    // Where connecting's memory came from, step by step (MiB).
    println!(
        "steps: runtime up {rss_at_start_mib:.2}, MCP server built {rss_with_server_mib:.2}, options {rss_before_connect_mib:.2}, connected {idle_rss_mib:.2}"
    );
    if mode == "tools" {
        measure::print_smaps("after connect");
    }

    measure::reset_peak_rss();
    let start = Instant::now();
    let cpu_start = measure::cpu_time();
    let stat_start = measure::machine_cpu_ticks();
    client.query("go").await.expect("prompt");
    let mut report = Value::Null;
    let mut assistant_messages = 0u64;
    let mut replies = pin!(client.receive_response());
    while let Some(message) = replies.next().await {
        match message.expect("a typed message") {
            Message::Assistant(_) => assistant_messages += 1,
            Message::System(SystemMessage::Other(frame)) if frame.subtype == "bench_report" => {
                report = frame.data
            }
            Message::Result(result) => assert!(!result.is_error, "the run failed"),
            _ => {}
        }
    }
    let run_time = start.elapsed();
    let cpu = measure::cpu_time().saturating_sub(cpu_start);
    let steal_percent = measure::steal_percent(stat_start, measure::machine_cpu_ticks());
    let peak_rss_mib = measure::status_mib("VmHWM:");
    if mode == "stream" {
        measure::print_smaps("after the stream");
    }
    client.disconnect().await.expect("disconnect");
    assert!(!report.is_null(), "the fake CLI sent no bench_report");
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
