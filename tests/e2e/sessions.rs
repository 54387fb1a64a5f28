//! History on disk: the `sessions` module on transcripts the real CLI wrote.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use agent_sdk::message::ContentBlock;
use agent_sdk::sessions::{
    ForkSession, ListSessions, ReadMessages, SessionError, SessionFiles, SessionMessage,
    SessionRole,
};
use agent_sdk::testing::{Script, Turn};
use agent_sdk::{Client, query};
use agent_sdk_e2e::{World, assistant_text, collect, last_result};
use serde_json::json;

/// The transcripts of a test's scratch HOME (the CLI's `CLAUDE_CONFIG_DIR`).
fn session_files(world: &World) -> SessionFiles {
    SessionFiles::new(world.env.home().join(".claude"))
}

/// A message in a form a test can compare: role and what it says or does.
fn describe(message: &SessionMessage) -> String {
    let role = match message.role {
        SessionRole::User => "user",
        SessionRole::Assistant => "assistant",
    };
    let blocks = message.content.blocks();
    if blocks.is_empty() {
        return format!("{role}: {}", message.content.text());
    }
    let parts: Vec<String> = blocks
        .iter()
        .map(|block| match block {
            ContentBlock::Text(text) => text.text.clone(),
            ContentBlock::ToolUse(call) => format!("call {}", call.name),
            ContentBlock::ToolResult(_) => "result".to_owned(),
            other => other.block_type().to_owned(),
        })
        .collect();
    format!("{role}: {}", parts.join(" | "))
}

