//! The supervisor's figures: first-message latency of a new session cold and
//! with a warm spare, and the time from a CLI's death to its session's restart
//! (the real CLI against the scripted fake Messages API); SDK-side memory per
//! idle session with 200 sessions (against the fake CLI, this same binary).
//!
//! Run: `cargo bench -p agent-sdk --features supervisor,testing --bench supervisor`
//! (`AGENT_SDK_BENCH_SESSIONS` sets the idle sessions, default 200;
//! `AGENT_SDK_BENCH_ROUNDS` the latency and restart rounds, default 5).

#[path = "../tests/fake_cli/cli/mod.rs"]
mod fake_cli;

use std::time::{Duration, Instant};

use agent_sdk::supervisor::{Profile, Supervisor, SupervisorConfig, SupervisorEvent};
use agent_sdk::testing::{Script, TestEnv, Turn, ensure_cli};
use agent_sdk::{AgentOptions, Message};
use futures_util::StreamExt;

fn main() {
    if let Ok(mode) = std::env::var(fake_cli::SCENARIO_ENV) {
        fake_cli::run(&mode);
    }
    let sessions = env_number("AGENT_SDK_BENCH_SESSIONS", 200);
    let rounds = env_number("AGENT_SDK_BENCH_ROUNDS", 5);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        let per_session = idle_memory(sessions).await;
        let (cold, warm) = first_message_latency(rounds).await;
        let restart = restart_after_death(rounds).await;
        println!(
            "BENCH sessions={sessions} idle_kib_per_session={per_session:.1} first_message_cold_ms={:.0} first_message_warm_ms={:.0} death_to_restart_ms={:.0}",
            ms(cold),
            ms(warm),
            ms(restart)
        );
    });
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// `VmRSS` of this process in KiB.
fn rss_kib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0)
}

/// The SDK's resident memory per idle supervised session, against the fake CLI.
async fn idle_memory(sessions: usize) -> f64 {
    let options = AgentOptions::builder()
        .cli_path(std::env::current_exe().expect("this binary"))
        .env(fake_cli::SCENARIO_ENV, "idle")
        .build()
        .expect("options");
    let supervisor = Supervisor::new(SupervisorConfig::default());
    // One session first, so the per-session figure excludes one-time costs.
    let first = supervisor
        .start_session(usize::MAX, options.clone())
        .await
        .expect("a session");
    first.ready().await.expect("the fake CLI starts");
    let before = rss_kib();
    let started = Instant::now();
    let mut handles = Vec::with_capacity(sessions);
    for key in 0..sessions {
        handles.push(
            supervisor
                .start_session(key, options.clone())
                .await
                .expect("a session"),
        );
    }
    for handle in &handles {
        handle.ready().await.expect("the fake CLI starts");
    }
    let after = rss_kib();
    let per_session = (after - before) / sessions as f64;
    println!(
        "idle memory: {sessions} sessions connected in {:?}; VmRSS {before:.0} -> {after:.0} KiB, {per_session:.1} KiB per session",
        started.elapsed()
    );
    supervisor.shutdown(Duration::from_secs(5)).await;
    per_session
}

fn echo_script(turns: usize) -> Script {
    (0..turns)
        .map(|_| Turn::from_fn(|_| Turn::text("ok")))
        .collect()
}

async fn real_cli_options(env: &TestEnv) -> AgentOptions {
    let cli = ensure_cli().await.expect("the pinned CLI");
    env.configure(AgentOptions::builder().cli_path(cli))
        .build()
        .expect("options")
}

/// From `start_session` to the first turn's result, without and with a warm spare.
async fn first_message_latency(rounds: usize) -> (Duration, Duration) {
    let env = TestEnv::start(echo_script(4 * rounds))
        .await
        .expect("fake API");
    let options = real_cli_options(&env).await;
    let supervisor = Supervisor::new(SupervisorConfig::default());
    let profile = Profile::new("bench", options.clone());
    let mut cold = Vec::new();
    let mut warm = Vec::new();
    for round in 0..rounds {
        let started = Instant::now();
        let session = supervisor
            .start_session(format!("cold-{round}"), options.clone())
            .await
            .expect("a session");
        first_turn(&session).await;
        cold.push(started.elapsed());

        supervisor.prewarm(&profile, 1).await;
        let started = Instant::now();
        let session = supervisor
            .start_profile_session(format!("warm-{round}"), &profile)
            .await
            .expect("a session");
        first_turn(&session).await;
        warm.push(started.elapsed());
    }
    println!("first message, cold: {cold:?}");
    println!("first message, warm: {warm:?}");
    supervisor.shutdown(Duration::from_secs(5)).await;
    (median(cold), median(warm))
}

async fn first_turn(session: &agent_sdk::supervisor::SessionHandle) {
    let mut turn = session.send("hello").expect("queued");
    while let Some(message) = turn.next().await {
        if let Message::Result(_) = message.expect("no error") {
            return;
        }
    }
    panic!("the turn ended without a result");
}

/// From SIGKILL of a session's CLI to the `Restarted` event (the new CLI connected).
async fn restart_after_death(rounds: usize) -> Duration {
    let env = TestEnv::start(echo_script(2)).await.expect("fake API");
    let options = real_cli_options(&env).await;
    let supervisor = Supervisor::new(
        SupervisorConfig::default().max_restarts(rounds + 1, Duration::from_secs(3600)),
    );
    let mut events = supervisor.events();
    let session = supervisor
        .start_session("victim", options)
        .await
        .expect("a session");
    first_turn(&session).await;
    let mut samples = Vec::new();
    for _ in 0..rounds {
        let pid = supervisor
            .health(&"victim")
            .await
            .expect("health")
            .pid
            .expect("a live CLI");
        let killed = Instant::now();
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
        loop {
            match events.next().await {
                Some(SupervisorEvent::Restarted { .. }) => break,
                Some(_) => continue,
                None => panic!("the event stream ended"),
            }
        }
        samples.push(killed.elapsed());
    }
    println!("death to restart: {samples:?}");
    supervisor.shutdown(Duration::from_secs(5)).await;
    median(samples)
}
