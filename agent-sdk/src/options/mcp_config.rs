//! MCP server configurations: in-process servers and external ones the CLI starts or reaches.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Map, Value, json};

use crate::mcp::SdkMcpServer;

/// An MCP server the CLI should connect to, added by name with
/// [`AgentOptionsBuilder::mcp_server`](crate::AgentOptionsBuilder::mcp_server).
///
/// The name is the one the model sees: the server's tools are `mcp__<name>__<tool>`.
/// Every server type converts into it, so the builder takes them as they are:
///
/// ```
/// use agent_sdk::AgentOptions;
/// use agent_sdk::options::{McpHttpServer, McpServerConfig, McpStdioServer};
///
/// let options = AgentOptions::builder()
///     .mcp_server(
///         "files",
///         McpStdioServer::new("npx").args(["-y", "@modelcontextprotocol/server-filesystem", "/tmp"]),
///     )
///     .mcp_server(
///         "docs",
///         McpHttpServer::new("http://127.0.0.1:8080/mcp").header("Authorization", "Bearer x"),
///     )
///     .mcp_server("custom", McpServerConfig::External(serde_json::json!({"type": "stdio", "command": "srv"})))
///     .build()?;
/// # let _ = options;
/// # Ok::<(), agent_sdk::Error>(())
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum McpServerConfig {
    /// An in-process server answered by this SDK (`{"type":"sdk","name":<its own name>}` on the wire).
    Sdk(SdkMcpServer),
    /// A server the CLI starts as a child process.
    Stdio(McpStdioServer),
    /// A server reached over server-sent events.
    Sse(McpSseServer),
    /// A server reached over streamable HTTP.
    Http(McpHttpServer),
    /// Any other server config, passed to the CLI verbatim (it must be a JSON object).
    External(Value),
}

impl McpServerConfig {
    /// The JSON the CLI receives inside `--mcp-config` for this server.
    pub(crate) fn to_cli_json(&self) -> Value {
        match self {
            // As the Python SDK: the key names the server for the CLI, the server keeps its own name.
            McpServerConfig::Sdk(server) => json!({"type": "sdk", "name": server.name()}),
            McpServerConfig::Stdio(server) => server.to_json(),
            McpServerConfig::Sse(server) => server.to_json("sse"),
            McpServerConfig::Http(server) => server.to_json("http"),
            McpServerConfig::External(value) => value.clone(),
        }
    }
}

/// Adds `timeout` (milliseconds) to a server's config: the CLI's per-server limit on one
/// tool call, which overrides `MCP_TOOL_TIMEOUT` for that server (in-process ones included).
pub(crate) fn with_tool_timeout(mut config: Value, timeout: Option<&std::time::Duration>) -> Value {
    if let (Some(timeout), Some(object)) = (timeout, config.as_object_mut()) {
        let millis = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        object.insert("timeout".into(), millis.into());
    }
    config
}

impl From<SdkMcpServer> for McpServerConfig {
    fn from(server: SdkMcpServer) -> Self {
        McpServerConfig::Sdk(server)
    }
}

impl From<McpStdioServer> for McpServerConfig {
    fn from(server: McpStdioServer) -> Self {
        McpServerConfig::Stdio(server)
    }
}

impl From<McpSseServer> for McpServerConfig {
    fn from(server: McpSseServer) -> Self {
        McpServerConfig::Sse(server)
    }
}

impl From<McpHttpServer> for McpServerConfig {
    fn from(server: McpHttpServer) -> Self {
        McpServerConfig::Http(server)
    }
}

/// A stdio MCP server: a command the CLI runs.
///
/// ```
/// use agent_sdk::options::McpStdioServer;
/// let server = McpStdioServer::new("my-server").arg("--verbose").env("TOKEN", "secret");
/// assert!(!format!("{server:?}").contains("secret"));
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct McpStdioServer {
    /// The executable.
    pub command: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Environment variables for it.
    pub env: BTreeMap<String, String>,
}

