//! What a tool returns: [`ToolResult`], its [`Content`], and the [`IntoToolResult`]
//! conversions from ordinary Rust values.

use std::borrow::Cow;
use std::fmt;

use schemars::JsonSchema;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

use crate::schema::SchemaError;

/// One block of a tool result.
///
/// # What the model receives
///
/// Observed with the CLI 2.1.330 (`agent-sdk/tests/data/probes_issue13.md`; the e2e test
/// `every_content_block_reaches_the_model_as_the_cli_renders_it` keeps it true). The CLI
/// converts every block itself, for in-process and external servers alike, so the SDK
/// sends them as they are (the Python SDK's own text conversion of links and resources
/// would only change the CLI's wording):
///
/// | block | the model's `tool_result` gets |
/// |---|---|
/// | [`Text`](Content::Text) | the text block |
/// | [`Image`](Content::Image) | the image, then a text block `[Image: source: <saved file>]` |
/// | [`Resource`](Content::Resource), text | text `[Resource from <server> at <uri>] <text>` |
/// | [`Resource`](Content::Resource), blob | text `[Resource from <server> at <uri>] Binary content (<mime>, <n> bytes) saved to <file>` |
/// | [`ResourceLink`](Content::ResourceLink) | text `[Resource link: <name>] <uri> (<description>)` |
/// | [`Audio`](Content::Audio) | text `[Audio from <server>] Binary content (<mime>, <n> bytes) saved to <file>` |
///
/// Nothing is dropped; binary data the model cannot take is saved under the session's
/// `tool-results` directory and the model is told the path.
///
/// ```
/// use agent_sdk::mcp::Content;
/// let blocks = vec![
///     Content::text("hello"),
///     Content::image("iVBORw0KGgo=", "image/png"),
///     Content::resource_link("file:///tmp/report.txt", "report"),
/// ];
/// assert_eq!(blocks.len(), 3);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Content {
    /// Plain text: `{"type":"text","text":...}`.
    Text {
        /// The text.
        text: String,
    },
    /// An image: `{"type":"image","data":<base64>,"mimeType":...}`.
    Image {
        /// Base64-encoded bytes.
        data: String,
        /// e.g. `image/png`.
        mime_type: String,
    },
    /// Audio: `{"type":"audio","data":<base64>,"mimeType":...}`.
    Audio {
        /// Base64-encoded bytes.
        data: String,
        /// e.g. `audio/wav`.
        mime_type: String,
    },
    /// A resource embedded in the result: `{"type":"resource","resource":{...}}`.
    Resource(EmbeddedResource),
    /// A link to a resource: `{"type":"resource_link","uri":...,"name":...}`.
    ResourceLink {
        /// The resource URI.
        uri: String,
        /// A short name.
        name: String,
        /// What the resource is.
        description: Option<String>,
        /// Its MIME type, when known.
        mime_type: Option<String>,
    },
}

/// The body of [`Content::Resource`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct EmbeddedResource {
    /// The resource URI.
    pub uri: String,
    /// Its MIME type, when known.
    pub mime_type: Option<String>,
    /// Text or base64 bytes.
    pub body: ResourceBody,
}

/// The payload of an [`EmbeddedResource`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ResourceBody {
    /// Text contents (`"text"` on the wire).
    Text(String),
    /// Base64-encoded binary contents (`"blob"` on the wire).
    Blob(String),
}

impl Content {
    /// A text block.
    ///
    /// ```
    /// let c = agent_sdk::mcp::Content::text("4");
    /// assert_eq!(serde_json::to_value(&c).unwrap(), serde_json::json!({"type": "text", "text": "4"}));
    /// ```
    pub fn text(text: impl Into<String>) -> Self {
        Content::Text { text: text.into() }
    }

    /// An image block from base64 data and a MIME type.
    ///
    /// ```
    /// let c = agent_sdk::mcp::Content::image("AAAA", "image/png");
    /// assert_eq!(serde_json::to_value(&c).unwrap()["mimeType"], "image/png");
    /// ```
    pub fn image(data_base64: impl Into<String>, mime_type: impl Into<String>) -> Self {
        Content::Image {
            data: data_base64.into(),
            mime_type: mime_type.into(),
        }
    }

