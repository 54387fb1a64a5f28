//! The agent server's database: one conformance suite run on every backend
//! (memory, SQLite, PostgreSQL), persistence across a reopen, concurrent
//! appends, the session store on the same database, and the sessions'
//! leases (take, renew, release, fencing, a race of takes) from two
//! connections to one database.
//!
//! The suite lives here, not in `agent_sdk::testing`: the SDK's three
//! backends are the only implementations, and the server is their only
//! caller. The Postgres tests use `AGENT_SDK_TEST_POSTGRES_URL`
//! (`source .ci/postgres`) and skip without it (fail under `CI`).

use std::sync::Arc;

use agent_sdk::message::{CostBaseline, RunningTotals};
use agent_sdk::server::db::{
    self, DEAD_LETTER, DbError, EventRecord, OutboxItem, ServerDb, SessionFilter, SessionRecord,
    SessionStatus, TaskRecord, TaskStatus, Usage, UsageQuery, UsageRecord, UsageReport,
};
use agent_sdk::store::SessionKey;
use serde_json::json;

mod support;

fn session(id: &str, user: &str, tenant: &str, created_at: i64) -> SessionRecord {
    SessionRecord {
        id: id.to_owned(),
        user: Some(user.to_owned()),
        tenant: Some(tenant.to_owned()),
        status: SessionStatus::Starting,
        spec: json!({"model": "m", "max_turns": 3}),
        metadata: json!({"note": id}),
        claude_session_id: None,
        turns: 0,
        usage: Usage::default(),
        cli_cost: Default::default(),
        created_at,
        last_activity: created_at,
    }
}

fn task(task_id: &str, session_id: &str, created_at: i64) -> TaskRecord {
    TaskRecord {
        task_id: task_id.to_owned(),
        session_id: session_id.to_owned(),
        status: TaskStatus::Running,
        prompt: format!("prompt of {task_id}"),
        result: None,
        error: None,
        usage: Usage::default(),
        created_at,
        finished_at: None,
    }
}

fn event(session_id: &str, seq: u64) -> EventRecord {
    EventRecord {
        session_id: session_id.to_owned(),
        seq,
        kind: if seq.is_multiple_of(2) {
            "assistant_text"
        } else {
            "status"
        }
        .to_owned(),
        data: json!({"seq": seq, "text": "héllo \"quoted\""}),
        at: 1_000 + i64::try_from(seq).unwrap(),
    }
}

/// The tenant of the usage records [`usage`] makes.
const ACME: Option<&str> = Some("acme");

fn usage(session_id: &str, user: &str, turn: u64, cost_usd: f64) -> UsageRecord {
    UsageRecord {
        session_id: session_id.to_owned(),
        user: Some(user.to_owned()),
        tenant: Some("acme".to_owned()),
        turn,
        usage: Usage {
            input_tokens: 100 * turn,
            output_tokens: 10 * turn,
            cost_usd,
        },
        at: 5_000,
    }
}

