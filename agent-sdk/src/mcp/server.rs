//! [`SdkMcpServer`]: JSON-RPC dispatch for the `mcp_message` control requests.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock, Weak};

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value, json};

use super::context::{CallOrigin, ClientLink, ServerScope, ToolContext, ToolScope};
use super::result::ToolResult;
use super::state::{StateMap, ToolState};
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
    /// The name and the state values tools take (`State<T>`), fixed when the server is
    /// built, shared with every call's context.
    scope: Arc<ServerScope>,
    version: String,
    instructions: Option<String>,
    /// Replaced whole by `add_tool`/`remove_tool`: a call in flight keeps the table it began with.
    table: RwLock<Arc<ToolTable>>,
    /// The tools the server was built with, read without a lock until the first change:
    /// the lock's shared counter is a cost every call of every session would pay.
    built: HashMap<String, Arc<ToolEntry>>,
    /// Set by the first `add_tool`/`remove_tool`: from then on calls look in `table`.
    changed: AtomicBool,
    /// The sessions serving this server, told when its tool list changes.
    links: Mutex<Vec<Weak<dyn ClientLink>>>,
}

/// The tools of a server at one moment.
#[derive(Clone)]
struct ToolTable {
    tools: HashMap<String, Arc<ToolEntry>>,
    /// Definitions in the order the tools were given.
    definitions: Vec<ToolDefinition>,
    /// The `tools/list` result, built once per change.
    tools_list: Value,
}

impl ToolTable {
    fn new(entries: Vec<(ToolDefinition, Arc<ToolEntry>)>) -> Self {
        let tools_list =
            json!({ "tools": entries.iter().map(|(d, _)| d.to_json()).collect::<Vec<_>>() });
        let mut tools = HashMap::with_capacity(entries.len());
        let mut definitions = Vec::with_capacity(entries.len());
        for (definition, entry) in entries {
            tools.insert(definition.name.clone(), entry);
            definitions.push(definition);
        }
        ToolTable {
            tools,
            definitions,
            tools_list,
        }
    }

    fn entries(&self) -> Vec<(ToolDefinition, Arc<ToolEntry>)> {
        self.definitions
            .iter()
            .map(|d| (d.clone(), self.tools[&d.name].clone()))
            .collect()
    }
}

struct ToolEntry {
    tool: Arc<dyn Tool>,
    /// The server and tool names and the server's state, shared with every call's context.
    scope: Arc<ToolScope>,
    input_schema: Value,
    /// Compiled with the server by the built-in evaluator; a schema only the
    /// `jsonschema` crate evaluates compiles at the tool's first call (or in
    /// [`SdkMcpServer::compile_validators`]): ~3 MiB and a few milliseconds that a
    /// session that never calls the tool should not pay. The error is the compiler's.
    validator: OnceLock<Result<ArgumentValidator, String>>,
}

impl ToolEntry {
    /// Checks a tool for a server: its definition, name and state; `taken` says
    /// whether a name is already used.
    fn check(
        tool: Arc<dyn Tool>,
        server: &Arc<ServerScope>,
        taken: impl Fn(&str) -> bool,
    ) -> Result<(ToolDefinition, Arc<ToolEntry>), ServerBuildError> {
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
        if taken(&definition.name) {
            return Err(ServerBuildError::DuplicateTool {
                server: server.name.clone(),
                tool: definition.name,
            });
        }
        if let Some(missing) = tool
            .required_states()
            .into_iter()
            .find(|needed| !server.states.contains(needed))
        {
            return Err(ServerBuildError::MissingState {
                server: server.name.clone(),
                tool: definition.name,
                type_name: missing.type_name(),
            });
        }
        // The built-in evaluator compiles now. A schema that needs the `jsonschema`
        // feature, missing, is refused here; one with it compiles at its first call;
        // a broken one is reported then (and by `compile_validators`).
        let validator = OnceLock::new();
        match ArgumentValidator::built_in(&definition.input_schema) {
            Ok(compiled) => {
                let _ = validator.set(Ok(compiled));
            }
            Err(refusal) if refusal.needs_feature && !cfg!(feature = "jsonschema") => {
                return Err(ServerBuildError::InvalidInputSchema {
                    tool: definition.name,
                    reason: refusal.message,
                });
            }
            Err(_) => {}
        }
        let scope = ToolScope {
            server: server.clone(),
            tool_name: definition.name.clone(),
        };
        let entry = ToolEntry {
            tool,
            scope: Arc::new(scope),
            input_schema: definition.input_schema.clone(),
            validator,
        };
        Ok((definition, Arc::new(entry)))
    }

    fn validator(&self) -> &Result<ArgumentValidator, String> {
        self.validator
            .get_or_init(|| ArgumentValidator::new(&self.input_schema).map_err(|r| r.message))
    }
}

