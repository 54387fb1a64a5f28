//! The `agent-server` binary as a child process on the offline model: a
//! session survives SIGTERM (drain, exit 0) and a restart on the same SQLite
//! file or PostgreSQL schema: it is listed as paused, SSE resumes after a
//! `Last-Event-ID` from before the restart, and the next message resumes the
//! conversation with its history. A session whose transcript is gone fails
//! its turn with an `error` event instead of hanging.

use std::time::Duration;

use serde_json::json;

mod support;

use support::{BinaryServer as Server, Event, fresh_postgres_url, sqlite_url};

async fn start(dir: &std::path::Path, database_url: &str) -> Server {
    start_with(dir, database_url, &[], &[]).await
}

/// `start` with more flags and environment variables.
async fn start_with(
    dir: &std::path::Path,
    database_url: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> Server {
    Server::start(dir, |command| {
        command
            .args(["--drain-seconds", "5"])
            .args(args)
            .envs(env.iter().copied())
            .env("DATABASE_URL", database_url);
    })
    .await
}

/// The directory a session's CLI runs in, as an SQLite database records it
/// (`None` for another database).
fn stored_cwd(database_url: &str, id: &str) -> Option<std::path::PathBuf> {
    let path = database_url.strip_prefix("sqlite://")?;
    let db = rusqlite::Connection::open(path).unwrap();
    let spec: String = db
        .query_row(
            "SELECT spec FROM server_sessions WHERE id = ?1",
            [id],
            |r| r.get(0),
        )
        .unwrap();
    let spec: serde_json::Value = serde_json::from_str(&spec).unwrap();
    Some(spec["cwd"].as_str().expect("a cwd is stored").into())
}

fn texts(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e.1 == "assistant_text")
        .map(|e| e.2["text"].as_str().unwrap().to_owned())
        .collect()
}

/// Sends `text` to the session and reads its events after `after` until the turn's end.
async fn message(server: &Server, id: &str, text: &str, after: u64) -> Vec<Event> {
    let turn = server.message(id, text).await;
    server.events(id, Some(after)).await.until_turn(turn).await
}

/// One session through a drain and a restart on `database_url`: listed,
/// replayed from before the restart, and resumed with its history.
async fn survives_a_restart(database_url: &str) {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), database_url).await;
    assert_eq!(server.get("/readyz").await.0, 200);
    let (status, created) = server
        .post("/v1/sessions", json!({"metadata": {"n": 1}}))
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let before = message(&server, &id, "hello", 0).await;
    assert_eq!(texts(&before), ["You said: hello (message 1)"]);
    let last_before = before.last().unwrap().0.unwrap();

    let status = server.terminate().await;
    assert!(status.success(), "exit status after SIGTERM: {status:?}");
    let ran_in = stored_cwd(database_url, &id);

    let server = start(dir.path(), database_url).await;
    let (_, listed) = server.get("/v1/sessions").await;
    assert_eq!(listed["sessions"][0]["id"], id.as_str());
    assert_eq!(listed["sessions"][0]["status"], "paused", "{listed}");
    assert_eq!(listed["sessions"][0]["turns"], 1);

    // Resumed after an id from before the restart: the first process's
    // events come from the database.
    let replayed = support::Sse::open(
        server
            .request(reqwest::Method::GET, &format!("/v1/sessions/{id}/events"))
            .header("Last-Event-ID", (last_before - 1).to_string()),
    )
    .await
    .until_turn(1)
    .await;
    assert_eq!(
        replayed[0].0,
        Some(last_before),
        "the replay starts right after Last-Event-ID"
    );

    // The next message resumes the conversation: the model was shown both
    // user messages (its count is the history the request held).
    let after = message(&server, &id, "again", last_before).await;
    assert_eq!(texts(&after), ["You said: again (message 2)"], "{after:?}");
    assert!(after.iter().all(|e| e.1 != "error"), "{after:?}");
    let (_, session) = server.get(&format!("/v1/sessions/{id}")).await;
    assert_eq!(session["turns"], 2, "{session}");
    assert_eq!(session["status"], "idle", "{session}");
    // It ran in this process's scratch directory: the first one's, gone
    // with its process, was not made again.
    if let Some(ran_in) = ran_in {
        let runs_in = stored_cwd(database_url, &id).unwrap();
        assert_ne!(runs_in, ran_in);
        assert!(!ran_in.exists(), "{} was made again", ran_in.display());
        assert!(runs_in.is_dir());
    }

    assert!(server.terminate().await.success());
}

