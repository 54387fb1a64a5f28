//! Content blocks of `user` and `assistant` messages.
//!
//! [`ContentBlock`] has a hand-written `Deserialize`: it dispatches on the `type`
//! key while it reads the object, so the common case (`type` first, as the CLI
//! writes assistant blocks) decodes straight into the typed block without
//! buffering the object in a `Value`. Only keys seen before `type` are buffered.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

/// One content block of a message.
///
/// Blocks this version does not know (`document`, `web_search_tool_result`, ...)
/// are kept whole in [`ContentBlock::Unknown`], so nothing the CLI sends is lost.
///
/// ```
/// use agent_sdk::message::ContentBlock;
///
/// let block: ContentBlock =
///     serde_json::from_str(r#"{"type":"tool_use","id":"toolu_1","name":"Bash","input":{"command":"ls"}}"#)?;
/// match &block {
///     ContentBlock::Text(text) => println!("{}", text.text),
///     ContentBlock::ToolUse(call) => assert_eq!(call.name, "Bash"),
///     other => println!("some other block: {}", other.block_type()),
/// }
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ContentBlock {
    /// `{"type":"text","text":...}`.
    Text(TextBlock),
    /// `{"type":"thinking","thinking":...,"signature":...}` (assistant only).
    Thinking(ThinkingBlock),
    /// `{"type":"redacted_thinking","data":...}` (assistant only).
    RedactedThinking(RedactedThinkingBlock),
    /// `{"type":"tool_use","id":...,"name":...,"input":{...}}`.
    ToolUse(ToolUseBlock),
    /// `{"type":"tool_result","tool_use_id":...,"content":...,"is_error":...}`.
    ToolResult(ToolResultBlock),
    /// `{"type":"server_tool_use",...}`: a tool the API runs itself (web search, advisor, ...).
    ServerToolUse(ServerToolUseBlock),
    /// `{"type":"advisor_tool_result","tool_use_id":...,"content":{...}}`.
    AdvisorToolResult(AdvisorToolResultBlock),
    /// `{"type":"image","source":{...}}`.
    Image(ImageBlock),
    /// Any other block (or one without a `type`), kept as raw JSON.
    Unknown(Value),
}

/// A text block.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TextBlock {
    /// The text.
    pub text: String,
}

/// A thinking block.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ThinkingBlock {
    /// The model's reasoning.
    pub thinking: String,
    /// Signature the API needs to accept the block back.
    pub signature: String,
}

/// A redacted thinking block: opaque, encrypted reasoning.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedactedThinkingBlock {
    /// The encrypted payload.
    pub data: String,
}

/// A tool call made by the model.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ToolUseBlock {
    /// Tool-use id (`toolu_...`), echoed by the matching [`ToolResultBlock`].
    pub id: String,
    /// Tool name as the model sees it, e.g. `Bash` or `mcp__calc__add`.
    pub name: String,
    /// The arguments.
    pub input: Value,
}

/// The result of a tool call.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ToolResultBlock {
    /// Id of the [`ToolUseBlock`] this answers.
    pub tool_use_id: String,
    /// A string, a list of blocks, or absent.
    pub content: Option<MessageContent>,
    /// Whether the tool failed; absent on the wire means not set.
    pub is_error: Option<bool>,
}

/// A call of a server-side tool (`web_search`, `web_fetch`, `advisor`, `code_execution`, ...).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ServerToolUseBlock {
    /// Tool-use id.
    pub id: String,
    /// Server tool name.
    pub name: String,
    /// The arguments.
    pub input: Value,
}

/// The result of the `advisor` server tool.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct AdvisorToolResultBlock {
    /// Id of the [`ServerToolUseBlock`] this answers.
    pub tool_use_id: String,
    /// The result object.
    pub content: Value,
}

/// An image block.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ImageBlock {
    /// Where the image bytes are.
    pub source: ImageSource,
}

/// The `source` of an [`ImageBlock`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ImageSource {
    /// `{"type":"base64","media_type":"image/png","data":"..."}`.
    Base64 {
        /// MIME type, e.g. `image/png`.
        media_type: String,
        /// Base64-encoded bytes.
        data: String,
    },
    /// `{"type":"url","url":"https://..."}`.
    Url {
        /// The image URL.
        url: String,
    },
    /// Any other source kind, kept raw.
    Unknown(Value),
}

