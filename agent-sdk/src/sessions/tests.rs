//! The behaviour the Python SDK's tests pin down, on hand-written transcripts.

use std::fs::{File, FileTimes};
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use serde_json::{Value, json};

use super::*;

struct Config {
    _scratch: tempfile::TempDir,
    root: PathBuf,
    files: SessionFiles,
}

impl Config {
    fn new() -> Config {
        let scratch = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(scratch.path()).unwrap();
        let files = SessionFiles::new(root.join(".claude"));
        std::fs::create_dir_all(files.projects_dir()).unwrap();
        Config {
            _scratch: scratch,
            root,
            files,
        }
    }

    /// A project directory on disk and the directory of its transcripts.
    fn project(&self, name: &str) -> (PathBuf, PathBuf) {
        let path = self.root.join(name);
        std::fs::create_dir_all(&path).unwrap();
        let dir = self.files.project_dir(&path);
        std::fs::create_dir_all(&dir).unwrap();
        (path, dir)
    }
}

fn write_lines(path: &Path, lines: &[Value]) {
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(path, text).unwrap();
}

fn set_mtime(path: &Path, seconds: u64) {
    let time = UNIX_EPOCH + Duration::from_secs(seconds);
    File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_times(FileTimes::new().set_modified(time).set_accessed(time))
        .unwrap();
}

fn id(n: u32) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

/// A session file like the Python tests' `_make_session_file`.
fn session(dir: &Path, n: u32, prompt: &str, extra_first: Value, tail: Value) -> PathBuf {
    let mut first = json!({"type": "user", "message": {"role": "user", "content": prompt}});
    for (k, v) in extra_first.as_object().unwrap() {
        first[k] = v.clone();
    }
    let mut lines = vec![
        first,
        json!({"type": "assistant", "message": {"role": "assistant", "content": "Hi there!"}}),
    ];
    if !tail.is_null() {
        lines.push(tail);
    }
    let path = dir.join(format!("{}.jsonl", id(n)));
    write_lines(&path, &lines);
    path
}

fn list(config: &Config, path: &Path) -> Vec<SessionInfo> {
    config
        .files
        .list_sessions(&ListSessions::in_directory(path).include_worktrees(false))
        .unwrap()
}

#[test]
fn a_missing_config_dir_lists_nothing() {
    let files = SessionFiles::new("/nonexistent/config");
    assert!(
        files
            .list_sessions(&ListSessions::all())
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        files.session_messages(&id(1), &ReadMessages::new()),
        Err(SessionError::NotFound { .. })
    ));
}

#[test]
fn one_session_with_its_metadata() {
    let config = Config::new();
    let (path, dir) = config.project("my-project");
    let cwd = path.to_str().unwrap();
    session(
        &dir,
        1,
        "What is 2+2?",
        json!({"cwd": cwd, "gitBranch": "main"}),
        Value::Null,
    );
    let sessions = list(&config, &path);
    assert_eq!(sessions.len(), 1);
    let s = &sessions[0];
    assert_eq!(s.session_id, id(1));
    assert_eq!(s.first_prompt.as_deref(), Some("What is 2+2?"));
    assert_eq!(s.summary, "What is 2+2?");
    assert_eq!(s.git_branch.as_deref(), Some("main"));
    assert_eq!(s.cwd.as_deref(), Some(cwd));
    assert!(s.file_size.unwrap() > 0 && s.last_modified > 0);
    assert_eq!(s.custom_title, None);
}

#[test]
fn title_then_summary_then_first_prompt() {
    let config = Config::new();
    let (path, dir) = config.project("proj");
    session(
        &dir,
        1,
        "original question",
        json!({}),
        json!({"type": "summary", "summary": "auto summary", "customTitle": "My Title"}),
    );
    session(
        &dir,
        2,
        "question",
        json!({}),
        json!({"type": "summary", "summary": "better"}),
    );
    let mut sessions = list(&config, &path);
    sessions.sort_by(|a, b| a.session_id.cmp(&b.session_id));
    assert_eq!(sessions[0].summary, "My Title");
    assert_eq!(sessions[0].custom_title.as_deref(), Some("My Title"));
    assert_eq!(
        sessions[0].first_prompt.as_deref(),
        Some("original question")
    );
    assert_eq!(sessions[1].summary, "better");
    assert_eq!(sessions[1].custom_title, None);
}

