//! Stdout lines parsed into typed messages, without pipes or a runtime: the
//! SDK's own cost per assistant frame, the part of the `protocol` bench's stream
//! figure that this crate controls.
//!
//! Run: `cargo bench -p agent-sdk --bench message_parse`. Under
//! `valgrind --tool=callgrind` the instruction count per frame is stable on a
//! busy machine (`AGENT_SDK_BENCH_MESSAGES=20000` keeps that run short).

#[path = "../tests/fake_cli/cli/frames.rs"]
mod frames;

use std::hint::black_box;
use std::time::Instant;

use agent_sdk::Message;

fn main() {
    let count: u64 = std::env::var("AGENT_SDK_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500_000);
    // Distinct frames, as on the pipe; 1,024 of them stay in the cache like a read chunk.
    let lines: Vec<Vec<u8>> = (0..1024)
        .map(|n| {
            let mut line = Vec::new();
            frames::write_assistant(&mut line, n).expect("writing to a Vec");
            line.pop(); // the router hands lines over without their newline
            line
        })
        .collect();

    let mut parsed = 0u64;
    let start = Instant::now();
    for n in 0..count {
        let line = &lines[(n % 1024) as usize];
        match Message::from_slice(black_box(line)) {
            Ok(Message::Assistant(assistant)) => {
                parsed += 1;
                black_box(assistant);
            }
            other => panic!("not an assistant message: {other:?}"),
        }
    }
    let elapsed = start.elapsed();
    assert_eq!(parsed, count);
    println!(
        "{count} assistant frames of {} bytes parsed and dropped in {elapsed:?}: {:.0} ns per frame, {:.0} frames/s",
        lines[0].len(),
        elapsed.as_nanos() as f64 / count as f64,
        count as f64 / elapsed.as_secs_f64()
    );
}
