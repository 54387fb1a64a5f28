//! One-shot query: send a prompt, print the answer as it streams in.
//!
//! ```sh
//! cargo run -p agent-sdk-examples --example quickstart
//! ```

use agent_sdk::prelude::*;
use agent_sdk::testing::{Script, Turn};
use agent_sdk_examples::{init_logging, setup};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    init_logging();
    let setup = setup(|| {
        Script::new().then(Turn::from_fn(|request| {
            let prompt = request.last_user_text().unwrap_or_default();
            Turn::text(format!("You asked: \"{prompt}\". I am the offline model, so here is a haiku instead:\nPipes hum with JSON / a child process listens close / Rust answers in kind."))
        }))
    })
    .await?;
    println!("[{}]", setup.banner());

    let options = setup.options.max_turns(1).build()?;
    let mut messages = query("In one sentence, what is the Rust borrow checker?", options);
    while let Some(message) = messages.next().await {
        match message? {
            Message::Assistant(reply) => println!("{}", reply.text()),
            Message::Result(result) => {
                println!(
                    "\n[{} in {} ms, {} turn(s)]",
                    result.subtype, result.duration_ms, result.num_turns
                );
            }
            _ => {}
        }
    }
    Ok(())
}
