//! The agent server over real HTTP on loopback: the router with the real CLI
//! against the scripted fake Messages API, and the `agent-server` binary as a
//! child process (drain on SIGTERM, restart with resume).

use std::time::Duration;

use agent_sdk::server::{AgentServer, ServerConfig, db};
use agent_sdk::testing::{Script, Turn};
use agent_sdk_e2e::World;
use agent_sdk_e2e::server::{Sse, TestServer, of_kind, test_config};
use serde_json::{Value, json};

#[tokio::test]
async fn a_session_answers_a_message_over_sse_and_reports_its_usage() {
    let world = World::start(Script::new().then(Turn::text("Hello from the model."))).await;
    let server = TestServer::start(&world, ServerConfig::default()).await;

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

    let mut events = server.events(id, Some(0)).await;
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
    let mut replay = Sse::open(
        server
            .http
            .get(format!("{}/v1/sessions/{id}/events", server.base))
            .header("Last-Event-ID", "2"),
    )
    .await;
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
    let server = TestServer::start(&world, ServerConfig::default()).await;
    let id = server.create(json!({"permission_mode": "default"})).await;
    let mut events = server.events(&id, Some(0)).await;
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
    let server = TestServer::start(
        &world,
        ServerConfig::default().permission_timeout(Duration::from_secs(1)),
    )
    .await;
    let id = server.create(json!({"permission_mode": "default"})).await;
    let mut events = server.events(&id, Some(0)).await;
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
    // The model takes a while, so the task is seen running.
    let world = World::start(
        Script::new().then(Turn::text("task done").with_delay(Duration::from_secs(1))),
    )
    .await;
    let server = TestServer::start(&world, ServerConfig::default()).await;
    assert_eq!(
        metric(&server, "agent_server_running_tasks").await,
        Some(0.0)
    );
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
    assert_eq!(
        metric(&server, "agent_server_running_tasks").await,
        Some(1.0)
    );
    let task = task_end(&server, "t-1").await;
    assert_eq!(task["status"], "completed", "{task}");
    assert_eq!(
        metric(&server, "agent_server_running_tasks").await,
        Some(0.0)
    );
    assert_eq!(
        metric(
            &server,
            "agent_server_tasks_finished_total{status=\"completed\"}"
        )
        .await,
        Some(1.0)
    );
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
    let server = TestServer::start(&world, ServerConfig::default()).await;
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

#[tokio::test]
async fn a_session_with_a_subscriber_is_not_evicted_for_idleness() {
    let world = World::start(
        Script::new()
            .then(Turn::text("first"))
            .then(Turn::text("after the eviction")),
    )
    .await;
    let idle = Duration::from_millis(800);
    let server = TestServer::start(&world, ServerConfig::default().idle_timeout(idle)).await;
    let id = server.create(json!({})).await;
    server.turn(&id, "hi").await;
    let live = async || server.get("/healthz").await.1["live_sessions"].as_u64();

    // An SSE client, then a WebSocket client, each keeps the idle CLI live
    // for several idle timeouts.
    let sse = server.events(&id, None).await;
    tokio::time::sleep(idle * 4).await;
    assert_eq!(live().await, Some(1), "evicted under an SSE subscriber");
    let url = format!("ws://{}/v1/sessions/{id}/ws", server.addr);
    let (socket, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .unwrap();
    drop(sse);
    tokio::time::sleep(idle * 4).await;
    assert_eq!(
        live().await,
        Some(1),
        "evicted under a WebSocket subscriber"
    );

    // Without subscribers it goes after the timeout, and the next message resumes it.
    drop(socket);
    agent_sdk_e2e::loopback::eventually("the idle eviction", idle * 20, async || {
        live().await == Some(0)
    })
    .await;
    let complete = server.turn(&id, "again").await;
    assert_eq!(complete["result"], "after the eviction", "{complete}");
}

#[tokio::test]
async fn the_first_turn_after_a_restart_costs_only_its_own_tokens() {
    let world = World::start(
        Script::new()
            .then(Turn::text("one"))
            .then(Turn::text("two"))
            .then(Turn::text("three")),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("server.db").display());
    let start = async || {
        let server = AgentServer::builder()
            .db(db::open(&url).await.unwrap())
            .config(test_config(&world, ServerConfig::default()).await)
            .build()
            .await
            .unwrap();
        TestServer::serve(server).await
    };
    let first = start().await;
    let id = first.create(json!({})).await;
    let mut turns = vec![
        first.turn(&id, "first").await,
        first.turn(&id, "second").await,
    ];
    first.server.drain().await;
    drop(first);

    // The CLI resumed in a new process reports a running total that starts
    // from what it restored: the server charges the turn its own part only.
    let second = start().await;
    turns.push(second.turn(&id, "third").await);
    let cost = |turn: &Value| turn["usage"]["cost_usd"].as_f64().unwrap();
    let input = |turn: &Value| turn["usage"]["input_tokens"].as_f64().unwrap();
    assert_eq!(turns[2]["result"], "three", "{:?}", turns[2]);
    // The fake API prices each request by its size: the third turn's cost
    // relates to the second's as their input tokens do (output is one token).
    let expected = cost(&turns[1]) * input(&turns[2]) / input(&turns[1]);
    assert!(
        (cost(&turns[2]) - expected).abs() < expected * 0.01,
        "turn 3 cost {} where its tokens say {expected}: {turns:?}",
        cost(&turns[2])
    );
    let (_, session) = second.get(&format!("/v1/sessions/{id}")).await;
    let sum: f64 = turns.iter().map(cost).sum();
    let charged = session["usage"]["cost_usd"].as_f64().unwrap();
    assert!(
        (charged - sum).abs() < 1e-9,
        "{charged} != {sum}: {session}"
    );
    assert_eq!(session["turns"], 3);
}

/// A sample's value in `/metrics` text: the line starting with `series ` (name and labels as rendered).
async fn metric(server: &TestServer, series: &str) -> Option<f64> {
    let text = server
        .http
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|value| value.trim().parse().unwrap())
}

/// Polls a task until it is no longer `running`.
async fn task_end(server: &TestServer, task_id: &str) -> Value {
    let path = format!("/v1/tasks/{task_id}");
    for _ in 0..600 {
        let (status, task) = server.get(&path).await;
        assert_eq!(status, 200, "{task}");
        if task["status"] != "running" {
            return task;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("task {task_id} still running after a minute");
}

/// The user's sessions that are not closed or failed (what counts toward their limit).
async fn open_sessions(server: &TestServer, user: &str) -> Vec<Value> {
    let (status, listed) = server.get(&format!("/v1/sessions?user={user}")).await;
    assert_eq!(status, 200, "{listed}");
    listed["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| !matches!(s["status"].as_str(), Some("closed" | "failed")))
        .cloned()
        .collect()
}

#[tokio::test]
async fn a_refused_task_leaves_nothing_that_blocks_a_retry() {
    use agent_sdk::server::limits::{Tier, Tiers};
    let world = World::start(Script::new().then(Turn::text("done the second time"))).await;
    let tiers = Tiers::builder()
        .tier(
            "free",
            Tier {
                max_sessions: Some(2),
                budget_usd: Some(1e-9),
                ..Tier::default()
            },
        )
        .default_tier("free")
        .build()
        .unwrap();
    let config = ServerConfig::default().tiers(tiers).max_message_chars(20);
    let server = TestServer::start(&world, config).await;
    let task = |id: &str, prompt: &str| json!({"task_id": id, "prompt": prompt, "options": {"user": "ann"}});

    // Too long: 413, no task stored, the session made for it closed.
    let (status, refused) = server.post("/v1/tasks", task("t-1", &"x".repeat(21))).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (413, Some("message_too_long")),
        "{refused}"
    );
    assert_eq!(server.get("/v1/tasks/t-1").await.0, 404);
    let (_, listed) = server.get("/v1/tasks").await;
    assert_eq!(listed["tasks"], json!([]), "{listed}");
    assert_eq!(open_sessions(&server, "ann").await, Vec::<Value>::new());

    // The same id again, now within the limit: it runs.
    let (status, created) = server.post("/v1/tasks", task("t-1", "do it")).await;
    assert_eq!(status, 201, "{created}");
    let done = task_end(&server, "t-1").await;
    assert_eq!(
        (done["status"].as_str(), done["result"].as_str()),
        (Some("completed"), Some("done the second time")),
        "{done}"
    );
    assert_eq!(open_sessions(&server, "ann").await.len(), 1);

    // Past the budget: 402 each time, and no refused task's session stays
    // open (with two allowed, a third attempt would otherwise be a 429).
    for _ in 0..3 {
        let (status, refused) = server.post("/v1/tasks", task("t-2", "more")).await;
        assert_eq!(
            (status, refused["error"]["code"].as_str()),
            (402, Some("budget_exceeded")),
            "{refused}"
        );
        assert_eq!(server.get("/v1/tasks/t-2").await.0, 404);
        assert_eq!(open_sessions(&server, "ann").await.len(), 1);
    }
}

#[tokio::test]
async fn a_task_takes_a_cwd_under_the_work_dir_root() {
    let world = World::start(Script::new().then(Turn::text("worked there"))).await;
    let root = tempfile::tempdir().unwrap();
    let config = ServerConfig::default().workdir_root(root.path());
    let server = TestServer::start(&world, config).await;
    let owner = json!({"user": "ann", "tenant": "acme"});

    let (status, refused) = server
        .post(
            "/v1/tasks",
            json!({"prompt": "x", "cwd": "../bob", "options": owner}),
        )
        .await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (400, Some("invalid_workdir")),
        "{refused}"
    );
    let (status, refused) = server
        .post(
            "/v1/tasks",
            json!({"prompt": "x", "cwd": "a", "options": {"user": "ann", "cwd": "b"}}),
        )
        .await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (400, Some("invalid_request")),
        "{refused}"
    );

    let (status, created) = server
        .post(
            "/v1/tasks",
            json!({"task_id": "t-cwd", "prompt": "work", "cwd": "proj", "options": owner}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let done = task_end(&server, "t-cwd").await;
    assert_eq!(done["status"], "completed", "{done}");
    let workdir = root.path().canonicalize().unwrap().join("acme/ann/proj");
    assert!(workdir.is_dir());
    let request = world.env.api().main_loop_requests()[0].body.to_string();
    assert!(
        request.contains(workdir.to_str().unwrap()),
        "the CLI works in {workdir:?}"
    );
}

#[tokio::test]
async fn an_idle_eviction_pauses_the_session_counts_it_and_the_next_message_resumes() {
    let world = World::start(
        Script::new()
            .then(Turn::text("first answer"))
            .then(Turn::text("after the eviction")),
    )
    .await;
    let idle = Duration::from_millis(800);
    let server = TestServer::start(&world, ServerConfig::default().idle_timeout(idle)).await;
    let id = server.create(json!({})).await;
    server.turn(&id, "remember the word kumquat").await;
    assert_eq!(
        metric(&server, "agent_server_live_sessions").await,
        Some(1.0)
    );

    agent_sdk_e2e::loopback::eventually("the idle eviction", idle * 20, async || {
        metric(
            &server,
            "agent_server_sessions_evicted_total{reason=\"idle\"}",
        )
        .await
            == Some(1.0)
    })
    .await;
    agent_sdk_e2e::loopback::eventually("the record paused", idle * 5, async || {
        server.get(&format!("/v1/sessions/{id}")).await.1["status"] == "paused"
    })
    .await;
    assert_eq!(
        metric(&server, "agent_server_live_sessions").await,
        Some(0.0)
    );
    let mut replay = server.events(&id, Some(0)).await;
    let seen = replay.until_event(|e| e.1 == "status" && e.2["status"] == "paused");
    tokio::time::timeout(Duration::from_secs(10), seen)
        .await
        .expect("a paused status event");

    let complete = server.turn(&id, "what was the word?").await;
    assert_eq!(complete["result"], "after the eviction", "{complete}");
    let resumed = &world.env.api().main_loop_requests()[1];
    assert!(
        resumed.body["messages"].to_string().contains("kumquat"),
        "the resumed CLI sent the earlier turn: {}",
        resumed.body["messages"]
    );
    let (_, session) = server.get(&format!("/v1/sessions/{id}")).await;
    assert_eq!(
        (session["status"].as_str(), session["turns"].as_u64()),
        (Some("idle"), Some(2))
    );
    assert_eq!(
        metric(&server, "agent_server_live_sessions").await,
        Some(1.0)
    );
}

#[tokio::test]
async fn interrupts_end_a_running_turn_and_a_running_task() {
    let world = World::start(
        Script::new()
            .then(Turn::text("too late").with_delay(Duration::from_secs(60)))
            .then(Turn::text("task too late").with_delay(Duration::from_secs(60)))
            .then(Turn::text("spare")),
    )
    .await;
    let server = TestServer::start(&world, ServerConfig::default()).await;
    let api = world.env.api();

    // A session's turn.
    let id = server.create(json!({})).await;
    let mut events = server.events(&id, Some(0)).await;
    let turn = server.message(&id, "slow").await;
    api.wait_for_main_loop_requests(1, Duration::from_secs(30))
        .await
        .unwrap();
    let (status, _) = server
        .post(&format!("/v1/sessions/{id}/interrupt"), json!({}))
        .await;
    assert_eq!(status, 202);
    let seen = tokio::time::timeout(Duration::from_secs(30), events.until_turn(turn))
        .await
        .expect("the interrupt ends the turn well before the model answers");
    let complete = &seen.last().unwrap().2;
    assert_eq!(complete["interrupted"], true, "{complete}");
    assert!(!seen.iter().any(|e| e.1 == "assistant_text"), "{seen:?}");

    // A task's turn.
    let (status, created) = server
        .post(
            "/v1/tasks",
            json!({"task_id": "t-slow", "prompt": "slow task"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    api.wait_for_main_loop_requests(2, Duration::from_secs(30))
        .await
        .unwrap();
    let (status, answer) = server.post("/v1/tasks/t-slow/interrupt", json!({})).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (202, Some("interrupted")),
        "{answer}"
    );
    // Its turn ends well before the model would answer: then it has an end time.
    let done = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let (_, task) = server.get("/v1/tasks/t-slow").await;
            if task["finished_at"].is_i64() {
                return task;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the task ends well before the model answers");
    assert_eq!(done["status"], "interrupted", "{done}");
    assert_eq!(
        server.post("/v1/tasks/t-slow/interrupt", json!({})).await.0,
        409
    );
}

#[tokio::test]
async fn a_full_message_queue_is_a_503() {
    let world = World::start(
        Script::new()
            .then(Turn::text("too late").with_delay(Duration::from_secs(60)))
            .then(Turn::text("queued one")),
    )
    .await;
    let server = TestServer::start(&world, ServerConfig::default().queue_bound(1)).await;
    let id = server.create(json!({})).await;
    let mut events = server.events(&id, Some(0)).await;
    let first = server.message(&id, "slow").await;
    // The first turn is running (its request is at the model): one may wait.
    world
        .env
        .api()
        .wait_for_main_loop_requests(1, Duration::from_secs(30))
        .await
        .unwrap();
    let second = server.message(&id, "queued").await;
    let (status, refused) = server
        .post(
            &format!("/v1/sessions/{id}/messages"),
            json!({"text": "one too many"}),
        )
        .await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (503, Some("queue_full")),
        "{refused}"
    );

    // Once the running turn ends, the queued one runs.
    server
        .post(&format!("/v1/sessions/{id}/interrupt"), json!({}))
        .await;
    events.until_turn(first).await;
    let seen = events.until_turn(second).await;
    assert_eq!(seen.last().unwrap().2["result"], "queued one", "{seen:?}");
}

#[tokio::test]
async fn a_session_the_supervisor_gives_up_is_failed_with_an_event() {
    use std::os::unix::fs::PermissionsExt;
    let world = World::start(Script::new().then(Turn::text("alive once"))).await;
    // A CLI that starts once (telling its pid) and fails every start after.
    let dir = tempfile::tempdir().unwrap();
    let cli = agent_sdk::testing::ensure_cli().await.unwrap();
    let wrapper = dir.path().join("claude-once");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nD='{dir}'\nif [ -e \"$D/started\" ]; then exit 1; fi\ntouch \"$D/started\"\necho $$ > \"$D/pid\"\nexec '{cli}' \"$@\"\n",
            dir = dir.path().display(),
            cli = cli.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let config = test_config(&world, ServerConfig::default())
        .await
        .cli_path(&wrapper);
    let server = AgentServer::builder()
        .db(db::open("memory://").await.unwrap())
        .config(config)
        .build()
        .await
        .unwrap();
    let server = TestServer::serve(server).await;
    let id = server.create(json!({})).await;
    assert_eq!(server.turn(&id, "hi").await["result"], "alive once");
    let mut events = server.events(&id, None).await;

    // Its CLI dies; every restart fails: the supervisor gives it up.
    let pid = std::fs::read_to_string(dir.path().join("pid")).unwrap();
    let killed = std::process::Command::new("kill")
        .args(["-9", pid.trim()])
        .status()
        .unwrap();
    assert!(killed.success());
    let seen = tokio::time::timeout(
        Duration::from_secs(30),
        events.until_event(|e| e.1 == "status" && e.2["status"] == "failed"),
    )
    .await
    .expect("a failed status event");
    assert!(
        !seen
            .iter()
            .any(|e| e.1 == "status" && e.2["status"] == "idle"),
        "{seen:?}"
    );
    let error = tokio::time::timeout(Duration::from_secs(10), events.until("error"))
        .await
        .expect("an error event");
    assert_eq!(error.last().unwrap().2["code"], "cli_failed", "{error:?}");
    let (_, session) = server.get(&format!("/v1/sessions/{id}")).await;
    assert_eq!(session["status"], "failed", "{session}");
    assert_eq!(
        metric(&server, "agent_server_live_sessions").await,
        Some(0.0)
    );
    assert_eq!(
        metric(
            &server,
            "agent_server_sessions_evicted_total{reason=\"failed\"}"
        )
        .await,
        Some(1.0)
    );
}

#[tokio::test]
async fn a_cli_that_cannot_start_fails_the_session_with_one_error_event() {
    let world = World::start(Script::new()).await;
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(&world, ServerConfig::default())
        .await
        .cli_path(dir.path().join("no-such-cli"));
    let server = AgentServer::builder()
        .db(db::open("memory://").await.unwrap())
        .config(config)
        .build()
        .await
        .unwrap();
    let server = TestServer::serve(server).await;
    // The CLI starts after the answer: creation succeeds, the start fails later.
    let id = server.create(json!({})).await;
    let mut events = server.events(&id, Some(0)).await;
    tokio::time::timeout(
        Duration::from_secs(30),
        events.until_event(|e| e.1 == "status" && e.2["status"] == "failed"),
    )
    .await
    .expect("a failed status event");
    let (_, session) = server.get(&format!("/v1/sessions/{id}")).await;
    assert_eq!(session["status"], "failed", "{session}");
    // Both the start's watcher and the supervisor's give-up know; clients hear it once.
    let mut errors = 0;
    let mut replay = server.events(&id, Some(0)).await;
    while let Ok(event) = tokio::time::timeout(Duration::from_millis(1500), replay.next()).await {
        if event.1 == "error" {
            assert_eq!(event.2["code"], "cli_failed", "{event:?}");
            errors += 1;
        }
    }
    assert_eq!(errors, 1, "one cli_failed error event");
}
