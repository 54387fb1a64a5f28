//! Where the protocol core and the user's handlers run.
//!
//! The core of a session (the router, the writer, the supervisor, and the
//! transport's own tasks) runs on a thread of its own with a current-thread
//! runtime, so that no user code shares an executor thread with it: a tool,
//! hook or permission handler that blocks (`std::thread::sleep`, CPU-heavy
//! work) or a busy application runtime delays only its own request, and the
//! router keeps reading, answering and cancelling.
//!
//! Handlers run on the user's runtime when it has worker threads to spare (a
//! multi-thread runtime, the `#[tokio::main]` default): their `tokio::spawn`,
//! I/O and timers are the application's. On a current-thread runtime the one
//! thread is the application's own, and a blocking handler would hold up every
//! other handler, so they run on a small multi-thread runtime of the SDK.

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::{Handle, RuntimeFlavor};

use crate::error::{Error, Result};
use crate::handler::BoxFuture;

/// Worker threads of the SDK's handler runtime (used under a current-thread runtime).
const HANDLER_WORKERS: usize = 2;

/// Where a session's handlers are spawned: the calling runtime if it is
/// multi-thread, else the SDK's handler runtime.
pub(super) fn handler_runtime() -> Handle {
    let current = Handle::current();
    match current.runtime_flavor() {
        RuntimeFlavor::CurrentThread => sdk_handler_runtime(),
        _ => current,
    }
}

fn sdk_handler_runtime() -> Handle {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(HANDLER_WORKERS)
                .thread_name("agent-sdk-handler")
                .enable_all()
                .build()
                .expect("building the SDK's handler runtime")
        })
        .handle()
        .clone()
}

/// Starts a session's core thread: runs `start` on its runtime and hands its
/// output back; the thread then serves the tasks `start` spawned until the
/// future it returned (the core's end) completes, and exits.
pub(super) async fn spawn_core<T, F, Fut>(start: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = Result<(T, BoxFuture<'static, ()>)>>,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| Error::Io(std::io::Error::other(format!("the session runtime: {err}"))))?;
    let (started_tx, started_rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("agent-sdk-core".into())
        .spawn(move || {
            runtime.block_on(async move {
                match start().await {
                    Ok((output, core)) => {
                        // Served even if the caller is gone: the core stops the CLI.
                        let _ = started_tx.send(Ok(output));
                        core.await;
                    }
                    Err(err) => {
                        let _ = started_tx.send(Err(err));
                    }
                }
            });
        })
        .map_err(|err| Error::Io(std::io::Error::other(format!("the session thread: {err}"))))?;
    started_rx.await.map_err(|_| Error::NotConnected)?
}
