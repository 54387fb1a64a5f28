//! Interactive multi-turn chat. Type a message and press Enter; Ctrl-C
//! interrupts the answer in progress (a second Ctrl-C while idle quits);
//! an empty line or Ctrl-D quits.
//!
//! ```sh
//! cargo run -p agent-sdk-examples --example chat
//! ```

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use agent_sdk::prelude::*;
use agent_sdk::testing::{Script, Turn};
use agent_sdk_examples::{init_logging, setup};
use tokio::io::{AsyncBufReadExt, BufReader};

/// The offline model: answers each message, slowly enough that Ctrl-C can interrupt it.
fn offline_model() -> Script {
    (1..=200)
        .map(|turn| {
            Turn::from_fn(move |request| {
                let said = request.last_user_text().unwrap_or_default();
                Turn::text(format!(
                    "(offline model, turn {turn}) You said \"{said}\". I remember {} message(s) of this conversation.",
                    request.messages().len()
                ))
                .with_event_interval(Duration::from_millis(40))
            })
        })
        .collect()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    init_logging();
    let setup = setup(offline_model).await?;
    println!("[{}]", setup.banner());
    let client = Arc::new(Client::connect(setup.options.build()?).await?);
    let mut lines = BufReader::new(tokio::io::stdin()).lines();

    loop {
        print!("\nyou> ");
        std::io::stdout().flush()?;
        let Some(line) = lines.next_line().await? else {
            break;
        };
        if line.trim().is_empty() {
            break;
        }
        client.query(line).await?;

        // Ctrl-C during the answer interrupts the turn, not the program.
        let interrupter = client.clone();
        let on_ctrl_c = tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                println!("\n[interrupting]");
                let _ = interrupter.interrupt().await;
            }
        });
        print!("claude> ");
        let mut replies = client.receive_response();
        while let Some(message) = replies.next().await {
            match message? {
                Message::Assistant(reply) => {
                    print!("{}", reply.text());
                    std::io::stdout().flush()?;
                }
                Message::Result(result) if result.is_error => {
                    println!("\n[turn ended: {}]", result.subtype)
                }
                _ => {}
            }
        }
        on_ctrl_c.abort();
        println!();
    }
    client.disconnect().await?;
    Ok(())
}