/// Message content: a plain string or a list of blocks (`user` messages and
/// `tool_result` blocks use both forms).
///
/// ```
/// use agent_sdk::message::MessageContent;
///
/// let plain: MessageContent = serde_json::from_str(r#""hello""#)?;
/// assert_eq!(plain.text(), "hello");
/// let blocks: MessageContent = serde_json::from_str(r#"[{"type":"text","text":"a"},{"type":"text","text":"b"}]"#)?;
/// assert_eq!(blocks.text(), "ab");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum MessageContent {
    /// A plain string.
    Text(String),
    /// A list of blocks.
    Blocks(Vec<ContentBlock>),
}

impl MessageContent {
    /// The text: the string itself, or the text blocks joined without separator.
    pub fn text(&self) -> String {
        match self {
            MessageContent::Text(text) => text.clone(),
            MessageContent::Blocks(blocks) => join_text(blocks),
        }
    }

    /// The blocks; empty for the plain-string form.
    pub fn blocks(&self) -> &[ContentBlock] {
        match self {
            MessageContent::Text(_) => &[],
            MessageContent::Blocks(blocks) => blocks,
        }
    }
}

impl From<String> for MessageContent {
    fn from(text: String) -> Self {
        MessageContent::Text(text)
    }
}

impl From<&str> for MessageContent {
    fn from(text: &str) -> Self {
        MessageContent::Text(text.to_owned())
    }
}

impl From<Vec<ContentBlock>> for MessageContent {
    fn from(blocks: Vec<ContentBlock>) -> Self {
        MessageContent::Blocks(blocks)
    }
}

/// Joins the text of the text blocks, without separator.
pub(crate) fn join_text(blocks: &[ContentBlock]) -> String {
    let mut out = String::new();
    for block in blocks {
        if let ContentBlock::Text(text) = block {
            out.push_str(&text.text);
        }
    }
    out
}

impl ContentBlock {
    /// A text block.
    ///
    /// ```
    /// use agent_sdk::message::ContentBlock;
    /// assert_eq!(ContentBlock::text("hi").as_text(), Some("hi"));
    /// ```
    pub fn text(text: impl Into<String>) -> Self {
        ContentBlock::Text(TextBlock { text: text.into() })
    }

    /// An image block from base64 data.
    ///
    /// ```
    /// use agent_sdk::message::ContentBlock;
    /// let image = ContentBlock::image_base64("image/png", "iVBORw0KGgo=");
    /// assert_eq!(image.block_type(), "image");
    /// ```
    pub fn image_base64(media_type: impl Into<String>, data: impl Into<String>) -> Self {
        ContentBlock::Image(ImageBlock {
            source: ImageSource::Base64 {
                media_type: media_type.into(),
                data: data.into(),
            },
        })
    }

    /// An image block from a URL.
    ///
    /// ```
    /// use agent_sdk::message::ContentBlock;
    /// let image = ContentBlock::image_url("https://example.com/cat.png");
    /// assert_eq!(image.block_type(), "image");
    /// ```
    pub fn image_url(url: impl Into<String>) -> Self {
        ContentBlock::Image(ImageBlock {
            source: ImageSource::Url { url: url.into() },
        })
    }

    /// The wire `type` of the block (`""` for an unknown block without one).
    pub fn block_type(&self) -> &str {
        match self {
            ContentBlock::Text(_) => "text",
            ContentBlock::Thinking(_) => "thinking",
            ContentBlock::RedactedThinking(_) => "redacted_thinking",
            ContentBlock::ToolUse(_) => "tool_use",
            ContentBlock::ToolResult(_) => "tool_result",
            ContentBlock::ServerToolUse(_) => "server_tool_use",
            ContentBlock::AdvisorToolResult(_) => "advisor_tool_result",
            ContentBlock::Image(_) => "image",
            ContentBlock::Unknown(value) => value.get("type").and_then(Value::as_str).unwrap_or(""),
        }
    }

