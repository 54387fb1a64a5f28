//! The router: reads the CLI's stdout and sends every line where it belongs.
//!
//! It reads as a task of the core's runtime, or, when the transport gives the
//! pipe itself, on reading threads that also start the handlers (`leader`).
//! Either way the end of stdout is handled by the task.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::watch;

use super::inbox::InboxSender;
use super::incoming::Job;
use super::leader::{self, Reading};
use super::wire::{
    self, ControlCancelFrame, ControlRequestFrame, ControlRequestWhole, ControlResponseFrame,
    FrameHead,
};
use super::{Closed, InputMode, Shared, incoming, lock, process_exited};
use crate::error::{Error, Result};
use crate::message::{Message, ResultMessage};
use crate::transport::ExitReport;
use crate::transport::framing::{Framed, LineFramer};

/// How long to wait for the process to exit after it closed stdout.
const EXIT_AFTER_EOF: Duration = Duration::from_secs(3);

pub(super) struct RouterConfig {
    pub max_line: usize,
    pub mode: InputMode,
}

struct Router {
    shared: Arc<Shared>,
    messages: InboxSender,
    mode: InputMode,
    /// The last `result` if it was an error: the exit code 1 that follows becomes `Error::Result`.
    last_error_result: Option<ResultMessage>,
    /// Requests read and not yet started, when a reading thread starts them
    /// (`None`: each is spawned as it is read).
    jobs: Option<VecDeque<Job>>,
}

/// The CLI's stdout, as the transport gave it.
pub(super) enum Stdout {
    /// Read as a task of the core's runtime.
    Async(Box<dyn AsyncRead + Send + Unpin>),
    /// The pipe itself, read with blocking reads on threads of our own.
    Pipe(std::fs::File),
}

/// The router and its framer: what the reading role is made of.
struct Stream {
    router: Router,
    framer: LineFramer,
    max_line: usize,
}

impl Stream {
    /// Routes every line completed by `chunk`.
    fn on_chunk(&mut self, chunk: &[u8]) {
        let Stream {
            router,
            framer,
            max_line,
        } = self;
        framer.push(chunk, |item| match item {
            Framed::Line(line) => router.on_line(line, false),
            Framed::TooLong { head } => router.on_too_long(head, *max_line),
        });
    }
}

impl Reading for Stream {
    fn before_read(&mut self) {
        leader::block_on(self.router.before_read());
    }

    fn on_chunk(&mut self, chunk: &[u8]) {
        Stream::on_chunk(self, chunk);
        // Their answers go out together once they have run (see `outbox`).
        if self
            .router
            .jobs
            .as_ref()
            .is_some_and(|jobs| !jobs.is_empty())
        {
            self.router.shared.writer.cork();
        }
        self.router.messages.flush();
    }

    fn take_job(&mut self) -> Option<Job> {
        let job = self.router.jobs.as_mut()?.pop_front();
        if job.is_none() {
            self.router.shared.writer.uncork();
        }
        job
    }
}

