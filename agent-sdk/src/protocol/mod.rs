//! The control protocol core: one [`Session`] per CLI process.
//!
//! Three tasks serve a session, on a thread of the session's own apart from
//! every handler (see [`core`]), and data flows one way through each:
//! - the **writer** owns the CLI's stdin and writes queued lines in order
//!   (a bounded queue: [`outbox`]);
//! - the **router** owns stdout: it frames lines, completes our pending
//!   requests, starts a task for every request the CLI sends us (and cancels
//!   them: `control_cancel_request`, and MCP's `notifications/cancelled` for the
//!   JSON-RPC ids of this session), and forwards conversation messages to the
//!   reader of the session (a bounded queue: [`inbox`]);
//! - the **supervisor** owns the process: it reports how it exited and stops it
//!   (grace, SIGTERM, SIGKILL) when the session shuts down or is dropped.
//!
//! Nothing waits for "its" answer inside the router: the CLI sends
//! `mcp_message` requests before it answers our `initialize`.

mod core;
pub(crate) mod inbox;
mod incoming;
mod leader;
mod mcp_link;
mod outbox;
mod router;
mod servers;
mod trace;
mod wire;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::sync::{Notify, oneshot, watch};
use tracing::Instrument;

use crate::error::{Error, Result};
use crate::message::Message;
use crate::options::AgentOptions;
use crate::transport::{ChildProcess, ExitReport, Transport};

/// How the session decides when to close the CLI's stdin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InputMode {
    /// A `Client`: stdin stays open until `disconnect`.
    Interactive,
    /// A one-shot `query()`: close stdin once the run is over (spec 1.7).
    OneShot,
}

/// What the CLI may call back into, taken from the options.
pub(crate) struct Handlers {
    pub hooks: crate::hooks::HookRegistry,
    pub permission: Option<crate::permission::DynPermissionHandler>,
    pub servers: servers::ServerTable,
    pub elicitation: Option<crate::elicitation::DynElicitationHandler>,
    pub user_dialog: Option<crate::dialog::DynUserDialogHandler>,
}

/// Why the session can no longer send requests.
#[derive(Clone)]
enum Closed {
    Disconnected,
    Exited(ExitReport),
}

impl Closed {
    fn to_error(&self) -> Error {
        match self {
            Closed::Disconnected => Error::NotConnected,
            Closed::Exited(report) => process_exited(report),
        }
    }
}

pub(crate) fn process_exited(report: &ExitReport) -> Error {
    Error::ProcessExited {
        exit_code: report.code,
        signal: report.signal,
        stderr_tail: report.stderr_tail.clone(),
    }
}

type ResponseSender = oneshot::Sender<Result<Value>>;

#[derive(Default)]
struct PendingTable {
    closed: Option<Closed>,
    waiting: HashMap<String, (String, ResponseSender)>,
}

/// Where a one-shot run stands, for the stdin-closing rule of spec 1.7.
#[derive(Default)]
struct RunState {
    close_requested: bool,
    input_closed: bool,
    result_seen: bool,
    last_state: Option<String>,
    /// Background agent/workflow tasks still running: the run is not over while any is.
    tracked_tasks: std::collections::HashSet<String>,
}

impl RunState {
    fn run_ended(&self) -> bool {
        self.result_seen
            && self.tracked_tasks.is_empty()
            && self.last_state.as_deref().is_none_or(|s| s == "idle")
    }
}

