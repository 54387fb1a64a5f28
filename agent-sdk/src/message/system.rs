//! `system` frames, with a typed view per known subtype.
//!
//! System frames are rare and their payloads vary a lot between CLI versions, so
//! they are read as a `Value` first and kept whole in [`SystemFrame::data`]; the
//! typed view is decoded from that. Subtypes Python treats generically (`init`,
//! `status`, ...) fall back to [`SystemMessage::Other`] when their typed view does
//! not fit; `task_started`, `task_progress` and `task_notification` are strict
//! like Python's parser and fail on a missing required field. `task_updated` never
//! fails: the CLI sends it bare (no `uuid`, no `session_id`, sometimes no `patch`),
//! and it can be the only sign that a task ended.

use std::ops::Deref;

use serde::de::{Deserialize, DeserializeOwned, Deserializer, Error as _};
use serde_json::{Map, Value};

use super::serde_util::{lenient_u64, null_default};

/// A `system` frame.
///
/// Match on the variant for the typed view; every variant also keeps the
/// `subtype`, `uuid`, `session_id` and the raw JSON ([`SystemMessage::data`]).
///
/// ```
/// use agent_sdk::message::{Message, SystemMessage};
///
/// let line = br#"{"type":"system","subtype":"init","cwd":"/work","tools":["Bash","Read"],"mcp_servers":[{"name":"calc","status":"connected"}],"model":"claude-sonnet-4-5","permissionMode":"default","claude_code_version":"2.1.330","uuid":"u1","session_id":"s1"}"#;
/// let Message::System(system) = Message::from_slice(line)? else { unreachable!() };
/// match &system {
///     SystemMessage::Init(init) => {
///         assert_eq!(init.model.as_deref(), Some("claude-sonnet-4-5"));
///         assert_eq!(init.permission_mode.as_deref(), Some("default"));
///         assert_eq!(init.mcp_servers[0].status, "connected");
///     }
///     other => println!("system/{}", other.subtype()),
/// }
/// assert_eq!(system.subtype(), "init");
/// assert_eq!(system.data()["cwd"], "/work");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SystemMessage {
    /// `init`: session set-up, sent at the start of every turn.
    Init(SystemFrame<InitInfo>),
    /// `status`: `requesting`, `compacting`, or a permission-mode change.
    Status(SystemFrame<StatusInfo>),
    /// `session_state_changed`: `idle`, `running` or `requires_action`.
    SessionStateChanged(SystemFrame<SessionStateInfo>),
    /// `task_started`: a background task (agent, workflow, shell, ...) began.
    TaskStarted(SystemFrame<TaskStarted>),
    /// `task_progress`.
    TaskProgress(SystemFrame<TaskProgress>),
    /// `task_notification`: a task finished.
    TaskNotification(SystemFrame<TaskNotification>),
    /// `task_updated`: a patch to a task's state.
    TaskUpdated(SystemFrame<TaskUpdated>),
    /// `background_tasks_changed`: the full list of background tasks.
    BackgroundTasksChanged(SystemFrame<BackgroundTasks>),
    /// `hook_started` (settings/command hooks, with `--include-hook-events`).
    HookStarted(SystemFrame<HookEventInfo>),
    /// `hook_progress`.
    HookProgress(SystemFrame<HookEventInfo>),
    /// `hook_response`.
    HookResponse(SystemFrame<HookEventInfo>),
    /// `compact_boundary`: the conversation was compacted.
    CompactBoundary(SystemFrame<CompactBoundary>),
    /// `api_retry`: an API call failed and will be retried.
    ApiRetry(SystemFrame<ApiRetry>),
    /// `permission_denied`.
    PermissionDenied(SystemFrame<PermissionDeniedInfo>),
    /// `notification`: a UI notification.
    Notification(SystemFrame<NotificationInfo>),
    /// `mirror_error`: made by the SDK, not the CLI: a session store failed to
    /// take a batch of transcript entries (see `AgentOptions::session_store`).
    /// The session goes on; the store may be missing that batch.
    MirrorError(SystemFrame<MirrorErrorInfo>),
    /// Any other subtype (or a known one whose payload did not fit its typed view).
    Other(SystemFrame<()>),
}

/// The parts every system frame has, plus the typed view `info` of its subtype.
///
/// Derefs to `info`, so `init.model` reads `init.info.model`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SystemFrame<T> {
    /// The subtype, e.g. `init`.
    pub subtype: String,
    /// Frame uuid.
    pub uuid: Option<String>,
    /// Session id.
    pub session_id: Option<String>,
    /// The whole frame as received.
    pub data: Value,
    /// The typed view.
    pub info: T,
}

