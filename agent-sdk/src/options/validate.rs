//! Checks `build()` runs: contradictions and values the official SDKs or the CLI refuse.

use crate::error::{Error, Result};

use super::{AgentOptions, Skills};

pub(super) fn validate(options: &AgentOptions) -> Result<()> {
    if options.max_buffer_size == Some(0) {
        return invalid("max_buffer_size", "must be greater than 0");
    }
    if let Some(user) = &options.user
        && (user.is_empty() || user.contains('\0'))
    {
        return invalid("user", format!("{user:?} is not an account name"));
    }
    if options.control_timeout == Some(std::time::Duration::ZERO) {
        return invalid("control_timeout", "must be greater than 0");
    }
    if let (Some(model), Some(fallback)) = (&options.model, &options.fallback_model)
        && model == fallback
    {
        return invalid(
            "fallback_model",
            format!(
                "cannot be the same as model ({model:?}); pick a different fallback or leave it unset"
            ),
        );
    }
    if let Some((server, timeout)) = options
        .mcp_tool_timeouts
        .iter()
        .find(|(_, timeout)| **timeout < std::time::Duration::from_secs(1))
    {
        return invalid(
            "mcp_tool_timeout",
            format!(
                "the timeout of `{server}` is {timeout:?}; the CLI ignores tool timeouts under one second"
            ),
        );
    }
    if options.can_use_tool.is_some() && options.permission_prompt_tool_name.is_some() {
        return invalid(
            "permission_prompt_tool_name",
            "cannot be set together with can_use_tool: a permission handler \
             answers prompts over stdio itself; drop one of them",
        );
    }
    if let Some(budget) = options.max_budget_usd
        && !(budget.is_finite() && budget >= 0.0)
    {
        return invalid(
            "max_budget_usd",
            format!("must be a finite, non-negative amount (got {budget})"),
        );
    }
    if cfg!(windows) {
        validate_session_values_for_windows(options)?;
    }
    if let Some(Skills::List(names)) = &options.skills {
        for name in names {
            validate_skill_name(name)?;
        }
    }
    for key in options.env.keys() {
        if key.is_empty() || key.contains('=') || key.contains('\0') {
            return invalid(
                "env",
                format!("variable name {key:?} is invalid (empty, or contains '=' or NUL)"),
            );
        }
    }
    for (flag, _) in &options.extra_args {
        if flag.is_empty()
            || flag.starts_with('-')
            || flag.contains('=')
            || flag.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return invalid(
                "extra_arg",
                format!(
                    "flag {flag:?} is invalid: give the name without leading dashes \
                     (\"debug-to-stderr\" for --debug-to-stderr), without '=' or whitespace"
                ),
            );
        }
    }
    for name in options.mcp_servers.keys() {
        if name.is_empty() {
            return invalid("mcp_server", "a server name cannot be empty");
        }
    }
    for (name, config) in &options.mcp_servers {
        // Its tools are `mcp__<own name>__<tool>` (`qualified_tool_names`, allow rules): another key would break them.
        if let super::McpServerConfig::Sdk(server) = config
            && server.name() != name
        {
            return invalid(
                "mcp_server",
                format!(
                    "the in-process server {:?} was added as {name:?}: an SdkMcpServer keeps its own name",
                    server.name()
                ),
            );
        }
        if let super::McpServerConfig::External(value) = config
            && !value.is_object()
        {
            return invalid(
                "mcp_server",
                format!("server {name:?}: an external config must be a JSON object, got {value}"),
            );
        }
    }
    for plugin in &options.plugins {
        match plugin {
            super::Plugin::Local(path) if path.as_os_str().is_empty() => {
                return invalid("plugin", "a local plugin needs a non-empty path");
            }
            super::Plugin::Local(_) => {}
        }
    }
    if let Some(sandbox) = &options.sandbox
        && !sandbox.is_object()
    {
        return invalid("sandbox", format!("must be a JSON object, got {sandbox}"));
    }
    if let Some(error) = &options.output_schema_error {
        return invalid("output_type", error.to_string());
    }
    if let Some(schema) = &options.output_schema
        && !schema.is_object()
    {
        return invalid(
            "output_schema",
            format!("must be a JSON Schema object, got {schema}"),
        );
    }
    for name in options.agents.keys() {
        if name.is_empty() {
            return invalid("agent", "an agent name cannot be empty");
        }
    }
    Ok(())
}

/// On Windows the command line is re-parsed by the C runtime: ids with shell metacharacters are refused.
pub(super) fn validate_session_values_for_windows(options: &AgentOptions) -> Result<()> {
    let values = [
        ("resume", &options.resume),
        ("session_id", &options.session_id),
        ("resume_session_at", &options.resume_session_at),
        ("resume_drops_turn", &options.resume_drops_turn),
    ];
    for (name, value) in values {
        if let Some(value) = value
            && value.contains(['&', '|', '<', '>', '^', '%', '!', '"', '\r', '\n'])
        {
            return invalid(
                name,
                format!(
                    "{value:?} contains a character that is unsafe on a Windows command line \
                     (& | < > ^ % ! \" or a line break)"
                ),
            );
        }
    }
    Ok(())
}

/// The skill-name rules of the Python SDK: names that would break `Skill(<name>)` rules are refused.
pub(super) fn validate_skill_name(name: &str) -> Result<()> {
    let problem = if name.is_empty() {
        Some("it is empty")
    } else if name.trim() != name {
        Some("it has leading or trailing whitespace")
    } else if name.contains(['(', ')', ',']) {
        Some("it contains '(', ')' or ','")
    } else if name
        .chars()
        .any(|c| c.is_control() || c == '\u{FEFF}' || ('\u{80}'..='\u{9F}').contains(&c))
    {
        Some("it contains a control character or U+FEFF")
    } else if name == "*" || name.ends_with(":*") || name.ends_with(" *") {
        Some("wildcards are not skill names (use Skills::All for every skill)")
    } else if name.starts_with('/') || name.starts_with("\\\\") {
        Some("it starts with '/' or '\\\\' (give the skill name, not a path or slash command)")
    } else if name.ends_with('\\') {
        Some("it ends with '\\'")
    } else {
        None
    };
    match problem {
        Some(problem) => invalid("skills", format!("invalid skill name {name:?}: {problem}")),
        None => Ok(()),
    }
}

fn invalid<T>(option: &'static str, rule: impl Into<String>) -> Result<T> {
    Err(Error::invalid_options(option, rule))
}
