//! Many `agent-server` processes on one PostgreSQL: real binaries on
//! loopback ports, real CLIs against the scripted fake Messages API, each
//! host with a `HOME` of its own (so a host that takes a session over can
//! only resume it from the session store in the database).
//!
//! - A session created on host A is listed and read on B, and every other
//!   request for it on B is answered 421 with A's address while A lives.
//! - A is killed (SIGKILL) with a turn running: B answers 421 until A's lease
//!   expires, then takes the session over: the running turn is reported
//!   interrupted, the next message's request to the model holds the whole
//!   history, an SSE client resuming on B with `Last-Event-ID` gets exactly
//!   the events after it, and B's `/metrics` counts the takeover.
//! - Two hosts asked at once for a dead host's session: one takes it, the
//!   other answers 421 naming the winner.
//! - A stale owner (SIGSTOP past its lease, SIGCONT after B took over) writes
//!   nothing more into the session's event log and answers 421 naming B.
//!
//! - A stale owner's account of a task's end is refused too.
//!
//! They need the test PostgreSQL (`. .ci/postgres`) and skip without it
//! (fail under `CI`). One host alone on SQLite, killed and started again on
//! its address, takes its sessions back at once (no 421 to itself). One host
//! restarted on SQLite and on Postgres, its CLI killed between: each turn is
//! charged its own cost. A session resumed in another directory and HOME
//! gets its subagents' transcripts back from the store.

use std::process::Stdio;
use std::time::{Duration, Instant};

use agent_sdk::testing::{RecordedRequest, Script, TestEnv, Turn};
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

mod support;

/// The lease TTL and heartbeat the hosts run with (short, so tests are quick).
const LEASE_TTL: &str = "2";
const HEARTBEAT: &str = "0.3";
/// A message containing this is answered after a delay (a turn left running).
const SLOW: &str = "slowly";

/// The model: echoes the prompt with the count of user messages it was
/// shown (the history), slowly when asked to.
fn model(request: &RecordedRequest) -> Turn {
    let turn = agent_sdk::server::offline::answer(request);
    if request
        .last_user_text()
        .is_some_and(|text| text.contains(SLOW))
    {
        turn.with_delay(Duration::from_secs(4))
    } else {
        turn
    }
}

struct Host {
    child: Child,
    base: String,
    http: reqwest::Client,
    _home: tempfile::TempDir,
}

type Event = (Option<u64>, String, Value);

async fn start(name: &str, database_url: &str, env: &TestEnv) -> Host {
    start_on("127.0.0.1:0", &["--host-id", name], database_url, env).await
}

async fn start_on(listen: &str, flags: &[&str], database_url: &str, env: &TestEnv) -> Host {
    start_in(env.cwd(), listen, flags, database_url, env).await
}

/// `start_on` with sessions running in `workdir`.
async fn start_in(
    workdir: &std::path::Path,
    listen: &str,
    flags: &[&str],
    database_url: &str,
    env: &TestEnv,
) -> Host {
    let cli = agent_sdk::testing::ensure_cli().await.expect("the CLI");
    let home = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_agent-server"))
        .args(["--listen", listen])
        .args(flags)
        .args(["--lease-ttl", LEASE_TTL, "--heartbeat", HEARTBEAT])
        .arg("--cli")
        .arg(cli)
        .arg("--workdir")
        .arg(workdir)
        // The fake API's key and address; a HOME of the host's own.
        .envs(env.cli_env())
        .env("HOME", home.path())
        .env("CLAUDE_CONFIG_DIR", home.path().join(".claude"))
        .env("DATABASE_URL", database_url)
        .env_remove("AGENT_SERVER_TOKEN")
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
    let base = line.rsplit_once(' ').unwrap().1.to_owned();
    Host {
        child,
        base,
        http: reqwest::Client::new(),
        _home: home,
    }
}

