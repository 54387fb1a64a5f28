//! [`State`]: application data a server hands its tools, outside the tool's schema.

use std::any::{Any, TypeId};
use std::sync::Arc;

/// Application state a `#[tool]` takes as a parameter: a database handle, an HTTP
/// client, settings. Never part of the tool's schema; the model does not see it.
///
/// The server holds one value per type, given with
/// `create_sdk_mcp_server!("db", state = app.clone(), tools = [...])` or
/// [`SdkMcpServerBuilder::state`](super::SdkMcpServerBuilder::state); each call gets a
/// clone (wrap large data in an `Arc`). A tool whose state the server does not hold is a
/// compile error where the macro lists it, else a
/// [`ServerBuildError::MissingState`](super::ServerBuildError::MissingState).
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use agent_sdk::prelude::*;
/// use agent_sdk::mcp::State;
///
/// #[derive(Clone, Default)]
/// struct App { calls: Arc<AtomicU64> }
///
/// /// Count this call and say how many there were.
/// #[tool]
/// async fn count(State(app): State<App>) -> u64 {
///     app.calls.fetch_add(1, Ordering::SeqCst) + 1
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> agent_sdk::Result<()> {
/// let app = App::default();
/// let server = create_sdk_mcp_server!("counter", state = app.clone(), tools = [count])?;
/// server.call_tool("count", serde_json::json!({})).await;
/// assert_eq!(server.call_tool("count", serde_json::json!({})).await.text_content(), "2");
/// assert_eq!(app.calls.load(Ordering::SeqCst), 2);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct State<T>(pub T);

impl<T> std::ops::Deref for State<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// What a type needs to be [`State`]: shared by concurrent calls, cloned for each.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be tool state: `State<T>` needs `T: Clone + Send + Sync + 'static`",
    label = "this state type is not `Clone + Send + Sync + 'static`",
    note = "derive `Clone`, or wrap the value in an `Arc` (`State<Arc<{Self}>>`)"
)]
pub trait ToolState: Clone + Send + Sync + 'static {}

impl<T: Clone + Send + Sync + 'static> ToolState for T {}

/// A state type a tool takes, for the check when its server is built.
///
/// ```
/// let needed = agent_sdk::mcp::RequiredState::of::<String>();
/// assert_eq!(needed.type_name(), "alloc::string::String");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequiredState {
    type_id: TypeId,
    type_name: &'static str,
}

impl RequiredState {
    /// The requirement of a `State<T>` parameter.
    pub fn of<T: ToolState>() -> Self {
        RequiredState {
            type_id: TypeId::of::<T>(),
            type_name: std::any::type_name::<T>(),
        }
    }

    /// The type's name, for error messages.
    pub fn type_name(&self) -> &'static str {
        self.type_name
    }
}

/// The state values of one server, by type. Fixed when the server is built.
///
/// A list, not a hash map: a server holds a handful of types, and comparing `TypeId`s
/// is cheaper than hashing one on every call.
#[derive(Default, Clone)]
pub(crate) struct StateMap {
    values: Vec<(TypeId, Arc<dyn Any + Send + Sync>)>,
}

impl StateMap {
    /// Holds `value` as the state of type `T` (replacing an earlier one).
    pub(crate) fn insert<T: ToolState>(&mut self, value: T) {
        let type_id = TypeId::of::<T>();
        self.values.retain(|(held, _)| *held != type_id);
        self.values.push((type_id, Arc::new(value)));
    }

    pub(crate) fn contains(&self, needed: &RequiredState) -> bool {
        self.values.iter().any(|(held, _)| *held == needed.type_id)
    }

    /// A clone of the state of type `T`.
    pub(crate) fn get<T: ToolState>(&self) -> Option<T> {
        let type_id = TypeId::of::<T>();
        self.values
            .iter()
            .find(|(held, _)| *held == type_id)
            .and_then(|(_, value)| value.downcast_ref::<T>())
            .cloned()
    }
}

impl std::fmt::Debug for StateMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateMap")
            .field("types", &self.values.len())
            .finish()
    }
}