impl<T> Deref for SystemFrame<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.info
    }
}

/// Applies `$body` to the `SystemFrame` of whichever variant `$message` is.
macro_rules! with_frame {
    ($message:expr, $frame:ident => $body:expr) => {
        match $message {
            SystemMessage::Init($frame) => $body,
            SystemMessage::Status($frame) => $body,
            SystemMessage::SessionStateChanged($frame) => $body,
            SystemMessage::TaskStarted($frame) => $body,
            SystemMessage::TaskProgress($frame) => $body,
            SystemMessage::TaskNotification($frame) => $body,
            SystemMessage::TaskUpdated($frame) => $body,
            SystemMessage::BackgroundTasksChanged($frame) => $body,
            SystemMessage::HookStarted($frame) => $body,
            SystemMessage::HookProgress($frame) => $body,
            SystemMessage::HookResponse($frame) => $body,
            SystemMessage::CompactBoundary($frame) => $body,
            SystemMessage::ApiRetry($frame) => $body,
            SystemMessage::PermissionDenied($frame) => $body,
            SystemMessage::Notification($frame) => $body,
            SystemMessage::MirrorError($frame) => $body,
            SystemMessage::Other($frame) => $body,
        }
    };
}

/// Task types whose end the SDK waits for before closing stdin (protocol 1.7).
const TRACKED_TASK_TYPES: [&str; 2] = ["local_agent", "local_workflow"];
/// `task_updated` statuses that end a task (Python's `TERMINAL_TASK_STATUSES`).
const TERMINAL_TASK_STATUSES: [&str; 4] = ["completed", "failed", "stopped", "killed"];

impl SystemMessage {
    /// The subtype, e.g. `init`.
    pub fn subtype(&self) -> &str {
        with_frame!(self, f => &f.subtype)
    }

    /// The whole frame as received.
    pub fn data(&self) -> &Value {
        with_frame!(self, f => &f.data)
    }

    /// Frame uuid.
    pub fn uuid(&self) -> Option<&str> {
        with_frame!(self, f => f.uuid.as_deref())
    }

    /// Session id.
    pub fn session_id(&self) -> Option<&str> {
        with_frame!(self, f => f.session_id.as_deref())
    }

    /// Whether the frame is marked `sdk_host_only: true` (meant for the SDK, not the user).
    pub fn is_sdk_host_only(&self) -> bool {
        self.data().get("sdk_host_only").and_then(Value::as_bool) == Some(true)
    }

    /// For `session_state_changed`: the new state (`idle`, `running`, `requires_action`).
    pub fn session_state(&self) -> Option<&str> {
        match self {
            SystemMessage::SessionStateChanged(f) => Some(&f.state),
            // A state frame whose typed view did not fit.
            SystemMessage::Other(f) if f.subtype == "session_state_changed" => {
                f.data.get("state").and_then(Value::as_str)
            }
            _ => None,
        }
    }

    /// For `task_started` of a task the SDK waits for (`task_type` `local_agent` or
    /// `local_workflow`; shells and monitors are not tracked): its `task_id`.
    pub fn tracked_task_started(&self) -> Option<&str> {
        match self {
            SystemMessage::TaskStarted(f)
                if f.task_type
                    .as_deref()
                    .is_some_and(|t| TRACKED_TASK_TYPES.contains(&t)) =>
            {
                Some(&f.task_id)
            }
            _ => None,
        }
    }

    /// The `task_id` of a task this frame ends: any `task_notification`, or a
    /// `task_updated` whose `patch.status` is `completed`, `failed`, `stopped` or `killed`.
    pub fn task_ended(&self) -> Option<&str> {
        match self {
            SystemMessage::TaskNotification(f) => Some(&f.task_id),
            SystemMessage::TaskUpdated(f) if f.patch.is_terminal() => Some(&f.task_id),
            _ => None,
        }
    }

