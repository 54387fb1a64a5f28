//! One live CLI process of a session: connected with its death watched, and
//! resumed by its CLI session id when the conversation must survive a restart.

use tokio::sync::watch;

use super::status::Conversation;
use crate::client::Client;
use crate::error::Result;
use crate::handler::BoxFuture;
use crate::options::AgentOptions;
use crate::transport::{ChildProcess, Connection, ExitReport, SubprocessTransport, Transport};

/// Is a session store configured in these options?
///
/// The one place the supervisor decides it. With a store, a resume works on any
/// host (after a host restart too); without one it works from the CLI's local
/// transcript on this host only.
pub(super) fn session_store_configured(options: &AgentOptions) -> bool {
    options.session_store.is_some()
}

/// Can a new CLI resume the conversation of the one before it?
fn can_resume(options: &AgentOptions) -> bool {
    // The CLI's local transcript holds it unless persistence is switched off.
    let persisted = !options
        .extra_args
        .iter()
        .any(|(flag, _)| flag == "no-session-persistence");
    session_store_configured(options) || persisted
}

/// A connected CLI, the process id it runs as, and a signal of its exit.
pub(super) struct LiveCli {
    pub(super) client: Client,
    pub(super) pid: Option<u32>,
    exit: watch::Receiver<Option<ExitReport>>,
}

impl LiveCli {
    /// Starts a CLI bound to this process's life and performs the handshake.
    pub(super) async fn connect(options: &AgentOptions) -> Result<LiveCli> {
        let transport = SubprocessTransport::new(options)?.bound_to_parent(true);
        let connection = Box::new(transport).connect().await?;
        let pid = connection.process.id();
        let (exit_tx, exit) = watch::channel(None);
        let mut watched = Connection::new(
            connection.reader,
            connection.writer,
            Box::new(Watched {
                inner: connection.process,
                exit: exit_tx,
            }),
        );
        // The same reader: the core may still read the pipe on its own threads.
        watched.stdout_pipe = connection.stdout_pipe;
        let client = Client::connect_with_transport(options.clone(), Ready(watched)).await?;
        Ok(LiveCli { client, pid, exit })
    }

    /// Starts a CLI that resumes `cli_session_id` when possible, else a fresh one.
    pub(super) async fn connect_resuming(
        options: &AgentOptions,
        cli_session_id: Option<&str>,
    ) -> Result<(LiveCli, Conversation)> {
        if let Some(id) = cli_session_id
            && can_resume(options)
        {
            let mut resuming = options.clone();
            resuming.resume = Some(id.to_owned());
            resuming.session_id = None;
            resuming.continue_conversation = false;
            resuming.fork_session = false;
            resuming.resume_session_at = None;
            resuming.resume_drops_turn = None;
            match LiveCli::connect(&resuming).await {
                Ok(live) => return Ok((live, Conversation::Resumed)),
                Err(err) => {
                    tracing::warn!(%err, session = id, "could not resume the conversation; starting fresh")
                }
            }
        }
        Ok((LiveCli::connect(options).await?, Conversation::StartedFresh))
    }

    /// How the process ended, once it has.
    pub(super) fn exit_report(&self) -> Option<ExitReport> {
        self.exit.borrow().clone()
    }

    /// Resolves when the process has exited.
    pub(super) async fn exited(&self) -> ExitReport {
        let mut exit = self.exit.clone();
        match exit.wait_for(Option::is_some).await {
            Ok(report) => report.clone().unwrap_or_default(),
            // The watcher went away with the process handle: the process is gone.
            Err(_) => ExitReport::default(),
        }
    }
}

/// A transport whose connection is already made.
struct Ready(Connection);

impl Transport for Ready {
    fn connect(self: Box<Self>) -> BoxFuture<'static, Result<Connection>> {
        Box::pin(async move { Ok(self.0) })
    }
}

/// The CLI process, reporting its exit to a watch as well as to the protocol core.
struct Watched {
    inner: Box<dyn ChildProcess>,
    exit: watch::Sender<Option<ExitReport>>,
}

impl ChildProcess for Watched {
    fn wait(&mut self) -> BoxFuture<'_, ExitReport> {
        Box::pin(async move {
            let report = self.inner.wait().await;
            self.exit.send_replace(Some(report.clone()));
            report
        })
    }

    fn terminate(&mut self) -> BoxFuture<'_, ExitReport> {
        Box::pin(async move {
            let report = self.inner.terminate().await;
            self.exit.send_replace(Some(report.clone()));
            report
        })
    }

    fn id(&self) -> Option<u32> {
        self.inner.id()
    }
}