#[tokio::test]
async fn a_session_survives_a_drain_and_a_restart_with_its_history() {
    let dir = tempfile::tempdir().unwrap();
    survives_a_restart(&sqlite_url(dir.path())).await;
}

#[tokio::test]
async fn a_session_survives_a_restart_on_postgres() {
    let Some(url) = agent_sdk::testing::test_postgres_url() else {
        return;
    };
    survives_a_restart(&fresh_postgres_url(&url).await).await;
}

/// SIGTERM while a turn runs: `/readyz` turns 503 and new sessions and
/// messages get 503 at once, the running turn gets the drain window and its
/// `turn_complete` reaches the SSE client, then the process exits 0 with the
/// session paused; after a restart the next message resumes with history.
#[tokio::test]
async fn a_running_turn_completes_within_the_drain_then_resumes_after_a_restart() {
    use agent_sdk::testing::{Script, TestEnv, Turn};
    // The first answer takes 4 s: the drain starts while the model "thinks".
    let script = Script::new()
        .then(Turn::text("slow answer").with_delay(Duration::from_secs(4)))
        .then(Turn::text("second answer"));
    let env = TestEnv::start(script).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let configure = |command: &mut tokio::process::Command| {
        command
            .args(["--drain-seconds", "30"])
            .env("DATABASE_URL", &url);
    };
    let server = Server::start_on(dir.path(), &env, configure).await;
    let id = server.create(json!({})).await;
    let mut events = server.events(&id, Some(0)).await;
    let turn = server.message(&id, "first").await;
    env.api()
        .wait_for_main_loop_requests(1, Duration::from_secs(60))
        .await
        .expect("the turn reaches the model");

    server.signal_terminate();
    support::eventually("/readyz answers 503", Duration::from_secs(10), async || {
        server.get("/readyz").await.0 == 503
    })
    .await;
    let (_, ready) = server.get("/readyz").await;
    assert_eq!(ready["error"]["code"], "draining", "{ready}");
    let (status, refused) = server.post("/v1/sessions", json!({})).await;
    assert_eq!(
        (status, &refused["error"]["code"]),
        (503, &json!("draining"))
    );
    let (status, refused) = server
        .post(
            &format!("/v1/sessions/{id}/messages"),
            json!({"text": "more"}),
        )
        .await;
    assert_eq!(
        (status, &refused["error"]["code"]),
        (503, &json!("draining"))
    );

    let seen = events.until_turn(turn).await;
    assert_eq!(texts(&seen), ["slow answer"], "{seen:?}");
    let done = &seen.last().unwrap().2;
    assert_ne!(done["interrupted"], true, "the turn ran to its end: {done}");
    let status = server.exit_status().await;
    assert!(status.success(), "exit status after the drain: {status:?}");

    let server = Server::start_on(dir.path(), &env, configure).await;
    let (_, session) = server.get(&format!("/v1/sessions/{id}")).await;
    assert_eq!(session["status"], "paused", "{session}");
    assert_eq!(session["turns"], 1, "{session}");
    let done = server.turn(&id, "again").await;
    assert_ne!(done["interrupted"], true, "{done}");
    let requests = env.api().main_loop_requests();
    let last = requests.last().unwrap().body.to_string();
    assert!(
        last.contains("first") && last.contains("slow answer") && last.contains("again"),
        "the resumed request holds the history: {last}"
    );
    assert!(server.terminate().await.success());
}

