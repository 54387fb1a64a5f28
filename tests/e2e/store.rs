//! Sessions through a session store, with the real CLI: mirrored on one host,
//! resumed on another whose `HOME` is empty, forked, imported; and a store
//! that fails every append.
//!
//! Every scenario is one function over `Arc<dyn SessionStore>`, run here on a
//! small test store; other stores run the same functions.

use std::sync::Arc;
use std::time::Duration;

use agent_sdk::message::SystemMessage;
use agent_sdk::sessions::{ForkSession, ReadMessages, SessionFiles, SessionRole};
use agent_sdk::store::{
    InMemorySessionStore, PostgresSessionStore, SessionKey, SessionStore, SqliteSessionStore,
    StoreEntry, StoreError, StoreFlush, StoredSessions, import_session_to_store,
};
use agent_sdk::testing::{RecordedRequest, Script, TestEnv, Turn, ensure_cli};
use agent_sdk::{AgentOptions, AgentOptionsBuilder, BoxFuture, Client, Message, query};
use futures_util::StreamExt;
use serde_json::json;

/// A store whose every append fails.
struct BrokenStore;

impl SessionStore for BrokenStore {
    fn append<'a>(
        &'a self,
        _: &'a SessionKey,
        _: Vec<StoreEntry>,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async { Err(StoreError::backend("broken", "the disk is on fire")) })
    }

    fn load<'a>(
        &'a self,
        _: &'a SessionKey,
    ) -> BoxFuture<'a, Result<Option<Vec<StoreEntry>>, StoreError>> {
        Box::pin(async { Ok(None) })
    }
}

fn test_store() -> Arc<dyn SessionStore> {
    Arc::new(InMemorySessionStore::new())
}

/// A SQLite store in a file of its own (kept alive with the directory).
async fn sqlite_store() -> (Arc<dyn SessionStore>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteSessionStore::open(dir.path().join("sessions.db"))
        .await
        .unwrap();
    (Arc::new(store), dir)
}

/// The test PostgreSQL's store; `None` (skipped, with the reason printed) on a
/// machine without one, a failure in CI. Sessions of different tests do not
/// meet: each test works in a project directory of its own.
async fn postgres_store() -> Option<Arc<dyn SessionStore>> {
    let url = agent_sdk::testing::test_postgres_url()?;
    let store = PostgresSessionStore::connect(&url).await.unwrap();
    Some(Arc::new(store))
}

/// A host: its own `HOME` (and fake API), working in `cwd`.
async fn host_options(host: &TestEnv, cwd: &std::path::Path) -> AgentOptionsBuilder {
    host.configure(AgentOptions::builder())
        .cwd(cwd)
        .cli_path(ensure_cli().await.expect("the pinned CLI"))
        .allowed_tools(["Bash"])
        .max_turns(4)
}

/// Sends a prompt and reads the turn; returns its messages (the result last).
async fn turn(client: &Client, prompt: &str) -> Vec<Message> {
    client.query(prompt).await.unwrap();
    let mut messages = Vec::new();
    let mut stream = client.receive_response();
    while let Some(message) = tokio::time::timeout(Duration::from_secs(90), stream.next())
        .await
        .expect("the turn ends")
    {
        messages.push(message.unwrap());
    }
    assert!(
        matches!(messages.last(), Some(Message::Result(_))),
        "{messages:?}"
    );
    messages
}

fn session_id(messages: &[Message]) -> String {
    match messages.last() {
        Some(Message::Result(result)) => result.session_id.clone(),
        other => panic!("no result: {other:?}"),
    }
}

/// The conversation a request carried, as text.
fn conversation(request: &RecordedRequest) -> String {
    serde_json::to_string(request.messages()).unwrap()
}