pub(super) async fn route(
    stdout: Stdout,
    shared: Arc<Shared>,
    messages: InboxSender,
    mut exit: watch::Receiver<Option<ExitReport>>,
    config: RouterConfig,
) {
    let router = Router {
        shared: shared.clone(),
        messages,
        mode: config.mode,
        last_error_result: None,
        jobs: None,
    };
    let mut stream = Stream {
        router,
        framer: LineFramer::new(config.max_line),
        max_line: config.max_line,
    };
    match stdout {
        Stdout::Async(reader) => read(reader, &mut stream).await,
        Stdout::Pipe(pipe) => {
            stream.router.jobs = Some(VecDeque::new());
            match leader::run(pipe, stream).await {
                Some(read) => stream = read,
                None => {
                    // No reading thread, or one panicked: the session is over.
                    let _ = exit.wait_for(Option::is_some).await;
                    shared.close_pending(Closed::Disconnected);
                    shared.abort_inflight();
                    return;
                }
            }
            // From here on (the last line), requests are spawned as they are read.
            for job in stream.router.jobs.take().into_iter().flatten() {
                job.spawn();
            }
            stream.router.shared.writer.uncork();
        }
    }
    let Stream {
        mut router,
        mut framer,
        ..
    } = stream;
    if let Some(last) = framer.finish() {
        router.on_line(&last, true);
    }
    // What fits goes to the reader now; the rest once the exit is known (`drain`).
    router.messages.flush();

    // stdout is closed: find out how the process ended (stop it if it lingers).
    let exited_in_time = tokio::time::timeout(EXIT_AFTER_EOF, exit.wait_for(Option::is_some))
        .await
        .is_ok();
    if !exited_in_time {
        tracing::warn!("the CLI closed stdout but kept running; stopping it");
        router.shared.close_input();
        router.shared.shutdown.notify_one();
        let _ = exit.wait_for(Option::is_some).await;
    }
    let report = exit.borrow().clone().unwrap_or_default();

    // After `disconnect` the exit is expected: callers get `NotConnected`, not an exit error.
    let deliberate = router.shared.disconnecting.load(Ordering::SeqCst);
    router.shared.close_pending(if deliberate {
        Closed::Disconnected
    } else {
        Closed::Exited(report.clone())
    });
    router.shared.abort_inflight();
    // A turn still open ends here, failed: its result will never come.
    router.shared.trace.abandon_turn(if deliberate {
        "disconnected"
    } else {
        "process_exited"
    });
    if deliberate {
        return;
    }
    if !report.success() {
        let error = match router.last_error_result.take() {
            Some(result) if report.code.is_some() => result_error(&result),
            _ => process_exited(&report),
        };
        router.deliver(Err(error), 0);
    } else if router.shared.turn_open.load(Ordering::Relaxed) {
        // A clean exit in the middle of a turn is no success: say so, or the
        // reader's loop ends as if the turn had finished.
        router.deliver(
            Err(Error::TurnIncomplete {
                exit_code: report.code,
                signal: report.signal,
                stderr_tail: report.stderr_tail,
            }),
            0,
        );
    }
    router.drain().await;
}

/// Reads stdout as a task of the core's runtime until it ends.
async fn read(mut reader: Box<dyn AsyncRead + Send + Unpin>, stream: &mut Stream) {
    let mut buf = leader::ReadBuffer::new();
    loop {
        stream.router.before_read().await;
        match reader.read(buf.space()).await {
            Ok(0) => break,
            Ok(n) => {
                stream.on_chunk(&buf.space()[..n]);
                buf.grow_if_filled(n);
                // Let the reader of the messages take this batch before the next
                // read, even when the pipe never runs dry (see READ_CHUNK).
                if stream.router.messages.flush() {
                    tokio::task::yield_now().await;
                }
            }
            Err(err) => {
                tracing::debug!(%err, "reading the CLI's stdout failed");
                break;
            }
        }
    }
}

impl Router {
    /// Waits until more may be read: the reader has room for what was read
    /// (see `hold_back`), and our own answers to it are written.
    async fn before_read(&mut self) {
        self.hold_back().await;
        self.shared.writer.urgent_room().await;
    }

    /// Hands `item`, read from a line of `bytes` bytes, to the reader.
    fn deliver(&mut self, item: Result<Message>, bytes: usize) {
        self.messages.push(item, bytes);
    }

    /// Pushes back on the CLI: while the reader's queue is full, stop reading
    /// its stdout (the pipe fills and the CLI waits), except while a control
    /// request of ours waits for its answer, which may be behind the messages
    /// (so `interrupt()` completes even when nobody reads). A disconnecting
    /// session drops what nobody will read.
    async fn hold_back(&mut self) {
        let inbox = &mut self.messages;
        while !inbox.flush() {
            if self.shared.disconnecting.load(Ordering::SeqCst) {
                inbox.discard();
                return;
            }
            if !lock(&self.shared.pending).waiting.is_empty() {
                return;
            }
            tokio::select! {
                () = inbox.wait_for_room() => {}
                () = self.shared.router_wake.notified() => {}
            }
        }
    }

    /// At the end: waits until the reader has taken every message (or is gone).
    async fn drain(&mut self) {
        let inbox = &mut self.messages;
        while !inbox.flush() {
            if self.shared.disconnecting.load(Ordering::SeqCst) {
                inbox.discard();
                return;
            }
            tokio::select! {
                () = inbox.wait_for_room() => {}
                () = self.shared.router_wake.notified() => {}
            }
        }
    }

