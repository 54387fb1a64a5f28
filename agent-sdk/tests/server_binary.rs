//! The `agent-server` binary as a child process on the offline model: a
//! session survives SIGTERM (drain, exit 0) and a restart on the same SQLite
//! file or PostgreSQL schema: it is listed as paused, SSE resumes after a
//! `Last-Event-ID` from before the restart, and the next message resumes the
//! conversation with its history. A session whose transcript is gone fails
//! its turn with an `error` event instead of hanging.

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

struct Server {
    child: Child,
    base: String,
    http: reqwest::Client,
}

fn sqlite_url(dir: &std::path::Path) -> String {
    format!("sqlite://{}", dir.join("server.db").display())
}

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
    let cli = agent_sdk::testing::ensure_cli().await.expect("the CLI");
    let mut child = Command::new(env!("CARGO_BIN_EXE_agent-server"))
        .args(["--listen", "127.0.0.1:0", "--drain-seconds", "5", "--cli"])
        .arg(cli)
        .args(args)
        .envs(env.iter().copied())
        .env("DATABASE_URL", database_url)
        .env_remove("ANTHROPIC_API_KEY")
        .env_remove("AGENT_SERVER_TOKEN")
        .current_dir(dir)
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
    let base = line
        .rsplit_once(' ')
        .map(|(_, url)| url.to_owned())
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    Server {
        child,
        base,
        http: reqwest::Client::new(),
    }
}

impl Server {
    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        (
            response.status().as_u16(),
            response.json().await.unwrap_or(Value::Null),
        )
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        (
            response.status().as_u16(),
            response.json().await.unwrap_or(Value::Null),
        )
    }

    /// SSE events `(id, type, data)` from `Last-Event-ID: after` until turn `turn`'s `turn_complete`.
    async fn events_until_complete(
        &self,
        id: &str,
        after: u64,
        turn: u64,
    ) -> Vec<(Option<u64>, String, Value)> {
        let response = self
            .http
            .get(format!("{}/v1/sessions/{id}/events", self.base))
            .header("Last-Event-ID", after.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        self.events_until_complete_from(response, turn).await
    }

    async fn events_until_complete_from(
        &self,
        response: reqwest::Response,
        turn: u64,
    ) -> Vec<(Option<u64>, String, Value)> {
        self.events_until(response, |kind, data| {
            kind == "turn_complete" && data["turn"] == turn
        })
        .await
    }

    /// SSE events `(id, type, data)` until one `last` accepts.
    async fn events_until(
        &self,
        response: reqwest::Response,
        last: impl Fn(&str, &Value) -> bool,
    ) -> Vec<(Option<u64>, String, Value)> {
        use futures_util::StreamExt;
        let mut body = response.bytes_stream();
        let (mut buffer, mut seen) = (String::new(), Vec::new());
        loop {
            while let Some(end) = buffer.find("\n\n") {
                let block: String = buffer.drain(..end + 2).collect();
                let (mut seq, mut kind, mut data) = (None, String::new(), Value::Null);
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        seq = v.trim().parse().ok();
                    } else if let Some(v) = line.strip_prefix("event:") {
                        kind = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data = serde_json::from_str(v.trim()).unwrap();
                    }
                }
                let done = last(&kind, &data);
                seen.push((seq, kind, data));
                if done {
                    return seen;
                }
            }
            let chunk = tokio::time::timeout(Duration::from_secs(90), body.next())
                .await
                .expect("an event within 90 s")
                .expect("the stream goes on")
                .unwrap();
            buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// SIGTERM, then the exit status.
    async fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().expect("running") as i32;
        // SAFETY: sending a signal to our own child's pid.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        tokio::time::timeout(Duration::from_secs(60), self.child.wait())
            .await
            .expect("the server exits after its drain")
            .unwrap()
    }
}

fn texts(events: &[(Option<u64>, String, Value)]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e.1 == "assistant_text")
        .map(|e| e.2["text"].as_str().unwrap().to_owned())
        .collect()
}

/// Sends `text` to the session and reads its events after `after` until the turn's end.
async fn message(
    server: &Server,
    id: &str,
    text: &str,
    after: u64,
) -> Vec<(Option<u64>, String, Value)> {
    let (status, accepted) = server
        .post(
            &format!("/v1/sessions/{id}/messages"),
            json!({"text": text}),
        )
        .await;
    assert_eq!(status, 202, "{accepted}");
    let turn = accepted["turn"].as_u64().unwrap();
    server.events_until_complete(id, after, turn).await
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

    let server = start(dir.path(), database_url).await;
    let (_, listed) = server.get("/v1/sessions").await;
    assert_eq!(listed["sessions"][0]["id"], id.as_str());
    assert_eq!(listed["sessions"][0]["status"], "paused", "{listed}");
    assert_eq!(listed["sessions"][0]["turns"], 1);

    // Resumed after an id from before the restart: the first process's
    // events come from the database.
    let response = server
        .http
        .get(format!("{}/v1/sessions/{id}/events", server.base))
        .header("Last-Event-ID", (last_before - 1).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let replayed = server.events_until_complete_from(response, 1).await;
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

/// The test server's URL with a schema of its own, so runs never share tables.
async fn fresh_postgres_url(url: &str) -> String {
    let schema = format!(
        "binary_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("the test PostgreSQL at {url} is unreachable: {e}"));
    tokio::spawn(connection);
    client
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .await
        .unwrap();
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}options=-c%20search_path%3D{schema}")
}

#[tokio::test]
async fn a_message_that_cannot_resume_fails_its_turn_with_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let server = start(dir.path(), &url).await;
    let (status, created) = server.post("/v1/sessions", json!({})).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let before = message(&server, &id, "hello", 0).await;
    let last_before = before.last().unwrap().0.unwrap();
    assert!(server.terminate().await.success());

    // The transcript is lost from the session store while the server is down.
    let db = rusqlite::Connection::open(dir.path().join("server.db")).unwrap();
    db.execute_batch("DELETE FROM entries; DELETE FROM transcripts;")
        .unwrap();
    drop(db);

    let server = start(dir.path(), &url).await;
    let (status, accepted) = server
        .post(
            &format!("/v1/sessions/{id}/messages"),
            json!({"text": "again"}),
        )
        .await;
    assert_eq!(status, 202, "{accepted}");
    let turn = accepted["turn"].clone();
    let response = server
        .http
        .get(format!("{}/v1/sessions/{id}/events", server.base))
        .header("Last-Event-ID", last_before.to_string())
        .send()
        .await
        .unwrap();
    let events = tokio::time::timeout(
        Duration::from_secs(120),
        server.events_until(response, |kind, data| {
            kind == "error" && data["turn"] == turn
        }),
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
