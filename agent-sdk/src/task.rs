//! Spawning the SDK's own background tasks (a session's writer, router and
//! supervisor, the stderr pump, the store's mirror): each boxed, so all are
//! one task type. A leaf: it imports nothing from the crate but `BoxFuture`.
//!
//! Why boxed: tokio compiles its task machinery (poll, complete, shutdown,
//! join) once per future type, about 3.5 KiB of code each; and a future passed
//! by value is copied through every inlined frame of the spawn path, so a
//! 3 KiB router future made the core thread's frame 33 KiB of stack. A box is
//! one pointer, and one allocation per task, made when a session starts.

use std::future::Future;

use tokio::runtime::Handle;
use tokio::task::JoinHandle;

use crate::handler::BoxFuture;

/// Spawns `future` on the current runtime, boxed (panics outside a runtime, as `tokio::spawn`).
pub(crate) fn spawn(future: impl Future<Output = ()> + Send + 'static) -> JoinHandle<()> {
    spawn_boxed(Box::pin(future))
}

/// Spawns `future` on `runtime`, boxed.
pub(crate) fn spawn_on(
    runtime: &Handle,
    future: impl Future<Output = ()> + Send + 'static,
) -> JoinHandle<()> {
    spawn_boxed_on(runtime, Box::pin(future))
}

/// Spawns an already boxed task on the current runtime.
fn spawn_boxed(future: BoxFuture<'static, ()>) -> JoinHandle<()> {
    tokio::spawn(future)
}

/// Spawns an already boxed task on `runtime`.
pub(crate) fn spawn_boxed_on(runtime: &Handle, future: BoxFuture<'static, ()>) -> JoinHandle<()> {
    runtime.spawn(future)
}
