//! The [`Tool`] trait, tool metadata, the runtime [`DynamicTool`], and the
//! `inventory` registry behind `#[tool(server = "...")]`.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::context::ToolContext;
use super::result::{IntoToolResult, ToolResult};
use super::state::RequiredState;
use crate::handler::BoxFuture;
use crate::schema::SchemaError;

/// A tool an [`SdkMcpServer`](super::SdkMcpServer) can serve.
///
/// `#[tool]` implements it for you on a companion type named after the function;
/// implement it by hand (or use [`DynamicTool`]) for tools built at run time.
///
/// ```
/// use agent_sdk::BoxFuture;
/// use agent_sdk::mcp::{Tool, ToolContext, ToolDefinition, ToolResult};
/// use agent_sdk::schema::SchemaError;
///
/// struct Clock;
/// impl Tool for Clock {
///     fn definition(&self) -> Result<ToolDefinition, SchemaError> {
///         Ok(ToolDefinition::new("clock", serde_json::json!({"type": "object", "properties": {}, "required": []}))
///             .description("The time of day."))
///     }
///     fn call(&self, _arguments: serde_json::Value, context: ToolContext) -> BoxFuture<'static, ToolResult> {
///         Box::pin(async move { ToolResult::text(format!("12:00 (asked by {})", context.tool_name())) })
///     }
/// }
/// ```
pub trait Tool: Send + Sync + 'static {
    /// Name, description, schemas and annotations. Called once, when the server is built.
    fn definition(&self) -> Result<ToolDefinition, SchemaError>;

    /// Runs the tool. `arguments` already passed validation against the input schema;
    /// `context` tells which call this is and carries the server's state.
    fn call(&self, arguments: Value, context: ToolContext) -> BoxFuture<'static, ToolResult>;

    /// Whether [`call`](Self::call) looks at its context. `false` lets the server skip
    /// making one per call (the tool then gets an empty context: no names, no state, no
    /// session); `#[tool]` says `false` for a function without `State` or `ToolContext`
    /// parameters. `true` by default.
    fn takes_context(&self) -> bool {
        true
    }

    /// The [`State`](super::State) types the tool takes: building a server without
    /// them is an error that names the tool and the type. None by default.
    fn required_states(&self) -> Vec<RequiredState> {
        Vec::new()
    }
}

/// A type whose `#[tool]` methods are tools: `#[tools]` on its `impl` block implements
/// it. Serve them with [`SdkMcpServerBuilder::methods`](super::SdkMcpServerBuilder::methods)
/// or `methods = ...` in `create_sdk_mcp_server!`.
///
/// ```
/// use std::sync::Arc;
/// use agent_sdk::mcp::{SdkMcpServer, ToolMethods};
/// use agent_sdk::{tool, tools};
///
/// struct Greeter { greeting: String }
///
/// #[tools]
/// impl Greeter {
///     /// Greet someone.
///     #[tool]
///     async fn greet(&self, name: String) -> String {
///         format!("{}, {name}", self.greeting)
///     }
/// }
///
/// let greeter = Arc::new(Greeter { greeting: "Hello".into() });
/// assert_eq!(greeter.clone().tools().len(), 1);
/// let server = SdkMcpServer::builder("hello").methods(greeter).build().unwrap();
/// assert_eq!(server.qualified_tool_names(), ["mcp__hello__greet"]);
/// ```
pub trait ToolMethods: Send + Sync + 'static {
    /// One tool per `#[tool]` method, each holding a clone of `self`, in source order.
    fn tools(self: Arc<Self>) -> Vec<Arc<dyn Tool>>;
}

/// What `tools/list` says about one tool.
///
/// ```
/// use agent_sdk::mcp::{ToolAnnotations, ToolDefinition};
/// let def = ToolDefinition::new("add", serde_json::json!({"type": "object", "properties": {}, "required": []}))
///     .description("Add two numbers.")
///     .annotations(ToolAnnotations::new().read_only(true))
///     .max_result_size_chars(5000);
/// assert_eq!(serde_json::to_value(&def).unwrap()["_meta"]["anthropic/maxResultSizeChars"], 5000);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ToolDefinition {
    /// The tool name (1-64 chars of `[A-Za-z0-9_-]`).
    pub name: String,
    /// What the tool does, for the model.
    pub description: Option<String>,
    /// JSON Schema of the arguments; the root is an object.
    pub input_schema: Value,
    /// JSON Schema of `structuredContent`, when the tool returns one.
    pub output_schema: Option<Value>,
    /// MCP hints (`readOnlyHint`, ...).
    pub annotations: ToolAnnotations,
    /// Up to how many characters the CLI keeps the result inline (`_meta["anthropic/maxResultSizeChars"]`).
    pub max_result_size_chars: Option<u64>,
}

