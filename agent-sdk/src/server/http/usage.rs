//! `GET /v1/usage`: tokens, cost, sessions and turns summed from the usage
//! record each turn leaves (deleted sessions' included: money spent stays spent).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::AppState;
use super::body::Params;
use crate::server::auth::Principal;
use crate::server::db::{Millis, UsageQuery, UsageReport};
use crate::server::error::ApiError;
use crate::server::host::db_error;

#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct UsageParams {
    /// Only this user's turns (an end user may name only themselves).
    user: Option<String>,
    /// Only this tenant's turns (an end user may name only their own).
    tenant: Option<String>,
    /// Only this session's turns.
    session_id: Option<String>,
    /// Milliseconds since the Unix epoch, inclusive.
    from: Option<Millis>,
    /// Milliseconds since the Unix epoch, exclusive.
    to: Option<Millis>,
}

/// The answer to `GET /v1/usage`: what was summed, and the sums.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct UsageView {
    /// The user whose turns were summed (all users: `null`).
    user: Option<String>,
    /// The tenant whose turns were summed (`null`: all tenants, or for an end
    /// user, no tenant).
    tenant: Option<String>,
    /// The one session summed, if the query named one.
    session_id: Option<String>,
    from: Option<Millis>,
    to: Option<Millis>,
    #[serde(flatten)]
    report: UsageReport,
}

/// Services ask about anyone; an end user (a JWT's `sub`) only about their
/// own turns in their own tenant: naming another user or tenant is a 403, not
/// a silent answer about someone else.
pub(crate) async fn report(
    State(state): State<AppState>,
    principal: Principal,
    Params(params): Params<UsageParams>,
) -> Result<Json<UsageView>, ApiError> {
    if let (Some(from), Some(to)) = (params.from, params.to)
        && from > to
    {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            format!("`from` ({from}) is after `to` ({to})"),
        ));
    }
    let query = scoped_query(&principal, params)?;
    let report = state.host.db.usage_report(&query).await.map_err(db_error)?;
    Ok(Json(UsageView {
        user: query.user,
        tenant: query.tenant.flatten(),
        session_id: query.session_id,
        from: query.from,
        to: query.to,
        report,
    }))
}

/// The query the caller may make: an end user's is pinned to their user and
/// tenant, a session-scoped caller's to its session.
fn scoped_query(principal: &Principal, params: UsageParams) -> Result<UsageQuery, ApiError> {
    let mut query = UsageQuery {
        user: params.user,
        tenant: params.tenant.map(Some),
        session_id: params.session_id,
        from: params.from,
        to: params.to,
    };
    if let Some(user) = &principal.user {
        let why = "an end user may read only their own usage";
        pin(&mut query.user, user.clone(), why)?;
        pin(&mut query.tenant, principal.tenant.clone(), why)?;
    } else if let Some(tenant) = &principal.tenant {
        let why = "a tenant's caller may read only that tenant's usage";
        pin(&mut query.tenant, Some(tenant.clone()), why)?;
    }
    if let Some(scope) = &principal.session_scope {
        let why = format!("this caller may read only session {scope:?}");
        pin(&mut query.session_id, scope.clone(), &why)?;
    }
    Ok(query)
}

/// Pins a filter to the one value the caller may ask for: asking for
/// another is a 403.
fn pin<T: PartialEq>(asked: &mut Option<T>, allowed: T, why: &str) -> Result<(), ApiError> {
    if asked.as_ref().is_some_and(|asked| *asked != allowed) {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", why));
    }
    *asked = Some(allowed);
    Ok(())
}
