//! The bounded queue of conversation messages, from the router to the reader
//! of the session.
//!
//! Bounded in messages and bytes by one budget: each message costs one unit
//! plus one per KiB of its line. When the budget is spent the router keeps
//! the messages it already parsed in its backlog and stops reading the CLI's
//! stdout, so the pipe fills and the CLI waits: memory stays bounded however
//! slowly the user reads. (The router reads on regardless while a control
//! request of ours waits for its answer: see `router::route`.)
//!
//! Conversation frames (`assistant`, `user`, `stream_event`: nearly every
//! line of a turn) travel as their line and are parsed by the reader, on the
//! reader's thread: the core thread only copies the line, and a message is
//! allocated and freed on one thread (see [`Item`]).
//!
//! A [`Relay`] (the session store's mirror) may sit between the router and the
//! reader: what it passes on keeps its units until the reader takes it, and
//! what it keeps back (mirror frames) gives them back at once, so the one
//! budget bounds both queues.

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::sync::{Semaphore, mpsc};

use crate::error::Result;
use crate::message::Message;

/// Units of budget: at most this many messages queued, or this many KiB of their
/// lines. A read of 32 KiB is ~40 frames: a few reads' worth keeps the reader
/// busy while the router refills, and peak memory stays small.
const BUDGET_UNITS: u32 = 256;
/// Bytes of line per unit beyond the first.
const UNIT_BYTES: usize = 1024;

/// What the router queues.
enum Item {
    /// Read by the router already (control-adjacent frames it acts on:
    /// `result`, `system`, ...), or an error. Boxed: a queued item is then a
    /// few words, not the 600 bytes of a `Message`.
    Ready(Box<Result<Message>>),
    /// A conversation line the reader parses when it takes it.
    Line(Vec<u8>),
}

impl Item {
    fn into_message(self) -> Result<Message> {
        match self {
            Item::Ready(item) => *item,
            Item::Line(line) => Ok(Message::from_slice(&line).unwrap_or_else(|err| {
                tracing::warn!(%err, line = %String::from_utf8_lossy(&line[..line.len().min(200)]), "a line from the CLI could not be read");
                Message::malformed(&line, err)
            })),
        }
    }
}

/// An item with the units it holds from the budget.
pub(crate) struct Queued {
    item: Item,
    units: u32,
}

impl Queued {
    /// The message (or error) if the router read it; `None` for a
    /// conversation line left to the reader.
    pub(crate) fn item(&self) -> Option<&Result<Message>> {
        match &self.item {
            Item::Ready(item) => Some(&**item),
            Item::Line(_) => None,
        }
    }
}

/// The reading end: [`recv`](Inbox::recv) gives the units back as it takes an item.
pub(crate) struct Inbox {
    rx: mpsc::UnboundedReceiver<Queued>,
    budget: Arc<Semaphore>,
}

impl Inbox {
    /// The next message; `None` once the session has ended and the queue is empty.
    pub(crate) async fn recv(&mut self) -> Option<Result<Message>> {
        let queued = self.rx.recv().await?;
        if queued.units > 0 {
            self.budget.add_permits(queued.units as usize);
        }
        Some(queued.item.into_message())
    }
}

/// A sender outside the budget, for the few items that do not come from the
/// CLI's stdout (the session store's mirror and its error reports).
#[derive(Clone)]
pub(crate) struct MessageTx {
    tx: mpsc::UnboundedSender<Queued>,
}

impl MessageTx {
    /// Queues `item` without waiting; false once the reader is gone.
    pub(crate) fn send(&self, item: Result<Message>) -> bool {
        let item = Item::Ready(Box::new(item));
        self.tx.send(Queued { item, units: 0 }).is_ok()
    }
}

/// A new queue: the budgeted sender of the router, and the reading end.
pub(crate) fn channel() -> (InboxSender, Inbox) {
    let (tx, rx) = mpsc::unbounded_channel();
    let budget = Arc::new(Semaphore::new(BUDGET_UNITS as usize));
    let inbox = Inbox {
        rx,
        budget: budget.clone(),
    };
    let sender = InboxSender {
        tx,
        budget,
        backlog: VecDeque::new(),
    };
    (sender, inbox)
}

/// The router's end: items wait in a backlog until the budget has room for them.
pub(crate) struct InboxSender {
    tx: mpsc::UnboundedSender<Queued>,
    budget: Arc<Semaphore>,
    backlog: VecDeque<Queued>,
}

impl InboxSender {
    /// Puts a relay between this sender and the reader: from now on what is
    /// pushed here goes to the relay, which passes it on (or keeps it back).
    pub(crate) fn relay(&mut self) -> Relay {
        let (tx, rx) = mpsc::unbounded_channel();
        let to_reader = std::mem::replace(&mut self.tx, tx);
        Relay {
            rx,
            to_reader,
            budget: self.budget.clone(),
        }
    }

    /// Adds `item`, read from a line of `bytes` bytes, to the backlog.
    pub(crate) fn push(&mut self, item: Result<Message>, bytes: usize) {
        self.push_item(Item::Ready(Box::new(item)), bytes);
    }

    /// Adds a conversation line, for the reader to parse, to the backlog.
    pub(crate) fn push_line(&mut self, line: &[u8]) {
        self.push_item(Item::Line(line.to_vec()), line.len());
    }

    fn push_item(&mut self, item: Item, bytes: usize) {
        let units = (1 + bytes / UNIT_BYTES).min(BUDGET_UNITS as usize) as u32;
        self.backlog.push_back(Queued { item, units });
    }

