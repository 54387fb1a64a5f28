//! [`HookMatcher`]: which calls of an event a hook receives, its timeout and failure policy.

use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::event::HookEvent;

/// What the CLI does when a hook fails (errors, times out or answers nonsense).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum OnFailure {
    /// Go on as if the hook had no opinion (the CLI's default).
    Continue,
    /// Block the guarded action (ignored for Stop, SubagentStop, TaskCompleted, TeammateIdle).
    /// Needs a CLI that reports `hook_on_failure_supported` in its `initialize` answer.
    Block,
}

impl OnFailure {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            OnFailure::Continue => "continue",
            OnFailure::Block => "block",
        }
    }
}

/// Which calls of event `E` a hook receives, plus its timeout and failure policy.
///
/// An event marker converts into a match-everything matcher, so `.hook(Stop, ...)` works.
///
/// ```
/// use std::time::Duration;
/// use agent_sdk::hooks::{HookEvent, HookMatcher, OnFailure, PreToolUse};
///
/// let matcher = PreToolUse::matching("Write|Edit")
///     .timeout(Duration::from_secs(30))
///     .on_failure(OnFailure::Block);
/// assert_eq!(matcher.pattern(), Some("Write|Edit"));
/// let everything: HookMatcher<PreToolUse> = PreToolUse.into();
/// assert_eq!(everything.pattern(), None);
/// ```
pub struct HookMatcher<E> {
    pub(crate) pattern: Option<String>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) on_failure: Option<OnFailure>,
    _event: PhantomData<fn() -> E>,
}

impl<E: HookEvent> HookMatcher<E> {
    /// Every call of the event (`matcher: null`).
    pub fn any() -> Self {
        HookMatcher {
            pattern: None,
            timeout: None,
            on_failure: None,
            _event: PhantomData,
        }
    }

    /// Calls whose tool name matches `pattern`: a name (`"Bash"`), alternatives
    /// (`"Write|Edit"`) or a regular expression (`"mcp__calc__.*"`), as the CLI reads it.
    pub fn matching(pattern: impl Into<String>) -> Self {
        HookMatcher {
            pattern: Some(pattern.into()),
            ..Self::any()
        }
    }

    /// How long the CLI waits for the hook (sent in seconds). After it, the CLI cancels the
    /// request (`control_cancel_request`) and the handler is dropped.
    ///
    /// CLI 2.1.330: a PreToolUse hook that times out blocks the tool call whatever the
    /// [`OnFailure`] policy (the model is told the hook "did not respond before its
    /// timeout"); a hook that answers with an error blocks only under [`OnFailure::Block`].
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// What the CLI does when the hook fails.
    pub fn on_failure(mut self, policy: OnFailure) -> Self {
        self.on_failure = Some(policy);
        self
    }

    /// The tool-name pattern, `None` for every call.
    pub fn pattern(&self) -> Option<&str> {
        self.pattern.as_deref()
    }
}

impl<E: HookEvent> From<E> for HookMatcher<E> {
    fn from(_: E) -> Self {
        HookMatcher::any()
    }
}

impl<E> Clone for HookMatcher<E> {
    fn clone(&self) -> Self {
        HookMatcher {
            pattern: self.pattern.clone(),
            timeout: self.timeout,
            on_failure: self.on_failure,
            _event: PhantomData,
        }
    }
}

impl<E: HookEvent> fmt::Debug for HookMatcher<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HookMatcher")
            .field("event", &E::NAME)
            .field("pattern", &self.pattern)
            .field("timeout", &self.timeout)
            .field("on_failure", &self.on_failure)
            .finish()
    }
}
