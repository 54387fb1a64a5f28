//! The subprocess transport: runs the `claude` executable with explicit argv (never a shell).

use std::collections::VecDeque;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::process::{Child, Command};

use super::command::{CommandSpec, build_command};
use super::framing::{Framed, LineFramer};
use super::spawner::spawn_bound;
use super::stop::{Stopper, exit_parts};
use super::{ChildProcess, Connection, ExitReport, Transport};
use crate::error::{Error, Result};
use crate::handler::BoxFuture;
use crate::options::{AgentOptions, StderrCallback};

/// How long the CLI gets to exit on its own after stdin closes, and after SIGTERM.
const EXIT_GRACE: Duration = Duration::from_secs(5);
/// How much of stderr is kept for error messages.
const STDERR_TAIL_LINES: usize = 20;
/// Lines waiting for a slow `stderr` callback; past this, lines are dropped (and counted).
const STDERR_CALLBACK_QUEUE: usize = 1024;

/// Runs the `claude` CLI as a child process.
///
/// The CLI's stderr is always piped, never inherited: each line goes to the
/// [`stderr`](crate::AgentOptionsBuilder::stderr) callback if there is one, else to
/// `tracing` at debug level (target `agent_sdk::cli_stderr`), and the last lines are
/// kept for [`ExitReport::stderr_tail`] and so for
/// [`Error::ProcessExited`](crate::Error::ProcessExited).
///
/// ```no_run
/// use agent_sdk::{AgentOptions, transport::SubprocessTransport};
/// let transport = SubprocessTransport::new(&AgentOptions::builder().build()?)?;
/// # Ok::<(), agent_sdk::Error>(())
/// ```
pub struct SubprocessTransport {
    spec: CommandSpec,
    stderr_callback: Option<StderrCallback>,
    max_line: usize,
    /// How the child is spawned: a plain spawn, or [`spawn_bound`] once
    /// `bound_to_parent` chose it (so only a program that binds links the spawner).
    spawn: fn(Command) -> std::io::Result<Child>,
}

/// A plain spawn (the child is stopped when its handle is dropped).
fn spawn_plain(mut command: Command) -> std::io::Result<Child> {
    command.spawn()
}

impl std::fmt::Debug for SubprocessTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubprocessTransport")
            .field("program", &self.spec.program)
            .field("args", &self.spec.args)
            .finish_non_exhaustive()
    }
}

impl SubprocessTransport {
    /// Finds the CLI and builds its command line from `options`.
    pub fn new(options: &AgentOptions) -> Result<Self> {
        Ok(Self {
            spec: build_command(options)?,
            stderr_callback: options.stderr.clone(),
            max_line: options.max_buffer_size(),
            spawn: spawn_plain,
        })
    }

    /// Ties the CLI's life to this process: if this process dies, even by SIGKILL,
    /// the CLI is killed too (Linux: `PR_SET_PDEATHSIG`, armed from a spawner thread
    /// that lives as long as the process). Elsewhere it changes nothing: the CLI is
    /// still stopped when its handle is dropped. The supervisor sets it.
    ///
    /// ```no_run
    /// use agent_sdk::{AgentOptions, transport::SubprocessTransport};
    /// let transport = SubprocessTransport::new(&AgentOptions::default())?.bound_to_parent(true);
    /// # Ok::<(), agent_sdk::Error>(())
    /// ```
    pub fn bound_to_parent(mut self, bound: bool) -> Self {
        self.spawn = if bound { spawn_bound } else { spawn_plain };
        self
    }

    fn spawn(self) -> Result<Connection> {
        let spec = self.spec;
        if let Some(dir) = &spec.cwd
            && !dir.is_dir()
        {
            return Err(Error::WorkingDirectoryNotFound(dir.clone()));
        }
        let mut command = Command::new(&spec.program);
        command
            .args(&spec.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for key in &spec.env_remove {
            command.env_remove(key);
        }
        command.envs(spec.env.iter().map(|(k, v)| (k, v)));
        if let Some(dir) = &spec.cwd {
            command.current_dir(dir);
        }
        if let Some(run_as) = &spec.run_as {
            run_as_user(&mut command, run_as)?;
        }
        tracing::debug!(program = %spec.program.display(), args = ?spec.args, "starting the Claude Code CLI");
        let spawned = (self.spawn)(command);
        let mut child = spawned.map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                Error::CliNotFound {
                    searched: vec![spec.program.clone()],
                }
            } else {
                Error::Spawn {
                    path: spec.program.clone(),
                    source,
                }
            }
        })?;
        let stdin = child.stdin.take().expect("stdin is piped");
        let stdout = child.stdout.take().expect("stdout is piped");
        enlarge_pipe(&stdout);
        let stderr = child.stderr.take().expect("stderr is piped");
        let tail = Arc::new(Mutex::new(VecDeque::new()));
        let stderr_task = crate::task::spawn(pump_stderr(
            stderr,
            tail.clone(),
            self.stderr_callback,
            self.max_line,
        ));
        let (reader, pipe) = super::stdout_pipe::split(stdout);
        let mut connection = Connection::new(
            reader,
            Box::new(stdin),
            Box::new(CliProcess {
                stopper: Stopper::new(&child),
                child,
                tail,
                stderr_task: Some(stderr_task),
            }),
        );
        connection.stdout_pipe = Some(pipe);
        Ok(connection)
    }
}

