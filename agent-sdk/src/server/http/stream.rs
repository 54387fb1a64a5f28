//! `GET /v1/sessions/{id}/events`: the session's events as Server-Sent Events,
//! resumable with `Last-Event-ID` or `?after=`.

use std::convert::Infallible;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_core::Stream;
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use super::body::Params;
use super::sessions::authorized;
use crate::server::auth::Principal;
use crate::server::error::ApiError;
use crate::server::events::{Delivery, EventStream, ReplayError};
use crate::server::host::Watch;

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub(crate) struct AfterQuery {
    pub(crate) after: Option<String>,
}

/// The position to resume after: `Last-Event-ID` or `?after=`; absent = only new events.
pub(crate) fn resume_position(
    headers: &HeaderMap,
    after: Option<&str>,
) -> Result<Option<u64>, ApiError> {
    let given = headers
        .get("last-event-id")
        .map(|value| value.to_str().unwrap_or("\u{0}"))
        .or(after);
    given
        .map(|text| {
            text.trim().parse::<u64>().map_err(|_| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_event_id",
                    format!("{text:?} is not an event id (a non-negative integer)"),
                )
            })
        })
        .transpose()
}

/// Subscribes to a session's log after `after`; 412 when that is no longer
/// retained. The session is not evicted for idleness while the [`Watch`] lives.
pub(crate) async fn subscribe(
    state: &AppState,
    id: &str,
    after: Option<u64>,
) -> Result<(EventStream, Watch), ApiError> {
    let live = state.host.session(id).await?;
    let stream = live
        .log
        .subscribe(after, state.host.db.as_ref())
        .await
        .map_err(|err| match err {
            ReplayError::NotRetained { .. } => {
                state.host.metrics.sse_gone();
                ApiError::new(
                    StatusCode::PRECONDITION_FAILED,
                    "event_not_retained",
                    err.to_string(),
                )
            }
            ReplayError::Db(_) => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "database_error",
                err.to_string(),
            ),
        })?;
    if after.is_some() {
        state.host.metrics.sse_replay();
    }
    Ok((stream, state.host.watch(&live)))
}

/// The `error` event a cut-off subscriber gets last (it has no id: it is not in the log).
pub(crate) fn cut_off_data() -> serde_json::Value {
    json!({
        "code": "slow_consumer",
        "message": "this subscriber fell too far behind and was disconnected; reconnect with the last event id you received",
    })
}

pub(crate) async fn events(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Params(query): Params<AfterQuery>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    authorized(&state, &principal, &id).await?;
    let after = resume_position(&headers, query.after.as_deref())?;
    let watched = subscribe(&state, &id, after).await?;
    let events = futures_util::stream::unfold(Some(watched), |watched| async move {
        let (mut stream, watch) = watched?;
        match stream.next().await? {
            Delivery::Event(event) => {
                let sse = Event::default()
                    .id(event.seq.to_string())
                    .event(&event.kind)
                    .data(&event.data);
                Some((Ok(sse), Some((stream, watch))))
            }
            Delivery::Cut => {
                let sse = Event::default()
                    .event("error")
                    .data(cut_off_data().to_string());
                Some((Ok(sse), None))
            }
        }
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(state.host.config.keep_alive)))
}