/// A session with a tool call, a subagent and an interrupt, run in a client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_session_is_listed_and_read_back_as_it_happened() {
    let world = World::start(
        Script::new()
            .then(Turn::tool_use(
                "Bash",
                json!({"command": "echo hi", "description": "say hi"}),
            ))
            .then(Turn::text("the tool said hi"))
            .then(Turn::tool_use(
                "Agent",
                json!({
                    "description": "count",
                    "prompt": "Count to three.",
                    "subagent_type": "general-purpose",
                    "run_in_background": false,
                }),
            ))
            .then(Turn::text("one two three"))
            .then(Turn::text("the subagent counted"))
            .then(Turn::text("a long story").with_delay(Duration::from_secs(30)))
            .then(Turn::text("Back again.")),
    )
    .await;
    let options = world
        .options()
        .allowed_tools(["Bash", "Agent"])
        .build()
        .unwrap();
    let client = Arc::new(Client::connect(options).await.unwrap());
    client.query("Run echo hi").await.unwrap();
    let first = collect(client.receive_response()).await;
    let session_id = last_result(&first).session_id.clone();
    client.query("Ask a subagent to count").await.unwrap();
    let second = collect(client.receive_response()).await;
    assert_eq!(assistant_text(&second).trim(), "the subagent counted");
    client.query("Tell me a long story").await.unwrap();
    world
        .env
        .api()
        .wait_for_main_loop_requests(6, Duration::from_secs(30))
        .await
        .unwrap();
    let interrupter = client.clone();
    let interrupt = tokio::spawn(async move { interrupter.interrupt().await });
    collect(client.receive_response()).await;
    interrupt.await.unwrap().unwrap();
    client.query("Are you there?").await.unwrap();
    let after = collect(client.receive_response()).await;
    assert_eq!(assistant_text(&after), "Back again.");
    client.disconnect().await.unwrap();

    let files = session_files(&world);
    capture_fixture(&files, world.env.cwd());

    // Listed under its working directory, and among all sessions.
    let listed = files
        .list_sessions(&ListSessions::in_directory(world.env.cwd()))
        .unwrap();
    assert_eq!(listed.len(), 1, "{listed:#?}");
    let info = &listed[0];
    assert_eq!(info.session_id, session_id);
    assert_eq!(info.first_prompt.as_deref(), Some("Run echo hi"));
    assert_eq!(info.summary, "Are you there?", "the last prompt: {info:#?}");
    let cwd = std::fs::canonicalize(world.env.cwd()).unwrap();
    assert_eq!(info.cwd.as_deref(), Some(cwd.to_str().unwrap()));
    assert_eq!(info.tag, None);
    let created = info.created_at.expect("a creation time");
    assert!(created <= info.last_modified, "{info:#?}");
    assert!(info.file_size.unwrap() > 0);
    assert_eq!(files.list_sessions(&ListSessions::all()).unwrap(), listed);
    assert_eq!(
        files.session_info(&session_id, None).unwrap().as_ref(),
        Some(info)
    );
    assert!(
        files
            .project_dir(world.env.cwd())
            .join(format!("{session_id}.jsonl"))
            .is_file(),
        "the CLI wrote where project_dir says"
    );

    // The conversation, in order: the tool call with its result, the
    // subagent's call, the interrupt, and the turn after it.
    let messages = files
        .session_messages(&session_id, &ReadMessages::new())
        .unwrap();
    let described: Vec<String> = messages.iter().map(describe).collect();
    assert_eq!(
        described,
        [
            "user: Run echo hi",
            "assistant: call Bash",
            "user: result",
            "assistant: the tool said hi",
            "user: Ask a subagent to count",
            "assistant: call Agent",
            "user: result",
            "assistant: the subagent counted",
            "user: Tell me a long story",
            "user: [Request interrupted by user]",
            "user: Are you there?",
            "assistant: Back again.",
        ],
        "{messages:#?}"
    );
    assert!(messages.iter().all(|m| m.session_id == session_id));
    let page = files
        .session_messages(&session_id, &ReadMessages::new().offset(4).limit(2))
        .unwrap();
    assert_eq!(page, messages[4..6]);

    // The subagent: its own conversation, tied to the Agent call.
    let agent_call = messages[5].tool_use_ids().next().unwrap().to_owned();
    let agents = files.list_subagents(&session_id, None).unwrap();
    assert_eq!(agents.len(), 1, "{agents:?}");
    let sub = files
        .subagent_messages(&session_id, &agents[0], &ReadMessages::new())
        .unwrap();
    let described: Vec<String> = sub.iter().map(describe).collect();
    assert_eq!(
        described,
        ["user: Count to three.", "assistant: one two three"]
    );
    assert!(
        sub.iter()
            .all(|m| m.parent_tool_use_id.as_deref() == Some(agent_call.as_str()))
    );

    // With sidechains: the subagent's messages right after the call that started it.
    let all = files
        .session_messages(
            &session_id,
            &ReadMessages::new()
                .directory(world.env.cwd())
                .include_sidechains(true),
        )
        .unwrap();
    let expected: Vec<SessionMessage> = messages[..6]
        .iter()
        .chain(&sub)
        .chain(&messages[6..])
        .cloned()
        .collect();
    assert_eq!(all, expected);

    // Unknown ids are typed errors.
    assert!(matches!(
        files.subagent_messages(&session_id, "nope", &ReadMessages::new()),
        Err(SessionError::SubagentNotFound { .. })
    ));
    assert!(matches!(
        files.session_messages("8c3f1a2e-0000-4000-8000-000000000000", &ReadMessages::new()),
        Err(SessionError::NotFound { .. })
    ));
}

/// With `AGENT_SDK_CAPTURE_SESSIONS=<dir>`, copies the transcripts there: the
/// checked-in fixture of the Python-parity test was recorded this way.
fn capture_fixture(files: &SessionFiles, cwd: &Path) {
    let Some(target) = std::env::var_os("AGENT_SDK_CAPTURE_SESSIONS") else {
        return;
    };
    let status = std::process::Command::new("cp")
        .arg("-r")
        .arg(files.project_dir(cwd))
        .arg(PathBuf::from(target))
        .status()
        .unwrap();
    assert!(status.success());
}

