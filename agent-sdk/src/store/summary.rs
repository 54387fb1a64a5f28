//! A session's running summary, folded from its entries as they are appended,
//! so a store can list sessions without reading their transcripts.
//!
//! The `data` fields are the official SDKs' (`fold_session_summary` in the
//! Python SDK 0.2.187), so a summary written by one SDK means the same to the
//! other: `is_sidechain`, `created_at`, `cwd`, `first_prompt` with
//! `first_prompt_locked`, `command_fallback`, `custom_title`, `ai_title`,
//! `last_prompt`, `summary_hint`, `git_branch` and `tag`. Every field is
//! set-once or last-wins, so folding never re-reads earlier entries.

use serde_json::{Map, Value};

use super::{SessionKey, SessionSummary, StoreEntry};
use crate::sessions::SessionInfo;
use crate::sessions::scan::{
    command_name, cut_prompt, is_generated_prompt, parse_iso_millis, user_texts,
};

/// Entry keys whose last string value wins, and the `data` field each feeds.
const LAST_WINS_FIELDS: [(&str, &str); 5] = [
    ("customTitle", "custom_title"),
    ("aiTitle", "ai_title"),
    ("lastPrompt", "last_prompt"),
    ("summary", "summary_hint"),
    ("gitBranch", "git_branch"),
];

/// Folds a batch of appended `entries` into the summary of `key`'s session.
///
/// `prev` is the summary after the previous append (`None` for the first).
/// The fold leaves `mtime` as it was (0 for a new session): the store stamps
/// it with its own write time after persisting, on the clock of
/// [`StoredSession::mtime`](super::StoredSession::mtime). Call it for main
/// transcripts only: a subagent's entries must not change the session's
/// summary.
///
/// ```
/// use agent_sdk::store::{SessionKey, fold_session_summary};
/// use serde_json::json;
///
/// let key = SessionKey::new("proj", "s1");
/// let entry = |v: serde_json::Value| v.as_object().unwrap().clone();
/// let first = fold_session_summary(None, &key, &[entry(json!({
///     "type": "user", "timestamp": "2024-01-01T00:00:00.000Z",
///     "message": {"role": "user", "content": "fix the bug"},
/// }))]);
/// let next = fold_session_summary(Some(&first), &key, &[entry(json!({"type": "x", "customTitle": "Bug hunt"}))]);
/// assert_eq!(next.data["first_prompt"], "fix the bug");
/// assert_eq!(next.data["custom_title"], "Bug hunt");
/// assert_eq!(next.data["created_at"], 1_704_067_200_000_i64);
/// ```
pub fn fold_session_summary(
    prev: Option<&SessionSummary>,
    key: &SessionKey,
    entries: &[StoreEntry],
) -> SessionSummary {
    let mut summary = prev.cloned().unwrap_or_else(|| SessionSummary {
        session_id: key.session_id.clone(),
        mtime: 0,
        data: Map::new(),
    });
    let data = &mut summary.data;
    for entry in entries {
        let millis = entry
            .get("timestamp")
            .and_then(Value::as_str)
            .and_then(parse_iso_millis);
        if !data.contains_key("is_sidechain") {
            let sidechain = entry.get("isSidechain") == Some(&Value::Bool(true));
            data.insert("is_sidechain".into(), sidechain.into());
        }
        if let (false, Some(millis)) = (data.contains_key("created_at"), millis) {
            data.insert("created_at".into(), millis.into());
        }
        if !data.contains_key("cwd")
            && let Some(cwd) = entry
                .get("cwd")
                .and_then(Value::as_str)
                .filter(|c| !c.is_empty())
        {
            data.insert("cwd".into(), cwd.into());
        }
        fold_first_prompt(data, entry);
        for (from, to) in LAST_WINS_FIELDS {
            if let Some(value) = entry.get(from).and_then(Value::as_str) {
                data.insert(to.into(), value.into());
            }
        }
        if entry.get("type").and_then(Value::as_str) == Some("tag") {
            // An empty or missing tag clears it.
            match entry
                .get("tag")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
            {
                Some(tag) => data.insert("tag".into(), tag.into()),
                None => data.remove("tag"),
            };
        }
    }
    summary
}

