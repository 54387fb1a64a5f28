//! The task routes: one-shot jobs with a status to poll.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::AppState;
use super::body::Body;
use super::sessions::{authorized, stream_urls};
use crate::server::auth::Principal;
use crate::server::db::TaskRecord;
use crate::server::error::ApiError;
use crate::server::host::TaskRequest;

fn task_json(task: &TaskRecord) -> Value {
    let duration_ms = task.finished_at.map(|end| (end - task.created_at).max(0));
    json!({
        "task_id": task.task_id,
        "session_id": task.session_id,
        "status": task.status,
        "prompt": task.prompt,
        "result": task.result,
        "error": task.error,
        "usage": task.usage,
        "created_at": task.created_at,
        "finished_at": task.finished_at,
        "duration_ms": duration_ms,
    })
}

pub(crate) async fn create(
    State(state): State<AppState>,
    principal: Principal,
    Body(request): Body<TaskRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    if let Some(id) = request.session.as_ref().and_then(|s| s.id.as_deref()) {
        authorized(&state, &principal, id).await?;
    }
    let task = state.host.create_task(&principal, request).await?;
    let (events_url, ws_url) = stream_urls(&task.session_id);
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "task_id": task.task_id,
            "session_id": task.session_id,
            "status": task.status,
            "events_url": events_url,
            "ws_url": ws_url,
            "created_at": task.created_at,
        })),
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

pub(crate) async fn get_one(
    State(state): State<AppState>,
    principal: Principal,
    Path(task_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(task_json(
        &authorized_task(&state, &principal, &task_id).await?,
    )))
}

pub(crate) async fn interrupt(
    State(state): State<AppState>,
    principal: Principal,
    Path(task_id): Path<String>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    authorized_task(&state, &principal, &task_id).await?;
    let task = state.host.interrupt_task(&task_id).await?;
    Ok((StatusCode::ACCEPTED, Json(task_json(&task))))
}
