//! The three parts of the benchmark, each against a server child of its own.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use agent_sdk::testing::{Script, TestEnv, Turn, ensure_cli};
use futures_util::StreamExt;
use serde_json::Value;

use crate::client::{Api, Sse};
use crate::fake_cli::server_load::{STAMP_PREFIX, monotonic_ns};
use crate::procfs::{Footprint, cpu_time, footprint};
use crate::server::{Role, ServerChild};
use crate::{Sizes, db_url, ms, percentile};

fn kib_per(before: Footprint, after: Footprint, count: usize) -> (f64, f64) {
    let count = count.max(1) as f64;
    (
        (after.server_kib as f64 - before.server_kib as f64) / count,
        (after.clis_kib as f64 - before.clis_kib as f64) / count,
    )
}

fn show(label: &str, at: Footprint) {
    println!(
        "  {label}: server {:.1} MiB, {} CLI processes {:.1} MiB",
        at.server_kib as f64 / 1024.0,
        at.clis,
        at.clis_kib as f64 / 1024.0
    );
}

/// Reads events until the `turn_complete` of `turn`; panics on a failed turn.
async fn until_complete(sse: &mut Sse, turn: u64) {
    while let Some((kind, data)) = sse.next().await {
        if kind == "turn_complete" {
            let data: Value = serde_json::from_str(&data).expect("event data is JSON");
            assert_eq!(data["is_error"], false, "a turn failed: {data}");
            if data["turn"] == turn {
                return;
            }
        }
        assert_ne!(kind, "error", "the session reported an error: {data}");
    }
    panic!("the event stream ended before turn {turn} completed");
}

/// Sends `messages` messages one after the other; each one's time from the
/// POST to its `turn_complete` event.
async fn converse(api: &Api, id: &str, messages: usize) -> Vec<Duration> {
    let mut sse = api.events(id).await;
    let mut latencies = Vec::with_capacity(messages);
    for n in 0..messages {
        let started = Instant::now();
        let turn = api.message(id, &format!("message {n}")).await;
        until_complete(&mut sse, turn).await;
        latencies.push(started.elapsed());
    }
    latencies
}

pub struct RealFigures {
    pub turn_p50: Duration,
    pub turn_p99: Duration,
    pub server_kib_per_session: f64,
    pub cli_kib_per_session: f64,
}