impl Transport for SubprocessTransport {
    fn connect(self: Box<Self>) -> BoxFuture<'static, Result<Connection>> {
        Box::pin(async move { self.spawn() })
    }
}

/// Switches the child to `run_as` before `exec`. Registered before any other
/// pre-exec step: a credential change clears a parent-death signal armed earlier.
#[cfg(unix)]
#[allow(clippy::unnecessary_cast)] // gid_t is u32 on the platforms we know; not by definition.
fn run_as_user(command: &mut Command, run_as: &super::os_user::RunAs) -> Result<()> {
    let (uid, gid) = (run_as.uid, run_as.gid);
    let groups: Vec<libc::gid_t> = run_as.groups.iter().map(|&g| g as libc::gid_t).collect();
    // SAFETY: the closure makes only async-signal-safe system calls and
    // allocates nothing (`groups` is built above, before the fork).
    unsafe {
        command.pre_exec(move || super::os_user::switch_in_child(uid, gid, &groups));
    }
    Ok(())
}

/// Users are not switched here: the lookup has refused already.
#[cfg(not(unix))]
fn run_as_user(_command: &mut Command, _run_as: &super::os_user::RunAs) -> Result<()> {
    Err(Error::UnsupportedOnPlatform { option: "user" })
}

/// A bigger pipe buffer for the CLI's stdout: the reader wakes once per megabyte
/// instead of once per 64 KiB when the CLI writes fast. Best effort: the kernel may
/// refuse (`/proc/sys/fs/pipe-max-size`), and then the default stays.
#[cfg(target_os = "linux")]
fn enlarge_pipe(stdout: &tokio::process::ChildStdout) {
    use std::os::fd::AsRawFd;
    const PIPE_SIZE: libc::c_int = 1 << 20;
    // SAFETY: F_SETPIPE_SZ on a pipe fd we own; it changes only the pipe's capacity.
    let result = unsafe { libc::fcntl(stdout.as_raw_fd(), libc::F_SETPIPE_SZ, PIPE_SIZE) };
    if result < 0 {
        tracing::debug!(err = %std::io::Error::last_os_error(), "could not enlarge the stdout pipe");
    }
}

/// Only Linux can resize a pipe (`F_SETPIPE_SZ`); elsewhere the default buffer stays.
#[cfg(not(target_os = "linux"))]
fn enlarge_pipe(_stdout: &tokio::process::ChildStdout) {}

/// Reads stderr line by line: keeps a tail, hands each line to the callback.
async fn pump_stderr(
    mut stderr: tokio::process::ChildStderr,
    tail: Arc<Mutex<VecDeque<String>>>,
    callback: Option<StderrCallback>,
    max_line: usize,
) {
    let mut framer = LineFramer::new(max_line);
    // Read into spare capacity: a zeroed buffer would be resident in every
    // session, and most CLIs write nothing to stderr.
    let mut buf = Vec::with_capacity(8192);
    // The callback's thread starts with the first line: a CLI that writes
    // nothing to stderr (the usual case) costs no thread, stack or malloc arena.
    let mut callback = callback.map(CallbackThread::NotStarted);
    let mut dropped = 0u64;
    let mut deliver = |line: &[u8]| {
        let text = String::from_utf8_lossy(line);
        let text = text.trim_end();
        if text.is_empty() {
            return;
        }
        match callback.as_mut().map(CallbackThread::start) {
            Some(lines) => {
                if lines.try_send(text.to_owned()).is_err() {
                    dropped += 1;
                    if dropped.is_power_of_two() {
                        tracing::warn!(
                            dropped,
                            "the stderr callback is behind; dropping CLI stderr lines"
                        );
                    }
                }
            }
            None => tracing::debug!(target: "agent_sdk::cli_stderr", "{text}"),
        }
        let mut tail = tail.lock().unwrap_or_else(|e| e.into_inner());
        if tail.len() == STDERR_TAIL_LINES {
            tail.pop_front();
        }
        tail.push_back(text.chars().take(2000).collect());
    };
    loop {
        buf.clear();
        match stderr.read_buf(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(_) => framer.push(&buf, |item| match item {
                Framed::Line(line) => deliver(line),
                Framed::TooLong { .. } => deliver(b"[stderr line over the buffer limit dropped]"),
            }),
        }
    }
    if let Some(rest) = framer.finish() {
        deliver(&rest);
    }
    // Closes the callback thread's queue: it ends after the lines it has.
    // The callback has the last lines before the exit is reported (the exit
    // report waits for this task at most a second, however slow the callback).
    if let Some(CallbackThread::Started(lines, done)) = callback {
        drop(lines);
        let _ = done.await;
    }
}