/// Resumes `id` from the store alone on a new host (an empty `HOME`), runs one turn,
/// and returns the conversation the model was sent.
async fn resume_on_a_fresh_host(
    store: &Arc<dyn SessionStore>,
    cwd: &std::path::Path,
    id: &str,
    prompt: &str,
) -> String {
    let host = TestEnv::start(Script::new().then(Turn::text("answer on the new host")))
        .await
        .unwrap();
    let options = host_options(&host, cwd)
        .await
        .session_store(store.clone())
        .resume(id)
        .build()
        .unwrap();
    let client = Client::connect(options).await.unwrap();
    turn(&client, prompt).await;
    client.disconnect().await.unwrap();
    conversation(&first_main_request(&host))
}

fn first_main_request(host: &TestEnv) -> RecordedRequest {
    host.api()
        .main_loop_requests()
        .into_iter()
        .next()
        .expect("a main-loop request")
}

fn local_transcripts(host: &TestEnv) -> usize {
    SessionFiles::new(host.home().join(".claude"))
        .list_sessions(&agent_sdk::sessions::ListSessions::all())
        .map_or(0, |sessions| sessions.len())
}

/// Host A: two turns, one with a tool call, mirrored. Host B (empty HOME)
/// continues from the store alone; A resumes after B and sees B's turn.
async fn a_session_moves_between_hosts(store: Arc<dyn SessionStore>) {
    let a = TestEnv::start(
        Script::new()
            .then(Turn::tool_use(
                "Bash",
                json!({"command": "echo tool-output-7f3"}),
            ))
            .then(Turn::text("first answer"))
            .then(Turn::text("second answer")),
    )
    .await
    .unwrap();
    let cwd = a.cwd().to_owned();
    let options = host_options(&a, &cwd)
        .await
        .session_store(store.clone())
        .build()
        .unwrap();
    let client = Client::connect(options).await.unwrap();
    let first = turn(&client, "first question").await;
    turn(&client, "second question").await;
    let id = session_id(&first);
    client.disconnect().await.unwrap();

    // The store has the conversation, under the key the CLI's project directory names.
    let stored = StoredSessions::for_directory(store.clone(), &cwd);
    let key = SessionKey::new(stored.project_key(), &id);
    let entries = store.load(&key).await.unwrap().expect("mirrored");
    let text = serde_json::to_string(&entries).unwrap();
    for needle in [
        "first question",
        "tool-output-7f3",
        "first answer",
        "second answer",
    ] {
        assert!(text.contains(needle), "{needle} not mirrored");
    }

    // Host B: nothing on disk; `continue` finds the session in the store.
    let b = TestEnv::start(Script::new().then(Turn::text("answer from host B")))
        .await
        .unwrap();
    assert_eq!(local_transcripts(&b), 0);
    let options = host_options(&b, &cwd)
        .await
        .session_store(store.clone())
        .continue_conversation(true)
        .build()
        .unwrap();
    let client = Client::connect(options).await.unwrap();
    let on_b = turn(&client, "third question").await;
    client.disconnect().await.unwrap();
    assert_eq!(session_id(&on_b), id, "B continued the same session");
    let seen_by_b = conversation(&first_main_request(&b));
    for needle in [
        "first question",
        "tool-output-7f3",
        "first answer",
        "second question",
        "second answer",
        "third question",
    ] {
        assert!(
            seen_by_b.contains(needle),
            "B's model did not see {needle}: {seen_by_b}"
        );
    }

    // B's turn was mirrored back, and the history B resumed from was not mirrored twice.
    let entries = store.load(&key).await.unwrap().unwrap();
    let uuids: Vec<&str> = entries
        .iter()
        .filter_map(|e| e.get("uuid")?.as_str())
        .collect();
    let unique: std::collections::HashSet<&&str> = uuids.iter().collect();
    assert_eq!(unique.len(), uuids.len(), "an entry was mirrored twice");
    assert!(
        serde_json::to_string(&entries)
            .unwrap()
            .contains("answer from host B")
    );

    // Host A again: its local file is behind; the store's copy (with B's turn) wins.
    a.api().push(Turn::text("A is back"));
    let options = host_options(&a, &cwd)
        .await
        .session_store(store.clone())
        .resume(&id)
        .build()
        .unwrap();
    let client = Client::connect(options).await.unwrap();
    turn(&client, "fourth question").await;
    client.disconnect().await.unwrap();
    let seen_by_a = conversation(&a.api().last_main_loop_request().unwrap());
    assert!(seen_by_a.contains("third question") && seen_by_a.contains("answer from host B"));
}

