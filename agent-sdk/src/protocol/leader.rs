//! Reading the CLI's stdout on a thread that also starts the handlers
//! (leader/follower), for a transport that gives the pipe itself.
//!
//! A `tools/call` costs one thread crossing less when the thread that reads
//! the request runs its handler: on one core a crossing is a wake-up and a
//! context switch, as much as the rest of the call. So the thread holding the
//! *reading role* (stdout, the router and its framer, under one mutex) reads a
//! chunk, routes its lines, and then runs each request's first poll itself,
//! with the role released; a handler that is not done in that poll goes on as
//! a task of the handlers' runtime, and the thread takes the role back.
//!
//! Isolation stays: a handler that blocks in its first poll holds up its own
//! thread only. A watchdog looks every few milliseconds while inline polls
//! happen, and when one runs longer than [`TAKEOVER_AFTER`] it starts another
//! thread, which takes the role and reads on; the first thread ends once its
//! handler returns. The watchdog sleeps when no session has polled inline for
//! a while, so an idle process has no timer, and a call costs a clock read
//! and a few atomic operations, not a wake-up.

use std::future::Future;
use std::io::Read;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, Weak};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::incoming::Job;
use super::lock;

/// An inline first poll running longer than this hands reading to another thread.
const TAKEOVER_AFTER: Duration = Duration::from_millis(5);
/// How often the watchdog looks while inline polls happen.
const TICK: Duration = Duration::from_millis(2);
/// The watchdog sleeps once no session has started an inline poll for this long.
const IDLE_AFTER: Duration = Duration::from_millis(250);
/// Bytes per read. Every line of a read is parsed before the reader of the
/// messages gets a turn, so a read is also a batch: 32 KiB is a few dozen
/// frames, which the reader takes (and frees) while the allocator still has
/// their memory at hand. 256 KiB batches of ~330 frames cost 25% more CPU per
/// frame, most of it in `malloc`/`free` slow paths (measured with callgrind).
pub(super) const READ_CHUNK: usize = 32 * 1024;
/// The read buffer's first size (see [`ReadBuffer`]).
const FIRST_READ: usize = 4 * 1024;

/// The buffer stdout is read into. It starts at [`FIRST_READ`] and doubles,
/// up to [`READ_CHUNK`], each time a read fills it: a reader must hand `read`
/// initialized memory, and a `READ_CHUNK` zeroed up front stays resident in an
/// idle session that read a few KiB of handshake.
pub(super) struct ReadBuffer(Vec<u8>);

impl ReadBuffer {
    pub(super) fn new() -> ReadBuffer {
        ReadBuffer(vec![0; FIRST_READ])
    }

    /// Where the next read goes.
    pub(super) fn space(&mut self) -> &mut [u8] {
        &mut self.0
    }

    /// After a read of `n` bytes (handled): the next read may take more if this one filled the buffer.
    pub(super) fn grow_if_filled(&mut self, n: usize) {
        if n == self.0.len() && n < READ_CHUNK {
            self.0.resize(n * 2, 0);
        }
    }
}

/// What the thread holding the reading role drives: the router and its framer.
pub(super) trait Reading: Send + 'static {
    /// Waits (blocking this thread) until more may be read.
    fn before_read(&mut self);
    /// Routes one chunk read from stdout.
    fn on_chunk(&mut self, chunk: &[u8]);
    /// A request routed and not yet started, oldest first.
    fn take_job(&mut self) -> Option<Job>;
}

/// The reading role: whoever holds the lock reads and routes.
struct Role<R> {
    stdout: std::fs::File,
    buf: ReadBuffer,
    /// `None` once stdout has ended (the reading went back to the core's task).
    reading: Option<R>,
    done: Option<oneshot::Sender<R>>,
}

struct Leadership<R> {
    role: Mutex<Role<R>>,
    /// When the leader's running inline poll started ([`clock`]), 0 when none.
    /// A thread leaves the role by swapping this from its start to 0: whoever
    /// wins that swap, the leader coming back or the thread taking over, leads.
    busy_since: AtomicU64,
    /// When the last inline poll started: the watchdog stays awake while recent.
    last_poll: AtomicU64,
    /// A thread to take over was started and has not tried yet.
    takeover_started: AtomicBool,
}

/// Reads `stdout` on threads of its own until it ends (or fails), running
/// handlers' first polls inline; then hands `reading` back.
/// `None` if no thread could be started or one panicked.
pub(super) async fn run<R: Reading>(stdout: std::fs::File, reading: R) -> Option<R> {
    let (done_tx, done_rx) = oneshot::channel();
    let leadership = Arc::new(Leadership {
        role: Mutex::new(Role {
            stdout,
            buf: ReadBuffer::new(),
            reading: Some(reading),
            done: Some(done_tx),
        }),
        busy_since: AtomicU64::new(0),
        last_poll: AtomicU64::new(0),
        takeover_started: AtomicBool::new(false),
    });
    watchdog().watch(Arc::downgrade(&leadership) as Weak<dyn Watched>);
    let first = leadership.clone();
    if let Err(err) = start_thread(move || lead(&first)) {
        tracing::error!(%err, "could not start the thread reading the CLI's stdout");
        let mut role = lock(&leadership.role);
        return role.reading.take();
    }
    done_rx.await.ok()
}

fn start_thread(body: impl FnOnce() + Send + 'static) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("agent-sdk-read".into())
        .spawn(body)
        .map(drop)
}