#[test]
fn newest_first_with_limit_and_offset() {
    let config = Config::new();
    let (path, dir) = config.project("proj");
    for (n, seconds) in [(1, 1000), (2, 3000), (3, 2000), (4, 4000), (5, 5000)] {
        set_mtime(
            &session(&dir, n, &format!("p{n}"), json!({}), Value::Null),
            seconds,
        );
    }
    let ids = |query: ListSessions| -> Vec<String> {
        config
            .files
            .list_sessions(&query.include_worktrees(false))
            .unwrap()
            .into_iter()
            .map(|s| s.session_id)
            .collect()
    };
    let all = ids(ListSessions::in_directory(&path));
    assert_eq!(all, [id(5), id(4), id(2), id(3), id(1)]);
    assert_eq!(list(&config, &path)[0].last_modified, 5_000_000);
    assert_eq!(ids(ListSessions::in_directory(&path).limit(2)), all[..2]);
    assert_eq!(
        ids(ListSessions::in_directory(&path).limit(2).offset(2)),
        all[2..4]
    );
    assert_eq!(ids(ListSessions::in_directory(&path).limit(0)), all);
    assert!(ids(ListSessions::in_directory(&path).offset(100)).is_empty());
}

#[test]
fn sidechains_empty_sessions_and_stray_files_are_not_listed() {
    let config = Config::new();
    let (path, dir) = config.project("proj");
    session(&dir, 1, "normal", json!({}), Value::Null);
    session(
        &dir,
        2,
        "sidechain",
        json!({"isSidechain": true}),
        Value::Null,
    );
    session(&dir, 3, "only meta", json!({"isMeta": true}), Value::Null);
    std::fs::write(dir.join(format!("{}.jsonl", id(4))), "").unwrap();
    std::fs::write(
        dir.join("not-a-uuid.jsonl"),
        "{\"type\":\"user\",\"message\":{\"content\":\"x\"}}\n",
    )
    .unwrap();
    std::fs::write(dir.join("README.md"), "not a session").unwrap();
    let sessions = list(&config, &path);
    assert_eq!(sessions.len(), 1, "{sessions:#?}");
    assert_eq!(sessions[0].first_prompt.as_deref(), Some("normal"));
    assert_eq!(config.files.session_info(&id(2), None).unwrap(), None);
}

#[test]
fn all_projects_are_listed_and_a_duplicated_id_keeps_the_newest() {
    let config = Config::new();
    let (_, one) = config.project("one");
    let (_, two) = config.project("two");
    set_mtime(&session(&one, 1, "older", json!({}), Value::Null), 1000);
    set_mtime(&session(&two, 1, "newer", json!({}), Value::Null), 2000);
    set_mtime(&session(&one, 2, "other", json!({}), Value::Null), 1500);
    let sessions = config.files.list_sessions(&ListSessions::all()).unwrap();
    let prompts: Vec<_> = sessions
        .iter()
        .map(|s| s.first_prompt.clone().unwrap())
        .collect();
    assert_eq!(prompts, ["newer", "other"]);
    assert_eq!(sessions[0].last_modified, 2_000_000);
}

#[test]
fn cwd_falls_back_to_the_project_and_the_branch_is_the_last() {
    let config = Config::new();
    let (path, dir) = config.project("proj");
    session(
        &dir,
        1,
        "hello",
        json!({"gitBranch": "old-branch"}),
        json!({"type": "summary", "gitBranch": "new-branch"}),
    );
    let s = &list(&config, &path)[0];
    assert_eq!(s.cwd.as_deref(), path.to_str());
    assert_eq!(s.git_branch.as_deref(), Some("new-branch"));
}

#[test]
fn tags_come_from_tag_entries_only_and_the_last_wins() {
    let config = Config::new();
    let (path, dir) = config.project("proj");
    let file = session(
        &dir,
        1,
        "tag me",
        json!({}),
        json!({"type": "assistant", "message": {"content": [
            {"type": "tool_use", "name": "Bash", "input": {"tag": "v1.0"}}]}}),
    );
    assert_eq!(
        list(&config, &path)[0].tag,
        None,
        "a tool input is not a tag"
    );
    config
        .files
        .tag_session(&id(1), Some("first"), None)
        .unwrap();
    config
        .files
        .tag_session(&id(1), Some("  second "), Some(&path))
        .unwrap();
    assert_eq!(list(&config, &path)[0].tag.as_deref(), Some("second"));
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.ends_with(&format!(
            "{{\"type\":\"tag\",\"tag\":\"second\",\"sessionId\":\"{}\"}}\n",
            id(1)
        )),
        "{text}"
    );
    config.files.tag_session(&id(1), None, None).unwrap();
    assert_eq!(list(&config, &path)[0].tag, None, "cleared");
    assert!(matches!(
        config
            .files
            .tag_session(&id(1), Some("\u{200b}\u{feff} "), None),
        Err(SessionError::EmptyTag)
    ));
}

