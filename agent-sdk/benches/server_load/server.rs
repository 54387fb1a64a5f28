//! The server under load: this same binary, started again as a child process
//! with `AGENT_SDK_BENCH_SERVER=<json>`, so that its resident memory is the
//! server's alone (the 1,000 SSE clients and the driver live in the parent).
//! It serves [`AgentServer::router`] on a loopback port, prints the address,
//! and exits when its stdin closes.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use agent_sdk::server::{AgentServer, ServerConfig};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Environment variable that makes this binary the server; its value is a [`Role`].
pub const ROLE_ENV: &str = "AGENT_SDK_BENCH_SERVER";

/// What the server child runs: the CLI of every session and where.
#[derive(Debug, Serialize, Deserialize)]
pub struct Role {
    pub db_url: String,
    pub cli_path: PathBuf,
    pub cli_env: BTreeMap<String, String>,
    pub cwd: PathBuf,
}

/// The child's side: serves until stdin closes.
pub fn serve(role: &str) -> ! {
    let role: Role = serde_json::from_str(role).expect("the server role is JSON");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async move {
        let db = agent_sdk::server::db::open(&role.db_url)
            .await
            .expect("the server's database");
        let config = ServerConfig::default()
            .cli_path(role.cli_path)
            .cli_env(role.cli_env)
            .default_cwd(role.cwd)
            // No session may be evicted while the bench measures it.
            .idle_timeout(Duration::from_secs(3600));
        let server = AgentServer::builder()
            .db(db)
            .config(config)
            .build()
            .await
            .expect("the server");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        println!("listening {}", listener.local_addr().expect("address"));
        tokio::spawn(async move { axum::serve(listener, server.router()).await });
        // Blocking read on a thread of its own: tokio's stdin needs a feature the SDK does not use.
        let _ = tokio::task::spawn_blocking(|| {
            let mut rest = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut rest)
        })
        .await;
    });
    // The CLIs see their stdin close and exit on their own.
    std::process::exit(0)
}

/// The parent's handle on a running server child.
pub struct ServerChild {
    child: Child,
    pub pid: u32,
    pub base: String,
}

impl ServerChild {
    pub async fn start(role: &Role) -> ServerChild {
        let mut child = Command::new(std::env::current_exe().expect("this binary"))
            .env(ROLE_ENV, serde_json::to_string(role).expect("role"))
            .env_remove(crate::fake_cli::SCENARIO_ENV)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("starting the server child");
        let pid = child.id().expect("a pid");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .await
            .expect("the server's address");
        let addr = line
            .trim()
            .strip_prefix("listening ")
            .unwrap_or_else(|| panic!("the server child printed {line:?}"));
        ServerChild {
            pid,
            base: format!("http://{addr}"),
            child,
        }
    }

    /// Closes its stdin and waits (killing it after 10 s).
    pub async fn stop(mut self) {
        drop(self.child.stdin.take());
        if tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}
