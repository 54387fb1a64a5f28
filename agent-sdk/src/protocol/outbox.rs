//! The bounded write queue to the CLI's stdin, and the writer task that drains it.
//!
//! A sender waits for room in the budget (in KiB of line) before its line is
//! queued, so a CLI that stops reading holds back the callers instead of
//! growing the queue; a line larger than the whole budget also waits until it
//! is written. Two kinds of line never wait:
//! - the router's own answers ([`Outbox::send_urgent`]): the router must never
//!   wait on the CLI's stdin in the middle of a read (the CLI may be waiting on
//!   its stdout), so they are queued at once, against a budget of their own
//!   that the router checks before its next read ([`Outbox::urgent_room`]): a
//!   CLI that sends requests but stops reading our answers is pushed back on;
//! - an in-process server's notifications (progress, logs), sent from sync
//!   code ([`Outbox::try_send`]): queued if the budget has room now, else
//!   dropped, as a notification to a CLI that is not reading may be.
//!
//! When nothing is queued, a sender writes its line into the pipe itself, from
//! its own thread (a handler's answer, from the handler's task): a pipe with
//! room takes it at once, and the core thread is not woken for it. Whatever
//! the pipe does not take is queued, in order, for the writer task, which
//! waits for the pipe on the core's runtime. Every write happens under the
//! queue's lock, so lines never interleave or overtake each other.
//!
//! A thread that runs a batch of handlers inline (see `leader`) corks the
//! queue first ([`Outbox::cork`]): their answers are queued and go out
//! together in one write when it uncorks, so the CLI is woken once per batch,
//! not once per answer.

use std::collections::VecDeque;
use std::io::IoSlice;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::{Notify, Semaphore, oneshot};

use crate::error::{Error, Result};

/// The budget: at most this many KiB of lines queued and not yet written.
const BUDGET_KIB: u32 = 1024;
/// The router's own answers (a few hundred bytes each) queued and not yet
/// written, past which the router stops reading until the writer catches up.
const URGENT_BUDGET_BYTES: usize = 64 * 1024;
/// Lines handed to one vectored write at most.
const LINES_PER_WRITE: usize = 64;

type Stdin = Box<dyn AsyncWrite + Send + Unpin>;

/// A line not yet (fully) written.
struct Line {
    bytes: Vec<u8>,
    /// KiB of budget to give back once written.
    units: u32,
    /// A router's answer: counted in `Pipe::urgent_bytes` until written.
    urgent: bool,
    /// Told once the line is written (for lines over the budget).
    written: Option<oneshot::Sender<()>>,
}

/// The CLI's stdin and the lines waiting for it.
#[derive(Default)]
struct Pipe {
    /// `None` until the writer task starts, and after it ends.
    stdin: Option<Stdin>,
    queue: VecDeque<Line>,
    /// Bytes of the first queued line already written.
    offset: usize,
    /// Written lines not yet flushed.
    unflushed: bool,
    /// A write failed: later lines are dropped (the CLI is gone).
    broken: bool,
    /// `close` was called: stdin closes after the queued lines.
    closing: bool,
    /// The writer task has ended: nothing more is written.
    finished: bool,
    /// Bytes of the router's answers queued and not yet written.
    urgent_bytes: usize,
    /// Senders queue their lines and leave them for [`Outbox::uncork`].
    corked: bool,
}

