//! Turns: a message queued on the session's CLI, its messages turned into
//! events, its usage recorded when its result arrives.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::http::StatusCode;
use futures_util::StreamExt;
use serde_json::json;
use tracing::Instrument;

use super::sessions::{set_status, update_record};
use super::{Host, LiveSession, db_error, draining, lock, supervisor_error};
use crate::message::{ContentBlock, Message, ResultMessage};
use crate::server::db::{SessionStatus, Usage, UsageRecord};
use crate::server::error::ApiError;
use crate::server::events::{EventKind, EventLog, now_millis};
use crate::supervisor::{SessionHandle, SupervisorError, TurnStream};

/// How a turn ended, for the task it may belong to.
#[derive(Debug, Clone)]
pub(crate) struct TurnOutcome {
    pub(crate) result: Option<String>,
    pub(crate) error: Option<String>,
    pub(crate) usage: Usage,
    pub(crate) interrupted: bool,
}

impl Host {
    /// Queues a message on a session; returns the turn's number and a receiver of its outcome.
    pub(crate) async fn send_message(
        self: &Arc<Self>,
        id: &str,
        text: String,
    ) -> Result<(u64, tokio::sync::oneshot::Receiver<TurnOutcome>), ApiError> {
        let (live, handle) = self.accept_message(id, &text).await?;
        self.queue_turn(live, &handle, text).await
    }

