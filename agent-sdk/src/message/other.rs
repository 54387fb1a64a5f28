//! The smaller frame types: `stream_event`, `rate_limit_event`, `conversation_reset`.

use serde::Deserialize;
use serde_json::Value;

/// A raw Anthropic streaming event (`--include-partial-messages` only).
///
/// The complete `assistant` frames are still sent as well.
///
/// ```
/// use agent_sdk::message::Message;
///
/// let line = br#"{"type":"stream_event","uuid":"u1","session_id":"s1","parent_tool_use_id":null,"event":{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}}}"#;
/// let Message::StreamEvent(event) = Message::from_slice(line)? else { unreachable!() };
/// assert_eq!(event.event_type(), Some("content_block_delta"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct StreamEvent {
    /// Frame uuid.
    pub uuid: String,
    /// Session id.
    pub session_id: String,
    /// The API event (`message_start`, `content_block_delta`, `message_stop`, ...).
    pub event: Value,
    /// The `Task`/agent tool call this belongs to; `None` on the main thread.
    #[serde(default)]
    pub parent_tool_use_id: Option<String>,
    /// Id of the API message the event belongs to.
    #[serde(default)]
    pub api_message_id: Option<String>,
    /// Time to first token, in milliseconds.
    #[serde(default, deserialize_with = "super::serde_util::lenient_opt_u64")]
    pub ttft_ms: Option<u64>,
    /// Uuid of the user message this turn answers.
    #[serde(default)]
    pub user_message_uuid: Option<String>,
    /// Uuids of the user messages folded into this turn; `None` when not sent
    /// (older CLIs), `Some(vec![])` when sent empty.
    #[serde(default)]
    pub user_message_uuids: Option<Vec<String>>,
}

impl StreamEvent {
    /// The API event's `type`.
    pub fn event_type(&self) -> Option<&str> {
        self.event.get("type").and_then(Value::as_str)
    }
}

/// A subscription rate-limit change (`rate_limit_event`).
///
/// ```
/// use agent_sdk::message::Message;
///
/// let line = br#"{"type":"rate_limit_event","rate_limit_info":{"status":"allowed_warning","resetsAt":1700000000,"rateLimitType":"five_hour","utilization":0.9},"uuid":"u1","session_id":"s1"}"#;
/// let Message::RateLimit(event) = Message::from_slice(line)? else { unreachable!() };
/// assert_eq!(event.rate_limit_info.rate_limit_type.as_deref(), Some("five_hour"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct RateLimitEvent {
    /// The new state.
    pub rate_limit_info: RateLimitInfo,
    /// Frame uuid.
    pub uuid: String,
    /// Session id.
    pub session_id: String,
}

/// `rate_limit_info` (camelCase on the wire). Fields not modelled here are in `raw`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "Value")]
#[non_exhaustive]
pub struct RateLimitInfo {
    /// `allowed`, `allowed_warning` or `rejected`.
    pub status: String,
    /// `resetsAt`: Unix time (seconds) when the window resets.
    pub resets_at: Option<i64>,
    /// `rateLimitType`: `five_hour`, `seven_day`, `seven_day_opus`, `seven_day_sonnet`, `overage`, ...
    pub rate_limit_type: Option<String>,
    /// `utilization`, 0.0 to 1.0.
    pub utilization: Option<f64>,
    /// `overageStatus`.
    pub overage_status: Option<String>,
    /// `overageResetsAt`.
    pub overage_resets_at: Option<i64>,
    /// `overageDisabledReason`.
    pub overage_disabled_reason: Option<String>,
    /// `isUsingOverage`.
    pub is_using_overage: Option<bool>,
    /// The whole `rate_limit_info` object.
    pub raw: Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RateLimitInfoWire {
    status: String,
    #[serde(default)]
    resets_at: Option<i64>,
    #[serde(default)]
    rate_limit_type: Option<String>,
    #[serde(default)]
    utilization: Option<f64>,
    #[serde(default)]
    overage_status: Option<String>,
    #[serde(default)]
    overage_resets_at: Option<i64>,
    #[serde(default)]
    overage_disabled_reason: Option<String>,
    #[serde(default)]
    is_using_overage: Option<bool>,
}

impl TryFrom<Value> for RateLimitInfo {
    type Error = serde_json::Error;

