//! Tasks: one-shot jobs, a prompt run as one turn of a (new or reused) session.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use super::turns::TurnOutcome;
use super::{Host, LeaseState, SessionSpec, db_error, not_found};
use crate::server::auth::Principal;
use crate::server::db::{DbError, TaskRecord, TaskStatus, Usage};
use crate::server::error::ApiError;
use crate::server::events::now_millis;

/// A task request (`POST /v1/tasks`).
///
/// ```
/// let task: agent_sdk::server::TaskRequest = serde_json::from_value(serde_json::json!({
///     "prompt": "Summarize the README", "options": {"max_turns": 2}
/// })).unwrap();
/// assert_eq!(task.prompt, "Summarize the README");
/// ```
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct TaskRequest {
    /// The task's id (generated when absent).
    #[serde(default)]
    pub task_id: Option<String>,
    /// What to do.
    pub prompt: String,
    /// The working directory of the new session: the same rules as a
    /// session's `cwd` (relative to `<root>/<tenant>/<user>/` under a work-dir
    /// root). Giving `options.cwd` too is a 400 unless both are the same; a
    /// task in an existing session runs where that session runs (a `cwd`
    /// with `session.reuse_existing` is a 400).
    #[serde(default)]
    pub cwd: Option<std::path::PathBuf>,
    /// The options of a new session.
    #[serde(default)]
    pub options: Option<SessionSpec>,
    /// Which session to run in.
    #[serde(default)]
    pub session: Option<TaskSession>,
}

/// Which session a task runs in.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct TaskSession {
    /// An existing session's id.
    #[serde(default)]
    pub id: Option<String>,
    /// Run in that session if it exists (else a 404).
    #[serde(default)]
    pub reuse_existing: bool,
}

fn invalid_request(message: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", message)
}

/// The options of the session made for a task, with the task's `cwd`.
fn new_session_spec(request: &TaskRequest) -> Result<SessionSpec, ApiError> {
    let mut spec = request.options.clone().unwrap_or_default();
    match (&request.cwd, &spec.cwd) {
        (Some(cwd), Some(theirs)) if cwd != theirs => {
            return Err(invalid_request(
                "`cwd` and `options.cwd` differ: give the working directory once",
            ));
        }
        (Some(cwd), _) => spec.cwd = Some(cwd.clone()),
        (None, _) => {}
    }
    Ok(spec)
}

