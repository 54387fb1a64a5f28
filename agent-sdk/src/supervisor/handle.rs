//! [`SessionHandle`]: sends a session's turns and reads their messages.

use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};

use futures_core::Stream;
use tokio::sync::{broadcast, mpsc};

use super::core::{Slot, TurnRequest, lock};
use super::error::SupervisorError;
use super::status::SessionState;
use crate::message::{Message, UserInput};

/// How often [`SessionHandle::ready`] looks at the session's state.
const READY_POLL: std::time::Duration = std::time::Duration::from_millis(10);

/// A handle to one named session, from [`Supervisor::session`](super::Supervisor::session).
///
/// Cheap to clone. Turns run one at a time in the order they were sent; a turn
/// sent while another runs waits in the session's queue. Once the session is
/// terminated the handle answers [`SupervisorError::NoSuchSession`].
///
/// ```no_run
/// use agent_sdk::prelude::*;
/// # async fn run(supervisor: &agent_sdk::supervisor::Supervisor<&'static str>) -> Result<(), agent_sdk::supervisor::SupervisorError> {
/// let alice = supervisor.session(&"alice").expect("started");
/// let mut turn = alice.send("Hello!")?;
/// while let Some(message) = turn.next().await {
///     if let Message::Assistant(reply) = message? {
///         println!("{}", reply.text());
///     }
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct SessionHandle {
    slot: Weak<Slot>,
    queue_bound: usize,
}

impl std::fmt::Debug for SessionHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionHandle").finish_non_exhaustive()
    }
}

impl SessionHandle {
    pub(super) fn new(slot: &Arc<Slot>, queue_bound: usize) -> Self {
        Self {
            slot: Arc::downgrade(slot),
            queue_bound,
        }
    }

    fn slot(&self) -> Result<Arc<Slot>, SupervisorError> {
        self.slot.upgrade().ok_or(SupervisorError::NoSuchSession)
    }

    /// Queues a turn and returns its messages, up to and including its result.
    ///
    /// Past the queue bound: [`SupervisorError::QueueFull`], and nothing is queued.
    /// Dropping the returned stream does not cancel the turn (it runs to its end);
    /// the session goes on with the next one.
    pub fn send(&self, prompt: impl Into<UserInput>) -> Result<TurnStream, SupervisorError> {
        let slot = self.slot()?;
        let (reply, receiver) = mpsc::unbounded_channel();
        let request = TurnRequest {
            prompt: prompt.into(),
            reply,
            span: tracing::Span::current(),
        };
        slot.turns.try_send(request).map_err(|err| match err {
            mpsc::error::TrySendError::Full(_) => SupervisorError::QueueFull {
                bound: self.queue_bound,
            },
            mpsc::error::TrySendError::Closed(_) => SupervisorError::NoSuchSession,
        })?;
        Ok(TurnStream { receiver })
    }

    /// Waits until the session has a connected CLI (or needs none: evicted);
    /// [`SupervisorError::Failed`] if it was given up.
    ///
    /// ```no_run
    /// # async fn wait(session: agent_sdk::supervisor::SessionHandle) -> Result<(), agent_sdk::supervisor::SupervisorError> {
    /// session.ready().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn ready(&self) -> Result<(), SupervisorError> {
        loop {
            let (state, last_error) = {
                let slot = self.slot()?;
                let status = lock(&slot.status);
                (status.state, status.last_error.clone())
            };
            match state {
                SessionState::Starting | SessionState::Restarting => {}
                SessionState::Failed => {
                    return Err(SupervisorError::Failed {
                        last_error: last_error.unwrap_or_default(),
                    });
                }
                _ => return Ok(()),
            }
            // Starting takes hundreds of milliseconds; a short poll costs nothing next to it.
            tokio::time::sleep(READY_POLL).await;
        }
    }

    /// Interrupts the running turn, if any (its stream ends with its result);
    /// waiting turns run after it. Nothing happens without a live CLI.
    ///
    /// ```no_run
    /// # async fn stop(session: agent_sdk::supervisor::SessionHandle) -> Result<(), agent_sdk::supervisor::SupervisorError> {
    /// session.interrupt().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn interrupt(&self) -> Result<(), SupervisorError> {
        let live = lock(&self.slot()?.live).clone();
        match live {
            Some(live) => Ok(live.client.interrupt().await?),
            None => Ok(()),
        }
    }

    /// Every message of every later turn, as it arrives. While a subscriber
    /// lives, idle eviction leaves the session alone. A subscriber that falls
    /// more than 256 messages behind skips ahead.
    ///
    /// ```no_run
    /// use agent_sdk::prelude::*;
    /// # async fn watch(session: agent_sdk::supervisor::SessionHandle) -> Result<(), agent_sdk::supervisor::SupervisorError> {
    /// let mut messages = session.subscribe()?;
    /// while let Some(message) = messages.next().await {
    ///     println!("{message:?}");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn subscribe(&self) -> Result<Subscription, SupervisorError> {
        Ok(Subscription {
            receiver: self.slot()?.messages.subscribe(),
        })
    }
}

/// The messages of one turn; ends after the turn's result (or its error).
/// `Unpin`, so `turn.next().await` needs no `pin!`.
///
/// ```no_run
/// use agent_sdk::prelude::*;
/// # async fn read(mut turn: agent_sdk::supervisor::TurnStream) {
/// while let Some(message) = turn.next().await {
///     println!("{message:?}");
/// }
/// # }
/// ```
#[derive(Debug)]
pub struct TurnStream {
    receiver: mpsc::UnboundedReceiver<Result<Message, SupervisorError>>,
}

impl Stream for TurnStream {
    type Item = Result<Message, SupervisorError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.receiver.poll_recv(cx)
    }
}

/// A live subscriber of a session's messages, from [`SessionHandle::subscribe`].
///
/// ```no_run
/// # fn keep(subscription: agent_sdk::supervisor::Subscription) {
/// drop(subscription); // the session may be evicted when idle again
/// # }
/// ```
#[derive(Debug)]
pub struct Subscription {
    receiver: broadcast::Receiver<Message>,
}

impl Subscription {
    /// The next message; `None` once the session is gone.
    pub async fn next(&mut self) -> Option<Message> {
        loop {
            match self.receiver.recv().await {
                Ok(message) => return Some(message),
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}
