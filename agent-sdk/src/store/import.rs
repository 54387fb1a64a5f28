//! Import: a session that began without a store, copied from the CLI's local
//! files into one (also the way to catch a store up after a `MirrorError`).

use std::path::{Path, PathBuf};

use super::materialize::bounded;
use super::mirror::{MAX_PENDING_BYTES, MAX_PENDING_ENTRIES};
use super::resume::project_key_of;
use super::{SessionKey, SessionStore, StoreEntry};
use crate::error::Result;
use crate::sessions::{SessionError, SessionFiles};

/// Copies a local session (its transcript, and its subagents' transcripts
/// with their `.meta.json` as `agent_metadata` entries) into `store`, in
/// batches of at most 500 entries or 1 MiB. The key is the one the mirror
/// would have used, so the imported session resumes like a mirrored one.
/// Returns the main transcript's key. Stores that skip entries whose `uuid`
/// they hold make a second import harmless.
///
/// `directory` narrows the search to one project directory (as in
/// [`SessionFiles::transcript_path`]).
///
/// ```no_run
/// use std::sync::Arc;
/// use agent_sdk::sessions::SessionFiles;
/// use agent_sdk::store::{SessionStore, import_session_to_store};
///
/// # async fn demo(store: Arc<dyn SessionStore>) -> agent_sdk::Result<()> {
/// let files = SessionFiles::from_env()?;
/// let key = import_session_to_store(&files, "550e8400-e29b-41d4-a716-446655440000", store.as_ref(), None).await?;
/// println!("stored under {}", key.project_key);
/// # Ok(())
/// # }
/// ```
pub async fn import_session_to_store(
    files: &SessionFiles,
    session_id: &str,
    store: &dyn SessionStore,
    directory: Option<&Path>,
) -> Result<SessionKey> {
    let transcript = files.transcript_path(session_id, directory)?;
    let project_key = transcript.parent().map(project_key_of).unwrap_or_default();
    let key = SessionKey::new(project_key, session_id);
    append_file(store, &key, &transcript).await?;

    let session_dir = transcript.with_extension("");
    for file in jsonl_files(&session_dir.join("subagents")) {
        let Some(subpath) = subpath_of(&file, &session_dir) else {
            continue;
        };
        let sub = key.subkey(subpath);
        append_file(store, &sub, &file).await?;
        let sidecar = file.with_extension("meta.json");
        if let Some(mut metadata) = std::fs::read_to_string(&sidecar)
            .ok()
            .and_then(|text| serde_json::from_str::<StoreEntry>(&text).ok())
        {
            metadata.insert("type".into(), "agent_metadata".into());
            bounded(store.append(&sub, vec![metadata]), "SessionStore::append").await?;
        }
    }
    Ok(key)
}

async fn append_file(store: &dyn SessionStore, key: &SessionKey, file: &Path) -> Result<()> {
    let text = std::fs::read_to_string(file).map_err(|source| SessionError::Io {
        path: file.to_owned(),
        source,
    })?;
    let mut batch = Vec::new();
    let mut bytes = 0;
    for line in text.lines().map(str::trim).filter(|line| !line.is_empty()) {
        // A torn last line (the CLI still writing) is not an entry.
        let Ok(entry) = serde_json::from_str::<StoreEntry>(line) else {
            continue;
        };
        batch.push(entry);
        bytes += line.len();
        if batch.len() >= MAX_PENDING_ENTRIES || bytes >= MAX_PENDING_BYTES {
            let full = std::mem::take(&mut batch);
            bytes = 0;
            bounded(store.append(key, full), "SessionStore::append").await?;
        }
    }
    if !batch.is_empty() {
        bounded(store.append(key, batch), "SessionStore::append").await?;
    }
    Ok(())
}

/// Every `*.jsonl` below `dir`, sorted per directory (a stable import order).
fn jsonl_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|entry| entry.path()).collect();
    paths.sort();
    paths
        .into_iter()
        .flat_map(|path| {
            if path.is_dir() {
                jsonl_files(&path)
            } else if path.extension().is_some_and(|ext| ext == "jsonl") {
                vec![path]
            } else {
                Vec::new()
            }
        })
        .collect()
}

/// `<session dir>/subagents/agent-a.jsonl` → `subagents/agent-a`, `/`-joined on every platform.
fn subpath_of(file: &Path, session_dir: &Path) -> Option<String> {
    let relative = file.strip_prefix(session_dir).ok()?.with_extension("");
    let parts: Vec<&str> = relative
        .components()
        .map(|part| part.as_os_str().to_str())
        .collect::<Option<_>>()?;
    Some(parts.join("/"))
}
