//! The `agent-server` binary's limit, work-dir and webhook settings by flag
//! and environment, on the offline model, checked over HTTP.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

async fn post(http: &reqwest::Client, url: String, body: Value) -> (u16, Value) {
    let response = http.post(url).json(&body).send().await.unwrap();
    (
        response.status().as_u16(),
        response.json().await.unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn limits_work_dirs_and_webhooks_come_from_flags_and_environment() {
    // A webhook receiver on loopback, named in a --webhooks file.
    let events: Arc<Mutex<Vec<String>>> = Arc::default();
    let store = events.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap| {
            let store = store.clone();
            async move {
                let event = headers.get("x-agent-event").and_then(|v| v.to_str().ok());
                store
                    .lock()
                    .unwrap()
                    .push(event.unwrap_or_default().to_owned());
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let dir = tempfile::tempdir().unwrap();
    let webhooks = dir.path().join("webhooks.json");
    std::fs::write(
        &webhooks,
        json!({"tenants": {"acme": {"url": hook, "secret": "s"}}}).to_string(),
    )
    .unwrap();
    let cli = agent_sdk::testing::ensure_cli().await.expect("the CLI");
    let mut child = Command::new(env!("CARGO_BIN_EXE_agent-server"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--max-message-chars",
            "5",
            "--rate-limit",
            "12",
        ])
        .arg("--cli")
        .arg(cli)
        .arg("--workdir-root")
        .arg(dir.path().join("work"))
        .arg("--webhooks")
        .arg(&webhooks)
        .env("AGENT_SERVER_USER_MAX_SESSIONS", "1")
        .env("AGENT_SERVER_MAX_BODY_BYTES", "200")
        .env("DATABASE_URL", "memory://")
        .env_remove("ANTHROPIC_API_KEY")
        .env_remove("AGENT_SERVER_TOKEN")
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the binary starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .expect("the server says where it listens")
        .unwrap()
        .expect("a line");
    let base = line.rsplit_once(' ').unwrap().1.to_owned();
    let http = reqwest::Client::new();
    let url = |path: &str| format!("{base}{path}");

    let (status, refused) = post(
        &http,
        url("/v1/sessions"),
        json!({"user": "ann", "tenant": "acme", "cwd": "/etc"}),
    )
    .await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (400, Some("invalid_workdir"))
    );
    let (status, created) = post(
        &http,
        url("/v1/sessions"),
        json!({"user": "ann", "tenant": "acme", "cwd": "p"}),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert!(dir.path().join("work/acme/ann/p").is_dir());
    let id = created["id"].as_str().unwrap();
    let (status, _) = post(
        &http,
        url("/v1/sessions"),
        json!({"user": "ann", "tenant": "acme"}),
    )
    .await;
    assert_eq!(status, 429, "AGENT_SERVER_USER_MAX_SESSIONS=1");
    let messages = url(&format!("/v1/sessions/{id}/messages"));
    let (status, refused) = post(&http, messages.clone(), json!({"text": "too long"})).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (413, Some("message_too_long"))
    );
    let (status, refused) = post(&http, messages.clone(), json!({"text": "x".repeat(250)})).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (413, Some("body_too_large"))
    );

    // session.created reaches the tenant's webhook.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !events
        .lock()
        .unwrap()
        .iter()
        .any(|e| e == "session.created")
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no session.created webhook"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // 12 requests a minute: the rest of the burst, then 429 with Retry-After.
    let mut limited = None;
    for _ in 0..12 {
        let response = http.get(url("/v1/sessions")).send().await.unwrap();
        if response.status() == 429 {
            limited = Some(
                response.headers()["retry-after"]
                    .to_str()
                    .unwrap()
                    .to_owned(),
            );
            break;
        }
    }
    let wait: u64 = limited
        .expect("a 429 within the minute's 12")
        .parse()
        .unwrap();
    assert!(wait >= 1);
    child.kill().await.unwrap();
}
