//! [`ToolContext`]: what a tool call knows about itself (session, tool-use id, names),
//! its cancellation, and the way back to the CLI (progress, logs).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Map, Value};
use tokio::sync::Notify;

use super::state::{StateMap, ToolState};

/// The way from an in-process server back to the CLI of one session: the protocol
/// core implements it, so this module needs nothing above it.
pub(crate) trait ClientLink: Send + Sync {
    /// The id of the session, once the CLI has said it.
    fn session_id(&self) -> Option<String>;
    /// Sends a JSON-RPC message of `server_name` to the CLI (an SDK-originated
    /// `mcp_message`); `false` when the session is gone or its write queue is
    /// full (the message is dropped).
    fn send_mcp_message(&self, server_name: &str, message: Value) -> bool;
}

/// The cancellation of one call: set by the session when the CLI withdraws the call.
#[derive(Default)]
pub(crate) struct Cancellation {
    cancelled: AtomicBool,
    /// Someone waits on [`ToolContext::cancelled`]: the handler cooperates, so the
    /// session gives it time to return before dropping it.
    watched: AtomicBool,
    notify: Notify,
}

impl Cancellation {
    /// Marks the call cancelled and wakes its waiters; `true` when a handler was watching.
    pub(crate) fn cancel(&self) -> bool {
        self.cancelled.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
        self.watched.load(Ordering::SeqCst)
    }
}

/// What is known of a `tools/call` besides its arguments. In a session the protocol core
/// has read the ids and holds the cancellation and link: one pointer (the origin travels
/// by value through every layer of a call, and copying the parts themselves cost more
/// than the box). A call made outside a session keeps its `_meta` as it came, read only
/// when the tool asks: boxing the ids of every call made a stateful tool slower than a
/// free function.
#[derive(Default, Clone)]
pub(crate) enum CallOrigin {
    /// Outside a session, without `_meta`.
    #[default]
    Unknown,
    /// Outside a session: the call's `_meta`, unread.
    Meta(Map<String, Value>),
    /// A call of a session.
    Session(Box<OriginParts>),
}

/// The parts of a session's [`CallOrigin`].
#[derive(Default, Clone)]
pub(crate) struct OriginParts {
    /// `_meta["claudecode/toolUseId"]`.
    pub tool_use_id: Option<String>,
    /// `_meta.progressToken`.
    pub progress_token: Option<Value>,
    /// `None` outside a session: never cancelled (dropping the future is the way).
    pub cancellation: Option<Arc<Cancellation>>,
    pub link: Option<Arc<dyn ClientLink>>,
}

impl CallOrigin {
    pub(crate) fn new(parts: OriginParts) -> Self {
        CallOrigin::Session(Box::new(parts))
    }

    /// Adds a `tools/call`'s `_meta`, for the ids the session has not read.
    pub(crate) fn read_meta(self, meta: Option<Value>) -> Self {
        let Some(Value::Object(mut meta)) = meta else {
            return self;
        };
        match self {
            CallOrigin::Session(mut parts) => {
                if parts.tool_use_id.is_none()
                    && let Some(Value::String(id)) = meta.remove(TOOL_USE_ID_KEY)
                {
                    parts.tool_use_id = Some(id);
                }
                if parts.progress_token.is_none() {
                    parts.progress_token = meta.remove(PROGRESS_TOKEN_KEY);
                }
                CallOrigin::Session(parts)
            }
            CallOrigin::Unknown | CallOrigin::Meta(_) => CallOrigin::Meta(meta),
        }
    }

    fn parts(&self) -> Option<&OriginParts> {
        match self {
            CallOrigin::Session(parts) => Some(parts),
            CallOrigin::Unknown | CallOrigin::Meta(_) => None,
        }
    }

    fn tool_use_id(&self) -> Option<&str> {
        match self {
            CallOrigin::Session(parts) => parts.tool_use_id.as_deref(),
            CallOrigin::Meta(meta) => meta.get(TOOL_USE_ID_KEY)?.as_str(),
            CallOrigin::Unknown => None,
        }
    }