/// The model is asked twice; the fork keeps the first exchange only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fork_at_a_message_resumes_with_the_history_up_to_it() {
    let world = World::start(
        Script::new()
            .then(Turn::text("Noted: PELICAN."))
            .then(Turn::text("Noted: FALCON."))
            .then(Turn::text("The code word was PELICAN."))
            .then(Turn::text("still there")),
    )
    .await;
    let client = Client::connect(world.options().build().unwrap())
        .await
        .unwrap();
    client.query("The code word is PELICAN.").await.unwrap();
    let first = collect(client.receive_response()).await;
    let session_id = last_result(&first).session_id.clone();
    client.query("Change it to FALCON.").await.unwrap();
    collect(client.receive_response()).await;
    client.disconnect().await.unwrap();

    let files = session_files(&world);
    let messages = files
        .session_messages(&session_id, &ReadMessages::new())
        .unwrap();
    let texts: Vec<String> = messages.iter().map(describe).collect();
    assert_eq!(
        texts,
        [
            "user: The code word is PELICAN.",
            "assistant: Noted: PELICAN.",
            "user: Change it to FALCON.",
            "assistant: Noted: FALCON.",
        ]
    );

    // Fork after the first answer.
    let fork = files
        .fork_session(
            &session_id,
            &ForkSession::new()
                .directory(world.env.cwd())
                .up_to_message(&messages[1].uuid)
                .title("  before FALCON  "),
        )
        .unwrap();
    assert_ne!(fork.session_id, session_id);
    assert_eq!(
        fork.path.parent(),
        Some(files.project_dir(world.env.cwd()).as_path())
    );
    let forked = files
        .session_messages(&fork.session_id, &ReadMessages::new())
        .unwrap();
    assert_eq!(
        forked.iter().map(describe).collect::<Vec<_>>(),
        texts[..2],
        "the fork holds the conversation up to the message"
    );
    assert!(
        forked
            .iter()
            .zip(&messages)
            .all(|(f, m)| f.uuid != m.uuid && f.session_id == fork.session_id),
        "fresh uuids"
    );
    let fork_info = files.session_info(&fork.session_id, None).unwrap().unwrap();
    assert_eq!(fork_info.custom_title.as_deref(), Some("before FALCON"));
    assert_eq!(fork_info.summary, "before FALCON");

    // Resuming the fork: the model sees PELICAN, not FALCON.
    let resumed = collect(query(
        "What was the code word?",
        world.options().resume(&fork.session_id).build().unwrap(),
    ))
    .await;
    assert_eq!(assistant_text(&resumed), "The code word was PELICAN.");
    assert_eq!(last_result(&resumed).session_id, fork.session_id);
    let request = world.env.api().last_main_loop_request().unwrap();
    let history = serde_json::to_string(request.messages()).unwrap();
    assert!(history.contains("PELICAN"), "{history}");
    assert!(
        !history.contains("FALCON"),
        "the fork was cut before FALCON: {history}"
    );
    let after = files
        .session_messages(&fork.session_id, &ReadMessages::new())
        .unwrap();
    assert_eq!(
        after.iter().map(describe).collect::<Vec<_>>()[2..],
        [
            "user: What was the code word?",
            "assistant: The code word was PELICAN."
        ]
    );

    // Rename and tag the source; both sessions listed, newest first.
    files
        .rename_session(&session_id, "code words", Some(world.env.cwd()))
        .unwrap();
    files
        .tag_session(&session_id, Some("\u{200b}birds "), None)
        .unwrap();
    let listed = files
        .list_sessions(&ListSessions::in_directory(world.env.cwd()))
        .unwrap();
    let ids: Vec<&str> = listed.iter().map(|s| s.session_id.as_str()).collect();
    assert_eq!(
        ids,
        [session_id.as_str(), fork.session_id.as_str()],
        "{listed:#?}"
    );
    assert_eq!(listed[0].summary, "code words");
    assert_eq!(listed[0].custom_title.as_deref(), Some("code words"));
    assert_eq!(listed[0].tag.as_deref(), Some("birds"));
    assert_eq!(
        files
            .list_sessions(
                &ListSessions::in_directory(world.env.cwd())
                    .offset(1)
                    .limit(1)
            )
            .unwrap(),
        listed[1..]
    );
    files.tag_session(&session_id, None, None).unwrap();
    let info = files.session_info(&session_id, None).unwrap().unwrap();
    assert_eq!(info.tag, None, "cleared");

    // The CLI still resumes the renamed and tagged source, whole.
    let resumed = collect(query(
        "Still there?",
        world.options().resume(&session_id).build().unwrap(),
    ))
    .await;
    assert_eq!(assistant_text(&resumed), "still there");
    let request = world.env.api().last_main_loop_request().unwrap();
    let history = serde_json::to_string(request.messages()).unwrap();
    assert!(history.contains("FALCON"), "{history}");

    capture_fixture(&files, world.env.cwd());

    // Delete the fork: gone from the list and from disk.
    files.delete_session(&fork.session_id, None).unwrap();
    assert!(!fork.path.exists());
    let ids: Vec<String> = files
        .list_sessions(&ListSessions::all())
        .unwrap()
        .into_iter()
        .map(|s| s.session_id)
        .collect();
    assert_eq!(ids, std::slice::from_ref(&session_id));
    assert!(matches!(
        files.delete_session(&fork.session_id, None),
        Err(SessionError::NotFound { .. })
    ));
    assert!(matches!(
        files.fork_session(
            &session_id,
            &ForkSession::new().up_to_message("8c3f1a2e-0000-4000-8000-000000000000")
        ),
        Err(SessionError::MessageNotFound { .. })
    ));
}