    /// The text of a text block.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            ContentBlock::Text(text) => Some(&text.text),
            _ => None,
        }
    }

    /// The tool call of a `tool_use` block.
    pub fn as_tool_use(&self) -> Option<&ToolUseBlock> {
        match self {
            ContentBlock::ToolUse(call) => Some(call),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------
// Deserialize

/// The block kinds we decode into typed blocks.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Thinking,
    RedactedThinking,
    ToolUse,
    ToolResult,
    ServerToolUse,
    AdvisorToolResult,
    Image,
}

impl Kind {
    fn from_tag(tag: &str) -> Option<Kind> {
        Some(match tag {
            "text" => Kind::Text,
            "thinking" => Kind::Thinking,
            "redacted_thinking" => Kind::RedactedThinking,
            "tool_use" => Kind::ToolUse,
            "tool_result" => Kind::ToolResult,
            "server_tool_use" => Kind::ServerToolUse,
            "advisor_tool_result" => Kind::AdvisorToolResult,
            "image" => Kind::Image,
            _ => return None,
        })
    }
}

/// The `type` value: a known kind, or the unknown tag kept for the raw object.
enum Tag {
    Known(Kind),
    Unknown(Value),
}

impl<'de> Deserialize<'de> for Tag {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TagVisitor;
        impl<'de> Visitor<'de> for TagVisitor {
            type Value = Tag;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a block type string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Tag, E> {
                Ok(match Kind::from_tag(v) {
                    Some(kind) => Tag::Known(kind),
                    None => Tag::Unknown(Value::String(v.to_owned())),
                })
            }
        }
        deserializer.deserialize_str(TagVisitor)
    }
}

/// Keys a known block may carry.
enum Key {
    Type,
    Text,
    Thinking,
    Signature,
    Data,
    Id,
    Name,
    Input,
    ToolUseId,
    Content,
    IsError,
    Source,
    Other(String),
}

impl Key {
    fn from_str(s: &str) -> Key {
        match s {
            "type" => Key::Type,
            "text" => Key::Text,
            "thinking" => Key::Thinking,
            "signature" => Key::Signature,
            "data" => Key::Data,
            "id" => Key::Id,
            "name" => Key::Name,
            "input" => Key::Input,
            "tool_use_id" => Key::ToolUseId,
            "content" => Key::Content,
            "is_error" => Key::IsError,
            "source" => Key::Source,
            other => Key::Other(other.to_owned()),
        }
    }

    fn into_string(self) -> String {
        match self {
            Key::Type => "type",
            Key::Text => "text",
            Key::Thinking => "thinking",
            Key::Signature => "signature",
            Key::Data => "data",
            Key::Id => "id",
            Key::Name => "name",
            Key::Input => "input",
            Key::ToolUseId => "tool_use_id",
            Key::Content => "content",
            Key::IsError => "is_error",
            Key::Source => "source",
            Key::Other(other) => return other,
        }
        .to_owned()
    }
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                Ok(Key::from_str(v))
            }
        }
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

/// Fields collected while reading a known block.
#[derive(Default)]
struct Slots {
    text: Option<String>,
    thinking: Option<String>,
    signature: Option<String>,
    data: Option<String>,
    id: Option<String>,
    name: Option<String>,
    input: Option<Value>,
    tool_use_id: Option<String>,
    /// `tool_result` content; the outer `Option` is "seen", the inner one `null`.
    result_content: Option<Option<MessageContent>>,
    /// `advisor_tool_result` content.
    raw_content: Option<Value>,
    is_error: Option<Option<bool>>,
    source: Option<ImageSource>,
}

/// Where the next value comes from: the map being read, or a buffered `Value`.
trait ReadValue<'de> {
    type Error: de::Error;
    fn read<T: Deserialize<'de>>(self) -> Result<T, Self::Error>;
}

struct FromMap<'a, A>(&'a mut A);

impl<'de, A: MapAccess<'de>> ReadValue<'de> for FromMap<'_, A> {
    type Error = A::Error;
    fn read<T: Deserialize<'de>>(self) -> Result<T, A::Error> {
        self.0.next_value()
    }
}

struct FromValue<E>(Value, PhantomData<E>);

impl<'de, E: de::Error> ReadValue<'de> for FromValue<E> {
    type Error = E;
    fn read<T: Deserialize<'de>>(self) -> Result<T, E> {
        T::deserialize(self.0).map_err(E::custom)
    }
}