impl Pipe {
    /// Writes queued lines until the queue is empty and flushed (`Ready`), or
    /// the pipe is full (`Pending`, `cx` is woken when it has room).
    fn poll_drain(&mut self, cx: &mut Context<'_>, shared: &Shared) -> Poll<()> {
        let Some(stdin) = self.stdin.as_mut() else {
            return Poll::Ready(());
        };
        while let Some(line) = self.queue.front() {
            if self.broken {
                self.offset = 0;
                let line = self.queue.pop_front().expect("front exists");
                line_done(&mut self.urgent_bytes, line, shared);
                continue;
            }
            // Several lines waiting (a corked batch): one write for all of them.
            let written = if self.queue.len() > 1 && stdin.is_write_vectored() {
                let mut slices = [IoSlice::new(&[]); LINES_PER_WRITE];
                let mut lines = self.queue.iter();
                slices[0] = IoSlice::new(&line.bytes[self.offset..]);
                lines.next();
                let mut count = 1;
                for (slice, line) in slices[1..].iter_mut().zip(lines) {
                    *slice = IoSlice::new(&line.bytes);
                    count += 1;
                }
                Pin::new(&mut *stdin).poll_write_vectored(cx, &slices[..count])
            } else {
                Pin::new(&mut *stdin).poll_write(cx, &line.bytes[self.offset..])
            };
            match written {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(0)) => {
                    tracing::debug!("the CLI's stdin takes no more bytes");
                    self.broken = true;
                }
                Poll::Ready(Ok(mut n)) => {
                    // `n` bytes from the front: whole lines are done, the last maybe in part.
                    while let Some(line) = self.queue.front() {
                        let left = line.bytes.len() - self.offset;
                        if n < left {
                            self.offset += n;
                            break;
                        }
                        n -= left;
                        self.offset = 0;
                        self.unflushed = true;
                        let line = self.queue.pop_front().expect("front exists");
                        line_done(&mut self.urgent_bytes, line, shared);
                    }
                }
                Poll::Ready(Err(err)) => {
                    tracing::debug!(%err, "writing to the CLI failed");
                    self.broken = true;
                }
            }
        }
        if self.unflushed && !self.broken {
            match Pin::new(&mut *stdin).poll_flush(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(err)) => {
                    tracing::debug!(%err, "flushing the CLI's stdin failed");
                    self.broken = true;
                }
            }
        }
        self.unflushed = false;
        Poll::Ready(())
    }
}

/// A line is written (or dropped): its budget goes back, its sender is told,
/// a router waiting for its answers to be written is woken.
fn line_done(urgent_bytes: &mut usize, line: Line, shared: &Shared) {
    if line.urgent {
        *urgent_bytes -= line.bytes.len();
        if *urgent_bytes <= URGENT_BUDGET_BYTES {
            shared.urgent_written.notify_waiters();
        }
    }
    release(line, &shared.budget);
}

/// A line is done with: its budget goes back, its sender is told.
fn release(line: Line, budget: &Semaphore) {
    drop(line.bytes);
    if line.units > 0 {
        budget.add_permits(line.units as usize);
    }
    if let Some(written) = line.written {
        let _ = written.send(());
    }
}

struct Shared {
    pipe: Mutex<Pipe>,
    /// Wakes the writer task: a line is left for it, or stdin is to be closed.
    wake: Notify,
    budget: Semaphore,
    /// Wakes a router waiting for its answers to be written ([`Outbox::urgent_room`]).
    urgent_written: Notify,
}

impl Shared {
    fn pipe(&self) -> MutexGuard<'_, Pipe> {
        self.pipe
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The sending end, shared by everyone who writes to the CLI.
pub(crate) struct Outbox {
    shared: Arc<Shared>,
}

/// The writer task's end.
pub(crate) struct WriteQueue {
    shared: Arc<Shared>,
}

pub(crate) fn channel() -> (Outbox, WriteQueue) {
    let shared = Arc::new(Shared {
        pipe: Mutex::default(),
        wake: Notify::new(),
        budget: Semaphore::new(BUDGET_KIB as usize),
        urgent_written: Notify::new(),
    });
    let outbox = Outbox {
        shared: shared.clone(),
    };
    (outbox, WriteQueue { shared })
}

fn units_of(line: &[u8]) -> u32 {
    line.len().div_ceil(1024).clamp(1, BUDGET_KIB as usize) as u32
}

impl Outbox {
    /// Queues `line` once the budget has room for it; a line over the whole
    /// budget returns once it is written. Callers bound the wait with a timeout.
    pub(crate) async fn send(&self, line: Vec<u8>) -> Result<()> {
        let units = units_of(&line);
        let permit = self
            .shared
            .budget
            .acquire_many(units)
            .await
            .map_err(|_| Error::NotConnected)?;
        permit.forget();
        let over_budget = line.len() > BUDGET_KIB as usize * 1024;
        let (written, done) = match over_budget {
            true => {
                let (tx, rx) = oneshot::channel();
                (Some(tx), Some(rx))
            }
            false => (None, None),
        };
        self.push(Line {
            bytes: line,
            units,
            urgent: false,
            written,
        })?;
        if let Some(done) = done {
            done.await.map_err(|_| Error::NotConnected)?;
        }
        Ok(())
    }

