//! The session stores: entries per second of mirroring (appends in batches
//! as the transcript mirror sends them) into SQLite and Postgres, and the
//! time to load a 50-turn session (what a resume through the store adds).
//!
//! `cargo bench -p agent-sdk --all-features --bench store`; Postgres is
//! measured when `AGENT_SDK_TEST_POSTGRES_URL` is set (`source .ci/postgres`).

use std::time::{Duration, Instant};

use agent_sdk::store::{
    InMemorySessionStore, PostgresSessionStore, SessionKey, SessionStore, SqliteSessionStore,
    StoreEntry,
};
use serde_json::json;

/// Entries per mirrored session in the throughput runs.
const ENTRIES: usize = 4_000;
/// One turn's entries (eager flush), and a busy session's batch.
const BATCH_SIZES: [usize; 2] = [4, 100];
const TURNS: usize = 50;
const LOADS: usize = 20;

/// The four entries of a turn with a tool call, sized as the CLI writes them.
fn turn(session: &str, n: usize) -> [StoreEntry; 4] {
    let base = |kind: &str, i: usize, message: serde_json::Value| {
        json!({
            "type": kind, "uuid": format!("{session}-{n}-{i}"), "parentUuid": format!("{session}-{n}-{}", i.max(1) - 1),
            "sessionId": session, "timestamp": "2026-01-01T00:00:00.000Z", "cwd": "/work/project",
            "gitBranch": "main", "version": "2.1.0", "isSidechain": false, "userType": "external",
            "message": message,
        })
        .as_object()
        .cloned()
        .expect("an object")
    };
    let text = "lorem ipsum dolor sit amet ".repeat(12);
    [
        base(
            "user",
            0,
            json!({"role": "user", "content": format!("turn {n}: {text}")}),
        ),
        base(
            "assistant",
            1,
            json!({"role": "assistant", "model": "claude-sonnet-4-5", "content": [
            {"type": "tool_use", "id": format!("toolu_{n}"), "name": "Bash", "input": {"command": "ls -la"}}],
            "usage": {"input_tokens": 1200, "output_tokens": 80}}),
        ),
        base(
            "user",
            2,
            json!({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": format!("toolu_{n}"), "content": text}]}),
        ),
        base(
            "assistant",
            3,
            json!({"role": "assistant", "model": "claude-sonnet-4-5",
            "content": [{"type": "text", "text": text}], "usage": {"input_tokens": 1400, "output_tokens": 120}}),
        ),
    ]
}

fn entries(session: &str, count: usize) -> Vec<StoreEntry> {
    (0..count.div_ceil(4))
        .flat_map(|n| turn(session, n))
        .take(count)
        .collect()
}

async fn measure(name: &str, store: &dyn SessionStore) {
    for batch in BATCH_SIZES {
        let session = format!("append-{batch}");
        let key = SessionKey::new("bench", &session);
        let all = entries(&session, ENTRIES);
        let started = Instant::now();
        for chunk in all.chunks(batch) {
            store.append(&key, chunk.to_vec()).await.expect("append");
        }
        let rate = ENTRIES as f64 / started.elapsed().as_secs_f64();
        println!("{name:>8}: append, batches of {batch:>3}: {rate:>9.0} entries/s");
    }
    let key = SessionKey::new("bench", "load-50-turns");
    for n in 0..TURNS {
        store
            .append(&key, turn("load", n).to_vec())
            .await
            .expect("append");
    }
    let mut times: Vec<Duration> = Vec::with_capacity(LOADS);
    for _ in 0..LOADS {
        let started = Instant::now();
        let loaded = store.load(&key).await.expect("load").expect("stored");
        times.push(started.elapsed());
        assert_eq!(loaded.len(), TURNS * 4);
    }
    times.sort();
    println!(
        "{name:>8}: load a {TURNS}-turn session ({} entries): median {:.2} ms, max {:.2} ms",
        TURNS * 4,
        times[LOADS / 2].as_secs_f64() * 1e3,
        times[LOADS - 1].as_secs_f64() * 1e3
    );
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    measure("memory", &InMemorySessionStore::new()).await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let sqlite = SqliteSessionStore::open(dir.path().join("bench.db"))
        .await
        .expect("sqlite");
    measure("sqlite", &sqlite).await;
    match std::env::var("AGENT_SDK_TEST_POSTGRES_URL") {
        Ok(url) => {
            let postgres = PostgresSessionStore::connect(&url).await.expect("postgres");
            // A database shared with earlier runs: start from nothing.
            for session in ["append-4", "append-100", "load-50-turns"] {
                postgres
                    .delete(&SessionKey::new("bench", session))
                    .await
                    .expect("delete");
            }
            measure("postgres", &postgres).await;
        }
        Err(_) => println!(
            "postgres: skipped (set AGENT_SDK_TEST_POSTGRES_URL, or `source .ci/postgres`)"
        ),
    }
}
