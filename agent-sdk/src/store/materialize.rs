//! Store entries as the CLI's files: a session loaded from a store, written as
//! `<projects>/<project key>/<session>.jsonl` (and its sub-keys below
//! `<session>/`), so the CLI can resume it and the `sessions` module can read it.

use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use super::{SessionKey, SessionStore, StoreEntry, StoreError};
use crate::handler::BoxFuture;

/// How long one store call made for a resume may take.
pub(crate) const LOAD_TIMEOUT: Duration = Duration::from_secs(60);

/// A session as the store holds it: the main transcript and its sub-keys.
pub(crate) struct LoadedSession {
    pub key: SessionKey,
    pub main: Vec<StoreEntry>,
    pub subkeys: Vec<(String, Vec<StoreEntry>)>,
}

/// One store call, bounded by [`LOAD_TIMEOUT`].
pub(crate) async fn bounded<T>(
    call: BoxFuture<'_, Result<T, StoreError>>,
    what: &str,
) -> Result<T, StoreError> {
    match tokio::time::timeout(LOAD_TIMEOUT, call).await {
        Ok(result) => result,
        Err(_) => Err(StoreError::backend(
            "session store",
            std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("{what} timed out after {} s", LOAD_TIMEOUT.as_secs()),
            ),
        )),
    }
}

/// Loads a session's main transcript and, when the store lists them, its
/// sub-keys. `None` when the store has no entries for it.
pub(crate) async fn load_session(
    store: &dyn SessionStore,
    key: &SessionKey,
) -> Result<Option<LoadedSession>, StoreError> {
    let key = key.main();
    let main = bounded(store.load(&key), "SessionStore::load").await?;
    let Some(main) = main.filter(|entries| !entries.is_empty()) else {
        return Ok(None);
    };
    let subpaths = match bounded(store.list_subkeys(&key), "SessionStore::list_subkeys").await {
        Ok(subpaths) => subpaths,
        Err(StoreError::Unsupported { .. }) => Vec::new(),
        Err(error) => return Err(error),
    };
    let mut subkeys = Vec::new();
    for subpath in subpaths {
        if !is_safe_subpath(&subpath) {
            tracing::warn!(%subpath, "skipping an unsafe sub-path listed by the session store");
            continue;
        }
        let sub = key.subkey(subpath.clone());
        if let Some(entries) = bounded(store.load(&sub), "SessionStore::load").await? {
            subkeys.push((subpath, entries));
        }
    }
    Ok(Some(LoadedSession { key, main, subkeys }))
}

/// A sub-path that stays inside the session's directory.
fn is_safe_subpath(subpath: &str) -> bool {
    !subpath.is_empty()
        && !subpath.contains('\0')
        && !subpath.contains('\\')
        && !subpath.contains(':')
        && Path::new(subpath)
            .components()
            .all(|part| matches!(part, Component::Normal(_)))
}

impl LoadedSession {
    /// Writes the session below `projects_dir`; returns the main transcript's path.
    pub(crate) fn write(&self, projects_dir: &Path) -> std::io::Result<PathBuf> {
        let project_dir = projects_dir.join(&self.key.project_key);
        let transcript = project_dir.join(format!("{}.jsonl", self.key.session_id));
        write_jsonl(&transcript, &self.main)?;
        let session_dir = project_dir.join(&self.key.session_id);
        for (subpath, entries) in &self.subkeys {
            let file = session_dir.join(format!("{subpath}.jsonl"));
            // The store keeps an agent's `.meta.json` as `agent_metadata` entries; the last wins.
            let (metadata, lines): (Vec<&StoreEntry>, Vec<&StoreEntry>) =
                entries.iter().partition(|entry| {
                    entry.get("type").and_then(|t| t.as_str()) == Some("agent_metadata")
                });
            if !lines.is_empty() {
                write_jsonl(&file, lines)?;
            }
            if let Some(metadata) = metadata.last() {
                let mut metadata = (*metadata).clone();
                metadata.remove("type");
                let sidecar = session_dir.join(format!("{subpath}.meta.json"));
                write_private(&sidecar, &serde_json::to_vec(&metadata)?)?;
            }
        }
        Ok(transcript)
    }
}

