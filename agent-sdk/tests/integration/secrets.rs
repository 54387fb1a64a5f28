//! Secrets given through `env` never leak: not in `Debug` of the options, not in
//! error messages, not in the SDK's own logs at TRACE level (captured with a test
//! subscriber, whatever `RUST_LOG` says).

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agent_sdk::{AgentOptions, Client};
use futures_util::StreamExt;

const SECRET: &str = "sk-ant-test-SECRET-6c1f0e";
/// The fake CLI of the fault tests (`tests/fake_cli`).
const FAKE_CLI: &str = env!("CARGO_BIN_EXE_agent-sdk-fake-cli");

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn the_api_key_never_appears_in_debug_errors_or_logs() {
    let logs = Captured::default();
    let sink = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || sink.clone())
        .finish();
    let _default = tracing::subscriber::set_default(subscriber);
    let options = AgentOptions::builder()
        .cli_path(FAKE_CLI)
        .env("ANTHROPIC_API_KEY", SECRET)
        .env("AGENT_SDK_FAKE_CLI", "exit_mid_turn")
        .control_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let debug = format!("{options:?} {options:#?}");
    assert!(!debug.contains(SECRET), "{debug}");

    // One thread, so the thread-local subscriber sees every task.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let errors = runtime.block_on(async {
        tokio::time::timeout(Duration::from_secs(20), async {
            let client = Client::connect(options).await.unwrap();
            client.query("go").await.unwrap();
            let items: Vec<_> = client.receive_messages().collect().await;
            let mut errors: Vec<String> = items
                .iter()
                .filter_map(|item| item.as_ref().err())
                .map(|e| format!("{e} {e:?}"))
                .collect();
            errors.push(format!("{:?}", client.interrupt().await));
            client.disconnect().await.unwrap();
            errors
        })
        .await
        .expect("the session ends in time")
    });
    assert!(errors.len() >= 2, "the exit is reported: {errors:?}");
    for error in &errors {
        assert!(!error.contains(SECRET), "{error}");
    }
    let logs = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(
        logs.contains("sdk -> cli"),
        "TRACE logs were captured: {logs}"
    );
    assert!(!logs.contains(SECRET), "{logs}");
}
