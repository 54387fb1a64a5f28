//! Typed messages of the conversation, and the content blocks inside them.
//!
//! Every stdout line of the CLI that is not a control frame becomes a
//! [`Message`]. Parsing is forward compatible: unknown frame types, system
//! subtypes, content blocks and fields never fail; they are kept as raw JSON
//! (`Unknown`/`Other` variants) or ignored. A frame of a known type that lacks a
//! field the official Python SDK requires is an error.
//!
//! ```
//! use agent_sdk::message::{ContentBlock, Message, SystemMessage};
//!
//! # fn show(line: &[u8]) -> Result<(), serde_json::Error> {
//! match Message::from_slice(line)? {
//!     Message::Assistant(assistant) => {
//!         for block in &assistant.content {
//!             match block {
//!                 ContentBlock::Text(text) => println!("{}", text.text),
//!                 ContentBlock::ToolUse(call) => println!("calling {} with {}", call.name, call.input),
//!                 _ => {}
//!             }
//!         }
//!     }
//!     Message::System(SystemMessage::Init(init)) => println!("model: {:?}", init.model),
//!     Message::Result(result) => println!("done: {:?} (error: {})", result.result, result.is_error),
//!     _ => {}
//! }
//! # Ok(())
//! # }
//! # show(br#"{"type":"keep_alive"}"#).unwrap();
//! ```

mod assistant;
mod content;
mod control;
mod cost;
mod other;
mod result;
mod serde_util;
mod system;
mod usage;
mod user;

use serde::Deserialize;
use serde_json::Value;

pub use assistant::AssistantMessage;
pub use content::{
    AdvisorToolResultBlock, ContentBlock, ImageBlock, ImageSource, MessageContent,
    RedactedThinkingBlock, ServerToolUseBlock, TextBlock, ThinkingBlock, ToolResultBlock,
    ToolUseBlock,
};
pub use control::{
    AccountInfo, AgentInfo, ContextAgent, ContextCategory, ContextGridCell, ContextMcpTool,
    ContextMemoryFile, ContextMessageBreakdown, ContextUsage, McpServerStatus, McpServerVersion,
    McpSetServersResult, McpStatus, McpToolStatus, ModelInfo, RewindFilesResult, ServerInfo,
    SlashCommand,
};
pub use cost::{CostBaseline, RunningTotals};
pub use other::{ConversationReset, RateLimitEvent, RateLimitInfo, StreamEvent, ToolProgress};
pub use result::{DeferredToolUse, ModelUsage, PermissionDenial, ResultError, ResultMessage};
pub use system::{
    ApiRetry, BackgroundTasks, CompactBoundary, CompactMetadata, HookEventInfo, InitInfo,
    McpServerInfo, MirrorErrorInfo, MirrorErrorKey, NotificationInfo, PermissionDeniedInfo,
    PluginInfo, SessionStateInfo, StatusInfo, SystemFrame, SystemMessage, TaskNotification,
    TaskPatch, TaskProgress, TaskStarted, TaskUpdated, TaskUsage,
};
pub use usage::Usage;
pub use user::{MessageOrigin, Priority, UserInput, UserMessage};

/// One message from the CLI (one stdout line).
///
/// ```
/// use agent_sdk::message::Message;
///
/// let message = Message::from_slice(br#"{"type":"assistant","message":{"model":"claude-sonnet-4-5","content":[{"type":"text","text":"4"}]},"session_id":"s1"}"#)?;
/// match &message {
///     Message::Assistant(assistant) => assert_eq!(assistant.text(), "4"),
///     other => panic!("unexpected {other:?}"),
/// }
/// assert_eq!(message.session_id(), Some("s1"));
///
/// // Frame types this version does not know are kept raw.
/// let unknown = Message::from_slice(br#"{"type":"keep_alive"}"#)?;
/// assert!(matches!(unknown, Message::Unknown(_)));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Message {
    /// A `user` frame: tool results, replays, injected turns.
    User(UserMessage),
    /// An `assistant` frame (one per completed content block).
    Assistant(AssistantMessage),
    /// A `system` frame.
    System(SystemMessage),
    /// The end of a turn.
    Result(ResultMessage),
    /// A raw API streaming event (`--include-partial-messages`).
    StreamEvent(StreamEvent),
    /// A rate-limit change.
    RateLimit(RateLimitEvent),
    /// The conversation was replaced.
    ConversationReset(ConversationReset),
    /// A long tool call is still running (`tool_progress`).
    ToolProgress(ToolProgress),
    /// Any other frame type (`keep_alive`, `command_lifecycle`, ...), kept raw.
    Unknown(Value),
    /// A line the session could not read: not JSON, a frame of a known type
    /// missing a field it needs, or longer than
    /// [`max_buffer_size`](crate::AgentOptionsBuilder::max_buffer_size). The
    /// session goes on; the line is also logged (`tracing`, warn level).
    ///
    /// ```
    /// use agent_sdk::Message;
    ///
    /// fn show(message: &Message) {
    ///     if let Message::Malformed { excerpt, error } = message {
    ///         eprintln!("skipped a bad line from the CLI ({error}): {excerpt}");
    ///     }
    /// }
    /// # show(&Message::Malformed { excerpt: "{oops".into(), error: "expected value".into() });
    /// ```
    Malformed {
        /// The start of the line (at most 160 bytes, invalid UTF-8 replaced).
        excerpt: String,
        /// What was wrong with it.
        error: String,
    },
}