/// Reads one field of a block of kind `kind` into `slots`; fields the kind does
/// not use are skipped.
fn fill<'de, R: ReadValue<'de>>(
    kind: Kind,
    key: Key,
    slots: &mut Slots,
    value: R,
) -> Result<(), R::Error> {
    use Kind as K;
    match (kind, key) {
        (K::Text, Key::Text) => slots.text = Some(value.read()?),
        (K::Thinking, Key::Thinking) => slots.thinking = Some(value.read()?),
        (K::Thinking, Key::Signature) => slots.signature = Some(value.read()?),
        (K::RedactedThinking, Key::Data) => slots.data = Some(value.read()?),
        (K::ToolUse | K::ServerToolUse, Key::Id) => slots.id = Some(value.read()?),
        (K::ToolUse | K::ServerToolUse, Key::Name) => slots.name = Some(value.read()?),
        (K::ToolUse | K::ServerToolUse, Key::Input) => slots.input = Some(value.read()?),
        (K::ToolResult | K::AdvisorToolResult, Key::ToolUseId) => {
            slots.tool_use_id = Some(value.read()?)
        }
        (K::ToolResult, Key::Content) => slots.result_content = Some(value.read()?),
        (K::ToolResult, Key::IsError) => slots.is_error = Some(value.read()?),
        (K::AdvisorToolResult, Key::Content) => slots.raw_content = Some(value.read()?),
        (K::Image, Key::Source) => slots.source = Some(value.read()?),
        _ => {
            value.read::<IgnoredAny>()?;
        }
    }
    Ok(())
}

fn required<T, E: de::Error>(slot: Option<T>, field: &'static str) -> Result<T, E> {
    slot.ok_or_else(|| E::missing_field(field))
}

fn build<E: de::Error>(kind: Kind, slots: Slots) -> Result<ContentBlock, E> {
    Ok(match kind {
        Kind::Text => ContentBlock::Text(TextBlock {
            text: required(slots.text, "text")?,
        }),
        Kind::Thinking => ContentBlock::Thinking(ThinkingBlock {
            thinking: required(slots.thinking, "thinking")?,
            signature: required(slots.signature, "signature")?,
        }),
        Kind::RedactedThinking => ContentBlock::RedactedThinking(RedactedThinkingBlock {
            data: required(slots.data, "data")?,
        }),
        Kind::ToolUse => ContentBlock::ToolUse(ToolUseBlock {
            id: required(slots.id, "id")?,
            name: required(slots.name, "name")?,
            input: required(slots.input, "input")?,
        }),
        Kind::ServerToolUse => ContentBlock::ServerToolUse(ServerToolUseBlock {
            id: required(slots.id, "id")?,
            name: required(slots.name, "name")?,
            input: required(slots.input, "input")?,
        }),
        Kind::ToolResult => ContentBlock::ToolResult(ToolResultBlock {
            tool_use_id: required(slots.tool_use_id, "tool_use_id")?,
            content: slots.result_content.flatten(),
            is_error: slots.is_error.flatten(),
        }),
        Kind::AdvisorToolResult => ContentBlock::AdvisorToolResult(AdvisorToolResultBlock {
            tool_use_id: required(slots.tool_use_id, "tool_use_id")?,
            content: required(slots.raw_content, "content")?,
        }),
        Kind::Image => ContentBlock::Image(ImageBlock {
            source: required(slots.source, "source")?,
        }),
    })
}

struct BlockVisitor;

impl<'de> Visitor<'de> for BlockVisitor {
    type Value = ContentBlock;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a content block object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ContentBlock, A::Error> {
        // Until `type` is read, fields are buffered in `pending`; after it, a
        // known kind decodes into `slots` directly, an unknown one into `raw`.
        let mut kind: Option<Kind> = None;
        let mut raw: Option<Map<String, Value>> = None;
        let mut slots = Slots::default();
        let mut pending: Vec<(Key, Value)> = Vec::new();
        while let Some(key) = map.next_key::<Key>()? {
            if let Key::Type = key {
                if kind.is_some() || raw.is_some() {
                    return Err(de::Error::duplicate_field("type"));
                }
                match map.next_value::<Tag>()? {
                    Tag::Known(known) => {
                        for (key, value) in pending.drain(..) {
                            fill(known, key, &mut slots, FromValue(value, PhantomData))?;
                        }
                        kind = Some(known);
                    }
                    Tag::Unknown(tag) => {
                        let mut object = Map::with_capacity(pending.len() + 4);
                        for (key, value) in pending.drain(..) {
                            object.insert(key.into_string(), value);
                        }
                        object.insert("type".to_owned(), tag);
                        raw = Some(object);
                    }
                }
            } else if let Some(known) = kind {
                fill(known, key, &mut slots, FromMap(&mut map))?;
            } else if let Some(object) = &mut raw {
                let value = map.next_value()?;
                object.insert(key.into_string(), value);
            } else {
                pending.push((key, map.next_value()?));
            }
        }
        match (kind, raw) {
            (Some(known), _) => build(known, slots),
            (None, Some(object)) => Ok(ContentBlock::Unknown(Value::Object(object))),
            (None, None) => Ok(ContentBlock::Unknown(Value::Object(
                pending
                    .into_iter()
                    .map(|(key, value)| (key.into_string(), value))
                    .collect(),
            ))),
        }
    }
}

