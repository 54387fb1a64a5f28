//! The code a session store brings to a session (loading the session to
//! resume from it, mirroring the transcript into it), linked into a program
//! only when the program sets a store.
//!
//! `AgentOptionsBuilder::session_store` calls [`link`]; the session start
//! paths reach resume and mirror only through what it recorded. A program
//! that never sets a store carries none of that code (80 KiB of the bench's
//! client program), and a program's code is most of its resident memory
//! (benches/README.md, "Idle memory").

use std::sync::OnceLock;

use super::mirror::{self, MirrorDone};
use super::resume;
use crate::error::Result;
use crate::handler::BoxFuture;
use crate::options::AgentOptions;
use crate::protocol::inbox::InboxSender;

/// The store's session code, once a store was set.
struct StoreCode {
    prepare: fn(AgentOptions) -> BoxFuture<'static, Result<AgentOptions>>,
    mirror: fn(&AgentOptions, &mut InboxSender) -> MirrorDone,
}

static LINKED: OnceLock<StoreCode> = OnceLock::new();

/// Called where a store is set on the options: from here on sessions with a
/// store resume and mirror through it.
pub(crate) fn link() {
    LINKED.get_or_init(|| StoreCode {
        prepare: |options| Box::pin(resume::prepare(options)),
        mirror: mirror::attach,
    });
}

/// Options ready to start the CLI: with a store and a session to resume, the
/// session is written where the CLI looks first (`resume::prepare`).
pub(crate) async fn prepare(options: AgentOptions) -> Result<AgentOptions> {
    match LINKED.get() {
        Some(code) => (code.prepare)(options).await,
        // No store was ever set, so these options have none.
        None => Ok(options),
    }
}

/// Puts a mirror between the router's sender and the reader of the messages
/// when the options have a store (`mirror::attach`).
pub(crate) fn mirror(options: &AgentOptions, messages: &mut InboxSender) -> MirrorDone {
    match LINKED.get() {
        Some(code) => (code.mirror)(options, messages),
        None => MirrorDone::default(),
    }
}
