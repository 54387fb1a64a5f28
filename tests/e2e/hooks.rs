//! Hooks and permissions against the real CLI: PreToolUse deny/allow/rewrite, PostToolUse
//! context, UserPromptSubmit context, Stop blocking once, hook timeout and failure policy,
//! `can_use_tool` allow/deny/interrupt/rewrite/rules, and in-process MCP tools through both.
//!
//! Bash commands stay inside the scratch cwd of each test (`echo`, `ls`, `touch`).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agent_sdk::hooks::{
    HookContext, OnFailure, PostToolUse, PostToolUseInput, PostToolUseOutput, PreToolUse,
    PreToolUseInput, PreToolUseOutput, Stop, StopInput, StopOutput, UserPromptSubmit,
    UserPromptSubmitInput, UserPromptSubmitOutput,
};
use agent_sdk::permission::{
    HandlerError, PermissionBehavior, PermissionResult, PermissionRuleValue, PermissionUpdate,
    ToolPermissionRequest,
};
use agent_sdk::testing::{RecordedToolResult, Script, Turn};
use agent_sdk::tool;
use agent_sdk::{Client, create_sdk_mcp_server, query};
use agent_sdk_e2e::{World, assistant_text, collect, last_result};
use serde_json::{Value, json};

/// A Bash call as the model writes it.
fn bash(command: &str) -> Value {
    json!({"command": command, "description": "e2e test command"})
}

/// The `tool_result` blocks the model received, over all its requests.
fn tool_results(world: &World) -> Vec<RecordedToolResult> {
    world
        .env
        .api()
        .last_main_loop_request()
        .expect("the model was asked at least once")
        .all_tool_results()
}

/// A shared list a handler appends to and the test reads.
struct Seen<T>(Arc<Mutex<Vec<T>>>);

impl<T> Default for Seen<T> {
    fn default() -> Self {
        Seen(Arc::default())
    }
}

impl<T> Clone for Seen<T> {
    fn clone(&self) -> Self {
        Seen(Arc::clone(&self.0))
    }
}

