//! The core: one-shot queries, multi-turn clients, control requests, sessions, errors.

use std::time::Duration;

use agent_sdk::permission::PermissionMode;
use agent_sdk::testing::{Script, Turn};
use agent_sdk::{Client, Error, Message, query};
use agent_sdk_e2e::{World, assistant_text, collect, last_result};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_shot_text_query() {
    let world = World::start(Script::new().then(Turn::text("Hello from the fake model."))).await;
    let messages = collect(query("Say hello", world.options().build().unwrap())).await;
    assert!(messages.iter().all(Result::is_ok), "{messages:#?}");
    assert!(
        matches!(&messages[0], Ok(Message::System(s)) if s.subtype() == "init"),
        "first is system/init: {messages:#?}"
    );
    assert_eq!(assistant_text(&messages), "Hello from the fake model.");
    let result = last_result(&messages);
    assert_eq!(result.subtype, "success");
    assert_eq!(result.result.as_deref(), Some("Hello from the fake model."));
    // The prompt reached the model as the user turn.
    let request = world.env.api().last_main_loop_request().unwrap();
    assert_eq!(request.last_user_text().as_deref(), Some("Say hello"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_turn_client_carries_history() {
    let world = World::start(
        Script::new()
            .then(Turn::text("The capital is Paris."))
            .then(Turn::text("About 2.1 million people.")),
    )
    .await;
    let client = Client::connect(world.options().build().unwrap())
        .await
        .unwrap();
    let info = client.server_info();
    assert!(
        !info.commands.is_empty() && !info.models.is_empty(),
        "initialize answer kept: {info:?}"
    );
    assert_eq!(info.claude_code_version.as_deref(), Some("2.1.330"));

    client
        .query("What is the capital of France?")
        .await
        .unwrap();
    let first = collect(client.receive_response()).await;
    assert_eq!(assistant_text(&first), "The capital is Paris.");
    let session_id = last_result(&first).session_id.clone();

    client.query("How many people live there?").await.unwrap();
    let second = collect(client.receive_response()).await;
    assert_eq!(assistant_text(&second), "About 2.1 million people.");
    assert_eq!(
        last_result(&second).session_id,
        session_id,
        "one session across turns"
    );

    // The second model request carries the first exchange.
    let request = world.env.api().last_main_loop_request().unwrap();
    let history = serde_json::to_string(request.messages()).unwrap();
    assert!(
        history.contains("What is the capital of France?"),
        "{history}"
    );
    assert!(history.contains("The capital is Paris."), "{history}");
    assert!(history.contains("How many people live there?"), "{history}");
    client.disconnect().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupt_during_a_slow_turn() {
    let world = World::start(
        Script::new()
            .then(
                Turn::text("This answer takes a long time to arrive.")
                    .with_delay(Duration::from_secs(30)),
            )
            .then(Turn::text("Back again.")),
    )
    .await;
    let client = std::sync::Arc::new(
        Client::connect(world.options().build().unwrap())
            .await
            .unwrap(),
    );
    client.query("Tell me a long story").await.unwrap();
    world
        .env
        .api()
        .wait_for_main_loop_requests(1, Duration::from_secs(30))
        .await
        .unwrap();

    // Interrupt from another task while this one reads.
    let interrupter = client.clone();
    let interrupt = tokio::spawn(async move { interrupter.interrupt().await });
    let started = std::time::Instant::now();
    let messages = collect(client.receive_response()).await;
    interrupt.await.unwrap().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "interrupt did not cut the 30 s turn short"
    );
    let result = last_result(&messages);
    assert_eq!(result.subtype, "error_during_execution", "{result:#?}");

    // The session goes on after an interrupt.
    client.query("Are you there?").await.unwrap();
    let after = collect(client.receive_response()).await;
    assert_eq!(assistant_text(&after), "Back again.");
    client.disconnect().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_model_and_permission_mode_mid_session() {
    let world = World::start(
        Script::new()
            .then(Turn::text("first"))
            .then(Turn::text("second")),
    )
    .await;
    let client = Client::connect(world.options().build().unwrap())
        .await
        .unwrap();
    client.query("one").await.unwrap();
    collect(client.receive_response()).await;

    let resolved = client.set_model(Some("haiku")).await.unwrap();
    assert!(
        resolved.as_deref().is_some_and(|m| m.contains("haiku")),
        "resolved model: {resolved:?}"
    );
    client
        .set_permission_mode(PermissionMode::AcceptEdits)
        .await
        .unwrap();

    client.query("two").await.unwrap();
    let messages = collect(client.receive_response()).await;
    assert_eq!(assistant_text(&messages), "second");
    // The next model request uses the new model.
    let request = world.env.api().last_main_loop_request().unwrap();
    assert!(
        request.body["model"]
            .as_str()
            .unwrap_or_default()
            .contains("haiku"),
        "{}",
        request.body["model"]
    );
    // The turn's init message reports the new permission mode.
    let init = messages
        .iter()
        .find_map(|m| match m {
            Ok(Message::System(s)) if s.subtype() == "init" => Some(s.data().clone()),
            _ => None,
        })
        .expect("an init message starts the turn");
    assert_eq!(init["permissionMode"], "acceptEdits", "{init}");

    // A mode the CLI refuses is a typed control error naming the subtype.
    match client
        .send_control_request(
            "set_permission_mode",
            serde_json::json!({"mode": "sideways"}),
        )
        .await
    {
        Err(Error::ControlRequestFailed { subtype, message }) => {
            assert_eq!(subtype, "set_permission_mode");
            assert!(message.contains("acceptEdits"), "{message}");
        }
        other => panic!("expected a control error, got {other:?}"),
    }

    // Fields that are not an object are refused before anything is sent (they
    // were silently sent as `{}`), and the session goes on.
    for fields in [
        serde_json::json!(["plan"]),
        serde_json::json!("plan"),
        serde_json::Value::Null,
    ] {
        match client
            .send_control_request("set_permission_mode", fields.clone())
            .await
        {
            Err(Error::ControlFieldsNotObject {
                subtype,
                fields: given,
            }) => {
                assert_eq!(subtype, "set_permission_mode");
                assert_eq!(given, fields);
            }
            other => panic!("expected ControlFieldsNotObject, got {other:?}"),
        }
    }
    client
        .send_control_request(
            "set_permission_mode",
            serde_json::json!({"mode": "default"}),
        )
        .await
        .expect("an object is sent");
    client.disconnect().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_and_fork_a_session() {
    let world = World::start(
        Script::new()
            .then(Turn::text("Noted: the code word is PELICAN."))
            .then(Turn::text("resumed"))
            .then(Turn::text("forked")),
    )
    .await;
    let first = collect(query(
        "Remember the code word PELICAN.",
        world.options().build().unwrap(),
    ))
    .await;
    let session_id = last_result(&first).session_id.clone();

    // Resume in a new process: same session id, history sent to the model.
    let resumed = collect(query(
        "What was the code word?",
        world.options().resume(&session_id).build().unwrap(),
    ))
    .await;
    assert_eq!(assistant_text(&resumed), "resumed");
    assert_eq!(last_result(&resumed).session_id, session_id);
    let history =
        serde_json::to_string(world.env.api().last_main_loop_request().unwrap().messages())
            .unwrap();
    assert!(history.contains("PELICAN"), "resumed history: {history}");

    // Fork: a new session id, history kept.
    let forked = collect(query(
        "And now?",
        world
            .options()
            .resume(&session_id)
            .fork_session(true)
            .build()
            .unwrap(),
    ))
    .await;
    assert_eq!(assistant_text(&forked), "forked");
    let fork_id = &last_result(&forked).session_id;
    assert_ne!(fork_id, &session_id, "a fork gets a new session id");
    let history =
        serde_json::to_string(world.env.api().last_main_loop_request().unwrap().messages())
            .unwrap();
    assert!(history.contains("PELICAN"), "forked history: {history}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_turns_reached_is_a_typed_error() {
    let world = World::start(
        Script::new()
            .then(Turn::tool_use(
                "Bash",
                serde_json::json!({"command": "echo hi", "description": "say hi"}),
            ))
            .then(Turn::text("done")),
    )
    .await;
    let options = world
        .options()
        .max_turns(1)
        .allowed_tools(["Bash"])
        .build()
        .unwrap();
    let messages = collect(query("run echo", options)).await;
    let result = last_result(&messages);
    assert_eq!(result.subtype, "error_max_turns", "{result:#?}");
    assert!(result.is_error);
    match messages.last().unwrap() {
        Err(Error::Result(failure)) => {
            // The official SDKs' ResultError fields, and the frame itself.
            assert_eq!(failure.subtype, "error_max_turns");
            assert_eq!(failure.terminal_reason.as_deref(), Some("max_turns"));
            assert_eq!(failure.session_id, result.session_id);
            assert_eq!(&failure.data, result);
            let message = failure.message();
            assert!(message.contains("maximum number of turns"), "{message}");
        }
        other => panic!("expected a result error after the result, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_error_from_the_model_api() {
    let world =
        World::start(Script::new().then(Turn::http_error(500, "the fake model is down"))).await;
    let messages = collect(query("hello?", world.options().build().unwrap())).await;
    let result = last_result(&messages);
    assert!(result.is_error, "{result:#?}");
    assert_eq!(result.api_error_status, Some(500));
    assert!(
        matches!(
            messages.last().unwrap(),
            Err(Error::Result(failure)) if failure.api_error_status == Some(500)
        ),
        "{:?}",
        messages.last()
    );
}

#[tokio::test]
async fn cli_not_found_says_where_it_looked_and_how_to_install() {
    let options = agent_sdk::AgentOptions::builder()
        .cli_path("/nonexistent/claude")
        .build()
        .unwrap();
    let first = collect(query("hi", options)).await;
    match &first[..] {
        [Err(err @ Error::CliNotFound { searched })] => {
            assert!(searched.iter().any(|p| p.ends_with("claude")));
            let text = err.to_string();
            assert!(
                text.contains("/nonexistent/claude") && text.contains("npm install"),
                "{text}"
            );
        }
        other => panic!("expected CliNotFound, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_killed_mid_turn_gives_a_typed_error_and_no_zombie() {
    let world = World::start(
        Script::new().then(Turn::text("never arrives").with_delay(Duration::from_secs(60))),
    )
    .await;
    let client = Client::connect(world.options().build().unwrap())
        .await
        .unwrap();
    let pid = client
        .server_info()
        .pid
        .expect("initialize answer carries the CLI pid") as i32;
    client.query("slow please").await.unwrap();
    world
        .env
        .api()
        .wait_for_main_loop_requests(1, Duration::from_secs(30))
        .await
        .unwrap();
    // SAFETY: kill(2) on the CLI process this test started; no memory is touched.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    let messages = collect(client.receive_messages()).await;
    match messages.last() {
        Some(Err(Error::ProcessExited {
            signal: Some(9), ..
        })) => {}
        other => panic!("expected ProcessExited by SIGKILL, got {other:?}"),
    }
    assert!(matches!(
        client.interrupt().await,
        Err(Error::ProcessExited { .. })
    ));
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "the killed CLI was reaped, no zombie"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_client_mid_turn_leaves_no_process_behind() {
    let world =
        World::start(Script::new().then(Turn::text("slow").with_delay(Duration::from_secs(60))))
            .await;
    let client = Client::connect(world.options().build().unwrap())
        .await
        .unwrap();
    let pid = client.server_info().pid.unwrap();
    client.query("slow please").await.unwrap();
    world
        .env
        .api()
        .wait_for_main_loop_requests(1, Duration::from_secs(30))
        .await
        .unwrap();
    drop(client);
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while std::path::Path::new(&format!("/proc/{pid}")).exists() {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        if stat.contains(") Z ") {
            break; // exited, about to be reaped by tokio
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the CLI process {pid} outlived its dropped client"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stderr_callback_receives_lines() {
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let sink = lines.clone();
    let world = World::start(Script::new().then(Turn::text("ok"))).await;
    // An unknown extra flag makes the CLI complain on stderr and exit.
    let options = world
        .options()
        .extra_arg("no-such-flag-for-test", None::<String>)
        .stderr(move |line: &str| sink.lock().unwrap().push(line.to_owned()))
        .build()
        .unwrap();
    let messages = collect(query("hi", options)).await;
    let err = messages
        .into_iter()
        .find_map(Result::err)
        .expect("the CLI refuses the flag");
    let captured = lines.lock().unwrap().join("\n");
    assert!(
        captured.contains("no-such-flag-for-test"),
        "stderr lines: {captured}"
    );
    match err {
        Error::ProcessExited { stderr_tail, .. } => assert!(
            stderr_tail.contains("no-such-flag-for-test"),
            "{stderr_tail}"
        ),
        other => panic!("expected ProcessExited, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_cli_accepts_a_maximal_command_line() {
    use agent_sdk::options::{
        Effort, Plugin, SettingSource, SystemPrompt, Thinking, ThinkingDisplay, Tools,
    };
    let world = World::start(Script::new().then(Turn::text("all options accepted"))).await;
    let plugin = world.env.home().join("plugin");
    std::fs::create_dir_all(&plugin).unwrap();
    let options = world
        .options()
        .system_prompt(SystemPrompt::preset().append("Be brief."))
        .tools(Tools::list(["Read", "Bash"]))
        .allowed_tools(["Read"])
        .disallowed_tools(["WebFetch"])
        .max_turns(3)
        .max_budget_usd(1.5)
        .task_budget(100_000)
        .model("sonnet")
        .fallback_model("haiku")
        .permission_mode(PermissionMode::AcceptEdits)
        .add_dir(world.env.cwd())
        .include_partial_messages(true)
        .include_hook_events(true)
        .setting_sources(Vec::<SettingSource>::new())
        .plugin(Plugin::local(&plugin))
        .thinking(Thinking::adaptive().display(ThinkingDisplay::Summarized))
        .effort(Effort::Low)
        .client_app("agent-sdk-e2e")
        .enable_file_checkpointing(true)
        .build()
        .unwrap();
    let messages = collect(query("hi", options)).await;
    assert!(messages.iter().all(Result::is_ok), "{messages:#?}");
    assert_eq!(
        last_result(&messages).result.as_deref(),
        Some("all options accepted")
    );
    // Partial messages were asked for: stream events arrive besides the whole frames.
    assert!(
        messages
            .iter()
            .any(|m| matches!(m, Ok(Message::StreamEvent(_)))),
        "no stream_event with include_partial_messages"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_control_request_reaches_the_cli() {
    let world = World::start(Script::new().then(Turn::text("hello"))).await;
    let empty = agent_sdk::mcp::SdkMcpServer::builder("empty")
        .build()
        .unwrap();
    let client = Client::connect(world.options().mcp_server("empty", empty).build().unwrap())
        .await
        .unwrap();
    client.query("hi").await.unwrap();
    let turn = collect(client.receive_response()).await;
    let user_message_id = turn
        .iter()
        .find_map(|m| match m {
            Ok(Message::Assistant(a)) => a.user_message_uuid.clone(),
            _ => None,
        })
        .unwrap_or_else(|| "00000000-0000-4000-8000-000000000000".to_owned());

    client.set_max_thinking_tokens(Some(2048)).await.unwrap();
    client.set_max_thinking_tokens(None).await.unwrap();

    let usage = client.context_usage().await.unwrap();
    assert!(
        usage.total_tokens > 0 && usage.max_tokens >= usage.total_tokens,
        "{usage:?}"
    );
    assert!(
        usage
            .categories
            .iter()
            .any(|c| c.id.as_deref() == Some("free_space") && c.kind == "free"),
        "{usage:?}"
    );
    assert!(usage.api_usage.is_some(), "a turn ran: {usage:?}");

    let status = client.mcp_status().await.unwrap();
    let empty = status
        .mcp_servers
        .iter()
        .find(|s| s.name == "empty")
        .unwrap_or_else(|| panic!("our server is listed: {status:?}"));
    assert_eq!(empty.status, "connected");
    assert_eq!(empty.source.as_deref(), Some("sdk"));
    assert!(empty.tools.is_empty());

    // Without file checkpointing the CLI refuses to rewind: a typed error naming the subtype.
    match client.rewind_files(&user_message_id).await {
        Err(Error::ControlRequestFailed { subtype, message }) => {
            assert_eq!(subtype, "rewind_files");
            assert!(message.contains("not enabled"), "{message}");
        }
        other => panic!("expected the CLI to refuse rewind_files, got {other:?}"),
    }

    // Unknown tasks and servers: the CLI's own answers, surfaced as they are.
    client.stop_task("no-such-task").await.unwrap();
    for outcome in [
        client.reconnect_mcp_server("no-such-server").await,
        client.toggle_mcp_server("no-such-server", false).await,
    ] {
        match outcome {
            Err(Error::ControlRequestFailed { subtype, message }) => {
                assert!(
                    subtype == "mcp_reconnect" || subtype == "mcp_toggle",
                    "{subtype}"
                );
                assert_eq!(message, "Server not found: no-such-server");
            }
            other => panic!("expected the CLI to refuse an unknown server, got {other:?}"),
        }
    }
    // Our own in-process server can be switched off and on.
    client.toggle_mcp_server("empty", false).await.unwrap();
    client.toggle_mcp_server("empty", true).await.unwrap();
    // The CLI 2.1.330 refuses to reconnect an in-process server (they live in the SDK's process).
    match client.reconnect_mcp_server("empty").await {
        Err(Error::ControlRequestFailed { subtype, message }) => {
            assert_eq!(subtype, "mcp_reconnect");
            assert!(message.contains("SDK servers"), "{message}");
        }
        other => panic!("expected the CLI to refuse reconnecting an SDK server, got {other:?}"),
    }

    // The session is still usable after all of that.
    assert!(client.server_info().pid.is_some());
    client.disconnect().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rewind_files_previews_then_undoes_a_write() {
    let world = World::start(Script::new()).await;
    let file = world.env.cwd().join("notes.txt");
    let api = world.env.api();
    api.push(Turn::tool_use(
        "Write",
        serde_json::json!({"file_path": file.to_str().unwrap(), "content": "one\ntwo\n"}),
    ));
    api.push(Turn::text("written"));
    let client = Client::connect(
        world
            .options()
            .permission_mode(PermissionMode::AcceptEdits)
            .allowed_tools(["Write"])
            .enable_file_checkpointing(true)
            .build()
            .unwrap(),
    )
    .await
    .unwrap();
    // The checkpoint is the user message that asked for the write: we choose its uuid.
    let checkpoint = "11111111-2222-4333-8444-555555555555";
    client
        .query(agent_sdk::message::UserInput::text("write the notes").with_uuid(checkpoint))
        .await
        .unwrap();
    let turn = collect(client.receive_response()).await;
    assert_eq!(last_result(&turn).result.as_deref(), Some("written"));
    assert!(file.exists(), "the Write tool ran");

    let preview = client.rewind_files_dry_run(checkpoint).await.unwrap();
    assert!(preview.can_rewind, "{preview:?}");
    assert_eq!(preview.files_changed, [file.to_str().unwrap()]);
    assert_eq!(preview.deletions, Some(2), "{preview:?}");
    assert!(file.exists(), "a dry run changes nothing");

    let done = client.rewind_files(checkpoint).await.unwrap();
    assert!(done.can_rewind, "{done:?}");
    assert!(
        !file.exists(),
        "the rewind removed the file the turn created"
    );

    // A message with no checkpoint: an answer that says why, not an error.
    let refused = client
        .rewind_files_dry_run("00000000-0000-4000-8000-000000000000")
        .await
        .unwrap();
    assert!(!refused.can_rewind);
    assert!(refused.error.is_some(), "{refused:?}");
    client.disconnect().await.unwrap();
}