/// The first prompt the user typed, as the disk listing finds it: tool
/// results, meta entries and generated text are skipped, a slash command is
/// kept as the fallback.
fn fold_first_prompt(data: &mut Map<String, Value>, entry: &StoreEntry) {
    if data.get("first_prompt_locked") == Some(&Value::Bool(true))
        || entry.get("type").and_then(Value::as_str) != Some("user")
        || entry.get("isMeta") == Some(&Value::Bool(true))
        || entry.get("isCompactSummary") == Some(&Value::Bool(true))
    {
        return;
    }
    let blocks = entry
        .get("message")
        .and_then(|m| m.get("content"))
        .and_then(Value::as_array);
    let is_tool_result = |b: &Value| b.get("type").and_then(Value::as_str) == Some("tool_result");
    if blocks.is_some_and(|blocks| blocks.iter().any(is_tool_result)) {
        return;
    }
    // `user_texts` reads a JSON value; an entry is its object.
    let entry = Value::Object(entry.clone());
    for text in user_texts(&entry) {
        let text = text.replace('\n', " ");
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        if let Some(command) = command_name(text) {
            let has_fallback = data
                .get("command_fallback")
                .and_then(Value::as_str)
                .is_some_and(|c| !c.is_empty());
            if !has_fallback {
                data.insert("command_fallback".into(), command.into());
            }
            continue;
        }
        if is_generated_prompt(text) {
            continue;
        }
        data.insert("first_prompt".into(), cut_prompt(text).into());
        data.insert("first_prompt_locked".into(), true.into());
        return;
    }
}