/// A working directory over 200 characters: the project directory name is
/// cut and hashed, and the session is still found by its directory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_in_a_long_directory_is_found() {
    let world = World::start(Script::new().then(Turn::text("deep down"))).await;
    let long = world
        .env
        .cwd()
        .join("a-rather-long-directory-name-to-push-the-path-".repeat(5));
    std::fs::create_dir_all(&long).unwrap();
    let messages = collect(query(
        "hello from deep down",
        world.options().cwd(&long).build().unwrap(),
    ))
    .await;
    let session_id = last_result(&messages).session_id.clone();

    let files = session_files(&world);
    let listed = files
        .list_sessions(&ListSessions::in_directory(&long))
        .unwrap();
    assert_eq!(listed.len(), 1, "{listed:#?}");
    assert_eq!(listed[0].session_id, session_id);
    assert_eq!(
        listed[0].first_prompt.as_deref(),
        Some("hello from deep down")
    );
    // The CLI cuts the name at 200 characters and hashes the whole path as we do.
    let project_dir = files.project_dir(&long);
    let name = project_dir
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(name.len() > 201 && name.as_bytes()[200] == b'-', "{name}");
    assert!(
        project_dir.join(format!("{session_id}.jsonl")).is_file(),
        "{:?}",
        std::fs::read_dir(files.projects_dir())
            .unwrap()
            .collect::<Vec<_>>()
    );
    let read = files
        .session_messages(&session_id, &ReadMessages::new().directory(&long))
        .unwrap();
    assert_eq!(read.len(), 2);
}

/// Parallel tool calls: the CLI writes one assistant entry per call and each
/// result hangs off its own call, so the `parentUuid` walk alone loses some.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_tool_calls_are_read_back_whole() {
    let world = World::start(
        Script::new()
            .then(Turn::tool_uses([
                ("Bash", json!({"command": "echo one", "description": "one"})),
                ("Bash", json!({"command": "echo two", "description": "two"})),
                (
                    "Bash",
                    json!({"command": "echo three", "description": "three"}),
                ),
            ]))
            .then(Turn::text("three echoes")),
    )
    .await;
    let messages = collect(query(
        "Echo three words at once",
        world.options().allowed_tools(["Bash"]).build().unwrap(),
    ))
    .await;
    let session_id = last_result(&messages).session_id.clone();
    let files = session_files(&world);
    capture_fixture(&files, world.env.cwd());
    let read = files
        .session_messages(&session_id, &ReadMessages::new())
        .unwrap();
    let described: Vec<String> = read.iter().map(describe).collect();
    assert_eq!(
        described.first().map(String::as_str),
        Some("user: Echo three words at once")
    );
    assert_eq!(
        described.last().map(String::as_str),
        Some("assistant: three echoes")
    );
    let calls: Vec<&str> = read.iter().flat_map(|m| m.tool_use_ids()).collect();
    assert_eq!(calls.len(), 3, "{described:#?}");
    let results: Vec<String> = read
        .iter()
        .flat_map(|m| m.content.blocks())
        .filter_map(|b| match b {
            ContentBlock::ToolResult(r) => Some(r.tool_use_id.clone()),
            _ => None,
        })
        .collect();
    let mut sorted_results = results.clone();
    sorted_results.sort();
    let mut sorted_calls: Vec<String> = calls.iter().map(|c| (*c).to_owned()).collect();
    sorted_calls.sort();
    assert_eq!(
        sorted_results, sorted_calls,
        "every call answered once: {described:#?}"
    );
    // Every result follows its call.
    for (i, message) in read.iter().enumerate() {
        for call in message.tool_use_ids() {
            let answered_at =
                read.iter()
                    .position(|m| {
                        m.content.blocks().iter().any(
                            |b| matches!(b, ContentBlock::ToolResult(r) if r.tool_use_id == call),
                        )
                    })
                    .unwrap();
            assert!(answered_at > i, "{described:#?}");
        }
    }
}