impl ToolDefinition {
    /// A definition with a name and an input schema.
    pub fn new(name: impl Into<String>, input_schema: Value) -> Self {
        ToolDefinition {
            name: name.into(),
            description: None,
            input_schema,
            output_schema: None,
            annotations: ToolAnnotations::default(),
            max_result_size_chars: None,
        }
    }

    /// Sets the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets the output schema.
    pub fn output_schema(mut self, schema: Value) -> Self {
        self.output_schema = Some(schema);
        self
    }

    /// Sets the annotations.
    pub fn annotations(mut self, annotations: ToolAnnotations) -> Self {
        self.annotations = annotations;
        self
    }

    /// Sets `_meta["anthropic/maxResultSizeChars"]`.
    pub fn max_result_size_chars(mut self, chars: u64) -> Self {
        self.max_result_size_chars = Some(chars);
        self
    }

    /// The entry of this tool in a `tools/list` answer.
    pub(crate) fn to_json(&self) -> Value {
        let mut map = Map::with_capacity(7);
        map.insert("name".into(), self.name.as_str().into());
        if let Some(title) = &self.annotations.title {
            map.insert("title".into(), title.as_str().into());
        }
        if let Some(description) = &self.description {
            map.insert("description".into(), description.as_str().into());
        }
        map.insert("inputSchema".into(), self.input_schema.clone());
        if let Some(output) = &self.output_schema {
            map.insert("outputSchema".into(), output.clone());
        }
        if !self.annotations.is_empty() {
            map.insert("annotations".into(), self.annotations.to_json());
        }
        if let Some(chars) = self.max_result_size_chars {
            let mut meta = Map::new();
            meta.insert("anthropic/maxResultSizeChars".into(), chars.into());
            map.insert("_meta".into(), Value::Object(meta));
        }
        Value::Object(map)
    }
}

/// MCP tool annotations: hints for the client, not guarantees.
///
/// ```
/// use agent_sdk::mcp::ToolAnnotations;
/// let hints = ToolAnnotations::new().title("Search").read_only(true).open_world(true);
/// assert_eq!(serde_json::to_value(&hints).unwrap(), serde_json::json!({"title": "Search", "readOnlyHint": true, "openWorldHint": true}));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ToolAnnotations {
    /// A human-readable title.
    pub title: Option<String>,
    /// The tool does not change its environment (the CLI may run such tools concurrently).
    pub read_only_hint: Option<bool>,
    /// The tool may destroy data.
    pub destructive_hint: Option<bool>,
    /// Calling it twice with the same arguments has no further effect.
    pub idempotent_hint: Option<bool>,
    /// The tool talks to the outside world.
    pub open_world_hint: Option<bool>,
}

impl ToolAnnotations {
    /// No hints.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets `title`.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }
    /// Sets `readOnlyHint`.
    pub fn read_only(mut self, value: bool) -> Self {
        self.read_only_hint = Some(value);
        self
    }
    /// Sets `destructiveHint`.
    pub fn destructive(mut self, value: bool) -> Self {
        self.destructive_hint = Some(value);
        self
    }
    /// Sets `idempotentHint`.
    pub fn idempotent(mut self, value: bool) -> Self {
        self.idempotent_hint = Some(value);
        self
    }
    /// Sets `openWorldHint`.
    pub fn open_world(mut self, value: bool) -> Self {
        self.open_world_hint = Some(value);
        self
    }

    /// `true` when no hint is set (then `annotations` is left out of `tools/list`).
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The wire form (only the hints that are set).
    pub(crate) fn to_json(&self) -> Value {
        let mut map = Map::new();
        if let Some(title) = &self.title {
            map.insert("title".into(), title.as_str().into());
        }
        let hints = [
            ("readOnlyHint", self.read_only_hint),
            ("destructiveHint", self.destructive_hint),
            ("idempotentHint", self.idempotent_hint),
            ("openWorldHint", self.open_world_hint),
        ];
        for (key, hint) in hints {
            if let Some(hint) = hint {
                map.insert(key.into(), hint.into());
            }
        }
        Value::Object(map)
    }
}

