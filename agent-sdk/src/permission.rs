//! Permission policy: answering the CLI's `can_use_tool` requests.
//!
//! (Skeleton: the typed `PermissionHandler` role lands with the hooks and permissions issue.)

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A boxed future returned by type-erased handlers.
pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Type-erased permission handler the protocol core calls.
///
/// `request` is the whole `request` object of a `can_use_tool` control request;
/// the answer is the payload that goes into `response.response`, or an error text.
pub(crate) trait ErasedPermissionHandler: Send + Sync {
    fn handle(&self, request: serde_json::Value) -> BoxFuture<Result<serde_json::Value, String>>;
}

/// Shared handle to a permission handler.
pub(crate) type DynPermissionHandler = Arc<dyn ErasedPermissionHandler>;
