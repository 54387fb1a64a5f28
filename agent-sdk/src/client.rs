//! [`Client`]: a long-lived, bidirectional session with the CLI.

use futures_core::Stream;
use futures_util::StreamExt;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::error::{Error, Result};
use crate::handler::BoxFuture;
use crate::message::{
    ContextUsage, McpSetServersResult, McpStatus, Message, RewindFilesResult, ServerInfo, UserInput,
};
use crate::options::{AgentOptions, McpServerConfig, PermissionMode};
use crate::protocol::{InputMode, Session};
use crate::structured::{OutputSchema, StructuredOutputError};
use crate::transport::{SubprocessTransport, Transport};

/// The `session_id` a client puts on the user frames it sends (as the official SDKs do).
const DEFAULT_SESSION: &str = "default";

/// A multi-turn conversation with the CLI.
///
/// All methods take `&self`, so a `Client` can be shared (for example in an
/// `Arc`) between a task that reads messages and one that calls
/// [`interrupt`](Client::interrupt). Dropping a client stops the CLI process.
///
/// ```no_run
/// use agent_sdk::prelude::*;
///
/// # async fn run() -> agent_sdk::Result<()> {
/// let client = Client::connect(AgentOptions::builder().build()?).await?;
/// client.query("Name three prime numbers.").await?;
/// let mut replies = client.receive_response();
/// while let Some(message) = replies.next().await {
///     match message? {
///         Message::Assistant(reply) => print!("{}", reply.text()),
///         Message::Result(result) => println!("\n(cost: {:?})", result.total_cost_usd),
///         _ => {}
///     }
/// }
/// client.disconnect().await?;
/// # Ok(())
/// # }
/// ```
pub struct Client {
    session: Session,
    /// The options' per-server tool timeouts, for servers added by `set_mcp_servers`.
    mcp_tool_timeouts: std::collections::BTreeMap<String, std::time::Duration>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").finish_non_exhaustive()
    }
}

impl Client {
    /// Starts the CLI and performs the `initialize` handshake.
    pub async fn connect(options: AgentOptions) -> Result<Client> {
        Self::start(options, None).await
    }

