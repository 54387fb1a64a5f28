//! `GET /v1/sessions/{id}/ws`: the session's events as `{"id","type","data"}`
//! text frames; the client sends messages, interrupts and permission answers.

use axum::extract::ws::{Message as Frame, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::body::Params;
use super::sessions::{answer_permission, authorized};
use super::stream::{AfterQuery, cut_off_data, resume_position, subscribe};
use crate::server::auth::Principal;
use crate::server::error::ApiError;
use crate::server::events::{Delivery, EventStream, SharedEvent};
use crate::server::host::Decision;

/// What a client sends.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientFrame {
    Message {
        text: String,
    },
    Interrupt,
    Permission {
        correlation_id: String,
        #[serde(flatten)]
        decision: Decision,
    },
}

pub(crate) async fn upgrade(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Params(query): Params<AfterQuery>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    authorized(&state, &principal, &id).await?;
    let after = resume_position(&headers, query.after.as_deref())?;
    // Refuse before the upgrade, so a 412 is an HTTP answer the client can read.
    let (events, watch) = subscribe(&state, &id, after).await?;
    Ok(upgrade.on_upgrade(move |socket| async move {
        serve(state, id, events, socket).await;
        drop(watch);
    }))
}

fn error_frame(error: &ApiError) -> Frame {
    let data = json!({"code": error.code(), "message": error.message(), "status": error.status().as_u16()});
    Frame::Text(
        json!({"id": Value::Null, "type": "error", "data": data})
            .to_string()
            .into(),
    )
}

/// `{"id","type","data"}` around the event's JSON, which is not serialized again.
fn event_frame(event: &SharedEvent) -> String {
    let kind = Value::String(event.kind.clone());
    format!(
        r#"{{"id":{},"type":{kind},"data":{}}}"#,
        event.seq, event.data
    )
}

async fn serve(state: AppState, id: String, mut events: EventStream, mut socket: WebSocket) {
    loop {
        tokio::select! {
            delivery = events.next() => {
                let (frame, cut) = match delivery {
                    Some(Delivery::Event(event)) => (event_frame(&event), false),
                    Some(Delivery::Cut) => (
                        json!({"id": Value::Null, "type": "error", "data": cut_off_data()}).to_string(),
                        true,
                    ),
                    None => break,
                };
                if socket.send(Frame::Text(frame.into())).await.is_err() || cut {
                    break;
                }
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(Frame::Text(text))) => {
                    if let Err(error) = handle(&state, &id, text.as_str()).await
                        && socket.send(error_frame(&error)).await.is_err()
                    {
                        break;
                    }
                }
                Some(Ok(Frame::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            }
        }
    }
    let _ = socket.send(Frame::Close(None)).await;
}

async fn handle(state: &AppState, id: &str, text: &str) -> Result<(), ApiError> {
    let frame: ClientFrame = serde_json::from_str(text).map_err(|err| {
        ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "invalid_frame",
            format!("{err}; expected {{\"type\":\"message\",\"text\"}}, {{\"type\":\"interrupt\"}} or {{\"type\":\"permission\",\"correlation_id\",\"behavior\"}}"),
        )
    })?;
    match frame {
        ClientFrame::Message { text } => state.host.send_message(id, text).await.map(|_| ()),
        ClientFrame::Interrupt => state.host.interrupt(id).await,
        ClientFrame::Permission {
            correlation_id,
            decision,
        } => answer_permission(state, id, &correlation_id, decision).await,
    }
}
