//! Registry tests: `initialize` config, routing of recorded `hook_callback` requests, errors,
//! panics and cancellation. (Unit tests: `dispatch` and `initialize_config` are crate-private.)

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use super::*;
use crate::options::AgentOptions;

const E_HOOKS: &str = include_str!("../../tests/data/e_hooks.jsonl");

fn messages(transcript: &str) -> Vec<(String, Value)> {
    transcript
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|record| record.get("msg").is_some())
        .map(|record| {
            (
                record["dir"].as_str().unwrap().to_owned(),
                record["msg"].clone(),
            )
        })
        .collect()
}

/// The hooks of the `e_hooks` recording, answering as the Python script did.
fn e_hooks_registry() -> HookRegistry {
    AgentOptions::builder()
        .hook(
            PreToolUse::matching("mcp__calc__add"),
            |_input: PreToolUseInput, _ctx: HookContext| async move {
                Ok(PreToolUseOutput::allow_because("calc add is fine"))
            },
        )
        .hook(
            PreToolUse::matching("Bash").timeout(Duration::from_secs(30)),
            |_input: PreToolUseInput, _ctx: HookContext| async move {
                Ok(PreToolUseOutput::deny("Bash denied by PreToolUse hook"))
            },
        )
        .hook(
            PreToolUse::matching("mcp__calc__.*"),
            |_input: PreToolUseInput, _ctx: HookContext| async move { PreToolUseOutput::none() },
        )
        .hook(
            PostToolUse,
            |_input: PostToolUseInput, _ctx: HookContext| async move {
                Ok(PostToolUseOutput::additional_context("POSTTOOLUSE-CONTEXT"))
            },
        )
        .hook(
            UserPromptSubmit,
            |_input: UserPromptSubmitInput, _ctx: HookContext| async move {
                Ok(UserPromptSubmitOutput::additional_context(
                    "USERPROMPTSUBMIT-CONTEXT",
                ))
            },
        )
        .hook(Stop, |input: StopInput, _ctx: HookContext| async move {
            if input.stop_hook_active {
                Ok(StopOutput::none())
            } else {
                Ok(StopOutput::block("Stop hook says: keep going once more"))
            }
        })
        .build()
        .unwrap()
        .hooks
}

#[test]
fn initialize_config_matches_the_recording() {
    let recorded = messages(E_HOOKS)
        .into_iter()
        .find(|(_, msg)| msg["request"]["subtype"] == "initialize")
        .map(|(_, msg)| msg["request"]["hooks"].clone())
        .unwrap();
    let registry = e_hooks_registry();
    assert_eq!(registry.initialize_config(), recorded);
    assert_eq!(registry.len(), 6);
    assert!(!registry.is_empty());
    assert!(!registry.requires_on_failure_support());
}

#[test]
fn no_hooks_is_null() {
    let registry = HookRegistry::default();
    assert!(registry.is_empty());
    assert_eq!(registry.initialize_config(), Value::Null);
    assert!(format!("{registry:?}").starts_with('['));
}

#[test]
fn ids_count_in_registration_order_across_events() {
    let registry = AgentOptions::builder()
        .hook(Stop, |_: StopInput, _: HookContext| async {
            StopOutput::none()
        })
        .hook(
            PreToolUse::matching("Write|Edit")
                .timeout(Duration::from_millis(1500))
                .on_failure(OnFailure::Block),
            |_: PreToolUseInput, _: HookContext| async { PreToolUseOutput::none() },
        )
        .hook(Stop, |_: StopInput, _: HookContext| async {
            StopOutput::none()
        })
        .build()
        .unwrap()
        .hooks;
    assert_eq!(
        registry.initialize_config(),
        json!({
            "Stop": [
                {"matcher": null, "hookCallbackIds": ["hook_0"]},
                {"matcher": null, "hookCallbackIds": ["hook_2"]}
            ],
            "PreToolUse": [{"matcher": "Write|Edit", "hookCallbackIds": ["hook_1"],
                            "timeout": 1.5, "onFailure": "block"}]
        })
    );
    assert!(registry.requires_on_failure_support());
}

#[test]
fn on_failure_continue_needs_no_cli_support() {
    let registry = AgentOptions::builder()
        .hook(
            PreToolUse::any().on_failure(OnFailure::Continue),
            |_: PreToolUseInput, _: HookContext| async { PreToolUseOutput::none() },
        )
        .build()
        .unwrap()
        .hooks;
    assert!(!registry.requires_on_failure_support());
    assert_eq!(
        registry.initialize_config()["PreToolUse"][0]["onFailure"],
        "continue"
    );
}

#[tokio::test]
async fn recorded_callbacks_get_the_recorded_answers() {
    let registry = e_hooks_registry();
    let all = messages(E_HOOKS);
    let mut replayed = 0;
    for (dir, msg) in &all {
        if dir != "cli->sdk" || msg["request"]["subtype"] != "hook_callback" {
            continue;
        }
        let request = &msg["request"];
        let expected = all
            .iter()
            .find(|(d, m)| {
                d == "sdk->cli"
                    && m["type"] == "control_response"
                    && m["response"]["request_id"] == msg["request_id"]
            })
            .map(|(_, m)| m["response"]["response"].clone())
            .expect("an answer");
        let answer = registry
            .dispatch(
                request["callback_id"].as_str().unwrap(),
                request["input"].clone(),
                request["tool_use_id"].as_str().map(str::to_owned),
            )
            .await
            .unwrap();
        assert_eq!(answer, expected, "answer to {}", request["callback_id"]);
        replayed += 1;
    }
    assert_eq!(replayed, 9);
}