    /// Queues `line` at once if the budget has room for it now; `false` when
    /// it has not (the line is dropped) or the session is over.
    pub(crate) fn try_send(&self, line: Vec<u8>) -> bool {
        let units = units_of(&line);
        let Ok(permit) = self.shared.budget.try_acquire_many(units) else {
            return false;
        };
        permit.forget();
        self.push(Line {
            bytes: line,
            units,
            urgent: false,
            written: None,
        })
        .is_ok()
    }

    /// Queues one of the router's answers at once, outside the budget: the
    /// router waits for [`urgent_room`](Self::urgent_room) before reading on.
    pub(crate) fn send_urgent(&self, line: Vec<u8>) -> Result<()> {
        self.push(Line {
            bytes: line,
            units: 0,
            urgent: true,
            written: None,
        })
    }

    /// Waits until the router's answers not yet written fit in their budget
    /// (at once when they do, or once nothing more can be written).
    pub(crate) async fn urgent_room(&self) {
        let shared = &*self.shared;
        loop {
            let written = shared.urgent_written.notified();
            let mut written = std::pin::pin!(written);
            written.as_mut().enable();
            {
                let pipe = shared.pipe();
                if pipe.urgent_bytes <= URGENT_BUDGET_BYTES || pipe.finished || pipe.broken {
                    return;
                }
            }
            written.await;
        }
    }

    /// Queues `line`, and writes it at once when it is first in line: what the
    /// pipe does not take is left to the writer task.
    fn push(&self, line: Line) -> Result<()> {
        let shared = &*self.shared;
        let mut pipe = shared.pipe();
        if pipe.finished || pipe.closing {
            // Dropped, as a write to a closed pipe would be: the session's end
            // is reported by the CLI's exit (its code and stderr), which an
            // error here would hide from a connect that is still waiting.
            drop(pipe);
            release(line, &shared.budget);
            return Ok(());
        }
        let first = pipe.queue.is_empty();
        if line.urgent {
            pipe.urgent_bytes += line.bytes.len();
        }
        pipe.queue.push_back(line);
        if !first || pipe.corked {
            // The writer task has the lines before it, and will write this one;
            // or the queue is corked, and `uncork` will.
            return Ok(());
        }
        // A no-op waker: should the pipe be full, the writer task is woken
        // below and waits for it with its own.
        let drained = pipe.poll_drain(&mut Context::from_waker(Waker::noop()), shared);
        let left = drained.is_pending() || pipe.stdin.is_none();
        drop(pipe);
        if left {
            shared.wake.notify_one();
        }
        Ok(())
    }

    /// Holds lines back until [`uncork`](Self::uncork): the answers of a batch
    /// of handlers run inline then go out in one write.
    pub(crate) fn cork(&self) {
        self.shared.pipe().corked = true;
    }

    /// Writes what was queued while corked (what the pipe does not take is
    /// left to the writer task), and lets senders write for themselves again.
    pub(crate) fn uncork(&self) {
        let shared = &*self.shared;
        let mut pipe = shared.pipe();
        if !std::mem::take(&mut pipe.corked) || pipe.queue.is_empty() {
            return;
        }
        let drained = pipe.poll_drain(&mut Context::from_waker(Waker::noop()), shared);
        let left = drained.is_pending() || pipe.stdin.is_none();
        drop(pipe);
        if left {
            shared.wake.notify_one();
        }
    }

