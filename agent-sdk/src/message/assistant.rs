//! `assistant` frames.

use super::Usage;
use super::content::{ContentBlock, ToolUseBlock, join_text};
use super::serde_util::null_default;
use serde::Deserialize;

/// An `assistant` frame: **one completed content block** of an API message.
///
/// The CLI sends one frame per content block, so several frames share one
/// [`message_id`](Self::message_id); `stop_reason` is `None` on them and `usage`
/// is not final (the final numbers are on the [`ResultMessage`](super::ResultMessage)).
///
/// ```
/// use agent_sdk::message::{AssistantMessage, Message};
///
/// let line = br#"{"type":"assistant","message":{"id":"msg_1","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Hi!"}],"stop_reason":null},"parent_tool_use_id":null,"session_id":"s1"}"#;
/// let Message::Assistant(assistant) = Message::from_slice(line)? else { unreachable!() };
/// assert_eq!(assistant.text(), "Hi!");
/// assert_eq!(assistant.message_id.as_deref(), Some("msg_1"));
/// assert_eq!(assistant.tool_uses().count(), 0);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(from = "AssistantWire")]
#[non_exhaustive]
pub struct AssistantMessage {
    /// The content blocks (`message.content`), usually exactly one.
    pub content: Vec<ContentBlock>,
    /// The model (`message.model`).
    pub model: String,
    /// The API message id (`message.id`), shared by the frames of one API message.
    pub message_id: Option<String>,
    /// `message.stop_reason`; `None` on per-block frames.
    pub stop_reason: Option<String>,
    /// `message.stop_sequence`.
    pub stop_sequence: Option<String>,
    /// `message.usage` (not final: the totals are on the [`ResultMessage`](super::ResultMessage)).
    pub usage: Option<Usage>,
    /// The `Task`/agent tool call this frame belongs to; `None` on the main thread.
    pub parent_tool_use_id: Option<String>,
    /// Session id.
    pub session_id: Option<String>,
    /// Frame uuid.
    pub uuid: Option<String>,
    /// API error kind when the turn failed (`rate_limit`, `authentication_failed`,
    /// `billing_error`, `invalid_request`, `server_error`, `max_output_tokens`, `unknown`, ...).
    pub error: Option<String>,
    /// HTTP status of the API error behind a synthetic error frame.
    pub api_error_status: Option<u16>,
    /// `is_api_error_message`: the CLI synthesized this frame from an API error
    /// (`model` is then `<synthetic>`).
    pub is_api_error_message: bool,
    /// ISO-8601 time the CLI wrote the frame.
    pub timestamp: Option<String>,
    /// The API request id.
    pub request_id: Option<String>,
    /// Uuid of the user message that started this turn (first frame of a turn only).
    pub user_message_uuid: Option<String>,
    /// Uuids of the user messages folded into this turn (first frame of a turn only);
    /// `None` when not sent (older CLIs), `Some(vec![])` when sent empty.
    pub user_message_uuids: Option<Vec<String>>,
    /// Uuids of earlier frames this one replaces.
    pub supersedes: Vec<String>,
    /// Set when the stream was aborted mid-block.
    pub aborted: bool,
    /// The sub-agent that produced the frame.
    pub agent_id: Option<String>,
}

impl AssistantMessage {
    /// The text blocks joined, without separator.
    pub fn text(&self) -> String {
        join_text(&self.content)
    }

    /// The tool calls in this frame.
    pub fn tool_uses(&self) -> impl Iterator<Item = &ToolUseBlock> + '_ {
        self.content.iter().filter_map(ContentBlock::as_tool_use)
    }

    /// Whether the frame belongs to the main conversation (not a sub-agent).
    pub fn is_main_thread(&self) -> bool {
        self.parent_tool_use_id.is_none()
    }
}

#[derive(Deserialize)]
struct AssistantWire {
    message: ApiMessage,
    #[serde(default)]
    parent_tool_use_id: Option<String>,
    #[serde(default)]
    session_id: Option<String>,
    #[serde(default)]
    uuid: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    api_error_status: Option<u16>,
    #[serde(default, deserialize_with = "null_default")]
    is_api_error_message: bool,
    #[serde(default)]
    timestamp: Option<String>,
    #[serde(default)]
    request_id: Option<String>,
    #[serde(default)]
    user_message_uuid: Option<String>,
    #[serde(default)]
    user_message_uuids: Option<Vec<String>>,
    #[serde(default, deserialize_with = "null_default")]
    supersedes: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    aborted: bool,
    #[serde(default)]
    agent_id: Option<String>,
}

/// The Anthropic API message inside an assistant frame.
#[derive(Deserialize)]
struct ApiMessage {
    #[serde(default)]
    id: Option<String>,
    model: String,
    content: Vec<ContentBlock>,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    stop_sequence: Option<String>,
    #[serde(default)]
    usage: Option<Usage>,
}

impl From<AssistantWire> for AssistantMessage {
    fn from(wire: AssistantWire) -> Self {
        let ApiMessage {
            id,
            model,
            content,
            stop_reason,
            stop_sequence,
            usage,
        } = wire.message;
        AssistantMessage {
            content,
            model,
            message_id: id,
            stop_reason,
            stop_sequence,
            usage,
            parent_tool_use_id: wire.parent_tool_use_id,
            session_id: wire.session_id,
            uuid: wire.uuid,
            error: wire.error,
            api_error_status: wire.api_error_status,
            is_api_error_message: wire.is_api_error_message,
            timestamp: wire.timestamp,
            request_id: wire.request_id,
            user_message_uuid: wire.user_message_uuid,
            user_message_uuids: wire.user_message_uuids,
            supersedes: wire.supersedes,
            aborted: wire.aborted,
            agent_id: wire.agent_id,
        }
    }
}