#[test]
fn created_at_is_the_first_timestamp_of_the_head() {
    let config = Config::new();
    let (path, dir) = config.project("proj");
    write_lines(
        &dir.join(format!("{}.jsonl", id(1))),
        &[
            json!({"type": "permission-mode", "permissionMode": "default"}),
            json!({"type": "user", "message": {"content": "hi"}, "timestamp": "2026-01-15T10:30:00.000Z"}),
            json!({"type": "assistant", "message": {"content": "yo"}, "timestamp": "2026-01-15T10:35:00.000Z"}),
        ],
    );
    session(&dir, 2, "no time", json!({}), Value::Null);
    session(
        &dir,
        3,
        "bad time",
        json!({"timestamp": "not-a-valid-iso-date"}),
        Value::Null,
    );
    let mut sessions = list(&config, &path);
    sessions.sort_by(|a, b| a.session_id.cmp(&b.session_id));
    let created: Vec<_> = sessions.iter().map(|s| s.created_at).collect();
    assert_eq!(created, [Some(1_768_473_000_000), None, None]);
}

/// A linked entry.
fn entry(kind: &str, n: u32, parent: Option<u32>, content: Value) -> Value {
    json!({
        "type": kind,
        "uuid": id(n),
        "parentUuid": parent.map(id),
        "sessionId": id(999),
        "timestamp": format!("2026-01-01T00:00:{n:02}.000Z"),
        "message": {"role": kind, "content": content},
    })
}

fn with(mut value: Value, extra: Value) -> Value {
    for (k, v) in extra.as_object().unwrap() {
        value[k] = v.clone();
    }
    value
}

fn read_uuids(config: &Config, lines: &[Value]) -> Vec<String> {
    let (_, dir) = config.project("chain");
    write_lines(&dir.join(format!("{}.jsonl", id(999))), lines);
    config
        .files
        .session_messages(&id(999), &ReadMessages::new())
        .unwrap()
        .into_iter()
        .map(|m| m.uuid)
        .collect()
}

#[test]
fn the_chain_skips_meta_other_types_and_dead_branches() {
    let config = Config::new();
    let uuids = read_uuids(
        &config,
        &[
            entry("user", 1, None, json!("hello")),
            with(
                entry("user", 2, Some(1), json!("meta")),
                json!({"isMeta": true}),
            ),
            entry("system", 3, Some(2), json!("sys")),
            entry("assistant", 4, Some(3), json!("hi")),
            // An abandoned retry of the answer.
            entry("assistant", 5, Some(1), json!("old")),
            json!({"type": "summary", "summary": "x"}),
            Value::String("not json".into()),
            with(
                entry("user", 6, Some(4), json!("compacted")),
                json!({"isCompactSummary": true}),
            ),
            entry("progress", 7, Some(6), json!(null)),
        ],
    );
    assert_eq!(
        uuids,
        [id(1), id(4), id(6)],
        "leaf found by walking back from progress"
    );
}

#[test]
fn the_main_leaf_beats_a_sidechain_and_the_newest_wins() {
    let config = Config::new();
    let uuids = read_uuids(
        &config,
        &[
            entry("user", 1, None, json!("q")),
            entry("assistant", 2, Some(1), json!("first")),
            entry("assistant", 3, Some(1), json!("second")),
            with(
                entry("assistant", 4, Some(1), json!("side")),
                json!({"isSidechain": true}),
            ),
        ],
    );
    assert_eq!(uuids, [id(1), id(3)]);
}

#[test]
fn a_cycle_ends_the_walk() {
    let config = Config::new();
    let uuids = read_uuids(
        &config,
        &[
            entry("user", 1, Some(2), json!("a")),
            entry("assistant", 2, Some(1), json!("b")),
            entry("user", 3, Some(2), json!("c")),
        ],
    );
    assert_eq!(uuids, [id(1), id(2), id(3)]);
}

fn call(n: u32, parent: Option<u32>, message_id: &str, tool: &str) -> Value {
    with(
        entry(
            "assistant",
            n,
            parent,
            json!([{"type": "tool_use", "id": tool, "name": "Bash", "input": {}}]),
        ),
        json!({"message": {"role": "assistant", "id": message_id, "content": [{"type": "tool_use", "id": tool, "name": "Bash", "input": {}}]}}),
    )
}