impl std::fmt::Debug for SdkMcpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SdkMcpServer")
            .field("name", &self.inner.scope.name)
            .field("version", &self.inner.version)
            .field(
                "tools",
                &self
                    .table()
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
    /// A tool takes `State<T>` and the server holds no `T`.
    #[error(
        "server '{server}': tool '{tool}' takes `State<{type_name}>`, but the server has no state of that type; supply it with `state = ...` in create_sdk_mcp_server! or `SdkMcpServerBuilder::state`"
    )]
    MissingState {
        /// The server.
        server: String,
        /// The tool.
        tool: String,
        /// The state type it takes.
        type_name: &'static str,
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
    states: StateMap,
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

    /// Holds `value` as the server's state of type `T`, for the tools that take
    /// [`State<T>`](super::State); one value per type (a second of the same type
    /// replaces the first).
    ///
    /// ```
    /// use agent_sdk::mcp::{SdkMcpServer, ServerBuildError, State};
    /// use agent_sdk::tool;
    ///
    /// #[derive(Clone)]
    /// struct Greeting(&'static str);
    ///
    /// #[tool]
    /// async fn greet(name: String, State(greeting): State<Greeting>) -> String {
    ///     format!("{}, {name}", greeting.0)
    /// }
    ///
    /// let server = SdkMcpServer::builder("hello").state(Greeting("Hi")).tool(greet {}).build();
    /// assert!(server.is_ok());
    /// let error = SdkMcpServer::builder("hello").tool(greet {}).build().unwrap_err();
    /// assert!(matches!(error, ServerBuildError::MissingState { ref tool, .. } if tool == "greet"));
    /// ```
    pub fn state<T: ToolState>(mut self, value: T) -> Self {
        self.states.insert(value);
        self
    }

    /// Adds a tool: a `#[tool]` companion (`.tool(add {})`), a [`DynamicTool`](super::DynamicTool)
    /// or your own [`Tool`].
    pub fn tool(mut self, tool: impl Tool) -> Self {
        self.tools.push(Arc::new(tool));
        self
    }

    /// Adds the `#[tool]` methods of a `#[tools]` impl block, served from `value`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use agent_sdk::mcp::SdkMcpServer;
    /// use agent_sdk::{tool, tools};
    ///
    /// struct Clock;
    ///
    /// #[tools]
    /// impl Clock {
    ///     /// The hour.
    ///     #[tool]
    ///     async fn hour(&self) -> u8 { 12 }
    /// }
    ///
    /// let server = SdkMcpServer::builder("clock").methods(Arc::new(Clock)).build().unwrap();
    /// assert_eq!(server.qualified_tool_names(), ["mcp__clock__hour"]);
    /// ```
    pub fn methods<T: super::ToolMethods>(mut self, value: Arc<T>) -> Self {
        self.tools.extend(value.tools());
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
        let scope = Arc::new(ServerScope {
            name: self.name,
            states: self.states,
        });
        let mut entries: Vec<(ToolDefinition, Arc<ToolEntry>)> =
            Vec::with_capacity(self.tools.len());
        for tool in self.tools {
            let taken = |name: &str| entries.iter().any(|(d, _)| d.name == name);
            let checked = ToolEntry::check(tool, &scope, taken)?;
            entries.push(checked);
        }
        Ok(SdkMcpServer {
            inner: Arc::new(ServerInner {
                scope,
                version: self.version,
                instructions: self.instructions,
                built: entries
                    .iter()
                    .map(|(definition, entry)| (definition.name.clone(), entry.clone()))
                    .collect(),
                table: RwLock::new(Arc::new(ToolTable::new(entries))),
                changed: AtomicBool::new(false),
                links: Mutex::default(),
            }),
        })
    }
}