    /// Every check a message must pass before it is queued (draining,
    /// closed, its length, the budget), with the session's CLI started:
    /// nothing is queued yet.
    pub(crate) async fn accept_message(
        &self,
        id: &str,
        text: &str,
    ) -> Result<(Arc<LiveSession>, SessionHandle), ApiError> {
        if self.is_draining() {
            return Err(draining());
        }
        let live = self.session(id).await?;
        if live.record().status == SessionStatus::Closed {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "session_closed",
                format!("session {id:?} is closed; create a new one"),
            ));
        }
        if let Some(max) = self.config.max_message_chars
            && text.chars().count() > max
        {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "message_too_long",
                format!("a message may have at most {max} characters"),
            ));
        }
        self.check_budget(&live).await?;
        self.start_cli(&live).await?;
        let handle = self
            .supervisor
            .session(&live.id)
            .ok_or_else(|| supervisor_error(SupervisorError::NoSuchSession))?;
        Ok((live, handle))
    }

    /// Queues an accepted message (refused only when the queue is full or
    /// the session is going); returns the turn's number and a receiver of its outcome.
    pub(crate) async fn queue_turn(
        self: &Arc<Self>,
        live: Arc<LiveSession>,
        handle: &SessionHandle,
        text: String,
    ) -> Result<(u64, tokio::sync::oneshot::Receiver<TurnOutcome>), ApiError> {
        let stream = handle.send(text.clone()).map_err(supervisor_error)?;
        let turn = live.turns_sent.fetch_add(1, Ordering::AcqRel) + 1;
        live.log
            .emit(EventKind::UserMessage, json!({"turn": turn, "text": text}));
        if live.active_turns.fetch_add(1, Ordering::AcqRel) == 0 {
            set_status(&live, self.db.as_ref(), SessionStatus::Running).await;
        }
        self.running_turns.fetch_add(1, Ordering::AcqRel);
        self.update_gauges();
        let (done, outcome) = tokio::sync::oneshot::channel();
        let host = self.clone();
        let span = tracing::info_span!("turn", session_id = %live.id, turn);
        tokio::spawn(
            async move {
                let outcome = host.follow_turn(&live, turn, stream).await;
                let _ = done.send(outcome);
            }
            .instrument(span),
        );
        Ok((turn, outcome))
    }

    /// 402 once the session's user has spent their tier's budget.
    async fn check_budget(&self, live: &LiveSession) -> Result<(), ApiError> {
        let tier = self.tier(&live.principal)?;
        let record = live.record();
        let (Some(budget), Some(user)) = (tier.budget_usd, record.user.as_deref()) else {
            return Ok(());
        };
        let spent = self
            .db
            .user_spend(record.tenant.as_deref(), user)
            .await
            .map_err(db_error)?;
        if spent >= budget {
            return Err(ApiError::new(
                StatusCode::PAYMENT_REQUIRED,
                "budget_exceeded",
                format!("user {user:?} has spent ${spent:.4} of a ${budget:.4} budget"),
            ));
        }
        Ok(())
    }

    /// Interrupts the session's running turn.
    pub(crate) async fn interrupt(&self, id: &str) -> Result<(), ApiError> {
        let live = self.session(id).await?;
        if let Some(handle) = self.supervisor.session(&live.id) {
            handle.interrupt().await.map_err(supervisor_error)?;
        }
        Ok(())
    }

    /// Reads one turn's messages into events until its result.
    async fn follow_turn(
        &self,
        live: &Arc<LiveSession>,
        turn: u64,
        mut stream: TurnStream,
    ) -> TurnOutcome {
        let started = Instant::now();
        let mut outcome = TurnOutcome {
            result: None,
            error: None,
            usage: Usage::default(),
            interrupted: false,
        };
        // A `tool_call` span per tool use, from its `tool_use` to its `tool_result`.
        let mut tool_calls = HashMap::new();
        while let Some(message) = stream.next().await {
            match message {
                Ok(Message::Result(result)) => {
                    outcome = self.complete_turn(live, turn, &result, started).await;
                }
                Ok(message) => {
                    emit_message(&live.log, turn, &message, &self.metrics, &mut tool_calls)
                }
                Err(err) => {
                    outcome.error = Some(err.to_string());
                    live.log.emit(
                        EventKind::Error,
                        json!({"turn": turn, "code": "turn_failed", "message": err.to_string()}),
                    );
                }
            }
        }
        self.running_turns.fetch_sub(1, Ordering::AcqRel);
        if live.active_turns.fetch_sub(1, Ordering::AcqRel) == 1 {
            // Closed or given up by the supervisor meanwhile: it stays so.
            let status = match live.record().status {
                status @ (SessionStatus::Closed | SessionStatus::Failed) => status,
                _ => SessionStatus::Idle,
            };
            set_status(live, self.db.as_ref(), status).await;
        }
        self.update_gauges();
        outcome
    }

    async fn complete_turn(
        &self,
        live: &Arc<LiveSession>,
        turn: u64,
        result: &ResultMessage,
        started: Instant,
    ) -> TurnOutcome {
        // The process that reported it: the supervisor may have replaced the
        // CLI since the last result (a crash, a revival after an eviction).
        let process = self
            .supervisor
            .session_info(&live.id)
            .map(|info| info.cli_starts);
        let new_process = {
            let mut seen = lock(&live.cli_process);
            let new = process.is_none() || *seen != process;
            if result.total_cost_usd.is_some() {
                *seen = process;
            }
            new
        };
        let mut usage = Usage {
            input_tokens: result.usage.as_ref().map_or(0, |u| u.total_input_tokens()),
            output_tokens: result.usage.as_ref().map_or(0, |u| u.output_tokens),
            cost_usd: 0.0,
        };
        // Charged under the record's lock, from the baseline stored with it.
        let record = update_record(live, self.db.as_ref(), |record| {
            usage.cost_usd = record.cli_cost.charge(result, new_process);
            record.turns += 1;
            record.usage.input_tokens += usage.input_tokens;
            record.usage.output_tokens += usage.output_tokens;
            record.usage.cost_usd += usage.cost_usd;
            record.claude_session_id = Some(result.session_id.clone());
        })
        .await;
        let usage_record = UsageRecord {
            session_id: live.id.clone(),
            user: record.user.clone(),
            tenant: record.tenant.clone(),
            turn,
            usage,
            at: now_millis(),
        };
        let spent_before = match &record.user {
            Some(user) => self
                .db
                .user_spend(record.tenant.as_deref(), user)
                .await
                .ok(),
            None => None,
        };
        match self.db.record_usage_fenced(live.epoch, &usage_record).await {
            Ok(()) => {}
            Err(err @ crate::server::db::DbError::Fenced { .. }) => {
                tracing::warn!(%err, "the turn's usage was refused: the session moved");
                live.log.report_lost();
            }
            Err(err) => tracing::warn!(%err, "could not record the turn's usage"),
        }
        self.turn_webhooks(live, &record, turn, usage, result, spent_before)
            .await;
        self.metrics.turn_completed(&usage, started.elapsed());
        let interrupted = result.subtype == "error_during_execution"
            || result.terminal_reason.as_deref() == Some("interrupted");
        live.log.emit(
            EventKind::TurnComplete,
            json!({
                "turn": turn,
                "result": result.result,
                "is_error": result.is_error,
                "interrupted": interrupted,
                "subtype": result.subtype,
                "usage": usage,
                "duration_ms": started.elapsed().as_millis() as u64,
                "num_turns": result.num_turns,
            }),
        );
        TurnOutcome {
            result: result.result.clone(),
            error: result
                .is_error
                .then(|| result.error().map(|e| e.message()).unwrap_or_default()),
            usage,
            interrupted,
        }
    }
}