/// The frame types with a typed variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FrameType {
    User,
    Assistant,
    System,
    Result,
    StreamEvent,
    RateLimit,
    ConversationReset,
    ToolProgress,
    Other,
}

impl FrameType {
    fn from_tag(tag: &str) -> FrameType {
        match tag {
            "user" => FrameType::User,
            "assistant" => FrameType::Assistant,
            "system" => FrameType::System,
            "result" => FrameType::Result,
            "stream_event" => FrameType::StreamEvent,
            "rate_limit_event" => FrameType::RateLimit,
            "conversation_reset" => FrameType::ConversationReset,
            "tool_progress" => FrameType::ToolProgress,
            _ => FrameType::Other,
        }
    }

    /// The CLI writes `{"type":"<tag>",` first on most frames: read the tag
    /// without parsing. `None` when the line does not start that way.
    fn from_prefix(bytes: &[u8]) -> Option<FrameType> {
        const PREFIX: &[u8] = b"{\"type\":\"";
        let rest = bytes.strip_prefix(PREFIX)?;
        // Tags are short lowercase identifiers: no escapes to worry about.
        let end = rest.iter().take(32).position(|&b| b == b'"')?;
        let tag = std::str::from_utf8(&rest[..end]).ok()?;
        if !tag.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            return None;
        }
        // Only `,` or `}` may follow, so `{"type":"a"x` is left to the real parser.
        match rest.get(end + 1) {
            Some(b',' | b'}') => Some(FrameType::from_tag(tag)),
            _ => None,
        }
    }
}

/// Why a line that is not UTF-8 is not a frame: where its first bad byte is.
fn not_utf8(error: std::str::Utf8Error) -> serde_json::Error {
    use serde::de::Error as _;
    serde_json::Error::custom(format_args!(
        "the line is not UTF-8: invalid byte at column {}",
        error.valid_up_to() + 1
    ))
}

/// Reads only the top-level `type` of a frame, skipping everything else.
#[derive(Deserialize)]
struct TypePeek<'a> {
    #[serde(rename = "type", borrow, default)]
    tag: Option<std::borrow::Cow<'a, str>>,
}

impl Message {
    /// How many bytes of a malformed line [`Message::Malformed`] keeps.
    const EXCERPT_BYTES: usize = 160;

    /// The [`Message::Malformed`] item for `line` (or its start) and what was wrong.
    pub(crate) fn malformed(line: &[u8], error: impl std::fmt::Display) -> Message {
        let excerpt = &line[..line.len().min(Self::EXCERPT_BYTES)];
        Message::Malformed {
            excerpt: String::from_utf8_lossy(excerpt).into_owned(),
            error: error.to_string(),
        }
    }