fn result(n: u32, parent: u32, tool: &str) -> Value {
    entry(
        "user",
        n,
        Some(parent),
        json!([{"type": "tool_result", "tool_use_id": tool, "content": "ok"}]),
    )
}

#[test]
fn parallel_calls_keep_every_call_and_result_but_not_abandoned_branches() {
    let config = Config::new();
    let uuids = read_uuids(
        &config,
        &[
            entry("user", 1, None, json!("go")),
            call(2, Some(1), "msg_a", "t1"),
            call(3, Some(2), "msg_a", "t2"),
            result(5, 3, "t2"),
            result(4, 2, "t1"),
            // An abandoned response from the same point.
            call(8, Some(1), "msg_old", "t9"),
            result(9, 8, "t9"),
            with(
                entry("assistant", 6, Some(5), json!("done")),
                json!({"message": {"role": "assistant", "id": "msg_b", "content": "done"}}),
            ),
        ],
    );
    // The walk reaches 1, 2, 3, 5, 6; call 2's result (4) is put back after the response.
    assert_eq!(uuids, [id(1), id(2), id(3), id(4), id(5), id(6)]);
}

#[test]
fn rename_checks_its_input_and_the_last_title_wins() {
    let config = Config::new();
    let (path, dir) = config.project("proj");
    let file = session(&dir, 1, "hi", json!({}), Value::Null);
    assert!(matches!(
        config.files.rename_session("not-a-uuid", "t", None),
        Err(SessionError::InvalidSessionId(_))
    ));
    assert!(matches!(
        config.files.rename_session(&id(1), "  ", None),
        Err(SessionError::EmptyTitle)
    ));
    assert!(matches!(
        config.files.rename_session(&id(2), "t", Some(&path)),
        Err(SessionError::NotFound { .. })
    ));
    config
        .files
        .rename_session(&id(1), "  First  ", None)
        .unwrap();
    config.files.rename_session(&id(1), "Second", None).unwrap();
    let last = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .to_owned();
    let last: Value = serde_json::from_str(&last).unwrap();
    assert_eq!(
        last,
        json!({"type": "custom-title", "customTitle": "Second", "sessionId": id(1)})
    );
    assert_eq!(list(&config, &path)[0].summary, "Second");
}

#[test]
fn an_empty_stub_does_not_hide_the_real_transcript() {
    let config = Config::new();
    let (_, stub_dir) = config.project("a-stub");
    let (path, dir) = config.project("b-real");
    std::fs::write(stub_dir.join(format!("{}.jsonl", id(1))), "").unwrap();
    session(&dir, 1, "hi", json!({}), Value::Null);
    config.files.rename_session(&id(1), "found", None).unwrap();
    assert_eq!(
        std::fs::metadata(stub_dir.join(format!("{}.jsonl", id(1))))
            .unwrap()
            .len(),
        0
    );
    assert_eq!(list(&config, &path)[0].summary, "found");
}

#[test]
fn delete_removes_the_transcript_and_its_subagents() {
    let config = Config::new();
    let (path, dir) = config.project("proj");
    let file = session(&dir, 1, "hi", json!({}), Value::Null);
    let subagents = dir.join(id(1)).join("subagents");
    std::fs::create_dir_all(&subagents).unwrap();
    std::fs::write(subagents.join("agent-x.jsonl"), "{}\n").unwrap();
    assert_eq!(config.files.list_subagents(&id(1), None).unwrap(), ["x"]);
    config.files.delete_session(&id(1), Some(&path)).unwrap();
    assert!(!file.exists() && !dir.join(id(1)).exists());
    assert!(list(&config, &path).is_empty());
    assert!(matches!(
        config.files.delete_session(&id(1), None),
        Err(SessionError::NotFound { .. })
    ));
}

