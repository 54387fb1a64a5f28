//! `agent-sdk-fake-cli`: the fake `claude` CLI of the fault tests
//! (`tests/faults.rs`), a program of its own so that the SDK talks to it over
//! real pipes, as it does to the real CLI. `AGENT_SDK_FAKE_CLI=<scenario>`
//! picks what it does (default `normal`); see [`cli`].

#[cfg(unix)]
mod cli;

#[cfg(unix)]
fn main() {
    let scenario = std::env::var(cli::SCENARIO_ENV).unwrap_or_else(|_| "normal".to_owned());
    cli::run(&scenario)
}

/// The fault scenarios rely on POSIX pipes and signals.
#[cfg(not(unix))]
fn main() {
    eprintln!("the fake CLI runs on Unix only");
    std::process::exit(2)
}