/// (a) Sessions on the real CLI, all talking at once, against the fake Messages API.
pub async fn real_cli(sizes: Sizes) -> RealFigures {
    println!(
        "(a) {} sessions on the real CLI, {} messages each",
        sizes.real_sessions, sizes.real_messages
    );
    // Generous: the CLI may ask the API more than once per turn.
    let answers = 4 * (sizes.real_sessions + 1) * sizes.real_messages + 16;
    let script: Script = (0..answers)
        .map(|_| Turn::from_fn(|_| Turn::text("ok")))
        .collect();
    let env = TestEnv::start(script).await.expect("the fake Messages API");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let role = Role {
        db_url: db_url(dir.path()),
        cli_path: ensure_cli().await.expect("the pinned CLI"),
        cli_env: env.cli_env(),
        cwd: env.cwd().to_owned(),
    };
    let server = ServerChild::start(&role).await;
    let api = Api::new(&server.base);
    show("server started", footprint(server.pid));
    // One session first, so that one-time costs stay out of the per-session figures.
    let warm = api.create().await;
    converse(&api, &warm, 1).await;
    let before = footprint(server.pid);
    show("one session, one turn", before);
    let started = Instant::now();
    let sessions: Vec<_> = (0..sizes.real_sessions)
        .map(|_| {
            let api = api.clone();
            let messages = sizes.real_messages;
            tokio::spawn(async move {
                let id = api.create().await;
                converse(&api, &id, messages).await
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for session in sessions {
        latencies.extend(session.await.expect("a session's task"));
    }
    let elapsed = started.elapsed();
    let after = footprint(server.pid);
    show(&format!("{} more sessions", sizes.real_sessions), after);
    latencies.sort();
    let (server_kib, cli_kib) = kib_per(before, after, sizes.real_sessions);
    println!(
        "  {} turns in {elapsed:.1?}; turn (POST to turn_complete) p50 {:.0} ms p99 {:.0} ms max {:.0} ms",
        latencies.len(),
        ms(percentile(&latencies, 0.5)),
        ms(percentile(&latencies, 0.99)),
        ms(latencies.last().copied().unwrap_or_default())
    );
    println!(
        "  per session: server {server_kib:.0} KiB, CLI {:.1} MiB",
        cli_kib / 1024.0
    );
    server.stop().await;
    RealFigures {
        turn_p50: percentile(&latencies, 0.5),
        turn_p99: percentile(&latencies, 0.99),
        server_kib_per_session: server_kib,
        cli_kib_per_session: cli_kib,
    }
}

/// A server whose sessions run this binary as their CLI (mode `server_load`).
async fn fake_cli_server(dir: &std::path::Path) -> ServerChild {
    let role = Role {
        db_url: db_url(dir),
        cli_path: std::env::current_exe().expect("this binary"),
        cli_env: BTreeMap::from([(
            crate::fake_cli::SCENARIO_ENV.to_owned(),
            "server_load".to_owned(),
        )]),
        cwd: dir.to_owned(),
    };
    ServerChild::start(&role).await
}

/// Runs `call` on every id, `concurrency` at a time; the calls per second.
async fn rate<F, Fut>(ids: &[String], concurrency: usize, call: F) -> f64
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let started = Instant::now();
    futures_util::stream::iter(ids.iter().cloned().map(call))
        .buffer_unordered(concurrency)
        .collect::<Vec<()>>()
        .await;
    ids.len() as f64 / started.elapsed().as_secs_f64()
}

/// Polls every session until `done` holds for its record.
async fn wait_all(api: &Api, ids: &[String], concurrency: usize, done: fn(&Value) -> bool) {
    rate(ids, concurrency, |id| async move {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let record = api.get(&id).await;
            if done(&record) {
                return;
            }
            assert!(Instant::now() < deadline, "session {id} stuck: {record}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
}

fn idle(record: &Value) -> bool {
    record["status"] == "idle"
}

fn one_turn_done(record: &Value) -> bool {
    record["status"] == "idle" && record["turns"] == 1
}

/// Creates `n` sessions, sends each a message, waits for the turns, closes them all.
async fn session_round(api: &Api, server: u32, n: usize, concurrency: usize) -> Footprint {
    let ids: Vec<String> = futures_util::stream::iter((0..n).map(|_| api.create()))
        .buffer_unordered(concurrency)
        .collect()
        .await;
    wait_all(api, &ids, concurrency, idle).await;
    rate(&ids, concurrency, |id| async move {
        api.message(&id, "hello").await;
    })
    .await;
    wait_all(api, &ids, concurrency, one_turn_done).await;
    rate(&ids, concurrency, |id| async move { api.close(&id).await }).await;
    footprint(server)
}

pub struct FakeFigures {
    pub create_per_s: f64,
    pub message_per_s: f64,
    pub get_per_s: f64,
    pub server_kib_per_session: f64,
    pub server_kib_per_session_after_turn: f64,
    pub close_per_s: f64,
    pub left_kib_per_closed_session: f64,
}

/// (b) Many sessions on the fake CLI: requests per second and the server's memory per session.
pub async fn fake_cli(sizes: Sizes) -> FakeFigures {
    let (n, concurrency) = (sizes.fake_sessions, sizes.concurrency);
    println!("(b) {n} sessions on the fake CLI, {concurrency} requests in flight");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let server = fake_cli_server(dir.path()).await;
    let api = Api::new(&server.base);
    let warm = vec![api.create().await];
    api.message(&warm[0], "warm up").await;
    wait_all(&api, &warm, 1, one_turn_done).await;
    let before = footprint(server.pid);
    show("one session, one turn", before);

    let started = Instant::now();
    let ids: Vec<String> = futures_util::stream::iter((0..n).map(|_| api.create()))
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let create_per_s = n as f64 / started.elapsed().as_secs_f64();
    wait_all(&api, &ids, concurrency, idle).await;
    println!(
        "  {n} sessions idle {:.1?} after the first POST",
        started.elapsed()
    );
    let idle_at = footprint(server.pid);
    show(&format!("{n} more sessions, idle"), idle_at);

    let message_per_s = rate(&ids, concurrency, |id| {
        let api = &api;
        async move {
            api.message(&id, "hello").await;
        }
    })
    .await;
    wait_all(&api, &ids, concurrency, one_turn_done).await;
    let turned = footprint(server.pid);
    show("after one turn each", turned);

    const GET_ROUNDS: usize = 4;
    let mut get_per_s = 0.0;
    for _ in 0..GET_ROUNDS {
        get_per_s += rate(&ids, concurrency, |id| {
            let api = &api;
            async move {
                api.get(&id).await;
            }
        })
        .await
            / GET_ROUNDS as f64;
    }
    // Closing every session, then a second round of the same, shows whether a
    // closed session leaves anything behind: the second round should not grow.
    let close_per_s = rate(&ids, concurrency, |id| {
        let api = &api;
        async move { api.close(&id).await }
    })
    .await;
    let closed = footprint(server.pid);
    show("all closed", closed);
    let rounds = crate::env_number("AGENT_SDK_BENCH_CLOSE_ROUNDS", 2).max(1);
    let mut after_rounds = closed;
    for round in 1..=rounds {
        after_rounds = session_round(&api, server.pid, n, concurrency).await;
        show(
            &format!("round {round} more: {n} created, used and closed"),
            after_rounds,
        );
    }
    let (left_kib, _) = kib_per(closed, after_rounds, n * rounds);
    let (idle_kib, _) = kib_per(before, idle_at, n);
    let (turned_kib, cli_kib) = kib_per(before, turned, n);
    println!(
        "  create {create_per_s:.0}/s, message {message_per_s:.0}/s, get {get_per_s:.0}/s, close {close_per_s:.0}/s; \
         server per session {idle_kib:.1} KiB idle, {turned_kib:.1} KiB after a turn (fake CLI {cli_kib:.0} KiB each); \
         left behind per closed session ({rounds} more rounds) {left_kib:.1} KiB"
    );
    server.stop().await;
    FakeFigures {
        create_per_s,
        message_per_s,
        get_per_s,
        server_kib_per_session: idle_kib,
        server_kib_per_session_after_turn: turned_kib,
        close_per_s,
        left_kib_per_closed_session: left_kib,
    }
}

pub struct FanoutFigures {
    pub events: usize,
    pub p50: Duration,
    pub p99: Duration,
    /// The server's CPU time over the messages, per stamped event delivered.
    pub server_cpu_us_per_event: f64,
}

/// (c) Many SSE subscribers on one session: each `assistant_text` event's time
/// from the fake CLI's write of its frame (the stamp in its text) to its
/// arrival at each client.
pub async fn fanout(sizes: Sizes) -> FanoutFigures {
    let (subscribers, messages) = (sizes.subscribers, sizes.fanout_messages);
    println!("(c) {subscribers} SSE subscribers on one session, {messages} messages");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let server = fake_cli_server(dir.path()).await;
    let api = Api::new(&server.base);
    let id = api.create().await;
    wait_all(&api, std::slice::from_ref(&id), 1, idle).await;
    let before = footprint(server.pid);
    let streams: Vec<Sse> = futures_util::stream::iter((0..subscribers).map(|_| api.events(&id)))
        .buffer_unordered(64)
        .collect()
        .await;
    let subscribed = footprint(server.pid);
    println!(
        "  server memory per subscriber: {:.1} KiB",
        (subscribed.server_kib as f64 - before.server_kib as f64) / subscribers as f64
    );
    let completed = Arc::new(AtomicUsize::new(0));
    let readers: Vec<_> = streams
        .into_iter()
        .map(|mut sse| {
            let completed = completed.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(messages);
                let mut turns = 0;
                while turns < messages {
                    let Some((kind, data)) = sse.next().await else {
                        panic!("a subscriber's stream ended after {turns} turns");
                    };
                    match kind.as_str() {
                        "assistant_text" => {
                            let now = monotonic_ns();
                            let data: Value = serde_json::from_str(&data).expect("JSON");
                            let stamp: u64 = data["text"]
                                .as_str()
                                .and_then(|text| text.strip_prefix(STAMP_PREFIX))
                                .and_then(|ns| ns.parse().ok())
                                .expect("a stamped text");
                            latencies.push(Duration::from_nanos(now.saturating_sub(stamp)));
                        }
                        "turn_complete" => {
                            turns += 1;
                            completed.fetch_add(1, Ordering::AcqRel);
                        }
                        "error" => panic!("a subscriber got an error event: {data}"),
                        _ => {}
                    }
                }
                latencies
            })
        })
        .collect();
    let cpu_before = cpu_time(server.pid);
    for round in 1..=messages {
        api.message(&id, &format!("message {round}")).await;
        // One message at a time: every subscriber has its turn_complete before the next.
        while completed.load(Ordering::Acquire) < round * subscribers {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    let server_cpu = cpu_time(server.pid).saturating_sub(cpu_before);
    let mut latencies = Vec::with_capacity(subscribers * messages);
    for reader in readers {
        latencies.extend(reader.await.expect("a subscriber's task"));
    }
    latencies.sort();
    let figures = FanoutFigures {
        events: latencies.len(),
        p50: percentile(&latencies, 0.5),
        p99: percentile(&latencies, 0.99),
        // Every event of the turns (status, user message, text, turn complete), not only the stamped ones.
        server_cpu_us_per_event: server_cpu.as_secs_f64() * 1e6 / (latencies.len().max(1) as f64),
    };
    println!(
        "  {} events delivered; frame to SSE client p50 {:.2?} p99 {:.2?} max {:.2?}; server CPU {server_cpu:.2?} ({:.0} us per stamped event delivered)",
        figures.events,
        figures.p50,
        figures.p99,
        latencies.last().copied().unwrap_or_default(),
        figures.server_cpu_us_per_event
    );
    server.stop().await;
    figures
}
