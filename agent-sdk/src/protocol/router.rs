//! The router task: reads the CLI's stdout and sends every line where it belongs.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::{mpsc, watch};

use super::wire::{
    self, ControlCancelFrame, ControlRequestFrame, ControlRequestWhole, ControlResponseFrame,
};
use super::{Closed, InputMode, Shared, incoming, lock, process_exited};
use crate::error::{Error, Result};
use crate::message::{Message, ResultMessage};
use crate::transport::ExitReport;
use crate::transport::framing::{Framed, LineFramer};

/// How long to wait for the process to exit after it closed stdout.
const EXIT_AFTER_EOF: Duration = Duration::from_secs(3);
/// Bytes per read. Every line of a read is parsed before the reader of the
/// messages gets a turn, so a read is also a batch: 32 KiB is a few dozen
/// frames, which the reader takes (and frees) while the allocator still has
/// their memory at hand. 256 KiB batches of ~330 frames cost 25% more CPU per
/// frame, most of it in `malloc`/`free` slow paths (measured with callgrind).
const READ_CHUNK: usize = 32 * 1024;

pub(super) struct RouterConfig {
    pub max_line: usize,
    pub mode: InputMode,
}

struct Router {
    shared: Arc<Shared>,
    messages: mpsc::UnboundedSender<Result<Message>>,
    mode: InputMode,
    /// The last `result` if it was an error: the exit code 1 that follows becomes `Error::Result`.
    last_error_result: Option<ResultMessage>,
}

pub(super) async fn route(
    mut reader: Box<dyn AsyncRead + Send + Unpin>,
    shared: Arc<Shared>,
    messages: mpsc::UnboundedSender<Result<Message>>,
    mut exit: watch::Receiver<Option<ExitReport>>,
    config: RouterConfig,
) {
    let mut router = Router {
        shared,
        messages,
        mode: config.mode,
        last_error_result: None,
    };
    let mut framer = LineFramer::new(config.max_line);
    let mut buf = vec![0u8; READ_CHUNK];
    loop {
        match reader.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => {
                framer.push(&buf[..n], |item| match item {
                    Framed::Line(line) => router.on_line(line, false),
                    Framed::TooLong => router.deliver(Err(Error::LineTooLong {
                        limit: config.max_line,
                    })),
                });
                // Let the reader of the messages take this batch before the next
                // read, even when the pipe never runs dry (see READ_CHUNK).
                tokio::task::yield_now().await;
            }
            Err(err) => {
                tracing::debug!(%err, "reading the CLI's stdout failed");
                break;
            }
        }
    }
    if let Some(last) = framer.finish() {
        router.on_line(&last, true);
    }
    drop(reader);

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
    if !report.success() && !deliberate {
        let error = match router.last_error_result.take() {
            Some(result) if report.code.is_some() => result_error(&result),
            _ => process_exited(&report),
        };
        router.deliver(Err(error));
    }
}

impl Router {
    fn deliver(&self, item: Result<Message>) {
        // The receiver may be gone (a dropped stream): nothing to do then.
        let _ = self.messages.send(item);
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
        let outcome = match kind.as_deref() {
            Some("control_response") => self.on_control_response(line),
            Some("control_request") => self.on_control_request(line),
            Some("control_cancel_request") => self.on_control_cancel(line),
            Some("keep_alive") => Ok(()),
            _ => self.on_message(line),
        };
        if let Err(err) = outcome {
            if at_eof {
                // A truncated last line of a dying process: note it, it carries nothing usable.
                tracing::debug!(%err, "dropping an unparsable final line from the CLI");
            } else {
                self.deliver(Err(decode_error(&err, line)));
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

    fn on_control_request(&mut self, line: &[u8]) -> Result<(), serde_json::Error> {
        let (request_id, request) = match serde_json::from_slice::<ControlRequestFrame<'_>>(line) {
            Ok(frame) => (
                frame.request_id,
                incoming::Request::parse(frame.request, line)?,
            ),
            // A request of an odd shape (say, a non-string `subtype`) still gets an
            // answer: its handler says what is wrong.
            Err(_) => {
                let frame: ControlRequestWhole = serde_json::from_slice(line)?;
                (frame.request_id, incoming::Request::Other(frame.request))
            }
        };
        incoming::spawn(&self.shared, request_id, request);
        Ok(())
    }

    fn on_control_cancel(&mut self, line: &[u8]) -> Result<(), serde_json::Error> {
        let frame: ControlCancelFrame = serde_json::from_slice(line)?;
        incoming::cancel(&self.shared, &frame.request_id);
        Ok(())
    }

    fn on_message(&mut self, line: &[u8]) -> Result<(), serde_json::Error> {
        let message = Message::from_slice(line)?;
        self.track_run(&message);
        if let Message::System(system) = &message
            && system.subtype() == "init"
            && let Some(session_id) = system.session_id()
        {
            *lock(&self.shared.session_id) = Some(session_id.to_owned());
        }
        if message.is_sdk_host_only() {
            return Ok(());
        }
        self.deliver(Ok(message));
        Ok(())
    }

    /// Follows the run for the stdin-closing rule of a one-shot query (spec 1.7).
    fn track_run(&mut self, message: &Message) {
        if let Message::Result(result) = message {
            self.last_error_result = result.is_error.then(|| result.clone());
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

fn decode_error(err: &serde_json::Error, line: &[u8]) -> Error {
    let excerpt: String = String::from_utf8_lossy(&line[..line.len().min(160)]).into_owned();
    Error::JsonDecode {
        reason: err.to_string(),
        excerpt,
    }
}

/// The typed error for a run that ended in an error `result` (spec section 9).
pub(crate) fn result_error(result: &ResultMessage) -> Error {
    let failure = result
        .error()
        .expect("only results with `is_error` are kept");
    Error::Result(Box::new(failure))
}
