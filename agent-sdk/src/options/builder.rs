//! [`AgentOptionsBuilder`]: one method per option, checked together at [`build`](AgentOptionsBuilder::build).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;

use crate::error::Result;
use crate::hooks::{HookEvent, HookHandler, HookMatcher};
use crate::permission::{PermissionHandler, erase_permission_handler};
use crate::structured::OutputSchema;

use super::{
    AgentDefinition, AgentOptions, Effort, McpConfigSource, McpServerConfig, PermissionMode,
    Plugin, SettingSource, Settings, Skills, SystemPrompt, Thinking, Tools,
};

/// Builder of [`AgentOptions`].
///
/// Methods can be chained in any order; [`build`](Self::build) checks the
/// combination and returns [`Error::InvalidOptions`](crate::Error::InvalidOptions)
/// for contradictions.
///
/// ```
/// use agent_sdk::AgentOptions;
/// use agent_sdk::options::{SettingSource, Tools};
///
/// let options = AgentOptions::builder()
///     .tools(Tools::list(["Read", "Edit"]))
///     .disallowed_tools(["WebFetch"])
///     .setting_sources([SettingSource::Project])
///     .cwd("/tmp")
///     .max_budget_usd(0.5)
///     .build()?;
/// # let _ = options;
///
/// let err = AgentOptions::builder().model("opus").fallback_model("opus").build().unwrap_err();
/// assert!(err.to_string().contains("fallback_model"));
/// # Ok::<(), agent_sdk::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct AgentOptionsBuilder {
    /// Only this module writes it: every option has its method here, so the
    /// modules the options configure never depend on the options.
    pub(crate) options: AgentOptions,
}

impl std::fmt::Debug for AgentOptionsBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("AgentOptionsBuilder")
            .field(&self.options)
            .finish()
    }
}

fn strings<I, S>(items: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    items.into_iter().map(Into::into).collect()
}

impl AgentOptionsBuilder {
    /// Validates and returns the options.
    ///
    /// Refused: `fallback_model` equal to `model`; a permission handler together
    /// with `permission_prompt_tool_name`; invalid skill names; a zero
    /// `max_buffer_size` or `control_timeout`; a negative or non-finite budget;
    /// malformed env names or `extra_args` flags; non-object sandbox, output
    /// schema or external MCP config. The working directory is checked when connecting.
    pub fn build(self) -> Result<AgentOptions> {
        super::validate::validate(&self.options)?;
        Ok(self.options)
    }

    // ---- process ----

