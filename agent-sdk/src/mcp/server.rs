//! [`SdkMcpServer`]: JSON-RPC dispatch for the `mcp_message` control requests.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value, json};

use super::result::ToolResult;
use super::tool::{Tool, ToolDefinition, is_valid_tool_name, registered_tools};
use super::validate::ArgumentValidator;
use crate::handler::catch_panic;
use crate::schema::SchemaError;

/// The MCP protocol version we prefer (the one the CLI speaks).
pub const LATEST_PROTOCOL_VERSION: &str = "2025-11-25";
/// Protocol versions we answer with when the client asks for one of them.
pub const SUPPORTED_PROTOCOL_VERSIONS: &[&str] =
    &["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];

const METHOD_NOT_FOUND: i64 = -32601;
const INVALID_REQUEST: i64 = -32600;
const INVALID_PARAMS: i64 = -32602;
const REQUEST_CANCELLED: i64 = -32800;

/// An in-process MCP server, served by the SDK inside its own process.
///
/// Cheap to clone (an `Arc` inside). Build one with [`create_sdk_mcp_server!`](crate::create_sdk_mcp_server)
/// or [`SdkMcpServer::builder`], then hand it to
/// [`AgentOptionsBuilder::mcp_server`](crate::AgentOptionsBuilder::mcp_server).
///
/// The server is tools plus dispatch, with no state per call, so one server can
/// serve many sessions at once. In a session the protocol core runs every call on
/// a task of its own and handles `notifications/cancelled` per session (the call
/// named is aborted and answers JSON-RPC error `-32800` "Request cancelled"). A
/// handler that panics answers an `isError` result.
///
/// ```
/// use agent_sdk::mcp::{DynamicTool, SdkMcpServer};
/// use serde_json::json;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let server = SdkMcpServer::builder("calc")
///     .version("1.0.0")
///     .tool(DynamicTool::new("zero", json!({"type": "object"}), |_| async { 0 }))
///     .build()
///     .unwrap();
/// let result = server.call_tool("zero", json!({})).await;
/// assert_eq!(result.text_content(), "0");
/// # }
/// ```
#[derive(Clone)]
pub struct SdkMcpServer {
    inner: Arc<ServerInner>,
}

struct ServerInner {
    name: String,
    version: String,
    instructions: Option<String>,
    tools: HashMap<String, ToolEntry>,
    /// Definitions in the order the tools were given.
    definitions: Vec<ToolDefinition>,
    /// The `tools/list` result, built once.
    tools_list: Value,
}

struct ToolEntry {
    tool: Arc<dyn Tool>,
    input_schema: Value,
    /// Compiled on the tool's first call (or by [`SdkMcpServer::compile_validators`]):
    /// compiling pulls in the JSON Schema meta-validator, which costs ~3 MiB of
    /// resident memory and a few milliseconds that a session that never calls the
    /// tool should not pay. The error is the compiler's message.
    validator: OnceLock<Result<ArgumentValidator, String>>,
}

impl ToolEntry {
    fn validator(&self) -> &Result<ArgumentValidator, String> {
        self.validator
            .get_or_init(|| ArgumentValidator::new(&self.input_schema))
    }
}

impl std::fmt::Debug for SdkMcpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SdkMcpServer")
            .field("name", &self.inner.name)
            .field("version", &self.inner.version)
            .field(
                "tools",
                &self
                    .inner
                    .definitions
                    .iter()
                    .map(|d| &d.name)
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// Why a server could not be built.
///
/// ```
/// use agent_sdk::mcp::{DynamicTool, SdkMcpServer, ServerBuildError};
/// let tool = || DynamicTool::new("same", serde_json::json!({"type": "object"}), |_| async { "" });
/// let error = SdkMcpServer::builder("calc").tool(tool()).tool(tool()).build().unwrap_err();
/// assert!(matches!(error, ServerBuildError::DuplicateTool { .. }));
/// assert_eq!(error.to_string(), "server 'calc' has two tools named 'same'");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerBuildError {
    /// The server name is not 1-64 chars of `[A-Za-z0-9_-]`.
    #[error("invalid MCP server name {name:?}: use 1-64 characters of [A-Za-z0-9_-]")]
    InvalidServerName {
        /// The name given.
        name: String,
    },
    /// A tool name is not 1-64 chars of `[A-Za-z0-9_-]`.
    #[error("invalid tool name {name:?}: use 1-64 characters of [A-Za-z0-9_-]")]
    InvalidToolName {
        /// The name given.
        name: String,
    },
    /// Two tools of one server share a name.
    #[error("server '{server}' has two tools named '{tool}'")]
    DuplicateTool {
        /// The server.
        server: String,
        /// The repeated tool name.
        tool: String,
    },
    /// A tool's schema could not be shaped (for example its root is not an object).
    #[error("tool '{tool}': {source}")]
    Schema {
        /// The tool.
        tool: String,
        /// What is wrong with its schema.
        #[source]
        source: SchemaError,
    },
    /// A tool's input schema is not a valid JSON Schema.
    #[error("tool '{tool}': invalid input schema: {reason}")]
    InvalidInputSchema {
        /// The tool.
        tool: String,
        /// What the schema compiler said.
        reason: String,
    },
}

impl From<ServerBuildError> for crate::Error {
    fn from(error: ServerBuildError) -> Self {
        crate::Error::invalid_options("mcp_server", error.to_string())
    }
}

/// Builder of [`SdkMcpServer`].
///
/// ```
/// use agent_sdk::mcp::SdkMcpServer;
/// let server = SdkMcpServer::builder("empty").version("0.1.0").build().unwrap();
/// assert_eq!(server.name(), "empty");
/// ```
#[must_use]
pub struct SdkMcpServerBuilder {
    name: String,
    version: String,
    instructions: Option<String>,
    tools: Vec<Arc<dyn Tool>>,
}

impl SdkMcpServerBuilder {
    /// The version in `serverInfo` (default `1.0.0`).
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = version.into();
        self
    }

    /// Instructions for the client, sent in the `initialize` answer.
    pub fn instructions(mut self, instructions: impl Into<String>) -> Self {
        self.instructions = Some(instructions.into());
        self
    }

    /// Adds a tool: a `#[tool]` companion (`.tool(add {})`), a [`DynamicTool`](super::DynamicTool)
    /// or your own [`Tool`].
    pub fn tool(mut self, tool: impl Tool) -> Self {
        self.tools.push(Arc::new(tool));
        self
    }

    /// Adds a shared tool.
    pub fn tool_arc(mut self, tool: Arc<dyn Tool>) -> Self {
        self.tools.push(tool);
        self
    }

    /// Adds every `#[tool(server = "<this server's name>")]` in the program (any module or
    /// crate), sorted by tool name.
    pub fn registered_tools(mut self) -> Self {
        let mut found: Vec<(String, Arc<dyn Tool>)> = registered_tools(&self.name)
            .map(|tool| {
                let name = tool.definition().map(|d| d.name).unwrap_or_default();
                (name, tool)
            })
            .collect();
        found.sort_by(|a, b| a.0.cmp(&b.0));
        self.tools.extend(found.into_iter().map(|(_, tool)| tool));
        self
    }

    /// Shapes and checks every schema and returns the server.
    ///
    /// The argument validators are compiled when each tool is first called; call
    /// [`SdkMcpServer::compile_validators`] to compile them (and catch a broken
    /// hand-written schema) now.
    pub fn build(self) -> Result<SdkMcpServer, ServerBuildError> {
        if !is_valid_tool_name(&self.name) {
            return Err(ServerBuildError::InvalidServerName { name: self.name });
        }
        let mut tools = HashMap::with_capacity(self.tools.len());
        let mut definitions = Vec::with_capacity(self.tools.len());
        for tool in self.tools {
            let definition = tool
                .definition()
                .map_err(|source| ServerBuildError::Schema {
                    tool: schema_error_subject(&source),
                    source,
                })?;
            if !is_valid_tool_name(&definition.name) {
                return Err(ServerBuildError::InvalidToolName {
                    name: definition.name,
                });
            }
            if tools.contains_key(&definition.name) {
                return Err(ServerBuildError::DuplicateTool {
                    server: self.name,
                    tool: definition.name,
                });
            }
            let entry = ToolEntry {
                tool,
                input_schema: definition.input_schema.clone(),
                validator: OnceLock::new(),
            };
            tools.insert(definition.name.clone(), entry);
            definitions.push(definition);
        }
        let tools_list =
            json!({ "tools": definitions.iter().map(ToolDefinition::to_json).collect::<Vec<_>>() });
        Ok(SdkMcpServer {
            inner: Arc::new(ServerInner {
                name: self.name,
                version: self.version,
                instructions: self.instructions,
                tools,
                definitions,
                tools_list,
            }),
        })
    }
}

