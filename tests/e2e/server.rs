//! The agent server over real HTTP on loopback: the router with the real CLI
//! against the scripted fake Messages API, and the `agent-server` binary as a
//! child process (drain on SIGTERM, restart with resume).

use std::time::Duration;

use agent_sdk::server::{AgentServer, ServerConfig, db};
use agent_sdk::testing::{Script, Turn};
use agent_sdk_e2e::World;
use futures_util::StreamExt;
use serde_json::{Value, json};

/// A server on a loopback port, its sessions' CLIs pointed at the world's fake API.
struct Running {
    base: String,
    http: reqwest::Client,
    _server: AgentServer,
}

async fn serve(world: &World, config: ServerConfig) -> Running {
    let cli = agent_sdk::testing::ensure_cli().await.expect("the CLI");
    let config = config
        .cli_path(cli)
        .cli_env(world.env.cli_env())
        .default_cwd(world.env.cwd());
    let server = AgentServer::builder()
        .db(db::open("memory://").await.expect("memory db"))
        .config(config)
        .build()
        .await
        .expect("server builds");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = server.router();
    tokio::spawn(async move { axum::serve(listener, router).await });
    Running {
        base,
        http: reqwest::Client::new(),
        _server: server,
    }
}

impl Running {
    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn create(&self, body: Value) -> String {
        let (status, created) = self.post("/v1/sessions", body).await;
        assert_eq!(status, 201, "{created}");
        created["id"].as_str().unwrap().to_owned()
    }

    async fn events(&self, id: &str, after: &str) -> Sse {
        sse(
            &self.http,
            &format!("{}/v1/sessions/{id}/events?after={after}", self.base),
        )
        .await
    }
}

/// An SSE client: events as `(id, type, data)`.
struct Sse {
    body: std::pin::Pin<
        Box<dyn futures_util::Stream<Item = reqwest::Result<axum::body::Bytes>> + Send>,
    >,
    buffer: String,
}

async fn sse(http: &reqwest::Client, url: &str) -> Sse {
    let response = http.get(url).send().await.unwrap();
    assert_eq!(response.status(), 200, "{url}");
    Sse {
        body: Box::pin(response.bytes_stream()),
        buffer: String::new(),
    }
}

impl Sse {
    async fn next(&mut self) -> (Option<u64>, String, Value) {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut id, mut kind, mut data) = (None, String::new(), String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = Some(v.trim().parse().unwrap());
                    } else if let Some(v) = line.strip_prefix("event:") {
                        kind = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if kind.is_empty() {
                    continue; // a keep-alive comment
                }
                return (id, kind, serde_json::from_str(&data).unwrap());
            }
            let chunk = tokio::time::timeout(Duration::from_secs(90), self.body.next())
                .await
                .expect("an event within 90 s")
                .expect("the stream goes on")
                .unwrap();
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// Events until (and including) the first of `kind`.
    async fn until(&mut self, kind: &str) -> Vec<(Option<u64>, String, Value)> {
        let mut seen = Vec::new();
        loop {
            let event = self.next().await;
            let done = event.1 == kind;
            seen.push(event);
            if done {
                return seen;
            }
        }
    }
}

fn of_kind<'a>(events: &'a [(Option<u64>, String, Value)], kind: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e.1 == kind)
        .map(|e| &e.2)
        .collect()
}