impl Host {
    /// Starts a task; its record is `running` until its turn ends. A task
    /// refused (over budget, too long, a full queue, draining) is not stored
    /// and the session made for it is closed.
    pub(crate) async fn create_task(
        self: &Arc<Self>,
        principal: &Principal,
        request: TaskRequest,
    ) -> Result<TaskRecord, ApiError> {
        if request.prompt.trim().is_empty() {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "a task needs a non-empty prompt",
            ));
        }
        let task_id = request
            .task_id
            .clone()
            .unwrap_or_else(|| super::new_id("task"));
        if self
            .db
            .get_task(&task_id)
            .await
            .map_err(db_error)?
            .is_some()
        {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "task_exists",
                format!("task {task_id:?} exists already"),
            ));
        }
        let reuse = request.session.as_ref().filter(|s| s.reuse_existing);
        let reused = reuse.and_then(|s| s.id.clone());
        if reused.is_some() && request.cwd.is_some() {
            return Err(invalid_request(
                "a task in an existing session runs in that session's directory: drop `cwd`",
            ));
        }
        let (session_id, made) = match reused {
            Some(id) => (id, false),
            None => {
                let spec = new_session_spec(&request)?;
                (self.create_session(principal, spec).await?.id, true)
            }
        };
        let record = TaskRecord {
            task_id: task_id.clone(),
            session_id: session_id.clone(),
            status: TaskStatus::Running,
            prompt: request.prompt.clone(),
            result: None,
            error: None,
            usage: Usage::default(),
            created_at: now_millis(),
            finished_at: None,
        };
        let (outcome, epoch) = match self.start_task_turn(&record).await {
            Ok(started) => started,
            Err(err) => {
                // A refused task leaves nothing behind: no record (a retry
                // with its id works) and no session of its own held open.
                if made && let Err(close) = self.close_session(&session_id).await {
                    tracing::warn!(
                        ?close,
                        session_id,
                        "could not close a refused task's session"
                    );
                }
                return Err(err);
            }
        };
        let host = self.clone();
        let started = Instant::now();
        let stored = record.clone();
        self.running_tasks.fetch_add(1, Ordering::AcqRel);
        self.update_gauges();
        tokio::spawn(async move {
            let mut record = stored;
            match outcome.await {
                Ok(outcome) => {
                    record.usage = outcome.usage;
                    record.result = outcome.result;
                    record.status = if outcome.interrupted {
                        TaskStatus::Interrupted
                    } else if outcome.error.is_some() {
                        TaskStatus::Failed
                    } else {
                        TaskStatus::Completed
                    };
                    record.error = outcome.error;
                }
                Err(_) => {
                    record.status = TaskStatus::Interrupted;
                    record.error = Some("the turn was abandoned".to_owned());
                }
            }
            host.finish_task(record, epoch, started).await;
        });
        Ok(record)
    }

    /// Queues the task's prompt in its session, then stores its record (the
    /// turn's end updates it): a refusal stores nothing. Returns the turn's
    /// outcome and the lease epoch its records are written under.
    async fn start_task_turn(
        self: &Arc<Self>,
        record: &TaskRecord,
    ) -> Result<(oneshot::Receiver<TurnOutcome>, u64), ApiError> {
        let (live, handle) = self
            .accept_message(&record.session_id, &record.prompt)
            .await?;
        // Its records are written under the session's lease on this host.
        let epoch = live.epoch;
        let (_, outcome) = self
            .queue_turn(live, &handle, record.prompt.clone())
            .await?;
        if let Err(err) = self.db.insert_task_fenced(epoch, record).await {
            // The turn runs on without a record (a session made for the task
            // is closed by the caller, which ends it).
            tracing::warn!(%err, task_id = %record.task_id, "could not store a started task");
            return Err(db_error(err));
        }
        Ok((outcome, epoch))
    }

    async fn finish_task(&self, mut record: TaskRecord, epoch: u64, started: Instant) {
        // An interrupt request may have recorded the task as interrupted already.
        if let Ok(Some(stored)) = self.db.get_task(&record.task_id).await
            && stored.status == TaskStatus::Interrupted
        {
            record.status = TaskStatus::Interrupted;
            record.error = stored.error.or(record.error);
        }
        record.finished_at = Some(now_millis());
        let status = serde_json::to_value(record.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        self.metrics.task_finished(&status, started.elapsed());
        self.running_tasks.fetch_sub(1, Ordering::AcqRel);
        self.update_gauges();
        match self.db.update_task_fenced(epoch, &record).await {
            Ok(_) => {}
            // Another host took the session over: it reports the task.
            Err(err @ DbError::Fenced { .. }) => {
                tracing::warn!(%err, task_id = %record.task_id, "the task's session moved: its end is not ours to store");
                return;
            }
            Err(err) => {
                tracing::warn!(%err, task_id = %record.task_id, "could not store the task's end")
            }
        }
        let event = match record.status {
            TaskStatus::Completed => Some("task.completed"),
            TaskStatus::Failed => Some("task.failed"),
            _ => None,
        };
        if let Some(event) = event {
            let tenant = self
                .get_session(&record.session_id)
                .await
                .ok()
                .and_then(|session| session.tenant);
            self.webhook(
                tenant.as_deref(),
                event,
                serde_json::json!({
                    "task_id": record.task_id,
                    "session_id": record.session_id,
                    "status": status,
                    "result": record.result,
                    "error": record.error,
                    "usage": record.usage,
                }),
            )
            .await;
        }
    }

    /// One task.
    pub(crate) async fn get_task(&self, task_id: &str) -> Result<TaskRecord, ApiError> {
        self.db
            .get_task(task_id)
            .await
            .map_err(db_error)?
            .ok_or_else(|| not_found("task", task_id))
    }

    /// Tasks, oldest first, optionally only those in one status.
    pub(crate) async fn list_tasks(
        &self,
        status: Option<TaskStatus>,
    ) -> Result<Vec<TaskRecord>, ApiError> {
        self.db.list_tasks(status).await.map_err(db_error)
    }

    /// Interrupts a running task's turn; a finished task is a 409.
    pub(crate) async fn interrupt_task(&self, task_id: &str) -> Result<TaskRecord, ApiError> {
        let mut record = self.get_task(task_id).await?;
        if record.status != TaskStatus::Running {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "task_finished",
                format!("task {task_id:?} is not running"),
            ));
        }
        // The session's owner interrupts it (a 421 from here names that host).
        let live = self.session(&record.session_id).await?;
        record.status = TaskStatus::Interrupted;
        record.error = Some("interrupted by a request".to_owned());
        self.db
            .update_task_fenced(live.epoch, &record)
            .await
            .map_err(db_error)?;
        self.interrupt(&record.session_id).await?;
        Ok(record)
    }

    /// Tasks a previous process left running did not finish (those of
    /// sessions another live host owns are still running there). Each is
    /// marked under the lease epoch its session has now, so a host taking the
    /// session meanwhile wins.
    pub(crate) async fn recover_tasks(&self) -> Result<(), DbError> {
        for task in self.db.list_tasks(Some(TaskStatus::Running)).await? {
            let LeaseState::Free { epoch } = self.lease_state(&task.session_id).await? else {
                continue;
            };
            let why = "the server restarted before the task ended";
            match self.interrupt_task_record(task, why, epoch).await {
                Ok(()) | Err(DbError::Fenced { .. }) => {}
                Err(err) => return Err(err),
            }
        }
        Ok(())
    }

    /// Marks the running tasks of these sessions `(id, lease epoch)` interrupted.
    pub(crate) async fn interrupt_running_tasks(&self, why: &str, sessions: &[(&str, u64)]) {
        let result = async {
            for task in self.db.list_tasks(Some(TaskStatus::Running)).await? {
                let epoch = sessions
                    .iter()
                    .find(|(id, _)| *id == task.session_id)
                    .map(|(_, epoch)| *epoch);
                if epoch.is_some() {
                    self.interrupt_task_record(task, why, epoch).await?;
                }
            }
            Ok::<_, DbError>(())
        };
        if let Err(err) = result.await {
            tracing::warn!(%err, "could not mark running tasks interrupted");
        }
    }

    /// Marks a task interrupted, under its session's lease `epoch` (`None`:
    /// a session that never had a lease).
    async fn interrupt_task_record(
        &self,
        mut task: TaskRecord,
        why: &str,
        epoch: Option<u64>,
    ) -> Result<(), DbError> {
        task.status = TaskStatus::Interrupted;
        task.error = Some(why.to_owned());
        task.finished_at = Some(now_millis());
        match epoch {
            Some(epoch) => self.db.update_task_fenced(epoch, &task).await.map(drop),
            None => self.db.update_task(&task).await.map(drop),
        }
    }
}
