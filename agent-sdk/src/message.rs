//! Typed messages of the conversation (skeleton; the full set lands with the core issue).

use serde::Deserialize;
use serde_json::Value;

/// One message from the CLI.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Message {
    /// An assistant frame (one per content block).
    Assistant(AssistantMessage),
    /// A system frame.
    System(SystemMessage),
    /// The end of a turn.
    Result(ResultMessage),
    /// Anything this version does not know, kept raw.
    Unknown(Value),
}

/// An assistant frame.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct AssistantMessage {
    /// The API message.
    pub message: Value,
}

impl AssistantMessage {
    /// The text blocks joined.
    pub fn text(&self) -> String {
        String::new()
    }
}

/// A system frame.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SystemMessage {
    /// e.g. `init`.
    pub subtype: String,
    /// The whole frame.
    pub data: Value,
}

/// The end of a turn.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct ResultMessage {
    /// `success` or an `error_*` subtype.
    pub subtype: String,
    /// Whether the turn failed.
    pub is_error: bool,
    /// Final text.
    #[serde(default)]
    pub result: Option<String>,
    /// Error strings.
    #[serde(default)]
    pub errors: Vec<String>,
    /// HTTP status of an API error.
    #[serde(default)]
    pub api_error_status: Option<u16>,
    /// Session id.
    pub session_id: String,
    /// Structured output.
    #[serde(default)]
    pub structured_output: Option<Value>,
}

/// Content blocks.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ContentBlock {
    /// Text.
    Text(String),
}

impl Message {
    /// Parses one stdout line.
    pub fn from_slice(bytes: &[u8]) -> Result<Message, serde_json::Error> {
        let value: Value = serde_json::from_slice(bytes)?;
        Ok(match value.get("type").and_then(Value::as_str) {
            Some("assistant") => Message::Assistant(serde_json::from_value(value)?),
            Some("result") => Message::Result(serde_json::from_value(value)?),
            Some("system") => Message::System(SystemMessage {
                subtype: value
                    .get("subtype")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                data: value,
            }),
            _ => Message::Unknown(value),
        })
    }

    /// Frames that exist only for the SDK host (`sdk_host_only: true`): consumed, never shown.
    pub(crate) fn is_sdk_host_only(&self) -> bool {
        matches!(self, Message::System(s) if s.data.get("sdk_host_only").and_then(Value::as_bool) == Some(true))
    }

    /// An assistant or stream_event frame of the main thread (no `parent_tool_use_id`).
    pub(crate) fn is_main_thread_turn_frame(&self) -> bool {
        matches!(self, Message::Assistant(a) if a.message.get("parent_tool_use_id").is_none())
    }

    /// For `system/session_state_changed`: the new state.
    pub(crate) fn session_state(&self) -> Option<&str> {
        match self {
            Message::System(s) if s.subtype == "session_state_changed" => {
                s.data.get("state").and_then(Value::as_str)
            }
            _ => None,
        }
    }
}