/// `true` for a valid tool name: 1 to 64 characters of `[A-Za-z0-9_-]`.
///
/// ```
/// assert!(agent_sdk::mcp::is_valid_tool_name("get_weather-2"));
/// assert!(!agent_sdk::mcp::is_valid_tool_name("get weather"));
/// assert!(!agent_sdk::mcp::is_valid_tool_name(""));
/// ```
pub fn is_valid_tool_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Serializes as the tool's entry in a `tools/list` result.
impl serde::Serialize for ToolDefinition {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

/// Serializes as MCP tool annotations (`readOnlyHint`, ...).
impl serde::Serialize for ToolAnnotations {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

type DynHandler = dyn Fn(Value, ToolContext) -> BoxFuture<'static, ToolResult> + Send + Sync;

/// A tool whose name, schema and handler are only known at run time.
///
/// ```
/// use agent_sdk::mcp::{DynamicTool, SdkMcpServer, ToolError};
/// use serde_json::{json, Value};
///
/// let echo = DynamicTool::new(
///     "echo",
///     json!({"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}),
///     |args: Value| async move {
///         match args["text"].as_str() {
///             Some(text) => Ok(text.to_owned()),
///             None => Err(ToolError::new("text missing")),
///         }
///     },
/// )
/// .description("Echo the text back.");
/// let server = SdkMcpServer::builder("util").tool(echo).build().unwrap();
/// assert_eq!(server.qualified_tool_names(), ["mcp__util__echo"]);
/// ```
pub struct DynamicTool {
    definition: ToolDefinition,
    handler: Arc<DynHandler>,
}

impl std::fmt::Debug for DynamicTool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamicTool")
            .field("definition", &self.definition)
            .finish_non_exhaustive()
    }
}

impl DynamicTool {
    /// A tool from a name, a JSON Schema (object root) for its arguments and an
    /// async handler over the JSON arguments.
    pub fn new<F, Fut, R>(name: impl Into<String>, input_schema: Value, handler: F) -> Self
    where
        F: Fn(Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: IntoToolResult,
    {
        Self::with_context(name, input_schema, move |args, _context| handler(args))
    }

    /// A tool whose handler also gets the call's [`ToolContext`] (ids, state,
    /// cancellation, progress).
    ///
    /// ```
    /// use agent_sdk::mcp::{DynamicTool, SdkMcpServer, ToolContext};
    /// use serde_json::{json, Value};
    ///
    /// let whoami = DynamicTool::with_context("whoami", json!({"type": "object"}), |_args: Value, context: ToolContext| async move {
    ///     format!("{} on {}", context.tool_name(), context.server_name())
    /// });
    /// let server = SdkMcpServer::builder("util").tool(whoami).build().unwrap();
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// assert_eq!(server.call_tool("whoami", json!({})).await.text_content(), "whoami on util");
    /// # });
    /// ```
    pub fn with_context<F, Fut, R>(name: impl Into<String>, input_schema: Value, handler: F) -> Self
    where
        F: Fn(Value, ToolContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: IntoToolResult,
    {
        let handler: Arc<DynHandler> = Arc::new(move |args, context| {
            let future = handler(args, context);
            Box::pin(async move { future.await.into_tool_result() })
        });
        DynamicTool {
            definition: ToolDefinition::new(name, input_schema),
            handler,
        }
    }

    /// Sets the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.definition = self.definition.description(description);
        self
    }

    /// Sets the output schema (describing `structuredContent`).
    pub fn output_schema(mut self, schema: Value) -> Self {
        self.definition = self.definition.output_schema(schema);
        self
    }

    /// Sets the annotations.
    pub fn annotations(mut self, annotations: ToolAnnotations) -> Self {
        self.definition = self.definition.annotations(annotations);
        self
    }

    /// Sets `_meta["anthropic/maxResultSizeChars"]`.
    pub fn max_result_size_chars(mut self, chars: u64) -> Self {
        self.definition = self.definition.max_result_size_chars(chars);
        self
    }
}

impl Tool for DynamicTool {
    fn definition(&self) -> Result<ToolDefinition, SchemaError> {
        let mut definition = self.definition.clone();
        definition.input_schema =
            crate::schema::shape_object_schema(definition.input_schema, &definition.name)?;
        Ok(definition)
    }

    fn call(&self, arguments: Value, context: ToolContext) -> BoxFuture<'static, ToolResult> {
        (self.handler)(arguments, context)
    }
}

/// One `#[tool(server = "...")]` in the `inventory` registry. Made by the macro.
#[doc(hidden)]
pub struct ToolRegistration {
    pub(crate) server: &'static str,
    pub(crate) make: fn() -> Arc<dyn Tool>,
}

impl ToolRegistration {
    #[doc(hidden)]
    pub const fn __new(server: &'static str, make: fn() -> Arc<dyn Tool>) -> Self {
        ToolRegistration { server, make }
    }
}

inventory::collect!(ToolRegistration);

/// Every registered tool tagged for `server`.
pub(crate) fn registered_tools(server: &str) -> impl Iterator<Item = Arc<dyn Tool>> + '_ {
    inventory::iter::<ToolRegistration>
        .into_iter()
        .filter(move |registration| registration.server == server)
        .map(|registration| (registration.make)())
}
