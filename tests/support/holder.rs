//! A host process for the no-orphans test: holds three supervised sessions,
//! prints their CLIs' process ids, then waits to be killed.

use std::time::Duration;

use agent_sdk::supervisor::{Supervisor, SupervisorConfig};
use agent_sdk::testing::{Script, TestEnv, Turn, ensure_cli};
use futures_util::StreamExt;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let cli = ensure_cli().await.expect("the pinned CLI");
    let env = TestEnv::start(Script::new().then(Turn::text("hi")))
        .await
        .expect("the fake API");
    let supervisor = Supervisor::new(SupervisorConfig::default());
    let mut pids = Vec::new();
    for key in 0..3 {
        let options = env
            .configure(agent_sdk::AgentOptions::builder().cli_path(&cli))
            .build()
            .expect("options");
        let session = supervisor
            .start_session(key, options)
            .await
            .expect("a session");
        session.ready().await.expect("the CLI started");
        if key == 0 {
            // One session mid-conversation, the others idle after start.
            let mut turn = session.send("hello").expect("queued");
            while turn.next().await.is_some() {}
        }
        let health = supervisor.health(&key).await.expect("health");
        pids.push(health.pid.expect("a live CLI").to_string());
    }
    println!("pids {}", pids.join(","));
    tokio::time::sleep(Duration::from_secs(600)).await;
}