    /// Starts the CLI and sends a first prompt.
    ///
    /// ```no_run
    /// # async fn run() -> agent_sdk::Result<()> {
    /// let client = agent_sdk::Client::connect_with_prompt(agent_sdk::AgentOptions::default(), "Hello!").await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect_with_prompt(
        options: AgentOptions,
        prompt: impl Into<String>,
    ) -> Result<Client> {
        let client = Self::connect(options).await?;
        client.query(prompt.into()).await?;
        Ok(client)
    }

    /// Like [`connect`](Client::connect), over a transport of your own.
    pub async fn connect_with_transport(
        options: AgentOptions,
        transport: impl Transport,
    ) -> Result<Client> {
        Self::start(options, Some(Box::new(transport))).await
    }

    /// Connecting, over `transport` or else the CLI's own. Boxed: inlined into
    /// the caller's future, its state machines made the main frame of a
    /// `#[tokio::main]` program 60 KiB of stack.
    fn start(
        options: AgentOptions,
        transport: Option<Box<dyn Transport>>,
    ) -> BoxFuture<'static, Result<Client>> {
        Box::pin(async move {
            // A resume through a session store needs the transcript on disk before the CLI starts.
            let options = crate::store::wiring::prepare(options).await?;
            let transport = match transport {
                Some(transport) => transport,
                None => Box::new(SubprocessTransport::new(&options)?),
            };
            let session = Session::start(&options, transport, InputMode::Interactive).await?;
            Ok(Client {
                session,
                mcp_tool_timeouts: options.mcp_tool_timeouts.clone(),
            })
        })
    }

    /// Sends a user prompt; read the answer with [`receive_response`](Client::receive_response).
    ///
    /// Takes text or a [`UserInput`] (content blocks such as images, a uuid, a priority...).
    ///
    /// Returns once the prompt is in the (bounded) write queue; while a CLI that
    /// stopped reading its input keeps the queue full it waits, and after the
    /// control timeout fails with [`Error::ControlTimeout`] (subtype `user`).
    pub async fn query(&self, prompt: impl Into<UserInput>) -> Result<()> {
        // The turn's span opens in the session when the prompt goes out.
        self.send(prompt.into()).await
    }

    /// Sends a user prompt tagged with a session id of your choice.
    pub async fn query_in_session(
        &self,
        prompt: impl Into<UserInput>,
        session_id: &str,
    ) -> Result<()> {
        self.send(prompt.into().with_session_id(session_id)).await
    }

    /// Sends every user message of a stream, as it yields them.
    ///
    /// ```no_run
    /// # async fn run(client: &agent_sdk::Client) -> agent_sdk::Result<()> {
    /// use agent_sdk::message::UserInput;
    /// let inputs = futures_util::stream::iter([UserInput::text("first"), UserInput::text("second")]);
    /// client.query_stream(inputs).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn query_stream(&self, inputs: impl Stream<Item = UserInput>) -> Result<()> {
        let mut inputs = std::pin::pin!(inputs);
        while let Some(input) = inputs.next().await {
            self.send(input).await?;
        }
        Ok(())
    }

    async fn send(&self, input: UserInput) -> Result<()> {
        self.session
            .send_frame(&input.to_frame(DEFAULT_SESSION))
            .await
    }

    /// Sends raw `user` frames, as the CLI expects them. A frame without
    /// `session_id` gets the client's default.
    ///
    /// ```no_run
    /// # async fn run(client: &agent_sdk::Client) -> agent_sdk::Result<()> {
    /// let frame = serde_json::json!({
    ///     "type": "user",
    ///     "message": {"role": "user", "content": [{"type": "text", "text": "hi"}]},
    ///     "parent_tool_use_id": null,
    /// });
    /// client.send_frames([frame]).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn send_frames(&self, frames: impl IntoIterator<Item = Value>) -> Result<()> {
        for mut frame in frames {
            if let Some(object) = frame.as_object_mut() {
                object
                    .entry("session_id")
                    .or_insert_with(|| Value::String(DEFAULT_SESSION.into()));
            }
            self.session.send_frame(&frame).await?;
        }
        Ok(())
    }

    /// Every message from the CLI, until the session ends.
    ///
    /// Only one reader at a time: a second call waits until the first stream is dropped.
    /// The stream is `Unpin`: `stream.next().await` needs no `pin!`.
    ///
    /// # Errors in the stream
    ///
    /// An `Err` item means the session is over; the stream ends after it. It is one of:
    /// - [`Error::ProcessExited`](crate::Error::ProcessExited): the CLI exited with an
    ///   error code or was killed (exit code, signal and stderr tail inside);
    /// - [`Error::Result`](crate::Error::Result): the CLI exited after a `result` that
    ///   was an error (that [`Message::Result`] came first);
    /// - [`Error::TurnIncomplete`](crate::Error::TurnIncomplete): the CLI closed its
    ///   output and exited cleanly in the middle of a turn, with no `result`.
    ///
    /// A line that cannot be read is no error: it arrives as [`Message::Malformed`]
    /// and the session goes on, so a loop that uses `message?` stops only when the
    /// session does.
    ///
    /// ```no_run
    /// use agent_sdk::prelude::*;
    ///
    /// # async fn run(client: &Client) -> agent_sdk::Result<()> {
    /// let mut stream = client.receive_messages();
    /// while let Some(message) = stream.next().await {
    ///     match message? {
    ///         Message::Malformed { error, .. } => eprintln!("skipped a line: {error}"),
    ///         other => println!("{other:?}"),
    ///     }
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn receive_messages(&self) -> impl Stream<Item = Result<Message>> + Send + Unpin + '_ {
        let stream = futures_util::stream::unfold(None, move |guard| async move {
            let mut guard = match guard {
                Some(guard) => guard,
                None => self.session.lock_messages().await,
            };
            let item = guard.recv().await?;
            Some((item, Some(guard)))
        });
        Box::pin(stream)
    }

    /// Messages up to and including the next [`Message::Result`]: one turn's answer.
    ///
    /// An `Err` item ends the session, and with it the turn; see
    /// [`receive_messages`](Client::receive_messages) (errors in the stream) for which.
    ///
    /// The stream is `Unpin` (boxed once per call), so the usual loop needs only the prelude:
    ///
    /// ```no_run
    /// use agent_sdk::prelude::*;
    ///
    /// # async fn run(client: &Client) -> agent_sdk::Result<()> {
    /// let mut stream = client.receive_response();
    /// while let Some(message) = stream.next().await {
    ///     println!("{:?}", message?);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn receive_response(&self) -> impl Stream<Item = Result<Message>> + Send + Unpin + '_ {
        let stream = futures_util::stream::unfold((None, false), move |(guard, done)| async move {
            if done {
                return None;
            }
            let mut guard = match guard {
                Some(guard) => guard,
                None => self.session.lock_messages().await,
            };
            let item = guard.recv().await?;
            let done = matches!(item, Ok(Message::Result(_)));
            Some((item, (Some(guard), done)))
        });
        Box::pin(stream)
    }

    /// Interrupts the current turn; the turn ends with an `error_during_execution` result.
    pub async fn interrupt(&self) -> Result<()> {
        self.session
            .request("interrupt", Map::new())
            .await
            .map(drop)
    }

    /// Switches the permission mode; a `system/status` message with the new mode follows.
    pub async fn set_permission_mode(&self, mode: PermissionMode) -> Result<()> {
        self.session
            .request(
                "set_permission_mode",
                object(json!({ "mode": mode.as_str() })),
            )
            .await
            .map(drop)
    }

    /// Switches the model (`None` resets to the default). Returns the model id the CLI resolved.
    pub async fn set_model(&self, model: Option<&str>) -> Result<Option<String>> {
        let answer = self
            .session
            .request("set_model", object(json!({ "model": model })))
            .await?;
        Ok(answer
            .get("model")
            .and_then(Value::as_str)
            .map(str::to_owned))
    }

    /// Sets the thinking budget (`None` clears it).
    pub async fn set_max_thinking_tokens(&self, tokens: Option<u32>) -> Result<()> {
        self.session
            .request(
                "set_max_thinking_tokens",
                object(json!({ "max_thinking_tokens": tokens })),
            )
            .await
            .map(drop)
    }

    /// Rewinds the files changed since the given user message to their state then
    /// (needs [file checkpointing](crate::AgentOptionsBuilder::enable_file_checkpointing)).
    ///
    /// The id is the `uuid` of a user message: one you set with
    /// [`UserInput::with_uuid`], or one the CLI reports. A rewind the CLI cannot do
    /// is an answer, not an error: `can_rewind` is `false` and `error` says why.
    /// Without checkpointing the CLI refuses the request
    /// ([`ControlRequestFailed`](crate::Error::ControlRequestFailed)).
    ///
    /// ```no_run
    /// # async fn run(client: &agent_sdk::Client, checkpoint: &str) -> agent_sdk::Result<()> {
    /// let preview = client.rewind_files_dry_run(checkpoint).await?;
    /// if preview.can_rewind {
    ///     println!("would restore {:?}", preview.files_changed);
    ///     client.rewind_files(checkpoint).await?;
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn rewind_files(&self, user_message_id: &str) -> Result<RewindFilesResult> {
        self.rewind(user_message_id, false).await
    }

    /// What [`rewind_files`](Self::rewind_files) would change, without changing
    /// anything (the CLI's `dry_run`): `files_changed`, `insertions`, `deletions`.
    pub async fn rewind_files_dry_run(&self, user_message_id: &str) -> Result<RewindFilesResult> {
        self.rewind(user_message_id, true).await
    }

    /// `rewind_files`, with `dry_run` sent only when set (as the official SDKs send it).
    async fn rewind(&self, user_message_id: &str, dry_run: bool) -> Result<RewindFilesResult> {
        let mut fields = object(json!({ "user_message_id": user_message_id }));
        if dry_run {
            fields.insert("dry_run".into(), Value::Bool(true));
        }
        typed_answer(self.session.request("rewind_files", fields).await?)
    }

    /// The status of every MCP server: connection, tools, errors.
    ///
    /// ```no_run
    /// # async fn run(client: &agent_sdk::Client) -> agent_sdk::Result<()> {
    /// for server in client.mcp_status().await?.mcp_servers {
    ///     println!("{}: {} ({} tools)", server.name, server.status, server.tools.len());
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn mcp_status(&self) -> Result<McpStatus> {
        typed_answer(self.session.request("mcp_status", Map::new()).await?)
    }

    /// Replaces the session's dynamically added MCP servers (those of the options
    /// included) with these, in a running session (`mcp_set_servers`): the CLI connects
    /// to the new ones, disconnects the ones left out, and lists their tools again for
    /// the next turn. In-process servers are served from this call on; the ones left
    /// out stop answering once the CLI has accepted the change (if it refuses, nothing changes).
    /// A server named in the options' [`mcp_tool_timeout`](crate::AgentOptionsBuilder::mcp_tool_timeout)
    /// gets that timeout.
    ///
    /// ```no_run
    /// use agent_sdk::prelude::*;
    /// use agent_sdk::options::{McpServerConfig, McpStdioServer};
    ///
    /// # async fn run(client: &Client, calc: SdkMcpServer) -> agent_sdk::Result<()> {
    /// let result = client
    ///     .set_mcp_servers([
    ///         ("calc", McpServerConfig::from(calc)),
    ///         ("files", McpStdioServer::new("files-server").into()),
    ///     ])
    ///     .await?;
    /// println!("added {:?}, removed {:?}", result.added, result.removed);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn set_mcp_servers<N, C>(
        &self,
        servers: impl IntoIterator<Item = (N, C)>,
    ) -> Result<McpSetServersResult>
    where
        N: Into<String>,
        C: Into<McpServerConfig>,
    {
        let mut sdk = std::collections::HashMap::new();
        let mut wire = Map::new();
        for (name, config) in servers {
            let (name, config) = (name.into(), config.into());
            let json = crate::options::with_tool_timeout(
                config.to_cli_json(),
                self.mcp_tool_timeouts.get(&name),
            );
            wire.insert(name.clone(), json);
            if let McpServerConfig::Sdk(server) = config {
                sdk.insert(name, server);
            }
        }
        typed_answer(self.session.set_mcp_servers(sdk, wire).await?)
    }

    /// Reconnects an external MCP server by name. The CLI refuses it for in-process
    /// (`sdk`) servers, which live in this process and never disconnect; an unknown
    /// name is a [`ControlRequestFailed`](crate::Error::ControlRequestFailed) error.
    pub async fn reconnect_mcp_server(&self, server_name: &str) -> Result<()> {
        self.session
            .request(
                "mcp_reconnect",
                object(json!({ "serverName": server_name })),
            )
            .await
            .map(drop)
    }

    /// Enables or disables an MCP server by name.
    pub async fn toggle_mcp_server(&self, server_name: &str, enabled: bool) -> Result<()> {
        self.session
            .request(
                "mcp_toggle",
                object(json!({ "serverName": server_name, "enabled": enabled })),
            )
            .await
            .map(drop)
    }

    /// Stops a background task (agent or shell) by id.
    pub async fn stop_task(&self, task_id: &str) -> Result<()> {
        self.session
            .request("stop_task", object(json!({ "task_id": task_id })))
            .await
            .map(drop)
    }

    /// How the context window is used: categories, totals, model.
    ///
    /// ```no_run
    /// # async fn run(client: &agent_sdk::Client) -> agent_sdk::Result<()> {
    /// let usage = client.context_usage().await?;
    /// println!("{} of {} tokens ({}%)", usage.total_tokens, usage.max_tokens, usage.percentage);
    /// for category in &usage.categories {
    ///     println!("  {}: {}", category.name, category.tokens);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn context_usage(&self) -> Result<ContextUsage> {
        typed_answer(
            self.session
                .request("get_context_usage", Map::new())
                .await?,
        )
    }

    /// Sends any control request by subtype and returns the CLI's answer payload: an escape
    /// hatch for requests this SDK does not wrap yet (`get_settings`, `mcp_set_servers`, ...).
    ///
    /// ```no_run
    /// # async fn run(client: &agent_sdk::Client) -> agent_sdk::Result<()> {
    /// let settings = client.send_control_request("get_settings", serde_json::json!({})).await?;
    /// println!("{}", settings["applied"]);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// `fields` must be a JSON object (`json!({})` for none); anything else is
    /// [`Error::ControlFieldsNotObject`] and nothing is sent.
    pub async fn send_control_request(&self, subtype: &str, fields: Value) -> Result<Value> {
        let fields = match fields {
            Value::Object(map) => map,
            other => {
                return Err(Error::ControlFieldsNotObject {
                    subtype: subtype.to_owned(),
                    fields: other,
                });
            }
        };
        self.session.request(subtype, fields).await
    }

    /// The CLI's answer to `initialize`: commands, agents, models, output styles,
    /// account, version. Read from the answer kept since the handshake.
    ///
    /// ```no_run
    /// # async fn run(client: &agent_sdk::Client) {
    /// let info = client.server_info();
    /// for model in &info.models {
    ///     println!("{}: {}", model.value, model.display_name);
    /// }
    /// println!("CLI {:?}, {} commands", info.claude_code_version, info.commands.len());
    /// # }
    /// ```
    pub fn server_info(&self) -> ServerInfo {
        ServerInfo::from_value(self.session.server_info().clone())
    }

    /// Closes stdin, lets the CLI exit (SIGTERM, then SIGKILL if it lingers) and waits for it.
    /// Calling it twice is harmless; other methods fail with [`Error::NotConnected`](crate::Error::NotConnected) afterwards.
    pub async fn disconnect(&self) -> Result<()> {
        self.session.shutdown().await;
        Ok(())
    }
}