    fn progress_token(&self) -> Option<&Value> {
        match self {
            CallOrigin::Session(parts) => parts.progress_token.as_ref(),
            CallOrigin::Meta(meta) => meta.get(PROGRESS_TOKEN_KEY),
            CallOrigin::Unknown => None,
        }
    }
}

/// What a server shares with every call's context: its name and state.
#[derive(Default)]
pub(crate) struct ServerScope {
    pub name: String,
    pub states: StateMap,
}

/// What one tool of a server shares with every call's context: one pointer to clone
/// per call.
#[derive(Default)]
pub(crate) struct ToolScope {
    pub server: Arc<ServerScope>,
    pub tool_name: String,
}

/// The key of the tool-use id in a `tools/call`'s `_meta`.
const TOOL_USE_ID_KEY: &str = "claudecode/toolUseId";

/// The key of the progress token in a `tools/call`'s `_meta`.
const PROGRESS_TOKEN_KEY: &str = "progressToken";

/// MCP log levels (RFC 5424 severities), for [`ToolContext::log`].
///
/// ```
/// assert_eq!(agent_sdk::mcp::LogLevel::Warning.as_str(), "warning");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum LogLevel {
    /// Detail for debugging.
    Debug,
    /// Normal operation.
    Info,
    /// Normal but significant.
    Notice,
    /// A warning.
    Warning,
    /// An error.
    Error,
    /// A critical condition.
    Critical,
    /// Action must be taken at once.
    Alert,
    /// The system is unusable.
    Emergency,
}

impl LogLevel {
    /// The wire name (`"info"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Notice => "notice",
            LogLevel::Warning => "warning",
            LogLevel::Error => "error",
            LogLevel::Critical => "critical",
            LogLevel::Alert => "alert",
            LogLevel::Emergency => "emergency",
        }
    }
}

/// The context of one tool call. A `#[tool]` function gets it by taking a
/// `ToolContext` parameter (in any position, at most once; not part of the schema);
/// a [`DynamicTool::with_context`](super::DynamicTool::with_context) handler gets it as
/// its second argument. Cheap to clone (outside a session a clone copies the call's small `_meta`).
///
/// ```
/// use agent_sdk::prelude::*;
/// use agent_sdk::mcp::{LogLevel, ToolContext};
///
/// /// Import the given rows.
/// #[tool]
/// async fn import(rows: Vec<String>, context: ToolContext) -> Result<String, ToolError> {
///     let total = rows.len() as f64;
///     for (done, _row) in rows.iter().enumerate() {
///         if context.is_cancelled() {
///             return Err(ToolError::new("cancelled"));
///         }
///         context.progress(done as f64, Some(total), Some("importing"));
///     }
///     context.log(LogLevel::Info, format!("imported {total} rows"));
///     Ok(format!("{} imported by {}", rows.len(), context.tool_name()))
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> agent_sdk::Result<()> {
/// let server = create_sdk_mcp_server!("db", tools = [import])?;
/// let result = server.call_tool("import", serde_json::json!({"rows": ["a", "b"]})).await;
/// assert_eq!(result.text_content(), "2 imported by import");
/// // Called directly, a tool function takes a detached context.
/// let text = import(vec![], ToolContext::detached("db", "import")).await.unwrap();
/// assert_eq!(text, "0 imported by import");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ToolContext {
    /// `None` in the empty context of a tool that does not take one.
    scope: Option<Arc<ToolScope>>,
    origin: CallOrigin,
}

impl std::fmt::Debug for ToolContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolContext")
            .field("server_name", &self.server_name())
            .field("tool_name", &self.tool_name())
            .field("tool_use_id", &self.tool_use_id())
            .field("progress_token", &self.progress_token())
            .field("cancelled", &self.is_cancelled())
            .finish_non_exhaustive()
    }
}

impl ToolContext {
    pub(crate) fn new(scope: Arc<ToolScope>, origin: CallOrigin) -> Self {
        ToolContext {
            scope: Some(scope),
            origin,
        }
    }