/// One JSON line per entry, `type` first (readers find some lines by that prefix).
pub(crate) fn entry_line(entry: &StoreEntry) -> String {
    let mut line = String::from("{");
    let fields = entry
        .get_key_value("type")
        .into_iter()
        .chain(entry.iter().filter(|(key, _)| *key != "type"));
    for (i, (key, value)) in fields.enumerate() {
        if i > 0 {
            line.push(',');
        }
        line.push_str(&serde_json::Value::String(key.clone()).to_string());
        line.push(':');
        line.push_str(&value.to_string());
    }
    line.push('}');
    line
}

pub(crate) fn write_jsonl<'a>(
    path: &Path,
    entries: impl IntoIterator<Item = &'a StoreEntry>,
) -> std::io::Result<()> {
    let mut text = String::new();
    for entry in entries {
        text.push_str(&entry_line(entry));
        text.push('\n');
    }
    write_private(path, text.as_bytes())
}

/// Writes a file readable by its owner only (transcripts hold conversations),
/// through a temporary file so a reader never sees half of it (no fsync: the
/// store is the durable copy, this one is rewritten on the next resume).
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let staging = path.with_extension(format!("tmp-{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&staging)?;
    file.write_all(bytes)?;
    std::fs::rename(&staging, path)
}

/// Parses a JSONL file into entries, skipping blank and non-object lines.
pub(crate) fn read_jsonl(path: &Path) -> std::io::Result<Vec<StoreEntry>> {
    let text = std::fs::read_to_string(path)?;
    Ok(text
        .lines()
        .filter_map(|line| serde_json::from_str::<StoreEntry>(line.trim()).ok())
        .collect())
}

/// A scratch config directory, removed when dropped: store-backed reads and
/// edits run the `sessions` code on a session written here.
pub(crate) struct ScratchDir(PathBuf);

impl ScratchDir {
    pub(crate) fn new() -> std::io::Result<ScratchDir> {
        use std::hash::{BuildHasher, Hasher};
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u32(std::process::id());
        let dir = std::env::temp_dir().join(format!("agent-sdk-store-{:016x}", hasher.finish()));
        std::fs::create_dir_all(&dir)?;
        Ok(ScratchDir(dir))
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_put_type_first_and_round_trip() {
        let entry: StoreEntry =
            serde_json::from_str(r#"{"a":1,"type":"tag","tag":"x","z":{"k":[1,2]}}"#).unwrap();
        let line = entry_line(&entry);
        assert!(line.starts_with(r#"{"type":"tag","#), "{line}");
        assert_eq!(serde_json::from_str::<StoreEntry>(&line).unwrap(), entry);
    }

    #[test]
    fn unsafe_subpaths_are_refused() {
        assert!(is_safe_subpath("subagents/agent-a1"));
        for bad in ["", "../x", "/etc/passwd", "a/../../b", "C:x", "a\\b", "./a"] {
            assert!(!is_safe_subpath(bad), "{bad}");
        }
    }

    #[test]
    fn a_loaded_session_is_written_where_the_cli_looks() {
        let scratch = ScratchDir::new().unwrap();
        let entry = |text: &str| serde_json::from_str::<StoreEntry>(text).unwrap();
        let session = LoadedSession {
            key: SessionKey::new("-w", "s1"),
            main: vec![entry(r#"{"type":"user","uuid":"u1"}"#)],
            subkeys: vec![(
                "subagents/agent-a".into(),
                vec![
                    entry(r#"{"type":"user","uuid":"u2"}"#),
                    entry(r#"{"type":"agent_metadata","agentType":"x"}"#),
                ],
            )],
        };
        let path = session.write(scratch.path()).unwrap();
        assert_eq!(path, scratch.path().join("-w/s1.jsonl"));
        assert_eq!(read_jsonl(&path).unwrap(), session.main);
        let agent = scratch.path().join("-w/s1/subagents/agent-a.jsonl");
        assert_eq!(read_jsonl(&agent).unwrap().len(), 1);
        let meta =
            std::fs::read_to_string(scratch.path().join("-w/s1/subagents/agent-a.meta.json"))
                .unwrap();
        assert_eq!(meta, r#"{"agentType":"x"}"#);
    }
}
