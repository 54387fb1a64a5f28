//! The task that owns one session: runs its turns one at a time, restarts its
//! CLI when it dies (within the restart intensity), gives it back when asked.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures_util::StreamExt;
use tokio::sync::mpsc;
use tracing::Instrument;

use super::core::{Control, Inner, LivePermit, SessionKey, Status, Subscribers, TurnRequest, lock};
use super::error::SupervisorError;
use super::live::LiveCli;
use super::metrics::Counters;
use super::status::{Conversation, EvictReason, SessionState, SupervisorEvent};
use crate::message::{CostBaseline, Message};
use crate::options::AgentOptions;
use crate::protocol::process_exited;

/// How a session's task begins.
pub(super) struct Start {
    pub(super) options: AgentOptions,
    pub(super) permit: LivePermit,
    /// A warm spare to use instead of starting a CLI.
    pub(super) spare: Option<LiveCli>,
    /// The span current where the session was asked for: the CLI starts in its trace.
    pub(super) span: tracing::Span,
}

pub(super) struct Actor<K: SessionKey> {
    key: K,
    inner: Arc<Inner<K>>,
    options: AgentOptions,
    status: Arc<Mutex<Status>>,
    live_cell: Arc<Mutex<Option<Arc<LiveCli>>>>,
    messages: Subscribers,
    control: mpsc::UnboundedReceiver<Control>,
    turns: mpsc::Receiver<TurnRequest>,
    live: Option<Arc<LiveCli>>,
    permit: Option<LivePermit>,
    /// When the recent restarts happened, for the restart intensity.
    restarts: VecDeque<Instant>,
    /// What the CLIs of this conversation reported: each turn's cost is its
    /// result's running total less what it counts of earlier turns.
    cost: CostBaseline,
    /// No result of the current CLI process is charged yet.
    new_process: bool,
}

/// Whether the task goes on after a control request.
enum Next {
    Continue,
    Stop,
}

impl<K: SessionKey> Actor<K> {
    pub(super) fn new(
        key: K,
        inner: Arc<Inner<K>>,
        slot: &super::core::Slot,
        control: mpsc::UnboundedReceiver<Control>,
        turns: mpsc::Receiver<TurnRequest>,
        options: AgentOptions,
    ) -> Self {
        Self {
            key,
            inner,
            options,
            status: slot.status.clone(),
            live_cell: slot.live.clone(),
            messages: slot.messages.clone(),
            control,
            turns,
            live: None,
            permit: None,
            restarts: VecDeque::new(),
            cost: CostBaseline::default(),
            new_process: true,
        }
    }

    pub(super) async fn run(mut self, start: Start) {
        self.options = start.options;
        self.permit = Some(start.permit);
        let warm = start.spare.is_some();
        let first = match start.spare {
            Some(spare) => Ok(spare),
            None => LiveCli::connect(&self.options).instrument(start.span).await,
        };
        match first {
            Ok(live) => {
                self.set_live(live, Conversation::New);
                self.inner.emit(SupervisorEvent::Started {
                    key: self.key.clone(),
                    warm,
                });
            }
            Err(err) => self.restart(format!("start failed: {err}")).await,
        }
        let mut shutdown = self.inner.shutdown.subscribe();
        loop {
            let live = self.live.clone();
            tokio::select! {
                biased;
                _ = async { shutdown.wait_for(Option::is_some).await.is_ok() } => break,
                control = self.control.recv() => match control {
                    None => break,
                    Some(control) => if let Next::Stop = self.on_control(control).await { break },
                },
                report = async { live.as_ref().expect("guarded").exited().await }, if live.is_some() => {
                    self.drop_live();
                    self.restart(process_exited(&report).to_string()).await;
                }
                turn = self.turns.recv() => match turn {
                    None => break,
                    Some(turn) => self.run_turn(turn).await,
                },
            }
        }
        self.close().await;
    }

    fn set_state(&self, state: SessionState) {
        lock(&self.status).state = state;
    }

    fn set_live(&mut self, live: LiveCli, conversation: Conversation) {
        let live = Arc::new(live);
        *lock(&self.live_cell) = Some(live.clone());
        self.live = Some(live);
        self.new_process = true;
        if conversation != Conversation::Resumed {
            self.cost = CostBaseline::default();
        }
        let mut status = lock(&self.status);
        status.cli_starts += 1;
        status.state = SessionState::Idle;
        status.conversation = conversation;
        // A CLI just started is not idle yet: the idle clock starts now.
        status.last_activity = Instant::now();
    }

