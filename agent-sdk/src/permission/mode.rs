//! [`PermissionMode`]: how the CLI asks before running tools.

use serde::{Deserialize, Serialize};

/// The permission mode of a session: set at start with
/// [`AgentOptionsBuilder::permission_mode`](crate::AgentOptionsBuilder::permission_mode),
/// changed later with [`Client::set_permission_mode`](crate::Client::set_permission_mode).
///
/// ```
/// use agent_sdk::permission::PermissionMode;
/// assert_eq!(PermissionMode::AcceptEdits.as_str(), "acceptEdits");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum PermissionMode {
    /// Ask for anything not allowed by a rule.
    Default,
    /// Accept file edits without asking.
    AcceptEdits,
    /// Plan only, run nothing.
    Plan,
    /// Skip every permission check (as root the CLI needs `IS_SANDBOX=1`).
    BypassPermissions,
    /// Deny anything not allowed by a rule, without asking.
    DontAsk,
    /// Let the CLI's classifier decide.
    Auto,
}

impl PermissionMode {
    /// The wire spelling, e.g. `acceptEdits`.
    pub fn as_str(self) -> &'static str {
        match self {
            PermissionMode::Default => "default",
            PermissionMode::AcceptEdits => "acceptEdits",
            PermissionMode::Plan => "plan",
            PermissionMode::BypassPermissions => "bypassPermissions",
            PermissionMode::DontAsk => "dontAsk",
            PermissionMode::Auto => "auto",
        }
    }
}