fn outbox(event: &str, next_attempt_at: i64) -> OutboxItem {
    OutboxItem {
        id: 0,
        tenant: "acme".to_owned(),
        url: "http://127.0.0.1:9/hook".to_owned(),
        event: event.to_owned(),
        body: format!(r#"{{"event":"{event}"}}"#),
        attempts: 0,
        next_attempt_at,
        last_error: None,
    }
}

fn ids(sessions: &[SessionRecord]) -> Vec<&str> {
    sessions.iter().map(|s| s.id.as_str()).collect()
}

/// Every method of [`ServerDb`] on an empty database.
async fn conformance(db: &dyn ServerDb) {
    db.ping().await.expect("ping");

    // Sessions: insert, conflict, get, update, filters, order.
    let mut s1 = session("s1", "alice", "acme", 30);
    db.insert_session(&s1).await.unwrap();
    db.insert_session(&session("s2", "bob", "acme", 10))
        .await
        .unwrap();
    db.insert_session(&session("s3", "alice", "globex", 20))
        .await
        .unwrap();
    let conflict = db.insert_session(&session("s1", "x", "y", 1)).await;
    assert!(
        matches!(conflict, Err(DbError::Conflict { what: "session", ref id }) if id == "s1"),
        "{conflict:?}"
    );
    assert_eq!(db.get_session("s1").await.unwrap(), Some(s1.clone()));
    assert_eq!(db.get_session("nope").await.unwrap(), None);

    s1.status = SessionStatus::Idle;
    s1.claude_session_id = Some("cli-1".to_owned());
    s1.turns = 2;
    s1.usage = Usage {
        input_tokens: 1_234,
        output_tokens: 56,
        cost_usd: 0.0125,
    };
    s1.cli_cost = CostBaseline {
        last: RunningTotals {
            cost_usd: 0.375,
            tokens: 70_000,
        },
        restored: RunningTotals {
            cost_usd: 0.25,
            tokens: 40_000,
        },
    };
    s1.last_activity = 99;
    assert!(db.update_session(&s1).await.unwrap());
    assert_eq!(db.get_session("s1").await.unwrap(), Some(s1.clone()));
    assert!(
        !db.update_session(&session("ghost", "a", "b", 1))
            .await
            .unwrap()
    );
    assert_eq!(db.get_session("ghost").await.unwrap(), None);

    let all = db.list_sessions(&SessionFilter::default()).await.unwrap();
    assert_eq!(ids(&all), ["s2", "s3", "s1"], "oldest first");
    let alice = SessionFilter {
        user: Some("alice".to_owned()),
        ..SessionFilter::default()
    };
    assert_eq!(ids(&db.list_sessions(&alice).await.unwrap()), ["s3", "s1"]);
    let acme = SessionFilter {
        tenant: Some("acme".to_owned()),
        ..SessionFilter::default()
    };
    assert_eq!(ids(&db.list_sessions(&acme).await.unwrap()), ["s2", "s1"]);
    let idle_alice = SessionFilter {
        status: Some(SessionStatus::Idle),
        ..alice.clone()
    };
    assert_eq!(ids(&db.list_sessions(&idle_alice).await.unwrap()), ["s1"]);
    let none = SessionFilter {
        status: Some(SessionStatus::Closed),
        ..SessionFilter::default()
    };
    assert!(db.list_sessions(&none).await.unwrap().is_empty());

    // Events: append in batches, duplicates (stored, or twice in a batch)
    // refused whole, ranges and limits, per-session numbering.
    assert_eq!(db.last_event_seq("s1").await.unwrap(), 0);
    db.append_events(&[event("s1", 1), event("s1", 2)])
        .await
        .unwrap();
    db.append_events(&[event("s1", 3)]).await.unwrap();
    db.append_events(&[event("s2", 1)]).await.unwrap();
    db.append_events(&[]).await.unwrap();
    let duplicate = db.append_events(&[event("s1", 4), event("s1", 2)]).await;
    assert!(
        matches!(duplicate, Err(DbError::DuplicateEvent { ref session_id, seq: 2 }) if session_id == "s1"),
        "{duplicate:?}"
    );
    let twice = db.append_events(&[event("s1", 5), event("s1", 5)]).await;
    assert!(
        matches!(twice, Err(DbError::DuplicateEvent { seq: 5, .. })),
        "{twice:?}"
    );
    assert_eq!(
        db.last_event_seq("s1").await.unwrap(),
        3,
        "a refused batch stores nothing"
    );
    let after_1 = db.events_after("s1", 1, 100).await.unwrap();
    assert_eq!(after_1, vec![event("s1", 2), event("s1", 3)]);
    assert_eq!(
        db.events_after("s1", 0, 2).await.unwrap(),
        vec![event("s1", 1), event("s1", 2)]
    );
    assert!(db.events_after("s1", 3, 10).await.unwrap().is_empty());
    assert!(
        db.events_after("s1", u64::MAX, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(db.events_after("nope", 0, 10).await.unwrap().is_empty());
    assert_eq!(db.last_event_seq("s2").await.unwrap(), 1);

    // Tasks: insert, conflict, update, filters, order.
    db.insert_task(&task("t2", "s1", 20)).await.unwrap();
    db.insert_task(&task("t1", "s1", 10)).await.unwrap();
    db.insert_task(&task("t3", "s2", 30)).await.unwrap();
    let conflict = db.insert_task(&task("t1", "s2", 1)).await;
    assert!(
        matches!(conflict, Err(DbError::Conflict { what: "task", ref id }) if id == "t1"),
        "{conflict:?}"
    );
    let mut t1 = task("t1", "s1", 10);
    t1.status = TaskStatus::Completed;
    t1.result = Some("done".to_owned());
    t1.usage.cost_usd = 0.5;
    t1.usage.output_tokens = 7;
    t1.finished_at = Some(15);
    assert!(db.update_task(&t1).await.unwrap());
    assert!(!db.update_task(&task("ghost", "s1", 1)).await.unwrap());
    assert_eq!(db.get_task("t1").await.unwrap(), Some(t1.clone()));
    assert_eq!(db.get_task("ghost").await.unwrap(), None);
    let task_ids =
        |tasks: Vec<TaskRecord>| tasks.into_iter().map(|t| t.task_id).collect::<Vec<_>>();
    assert_eq!(
        task_ids(db.list_tasks(None).await.unwrap()),
        ["t1", "t2", "t3"]
    );
    assert_eq!(
        task_ids(db.list_tasks(Some(TaskStatus::Running)).await.unwrap()),
        ["t2", "t3"]
    );
    assert_eq!(
        task_ids(db.list_tasks(Some(TaskStatus::Completed)).await.unwrap()),
        ["t1"]
    );
    assert!(
        db.list_tasks(Some(TaskStatus::Failed))
            .await
            .unwrap()
            .is_empty()
    );

    // Usage: spend per user, over sessions.
    assert_eq!(db.user_spend(ACME, "alice").await.unwrap(), 0.0);
    db.record_usage(&usage("s1", "alice", 1, 0.25))
        .await
        .unwrap();
    db.record_usage(&usage("s1", "alice", 2, 0.5))
        .await
        .unwrap();
    db.record_usage(&usage("s3", "alice", 1, 1.0))
        .await
        .unwrap();
    db.record_usage(&usage("s2", "bob", 1, 2.0)).await.unwrap();
    assert!((db.user_spend(ACME, "alice").await.unwrap() - 1.75).abs() < 1e-9);
    assert!((db.user_spend(ACME, "bob").await.unwrap() - 2.0).abs() < 1e-9);
    assert_eq!(db.user_spend(ACME, "carol").await.unwrap(), 0.0);
    // A user is named per tenant: alice of another tenant, or of none, has her own spend.
    let elsewhere = |tenant: Option<&str>, cost_usd| UsageRecord {
        tenant: tenant.map(str::to_owned),
        ..usage("s9", "alice", 1, cost_usd)
    };
    db.record_usage(&elsewhere(Some("globex"), 4.0))
        .await
        .unwrap();
    db.record_usage(&elsewhere(None, 8.0)).await.unwrap();
    assert!((db.user_spend(ACME, "alice").await.unwrap() - 1.75).abs() < 1e-9);
    assert!((db.user_spend(Some("globex"), "alice").await.unwrap() - 4.0).abs() < 1e-9);
    assert!((db.user_spend(None, "alice").await.unwrap() - 8.0).abs() < 1e-9);
    assert_eq!(db.user_spend(Some("initech"), "alice").await.unwrap(), 0.0);

    // Usage reports: sums by user, tenant (or none), session and time.
    db.record_usage(&UsageRecord {
        at: 9_000,
        ..usage("s2", "bob", 2, 0.125)
    })
    .await
    .unwrap();
    let report = |query: UsageQuery| {
        let db = &db;
        async move { db.usage_report(&query).await.unwrap() }
    };
    let everything = report(UsageQuery::default()).await;
    assert_eq!(
        (everything.turns, everything.sessions),
        (7, 4),
        "{everything:?}"
    );
    assert_eq!(
        (
            everything.usage.input_tokens,
            everything.usage.output_tokens
        ),
        (900, 90)
    );
    assert!((everything.usage.cost_usd - 15.875).abs() < 1e-9);
    let acme = |user: &str| UsageQuery {
        user: Some(user.to_owned()),
        tenant: Some(ACME.map(str::to_owned)),
        ..UsageQuery::default()
    };
    let alice = report(acme("alice")).await;
    assert_eq!((alice.turns, alice.sessions), (3, 2));
    assert_eq!(alice.usage.input_tokens, 400);
    assert!((alice.usage.cost_usd - 1.75).abs() < 1e-9);
    let alice_of_no_tenant = report(UsageQuery {
        tenant: Some(None),
        ..acme("alice")
    })
    .await;
    assert_eq!(alice_of_no_tenant.turns, 1);
    assert!((alice_of_no_tenant.usage.cost_usd - 8.0).abs() < 1e-9);
    let alice_anywhere = report(UsageQuery {
        tenant: None,
        ..acme("alice")
    })
    .await;
    assert_eq!((alice_anywhere.turns, alice_anywhere.sessions), (5, 3));
    let one_session = report(UsageQuery {
        session_id: Some("s1".into()),
        ..UsageQuery::default()
    })
    .await;
    assert_eq!((one_session.turns, one_session.sessions), (2, 1));
    // `from` is inclusive, `to` exclusive.
    let later = report(UsageQuery {
        from: Some(9_000),
        ..UsageQuery::default()
    })
    .await;
    assert_eq!((later.turns, later.usage.input_tokens), (1, 200));
    assert!((later.usage.cost_usd - 0.125).abs() < 1e-9);
    let earlier = report(UsageQuery {
        to: Some(9_000),
        ..UsageQuery::default()
    })
    .await;
    assert_eq!(earlier.turns, 6);
    let nothing = report(UsageQuery {
        user: Some("carol".into()),
        ..UsageQuery::default()
    })
    .await;
    assert_eq!(nothing, UsageReport::default());

    // Delete: events and tasks go with the session, usage stays.
    assert!(db.delete_session("s1").await.unwrap());
    assert!(!db.delete_session("s1").await.unwrap());
    assert_eq!(db.get_session("s1").await.unwrap(), None);
    assert_eq!(db.last_event_seq("s1").await.unwrap(), 0);
    assert!(db.events_after("s1", 0, 10).await.unwrap().is_empty());
    assert_eq!(db.get_task("t1").await.unwrap(), None);
    assert_eq!(task_ids(db.list_tasks(None).await.unwrap()), ["t3"]);
    assert_eq!(
        db.last_event_seq("s2").await.unwrap(),
        1,
        "others untouched"
    );
    assert!(
        (db.user_spend(ACME, "alice").await.unwrap() - 1.75).abs() < 1e-9,
        "spent money stays spent"
    );

    // Outbox: due by time, oldest first, limits, failures, dead letters.
    let a = db
        .enqueue_webhook(&outbox("session.created", 100))
        .await
        .unwrap();
    let b = db
        .enqueue_webhook(&outbox("turn.completed", 50))
        .await
        .unwrap();
    let c = db
        .enqueue_webhook(&outbox("task.completed", 500))
        .await
        .unwrap();
    assert!(a < b && b < c, "ids increase: {a} {b} {c}");
    assert!(db.due_webhooks(49, 10).await.unwrap().is_empty());
    let due = db.due_webhooks(100, 10).await.unwrap();
    assert_eq!(due.iter().map(|i| i.id).collect::<Vec<_>>(), [a, b]);
    assert_eq!(
        due[0],
        OutboxItem {
            id: a,
            ..outbox("session.created", 100)
        }
    );
    assert_eq!(db.due_webhooks(1_000, 1).await.unwrap()[0].id, a);
    db.webhook_failed(a, 300, "HTTP 500").await.unwrap();
    let due = db.due_webhooks(200, 10).await.unwrap();
    assert_eq!(due.iter().map(|i| i.id).collect::<Vec<_>>(), [b]);
    let retried = &db.due_webhooks(300, 10).await.unwrap()[0];
    assert_eq!(
        (retried.id, retried.attempts, retried.last_error.as_deref()),
        (a, 1, Some("HTTP 500"))
    );
    db.webhook_delivered(b).await.unwrap();
    db.webhook_failed(c, DEAD_LETTER, "HTTP 410").await.unwrap();
    let due = db.due_webhooks(i64::MAX, 10).await.unwrap();
    assert_eq!(
        due.iter().map(|i| i.id).collect::<Vec<_>>(),
        [a],
        "delivered and dead items are never due"
    );
    // A claim hides what it took from the next claim until it runs out.
    let claimed = db.claim_webhooks(400, 2_000, 10).await.unwrap();
    assert_eq!(claimed.iter().map(|i| i.id).collect::<Vec<_>>(), [a]);
    assert!(
        db.claim_webhooks(1_999, 3_000, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let again = db.claim_webhooks(2_000, 3_000, 10).await.unwrap();
    assert_eq!(again.iter().map(|i| i.id).collect::<Vec<_>>(), [a]);
    db.webhook_failed(a, 300, "HTTP 500 again").await.unwrap();
    let dead = db.dead_webhooks(10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(
        (dead[0].id, dead[0].attempts, dead[0].last_error.as_deref()),
        (c, 1, Some("HTTP 410"))
    );
    // Unknown ids are no-ops (an item delivered by another deliverer).
    db.webhook_delivered(b).await.unwrap();
    db.webhook_failed(b, 1, "gone").await.unwrap();
}

/// Many tasks appending to one session at once (each its own seqs) and to
/// sessions of their own: nothing lost, nothing duplicated, in order.
async fn concurrent_appends(db: Arc<dyn ServerDb>) {
    const WRITERS: u64 = 16;
    const EACH: u64 = 25;
    let mut writers = Vec::new();
    for writer in 0..WRITERS {
        let db = Arc::clone(&db);
        writers.push(tokio::spawn(async move {
            let own = format!("own-{writer}");
            for i in 0..EACH {
                // Interleaved seqs in the shared session: writer w owns w, w+16, ...
                db.append_events(&[event("shared", 1 + writer + i * WRITERS)])
                    .await
                    .unwrap();
                db.append_events(&[event(&own, 2 * i + 1), event(&own, 2 * i + 2)])
                    .await
                    .unwrap();
            }
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    let shared = db.events_after("shared", 0, 10_000).await.unwrap();
    let seqs: Vec<u64> = shared.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=WRITERS * EACH).collect::<Vec<_>>());
    for writer in 0..WRITERS {
        let own = format!("own-{writer}");
        assert_eq!(db.last_event_seq(&own).await.unwrap(), 2 * EACH);
        assert_eq!(
            db.events_after(&own, 0, 10_000).await.unwrap().len() as u64,
            2 * EACH
        );
    }
}

/// What one instance wrote, a second instance on the same database sees:
/// records, the event log, the outbox, and the transcripts of its session
/// store.
async fn survives_reopen(
    first: Arc<dyn ServerDb>,
    reopen: impl AsyncFnOnce() -> Arc<dyn ServerDb>,
) {
    let mut s = session("kept", "alice", "acme", 1);
    s.claude_session_id = Some("cli-kept".to_owned());
    first.insert_session(&s).await.unwrap();
    first
        .append_events(&[event("kept", 1), event("kept", 2)])
        .await
        .unwrap();
    first
        .insert_task(&task("kept-task", "kept", 2))
        .await
        .unwrap();
    first
        .record_usage(&usage("kept", "alice", 1, 0.75))
        .await
        .unwrap();
    let pending = first
        .enqueue_webhook(&outbox("turn.completed", 10))
        .await
        .unwrap();
    let key = SessionKey::new("project", "cli-kept");
    let entry = json!({"type": "user", "uuid": "u1", "message": {"content": "hi"}});
    first
        .session_store()
        .append(&key, vec![entry.as_object().unwrap().clone()])
        .await
        .unwrap();
    drop(first);

    let second = reopen().await;
    assert_eq!(second.get_session("kept").await.unwrap(), Some(s));
    assert_eq!(
        second.events_after("kept", 0, 10).await.unwrap(),
        vec![event("kept", 1), event("kept", 2)]
    );
    assert_eq!(
        second.get_task("kept-task").await.unwrap(),
        Some(task("kept-task", "kept", 2))
    );
    assert!((second.user_spend(ACME, "alice").await.unwrap() - 0.75).abs() < 1e-9);
    let due = second.due_webhooks(10, 10).await.unwrap();
    assert_eq!(due.iter().map(|i| i.id).collect::<Vec<_>>(), [pending]);
    let loaded = second.session_store().load(&key).await.unwrap();
    assert_eq!(
        loaded.map(|entries| entries
            .into_iter()
            .map(serde_json::Value::Object)
            .collect::<Vec<_>>()),
        Some(vec![entry])
    );
    // The next seq continues where the first instance stopped.
    let refused = second.append_events(&[event("kept", 2)]).await;
    assert!(matches!(
        refused,
        Err(DbError::DuplicateEvent { seq: 2, .. })
    ));
    second.append_events(&[event("kept", 3)]).await.unwrap();
}

/// Leases seen from two connections `a` and `b` to one database: a take is a
/// compare-and-set on the epoch, renewals and writes under a stale epoch are
/// refused and store nothing, and of many hosts taking at once one wins.
async fn leases(a: Arc<dyn ServerDb>, b: Arc<dyn ServerDb>) {
    a.insert_session(&session("leased", "lee", "t", 1))
        .await
        .unwrap();
    assert_eq!(a.lease("leased").await.unwrap(), None);
    let first = a
        .take_lease("leased", 0, "host-a", "http://a", 10_000)
        .await
        .unwrap()
        .expect("the first take of a session without a lease");
    assert_eq!(
        (first.epoch, first.owner.as_str(), first.address.as_str()),
        (1, "host-a", "http://a")
    );
    assert_eq!(
        b.take_lease("leased", 0, "host-b", "http://b", 10_000)
            .await
            .unwrap(),
        None,
        "a second take expecting no lease loses"
    );
    assert_eq!(b.lease("leased").await.unwrap(), Some(first.clone()));

    // The owner writes under its epoch and renews.
    a.append_events_fenced(1, &[event("leased", 1)])
        .await
        .unwrap();
    let mut record = session("leased", "lee", "t", 1);
    record.turns = 1;
    assert!(a.update_session_fenced(1, &record).await.unwrap());
    a.record_usage_fenced(1, &usage("leased", "lee", 1, 0.5))
        .await
        .unwrap();
    let mut leased_task = task("leased-task", "leased", 1);
    a.insert_task_fenced(1, &leased_task).await.unwrap();
    leased_task.result = Some("half".to_owned());
    assert!(a.update_task_fenced(1, &leased_task).await.unwrap());
    assert!(
        !a.update_task_fenced(1, &task("ghost-task", "leased", 1))
            .await
            .unwrap(),
        "an unknown task under the right epoch is not updated"
    );
    let mine = [("leased".to_owned(), 1)];
    assert!(
        a.renew_leases("host-a", &mine, 20_000)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(b.lease("leased").await.unwrap().unwrap().expires_at, 20_000);
    assert_eq!(
        b.renew_leases("host-b", &mine, 30_000).await.unwrap(),
        ["leased"],
        "only the owner renews"
    );

    // Another host takes it over: the old epoch is fenced off.
    let second = b
        .take_lease("leased", 1, "host-b", "http://b", 30_000)
        .await
        .unwrap()
        .expect("a take expecting the current epoch");
    assert_eq!((second.epoch, second.owner.as_str()), (2, "host-b"));
    assert_eq!(
        a.renew_leases("host-a", &mine, 40_000).await.unwrap(),
        ["leased"]
    );
    let fenced = |result: Result<(), DbError>| {
        assert!(
            matches!(result, Err(DbError::Fenced { ref session_id, epoch: 1 }) if session_id == "leased"),
            "{result:?}"
        );
    };
    fenced(a.append_events_fenced(1, &[event("leased", 2)]).await);
    record.turns = 9;
    fenced(a.update_session_fenced(1, &record).await.map(drop));
    fenced(
        a.record_usage_fenced(1, &usage("leased", "lee", 2, 5.0))
            .await,
    );
    // Nor its tasks: neither finished by it nor started.
    let mut stale = leased_task.clone();
    stale.status = TaskStatus::Completed;
    stale.result = Some("stale".to_owned());
    fenced(a.update_task_fenced(1, &stale).await.map(drop));
    fenced(
        a.insert_task_fenced(1, &task("late-task", "leased", 2))
            .await,
    );
    assert_eq!(
        b.get_task("leased-task").await.unwrap(),
        Some(leased_task.clone()),
        "the stale host's update left the task as it was"
    );
    assert_eq!(b.get_task("late-task").await.unwrap(), None);
    leased_task.status = TaskStatus::Interrupted;
    assert!(b.update_task_fenced(2, &leased_task).await.unwrap());
    assert_eq!(
        a.get_task("leased-task").await.unwrap().unwrap().status,
        TaskStatus::Interrupted
    );
    assert_eq!(b.last_event_seq("leased").await.unwrap(), 1);
    assert_eq!(b.get_session("leased").await.unwrap().unwrap().turns, 1);
    assert!((b.user_spend(Some("acme"), "lee").await.unwrap() - 0.5).abs() < 1e-9);
    b.append_events_fenced(2, &[event("leased", 2)])
        .await
        .unwrap();
    assert_eq!(b.last_event_seq("leased").await.unwrap(), 2);
    assert!(
        b.append_events_fenced(2, &[event("leased", 3), event("other", 1)])
            .await
            .is_err(),
        "a fenced batch holds one session's events"
    );
    assert!(matches!(
        a.append_events_fenced(1, &[event("never-leased", 1)]).await,
        Err(DbError::Fenced { .. })
    ));

    // Released: expired at once, the epoch kept (a later take counts on).
    assert!(!a.release_lease("leased", 1).await.unwrap());
    assert!(b.release_lease("leased", 2).await.unwrap());
    let released = a.lease("leased").await.unwrap().unwrap();
    assert_eq!((released.epoch, released.expires_at), (2, 0));

    // Eight hosts on the two connections take it at once: one wins.
    let takes: Vec<_> = (0..8)
        .map(|n| {
            let db = if n % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move {
                db.take_lease("leased", 2, &format!("host-{n}"), "http://n", 50_000)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut winners = Vec::new();
    for take in takes {
        winners.extend(take.await.unwrap());
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    assert_eq!(winners[0].epoch, 3);
    assert_eq!(a.lease("leased").await.unwrap(), Some(winners[0].clone()));
}

#[tokio::test]
async fn the_memory_database_keeps_every_contract() {
    let db = db::open("memory://").await.unwrap();
    conformance(db.as_ref()).await;
    concurrent_appends(db::open("memory://").await.unwrap()).await;
    let db = db::open("memory://").await.unwrap();
    leases(db.clone(), db).await;
}

#[tokio::test]
async fn urls_naming_no_backend_are_typed_errors() {
    for url in ["mysql://h/db", "sqlite::memory:", "sqlite://", "memory"] {
        assert!(
            matches!(db::open(url).await, Err(DbError::UnsupportedUrl { .. })),
            "{url}"
        );
    }
}

mod sqlite {
    use super::*;

    fn url(dir: &tempfile::TempDir) -> String {
        super::support::sqlite_url(dir.path())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_sqlite_database_keeps_every_contract() {
        let dir = tempfile::tempdir().unwrap();
        conformance(db::open(&url(&dir)).await.unwrap().as_ref()).await;
        let dir = tempfile::tempdir().unwrap();
        concurrent_appends(db::open(&url(&dir)).await.unwrap()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_sqlite_file_keeps_everything_across_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let url = url(&dir);
        let first = db::open(&url).await.unwrap();
        survives_reopen(first, async || db::open(&url).await.unwrap()).await;
        // The two schemas live side by side, each at its own version.
        let connection = rusqlite::Connection::open(dir.path().join("server.db")).unwrap();
        let version = |table: &str| -> i64 {
            connection
                .query_row(&format!("SELECT version FROM {table}"), [], |r| r.get(0))
                .unwrap()
        };
        assert_eq!(version("server_schema_version"), 3);
        assert_eq!(version("schema_version"), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn leases_are_taken_renewed_and_fenced_from_two_connections() {
        let dir = tempfile::tempdir().unwrap();
        let url = url(&dir);
        leases(db::open(&url).await.unwrap(), db::open(&url).await.unwrap()).await;
    }

    #[tokio::test]
    async fn a_newer_server_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        drop(db::open(&url(&dir)).await.unwrap());
        let connection = rusqlite::Connection::open(dir.path().join("server.db")).unwrap();
        connection
            .execute("UPDATE server_schema_version SET version = 99", [])
            .unwrap();
        drop(connection);
        let Err(DbError::Backend(error)) = db::open(&url(&dir)).await else {
            panic!("a newer schema was accepted");
        };
        assert!(error.to_string().contains("newer"), "{error}");
    }

    #[tokio::test]
    async fn an_unwritable_path_is_a_backend_error() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("no/such/dir/x.db").display());
        assert!(matches!(db::open(&url).await, Err(DbError::Backend(_))));
    }
}

mod postgres {
    use super::*;

    use super::support::fresh_postgres_url as fresh_url;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_postgres_database_keeps_every_contract() {
        let Some(url) = agent_sdk::testing::test_postgres_url() else {
            return;
        };
        conformance(db::open(&fresh_url(&url).await).await.unwrap().as_ref()).await;
        concurrent_appends(db::open(&fresh_url(&url).await).await.unwrap()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_postgres_database_keeps_everything_across_a_reconnect() {
        let Some(url) = agent_sdk::testing::test_postgres_url() else {
            return;
        };
        let url = fresh_url(&url).await;
        let first = db::open(&url).await.unwrap();
        survives_reopen(first, async || db::open(&url).await.unwrap()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn leases_are_taken_renewed_and_fenced_from_two_connections() {
        let Some(url) = agent_sdk::testing::test_postgres_url() else {
            return;
        };
        let url = fresh_url(&url).await;
        leases(db::open(&url).await.unwrap(), db::open(&url).await.unwrap()).await;
    }

    #[tokio::test]
    async fn an_unreachable_postgres_is_a_backend_error() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let url = format!("postgres://nobody:hunter2@127.0.0.1:{port}/db");
        let Err(DbError::Backend(error)) = db::open(&url).await else {
            panic!("connected to nothing");
        };
        assert!(!error.to_string().contains("hunter2"), "{error}");
    }
}