impl Host {
    async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        (
            status,
            headers,
            response.json().await.unwrap_or(Value::Null),
        )
    }

    async fn post(&self, path: &str, body: Value) -> (u16, reqwest::header::HeaderMap, Value) {
        self.send(self.http.post(format!("{}{path}", self.base)).json(&body))
            .await
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let (status, _, body) = self
            .send(self.http.get(format!("{}{path}", self.base)))
            .await;
        (status, body)
    }

    async fn create(&self) -> String {
        let (status, _, created) = self.post("/v1/sessions", json!({})).await;
        assert_eq!(status, 201, "{created}");
        created["id"].as_str().unwrap().to_owned()
    }

    /// Sends a message; its turn number.
    async fn message(&self, id: &str, text: &str) -> u64 {
        let (status, _, accepted) = self
            .post(
                &format!("/v1/sessions/{id}/messages"),
                json!({"text": text}),
            )
            .await;
        assert_eq!(status, 202, "{text}: {accepted}");
        accepted["turn"].as_u64().unwrap()
    }

    /// SSE events after `after` until one `last` accepts.
    async fn events_until(
        &self,
        id: &str,
        after: u64,
        last: impl Fn(&str, &Value) -> bool,
    ) -> Vec<Event> {
        let response = self
            .http
            .get(format!("{}/v1/sessions/{id}/events", self.base))
            .header("Last-Event-ID", after.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
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
                if kind.is_empty() {
                    continue; // a keep-alive comment
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

    /// Sends a message and reads the events after `after` until its turn completes.
    async fn turn(&self, id: &str, text: &str, after: u64) -> Vec<Event> {
        let turn = self.message(id, text).await;
        self.events_until(id, after, |kind, data| {
            kind == "turn_complete" && data["turn"] == turn
        })
        .await
    }

    fn signal(&self, signal: i32) {
        let pid = self.child.id().expect("running") as i32;
        // SAFETY: a signal to our own child's pid.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    }

    async fn kill(mut self) {
        self.signal(libc::SIGKILL);
        let _ = self.child.wait().await;
    }
}

/// A 421 naming `owner` as the session's host, in the header and the body.
fn assert_misdirected(
    (status, headers, body): &(u16, reqwest::header::HeaderMap, Value),
    owner: &Host,
) {
    assert_eq!(*status, 421, "{body}");
    assert_eq!(body["error"]["code"], "wrong_host", "{body}");
    assert_eq!(
        body["error"]["owner"]["address"],
        owner.base.as_str(),
        "{body}"
    );
    assert_eq!(
        headers.get("x-agent-owner").and_then(|v| v.to_str().ok()),
        Some(owner.base.as_str())
    );
}

fn last_id(events: &[Event]) -> u64 {
    events.iter().rev().find_map(|e| e.0).unwrap()
}

fn texts(events: &[Event]) -> Vec<&str> {
    events
        .iter()
        .filter(|e| e.1 == "assistant_text")
        .map(|e| e.2["text"].as_str().unwrap())
        .collect()
}

/// A fresh schema on the test PostgreSQL, or `None` (skipped) without one.
async fn fresh_database() -> Option<String> {
    let url = agent_sdk::testing::test_postgres_url()?;
    Some(support::fresh_postgres_url(&url).await)
}

async fn fake_api() -> TestEnv {
    let script: Script = std::iter::repeat_n(Turn::from_fn(model), 200).collect();
    TestEnv::start(script).await.expect("the fake API starts")
}

/// Posts `text` to the session on `host` until it is accepted (the dead
/// owner's lease expired); every refusal before is a 421 naming `owner`.
async fn send_until_taken_over(host: &Host, owner: &Host, id: &str, text: &str) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let answer = host
            .post(
                &format!("/v1/sessions/{id}/messages"),
                json!({"text": text}),
            )
            .await;
        if answer.0 == 202 {
            return answer.2["turn"].as_u64().unwrap();
        }
        assert_misdirected(&answer, owner);
        assert!(Instant::now() < deadline, "never taken over");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_hosts_session_moves_to_another_host_with_its_history_and_events() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let env = fake_api().await;
    let a = start("host-a", &url, &env).await;
    let b = start("host-b", &url, &env).await;

    let id = a.create().await;
    let first = a.turn(&id, "alpha", 0).await;
    let second = a.turn(&id, "bravo", last_id(&first)).await;
    assert_eq!(texts(&second), ["You said: bravo (message 2)"]);
    let seen = last_id(&second);

    // B reads every host's sessions; anything else for it is A's.
    let (status, listed) = b.get("/v1/sessions").await;
    assert_eq!(status, 200);
    assert_eq!(listed["sessions"][0]["id"], id.as_str(), "{listed}");
    let (status, one) = b.get(&format!("/v1/sessions/{id}")).await;
    assert_eq!((status, one["turns"].as_u64()), (200, Some(2)), "{one}");
    let refused = b
        .post(&format!("/v1/sessions/{id}/messages"), json!({"text": "x"}))
        .await;
    assert_misdirected(&refused, &a);
    for request in [
        b.http.get(format!("{}/v1/sessions/{id}/events", b.base)),
        b.http
            .post(format!("{}/v1/sessions/{id}/interrupt", b.base)),
        b.http.delete(format!("{}/v1/sessions/{id}", b.base)),
    ] {
        assert_misdirected(&b.send(request).await, &a);
    }

    // A third turn is running on A when A dies.
    let running = a.message(&id, &format!("charlie, {SLOW}")).await;
    a.events_until(&id, seen, |kind, data| {
        kind == "user_message" && data["turn"] == running
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await; // its event reaches the database
    let killed = Instant::now();
    a.signal(libc::SIGKILL);
    let refused = b
        .post(&format!("/v1/sessions/{id}/messages"), json!({"text": "x"}))
        .await;
    assert_misdirected(&refused, &a);
    let next = send_until_taken_over(&b, &a, &id, "delta").await;
    let takeover = killed.elapsed();
    println!("takeover: {takeover:?} from SIGKILL to the message accepted on the new host");
    assert!(
        takeover >= Duration::from_millis(1000),
        "{takeover:?}: A's lease was live"
    );
    assert_eq!(next, running + 1, "turns are numbered on");

    // A client that saw up to `seen` on A resumes on B: exactly what came after.
    let resumed = b
        .events_until(&id, seen, |kind, data| {
            kind == "turn_complete" && data["turn"] == next
        })
        .await;
    let ids: Vec<u64> = resumed.iter().map(|e| e.0.unwrap()).collect();
    assert_eq!(
        ids,
        (seen + 1..=seen + ids.len() as u64).collect::<Vec<_>>(),
        "no gap, no duplicate: {resumed:?}"
    );
    let interrupted = resumed
        .iter()
        .find(|e| e.1 == "turn_complete" && e.2["turn"] == running)
        .unwrap_or_else(|| panic!("the running turn is reported: {resumed:?}"));
    assert_eq!(interrupted.2["interrupted"], true, "{interrupted:?}");
    assert!(
        !resumed
            .iter()
            .any(|e| e.1 == "assistant_text" && e.2["turn"] == running),
        "the interrupted turn is not run again: {resumed:?}"
    );
    let answer = texts(&resumed);
    assert_eq!(answer.len(), 1, "{resumed:?}");
    assert!(
        answer[0].starts_with("You said: delta (message"),
        "{answer:?}"
    );

    // The model was shown the conversation B resumed from the store.
    let request = env.api().last_main_loop_request().unwrap();
    let history = serde_json::to_string(request.messages()).unwrap();
    for said in ["alpha", "bravo", "delta"] {
        assert!(history.contains(said), "{said:?} missing from {history}");
    }

    let metrics = b
        .http
        .get(format!("{}/metrics", b.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("agent_server_takeovers_total 1"),
        "{metrics}"
    );
    let (_, one) = b.get(&format!("/v1/sessions/{id}")).await;
    assert_eq!(one["status"], "idle", "{one}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_two_hosts_taking_a_dead_hosts_session_at_once_one_wins() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let env = fake_api().await;
    let a = start("host-a", &url, &env).await;
    let b = start("host-b", &url, &env).await;
    let c = start("host-c", &url, &env).await;
    let id = a.create().await;
    a.turn(&id, "one", 0).await;
    a.kill().await;
    tokio::time::sleep(Duration::from_millis(2_500)).await; // past A's lease

    let path = format!("/v1/sessions/{id}/messages");
    let (on_b, on_c) = tokio::join!(
        b.post(&path, json!({"text": "two"})),
        c.post(&path, json!({"text": "two"}))
    );
    let (winner, loser_answer) = match (on_b.0, on_c.0) {
        (202, _) => (&b, on_c),
        (_, 202) => (&c, on_b),
        _ => panic!("nobody took it: {on_b:?} {on_c:?}"),
    };
    assert_misdirected(&loser_answer, winner);
    let loser = if std::ptr::eq(winner, &b) { &c } else { &b };
    assert_misdirected(&loser.post(&path, json!({"text": "three"})).await, winner);
    let events = winner
        .events_until(&id, 0, |kind, data| {
            kind == "turn_complete" && data["turn"] == 2
        })
        .await;
    assert_eq!(
        texts(&events),
        ["You said: one (message 1)", "You said: two (message 2)"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_owner_writes_nothing_more_and_sends_clients_to_the_new_one() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let env = fake_api().await;
    let a = start("host-a", &url, &env).await;
    let b = start("host-b", &url, &env).await;
    let id = a.create().await;
    let first = a.turn(&id, "one", 0).await;

    // A stops (SIGSTOP) with a task's turn running; its CLI goes on and gets the answer.
    let (status, _, task) = a
        .post(
            "/v1/tasks",
            json!({"prompt": format!("two, {SLOW}"), "session": {"id": id, "reuse_existing": true}}),
        )
        .await;
    assert_eq!(status, 201, "{task}");
    let task_id = task["task_id"].as_str().unwrap().to_owned();
    let stalled = 2;
    a.events_until(&id, last_id(&first), |kind, data| {
        kind == "user_message" && data["turn"] == stalled
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    a.signal(libc::SIGSTOP);
    let next = send_until_taken_over(&b, &a, &id, "three").await;
    b.events_until(&id, last_id(&first), |kind, data| {
        kind == "turn_complete" && data["turn"] == next
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await; // the stalled turn's answer is waiting for A

    // A comes back: its writes are refused, and it sends clients to B.
    let resumed_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    a.signal(libc::SIGCONT);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let refused = a
        .post(&format!("/v1/sessions/{id}/messages"), json!({"text": "x"}))
        .await;
    assert_misdirected(&refused, &b);
    let events_on_a = a
        .send(
            a.http
                .get(format!("{}/v1/sessions/{id}/events?after=0", a.base)),
        )
        .await;
    assert_misdirected(&events_on_a, &b);

    // The model did answer the stalled turn (A's CLI had the answer to write).
    assert!(
        env.api()
            .main_loop_requests()
            .iter()
            .any(|r| r.last_user_text().is_some_and(|t| t.contains("two, "))),
        "the stalled turn reached the model"
    );
    // The event log holds B's account of the stalled turn and nothing of A's after it.
    let db = agent_sdk::server::db::open(&url).await.unwrap();
    let log = db.events_after(&id, 0, 10_000).await.unwrap();
    let seqs: Vec<u64> = log.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=log.len() as u64).collect::<Vec<_>>());
    let of_stalled: Vec<(&str, &Value)> = log
        .iter()
        .filter(|e| e.data["turn"] == stalled)
        .map(|e| (e.kind.as_str(), &e.data))
        .collect();
    assert_eq!(of_stalled.len(), 2, "{of_stalled:?}");
    assert_eq!(of_stalled[0].0, "user_message");
    assert_eq!(
        (of_stalled[1].0, &of_stalled[1].1["interrupted"]),
        ("turn_complete", &json!(true)),
        "{of_stalled:?}"
    );
    let last = log.last().unwrap();
    assert_eq!(
        (last.kind.as_str(), &last.data["status"]),
        ("status", &json!("idle")),
        "B's turn ended the log: {log:?}"
    );
    let record = db.get_session(&id).await.unwrap().unwrap();
    assert_eq!(record.turns, 2);
    // Nor its task: B reported it interrupted when it took over, and A's
    // account of its end was refused.
    let (status, task) = b.get(&format!("/v1/tasks/{task_id}")).await;
    assert_eq!(status, 200);
    assert_eq!(task["status"], "interrupted", "{task}");
    assert_eq!(task["error"], "the host running it stopped", "{task}");
    assert_eq!(task["result"], Value::Null, "A's stale result: {task}");
    assert!(
        task["finished_at"].as_i64().unwrap() < resumed_at,
        "B's record of it, written before A came back: {task}"
    );

    // Nor its transcript: the stalled turn's answer never reached the store B resumes from.
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let mirrored = async |text: &str| -> i64 {
        client
            .query_one(
                "SELECT count(*) FROM agent_sdk_entries WHERE session_id = $1
                 AND entry::TEXT LIKE '%' || $2 || '%'",
                &[&record.claude_session_id, &text],
            )
            .await
            .unwrap()
            .get(0)
    };
    assert!(
        mirrored("You said: three").await > 0,
        "B's turn is in the store"
    );
    assert_eq!(
        mirrored("You said: two, ").await,
        0,
        "A's stale answer is not"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_host_back_on_its_address_takes_its_sessions_back_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("server.db").display());
    let env = fake_api().await;
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let listen = free.local_addr().unwrap().to_string();
    drop(free);
    // No --host-id: each process gets a random one; the address is the same.
    let first = start_on(&listen, &[], &url, &env).await;
    let id = first.create().await;
    let before = first.turn(&id, "alpha", 0).await;
    let running = first.message(&id, &format!("bravo, {SLOW}")).await;
    first
        .events_until(&id, last_id(&before), |kind, data| {
            kind == "user_message" && data["turn"] == running
        })
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    first.kill().await;

    let again = start_on(&listen, &[], &url, &env).await;
    let turn = again.message(&id, "charlie").await; // at once: its lease is its own
    assert_eq!(turn, running + 1);
    let events = again
        .events_until(&id, last_id(&before), |kind, data| {
            kind == "turn_complete" && data["turn"] == turn
        })
        .await;
    let interrupted = events
        .iter()
        .find(|e| e.1 == "turn_complete" && e.2["turn"] == running)
        .unwrap_or_else(|| panic!("the running turn is reported: {events:?}"));
    assert_eq!(interrupted.2["interrupted"], true);
    // The model saw the conversation (the interrupted message may be in it or not).
    let answer = texts(&events);
    assert_eq!(answer.len(), 1, "{events:?}");
    assert!(
        answer[0] == "You said: charlie (message 2)"
            || answer[0] == "You said: charlie (message 3)",
        "{answer:?}"
    );
    let metrics = again
        .http
        .get(format!("{}/metrics", again.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("agent_server_takeovers_total 0"),
        "{metrics}"
    );
}

/// The pids of the CLIs the server process runs (its children).
fn cli_pids(host: &Host) -> Vec<i32> {
    let pid = host.child.id().expect("running");
    let mut pids = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let children =
            std::fs::read_to_string(task.unwrap().path().join("children")).unwrap_or_default();
        pids.extend(
            children
                .split_whitespace()
                .map(|p| p.parse::<i32>().unwrap()),
        );
    }
    pids
}

/// SIGKILLs the host's CLI: its supervisor starts another, which resumes the
/// conversation without the running totals (a killed CLI saves none).
async fn kill_cli(host: &Host) {
    let pids = cli_pids(host);
    assert_eq!(pids.len(), 1, "one session, one CLI: {pids:?}");
    // SAFETY: a signal to our child's child.
    assert_eq!(unsafe { libc::kill(pids[0], libc::SIGKILL) }, 0);
    let deadline = Instant::now() + Duration::from_secs(30);
    while cli_pids(host) == pids || cli_pids(host).is_empty() {
        assert!(Instant::now() < deadline, "the CLI was not restarted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// SIGTERM: the host drains (its CLIs exit cleanly, saving their running
/// totals), then starts again on the same address and database.
async fn drain_and_restart(mut host: Host, listen: &str, url: &str, env: &TestEnv) -> Host {
    host.signal(libc::SIGTERM);
    let status = tokio::time::timeout(Duration::from_secs(60), host.child.wait())
        .await
        .expect("the host exits after its drain")
        .unwrap();
    assert!(status.success(), "{status}");
    start_on(listen, &[], url, env).await
}

/// What the pinned CLI charges a token of the model it asks the fake API
/// for: input, output (USD).
const PRICE_PER_TOKEN: (f64, f64) = (4e-6, 20e-6);

/// A session's usage is the sum of its turns' own costs, whatever happened to
/// its CLIs between them: a CLI killed (the next resumes without the running
/// totals), a clean restart (the next restores the last process's totals,
/// which may not be all the session's turns), each more than once.
async fn usage_is_each_turns_own_cost(url: &str) {
    let env = fake_api().await;
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let listen = free.local_addr().unwrap().to_string();
    drop(free);
    let mut host = start_on(&listen, &[], url, &env).await;
    let (status, _, created) = host.post("/v1/sessions", json!({"user": "ada"})).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let mut completed = Vec::new();
    let mut after = 0;
    let mut turn = async |host: &Host, text: &str| {
        let events = host.turn(&id, text, after).await;
        after = last_id(&events);
        let complete = events
            .iter()
            .rev()
            .find(|e| e.1 == "turn_complete")
            .unwrap();
        completed.push(complete.2.clone());
    };
    turn(&host, "one").await;
    turn(&host, "two").await;
    kill_cli(&host).await;
    turn(&host, "three").await;
    turn(&host, "four").await;
    host = drain_and_restart(host, &listen, url, &env).await;
    turn(&host, "five").await;
    kill_cli(&host).await;
    turn(&host, "six").await;
    host = drain_and_restart(host, &listen, url, &env).await;
    turn(&host, "seven").await;
    host = drain_and_restart(host, &listen, url, &env).await;
    turn(&host, "eight").await;

    // Each turn is charged what its own tokens cost, and the session and the
    // usage report the sum.
    let (input, output) = PRICE_PER_TOKEN;
    let mut expected = 0.0;
    for complete in &completed {
        let usage = &complete["usage"];
        let own = usage["input_tokens"].as_f64().unwrap() * input
            + usage["output_tokens"].as_f64().unwrap() * output;
        let charged = usage["cost_usd"].as_f64().unwrap();
        assert!(
            (charged - own).abs() < 1e-9,
            "turn {} charged {charged}, its tokens cost {own}: {completed:?}",
            complete["turn"]
        );
        expected += own;
    }
    let (_, session) = host.get(&format!("/v1/sessions/{id}")).await;
    let charged = session["usage"]["cost_usd"].as_f64().unwrap();
    assert!((charged - expected).abs() < 1e-9, "{charged} != {expected}");
    let db = agent_sdk::server::db::open(url).await.unwrap();
    let spent = db.user_spend(None, "ada").await.unwrap();
    assert!((spent - expected).abs() < 1e-9, "usage records sum {spent}");
    assert_eq!(session["turns"], 8, "{session}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_is_each_turns_own_cost_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    usage_is_each_turns_own_cost(&format!(
        "sqlite://{}",
        dir.path().join("server.db").display()
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_is_each_turns_own_cost_on_postgres() {
    let Some(url) = fresh_database().await else {
        return;
    };
    usage_is_each_turns_own_cost(&url).await;
}

/// The subagent transcripts (`.../subagents/*.jsonl`) under a host's HOME.
fn subagent_files(host: &Host) -> Vec<std::path::PathBuf> {
    fn walk(dir: &std::path::Path, found: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|e| e == "jsonl")
                && path.parent().is_some_and(|p| p.ends_with("subagents"))
            {
                found.push(path);
            }
        }
    }
    let mut found = Vec::new();
    walk(host._home.path(), &mut found);
    found
}

/// A session resumed where its earlier directory is gone (another host, a
/// scratch directory of an earlier process) gets its subagents' transcripts
/// from the session store too, not only its main one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_resumed_in_another_directory_keeps_its_subagents_transcripts() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("server.db").display());
    let script = Script::new()
        .then(Turn::tool_use(
            "Agent",
            json!({
                "description": "count",
                "prompt": "Count to three.",
                "subagent_type": "general-purpose",
                "run_in_background": false,
            }),
        ))
        .then(Turn::text("one two three"))
        .then(Turn::text("the subagent counted"))
        .then(Turn::text("after the move"));
    let env = TestEnv::start(script).await.expect("the fake API starts");
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let listen = free.local_addr().unwrap().to_string();
    drop(free);

    let first_dir = tempfile::tempdir().unwrap();
    let mut first = start_in(first_dir.path(), &listen, &[], &url, &env).await;
    let (status, _, created) = first
        .post("/v1/sessions", json!({"allowed_tools": ["Agent"]}))
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let events = first.turn(&id, "Ask a subagent to count", 0).await;
    assert_eq!(texts(&events), ["the subagent counted"], "{events:?}");
    let ran = subagent_files(&first);
    assert_eq!(ran.len(), 1, "the subagent's transcript: {ran:?}");
    first.signal(libc::SIGTERM);
    assert!(first.child.wait().await.unwrap().success());
    drop(first_dir);

    // Another directory and another HOME: everything comes from the store.
    let second_dir = tempfile::tempdir().unwrap();
    let second = start_in(second_dir.path(), &listen, &[], &url, &env).await;
    let events = second.turn(&id, "again", last_id(&events)).await;
    assert_eq!(texts(&events), ["after the move"], "{events:?}");
    let restored = subagent_files(&second);
    assert_eq!(
        restored.iter().map(|p| p.file_name()).collect::<Vec<_>>(),
        ran.iter().map(|p| p.file_name()).collect::<Vec<_>>(),
        "the subagent's transcript is back: {restored:?}"
    );
    // Its conversation entries, each once (the CLI's request records, which
    // carry no uuid, are not mirrored).
    let entries = |path: &std::path::Path| -> Vec<(String, String)> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str::<Value>(line).unwrap())
            .filter(|entry| entry["uuid"].is_string())
            .map(|entry| (entry["type"].to_string(), entry["uuid"].to_string()))
            .collect()
    };
    let subagent = entries(&ran[0]);
    assert!(
        subagent.iter().any(|e| e.0 == "\"assistant\""),
        "{subagent:?}"
    );
    assert_eq!(entries(&restored[0]), subagent);
}