impl<'de> Deserialize<'de> for ContentBlock {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(BlockVisitor)
    }
}

impl<'de> Deserialize<'de> for MessageContent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ContentVisitor;
        impl<'de> Visitor<'de> for ContentVisitor {
            type Value = MessageContent;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a list of content blocks")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<MessageContent, E> {
                Ok(MessageContent::Text(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<MessageContent, E> {
                Ok(MessageContent::Text(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<MessageContent, A::Error> {
                let mut blocks = Vec::with_capacity(seq.size_hint().unwrap_or(1).min(64));
                while let Some(block) = seq.next_element::<ContentBlock>()? {
                    blocks.push(block);
                }
                Ok(MessageContent::Blocks(blocks))
            }
        }
        deserializer.deserialize_any(ContentVisitor)
    }
}

impl<'de> Deserialize<'de> for ImageSource {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        let field = |name: &str| value.get(name).and_then(Value::as_str).map(str::to_owned);
        let typed = match value.get("type").and_then(Value::as_str) {
            Some("base64") => match (field("media_type"), field("data")) {
                (Some(media_type), Some(data)) => Some(ImageSource::Base64 { media_type, data }),
                _ => None,
            },
            Some("url") => field("url").map(|url| ImageSource::Url { url }),
            _ => None,
        };
        Ok(typed.unwrap_or(ImageSource::Unknown(value)))
    }
}

// ---------------------------------------------------------------------------
// Serialize (the exact wire shape, so blocks can be sent back to the CLI)

impl Serialize for ContentBlock {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if let ContentBlock::Unknown(value) = self {
            return value.serialize(serializer);
        }
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("type", self.block_type())?;
        match self {
            ContentBlock::Text(b) => map.serialize_entry("text", &b.text)?,
            ContentBlock::Thinking(b) => {
                map.serialize_entry("thinking", &b.thinking)?;
                map.serialize_entry("signature", &b.signature)?;
            }
            ContentBlock::RedactedThinking(b) => map.serialize_entry("data", &b.data)?,
            ContentBlock::ToolUse(ToolUseBlock { id, name, input })
            | ContentBlock::ServerToolUse(ServerToolUseBlock { id, name, input }) => {
                map.serialize_entry("id", id)?;
                map.serialize_entry("name", name)?;
                map.serialize_entry("input", input)?;
            }
            ContentBlock::ToolResult(b) => {
                map.serialize_entry("tool_use_id", &b.tool_use_id)?;
                if let Some(content) = &b.content {
                    map.serialize_entry("content", content)?;
                }
                if let Some(is_error) = b.is_error {
                    map.serialize_entry("is_error", &is_error)?;
                }
            }
            ContentBlock::AdvisorToolResult(b) => {
                map.serialize_entry("tool_use_id", &b.tool_use_id)?;
                map.serialize_entry("content", &b.content)?;
            }
            ContentBlock::Image(b) => map.serialize_entry("source", &b.source)?,
            ContentBlock::Unknown(_) => unreachable!("handled above"),
        }
        map.end()
    }
}

impl Serialize for MessageContent {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            MessageContent::Text(text) => text.serialize(serializer),
            MessageContent::Blocks(blocks) => blocks.serialize(serializer),
        }
    }
}

impl Serialize for ImageSource {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            ImageSource::Base64 { media_type, data } => {
                let mut map = serializer.serialize_map(Some(3))?;
                map.serialize_entry("type", "base64")?;
                map.serialize_entry("media_type", media_type)?;
                map.serialize_entry("data", data)?;
                map.end()
            }
            ImageSource::Url { url } => {
                let mut map = serializer.serialize_map(Some(2))?;
                map.serialize_entry("type", "url")?;
                map.serialize_entry("url", url)?;
                map.end()
            }
            ImageSource::Unknown(value) => value.serialize(serializer),
        }
    }
}
