//! `user` frames: those the CLI emits ([`UserMessage`]) and those we send ([`UserInput`]).

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::content::{ContentBlock, MessageContent};
use super::serde_util::null_default;

/// A `user` frame from the CLI: tool results, replays, injected turns.
///
/// ```
/// use agent_sdk::message::{ContentBlock, Message, MessageContent};
///
/// let line = br#"{"type":"user","message":{"role":"user","content":[{"tool_use_id":"toolu_1","type":"tool_result","content":"3"}]},"parent_tool_use_id":null,"session_id":"s1","tool_use_result":"3"}"#;
/// let Message::User(user) = Message::from_slice(line)? else { unreachable!() };
/// let ContentBlock::ToolResult(result) = &user.content.blocks()[0] else { unreachable!() };
/// assert_eq!(result.tool_use_id, "toolu_1");
/// assert_eq!(result.content, Some(MessageContent::Text("3".into())));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(from = "UserWire")]
#[non_exhaustive]
pub struct UserMessage {
    /// `message.content`: a string or blocks (text, tool_result, image, ...).
    pub content: MessageContent,
    /// Frame uuid.
    pub uuid: Option<String>,
    /// The `Task`/agent tool call this frame belongs to; `None` on the main thread.
    pub parent_tool_use_id: Option<String>,
    /// Session id.
    pub session_id: Option<String>,
    /// The tool's structured output (Bash: `{stdout, stderr, ...}`; MCP: the content list;
    /// errors: an `"Error: ..."` string).
    pub tool_use_result: Option<Value>,
    /// Per-tool metadata such as the permission decision, as sent.
    pub tool_result_meta: Option<Value>,
    /// ISO-8601 time the CLI wrote the frame.
    pub timestamp: Option<String>,
    /// `isSynthetic`: written by the CLI, not the user.
    pub is_synthetic: bool,
    /// `isReplay`: an echo of our own input (`--replay-user-messages`).
    pub is_replay: bool,
    /// `origin`: who sent the message (`human`, `peer`, `channel`, ...).
    pub origin: Option<MessageOrigin>,
    /// The sub-agent the frame belongs to.
    pub agent_id: Option<String>,
}

impl UserMessage {
    /// The text: the string content, or the text blocks joined.
    pub fn text(&self) -> String {
        self.content.text()
    }
}

#[derive(Deserialize)]
struct UserWire {
    message: UserPayload,
    #[serde(default)]
    uuid: Option<String>,
    #[serde(default)]
    parent_tool_use_id: Option<String>,
    #[serde(default)]
    session_id: Option<String>,
    #[serde(default)]
    tool_use_result: Option<Value>,
    #[serde(default)]
    tool_result_meta: Option<Value>,
    #[serde(default)]
    timestamp: Option<String>,
    #[serde(default, rename = "isSynthetic", deserialize_with = "null_default")]
    is_synthetic: bool,
    #[serde(default, rename = "isReplay", deserialize_with = "null_default")]
    is_replay: bool,
    #[serde(default, deserialize_with = "MessageOrigin::deserialize_valid")]
    origin: Option<MessageOrigin>,
    #[serde(default)]
    agent_id: Option<String>,
}

#[derive(Deserialize)]
struct UserPayload {
    content: MessageContent,
}

impl From<UserWire> for UserMessage {
    fn from(wire: UserWire) -> Self {
        UserMessage {
            content: wire.message.content,
            uuid: wire.uuid,
            parent_tool_use_id: wire.parent_tool_use_id,
            session_id: wire.session_id,
            tool_use_result: wire.tool_use_result,
            tool_result_meta: wire.tool_result_meta,
            timestamp: wire.timestamp,
            is_synthetic: wire.is_synthetic,
            is_replay: wire.is_replay,
            origin: wire.origin,
            agent_id: wire.agent_id,
        }
    }
}