fn pre_tool_use_input() -> Value {
    json!({"session_id": "s", "transcript_path": "t", "cwd": "/", "hook_event_name": "PreToolUse",
           "tool_name": "Bash", "tool_input": {"command": "ls"}, "tool_use_id": "toolu_7"})
}

#[tokio::test]
async fn unknown_ids_are_errors() {
    let registry = e_hooks_registry();
    for id in ["hook_6", "hook_99", "bogus", "hook_-1", ""] {
        let err = registry
            .dispatch(id, pre_tool_use_input(), None)
            .await
            .unwrap_err();
        assert_eq!(err, format!("No hook callback found for ID: {id}"));
    }
}

#[tokio::test]
async fn handler_error_and_bad_input_become_error_texts_and_a_panic_is_left_to_the_core() {
    let registry = AgentOptions::builder()
        .hook(PreToolUse, |_: PreToolUseInput, _: HookContext| async {
            Err::<PreToolUseOutput, _>(HandlerError::new("hook exploded"))
        })
        .hook(
            PreToolUse,
            |input: PreToolUseInput, _: HookContext| async move {
                if input.tool_name == "Bash" {
                    panic!("boom in hook");
                }
                Ok(PreToolUseOutput::none())
            },
        )
        .build()
        .unwrap()
        .hooks;
    let err = registry
        .dispatch("hook_0", pre_tool_use_input(), None)
        .await
        .unwrap_err();
    assert_eq!(err, "hook exploded");

    // A panic is caught by the protocol core's request task (tests/faults.rs drives it
    // over real pipes); the registry lets it through.
    let panicked = tokio::spawn(async move {
        registry
            .dispatch("hook_1", pre_tool_use_input(), None)
            .await
            .map(|_| ())
    })
    .await;
    assert!(panicked.unwrap_err().is_panic());
    let registry = AgentOptions::builder()
        .hook(PreToolUse, |_: PreToolUseInput, _: HookContext| async {
            Err::<PreToolUseOutput, _>(HandlerError::new("hook exploded"))
        })
        .build()
        .unwrap()
        .hooks;

    let mut missing = pre_tool_use_input();
    missing.as_object_mut().unwrap().remove("tool_name");
    let err = registry
        .dispatch("hook_0", missing, None)
        .await
        .unwrap_err();
    assert!(
        err.starts_with("invalid PreToolUse hook input:") && err.contains("tool_name"),
        "{err}"
    );

    let mut other_event = pre_tool_use_input();
    other_event["hook_event_name"] = json!("PostToolUse");
    let err = registry
        .dispatch("hook_0", other_event, None)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        "hook hook_0 is registered for PreToolUse but got a PostToolUse input"
    );
}

#[tokio::test]
async fn context_carries_ids() {
    let registry = AgentOptions::builder()
        .hook(
            PreToolUse,
            |_: PreToolUseInput, ctx: HookContext| async move {
                Ok(PreToolUseOutput::none().with_system_message(format!(
                    "{} {}",
                    ctx.callback_id,
                    ctx.tool_use_id.unwrap_or_default()
                )))
            },
        )
        .build()
        .unwrap()
        .hooks;
    let answer = registry
        .dispatch("hook_0", pre_tool_use_input(), Some("toolu_7".into()))
        .await
        .unwrap();
    assert_eq!(answer, json!({"systemMessage": "hook_0 toolu_7"}));
}

/// A stateful handler: a struct implementing the role.
struct Counter {
    calls: std::sync::atomic::AtomicUsize,
}

impl HookHandler<PreToolUse> for Counter {
    async fn handle(
        &self,
        _input: PreToolUseInput,
        _ctx: HookContext,
    ) -> Result<PreToolUseOutput, HandlerError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(PreToolUseOutput::none().with_reason(format!("call {n}")))
    }
}

#[tokio::test]
async fn struct_handlers_keep_state() {
    let registry = AgentOptions::builder()
        .hook(
            PreToolUse,
            Counter {
                calls: Default::default(),
            },
        )
        .build()
        .unwrap()
        .hooks;
    for n in 1..=3 {
        let answer = registry
            .dispatch("hook_0", pre_tool_use_input(), None)
            .await
            .unwrap();
        assert_eq!(answer, json!({"reason": format!("call {n}")}));
    }
}

/// Sets its flag when dropped: shows the handler's future was dropped.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn aborting_the_dispatch_task_cancels_the_handler() {
    let dropped = Arc::new(AtomicBool::new(false));
    let started = Arc::new(tokio::sync::Notify::new());
    let (flag, signal) = (Arc::clone(&dropped), Arc::clone(&started));
    let registry = AgentOptions::builder()
        .hook(PreToolUse, move |_: PreToolUseInput, _: HookContext| {
            let guard = DropFlag(Arc::clone(&flag));
            let signal = Arc::clone(&signal);
            async move {
                let _guard = guard;
                signal.notify_one();
                std::future::pending::<()>().await;
                Ok(PreToolUseOutput::none())
            }
        })
        .build()
        .unwrap()
        .hooks;
    // What the core does on control_cancel_request: abort the request's task.
    let task = tokio::spawn(async move {
        registry
            .dispatch("hook_0", pre_tool_use_input(), None)
            .await
    });
    started.notified().await;
    assert!(!dropped.load(Ordering::SeqCst));
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    assert!(dropped.load(Ordering::SeqCst));
}
