//! [`SessionMessage`]: the conversation of a session, and of its subagents.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::message::{ContentBlock, MessageContent};

use super::chain::{
    conversation_chain, is_visible, parse_linked_entries, str_field, subagent_chain,
};
use super::error::SessionError;
use super::locate::Projects;

/// Who wrote a [`SessionMessage`].
///
/// ```
/// use agent_sdk::sessions::SessionRole;
/// assert_eq!(serde_json::to_string(&SessionRole::Assistant)?, r#""assistant""#);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionRole {
    /// The user: a prompt, or the results of tool calls.
    User,
    /// The model.
    Assistant,
}

/// One user or assistant message of a transcript, in conversation order.
///
/// ```
/// # fn demo(files: &agent_sdk::sessions::SessionFiles, id: &str) -> Result<(), agent_sdk::sessions::SessionError> {
/// use agent_sdk::sessions::{ReadMessages, SessionRole};
/// for message in files.session_messages(id, &ReadMessages::new())? {
///     let who = if message.role == SessionRole::User { "you" } else { "claude" };
///     println!("{who}: {}", message.content.text());
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct SessionMessage {
    /// User or assistant.
    #[serde(rename = "type")]
    pub role: SessionRole,
    /// The entry's uuid: what [`fork_session`](super::SessionFiles::fork_session) cuts at.
    pub uuid: String,
    /// The session the entry was written in.
    pub session_id: String,
    /// The content, typed (empty when the entry has none).
    #[serde(skip)]
    pub content: MessageContent,
    /// The API message as the CLI stored it (`role`, `content`, and for the
    /// assistant `id`, `model`, `usage`, ...).
    pub message: Value,
    /// For a subagent's messages: the `Agent` tool call that started it.
    pub parent_tool_use_id: Option<String>,
    /// For a nested subagent's messages: the subagent that started it.
    pub parent_agent_id: Option<String>,
}

impl SessionMessage {
    fn from_entry(entry: &Value, parents: &ParentIds) -> SessionMessage {
        let role = if str_field(entry, "type") == Some("user") {
            SessionRole::User
        } else {
            SessionRole::Assistant
        };
        let message = entry.get("message").cloned().unwrap_or(Value::Null);
        let content = message
            .get("content")
            .and_then(|c| serde_json::from_value(c.clone()).ok())
            .unwrap_or(MessageContent::Blocks(Vec::new()));
        SessionMessage {
            role,
            uuid: str_field(entry, "uuid").unwrap_or_default().to_owned(),
            session_id: str_field(entry, "sessionId").unwrap_or_default().to_owned(),
            content,
            message,
            parent_tool_use_id: parents.tool_use_id.clone(),
            parent_agent_id: parents.agent_id.clone(),
        }
    }

    /// The ids of the tool calls in this message.
    ///
    /// ```
    /// # fn demo(message: &agent_sdk::sessions::SessionMessage) {
    /// for id in message.tool_use_ids() {
    ///     println!("called {id}");
    /// }
    /// # }
    /// ```
    pub fn tool_use_ids(&self) -> impl Iterator<Item = &str> + '_ {
        self.content
            .blocks()
            .iter()
            .filter_map(|block| match block {
                ContentBlock::ToolUse(call) => Some(call.id.as_str()),
                _ => None,
            })
    }
}

/// Which messages [`SessionFiles::session_messages`](super::SessionFiles::session_messages) returns.
///
/// ```
/// use agent_sdk::sessions::ReadMessages;
/// let first_ten = ReadMessages::new().directory("/path/to/project").limit(10);
/// let with_subagents = ReadMessages::new().include_sidechains(true);
/// # let _ = (first_ten, with_subagents);
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ReadMessages {
    /// The project directory of the session; `None` searches every project.
    pub directory: Option<PathBuf>,
    /// At most this many (`None` or 0: all).
    pub limit: Option<usize>,
    /// Skip this many from the start.
    pub offset: usize,
    /// Include the conversations of subagents, each right after the message
    /// with the tool call that started it.
    pub include_sidechains: bool,
}

impl ReadMessages {
    /// Every message of the main conversation.
    ///
    /// ```
    /// assert_eq!(agent_sdk::sessions::ReadMessages::new().offset, 0);
    /// ```
    pub fn new() -> Self {
        ReadMessages::default()
    }

    /// Look for the session in the project directory of `directory` (and its worktrees).
    ///
    /// ```
    /// let read = agent_sdk::sessions::ReadMessages::new().directory(".");
    /// assert!(read.directory.is_some());
    /// ```
    pub fn directory(mut self, directory: impl Into<PathBuf>) -> Self {
        self.directory = Some(directory.into());
        self
    }

    /// At most `limit` messages (0: all).
    ///
    /// ```
    /// assert_eq!(agent_sdk::sessions::ReadMessages::new().limit(3).limit, Some(3));
    /// ```
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Skip the first `offset` messages.
    ///
    /// ```
    /// assert_eq!(agent_sdk::sessions::ReadMessages::new().offset(4).offset, 4);
    /// ```
    pub fn offset(mut self, offset: usize) -> Self {
        self.offset = offset;
        self
    }

