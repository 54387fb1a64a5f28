//! The [`HookEvent`] trait: what ties an event's wire name to its input and output types.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// A hook event: its wire name, input and `hookSpecificOutput` types.
///
/// Implemented by the marker types of the hooks module ([`PreToolUse`](super::PreToolUse),
/// [`Stop`](super::Stop), ...). You may implement it for an event newer than this SDK:
///
/// ```
/// use agent_sdk::hooks::{HookEvent, NoSpecificOutput};
///
/// struct SessionPaused;
///
/// impl HookEvent for SessionPaused {
///     const NAME: &'static str = "SessionPaused";
///     type Input = serde_json::Value;
///     type Specific = NoSpecificOutput;
/// }
/// assert_eq!(SessionPaused::NAME, "SessionPaused");
/// ```
pub trait HookEvent: Send + Sync + Sized + 'static {
    /// The event's name on the wire, e.g. `PreToolUse`.
    const NAME: &'static str;
    /// The typed input.
    type Input: DeserializeOwned + Send + 'static;
    /// The `hookSpecificOutput` of its output.
    type Specific: Serialize + Default + std::fmt::Debug + Clone + PartialEq + Send + Sync + 'static;
}
