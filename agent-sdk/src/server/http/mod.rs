//! The HTTP API: one table of routes from which both the axum router and the
//! OpenAPI document are made, so the two cannot disagree.

mod body;
mod errors;
mod health;
mod openapi;
mod schema;
mod sessions;
mod stream;
mod tasks;
mod usage;
mod ws;

use std::sync::Arc;

use axum::routing::{MethodRouter, delete, get, post};
use axum::{Json, Router};
use schemars::SchemaGenerator;

use self::body::Params;
use self::schema::{BodyDoc, BodySchema, LastEventId, ParamDoc, QuerySchema};
use super::auth::{Authenticator, Ticket, require_auth};
use super::host::{Decision, Host, SessionSpec, TaskRequest};
use super::limits::rate_limit;

pub(crate) use openapi::document;

/// The state every handler gets.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) host: Arc<Host>,
    pub(crate) auth: Arc<Authenticator>,
}

/// One route of the API.
pub(crate) struct Route {
    pub(crate) method: &'static str,
    pub(crate) path: &'static str,
    pub(crate) summary: &'static str,
    /// Answered without authentication.
    pub(crate) public: bool,
    pub(crate) handler: fn() -> MethodRouter<AppState>,
    /// The request body's schema, if it has one.
    pub(crate) request: fn(&mut SchemaGenerator) -> Option<BodyDoc>,
    /// The status of a successful answer.
    pub(crate) status: u16,
    /// The successful answer's body schema, if it has one.
    pub(crate) response: fn(&mut SchemaGenerator) -> Option<BodyDoc>,
    /// The query parameters (and headers) the handler reads, from the type
    /// it deserializes the query string into.
    pub(crate) query: fn(&mut SchemaGenerator) -> Vec<ParamDoc>,
}

/// A row's query column, `()` when it has none.
macro_rules! query_type {
    () => {
        ()
    };
    ($query:ty) => {
        $query
    };
}

macro_rules! routes {
    ($(($method:ident, $path:literal, $handler:path, $public:literal, $summary:literal,
        $request:ty => $status:literal $response:ty $(, query $query:ty)?)),* $(,)?) => {
        /// Every route, in the order of the documentation.
        pub(crate) const ROUTES: &[Route] = &[$(Route {
            method: stringify!($method),
            path: $path,
            summary: $summary,
            public: $public,
            handler: || $method($handler),
            request: <$request as BodySchema>::body,
            status: $status,
            response: <$response as BodySchema>::body,
            query: <query_type!($($query)?) as QuerySchema>::parameters,
        }),*];
    };
}