/// The listing of a session from its summary, as
/// [`sessions::list_sessions`](crate::sessions::list_sessions) shows a local
/// transcript; `None` for a subagent's transcript or a session with nothing
/// to show (no title, no prompt). `project_path` is the `cwd` when the
/// summary has none. A store has no file size, so `file_size` is `None`.
///
/// ```
/// use agent_sdk::store::{SessionSummary, summary_to_session_info};
/// use serde_json::json;
///
/// let summary = SessionSummary {
///     session_id: "s1".into(),
///     mtime: 1_704_067_200_000,
///     data: json!({"first_prompt": "fix the bug", "first_prompt_locked": true, "tag": "wip"})
///         .as_object().unwrap().clone(),
/// };
/// let info = summary_to_session_info(&summary, Some("/work/app")).unwrap();
/// assert_eq!(info.summary, "fix the bug");
/// assert_eq!(info.cwd.as_deref(), Some("/work/app"));
/// assert_eq!(info.tag.as_deref(), Some("wip"));
/// ```
pub fn summary_to_session_info(
    summary: &SessionSummary,
    project_path: Option<&str>,
) -> Option<SessionInfo> {
    let data = &summary.data;
    if data.get("is_sidechain") == Some(&Value::Bool(true)) {
        return None;
    }
    let text = |field: &str| {
        data.get(field)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let first_prompt = if data.get("first_prompt_locked") == Some(&Value::Bool(true)) {
        text("first_prompt")
    } else {
        text("command_fallback")
    };
    let custom_title = text("custom_title").or_else(|| text("ai_title"));
    let shown = custom_title
        .clone()
        .or_else(|| text("last_prompt"))
        .or_else(|| text("summary_hint"))
        .or_else(|| first_prompt.clone())?;
    Some(SessionInfo {
        session_id: summary.session_id.clone(),
        summary: shown,
        last_modified: summary.mtime,
        file_size: None,
        custom_title,
        first_prompt,
        git_branch: text("git_branch"),
        cwd: text("cwd").or_else(|| project_path.filter(|p| !p.is_empty()).map(str::to_owned)),
        tag: text("tag"),
        created_at: data.get("created_at").and_then(Value::as_i64),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(value: Value) -> StoreEntry {
        value.as_object().cloned().expect("an object")
    }

    fn user(text: &str) -> StoreEntry {
        entry(json!({"type": "user", "message": {"role": "user", "content": text}}))
    }

    #[test]
    fn set_once_fields_keep_their_first_value_and_last_wins_fields_their_last() {
        let key = SessionKey::new("p", "s");
        let first = fold_session_summary(
            None,
            &key,
            &[
                entry(
                    json!({"type": "x", "timestamp": "2024-01-01T00:00:00Z", "cwd": "/a", "gitBranch": "main"}),
                ),
                user("<command-name>/help</command-name>"),
                user("[Request interrupted by user]"),
            ],
        );
        assert_eq!(first.mtime, 0);
        assert_eq!(first.data["command_fallback"], "/help");
        assert!(!first.data.contains_key("first_prompt"));
        let mut stamped = first.clone();
        stamped.mtime = 42;
        let next = fold_session_summary(
            Some(&stamped),
            &key,
            &[
                entry(
                    json!({"type": "x", "timestamp": "2025-01-01T00:00:00Z", "cwd": "/b", "gitBranch": "dev"}),
                ),
                user("the real prompt"),
                user("a later prompt"),
                entry(json!({"type": "tag", "tag": "wip"})),
            ],
        );
        assert_eq!(next.mtime, 42, "the fold keeps the store's mtime");
        assert_eq!(next.data["created_at"], 1_704_067_200_000_i64);
        assert_eq!(next.data["cwd"], "/a");
        assert_eq!(next.data["git_branch"], "dev");
        assert_eq!(next.data["first_prompt"], "the real prompt");
        assert_eq!(next.data["tag"], "wip");
        let cleared = fold_session_summary(
            Some(&next),
            &key,
            &[entry(json!({"type": "tag", "tag": ""}))],
        );
        assert!(!cleared.data.contains_key("tag"));
        let info = summary_to_session_info(&cleared, None).expect("listed");
        assert_eq!(info.summary, "the real prompt");
        assert_eq!(info.git_branch.as_deref(), Some("dev"));
    }

    #[test]
    fn tool_results_sidechains_and_empty_sessions_are_not_listed() {
        let key = SessionKey::new("p", "s");
        let tool_result = entry(json!({"type": "user", "message": {"content": [
            {"type": "tool_result", "tool_use_id": "t", "content": "x"},
            {"type": "text", "text": "not typed"}
        ]}}));
        let summary = fold_session_summary(None, &key, &[tool_result]);
        assert!(summary_to_session_info(&summary, None).is_none());
        let side = fold_session_summary(
            None,
            &key,
            &[entry(json!({"isSidechain": true, "customTitle": "t"}))],
        );
        assert!(summary_to_session_info(&side, None).is_none());
    }

    #[test]
    fn long_prompts_are_cut_as_on_disk() {
        let long = "word ".repeat(100);
        let summary = fold_session_summary(None, &SessionKey::new("p", "s"), &[user(&long)]);
        let prompt = summary.data["first_prompt"].as_str().unwrap();
        assert!(prompt.ends_with('\u{2026}'));
        assert!(prompt.chars().count() <= 201);
    }
}

/// The fold against the official Python SDK's on transcripts the real CLI
/// wrote (`tests/data/store/python_summaries.json`, from `python_summaries.py`).
#[cfg(test)]
mod parity_tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn summaries_and_listings_match_the_python_sdk_on_real_transcripts() {
        let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
        let expected: Value = serde_json::from_str(
            &std::fs::read_to_string(data.join("store/python_summaries.json")).unwrap(),
        )
        .unwrap();
        let expected = expected.as_object().unwrap();
        let mut compared = 0;
        for project in std::fs::read_dir(data.join("sessions/config/projects")).unwrap() {
            let project = project.unwrap().path();
            for file in std::fs::read_dir(&project).unwrap() {
                let path = file.unwrap().path();
                if path.extension().is_none_or(|e| e != "jsonl") {
                    continue;
                }
                let session = path.file_stem().unwrap().to_str().unwrap();
                let key = SessionKey::new(project.file_name().unwrap().to_str().unwrap(), session);
                let mut summary = None;
                for line in std::fs::read_to_string(&path)
                    .unwrap()
                    .lines()
                    .filter(|l| !l.trim().is_empty())
                {
                    let entry: StoreEntry = serde_json::from_str(line).unwrap();
                    summary = Some(fold_session_summary(summary.as_ref(), &key, &[entry]));
                }
                let mut summary = summary.unwrap();
                summary.mtime = 1_700_000_000_000;
                let want = &expected[session];
                assert_eq!(
                    Value::Object(summary.data.clone()),
                    want["data"],
                    "{session}: data"
                );
                let info = summary_to_session_info(&summary, None);
                assert_eq!(
                    serde_json::to_value(info).unwrap(),
                    want["info"],
                    "{session}: listing"
                );
                compared += 1;
            }
        }
        assert_eq!(
            compared,
            expected.len(),
            "every session of the fixture was compared"
        );
    }
}
