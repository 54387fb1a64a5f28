//! The agent server's rules through real HTTP on loopback with the real CLI:
//! auth (tokens, tickets, user JWTs), limits, webhooks, tenant work dirs and
//! metrics over one session's life.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use agent_sdk::server::auth::{AuthConfig, JwtKey};
use agent_sdk::server::limits::{Tier, Tiers};
use agent_sdk::server::webhooks::{WebhookConfig, verify_signature};
use agent_sdk::server::{AgentServer, ServerConfig, db};
use agent_sdk::testing::{Script, Turn};
use agent_sdk_e2e::World;
use futures_util::StreamExt;
use serde_json::{Value, json};

const TOKEN: &str = "service-token";
const JWT_SECRET: &str = "jwt-secret-of-the-tests";

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
        .auth(
            AuthConfig::new()
                .token(TOKEN)
                .jwt_key(JwtKey::hs256(JWT_SECRET)),
        )
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

/// An end user's token: HS256 with user, tenant and tier claims.
fn user_jwt(user: &str, tenant: &str) -> String {
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({"sub": user, "tenant": tenant, "exp": exp}),
        &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .unwrap()
}

impl Running {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<Value>,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(bearer) = bearer {
            request = request.bearer_auth(bearer);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        (
            status,
            headers,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let (status, _, body) = self
            .call(reqwest::Method::POST, path, Some(TOKEN), Some(body))
            .await;
        (status, body)
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let (status, _, body) = self
            .call(reqwest::Method::GET, path, Some(TOKEN), None)
            .await;
        (status, body)
    }

