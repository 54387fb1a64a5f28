//! Subagent definitions, sent to the CLI in the `initialize` request.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Effort, PermissionMode};

/// A subagent the model can delegate to (the `agents` option).
///
/// Serialized camelCase with unset fields left out, as the CLI expects in `initialize`.
///
/// ```
/// use agent_sdk::options::{AgentDefinition, Effort};
///
/// let reviewer = AgentDefinition::new("Reviews diffs", "You review code for bugs.")
///     .tools(["Read", "Grep"])
///     .model("sonnet")
///     .effort(Effort::High);
/// let wire = serde_json::to_value(&reviewer).unwrap();
/// assert_eq!(wire["description"], "Reviews diffs");
/// assert!(wire.get("disallowedTools").is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AgentDefinition {
    /// When the model should use this agent.
    pub description: String,
    /// The agent's system prompt.
    pub prompt: String,
    /// Tools it may use (all of the parent's when unset).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<String>>,
    /// Tools it may not use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disallowed_tools: Option<Vec<String>>,
    /// Model alias or name (`sonnet`, `opus`, `haiku`, `inherit`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Skills it may use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skills: Option<Vec<String>>,
    /// Where its memory lives.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<AgentMemory>,
    /// MCP servers it may use: names of configured servers or inline configs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mcp_servers: Option<Vec<AgentMcpServer>>,
    /// A first prompt the agent starts with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initial_prompt: Option<String>,
    /// Turn limit of the agent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_turns: Option<u32>,
    /// Run in the background.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub background: Option<bool>,
    /// Reasoning effort: a level or a token count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effort: Option<AgentEffort>,
    /// Permission mode of the agent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permission_mode: Option<PermissionMode>,
}

impl AgentDefinition {
    /// An agent with a description (when to use it) and a system prompt.
    pub fn new(description: impl Into<String>, prompt: impl Into<String>) -> Self {
        AgentDefinition {
            description: description.into(),
            prompt: prompt.into(),
            tools: None,
            disallowed_tools: None,
            model: None,
            skills: None,
            memory: None,
            mcp_servers: None,
            initial_prompt: None,
            max_turns: None,
            background: None,
            effort: None,
            permission_mode: None,
        }
    }

    /// Tools it may use.
    pub fn tools<I, S>(mut self, tools: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.tools = Some(tools.into_iter().map(Into::into).collect());
        self
    }

    /// Tools it may not use.
    pub fn disallowed_tools<I, S>(mut self, tools: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.disallowed_tools = Some(tools.into_iter().map(Into::into).collect());
        self
    }

    /// Model alias or name.
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    /// Skills it may use.
    pub fn skills<I, S>(mut self, skills: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.skills = Some(skills.into_iter().map(Into::into).collect());
        self
    }

    /// Where its memory lives.
    pub fn memory(mut self, memory: AgentMemory) -> Self {
        self.memory = Some(memory);
        self
    }

    /// MCP servers it may use.
    pub fn mcp_servers(mut self, servers: impl IntoIterator<Item = AgentMcpServer>) -> Self {
        self.mcp_servers = Some(servers.into_iter().collect());
        self
    }

    /// A first prompt the agent starts with.
    pub fn initial_prompt(mut self, prompt: impl Into<String>) -> Self {
        self.initial_prompt = Some(prompt.into());
        self
    }

    /// Turn limit of the agent.
    pub fn max_turns(mut self, turns: u32) -> Self {
        self.max_turns = Some(turns);
        self
    }

    /// Run in the background.
    pub fn background(mut self, background: bool) -> Self {
        self.background = Some(background);
        self
    }

    /// Reasoning effort.
    pub fn effort(mut self, effort: impl Into<AgentEffort>) -> Self {
        self.effort = Some(effort.into());
        self
    }

    /// Permission mode of the agent.
    pub fn permission_mode(mut self, mode: PermissionMode) -> Self {
        self.permission_mode = Some(mode);
        self
    }
}

/// Where a subagent keeps its memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum AgentMemory {
    /// The user's memory.
    User,
    /// The project's memory.
    Project,
    /// The local (uncommitted) project memory.
    Local,
}

/// The effort of a subagent: a named level or a thinking-token count.
///
/// ```
/// use agent_sdk::options::{AgentEffort, Effort};
/// assert_eq!(serde_json::to_value(AgentEffort::from(Effort::Low)).unwrap(), "low");
/// assert_eq!(serde_json::to_value(AgentEffort::from(4096)).unwrap(), 4096);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum AgentEffort {
    /// A named level.
    Level(Effort),
    /// A token count.
    Tokens(u32),
}

impl From<Effort> for AgentEffort {
    fn from(level: Effort) -> Self {
        AgentEffort::Level(level)
    }
}

impl From<u32> for AgentEffort {
    fn from(tokens: u32) -> Self {
        AgentEffort::Tokens(tokens)
    }
}

/// An MCP server a subagent may use.
///
/// ```
/// use agent_sdk::options::AgentMcpServer;
/// let by_name = AgentMcpServer::from("calc");
/// assert_eq!(serde_json::to_value(&by_name).unwrap(), "calc");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum AgentMcpServer {
    /// A server configured on the session, by name.
    Named(String),
    /// Inline configs, `{name: config}` (configs as the CLI reads them in `--mcp-config`).
    Inline(BTreeMap<String, serde_json::Value>),
}

impl From<&str> for AgentMcpServer {
    fn from(name: &str) -> Self {
        AgentMcpServer::Named(name.to_owned())
    }
}

impl From<String> for AgentMcpServer {
    fn from(name: String) -> Self {
        AgentMcpServer::Named(name)
    }
}