    /// The context given to a tool whose [`Tool::takes_context`](super::Tool::takes_context)
    /// is `false`: empty names, no state, no session.
    pub(crate) fn empty() -> Self {
        ToolContext {
            scope: None,
            origin: CallOrigin::default(),
        }
    }

    /// A context outside any session: no session or tool-use id, never cancelled,
    /// progress and logs go nowhere. For calling a tool function directly (tests).
    ///
    /// ```
    /// let context = agent_sdk::mcp::ToolContext::detached("db", "lookup");
    /// assert_eq!((context.server_name(), context.tool_name()), ("db", "lookup"));
    /// assert_eq!(context.session_id(), None);
    /// assert!(!context.progress(1.0, None, None));
    /// ```
    pub fn detached(server_name: &str, tool_name: &str) -> Self {
        let server = ServerScope {
            name: server_name.to_owned(),
            states: StateMap::default(),
        };
        let scope = ToolScope {
            server: Arc::new(server),
            tool_name: tool_name.to_owned(),
        };
        ToolContext::new(Arc::new(scope), CallOrigin::default())
    }

    /// The id of the CLI session that made the call (`None` outside a session, or
    /// before the CLI has announced it).
    ///
    /// ```
    /// assert_eq!(agent_sdk::mcp::ToolContext::detached("s", "t").session_id(), None);
    /// ```
    pub fn session_id(&self) -> Option<String> {
        self.origin.parts()?.link.as_ref()?.session_id()
    }

    /// The id of the model's `tool_use` block this call serves, as the CLI sent it
    /// in `_meta["claudecode/toolUseId"]`.
    ///
    /// ```
    /// assert_eq!(agent_sdk::mcp::ToolContext::detached("s", "t").tool_use_id(), None);
    /// ```
    pub fn tool_use_id(&self) -> Option<&str> {
        self.origin.tool_use_id()
    }

    /// The `progressToken` of the call (`_meta.progressToken`), which
    /// [`progress`](Self::progress) reports against.
    ///
    /// ```
    /// assert_eq!(agent_sdk::mcp::ToolContext::detached("s", "t").progress_token(), None);
    /// ```
    pub fn progress_token(&self) -> Option<&Value> {
        self.origin.progress_token()
    }

    /// The name of the server serving the call.
    ///
    /// ```
    /// assert_eq!(agent_sdk::mcp::ToolContext::detached("db", "t").server_name(), "db");
    /// ```
    pub fn server_name(&self) -> &str {
        self.scope.as_ref().map_or("", |scope| &scope.server.name)
    }

    /// The name of the tool called.
    ///
    /// ```
    /// assert_eq!(agent_sdk::mcp::ToolContext::detached("db", "lookup").tool_name(), "lookup");
    /// ```
    pub fn tool_name(&self) -> &str {
        self.scope.as_ref().map_or("", |scope| &scope.tool_name)
    }

    /// A clone of the server's state of type `T`, as a `State<T>` parameter gets it.
    ///
    /// ```
    /// assert_eq!(agent_sdk::mcp::ToolContext::detached("s", "t").state::<String>(), None);
    /// ```
    pub fn state<T: ToolState>(&self) -> Option<T> {
        self.scope.as_ref()?.server.states.get::<T>()
    }

