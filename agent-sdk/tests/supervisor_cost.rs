//! The supervisor charges each turn its own cost whatever happened to the
//! session's CLIs between turns: real CLIs against the fake Messages API,
//! killed (SIGKILL: the next CLI resumes without the running totals) and
//! restarted cleanly (the next restores the last clean CLI's totals), in the
//! orders that tell the rule's cases apart.
#![cfg(all(feature = "supervisor", feature = "testing"))]

use std::time::Duration;

use agent_sdk::AgentOptions;
use agent_sdk::message::Message;
use agent_sdk::supervisor::{SessionHandle, Supervisor, SupervisorConfig};
use agent_sdk::testing::{Script, TestEnv, Turn};
use futures_util::StreamExt;

/// What the pinned CLI charges a token of the model it asks the fake API
/// for: input, output (USD).
const PRICE_PER_TOKEN: (f64, f64) = (4e-6, 20e-6);

/// Runs one turn; what its own tokens cost.
async fn turn(session: &SessionHandle, prompt: &str) -> f64 {
    let stream = session.send(prompt.to_owned()).expect("the turn is queued");
    let messages: Vec<_> =
        tokio::time::timeout(Duration::from_secs(90), stream.collect::<Vec<_>>())
            .await
            .expect("the turn ended within 90 s");
    let usage = messages
        .into_iter()
        .find_map(|message| match message.expect("no error in the turn") {
            Message::Result(result) => result.usage,
            _ => None,
        })
        .expect("the result tells its usage");
    let (input, output) = PRICE_PER_TOKEN;
    usage.total_input_tokens() as f64 * input + usage.output_tokens as f64 * output
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_turn_is_charged_its_own_cost_across_kills_and_clean_restarts() {
    let script: Script = (0..8).map(|n| Turn::text(format!("answer {n}"))).collect();
    let env = TestEnv::start(script).await.expect("the fake API starts");
    let options: AgentOptions = env
        .configure(AgentOptions::builder())
        .cli_path(agent_sdk::testing::ensure_cli().await.expect("the CLI"))
        .build()
        .unwrap();
    let supervisor = Supervisor::new(SupervisorConfig::default());
    let session = supervisor.start_session("s", options).await.unwrap();
    let charged = || supervisor.session_info(&"s").unwrap().cost_usd;
    // SIGKILLs the CLI and waits for the supervisor to replace it.
    let kill = async || {
        let pid = supervisor.health(&"s").await.unwrap().pid.expect("a CLI");
        // SAFETY: kill(2) on our own child's pid.
        assert_eq!(unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) }, 0);
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let health = supervisor.health(&"s").await.unwrap();
            if health.alive && health.pid.is_some_and(|p| p != pid) {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the killed CLI is replaced"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };

    let mut own = Vec::new();
    own.push(turn(&session, "one").await); // P1
    kill().await;
    own.push(turn(&session, "two").await); // P2: restored nothing
    supervisor.restart_session(&"s").await.unwrap();
    own.push(turn(&session, "three").await); // P3: restored P2's totals
    kill().await;
    own.push(turn(&session, "four").await); // P4: restored P2's totals again
    supervisor.restart_session(&"s").await.unwrap();
    own.push(turn(&session, "five").await); // P5: restored P4's totals
    own.push(turn(&session, "six").await); // P5

    let expected: f64 = own.iter().sum();
    assert!(
        (charged() - expected).abs() < 1e-9,
        "charged {} for turns that cost {own:?} (sum {expected})",
        charged()
    );
    let info = supervisor.session_info(&"s").unwrap();
    assert_eq!(info.cli_starts, 5, "one CLI per process above");
    supervisor.shutdown(Duration::from_secs(10)).await;
}
