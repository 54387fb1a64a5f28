//! Hosting many conversations: a supervisor of named sessions. Two users talk;
//! alice's CLI is restarted and keeps her conversation; bob goes idle, his CLI
//! is evicted, and his next message resumes where he left off.
//!
//! ```sh
//! cargo run -p agent-sdk-examples --example supervisor
//! ```

use std::time::Duration;

use agent_sdk::prelude::*;
use agent_sdk::supervisor::{SessionHandle, Supervisor, SupervisorConfig};
use agent_sdk::testing::{Script, Turn};
use agent_sdk_examples::{init_logging, setup};

/// The offline model: repeats what it heard and how much of the conversation it was shown.
fn offline_model() -> Script {
    (0..20)
        .map(|_| {
            Turn::from_fn(|request| {
                Turn::text(format!(
                    "You said \"{}\"; I see {} message(s) of our conversation.",
                    request.last_user_text().unwrap_or_default(),
                    request.messages().len()
                ))
            })
        })
        .collect()
}

/// Sends one message and prints the answer.
async fn say(
    who: &str,
    session: &SessionHandle,
    text: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    println!("{who}> {text}");
    let mut turn = session.send(text)?;
    while let Some(message) = turn.next().await {
        if let Message::Assistant(reply) = message? {
            println!("  agent: {}", reply.text());
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    init_logging();
    let setup = setup(offline_model).await?;
    println!("[{}]", setup.banner());
    let options = setup.options.max_turns(3).build()?;
    let supervisor = Supervisor::new(
        SupervisorConfig::default()
            .max_sessions(10)
            .idle_timeout(Duration::from_secs(2)),
    );
    let mut events = supervisor.events();
    tokio::spawn(async move {
        while let Some(event) = events.next().await {
            println!("  [event] {event:?}");
        }
    });

    let alice = supervisor.start_session("alice", options.clone()).await?;
    let bob = supervisor.start_session("bob", options).await?;
    say("alice", &alice, "My favourite colour is teal.").await?;
    say("bob", &bob, "I am planning a trip to Lisbon.").await?;

    println!("-- restarting alice's CLI");
    supervisor.restart_session(&"alice").await?;
    say("alice", &alice, "What is my favourite colour?").await?;

    println!("-- bob goes quiet for a while");
    // A live subscriber (say, a browser tab watching alice) keeps her CLI from eviction.
    let _alice_watcher = alice.subscribe()?;
    tokio::time::sleep(Duration::from_secs(4)).await;
    for info in supervisor.list_sessions() {
        println!(
            "  {}: {:?}, {} turn(s), {} restart(s), conversation {:?}",
            info.key, info.state, info.turns, info.restarts, info.conversation
        );
    }
    say("bob", &bob, "Where was I going?").await?;

    let counters = supervisor.counters();
    println!(
        "-- counters: {} live, {} created, {} restarts, {} evicted (idle), {} turns",
        counters.sessions_live,
        counters.sessions_created,
        counters.restarts,
        counters.evicted_idle,
        counters.turns
    );
    let report = supervisor.shutdown(Duration::from_secs(10)).await;
    println!(
        "-- shut down in {:?}; resumable: {:?}",
        report.took, report.resumable
    );
    Ok(())
}