/// State shared by the session handle, the router and the request handlers.
struct Shared {
    writer: outbox::Outbox,
    /// Where the handlers of the CLI's requests run (see [`core`]).
    handler_runtime: tokio::runtime::Handle,
    /// Wakes a router that holds back (the reader is behind) when a request
    /// of ours starts waiting for its answer, or the session shuts down.
    router_wake: Notify,
    pending: Mutex<PendingTable>,
    /// Requests from the CLI being handled, by request id. Whoever removes an
    /// entry writes the request's one answer (or, for a withdrawn request, none).
    inflight: Mutex<HashMap<String, incoming::InFlight>>,
    handlers: Handlers,
    next_request: AtomicU64,
    request_salt: u32,
    run: Mutex<RunState>,
    shutdown: Notify,
    disconnecting: AtomicBool,
    /// The session id of the latest `system/init`, for tools' `ToolContext`.
    session_id: Mutex<Option<String>>,
    /// A prompt was sent or the model is answering, and no `result` came yet:
    /// the CLI closing its output now ends the turn with an error.
    turn_open: AtomicBool,
    /// The session's spans: the session, the open turn, the requests' parents.
    trace: trace::SessionTrace,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these locks leaves plain data behind: keep going.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    /// A fresh id for a control request we send.
    fn next_request_id(&self) -> String {
        let n = self.next_request.fetch_add(1, Ordering::Relaxed);
        format!(
            "req_{n}_{:08x}",
            self.request_salt ^ (n as u32).wrapping_mul(0x9E37_79B9)
        )
    }

    /// Writes a line once the write queue has room for it (see [`outbox`]).
    async fn send_line(&self, line: Vec<u8>) -> Result<()> {
        trace_line(&line);
        self.writer.send(line).await
    }

    /// Writes one of the router's own answers at once, past the write queue's
    /// bound: the router must never wait on the CLI's stdin mid-read (see
    /// [`outbox`]; it waits before its next read instead).
    fn send_router_answer(&self, line: Vec<u8>) -> Result<()> {
        trace_line(&line);
        self.writer.send_urgent(line)
    }

    fn close_input(&self) {
        let mut run = lock(&self.run);
        if !run.input_closed {
            run.input_closed = true;
            tracing::debug!("closing the CLI's stdin");
            self.writer.close();
        }
    }

    /// Fails every pending request and refuses new ones.
    fn close_pending(&self, closed: Closed) {
        let waiting = {
            let mut table = lock(&self.pending);
            table.closed.get_or_insert(closed.clone());
            std::mem::take(&mut table.waiting)
        };
        for (_, (_, sender)) in waiting {
            let _ = sender.send(Err(closed.to_error()));
        }
    }

    fn abort_inflight(&self) {
        for (_, request) in lock(&self.inflight).drain() {
            request.abort(&self.handler_runtime);
        }
    }
}

fn trace_line(line: &[u8]) {
    if tracing::enabled!(tracing::Level::DEBUG) {
        tracing::debug!(frame = %String::from_utf8_lossy(line.trim_ascii_end()), "sdk -> cli");
    }
}

/// One running CLI process and the protocol spoken with it.
pub(crate) struct Session {
    shared: Arc<Shared>,
    messages: tokio::sync::Mutex<inbox::Inbox>,
    exit: watch::Receiver<Option<ExitReport>>,
    /// Becomes true when the router has delivered its last message.
    router_done: watch::Receiver<bool>,
    control_timeout: Duration,
    server_info: Value,
    mode: InputMode,
    /// Mark every user frame `client_composed` (no `@path` expansion, no slash commands).
    verbatim_prompts: bool,
}