/// A fork at the first answer, made through the store, resumed on a fresh
/// host: the model sees the history up to that message only. Rename, tag,
/// list, read and delete through the store along the way.
async fn a_fork_resumes_with_history_up_to_its_message(store: Arc<dyn SessionStore>) {
    let a = TestEnv::start(
        Script::new()
            .then(Turn::text("answer one"))
            .then(Turn::text("answer two")),
    )
    .await
    .unwrap();
    let cwd = a.cwd().to_owned();
    let options = host_options(&a, &cwd)
        .await
        .session_store(store.clone())
        .build()
        .unwrap();
    let client = Client::connect(options).await.unwrap();
    let id = session_id(&turn(&client, "question one").await);
    turn(&client, "question two").await;
    client.disconnect().await.unwrap();

    let sessions = StoredSessions::for_directory(store.clone(), &cwd);
    let messages = sessions
        .session_messages(&id, &ReadMessages::new())
        .await
        .unwrap();
    let roles: Vec<SessionRole> = messages.iter().map(|m| m.role).collect();
    assert_eq!(
        roles,
        [
            SessionRole::User,
            SessionRole::Assistant,
            SessionRole::User,
            SessionRole::Assistant
        ]
    );
    assert_eq!(messages[1].content.text(), "answer one");

    let fork = sessions
        .fork_session(&id, &ForkSession::new().up_to_message(&messages[1].uuid))
        .await
        .unwrap();
    sessions.rename_session(&fork, "plan B").await.unwrap();
    sessions
        .tag_session(&fork, Some("experiment"))
        .await
        .unwrap();
    let listed = sessions.list_sessions(None, 0).await.unwrap();
    let fork_info = listed
        .iter()
        .find(|s| s.session_id == fork)
        .expect("the fork is listed");
    assert_eq!(fork_info.custom_title.as_deref(), Some("plan B"));
    assert_eq!(fork_info.tag.as_deref(), Some("experiment"));
    assert!(listed.iter().any(|s| s.session_id == id));

    let seen = resume_on_a_fresh_host(&store, &cwd, &fork, "question on the fork").await;
    assert!(
        seen.contains("question one") && seen.contains("answer one"),
        "{seen}"
    );
    assert!(
        !seen.contains("question two") && !seen.contains("answer two"),
        "{seen}"
    );

    sessions.delete_session(&id).await.unwrap();
    assert!(sessions.session_info(&id).await.unwrap().is_none());
    assert!(sessions.session_info(&fork).await.unwrap().is_some());
}

/// A session run without a store, imported afterwards, resumes on a fresh host.
async fn an_imported_session_resumes_elsewhere(store: Arc<dyn SessionStore>) {
    let a = TestEnv::start(Script::new().then(Turn::text("local answer")))
        .await
        .unwrap();
    let cwd = a.cwd().to_owned();
    let options = host_options(&a, &cwd).await.build().unwrap();
    let client = Client::connect(options).await.unwrap();
    let id = session_id(&turn(&client, "local question").await);
    client.disconnect().await.unwrap();

    let files = SessionFiles::new(a.home().join(".claude"));
    let key = import_session_to_store(&files, &id, store.as_ref(), None)
        .await
        .unwrap();
    let local_lines = std::fs::read_to_string(files.transcript_path(&id, None).unwrap())
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count();
    assert_eq!(store.load(&key).await.unwrap().unwrap().len(), local_lines);

    let seen = resume_on_a_fresh_host(&store, &cwd, &id, "after import").await;
    assert!(
        seen.contains("local question") && seen.contains("local answer"),
        "{seen}"
    );
}

