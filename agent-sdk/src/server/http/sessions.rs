//! The session routes: create, list, get, close, messages, interrupt, permissions, tickets.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::AppState;
use super::body::{Body, Params};
use crate::server::auth::{Principal, Ticket};
use crate::server::db::{Millis, SessionFilter, SessionRecord, SessionStatus, Usage};
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

/// The answer to `POST /v1/sessions`.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct SessionCreated {
    id: String,
    status: SessionStatus,
    created_at: Millis,
    /// `GET` it for the events as Server-Sent Events.
    events_url: String,
    /// The events over WebSocket.
    ws_url: String,
}

/// A session: `GET /v1/sessions/{id}`, and each of a listing.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct SessionView {
    id: String,
    status: SessionStatus,
    user: Option<String>,
    tenant: Option<String>,
    /// Turns completed.
    turns: u64,
    /// Tokens and cost summed over its turns.
    usage: Usage,
    /// The CLI's session id once known.
    claude_session_id: Option<String>,
    /// The caller's metadata, as given.
    metadata: Value,
    created_at: Millis,
    last_activity: Millis,
    events_url: String,
    ws_url: String,
}

impl From<&SessionRecord> for SessionView {
    fn from(record: &SessionRecord) -> Self {
        let (events_url, ws_url) = stream_urls(&record.id);
        SessionView {
            id: record.id.clone(),
            status: record.status,
            user: record.user.clone(),
            tenant: record.tenant.clone(),
            turns: record.turns,
            usage: record.usage,
            claude_session_id: record.claude_session_id.clone(),
            metadata: record.metadata.clone(),
            created_at: record.created_at,
            last_activity: record.last_activity,
            events_url,
            ws_url,
        }
    }
}

/// `GET /v1/sessions`.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct SessionList {
    sessions: Vec<SessionView>,
}

/// The answer to a queued message.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct TurnAccepted {
    /// The turn's number in the session (its events carry it).
    turn: u64,
}

/// The answer to an interrupt.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct Interrupted {
    interrupted: bool,
}

/// The answer to the first reply to a permission request.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct PermissionAccepted {
    correlation_id: String,
    accepted: bool,
}

pub(crate) async fn create(
    State(state): State<AppState>,
    principal: Principal,
    Body(spec): Body<SessionSpec>,
) -> Result<(StatusCode, Json<SessionCreated>), ApiError> {
    let record = state.host.create_session(&principal, spec).await?;
    let (events_url, ws_url) = stream_urls(&record.id);
    Ok((
        StatusCode::CREATED,
        Json(SessionCreated {
            id: record.id,
            status: record.status,
            created_at: record.created_at,
            events_url,
            ws_url,
        }),
    ))
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub(crate) struct ListQuery {
    user: Option<String>,
    tenant: Option<String>,
    status: Option<SessionStatus>,
}

/// A listing's filter: a user's token narrows it to their own user and tenant.
pub(crate) fn list_filter(
    principal: &Principal,
    user: Option<String>,
    tenant: Option<String>,
    status: Option<SessionStatus>,
) -> SessionFilter {
    SessionFilter {
        user: principal.user.clone().or(user),
        tenant: principal.tenant.clone().or(tenant),
        status,
    }
}

pub(crate) async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Params(query): Params<ListQuery>,
) -> Result<Json<SessionList>, ApiError> {
    let filter = list_filter(&principal, query.user, query.tenant, query.status);
    let sessions = state
        .host
        .list_sessions(&filter)
        .await?
        .iter()
        .filter(|record| visible(&principal, record))
        .map(SessionView::from)
        .collect();
    Ok(Json(SessionList { sessions }))
}

pub(crate) async fn get_one(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<SessionView>, ApiError> {
    Ok(Json(SessionView::from(
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

/// A message: `POST /v1/sessions/{id}/messages`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MessageBody {
    /// What the user says.
    text: String,
}

pub(crate) async fn message(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Body(body): Body<MessageBody>,
) -> Result<(StatusCode, Json<TurnAccepted>), ApiError> {
    authorized(&state, &principal, &id).await?;
    if body.text.trim().is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_message",
            "the message text is empty",
        ));
    }
    let (turn, _) = state.host.send_message(&id, body.text).await?;
    Ok((StatusCode::ACCEPTED, Json(TurnAccepted { turn })))
}

pub(crate) async fn interrupt(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Interrupted>), ApiError> {
    authorized(&state, &principal, &id).await?;
    state.host.interrupt(&id).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Interrupted { interrupted: true }),
    ))
}

pub(crate) async fn permission(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, correlation_id)): Path<(String, String)>,
    Body(decision): Body<Decision>,
) -> Result<Json<PermissionAccepted>, ApiError> {
    authorized(&state, &principal, &id).await?;
    answer_permission(&state, &id, &correlation_id, decision).await?;
    Ok(Json(PermissionAccepted {
        correlation_id,
        accepted: true,
    }))
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

/// A ticket request (the body is optional).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TicketBody {
    /// Bind the ticket to this session (else it opens every session the caller may see).
    #[serde(default)]
    session_id: Option<String>,
}

pub(crate) async fn ticket(
    State(state): State<AppState>,
    principal: Principal,
    bytes: axum::body::Bytes,
) -> Result<(StatusCode, Json<Ticket>), ApiError> {
    // The body is optional: empty asks for a ticket for every session the caller may see.
    let body: TicketBody = if bytes.is_empty() {
        TicketBody::default()
    } else {
        serde_json::from_slice(&bytes)
            .map_err(|err| super::errors::from_status(StatusCode::BAD_REQUEST, err.to_string()))?
    };
    if let Some(id) = &body.session_id {
        authorized(&state, &principal, id).await?;
    }
    let ticket = state
        .auth
        .issue_ticket(&principal, body.session_id.as_deref());
    Ok((StatusCode::CREATED, Json(ticket)))
}
