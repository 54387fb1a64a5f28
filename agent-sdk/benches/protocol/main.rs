//! End-to-end protocol benchmark: the SDK against a fake CLI that speaks the
//! protocol as fast as it can (DESIGN.md section 8).
//!
//! Run: `cargo bench -p agent-sdk --bench protocol`
//!
//! The fake CLI is this same binary: the SDK starts it through `cli_path` with
//! `AGENT_SDK_BENCH_FAKE_CLI=<mode>` set, so there is nothing else to build.
//! Two sessions run, each with a fresh fake CLI:
//! - **tools**: after the MCP handshake the fake CLI sends `tools/call` for the
//!   in-process `add` tool, one at a time and then with 16 in flight, checks
//!   every answer and times every round trip on its side of the pipe;
//! - **stream**: the fake CLI writes assistant frames as fast as the pipe takes
//!   them, then a `result`; the SDK parses each into a typed `Message` and the
//!   bench counts them.
//!
//! The SDK runs on a current-thread runtime pinned to CPU 0, the fake CLI on CPU 1.
//! Sizes: `AGENT_SDK_BENCH_CALLS` (default 50,000 per concurrency level) and
//! `AGENT_SDK_BENCH_MESSAGES` (default 300,000).

mod fake_cli;

use std::pin::pin;
use std::time::{Duration, Instant};

use agent_sdk::message::SystemMessage;
use agent_sdk::prelude::*;
use agent_sdk::{AgentOptions, Client, Message};
use futures_util::StreamExt;
use serde_json::Value;

/// Add two numbers.
#[tool(read_only)]
async fn add(a: f64, b: f64) -> f64 {
    a + b
}

const SDK_CPU: usize = 0;
const FAKE_CLI_CPU: usize = 1;

fn main() {
    if let Ok(mode) = std::env::var(fake_cli::MODE_ENV) {
        fake_cli::run(&mode);
    }
    let pinned = pin_to_cpu(SDK_CPU);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let figures = runtime.block_on(async {
        let tools = run_session("tools").await;
        let stream = run_session("stream").await;
        (tools, stream)
    });
    let (tools, stream) = figures;
    let report = &tools.report;
    let figure = |key: &str| report[key].as_f64().unwrap_or(f64::NAN);
    let stream_rate = stream.assistant_messages as f64 / stream.run_time.as_secs_f64();

    println!(
        "pinned: {}",
        if pinned {
            "SDK on CPU 0, fake CLI on CPU 1"
        } else {
            "no (sched_setaffinity failed)"
        }
    );
    println!(
        "tools/call round trip, one at a time: p50 {:.1} us, p99 {:.1} us, {:.0} calls/s ({} calls)",
        figure("tools_c1_p50_us"),
        figure("tools_c1_p99_us"),
        figure("tools_c1_calls_per_s"),
        report["calls"]
    );
    println!(
        "tools/call, 16 in flight: {:.0} calls/s",
        figure("tools_c16_calls_per_s")
    );
    println!(
        "assistant frames parsed into typed messages: {:.0} msg/s ({} frames of {} bytes in {:?}; the fake CLI wrote {:.0} msg/s)",
        stream_rate,
        stream.assistant_messages,
        stream.report["frame_bytes"],
        stream.run_time,
        stream.report["write_msgs_per_s"]
            .as_f64()
            .unwrap_or(f64::NAN)
    );
    // CPU spent by the SDK process per operation: the figure to watch on a busy machine,
    // where the wall-clock figures above also measure the wait for a core.
    let calls_total = 2 * report["calls"].as_u64().unwrap_or(0) + fake_cli::WARMUP_CALLS;
    println!(
        "SDK CPU time (user + system): {:.1} us per tools/call ({calls_total} calls), {:.2} us per message",
        tools.sdk_cpu.as_secs_f64() * 1e6 / calls_total as f64,
        stream.sdk_cpu.as_secs_f64() * 1e6 / stream.assistant_messages.max(1) as f64,
    );
    println!(
        "SDK process resident memory, idle after connect: {:.2} MiB",
        tools.idle_rss_mib
    );
    println!(
        "BENCH tools_c1_p50_us={:.1} tools_c1_p99_us={:.1} tools_c1_calls_per_s={:.0} tools_c16_calls_per_s={:.0} stream_msgs_per_s={:.0} idle_rss_mib={:.2}",
        figure("tools_c1_p50_us"),
        figure("tools_c1_p99_us"),
        figure("tools_c1_calls_per_s"),
        figure("tools_c16_calls_per_s"),
        stream_rate,
        tools.idle_rss_mib
    );
}

struct SessionFigures {
    /// The fake CLI's `bench_report` frame.
    report: Value,
    idle_rss_mib: f64,
    assistant_messages: u64,
    /// From sending the prompt to receiving the `result`.
    run_time: Duration,
    /// CPU time (user + system) the SDK process spent over the same span.
    sdk_cpu: Duration,
}

async fn run_session(mode: &str) -> SessionFigures {
    let server = create_sdk_mcp_server!("calc", tools = [add]).expect("server");
    let exe = std::env::current_exe().expect("path of the bench binary");
    let options = AgentOptions::builder()
        .cli_path(exe)
        .env(fake_cli::MODE_ENV, mode)
        .env(fake_cli::CPU_ENV, FAKE_CLI_CPU.to_string())
        .mcp_server(server)
        .stderr(|line| eprintln!("[fake CLI] {line}"))
        .build()
        .expect("options");
    let client = Client::connect(options)
        .await
        .unwrap_or_else(|err| panic!("connecting to the fake CLI ({mode}): {err}"));
    let idle_rss_mib = rss_mib();

    let start = Instant::now();
    let cpu_start = cpu_time();
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
    let sdk_cpu = cpu_time().saturating_sub(cpu_start);
    drop(replies);
    client.disconnect().await.expect("disconnect");
    assert!(!report.is_null(), "the fake CLI sent no bench_report");
    if mode == "stream" {
        assert_eq!(
            Some(assistant_messages),
            report["messages"].as_u64(),
            "every assistant frame arrives as a typed message"
        );
    }
    SessionFigures {
        report,
        idle_rss_mib,
        assistant_messages,
        run_time,
        sdk_cpu,
    }
}

/// User + system CPU time of this process so far.
fn cpu_time() -> Duration {
    // SAFETY: getrusage fills the struct we hand it and touches nothing else.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let micros = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    Duration::from_micros(micros(usage.ru_utime) + micros(usage.ru_stime))
}

/// `VmRSS` of this process, from `/proc/self/status`.
fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<f64>()
                .ok()
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

/// Pins the calling thread (and the threads it starts later) to one CPU.
fn pin_to_cpu(cpu: usize) -> bool {
    // SAFETY: cpu_set_t is plain data; CPU_ZERO/CPU_SET write inside it, and
    // sched_setaffinity(0, ..) only changes this thread's affinity mask.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_ZERO(&mut set);
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
    }
}