    fn on_line(&mut self, line: &[u8], at_eof: bool) {
        let line = line.trim_ascii();
        if line.is_empty() {
            return;
        }
        if line[0] != b'{' {
            tracing::debug!(line = %String::from_utf8_lossy(&line[..line.len().min(200)]), "skipping a non-JSON line from the CLI");
            return;
        }
        if tracing::enabled!(tracing::Level::DEBUG) {
            tracing::debug!(frame = %String::from_utf8_lossy(line), "cli -> sdk");
        }
        let kind = wire::frame_type(line);
        // Control frames we cannot read are logged (and a request still
        // answered when its id can be found); they are never stream items.
        match kind.as_deref() {
            Some("control_response") => {
                if let Err(err) = self.on_control_response(line) {
                    self.unreadable_response(
                        line,
                        &err.to_string(),
                        Error::ControlRequestFailed {
                            subtype: String::new(),
                            message: format!("the CLI's answer could not be read: {err}"),
                        },
                    );
                }
            }
            Some("control_request") => self.on_control_request(line),
            Some("control_cancel_request") => {
                if let Err(err) = self.on_control_cancel(line) {
                    tracing::warn!(%err, line = %excerpt(line), "ignoring an unreadable control_cancel_request");
                }
            }
            Some("keep_alive") => {}
            Some(kind @ ("assistant" | "user" | "stream_event"))
                if !at_eof && self.on_conversation_line(kind, line) => {}
            _ => {
                if let Err(err) = self.on_message(line) {
                    if at_eof {
                        // A truncated last line of a dying process: it carries nothing usable.
                        tracing::debug!(%err, "dropping an unparsable final line from the CLI");
                    } else {
                        tracing::warn!(%err, line = %excerpt(line), "a line from the CLI could not be read");
                        self.deliver(Ok(Message::malformed(line, err)), line.len());
                    }
                }
            }
        }
    }

    /// A line over the limit: a control request still gets its (error) answer,
    /// a control response fails the request waiting for it, and anything else
    /// is a [`Message::Malformed`] (`head` is the start of the line).
    fn on_too_long(&mut self, head: &[u8], limit: usize) {
        let why = format!("the line is longer than the limit of {limit} bytes (max_buffer_size)");
        let frame = FrameHead::scan(head);
        match frame.kind.as_deref() {
            Some("control_request") => self.refuse_request(frame.request_id, head, &why),
            Some("control_response") => {
                self.unreadable_response(head, &why, Error::LineTooLong { limit });
            }
            Some("control_cancel_request") => {
                tracing::warn!(line = %excerpt(head), "ignoring a control_cancel_request over the line limit");
            }
            _ => {
                tracing::warn!(line = %excerpt(head), limit, "a line from the CLI was over the limit");
                self.deliver(Ok(Message::malformed(head, why)), head.len());
            }
        }
    }

    /// A control response we cannot read: the request it answers (if its id
    /// can be found and is ours) fails with `error` instead of timing out.
    fn unreadable_response(&mut self, line: &[u8], why: &str, error: Error) {
        tracing::warn!(why, line = %excerpt(line), "an unreadable control_response from the CLI");
        let Some(request_id) = FrameHead::scan(line).response_request_id else {
            return;
        };
        if let Some((subtype, sender)) = lock(&self.shared.pending).waiting.remove(&request_id) {
            let error = match error {
                Error::ControlRequestFailed { message, .. } => {
                    Error::ControlRequestFailed { subtype, message }
                }
                other => other,
            };
            let _ = sender.send(Err(error));
        }
    }

    /// Answers a control request we cannot handle with an error saying why;
    /// without a readable id there is nothing to answer, so it is logged.
    fn refuse_request(&mut self, request_id: Option<String>, line: &[u8], why: &str) {
        match request_id {
            Some(request_id) => incoming::refuse(&self.shared, &request_id, why),
            None => {
                tracing::warn!(why, line = %excerpt(line), "a control_request without a readable request_id; it cannot be answered");
            }
        }
    }

    fn on_control_response(&mut self, line: &[u8]) -> Result<(), serde_json::Error> {
        let frame: ControlResponseFrame = serde_json::from_slice(line)?;
        let body = frame.response;
        let Some((subtype, sender)) = lock(&self.shared.pending).waiting.remove(&body.request_id)
        else {
            tracing::debug!(request_id = %body.request_id, "ignoring a control response for an unknown or finished request");
            return Ok(());
        };
        let answer = if body.subtype == "success" {
            Ok(body
                .response
                .unwrap_or_else(|| serde_json::Value::Object(Default::default())))
        } else {
            Err(Error::ControlRequestFailed {
                subtype,
                message: body.error.unwrap_or_else(|| {
                    format!("the CLI answered `{}` without an error text", body.subtype)
                }),
            })
        };
        let _ = sender.send(answer);
        Ok(())
    }

