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

/// Collects the child's stderr lines as they come.
fn collect_stderr(server: &mut BinaryServer) -> std::sync::Arc<std::sync::Mutex<Vec<String>>> {
    use tokio::io::AsyncBufReadExt;
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = lines.clone();
    let mut reader = tokio::io::BufReader::new(server.child.stderr.take().unwrap()).lines();
    tokio::spawn(async move {
        while let Ok(Some(line)) = reader.next_line().await {
            kept.lock().unwrap().push(line);
        }
    });
    lines
}

/// `--log-format json` writes one JSON object per line with a timestamp,
/// level, target and message (a span's fields when in one), and
/// `--metrics-listen` serves `/metrics` without the token on its own address
/// (the address is read from the JSON log: it listens on port 0), while the
/// API's `/metrics` stays behind the token.
#[tokio::test]
async fn json_logs_and_metrics_on_their_own_listener() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = BinaryServer::start(dir.path(), |command| {
        command
            .args(["--log-format", "json", "--metrics-listen", "127.0.0.1:0"])
            .env("AGENT_SERVER_TOKEN", "t0ken")
            .env("DATABASE_URL", "memory://")
            .env("RUST_LOG", "info")
            .stderr(std::process::Stdio::piped());
    })
    .await;
    let lines = collect_stderr(&mut server);
    let logged = |message: &str| {
        lines
            .lock()
            .unwrap()
            .iter()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .find(|line| line["fields"]["message"] == message)
    };
    support::eventually(
        "the metrics address in the log",
        Duration::from_secs(30),
        async || logged("metrics listening").is_some(),
    )
    .await;
    let metrics_addr = logged("metrics listening").unwrap()["fields"]["addr"]
        .as_str()
        .unwrap()
        .to_owned();
    let http = reqwest::Client::new();
    let metrics_url = format!("http://{metrics_addr}/metrics");
    assert_ne!(metrics_url, server.url("/metrics"), "a listener of its own");

    // The API's /metrics needs the token; the metrics listener does not.
    let refused = http.get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    let api = server.api.clone().with_bearer("t0ken");
    let id = api.create(json!({})).await;
    assert!(api.get(&format!("/v1/sessions/{id}")).await.0 == 200);
    let served = http.get(&metrics_url).send().await.unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(
        served.headers()["content-type"],
        agent_sdk::server::metrics::CONTENT_TYPE
    );
    let text = served.text().await.unwrap();
    let created = text
        .lines()
        .find(|line| line.starts_with("agent_server_sessions_created_total"))
        .unwrap_or_else(|| panic!("no sessions_created counter in\n{text}"));
    assert!(created.ends_with(" 1"), "one session counted: {created}");
    // Only /metrics there: the API is not reachable without the token by another door.
    let other = http
        .get(format!("http://{metrics_addr}/v1/sessions"))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 404);

    assert!(server.terminate().await.success());
    support::eventually("the last log line", Duration::from_secs(10), async || {
        logged("stopped").is_some()
    })
    .await;
    let lines = lines.lock().unwrap().clone();
    assert!(lines.len() >= 4, "{lines:?}");
    for line in &lines {
        let record: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|err| panic!("not one JSON object per line ({err}): {line}"));
        for field in ["timestamp", "level", "target"] {
            assert!(record[field].is_string(), "no {field}: {line}");
        }
        assert!(
            record["fields"]["message"].is_string(),
            "no message: {line}"
        );
        assert!(chrono_like(record["timestamp"].as_str().unwrap()), "{line}");
    }
    assert_eq!(logged("agent-server listening").unwrap()["level"], "INFO");
}

/// An RFC 3339 timestamp: `2026-11-28T18:20:00.123Z` (what log stores parse).
fn chrono_like(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() >= 20
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes[10] == b'T'
        && bytes[13] == b':'
        && (text.ends_with('Z') || text[19..].contains(['+', '-']))
}

/// A tier's `max_thinking_tokens` (from a `--tiers` file) reaches the CLI:
/// the session's request to the Messages API carries that thinking budget.
#[tokio::test]
async fn a_tiers_thinking_budget_reaches_the_model_request() {
    use agent_sdk::testing::{Script, TestEnv, Turn};
    let env = TestEnv::start(Script::new().then(Turn::text("thought about it")))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let tiers = dir.path().join("tiers.json");
    std::fs::write(
        &tiers,
        json!({"default": "free", "tiers": {"free": {"max_thinking_tokens": 2048}}}).to_string(),
    )
    .unwrap();
    let server = BinaryServer::start_on(dir.path(), &env, |command| {
        command
            .arg("--tiers")
            .arg(&tiers)
            .env("DATABASE_URL", "memory://");
    })
    .await;
    // A model with a budget: the CLI sends adaptive thinking, whatever the
    // budget, to models that think adaptively (its default model among them).
    let id = server.create(json!({"model": "claude-sonnet-4-5"})).await;
    let done = server.turn(&id, "think").await;
    assert_ne!(done["interrupted"], true, "{done}");
    let requests = env.api().main_loop_requests();
    let thinking = &requests.last().expect("a model request").body["thinking"];
    assert_eq!(
        (
            thinking["type"].as_str(),
            thinking["budget_tokens"].as_u64()
        ),
        (Some("enabled"), Some(2048)),
        "{thinking}"
    );
    assert!(server.terminate().await.success());
}
