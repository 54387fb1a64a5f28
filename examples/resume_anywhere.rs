//! A session that moves between machines through a session store.
//!
//! "Host A" and "host B" are two separate homes (the CLI keeps its transcripts
//! under `HOME`). Host A talks with the agent, its transcript is mirrored into
//! the store as the CLI writes it; host B has nothing on disk and resumes the
//! session from the store alone; the model there remembers what was said on A.
//!
//! ```sh
//! cargo run -p agent-sdk-examples --example resume_anywhere
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;

use agent_sdk::AgentOptionsBuilder;
use agent_sdk::prelude::*;
use agent_sdk::store::{SessionStore, SqliteSessionStore, StoreError};
use agent_sdk::testing::{Script, Turn};
use agent_sdk_examples::{init_logging, setup};

/// The store both hosts share: a SQLite file (in a real deployment on a disk
/// both hosts reach, or `PostgresSessionStore::connect(url)` for many hosts, or
/// your own `SessionStore`).
async fn open_store(path: &Path) -> Result<Arc<dyn SessionStore>, StoreError> {
    Ok(Arc::new(SqliteSessionStore::open(path).await?))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    init_logging();
    // The offline model remembers a name if the conversation it is sent mentions one.
    let model = || {
        Turn::from_fn(|request| {
            let history = serde_json::to_string(request.messages()).unwrap_or_default();
            let name = history
                .split("My name is ")
                .nth(1)
                .and_then(|rest| rest.split(['.', '"']).next());
            match (request.last_user_text().unwrap_or_default(), name) {
                (prompt, Some(name)) if prompt.contains('?') => {
                    Turn::text(format!("Your name is {name}."))
                }
                (_, Some(name)) => Turn::text(format!("Nice to meet you, {name}.")),
                (_, None) => Turn::text("I don't know your name."),
            }
        })
    };
    let setup = setup(|| Script::new().then(model()).then(model())).await?;
    println!("[{}]", setup.banner());

    let homes = Homes::new()?;
    let store = open_store(&homes.root.join("sessions.db")).await?;
    // Both hosts run the agent in the same project directory, so the store key matches.
    let project = homes.root.join("project");
    std::fs::create_dir_all(&project)?;

    // Host A: a turn, mirrored into the store.
    let on_a = host(setup.options.clone(), &homes.a, &project).session_store(store.clone());
    let client = Client::connect(on_a.build()?).await?;
    let session_id = say(&client, "host A", "Hello! My name is Ferris.").await?;
    client.disconnect().await?;

    // Host B: an empty home; the session comes from the store.
    let on_b = host(setup.options, &homes.b, &project)
        .session_store(store.clone())
        .resume(&session_id);
    let client = Client::connect(on_b.build()?).await?;
    say(&client, "host B", "Do you remember my name?").await?;
    client.disconnect().await?;
    Ok(())
}

/// Options for one host: its own home, the shared project directory.
fn host(options: AgentOptionsBuilder, home: &Path, project: &Path) -> AgentOptionsBuilder {
    options
        .env("HOME", home.display().to_string())
        .env(
            "CLAUDE_CONFIG_DIR",
            home.join(".claude").display().to_string(),
        )
        .cwd(project)
        .max_turns(1)
}

/// Sends a prompt, prints the answer; returns the session id.
async fn say(client: &Client, host: &str, prompt: &str) -> agent_sdk::Result<String> {
    println!("[{host}] you: {prompt}");
    client.query(prompt).await?;
    let mut session_id = String::new();
    let mut messages = client.receive_response();
    while let Some(message) = messages.next().await {
        match message? {
            Message::Assistant(reply) => println!("[{host}] agent: {}", reply.text()),
            Message::Result(result) => session_id = result.session_id,
            _ => {}
        }
    }
    Ok(session_id)
}

/// Two empty homes in a scratch directory, removed at the end.
struct Homes {
    root: PathBuf,
    a: PathBuf,
    b: PathBuf,
}

impl Homes {
    fn new() -> std::io::Result<Homes> {
        let root = std::env::temp_dir().join(format!("resume-anywhere-{}", std::process::id()));
        let (a, b) = (root.join("host-a"), root.join("host-b"));
        std::fs::create_dir_all(&a)?;
        std::fs::create_dir_all(&b)?;
        Ok(Homes { root, a, b })
    }
}

impl Drop for Homes {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}
