//! CLI discovery, argv and environment of the child process (protocol.md 1.1, 1.2, 1.4).
//!
//! Everything here is pure data: the transport turns a [`CommandSpec`] into a
//! process with explicit argv, never through a shell.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::os_user::{RunAs, identity_env, lookup as lookup_user};
use crate::error::{Error, Result};
use crate::options::{
    AgentOptions, McpConfigSource, Plugin, Settings, SystemPrompt, Thinking, Tools,
};

/// How to start the CLI: everything `tokio::process::Command` needs, built without a shell.
#[derive(Debug, Clone)]
pub(crate) struct CommandSpec {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    /// Variables set on top of the inherited environment (no key appears twice, none is also removed).
    pub env: Vec<(OsString, OsString)>,
    /// Inherited variables removed.
    pub env_remove: Vec<OsString>,
    pub cwd: Option<PathBuf>,
    /// The OS user to run as (the `user` option), looked up.
    pub run_as: Option<RunAs>,
}

/// Builds the command line for `options`: discovery, argv and environment.
pub(crate) fn build_command(options: &AgentOptions) -> Result<CommandSpec> {
    let program = find_cli(options)?;
    if cfg!(windows) && is_batch_file(&program) {
        return Err(Error::invalid_options(
            "cli_path",
            format!(
                "refusing to run a .bat/.cmd file as the CLI ({}): cmd.exe would interpret its arguments; \
                 point cli_path at claude.exe",
                program.display()
            ),
        ));
    }
    let args = build_args(options)?;
    let (mut env, env_remove) = build_env(options, std::env::vars_os().map(|(key, _)| key));
    #[cfg(feature = "otel")]
    let env_remove = {
        let mut env_remove = env_remove;
        put_trace_context(
            options,
            crate::otel::TraceContext::current(),
            &mut env,
            &mut env_remove,
        );
        env_remove
    };
    let run_as = options.user.as_deref().map(lookup_user).transpose()?;
    if let Some(run_as) = &run_as {
        // The account's own home and names, unless the caller set them.
        env.extend(
            identity_env(run_as)
                .into_iter()
                .filter(|(key, _)| !options.env.contains_key(*key))
                .map(|(key, value)| (OsString::from(key), value)),
        );
    }
    if let Some((key, _)) = env
        .iter()
        .find(|(key, value)| has_nul(key) || has_nul(value))
    {
        return Err(Error::invalid_options(
            "env",
            format!("variable {} contains a NUL byte", key.to_string_lossy()),
        ));
    }
    Ok(CommandSpec {
        program,
        args,
        env,
        env_remove,
        cwd: options.cwd.clone(),
        run_as,
    })
}

// ---------------------------------------------------------------------------
// Discovery
// ---------------------------------------------------------------------------

/// Where to look for the CLI; captured from the process so tests can substitute their own.
#[derive(Debug, Clone, Default)]
pub(crate) struct SearchPlaces {
    /// Value of `PATH`.
    pub path_var: Option<OsString>,
    /// Directory whose `node_modules/.bin` (and its ancestors') is searched.
    pub current_dir: Option<PathBuf>,
    /// Home directory, for the fallback list.
    pub home: Option<PathBuf>,
}

impl SearchPlaces {
    fn from_process() -> Self {
        SearchPlaces {
            path_var: std::env::var_os("PATH"),
            current_dir: std::env::current_dir().ok(),
            home: std::env::var_os("HOME")
                .filter(|h| !h.is_empty())
                .map(PathBuf::from),
        }
    }
}

/// Finds the `claude` executable.
///
/// Order, first hit wins: `cli_path` (taken as is, no search); `node_modules/.bin/claude`
/// in the current directory and each ancestor (a project-pinned install, the place of
/// the Python SDK's bundled binary); `claude` on `PATH`; the official SDKs' fallback list.
pub(crate) fn find_cli(options: &AgentOptions) -> Result<PathBuf> {
    find_cli_in(options.cli_path.as_deref(), &SearchPlaces::from_process())
}