/// The user's `stderr` callback, before and after its thread started.
enum CallbackThread {
    NotStarted(StderrCallback),
    /// The thread's queue, and what tells that it took the last line.
    Started(
        std::sync::mpsc::SyncSender<String>,
        tokio::sync::oneshot::Receiver<()>,
    ),
}

impl CallbackThread {
    /// The thread's queue, starting the thread on first use.
    fn start(&mut self) -> &std::sync::mpsc::SyncSender<String> {
        if let CallbackThread::NotStarted(callback) = self {
            let (lines, done) = callback_thread(callback.clone());
            *self = CallbackThread::Started(lines, done);
        }
        match self {
            CallbackThread::Started(lines, _) => lines,
            CallbackThread::NotStarted(_) => unreachable!("started above"),
        }
    }
}

/// The user's `stderr` callback runs on a thread of its own: the pump runs on the
/// protocol core's thread, which user code must never hold up.
/// Returns the thread's queue and what tells that it took the last line.
fn callback_thread(
    callback: StderrCallback,
) -> (
    std::sync::mpsc::SyncSender<String>,
    tokio::sync::oneshot::Receiver<()>,
) {
    let (lines, queue) = std::sync::mpsc::sync_channel::<String>(STDERR_CALLBACK_QUEUE);
    let (done_tx, done) = tokio::sync::oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name("agent-sdk-stderr".into())
        .spawn(move || {
            // Ends when the pump drops its sender (the CLI closed stderr).
            for line in queue {
                // A panicking callback must not take the transport down with it.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| callback(&line)));
            }
            let _ = done_tx.send(());
        });
    if let Err(err) = spawned {
        tracing::warn!(%err, "could not start the stderr callback thread; its lines are dropped");
    }
    (lines, done)
}

struct CliProcess {
    child: Child,
    stopper: Stopper,
    tail: Arc<Mutex<VecDeque<String>>>,
    stderr_task: Option<tokio::task::JoinHandle<()>>,
}

impl CliProcess {
    async fn report(&mut self, status: std::io::Result<std::process::ExitStatus>) -> ExitReport {
        // Let the stderr reader drain what the process wrote before exiting.
        if let Some(task) = self.stderr_task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(1), task).await;
        }
        let stderr_tail = self
            .tail
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join("\n");
        let (code, signal) = match status {
            Ok(status) => exit_parts(&status),
            Err(_) => (None, None),
        };
        ExitReport {
            code,
            signal,
            stderr_tail,
        }
    }
}

impl ChildProcess for CliProcess {
    fn id(&self) -> Option<u32> {
        self.child.id()
    }

    fn wait(&mut self) -> BoxFuture<'_, ExitReport> {
        Box::pin(async move {
            let status = self.child.wait().await;
            self.report(status).await
        })
    }

    fn terminate(&mut self) -> BoxFuture<'_, ExitReport> {
        Box::pin(async move {
            if let Ok(status) = tokio::time::timeout(EXIT_GRACE, self.child.wait()).await {
                return self.report(status).await;
            }
            if self.stopper.ask(&self.child) {
                tracing::debug!("the CLI did not exit after stdin closed; sent SIGTERM");
                if let Ok(status) = tokio::time::timeout(EXIT_GRACE, self.child.wait()).await {
                    return self.report(status).await;
                }
                tracing::warn!("the CLI ignored SIGTERM; ending it by force");
            } else {
                tracing::debug!("the CLI did not exit after stdin closed; ending it by force");
            }
            self.stopper.force(&mut self.child);
            let status = self.child.wait().await;
            self.report(status).await
        })
    }
}

#[cfg(all(test, unix))]
mod tests;
