//! `/healthz` and `/readyz`: no authentication, for load balancers.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use schemars::JsonSchema;
use serde::Serialize;

use super::AppState;
use crate::server::error::ApiError;

/// `GET /healthz`.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct Health {
    ok: bool,
    version: &'static str,
    uptime_s: u64,
    /// Sessions with a live CLI in this process.
    live_sessions: usize,
    running_turns: usize,
    draining: bool,
}

/// `GET /readyz` when ready.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct Ready {
    ready: bool,
}

pub(crate) async fn healthz(State(state): State<AppState>) -> Json<Health> {
    let host = &state.host;
    Json(Health {
        ok: true,
        version: env!("CARGO_PKG_VERSION"),
        uptime_s: host.uptime().as_secs(),
        live_sessions: host.live_sessions(),
        running_turns: host.running_turns(),
        draining: host.is_draining(),
    })
}

pub(crate) async fn readyz(State(state): State<AppState>) -> Result<Json<Ready>, ApiError> {
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
    Ok(Json(Ready { ready: true }))
}
