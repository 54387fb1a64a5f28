//! [`HookRegistry`]: the registered hooks, their `initialize` config and the routing of
//! `hook_callback` requests.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

use super::event::HookEvent;
use super::matcher::{HookMatcher, OnFailure};
use super::{HookContext, HookHandler};
use crate::handler::{BoxFuture, HandlerError};

/// A hook with its types erased, as the registry stores it.
trait ErasedHook: Send + Sync {
    fn call(&self, input: Value, ctx: HookContext) -> BoxFuture<'static, Result<Value, String>>;
}

struct TypedHook<E, H> {
    handler: Arc<H>,
    _event: PhantomData<fn() -> E>,
}

impl<E: HookEvent, H: HookHandler<E>> ErasedHook for TypedHook<E, H> {
    fn call(&self, input: Value, ctx: HookContext) -> BoxFuture<'static, Result<Value, String>> {
        let handler = Arc::clone(&self.handler);
        Box::pin(async move {
            let name = input.get("hook_event_name").and_then(Value::as_str);
            if name != Some(E::NAME) {
                return Err(format!(
                    "hook {} is registered for {} but got a {} input",
                    ctx.callback_id,
                    E::NAME,
                    name.unwrap_or("(no hook_event_name)")
                ));
            }
            let typed: E::Input = serde_json::from_value(input)
                .map_err(|err| format!("invalid {} hook input: {err}", E::NAME))?;
            // A panic is caught once, by the protocol core's request task.
            let output = handler
                .handle(typed, ctx)
                .await
                .map_err(HandlerError::into_message)?;
            serde_json::to_value(&output)
                .map_err(|err| format!("cannot serialize {} hook output: {err}", E::NAME))
        })
    }
}

#[derive(Clone)]
struct Registration {
    event: &'static str,
    pattern: Option<String>,
    timeout: Option<Duration>,
    on_failure: Option<OnFailure>,
    hook: Arc<dyn ErasedHook>,
}

/// The hooks registered on an [`AgentOptions`](crate::AgentOptions), in registration order.
///
/// Callback ids are `hook_<n>`, one counter from 0 in registration order.
///
/// ```
/// use agent_sdk::prelude::*;
/// use agent_sdk::hooks::{HookContext, PreToolUse, PreToolUseInput, PreToolUseOutput};
///
/// let options = AgentOptions::builder()
///     .hook(PreToolUse::matching("Bash"), |_input: PreToolUseInput, _ctx: HookContext| async move {
///         Ok(PreToolUseOutput::none())
///     })
///     .build()
///     .unwrap();
/// # let _ = options;
/// ```
#[derive(Clone, Default)]
pub struct HookRegistry {
    registrations: Vec<Registration>,
}

impl fmt::Debug for HookRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        for (index, reg) in self.registrations.iter().enumerate() {
            list.entry(&format_args!(
                "hook_{index}: {} {:?} timeout={:?} on_failure={:?}",
                reg.event, reg.pattern, reg.timeout, reg.on_failure
            ));
        }
        list.finish()
    }
}

impl HookRegistry {
    /// Adds a hook; its callback id is `hook_<number of hooks before it>`.
    pub(crate) fn register<E: HookEvent, H: HookHandler<E>>(
        &mut self,
        matcher: HookMatcher<E>,
        handler: H,
    ) {
        self.registrations.push(Registration {
            event: E::NAME,
            pattern: matcher.pattern,
            timeout: matcher.timeout,
            on_failure: matcher.on_failure,
            hook: Arc::new(TypedHook::<E, H> {
                handler: Arc::new(handler),
                _event: PhantomData,
            }),
        });
    }

    /// Number of registered hooks.
    pub fn len(&self) -> usize {
        self.registrations.len()
    }

    /// True when no hook is registered.
    pub fn is_empty(&self) -> bool {
        self.registrations.is_empty()
    }

    /// True when a hook asks for an `on_failure` other than `continue`: the CLI must then
    /// report `hook_on_failure_supported: true` in its `initialize` answer.
    pub(crate) fn requires_on_failure_support(&self) -> bool {
        self.registrations
            .iter()
            .any(|reg| matches!(reg.on_failure, Some(policy) if policy != OnFailure::Continue))
    }

    /// The `hooks` value of the `initialize` request (`null` when none), spec 3.5:
    /// `{"PreToolUse":[{"matcher":"Bash","hookCallbackIds":["hook_0"],"timeout":30}]}`.
    pub(crate) fn initialize_config(&self) -> Value {
        if self.registrations.is_empty() {
            return Value::Null;
        }
        let mut events = Map::new();
        for (index, reg) in self.registrations.iter().enumerate() {
            let mut matcher = Map::new();
            matcher.insert(
                "matcher".into(),
                reg.pattern.clone().map_or(Value::Null, Value::String),
            );
            matcher.insert(
                "hookCallbackIds".into(),
                Value::Array(vec![Value::String(format!("hook_{index}"))]),
            );
            if let Some(timeout) = reg.timeout {
                matcher.insert("timeout".into(), seconds(timeout));
            }
            if let Some(policy) = reg.on_failure {
                matcher.insert("onFailure".into(), policy.as_str().into());
            }
            let list = events
                .entry(reg.event)
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(list) = list {
                list.push(Value::Object(matcher));
            }
        }
        Value::Object(events)
    }

    /// Runs the callback registered as `callback_id`; the answer is the payload of the
    /// control response, or the text of a control error answer.
    pub(crate) async fn dispatch(
        &self,
        callback_id: &str,
        input: Value,
        tool_use_id: Option<String>,
    ) -> Result<Value, String> {
        let Some(reg) = callback_id
            .strip_prefix("hook_")
            .and_then(|n| n.parse::<usize>().ok())
            .and_then(|index| self.registrations.get(index))
        else {
            return Err(format!("No hook callback found for ID: {callback_id}"));
        };
        let ctx = HookContext {
            callback_id: callback_id.to_owned(),
            tool_use_id,
        };
        reg.hook.call(input, ctx).await
    }
}

/// Whole seconds as an integer (the recorded form `"timeout":30`), else fractional.
fn seconds(timeout: Duration) -> Value {
    if timeout.subsec_nanos() == 0 {
        Value::from(timeout.as_secs())
    } else {
        Value::from(timeout.as_secs_f64())
    }
}
