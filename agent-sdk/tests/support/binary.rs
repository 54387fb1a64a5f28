//! The `agent-server` binary as a child process on a free loopback port.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use super::http::ApiClient;

/// A running `agent-server`, with a client of its API (`Deref`).
pub struct BinaryServer {
    /// The process (killed when dropped).
    pub child: Child,
    /// The client.
    pub api: ApiClient,
}

impl std::ops::Deref for BinaryServer {
    type Target = ApiClient;

    fn deref(&self) -> &ApiClient {
        &self.api
    }
}

impl BinaryServer {
    /// Starts the binary in `dir` on the pinned CLI and the offline model (no
    /// API key, no token), with what `configure` adds (flags, environment);
    /// returns once it says where it listens.
    pub async fn start(dir: &std::path::Path, configure: impl FnOnce(&mut Command)) -> Self {
        let cli = agent_sdk::testing::ensure_cli().await.expect("the CLI");
        let mut command = Command::new(env!("CARGO_BIN_EXE_agent-server"));
        command
            .args(["--listen", "127.0.0.1:0", "--cli"])
            .arg(cli)
            .env_remove("ANTHROPIC_API_KEY")
            .env_remove("AGENT_SERVER_TOKEN")
            .current_dir(dir)
            .stdout(Stdio::piped())
            .kill_on_drop(true);
        configure(&mut command);
        let mut child = command.spawn().expect("the binary starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .expect("the server says where it listens")
            .unwrap()
            .expect("a line");
        let base = line
            .rsplit_once(' ')
            .map(|(_, url)| url.to_owned())
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        BinaryServer {
            child,
            api: ApiClient::new(base),
        }
    }

    /// Starts the binary with its sessions' CLIs on `env`'s fake Messages
    /// API (its key, `HOME` and working directory) instead of the offline model.
    pub async fn start_on(
        dir: &std::path::Path,
        env: &agent_sdk::testing::TestEnv,
        configure: impl FnOnce(&mut Command),
    ) -> Self {
        Self::start(dir, |command| {
            command.envs(env.cli_env()).arg("--workdir").arg(env.cwd());
            configure(command);
        })
        .await
    }

    /// Sends SIGTERM and returns at once: the server drains meanwhile.
    pub fn signal_terminate(&self) {
        let pid = self.child.id().expect("running") as i32;
        // SAFETY: sending a signal to our own child's pid.
        unsafe { libc::kill(pid, libc::SIGTERM) };
    }

    /// The exit status, once the process ends (within 60 s).
    pub async fn exit_status(mut self) -> std::process::ExitStatus {
        tokio::time::timeout(Duration::from_secs(60), self.child.wait())
            .await
            .expect("the server exits after its drain")
            .unwrap()
    }

    /// SIGTERM, then the exit status.
    pub async fn terminate(self) -> std::process::ExitStatus {
        self.signal_terminate();
        self.exit_status().await
    }
}