impl Session {
    /// Starts the core thread, the transport and the three tasks on it, and
    /// performs the `initialize` handshake.
    pub(crate) async fn start(
        options: &AgentOptions,
        transport: Box<dyn Transport>,
        mode: InputMode,
    ) -> Result<Session> {
        let (writer, write_queue) = outbox::channel();
        let (mut messages_tx, messages_rx) = inbox::channel();
        let (exit_tx, exit_rx) = watch::channel(None);
        let (router_done_tx, router_done) = watch::channel(false);

        let handlers = Handlers {
            hooks: options.hooks.clone(),
            permission: options.can_use_tool.clone(),
            servers: servers::ServerTable::new(
                options
                    .sdk_mcp_servers()
                    .map(|(name, server)| (name.to_owned(), server.clone()))
                    .collect(),
            ),
            elicitation: options.on_elicitation.clone(),
            user_dialog: options.on_user_dialog.clone(),
        };
        let shared = Arc::new(Shared {
            writer,
            handler_runtime: core::handler_runtime(),
            router_wake: Notify::new(),
            pending: Mutex::default(),
            inflight: Mutex::default(),
            handlers,
            next_request: AtomicU64::new(1),
            request_salt: random_salt(),
            run: Mutex::default(),
            shutdown: Notify::new(),
            disconnecting: AtomicBool::new(false),
            session_id: Mutex::default(),
            turn_open: AtomicBool::new(false),
            trace: trace::SessionTrace::start(options.model.as_deref()),
        });
        // The servers announce tool-list changes to the sessions serving them.
        for server in shared.handlers.servers.values() {
            server.subscribe(shared.link());
        }

        // With a session store, a mirror (on the user's runtime: it calls the
        // store) sits between the router and the reader, inside the same budget.
        let mirror = crate::store::wiring::mirror(options, &mut messages_tx);
        let config = router::RouterConfig {
            max_line: options.max_buffer_size(),
            mode,
        };
        let core_shared = shared.clone();
        let core_exit = exit_rx.clone();
        core::spawn_core(move || async move {
            // The transport's tasks and pipes belong to the core's runtime.
            let mut connection = transport.connect().await?;
            let stdout = match connection.take_stdout_pipe() {
                Some(pipe) => router::Stdout::Pipe(pipe),
                None => router::Stdout::Async(connection.reader),
            };
            let writer = crate::task::spawn(outbox::write_loop(connection.writer, write_queue));
            let supervisor =
                crate::task::spawn(supervise(connection.process, core_shared.clone(), exit_tx));
            let route = router::route(stdout, core_shared, messages_tx, core_exit, config);
            let router = crate::task::spawn(async move {
                route.await;
                mirror.finished().await;
                let _ = router_done_tx.send(true);
            });
            let core: crate::handler::BoxFuture<'static, ()> = Box::pin(async move {
                let _ = tokio::join!(writer, supervisor, router);
            });
            Ok(((), core))
        })
        .await?;

        let mut session = Session {
            shared,
            messages: tokio::sync::Mutex::new(messages_rx),
            exit: exit_rx,
            router_done,
            control_timeout: options.control_timeout(),
            server_info: Value::Null,
            mode,
            verbatim_prompts: options.verbatim_prompts(),
        };

        let mut init = options.initialize_fields();
        init.insert("hooks".into(), options.hooks.initialize_config());
        let timeout = initialize_timeout(session.control_timeout);
        match session
            .request_with_timeout("initialize", init, timeout)
            .await
        {
            Ok(info) => {
                if let Err(err) = check_hooks_applied(options, &info) {
                    session.shutdown().await;
                    return Err(err);
                }
                session.server_info = info;
            }
            Err(err) => {
                session.shutdown().await;
                return Err(err);
            }
        }
        Ok(session)
    }

    /// The cached answer to `initialize`.
    pub(crate) fn server_info(&self) -> &Value {
        &self.server_info
    }

    /// Sends a control request and waits for its answer (with the configured timeout).
    pub(crate) async fn request(&self, subtype: &str, body: Map<String, Value>) -> Result<Value> {
        self.request_with_timeout(subtype, body, self.control_timeout)
            .await
    }

    async fn request_with_timeout(
        &self,
        subtype: &str,
        mut body: Map<String, Value>,
        timeout: Duration,
    ) -> Result<Value> {
        let shared = &self.shared;
        let request_id = shared.next_request_id();
        let span = shared.trace.outgoing(subtype, &request_id);
        let answer = async {
            body.insert("subtype".into(), Value::String(subtype.to_owned()));
            let (tx, rx) = oneshot::channel();
            {
                let mut table = lock(&shared.pending);
                if let Some(closed) = &table.closed {
                    return Err(closed.to_error());
                }
                table
                    .waiting
                    .insert(request_id.clone(), (subtype.to_owned(), tx));
            }
            // A router holding back for a slow reader reads on: the answer may be behind.
            shared.router_wake.notify_one();
            let line = wire::to_line(&wire::OutgoingRequest {
                kind: "control_request",
                request_id: &request_id,
                request: &body,
            });
            let exchange = async {
                if let Err(err) = shared.send_line(line).await {
                    return Err(self.unsent(err));
                }
                rx.await.map_err(|_| Error::NotConnected)?
            };
            match tokio::time::timeout(timeout, exchange).await {
                Ok(answer) => {
                    if answer.is_err() {
                        lock(&shared.pending).waiting.remove(&request_id);
                    }
                    answer
                }
                Err(_) => {
                    lock(&shared.pending).waiting.remove(&request_id);
                    tracing::warn!(subtype, "control request timed out");
                    Err(Error::ControlTimeout {
                        subtype: subtype.to_owned(),
                        timeout,
                    })
                }
            }
        }
        .instrument(span.clone())
        .await;
        if answer.is_err() {
            trace::record_error(&span, "control_error");
        }
        answer
    }

    /// Why a request could not be written: when the CLI exited (an
    /// `initialize` to a CLI that failed to start), its exit code and stderr
    /// say more than `NotConnected`. The exit is reported before the input
    /// closes (`supervise`), so it is known here.
    fn unsent(&self, err: Error) -> Error {
        if !matches!(err, Error::NotConnected) || self.shared.disconnecting.load(Ordering::SeqCst) {
            return err;
        }
        match &*self.exit.borrow() {
            Some(report) => process_exited(report),
            None => err,
        }
    }

    /// Writes one frame (a `user` message) to the CLI. Waits while the write
    /// queue is full (a CLI that stopped reading), up to the control timeout:
    /// then `Error::ControlTimeout` with the frame's `type` as subtype.
    pub(crate) async fn send_frame(&self, frame: &Value) -> Result<()> {
        if self.verbatim_prompts && frame.get("client_composed").is_none() {
            let mut frame = frame.clone();
            if let Some(object) = frame.as_object_mut() {
                object.insert("client_composed".into(), Value::Bool(true));
            }
            return self.send_raw_frame(&frame).await;
        }
        self.send_raw_frame(frame).await
    }

    async fn send_raw_frame(&self, frame: &Value) -> Result<()> {
        if let Some(closed) = &lock(&self.shared.pending).closed {
            return Err(closed.to_error());
        }
        if lock(&self.shared.run).input_closed {
            return Err(Error::NotConnected);
        }
        let kind = frame.get("type").and_then(Value::as_str).unwrap_or("frame");
        if kind == "user" {
            self.shared.turn_open.store(true, Ordering::Relaxed);
            self.shared.trace.begin_turn();
        }
        let sent = tokio::time::timeout(
            self.control_timeout,
            self.shared.send_line(wire::to_line(frame)),
        );
        sent.await.unwrap_or_else(|_| {
            tracing::warn!(
                kind,
                "the CLI is not reading its input; the frame was not sent in time"
            );
            Err(Error::ControlTimeout {
                subtype: kind.to_owned(),
                timeout: self.control_timeout,
            })
        })
    }

    /// One-shot mode: close stdin once the run is over (at once when the CLI cannot call us back).
    pub(crate) fn end_input_when_done(&self, bidirectional: bool) {
        debug_assert_eq!(self.mode, InputMode::OneShot);
        if !bidirectional {
            self.shared.close_input();
            return;
        }
        let ended = {
            let mut run = lock(&self.shared.run);
            run.close_requested = true;
            run.run_ended()
        };
        if ended {
            self.shared.close_input();
        }
    }

    /// The next message from the CLI; `None` once the session has ended.
    pub(crate) async fn next_message(&self) -> Option<Result<Message>> {
        self.messages.lock().await.recv().await
    }

    /// Locks the message receiver for a streaming reader.
    pub(crate) async fn lock_messages(&self) -> tokio::sync::MutexGuard<'_, inbox::Inbox> {
        self.messages.lock().await
    }

    /// Closes stdin, stops the process (grace, SIGTERM, SIGKILL) and waits for the tasks.
    pub(crate) async fn shutdown(&self) {
        self.shared.disconnecting.store(true, Ordering::SeqCst);
        self.shared.router_wake.notify_one();
        self.shared.close_input();
        self.shared.shutdown.notify_one();
        let mut exit = self.exit.clone();
        let _ = exit.wait_for(|exit| exit.is_some()).await;
        let mut router_done = self.router_done.clone();
        let _ = router_done.wait_for(|done| *done).await;
        self.shared.close_pending(Closed::Disconnected);
        self.shared.abort_inflight();
    }

    /// `mcp_set_servers`: the in-process servers of `sdk` answer from now on (they must
    /// before the CLI connects to them), the others stop once the CLI accepted the change;
    /// if it refused, the table is as it was.
    pub(crate) async fn set_mcp_servers(
        &self,
        sdk: HashMap<String, crate::mcp::SdkMcpServer>,
        servers: Map<String, Value>,
    ) -> Result<Value> {
        let table = &self.shared.handlers.servers;
        let before = table.add_all(&sdk);
        // New servers reach this session with their tool-list changes, progress and logs.
        for server in sdk.values() {
            server.subscribe(self.shared.link());
        }
        let mut body = Map::new();
        body.insert("servers".into(), Value::Object(servers));
        let answer = self.request("mcp_set_servers", body).await;
        let dropped: Vec<_> = match &answer {
            Ok(_) => {
                table.retain_named(&sdk);
                before
                    .into_iter()
                    .filter(|(name, _)| !sdk.contains_key(name))
                    .collect()
            }
            Err(_) => {
                let added = sdk.iter().filter(|(name, _)| !before.contains_key(*name));
                let added: Vec<_> = added.map(|(n, s)| (n.clone(), s.clone())).collect();
                table.restore(before);
                added
            }
        };
        for (_, server) in dropped {
            server.unsubscribe(&self.shared.link());
        }
        answer
    }

    /// True once the process has exited.
    pub(crate) fn has_exited(&self) -> bool {
        self.exit.borrow().is_some()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // Dropped without `disconnect`: stop the process in the background; the
        // supervisor task escalates to SIGKILL, and `kill_on_drop` covers a runtime that is gone.
        if !self.has_exited() {
            self.shared.disconnecting.store(true, Ordering::SeqCst);
            self.shared.router_wake.notify_one();
            self.shared.shutdown.notify_one();
        }
        // Always: the writer (and with it the core thread) ends at its `Close`.
        self.shared.close_input();
        self.shared.abort_inflight();
    }
}

