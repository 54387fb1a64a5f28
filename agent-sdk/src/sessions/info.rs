//! [`SessionInfo`] and listing sessions, newest first.

use std::collections::HashMap;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::SessionError;
use super::locate::Projects;
use super::paths::{
    MAX_SANITIZED_LENGTH, canonical_path, file_name, find_project_dir, is_uuid, project_dirs,
    sanitize_path, worktree_paths,
};
use super::scan::{
    LiteFile, first_prompt, first_string_field, last_nonempty_field, parse_iso_millis, read_lite,
};

/// What is known about a session from its transcript's head, tail and file
/// metadata (the whole file is not parsed).
///
/// ```
/// # fn demo(files: &agent_sdk::sessions::SessionFiles) -> Result<(), agent_sdk::sessions::SessionError> {
/// for info in files.list_sessions(&agent_sdk::sessions::ListSessions::all().limit(5))? {
///     println!("{} {} ({} bytes)", info.session_id, info.summary, info.file_size.unwrap_or(0));
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SessionInfo {
    /// The session id (a UUID).
    pub session_id: String,
    /// What to show for it: the title, else the last prompt, else the CLI's
    /// summary, else the first prompt.
    pub summary: String,
    /// When the transcript was last written, in milliseconds since the epoch.
    pub last_modified: i64,
    /// The transcript's size in bytes.
    pub file_size: Option<u64>,
    /// The title: the one set with `rename_session` (or `/rename`), else the
    /// one the CLI generated.
    pub custom_title: Option<String>,
    /// The first prompt the user typed, at most 200 characters.
    pub first_prompt: Option<String>,
    /// The git branch at the end of the session.
    pub git_branch: Option<String>,
    /// The working directory of the session.
    pub cwd: Option<String>,
    /// The tag set with `tag_session`.
    pub tag: Option<String>,
    /// When the session began (its first timestamp), in milliseconds since the epoch.
    pub created_at: Option<i64>,
}

/// Which sessions [`SessionFiles::list_sessions`](super::SessionFiles::list_sessions) returns.
///
/// ```
/// use agent_sdk::sessions::ListSessions;
///
/// let second_page = ListSessions::in_directory("/path/to/project").limit(20).offset(20);
/// let everywhere = ListSessions::all();
/// # let _ = (second_page, everywhere);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ListSessions {
    /// The project directory; `None` lists the sessions of every project.
    pub directory: Option<PathBuf>,
    /// At most this many (`None` or 0: all).
    pub limit: Option<usize>,
    /// Skip this many of the newest first.
    pub offset: usize,
    /// With a directory in a git repository: include sessions of its other worktrees.
    pub include_worktrees: bool,
}

impl ListSessions {
    /// The sessions of every project.
    ///
    /// ```
    /// let query = agent_sdk::sessions::ListSessions::all();
    /// assert!(query.directory.is_none());
    /// ```
    pub fn all() -> Self {
        ListSessions {
            directory: None,
            limit: None,
            offset: 0,
            include_worktrees: true,
        }
    }

    /// The sessions run in `directory` (and its git worktrees).
    ///
    /// ```
    /// let query = agent_sdk::sessions::ListSessions::in_directory(".");
    /// assert!(query.include_worktrees);
    /// ```
    pub fn in_directory(directory: impl Into<PathBuf>) -> Self {
        ListSessions {
            directory: Some(directory.into()),
            ..ListSessions::all()
        }
    }

    /// At most `limit` sessions (0: all).
    ///
    /// ```
    /// let query = agent_sdk::sessions::ListSessions::all().limit(10);
    /// assert_eq!(query.limit, Some(10));
    /// ```
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Skip the `offset` newest sessions.
    ///
    /// ```
    /// let query = agent_sdk::sessions::ListSessions::all().offset(50);
    /// assert_eq!(query.offset, 50);
    /// ```
    pub fn offset(mut self, offset: usize) -> Self {
        self.offset = offset;
        self
    }

    /// Whether to include the sessions of the directory's other git worktrees (default: yes).
    ///
    /// ```
    /// let query = agent_sdk::sessions::ListSessions::in_directory(".").include_worktrees(false);
    /// assert!(!query.include_worktrees);
    /// ```
    pub fn include_worktrees(mut self, include: bool) -> Self {
        self.include_worktrees = include;
        self
    }
}

impl Default for ListSessions {
    fn default() -> Self {
        ListSessions::all()
    }
}

/// The [`SessionInfo`] of a transcript read by [`read_lite`]; `None` for a
/// subagent's transcript or one with nothing to show (no title, no prompt).
pub(crate) fn info_from_lite(
    session_id: &str,
    lite: &LiteFile,
    project_path: Option<&Path>,
) -> Option<SessionInfo> {
    let (head, tail) = (lite.head.as_str(), lite.tail.as_str());
    let first_line = head.split('\n').next().unwrap_or_default();
    if first_line.contains("\"isSidechain\":true") || first_line.contains("\"isSidechain\": true") {
        return None;
    }
    let custom_title = last_nonempty_field(tail, "customTitle")
        .or_else(|| last_nonempty_field(head, "customTitle"))
        .or_else(|| last_nonempty_field(tail, "aiTitle"))
        .or_else(|| last_nonempty_field(head, "aiTitle"));
    let first_prompt = first_prompt(head);
    let summary = custom_title
        .clone()
        .or_else(|| last_nonempty_field(tail, "lastPrompt"))
        .or_else(|| last_nonempty_field(tail, "summary"))
        .or_else(|| first_prompt.clone())?;
    let git_branch = last_nonempty_field(tail, "gitBranch")
        .or_else(|| first_string_field(head, "gitBranch").filter(|b| !b.is_empty()));
    let cwd = first_string_field(head, "cwd")
        .filter(|c| !c.is_empty())
        .or_else(|| project_path.map(|p| p.to_string_lossy().into_owned()));
    // Only `{"type":"tag"` lines: a bare "tag" also appears in tool inputs.
    let tag = tail
        .split('\n')
        .rev()
        .find(|line| line.starts_with("{\"type\":\"tag\""))
        .and_then(|line| last_nonempty_field(line, "tag"));
    let created_at = first_string_field(head, "timestamp").and_then(|t| parse_iso_millis(&t));
    Some(SessionInfo {
        session_id: session_id.to_owned(),
        summary,
        last_modified: lite.mtime_ms,
        file_size: Some(lite.size),
        custom_title,
        first_prompt,
        git_branch,
        cwd,
        tag,
        created_at,
    })
}