fn schema_error_subject(error: &SchemaError) -> String {
    match error {
        SchemaError::NotAnObject { type_name, .. } | SchemaError::Recursive { type_name, .. } => {
            type_name.clone()
        }
    }
}

impl SdkMcpServer {
    /// Starts a builder for a server with this name (also the key in `--mcp-config`).
    pub fn builder(name: impl Into<String>) -> SdkMcpServerBuilder {
        SdkMcpServerBuilder {
            name: name.into(),
            version: "1.0.0".to_owned(),
            instructions: None,
            tools: Vec::new(),
        }
    }

    /// Compiles the argument validator of every tool now instead of at its first call.
    ///
    /// Worth it for tools with hand-written schemas ([`DynamicTool`](super::DynamicTool),
    /// a manual [`Tool`]): a schema that is not valid JSON Schema is an error here, at
    /// start-up, instead of an `isError` result on every call of that tool. Schemas
    /// `#[tool]` derives always compile. Compiling costs a few milliseconds and ~3 MiB
    /// of resident memory (the JSON Schema meta-validator), which is why it is lazy.
    ///
    /// ```
    /// use agent_sdk::mcp::{DynamicTool, SdkMcpServer, ServerBuildError};
    ///
    /// let schema = serde_json::json!({"type": "object", "minProperties": "two"});
    /// let broken = DynamicTool::new("broken", schema, |_args| async { "never".to_owned() });
    /// let server = SdkMcpServer::builder("tools").tool(broken).build()?;
    /// let error = server.compile_validators().unwrap_err();
    /// assert!(matches!(error, ServerBuildError::InvalidInputSchema { ref tool, .. } if tool == "broken"));
    /// # Ok::<(), ServerBuildError>(())
    /// ```
    pub fn compile_validators(&self) -> Result<(), ServerBuildError> {
        for definition in &self.inner.definitions {
            let entry = &self.inner.tools[&definition.name];
            if let Err(reason) = entry.validator() {
                return Err(ServerBuildError::InvalidInputSchema {
                    tool: definition.name.clone(),
                    reason: reason.clone(),
                });
            }
        }
        Ok(())
    }

