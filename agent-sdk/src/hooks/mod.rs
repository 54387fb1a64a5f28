//! Hooks: typed callbacks the CLI runs at points of its loop (`hook_callback`).
//!
//! (Skeleton: typed events land with the hooks and permissions issue.)

/// The hooks registered on an [`AgentOptions`](crate::AgentOptions).
#[derive(Clone, Default)]
pub struct HookRegistry {
    _private: (),
}

impl std::fmt::Debug for HookRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HookRegistry").finish_non_exhaustive()
    }
}

impl HookRegistry {
    /// True when no hook is registered.
    pub(crate) fn is_empty(&self) -> bool {
        true
    }

    /// The `hooks` value of the `initialize` request (`null` when none).
    pub(crate) fn initialize_config(&self) -> serde_json::Value {
        serde_json::Value::Null
    }

    /// Runs the callback registered as `callback_id`; the answer is the payload of the control response.
    pub(crate) async fn dispatch(
        &self,
        callback_id: &str,
        _input: serde_json::Value,
        _tool_use_id: Option<String>,
    ) -> Result<serde_json::Value, String> {
        Err(format!("No hook callback found for ID: {callback_id}"))
    }
}