/// Where a user-role message came from (`origin` of a `user` or `result` frame).
///
/// Kept only when the frame's `origin` is an object with a string `kind`;
/// anything else reads as no origin, as in Python's parser. The other keys of
/// the object (`from`, `name`, `server`, `subkind`, ...) are kept as sent.
///
/// ```
/// use agent_sdk::message::Message;
///
/// let line = br#"{"type":"user","message":{"content":"hi"},"origin":{"kind":"peer","from":"peer-addr","verifiedPeerPid":4242}}"#;
/// let Message::User(user) = Message::from_slice(line)? else { unreachable!() };
/// let origin = user.origin.as_ref().unwrap();
/// assert_eq!(origin.kind, "peer");
/// assert_eq!(origin.extra["from"], "peer-addr");
///
/// // Not an object with a string `kind`: no origin.
/// let line = br#"{"type":"user","message":{"content":"hi"},"origin":"human"}"#;
/// let Message::User(user) = Message::from_slice(line)? else { unreachable!() };
/// assert_eq!(user.origin, None);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct MessageOrigin {
    /// `human`, `peer`, `channel`, `task-notification`, ...
    pub kind: String,
    /// Every other key of the origin object, as sent.
    pub extra: Map<String, Value>,
}

impl MessageOrigin {
    /// The origin object as sent.
    pub fn to_value(&self) -> Value {
        let mut object = self.extra.clone();
        object.insert("kind".to_owned(), Value::String(self.kind.clone()));
        Value::Object(object)
    }

    /// `Some` for an object with a string `kind`, `None` for anything else.
    pub(crate) fn from_value(value: Value) -> Option<MessageOrigin> {
        let Value::Object(mut extra) = value else {
            return None;
        };
        match extra.remove("kind") {
            Some(Value::String(kind)) => Some(MessageOrigin { kind, extra }),
            _ => None,
        }
    }

    /// For `#[serde(deserialize_with)]`: a malformed origin is `None`, not an error.
    pub(crate) fn deserialize_valid<'de, D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<MessageOrigin>, D::Error> {
        Ok(Option::<Value>::deserialize(deserializer)?.and_then(MessageOrigin::from_value))
    }
}

/// When a queued user message is delivered (`priority` on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Priority {
    /// `"now"`: interrupt the current turn.
    Now,
    /// `"next"`: right after the current turn.
    Next,
    /// `"later"`: after everything already queued.
    Later,
}

impl Priority {
    fn as_str(self) -> &'static str {
        match self {
            Priority::Now => "now",
            Priority::Next => "next",
            Priority::Later => "later",
        }
    }
}

/// A user turn we send to the CLI (the `user` frame on stdin).
///
/// ```
/// use agent_sdk::message::{ContentBlock, UserInput};
///
/// let input = UserInput::text("What is 2 + 2?").with_session_id("default");
/// assert!(!input.is_client_composed());
///
/// let with_image = UserInput::blocks(vec![
///     ContentBlock::text("What is in this picture?"),
///     ContentBlock::image_base64("image/png", "iVBORw0KGgo="),
/// ]);
/// # let _ = (input, with_image);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct UserInput {
    content: MessageContent,
    session_id: Option<String>,
    uuid: Option<String>,
    client_composed: bool,
    priority: Option<Priority>,
    should_query: Option<bool>,
}

impl UserInput {
    /// A plain-text turn.
    pub fn text(text: impl Into<String>) -> Self {
        Self::new(MessageContent::Text(text.into()))
    }

    /// A turn made of content blocks (text, images, ...).
    pub fn blocks(blocks: Vec<ContentBlock>) -> Self {
        Self::new(MessageContent::Blocks(blocks))
    }

    fn new(content: MessageContent) -> Self {
        UserInput {
            content,
            session_id: None,
            uuid: None,
            client_composed: false,
            priority: None,
            should_query: None,
        }
    }

    /// Sets `session_id` (otherwise the caller's default: `""` for `query()`,
    /// `"default"` for a client).
    pub fn with_session_id(mut self, session_id: impl Into<String>) -> Self {
        self.session_id = Some(session_id.into());
        self
    }