#[tokio::test]
async fn a_session_moves_between_hosts_through_the_store() {
    a_session_moves_between_hosts(test_store()).await;
}

#[tokio::test]
async fn a_session_moves_between_hosts_through_a_sqlite_file() {
    let (store, _dir) = sqlite_store().await;
    a_session_moves_between_hosts(store).await;
}

#[tokio::test]
async fn a_session_moves_between_hosts_through_postgres() {
    let Some(store) = postgres_store().await else {
        return;
    };
    a_session_moves_between_hosts(store).await;
}

#[tokio::test]
async fn a_fork_made_in_a_sqlite_store_resumes_with_history_up_to_its_message() {
    let (store, _dir) = sqlite_store().await;
    a_fork_resumes_with_history_up_to_its_message(store).await;
}

#[tokio::test]
async fn a_fork_made_in_postgres_resumes_with_history_up_to_its_message() {
    let Some(store) = postgres_store().await else {
        return;
    };
    a_fork_resumes_with_history_up_to_its_message(store).await;
}

#[tokio::test]
async fn a_fork_made_in_the_store_resumes_with_history_up_to_its_message() {
    a_fork_resumes_with_history_up_to_its_message(test_store()).await;
}

#[tokio::test]
async fn a_session_that_began_without_a_store_is_imported_and_resumed() {
    an_imported_session_resumes_elsewhere(test_store()).await;
}

/// Every append fails: the one-shot query still completes, the caller gets
/// typed mirror errors, nothing hangs.
#[tokio::test]
async fn a_failing_store_yields_mirror_errors_and_the_session_completes() {
    for flush in [StoreFlush::Batched, StoreFlush::Eager] {
        let env = TestEnv::start(Script::new().then(Turn::text("still here")))
            .await
            .unwrap();
        let cwd = env.cwd().to_owned();
        let options = host_options(&env, &cwd)
            .await
            .session_store(Arc::new(BrokenStore))
            .session_store_flush(flush)
            .build()
            .unwrap();
        let messages: Vec<Message> = tokio::time::timeout(
            Duration::from_secs(120),
            query("hello", options).collect::<Vec<_>>(),
        )
        .await
        .expect("the query ends")
        .into_iter()
        .map(|m| m.unwrap())
        .collect();
        let result = messages
            .iter()
            .find_map(|m| match m {
                Message::Result(r) => Some(r),
                _ => None,
            })
            .expect("a result");
        assert!(!result.is_error, "{flush:?}");
        let errors: Vec<_> = messages
            .iter()
            .filter_map(|m| match m {
                Message::System(SystemMessage::MirrorError(e)) => Some(e),
                _ => None,
            })
            .collect();
        assert!(!errors.is_empty(), "{flush:?}: no mirror error");
        assert!(
            errors
                .iter()
                .all(|e| e.error.contains("the disk is on fire"))
        );
        assert_eq!(
            errors[0].key.as_ref().unwrap().session_id,
            result.session_id
        );
    }
}