pub(crate) fn find_cli_in(cli_path: Option<&Path>, places: &SearchPlaces) -> Result<PathBuf> {
    if let Some(path) = cli_path {
        return Ok(path.to_path_buf());
    }
    let mut searched = Vec::new();
    let mut candidates = Vec::new();
    if let Some(dir) = &places.current_dir {
        candidates.extend(dir.ancestors().map(npm_cli_path));
    }
    if let Some(path_var) = &places.path_var {
        candidates.extend(
            std::env::split_paths(path_var)
                // An empty PATH entry means the current directory: never search it implicitly.
                .filter(|dir| dir.is_absolute())
                .map(|dir| dir.join(CLI_NAME)),
        );
    }
    candidates.extend(fallback_locations(places.home.as_deref()));
    for candidate in candidates {
        if is_executable_file(&candidate) {
            return Ok(candidate);
        }
        searched.push(candidate);
    }
    Err(Error::CliNotFound { searched })
}

/// The CLI of an npm install of `@anthropic-ai/claude-code` under `dir`.
pub(crate) fn npm_cli_path(dir: &Path) -> PathBuf {
    npm_cli_path_for(dir, cfg!(windows))
}

/// npm links `.bin/claude` to the package's native binary on Unix. On Windows `.bin`
/// holds only shims (`claude.cmd`, which is refused, `claude.ps1` and a shell script),
/// so the package's binary itself is named.
pub(crate) fn npm_cli_path_for(dir: &Path, windows: bool) -> PathBuf {
    let modules = dir.join("node_modules");
    if windows {
        modules.join("@anthropic-ai/claude-code/bin/claude.exe")
    } else {
        modules.join(".bin").join("claude")
    }
}

#[cfg(not(windows))]
const CLI_NAME: &str = "claude";
#[cfg(windows)]
const CLI_NAME: &str = "claude.exe";

/// The official SDKs' list of usual install places.
fn fallback_locations(home: Option<&Path>) -> Vec<PathBuf> {
    let mut places = Vec::new();
    #[cfg(not(windows))]
    {
        let in_home = [
            ".npm-global/bin/claude",
            "/usr/local/bin/claude",
            ".local/bin/claude",
            "node_modules/.bin/claude",
            ".yarn/bin/claude",
            ".claude/local/claude",
        ];
        for relative in in_home {
            if relative.starts_with('/') {
                places.push(PathBuf::from(relative));
            } else if let Some(home) = home {
                places.push(home.join(relative));
            }
        }
    }
    #[cfg(windows)]
    if let Some(home) = home {
        places.push(home.join(".local").join("bin").join("claude.exe"));
    }
    places
}

/// A path with a component naming a batch file (`x.cmd`, `x.bat.`, `x.cmd:stream`), which Windows
/// would run through cmd.exe with its own argument parsing ("BatBadBut").
pub(crate) fn is_batch_file(path: &Path) -> bool {
    path.components().any(|component| {
        let text = component.as_os_str().to_string_lossy().to_ascii_lowercase();
        std::iter::once(text.as_str())
            .chain(text.split(':'))
            .map(|piece| piece.trim_end_matches(['.', ' ']))
            .any(|piece| piece.ends_with(".bat") || piece.ends_with(".cmd"))
    })
}