    /// An audio block from base64 data and a MIME type.
    ///
    /// ```
    /// let c = agent_sdk::mcp::Content::audio("UklGRg==", "audio/wav");
    /// assert_eq!(serde_json::to_value(&c).unwrap(), serde_json::json!({"type": "audio", "data": "UklGRg==", "mimeType": "audio/wav"}));
    /// ```
    pub fn audio(data_base64: impl Into<String>, mime_type: impl Into<String>) -> Self {
        Content::Audio {
            data: data_base64.into(),
            mime_type: mime_type.into(),
        }
    }

    /// An embedded text resource.
    ///
    /// ```
    /// let c = agent_sdk::mcp::Content::text_resource("file:///a.txt", "hello", Some("text/plain"));
    /// assert_eq!(serde_json::to_value(&c).unwrap()["resource"]["text"], "hello");
    /// ```
    pub fn text_resource(
        uri: impl Into<String>,
        text: impl Into<String>,
        mime_type: Option<&str>,
    ) -> Self {
        Content::Resource(EmbeddedResource {
            uri: uri.into(),
            mime_type: mime_type.map(str::to_owned),
            body: ResourceBody::Text(text.into()),
        })
    }

    /// An embedded binary resource (base64 data).
    ///
    /// ```
    /// let c = agent_sdk::mcp::Content::blob_resource("file:///a.bin", "AAAA", "application/octet-stream");
    /// assert_eq!(serde_json::to_value(&c).unwrap()["resource"]["blob"], "AAAA");
    /// ```
    pub fn blob_resource(
        uri: impl Into<String>,
        data_base64: impl Into<String>,
        mime_type: impl Into<String>,
    ) -> Self {
        Content::Resource(EmbeddedResource {
            uri: uri.into(),
            mime_type: Some(mime_type.into()),
            body: ResourceBody::Blob(data_base64.into()),
        })
    }

    /// A link to a resource.
    ///
    /// ```
    /// let c = agent_sdk::mcp::Content::resource_link("file:///y", "n").description("d");
    /// assert_eq!(serde_json::to_value(&c).unwrap()["type"], "resource_link");
    /// ```
    pub fn resource_link(uri: impl Into<String>, name: impl Into<String>) -> Self {
        Content::ResourceLink {
            uri: uri.into(),
            name: name.into(),
            description: None,
            mime_type: None,
        }
    }

    /// Sets the description of a [`Content::ResourceLink`] (other blocks are returned unchanged).
    ///
    /// ```
    /// let c = agent_sdk::mcp::Content::resource_link("file:///y", "n").description("d");
    /// assert_eq!(serde_json::to_value(&c).unwrap()["description"], "d");
    /// ```
    pub fn description(mut self, text: impl Into<String>) -> Self {
        if let Content::ResourceLink { description, .. } = &mut self {
            *description = Some(text.into());
        }
        self
    }
}

/// The MCP wire form, written straight to the output (no `Value` in between).
impl Serialize for Content {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        match self {
            Content::Text { text } => {
                map.serialize_entry("type", "text")?;
                map.serialize_entry("text", text)?;
            }
            Content::Image { data, mime_type } => {
                map.serialize_entry("type", "image")?;
                map.serialize_entry("data", data)?;
                map.serialize_entry("mimeType", mime_type)?;
            }
            Content::Audio { data, mime_type } => {
                map.serialize_entry("type", "audio")?;
                map.serialize_entry("data", data)?;
                map.serialize_entry("mimeType", mime_type)?;
            }
            Content::Resource(resource) => {
                map.serialize_entry("type", "resource")?;
                map.serialize_entry("resource", resource)?;
            }
            Content::ResourceLink {
                uri,
                name,
                description,
                mime_type,
            } => {
                map.serialize_entry("type", "resource_link")?;
                map.serialize_entry("uri", uri)?;
                map.serialize_entry("name", name)?;
                if let Some(description) = description {
                    map.serialize_entry("description", description)?;
                }
                if let Some(mime_type) = mime_type {
                    map.serialize_entry("mimeType", mime_type)?;
                }
            }
        }
        map.end()
    }
}

