//! Changing history: a title or tag appended as a metadata entry (the CLI's
//! own way, so the newest wins), a transcript deleted, or forked into a new
//! session the CLI can resume.

use std::collections::HashMap;
use std::fs::OpenOptions;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use super::chain::truthy_value;
use super::error::SessionError;
use super::ids::{new_uuid, now_iso};
use super::locate::Projects;
use super::paths::is_uuid;
use super::scan::{LITE_READ_BUF_SIZE, first_prompt, last_nonempty_field};

/// Entry types a fork copies (they carry `uuid` links).
const FORKED_TYPES: [&str; 5] = ["user", "assistant", "attachment", "system", "progress"];

/// Fields of the source session a fork must not carry over.
const FORK_DROPPED_FIELDS: [&str; 4] = ["teamName", "agentName", "slug", "sourceToolAssistantUUID"];

pub(crate) fn check_session_id(session_id: &str) -> Result<(), SessionError> {
    if is_uuid(session_id) {
        Ok(())
    } else {
        Err(SessionError::InvalidSessionId(session_id.to_owned()))
    }
}

pub(crate) fn rename_session(
    projects: &Projects,
    session_id: &str,
    title: &str,
    directory: Option<&Path>,
) -> Result<(), SessionError> {
    check_session_id(session_id)?;
    let title = title.trim();
    if title.is_empty() {
        return Err(SessionError::EmptyTitle);
    }
    let entry = json!({"type": "custom-title", "customTitle": title, "sessionId": session_id});
    append_entry(projects, session_id, &entry, directory)
}

pub(crate) fn tag_session(
    projects: &Projects,
    session_id: &str,
    tag: Option<&str>,
    directory: Option<&Path>,
) -> Result<(), SessionError> {
    check_session_id(session_id)?;
    let tag = match tag {
        None => String::new(),
        Some(tag) => {
            let clean = strip_invisible(tag);
            let clean = clean.trim();
            if clean.is_empty() {
                return Err(SessionError::EmptyTag);
            }
            clean.to_owned()
        }
    };
    // `type` first: readers find tags by the line prefix `{"type":"tag"`.
    let line = format!(
        "{{\"type\":\"tag\",\"tag\":{},\"sessionId\":{}}}\n",
        Value::String(tag),
        Value::String(session_id.to_owned())
    );
    append_line(projects, session_id, &line, directory)
}

fn append_entry(
    projects: &Projects,
    session_id: &str,
    entry: &Value,
    directory: Option<&Path>,
) -> Result<(), SessionError> {
    append_line(projects, session_id, &format!("{entry}\n"), directory)
}

/// Appends to the session's existing, non-empty transcript (never creates one).
fn append_line(
    projects: &Projects,
    session_id: &str,
    line: &str,
    directory: Option<&Path>,
) -> Result<(), SessionError> {
    let file_name = format!("{session_id}.jsonl");
    let appended = projects.search(directory, |candidate| {
        try_append(&candidate.project_dir.join(&file_name), line)
    })?;
    appended.ok_or_else(|| SessionError::NotFound {
        session_id: session_id.to_owned(),
        directory: directory.map(Path::to_path_buf),
    })
}

/// `Some(())` when appended; `None` when the file is missing or empty (an
/// empty stub means "not here": the real transcript may be in a worktree).
fn try_append(path: &Path, line: &str) -> Result<Option<()>, SessionError> {
    let mut file = match OpenOptions::new().append(true).open(path) {
        Ok(file) => file,
        Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {
            return Ok(None);
        }
        Err(e) => return Err(SessionError::io(path, e)),
    };
    let len = file
        .metadata()
        .map_err(|e| SessionError::io(path, e))?
        .len();
    if len == 0 {
        return Ok(None);
    }
    file.write_all(line.as_bytes())
        .map_err(|e| SessionError::io(path, e))?;
    Ok(Some(()))
}

/// Removes characters that hide or reorder text (zero-width, directional,
/// format and private-use characters), so a tag matches what it shows.
pub(crate) fn strip_invisible(text: &str) -> String {
    text.chars().filter(|c| !is_invisible(*c)).collect()
}

