//! The agent server's rules through real HTTP on loopback with the real CLI:
//! auth (tokens, tickets, user JWTs), limits, webhooks, tenant work dirs and
//! metrics over one session's life.

use std::time::Duration;

use agent_sdk::server::ServerConfig;
use agent_sdk::server::auth::{AuthConfig, JwtKey};
use agent_sdk::server::limits::{Tier, Tiers};
use agent_sdk::server::webhooks::{WebhookConfig, verify_signature};
use agent_sdk::testing::{Script, Turn};
use agent_sdk_e2e::World;
use agent_sdk_e2e::loopback::Receiver;
use agent_sdk_e2e::server::{TestServer, hs256_jwt};
use serde_json::{Value, json};

const TOKEN: &str = "service-token";
const JWT_SECRET: &str = "jwt-secret-of-the-tests";

/// A server with the service token and the tests' JWT key; requests carry the token.
async fn serve(world: &World, config: ServerConfig) -> TestServer {
    TestServer::start_with(world, config, |builder| {
        builder.auth(
            AuthConfig::new()
                .token(TOKEN)
                .jwt_key(JwtKey::hs256(JWT_SECRET)),
        )
    })
    .await
    .with_bearer(TOKEN)
}

/// An end user's token: HS256 with user and tenant claims.
fn user_jwt(user: &str, tenant: &str) -> String {
    hs256_jwt(
        JWT_SECRET.as_bytes(),
        json!({"sub": user, "tenant": tenant}),
    )
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
        (413, Some("payload_too_large"))
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

#[tokio::test]
async fn one_sessions_life_moves_webhooks_work_dirs_and_metrics() {
    let world = World::start(
        Script::new()
            .then(Turn::text("first"))
            .then(Turn::text("the task's answer")),
    )
    .await;
    let receiver = Receiver::start(0).await;
    let url = receiver.url.clone();
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
    agent_sdk_e2e::loopback::eventually("the webhooks", Duration::from_secs(60), async || {
        let events = receiver.events();
        wanted.iter().all(|w| events.iter().any(|e| e == w))
    })
    .await;
    let mut percents = Vec::new();
    for delivery in receiver.accepted() {
        let event = delivery.header("x-agent-event");
        verify_signature(
            "whsec",
            delivery.header("x-agent-signature"),
            delivery.body.as_bytes(),
            Duration::from_secs(300),
        )
        .unwrap_or_else(|err| panic!("{event}: {err:?}"));
        let body = delivery.json();
        assert_eq!(body["event"], event);
        assert_eq!(body["tenant"], "acme");
        match event {
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

/// Polls a task until it is no longer running.
async fn finished(server: &TestServer, bearer: &str, task_id: &str) -> Value {
    let path = format!("/v1/tasks/{task_id}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let (status, _, task) = server
            .call(reqwest::Method::GET, &path, Some(bearer), None)
            .await;
        assert_eq!(status, 200, "{task}");
        if task["status"] != "running" {
            return task;
        }
        assert!(tokio::time::Instant::now() < deadline, "{task}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The task ids of a listing.
async fn task_ids(server: &TestServer, bearer: &str, query: &str) -> Vec<String> {
    let (status, _, listed) = server
        .call(
            reqwest::Method::GET,
            &format!("/v1/tasks{query}"),
            Some(bearer),
            None,
        )
        .await;
    assert_eq!(status, 200, "{listed}");
    let mut ids: Vec<String> = listed["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["task_id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn tasks_are_listed_by_filter_and_only_as_the_caller_may_see_them() {
    let world = World::start(
        Script::new()
            .then(Turn::text("done"))
            .then(Turn::text("done"))
            .then(Turn::text("done")),
    )
    .await;
    let server = serve(&world, ServerConfig::default()).await;
    for (task_id, user, tenant) in [("t-ann", "ann", "acme"), ("t-bob", "bob", "globex")] {
        let (status, created) = server
            .post(
                "/v1/tasks",
                json!({"task_id": task_id, "prompt": "go", "options": {"user": user, "tenant": tenant}}),
            )
            .await;
        assert_eq!(status, 201, "{created}");
    }
    let ann = user_jwt("ann", "acme");
    let (status, _, created) = server
        .call(
            reqwest::Method::POST,
            "/v1/tasks",
            Some(&ann),
            Some(json!({"task_id": "t-ann-2", "prompt": "go"})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    for task_id in ["t-ann", "t-bob", "t-ann-2"] {
        assert_eq!(
            finished(&server, TOKEN, task_id).await["status"],
            "completed"
        );
    }

    // The service sees every task, narrowed by user, tenant and status.
    let all = ["t-ann", "t-ann-2", "t-bob"];
    assert_eq!(task_ids(&server, TOKEN, "").await, all);
    assert_eq!(
        task_ids(&server, TOKEN, "?user=ann").await,
        ["t-ann", "t-ann-2"]
    );
    assert_eq!(task_ids(&server, TOKEN, "?tenant=globex").await, ["t-bob"]);
    assert_eq!(task_ids(&server, TOKEN, "?status=completed").await, all);
    assert!(task_ids(&server, TOKEN, "?status=failed").await.is_empty());
    // A user sees only their own, whatever they ask for.
    assert_eq!(task_ids(&server, &ann, "").await, ["t-ann", "t-ann-2"]);
    assert_eq!(
        task_ids(&server, &ann, "?user=bob").await,
        ["t-ann", "t-ann-2"]
    );
    let ann_elsewhere = user_jwt("ann", "globex");
    assert!(task_ids(&server, &ann_elsewhere, "").await.is_empty());
    assert_eq!(
        task_ids(&server, &user_jwt("bob", "globex"), "").await,
        ["t-bob"]
    );
}

/// A user's token with a tier claim.
fn tier_jwt(user: &str, tenant: &str, tier: &str) -> String {
    hs256_jwt(
        JWT_SECRET.as_bytes(),
        json!({"sub": user, "tenant": tenant, "tier": tier}),
    )
}

/// Creates a session as `bearer`; the status and the id (if created).
async fn create_as(server: &TestServer, bearer: &str) -> (u16, Option<String>) {
    let (status, _, created) = server
        .call(
            reqwest::Method::POST,
            "/v1/sessions",
            Some(bearer),
            Some(json!({})),
        )
        .await;
    (status, created["id"].as_str().map(str::to_owned))
}

/// Sends a message as `bearer`; the status and the error code, if any.
async fn message_as(server: &TestServer, bearer: &str, id: &str) -> (u16, Option<String>) {
    let (status, _, answer) = server
        .call(
            reqwest::Method::POST,
            &format!("/v1/sessions/{id}/messages"),
            Some(bearer),
            Some(json!({"text": "hello"})),
        )
        .await;
    (status, answer["error"]["code"].as_str().map(str::to_owned))
}

/// Free: one session and no budget to speak of. Pro: two sessions, a budget.
fn free_and_pro() -> Tiers {
    let tier = |max_sessions, budget_usd| Tier {
        max_sessions: Some(max_sessions),
        budget_usd: Some(budget_usd),
        ..Tier::default()
    };
    Tiers::builder()
        .tier("free", tier(1, 1e-9))
        .tier("pro", tier(2, 100.0))
        .default_tier("free")
        .build()
        .unwrap()
}

#[tokio::test]
async fn session_counts_and_budgets_belong_to_a_user_of_a_tenant() {
    let world = World::start(
        Script::new()
            .then(Turn::text("spent"))
            .then(Turn::text("globex alice spends too")),
    )
    .await;
    let server = serve(&world, ServerConfig::default().tiers(free_and_pro())).await;
    let acme = user_jwt("alice", "acme");
    let globex = user_jwt("alice", "globex");

    // One session each on the free tier: alice of globex is not alice of acme.
    let (status, acme_session) = create_as(&server, &acme).await;
    assert_eq!(status, 201);
    assert_eq!(create_as(&server, &acme).await.0, 429);
    let (status, globex_session) = create_as(&server, &globex).await;
    assert_eq!(
        status, 201,
        "another tenant's alice has her own session count"
    );
    let (acme_session, globex_session) = (acme_session.unwrap(), globex_session.unwrap());

    // Acme's alice spends past her budget; globex's alice has spent nothing.
    let acme_server = server.api.clone().with_bearer(&acme);
    let complete = acme_server.turn(&acme_session, "hello").await;
    assert!(complete["usage"]["cost_usd"].as_f64().unwrap() > 0.0);
    assert_eq!(
        message_as(&server, &acme, &acme_session).await,
        (402, Some("budget_exceeded".to_owned()))
    );
    let globex_server = server.api.clone().with_bearer(&globex);
    let complete = globex_server.turn(&globex_session, "hello").await;
    assert_eq!(complete["result"], "globex alice spends too", "{complete}");
}

#[tokio::test]
async fn a_jwt_tier_claim_gets_that_tiers_limits() {
    let world = World::start(
        Script::new()
            .then(Turn::text("pro turn"))
            .then(Turn::text("another pro turn"))
            .then(Turn::text("free turn")),
    )
    .await;
    let server = serve(&world, ServerConfig::default().tiers(free_and_pro())).await;
    let pro = tier_jwt("paula", "acme", "pro");
    let free = tier_jwt("frank", "acme", "free");

    // Sessions: pro holds two, the third is 429; free (the default too) holds one.
    let (status, pro_session) = create_as(&server, &pro).await;
    assert_eq!(status, 201);
    assert_eq!(create_as(&server, &pro).await.0, 201);
    assert_eq!(create_as(&server, &pro).await.0, 429);
    let (status, free_session) = create_as(&server, &free).await;
    assert_eq!(status, 201);
    assert_eq!(create_as(&server, &free).await.0, 429);
    let (status, _) = create_as(&server, &user_jwt("dora", "acme")).await;
    assert_eq!(status, 201);
    assert_eq!(create_as(&server, &user_jwt("dora", "acme")).await.0, 429);
    let (status, _, refused) = server
        .call(
            reqwest::Method::POST,
            "/v1/sessions",
            Some(&tier_jwt("gil", "acme", "gold")),
            Some(json!({})),
        )
        .await;
    assert_eq!(
        (status, &refused["error"]["code"]),
        (403, &json!("unknown_tier"))
    );

    // Budget: after a turn each, pro goes on (within $100), free is 402.
    let (pro_session, free_session) = (pro_session.unwrap(), free_session.unwrap());
    server
        .api
        .clone()
        .with_bearer(&pro)
        .turn(&pro_session, "one")
        .await;
    server
        .api
        .clone()
        .with_bearer(&free)
        .turn(&free_session, "one")
        .await;
    assert_eq!(message_as(&server, &pro, &pro_session).await, (202, None));
    assert_eq!(
        message_as(&server, &free, &free_session).await,
        (402, Some("budget_exceeded".to_owned()))
    );
}

#[tokio::test]
async fn a_failing_task_is_delivered_as_task_failed() {
    // The fake API fails the turn (the tests' CLI does not retry).
    let world = World::start(Script::new().then(Turn::http_error(500, "the model broke"))).await;
    let receiver = Receiver::start(1).await;
    let config = ServerConfig::default().webhooks(
        WebhookConfig::new()
            .tenant("acme", &receiver.url, "whsec")
            .backoff(Duration::from_millis(50), Duration::from_millis(200))
            .poll_interval(Duration::from_millis(50)),
    );
    let server = serve(&world, config).await;
    let (status, created) = server
        .post(
            "/v1/tasks",
            json!({"task_id": "doomed", "prompt": "go", "options": {"user": "ann", "tenant": "acme"}}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let task = finished(&server, TOKEN, "doomed").await;
    assert_eq!(task["status"], "failed", "{task}");

    // Delivered (after one refused attempt), signed, with the task's error.
    agent_sdk_e2e::loopback::eventually("task.failed", Duration::from_secs(30), async || {
        receiver.events().iter().any(|e| e == "task.failed")
    })
    .await;
    let delivery = receiver
        .accepted()
        .into_iter()
        .find(|d| d.header("x-agent-event") == "task.failed")
        .unwrap();
    verify_signature(
        "whsec",
        delivery.header("x-agent-signature"),
        delivery.body.as_bytes(),
        Duration::from_secs(300),
    )
    .unwrap();
    let body = delivery.json();
    assert_eq!(body["data"]["task_id"], "doomed");
    assert_eq!(body["data"]["status"], "failed");
    assert!(
        body["data"]["error"]
            .as_str()
            .is_some_and(|e| !e.is_empty()),
        "{body}"
    );
    assert!(receiver.events().iter().all(|e| e != "task.completed"));
}

#[tokio::test]
async fn usage_is_summed_by_user_tenant_session_and_time_as_the_caller_may_see_it() {
    let world = World::start(
        Script::new()
            .then(Turn::text("one"))
            .then(Turn::text("two"))
            .then(Turn::text("three")),
    )
    .await;
    let server = serve(&world, ServerConfig::default()).await;
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let ann_session = server
        .create(json!({"user": "ann", "tenant": "acme"}))
        .await;
    let bob_session = server
        .create(json!({"user": "bob", "tenant": "acme"}))
        .await;
    let cost = |complete: &Value| complete["usage"]["cost_usd"].as_f64().unwrap();
    let ann_costs = [
        cost(&server.turn(&ann_session, "first").await),
        cost(&server.turn(&ann_session, "second").await),
    ];
    let bob_cost = cost(&server.turn(&bob_session, "first").await);
    assert!(ann_costs.iter().all(|c| *c > 0.0) && bob_cost > 0.0);
    let ann_total = ann_costs[0] + ann_costs[1];
    let close = |a: f64, b: f64| (a - b).abs() < 1e-9;

    // A service sees everyone, filtered as asked; deleted sessions still count.
    assert_eq!(
        server
            .delete(&format!("/v1/sessions/{ann_session}"))
            .await
            .0,
        204
    );
    let (status, all) = server.get("/v1/usage").await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(
        (all["turns"].as_u64(), all["sessions"].as_u64()),
        (Some(3), Some(2))
    );
    assert!(
        close(
            all["usage"]["cost_usd"].as_f64().unwrap(),
            ann_total + bob_cost
        ),
        "{all}"
    );
    assert!(all["usage"]["input_tokens"].as_u64().unwrap() > 0);
    let (_, bob) = server.get("/v1/usage?user=bob&tenant=acme").await;
    assert_eq!(
        (bob["turns"].as_u64(), bob["user"].as_str()),
        (Some(1), Some("bob"))
    );
    assert!(close(bob["usage"]["cost_usd"].as_f64().unwrap(), bob_cost));
    let (_, one) = server
        .get(&format!("/v1/usage?session_id={ann_session}"))
        .await;
    assert_eq!(one["turns"], 2);
    let (_, other_tenant) = server.get("/v1/usage?tenant=globex").await;
    assert_eq!(
        (
            other_tenant["turns"].as_u64(),
            other_tenant["usage"]["cost_usd"].as_f64()
        ),
        (Some(0), Some(0.0))
    );
    let (_, since) = server.get(&format!("/v1/usage?from={started}")).await;
    assert_eq!(since["turns"], 3);
    let (_, before) = server.get(&format!("/v1/usage?to={started}")).await;
    assert_eq!(before["turns"], 0);

    // An end user reads their own usage only.
    let ann = user_jwt("ann", "acme");
    let get = reqwest::Method::GET;
    let (status, _, own) = server
        .call(get.clone(), "/v1/usage", Some(&ann), None)
        .await;
    assert_eq!(status, 200, "{own}");
    assert_eq!(
        (
            own["turns"].as_u64(),
            own["user"].as_str(),
            own["tenant"].as_str()
        ),
        (Some(2), Some("ann"), Some("acme"))
    );
    assert!(close(own["usage"]["cost_usd"].as_f64().unwrap(), ann_total));
    for path in ["/v1/usage?user=bob", "/v1/usage?tenant=globex"] {
        let (status, _, refused) = server.call(get.clone(), path, Some(&ann), None).await;
        assert_eq!(
            (status, refused["error"]["code"].as_str()),
            (403, Some("forbidden")),
            "{path}: {refused}"
        );
    }

    // Bad queries are 400s in the error shape.
    let (status, bad) = server.get("/v1/usage?from=10&to=5").await;
    assert_eq!(
        (status, bad["error"]["code"].as_str()),
        (400, Some("invalid_query")),
        "{bad}"
    );
    let (status, bad) = server.get("/v1/usage?from=yesterday").await;
    assert_eq!(
        (status, bad["error"]["code"].as_str()),
        (400, Some("invalid_query")),
        "{bad}"
    );
}