    /// The server name: the key in `--mcp-config` and the middle of `mcp__<server>__<tool>`.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The version announced in `serverInfo`.
    pub fn version(&self) -> &str {
        &self.inner.version
    }

    /// The tools, as `tools/list` describes them, in the order they were given.
    pub fn tools(&self) -> &[ToolDefinition] {
        &self.inner.definitions
    }

    /// `mcp__<server>__<tool>` for every tool: the names the model sees, for `allowed_tools`.
    ///
    /// ```
    /// use agent_sdk::mcp::{DynamicTool, SdkMcpServer};
    /// let server = SdkMcpServer::builder("calc")
    ///     .tool(DynamicTool::new("add", serde_json::json!({"type": "object"}), |_| async { 0 }))
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(server.qualified_tool_names(), ["mcp__calc__add"]);
    /// ```
    pub fn qualified_tool_names(&self) -> Vec<String> {
        self.inner
            .definitions
            .iter()
            .map(|d| format!("mcp__{}__{}", self.inner.name, d.name))
            .collect()
    }

    /// Calls a tool directly, as `tools/call` would: argument validation, then the
    /// handler; a panic and an unknown name are `isError` results. Handy in tests.
    /// To cancel a call, drop its future.
    pub async fn call_tool(&self, name: &str, arguments: Value) -> ToolResult {
        catch_panic(self.run_tool(name, arguments))
            .await
            .unwrap_or_else(|panic| tool_panicked(name, &panic))
    }