fn is_invisible(c: char) -> bool {
    // Unicode's format characters (category Cf) and the private-use areas (Co).
    const RANGES: [(u32, u32); 26] = [
        (0x00AD, 0x00AD),
        (0x0600, 0x0605),
        (0x061C, 0x061C),
        (0x06DD, 0x06DD),
        (0x070F, 0x070F),
        (0x0890, 0x0891),
        (0x08E2, 0x08E2),
        (0x180E, 0x180E),
        (0x200B, 0x200F),
        (0x202A, 0x202E),
        (0x2060, 0x2064),
        (0x2066, 0x206F),
        (0xE000, 0xF8FF),
        (0xFEFF, 0xFEFF),
        (0xFFF9, 0xFFFB),
        (0x110BD, 0x110BD),
        (0x110CD, 0x110CD),
        (0x13430, 0x1343F),
        (0x1BCA0, 0x1BCA3),
        (0x1D173, 0x1D17A),
        (0xE0001, 0xE0001),
        (0xE0020, 0xE007F),
        (0xF0000, 0xFFFFD),
        (0x100000, 0x10FFFD),
        (0xFFFE, 0xFFFF),
        (0x2028, 0x2029),
    ];
    let code = u32::from(c);
    RANGES.iter().any(|(lo, hi)| (*lo..=*hi).contains(&code))
}

pub(crate) fn delete_session(
    projects: &Projects,
    session_id: &str,
    directory: Option<&Path>,
) -> Result<(), SessionError> {
    check_session_id(session_id)?;
    let (path, project_dir) = projects.require_transcript(session_id, directory)?;
    std::fs::remove_file(&path).map_err(|e| match e.kind() {
        ErrorKind::NotFound => SessionError::NotFound {
            session_id: session_id.to_owned(),
            directory: directory.map(Path::to_path_buf),
        },
        _ => SessionError::io(&path, e),
    })?;
    // Subagent transcripts live in `<session id>/` beside it, when there are any.
    let _ = std::fs::remove_dir_all(project_dir.join(session_id));
    Ok(())
}

/// Where to fork a session, and the fork's title.
///
/// ```
/// use agent_sdk::sessions::ForkSession;
/// let fork = ForkSession::new()
///     .up_to_message("660e8400-e29b-41d4-a716-446655440001")
///     .title("Try the other approach");
/// # let _ = fork;
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ForkSession {
    /// The project directory of the session; `None` searches every project.
    pub directory: Option<PathBuf>,
    /// The last message copied (its uuid, inclusive); `None` copies the whole conversation.
    pub up_to_message_id: Option<String>,
    /// The fork's title; `None` gives the source's title with ` (fork)`.
    pub title: Option<String>,
}

impl ForkSession {
    /// A fork of the whole conversation, titled after the source.
    ///
    /// ```
    /// assert!(agent_sdk::sessions::ForkSession::new().title.is_none());
    /// ```
    pub fn new() -> Self {
        ForkSession::default()
    }

    /// Look for the session in the project directory of `directory` (and its worktrees).
    ///
    /// ```
    /// let fork = agent_sdk::sessions::ForkSession::new().directory(".");
    /// assert!(fork.directory.is_some());
    /// ```
    pub fn directory(mut self, directory: impl Into<PathBuf>) -> Self {
        self.directory = Some(directory.into());
        self
    }

    /// Copy the conversation up to this message (a [`SessionMessage::uuid`](super::SessionMessage::uuid)), inclusive.
    ///
    /// ```
    /// let fork = agent_sdk::sessions::ForkSession::new().up_to_message("660e8400-e29b-41d4-a716-446655440001");
    /// assert!(fork.up_to_message_id.is_some());
    /// ```
    pub fn up_to_message(mut self, message_id: impl Into<String>) -> Self {
        self.up_to_message_id = Some(message_id.into());
        self
    }

    /// The fork's title.
    ///
    /// ```
    /// let fork = agent_sdk::sessions::ForkSession::new().title("plan B");
    /// assert_eq!(fork.title.as_deref(), Some("plan B"));
    /// ```
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }
}