fn schema_error_subject(error: &SchemaError) -> String {
    match error {
        SchemaError::NotAnObject { type_name, .. }
        | SchemaError::Recursive { type_name, .. }
        | SchemaError::NotEvaluated { type_name, .. } => type_name.clone(),
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
            states: StateMap::default(),
        }
    }

    /// The tools now.
    fn table(&self) -> Arc<ToolTable> {
        self.inner
            .table
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Adds a tool to the running server and tells every session serving it
    /// (`notifications/tools/list_changed`): the CLI lists the tools again, and the
    /// model can call the new one from its next turn. The same checks as
    /// [`SdkMcpServerBuilder::build`] apply (name, schema, duplicates, state).
    ///
    /// ```
    /// use agent_sdk::mcp::{DynamicTool, SdkMcpServer};
    /// let server = SdkMcpServer::builder("calc").build()?;
    /// server.add_tool(DynamicTool::new("zero", serde_json::json!({"type": "object"}), |_| async { 0 }))?;
    /// assert_eq!(server.qualified_tool_names(), ["mcp__calc__zero"]);
    /// assert!(server.remove_tool("zero"));
    /// assert!(server.tools().is_empty());
    /// # Ok::<(), agent_sdk::mcp::ServerBuildError>(())
    /// ```
    pub fn add_tool(&self, tool: impl Tool) -> Result<(), ServerBuildError> {
        self.add_tool_arc(Arc::new(tool))
    }

    /// Adds a shared tool to the running server, as [`add_tool`](Self::add_tool) does.
    pub fn add_tool_arc(&self, tool: Arc<dyn Tool>) -> Result<(), ServerBuildError> {
        {
            let mut table = self
                .inner
                .table
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let taken = |name: &str| table.tools.contains_key(name);
            let checked = ToolEntry::check(tool, &self.inner.scope, taken)?;
            let mut entries = table.entries();
            entries.push(checked);
            *table = Arc::new(ToolTable::new(entries));
            self.inner.changed.store(true, Ordering::Release);
        }
        self.announce_tools_changed();
        Ok(())
    }

    /// Removes a tool from the running server and tells every session serving it;
    /// `false` when there was no tool of that name. Calls already running finish.
    ///
    /// Observed with the CLI 2.1.330: it lists the tools again (`mcp_status` no longer
    /// shows the tool) and refuses a later call of it itself ("No such tool available"),
    /// so the call never reaches the server; but it keeps the tool in the tool list it
    /// sends the model for the rest of the session (added tools do appear there).
    ///
    /// ```
    /// let server = agent_sdk::mcp::SdkMcpServer::builder("calc").build().unwrap();
    /// assert!(!server.remove_tool("missing"));
    /// ```
    pub fn remove_tool(&self, name: &str) -> bool {
        {
            let mut table = self
                .inner
                .table
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if !table.tools.contains_key(name) {
                return false;
            }
            let entries = table.entries().into_iter().filter(|(d, _)| d.name != name);
            *table = Arc::new(ToolTable::new(entries.collect()));
            self.inner.changed.store(true, Ordering::Release);
        }
        self.announce_tools_changed();
        true
    }

    /// Sends `notifications/tools/list_changed` to every live session of this server.
    fn announce_tools_changed(&self) {
        let links: Vec<Arc<dyn ClientLink>> = {
            let mut links = self
                .inner
                .links
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            links.retain(|link| link.strong_count() > 0);
            links.iter().filter_map(Weak::upgrade).collect()
        };
        let message = json!({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"});
        for link in links {
            link.send_mcp_message(&self.inner.scope.name, message.clone());
        }
    }

    /// Registers a session serving this server, to be told when its tools change.
    pub(crate) fn subscribe(&self, link: Weak<dyn ClientLink>) {
        let mut links = self
            .inner
            .links
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        links.retain(|link| link.strong_count() > 0);
        // A session that serves it again (`set_mcp_servers`) is told once, not twice.
        if !links.iter().any(|known| known.ptr_eq(&link)) {
            links.push(link);
        }
    }

    /// Forgets a session that no longer serves this server.
    pub(crate) fn unsubscribe(&self, link: &Weak<dyn ClientLink>) {
        self.inner
            .links
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .retain(|known| known.strong_count() > 0 && !known.ptr_eq(link));
    }

    /// Compiles the argument validator of every tool now instead of at its first call.
    ///
    /// Worth it for tools with hand-written schemas ([`DynamicTool`](super::DynamicTool),
    /// a manual [`Tool`]): a schema that is not valid JSON Schema, or that uses a keyword
    /// the built-in validator does not evaluate (`pattern`, ...) without the `jsonschema`
    /// feature, is an error here, at start-up, instead of an `isError` result on every
    /// call of that tool. Schemas `#[tool]` derives always compile.
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
        let table = self.table();
        for definition in &table.definitions {
            let entry = &table.tools[&definition.name];
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
        &self.inner.scope.name
    }

    /// The version announced in `serverInfo`.
    pub fn version(&self) -> &str {
        &self.inner.version
    }

    /// The tools, as `tools/list` describes them, in the order they were given
    /// (tools added later last).
    pub fn tools(&self) -> Vec<ToolDefinition> {
        self.table().definitions.clone()
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
        self.table()
            .definitions
            .iter()
            .map(|d| format!("mcp__{}__{}", self.inner.scope.name, d.name))
            .collect()
    }

    /// Calls a tool directly, as `tools/call` would: argument validation, then the
    /// handler; a panic and an unknown name are `isError` results. Handy in tests.
    /// To cancel a call, drop its future. The tool's [`ToolContext`] is detached: no
    /// session, no tool-use id, progress goes nowhere.
    pub async fn call_tool(&self, name: &str, arguments: Value) -> ToolResult {
        self.call_tool_from(name, arguments, CallOrigin::default(), None)
            .await
    }

    /// Calls a tool for a session, whose ids, cancellation and link `origin` carries.
    pub(crate) async fn call_tool_from(
        &self,
        name: &str,
        arguments: Value,
        origin: CallOrigin,
        meta: Option<&mut Value>,
    ) -> ToolResult {
        catch_panic(self.run_tool(name, arguments, origin, meta))
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
        self.answer(message, CallOrigin::default())
            .await
            .into_value()
    }

    /// Answers one JSON-RPC message, as [`handle_json_rpc`](Self::handle_json_rpc) does,
    /// in the form the protocol core writes straight into its control response. A
    /// tool's panic is caught here, in [`call_tool`](Self::call_tool): the one catcher
    /// of an MCP request, whether it comes through a session or not.
    /// `origin` is the session's part of a `tools/call` (its `_meta` is read here).
    pub(crate) async fn answer(&self, mut message: Value, origin: CallOrigin) -> JsonRpcAnswer {
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
            "tools/call" => return self.handle_call(id, &mut message, origin).await,
            "tools/list" => success(id, self.table().tools_list.clone()),
            // We send every log message; the level is the handler's choice.
            "logging/setLevel" => success(id, Value::Object(Map::new())),
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
            "capabilities": {"tools": {"listChanged": true}, "logging": {}},
            "serverInfo": {"name": self.inner.scope.name, "version": self.inner.version},
        });
        if let Some(instructions) = &self.inner.instructions {
            result["instructions"] = Value::String(instructions.clone());
        }
        result
    }

    async fn handle_call(
        &self,
        id: Value,
        message: &mut Value,
        origin: CallOrigin,
    ) -> JsonRpcAnswer {
        let Some(params) = message.get_mut("params").and_then(Value::as_object_mut) else {
            return JsonRpcAnswer::Value(error_response(
                id,
                INVALID_PARAMS,
                "Invalid params: missing `params`",
                None,
            ));
        };
        let arguments = params.remove("arguments").unwrap_or(Value::Null);
        let mut meta = params.remove("_meta");
        let Some(name) = params.get("name").and_then(Value::as_str) else {
            return JsonRpcAnswer::Value(error_response(
                id,
                INVALID_PARAMS,
                "Invalid params: missing tool `name`",
                None,
            ));
        };
        let result = self
            .call_tool_from(name, arguments, origin, meta.as_mut())
            .await;
        JsonRpcAnswer::ToolResult { id, result }
    }

    /// Validates the arguments and runs the tool in the caller's task; a panic of
    /// the handler unwinds to [`call_tool`](Self::call_tool).
    /// `meta` is the `_meta` of a call whose origin the session did not read.
    async fn run_tool(
        &self,
        name: &str,
        mut arguments: Value,
        origin: CallOrigin,
        meta: Option<&mut Value>,
    ) -> ToolResult {
        let changed_entry;
        let entry = if self.inner.changed.load(Ordering::Acquire) {
            changed_entry = self.table().tools.get(name).cloned();
            changed_entry.as_deref()
        } else {
            self.inner.built.get(name).map(|entry| &**entry)
        };
        let Some(entry) = entry else {
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
            Ok(()) => {
                // A tool that ignores its context gets an empty one: nothing to share.
                let context = if entry.tool.takes_context() {
                    let origin = origin.read_meta(meta.map(Value::take));
                    ToolContext::new(entry.scope.clone(), origin)
                } else {
                    ToolContext::empty()
                };
                entry.tool.call(arguments, context).await
            }
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

    #[tokio::test]
    async fn calls_follow_tools_added_and_removed_after_the_build() {
        let tool = |name: &'static str| {
            super::super::DynamicTool::new(
                name,
                json!({"type": "object"}),
                move |_| async move { name },
            )
        };
        let server = SdkMcpServer::builder("s").tool(tool("a")).build().unwrap();
        assert_eq!(server.call_tool("a", json!({})).await.text_content(), "a");
        server.add_tool(tool("b")).unwrap();
        assert_eq!(server.call_tool("b", json!({})).await.text_content(), "b");
        assert!(
            server.add_tool(tool("b")).is_err(),
            "a duplicate is refused"
        );
        assert!(server.remove_tool("a"));
        let gone = server.call_tool("a", json!({})).await;
        assert_eq!(gone.text_content(), "Tool 'a' not found");
        let listed = server
            .handle_json_rpc(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
            .await;
        assert_eq!(listed["result"]["tools"][0]["name"], "b");
        assert_eq!(listed["result"]["tools"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn unknown_server_answer() {
        let answer = server_not_found(json!(3), "missing");
        assert_eq!(
            answer,
            json!({"jsonrpc":"2.0","id":3,"error":{"code":-32601,"message":"Server 'missing' not found"}})
        );
    }
}
