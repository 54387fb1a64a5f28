//! Transports: how the SDK reaches the CLI.
//!
//! A [`Transport`] hands the protocol core two byte pipes (the CLI's stdout and
//! stdin) and a [`ChildProcess`] that reports how the other side ended and can
//! stop it. [`SubprocessTransport`] runs the real `claude` executable; tests and
//! embedders can supply their own (for example over in-memory pipes).

pub(crate) mod command;
pub(crate) mod framing;
mod os_user;
mod spawner;
mod stdout_pipe;
mod stop;
mod subprocess;

use tokio::io::{AsyncRead, AsyncWrite};

pub use subprocess::SubprocessTransport;

use crate::error::Result;
use crate::handler::BoxFuture;

/// Something that can start a CLI session and hand over its pipes.
///
/// ```
/// use agent_sdk::BoxFuture;
/// use agent_sdk::transport::{Connection, Transport};
///
/// struct MyTransport;
///
/// impl Transport for MyTransport {
///     fn connect(self: Box<Self>) -> BoxFuture<'static, agent_sdk::Result<Connection>> {
///         Box::pin(async { Err(agent_sdk::Error::NotConnected) })
///     }
/// }
/// ```
pub trait Transport: Send + 'static {
    /// Starts the other side and returns its pipes.
    fn connect(self: Box<Self>) -> BoxFuture<'static, Result<Connection>>;
}

/// The pipes and process handle of a started transport.
#[non_exhaustive]
pub struct Connection {
    /// What the CLI writes (its stdout): newline-delimited JSON.
    pub reader: Box<dyn AsyncRead + Send + Unpin>,
    /// What the CLI reads (its stdin).
    pub writer: Box<dyn AsyncWrite + Send + Unpin>,
    /// The process behind the pipes.
    pub process: Box<dyn ChildProcess>,
    /// [`SubprocessTransport`]'s stdout pipe, which the protocol core reads
    /// with blocking reads on threads of its own when it can (then `reader`
    /// is at its end).
    pub(crate) stdout_pipe: Option<stdout_pipe::StdoutPipe>,
}

impl Connection {
    /// Bundles the parts of a connection.
    ///
    /// ```
    /// # use agent_sdk::BoxFuture;
    /// # use agent_sdk::transport::{Connection, ChildProcess, ExitReport};
    /// struct Gone;
    /// impl ChildProcess for Gone {
    ///     fn wait(&mut self) -> BoxFuture<'_, ExitReport> { Box::pin(async { ExitReport::default() }) }
    ///     fn terminate(&mut self) -> BoxFuture<'_, ExitReport> { Box::pin(async { ExitReport::default() }) }
    /// }
    /// let (a, _b) = tokio::io::duplex(64);
    /// let connection = Connection::new(Box::new(tokio::io::empty()), Box::new(a), Box::new(Gone));
    /// # let _ = connection;
    /// ```
    pub fn new(
        reader: Box<dyn AsyncRead + Send + Unpin>,
        writer: Box<dyn AsyncWrite + Send + Unpin>,
        process: Box<dyn ChildProcess>,
    ) -> Self {
        Self {
            reader,
            writer,
            process,
            stdout_pipe: None,
        }
    }

    /// Takes the CLI's stdout as a pipe to read with blocking reads, when the
    /// transport gave one, `reader` is still its own (not wrapped or replaced)
    /// and nobody has read it yet (Unix only).
    pub(crate) fn take_stdout_pipe(&mut self) -> Option<std::fs::File> {
        self.stdout_pipe.take()?.into_file(&*self.reader)
    }
}

/// The process on the other side of a [`Connection`].
pub trait ChildProcess: Send + 'static {
    /// Resolves when the process has exited.
    fn wait(&mut self) -> BoxFuture<'_, ExitReport>;
    /// Stops the process: a grace period for it to exit on its own (stdin is
    /// already closed), then SIGTERM, then SIGKILL. Resolves once it is gone.
    ///
    /// [`SubprocessTransport`] does exactly that on Unix; on Windows, which has no
    /// SIGTERM for a console process, it ends the CLI and every process the CLI
    /// started (one Job Object) after the grace period.
    fn terminate(&mut self) -> BoxFuture<'_, ExitReport>;
    /// The operating system's id of the process while it runs, if there is one
    /// (health checks and process-table checks use it). `None` by default.
    ///
    /// ```
    /// # use agent_sdk::BoxFuture;
    /// # use agent_sdk::transport::{ChildProcess, ExitReport};
    /// struct Remote;
    /// impl ChildProcess for Remote {
    ///     fn wait(&mut self) -> BoxFuture<'_, ExitReport> { Box::pin(async { ExitReport::default() }) }
    ///     fn terminate(&mut self) -> BoxFuture<'_, ExitReport> { Box::pin(async { ExitReport::default() }) }
    /// }
    /// assert_eq!(Remote.id(), None); // no local process to name
    /// ```
    fn id(&self) -> Option<u32> {
        None
    }
}

/// How a CLI process ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExitReport {
    /// The exit code, if it exited normally.
    pub code: Option<i32>,
    /// The signal that ended it, if any (always `None` on Windows).
    pub signal: Option<i32>,
    /// The last lines it wrote on stderr.
    pub stderr_tail: String,
}

impl ExitReport {
    /// True for exit code 0.
    ///
    /// ```
    /// assert!(!agent_sdk::transport::ExitReport::default().success());
    /// ```
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
}