    /// Answers one JSON-RPC message (the `message` of an `mcp_message` control request)
    /// with the JSON-RPC response; a notification gets `{"jsonrpc":"2.0","result":{}}`.
    ///
    /// Stateless and safe to call concurrently: a `notifications/cancelled` is
    /// acknowledged and changes nothing here (cancelling is the session's job, which
    /// knows whose request id it names); to cancel a call, drop its future.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let server = agent_sdk::mcp::SdkMcpServer::builder("calc").build().unwrap();
    /// let answer = server.handle_json_rpc(serde_json::json!({"jsonrpc": "2.0", "id": 7, "method": "ping"})).await;
    /// assert_eq!(answer, serde_json::json!({"jsonrpc": "2.0", "id": 7, "result": {}}));
    /// # }
    /// ```
    pub async fn handle_json_rpc(&self, message: Value) -> Value {
        self.answer(message).await.into_value()
    }

    /// Answers one JSON-RPC message, as [`handle_json_rpc`](Self::handle_json_rpc) does,
    /// in the form the protocol core writes straight into its control response. A
    /// tool's panic is caught here, in [`call_tool`](Self::call_tool): the one catcher
    /// of an MCP request, whether it comes through a session or not.
    pub(crate) async fn answer(&self, mut message: Value) -> JsonRpcAnswer {
        let id = message.get_mut("id").map(Value::take);
        let Some(id) = id else {
            return JsonRpcAnswer::Value(acknowledged());
        };
        let Some(method) = message.get("method").and_then(Value::as_str) else {
            return JsonRpcAnswer::Value(error_response(
                id,
                INVALID_REQUEST,
                "Invalid Request: no method",
                None,
            ));
        };
        let answer = match method {
            "tools/call" => return self.handle_call(id, &mut message).await,
            "tools/list" => success(id, self.inner.tools_list.clone()),
            "initialize" => success(id, self.initialize_result(&message)),
            "ping" => success(id, Value::Object(Map::new())),
            other => {
                let data = Value::String(other.to_owned());
                error_response(id, METHOD_NOT_FOUND, "Method not found", Some(data))
            }
        };
        JsonRpcAnswer::Value(answer)
    }

    fn initialize_result(&self, message: &Value) -> Value {
        let requested = message
            .pointer("/params/protocolVersion")
            .and_then(Value::as_str);
        let version = requested
            .filter(|v| SUPPORTED_PROTOCOL_VERSIONS.contains(v))
            .unwrap_or(LATEST_PROTOCOL_VERSION);
        let mut result = json!({
            "protocolVersion": version,
            "capabilities": {"tools": {"listChanged": false}},
            "serverInfo": {"name": self.inner.name, "version": self.inner.version},
        });
        if let Some(instructions) = &self.inner.instructions {
            result["instructions"] = Value::String(instructions.clone());
        }
        result
    }

    async fn handle_call(&self, id: Value, message: &mut Value) -> JsonRpcAnswer {
        let Some(params) = message.get_mut("params").and_then(Value::as_object_mut) else {
            return JsonRpcAnswer::Value(error_response(
                id,
                INVALID_PARAMS,
                "Invalid params: missing `params`",
                None,
            ));
        };
        let arguments = params.remove("arguments").unwrap_or(Value::Null);
        let Some(name) = params.get("name").and_then(Value::as_str) else {
            return JsonRpcAnswer::Value(error_response(
                id,
                INVALID_PARAMS,
                "Invalid params: missing tool `name`",
                None,
            ));
        };
        let result = self.call_tool(name, arguments).await;
        JsonRpcAnswer::ToolResult { id, result }
    }

