//! Hooks: typed callbacks the CLI runs at points of its loop (`hook_callback`).
//!
//! Each event of the CLI ([`PreToolUse`], [`PostToolUse`], [`UserPromptSubmit`], [`Stop`],
//! ... 33 in all) is a marker type tying its wire name to a typed input and a typed
//! output. A hook is any [`HookHandler`] for that event: an async closure, or a struct
//! holding state. Register it with a [`HookMatcher`] (a tool-name pattern, a timeout, a
//! failure policy):
//!
//! ```
//! use std::time::Duration;
//! use agent_sdk::prelude::*;
//! use agent_sdk::hooks::{HookContext, OnFailure, PreToolUse, PreToolUseInput, PreToolUseOutput};
//! use agent_sdk::tool_inputs::BashInput;
//!
//! let options = AgentOptions::builder()
//!     .hook(
//!         PreToolUse::matching("Bash").timeout(Duration::from_secs(10)).on_failure(OnFailure::Block),
//!         |input: PreToolUseInput, _ctx: HookContext| async move {
//!             match input.tool_input_as::<BashInput>() {
//!                 Some(bash) if bash.command.contains("rm -rf") => {
//!                     Ok(PreToolUseOutput::deny("dangerous command"))
//!                 }
//!                 _ => Ok(PreToolUseOutput::none()),
//!             }
//!         },
//!     )
//!     .build()
//!     .unwrap();
//! # let _ = options;
//! ```
//!
//! A handler that returns an error or panics makes the SDK send a control error answer
//! (the CLI then continues, or blocks with [`OnFailure::Block`]). When the CLI cancels the
//! request (for instance after the hook's timeout), the handler's future is dropped.
//!
//! Which events the pinned CLI (2.1.330) calls SDK callbacks for in stream-json mode
//! (observed): `UserPromptSubmit`, `PreToolUse`, `PostToolUse`, `PermissionRequest`,
//! `PostToolBatch`, `Stop`. `SessionStart` was not called in a fresh session. Each event's
//! rustdoc says what is known.
//!
//! Naming: hook event markers are named as the CLI's events. The hook event
//! [`PermissionRequest`] is not the `can_use_tool` request a
//! [`PermissionHandler`](crate::permission::PermissionHandler) decides on; that one is
//! [`ToolPermissionRequest`](crate::permission::ToolPermissionRequest).

mod event;
mod event_outputs;
mod events;
mod inputs;
mod matcher;
mod outputs;
mod registry;

use std::future::Future;

pub use event::HookEvent;
pub use events::*;
pub use inputs::*;
pub use matcher::{HookMatcher, OnFailure};
pub use outputs::*;
pub use registry::HookRegistry;

pub use crate::handler::HandlerError;

/// What a hook gets besides its input.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HookContext {
    /// The callback id the CLI called (`hook_<n>`).
    pub callback_id: String,
    /// The tool call's id for tool events; for other events the CLI sends a random id.
    pub tool_use_id: Option<String>,
}

impl HookContext {
    /// A context as the SDK builds it, for calling a handler directly (in a unit test).
    ///
    /// ```
    /// use agent_sdk::hooks::HookContext;
    /// let ctx = HookContext::new("hook_0", Some("toolu_1".into()));
    /// assert_eq!(ctx.callback_id, "hook_0");
    /// ```
    pub fn new(callback_id: impl Into<String>, tool_use_id: Option<String>) -> Self {
        HookContext {
            callback_id: callback_id.into(),
            tool_use_id,
        }
    }
}

/// What a hook may return: its output, or a `Result` of it (an `Err` becomes a control
/// error answer).
pub trait IntoHookOutcome<E: HookEvent>: Send {
    /// The output or the handler's error.
    fn into_outcome(self) -> Result<HookOutput<E>, HandlerError>;
}

impl<E: HookEvent> IntoHookOutcome<E> for HookOutput<E> {
    fn into_outcome(self) -> Result<HookOutput<E>, HandlerError> {
        Ok(self)
    }
}

impl<E: HookEvent> IntoHookOutcome<E> for Result<HookOutput<E>, HandlerError> {
    fn into_outcome(self) -> Result<HookOutput<E>, HandlerError> {
        self
    }
}

/// The role of a hook for event `E`.
///
/// Async closures `|input: PreToolUseInput, ctx: HookContext| async move { ... }`
/// implement it; so can a struct holding state:
///
/// ```
/// use std::sync::Mutex;
/// use agent_sdk::prelude::*;
/// use agent_sdk::hooks::{HookContext, HookHandler, PostToolUse, PostToolUseInput, PostToolUseOutput};
///
/// #[derive(Default)]
/// struct AuditLog { calls: Mutex<Vec<String>> }
///
/// impl HookHandler<PostToolUse> for AuditLog {
///     async fn handle(&self, input: PostToolUseInput, _ctx: HookContext)
///         -> Result<PostToolUseOutput, HandlerError> {
///         self.calls.lock().unwrap().push(input.tool_name);
///         Ok(PostToolUseOutput::none())
///     }
/// }
///
/// let options = AgentOptions::builder().hook(PostToolUse, AuditLog::default()).build().unwrap();
/// # let _ = options;
/// ```
pub trait HookHandler<E: HookEvent>: Send + Sync + 'static {
    /// Handles one call.
    fn handle(
        &self,
        input: E::Input,
        ctx: HookContext,
    ) -> impl Future<Output = Result<HookOutput<E>, HandlerError>> + Send;
}

impl<E, F, Fut> HookHandler<E> for F
where
    E: HookEvent,
    F: Fn(E::Input, HookContext) -> Fut + Send + Sync + 'static,
    Fut: Future + Send,
    Fut::Output: IntoHookOutcome<E>,
{
    fn handle(
        &self,
        input: E::Input,
        ctx: HookContext,
    ) -> impl Future<Output = Result<HookOutput<E>, HandlerError>> + Send {
        let future = self(input, ctx);
        async move { future.await.into_outcome() }
    }
}

#[cfg(test)]
mod tests;
