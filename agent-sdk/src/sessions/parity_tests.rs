//! The module against the official Python SDK (0.2.187) on transcripts the
//! real CLI wrote: `tests/data/sessions/config` holds the transcripts,
//! `python_expected.json` what Python returned on them (regenerate with
//! `python_expected.py` there).

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use super::mutate::strip_invisible;
use super::{ForkSession, ListSessions, ReadMessages, SessionFiles};

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sessions")
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn expected() -> Value {
    let text = std::fs::read_to_string(fixture_dir().join("python_expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// An info as Python's `asdict`, without the file time (the checkout's).
fn info_value(info: &super::SessionInfo) -> Value {
    let mut value = serde_json::to_value(info).unwrap();
    value.as_object_mut().unwrap().remove("last_modified");
    value
}

const FORK_FIELDS: [&str; 8] = [
    "type",
    "uuid",
    "parentUuid",
    "logicalParentUuid",
    "sessionId",
    "isSidechain",
    "forkedFrom",
    "customTitle",
];

/// As `normalize_fork` in python_expected.py: fresh uuids named by order of appearance.
fn normalize_fork(text: &str) -> Value {
    let mut names: Vec<String> = Vec::new();
    let mut name = |value: &Value| -> Value {
        match value.as_str() {
            Some(id) if super::paths::is_uuid(id) => {
                let i = names.iter().position(|n| n == id).unwrap_or_else(|| {
                    names.push(id.to_owned());
                    names.len() - 1
                });
                Value::String(format!("<uuid {i}>"))
            }
            _ => value.clone(),
        }
    };
    let mut out = Vec::new();
    for line in text.lines() {
        let entry: Map<String, Value> = serde_json::from_str(line).unwrap();
        let mut slim = Map::new();
        for field in FORK_FIELDS {
            if let Some(value) = entry.get(field) {
                let renamed = ["uuid", "parentUuid", "logicalParentUuid", "sessionId"];
                let value = if renamed.contains(&field) {
                    name(value)
                } else {
                    value.clone()
                };
                slim.insert(field.to_owned(), value);
            }
        }
        let mut keys: Vec<&String> = entry.keys().collect();
        keys.sort();
        slim.insert("keys".to_owned(), json!(keys));
        out.push(Value::Object(slim));
    }
    Value::Array(out)
}

#[test]
fn agrees_with_the_python_sdk_on_real_cli_transcripts() {
    let scratch = tempfile::tempdir().unwrap();
    let config = scratch.path().join("config");
    copy_tree(&fixture_dir().join("config"), &config);
    let files = SessionFiles::new(&config);
    let expected = expected();

    let mut listed: Vec<Value> = files
        .list_sessions(&ListSessions::all())
        .unwrap()
        .iter()
        .map(info_value)
        .collect();
    listed.sort_by_key(|v| v["session_id"].as_str().unwrap().to_owned());
    assert_eq!(Value::Array(listed), expected["list_sessions"]);

    let sessions = expected["sessions"].as_object().unwrap();
    assert_eq!(sessions.len(), 4);
    for (id, want) in sessions {
        let info = files.session_info(id, None).unwrap();
        assert_eq!(
            info.as_ref().map(info_value).unwrap_or(Value::Null),
            want["info"],
            "{id}"
        );

        let messages = files.session_messages(id, &ReadMessages::new()).unwrap();
        assert_eq!(
            serde_json::to_value(&messages).unwrap(),
            want["messages"],
            "{id}"
        );

        let agents = files.list_subagents(id, None).unwrap();
        let want_agents = want["subagents"].as_object().unwrap();
        assert_eq!(
            agents.iter().collect::<Vec<_>>(),
            want_agents.keys().collect::<Vec<_>>(),
            "{id}"
        );
        for (agent, want_messages) in want_agents {
            let sub = files
                .subagent_messages(id, agent, &ReadMessages::new())
                .unwrap();
            assert_eq!(
                &serde_json::to_value(&sub).unwrap(),
                want_messages,
                "{id}/{agent}"
            );
        }

        for (cut, want_fork) in want["forks"].as_object().unwrap() {
            let mut fork = ForkSession::new();
            if cut != "all" {
                fork = fork.up_to_message(cut);
            }
            let forked = files.fork_session(id, &fork).unwrap();
            let text = std::fs::read_to_string(&forked.path).unwrap();
            std::fs::remove_file(&forked.path).unwrap();
            assert_eq!(&normalize_fork(&text), want_fork, "fork of {id} at {cut}");
        }
    }

    for (raw, clean) in expected["sanitized_tags"].as_object().unwrap() {
        assert_eq!(strip_invisible(raw), clean.as_str().unwrap(), "{raw:?}");
    }
}