impl<T: Clone> Seen<T> {
    fn push(&self, item: T) {
        self.0.lock().unwrap().push(item);
    }
    fn all(&self) -> Vec<T> {
        self.0.lock().unwrap().clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pre_tool_use_denies_rm_rf_and_allows_ls() {
    let world = World::start(
        Script::new()
            .then(Turn::tool_use("Bash", bash("rm -rf victim")))
            .then(Turn::tool_use("Bash", bash("ls")))
            .then(Turn::text("done")),
    )
    .await;
    std::fs::create_dir(world.env.cwd().join("victim")).unwrap();
    std::fs::write(world.env.cwd().join("listed-marker.txt"), "x").unwrap();
    let seen = Seen::<String>::default();
    let guard_seen = seen.clone();
    let options = world
        .options()
        .hook(
            PreToolUse::matching("Bash"),
            move |input: PreToolUseInput, _ctx: HookContext| {
                let seen = guard_seen.clone();
                async move {
                    let command = input.tool_input["command"].as_str().unwrap_or_default();
                    seen.push(command.to_owned());
                    if command.contains("rm -rf") {
                        Ok::<_, HandlerError>(PreToolUseOutput::deny(
                            "GUARD: rm -rf is not allowed here",
                        ))
                    } else {
                        Ok(PreToolUseOutput::allow())
                    }
                }
            },
        )
        .build()
        .unwrap();
    let messages = collect(query("clean up, then list", options)).await;
    assert!(messages.iter().all(Result::is_ok), "{messages:#?}");
    assert_eq!(seen.all(), ["rm -rf victim", "ls"]);
    assert!(
        world.env.cwd().join("victim").exists(),
        "rm -rf did not run"
    );

    let results = tool_results(&world);
    assert_eq!(results.len(), 2, "{results:#?}");
    assert!(results[0].is_error, "{results:#?}");
    assert!(
        results[0]
            .text
            .contains("GUARD: rm -rf is not allowed here"),
        "the model sees the reason: {results:#?}"
    );
    assert!(!results[1].is_error, "{results:#?}");
    assert!(
        results[1].text.contains("listed-marker.txt"),
        "ls ran: {results:#?}"
    );

    let result = last_result(&messages);
    assert_eq!(result.subtype, "success", "{result:#?}");
    assert_eq!(result.permission_denials.len(), 1, "{result:#?}");
    let denial = &result.permission_denials[0];
    assert_eq!(denial.tool_name, "Bash");
    assert_eq!(denial.tool_input["command"], "rm -rf victim");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pre_tool_use_rewrites_the_input() {
    let world = World::start(
        Script::new()
            .then(Turn::tool_use("Bash", bash("echo original-input")))
            .then(Turn::text("done")),
    )
    .await;
    let options = world
        .options()
        .hook(
            PreToolUse::matching("Bash"),
            |input: PreToolUseInput, _ctx: HookContext| async move {
                let mut rewritten = input.tool_input.clone();
                rewritten["command"] = "echo rewritten-by-hook".into();
                Ok::<_, HandlerError>(PreToolUseOutput::allow().with_updated_input(rewritten))
            },
        )
        .build()
        .unwrap();
    let messages = collect(query("echo something", options)).await;
    assert_eq!(last_result(&messages).subtype, "success");
    let results = tool_results(&world);
    assert_eq!(results.len(), 1, "{results:#?}");
    assert!(
        results[0].text.contains("rewritten-by-hook") && !results[0].text.contains("original"),
        "the tool ran the hook's input: {results:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_tool_use_sees_the_response_and_adds_context() {
    let world = World::start(
        Script::new()
            .then(Turn::tool_use("Bash", bash("echo post-tool-output")))
            .then(Turn::text("done")),
    )
    .await;
    let responses = Seen::<(String, Value)>::default();
    let sink = responses.clone();
    let options = world
        .options()
        .allowed_tools(["Bash"])
        .hook(
            PostToolUse::matching("Bash"),
            move |input: PostToolUseInput, _ctx: HookContext| {
                let sink = sink.clone();
                async move {
                    sink.push((input.tool_name.clone(), input.tool_response.clone()));
                    Ok::<_, HandlerError>(PostToolUseOutput::additional_context(
                        "POST-TOOL-USE-CONTEXT-7f3a",
                    ))
                }
            },
        )
        .build()
        .unwrap();
    let messages = collect(query("echo", options)).await;
    assert_eq!(last_result(&messages).subtype, "success");
    let responses = responses.all();
    assert_eq!(responses.len(), 1, "{responses:#?}");
    assert_eq!(responses[0].0, "Bash");
    assert!(
        responses[0].1["stdout"]
            .as_str()
            .is_some_and(|out| out.contains("post-tool-output")),
        "PostToolUse sees the tool response: {:#}",
        responses[0].1
    );
    let next = world.env.api().last_main_loop_request().unwrap();
    let history = serde_json::to_string(next.messages()).unwrap();
    assert!(
        history.contains("POST-TOOL-USE-CONTEXT-7f3a"),
        "the next model request carries the context: {history}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_prompt_submit_adds_context() {
    let world = World::start(Script::new().then(Turn::text("noted"))).await;
    let prompts = Seen::<String>::default();
    let sink = prompts.clone();
    let options = world
        .options()
        .hook(
            UserPromptSubmit,
            move |input: UserPromptSubmitInput, _ctx: HookContext| {
                let sink = sink.clone();
                async move {
                    sink.push(input.prompt.clone());
                    Ok::<_, HandlerError>(UserPromptSubmitOutput::additional_context(
                        "USER-PROMPT-CONTEXT-91c2",
                    ))
                }
            },
        )
        .build()
        .unwrap();
    let messages = collect(query("what is the context?", options)).await;
    assert_eq!(assistant_text(&messages), "noted");
    assert_eq!(prompts.all(), ["what is the context?"]);
    let request = world.env.api().last_main_loop_request().unwrap();
    let history = serde_json::to_string(request.messages()).unwrap();
    assert!(
        history.contains("USER-PROMPT-CONTEXT-91c2"),
        "the model request carries the context: {history}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_hook_blocking_once_makes_one_more_turn() {
    let world = World::start(
        Script::new()
            .then(Turn::text("first answer."))
            .then(Turn::text("second answer, checked.")),
    )
    .await;
    let calls = Seen::<bool>::default();
    let sink = calls.clone();
    let options = world
        .options()
        .hook(Stop, move |input: StopInput, _ctx: HookContext| {
            let sink = sink.clone();
            async move {
                sink.push(input.stop_hook_active);
                if input.stop_hook_active {
                    Ok::<_, HandlerError>(StopOutput::none())
                } else {
                    Ok(StopOutput::block("STOP-HOOK: check your answer once more"))
                }
            }
        })
        .build()
        .unwrap();
    let messages = collect(query("answer me", options)).await;
    let result = last_result(&messages);
    assert_eq!(result.subtype, "success", "{result:#?}");
    assert_eq!(calls.all(), [false, true], "Stop ran twice");
    let requests = world.env.api().main_loop_requests();
    assert_eq!(requests.len(), 2, "one more model turn");
    let history = serde_json::to_string(requests[1].messages()).unwrap();
    assert!(
        history.contains("STOP-HOOK: check your answer once more"),
        "the model sees the block reason: {history}"
    );
    assert!(
        assistant_text(&messages).contains("second answer, checked."),
        "{messages:#?}"
    );
}

/// Sets its flag when dropped: proves a handler's future was cancelled.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hook_past_its_timeout_is_cancelled_and_the_session_goes_on() {
    let world = World::start(
        Script::new()
            .then(Turn::tool_use("Bash", bash("touch after-timeout.txt")))
            .then(Turn::text("still here"))
            .then(Turn::text("yes")),
    )
    .await;
    let started = Arc::new(AtomicUsize::new(0));
    let dropped = Arc::new(AtomicBool::new(false));
    let (started_in, dropped_in) = (started.clone(), dropped.clone());
    let options = world
        .options()
        .allowed_tools(["Bash"])
        .hook(
            PreToolUse::matching("Bash").timeout(Duration::from_secs(2)),
            move |_input: PreToolUseInput, _ctx: HookContext| {
                started_in.fetch_add(1, Ordering::SeqCst);
                let flag = DropFlag(dropped_in.clone());
                async move {
                    let _flag = flag;
                    tokio::time::sleep(Duration::from_secs(120)).await;
                    Ok::<_, HandlerError>(PreToolUseOutput::deny("too late"))
                }
            },
        )
        .build()
        .unwrap();
    let client = Client::connect(options).await.unwrap();
    let begun = std::time::Instant::now();
    client
        .query("touch a file after a slow hook")
        .await
        .unwrap();
    let messages = collect(client.receive_response()).await;
    assert!(
        begun.elapsed() < Duration::from_secs(60),
        "the hook was not cut off"
    );
    assert_eq!(started.load(Ordering::SeqCst), 1);
    // Checked while the session is still open: the cancel, not the teardown, dropped it.
    assert!(
        dropped.load(Ordering::SeqCst),
        "the CLI cancelled the request (control_cancel_request) and the handler was dropped"
    );
    let result = last_result(&messages);
    assert_eq!(result.subtype, "success", "{result:#?}");
    assert_eq!(assistant_text(&messages), "still here");
    // CLI 2.1.330: a PreToolUse hook that times out blocks the call; the model is told.
    let results = tool_results(&world);
    assert_eq!(results.len(), 1, "{results:#?}");
    assert!(
        results[0].is_error
            && results[0]
                .text
                .contains("did not respond before its timeout"),
        "the model sees the timeout: {results:#?}"
    );
    assert!(!world.env.cwd().join("after-timeout.txt").exists());

    // The session goes on.
    client.query("are you there?").await.unwrap();
    let after = collect(client.receive_response()).await;
    assert_eq!(assistant_text(&after), "yes");
    client.disconnect().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_hook_with_on_failure_block_blocks_the_tool() {
    let world = World::start(
        Script::new()
            .then(Turn::tool_use("Bash", bash("touch must-not-exist.txt")))
            .then(Turn::text("understood")),
    )
    .await;
    let options = world
        .options()
        .allowed_tools(["Bash"])
        .hook(
            PreToolUse::matching("Bash").on_failure(OnFailure::Block),
            |_input: PreToolUseInput, _ctx: HookContext| async move {
                Err::<PreToolUseOutput, _>(HandlerError::new("GUARD-CRASHED: policy store offline"))
            },
        )
        .build()
        .unwrap();
    let messages = collect(query("touch a file", options)).await;
    assert!(
        !world.env.cwd().join("must-not-exist.txt").exists(),
        "the blocked tool did not run"
    );
    let result = last_result(&messages);
    assert_eq!(result.subtype, "success", "{result:#?}");
    let results = tool_results(&world);
    assert_eq!(results.len(), 1, "{results:#?}");
    assert!(results[0].is_error, "{results:#?}");
    // CLI 2.1.330 names the policy, not the handler's error text.
    assert!(
        results[0]
            .text
            .contains("blocking because onFailure is \"block\""),
        "{results:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_hook_with_the_default_policy_lets_the_tool_run() {
    let world = World::start(
        Script::new()
            .then(Turn::tool_use("Bash", bash("touch may-exist.txt")))
            .then(Turn::text("done")),
    )
    .await;
    let options = world
        .options()
        .allowed_tools(["Bash"])
        .hook(
            PreToolUse::matching("Bash"),
            |_input: PreToolUseInput, _ctx: HookContext| async move {
                Err::<PreToolUseOutput, _>(HandlerError::new("GUARD-CRASHED: policy store offline"))
            },
        )
        .build()
        .unwrap();
    let messages = collect(query("touch a file", options)).await;
    assert_eq!(last_result(&messages).subtype, "success");
    assert!(
        world.env.cwd().join("may-exist.txt").exists(),
        "without on_failure = block the CLI goes on: {:#?}",
        tool_results(&world)
    );
}

/// A `can_use_tool` policy that records each request and answers with `decide`.
fn recording_policy(
    seen: Seen<ToolPermissionRequest>,
    decide: impl Fn(&ToolPermissionRequest) -> PermissionResult + Send + Sync + 'static,
) -> impl Fn(ToolPermissionRequest) -> std::future::Ready<PermissionResult> + Send + Sync + 'static
{
    move |request: ToolPermissionRequest| {
        let answer = decide(&request);
        seen.push(request);
        std::future::ready(answer)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn can_use_tool_allows() {
    let world = World::start(
        Script::new()
            .then(Turn::tool_use("Bash", bash("touch allowed.txt")))
            .then(Turn::text("done")),
    )
    .await;
    let seen = Seen::default();
    let options = world
        .options()
        .can_use_tool(recording_policy(seen.clone(), |_| {
            PermissionResult::allow()
        }))
        .build()
        .unwrap();
    let messages = collect(query("touch a file", options)).await;
    assert_eq!(last_result(&messages).subtype, "success");
    let requests = seen.all();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    assert_eq!(requests[0].tool_name, "Bash");
    assert_eq!(requests[0].input["command"], "touch allowed.txt");
    assert!(!requests[0].tool_use_id.is_empty());
    assert!(world.env.cwd().join("allowed.txt").exists(), "the tool ran");
    assert!(last_result(&messages).permission_denials.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn can_use_tool_denies_with_a_message_and_the_turn_goes_on() {
    let world = World::start(
        Script::new()
            .then(Turn::tool_use("Bash", bash("touch denied.txt")))
            .then(Turn::text("ok, I will not")),
    )
    .await;
    let seen = Seen::default();
    let options = world
        .options()
        .can_use_tool(recording_policy(seen.clone(), |_| {
            PermissionResult::deny("POLICY: no files today")
        }))
        .build()
        .unwrap();
    let messages = collect(query("touch a file", options)).await;
    assert_eq!(seen.all().len(), 1);
    assert!(!world.env.cwd().join("denied.txt").exists());
    let results = tool_results(&world);
    assert_eq!(results.len(), 1, "{results:#?}");
    assert!(results[0].is_error);
    assert!(
        results[0].text.contains("POLICY: no files today"),
        "the model sees the message: {results:#?}"
    );
    assert_eq!(assistant_text(&messages), "ok, I will not");
    let result = last_result(&messages);
    assert_eq!(result.subtype, "success", "{result:#?}");
    assert_eq!(result.permission_denials.len(), 1, "{result:#?}");
    assert_eq!(result.permission_denials[0].tool_name, "Bash");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn can_use_tool_deny_with_interrupt_ends_the_turn() {
    let world = World::start(
        Script::new()
            .then(Turn::tool_use("Bash", bash("touch interrupted.txt")))
            .then(Turn::text("never reached")),
    )
    .await;
    let options = world
        .options()
        .can_use_tool(recording_policy(Seen::default(), |_| {
            PermissionResult::deny_and_interrupt("POLICY: stop everything")
        }))
        .build()
        .unwrap();
    let messages = collect(query("touch a file", options)).await;
    assert!(!world.env.cwd().join("interrupted.txt").exists());
    let result = last_result(&messages);
    assert_eq!(result.subtype, "error_during_execution", "{result:#?}");
    assert_eq!(
        world.env.api().main_loop_requests().len(),
        1,
        "no model turn after the interrupt"
    );
    assert!(!assistant_text(&messages).contains("never reached"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn can_use_tool_allows_with_an_updated_input() {
    let world = World::start(
        Script::new()
            .then(Turn::tool_use("Bash", bash("touch from-model.txt")))
            .then(Turn::text("done")),
    )
    .await;
    let options = world
        .options()
        .can_use_tool(recording_policy(Seen::default(), |request| {
            let mut input = request.input.clone();
            input["command"] = "touch from-policy.txt".into();
            PermissionResult::allow().with_updated_input(input)
        }))
        .build()
        .unwrap();
    let messages = collect(query("touch a file", options)).await;
    assert_eq!(last_result(&messages).subtype, "success");
    assert!(world.env.cwd().join("from-policy.txt").exists());
    assert!(!world.env.cwd().join("from-model.txt").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn can_use_tool_updated_permissions_add_a_rule_that_stops_asking() {
    let command = "touch twice.txt";
    let world = World::start(
        Script::new()
            .then(Turn::tool_use("Bash", bash(command)))
            .then(Turn::tool_use("Bash", bash(command)))
            .then(Turn::text("done")),
    )
    .await;
    let seen = Seen::default();
    let options = world
        .options()
        .can_use_tool(recording_policy(seen.clone(), move |_| {
            PermissionResult::allow().with_updated_permissions([PermissionUpdate::add_rules(
                vec![PermissionRuleValue::with_content("Bash", command)],
                PermissionBehavior::Allow,
            )])
        }))
        .build()
        .unwrap();
    let messages = collect(query("touch a file twice", options)).await;
    assert_eq!(last_result(&messages).subtype, "success");
    let results = tool_results(&world);
    assert_eq!(results.len(), 2, "{results:#?}");
    assert!(results.iter().all(|r| !r.is_error), "{results:#?}");
    assert_eq!(
        seen.all().len(),
        1,
        "the rule added by the first answer covers the second call"
    );
}

/// Add two integers.
#[tool]
async fn add(a: i64, b: i64) -> i64 {
    a + b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_process_mcp_tools_go_through_hooks_and_permissions() {
    let world = World::start(
        Script::new()
            .then(Turn::tool_use("mcp__calc__add", json!({"a": 20, "b": 22})))
            .then(Turn::tool_use("mcp__calc__add", json!({"a": 1, "b": 1})))
            .then(Turn::text("done")),
    )
    .await;
    let calc = create_sdk_mcp_server!("calc", version = "1.0.0", tools = [add]).unwrap();
    let hooked = Seen::<(String, Value)>::default();
    let hook_sink = hooked.clone();
    let asked = Seen::default();
    let options = world
        .options()
        .mcp_server("calc", calc)
        .hook(
            PreToolUse::matching("mcp__calc__.*"),
            move |input: PreToolUseInput, _ctx: HookContext| {
                let sink = hook_sink.clone();
                async move {
                    sink.push((input.tool_name.clone(), input.tool_input.clone()));
                    Ok::<_, HandlerError>(PreToolUseOutput::none())
                }
            },
        )
        .can_use_tool(recording_policy(asked.clone(), |request| {
            if request.input["a"] == 1 {
                PermissionResult::deny("POLICY: no trivial sums")
            } else {
                PermissionResult::allow()
            }
        }))
        .build()
        .unwrap();
    let messages = collect(query("add numbers", options)).await;
    let result = last_result(&messages);
    assert_eq!(result.subtype, "success", "{result:#?}");

    let hooked = hooked.all();
    assert_eq!(
        hooked.len(),
        2,
        "PreToolUse saw both MCP calls: {hooked:#?}"
    );
    assert!(hooked.iter().all(|(name, _)| name == "mcp__calc__add"));
    let asked = asked.all();
    assert_eq!(
        asked.len(),
        2,
        "can_use_tool was asked for both: {asked:#?}"
    );
    assert_eq!(asked[0].tool_name, "mcp__calc__add");
    assert_eq!(
        asked[0].mcp_server.as_ref().map(|s| s.name.as_str()),
        Some("calc"),
        "{:#?}",
        asked[0]
    );

    let results = tool_results(&world);
    assert_eq!(results.len(), 2, "{results:#?}");
    assert_eq!(results[0].text, "42", "{results:#?}");
    assert!(results[1].is_error, "{results:#?}");
    assert!(results[1].text.contains("POLICY: no trivial sums"));
    assert_eq!(result.permission_denials.len(), 1);
    assert!(messages.iter().all(Result::is_ok), "{messages:#?}");
}