    fn try_from(raw: Value) -> Result<Self, Self::Error> {
        let wire = RateLimitInfoWire::deserialize(&raw)?;
        Ok(RateLimitInfo {
            status: wire.status,
            resets_at: wire.resets_at,
            rate_limit_type: wire.rate_limit_type,
            utilization: wire.utilization,
            overage_status: wire.overage_status,
            overage_resets_at: wire.overage_resets_at,
            overage_disabled_reason: wire.overage_disabled_reason,
            is_using_overage: wire.is_using_overage,
            raw,
        })
    }
}

/// A tool call is still running: `tool_progress`.
///
/// The CLI 2.1.330 sends one every 30 seconds of a call (`heartbeat: true`, a
/// `tool_use_id` of `<call's id>-heartbeat-<n>` and the call's id in
/// `parent_tool_use_id`), for in-process and external MCP tools alike. MCP
/// `notifications/progress` of a server do not produce one (see
/// [`ToolContext::progress`](crate::mcp::ToolContext::progress)).
///
/// ```
/// use agent_sdk::message::Message;
///
/// let line = br#"{"type":"tool_progress","tool_use_id":"toolu_1-heartbeat-0","tool_name":"mcp__slow__wait","parent_tool_use_id":"toolu_1","elapsed_time_seconds":30,"heartbeat":true,"uuid":"u1","session_id":"s1"}"#;
/// let Message::ToolProgress(progress) = Message::from_slice(line)? else { unreachable!() };
/// assert_eq!(progress.elapsed_time_seconds, 30.0);
/// assert_eq!(progress.call_id(), "toolu_1");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct ToolProgress {
    /// This frame's id (for a heartbeat, `<call's id>-heartbeat-<n>`).
    pub tool_use_id: String,
    /// The tool's name as the model sees it (`mcp__<server>__<tool>` for MCP tools).
    pub tool_name: String,
    /// For a heartbeat, the running call's `tool_use_id`; for a subagent's tool, its parent's.
    #[serde(default)]
    pub parent_tool_use_id: Option<String>,
    /// Seconds since the call started.
    pub elapsed_time_seconds: f64,
    /// True for the periodic keep-alive of a long call.
    #[serde(default)]
    pub heartbeat: bool,
    /// The background task the call belongs to, if any.
    #[serde(default)]
    pub task_id: Option<String>,
    /// Frame uuid.
    pub uuid: String,
    /// Session id.
    pub session_id: String,
}

impl ToolProgress {
    /// The id of the call this frame is about: the parent's for a heartbeat, else its own.
    pub fn call_id(&self) -> &str {
        match (&self.parent_tool_use_id, self.heartbeat) {
            (Some(parent), true) => parent,
            _ => &self.tool_use_id,
        }
    }
}

/// The conversation was replaced (`/clear` and the like): `conversation_reset`.
///
/// ```
/// use agent_sdk::message::Message;
///
/// let line = br#"{"type":"conversation_reset","new_conversation_id":"c2","uuid":"u1","session_id":"s1","trigger":"clear"}"#;
/// let Message::ConversationReset(reset) = Message::from_slice(line)? else { unreachable!() };
/// assert_eq!(reset.new_conversation_id, "c2");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct ConversationReset {
    /// Id of the new conversation.
    pub new_conversation_id: String,
    /// Frame uuid.
    pub uuid: String,
    /// Session id.
    pub session_id: String,
    /// What caused it, e.g. `clear`.
    #[serde(default)]
    pub trigger: Option<String>,
    /// Uuid of the user message that caused it.
    #[serde(default)]
    pub user_message_uuid: Option<String>,
    /// ISO-8601 time.
    #[serde(default)]
    pub timestamp: Option<String>,
}
