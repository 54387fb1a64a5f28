//! Finding a session's transcript: in the project directory of a given path
//! and of its git worktrees, or in every project directory.

use std::path::{Path, PathBuf};

use super::error::SessionError;
use super::paths::{canonical_path, find_project_dir, project_dirs, worktree_paths};

/// The `projects` directory of one config directory.
#[derive(Debug, Clone)]
pub(crate) struct Projects {
    pub(crate) dir: PathBuf,
}

/// A project directory to look in, with the project path it belongs to when known.
pub(crate) struct Candidate<'a> {
    pub(crate) project_dir: &'a Path,
    pub(crate) project_path: Option<&'a Path>,
}

impl Projects {
    /// Calls `visit` on each project directory that may hold a session of
    /// `directory` (or on every one when `directory` is `None`), in order,
    /// until it returns a value. Worktrees are listed (with git) only when
    /// the directory itself did not answer.
    pub(crate) fn search<T>(
        &self,
        directory: Option<&Path>,
        mut visit: impl FnMut(Candidate<'_>) -> Result<Option<T>, SessionError>,
    ) -> Result<Option<T>, SessionError> {
        let Some(directory) = directory else {
            for project_dir in project_dirs(&self.dir) {
                let found = visit(Candidate {
                    project_dir: &project_dir,
                    project_path: None,
                })?;
                if found.is_some() {
                    return Ok(found);
                }
            }
            return Ok(None);
        };
        let canonical = canonical_path(directory);
        if let Some(project_dir) = find_project_dir(&self.dir, &canonical) {
            let found = visit(Candidate {
                project_dir: &project_dir,
                project_path: Some(&canonical),
            })?;
            if found.is_some() {
                return Ok(found);
            }
        }
        for worktree in worktree_paths(&canonical) {
            if worktree == canonical {
                continue;
            }
            if let Some(project_dir) = find_project_dir(&self.dir, &worktree) {
                let found = visit(Candidate {
                    project_dir: &project_dir,
                    project_path: Some(&worktree),
                })?;
                if found.is_some() {
                    return Ok(found);
                }
            }
        }
        Ok(None)
    }

    /// The non-empty transcript of `session_id` and the project directory holding it.
    pub(crate) fn transcript(
        &self,
        session_id: &str,
        directory: Option<&Path>,
    ) -> Result<Option<(PathBuf, PathBuf)>, SessionError> {
        let file_name = format!("{session_id}.jsonl");
        self.search(directory, |candidate| {
            let path = candidate.project_dir.join(&file_name);
            let non_empty = std::fs::metadata(&path).is_ok_and(|m| m.len() > 0);
            Ok(non_empty.then(|| (path, candidate.project_dir.to_path_buf())))
        })
    }

    /// Like [`transcript`](Self::transcript), but a missing session is an error.
    pub(crate) fn require_transcript(
        &self,
        session_id: &str,
        directory: Option<&Path>,
    ) -> Result<(PathBuf, PathBuf), SessionError> {
        self.transcript(session_id, directory)?
            .ok_or_else(|| SessionError::NotFound {
                session_id: session_id.to_owned(),
                directory: directory.map(Path::to_path_buf),
            })
    }
}