    /// Moves what fits in the budget from the backlog to the queue; true when
    /// the backlog is empty (or the reader is gone, and it was dropped).
    pub(crate) fn flush(&mut self) -> bool {
        if self.tx.is_closed() {
            self.backlog.clear();
            return true;
        }
        while let Some(front) = self.backlog.front() {
            match self.budget.try_acquire_many(front.units) {
                Ok(permit) => permit.forget(),
                Err(_) => return false,
            }
            let queued = self.backlog.pop_front().expect("front exists");
            let _ = self.tx.send(queued);
        }
        true
    }

    /// Waits until the first item of the backlog fits, and queues it; returns
    /// at once when the backlog is empty or the reader is gone.
    /// Cancel-safe: an item is queued only when the wait completes.
    pub(crate) async fn wait_for_room(&mut self) {
        let Some(units) = self.backlog.front().map(|front| front.units) else {
            return;
        };
        tokio::select! {
            acquired = self.budget.acquire_many(units) => {
                if let Ok(permit) = acquired {
                    permit.forget();
                    let queued = self.backlog.pop_front().expect("front exists");
                    let _ = self.tx.send(queued);
                }
            }
            () = self.tx.closed() => self.backlog.clear(),
        }
    }

    /// Drops the backlog: nobody is going to read it (the session is shutting down).
    pub(crate) fn discard(&mut self) {
        self.backlog.clear();
    }

    /// Messages parsed but not yet queued.
    #[cfg(test)]
    pub(crate) fn backlog_len(&self) -> usize {
        self.backlog.len()
    }
}

/// What sits between the router and the reader (the session store's mirror).
/// Budgeted items reach it only as the budget allows, so its queue is bounded.
pub(crate) struct Relay {
    rx: mpsc::UnboundedReceiver<Queued>,
    to_reader: mpsc::UnboundedSender<Queued>,
    budget: Arc<Semaphore>,
}

impl Relay {
    /// The next item from the router; `None` once the router is done.
    pub(crate) async fn recv(&mut self) -> Option<Queued> {
        self.rx.recv().await
    }

    /// Passes `queued` on to the reader, with its units (given back if the
    /// reader is gone).
    pub(crate) fn pass(&self, queued: Queued) {
        if let Err(mpsc::error::SendError(queued)) = self.to_reader.send(queued) {
            self.keep(queued);
        }
    }

    /// Keeps `queued` back from the reader (it is dropped): its units go back now.
    pub(crate) fn keep(&self, queued: Queued) {
        if queued.units > 0 {
            self.budget.add_permits(queued.units as usize);
        }
    }

    /// A sender to the reader outside the budget (for the relay's own reports).
    pub(crate) fn unbudgeted(&self) -> MessageTx {
        MessageTx {
            tx: self.to_reader.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item() -> Result<Message> {
        Err(crate::error::Error::NotConnected)
    }

    #[tokio::test]
    async fn the_budget_bounds_messages_and_bytes_and_returns_as_the_reader_takes() {
        let (mut sender, mut inbox) = channel();
        for _ in 0..BUDGET_UNITS + 10 {
            sender.push(item(), 10);
        }
        assert!(!sender.flush(), "more messages than the budget");
        assert_eq!(sender.backlog_len(), 10);
        inbox.recv().await.unwrap().unwrap_err();
        assert!(!sender.flush());
        assert_eq!(sender.backlog_len(), 9, "one taken, one more fits");

        let (mut sender, mut inbox) = channel();
        // Two lines of over half the budget do not fit at once; one over the budget takes it whole.
        let over_half = (BUDGET_UNITS as usize / 2 + 10) * UNIT_BYTES;
        sender.push(item(), over_half);
        sender.push(item(), over_half);
        sender.push(item(), 50 << 20);
        assert!(!sender.flush());
        assert_eq!(sender.backlog_len(), 2);
        inbox.recv().await.unwrap().unwrap_err();
        assert!(!sender.flush());
        assert_eq!(sender.backlog_len(), 1);
        let waiter = async {
            sender.wait_for_room().await;
            sender.backlog_len()
        };
        let (left, _) = tokio::join!(waiter, inbox.recv());
        assert_eq!(left, 0, "the huge line is queued once the queue is empty");
    }

    #[tokio::test]
    async fn a_gone_reader_drops_the_backlog() {
        let (mut sender, inbox) = channel();
        for _ in 0..BUDGET_UNITS + 1 {
            sender.push(item(), 10);
        }
        assert!(!sender.flush());
        drop(inbox);
        sender.wait_for_room().await;
        assert_eq!(sender.backlog_len(), 0);
        assert!(sender.flush());
    }

    /// What a relay passes on holds its units until the reader takes it; what
    /// it keeps back, or passes to a reader that is gone, gives them back.
    #[tokio::test]
    async fn a_relay_stays_inside_the_budget() {
        let (mut sender, mut inbox) = channel();
        let mut relay = sender.relay();
        for _ in 0..BUDGET_UNITS + 1 {
            sender.push(item(), 10);
        }
        assert!(!sender.flush(), "the relay's queue is bounded too");
        let first = relay.recv().await.unwrap();
        relay.pass(first);
        assert!(!sender.flush(), "passed on: still in the budget");
        let second = relay.recv().await.unwrap();
        relay.keep(second);
        assert!(sender.flush(), "kept back: its unit is back");
        inbox.recv().await.unwrap().unwrap_err();
        assert!(relay.unbudgeted().send(item()));
        drop(inbox);
        for _ in 0..BUDGET_UNITS - 1 {
            let queued = relay.recv().await.unwrap();
            relay.pass(queued);
        }
        for _ in 0..BUDGET_UNITS {
            sender.push(item(), 10);
        }
        assert!(
            sender.flush(),
            "passed to a gone reader: the units are back"
        );
    }
}