/// `/readyz` answers 503 `database_unavailable` once the database stops
/// answering: the binary reaches PostgreSQL through a proxy of ours, which is
/// then cut (the server looks stopped: connections closed, new ones refused).
#[tokio::test]
async fn readyz_is_503_when_the_database_stops_answering() {
    let Some(url) = agent_sdk::testing::test_postgres_url() else {
        return;
    };
    let url = fresh_postgres_url(&url).await;
    let config: tokio_postgres::Config = url.parse().unwrap();
    let (host, port) = match (&config.get_hosts()[0], config.get_ports()[0]) {
        (tokio_postgres::config::Host::Tcp(host), port) => (host.clone(), port),
        other => panic!("a TCP PostgreSQL is needed, not {other:?}"),
    };
    let upstream = format!("{host}:{port}");
    let proxy = support::TcpProxy::start(upstream.clone()).await;
    let proxied = url.replacen(&upstream, &proxy.addr.to_string(), 1);
    assert_ne!(proxied, url);
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &proxied).await;
    let (status, ready) = server.get("/readyz").await;
    assert_eq!(status, 200, "{ready}");

    proxy.cut();
    let (status, ready) = server.get("/readyz").await;
    assert_eq!(status, 503, "{ready}");
    assert_eq!(ready["error"]["code"], "database_unavailable", "{ready}");
    // Still alive: liveness is not readiness.
    assert_eq!(server.get("/healthz").await.0, 200);
    drop(server);
}

#[tokio::test]
async fn a_message_that_cannot_resume_fails_its_turn_with_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let server = start(dir.path(), &url).await;
    let id = server.create(json!({})).await;
    let before = message(&server, &id, "hello", 0).await;
    let last_before = before.last().unwrap().0.unwrap();
    assert!(server.terminate().await.success());

    // The transcript is lost from the session store while the server is down.
    let db = rusqlite::Connection::open(dir.path().join("server.db")).unwrap();
    db.execute_batch("DELETE FROM entries; DELETE FROM transcripts;")
        .unwrap();
    drop(db);

    let server = start(dir.path(), &url).await;
    let turn = server.message(&id, "again").await;
    let mut events = server.events(&id, Some(last_before)).await;
    let events = tokio::time::timeout(
        Duration::from_secs(120),
        events.until_event(|e| e.1 == "error" && e.2["turn"] == turn),
    )
    .await
    .expect("the turn fails instead of hanging");
    let error = &events.last().unwrap().2;
    assert_eq!(error["code"], "turn_failed", "{error}");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("No conversation found"),
        "the message says why: {error}"
    );
    assert!(server.terminate().await.success());
}

/// Receives OTLP/HTTP trace exports on loopback and keeps their bodies (protobuf).
async fn trace_bodies() -> (String, std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>) {
    let bodies = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = bodies.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: axum::body::Bytes| {
            let kept = kept.clone();
            async move {
                kept.lock().unwrap().push(body.to_vec());
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (endpoint, bodies)
}

/// `--otel` exports the binary's spans to `OTEL_EXPORTER_OTLP_ENDPOINT`, and a
/// request's span continues the caller's `traceparent`: an export carries the
/// caller's trace id (a span's `trace_id` is its 16 raw bytes in the protobuf).
#[tokio::test]
async fn with_otel_a_request_is_exported_in_the_callers_trace() {
    let dir = tempfile::tempdir().unwrap();
    let (endpoint, bodies) = trace_bodies().await;
    let server = start_with(
        dir.path(),
        &sqlite_url(dir.path()),
        &["--otel"],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
    )
    .await;
    let trace_hex = "5b8aa5a2d2c872e8321cf37308d69df2";
    let response = server
        .http
        .get(format!("{}/readyz", server.base))
        .header("traceparent", format!("00-{trace_hex}-051581bf3cb55c13-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let trace_id: Vec<u8> = (0..16)
        .map(|i| u8::from_str_radix(&trace_hex[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    let exported = || {
        bodies
            .lock()
            .unwrap()
            .iter()
            .any(|body| body.windows(16).any(|window| window == trace_id.as_slice()))
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !exported() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        exported(),
        "no export carried the caller's trace id ({} exports)",
        bodies.lock().unwrap().len()
    );
    drop(server);
}
