//! What the supervisor does to a session on its own reaches the server: an
//! eviction (idle, capacity) pauses the session's record and is counted by
//! reason; a session given up after too many restarts is marked failed. Each
//! with a `status` event to its clients and fresh gauges.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use futures_util::{Stream, StreamExt};
use serde_json::json;

use super::sessions::set_status_when;
use super::{Host, lock};
use crate::server::db::SessionStatus;
use crate::server::events::EventKind;
use crate::supervisor::{SessionState, SupervisorEvent};

/// The supervisor's events, taken when the host is made (so none is missed
/// before the follower starts).
pub(crate) type SupervisorEvents = Pin<Box<dyn Stream<Item = SupervisorEvent<String>> + Send>>;

impl Host {
    /// Follows the supervisor's events until the host is dropped.
    pub(crate) fn follow_supervisor(self: &Arc<Self>) {
        let Some(mut events) = lock(&self.supervisor_events).take() else {
            return;
        };
        let host = Arc::downgrade(self);
        let task = tokio::spawn(async move {
            while let Some(event) = events.next().await {
                let Some(host) = host.upgrade() else { return };
                host.on_supervisor_event(event).await;
            }
        });
        *lock(&self.follower) = Some(task);
    }

    async fn on_supervisor_event(&self, event: SupervisorEvent<String>) {
        match event {
            SupervisorEvent::Evicted { key, reason } => {
                self.metrics.session_evicted(reason.as_str());
                self.paused_by_eviction(&key).await;
            }
            SupervisorEvent::Failed { key, error } => {
                self.metrics.session_evicted("failed");
                self.given_up(&key, &error).await;
            }
            _ => {}
        }
        // Live CLIs change with every one of them (started, revived, gone).
        self.update_gauges();
    }

    /// An evicted session's record says paused: the next message resumes
    /// it. Unless a message revived it meanwhile.
    async fn paused_by_eviction(&self, id: &str) {
        let Some(live) = lock(&self.sessions).get(id).cloned() else {
            return;
        };
        let still_evicted = || {
            self.supervisor
                .session_info(&live.id)
                .is_some_and(|info| info.state == SessionState::Evicted)
        };
        set_status_when(&live, self.db.as_ref(), SessionStatus::Paused, |record| {
            // Checked under the record's lock: a message counts its turn before
            // it sets the status, so a revival is never overwritten.
            live.active_turns.load(Ordering::Acquire) == 0
                && matches!(record.status, SessionStatus::Idle | SessionStatus::Starting)
                && still_evicted()
        })
        .await;
    }

    /// A session the supervisor gave up (its CLI kept dying) is failed.
    async fn given_up(&self, id: &str, error: &str) {
        let Some(live) = lock(&self.sessions).get(id).cloned() else {
            return;
        };
        let changed = set_status_when(&live, self.db.as_ref(), SessionStatus::Failed, |record| {
            !matches!(record.status, SessionStatus::Closed | SessionStatus::Failed)
        })
        .await;
        if changed {
            live.log.emit(
                EventKind::Error,
                json!({"code": "cli_failed", "message": error}),
            );
        }
    }
}
