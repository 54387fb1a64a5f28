//! The session as the in-process servers' way back to the CLI: SDK-originated
//! `mcp_message` requests, as the TypeScript SDK sends its servers' own messages
//! (progress, logs, `notifications/tools/list_changed`).
//!
//! Fire and forget: the CLI's answer to such a request is not awaited (the router
//! drops answers to ids it does not wait for), like the TypeScript SDK; and
//! while the CLI does not read its input, they are dropped rather than queued
//! without bound.

use std::sync::{Arc, Weak};

use serde_json::{Map, Value};

use super::{Shared, lock, wire};
use crate::mcp::ClientLink;

impl Shared {
    /// This session as a server's subscriber (weak: a server outlives its sessions).
    pub(super) fn link(self: &Arc<Self>) -> Weak<dyn ClientLink> {
        let link: Weak<Shared> = Arc::downgrade(self);
        link
    }
}

impl ClientLink for Shared {
    fn session_id(&self) -> Option<String> {
        lock(&self.session_id).clone()
    }

    fn send_mcp_message(&self, server_name: &str, message: Value) -> bool {
        if lock(&self.pending).closed.is_some() || lock(&self.run).input_closed {
            return false;
        }
        let mut request = Map::with_capacity(3);
        request.insert("subtype".into(), "mcp_message".into());
        request.insert("server_name".into(), server_name.into());
        request.insert("message".into(), message);
        let request_id = self.next_request_id();
        let line = wire::to_line(&wire::OutgoingRequest {
            kind: "control_request",
            request_id: &request_id,
            request: &request,
        });
        // From a server's sync code, which cannot wait for room: dropped when
        // the write queue is full (a CLI not reading its input), like a
        // notification lost on the way.
        super::trace_line(&line);
        let sent = self.writer.try_send(line);
        if !sent {
            tracing::debug!(
                server_name,
                "the write queue is full; dropping a notification of an in-process server"
            );
        }
        sent
    }
}
