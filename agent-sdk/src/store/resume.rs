//! Resume through a store: before the CLI starts, the session to resume is
//! loaded from the store and written where the CLI looks for it.

use std::collections::HashSet;

use serde_json::Value;

use super::materialize::{LoadedSession, bounded, load_session, read_jsonl};
use super::{SessionKey, SessionStore, StoreError};
use crate::error::Result;
use crate::options::AgentOptions;
use crate::sessions::{SessionError, SessionFiles, is_uuid};

/// Options ready to start the CLI: with a session store and `resume` or
/// `continue_conversation`, the session is materialized from the store first
/// (`continue` becomes a `resume` of the store's newest main session).
///
/// The store's copy replaces a local transcript only when it holds every
/// entry of it: a local file with lines the store lacks (a mirror that
/// failed) is kept as it is.
pub(crate) async fn prepare(mut options: AgentOptions) -> Result<AgentOptions> {
    let Some(store) = options.session_store.clone() else {
        return Ok(options);
    };
    if options.resume.is_none() && !options.continue_conversation {
        return Ok(options);
    }
    let files = SessionFiles::new(options.cli_config_dir().ok_or(SessionError::NoConfigDir)?);
    let project_dir = files.project_dir(options.effective_cwd());
    let project_key = project_key_of(&project_dir);

    let loaded = match options.resume.as_deref() {
        Some(id) if is_uuid(id) => {
            load_session(store.as_ref(), &SessionKey::new(project_key, id)).await?
        }
        // Not a UUID: the CLI says what is wrong with it.
        Some(_) => None,
        None => newest_main_session(store.as_ref(), &project_key).await?,
    };
    let Some(loaded) = loaded else {
        return Ok(options);
    };
    let local = files
        .projects_dir()
        .join(&loaded.key.project_key)
        .join(format!("{}.jsonl", loaded.key.session_id));
    if local_has_more(&local, &loaded) {
        tracing::warn!(
            session_id = %loaded.key.session_id,
            "the local transcript has entries the session store lacks; resuming from the local one"
        );
    } else {
        loaded
            .write(files.projects_dir())
            .map_err(|source| SessionError::Io {
                path: local.clone(),
                source,
            })?;
    }
    if options.continue_conversation {
        options.continue_conversation = false;
        options.resume = Some(loaded.key.session_id.clone());
    }
    Ok(options)
}

/// The store's key for a project directory: its name, as the mirror derives it.
pub(crate) fn project_key_of(project_dir: &std::path::Path) -> String {
    project_dir
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The most recently written session of the project that is a conversation
/// (subagent transcripts mirrored as their own sessions start with
/// `isSidechain: true` and are passed over).
pub(crate) async fn newest_main_session(
    store: &dyn SessionStore,
    project_key: &str,
) -> std::result::Result<Option<LoadedSession>, StoreError> {
    let mut sessions = bounded(
        store.list_sessions(project_key),
        "SessionStore::list_sessions",
    )
    .await?;
    sessions.sort_by_key(|session| std::cmp::Reverse(session.mtime));
    for candidate in sessions {
        if !is_uuid(&candidate.session_id) {
            continue;
        }
        let key = SessionKey::new(project_key, candidate.session_id);
        let Some(loaded) = load_session(store, &key).await? else {
            continue;
        };
        if loaded.main[0].get("isSidechain") == Some(&Value::Bool(true)) {
            continue;
        }
        return Ok(Some(loaded));
    }
    Ok(None)
}

fn local_has_more(local: &std::path::Path, loaded: &LoadedSession) -> bool {
    let Ok(entries) = read_jsonl(local) else {
        return false;
    };
    let stored: HashSet<&str> = loaded
        .main
        .iter()
        .filter_map(|entry| entry.get("uuid").and_then(Value::as_str))
        .collect();
    entries
        .iter()
        .filter_map(|entry| entry.get("uuid").and_then(Value::as_str))
        .any(|uuid| !stored.contains(uuid))
}