#[cfg(unix)]
fn is_executable_file(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable_file(path: &Path) -> bool {
    path.is_file()
}

// ---------------------------------------------------------------------------
// argv
// ---------------------------------------------------------------------------

/// The arguments after the program, in the order of the Python SDK (spec 1.2).
pub(crate) fn build_args(options: &AgentOptions) -> Result<Vec<OsString>> {
    let mut args = Args::default();
    args.flag_value("--output-format", "stream-json");
    args.flag("--verbose");

    match &options.system_prompt {
        None => args.flag_value("--system-prompt", ""),
        Some(SystemPrompt::Text(text)) => args.flag_value("--system-prompt", text),
        Some(SystemPrompt::File(path)) => args.flag_value("--system-prompt-file", path),
        Some(SystemPrompt::Custom { prompt, .. }) => args.flag_value("--system-prompt", prompt),
        Some(SystemPrompt::Preset { append, .. }) => {
            if let Some(append) = append {
                args.flag_value("--append-system-prompt", append);
            }
        }
    }

    match &options.tools {
        None => {}
        Some(Tools::List(names)) => args.flag_value("--tools", names.join(",")),
        Some(Tools::ClaudeCode) => args.flag_value("--tools", "default"),
    }

    let allowed = options.effective_allowed_tools();
    if !allowed.is_empty() {
        args.flag_value("--allowedTools", allowed.join(","));
    }
    if let Some(turns) = options.max_turns.filter(|&t| t > 0) {
        args.flag_value("--max-turns", turns.to_string());
    }
    if let Some(usd) = options.max_budget_usd {
        // `{:?}` keeps the decimal point like Python's `str(float)`: 2.0 -> "2.0".
        args.flag_value("--max-budget-usd", format!("{usd:?}"));
    }
    if !options.disallowed_tools.is_empty() {
        args.flag_value("--disallowedTools", options.disallowed_tools.join(","));
    }
    if let Some(total) = options.task_budget {
        args.flag_value("--task-budget", total.to_string());
    }
    if let Some(model) = &options.model {
        args.flag_value("--model", model);
    }
    if let Some(model) = &options.fallback_model {
        args.flag_value("--fallback-model", model);
    }
    if !options.betas.is_empty() {
        args.flag_value("--betas", options.betas.join(","));
    }
    if options.can_use_tool.is_some() {
        // The CLI sends `can_use_tool` control requests only in this mode.
        args.flag_value("--permission-prompt-tool", "stdio");
    } else if let Some(tool) = &options.permission_prompt_tool_name {
        args.flag_value("--permission-prompt-tool", tool);
    }
    if let Some(mode) = options.permission_mode {
        args.flag_value("--permission-mode", mode.as_str());
    }
    if options.continue_conversation {
        args.flag("--continue");
    }
    // Equals forms: these flags take optional values, so `--resume -x` would read `-x` as a flag.
    if let Some(id) = options.resume.as_deref().filter(|id| !id.is_empty()) {
        args.equals("--resume", id);
    }
    if let Some(id) = options.session_id.as_deref().filter(|id| !id.is_empty()) {
        args.equals("--session-id", id);
    }
    if options.session_store.is_some() {
        // The CLI then echoes every transcript line as a `transcript_mirror` frame.
        args.flag("--session-mirror");
    }
    if let Some(settings) = settings_arg(options)? {
        args.flag_value("--settings", settings);
    }
    for dir in &options.add_dirs {
        args.flag_value("--add-dir", dir);
    }
    if !options.mcp_servers.is_empty() {
        let servers: Map<String, Value> = options
            .mcp_servers
            .iter()
            .map(|(name, config)| (name.clone(), options.mcp_server_json(name, config)))
            .collect();
        let config = serde_json::json!({ "mcpServers": servers });
        args.flag_value("--mcp-config", config.to_string());
    }
    match &options.mcp_config {
        None => {}
        Some(McpConfigSource::Path(path)) => args.flag_value("--mcp-config", path),
        Some(McpConfigSource::Json(text)) => args.flag_value("--mcp-config", text),
    }
    if options.include_partial_messages {
        args.flag("--include-partial-messages");
    }
    if options.include_hook_events {
        args.flag("--include-hook-events");
    }
    if options.strict_mcp_config {
        args.flag("--strict-mcp-config");
    }
    if options.fork_session {
        args.flag("--fork-session");
    }
    if let Some(id) = options
        .resume_session_at
        .as_deref()
        .filter(|id| !id.is_empty())
    {
        args.equals("--resume-session-at", id);
    }
    // Forwarded even when empty, on purpose (as the Python SDK does).
    if let Some(id) = &options.resume_drops_turn {
        args.equals("--resume-drops-turn", id);
    }
    if let Some(sources) = options.effective_setting_sources() {
        let joined: Vec<&str> = sources.iter().map(|s| s.as_str()).collect();
        args.equals("--setting-sources", &joined.join(","));
    }
    for plugin in &options.plugins {
        match plugin {
            Plugin::Local(path) => args.flag_value("--plugin-dir", path),
        }
    }
    for (flag, value) in &options.extra_args {
        let flag = format!("--{flag}");
        match value {
            None => args.flag(&flag),
            Some(value) if value.starts_with('-') => args.equals(&flag, value),
            Some(value) => args.flag_value(&flag, value),
        }
    }
    match options.thinking {
        Some(Thinking::Adaptive { display }) => {
            args.flag_value("--thinking", "adaptive");
            if let Some(display) = display {
                args.flag_value("--thinking-display", display.as_str());
            }
        }
        Some(Thinking::Enabled {
            budget_tokens,
            display,
        }) => {
            args.flag_value("--max-thinking-tokens", budget_tokens.to_string());
            if let Some(display) = display {
                args.flag_value("--thinking-display", display.as_str());
            }
        }
        Some(Thinking::Disabled) => args.flag_value("--thinking", "disabled"),
        None => {
            if let Some(tokens) = options.max_thinking_tokens {
                args.flag_value("--max-thinking-tokens", tokens.to_string());
            }
        }
    }
    if let Some(effort) = options.effort {
        args.flag_value("--effort", effort.as_str());
    }
    if let Some(schema) = &options.output_schema {
        args.flag_value("--json-schema", schema.to_string());
    }
    args.flag_value("--input-format", "stream-json");

    if args.0.iter().any(|arg| has_nul(arg)) {
        return Err(Error::invalid_options(
            "argv",
            "an option value contains a NUL byte, which cannot be passed on a command line",
        ));
    }
    Ok(args.0)
}

#[derive(Default)]
struct Args(Vec<OsString>);

impl Args {
    fn flag(&mut self, flag: &str) {
        self.0.push(flag.into());
    }

    fn flag_value(&mut self, flag: &str, value: impl AsRef<OsStr>) {
        self.0.push(flag.into());
        self.0.push(value.as_ref().to_owned());
    }

    fn equals(&mut self, flag: &str, value: &str) {
        self.0.push(format!("{flag}={value}").into());
    }
}

fn has_nul(value: &OsStr) -> bool {
    value.as_encoded_bytes().contains(&0)
}

/// The `--settings` value: as given, or with `sandbox` merged in as one JSON object.
fn settings_arg(options: &AgentOptions) -> Result<Option<OsString>> {
    let Some(sandbox) = &options.sandbox else {
        return Ok(match &options.settings {
            None => None,
            Some(Settings::Path(path)) => Some(path.clone().into_os_string()),
            Some(Settings::Json(text)) => Some(text.into()),
        });
    };
    let mut merged = match &options.settings {
        None => Map::new(),
        Some(Settings::Json(text)) => parse_settings(text, "inline settings")?,
        Some(Settings::Path(path)) => {
            let full = match &options.cwd {
                Some(cwd) if path.is_relative() => cwd.join(path),
                _ => path.clone(),
            };
            let text = std::fs::read_to_string(&full).map_err(|err| {
                Error::invalid_options("settings", format!("cannot read {}: {err}", full.display()))
            })?;
            parse_settings(&text, &full.display().to_string())?
        }
    };
    merged.insert("sandbox".into(), sandbox.clone());
    Ok(Some(Value::Object(merged).to_string().into()))
}

fn parse_settings(text: &str, origin: &str) -> Result<Map<String, Value>> {
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Error::invalid_options(
            "settings",
            format!("{origin} is not a JSON object"),
        )),
        Err(err) => Err(Error::invalid_options(
            "settings",
            format!("{origin} is not valid JSON: {err}"),
        )),
    }
}

