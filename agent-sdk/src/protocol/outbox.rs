//! The bounded write queue to the CLI's stdin, and the writer task that drains it.
//!
//! A sender waits for room in the budget (in KiB of line) before its line is
//! queued, so a CLI that stops reading holds back the callers instead of
//! growing the queue; a line larger than the whole budget also waits until it
//! is written. Only the router writes past the budget ([`Outbox::send_now`]):
//! it must never wait on the CLI's stdin while the CLI waits on its stdout,
//! and what it writes are short answers to requests it could not read.

use std::sync::Arc;

use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::error::{Error, Result};

/// The budget: at most this many KiB of lines queued and not yet written.
const BUDGET_KIB: u32 = 1024;

/// A command for the writer task.
enum Command {
    Line {
        line: Vec<u8>,
        /// KiB of budget to give back once written.
        units: u32,
        /// Told once the line is written (for lines over the budget).
        written: Option<oneshot::Sender<()>>,
    },
    /// Close stdin (EOF for the CLI).
    Close,
}

/// The sending end, shared by everyone who writes to the CLI.
pub(crate) struct Outbox {
    tx: mpsc::UnboundedSender<Command>,
    budget: Arc<Semaphore>,
}

/// The writer task's end.
pub(crate) struct WriteQueue {
    rx: mpsc::UnboundedReceiver<Command>,
    budget: Arc<Semaphore>,
}

pub(crate) fn channel() -> (Outbox, WriteQueue) {
    let (tx, rx) = mpsc::unbounded_channel();
    let budget = Arc::new(Semaphore::new(BUDGET_KIB as usize));
    let outbox = Outbox {
        tx,
        budget: budget.clone(),
    };
    (outbox, WriteQueue { rx, budget })
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
        let command = Command::Line {
            line,
            units,
            written,
        };
        if self.tx.send(command).is_err() {
            self.budget.add_permits(units as usize);
            return Err(Error::NotConnected);
        }
        if let Some(done) = done {
            done.await.map_err(|_| Error::NotConnected)?;
        }
        Ok(())
    }

    /// Queues `line` at once, outside the budget (the router's own short answers).
    pub(crate) fn send_now(&self, line: Vec<u8>) -> Result<()> {
        let command = Command::Line {
            line,
            units: 0,
            written: None,
        };
        self.tx.send(command).map_err(|_| Error::NotConnected)
    }

    /// Asks the writer to close stdin after the lines queued before.
    pub(crate) fn close(&self) {
        let _ = self.tx.send(Command::Close);
    }
}

/// The writer task: the only place that touches the CLI's stdin.
pub(crate) async fn write_loop(mut stdin: Box<dyn AsyncWrite + Send + Unpin>, queue: WriteQueue) {
    let WriteQueue { mut rx, budget } = queue;
    let mut broken = false;
    while let Some(command) = rx.recv().await {
        let Command::Line {
            line,
            units,
            written,
        } = command
        else {
            break;
        };
        if !broken {
            // A CLI that stopped reading blocks only this task (and the senders
            // waiting for budget), never the router.
            if let Err(err) = stdin.write_all(&line).await {
                tracing::debug!(%err, "writing to the CLI failed");
                broken = true;
            } else if rx.is_empty()
                && let Err(err) = stdin.flush().await
            {
                tracing::debug!(%err, "flushing the CLI's stdin failed");
                broken = true;
            }
        }
        drop(line);
        if units > 0 {
            budget.add_permits(units as usize);
        }
        if let Some(written) = written {
            let _ = written.send(());
        }
    }
    // Senders still waiting for room learn that the session is over.
    budget.close();
    let _ = stdin.shutdown().await;
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::AsyncReadExt;

    use super::*;

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
}