/// The leader's loop: start the requests read, else read on. Returns when
/// stdout ends or another thread took the role over.
fn lead<R: Reading>(leadership: &Leadership<R>) {
    loop {
        let mut guard = lock(&leadership.role);
        let role = &mut *guard;
        let Some(reading) = role.reading.as_mut() else {
            return;
        };
        if let Some(job) = reading.take_job() {
            // Released while the handler runs: a thread taking over needs it.
            drop(guard);
            if !leadership.poll_inline(job) {
                return;
            }
            continue;
        }
        reading.before_read();
        let read = loop {
            match role.stdout.read(role.buf.space()) {
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
                other => break other,
            }
        };
        match read {
            Ok(n) if n > 0 => {
                reading.on_chunk(&role.buf.space()[..n]);
                role.buf.grow_if_filled(n);
            }
            end => {
                if let Err(err) = end {
                    tracing::debug!(%err, "reading the CLI's stdout failed");
                }
                if let (Some(reading), Some(done)) = (role.reading.take(), role.done.take()) {
                    let _ = done.send(reading);
                }
                return;
            }
        }
    }
}

impl<R: Reading> Leadership<R> {
    /// Runs `job`'s first poll on this thread; false when another thread took
    /// the role over meanwhile (this one then stops).
    fn poll_inline(&self, job: Job) -> bool {
        let started = clock();
        self.busy_since.store(started, Ordering::SeqCst);
        self.last_poll.store(started, Ordering::Relaxed);
        watchdog().poll_started();
        job.run_inline();
        self.busy_since
            .compare_exchange(started, 0, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    }
}

/// What the watchdog sees of a session.
trait Watched: Send + Sync {
    /// Hands the role over if the leader's inline poll has run too long; true
    /// while the session polls inline (the watchdog stays awake).
    fn check(self: Arc<Self>, now: u64) -> bool;
}

impl<R: Reading> Watched for Leadership<R> {
    fn check(self: Arc<Self>, now: u64) -> bool {
        let since = self.busy_since.load(Ordering::SeqCst);
        if since != 0
            && now.saturating_sub(since) > TAKEOVER_AFTER.as_nanos() as u64
            && !self.takeover_started.swap(true, Ordering::SeqCst)
        {
            let leadership = self.clone();
            let started = start_thread(move || {
                leadership.takeover_started.store(false, Ordering::SeqCst);
                let won = leadership
                    .busy_since
                    .compare_exchange(since, 0, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok();
                if won {
                    tracing::debug!("a handler blocks in its first poll; another thread reads on");
                    lead(&leadership);
                }
            });
            if let Err(err) = started {
                // Tried again at the next tick; the blocked thread leads on when it returns.
                self.takeover_started.store(false, Ordering::SeqCst);
                tracing::warn!(%err, "could not start a thread to read the CLI's stdout");
            }
        }
        since != 0
            || now.saturating_sub(self.last_poll.load(Ordering::Relaxed))
                < IDLE_AFTER.as_nanos() as u64
    }
}

/// The one watchdog of the process, over every session reading on threads.
struct Watchdog {
    sessions: Mutex<Vec<Weak<dyn Watched>>>,
    asleep: AtomicBool,
    wake_lock: Mutex<()>,
    wake: Condvar,
}

fn watchdog() -> &'static Watchdog {
    static WATCHDOG: OnceLock<Watchdog> = OnceLock::new();
    let mut first = false;
    let watchdog = WATCHDOG.get_or_init(|| {
        first = true;
        Watchdog {
            sessions: Mutex::default(),
            // Until its thread runs: a session's first poll then wakes nothing.
            asleep: AtomicBool::new(false),
            wake_lock: Mutex::new(()),
            wake: Condvar::new(),
        }
    });
    if first {
        let started = std::thread::Builder::new()
            .name("agent-sdk-watchdog".into())
            .spawn(move || watchdog.watch_loop());
        if let Err(err) = started {
            tracing::error!(%err, "could not start the watchdog of inline handlers: a blocking handler now delays reading");
        }
    }
    watchdog
}

impl Watchdog {
    fn watch(&self, session: Weak<dyn Watched>) {
        lock(&self.sessions).push(session);
    }

    /// Called as an inline poll starts: wakes the watchdog if it sleeps.
    fn poll_started(&self) {
        if self.asleep.load(Ordering::SeqCst) {
            let _guard = lock(&self.wake_lock);
            self.asleep.store(false, Ordering::SeqCst);
            self.wake.notify_one();
        }
    }

    fn watch_loop(&self) {
        loop {
            std::thread::sleep(TICK);
            if self.check_all() {
                continue;
            }
            let mut guard = lock(&self.wake_lock);
            self.asleep.store(true, Ordering::SeqCst);
            // A poll that started before `asleep` was set did not wake us: look once more.
            if self.check_all() {
                self.asleep.store(false, Ordering::SeqCst);
                continue;
            }
            while self.asleep.load(Ordering::SeqCst) {
                guard = self
                    .wake
                    .wait(guard)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
            }
        }
    }

    /// Checks every session; true while any polls inline.
    fn check_all(&self) -> bool {
        let now = clock();
        let sessions: Vec<Arc<dyn Watched>> = {
            let mut sessions = lock(&self.sessions);
            sessions.retain(|session| session.strong_count() > 0);
            sessions.iter().filter_map(Weak::upgrade).collect()
        };
        let mut active = false;
        for session in sessions {
            active |= session.check(now);
        }
        active
    }
}

/// Nanoseconds since the first call, from 1 (0 means "none").
fn clock() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64 + 1
}

/// Runs `future` to completion on this thread (the reading thread's waits:
/// room in the reader's queue, our answers written).
pub(super) fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let mut future = pin!(future);
    // Nearly always ready at once: no waker to allocate then.
    if let Poll::Ready(output) = future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        return output;
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        std::thread::park();
    }
}
