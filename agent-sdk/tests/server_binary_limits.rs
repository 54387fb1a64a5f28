//! The `agent-server` binary's limit, work-dir and webhook settings by flag
//! and environment, on the offline model, checked over HTTP.

use std::time::Duration;

use serde_json::json;

mod support;

use support::{BinaryServer, Receiver};

#[tokio::test]
async fn limits_work_dirs_and_webhooks_come_from_flags_and_environment() {
    // A webhook receiver on loopback, named in a --webhooks file.
    let receiver = Receiver::start(0).await;
    let hook = &receiver.url;

    let dir = tempfile::tempdir().unwrap();
    let webhooks = dir.path().join("webhooks.json");
    std::fs::write(
        &webhooks,
        json!({"tenants": {"acme": {"url": hook, "secret": "s"}}}).to_string(),
    )
    .unwrap();
    let mut server = BinaryServer::start(dir.path(), |command| {
        command
            .args(["--max-message-chars", "5", "--rate-limit", "12"])
            .arg("--workdir-root")
            .arg(dir.path().join("work"))
            .arg("--webhooks")
            .arg(&webhooks)
            .env("AGENT_SERVER_USER_MAX_SESSIONS", "1")
            .env("AGENT_SERVER_MAX_BODY_BYTES", "200")
            .env("DATABASE_URL", "memory://");
    })
    .await;

    let (status, refused) = server
        .post(
            "/v1/sessions",
            json!({"user": "ann", "tenant": "acme", "cwd": "/etc"}),
        )
        .await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (400, Some("invalid_workdir"))
    );
    let (status, created) = server
        .post(
            "/v1/sessions",
            json!({"user": "ann", "tenant": "acme", "cwd": "p"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert!(dir.path().join("work/acme/ann/p").is_dir());
    let id = created["id"].as_str().unwrap();
    let (status, _) = server
        .post("/v1/sessions", json!({"user": "ann", "tenant": "acme"}))
        .await;
    assert_eq!(status, 429, "AGENT_SERVER_USER_MAX_SESSIONS=1");
    let messages = format!("/v1/sessions/{id}/messages");
    let (status, refused) = server.post(&messages, json!({"text": "too long"})).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (413, Some("message_too_long"))
    );
    let (status, refused) = server
        .post(&messages, json!({"text": "x".repeat(250)}))
        .await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (413, Some("payload_too_large"))
    );

    // session.created reaches the tenant's webhook.
    support::eventually(
        "a session.created webhook",
        Duration::from_secs(30),
        async || receiver.events().iter().any(|e| e == "session.created"),
    )
    .await;

    // 12 requests a minute: the rest of the burst, then 429 with Retry-After.
    let mut limited = None;
    for _ in 0..12 {
        let response = server
            .request(reqwest::Method::GET, "/v1/sessions")
            .send()
            .await
            .unwrap();
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
    server.child.kill().await.unwrap();
}