    fn drop_live(&mut self) {
        self.live = None;
        *lock(&self.live_cell) = None;
    }

    /// Stops the current CLI, if any, and forgets it.
    async fn disconnect(&mut self) {
        if let Some(live) = self.live.take() {
            *lock(&self.live_cell) = None;
            let _ = live.client.disconnect().await;
        }
    }

    /// Starts a new CLI for a session whose CLI is gone, within the restart
    /// intensity; past it the session is failed.
    async fn restart(&mut self, mut reason: String) {
        loop {
            lock(&self.status).last_error = Some(reason.clone());
            let now = Instant::now();
            self.restarts.push_back(now);
            let window = self.inner.config.restart_window;
            while self
                .restarts
                .front()
                .is_some_and(|t| now.duration_since(*t) > window)
            {
                self.restarts.pop_front();
            }
            if self.restarts.len() > self.inner.config.max_restarts {
                self.fail(reason);
                return;
            }
            match self.replace_cli(&reason).await {
                Ok(()) => return,
                Err(err) => reason = format!("start failed: {err}"),
            }
        }
    }

    /// Starts the session's next CLI, resuming its conversation when it can.
    async fn replace_cli(&mut self, reason: &str) -> crate::error::Result<()> {
        self.set_state(SessionState::Restarting);
        lock(&self.status).restarts += 1;
        Counters::bump(&self.inner.counters.restarts);
        let cli_session_id = lock(&self.status).cli_session_id.clone();
        let (live, conversation) =
            LiveCli::connect_resuming(&self.options, cli_session_id.as_deref()).await?;
        self.set_live(live, conversation);
        self.inner.emit(SupervisorEvent::Restarted {
            key: self.key.clone(),
            reason: reason.to_owned(),
            conversation,
        });
        Ok(())
    }

    fn fail(&mut self, error: String) {
        self.drop_live();
        self.permit = None;
        {
            let mut status = lock(&self.status);
            status.state = SessionState::Failed;
            status.last_error = Some(error.clone());
        }
        Counters::bump(&self.inner.counters.sessions_failed);
        self.inner.emit(SupervisorEvent::Failed {
            key: self.key.clone(),
            error,
        });
    }

    async fn on_control(&mut self, control: Control) -> Next {
        match control {
            Control::Evict { reason, done } => {
                let _ = done.send(self.evict(reason).await);
                Next::Continue
            }
            Control::Restart(done) => {
                self.restart_on_request().await;
                let _ = done.send(());
                Next::Continue
            }
            Control::Terminate(done) => {
                self.close().await;
                let _ = done.send(());
                Next::Stop
            }
        }
    }

    /// A restart somebody asked for: not counted against the intensity, and it
    /// gives a failed session another chance.
    async fn restart_on_request(&mut self) {
        self.disconnect().await;
        if self.permit.is_none() {
            match self.inner.reserve(Some(&self.key)).await {
                Ok(permit) => self.permit = Some(permit),
                Err(err) => {
                    lock(&self.status).last_error = Some(err.to_string());
                    return;
                }
            }
        }
        self.restarts.clear();
        if let Err(err) = self.replace_cli("restart requested").await {
            // From here on it is a CLI that does not start, under the restart intensity.
            self.restart(format!("start failed: {err}")).await;
        }
    }

    async fn evict(&mut self, reason: EvictReason) -> bool {
        let idle_enough = {
            let status = lock(&self.status);
            status.state == SessionState::Idle
                && (reason != EvictReason::Idle
                    || (self.messages.count() == 0
                        && status.last_activity.elapsed() >= self.inner.config.idle_timeout))
        };
        // A turn waiting in the queue would only revive it at once.
        if !idle_enough || !self.turns.is_empty() || self.live.is_none() {
            return false;
        }
        self.disconnect().await;
        self.permit = None;
        self.set_state(SessionState::Evicted);
        let counter = match reason {
            EvictReason::Idle => &self.inner.counters.evicted_idle,
            EvictReason::Capacity => &self.inner.counters.evicted_capacity,
            EvictReason::Requested => &self.inner.counters.evicted_requested,
        };
        Counters::bump(counter);
        self.inner.emit(SupervisorEvent::Evicted {
            key: self.key.clone(),
            reason,
        });
        true
    }