impl McpStdioServer {
    /// A server started as `command`.
    pub fn new(command: impl Into<String>) -> Self {
        McpStdioServer {
            command: command.into(),
            args: Vec::new(),
            env: BTreeMap::new(),
        }
    }

    /// Adds one argument.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets an environment variable of the server process.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.insert(key.into(), value.into());
        self
    }

    fn to_json(&self) -> Value {
        let mut object = Map::new();
        object.insert("type".into(), "stdio".into());
        object.insert("command".into(), self.command.clone().into());
        if !self.args.is_empty() {
            object.insert("args".into(), json!(self.args));
        }
        if !self.env.is_empty() {
            object.insert("env".into(), json!(self.env));
        }
        Value::Object(object)
    }
}

impl std::fmt::Debug for McpStdioServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpStdioServer")
            .field("command", &self.command)
            .field("args", &self.args)
            .field("env", &super::RedactedMap(&self.env))
            .finish()
    }
}

/// Defines the servers reached at a URL: the same fields, builder and
/// redacting `Debug` for each transport.
macro_rules! url_servers {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq)]
        #[non_exhaustive]
        pub struct $name {
            /// The endpoint.
            pub url: String,
            /// HTTP headers sent with each request.
            pub headers: BTreeMap<String, String>,
        }

        impl $name {
            /// A server at `url`.
            pub fn new(url: impl Into<String>) -> Self {
                $name {
                    url: url.into(),
                    headers: BTreeMap::new(),
                }
            }

            /// Adds an HTTP header.
            pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
                self.headers.insert(name.into(), value.into());
                self
            }

            fn to_json(&self, kind: &str) -> Value {
                url_server_json(kind, &self.url, &self.headers)
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("url", &self.url)
                    .field("headers", &super::RedactedMap(&self.headers))
                    .finish()
            }
        }
    )*};
}

url_servers! {
    /// An MCP server reached over server-sent events.
    ///
    /// ```
    /// use agent_sdk::options::McpSseServer;
    /// let server = McpSseServer::new("http://127.0.0.1:9000/sse");
    /// # let _ = server;
    /// ```
    McpSseServer;

    /// An MCP server reached over streamable HTTP.
    ///
    /// ```
    /// use agent_sdk::options::McpHttpServer;
    /// let server = McpHttpServer::new("http://127.0.0.1:9000/mcp").header("Authorization", "Bearer t");
    /// # let _ = server;
    /// ```
    McpHttpServer;
}

fn url_server_json(kind: &str, url: &str, headers: &BTreeMap<String, String>) -> Value {
    let mut object = Map::new();
    object.insert("type".into(), kind.into());
    object.insert("url".into(), url.into());
    if !headers.is_empty() {
        object.insert("headers".into(), json!(headers));
    }
    Value::Object(object)
}

/// An MCP configuration handed to the CLI as is (`--mcp-config <file or JSON>`), besides the
/// servers added with [`mcp_server`](crate::AgentOptionsBuilder::mcp_server) (which all share one
/// `--mcp-config` of their own).
///
/// ```
/// use agent_sdk::options::McpConfigSource;
/// let file = McpConfigSource::Path(".mcp.json".into());
/// let inline = McpConfigSource::Json(r#"{"mcpServers":{}}"#.into());
/// # let _ = (file, inline);
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum McpConfigSource {
    /// A JSON file with an `mcpServers` object.
    Path(PathBuf),
    /// JSON text with an `mcpServers` object.
    Json(String),
}

impl std::fmt::Debug for McpConfigSource {
    // Inline configs often carry tokens in `env`/`headers`: never print the text.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            McpConfigSource::Path(path) => f.debug_tuple("Path").field(path).finish(),
            McpConfigSource::Json(text) => write!(f, "Json(<{} bytes redacted>)", text.len()),
        }
    }
}