/// What a resume through the store adds, for a 50-turn session: connecting
/// with `resume` on a fresh host (store → disk → CLI) against connecting with
/// `resume` where the transcript is already on disk (no store). Prints the
/// medians; slow (a real 50-turn session), so run on demand:
/// `cargo test -p agent-sdk-e2e -- --ignored --nocapture resume_overhead`.
#[tokio::test]
#[ignore = "a measurement: run with --ignored --nocapture"]
async fn resume_overhead_of_a_50_turn_session() {
    const TURNS: usize = 50;
    const RUNS: usize = 5;
    let store = test_store();
    let a = TestEnv::start((0..TURNS).fold(Script::new(), |script, i| {
        script.then(Turn::text(format!(
            "answer {i}: {}",
            "lorem ipsum ".repeat(20)
        )))
    }))
    .await
    .unwrap();
    let cwd = a.cwd().to_owned();
    let options = host_options(&a, &cwd)
        .await
        .session_store(store.clone())
        .build()
        .unwrap();
    let client = Client::connect(options).await.unwrap();
    let mut id = String::new();
    for i in 0..TURNS {
        id = session_id(&turn(&client, &format!("question {i}")).await);
    }
    client.disconnect().await.unwrap();
    let key = SessionKey::new(
        StoredSessions::for_directory(store.clone(), &cwd).project_key(),
        &id,
    );
    let entries = store.load(&key).await.unwrap().unwrap();
    let bytes = serde_json::to_string(&entries).unwrap().len();

    let mut with_store = Vec::new();
    let mut local = Vec::new();
    for _ in 0..RUNS {
        let b = TestEnv::start(Script::new()).await.unwrap();
        let options = host_options(&b, &cwd)
            .await
            .session_store(store.clone())
            .resume(&id)
            .build()
            .unwrap();
        let start = std::time::Instant::now();
        let client = Client::connect(options).await.unwrap();
        with_store.push(start.elapsed());
        client.disconnect().await.unwrap();

        let options = host_options(&a, &cwd).await.resume(&id).build().unwrap();
        let start = std::time::Instant::now();
        let client = Client::connect(options).await.unwrap();
        local.push(start.elapsed());
        client.disconnect().await.unwrap();
    }
    with_store.sort();
    local.sort();
    let (with_store, local) = (with_store[RUNS / 2], local[RUNS / 2]);
    println!(
        "50-turn session ({} entries, {} KiB): connect+resume from the store {:?}, from the local file {:?}, added {:?}",
        entries.len(),
        bytes / 1024,
        with_store,
        local,
        with_store.saturating_sub(local)
    );
    assert!(with_store > Duration::ZERO && local > Duration::ZERO);
}

/// A session the real CLI wrote with a subagent (checked in): imported with
/// its subagent transcript and `.meta.json`, it reads back from the store as
/// it reads from the files.
async fn a_session_with_a_subagent_round_trips(store: Arc<dyn SessionStore>) {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../agent-sdk/tests/data/sessions/config");
    let files = SessionFiles::new(&data);
    let id = "c7255153-edb3-495a-b4ca-809f0435f797";
    let key = import_session_to_store(&files, id, store.as_ref(), None)
        .await
        .unwrap();
    assert_eq!(key.project_key, "-tmp-agent-sdk-test-Hr8j9H-work");
    let subkeys = store.list_subkeys(&key).await.unwrap();
    assert_eq!(subkeys, ["subagents/agent-a784a1a40799a0d79"]);
    let agent_entries = store.load(&key.subkey(&subkeys[0])).await.unwrap().unwrap();
    assert_eq!(
        agent_entries.last().unwrap()["type"],
        "agent_metadata",
        "the .meta.json sidecar travels as the last entry"
    );

    let stored = StoredSessions::for_project_key(store, key.project_key.clone());
    let read = ReadMessages::new();
    let uuids = |messages: Vec<agent_sdk::sessions::SessionMessage>| {
        messages
            .into_iter()
            .map(|m| (m.uuid, m.parent_tool_use_id))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        uuids(stored.session_messages(id, &read).await.unwrap()),
        uuids(files.session_messages(id, &read).unwrap())
    );
    let agents = stored.list_subagents(id).await.unwrap();
    assert_eq!(agents, files.list_subagents(id, None).unwrap());
    let from_store = uuids(
        stored
            .subagent_messages(id, &agents[0], &read)
            .await
            .unwrap(),
    );
    assert!(!from_store.is_empty());
    assert!(
        from_store.iter().all(|(_, parent)| parent.is_some()),
        "{from_store:?}"
    );
    assert_eq!(
        from_store,
        uuids(files.subagent_messages(id, &agents[0], &read).unwrap())
    );
}

#[tokio::test]
async fn a_session_with_a_subagent_round_trips_through_the_store() {
    a_session_with_a_subagent_round_trips(test_store()).await;
}