    /// Brings an evicted session's CLI back for a turn, resuming its conversation.
    async fn revive(&mut self) -> Result<(), SupervisorError> {
        if self.permit.is_none() {
            self.permit = Some(self.inner.reserve(Some(&self.key)).await?);
        }
        self.set_state(SessionState::Starting);
        let cli_session_id = lock(&self.status).cli_session_id.clone();
        match LiveCli::connect_resuming(&self.options, cli_session_id.as_deref()).await {
            Ok((live, conversation)) => {
                self.set_live(live, conversation);
                self.inner.emit(SupervisorEvent::Revived {
                    key: self.key.clone(),
                    conversation,
                });
                Ok(())
            }
            Err(err) => {
                self.permit = None;
                let mut status = lock(&self.status);
                status.state = SessionState::Evicted;
                status.last_error = Some(err.to_string());
                Err(err.into())
            }
        }
    }

    async fn run_turn(&mut self, mut turn: TurnRequest) {
        if self.inner.shutting_down() {
            let _ = turn.reply.send(Err(SupervisorError::ShuttingDown));
            return;
        }
        let state = lock(&self.status).state;
        if state == SessionState::Failed {
            let last_error = lock(&self.status).last_error.clone().unwrap_or_default();
            let _ = turn.reply.send(Err(SupervisorError::Failed { last_error }));
            return;
        }
        if self.live.is_none()
            && let Err(err) = self.revive().instrument(turn.span.clone()).await
        {
            let _ = turn.reply.send(Err(err));
            return;
        }
        let live = self.live.clone().expect("a live CLI after revive");
        {
            let mut status = lock(&self.status);
            status.state = SessionState::Running;
            status.last_activity = Instant::now();
        }
        Counters::bump(&self.inner.counters.turns);
        // Let go of the asker's span once the prompt is out: the turn's span has
        // its context, and holding it would keep (say) an HTTP request's span open.
        let asked_under = std::mem::replace(&mut turn.span, tracing::Span::none());
        if let Err(err) = live.client.query(turn.prompt).instrument(asked_under).await {
            let _ = turn.reply.send(Err(err.into()));
            self.end_turn();
            return;
        }
        let mut shutdown = self.inner.shutdown.subscribe();
        let mut interrupted = false;
        let mut replies = live.client.receive_response();
        loop {
            let deadline = *shutdown.borrow_and_update();
            let grace_over = async {
                match deadline {
                    Some(deadline) if !interrupted => tokio::time::sleep_until(deadline).await,
                    Some(deadline) => {
                        tokio::time::sleep_until(deadline + self.inner.config.interrupt_grace).await
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                message = replies.next() => match message {
                    Some(message) => {
                        if let Ok(message) = &message {
                            self.observe(message);
                        }
                        // A caller that dropped its stream does not stop the turn.
                        let _ = turn.reply.send(message.map_err(SupervisorError::from));
                    }
                    None => break,
                },
                _ = shutdown.changed() => {}
                _ = grace_over => {
                    if interrupted {
                        // The interrupted turn did not end in its grace: give up on it.
                        break;
                    }
                    interrupted = true;
                    let _ = live.client.interrupt().await;
                }
            }
        }
        drop(replies);
        self.end_turn();
    }

    fn end_turn(&self) {
        let mut status = lock(&self.status);
        status.turns += 1;
        status.last_activity = Instant::now();
        if status.state == SessionState::Running {
            status.state = SessionState::Idle;
        }
    }

    /// Keeps what a restart needs (the CLI session id) and the cost.
    fn observe(&mut self, message: &Message) {
        self.messages.send(message);
        if let Message::Result(result) = message {
            let delta = self.cost.charge(result, self.new_process);
            self.new_process &= result.total_cost_usd.is_none();
            let mut status = lock(&self.status);
            status.cli_session_id = Some(result.session_id.clone());
            if delta != 0.0 {
                status.cost_usd += delta;
                self.inner.counters.add_cost(delta);
            }
        }
    }

    /// Ends the session: refuses waiting turns, closes its CLI.
    async fn close(&mut self) {
        self.turns.close();
        while let Ok(turn) = self.turns.try_recv() {
            let _ = turn.reply.send(Err(SupervisorError::ShuttingDown));
        }
        self.disconnect().await;
        self.permit = None;
    }
}