    /// `true` once the CLI has cancelled the call.
    ///
    /// ```
    /// assert!(!agent_sdk::mcp::ToolContext::detached("s", "t").is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.origin
            .parts()
            .and_then(|parts| parts.cancellation.as_ref())
            .is_some_and(|c| c.cancelled.load(Ordering::SeqCst))
    }

    /// Completes when the CLI cancels the call (`notifications/cancelled`, say on its
    /// tool timeout, or a withdrawn control request): select on it to stop
    /// cooperatively and clean up.
    ///
    /// A handler that has asked for this future gets a grace period
    /// ([`CANCELLED_CALL_GRACE`]) to return after the cancellation before it is dropped;
    /// one that never asked is dropped at once. Either way the CLI is answered
    /// "Request cancelled" immediately, and whatever the handler returns is discarded.
    ///
    /// ```
    /// use agent_sdk::mcp::ToolContext;
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// async fn slow_job(context: ToolContext) -> &'static str {
    ///     tokio::select! {
    ///         () = tokio::time::sleep(std::time::Duration::from_millis(10)) => "done",
    ///         () = context.cancelled() => "stopped, temporary files removed",
    ///     }
    /// }
    /// assert_eq!(slow_job(ToolContext::detached("s", "t")).await, "done");
    /// # }
    /// ```
    pub async fn cancelled(&self) {
        let Some(cancellation) = self.origin.parts().and_then(|p| p.cancellation.as_ref()) else {
            // Outside a session nothing cancels a call: its future is dropped instead.
            return std::future::pending().await;
        };
        cancellation.watched.store(true, Ordering::SeqCst);
        loop {
            let notified = cancellation.notify.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            if cancellation.cancelled.load(Ordering::SeqCst) {
                return;
            }
            notified.await;
        }
    }

    /// Reports progress of the call to the CLI: an MCP `notifications/progress` with the
    /// call's `progressToken`, `progress: done`, and `total` and `message` when given.
    /// Returns `false` when nothing was sent (no session, no progress token, the
    /// session is gone, or the CLI is not reading and the write queue is full).
    ///
    /// The frames go out as SDK-originated `mcp_message` control requests, as the
    /// TypeScript SDK forwards its servers' messages; the CLI 2.1.330 answers each with
    /// a control success.
    ///
    /// **What the CLI 2.1.330 does with them** (probed with the real CLI; the record is
    /// `tests/data/probes_issue13.md`): it accepts them and does nothing visible. No frame
    /// comes back to the SDK for them, the model never sees them (its `tool_result` is the
    /// final answer only), and they do not extend the tool timeout (a hard wall-clock limit
    /// per call). So `progress` is for MCP clients that show it and for forward
    /// compatibility; what the CLI does send for any call longer than 30 s is a heartbeat,
    /// [`Message::ToolProgress`](crate::message::Message::ToolProgress).
    ///
    /// ```
    /// let context = agent_sdk::mcp::ToolContext::detached("db", "import");
    /// assert!(!context.progress(3.0, Some(10.0), Some("rows"))); // detached: nowhere to send
    /// ```
    pub fn progress(&self, done: f64, total: Option<f64>, message: Option<&str>) -> bool {
        let Some(token) = self.progress_token() else {
            return false;
        };
        let mut params = Map::with_capacity(4);
        params.insert("progressToken".into(), token.clone());
        params.insert("progress".into(), number(done));
        if let Some(total) = total {
            params.insert("total".into(), number(total));
        }
        if let Some(message) = message {
            params.insert("message".into(), message.into());
        }
        self.notify("notifications/progress", params)
    }

    /// Sends a log message to the CLI: an MCP `notifications/message` with `level`,
    /// `logger` (the tool name) and `data` (the message). Returns `false` when nothing was
    /// sent (no session, the session is gone, or the CLI is not reading and the write
    /// queue is full).
    ///
    /// ```
    /// use agent_sdk::mcp::{LogLevel, ToolContext};
    /// assert!(!ToolContext::detached("db", "import").log(LogLevel::Info, "starting"));
    /// ```
    pub fn log(&self, level: LogLevel, message: impl Into<String>) -> bool {
        let mut params = Map::with_capacity(3);
        params.insert("level".into(), level.as_str().into());
        params.insert("logger".into(), self.tool_name().into());
        params.insert("data".into(), Value::String(message.into()));
        self.notify("notifications/message", params)
    }

    fn notify(&self, method: &str, params: Map<String, Value>) -> bool {
        let Some(link) = self.origin.parts().and_then(|p| p.link.as_ref()) else {
            return false;
        };
        let message = serde_json::json!({"jsonrpc": "2.0", "method": method, "params": params});
        link.send_mcp_message(self.server_name(), message)
    }
}