// ---------------------------------------------------------------------------
// Environment
// ---------------------------------------------------------------------------

const ENTRYPOINT: &str = "CLAUDE_CODE_ENTRYPOINT";
const SDK_VERSION: &str = "CLAUDE_AGENT_SDK_VERSION";
const READS_SESSION_STATE: &str = "CLAUDE_CODE_SDK_READS_SESSION_STATE";
const CLIENT_APP: &str = "CLAUDE_AGENT_SDK_CLIENT_APP";
const DERIVED_CLIENT_APP: &str = "CLAUDE_AGENT_SDK_DERIVED_CLIENT_APP";
const FILE_CHECKPOINTING: &str = "CLAUDE_CODE_ENABLE_SDK_FILE_CHECKPOINTING";
/// Set by a parent Claude Code; left in place it makes the child think it is nested.
const NESTED_MARKER: &str = "CLAUDECODE";

/// Variables to set and to remove, given the names of the inherited variables (spec 1.4).
pub(crate) fn build_env(
    options: &AgentOptions,
    inherited_keys: impl IntoIterator<Item = OsString>,
) -> (Vec<(OsString, OsString)>, Vec<OsString>) {
    let mut set = EnvList::default();
    set.put(ENTRYPOINT, "sdk-rust");
    for (key, value) in &options.env {
        set.put(key, value);
    }
    set.put(SDK_VERSION, env!("CARGO_PKG_VERSION"));
    if let Some(app) = &options.client_app {
        set.put(CLIENT_APP, app);
    }

    // Removed from the inherited environment only; an explicit `env` entry wins.
    let remove: Vec<OsString> = [NESTED_MARKER, DERIVED_CLIENT_APP]
        .into_iter()
        .filter(|key| !options.env.contains_key(*key))
        .map(OsString::from)
        .collect();

    let wanted = OsStr::new(READS_SESSION_STATE);
    let already_set = inherited_keys
        .into_iter()
        .filter(|key| !remove.contains(key))
        .chain(set.0.iter().map(|(key, _)| key.clone()))
        .any(|key| key.eq_ignore_ascii_case(wanted));
    if !already_set {
        set.put(READS_SESSION_STATE, "1");
    }
    if options.enable_file_checkpointing {
        set.put(FILE_CHECKPOINTING, "true");
    }
    if let Some(cwd) = &options.cwd {
        set.put("PWD", cwd);
    }
    (set.0, remove)
}

/// The CLI joins the caller's trace: the current span's context as `TRACEPARENT`
/// and `TRACESTATE`, as the TypeScript SDK passes it. It replaces an inherited
/// context; an explicit `env` entry wins.
#[cfg(feature = "otel")]
fn put_trace_context(
    options: &AgentOptions,
    context: Option<crate::otel::TraceContext>,
    env: &mut Vec<(OsString, OsString)>,
    remove: &mut Vec<OsString>,
) {
    let Some(context) = context else {
        return;
    };
    let values = [
        ("TRACEPARENT", Some(context.traceparent)),
        ("TRACESTATE", context.tracestate),
    ];
    for (key, value) in values {
        if options.env.contains_key(key) {
            continue;
        }
        match value {
            Some(value) => env.push((key.into(), value.into())),
            None => remove.push(key.into()),
        }
    }
}

/// An ordered variable list where a later `put` of the same key replaces the earlier value.
#[derive(Default)]
struct EnvList(Vec<(OsString, OsString)>);

impl EnvList {
    fn put(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) {
        let key = key.as_ref();
        let value = value.as_ref().to_owned();
        match self.0.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value,
            None => self.0.push((key.to_owned(), value)),
        }
    }
}

#[cfg(test)]
mod tests;