/// The sessions of one project directory.
fn sessions_in(project_dir: &Path, project_path: Option<&Path>) -> Vec<SessionInfo> {
    let Ok(entries) = std::fs::read_dir(project_dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let session_id = name.strip_suffix(".jsonl").filter(|id| is_uuid(id))?;
            let lite = read_lite(&entry.path())?;
            info_from_lite(session_id, &lite, project_path)
        })
        .collect()
}

/// One row per session id, the newest (the first seen on a tie), in first-seen order.
fn dedupe(sessions: Vec<SessionInfo>) -> Vec<SessionInfo> {
    let mut slot: HashMap<String, usize> = HashMap::new();
    let mut out: Vec<SessionInfo> = Vec::with_capacity(sessions.len());
    for session in sessions {
        match slot.get(&session.session_id) {
            Some(&i) if out[i].last_modified >= session.last_modified => {}
            Some(&i) => out[i] = session,
            None => {
                slot.insert(session.session_id.clone(), out.len());
                out.push(session);
            }
        }
    }
    out
}

fn newest_first_page(mut sessions: Vec<SessionInfo>, query: &ListSessions) -> Vec<SessionInfo> {
    sessions.sort_by_key(|s| std::cmp::Reverse(s.last_modified));
    let page = sessions.into_iter().skip(query.offset);
    match query.limit.filter(|l| *l > 0) {
        Some(limit) => page.take(limit).collect(),
        None => page.collect(),
    }
}

pub(crate) fn list_sessions(projects: &Projects, query: &ListSessions) -> Vec<SessionInfo> {
    let Some(directory) = &query.directory else {
        let all = project_dirs(&projects.dir)
            .iter()
            .flat_map(|dir| sessions_in(dir, None))
            .collect();
        return newest_first_page(dedupe(all), query);
    };
    let canonical = canonical_path(directory);
    let worktrees = if query.include_worktrees {
        worktree_paths(&canonical)
    } else {
        Vec::new()
    };
    if worktrees.len() <= 1 {
        let sessions = find_project_dir(&projects.dir, &canonical)
            .map(|dir| sessions_in(&dir, Some(&canonical)))
            .unwrap_or_default();
        return newest_first_page(sessions, query);
    }
    newest_first_page(
        dedupe(worktree_sessions(projects, &canonical, &worktrees)),
        query,
    )
}

/// The sessions of `canonical` and of every worktree of its repository.
fn worktree_sessions(
    projects: &Projects,
    canonical: &Path,
    worktrees: &[PathBuf],
) -> Vec<SessionInfo> {
    let fold = |name: String| {
        if cfg!(windows) {
            name.to_lowercase()
        } else {
            name
        }
    };
    // Longest first, so the most specific worktree claims a directory.
    let mut prefixes: Vec<(&PathBuf, String)> = worktrees
        .iter()
        .map(|wt| (wt, fold(sanitize_path(&wt.to_string_lossy()))))
        .collect();
    prefixes.sort_by_key(|(_, prefix)| std::cmp::Reverse(prefix.len()));

    let mut sessions = Vec::new();
    let mut seen = HashSet::new();
    // The directory itself, which may be below a worktree's root.
    if let Some(dir) = find_project_dir(&projects.dir, canonical) {
        seen.insert(fold(file_name(&dir)));
        sessions.extend(sessions_in(&dir, Some(canonical)));
    }
    for dir in project_dirs(&projects.dir) {
        let name = fold(file_name(&dir));
        if seen.contains(&name) {
            continue;
        }
        // A prefix match only for cut names, whose hash suffix may differ:
        // `/repo` must not claim `/repo-other`.
        let owner = prefixes.iter().find(|(_, prefix)| {
            name == *prefix
                || (prefix.len() >= MAX_SANITIZED_LENGTH && name.starts_with(&format!("{prefix}-")))
        });
        if let Some((worktree, _)) = owner {
            seen.insert(name);
            sessions.extend(sessions_in(&dir, Some(worktree)));
        }
    }
    sessions
}

pub(crate) fn session_info(
    projects: &Projects,
    session_id: &str,
    directory: Option<&Path>,
) -> Result<Option<SessionInfo>, SessionError> {
    let file_name = format!("{session_id}.jsonl");
    let found = projects.search(directory, |candidate| {
        Ok(read_lite(&candidate.project_dir.join(&file_name))
            .map(|lite| (lite, candidate.project_path.map(Path::to_path_buf))))
    })?;
    Ok(found.and_then(|(lite, project_path)| {
        info_from_lite(session_id, &lite, project_path.as_deref())
    }))
}
