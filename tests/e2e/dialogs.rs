//! User dialogs with the real CLI 2.1.330. The one dialog a stream-json
//! session could reach, `refusal_fallback_prompt`, is armed by the CLI's
//! refusal-fallback lane (`refusalFallbackModel`), which `--fallback-model`
//! does not set: a refusal is shown as the safety-classifier notice and the
//! turn goes on, and the declared dialog is never asked. This test pins that
//! down, so a CLI that starts asking is noticed (and the handler is then
//! exercised end to end).

use std::sync::{Arc, Mutex};

use agent_sdk::dialog::{UserDialogRequest, UserDialogResponse};
use agent_sdk::testing::{Script, Turn};
use agent_sdk::{Message, query};
use agent_sdk_e2e::World;
use futures_util::StreamExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_with_a_fallback_model_does_not_open_the_declared_dialog() {
    let world = World::start(
        Script::new()
            .then(Turn::refusal("I can't help with that."))
            .then(Turn::text("Answered after the refusal.")),
    )
    .await;
    let asked: Arc<Mutex<Vec<UserDialogRequest>>> = Arc::default();
    let recorder = asked.clone();
    let options = world
        .options()
        .fallback_model("claude-fallback-test")
        .on_user_dialog(
            ["refusal_fallback_prompt"],
            move |request: UserDialogRequest| {
                recorder.lock().unwrap().push(request);
                async { UserDialogResponse::Cancelled }
            },
        )
        .build()
        .unwrap();
    let mut stream = query("Say something the model refuses.", options);
    let mut texts = Vec::new();
    let mut result = None;
    while let Some(message) = stream.next().await {
        match message.unwrap() {
            Message::Assistant(reply) => texts.push(reply.text()),
            Message::Result(end) => result = Some(end),
            _ => {}
        }
    }
    let result = result.expect("the turn ends with a result");
    assert!(
        !result.is_error,
        "the turn goes on after the refusal: {result:?}"
    );
    assert_eq!(
        texts,
        ["I can't help with that.", "Answered after the refusal."]
    );
    assert!(
        asked.lock().unwrap().is_empty(),
        "CLI 2.1.330 opens no dialog here; if it now does, assert its payload: {:?}",
        asked.lock().unwrap()
    );
    // The refusal was not retried on the fallback model: both requests went to the session's model.
    let models: Vec<_> = world
        .env
        .api()
        .requests()
        .iter()
        .map(|request| request.body["model"].clone())
        .collect();
    assert_eq!(models.len(), 2);
    assert_eq!(models[0], models[1]);
    assert_ne!(models[0], "claude-fallback-test");
}
