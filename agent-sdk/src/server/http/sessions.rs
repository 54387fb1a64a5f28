//! The session routes: create, list, get, close, messages, interrupt, permissions, tickets.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::body::Body;
use crate::server::auth::Principal;
use crate::server::db::{SessionFilter, SessionRecord, SessionStatus};
use crate::server::error::ApiError;
use crate::server::host::{AnswerError, Decision, SessionSpec};

/// The URLs of a session's event streams, relative to the API's root.
pub(crate) fn stream_urls(id: &str) -> (String, String) {
    (
        format!("/v1/sessions/{id}/events"),
        format!("/v1/sessions/{id}/ws"),
    )
}

/// Whether the caller may see the session: services see all, a user only theirs,
/// a session-bound ticket only its session.
pub(crate) fn visible(principal: &Principal, record: &SessionRecord) -> bool {
    let scope_ok = principal
        .session_scope
        .as_deref()
        .is_none_or(|scope| scope == record.id);
    let owner_ok = principal.user.is_none()
        || (principal.user == record.user && principal.tenant == record.tenant);
    scope_ok && owner_ok
}

/// The session if the caller may see it; a 404 otherwise (never a hint that it exists).
pub(crate) async fn authorized(
    state: &AppState,
    principal: &Principal,
    id: &str,
) -> Result<SessionRecord, ApiError> {
    let record = state.host.get_session(id).await?;
    if visible(principal, &record) {
        Ok(record)
    } else {
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no session {id:?}"),
        ))
    }
}

pub(crate) fn session_json(record: &SessionRecord) -> Value {
    let (events_url, ws_url) = stream_urls(&record.id);
    json!({
        "id": record.id,
        "status": record.status,
        "user": record.user,
        "tenant": record.tenant,
        "turns": record.turns,
        "usage": record.usage,
        "claude_session_id": record.claude_session_id,
        "metadata": record.metadata,
        "created_at": record.created_at,
        "last_activity": record.last_activity,
        "events_url": events_url,
        "ws_url": ws_url,
    })
}

pub(crate) async fn create(
    State(state): State<AppState>,
    principal: Principal,
    Body(spec): Body<SessionSpec>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let record = state.host.create_session(&principal, spec).await?;
    let (events_url, ws_url) = stream_urls(&record.id);
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": record.id,
            "status": record.status,
            "created_at": record.created_at,
            "events_url": events_url,
            "ws_url": ws_url,
        })),
    ))
}

#[derive(Debug, Deserialize)]
pub(crate) struct ListQuery {
    user: Option<String>,
    tenant: Option<String>,
    status: Option<SessionStatus>,
}

pub(crate) async fn list(
    State(state): State<AppState>,
    principal: Principal,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(query) = query.map_err(|rejection| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            rejection.body_text(),
        )
    })?;
    let filter = SessionFilter {
        user: principal.user.clone().or(query.user),
        tenant: principal.tenant.clone().or(query.tenant),
        status: query.status,
    };
    let sessions: Vec<Value> = state
        .host
        .list_sessions(&filter)
        .await?
        .iter()
        .filter(|record| visible(&principal, record))
        .map(session_json)
        .collect();
    Ok(Json(json!({"sessions": sessions})))
}

pub(crate) async fn get_one(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(session_json(
        &authorized(&state, &principal, &id).await?,
    )))
}

pub(crate) async fn close(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    authorized(&state, &principal, &id).await?;
    state.host.close_session(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MessageBody {
    text: String,
}

pub(crate) async fn message(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Body(body): Body<MessageBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    authorized(&state, &principal, &id).await?;
    if body.text.trim().is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_message",
            "the message text is empty",
        ));
    }
    let (turn, _) = state.host.send_message(&id, body.text).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"turn": turn}))))
}

pub(crate) async fn interrupt(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    authorized(&state, &principal, &id).await?;
    state.host.interrupt(&id).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"interrupted": true}))))
}

pub(crate) async fn permission(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, correlation_id)): Path<(String, String)>,
    Body(decision): Body<Decision>,
) -> Result<Json<Value>, ApiError> {
    authorized(&state, &principal, &id).await?;
    answer_permission(&state, &id, &correlation_id, decision).await?;
    Ok(Json(
        json!({"correlation_id": correlation_id, "accepted": true}),
    ))
}

/// The first answer decides; later ones are 409 (shared by HTTP and WebSocket).
pub(crate) async fn answer_permission(
    state: &AppState,
    id: &str,
    correlation_id: &str,
    decision: Decision,
) -> Result<(), ApiError> {
    let live = state.host.session(id).await?;
    live.permissions
        .answer(correlation_id, decision)
        .map_err(|err| match err {
            AnswerError::AlreadyResolved => ApiError::new(
                StatusCode::CONFLICT,
                "already_resolved",
                format!("permission request {correlation_id:?} was already answered"),
            ),
            AnswerError::Unknown => ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no permission request {correlation_id:?} in this session"),
            ),
        })?;
    Ok(())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TicketBody {
    #[serde(default)]
    session_id: Option<String>,
}

pub(crate) async fn ticket(
    State(state): State<AppState>,
    principal: Principal,
    bytes: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    // The body is optional: empty asks for a ticket for every session the caller may see.
    let body: TicketBody = if bytes.is_empty() {
        TicketBody::default()
    } else {
        serde_json::from_slice(&bytes).map_err(|err| {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_body", err.to_string())
        })?
    };
    if let Some(id) = &body.session_id {
        authorized(&state, &principal, id).await?;
    }
    let ticket = state
        .auth
        .issue_ticket(&principal, body.session_id.as_deref());
    Ok((StatusCode::CREATED, Json(json!(ticket))))
}