    /// Sends a message and reads the session's events up to its `turn_complete`.
    async fn turn(&self, id: &str, text: &str) -> Value {
        let response = self
            .http
            .get(format!("{}/v1/sessions/{id}/events", self.base))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let mut body = response.bytes_stream();
        let (status, accepted) = self
            .post(
                &format!("/v1/sessions/{id}/messages"),
                json!({"text": text}),
            )
            .await;
        assert_eq!(status, 202, "{accepted}");
        let mut buffer = String::new();
        loop {
            if let Some(at) = buffer.find("event: turn_complete\n") {
                let rest = &buffer[at..];
                if let Some(end) = rest.find("\n\n") {
                    let data = rest[..end]
                        .lines()
                        .find_map(|l| l.strip_prefix("data:"))
                        .unwrap();
                    return serde_json::from_str(data.trim()).unwrap();
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
}

#[tokio::test]
async fn tokens_tickets_and_user_jwts_decide_who_may_do_what() {
    let world = World::start(Script::new().then(Turn::text("hi"))).await;
    let server = serve(&world, ServerConfig::default()).await;
    let get = reqwest::Method::GET;

    for bearer in [None, Some("wrong")] {
        let (status, headers, body) = server.call(get.clone(), "/v1/sessions", bearer, None).await;
        assert_eq!(status, 401, "{body}");
        assert!(
            headers["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Bearer")
        );
    }
    assert_eq!(
        server.call(get.clone(), "/healthz", None, None).await.0,
        200
    );

    // A user's token decides the session's user and tenant, not the body.
    let ann = user_jwt("ann", "acme");
    let (status, _, created) = server
        .call(
            reqwest::Method::POST,
            "/v1/sessions",
            Some(&ann),
            Some(json!({"user": "mallory", "tenant": "evil"})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let (status, _, session) = server
        .call(get.clone(), &format!("/v1/sessions/{id}"), Some(&ann), None)
        .await;
    assert_eq!(
        (status, &session["user"], &session["tenant"]),
        (200, &json!("ann"), &json!("acme"))
    );
    // Another user cannot see it (404: never a hint that it exists) nor message it.
    let bob = user_jwt("bob", "acme");
    let session_path = format!("/v1/sessions/{id}");
    assert_eq!(
        server
            .call(get.clone(), &session_path, Some(&bob), None)
            .await
            .0,
        404
    );
    let (status, _, _) = server
        .call(
            reqwest::Method::POST,
            &format!("{session_path}/messages"),
            Some(&bob),
            Some(json!({"text": "hi"})),
        )
        .await;
    assert_eq!(status, 404);
    let (_, _, listed) = server
        .call(get.clone(), "/v1/sessions", Some(&bob), None)
        .await;
    assert_eq!(listed["sessions"], json!([]));

    // EventSource: a ticket in the URL works, the raw token does not.
    let (status, _, ticket) = server
        .call(
            reqwest::Method::POST,
            "/v1/tickets",
            Some(&ann),
            Some(json!({"session_id": id})),
        )
        .await;
    assert_eq!(status, 201, "{ticket}");
    let ticket = ticket["ticket"].as_str().unwrap();
    assert!(!ticket.contains(&ann) && !ticket.contains(TOKEN));
    let events = |query: String| {
        let url = format!("{}{session_path}/events?{query}", server.base);
        let http = server.http.clone();
        async move { http.get(url).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(events(format!("ticket={ticket}")).await, 200);
    assert_eq!(events(format!("ticket={TOKEN}")).await, 401);
    assert_eq!(events(format!("access_token={TOKEN}")).await, 401);
    assert_eq!(events(format!("token={TOKEN}")).await, 401);
}

#[tokio::test]
async fn each_limit_answers_with_its_status() {
    let script = Script::new()
        .then(Turn::tool_use("Bash", json!({"command": "echo one"})))
        .then(Turn::text("never reached: one turn allowed"))
        .then(Turn::text("ok"));
    let world = World::start(script).await;
    let tiers = Tiers::builder()
        .tier(
            "free",
            Tier {
                max_sessions: Some(1),
                max_turns: Some(1),
                budget_usd: Some(1e-9),
                ..Tier::default()
            },
        )
        .default_tier("free")
        .build()
        .unwrap();
    let config = ServerConfig::default()
        .tiers(tiers)
        .max_sessions(2)
        .max_body_bytes(256)
        .max_message_chars(20);
    let server = serve(&world, config).await;

    let (status, ann) = server
        .post(
            "/v1/sessions",
            json!({"user": "ann", "allowed_tools": ["Bash"], "max_turns": 5}),
        )
        .await;
    assert_eq!(status, 201, "{ann}");
    let ann = ann["id"].as_str().unwrap().to_owned();
    let (status, refused) = server.post("/v1/sessions", json!({"user": "ann"})).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (429, Some("too_many_sessions"))
    );
    assert_eq!(
        server.post("/v1/sessions", json!({"user": "bob"})).await.0,
        201
    );
    let (status, refused) = server.post("/v1/sessions", json!({"user": "cy"})).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (503, Some("at_capacity"))
    );

    let messages = format!("/v1/sessions/{ann}/messages");
    let (status, refused) = server
        .post(&messages, json!({"text": "x".repeat(21)}))
        .await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (413, Some("message_too_long"))
    );
    let (status, refused) = server
        .post(&messages, json!({"text": "x".repeat(300)}))
        .await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (413, Some("body_too_large"))
    );

    // The tier's one turn beats the request's five: the tool call ends the turn.
    let complete = server.turn(&ann, "run it").await;
    assert_eq!(complete["subtype"], "error_max_turns", "{complete}");
    assert_eq!(world.env.api().main_loop_requests().len(), 1);
    assert!(
        complete["usage"]["cost_usd"].as_f64().unwrap() > 0.0,
        "{complete}"
    );

    // Past the budget: 402 on the next message.
    let (status, refused) = server.post(&messages, json!({"text": "again"})).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (402, Some("budget_exceeded")),
        "{refused}"
    );
    let (_, session) = server.get(&format!("/v1/sessions/{ann}")).await;
    assert!(
        session["usage"]["cost_usd"].as_f64().unwrap_or_default() > 0.0,
        "{session}"
    );
}

#[tokio::test]
async fn requests_past_the_rate_get_429_with_retry_after() {
    let world = World::start(Script::new()).await;
    let server = serve(&world, ServerConfig::default().rate_limit_per_minute(3)).await;
    for _ in 0..3 {
        assert_eq!(server.get("/v1/sessions").await.0, 200);
    }
    let (status, headers, body) = server
        .call(reqwest::Method::GET, "/v1/sessions", Some(TOKEN), None)
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (429, Some("rate_limited"))
    );
    let wait: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=20).contains(&wait), "{wait}");
    // Another caller has its own budget; health checks none.
    let other = user_jwt("ann", "acme");
    let (status, _, _) = server
        .call(reqwest::Method::GET, "/v1/sessions", Some(&other), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        server
            .call(reqwest::Method::GET, "/healthz", None, None)
            .await
            .0,
        200
    );
}

type Received = Arc<Mutex<Vec<(String, String, String)>>>;

/// A webhook receiver on loopback: (event header, signature header, body).
async fn receiver() -> (String, Received) {
    let received: Received = Arc::default();
    let store = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let store = store.clone();
            async move {
                let header = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned()
                };
                store.lock().unwrap().push((
                    header("x-agent-event"),
                    header("x-agent-signature"),
                    body,
                ));
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

#[tokio::test]
async fn one_sessions_life_moves_webhooks_work_dirs_and_metrics() {
    let world = World::start(
        Script::new()
            .then(Turn::text("first"))
            .then(Turn::text("the task's answer")),
    )
    .await;
    let (url, received) = receiver().await;
    let root = tempfile::tempdir().unwrap();
    let tiers = Tiers::builder()
        .tier(
            "t",
            Tier {
                // A turn of the fake API costs about $0.08: the first stays under, the task's crosses it.
                budget_usd: Some(0.1),
                ..Tier::default()
            },
        )
        .default_tier("t")
        .build()
        .unwrap();
    let config = ServerConfig::default()
        .tiers(tiers)
        .workdir_root(root.path())
        .webhooks(
            WebhookConfig::new()
                .tenant("acme", url, "whsec")
                .poll_interval(Duration::from_millis(50)),
        );
    let server = serve(&world, config).await;

    // Work dirs: under <root>/<tenant>/<user>/, an escaping cwd is 400.
    let (status, refused) = server
        .post(
            "/v1/sessions",
            json!({"user": "ann", "tenant": "acme", "cwd": "../bob"}),
        )
        .await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (400, Some("invalid_workdir"))
    );
    let (status, created) = server
        .post(
            "/v1/sessions",
            json!({"user": "ann", "tenant": "acme", "cwd": "proj"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let workdir = root.path().canonicalize().unwrap().join("acme/ann/proj");
    assert!(workdir.is_dir());

    server.turn(&id, "hello").await;
    let system = world.env.api().main_loop_requests()[0].body.to_string();
    assert!(
        system.contains(workdir.to_str().unwrap()),
        "the CLI works in {workdir:?}"
    );
    // Replay from the start (an SSE replay) and a position long gone (a 412).
    let url = |after: &str| format!("{}/v1/sessions/{id}/events?after={after}", server.base);
    let replay = server
        .http
        .get(url("1"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 200);
    drop(replay);
    let gone = server
        .http
        .get(url("99999"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 412);

    let (status, task) = server
        .post(
            "/v1/tasks",
            json!({"prompt": "do it", "session": {"id": id, "reuse_existing": true}}),
        )
        .await;
    assert_eq!(status, 201, "{task}");
    let task_id = task["task_id"].as_str().unwrap().to_owned();

    // Every event of the life arrives signed.
    let wanted = [
        "session.created",
        "turn.completed",
        "budget.threshold",
        "task.completed",
    ];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let events: Vec<String> = received
            .lock()
            .unwrap()
            .iter()
            .map(|r| r.0.clone())
            .collect();
        if wanted.iter().all(|w| events.iter().any(|e| e == w)) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "webhooks so far: {events:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let received = received.lock().unwrap().clone();
    let mut percents = Vec::new();
    for (event, signature, body) in &received {
        verify_signature(
            "whsec",
            signature,
            body.as_bytes(),
            Duration::from_secs(300),
        )
        .unwrap_or_else(|err| panic!("{event}: {err:?}"));
        let body: Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["event"], event.as_str());
        assert_eq!(body["tenant"], "acme");
        match event.as_str() {
            "session.created" => assert_eq!(body["data"]["session_id"], id),
            "turn.completed" => {
                assert!(body["data"]["cost_usd"].as_f64().unwrap() > 0.0, "{body}");
                assert!(body["data"]["turns"].as_u64().unwrap() >= 1, "{body}");
            }
            "budget.threshold" => percents.push(body["data"]["percent"].as_u64().unwrap()),
            "task.completed" => {
                assert_eq!(body["data"]["task_id"], task_id);
                assert_eq!(body["data"]["result"], "the task's answer");
            }
            other => panic!("unexpected webhook {other}"),
        }
    }
    percents.sort_unstable();
    assert_eq!(percents, [75, 90, 100], "each threshold crossed once");
    // The budget is spent: the next message is 402.
    assert_eq!(
        server
            .post(
                &format!("/v1/sessions/{id}/messages"),
                json!({"text": "more"})
            )
            .await
            .0,
        402
    );

    // Metrics count the life.
    let (status, _, text) = server
        .call(reqwest::Method::GET, "/metrics", Some(TOKEN), None)
        .await;
    assert_eq!(status, 200);
    let text = text.as_str().unwrap().to_owned();
    let value = |prefix: &str| -> f64 {
        text.lines()
            .filter(|l| l.starts_with(prefix))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    assert_eq!(value("agent_server_sessions_created_total"), 1.0, "{text}");
    assert_eq!(value("agent_server_turns_total"), 2.0, "{text}");
    assert!(value("agent_server_tokens_total") > 0.0, "{text}");
    assert!(value("agent_server_sse_replays_total") >= 1.0, "{text}");
    assert_eq!(value("agent_server_sse_gone_total"), 1.0, "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("agent_server_http_requests_total")
                && l.contains("/v1/sessions/{id}/messages")),
        "{text}"
    );
}

#[tokio::test]
async fn permission_outcomes_are_counted_in_the_metrics() {
    let script = Script::new()
        .then(Turn::tool_use("Bash", json!({"command": "touch a.txt"})))
        .then(Turn::text("denied, fine"));
    let world = World::start(script).await;
    let config = ServerConfig::default().permission_timeout(Duration::from_millis(500));
    let server = serve(&world, config).await;
    let (status, created) = server
        .post("/v1/sessions", json!({"permission_mode": "default"}))
        .await;
    assert_eq!(status, 201, "{created}");
    let complete = server
        .turn(created["id"].as_str().unwrap(), "touch it")
        .await;
    assert_eq!(complete["result"], "denied, fine");
    let (_, _, text) = server
        .call(reqwest::Method::GET, "/metrics", Some(TOKEN), None)
        .await;
    let text = text.as_str().unwrap();
    assert!(
        text.contains("agent_server_permission_requests_total{outcome=\"timeout\"} 1"),
        "{text}"
    );
}