/// A session written by [`fork_session`](super::SessionFiles::fork_session).
///
/// ```
/// # fn demo(files: &agent_sdk::sessions::SessionFiles, id: &str) -> Result<(), agent_sdk::sessions::SessionError> {
/// let fork = files.fork_session(id, &agent_sdk::sessions::ForkSession::new())?;
/// let options = agent_sdk::AgentOptions::builder().resume(&fork.session_id);
/// # let _ = options;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ForkedSession {
    /// The new session's id: resume it with `AgentOptions::builder().resume(id)`.
    pub session_id: String,
    /// Its transcript, beside the source's.
    pub path: PathBuf,
}

pub(crate) fn fork_session(
    projects: &Projects,
    session_id: &str,
    fork: &ForkSession,
) -> Result<ForkedSession, SessionError> {
    check_session_id(session_id)?;
    if let Some(id) = fork.up_to_message_id.as_deref().filter(|id| !id.is_empty())
        && !is_uuid(id)
    {
        return Err(SessionError::InvalidMessageId(id.to_owned()));
    }
    let (source, project_dir) =
        projects.require_transcript(session_id, fork.directory.as_deref())?;
    let bytes = std::fs::read(&source).map_err(|e| SessionError::io(&source, e))?;
    if bytes.is_empty() {
        return Err(SessionError::NothingToFork(session_id.to_owned()));
    }
    let (entries, replacements) = parse_fork_source(&String::from_utf8_lossy(&bytes), session_id);
    let title = match fork
        .title
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        Some(title) => title.to_owned(),
        None => format!(
            "{} (fork)",
            source_title(&bytes).unwrap_or_else(|| "Forked session".into())
        ),
    };
    let (forked_id, lines) = fork_lines(
        entries,
        replacements,
        session_id,
        fork.up_to_message_id.as_deref().filter(|id| !id.is_empty()),
        &title,
    )?;
    let path = project_dir.join(format!("{forked_id}.jsonl"));
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&path)
        .map_err(|e| SessionError::io(&path, e))?;
    let mut text = lines.join("\n");
    text.push('\n');
    file.write_all(text.as_bytes())
        .map_err(|e| SessionError::io(&path, e))?;
    Ok(ForkedSession {
        session_id: forked_id,
        path,
    })
}

/// The source's title: set, else generated, else its first prompt.
fn source_title(bytes: &[u8]) -> Option<String> {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(LITE_READ_BUF_SIZE)]);
    let tail = String::from_utf8_lossy(&bytes[bytes.len().saturating_sub(LITE_READ_BUF_SIZE)..]);
    last_nonempty_field(&tail, "customTitle")
        .or_else(|| last_nonempty_field(&head, "customTitle"))
        .or_else(|| last_nonempty_field(&tail, "aiTitle"))
        .or_else(|| last_nonempty_field(&head, "aiTitle"))
        .or_else(|| first_prompt(&head))
}

/// The linked entries of the source, and its content replacements (tool
/// outputs the CLI moved out of the context, which a resumed fork needs too).
fn parse_fork_source(content: &str, session_id: &str) -> (Vec<Map<String, Value>>, Vec<Value>) {
    let mut entries = Vec::new();
    let mut replacements = Vec::new();
    for line in content.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let Ok(Value::Object(entry)) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let kind = entry
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if FORKED_TYPES.contains(&kind) && entry.get("uuid").is_some_and(Value::is_string) {
            entries.push(entry);
        } else if kind == "content-replacement"
            && entry.get("sessionId").and_then(Value::as_str) == Some(session_id)
            && let Some(Value::Array(list)) = entry.get("replacements")
        {
            replacements.extend(list.iter().cloned());
        }
    }
    (entries, replacements)
}