    /// Sets a client `uuid`; the CLI echoes it as `user_message_uuid(s)` and
    /// reports `command_lifecycle` frames for it.
    pub fn with_uuid(mut self, uuid: impl Into<String>) -> Self {
        self.uuid = Some(uuid.into());
        self
    }

    /// `client_composed: true`: deliver verbatim (no `@path` expansion, no slash commands).
    pub fn client_composed(mut self, verbatim: bool) -> Self {
        self.client_composed = verbatim;
        self
    }

    /// When to deliver the message if a turn is running.
    pub fn with_priority(mut self, priority: Priority) -> Self {
        self.priority = Some(priority);
        self
    }

    /// `shouldQuery: false` appends the message to the conversation without starting a turn.
    pub fn should_query(mut self, should_query: bool) -> Self {
        self.should_query = Some(should_query);
        self
    }

    /// The content.
    pub fn content(&self) -> &MessageContent {
        &self.content
    }

    /// Whether the frame will carry `client_composed: true`.
    pub fn is_client_composed(&self) -> bool {
        self.client_composed
    }

    /// The wire frame; `default_session_id` is used when none was set.
    pub(crate) fn to_frame(&self, default_session_id: &str) -> Value {
        let mut frame = Map::with_capacity(8);
        frame.insert("type".into(), "user".into());
        frame.insert(
            "message".into(),
            json!({"role": "user", "content": self.content}),
        );
        frame.insert("parent_tool_use_id".into(), Value::Null);
        frame.insert(
            "session_id".into(),
            self.session_id
                .as_deref()
                .unwrap_or(default_session_id)
                .into(),
        );
        if let Some(uuid) = &self.uuid {
            frame.insert("uuid".into(), uuid.as_str().into());
        }
        if self.client_composed {
            frame.insert("client_composed".into(), true.into());
        }
        if let Some(priority) = self.priority {
            frame.insert("priority".into(), priority.as_str().into());
        }
        if let Some(should_query) = self.should_query {
            frame.insert("shouldQuery".into(), should_query.into());
        }
        Value::Object(frame)
    }
}

impl From<&str> for UserInput {
    fn from(text: &str) -> Self {
        UserInput::text(text)
    }
}

impl From<String> for UserInput {
    fn from(text: String) -> Self {
        UserInput::text(text)
    }
}

impl From<Vec<ContentBlock>> for UserInput {
    fn from(blocks: Vec<ContentBlock>) -> Self {
        UserInput::blocks(blocks)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::message::ContentBlock;

    #[test]
    fn user_input_frames() {
        assert_eq!(
            UserInput::text("compute 1+2").to_frame(""),
            json!({"type":"user","message":{"role":"user","content":"compute 1+2"},"parent_tool_use_id":null,"session_id":""})
        );
        let frame = UserInput::blocks(vec![
            ContentBlock::text("look"),
            ContentBlock::image_url("https://example.com/a.png"),
        ])
        .with_session_id("abc")
        .with_uuid("11111111-1111-1111-1111-111111111111")
        .client_composed(true)
        .with_priority(Priority::Next)
        .should_query(false)
        .to_frame("default");
        assert_eq!(
            frame,
            json!({"type":"user","message":{"role":"user","content":[
                {"type":"text","text":"look"},
                {"type":"image","source":{"type":"url","url":"https://example.com/a.png"}}
            ]},"parent_tool_use_id":null,"session_id":"abc","uuid":"11111111-1111-1111-1111-111111111111",
            "client_composed":true,"priority":"next","shouldQuery":false})
        );
        assert_eq!(
            UserInput::from("x").to_frame("default")["session_id"],
            "default"
        );
        let with_image = UserInput::blocks(vec![
            ContentBlock::text("What is in this picture?"),
            ContentBlock::image_base64("image/png", "iVBORw0KGgo="),
        ]);
        assert_eq!(
            with_image.to_frame("")["message"]["content"][1]["source"]["type"],
            "base64"
        );
    }
}