/// Decodes the CLI's answer to a control request into its type.
fn typed_answer<T: serde::de::DeserializeOwned>(answer: Value) -> Result<T> {
    T::deserialize(&answer).map_err(|err| crate::error::Error::JsonDecode {
        reason: err.to_string(),
        excerpt: answer.to_string().chars().take(160).collect(),
    })
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

impl Client {
    /// Sends one prompt and returns the turn's structured output as `T`.
    ///
    /// The schema is fixed when the CLI starts: connect with
    /// [`output_type::<T>()`](crate::AgentOptionsBuilder::output_type) (or an
    /// [`output_schema`](crate::AgentOptionsBuilder::output_schema)). The value is
    /// validated against `T`'s schema either way, so a looser session schema
    /// still never yields a `T` that does not fit.
    ///
    /// ```no_run
    /// use agent_sdk::{AgentOptions, Client};
    ///
    /// #[derive(serde::Deserialize, schemars::JsonSchema)]
    /// struct Sum { answer: i64 }
    ///
    /// # async fn run() -> agent_sdk::Result<()> {
    /// let client = Client::connect(AgentOptions::builder().output_type::<Sum>().build()?).await?;
    /// let first: Sum = client.query_as("What is 2 + 3?").await?;
    /// let second: Sum = client.query_as("And times 4?").await?;
    /// println!("{} {}", first.answer, second.answer);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn query_as<T: DeserializeOwned + JsonSchema + 'static>(
        &self,
        prompt: impl Into<UserInput>,
    ) -> Result<T> {
        let schema = OutputSchema::of::<T>().map_err(StructuredOutputError::from)?;
        self.query(prompt).await?;
        let mut replies = self.receive_response();
        let mut last_result = None;
        while let Some(message) = replies.next().await {
            if let Message::Result(result) = message? {
                last_result = Some(result);
            }
        }
        let result = last_result.ok_or(StructuredOutputError::NoResult)?;
        Ok(schema.decode(result.structured_value()?)?)
    }
}