    /// Parses one stdout line.
    ///
    /// Never panics. Errors are `serde_json` errors: invalid JSON, or a frame of
    /// a known type missing a required field (e.g. a `result` without `session_id`).
    ///
    /// ```
    /// use agent_sdk::message::Message;
    ///
    /// let error = Message::from_slice(br#"{"type":"result","subtype":"success"}"#).unwrap_err();
    /// assert!(error.to_string().contains("missing field"));
    /// ```
    pub fn from_slice(bytes: &[u8]) -> Result<Message, serde_json::Error> {
        // Check UTF-8 once for the whole line: serde_json's slice reader checks every
        // string on its own, which was ~10% of parsing an assistant frame. Only the
        // text reader is used, so each frame type's decoder is compiled once (a
        // second reader doubled the message code, ~100 KiB of a program).
        let text = std::str::from_utf8(bytes).map_err(not_utf8)?;
        let frame_type = match FrameType::from_prefix(bytes) {
            Some(frame_type) => frame_type,
            None => match serde_json::from_str::<TypePeek<'_>>(text) {
                Ok(peek) => peek
                    .tag
                    .as_deref()
                    .map_or(FrameType::Other, FrameType::from_tag),
                // Not an object (or not JSON): let the `Value` parser decide.
                Err(_) => FrameType::Other,
            },
        };
        Ok(match frame_type {
            FrameType::User => Message::User(serde_json::from_str(text)?),
            FrameType::Assistant => Message::Assistant(serde_json::from_str(text)?),
            FrameType::System => {
                Message::System(SystemMessage::from_value(serde_json::from_str(text)?)?)
            }
            FrameType::Result => Message::Result(serde_json::from_str(text)?),
            FrameType::StreamEvent => Message::StreamEvent(serde_json::from_str(text)?),
            FrameType::RateLimit => Message::RateLimit(serde_json::from_str(text)?),
            FrameType::ConversationReset => Message::ConversationReset(serde_json::from_str(text)?),
            FrameType::ToolProgress => Message::ToolProgress(serde_json::from_str(text)?),
            FrameType::Other => Message::Unknown(serde_json::from_str(text)?),
        })
    }

    /// The session id of the frame, when it has one.
    pub fn session_id(&self) -> Option<&str> {
        match self {
            Message::User(m) => m.session_id.as_deref(),
            Message::Assistant(m) => m.session_id.as_deref(),
            Message::System(m) => m.session_id(),
            Message::Result(m) => Some(&m.session_id),
            Message::StreamEvent(m) => Some(&m.session_id),
            Message::RateLimit(m) => Some(&m.session_id),
            Message::ConversationReset(m) => Some(&m.session_id),
            Message::ToolProgress(m) => Some(&m.session_id),
            Message::Unknown(value) => value.get("session_id").and_then(Value::as_str),
            Message::Malformed { .. } => None,
        }
    }

    /// The frame uuid, when it has one.
    pub fn uuid(&self) -> Option<&str> {
        match self {
            Message::User(m) => m.uuid.as_deref(),
            Message::Assistant(m) => m.uuid.as_deref(),
            Message::System(m) => m.uuid(),
            Message::Result(m) => m.uuid.as_deref(),
            Message::StreamEvent(m) => Some(&m.uuid),
            Message::RateLimit(m) => Some(&m.uuid),
            Message::ConversationReset(m) => Some(&m.uuid),
            Message::ToolProgress(m) => Some(&m.uuid),
            Message::Unknown(value) => value.get("uuid").and_then(Value::as_str),
            Message::Malformed { .. } => None,
        }
    }

    /// Frames that exist only for the SDK host (`sdk_host_only: true`): consumed, never shown.
    pub(crate) fn is_sdk_host_only(&self) -> bool {
        matches!(self, Message::System(s) if s.is_sdk_host_only())
    }

    /// For `system/session_state_changed`: the new state.
    pub(crate) fn session_state(&self) -> Option<&str> {
        match self {
            Message::System(s) => s.session_state(),
            _ => None,
        }
    }

    /// An `assistant` or `stream_event` frame of the main thread (no
    /// `parent_tool_use_id`): a main-thread turn is in progress (protocol 1.7).
    pub(crate) fn is_main_thread_turn_frame(&self) -> bool {
        match self {
            Message::Assistant(m) => m.parent_tool_use_id.is_none(),
            Message::StreamEvent(m) => m.parent_tool_use_id.is_none(),
            _ => false,
        }
    }

    /// The `task_id` of a background agent/workflow task this frame starts.
    pub(crate) fn tracked_task_started(&self) -> Option<&str> {
        match self {
            Message::System(s) => s.tracked_task_started(),
            _ => None,
        }
    }

    /// The `task_id` of a task this frame ends.
    pub(crate) fn task_ended(&self) -> Option<&str> {
        match self {
            Message::System(s) => s.task_ended(),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for Message {
    /// Same rules as [`Message::from_slice`], for use inside other types
    /// (buffers the frame; `from_slice` is the fast path).
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let value = Value::deserialize(deserializer)?;
        let tag = value.get("type").and_then(Value::as_str);
        let frame_type = tag.map_or(FrameType::Other, FrameType::from_tag);
        let typed = match frame_type {
            FrameType::User => UserMessage::deserialize(value).map(Message::User),
            FrameType::Assistant => AssistantMessage::deserialize(value).map(Message::Assistant),
            FrameType::System => SystemMessage::from_value(value).map(Message::System),
            FrameType::Result => ResultMessage::deserialize(value).map(Message::Result),
            FrameType::StreamEvent => StreamEvent::deserialize(value).map(Message::StreamEvent),
            FrameType::RateLimit => RateLimitEvent::deserialize(value).map(Message::RateLimit),
            FrameType::ConversationReset => {
                ConversationReset::deserialize(value).map(Message::ConversationReset)
            }
            FrameType::ToolProgress => ToolProgress::deserialize(value).map(Message::ToolProgress),
            FrameType::Other => Ok(Message::Unknown(value)),
        };
        typed.map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_fast_path_reads_known_tags() {
        assert_eq!(
            FrameType::from_prefix(br#"{"type":"assistant","message":{}}"#),
            Some(FrameType::Assistant)
        );
        assert_eq!(
            FrameType::from_prefix(br#"{"type":"keep_alive"}"#),
            Some(FrameType::Other)
        );
        // Anything unusual goes to the full parser.
        assert_eq!(FrameType::from_prefix(br#"{ "type":"user"}"#), None);
        assert_eq!(FrameType::from_prefix(br#"{"type":"us\"er"}"#), None);
        assert_eq!(FrameType::from_prefix(br#"{"type":"user"x"#), None);
        assert_eq!(FrameType::from_prefix(br#"{"type":"user"#), None);
    }

    #[test]
    fn a_line_that_is_not_utf8_says_where() {
        let error =
            Message::from_slice(b"{\"type\":\"assistant\",\"bad\":\"\xff\xfe\"}").unwrap_err();
        assert_eq!(
            error.to_string(),
            "the line is not UTF-8: invalid byte at column 28"
        );
    }

    #[test]
    fn crate_helpers_follow_protocol_1_7() {
        let frame = |s: &str| Message::from_slice(s.as_bytes()).unwrap();
        let hidden = frame(
            r#"{"type":"system","subtype":"session_state_changed","state":"idle","sdk_host_only":true,"uuid":"u","session_id":"s"}"#,
        );
        assert!(hidden.is_sdk_host_only());
        assert_eq!(hidden.session_state(), Some("idle"));
        let shown = frame(
            r#"{"type":"system","subtype":"session_state_changed","state":"running","uuid":"u","session_id":"s"}"#,
        );
        assert!(!shown.is_sdk_host_only());
        assert_eq!(shown.session_state(), Some("running"));

        let main = frame(
            r#"{"type":"assistant","message":{"model":"m","content":[]},"parent_tool_use_id":null}"#,
        );
        assert!(main.is_main_thread_turn_frame());
        let sub = frame(
            r#"{"type":"stream_event","uuid":"u","session_id":"s","parent_tool_use_id":"toolu_1","event":{}}"#,
        );
        assert!(!sub.is_main_thread_turn_frame());
        let main_event = frame(r#"{"type":"stream_event","uuid":"u","session_id":"s","event":{}}"#);
        assert!(main_event.is_main_thread_turn_frame());

        let agent = frame(
            r#"{"type":"system","subtype":"task_started","task_id":"t1","description":"d","task_type":"local_agent","uuid":"u","session_id":"s"}"#,
        );
        assert_eq!(agent.tracked_task_started(), Some("t1"));
        let shell = frame(
            r#"{"type":"system","subtype":"task_started","task_id":"t2","description":"d","task_type":"local_bash","uuid":"u","session_id":"s"}"#,
        );
        assert_eq!(shell.tracked_task_started(), None);
        let done = frame(
            r#"{"type":"system","subtype":"task_notification","task_id":"t1","status":"completed","output_file":"/o","summary":"ok","uuid":"u","session_id":"s"}"#,
        );
        assert_eq!(done.task_ended(), Some("t1"));
        let killed = frame(
            r#"{"type":"system","subtype":"task_updated","task_id":"t1","patch":{"status":"killed"},"uuid":"u","session_id":"s"}"#,
        );
        assert_eq!(killed.task_ended(), Some("t1"));
        let paused = frame(
            r#"{"type":"system","subtype":"task_updated","task_id":"t1","patch":{"status":"paused"},"uuid":"u","session_id":"s"}"#,
        );
        assert_eq!(paused.task_ended(), None);
    }
}
