//! `/healthz` and `/readyz`: no authentication, for load balancers.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::AppState;
use crate::server::error::ApiError;

pub(crate) async fn healthz(State(state): State<AppState>) -> Json<Value> {
    let host = &state.host;
    Json(json!({
        "ok": true,
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_s": host.uptime().as_secs(),
        "live_sessions": host.live_sessions(),
        "running_turns": host.running_turns(),
        "draining": host.is_draining(),
    }))
}

pub(crate) async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    if state.host.is_draining() {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "draining",
            "the server is shutting down",
        ));
    }
    state.host.db.ping().await.map_err(|err| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "database_unavailable",
            err.to_string(),
        )
    })?;
    Ok(Json(json!({"ready": true})))
}