impl Serialize for EmbeddedResource {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("uri", &self.uri)?;
        if let Some(mime_type) = &self.mime_type {
            map.serialize_entry("mimeType", mime_type)?;
        }
        match &self.body {
            ResourceBody::Text(text) => map.serialize_entry("text", text)?,
            ResourceBody::Blob(blob) => map.serialize_entry("blob", blob)?,
        }
        map.end()
    }
}

/// The result of one tool call: content blocks, optional structured content, and
/// whether it is an error the model should see (`isError`).
///
/// ```
/// use agent_sdk::mcp::ToolResult;
/// let ok = ToolResult::text("5");
/// assert!(!ok.is_error);
/// let failed = ToolResult::error("division by zero");
/// assert_eq!(serde_json::to_value(&failed).unwrap()["isError"], true);
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct ToolResult {
    /// The content blocks the model sees.
    pub content: Vec<Content>,
    /// Machine-readable result matching the tool's `outputSchema` (`structuredContent`).
    pub structured_content: Option<Value>,
    /// `true` when the call failed; the model sees the content as an error.
    pub is_error: bool,
}

impl ToolResult {
    /// A successful result with these blocks.
    ///
    /// ```
    /// use agent_sdk::mcp::{Content, ToolResult};
    /// let r = ToolResult::new(vec![Content::text("a"), Content::text("b")]);
    /// assert_eq!(r.content.len(), 2);
    /// ```
    pub fn new(content: Vec<Content>) -> Self {
        ToolResult {
            content,
            structured_content: None,
            is_error: false,
        }
    }

    /// A successful result with one text block.
    ///
    /// ```
    /// assert_eq!(agent_sdk::mcp::ToolResult::text("hi").content.len(), 1);
    /// ```
    pub fn text(text: impl Into<String>) -> Self {
        ToolResult::new(vec![Content::text(text)])
    }

    /// An error result (`isError: true`) with one text block the model can act on.
    ///
    /// ```
    /// assert!(agent_sdk::mcp::ToolResult::error("nope").is_error);
    /// ```
    pub fn error(message: impl Into<String>) -> Self {
        ToolResult {
            content: vec![Content::text(message)],
            structured_content: None,
            is_error: true,
        }
    }

    /// The text of every text block, joined by newlines (handy in tests).
    ///
    /// ```
    /// assert_eq!(agent_sdk::mcp::ToolResult::text("5").text_content(), "5");
    /// ```
    pub fn text_content(&self) -> String {
        let mut out = String::new();
        for block in &self.content {
            if let Content::Text { text } = block {
                if !out.is_empty() {
                    out.push('\n');
                }
                out.push_str(text);
            }
        }
        out
    }
}

/// The MCP `CallToolResult` wire form, written straight to the output.
impl Serialize for ToolResult {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("content", &self.content)?;
        if let Some(structured) = &self.structured_content {
            map.serialize_entry("structuredContent", structured)?;
        }
        map.serialize_entry("isError", &self.is_error)?;
        map.end()
    }
}

/// An error a tool reports to the model (`isError: true`), with a message it can act on.
///
/// Any `std::error::Error` converts into it, so `?` works inside a tool.
///
/// ```
/// use agent_sdk::mcp::{IntoToolResult, ToolError};
///
/// fn parse(input: &str) -> Result<i64, ToolError> {
///     let n: i64 = input.parse()?; // ParseIntError -> ToolError
///     if n < 0 {
///         return Err(ToolError::new("n must be >= 0"));
///     }
///     Ok(n)
/// }
/// assert!(parse("-1").into_tool_result().is_error);
/// assert_eq!(parse("x").unwrap_err().to_string(), "invalid digit found in string");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolError {
    message: String,
}

impl ToolError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        ToolError {
            message: message.into(),
        }
    }

    /// The message the model will see.
    ///
    /// ```
    /// assert_eq!(agent_sdk::mcp::ToolError::new("x").message(), "x");
    /// ```
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl<E: std::error::Error> From<E> for ToolError {
    fn from(error: E) -> Self {
        ToolError::new(error.to_string())
    }
}

/// Removes object members whose value is `null`, at every depth.
fn drop_null_fields(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(drop_null_fields);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_null_fields),
        _ => {}
    }
}