#[test]
fn a_fork_remaps_links_skips_progress_and_drops_source_fields() {
    let config = Config::new();
    let (path, dir) = config.project("proj");
    write_lines(
        &dir.join(format!("{}.jsonl", id(1))),
        &[
            with(
                entry("user", 1, None, json!("first question")),
                json!({"sessionId": id(1), "slug": "s", "teamName": "t"}),
            ),
            entry("progress", 2, Some(1), json!(null)),
            with(
                entry("assistant", 3, Some(2), json!("answer")),
                json!({"sessionId": id(1)}),
            ),
            with(
                entry("user", 4, Some(3), json!("more")),
                json!({"sessionId": id(1)}),
            ),
            with(
                entry("user", 5, Some(4), json!("side")),
                json!({"isSidechain": true}),
            ),
        ],
    );
    assert!(matches!(
        config
            .files
            .fork_session(&id(1), &ForkSession::new().up_to_message("nope")),
        Err(SessionError::InvalidMessageId(_))
    ));
    assert!(matches!(
        config
            .files
            .fork_session(&id(1), &ForkSession::new().up_to_message(id(77))),
        Err(SessionError::MessageNotFound { .. })
    ));
    let fork = config
        .files
        .fork_session(&id(1), &ForkSession::new().up_to_message(id(3)))
        .unwrap();
    let lines: Vec<Value> = std::fs::read_to_string(&fork.path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "user, assistant, title: {lines:#?}");
    let (user, assistant, title) = (&lines[0], &lines[1], &lines[2]);
    assert_ne!(user["uuid"], json!(id(1)));
    assert_eq!(user["parentUuid"], Value::Null);
    assert_eq!(
        assistant["parentUuid"], user["uuid"],
        "linked past the progress entry"
    );
    assert!(
        lines
            .iter()
            .all(|l| l["sessionId"] == json!(fork.session_id))
    );
    assert_eq!(
        user["forkedFrom"],
        json!({"sessionId": id(1), "messageUuid": id(1)})
    );
    assert!(user.get("slug").is_none() && user.get("teamName").is_none());
    assert_eq!(user["timestamp"], json!("2026-01-01T00:00:01.000Z"), "kept");
    assert_ne!(
        assistant["timestamp"],
        json!("2026-01-01T00:00:03.000Z"),
        "the leaf is stamped now"
    );
    assert_eq!(title["customTitle"], json!("first question (fork)"));
    let listed = list(&config, &path);
    assert!(
        listed
            .iter()
            .any(|s| s.session_id == fork.session_id && s.summary == "first question (fork)")
    );
}

#[test]
fn worktrees_of_a_repository_share_their_sessions() {
    let config = Config::new();
    let main = config.root.join("repo");
    std::fs::create_dir_all(&main).unwrap();
    let git = |dir: &Path, args: &[&str]| {
        let status = std::process::Command::new("git")
            .args(["-c", "user.email=t@example.com", "-c", "user.name=t"])
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(status.status.success(), "git {args:?}: {status:?}");
    };
    git(&main, &["init", "-q"]);
    git(&main, &["commit", "-q", "--allow-empty", "-m", "init"]);
    let other = config.root.join("repo-wt");
    git(&main, &["worktree", "add", "-q", other.to_str().unwrap()]);
    let (_, main_dir) = config.project("repo");
    let (_, other_dir) = config.project("repo-wt");
    session(&main_dir, 1, "in main", json!({}), Value::Null);
    write_lines(
        &other_dir.join(format!("{}.jsonl", id(2))),
        &[entry("user", 1, None, json!("in worktree"))],
    );

    let with_worktrees = config
        .files
        .list_sessions(&ListSessions::in_directory(&main))
        .unwrap();
    assert_eq!(with_worktrees.len(), 2, "{with_worktrees:#?}");
    assert_eq!(list(&config, &main).len(), 1);
    // Reading through the main checkout finds the worktree's session.
    let messages = config
        .files
        .session_messages(&id(2), &ReadMessages::new().directory(&main))
        .unwrap();
    assert_eq!(messages[0].content.text(), "in worktree");
}

/// The README's "Sessions on disk" example is the module's doc example,
/// which `cargo test --doc` compiles: they must not drift apart.
#[test]
fn the_readme_example_is_the_doctested_one() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("../README.md")).unwrap();
    let section = &readme[readme
        .find("## Sessions on disk")
        .expect("the README section")..];
    let start = section.find("```rust,no_run\n").unwrap() + "```rust,no_run\n".len();
    let readme_example = &section[start..start + section[start..].find("```").unwrap()];

    let module = std::fs::read_to_string(root.join("src/sessions/mod.rs")).unwrap();
    let doc: String = module
        .lines()
        .map_while(|line| line.strip_prefix("//!"))
        .map(|line| format!("{}\n", line.strip_prefix(' ').unwrap_or(line)))
        .collect();
    let start = doc.find("```no_run\n").unwrap() + "```no_run\n".len();
    let doc_example = &doc[start..start + doc[start..].find("```").unwrap()];
    assert_eq!(readme_example, doc_example);
}