    /// Validates the arguments and runs the tool in the caller's task; a panic of
    /// the handler unwinds to [`call_tool`](Self::call_tool).
    async fn run_tool(&self, name: &str, mut arguments: Value) -> ToolResult {
        let Some(entry) = self.inner.tools.get(name) else {
            return ToolResult::error(format!("Tool '{name}' not found"));
        };
        if arguments.is_null() {
            arguments = Value::Object(Map::new());
        }
        let checked = match entry.validator() {
            Ok(validator) => validator.check(&mut arguments),
            Err(reason) => Err(format!(
                "Tool '{name}' cannot be called: its input schema is not valid JSON Schema ({reason})"
            )),
        };
        match checked {
            Ok(()) => entry.tool.call(arguments).await,
            Err(message) => ToolResult::error(message),
        }
    }
}

/// The `isError` result of a tool whose handler panicked.
fn tool_panicked(name: &str, panic: &str) -> ToolResult {
    ToolResult::error(format!("Tool '{name}' panicked: {panic}"))
}

/// A JSON-RPC answer of the server. `tools/call` results are serialized straight
/// from the [`ToolResult`] onto the wire: building a `Value` for them (and
/// dropping it) was a fifth of the SDK's work per call.
#[derive(Debug)]
pub(crate) enum JsonRpcAnswer {
    /// An answer built as a value (errors, `tools/list`, `initialize`, ...).
    Value(Value),
    /// `{"jsonrpc":"2.0","id":<id>,"result":<CallToolResult>}`.
    ToolResult { id: Value, result: ToolResult },
}

impl JsonRpcAnswer {
    pub(crate) fn into_value(self) -> Value {
        match self {
            JsonRpcAnswer::Value(value) => value,
            answer => serde_json::to_value(&answer).expect("JSON-RPC answers always serialize"),
        }
    }
}

impl Serialize for JsonRpcAnswer {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            JsonRpcAnswer::Value(value) => value.serialize(serializer),
            JsonRpcAnswer::ToolResult { id, result } => {
                let mut map = serializer.serialize_map(Some(3))?;
                map.serialize_entry("jsonrpc", "2.0")?;
                map.serialize_entry("id", id)?;
                map.serialize_entry("result", result)?;
                map.end()
            }
        }
    }
}

fn success(id: Value, result: Value) -> Value {
    let mut map = Map::with_capacity(3);
    map.insert("jsonrpc".into(), Value::String("2.0".into()));
    map.insert("id".into(), id);
    map.insert("result".into(), result);
    Value::Object(map)
}

fn error_response(id: Value, code: i64, message: &str, data: Option<Value>) -> Value {
    let mut error = Map::with_capacity(3);
    error.insert("code".into(), code.into());
    error.insert("message".into(), message.into());
    if let Some(data) = data {
        error.insert("data".into(), data);
    }
    let mut map = Map::with_capacity(3);
    map.insert("jsonrpc".into(), Value::String("2.0".into()));
    map.insert("id".into(), id);
    map.insert("error".into(), Value::Object(error));
    Value::Object(map)
}

/// The answer to a JSON-RPC notification: `{"jsonrpc":"2.0","result":{}}`.
pub(crate) fn acknowledged() -> Value {
    json!({"jsonrpc": "2.0", "result": {}})
}

/// The answer of a call that `notifications/cancelled` aborted
/// (`-32800 "Request cancelled"`).
pub(crate) fn request_cancelled(id: Value) -> Value {
    error_response(id, REQUEST_CANCELLED, "Request cancelled", None)
}

/// The JSON-RPC answer for an `mcp_message` to a server name we do not serve
/// (`-32601 "Server '<name>' not found"`, a control *success* like the Python SDK).
pub(crate) fn server_not_found(id: Value, server_name: &str) -> Value {
    error_response(
        id,
        METHOD_NOT_FOUND,
        &format!("Server '{server_name}' not found"),
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_server_answer() {
        let answer = server_not_found(json!(3), "missing");
        assert_eq!(
            answer,
            json!({"jsonrpc":"2.0","id":3,"error":{"code":-32601,"message":"Server 'missing' not found"}})
        );
    }
}