    /// Builds the typed message from a whole `system` frame.
    ///
    /// Fails when `subtype` is missing, or when a `task_started`, `task_progress`
    /// or `task_notification` frame lacks a field Python's parser requires.
    pub fn from_value(data: Value) -> Result<Self, serde_json::Error> {
        let subtype = match data.get("subtype") {
            Some(Value::String(s)) => s.clone(),
            Some(_) => {
                return Err(serde_json::Error::custom(
                    "system frame: `subtype` is not a string",
                ));
            }
            None => return Err(serde_json::Error::missing_field("subtype")),
        };
        let uuid = data.get("uuid").and_then(Value::as_str).map(str::to_owned);
        let session_id = data
            .get("session_id")
            .and_then(Value::as_str)
            .map(str::to_owned);

        /// Strict: the typed view must fit, and `uuid`/`session_id` must be present.
        fn strict<T: DeserializeOwned>(
            data: &Value,
            uuid: &Option<String>,
            session_id: &Option<String>,
        ) -> Result<T, serde_json::Error> {
            if uuid.is_none() {
                return Err(serde_json::Error::missing_field("uuid"));
            }
            if session_id.is_none() {
                return Err(serde_json::Error::missing_field("session_id"));
            }
            T::deserialize(data)
        }
        /// Lenient: `None` when the typed view does not fit (the frame becomes `Other`).
        fn lenient<T: DeserializeOwned>(data: &Value) -> Option<T> {
            T::deserialize(data).ok()
        }

        macro_rules! frame {
            ($info:expr) => {
                SystemFrame {
                    subtype,
                    uuid,
                    session_id,
                    data,
                    info: $info,
                }
            };
        }
        macro_rules! lenient {
            ($variant:ident) => {
                match lenient(&data) {
                    Some(info) => SystemMessage::$variant(frame!(info)),
                    None => SystemMessage::Other(frame!(())),
                }
            };
        }
        macro_rules! strict {
            ($variant:ident) => {{
                let info = strict(&data, &uuid, &session_id)?;
                SystemMessage::$variant(frame!(info))
            }};
        }

        Ok(match subtype.as_str() {
            "init" => lenient!(Init),
            "status" => lenient!(Status),
            "session_state_changed" => lenient!(SessionStateChanged),
            "task_started" => strict!(TaskStarted),
            "task_progress" => strict!(TaskProgress),
            "task_notification" => strict!(TaskNotification),
            // Never fails, like Python's parser: see `TaskUpdated::from_frame`.
            "task_updated" => {
                let info = TaskUpdated::from_frame(&data);
                SystemMessage::TaskUpdated(frame!(info))
            }
            "background_tasks_changed" => lenient!(BackgroundTasksChanged),
            "hook_started" => lenient!(HookStarted),
            "hook_progress" => lenient!(HookProgress),
            "hook_response" => lenient!(HookResponse),
            "compact_boundary" => lenient!(CompactBoundary),
            "api_retry" => lenient!(ApiRetry),
            "permission_denied" => lenient!(PermissionDenied),
            "notification" => lenient!(Notification),
            "mirror_error" => lenient!(MirrorError),
            _ => SystemMessage::Other(frame!(())),
        })
    }
}

impl<'de> Deserialize<'de> for SystemMessage {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        SystemMessage::from_value(Value::deserialize(deserializer)?).map_err(D::Error::custom)
    }
}

/// `system/init`. Fields not modelled here are in [`SystemFrame::data`]
/// (`memory_paths`, `original_cwd`, `additional_directories`, ...).
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct InitInfo {
    /// Working directory.
    pub cwd: Option<String>,
    /// Tools available to the model.
    #[serde(deserialize_with = "null_default")]
    pub tools: Vec<String>,
    /// MCP servers and their connection status.
    #[serde(deserialize_with = "null_default")]
    pub mcp_servers: Vec<McpServerInfo>,
    /// The model.
    pub model: Option<String>,
    /// `permissionMode`.
    #[serde(rename = "permissionMode")]
    pub permission_mode: Option<String>,
    /// Slash commands.
    #[serde(deserialize_with = "null_default")]
    pub slash_commands: Vec<String>,
    /// `apiKeySource`.
    #[serde(rename = "apiKeySource")]
    pub api_key_source: Option<String>,
    /// CLI version, `X.Y.Z`.
    pub claude_code_version: Option<String>,
    /// Output style.
    pub output_style: Option<String>,
    /// Agent names.
    #[serde(deserialize_with = "null_default")]
    pub agents: Vec<String>,
    /// Skill names.
    #[serde(deserialize_with = "null_default")]
    pub skills: Vec<String>,
    /// Loaded plugins.
    #[serde(deserialize_with = "null_default")]
    pub plugins: Vec<PluginInfo>,
    /// API betas in use.
    #[serde(deserialize_with = "null_default")]
    pub betas: Vec<String>,
    /// Protocol capabilities of the CLI (e.g. `interrupt_receipt_v1`).
    #[serde(deserialize_with = "null_default")]
    pub capabilities: Vec<String>,
    /// Fast-mode state (`off`, ...).
    pub fast_mode_state: Option<String>,
}

