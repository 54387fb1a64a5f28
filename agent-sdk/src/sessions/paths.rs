//! Where the CLI keeps transcripts: `<config dir>/projects/<sanitized cwd>/<session id>.jsonl`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::error::SessionError;

/// Longest sanitized project directory name kept whole; longer ones are cut
/// here and get a hash suffix (file systems allow 255 bytes per component).
pub(crate) const MAX_SANITIZED_LENGTH: usize = 200;

/// The config directory of the CLI: `$CLAUDE_CONFIG_DIR`, else `$HOME/.claude`.
pub(crate) fn config_dir_from_env() -> Result<PathBuf, SessionError> {
    if let Some(dir) = std::env::var_os("CLAUDE_CONFIG_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    home_dir()
        .map(|home| home.join(".claude"))
        .ok_or(SessionError::NoConfigDir)
}

fn home_dir() -> Option<PathBuf> {
    let var = if cfg!(windows) { "USERPROFILE" } else { "HOME" };
    std::env::var_os(var)
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}

/// The CLI's 32-bit string hash (JavaScript `(h << 5) - h + code | 0` over
/// UTF-16 code units), printed in base 36.
pub(crate) fn simple_hash(text: &str) -> String {
    let hash = text.encode_utf16().fold(0i32, |h, unit| {
        (h << 5).wrapping_sub(h).wrapping_add(i32::from(unit))
    });
    let mut n = hash.unsigned_abs();
    if n == 0 {
        return "0".to_owned();
    }
    let mut digits = Vec::new();
    while n > 0 {
        digits.push(char::from_digit(n % 36, 36).unwrap_or('0'));
        n /= 36;
    }
    digits.iter().rev().collect()
}

/// The project directory name for a path: every character that is not an
/// ASCII letter or digit becomes `-` (one per UTF-16 code unit, as the CLI
/// does); names over 200 characters are cut to 200 and get `-<hash>`.
///
/// ```
/// use agent_sdk::sessions::sanitize_path;
/// assert_eq!(sanitize_path("/Users/foo/my-project"), "-Users-foo-my-project");
/// assert_eq!(sanitize_path("plugin:name:server"), "plugin-name-server");
/// let long = sanitize_path(&"/x".repeat(150));
/// assert!(long.starts_with("-x-x") && long.len() > 200);
/// ```
pub fn sanitize_path(path: &str) -> String {
    let mut sanitized = String::with_capacity(path.len());
    for ch in path.chars() {
        if ch.is_ascii_alphanumeric() {
            sanitized.push(ch);
        } else {
            (0..ch.len_utf16()).for_each(|_| sanitized.push('-'));
        }
    }
    if sanitized.len() <= MAX_SANITIZED_LENGTH {
        return sanitized;
    }
    sanitized.truncate(MAX_SANITIZED_LENGTH);
    format!("{sanitized}-{}", simple_hash(path))
}

/// `path` resolved (symlinks, `..`) when it exists, as the CLI records its cwd.
pub(crate) fn canonical_path(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The project directory holding transcripts of sessions run in `project_path`.
///
/// An exact match first; for long paths, any directory with the same
/// 200-character prefix (the CLI may hash long paths differently).
pub(crate) fn find_project_dir(projects_dir: &Path, project_path: &Path) -> Option<PathBuf> {
    let sanitized = sanitize_path(&project_path.to_string_lossy());
    let exact = projects_dir.join(&sanitized);
    if exact.is_dir() {
        return Some(exact);
    }
    if sanitized.len() <= MAX_SANITIZED_LENGTH {
        return None;
    }
    let prefix = format!("{}-", &sanitized[..MAX_SANITIZED_LENGTH]);
    project_dirs(projects_dir)
        .into_iter()
        .find(|dir| file_name(dir).starts_with(&prefix))
}

/// The subdirectories of `projects_dir` (none when it does not exist).
pub(crate) fn project_dirs(projects_dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(projects_dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_dir())
        .collect()
}

pub(crate) fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The worktrees of the git repository containing `dir` (empty outside one,
/// or when git is missing): sessions of one repository may live under any of them.
pub(crate) fn worktree_paths(dir: &Path) -> Vec<PathBuf> {
    let output = Command::new("git")
        .args(["worktree", "list", "--porcelain"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output();
    match output {
        Ok(output) if output.status.success() => String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| line.strip_prefix("worktree "))
            .map(PathBuf::from)
            .collect(),
        _ => Vec::new(),
    }
}

/// Whether `text` is a UUID (any case), the form of every session id.
pub(crate) fn is_uuid(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_matches_the_javascript_fold() {
        assert_eq!(simple_hash(""), "0");
        // (("a" = 97) ; "ab" = 97*31 + 98 = 3105) in base 36.
        assert_eq!(simple_hash("a"), "2p");
        assert_eq!(simple_hash("ab"), "2e9");
        assert_ne!(simple_hash("hello"), simple_hash("world"));
    }

    #[test]
    fn long_paths_are_cut_at_200_and_hashed() {
        let long = "/x".repeat(150);
        let sanitized = sanitize_path(&long);
        assert_eq!(&sanitized[..200], &"-x".repeat(100));
        assert_eq!(&sanitized[200..], format!("-{}", simple_hash(&long)));
    }

    #[test]
    fn non_ascii_characters_become_one_dash_per_utf16_unit() {
        assert_eq!(sanitize_path("/é/😀"), "-----");
    }

    #[test]
    fn uuids_are_recognised() {
        assert!(is_uuid("550e8400-e29b-41d4-a716-446655440000"));
        assert!(is_uuid("550E8400-E29B-41D4-A716-446655440000"));
        assert!(!is_uuid("not-a-uuid"));
        assert!(!is_uuid(""));
        assert!(!is_uuid("550e8400-e29b-41d4-a716"));
        assert!(!is_uuid("550e8400-e29b-41d4-a716-44665544000g"));
    }
}