/// A hook with `on_failure` other than `continue` needs a CLI that applies it (spec 3.5).
fn check_hooks_applied(options: &AgentOptions, info: &Value) -> Result<()> {
    if !options.hooks.requires_on_failure_support() {
        return Ok(());
    }
    if info
        .get("hook_on_failure_supported")
        .and_then(Value::as_bool)
        != Some(true)
    {
        return Err(Error::invalid_options(
            "hook",
            "a hook uses `on_failure`, but this CLI does not support it (no `hook_on_failure_supported` in its initialize answer); \
             upgrade the CLI or drop `on_failure`",
        ));
    }
    if info.get("hooks_applied").and_then(Value::as_bool) == Some(false) {
        return Err(Error::invalid_options(
            "hook",
            "the CLI did not apply the registered hooks (`hooks_applied: false`)",
        ));
    }
    Ok(())
}

fn initialize_timeout(configured: Duration) -> Duration {
    // Like the official SDKs, honour CLAUDE_CODE_STREAM_CLOSE_TIMEOUT (ms) when it asks for more.
    std::env::var("CLAUDE_CODE_STREAM_CLOSE_TIMEOUT")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map(Duration::from_millis)
        .map_or(configured, |env| env.max(configured))
}

fn random_salt() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    hasher.finish() as u32
}

/// The supervisor task: owns the process, reports its exit, stops it on request.
async fn supervise(
    mut process: Box<dyn ChildProcess>,
    shared: Arc<Shared>,
    exit: watch::Sender<Option<ExitReport>>,
) {
    let exited = tokio::select! {
        report = process.wait() => Some(report),
        () = shared.shutdown.notified() => None,
    };
    let report = match exited {
        Some(report) => report,
        None => process.terminate().await,
    };
    tracing::debug!(code = ?report.code, signal = ?report.signal, "the CLI exited");
    // Reported before the input closes: a request that then finds the input
    // closed reads why (`Session::unsent`).
    let _ = exit.send(Some(report));
    // Nothing can be written to a process that is gone: let the writer end.
    shared.close_input();
    drop(shared);
}

#[cfg(test)]
mod tests;
