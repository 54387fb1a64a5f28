//! `tools/call` through `SdkMcpServer::handle_json_rpc`, validation included:
//! p50 of one call at a time, and throughput with 16 calls in flight on 2 worker
//! threads, for a free function and for the same tool taking `State<T>` and a
//! `ToolContext`. Run: `cargo bench -p agent-sdk --bench mcp_dispatch`.
//!
//! This measures the server alone (JSON-RPC value in, value out); the protocol core
//! adds line parsing and writing on top.

use std::time::Instant;

use std::sync::Arc;

use agent_sdk::mcp::{SdkMcpServer, State, ToolContext};

use agent_sdk::prelude::*;
use serde_json::json;

/// Add two numbers.
#[tool(read_only)]
async fn add(a: f64, b: f64) -> f64 {
    a + b
}

/// Application state, as a real tool would hold it: shared, cloned per call.
#[derive(Clone)]
struct Calculator {
    offset: Arc<f64>,
}

/// Add two numbers, with the application's state and the call's context.
#[tool(read_only)]
async fn add_with_state(
    State(calculator): State<Calculator>,
    a: f64,
    b: f64,
    context: ToolContext,
) -> f64 {
    debug_assert!(!context.is_cancelled());
    a + b + *calculator.offset
}

fn request(tool: &str, id: u64) -> serde_json::Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
           "params": {"name": tool, "arguments": {"a": 2, "b": 3},
                      "_meta": {"claudecode/toolUseId": "toolu_1", "progressToken": id}}})
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let calculator = Calculator {
        offset: Arc::new(0.0),
    };
    let server = create_sdk_mcp_server!("calc", state = calculator, tools = [add, add_with_state])
        .expect("server");
    for tool in ["add", "add_with_state"] {
        println!("{tool}:");
        bench(&runtime, &server, tool);
    }
}

fn bench(runtime: &tokio::runtime::Runtime, server: &SdkMcpServer, tool: &'static str) {
    runtime.block_on(async {
        // One at a time, from a task on the runtime like the protocol core's.
        let sequential = server.clone();
        tokio::spawn(async move { one_at_a_time(&sequential, tool).await })
            .await
            .expect("task");

        // 16 in flight.
        let total = 200_000u64;
        let start = Instant::now();
        let mut workers = Vec::new();
        for worker in 0..16u64 {
            let server = server.clone();
            workers.push(tokio::spawn(async move {
                let mut id = worker;
                while id < total {
                    let answer = server.handle_json_rpc(request(tool, id)).await;
                    debug_assert_eq!(answer["result"]["isError"], false);
                    id += 16;
                }
            }));
        }
        for worker in workers {
            worker.await.expect("worker");
        }
        let elapsed = start.elapsed();
        let rate = total as f64 / elapsed.as_secs_f64();
        println!("  16 in flight: {total} calls in {elapsed:?} = {rate:.0} calls/s");
    });
}

async fn one_at_a_time(server: &SdkMcpServer, tool: &str) {
    let mut samples = Vec::with_capacity(20_000);
    for id in 0..20_000u64 {
        let message = request(tool, id);
        let start = Instant::now();
        let answer = server.handle_json_rpc(message).await;
        samples.push(start.elapsed());
        assert_eq!(answer["result"]["isError"], false);
    }
    samples.sort();
    let p50 = samples[samples.len() / 2];
    let p99 = samples[samples.len() * 99 / 100];
    println!("  one at a time: tools/call p50 {p50:?}, p99 {p99:?}");
}
