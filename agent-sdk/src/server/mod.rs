//! The agent server: many agent sessions behind HTTP, Server-Sent Events and
//! WebSocket, with permission requests answered by a person, users, tenants
//! and tiers, limits, usage, webhooks, persistence and metrics.
//!
//! Layers, each importing only the ones below it:
//!
//! | module | job |
//! |---|---|
//! | `http` | the axum routes, SSE, WebSocket, errors, OpenAPI |
//! | `host` | sessions and tasks on the [`Supervisor`](crate::supervisor::Supervisor): turns, events, permissions, usage |
//! | `events` | each session's event log: sequence numbers, in-memory ring, replay, subscribers |
//! | `auth`, `limits`, `metrics`, `webhooks` | bearer tokens, tickets and JWTs; tiers and rate limits; Prometheus; signed deliveries from the outbox |
//! | [`db`] | the server's records (sessions, tasks, events, usage, webhook outbox) in SQLite or PostgreSQL |
//!
//! Transcripts are mirrored to the [`SessionStore`](crate::store::SessionStore)
//! of the same database, so a session resumes with its history after a restart.

pub mod auth;
pub mod db;
mod error;
pub mod limits;
pub mod metrics;
pub mod workdir;

pub use error::ApiError;