// method, path, handler, public, summary, request body => status answer body[, query type]
#[rustfmt::skip]
routes![
    (
        get, "/healthz", health::healthz, true,
        "Liveness: version, uptime, live sessions, running turns",
        () => 200 Json<health::Health>
    ),
    (
        get, "/readyz", health::readyz, true,
        "Readiness: 200 when the database answers and the server is not draining",
        () => 200 Json<health::Ready>
    ),
    (
        get, "/openapi.json", openapi::serve, true,
        "This OpenAPI document",
        () => 200 Json<serde_json::Value>
    ),
    (
        post, "/v1/sessions", sessions::create, false,
        "Create a session",
        Json<SessionSpec> => 201 Json<sessions::SessionCreated>
    ),
    (
        get, "/v1/sessions", sessions::list, false,
        "List sessions (filters user, tenant, status)",
        () => 200 Json<sessions::SessionList>, query Params<sessions::ListQuery>
    ),
    (
        get, "/v1/sessions/{id}", sessions::get_one, false,
        "One session with its turns and usage",
        () => 200 Json<sessions::SessionView>
    ),
    (
        delete, "/v1/sessions/{id}", sessions::close, false,
        "Close a session",
        () => 204 ()
    ),
    (
        post, "/v1/sessions/{id}/messages", sessions::message, false,
        "Queue a message (a turn)",
        Json<sessions::MessageBody> => 202 Json<sessions::TurnAccepted>
    ),
    (
        post, "/v1/sessions/{id}/interrupt", sessions::interrupt, false,
        "Interrupt the running turn",
        () => 202 Json<sessions::Interrupted>
    ),
    (
        post, "/v1/sessions/{id}/permissions/{correlation_id}", sessions::permission, false,
        "Answer a permission request",
        Json<Decision> => 200 Json<sessions::PermissionAccepted>
    ),
    (
        get, "/v1/sessions/{id}/events", stream::events, false,
        "The session's events as Server-Sent Events",
        () => 200 schema::EventStream, query (Params<stream::AfterQuery>, LastEventId)
    ),
    (
        get, "/v1/sessions/{id}/ws", ws::upgrade, false,
        "The session's events over WebSocket, and client frames",
        () => 101 (), query (Params<stream::AfterQuery>, LastEventId)
    ),
    (
        post, "/v1/tasks", tasks::create, false,
        "Start a one-shot task",
        Json<TaskRequest> => 201 Json<tasks::TaskCreated>
    ),
    (
        get, "/v1/tasks", tasks::list, false,
        "List tasks (filters user, tenant, status)",
        () => 200 Json<tasks::TaskList>, query Params<tasks::TaskListQuery>
    ),
    (
        get, "/v1/tasks/{id}", tasks::get_one, false,
        "A task's status, result and usage",
        () => 200 Json<tasks::TaskView>
    ),
    (
        post, "/v1/tasks/{id}/interrupt", tasks::interrupt, false,
        "Interrupt a task",
        () => 202 Json<tasks::TaskView>
    ),
    (
        get, "/v1/usage", usage::report, false,
        "Tokens, cost, sessions and turns summed (filters user, tenant, session_id, from, to)",
        () => 200 Json<usage::UsageView>, query Params<usage::UsageParams>
    ),
    (
        post, "/v1/tickets", sessions::ticket, false,
        "A short-lived signed ticket for URLs (EventSource)",
        Option<Json<sessions::TicketBody>> => 201 Json<Ticket>
    ),
];

/// The router of the API, built from [`ROUTES`].
pub(crate) fn router(state: AppState) -> Router {
    let mut public = Router::new();
    let mut private = Router::new();
    for route in ROUTES {
        if route.public {
            public = public.route(route.path, (route.handler)());
        } else {
            private = private.route(route.path, (route.handler)());
        }
    }
    // Layers run outermost last-added: auth, then the caller's rate limit.
    if let Some(limiter) = state.host.limiter.clone() {
        private = private.layer(axum::middleware::from_fn_with_state(limiter, rate_limit));
    }
    let private = private.layer(axum::middleware::from_fn_with_state(
        state.auth.clone(),
        require_auth,
    ));
    let body_limit = axum::extract::DefaultBodyLimit::max(state.host.config.max_body_bytes);
    public
        .merge(private)
        .fallback(errors::no_route)
        .layer(body_limit)
        .layer(axum::middleware::from_fn(errors::uniform_errors))
        .layer(axum::middleware::from_fn(trace_request))
        .with_state(state)
}

/// A `tracing` span per request with its method and route; the status is
/// recorded when the answer is ready. A caller's W3C `traceparent` becomes the
/// span's parent, so the sessions and turns the request starts join its trace.
async fn trace_request(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use tracing::Instrument;
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(
            || request.uri().path().to_owned(),
            |p| p.as_str().to_owned(),
        );
    let span = tracing::info_span!(
        "http_request",
        otel.name = %format_args!("{} {route}", request.method()),
        otel.kind = "server",
        method = %request.method(),
        route = %route,
        status = tracing::field::Empty,
    );
    continue_caller_trace(&span, request.headers());
    let response = next.run(request).instrument(span.clone()).await;
    span.record("status", response.status().as_u16());
    response
}

/// The caller's `traceparent`/`tracestate` headers, if any, become `span`'s parent.
fn continue_caller_trace(span: &tracing::Span, headers: &axum::http::HeaderMap) {
    let header = |name: &str| headers.get(name)?.to_str().ok();
    if let Some(traceparent) = header("traceparent") {
        crate::otel::continue_trace(span, traceparent, header("tracestate"));
    }
}
