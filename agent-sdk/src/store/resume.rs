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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::handler::BoxFuture;
    use crate::store::StoreEntry;

    #[derive(Default)]
    struct Memory(Mutex<HashMap<SessionKey, Vec<StoreEntry>>>);

    impl SessionStore for Memory {
        fn append<'a>(
            &'a self,
            key: &'a SessionKey,
            entries: Vec<StoreEntry>,
        ) -> BoxFuture<'a, std::result::Result<(), StoreError>> {
            Box::pin(async move {
                self.0
                    .lock()
                    .unwrap()
                    .entry(key.clone())
                    .or_default()
                    .extend(entries);
                Ok(())
            })
        }

        fn load<'a>(
            &'a self,
            key: &'a SessionKey,
        ) -> BoxFuture<'a, std::result::Result<Option<Vec<StoreEntry>>, StoreError>> {
            Box::pin(async move { Ok(self.0.lock().unwrap().get(key).cloned()) })
        }
    }

    /// A 50-turn conversation shaped like the CLI's (about 1 KiB per entry,
    /// 4-5 entries per turn, as a real 50-turn session measured: 224 entries, 238 KiB).
    fn fifty_turns(session_id: &str) -> Vec<StoreEntry> {
        let mut parent = Value::Null;
        let mut entries = Vec::new();
        for i in 0..224 {
            let uuid = format!("00000000-0000-4000-8000-{i:012}");
            let role = if i % 2 == 0 { "user" } else { "assistant" };
            let entry = serde_json::json!({
                "type": role, "uuid": uuid, "parentUuid": parent, "sessionId": session_id,
                "isSidechain": false, "timestamp": "2026-11-28T08:00:00.000Z",
                "message": {"role": role, "content": [{"type": "text", "text": "lorem ipsum ".repeat(80)}]},
            });
            parent = Value::String(uuid);
            entries.push(entry.as_object().unwrap().clone());
        }
        entries
    }

    #[tokio::test]
    async fn a_resume_through_the_store_writes_the_session_and_times_it() {
        let scratch = super::super::materialize::ScratchDir::new().unwrap();
        let id = "6f1c0d2e-0000-4000-8000-000000000050";
        let store = Arc::new(Memory::default());
        let cwd = scratch.path().join("work");
        std::fs::create_dir_all(&cwd).unwrap();
        let config = scratch.path().join("config");
        let project_key = project_key_of(&SessionFiles::new(&config).project_dir(&cwd));
        let entries = fifty_turns(id);
        store
            .append(&SessionKey::new(project_key.clone(), id), entries.clone())
            .await
            .unwrap();

        let mut times = Vec::new();
        for _ in 0..21 {
            let _ = std::fs::remove_dir_all(&config);
            let options = AgentOptions::builder()
                .env("CLAUDE_CONFIG_DIR", config.display().to_string())
                .cwd(&cwd)
                .session_store(store.clone())
                .continue_conversation(true)
                .build()
                .unwrap();
            let start = std::time::Instant::now();
            let prepared = prepare(options).await;
            times.push(start.elapsed());
            // `continue` needs `list_sessions`, which this store lacks.
            assert!(matches!(
                prepared,
                Err(crate::Error::Store(StoreError::Unsupported { .. }))
            ));

            let options = AgentOptions::builder()
                .env("CLAUDE_CONFIG_DIR", config.display().to_string())
                .cwd(&cwd)
                .session_store(store.clone())
                .resume(id)
                .build()
                .unwrap();
            let start = std::time::Instant::now();
            let prepared = prepare(options).await.unwrap();
            times.push(start.elapsed());
            assert_eq!(prepared.resume.as_deref(), Some(id));
        }
        let written = config
            .join("projects")
            .join(&project_key)
            .join(format!("{id}.jsonl"));
        assert_eq!(read_jsonl(&written).unwrap(), entries);
        let mut resumes: Vec<_> = times.iter().skip(1).step_by(2).collect();
        resumes.sort();
        println!(
            "resume through an in-memory store, 50 turns ({} entries): median {:?}",
            entries.len(),
            resumes[resumes.len() / 2]
        );
    }
}