/// How long a handler waiting on [`ToolContext::cancelled`] may keep running after the
/// CLI cancelled its call, before it is dropped.
pub const CANCELLED_CALL_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// A whole number as an integer, anything else as a float (`3`, not `3.0`).
fn number(value: f64) -> Value {
    if value.fract() == 0.0 && value.abs() < 9.0e15 {
        Value::from(value as i64)
    } else {
        Value::from(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Recorder(Mutex<Vec<(String, Value)>>);

    impl ClientLink for Recorder {
        fn session_id(&self) -> Option<String> {
            Some("s-1".into())
        }
        fn send_mcp_message(&self, server_name: &str, message: Value) -> bool {
            self.0.lock().unwrap().push((server_name.into(), message));
            true
        }
    }

    fn linked(recorder: &Arc<Recorder>, token: Option<Value>) -> ToolContext {
        let origin = CallOrigin::new(OriginParts {
            tool_use_id: Some("toolu_1".into()),
            progress_token: token,
            link: Some(recorder.clone() as Arc<dyn ClientLink>),
            ..OriginParts::default()
        });
        let server = ServerScope {
            name: "db".into(),
            states: StateMap::default(),
        };
        let scope = ToolScope {
            server: Arc::new(server),
            tool_name: "import".into(),
        };
        ToolContext::new(Arc::new(scope), origin)
    }

    #[test]
    fn progress_and_log_frames() {
        let recorder = Arc::new(Recorder::default());
        let context = linked(&recorder, Some(Value::from(7)));
        assert_eq!(context.session_id().as_deref(), Some("s-1"));
        assert!(context.progress(1.0, Some(4.0), Some("a row")));
        assert!(context.progress(2.5, None, None));
        assert!(context.log(LogLevel::Warning, "slow disk"));
        let sent = recorder.0.lock().unwrap().clone();
        assert_eq!(
            sent,
            [
                (
                    "db".to_owned(),
                    serde_json::json!({"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":7,"progress":1,"total":4,"message":"a row"}})
                ),
                (
                    "db".to_owned(),
                    serde_json::json!({"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":7,"progress":2.5}})
                ),
                (
                    "db".to_owned(),
                    serde_json::json!({"jsonrpc":"2.0","method":"notifications/message","params":{"level":"warning","logger":"import","data":"slow disk"}})
                ),
            ]
        );
    }

    #[test]
    fn no_progress_without_a_token() {
        let recorder = Arc::new(Recorder::default());
        assert!(!linked(&recorder, None).progress(1.0, None, None));
        assert!(recorder.0.lock().unwrap().is_empty());
    }

    #[test]
    fn ids_come_from_the_meta_outside_a_session_and_fill_a_session_s_gaps() {
        let meta =
            || Some(serde_json::json!({"claudecode/toolUseId": "toolu_9", "progressToken": 3}));
        let outside = ToolContext::new(Arc::default(), CallOrigin::default().read_meta(meta()));
        assert_eq!(outside.tool_use_id(), Some("toolu_9"));
        assert_eq!(outside.progress_token(), Some(&Value::from(3)));
        assert!(!outside.progress(1.0, None, None), "no session to send to");
        let read = CallOrigin::new(OriginParts {
            tool_use_id: Some("toolu_1".into()),
            ..OriginParts::default()
        });
        let session = ToolContext::new(Arc::default(), read.read_meta(meta()));
        assert_eq!(
            session.tool_use_id(),
            Some("toolu_1"),
            "the session's id wins"
        );
        assert_eq!(session.progress_token(), Some(&Value::from(3)));
        let none = ToolContext::new(Arc::default(), CallOrigin::default().read_meta(None));
        assert_eq!((none.tool_use_id(), none.progress_token()), (None, None));
    }

    #[tokio::test]
    async fn cancelled_completes_on_cancel_and_reports_watching() {
        let cancellation = Arc::new(Cancellation::default());
        let origin = CallOrigin::new(OriginParts {
            cancellation: Some(cancellation.clone()),
            ..OriginParts::default()
        });
        let context = ToolContext::new(Arc::default(), origin);
        let waiter = tokio::spawn({
            let context = context.clone();
            async move { context.cancelled().await }
        });
        tokio::task::yield_now().await;
        assert!(cancellation.cancel(), "the waiter was watching");
        waiter.await.unwrap();
        assert!(context.is_cancelled());
        context.cancelled().await; // already cancelled: completes at once
    }
}