    /// Include subagents' conversations (default: no).
    ///
    /// ```
    /// assert!(agent_sdk::sessions::ReadMessages::new().include_sidechains(true).include_sidechains);
    /// ```
    pub fn include_sidechains(mut self, include: bool) -> Self {
        self.include_sidechains = include;
        self
    }

    fn page(&self, messages: Vec<SessionMessage>) -> Vec<SessionMessage> {
        let page = messages.into_iter().skip(self.offset);
        match self.limit.filter(|l| *l > 0) {
            Some(limit) => page.take(limit).collect(),
            None => page.collect(),
        }
    }
}

/// The Agent tool call that started a subagent, from its `.meta.json`.
#[derive(Debug, Default, Clone)]
struct ParentIds {
    tool_use_id: Option<String>,
    agent_id: Option<String>,
}

fn read_text(path: &Path) -> Result<String, SessionError> {
    let bytes = std::fs::read(path).map_err(|e| SessionError::io(path, e))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

pub(crate) fn session_messages(
    projects: &Projects,
    session_id: &str,
    read: &ReadMessages,
) -> Result<Vec<SessionMessage>, SessionError> {
    let (path, _) = projects.require_transcript(session_id, read.directory.as_deref())?;
    let entries = parse_linked_entries(&read_text(&path)?);
    let main: Vec<SessionMessage> = conversation_chain(&entries)
        .into_iter()
        .filter(|e| is_visible(e))
        .map(|e| SessionMessage::from_entry(e, &ParentIds::default()))
        .collect();
    if !read.include_sidechains {
        return Ok(read.page(main));
    }
    let mut by_tool_use: HashMap<String, Vec<SessionMessage>> = HashMap::new();
    let mut unplaced = Vec::new();
    for (_, file) in agent_files(&subagents_dir(&path)) {
        let messages = read_subagent(&file)?;
        match messages.first().and_then(|m| m.parent_tool_use_id.clone()) {
            Some(tool_use_id) => by_tool_use.entry(tool_use_id).or_default().extend(messages),
            None => unplaced.extend(messages),
        }
    }
    let mut out = Vec::new();
    let mut pending: Vec<SessionMessage> = main.into_iter().rev().collect();
    while let Some(message) = pending.pop() {
        let spawned: Vec<SessionMessage> = message
            .tool_use_ids()
            .filter_map(|id| by_tool_use.remove(id))
            .flatten()
            .collect();
        out.push(message);
        // Nested subagents are placed after their own parent's call, in turn.
        pending.extend(spawned.into_iter().rev());
    }
    out.extend(by_tool_use.into_values().flatten());
    out.extend(unplaced);
    Ok(read.page(out))
}

/// `<project>/<session id>.jsonl` → `<project>/<session id>/subagents`.
fn subagents_dir(transcript: &Path) -> PathBuf {
    transcript.with_extension("").join("subagents")
}

/// `agent-<id>.jsonl` files below `dir` (at any depth), sorted by name per directory.
fn agent_files(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if path.is_file() {
            if let Some(id) = name
                .strip_prefix("agent-")
                .and_then(|n| n.strip_suffix(".jsonl"))
            {
                found.push((id.to_owned(), path));
            }
        } else if path.is_dir() {
            found.extend(agent_files(&path));
        }
    }
    found
}

/// A subagent's messages, each with the ids of the call that started it.
fn read_subagent(file: &Path) -> Result<Vec<SessionMessage>, SessionError> {
    let parents = read_parent_ids(file);
    let entries = parse_linked_entries(&read_text(file)?);
    Ok(subagent_chain(&entries)
        .into_iter()
        .filter(|e| matches!(str_field(e, "type"), Some("user" | "assistant")))
        .map(|e| SessionMessage::from_entry(e, &parents))
        .collect())
}

/// `agent-<id>.meta.json` beside `agent-<id>.jsonl`; unusable means absent.
fn read_parent_ids(transcript: &Path) -> ParentIds {
    let name = transcript
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let sidecar = transcript.with_file_name(format!(
        "{}.meta.json",
        name.strip_suffix(".jsonl").unwrap_or(&name)
    ));
    let meta: Value = std::fs::read(&sidecar)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or(Value::Null);
    ParentIds {
        tool_use_id: str_field(&meta, "toolUseId").map(str::to_owned),
        agent_id: str_field(&meta, "parentAgentId").map(str::to_owned),
    }
}

pub(crate) fn list_subagents(
    projects: &Projects,
    session_id: &str,
    directory: Option<&Path>,
) -> Result<Vec<String>, SessionError> {
    let (path, _) = projects.require_transcript(session_id, directory)?;
    Ok(agent_files(&subagents_dir(&path))
        .into_iter()
        .map(|(id, _)| id)
        .collect())
}

pub(crate) fn subagent_messages(
    projects: &Projects,
    session_id: &str,
    agent_id: &str,
    read: &ReadMessages,
) -> Result<Vec<SessionMessage>, SessionError> {
    let (path, _) = projects.require_transcript(session_id, read.directory.as_deref())?;
    let file = agent_files(&subagents_dir(&path))
        .into_iter()
        .find(|(id, _)| id == agent_id)
        .map(|(_, file)| file)
        .ok_or_else(|| SessionError::SubagentNotFound {
            session_id: session_id.to_owned(),
            agent_id: agent_id.to_owned(),
        })?;
    Ok(read.page(read_subagent(&file)?))
}
