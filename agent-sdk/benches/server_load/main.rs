//! The agent server under load: (a) sessions on the real CLI against the fake
//! Messages API, their turn latency and memory; (b) hundreds of sessions on the
//! fake CLI (this same binary, mode `server_load`), HTTP requests per second
//! and the server's memory per session; (c) 1,000 SSE subscribers on one
//! session, the latency of each event from the fake CLI's write of its frame to
//! its arrival at each client.
//!
//! Run: `cargo bench -p agent-sdk --features server,testing --bench server_load`;
//! `-- --quick` (or `AGENT_SDK_BENCH_QUICK=1`) runs small sizes in seconds.
//! The server runs as a child process (this binary again, see `server.rs`), so
//! that its resident memory is its own; the CLIs' memory is reported apart.

#[path = "../../tests/fake_cli/cli/mod.rs"]
mod fake_cli;

mod client;
mod phases;
mod procfs;
mod server;

use std::time::Duration;

/// The sizes of one run.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    /// Sessions on the real CLI, and messages each sends.
    pub real_sessions: usize,
    pub real_messages: usize,
    /// Sessions on the fake CLI, and requests in flight at once.
    pub fake_sessions: usize,
    pub concurrency: usize,
    /// SSE subscribers on one session, and messages sent to it.
    pub subscribers: usize,
    pub fanout_messages: usize,
}

impl Sizes {
    fn from_env() -> Sizes {
        let quick = std::env::args().any(|arg| arg == "--quick")
            || std::env::var_os("AGENT_SDK_BENCH_QUICK").is_some();
        let (real, fake, subscribers) = if quick { (2, 20, 50) } else { (16, 500, 1000) };
        Sizes {
            real_sessions: env_number("AGENT_SDK_BENCH_REAL_SESSIONS", real),
            real_messages: env_number("AGENT_SDK_BENCH_REAL_MESSAGES", if quick { 1 } else { 3 }),
            fake_sessions: env_number("AGENT_SDK_BENCH_SESSIONS", fake),
            concurrency: env_number("AGENT_SDK_BENCH_CONCURRENCY", 32),
            subscribers: env_number("AGENT_SDK_BENCH_SUBSCRIBERS", subscribers),
            fanout_messages: env_number(
                "AGENT_SDK_BENCH_FANOUT_MESSAGES",
                if quick { 5 } else { 20 },
            ),
        }
    }
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// The server's database: `AGENT_SDK_BENCH_DB=memory` or `sqlite` (default, in a temporary directory).
fn db_url(dir: &std::path::Path) -> String {
    match std::env::var("AGENT_SDK_BENCH_DB").as_deref() {
        Ok("memory") => "memory://".to_owned(),
        _ => format!("sqlite://{}", dir.join("server.db").display()),
    }
}

fn main() {
    if let Ok(mode) = std::env::var(fake_cli::SCENARIO_ENV) {
        fake_cli::run(&mode);
    }
    if let Ok(role) = std::env::var(server::ROLE_ENV) {
        server::serve(&role);
    }
    let sizes = Sizes::from_env();
    println!("sizes: {sizes:?}");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        let real = phases::real_cli(sizes).await;
        let fake = phases::fake_cli(sizes).await;
        let fanout = phases::fanout(sizes).await;
        println!(
            "BENCH server_load real_sessions={} real_turn_p50_ms={:.0} real_turn_p99_ms={:.0} real_server_kib_per_session={:.0} real_cli_mib_per_session={:.0} \
             fake_sessions={} create_per_s={:.0} message_per_s={:.0} get_per_s={:.0} close_per_s={:.0} server_kib_per_session={:.1} server_kib_per_session_after_turn={:.1} left_kib_per_closed_session={:.1} \
             sse_subscribers={} sse_events={} sse_p50_ms={:.2} sse_p99_ms={:.2} sse_server_cpu_us_per_event={:.1}",
            sizes.real_sessions,
            ms(real.turn_p50),
            ms(real.turn_p99),
            real.server_kib_per_session,
            real.cli_kib_per_session / 1024.0,
            sizes.fake_sessions,
            fake.create_per_s,
            fake.message_per_s,
            fake.get_per_s,
            fake.close_per_s,
            fake.server_kib_per_session,
            fake.server_kib_per_session_after_turn,
            fake.left_kib_per_closed_session,
            sizes.subscribers,
            fanout.events,
            ms(fanout.p50),
            ms(fanout.p99),
            fanout.server_cpu_us_per_event,
        );
    });
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// The value below which `fraction` of the samples lie.
pub fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 * fraction) as usize).min(sorted.len() - 1);
    sorted[index]
}
