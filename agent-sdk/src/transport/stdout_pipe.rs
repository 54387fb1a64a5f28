//! The CLI's stdout, readable two ways: the protocol core takes the pipe
//! itself to read it with blocking reads on threads of its own (Unix; see
//! [`Connection::take_stdout_pipe`](super::Connection::take_stdout_pipe)), and
//! whoever else gets the connection reads it as an `AsyncRead`: whichever
//! comes first has it. The core takes the pipe only while the connection's
//! `reader` is still the [`StdoutReader`] itself: a transport that wraps it
//! (to record what the CLI writes, say) gets every byte through its wrapper.

use std::pin::Pin;
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, ReadBuf};
use tokio::process::ChildStdout;

type Slot = Arc<Mutex<Option<ChildStdout>>>;

/// The pipe, for the protocol core.
pub(crate) struct StdoutPipe {
    slot: Slot,
    /// Alive while the [`StdoutReader`] is.
    reader: Weak<()>,
    /// Where the [`StdoutReader`] lives (boxed): a live reader at the address
    /// of the connection's `reader` is that reader, not a wrapper of it.
    reader_at: usize,
}

/// The pipe as an `AsyncRead`: at its end at once if the core took the pipe.
pub(crate) struct StdoutReader {
    slot: Slot,
    stdout: Option<ChildStdout>,
    _alive: Arc<()>,
}

/// Both ends over one `stdout`.
pub(crate) fn split(stdout: ChildStdout) -> (Box<StdoutReader>, StdoutPipe) {
    let slot: Slot = Arc::new(Mutex::new(Some(stdout)));
    let alive = Arc::new(());
    let pipe = StdoutPipe {
        slot: slot.clone(),
        reader: Arc::downgrade(&alive),
        reader_at: 0,
    };
    let reader = Box::new(StdoutReader {
        slot,
        stdout: None,
        _alive: alive,
    });
    let reader_at = address(&*reader);
    (reader, StdoutPipe { reader_at, ..pipe })
}

fn address<T: ?Sized>(value: &T) -> usize {
    std::ptr::from_ref(value).cast::<()>() as usize
}

impl StdoutPipe {
    /// The pipe as a blocking file, if `reader` (the connection's) is still
    /// the [`StdoutReader`] and nobody has read it (not on Windows, where the
    /// pipe stays with the `AsyncRead` end). Must run inside the runtime that
    /// registered the pipe (it deregisters it).
    pub(crate) fn into_file(
        self,
        reader: &(dyn AsyncRead + Send + Unpin),
    ) -> Option<std::fs::File> {
        if self.reader.strong_count() == 0 || address(reader) != self.reader_at {
            return None;
        }
        #[cfg(unix)]
        {
            let stdout = self
                .slot
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .take()?;
            match stdout.into_owned_fd() {
                Ok(fd) => Some(std::fs::File::from(fd)),
                Err(err) => {
                    tracing::warn!(%err, "could not take the CLI's stdout pipe; it is not read");
                    None
                }
            }
        }
        #[cfg(not(unix))]
        {
            let _ = self.slot;
            None
        }
    }
}

impl AsyncRead for StdoutReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        if this.stdout.is_none() {
            this.stdout = this
                .slot
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .take();
        }
        match this.stdout.as_mut() {
            Some(stdout) => Pin::new(stdout).poll_read(cx, buf),
            // Taken by the protocol core: nothing to read here.
            None => Poll::Ready(Ok(())),
        }
    }
}