/// An MCP server in `system/init`.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[non_exhaustive]
pub struct McpServerInfo {
    /// The server name (the `mcpServers` key).
    pub name: String,
    /// `connected`, `failed`, `pending`, `needs-auth`, ...
    pub status: String,
    /// Where it was configured.
    #[serde(default)]
    pub source: Option<String>,
}

/// A plugin in `system/init`.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[non_exhaustive]
pub struct PluginInfo {
    /// Plugin name.
    pub name: String,
    /// Path (or `builtin`).
    pub path: String,
    /// Version.
    #[serde(default)]
    pub version: Option<String>,
    /// Source, e.g. `name@marketplace`.
    #[serde(default)]
    pub source: Option<String>,
}

/// `system/status`.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct StatusInfo {
    /// `requesting`, `compacting`, or `None`.
    pub status: Option<String>,
    /// `permissionMode`, when it changed.
    #[serde(rename = "permissionMode")]
    pub permission_mode: Option<String>,
    /// Outcome of a compaction.
    pub compact_result: Option<Value>,
    /// Error of a failed compaction.
    pub compact_error: Option<Value>,
}

/// `system/session_state_changed`.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[non_exhaustive]
pub struct SessionStateInfo {
    /// `idle`, `running` or `requires_action`.
    pub state: String,
    /// Meant only for the SDK host.
    #[serde(default, deserialize_with = "null_default")]
    pub sdk_host_only: bool,
}

/// `system/task_started`.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[non_exhaustive]
pub struct TaskStarted {
    /// Task id.
    pub task_id: String,
    /// What the task does.
    pub description: String,
    /// The tool call that started it.
    #[serde(default)]
    pub tool_use_id: Option<String>,
    /// `local_agent`, `local_workflow`, `local_bash`, ...
    #[serde(default)]
    pub task_type: Option<String>,
    /// Sub-agent type.
    #[serde(default)]
    pub subagent_type: Option<String>,
    /// Whether it runs in the background.
    #[serde(default)]
    pub is_backgrounded: Option<bool>,
    /// Parent task.
    #[serde(default)]
    pub parent_task_id: Option<String>,
    /// Workflow name.
    #[serde(default)]
    pub workflow_name: Option<String>,
    /// Prompt given to the task.
    #[serde(default)]
    pub prompt: Option<String>,
}

/// Usage counters of a task.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct TaskUsage {
    /// Tokens used.
    #[serde(deserialize_with = "lenient_u64")]
    pub total_tokens: u64,
    /// Tool calls made.
    #[serde(deserialize_with = "lenient_u64")]
    pub tool_uses: u64,
    /// Run time, in milliseconds.
    #[serde(deserialize_with = "lenient_u64")]
    pub duration_ms: u64,
}

/// `system/task_progress`.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[non_exhaustive]
pub struct TaskProgress {
    /// Task id.
    pub task_id: String,
    /// What the task does.
    pub description: String,
    /// Usage so far.
    pub usage: TaskUsage,
    /// The tool call that started it.
    #[serde(default)]
    pub tool_use_id: Option<String>,
    /// Last tool the task used.
    #[serde(default)]
    pub last_tool_name: Option<String>,
    /// Progress summary.
    #[serde(default)]
    pub summary: Option<String>,
}

/// `system/task_notification`: a task finished.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[non_exhaustive]
pub struct TaskNotification {
    /// Task id.
    pub task_id: String,
    /// `completed`, `failed` or `stopped`.
    pub status: String,
    /// File holding the task's output.
    pub output_file: String,
    /// Summary.
    pub summary: String,
    /// Final usage.
    #[serde(default)]
    pub usage: Option<TaskUsage>,
    /// The tool call that started it.
    #[serde(default)]
    pub tool_use_id: Option<String>,
}