#[tokio::test]
async fn a_session_answers_a_message_over_sse_and_reports_its_usage() {
    let world = World::start(Script::new().then(Turn::text("Hello from the model."))).await;
    let server = serve(&world, ServerConfig::default()).await;

    let (status, health) = server.get("/healthz").await;
    assert_eq!(status, 200);
    assert_eq!(health["ok"], true);

    let (status, created) = server
        .post(
            "/v1/sessions",
            json!({"system_prompt": "Be brief.", "metadata": {"k": 1}}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    assert_eq!(created["events_url"], format!("/v1/sessions/{id}/events"));
    assert_eq!(created["ws_url"], format!("/v1/sessions/{id}/ws"));

    let mut events = server.events(id, "0").await;
    let (status, accepted) = server
        .post(
            &format!("/v1/sessions/{id}/messages"),
            json!({"text": "hi"}),
        )
        .await;
    assert_eq!((status, accepted["turn"].as_u64()), (202, Some(1)));
    let seen = events.until("turn_complete").await;

    let ids: Vec<u64> = seen
        .iter()
        .map(|e| e.0.expect("every log event has an id"))
        .collect();
    assert!(
        ids.windows(2).all(|w| w[1] == w[0] + 1),
        "seq increases by one: {ids:?}"
    );
    assert_eq!(of_kind(&seen, "user_message")[0]["text"], "hi");
    assert_eq!(
        of_kind(&seen, "assistant_text")[0]["text"],
        "Hello from the model."
    );
    let complete = of_kind(&seen, "turn_complete")[0];
    assert_eq!(complete["turn"], 1);
    assert!(
        complete["usage"]["output_tokens"].as_u64().unwrap() > 0,
        "{complete}"
    );
    assert!(
        world.env.api().main_loop_requests()[0].body["system"]
            .to_string()
            .contains("Be brief.")
    );

    let (status, session) = server.get(&format!("/v1/sessions/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(session["turns"], 1);
    assert_eq!(session["metadata"]["k"], 1);
    assert!(session["claude_session_id"].is_string(), "{session}");
    let (_, listed) = server.get("/v1/sessions").await;
    assert_eq!(listed["sessions"][0]["id"], id);

    // Unknown session, malformed and unretained positions.
    assert_eq!(
        server
            .post("/v1/sessions/nope/messages", json!({"text": "x"}))
            .await
            .0,
        404
    );
    let url = |after: &str| format!("{}/v1/sessions/{id}/events?after={after}", server.base);
    let bad = server.http.get(url("abc")).send().await.unwrap();
    assert_eq!(bad.status(), 400);
    let ahead = server.http.get(url("9999")).send().await.unwrap();
    assert_eq!(ahead.status(), 412);
    let body: Value = ahead.json().await.unwrap();
    assert_eq!(body["error"]["code"], "event_not_retained");

    // Replay with Last-Event-ID starts right after it.
    let response = server
        .http
        .get(format!("{}/v1/sessions/{id}/events", server.base))
        .header("Last-Event-ID", "2")
        .send()
        .await
        .unwrap();
    let mut replay = Sse {
        body: Box::pin(response.bytes_stream()),
        buffer: String::new(),
    };
    assert_eq!(replay.next().await.0, Some(3));

    // Closed: 204, then messages are refused with 409.
    let closed = server
        .http
        .delete(format!("{}/v1/sessions/{id}", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(closed.status(), 204);
    let (status, refused) = server
        .post(&format!("/v1/sessions/{id}/messages"), json!({"text": "x"}))
        .await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (409, Some("session_closed"))
    );
}

#[tokio::test]
async fn a_permission_request_is_decided_by_the_first_reply() {
    let script = Script::new()
        .then(Turn::tool_use(
            "Bash",
            json!({"command": "touch made.txt && echo permitted"}),
        ))
        .then(Turn::from_fn(|request| {
            let output = request.tool_results().last().map(|r| r.text.clone());
            Turn::text(format!("tool said {}", output.unwrap_or_default().trim()))
        }));
    let world = World::start(script).await;
    let server = serve(&world, ServerConfig::default()).await;
    let id = server.create(json!({"permission_mode": "default"})).await;
    let mut events = server.events(&id, "0").await;
    server
        .post(
            &format!("/v1/sessions/{id}/messages"),
            json!({"text": "run it"}),
        )
        .await;

    let seen = events.until("permission_request").await;
    let request = of_kind(&seen, "permission_request")[0].clone();
    assert_eq!(request["tool_name"], "Bash");
    assert_eq!(
        request["input"]["command"],
        "touch made.txt && echo permitted"
    );
    let cid = request["correlation_id"].as_str().unwrap();
    let path = format!("/v1/sessions/{id}/permissions/{cid}");
    assert_eq!(
        server.post(&path, json!({"behavior": "allow"})).await.0,
        200
    );
    let (status, late) = server.post(&path, json!({"behavior": "deny"})).await;
    assert_eq!(
        (status, late["error"]["code"].as_str()),
        (409, Some("already_resolved"))
    );

    let seen = events.until("turn_complete").await;
    assert_eq!(
        of_kind(&seen, "permission_resolved")[0]["behavior"],
        "allow"
    );
    assert!(
        of_kind(&seen, "tool_result")[0]["content"]
            .as_str()
            .unwrap()
            .contains("permitted")
    );
    assert_eq!(
        of_kind(&seen, "turn_complete")[0]["result"],
        "tool said permitted"
    );
}

#[tokio::test]
async fn an_unanswered_permission_request_is_denied_with_a_message_the_model_sees() {
    let script = Script::new()
        .then(Turn::tool_use(
            "Bash",
            json!({"command": "touch never.txt"}),
        ))
        .then(Turn::text("understood"));
    let world = World::start(script).await;
    let server = serve(
        &world,
        ServerConfig::default().permission_timeout(Duration::from_secs(1)),
    )
    .await;
    let id = server.create(json!({"permission_mode": "default"})).await;
    let mut events = server.events(&id, "0").await;
    server
        .post(
            &format!("/v1/sessions/{id}/messages"),
            json!({"text": "run it"}),
        )
        .await;

    let seen = events.until("turn_complete").await;
    let resolved = of_kind(&seen, "permission_resolved")[0];
    assert_eq!(
        (resolved["behavior"].as_str(), resolved["by"].as_str()),
        (Some("deny"), Some("timeout"))
    );
    let shown = &world.env.api().main_loop_requests()[1].tool_results()[0].text;
    assert!(
        shown.contains("Nobody answered the permission request"),
        "{shown}"
    );
}

#[tokio::test]
async fn a_task_runs_to_completion_and_reports_its_result() {
    let world = World::start(Script::new().then(Turn::text("task done"))).await;
    let server = serve(&world, ServerConfig::default()).await;
    let (status, created) = server
        .post(
            "/v1/tasks",
            json!({"task_id": "t-1", "prompt": "do it", "options": {"max_turns": 2}}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        (created["task_id"].as_str(), created["status"].as_str()),
        (Some("t-1"), Some("running"))
    );
    let task = loop {
        let (_, task) = server.get("/v1/tasks/t-1").await;
        if task["status"] != "running" {
            break task;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(task["status"], "completed", "{task}");
    assert_eq!(task["result"], "task done");
    assert!(task["duration_ms"].as_i64().is_some());
    assert_eq!(
        server
            .post("/v1/tasks", json!({"task_id": "t-1", "prompt": "again"}))
            .await
            .0,
        409
    );
    assert_eq!(
        server.post("/v1/tasks/t-1/interrupt", json!({})).await.0,
        409
    );
    assert_eq!(server.get("/v1/tasks/nope").await.0, 404);
}

#[tokio::test]
async fn every_route_of_the_router_is_in_the_openapi_document() {
    let world = World::start(Script::new()).await;
    let server = serve(&world, ServerConfig::default()).await;
    let (status, doc) = server.get("/openapi.json").await;
    assert_eq!(status, 200);
    assert_eq!(doc, AgentServer::openapi());
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let url = format!(
                "{}{}",
                server.base,
                path.replace("{id}", "x").replace("{correlation_id}", "y")
            );
            let request = server
                .http
                .request(method.to_uppercase().parse().unwrap(), url);
            let status = request.send().await.unwrap().status().as_u16();
            assert!(
                status != 405,
                "{method} {path} is documented but not routed"
            );
        }
    }
}