    /// Asks the writer to close stdin after the lines queued before.
    pub(crate) fn close(&self) {
        self.shared.pipe().closing = true;
        self.shared.wake.notify_one();
    }
}

/// The writer task: writes what senders could not write themselves, and closes stdin.
pub(crate) async fn write_loop(stdin: Stdin, queue: WriteQueue) {
    let shared = queue.shared.clone();
    shared.pipe().stdin = Some(stdin);
    loop {
        std::future::poll_fn(|cx| shared.pipe().poll_drain(cx, &shared)).await;
        {
            let pipe = shared.pipe();
            if pipe.closing && pipe.queue.is_empty() {
                break;
            }
        }
        shared.wake.notified().await;
    }
    let stdin = {
        let mut pipe = shared.pipe();
        pipe.finished = true;
        pipe.stdin.take()
    };
    // Senders still waiting for room learn that the session is over, and a
    // router waiting for its answers to be written reads on.
    shared.budget.close();
    shared.urgent_written.notify_waiters();
    if let Some(mut stdin) = stdin {
        let _ = stdin.shutdown().await;
    }
    drop(queue);
}

impl Drop for WriteQueue {
    /// The writer ended, or never started (or its runtime went away): nothing
    /// more is written, stdin is closed, waiting senders are let go.
    fn drop(&mut self) {
        let (stdin, queue) = {
            let mut pipe = self.shared.pipe();
            pipe.finished = true;
            (pipe.stdin.take(), std::mem::take(&mut pipe.queue))
        };
        self.shared.budget.close();
        self.shared.urgent_written.notify_waiters();
        drop(stdin);
        // Senders of lines over the budget learn they were not written.
        drop(queue);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::AsyncReadExt;

    use super::*;

    /// Senders on several threads write for themselves while the pipe has room
    /// and leave the rest to the writer task: every line arrives whole, and each
    /// sender's lines in the order it sent them.
    #[tokio::test(flavor = "multi_thread", worker_threads = 3)]
    async fn lines_written_directly_and_by_the_writer_never_interleave() {
        let (outbox, queue) = channel();
        let outbox = Arc::new(outbox);
        // Queued before the writer starts: written once it has stdin.
        outbox.send(b"first\n".to_vec()).await.unwrap();
        // A small pipe: long lines are written in parts, some by the writer task.
        let (stdin, mut cli) = tokio::io::duplex(4096);
        let writer = tokio::spawn(write_loop(Box::new(stdin), queue));
        let senders: Vec<_> = (0..4)
            .map(|sender| {
                let outbox = outbox.clone();
                tokio::spawn(async move {
                    for n in 0..200 {
                        let pad = "x".repeat((n * 37) % 3000);
                        let line = format!("{sender} {n} {pad}\n");
                        outbox.send(line.into_bytes()).await.unwrap();
                    }
                })
            })
            .collect();
        let reader = tokio::spawn(async move {
            let mut all = Vec::new();
            cli.read_to_end(&mut all).await.unwrap();
            all
        });
        for sender in senders {
            sender.await.unwrap();
        }
        outbox.close();
        writer.await.unwrap();
        let all = String::from_utf8(reader.await.unwrap()).unwrap();
        let mut lines = all.lines();
        assert_eq!(lines.next(), Some("first"));
        let mut next = [0usize; 4];
        for line in lines {
            let mut parts = line.split(' ');
            let sender: usize = parts.next().unwrap().parse().unwrap();
            let n: usize = parts.next().unwrap().parse().unwrap();
            let pad = parts.next().unwrap();
            assert_eq!(n, next[sender], "in order per sender");
            assert_eq!(pad.len(), (n * 37) % 3000, "whole");
            assert!(pad.bytes().all(|b| b == b'x'));
            next[sender] += 1;
        }
        assert_eq!(next, [200; 4]);
    }

    #[tokio::test]
    async fn a_stalled_reader_holds_senders_back_and_a_reading_one_lets_them_go() {
        let (outbox, queue) = channel();
        // A pipe of 64 KiB whose other end nobody reads yet.
        let (stdin, mut cli) = tokio::io::duplex(64 * 1024);
        let writer = tokio::spawn(write_loop(Box::new(stdin), queue));
        let line = vec![b'x'; 256 * 1024];
        let mut queued = 0;
        while tokio::time::timeout(Duration::from_millis(100), outbox.send(line.clone()))
            .await
            .is_ok()
        {
            queued += 1;
            assert!(queued < 16, "the queue is bounded");
        }
        // The budget (1 MiB) and the pipe (64 KiB) hold about 4 lines.
        assert!((3..=6).contains(&queued), "{queued} lines queued");
        // A line over the budget waits until it is written.
        let huge = outbox.send(vec![b'y'; 3 << 20]);
        let reader = async {
            let mut total = 0;
            let mut buf = vec![0; 1 << 16];
            while total < queued * line.len() + (3 << 20) {
                total += cli.read(&mut buf).await.unwrap();
            }
            total
        };
        let (sent, _) = tokio::join!(huge, reader);
        sent.unwrap();
        outbox.close();
        writer.await.unwrap();
        assert!(matches!(
            outbox.send(b"late".to_vec()).await,
            Err(Error::NotConnected)
        ));
    }

    /// The router's answers never wait, but past their budget the router does,
    /// until they are written; a notification is sent while the budget has
    /// room and dropped when it has none.
    #[tokio::test]
    async fn the_routers_answers_and_notifications_stay_bounded_without_waiting() {
        let (outbox, queue) = channel();
        let (stdin, mut cli) = tokio::io::duplex(1024);
        let writer = tokio::spawn(write_loop(Box::new(stdin), queue));
        let answer = vec![b'a'; 1023];
        for _ in 0..100 {
            outbox.send_urgent(answer.clone()).unwrap();
        }
        let waited = tokio::time::timeout(Duration::from_millis(50), outbox.urgent_room()).await;
        assert!(waited.is_err(), "100 KiB of answers are over their budget");
        // Unread, the budgeted lines fill the budget: a notification is dropped.
        for _ in 0..4 {
            outbox.send(vec![b'l'; 256 * 1024]).await.unwrap();
        }
        assert!(!outbox.try_send(b"note".to_vec()));
        let total = 100 * answer.len() + 4 * 256 * 1024;
        let reader = async {
            let mut read = 0;
            let mut buf = vec![0; 1 << 16];
            while read < total {
                read += cli.read(&mut buf).await.unwrap();
            }
        };
        tokio::join!(reader, outbox.urgent_room());
        assert!(outbox.try_send(b"note\n".to_vec()), "room again");
        outbox.close();
        writer.await.unwrap();
    }

    /// A pipe that takes at most `PART` bytes per write, vectored or not, and
    /// counts its vectored writes.
    struct Trickle {
        inner: tokio::io::DuplexStream,
        vectored: Arc<std::sync::atomic::AtomicUsize>,
    }

    const PART: usize = 100;

    impl AsyncWrite for Trickle {
        fn poll_write(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<std::io::Result<usize>> {
            let part = &buf[..buf.len().min(PART)];
            Pin::new(&mut self.inner).poll_write(cx, part)
        }

        fn poll_write_vectored(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            bufs: &[IoSlice<'_>],
        ) -> Poll<std::io::Result<usize>> {
            self.vectored
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let joined: Vec<u8> = bufs.iter().flat_map(|buf| buf.iter().copied()).collect();
            let part = &joined[..joined.len().min(PART)];
            Pin::new(&mut self.inner).poll_write(cx, part)
        }

        fn is_write_vectored(&self) -> bool {
            true
        }

        fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Pin::new(&mut self.inner).poll_flush(cx)
        }

        fn poll_shutdown(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<std::io::Result<()>> {
            Pin::new(&mut self.inner).poll_shutdown(cx)
        }
    }

    /// Lines sent while the queue is corked are not written until it is
    /// uncorked; then they leave in vectored writes, which the pipe may take
    /// in part (here 100 bytes at a time): every line arrives whole, in order.
    #[tokio::test]
    async fn a_corked_batch_leaves_whole_and_in_order_in_vectored_writes() {
        let (outbox, queue) = channel();
        let (stdin, mut cli) = tokio::io::duplex(1 << 20);
        let vectored = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let stdin = Trickle {
            inner: stdin,
            vectored: vectored.clone(),
        };
        let writer = tokio::spawn(write_loop(Box::new(stdin), queue));
        // The writer task takes stdin on its first poll.
        tokio::task::yield_now().await;
        outbox.cork();
        let lines: Vec<String> = (0..50)
            .map(|n| format!("line {n} {}\n", "x".repeat(n * 7)))
            .collect();
        for line in &lines {
            outbox.send(line.clone().into_bytes()).await.unwrap();
        }
        let mut byte = [0u8; 1];
        let early = tokio::time::timeout(Duration::from_millis(50), cli.read(&mut byte)).await;
        assert!(early.is_err(), "nothing is written while corked");
        outbox.uncork();
        outbox.close();
        writer.await.unwrap();
        let mut all = String::new();
        cli.read_to_string(&mut all).await.unwrap();
        assert_eq!(all, lines.concat());
        assert!(vectored.load(std::sync::atomic::Ordering::Relaxed) > 0);
    }
}