/// `system/task_updated`: a patch to a task's state.
///
/// The CLI sends it bare (`{"type":"system","subtype":"task_updated","task_id":"b1m21w89v",
/// "patch":{"status":"killed","end_time":...}}`, no `uuid` or `session_id`), and for
/// some tasks it is the only terminal signal. It never fails to parse, as in
/// Python's parser: a missing `task_id` is `""`; a missing or non-object `patch`
/// is an empty patch, and a patch field of the wrong type is `None`.
///
/// ```
/// use agent_sdk::message::{Message, SystemMessage};
///
/// let line = br#"{"type":"system","subtype":"task_updated","task_id":"b1m21w89v","patch":{"status":"killed","end_time":1780405729183}}"#;
/// let Message::System(SystemMessage::TaskUpdated(update)) = Message::from_slice(line)? else { unreachable!() };
/// assert_eq!(update.task_id, "b1m21w89v");
/// assert_eq!(update.patch.status.as_deref(), Some("killed"));
/// assert!(update.patch.is_terminal());
/// assert_eq!(update.uuid, None);
///
/// // A patch that is not an object carries nothing, not even a status.
/// let line = br#"{"type":"system","subtype":"task_updated","task_id":"t1","patch":["completed"]}"#;
/// let Message::System(SystemMessage::TaskUpdated(update)) = Message::from_slice(line)? else { unreachable!() };
/// assert_eq!(update.patch.status, None);
/// assert!(update.patch.fields.is_empty());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct TaskUpdated {
    /// Task id (`""` when the frame has none).
    pub task_id: String,
    /// The changed fields.
    pub patch: TaskPatch,
}

impl TaskUpdated {
    /// Reads the typed view from a whole `task_updated` frame; never fails.
    fn from_frame(data: &Value) -> TaskUpdated {
        let task_id = data
            .get("task_id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let fields = match data.get("patch") {
            Some(Value::Object(patch)) => patch.clone(),
            _ => Map::new(),
        };
        TaskUpdated {
            task_id,
            patch: TaskPatch::from_fields(fields),
        }
    }
}

/// The `patch` of `task_updated`: the typed fields, and every field as sent in
/// [`fields`](Self::fields).
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct TaskPatch {
    /// `pending`, `running`, `paused`, `completed`, `failed`, `killed`.
    pub status: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// Error text.
    pub error: Option<String>,
    /// Background flag.
    pub is_backgrounded: Option<bool>,
    /// End time, as sent.
    pub end_time: Option<Value>,
    /// Time spent paused, in milliseconds.
    pub total_paused_ms: Option<u64>,
    /// The whole patch as sent (empty when the frame had none, or not an object).
    pub fields: Map<String, Value>,
}

impl TaskPatch {
    fn from_fields(fields: Map<String, Value>) -> TaskPatch {
        let string = |key: &str| fields.get(key).and_then(Value::as_str).map(str::to_owned);
        TaskPatch {
            status: string("status"),
            description: string("description"),
            error: string("error"),
            is_backgrounded: fields.get("is_backgrounded").and_then(Value::as_bool),
            end_time: fields.get("end_time").filter(|v| !v.is_null()).cloned(),
            total_paused_ms: fields
                .get("total_paused_ms")
                .and_then(|v| lenient_u64(v).ok()),
            fields,
        }
    }

    /// Whether the patch ends the task: `status` is `completed`, `failed`,
    /// `stopped` or `killed` (Python's `TERMINAL_TASK_STATUSES`).
    pub fn is_terminal(&self) -> bool {
        self.status
            .as_deref()
            .is_some_and(|status| TERMINAL_TASK_STATUSES.contains(&status))
    }
}

/// `system/background_tasks_changed` (replace semantics).
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct BackgroundTasks {
    /// Every background task, as sent (`task_id`, `task_type`, `description`, ...).
    #[serde(deserialize_with = "null_default")]
    pub tasks: Vec<Value>,
}

/// `system/hook_started`, `hook_progress` and `hook_response`: a settings or
/// command hook ran (sent with `--include-hook-events`). Python's `HookEventMessage`.
///
/// Not to be confused with the `hooks::HookEvent` trait of the hooks this SDK registers.
///
/// ```
/// use agent_sdk::message::{Message, SystemMessage};
///
/// let line = br#"{"type":"system","subtype":"hook_started","hook_name":"Stop"}"#;
/// let Message::System(SystemMessage::HookStarted(hook)) = Message::from_slice(line)? else { unreachable!() };
/// assert_eq!(hook.event_name(), Some("Stop"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[doc(alias = "HookEventMessage")]
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct HookEventInfo {
    /// Hook run id.
    pub hook_id: Option<String>,
    /// Hook name.
    pub hook_name: Option<String>,
    /// Event name, e.g. `PreToolUse`.
    pub hook_event: Option<String>,
    /// Event name under the key some CLI versions use.
    pub hook_event_name: Option<String>,
    /// Combined output.
    pub output: Option<String>,
    /// Standard output.
    pub stdout: Option<String>,
    /// Standard error.
    pub stderr: Option<String>,
    /// Exit code of a command hook.
    pub exit_code: Option<i64>,
    /// `success`, `error` or `cancelled`.
    pub outcome: Option<String>,
}

