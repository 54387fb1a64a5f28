//! The task routes: one-shot jobs with a status to poll.

use std::collections::HashSet;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::AppState;
use super::body::{Body, Params};
use super::sessions::{authorized, list_filter, stream_urls, visible};
use crate::server::auth::Principal;
use crate::server::db::{Millis, TaskRecord, TaskStatus, Usage};
use crate::server::error::ApiError;
use crate::server::host::TaskRequest;

/// A task: `GET /v1/tasks/{id}`, each of a listing, an interrupt's answer.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct TaskView {
    task_id: String,
    session_id: String,
    status: TaskStatus,
    prompt: String,
    /// The result text, once completed.
    result: Option<String>,
    /// Why it failed or was interrupted.
    error: Option<String>,
    usage: Usage,
    created_at: Millis,
    finished_at: Option<Millis>,
    duration_ms: Option<Millis>,
}

impl From<&TaskRecord> for TaskView {
    fn from(task: &TaskRecord) -> Self {
        TaskView {
            task_id: task.task_id.clone(),
            session_id: task.session_id.clone(),
            status: task.status,
            prompt: task.prompt.clone(),
            result: task.result.clone(),
            error: task.error.clone(),
            usage: task.usage,
            created_at: task.created_at,
            finished_at: task.finished_at,
            duration_ms: task.finished_at.map(|end| (end - task.created_at).max(0)),
        }
    }
}

/// The answer to `POST /v1/tasks`.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct TaskCreated {
    task_id: String,
    session_id: String,
    status: TaskStatus,
    events_url: String,
    ws_url: String,
    created_at: Millis,
}

/// `GET /v1/tasks`.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct TaskList {
    tasks: Vec<TaskView>,
}

pub(crate) async fn create(
    State(state): State<AppState>,
    principal: Principal,
    Body(request): Body<TaskRequest>,
) -> Result<(StatusCode, Json<TaskCreated>), ApiError> {
    if let Some(id) = request.session.as_ref().and_then(|s| s.id.as_deref()) {
        authorized(&state, &principal, id).await?;
    }
    let task = state.host.create_task(&principal, request).await?;
    let (events_url, ws_url) = stream_urls(&task.session_id);
    Ok((
        StatusCode::CREATED,
        Json(TaskCreated {
            task_id: task.task_id,
            session_id: task.session_id,
            status: task.status,
            events_url,
            ws_url,
            created_at: task.created_at,
        }),
    ))
}

/// The task if its session is the caller's.
async fn authorized_task(
    state: &AppState,
    principal: &Principal,
    task_id: &str,
) -> Result<TaskRecord, ApiError> {
    let task = state.host.get_task(task_id).await?;
    match authorized(state, principal, &task.session_id).await {
        Ok(_) => Ok(task),
        // A closed and purged session's task stays readable by services only.
        Err(error) if principal.user.is_none() && error.status() == StatusCode::NOT_FOUND => {
            Ok(task)
        }
        Err(_) => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no task {task_id:?}"),
        )),
    }
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub(crate) struct TaskListQuery {
    user: Option<String>,
    tenant: Option<String>,
    status: Option<TaskStatus>,
}

/// Tasks whose session the caller may see (as `GET /v1/sessions` lists
/// them), filtered by the session's user and tenant and the task's status.
/// A service caller without filters also sees the tasks of purged sessions.
pub(crate) async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Params(query): Params<TaskListQuery>,
) -> Result<Json<TaskList>, ApiError> {
    let filter = list_filter(&principal, query.user, query.tenant, None);
    let everything = principal.user.is_none()
        && principal.session_scope.is_none()
        && filter.user.is_none()
        && filter.tenant.is_none();
    let sessions: HashSet<String> = state
        .host
        .list_sessions(&filter)
        .await?
        .into_iter()
        .filter(|record| visible(&principal, record))
        .map(|record| record.id)
        .collect();
    let tasks = state
        .host
        .list_tasks(query.status)
        .await?
        .iter()
        .filter(|task| everything || sessions.contains(&task.session_id))
        .map(TaskView::from)
        .collect();
    Ok(Json(TaskList { tasks }))
}

pub(crate) async fn get_one(
    State(state): State<AppState>,
    principal: Principal,
    Path(task_id): Path<String>,
) -> Result<Json<TaskView>, ApiError> {
    Ok(Json(TaskView::from(
        &authorized_task(&state, &principal, &task_id).await?,
    )))
}

pub(crate) async fn interrupt(
    State(state): State<AppState>,
    principal: Principal,
    Path(task_id): Path<String>,
) -> Result<(StatusCode, Json<TaskView>), ApiError> {
    authorized_task(&state, &principal, &task_id).await?;
    let task = state.host.interrupt_task(&task_id).await?;
    Ok((StatusCode::ACCEPTED, Json(TaskView::from(&task))))
}