/// The fork's JSONL lines: the main-thread entries up to the cut with fresh
/// uuids (links kept, progress entries skipped over), then the content
/// replacements and the title.
fn fork_lines(
    entries: Vec<Map<String, Value>>,
    replacements: Vec<Value>,
    session_id: &str,
    up_to: Option<&str>,
    title: &str,
) -> Result<(String, Vec<String>), SessionError> {
    let nothing = || SessionError::NothingToFork(session_id.to_owned());
    let uuid_of = |e: &Map<String, Value>| {
        e.get("uuid")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let mut entries: Vec<Map<String, Value>> = entries
        .into_iter()
        .filter(|e| !truthy_value(e.get("isSidechain")))
        .collect();
    if entries.is_empty() {
        return Err(nothing());
    }
    if let Some(up_to) = up_to {
        let cut = entries
            .iter()
            .position(|e| e.get("uuid").and_then(Value::as_str) == Some(up_to))
            .ok_or_else(|| SessionError::MessageNotFound {
                session_id: session_id.to_owned(),
                message_id: up_to.to_owned(),
            })?;
        entries.truncate(cut + 1);
    }
    let new_uuids: HashMap<String, String> =
        entries.iter().map(|e| (uuid_of(e), new_uuid())).collect();
    let by_uuid: HashMap<String, &Map<String, Value>> =
        entries.iter().map(|e| (uuid_of(e), e)).collect();
    let is_progress =
        |e: &Map<String, Value>| e.get("type").and_then(Value::as_str) == Some("progress");
    let writable: Vec<&Map<String, Value>> = entries.iter().filter(|e| !is_progress(e)).collect();
    if writable.is_empty() {
        return Err(nothing());
    }

    let forked_id = new_uuid();
    let now = now_iso();
    let mut lines = Vec::with_capacity(writable.len() + 2);
    for (i, original) in writable.iter().enumerate() {
        // The nearest ancestor that is not a progress entry.
        let mut new_parent = Value::Null;
        let mut parent_id = original
            .get("parentUuid")
            .and_then(Value::as_str)
            .filter(|p| !p.is_empty());
        while let Some(id) = parent_id {
            let Some(parent) = by_uuid.get(id) else { break };
            if !is_progress(parent) {
                new_parent = new_uuids
                    .get(id)
                    .cloned()
                    .map_or(Value::Null, Value::String);
                break;
            }
            parent_id = parent
                .get("parentUuid")
                .and_then(Value::as_str)
                .filter(|p| !p.is_empty());
        }
        // Only the last entry is stamped now: on resume the CLI takes the newest as the leaf.
        let timestamp = if i + 1 == writable.len() {
            Value::String(now.clone())
        } else {
            original
                .get("timestamp")
                .cloned()
                .unwrap_or_else(|| Value::String(now.clone()))
        };
        let logical_parent = match original.get("logicalParentUuid") {
            Some(Value::String(id)) if !id.is_empty() => new_uuids
                .get(id)
                .cloned()
                .map_or(Value::Null, Value::String),
            Some(other) => other.clone(),
            None => Value::Null,
        };
        let mut forked = (*original).clone();
        let source_uuid = uuid_of(original);
        forked.insert(
            "uuid".into(),
            Value::String(new_uuids[&source_uuid].clone()),
        );
        forked.insert("parentUuid".into(), new_parent);
        forked.insert("logicalParentUuid".into(), logical_parent);
        forked.insert("sessionId".into(), Value::String(forked_id.clone()));
        forked.insert("timestamp".into(), timestamp);
        forked.insert("isSidechain".into(), Value::Bool(false));
        forked.insert(
            "forkedFrom".into(),
            json!({"sessionId": session_id, "messageUuid": source_uuid}),
        );
        for field in FORK_DROPPED_FIELDS {
            forked.remove(field);
        }
        lines.push(Value::Object(forked).to_string());
    }
    if !replacements.is_empty() {
        lines.push(
            json!({
                "type": "content-replacement",
                "sessionId": forked_id,
                "replacements": replacements,
                "uuid": new_uuid(),
                "timestamp": now,
            })
            .to_string(),
        );
    }
    lines.push(
        json!({
            "type": "custom-title",
            "sessionId": forked_id,
            "customTitle": title,
            "uuid": new_uuid(),
            "timestamp": now,
        })
        .to_string(),
    );
    Ok((forked_id, lines))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_characters_are_stripped() {
        assert_eq!(strip_invisible("clean"), "clean");
        assert_eq!(strip_invisible("a\u{200b}b\u{feff}c"), "abc");
        assert_eq!(strip_invisible("\u{202e}rtl\u{2066}"), "rtl");
        assert_eq!(strip_invisible("x\u{e000}y"), "xy");
        assert_eq!(strip_invisible("\u{200b}\u{200d}").trim(), "");
    }
}