    fn on_control_request(&mut self, line: &[u8]) {
        match read_control_request(line) {
            Ok((request_id, request)) => {
                if let Some(job) = incoming::start(&self.shared, request_id, request) {
                    match &mut self.jobs {
                        Some(jobs) => jobs.push_back(job),
                        None => job.spawn(),
                    }
                }
            }
            // Too deep for the parser, not JSON past its head, no `request`...:
            // answered all the same, when its id can be read.
            Err(err) => {
                let why = format!("the control request could not be read: {err}");
                self.refuse_request(FrameHead::scan(line).request_id, line, &why);
            }
        }
    }

    fn on_control_cancel(&mut self, line: &[u8]) -> Result<(), serde_json::Error> {
        let frame: ControlCancelFrame = serde_json::from_slice(line)?;
        incoming::cancel(&self.shared, &frame.request_id);
        Ok(())
    }

    /// A conversation frame goes to the reader as its line, parsed there (see
    /// `inbox`); the router reads only what the run's tracking needs (is it the
    /// main thread's?). False when the line is not JSON: `on_message` reports it.
    fn on_conversation_line(&mut self, kind: &str, line: &[u8]) -> bool {
        // A `user` frame changes nothing here: the reader's parse is its only check.
        if kind != "user" {
            let Ok(thread) = serde_json::from_slice::<wire::ThreadPeek>(line) else {
                return false;
            };
            if thread.parent_tool_use_id.is_none() {
                self.main_thread_turn_frame();
            }
        }
        self.messages.push_line(line);
        true
    }

    fn on_message(&mut self, line: &[u8]) -> Result<(), serde_json::Error> {
        let message = Message::from_slice(line)?;
        self.track_run(&message);
        if let Message::System(system) = &message
            && system.subtype() == "init"
            && let Some(session_id) = system.session_id()
        {
            *lock(&self.shared.session_id) = Some(session_id.to_owned());
            self.shared.trace.conversation(session_id);
        }
        if message.is_sdk_host_only() {
            return Ok(());
        }
        self.deliver(Ok(message), line.len());
        Ok(())
    }

    /// An `assistant` or `stream_event` frame of the main thread: a turn is
    /// open, and a one-shot run that had its `result` is reopened.
    fn main_thread_turn_frame(&mut self) {
        self.shared.turn_open.store(true, Ordering::Relaxed);
        if self.mode == InputMode::OneShot {
            lock(&self.shared.run).result_seen = false;
        }
    }

    /// Follows the run for the stdin-closing rule of a one-shot query (spec 1.7).
    fn track_run(&mut self, message: &Message) {
        if let Message::Result(result) = message {
            self.shared.trace.end_turn(result);
            self.last_error_result = result.is_error.then(|| result.clone());
            self.shared.turn_open.store(false, Ordering::Relaxed);
        } else if message.is_main_thread_turn_frame() {
            self.shared.turn_open.store(true, Ordering::Relaxed);
        }
        if self.mode != InputMode::OneShot {
            return;
        }
        let close = {
            let mut run = lock(&self.shared.run);
            if let Some(task_id) = message.tracked_task_started() {
                run.tracked_tasks.insert(task_id.to_owned());
            } else if let Some(task_id) = message.task_ended() {
                run.tracked_tasks.remove(task_id);
            }
            if let Some(state) = message.session_state() {
                run.last_state = Some(state.to_owned());
            }
            match message {
                Message::Result(_) => run.result_seen = true,
                // A new main-thread turn reopens the run.
                _ if message.is_main_thread_turn_frame() => run.result_seen = false,
                _ => {}
            }
            run.close_requested && run.run_ended()
        };
        if close {
            self.shared.close_input();
        }
    }
}

fn read_control_request(line: &[u8]) -> Result<(String, incoming::Request), serde_json::Error> {
    match serde_json::from_slice::<ControlRequestFrame<'_>>(line) {
        Ok(frame) => Ok((
            frame.request_id,
            incoming::Request::parse(frame.request, line)?,
        )),
        // A request of an odd shape (say, a non-string `subtype`) still gets an
        // answer: its handler says what is wrong.
        Err(_) => {
            let frame: ControlRequestWhole = serde_json::from_slice(line)?;
            Ok((frame.request_id, incoming::Request::Other(frame.request)))
        }
    }
}

/// The start of a line, for a log record.
fn excerpt(line: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(&line[..line.len().min(200)])
}

/// The typed error for a run that ended in an error `result` (spec section 9).
pub(crate) fn result_error(result: &ResultMessage) -> Error {
    let failure = result
        .error()
        .expect("only results with `is_error` are kept");
    Error::Result(Box::new(failure))
}
