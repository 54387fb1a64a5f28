//! Each session's working directory, under a per-tenant root:
//! `<root>/<tenant>/<user>/<requested>`, created on demand and never outside
//! `<root>/<tenant>/<user>` (no `..`, no absolute paths, no symlink out).
//!
//! ```
//! use std::path::Path;
//! use agent_sdk::server::workdir::tenant_workdir;
//!
//! let root = tempfile::tempdir()?;
//! let dir = tenant_workdir(root.path(), "acme", "ann", Some(Path::new("project/src")))?;
//! assert!(dir.ends_with("acme/ann/project/src") && dir.is_dir());
//! assert!(tenant_workdir(root.path(), "acme", "ann", Some(Path::new("../bob"))).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::ffi::OsStr;
use std::io;
use std::path::{Component, Path, PathBuf};

use axum::http::StatusCode;

use super::ApiError;

/// The longest tenant or user name kept (bytes, after encoding): one path
/// component on common file systems.
const MAX_NAME_BYTES: usize = 255;

/// The working directory for a session of `user` in `tenant`, below `root`,
/// optionally in the relative subdirectory `requested`. Every directory on
/// the way is created; the answer is canonical.
///
/// Tenant and user names are encoded, not trusted: bytes other than ASCII
/// letters, digits, `-`, `_` and `.` become `%XX` (so `%` does too), and so
/// does a leading `.`; distinct names never share a directory.
///
/// Errors: 400 `invalid_workdir` for an absolute or escaping `requested`, a
/// symlink leading out, an empty or too long name; 500 `workdir_io` when the
/// file system fails.
pub fn tenant_workdir(
    root: &Path,
    tenant: &str,
    user: &str,
    requested: Option<&Path>,
) -> Result<PathBuf, ApiError> {
    std::fs::create_dir_all(root).map_err(|e| io_error(root, e))?;
    let root = root.canonicalize().map_err(|e| io_error(root, e))?;
    let tenant_dir = descend(&root, &root, OsStr::new(&encode_name("tenant", tenant)?))?;
    let base = descend(&root, &tenant_dir, OsStr::new(&encode_name("user", user)?))?;
    let mut dir = base.clone();
    let Some(requested) = requested else {
        return Ok(dir);
    };
    for component in requested.components() {
        match component {
            Component::Normal(name) => dir = descend(&base, &dir, name)?,
            Component::CurDir => {}
            Component::ParentDir => {
                return Err(invalid(format!(
                    "the working directory {} must not contain \"..\"",
                    requested.display()
                )));
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(invalid(format!(
                    "the working directory {} must be relative to the user's directory",
                    requested.display()
                )));
            }
        }
    }
    Ok(dir)
}

/// `dir/name`, created when missing, canonical, and still inside `fence`:
/// a symlink is followed only if it stays inside.
fn descend(fence: &Path, dir: &Path, name: &OsStr) -> Result<PathBuf, ApiError> {
    let path = dir.join(name);
    match std::fs::symlink_metadata(&path) {
        Ok(meta) if meta.file_type().is_symlink() => {}
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            return Err(invalid(format!("{} is not a directory", path.display())));
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => match std::fs::create_dir(&path) {
            Ok(()) => {}
            // Another request made it first.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io_error(&path, e)),
        },
        Err(e) => return Err(io_error(&path, e)),
    }
    let canonical = path.canonicalize().map_err(|_| {
        invalid(format!(
            "{} is a symlink to nowhere: refusing to follow it",
            path.display()
        ))
    })?;
    if !canonical.starts_with(fence) || !canonical.is_dir() {
        return Err(invalid(format!(
            "{} leads outside the user's directory",
            path.display()
        )));
    }
    Ok(canonical)
}

/// Encodes a tenant or user name as one safe, injective path component.
fn encode_name(what: &str, name: &str) -> Result<String, ApiError> {
    if name.is_empty() {
        return Err(invalid(format!("the {what} name is empty")));
    }
    let mut encoded = String::with_capacity(name.len());
    for (i, byte) in name.bytes().enumerate() {
        let plain = byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.');
        // A leading dot would make `.`, `..` or a hidden directory.
        if plain && !(i == 0 && byte == b'.') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    if encoded.len() > MAX_NAME_BYTES {
        return Err(invalid(format!(
            "the {what} name is too long ({} bytes encoded, at most {MAX_NAME_BYTES})",
            encoded.len()
        )));
    }
    Ok(encoded)
}

fn invalid(message: String) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_workdir", message)
}

fn io_error(path: &Path, error: io::Error) -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "workdir_io",
        format!("cannot prepare {}: {error}", path.display()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_encoded_injectively() {
        assert_eq!(encode_name("t", "acme").unwrap(), "acme");
        assert_eq!(encode_name("t", "a/b").unwrap(), "a%2Fb");
        assert_eq!(encode_name("t", "a%2Fb").unwrap(), "a%252Fb");
        assert_eq!(encode_name("t", "..").unwrap(), "%2E.");
        assert_eq!(encode_name("t", ".hidden").unwrap(), "%2Ehidden");
        assert_eq!(encode_name("t", "é").unwrap(), "%C3%A9");
        assert!(encode_name("t", "").is_err());
        assert!(encode_name("t", &"x".repeat(256)).is_err());
    }
}