/// A structured tool result: `structuredContent` plus a JSON text copy, and an
/// `outputSchema` derived from `T` in `tools/list`.
///
/// ```
/// use agent_sdk::mcp::{IntoToolResult, Json};
///
/// #[derive(serde::Serialize, schemars::JsonSchema)]
/// struct Stats { mean: f64 }
///
/// let result = Json(Stats { mean: 2.5 }).into_tool_result();
/// assert_eq!(result.structured_content, Some(serde_json::json!({"mean": 2.5})));
/// assert_eq!(result.text_content(), r#"{"mean":2.5}"#);
/// assert!(Json::<Stats>::output_schema().is_some());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Json<T>(pub T);

/// Converts a tool's return value into a [`ToolResult`].
///
/// Implemented for strings, numbers, `bool`, `()`, [`Content`], `Vec<Content>`,
/// [`ToolResult`], [`Json<T>`], `serde_json::Value` and `Result<T, E>` where
/// `E: Display` (an `Err` becomes an `isError` result).
///
/// ```
/// use agent_sdk::mcp::IntoToolResult;
/// assert_eq!(4.5_f64.into_tool_result().text_content(), "4.5");
/// let failed: Result<u32, String> = Err("bad".into());
/// assert!(failed.into_tool_result().is_error);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned from a tool",
    label = "this return type does not implement `IntoToolResult`",
    note = "return a String, a number, `Json<T>` (T: Serialize + JsonSchema), `Vec<Content>`, `ToolResult`, or `Result<T, E>` with `E: Display`"
)]
pub trait IntoToolResult {
    /// The result.
    fn into_tool_result(self) -> ToolResult;

    /// The `outputSchema` this return type announces, if any (only [`Json<T>`] has one).
    fn output_schema() -> Option<Result<Value, SchemaError>> {
        None
    }
}

impl IntoToolResult for ToolResult {
    fn into_tool_result(self) -> ToolResult {
        self
    }
}

impl IntoToolResult for Content {
    fn into_tool_result(self) -> ToolResult {
        ToolResult::new(vec![self])
    }
}

impl IntoToolResult for Vec<Content> {
    fn into_tool_result(self) -> ToolResult {
        ToolResult::new(self)
    }
}

impl IntoToolResult for () {
    fn into_tool_result(self) -> ToolResult {
        ToolResult::new(Vec::new())
    }
}

impl IntoToolResult for String {
    fn into_tool_result(self) -> ToolResult {
        ToolResult::text(self)
    }
}

impl IntoToolResult for &str {
    fn into_tool_result(self) -> ToolResult {
        ToolResult::text(self)
    }
}

impl IntoToolResult for Cow<'_, str> {
    fn into_tool_result(self) -> ToolResult {
        ToolResult::text(self.into_owned())
    }
}

impl IntoToolResult for Value {
    fn into_tool_result(self) -> ToolResult {
        match self {
            Value::String(text) => ToolResult::text(text),
            other => ToolResult::text(other.to_string()),
        }
    }
}

macro_rules! display_as_text {
    ($($ty:ty),*) => {$(
        impl IntoToolResult for $ty {
            fn into_tool_result(self) -> ToolResult {
                ToolResult::text(self.to_string())
            }
        }
    )*};
}
display_as_text!(
    i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize, f32, f64, bool, char
);

impl<T: Serialize + JsonSchema> IntoToolResult for Json<T> {
    fn into_tool_result(self) -> ToolResult {
        match serde_json::to_value(&self.0) {
            Ok(mut value) => {
                // The output schema says "absent" for `None`, never `null`: drop null fields
                // so `structuredContent` matches it.
                drop_null_fields(&mut value);
                let text = value.to_string();
                ToolResult {
                    content: vec![Content::text(text)],
                    structured_content: Some(value),
                    is_error: false,
                }
            }
            Err(error) => {
                ToolResult::error(format!("could not serialize the tool result: {error}"))
            }
        }
    }

    fn output_schema() -> Option<Result<Value, SchemaError>> {
        Some(crate::schema::shaped_schema_for::<T>())
    }
}

impl<T: IntoToolResult, E: fmt::Display> IntoToolResult for Result<T, E> {
    fn into_tool_result(self) -> ToolResult {
        match self {
            Ok(value) => value.into_tool_result(),
            Err(error) => ToolResult::error(error.to_string()),
        }
    }

    fn output_schema() -> Option<Result<Value, SchemaError>> {
        T::output_schema()
    }
}
