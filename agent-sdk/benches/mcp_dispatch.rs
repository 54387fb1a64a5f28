//! `tools/call` through `SdkMcpServer::handle_json_rpc`, validation included:
//! p50 of one call at a time, and throughput with 16 calls in flight on 2 worker
//! threads. Run: `cargo bench -p agent-sdk --bench mcp_dispatch`.
//!
//! This measures the server alone (JSON-RPC value in, value out); the protocol core
//! adds line parsing and writing on top.

use std::time::Instant;

use agent_sdk::mcp::SdkMcpServer;

use agent_sdk::prelude::*;
use serde_json::json;

/// Add two numbers.
#[tool(read_only)]
async fn add(a: f64, b: f64) -> f64 {
    a + b
}

fn request(id: u64) -> serde_json::Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
           "params": {"name": "add", "arguments": {"a": 2, "b": 3},
                      "_meta": {"claudecode/toolUseId": "toolu_1", "progressToken": id}}})
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let server = create_sdk_mcp_server!("calc", tools = [add]).expect("server");

    runtime.block_on(async {
        // One at a time, from a task on the runtime like the protocol core's.
        let sequential = server.clone();
        tokio::spawn(async move { one_at_a_time(&sequential).await })
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
                    let answer = server.handle_json_rpc(request(id)).await;
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
        println!("16 in flight: {total} calls in {elapsed:?} = {rate:.0} calls/s");
    });
}

async fn one_at_a_time(server: &SdkMcpServer) {
    let mut samples = Vec::with_capacity(20_000);
    for id in 0..20_000u64 {
        let message = request(id);
        let start = Instant::now();
        let answer = server.handle_json_rpc(message).await;
        samples.push(start.elapsed());
        assert_eq!(answer["result"]["isError"], false);
    }
    samples.sort();
    let p50 = samples[samples.len() / 2];
    let p99 = samples[samples.len() * 99 / 100];
    println!("one at a time: tools/call p50 {p50:?}, p99 {p99:?}");
}
