//! Webhooks over real HTTP: a receiver of ours on loopback (axum) that fails
//! its first attempts, the outbox in a real SQLite file.

use std::time::Duration;

use agent_sdk::server::db::{self, DEAD_LETTER, ServerDb};
use agent_sdk::server::webhooks::{SIGNATURE_HEADER, WebhookConfig, Webhooks, verify_signature};
use serde_json::{Value, json};

mod support;

use support::{Receiver, sqlite_url};

const SECRET: &str = "test-secret";

/// Fast retries for tests.
fn config(receiver: &Receiver, base: Duration) -> WebhookConfig {
    WebhookConfig::new()
        .tenant("acme", &receiver.url, SECRET)
        .backoff(base, base * 4)
        .poll_interval(Duration::from_millis(20))
        .request_timeout(Duration::from_secs(5))
}

async fn eventually(what: &str, done: impl AsyncFnMut() -> bool) {
    support::eventually(what, Duration::from_secs(15), done).await;
}

async fn outbox_is_empty(db: &dyn ServerDb) -> bool {
    db.due_webhooks(i64::MAX - 1, 100).await.unwrap().is_empty()
        && db.dead_webhooks(100).await.unwrap().is_empty()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_failing_twice_arrives_once_signed() {
    let receiver = Receiver::start(2).await;
    let dir = tempfile::tempdir().unwrap();
    let db = db::open(&sqlite_url(dir.path())).await.unwrap();
    let webhooks = Webhooks::new(db.clone(), config(&receiver, Duration::from_millis(30)));
    let deliverer = webhooks.start();

    let payload = json!({"session_id": "s1", "cost_usd": 0.25, "turns": 3});
    webhooks
        .emit(Some("acme"), "turn.completed", payload.clone())
        .await
        .unwrap();
    eventually("the third attempt", async || receiver.received().len() >= 3).await;
    eventually("the outbox emptied", async || {
        outbox_is_empty(db.as_ref()).await
    })
    .await;
    // Time for a wrong extra retry to show up.
    tokio::time::sleep(Duration::from_millis(300)).await;
    deliverer.abort();

    let received = receiver.received();
    let statuses: Vec<u16> = received.iter().map(|r| r.status.as_u16()).collect();
    assert_eq!(
        statuses,
        [500, 500, 200],
        "retried until accepted, then stopped"
    );
    let delivery = received[0].header("x-agent-delivery");
    for request in &received {
        assert_eq!(request.header("content-type"), "application/json");
        assert_eq!(request.header("x-agent-event"), "turn.completed");
        assert_eq!(
            request.header("x-agent-delivery"),
            delivery,
            "one id over retries"
        );
        let signature = request.header(SIGNATURE_HEADER);
        assert_eq!(
            verify_signature(
                SECRET,
                signature,
                request.body.as_bytes(),
                Duration::from_secs(60)
            ),
            Ok(()),
            "{signature}"
        );
    }
    let body: Value = serde_json::from_str(&received[2].body).unwrap();
    assert_eq!(body["event"], "turn.completed");
    assert_eq!(body["tenant"], "acme");
    assert_eq!(body["data"], payload);
    assert_eq!(body["id"], delivery);
    // A tampered body fails the check the receiver would make.
    let tampered = received[2].body.replace("0.25", "0.01");
    assert!(
        verify_signature(
            SECRET,
            received[2].header(SIGNATURE_HEADER),
            tampered.as_bytes(),
            Duration::from_secs(60)
        )
        .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_delivers_what_was_pending() {
    let receiver = Receiver::start(1).await;
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());

    // First process: one delivery fails once and waits for its retry...
    let db_before = db::open(&url).await.unwrap();
    let before = Webhooks::new(
        db_before.clone(),
        config(&receiver, Duration::from_millis(400)),
    );
    let deliverer = before.start();
    before
        .emit(Some("acme"), "session.created", json!({"session_id": "s1"}))
        .await
        .unwrap();
    eventually("the first attempt", async || {
        !receiver.received().is_empty()
    })
    .await;
    deliverer.abort();
    let _ = deliverer.await;
    // ...and one is written with no deliverer running.
    before
        .emit(Some("acme"), "task.completed", json!({"task_id": "t1"}))
        .await
        .unwrap();
    drop(before);
    drop(db_before);
    assert_eq!(receiver.accepted().len(), 0);

    // Second process on the same file.
    let db_after = db::open(&url).await.unwrap();
    let after = Webhooks::new(
        db_after.clone(),
        config(&receiver, Duration::from_millis(400)),
    );
    let deliverer = after.start();
    eventually("both delivered", async || receiver.accepted().len() >= 2).await;
    eventually("the outbox emptied", async || {
        outbox_is_empty(db_after.as_ref()).await
    })
    .await;
    deliverer.abort();
    let mut events: Vec<String> = receiver
        .accepted()
        .iter()
        .map(|r| r.header("x-agent-event").to_owned())
        .collect();
    events.sort();
    assert_eq!(events, ["session.created", "task.completed"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_never_accepts_gets_max_attempts_then_the_item_is_dead() {
    let receiver = Receiver::start(usize::MAX).await;
    let db = db::open("memory://").await.unwrap();
    let webhooks = Webhooks::new(
        db.clone(),
        config(&receiver, Duration::from_millis(10)).max_attempts(3),
    );
    let deliverer = webhooks.start();
    webhooks
        .emit(Some("acme"), "task.failed", json!({"task_id": "t9"}))
        .await
        .unwrap();
    eventually("dead-lettered", async || {
        !db.dead_webhooks(10).await.unwrap().is_empty()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    deliverer.abort();

    assert_eq!(
        receiver.received().len(),
        3,
        "exactly max_attempts requests"
    );
    let dead = db.dead_webhooks(10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].attempts, 3);
    assert_eq!(dead[0].next_attempt_at, DEAD_LETTER);
    assert_eq!(dead[0].last_error.as_deref(), Some("HTTP 500"));
    assert_eq!(dead[0].event, "task.failed");
    assert!(db.due_webhooks(i64::MAX - 1, 10).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_receiver_is_retried_with_the_connection_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    drop(listener);
    let db = db::open("memory://").await.unwrap();
    let config = WebhookConfig::new()
        .tenant("acme", url, SECRET)
        .backoff(Duration::from_secs(60), Duration::from_secs(60))
        .poll_interval(Duration::from_millis(20));
    let webhooks = Webhooks::new(db.clone(), config);
    let deliverer = webhooks.start();
    webhooks.emit(Some("acme"), "x", json!({})).await.unwrap();
    eventually("one failed attempt", async || {
        db.due_webhooks(i64::MAX - 1, 10).await.unwrap()[0].attempts == 1
    })
    .await;
    deliverer.abort();
    let item = db.due_webhooks(i64::MAX - 1, 10).await.unwrap().remove(0);
    assert!(
        item.last_error
            .as_deref()
            .unwrap()
            .starts_with("request failed"),
        "{:?}",
        item.last_error
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    assert!(
        item.next_attempt_at > now + 20_000,
        "the retry waits its backoff (at least half of 60 s)"
    );
}

#[tokio::test]
async fn events_go_to_the_tenant_target_else_the_default_else_nowhere() {
    let db = db::open("memory://").await.unwrap();
    let only_acme = WebhookConfig::new().tenant("acme", "http://127.0.0.1:9/a", SECRET);
    let webhooks = Webhooks::new(db.clone(), only_acme);
    webhooks.emit(Some("globex"), "x", json!({})).await.unwrap();
    webhooks.emit(None, "x", json!({})).await.unwrap();
    assert!(outbox_is_empty(db.as_ref()).await, "no target: no-op");
    webhooks.emit(Some("acme"), "x", json!({})).await.unwrap();

    let with_default = WebhookConfig::new()
        .tenant("acme", "http://127.0.0.1:9/a", SECRET)
        .default_target("http://127.0.0.1:9/default", "other");
    let webhooks = Webhooks::new(db.clone(), with_default);
    webhooks.emit(None, "y", json!({})).await.unwrap();
    webhooks.emit(Some("globex"), "z", json!({})).await.unwrap();
    let queued: Vec<(String, String, String)> = db
        .due_webhooks(i64::MAX - 1, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|i| (i.tenant, i.url, i.event))
        .collect();
    let row = |tenant: &str, url: &str, event: &str| {
        (tenant.to_owned(), url.to_owned(), event.to_owned())
    };
    assert_eq!(
        queued,
        [
            row("acme", "http://127.0.0.1:9/a", "x"),
            row("", "http://127.0.0.1:9/default", "y"),
            row("globex", "http://127.0.0.1:9/default", "z"),
        ]
    );
}

/// Two hosts' deliverers on one database: each item is claimed by one, so the
/// receiver gets every event exactly once.
async fn two_deliverers_send_each_item_once(url: &str) {
    const EVENTS: usize = 40;
    let receiver = Receiver::start(0).await;
    let (db_a, db_b) = (db::open(url).await.unwrap(), db::open(url).await.unwrap());
    let a = Webhooks::new(db_a.clone(), config(&receiver, Duration::from_millis(30)));
    let b = Webhooks::new(db_b, config(&receiver, Duration::from_millis(30)));
    for n in 0..EVENTS {
        a.emit(Some("acme"), "turn.completed", json!({"n": n}))
            .await
            .unwrap();
    }
    let (deliverer_a, deliverer_b) = (a.start(), b.start());
    eventually("every event delivered", async || {
        receiver.accepted().len() >= EVENTS
    })
    .await;
    eventually("the outbox emptied", async || {
        outbox_is_empty(db_a.as_ref()).await
    })
    .await;
    // Time for a second sending of an item to show up.
    tokio::time::sleep(Duration::from_millis(300)).await;
    deliverer_a.abort();
    deliverer_b.abort();
    let mut sent: Vec<u64> = receiver
        .accepted()
        .iter()
        .map(|r| r.json()["data"]["n"].as_u64().unwrap())
        .collect();
    sent.sort_unstable();
    assert_eq!(sent, (0..EVENTS as u64).collect::<Vec<_>>(), "each once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_deliverers_on_one_sqlite_file_send_each_item_once() {
    let dir = tempfile::tempdir().unwrap();
    two_deliverers_send_each_item_once(&sqlite_url(dir.path())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_deliverers_on_one_postgres_send_each_item_once() {
    let Some(url) = agent_sdk::testing::test_postgres_url() else {
        return;
    };
    two_deliverers_send_each_item_once(&support::fresh_postgres_url(&url).await).await;
}