    /// Path of the `claude` executable (no search is done).
    pub fn cli_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.options.cli_path = Some(path.into());
        self
    }

    /// Working directory of the CLI (also passed as `PWD`).
    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Self {
        self.options.cwd = Some(dir.into());
        self
    }

    /// Runs the CLI as this OS user, like the official SDKs' `user` option
    /// (unix: its uid, primary gid and supplementary groups; `HOME`, `USER`
    /// and `LOGNAME` become the account's unless set with [`env`](Self::env)).
    /// This process needs the privilege to switch (root, or `CAP_SETUID` and
    /// `CAP_SETGID`), and the account must be able to run the CLI and enter
    /// the working directory. When connecting, an unknown account is
    /// [`Error::UnknownUser`](crate::Error::UnknownUser); on Windows the option
    /// is [`Error::UnsupportedOnPlatform`](crate::Error::UnsupportedOnPlatform).
    ///
    /// ```
    /// use agent_sdk::AgentOptions;
    /// let options = AgentOptions::builder().user("agent-runner").build()?;
    /// # let _ = options;
    /// # Ok::<(), agent_sdk::Error>(())
    /// ```
    pub fn user(mut self, name: impl Into<String>) -> Self {
        self.options.user = Some(name.into());
        self
    }

    /// Sets an environment variable for the CLI (merged over the inherited environment).
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.options.env.insert(key.into(), value.into());
        self
    }

    /// Sets several environment variables for the CLI.
    pub fn envs<I, K, V>(mut self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.options
            .env
            .extend(vars.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Passes an arbitrary CLI flag, named without its dashes: `None` gives
    /// `--flag`, a value starting with `-` gives `--flag=value`, else `--flag value`.
    /// Setting the same flag again replaces its value.
    ///
    /// ```
    /// use agent_sdk::AgentOptions;
    /// let options = AgentOptions::builder()
    ///     .extra_arg("debug-to-stderr", None::<String>)
    ///     .extra_arg("agent", Some("reviewer"))
    ///     .build()?;
    /// # let _ = options;
    /// # Ok::<(), agent_sdk::Error>(())
    /// ```
    pub fn extra_arg(mut self, flag: impl Into<String>, value: Option<impl Into<String>>) -> Self {
        let flag = flag.into();
        let value = value.map(Into::into);
        match self.options.extra_args.iter_mut().find(|(f, _)| *f == flag) {
            Some(entry) => entry.1 = value,
            None => self.options.extra_args.push((flag, value)),
        }
        self
    }

    /// Per-line limit on the CLI's stdout in bytes (default 1 MiB).
    pub fn max_buffer_size(mut self, bytes: usize) -> Self {
        self.options.max_buffer_size = Some(bytes);
        self
    }

    /// Timeout of each control request the SDK sends (default 60 s).
    pub fn control_timeout(mut self, timeout: Duration) -> Self {
        self.options.control_timeout = Some(timeout);
        self
    }

    /// Receives the CLI's stderr line by line.
    ///
    /// Without a callback stderr is still piped, not inherited as the Python SDK does:
    /// each line goes to `tracing` at debug level, target `agent_sdk::cli_stderr`
    /// (`RUST_LOG=agent_sdk::cli_stderr=debug` shows it). Either way the SDK keeps the
    /// last 20 lines and [`Error::ProcessExited`](crate::Error::ProcessExited) carries
    /// them, so the error itself says why the CLI stopped (an unknown flag, a bad key)
    /// rather than "see stderr", and concurrent sessions do not write unlabelled lines
    /// over the host's terminal. To see them as if inherited, print them:
    ///
    /// ```
    /// use agent_sdk::AgentOptions;
    /// let options = AgentOptions::builder().stderr(|line| eprintln!("cli: {line}")).build()?;
    /// # let _ = options;
    /// # Ok::<(), agent_sdk::Error>(())
    /// ```
    pub fn stderr(mut self, callback: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.options.stderr = Some(Arc::new(callback));
        self
    }

    /// Names the application using the SDK (`CLAUDE_AGENT_SDK_CLIENT_APP`).
    pub fn client_app(mut self, name: impl Into<String>) -> Self {
        self.options.client_app = Some(name.into());
        self
    }

    /// Lets the CLI checkpoint files so they can be rewound.
    pub fn enable_file_checkpointing(mut self, enable: bool) -> Self {
        self.options.enable_file_checkpointing = enable;
        self
    }

    // ---- prompt, model, tools ----

    /// The system prompt. Unset means an empty prompt; use [`SystemPrompt::preset`] for Claude Code's.
    pub fn system_prompt(mut self, prompt: impl Into<SystemPrompt>) -> Self {
        self.options.system_prompt = Some(prompt.into());
        self
    }

    /// The built-in tools the model sees (`--tools`).
    pub fn tools(mut self, tools: Tools) -> Self {
        self.options.tools = Some(tools);
        self
    }

    /// Tools that run without asking (`--allowedTools`), e.g. `mcp__calc__add` or `Bash(git:*)`.
    pub fn allowed_tools<I, S>(mut self, tools: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.options.allowed_tools.extend(strings(tools));
        self
    }

    /// Tools the model may not use (`--disallowedTools`).
    pub fn disallowed_tools<I, S>(mut self, tools: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.options.disallowed_tools.extend(strings(tools));
        self
    }

    /// Model alias or full name.
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.options.model = Some(model.into());
        self
    }

    /// Model used when the main one is overloaded; must differ from `model`.
    pub fn fallback_model(mut self, model: impl Into<String>) -> Self {
        self.options.fallback_model = Some(model.into());
        self
    }

    /// API beta headers (`--betas`), e.g. `context-1m-2025-08-07`.
    pub fn betas<I, S>(mut self, betas: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.options.betas.extend(strings(betas));
        self
    }

    /// How the model thinks. Wins over [`max_thinking_tokens`](Self::max_thinking_tokens).
    pub fn thinking(mut self, thinking: Thinking) -> Self {
        self.options.thinking = Some(thinking);
        self
    }

    /// Thinking budget in tokens (0 included).
    #[deprecated(note = "use `thinking(Thinking::enabled(n))`")]
    pub fn max_thinking_tokens(mut self, tokens: u32) -> Self {
        self.options.max_thinking_tokens = Some(tokens);
        self
    }

    /// Reasoning effort.
    pub fn effort(mut self, effort: Effort) -> Self {
        self.options.effort = Some(effort);
        self
    }

    /// Asks for structured output matching this JSON Schema (`--json-schema`).
    ///
    /// ```
    /// use agent_sdk::AgentOptions;
    /// let options = AgentOptions::builder()
    ///     .output_schema(serde_json::json!({"type": "object", "properties": {"x": {"type": "string"}}}))
    ///     .build()?;
    /// # let _ = options;
    /// # Ok::<(), agent_sdk::Error>(())
    /// ```
    pub fn output_schema(mut self, schema: Value) -> Self {
        self.options.output_schema = Some(schema);
        self.options.output_schema_error = None;
        self
    }

    /// Asks for structured output of type `T`: its schema, shaped like a tool
    /// input schema (object root, inlined, no `$schema`, optional fields only
    /// left out of `required`, unit enums as string enums), goes to the CLI with
    /// `--json-schema`. Read the value back with
    /// [`ResultMessage::structured`](crate::message::ResultMessage::structured),
    /// or use [`query_as`](crate::query_as) / [`Client::query_as`](crate::Client::query_as).
    ///
    /// A type whose schema is not an object (or is recursive) makes
    /// [`build`](Self::build) fail with [`Error::InvalidOptions`](crate::Error::InvalidOptions).
    ///
    /// ```
    /// use agent_sdk::AgentOptions;
    ///
    /// /// A code review.
    /// #[derive(serde::Deserialize, schemars::JsonSchema)]
    /// struct Review {
    ///     /// One line per problem found.
    ///     problems: Vec<String>,
    ///     approved: bool,
    /// }
    ///
    /// let options = AgentOptions::builder().output_type::<Review>().build()?;
    /// # let _ = options;
    ///
    /// #[derive(serde::Deserialize, schemars::JsonSchema)]
    /// enum Verdict { Yes, No }
    /// let err = AgentOptions::builder().output_type::<Verdict>().build().unwrap_err();
    /// assert!(err.to_string().contains("not a JSON object"));
    /// # Ok::<(), agent_sdk::Error>(())
    /// ```
    pub fn output_type<T: JsonSchema + DeserializeOwned + 'static>(mut self) -> Self {
        match OutputSchema::of::<T>() {
            Ok(schema) => {
                self.options.output_schema = Some(schema.schema().clone());
                self.options.output_schema_error = None;
            }
            Err(error) => {
                self.options.output_schema = None;
                self.options.output_schema_error = Some(error);
            }
        }
        self
    }

    // ---- limits ----

    /// Limit of agentic turns (0 means no limit, as in the official SDKs).
    pub fn max_turns(mut self, turns: u32) -> Self {
        self.options.max_turns = Some(turns);
        self
    }

    /// Spending limit of the session in US dollars.
    pub fn max_budget_usd(mut self, usd: f64) -> Self {
        self.options.max_budget_usd = Some(usd);
        self
    }

    /// Token budget of the task (`--task-budget`).
    pub fn task_budget(mut self, total_tokens: u64) -> Self {
        self.options.task_budget = Some(total_tokens);
        self
    }

    // ---- permissions ----

    /// The permission mode at start.
    pub fn permission_mode(mut self, mode: PermissionMode) -> Self {
        self.options.permission_mode = Some(mode);
        self
    }

    /// An MCP tool that answers permission prompts (`--permission-prompt-tool`).
    /// Not together with a `can_use_tool` handler.
    pub fn permission_prompt_tool_name(mut self, tool: impl Into<String>) -> Self {
        self.options.permission_prompt_tool_name = Some(tool.into());
        self
    }

    /// Sets the permission policy that answers the CLI's `can_use_tool` requests.
    ///
    /// The SDK then starts the CLI with `--permission-prompt-tool stdio`; combining it
    /// with a custom permission prompt tool is an options error.
    ///
    /// ```
    /// use agent_sdk::prelude::*;
    /// let options = AgentOptions::builder()
    ///     .can_use_tool(|request: ToolPermissionRequest| async move {
    ///         if request.tool_name == "Bash" {
    ///             PermissionResult::deny("no shell here")
    ///         } else {
    ///             PermissionResult::allow()
    ///         }
    ///     })
    ///     .build()
    ///     .unwrap();
    /// # let _ = options;
    /// ```
    pub fn can_use_tool<H: PermissionHandler>(mut self, handler: H) -> Self {
        self.options.can_use_tool = Some(erase_permission_handler(handler));
        self
    }

    /// Answers the `elicitation` requests of MCP servers (a server asking the user for
    /// input during a tool call). Without a handler the SDK declines them.
    ///
    /// ```
    /// use agent_sdk::AgentOptions;
    /// use agent_sdk::elicitation::{ElicitationRequest, ElicitationResponse};
    /// let options = AgentOptions::builder()
    ///     .on_elicitation(|request: ElicitationRequest| async move {
    ///         println!("{} asks: {}", request.server_name, request.message);
    ///         ElicitationResponse::Cancel
    ///     })
    ///     .build()?;
    /// # let _ = options;
    /// # Ok::<(), agent_sdk::Error>(())
    /// ```
    pub fn on_elicitation<H: crate::elicitation::ElicitationHandler>(mut self, handler: H) -> Self {
        self.options.on_elicitation = Some(crate::elicitation::erase(handler));
        self
    }

    /// Declares the dialog kinds this application can show (`supportedDialogKinds`) and
    /// the handler that shows them (`request_user_dialog`). The CLI asks only for declared kinds.
    /// Which kinds the CLI 2.1.330 knows and what makes it open one: the [`dialog`](crate::dialog)
    /// module.
    ///
    /// ```
    /// use agent_sdk::AgentOptions;
    /// use agent_sdk::dialog::{UserDialogRequest, UserDialogResponse};
    /// let options = AgentOptions::builder()
    ///     .on_user_dialog(["refusal_fallback_prompt"], |_request: UserDialogRequest| async {
    ///         UserDialogResponse::Cancelled
    ///     })
    ///     .build()?;
    /// # let _ = options;
    /// # Ok::<(), agent_sdk::Error>(())
    /// ```
    pub fn on_user_dialog<K, H>(mut self, kinds: K, handler: H) -> Self
    where
        K: IntoIterator,
        K::Item: Into<String>,
        H: crate::dialog::UserDialogHandler,
    {
        self.options.dialog_kinds = kinds.into_iter().map(Into::into).collect();
        self.options.on_user_dialog = Some(crate::dialog::erase(handler));
        self
    }

    // ---- settings, skills, agents, plugins ----

    /// Another directory the CLI may access (`--add-dir`, repeatable).
    pub fn add_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.options.add_dirs.push(dir.into());
        self
    }

    /// Settings for the CLI: a file path or JSON text.
    pub fn settings(mut self, settings: Settings) -> Self {
        self.options.settings = Some(settings);
        self
    }

    /// Sandbox settings (a JSON object such as `{"enabled": true}`), merged into
    /// the settings as key `sandbox`.
    ///
    /// ```
    /// use agent_sdk::AgentOptions;
    /// let options = AgentOptions::builder()
    ///     .sandbox(serde_json::json!({"enabled": true, "autoAllowBashIfSandboxed": true}))
    ///     .build()?;
    /// # let _ = options;
    /// # Ok::<(), agent_sdk::Error>(())
    /// ```
    pub fn sandbox(mut self, sandbox: Value) -> Self {
        self.options.sandbox = Some(sandbox);
        self
    }

    /// Where the CLI loads settings from. An empty list loads none
    /// (`--setting-sources=`); unset loads all of them.
    pub fn setting_sources(mut self, sources: impl IntoIterator<Item = SettingSource>) -> Self {
        self.options.setting_sources = Some(sources.into_iter().collect());
        self
    }

    /// Which skills the model may use.
    pub fn skills(mut self, skills: Skills) -> Self {
        self.options.skills = Some(skills);
        self
    }

    /// Defines a subagent named `name`.
    ///
    /// ```
    /// use agent_sdk::AgentOptions;
    /// use agent_sdk::options::AgentDefinition;
    /// let options = AgentOptions::builder()
    ///     .agent("reviewer", AgentDefinition::new("Reviews code", "You review code."))
    ///     .build()?;
    /// # let _ = options;
    /// # Ok::<(), agent_sdk::Error>(())
    /// ```
    pub fn agent(mut self, name: impl Into<String>, definition: AgentDefinition) -> Self {
        self.options.agents.insert(name.into(), definition);
        self
    }

    /// Loads a plugin.
    pub fn plugin(mut self, plugin: Plugin) -> Self {
        self.options.plugins.push(plugin);
        self
    }

    // ---- MCP ----

    /// Adds an MCP server under `name`, the name the model sees (its tools are
    /// `mcp__<name>__<tool>`): an in-process [`SdkMcpServer`](crate::mcp::SdkMcpServer)
    /// or an external server the CLI starts or reaches ([`McpStdioServer`](super::McpStdioServer),
    /// [`McpSseServer`](super::McpSseServer), [`McpHttpServer`](super::McpHttpServer),
    /// or any JSON object as [`McpServerConfig::External`]). A second server under the
    /// same name replaces the first. All servers reach the CLI in one `--mcp-config`.
    ///
    /// An [`SdkMcpServer`](crate::mcp::SdkMcpServer) keeps its own name: `name` must be
    /// the one it was built with (its tools are `mcp__<own name>__<tool>`, as
    /// `qualified_tool_names()` says); another name makes [`build`](Self::build) fail.
    ///
    /// ```
    /// use agent_sdk::prelude::*;
    /// use agent_sdk::options::McpStdioServer;
    ///
    /// let calc = SdkMcpServer::builder("calc").build()?;
    /// let options = AgentOptions::builder()
    ///     .mcp_server("calc", calc)
    ///     .mcp_server("files", McpStdioServer::new("npx").args(["-y", "@modelcontextprotocol/server-filesystem", "/tmp"]))
    ///     .allowed_tools(["mcp__calc__add", "mcp__files__read_file"])
    ///     .build()?;
    /// # let _ = options;
    /// # Ok::<(), agent_sdk::Error>(())
    /// ```
    pub fn mcp_server(
        mut self,
        name: impl Into<String>,
        server: impl Into<McpServerConfig>,
    ) -> Self {
        self.options.mcp_servers.insert(name.into(), server.into());
        self
    }

    /// The longest one tool call of the MCP server `server_name` may run before the CLI
    /// gives up on it: the CLI (2.1.330) cancels the call (`notifications/cancelled`, so an
    /// in-process handler is dropped) and tells the model the tool timed out.
    ///
    /// Sent as the server's `timeout` (milliseconds); for that server it overrides the
    /// `MCP_TOOL_TIMEOUT` environment variable (milliseconds, every server). A wall-clock
    /// limit: progress notifications do not extend it. The CLI ignores values below one
    /// second, so they are an options error. Applies to the server of that name given
    /// with [`mcp_server`](Self::mcp_server) or later with
    /// [`Client::set_mcp_servers`](crate::Client::set_mcp_servers); the CLI reads it when
    /// it first registers the server.
    ///
    /// ```
    /// use std::time::Duration;
    /// use agent_sdk::prelude::*;
    ///
    /// let reports = SdkMcpServer::builder("reports").build()?;
    /// let options = AgentOptions::builder()
    ///     .mcp_server("reports", reports)
    ///     .mcp_tool_timeout("reports", Duration::from_secs(15 * 60))
    ///     .build()?;
    /// # let _ = options;
    /// # Ok::<(), agent_sdk::Error>(())
    /// ```
    pub fn mcp_tool_timeout(mut self, server_name: impl Into<String>, timeout: Duration) -> Self {
        self.options
            .mcp_tool_timeouts
            .insert(server_name.into(), timeout);
        self
    }

    /// An MCP configuration file or JSON text passed as is, in a second `--mcp-config`
    /// besides the one that carries the servers of [`mcp_server`](Self::mcp_server).
    /// Prefer `mcp_server`: it takes in-process and external servers alike.
    pub fn mcp_config(mut self, config: McpConfigSource) -> Self {
        self.options.mcp_config = Some(config);
        self
    }

    /// Use only the MCP servers given here, ignoring the user's and project's (`--strict-mcp-config`).
    pub fn strict_mcp_config(mut self, strict: bool) -> Self {
        self.options.strict_mcp_config = strict;
        self
    }

    // ---- sessions ----

    /// Continue the most recent conversation in `cwd`.
    pub fn continue_conversation(mut self, continue_: bool) -> Self {
        self.options.continue_conversation = continue_;
        self
    }

    /// Resume the session with this id.
    pub fn resume(mut self, session_id: impl Into<String>) -> Self {
        self.options.resume = Some(session_id.into());
        self
    }

    /// Use this UUID as the id of the new session.
    pub fn session_id(mut self, session_id: impl Into<String>) -> Self {
        self.options.session_id = Some(session_id.into());
        self
    }

    /// When resuming, start a new session id instead of appending to the old one.
    pub fn fork_session(mut self, fork: bool) -> Self {
        self.options.fork_session = fork;
        self
    }

    /// When resuming, keep the history only up to this message UUID.
    pub fn resume_session_at(mut self, message_id: impl Into<String>) -> Self {
        self.options.resume_session_at = Some(message_id.into());
        self
    }

    /// When resuming, drop the turn of this message UUID (an empty string is forwarded too).
    pub fn resume_drops_turn(mut self, message_id: impl Into<String>) -> Self {
        self.options.resume_drops_turn = Some(message_id.into());
        self
    }

    /// Mirror the session's transcript into `store` as the CLI writes it, so
    /// the session can be resumed on another machine: the CLI runs with
    /// `--session-mirror`, the SDK hands its `transcript_mirror` frames to the
    /// store (see [`session_store_flush`](Self::session_store_flush)). A
    /// failing store yields a `SystemMessage::MirrorError` and the session
    /// goes on. With [`resume`](Self::resume) or
    /// [`continue_conversation`](Self::continue_conversation), the session is
    /// loaded from the store and written where the CLI looks before it starts.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use agent_sdk::AgentOptions;
    /// # use agent_sdk::store::{SessionKey, SessionStore, StoreEntry, StoreError};
    /// # use agent_sdk::BoxFuture;
    /// # struct MyStore;
    /// # impl SessionStore for MyStore {
    /// #     fn append<'a>(&'a self, _: &'a SessionKey, _: Vec<StoreEntry>) -> BoxFuture<'a, Result<(), StoreError>> { Box::pin(async { Ok(()) }) }
    /// #     fn load<'a>(&'a self, _: &'a SessionKey) -> BoxFuture<'a, Result<Option<Vec<StoreEntry>>, StoreError>> { Box::pin(async { Ok(None) }) }
    /// # }
    /// let options = AgentOptions::builder()
    ///     .session_store(Arc::new(MyStore))
    ///     .resume("6f1c0d2e-0000-4000-8000-000000000000")
    ///     .build()?;
    /// # let _ = options;
    /// # Ok::<(), agent_sdk::Error>(())
    /// ```
    pub fn session_store(mut self, store: Arc<dyn crate::store::SessionStore>) -> Self {
        crate::store::wiring::link();
        self.options.session_store = Some(store);
        self
    }

    /// When mirrored entries reach the [`session_store`](Self::session_store):
    /// [`StoreFlush::Batched`](crate::store::StoreFlush::Batched) (the default)
    /// or [`StoreFlush::Eager`](crate::store::StoreFlush::Eager).
    ///
    /// ```
    /// use agent_sdk::{AgentOptions, store::StoreFlush};
    /// let options = AgentOptions::builder().session_store_flush(StoreFlush::Eager).build()?;
    /// # let _ = options;
    /// # Ok::<(), agent_sdk::Error>(())
    /// ```
    pub fn session_store_flush(mut self, flush: crate::store::StoreFlush) -> Self {
        self.options.session_store_flush = flush;
        self
    }

    // ---- stream shape ----

    /// Stream partial assistant output as `stream_event` messages.
    pub fn include_partial_messages(mut self, include: bool) -> Self {
        self.options.include_partial_messages = include;
        self
    }

    /// Report hook runs as messages.
    pub fn include_hook_events(mut self, include: bool) -> Self {
        self.options.include_hook_events = include;
        self
    }

    /// Forward subagents' text output into the stream.
    pub fn forward_subagent_text(mut self, forward: bool) -> Self {
        self.options.forward_subagent_text = forward;
        self
    }

    /// Send prompts verbatim: the CLI does not expand slash commands or `@` mentions in them.
    pub fn verbatim_prompts(mut self, verbatim: bool) -> Self {
        self.options.verbatim_prompts = verbatim;
        self
    }

    // ---- callbacks ----

    /// Registers a hook for the event of `matcher` (an event marker such as `Stop` matches
    /// every call; `PreToolUse::matching("Bash")` narrows to tools). Callback ids follow
    /// registration order.
    ///
    /// ```
    /// use agent_sdk::prelude::*;
    /// use agent_sdk::hooks::{HookContext, Stop, StopInput, StopOutput};
    /// let options = AgentOptions::builder()
    ///     .hook(Stop, |input: StopInput, _ctx: HookContext| async move {
    ///         if input.stop_hook_active {
    ///             Ok(StopOutput::none())
    ///         } else {
    ///             Ok(StopOutput::block("check your work once more"))
    ///         }
    ///     })
    ///     .build()
    ///     .unwrap();
    /// # let _ = options;
    /// ```
    pub fn hook<E: HookEvent, H: HookHandler<E>>(
        mut self,
        matcher: impl Into<HookMatcher<E>>,
        handler: H,
    ) -> Self {
        self.options.hooks.register(matcher.into(), handler);
        self
    }
}