impl HookEventInfo {
    /// The hook event name: `hook_event`, else `hook_name`, else `hook_event_name`
    /// (Python's `hook_event_name`).
    pub fn event_name(&self) -> Option<&str> {
        self.hook_event
            .as_deref()
            .or(self.hook_name.as_deref())
            .or(self.hook_event_name.as_deref())
    }
}

/// `system/compact_boundary`.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct CompactBoundary {
    /// Details of the compaction.
    pub compact_metadata: CompactMetadata,
}

/// `compact_metadata` of `compact_boundary`.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct CompactMetadata {
    /// `manual` or `auto`.
    pub trigger: Option<String>,
    /// Tokens before.
    pub pre_tokens: Option<u64>,
    /// Tokens after.
    pub post_tokens: Option<u64>,
}

/// `system/api_retry`.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ApiRetry {
    /// Attempt number.
    pub attempt: Option<u32>,
    /// Retry budget.
    pub max_retries: Option<u32>,
    /// Delay before the next attempt, in milliseconds.
    pub retry_delay_ms: Option<u64>,
    /// HTTP status of the failure.
    pub error_status: Option<u16>,
    /// The error, as sent.
    pub error: Option<Value>,
}

/// `system/permission_denied`: the CLI denied a tool call.
///
/// Not to be confused with the `PermissionDenied` hook event in `hooks`.
///
/// ```
/// use agent_sdk::message::{Message, SystemMessage};
///
/// let line = br#"{"type":"system","subtype":"permission_denied","tool_name":"Bash","tool_use_id":"toolu_1","message":"no","uuid":"u","session_id":"s"}"#;
/// let Message::System(SystemMessage::PermissionDenied(denied)) = Message::from_slice(line)? else { unreachable!() };
/// assert_eq!(denied.tool_name.as_deref(), Some("Bash"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct PermissionDeniedInfo {
    /// Tool name.
    pub tool_name: Option<String>,
    /// Tool-use id.
    pub tool_use_id: Option<String>,
    /// Message shown to the model.
    pub message: Option<String>,
    /// Kind of rule that decided.
    pub decision_reason_type: Option<String>,
    /// Why, as sent.
    pub decision_reason: Option<Value>,
    /// Sub-agent that made the call.
    pub agent_id: Option<String>,
}

/// `system/notification`: a notification the CLI would show in its UI.
///
/// Not to be confused with the `Notification` hook event in `hooks`.
///
/// ```
/// use agent_sdk::message::{Message, SystemMessage};
///
/// let line = br#"{"type":"system","subtype":"notification","key":"stop-hook-error","text":"a hook failed","priority":"immediate","uuid":"u","session_id":"s"}"#;
/// let Message::System(SystemMessage::Notification(note)) = Message::from_slice(line)? else { unreachable!() };
/// assert_eq!(note.key.as_deref(), Some("stop-hook-error"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct NotificationInfo {
    /// Notification key, e.g. `stop-hook-error`.
    pub key: Option<String>,
    /// Text.
    pub text: Option<String>,
    /// e.g. `immediate`.
    pub priority: Option<String>,
}

/// `system/mirror_error`: a session store's `append` failed after its retries
/// (or timed out once); the batch was dropped from the store (the CLI's local
/// transcript still has it: `import_session_to_store` can catch the store up).
///
/// ```
/// use agent_sdk::message::{Message, SystemMessage};
///
/// let frame = r#"{"type":"system","subtype":"mirror_error","error":"disk full",
///     "key":{"project_key":"-work","session_id":"s1"},"uuid":"u1","session_id":"s1"}"#;
/// let Message::System(SystemMessage::MirrorError(error)) = Message::from_slice(frame.as_bytes())? else {
///     panic!("not a mirror error");
/// };
/// assert_eq!(error.error, "disk full");
/// assert_eq!(error.key.as_ref().unwrap().session_id, "s1");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct MirrorErrorInfo {
    /// What the store said.
    pub error: String,
    /// The transcript the batch was for; `None` when it could not be named.
    pub key: Option<MirrorErrorKey>,
}

/// The store key of a [`MirrorErrorInfo`].
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct MirrorErrorKey {
    /// The project key.
    pub project_key: String,
    /// The session id.
    pub session_id: String,
    /// The sub-path of a subagent's transcript.
    pub subpath: Option<String>,
}