impl Host {
    /// `turn.completed`, and `budget.threshold` for each of 75/90/100 % of
    /// the user's budget this turn crossed.
    async fn turn_webhooks(
        &self,
        live: &LiveSession,
        record: &crate::server::db::SessionRecord,
        turn: u64,
        usage: Usage,
        result: &ResultMessage,
        spent_before: Option<f64>,
    ) {
        let tenant = record.tenant.as_deref();
        self.webhook(
            tenant,
            "turn.completed",
            json!({
                "session_id": live.id,
                "user": record.user,
                "turn": turn,
                "turns": record.turns,
                "num_turns": result.num_turns,
                "cost_usd": usage.cost_usd,
                "usage": usage,
                "session_cost_usd": record.usage.cost_usd,
            }),
        )
        .await;
        let budget = self.tier(&live.principal).ok().and_then(|t| t.budget_usd);
        let (Some(budget), Some(before), Some(user)) = (budget, spent_before, &record.user) else {
            return;
        };
        let after = before + usage.cost_usd;
        for percent in crate::server::webhooks::budget_thresholds_crossed(before, after, budget) {
            self.webhook(
                tenant,
                "budget.threshold",
                json!({"user": user, "percent": percent, "spent_usd": after, "budget_usd": budget, "session_id": live.id}),
            )
            .await;
        }
    }
}

/// The events of one message of a turn (text, tool calls, tool results).
fn emit_message(
    log: &EventLog,
    turn: u64,
    message: &Message,
    metrics: &crate::server::metrics::ServerMetrics,
    tool_calls: &mut HashMap<String, tracing::Span>,
) {
    match message {
        Message::Assistant(assistant) => {
            for block in &assistant.content {
                match block {
                    ContentBlock::Text(text) if !text.text.is_empty() => {
                        log.emit(
                            EventKind::AssistantText,
                            json!({"turn": turn, "text": text.text}),
                        );
                    }
                    ContentBlock::ToolUse(call) => {
                        let seq = log.emit(
                            EventKind::ToolUse,
                            json!({"turn": turn, "id": call.id, "name": call.name, "input": call.input}),
                        );
                        // Under the turn's span (current here); ends with its result.
                        let span = tracing::info_span!(
                            "tool_call",
                            session_id = %log.session_id(),
                            turn,
                            tool_use_id = %call.id,
                            tool = %call.name,
                            seq,
                            result_seq = tracing::field::Empty,
                            is_error = tracing::field::Empty,
                        );
                        tool_calls.insert(call.id.clone(), span);
                    }
                    _ => {}
                }
            }
        }
        Message::User(user) => {
            for block in user.content.blocks() {
                if let ContentBlock::ToolResult(result) = block {
                    let is_error = result.is_error.unwrap_or(false);
                    metrics.tool_call(if is_error { "error" } else { "ok" });
                    let seq = log.emit(
                        EventKind::ToolResult,
                        json!({
                            "turn": turn,
                            "tool_use_id": result.tool_use_id,
                            "content": result.content.as_ref().map(|c| c.text()).unwrap_or_default(),
                            "is_error": is_error,
                        }),
                    );
                    if let Some(span) = tool_calls.remove(&result.tool_use_id) {
                        span.record("result_seq", seq);
                        span.record("is_error", is_error);
                    }
                }
            }
        }
        _ => {}
    }
}
