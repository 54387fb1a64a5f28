//! The supervisor of many sessions, with the real CLI: restarts that keep the
//! conversation, the restart intensity, idle eviction, capacity, warm spares,
//! shutdown, and no CLI left behind when the host process is SIGKILLed.

use std::path::Path;
use std::time::{Duration, Instant};

use agent_sdk::Message;
use agent_sdk::supervisor::{
    CapacityPolicy, Conversation, EvictReason, Profile, SessionHandle, SessionState, Supervisor,
    SupervisorConfig, SupervisorError, SupervisorEvent, TurnStream,
};
use agent_sdk::testing::{Script, Turn};
use agent_sdk_e2e::World;
use futures_util::{Stream, StreamExt};

/// A model that answers every turn with what it heard and how long the conversation is,
/// whichever session asks: concurrent sessions need no ordering of the script.
fn echo_script(turns: usize) -> Script {
    (0..turns)
        .map(|_| {
            Turn::from_fn(|request| {
                Turn::text(format!(
                    "heard {:?} after {} messages",
                    request.last_user_text().unwrap_or_default(),
                    request.messages().len()
                ))
            })
        })
        .collect()
}

/// Runs one turn to its end; returns the assistant text, failing on any error.
async fn turn_text(session: &SessionHandle, prompt: impl Into<String>) -> String {
    let turn = session.send(prompt.into()).expect("the turn is queued");
    text_of(turn).await
}

async fn text_of(turn: TurnStream) -> String {
    let messages: Vec<_> = tokio::time::timeout(Duration::from_secs(90), turn.collect::<Vec<_>>())
        .await
        .expect("the turn ended within 90 s");
    let mut text = String::new();
    let mut saw_result = false;
    for message in messages {
        match message.expect("no error in the turn") {
            Message::Assistant(reply) => text.push_str(&reply.text()),
            Message::Result(_) => saw_result = true,
            _ => {}
        }
    }
    assert!(saw_result, "the turn ended with a result");
    text
}

/// Waits for the first event that `pick` accepts.
async fn wait_event<K, S, T>(
    events: &mut S,
    within: Duration,
    mut pick: impl FnMut(&SupervisorEvent<K>) -> Option<T>,
) -> T
where
    S: Stream<Item = SupervisorEvent<K>> + Unpin,
{
    tokio::time::timeout(within, async {
        while let Some(event) = events.next().await {
            if let Some(found) = pick(&event) {
                return found;
            }
        }
        panic!("the event stream ended")
    })
    .await
    .expect("the event came in time")
}

/// True while `pid` runs (a zombie counts as gone: it runs nothing).
fn running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .and_then(|rest| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z"),
        Err(_) => false,
    }
}

async fn wait_gone(pid: u32, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if !running(pid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

async fn pid_of<K: agent_sdk::supervisor::SessionKey>(supervisor: &Supervisor<K>, key: &K) -> u32 {
    supervisor
        .health(key)
        .await
        .expect("the session exists")
        .pid
        .expect("its CLI runs")
}

fn sigkill(pid: u32) {
    // SAFETY: kill(2) on a pid of our own child.
    let result = unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
    assert_eq!(result, 0, "SIGKILL was delivered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_sessions_one_killed_between_turns_resumes_its_history_and_the_others_go_on() {
    let world = World::start(echo_script(64)).await;
    let supervisor = Supervisor::new(SupervisorConfig::default());
    let mut events = supervisor.events();
    let names: Vec<String> = (0..8).map(|i| format!("user-{i}")).collect();
    let mut sessions = Vec::new();
    for name in &names {
        let options = world.options().build().unwrap();
        sessions.push(
            supervisor
                .start_session(name.clone(), options)
                .await
                .unwrap(),
        );
    }
    assert_eq!(supervisor.count(), 8);
    let firsts = futures_util::future::join_all(
        sessions
            .iter()
            .zip(&names)
            .map(|(session, name)| turn_text(session, format!("I am {name}"))),
    )
    .await;
    for (text, name) in firsts.iter().zip(&names) {
        assert!(text.contains(&format!("heard \"I am {name}\"")), "{text}");
    }

    let health = supervisor.health(&names[0]).await.unwrap();
    assert!(health.alive && health.pid.is_some(), "{health:?}");
    assert!(
        health.answer_time.is_some(),
        "the CLI answered the probe: {health:?}"
    );
    assert_eq!(health.state, SessionState::Idle);

    let victim = names[3].clone();
    let old_pid = pid_of(&supervisor, &victim).await;
    let killed_at = Instant::now();
    sigkill(old_pid);
    let (reason, conversation) =
        wait_event(&mut events, Duration::from_secs(30), |event| match event {
            SupervisorEvent::Restarted {
                key,
                reason,
                conversation,
            } if *key == victim => Some((reason.clone(), *conversation)),
            _ => None,
        })
        .await;
    eprintln!("restarted {:?} after the SIGKILL", killed_at.elapsed());
    assert!(reason.contains("signal 9"), "{reason}");
    assert_eq!(conversation, Conversation::Resumed);
    assert_ne!(pid_of(&supervisor, &victim).await, old_pid);

    let seconds = futures_util::future::join_all(
        sessions
            .iter()
            .zip(&names)
            .map(|(session, name)| turn_text(session, format!("again from {name}"))),
    )
    .await;
    // Every second turn sees its first; the victim's as much as the others'.
    let lengths: Vec<&str> = seconds
        .iter()
        .zip(&names)
        .map(|(text, name)| {
            let heard = format!("heard \"again from {name}\" after ");
            assert!(text.starts_with(&heard), "{text}");
            &text[heard.len()..]
        })
        .collect();
    assert!(
        lengths.iter().all(|length| *length == lengths[0]),
        "{lengths:?}"
    );
    assert_ne!(lengths[0], "1 messages");
    let victims_request = world
        .env
        .api()
        .main_loop_requests()
        .into_iter()
        .find(|request| {
            request.last_user_text().as_deref() == Some(&format!("again from {victim}"))
        })
        .expect("the victim's second request");
    let history = serde_json::to_string(victims_request.messages()).unwrap();
    assert!(history.contains(&format!("I am {victim}")), "{history}");

    for info in supervisor.list_sessions() {
        assert_eq!(info.turns, 2, "{info:?}");
        assert_eq!(info.state, SessionState::Idle);
        let expected = if info.key == victim { 1 } else { 0 };
        assert_eq!(info.restarts, expected, "{info:?}");
    }
    assert_eq!(supervisor.counters().restarts, 1);
    assert_eq!(supervisor.counters().turns, 16);
    supervisor.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cli_that_dies_on_every_start_fails_its_session_only() {
    let world = World::start(echo_script(4)).await;
    let broken = world.env.cwd().join("broken-claude");
    std::fs::write(
        &broken,
        "#!/bin/sh\necho 'cannot start today' >&2\nexit 1\n",
    )
    .unwrap();
    make_executable(&broken);

    let supervisor =
        Supervisor::new(SupervisorConfig::default().max_restarts(3, Duration::from_secs(5)));
    let mut events = supervisor.events();
    let healthy = supervisor
        .start_session("healthy", world.options().build().unwrap())
        .await
        .unwrap();
    let started = Instant::now();
    let doomed = supervisor
        .start_session("doomed", world.options().cli_path(&broken).build().unwrap())
        .await
        .unwrap();
    let error = wait_event(&mut events, Duration::from_secs(20), |event| match event {
        SupervisorEvent::Failed { key, error } if *key == "doomed" => Some(error.clone()),
        _ => None,
    })
    .await;
    eprintln!("failed after {:?}", started.elapsed());
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(error.contains("code 1"), "{error}");
    assert!(error.contains("cannot start today"), "{error}");
    let info = supervisor.session_info(&"doomed").unwrap();
    assert_eq!(info.state, SessionState::Failed);
    assert_eq!(info.restarts, 3, "three restarts, the fourth was refused");
    match doomed.send("hello").unwrap().next().await {
        Some(Err(SupervisorError::Failed { last_error })) => assert!(last_error.contains("code 1")),
        other => panic!("expected a failed session, got {other:?}"),
    }
    assert!(
        turn_text(&healthy, "still fine?")
            .await
            .contains("still fine?")
    );
    assert_eq!(supervisor.counters().sessions_failed, 1);

    // A requested restart keeps the conversation and is not held against the session.
    supervisor.restart_session(&"healthy").await.unwrap();
    let (reason, conversation) =
        wait_event(&mut events, Duration::from_secs(30), |event| match event {
            SupervisorEvent::Restarted {
                key,
                reason,
                conversation,
            } if *key == "healthy" => Some((reason.clone(), *conversation)),
            _ => None,
        })
        .await;
    assert_eq!(reason, "restart requested");
    assert_eq!(conversation, Conversation::Resumed);
    turn_text(&healthy, "and now?").await;
    let history =
        serde_json::to_string(world.env.api().last_main_loop_request().unwrap().messages())
            .unwrap();
    assert!(history.contains("still fine?"), "{history}");
    supervisor.shutdown(Duration::from_secs(5)).await;
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_sessions_give_their_cli_back_and_resume_but_not_while_subscribed() {
    let world = World::start(echo_script(8)).await;
    let supervisor = Supervisor::new(
        SupervisorConfig::default()
            .idle_timeout(Duration::from_millis(1500))
            .reap_interval(Duration::from_millis(50)),
    );
    let mut events = supervisor.events();
    let idle = supervisor
        .start_session("idle", world.options().build().unwrap())
        .await
        .unwrap();
    let watched = supervisor
        .start_session("watched", world.options().build().unwrap())
        .await
        .unwrap();
    let _subscriber = watched.subscribe().unwrap();
    turn_text(&idle, "remember the word teal").await;
    let pid = pid_of(&supervisor, &"idle").await;
    turn_text(&watched, "I am watched").await;
    let watched_pid = pid_of(&supervisor, &"watched").await;

    let reason = wait_event(&mut events, Duration::from_secs(10), |event| match event {
        SupervisorEvent::Evicted { key, reason } => {
            assert_eq!(
                *key, "idle",
                "only the session without a subscriber is evicted"
            );
            Some(*reason)
        }
        _ => None,
    })
    .await;
    assert_eq!(reason, EvictReason::Idle);
    assert!(
        wait_gone(pid, Duration::from_secs(5)).await,
        "the evicted CLI is gone"
    );
    assert_eq!(
        supervisor.session_info(&"idle").unwrap().state,
        SessionState::Evicted
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        supervisor.session_info(&"watched").unwrap().state,
        SessionState::Idle
    );
    assert!(running(watched_pid));

    let text = turn_text(&idle, "what was the word?").await;
    assert!(!text.contains("after 1 messages"), "{text}");
    let request = world.env.api().last_main_loop_request().unwrap();
    let history = serde_json::to_string(request.messages()).unwrap();
    assert!(history.contains("remember the word teal"), "{history}");
    assert_eq!(
        supervisor.session_info(&"idle").unwrap().conversation,
        Conversation::Resumed
    );
    assert_eq!(supervisor.counters().evicted_idle, 1);
    supervisor.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capacity_is_refused_or_makes_room_by_evicting_the_least_recently_used() {
    let world = World::start(echo_script(8)).await;
    let refusing = Supervisor::new(SupervisorConfig::default().max_sessions(1));
    let only = refusing
        .start_session(1, world.options().build().unwrap())
        .await
        .unwrap();
    match refusing
        .start_session(2, world.options().build().unwrap())
        .await
    {
        Err(SupervisorError::AtCapacity { max_sessions: 1 }) => {}
        other => panic!("expected AtCapacity, got {other:?}"),
    }
    assert_eq!(refusing.count(), 1);
    turn_text(&only, "alone").await;
    refusing.shutdown(Duration::from_secs(5)).await;

    let evicting = Supervisor::new(
        SupervisorConfig::default()
            .max_sessions(2)
            .capacity_policy(CapacityPolicy::EvictLeastRecentlyUsed),
    );
    let mut events = evicting.events();
    let a = evicting
        .start_session('a', world.options().build().unwrap())
        .await
        .unwrap();
    let b = evicting
        .start_session('b', world.options().build().unwrap())
        .await
        .unwrap();
    turn_text(&a, "a speaks first").await;
    turn_text(&b, "b speaks later").await;
    let c = evicting
        .start_session('c', world.options().build().unwrap())
        .await
        .unwrap();
    let evicted = wait_event(&mut events, Duration::from_secs(10), |event| match event {
        SupervisorEvent::Evicted {
            key,
            reason: EvictReason::Capacity,
        } => Some(*key),
        _ => None,
    })
    .await;
    assert_eq!(evicted, 'a', "the least recently used");
    assert_eq!(evicting.counters().sessions_live, 2);
    turn_text(&c, "c is in").await;
    assert!(
        evicting.evict_session(&'b').await.unwrap(),
        "an idle session is evicted on request"
    );
    assert_eq!(
        evicting.session_info(&'b').unwrap().state,
        SessionState::Evicted
    );
    assert_eq!(evicting.counters().evicted_requested, 1);
    assert_eq!(evicting.counters().sessions_live, 1);
    evicting.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warm_spare_is_taken_and_replaced() {
    let world = World::start(echo_script(4)).await;
    let supervisor = Supervisor::new(SupervisorConfig::default());
    let mut events = supervisor.events();
    let profile = Profile::new("default", world.options().build().unwrap());
    assert_eq!(supervisor.prewarm(&profile, 1).await, 1);
    let session = supervisor
        .start_profile_session("warm", &profile)
        .await
        .unwrap();
    let warm = wait_event(&mut events, Duration::from_secs(30), |event| match event {
        SupervisorEvent::Started { key, warm } if *key == "warm" => Some(*warm),
        _ => None,
    })
    .await;
    assert!(warm, "the session took the spare");
    assert!(
        turn_text(&session, "hello warm")
            .await
            .contains("hello warm")
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while supervisor.spares_ready(&profile) < 1 {
        assert!(Instant::now() < deadline, "the spare was replaced");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(supervisor.counters().spares_taken, 1);
    supervisor.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn turns_queue_to_a_bound_and_a_dropped_stream_does_not_wedge_the_session() {
    let world = World::start(
        Script::new()
            .then(Turn::text("slow answer").with_delay(Duration::from_secs(2)))
            .then(Turn::text("second answer"))
            .then(Turn::text("third answer")),
    )
    .await;
    let supervisor = Supervisor::new(SupervisorConfig::default().queue_bound(1));
    let session = supervisor
        .start_session("q", world.options().build().unwrap())
        .await
        .unwrap();
    let first = session.send("first").unwrap();
    world
        .env
        .api()
        .wait_for_main_loop_requests(1, Duration::from_secs(60))
        .await
        .unwrap();
    let dropped = session.send("second").unwrap();
    match session.send("one too many") {
        Err(SupervisorError::QueueFull { bound: 1 }) => {}
        other => panic!("expected QueueFull, got {other:?}"),
    }
    drop(dropped);
    assert_eq!(text_of(first).await, "slow answer");
    // The dropped turn runs anyway; once it has left the queue there is room again.
    world
        .env
        .api()
        .wait_for_main_loop_requests(2, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(turn_text(&session, "third").await, "third answer");
    assert_eq!(supervisor.session_info(&"q").unwrap().turns, 3);
    supervisor.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_the_running_turn_finish_then_closes_every_cli() {
    let world = World::start(
        Script::new().then(Turn::text("finished in time").with_delay(Duration::from_secs(2))),
    )
    .await;
    let supervisor = Supervisor::new(SupervisorConfig::default());
    let busy = supervisor
        .start_session("busy", world.options().build().unwrap())
        .await
        .unwrap();
    let idle = supervisor
        .start_session("idle", world.options().build().unwrap())
        .await
        .unwrap();
    busy.ready().await.unwrap();
    idle.ready().await.unwrap();
    let pids = [
        pid_of(&supervisor, &"busy").await,
        pid_of(&supervisor, &"idle").await,
    ];
    let turn = busy.send("take your time").unwrap();
    world
        .env
        .api()
        .wait_for_main_loop_requests(1, Duration::from_secs(60))
        .await
        .unwrap();
    let reader = tokio::spawn(text_of(turn));
    let started = Instant::now();
    let report = supervisor.shutdown(Duration::from_secs(20)).await;
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(reader.await.unwrap(), "finished in time");
    assert_eq!(report.resumable.len(), 1, "only busy has a conversation");
    assert_eq!(report.resumable[0].0, "busy");
    for pid in pids {
        assert!(!running(pid), "CLI {pid} is gone after shutdown");
    }
    assert!(matches!(
        idle.send("too late"),
        Err(SupervisorError::NoSuchSession | SupervisorError::ShuttingDown)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_killed_by_sigkill_leaves_no_cli_behind() {
    let mut holder = std::process::Command::new(env!("CARGO_BIN_EXE_supervisor-holder"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .expect("the holder starts");
    let stdout = holder.stdout.take().unwrap();
    let pids: Vec<u32> = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        let mut lines = std::io::BufReader::new(stdout).lines();
        let line = lines.next().expect("the holder reports").unwrap();
        line.strip_prefix("pids ")
            .expect("a pids line")
            .split(',')
            .map(|pid| pid.parse().unwrap())
            .collect()
    })
    .await
    .unwrap();
    assert_eq!(pids.len(), 3);
    assert!(pids.iter().all(|pid| running(*pid)));
    holder.kill().unwrap(); // SIGKILL
    holder.wait().unwrap();
    for pid in pids {
        assert!(
            wait_gone(pid, Duration::from_secs(5)).await,
            "CLI {pid} died with its host"
        );
    }
}

/// Removes the CLI's transcript of `cli_session_id` under the test's HOME.
fn delete_transcript(world: &World, cli_session_id: &str) -> usize {
    let projects = world.env.home().join(".claude").join("projects");
    let mut deleted = 0;
    for project in std::fs::read_dir(&projects).unwrap().flatten() {
        let transcript = project.path().join(format!("{cli_session_id}.jsonl"));
        if std::fs::remove_file(&transcript).is_ok() {
            deleted += 1;
        }
    }
    deleted
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_without_a_conversation_to_resume_says_it_started_fresh() {
    let world = World::start(echo_script(8)).await;
    let supervisor = Supervisor::new(SupervisorConfig::default());
    let mut events = supervisor.events();

    // Killed before any turn: there is no session id to resume.
    let early = supervisor
        .start_session("early", world.options().build().unwrap())
        .await
        .unwrap();
    early.ready().await.unwrap();
    sigkill(pid_of(&supervisor, &"early").await);
    let conversation = wait_event(&mut events, Duration::from_secs(30), |event| match event {
        SupervisorEvent::Restarted {
            key, conversation, ..
        } if *key == "early" => Some(*conversation),
        _ => None,
    })
    .await;
    assert_eq!(conversation, Conversation::StartedFresh);

    // The transcript is gone when it restarts: the resume fails, a fresh start follows.
    let lost = supervisor
        .start_session("lost", world.options().build().unwrap())
        .await
        .unwrap();
    turn_text(&lost, "remember the word plum").await;
    let id = supervisor
        .session_info(&"lost")
        .unwrap()
        .cli_session_id
        .expect("the result told the session id");
    assert_eq!(delete_transcript(&world, &id), 1);
    supervisor.restart_session(&"lost").await.unwrap();
    let info = supervisor.session_info(&"lost").unwrap();
    assert_eq!(info.conversation, Conversation::StartedFresh, "{info:?}");
    assert_eq!(info.state, SessionState::Idle);
    turn_text(&lost, "what was the word?").await;
    let history =
        serde_json::to_string(world.env.api().last_main_loop_request().unwrap().messages())
            .unwrap();
    assert!(!history.contains("plum"), "a fresh conversation: {history}");
    supervisor.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_interrupts_a_turn_that_outlives_the_deadline() {
    let world = World::start(
        Script::new().then(Turn::text("far too late").with_delay(Duration::from_secs(60))),
    )
    .await;
    let supervisor =
        Supervisor::new(SupervisorConfig::default().interrupt_grace(Duration::from_secs(10)));
    let session = supervisor
        .start_session("slow", world.options().build().unwrap())
        .await
        .unwrap();
    let turn = session.send("take all day").unwrap();
    world
        .env
        .api()
        .wait_for_main_loop_requests(1, Duration::from_secs(60))
        .await
        .unwrap();
    let pid = pid_of(&supervisor, &"slow").await;
    let started = Instant::now();
    supervisor.shutdown(Duration::from_secs(1)).await;
    let took = started.elapsed();
    assert!(took >= Duration::from_secs(1), "the turn had its deadline");
    assert!(
        took < Duration::from_secs(20),
        "then it was interrupted: {took:?}"
    );
    let messages: Vec<_> = turn.collect().await;
    let result = messages
        .iter()
        .find_map(|message| match message {
            Ok(Message::Result(result)) => Some(result),
            _ => None,
        })
        .unwrap_or_else(|| panic!("the interrupted turn still ends with a result: {messages:?}"));
    assert!(result.is_error, "{result:?}");
    assert!(!running(pid), "its CLI is gone");
}

/// With a session store, a restart resumes the conversation even when the
/// CLI's local transcript is gone (a host whose disk is not kept): the store
/// has every line, and the restarted CLI's next request carries them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_resumes_from_the_store_when_the_local_transcript_is_gone() {
    let world = World::start(echo_script(8)).await;
    let store: std::sync::Arc<dyn agent_sdk::store::SessionStore> =
        std::sync::Arc::new(agent_sdk::store::InMemorySessionStore::new());
    let supervisor = Supervisor::new(SupervisorConfig::default());
    let mut events = supervisor.events();
    let options = world.options().session_store(store).build().unwrap();
    let session = supervisor.start_session("ada", options).await.unwrap();
    let first = turn_text(&session, "I am Ada").await;
    assert!(first.starts_with("heard \"I am Ada\""), "{first}");

    // The transcript leaves the disk; only the store has the conversation now.
    let id = supervisor
        .session_info(&"ada")
        .and_then(|info| info.cli_session_id)
        .expect("the first turn told the session id");
    agent_sdk::sessions::SessionFiles::new(world.env.home().join(".claude"))
        .delete_session(&id, None)
        .unwrap();
    sigkill(pid_of(&supervisor, &"ada").await);
    let conversation = wait_event(&mut events, Duration::from_secs(30), |event| match event {
        SupervisorEvent::Restarted { conversation, .. } => Some(*conversation),
        _ => None,
    })
    .await;
    assert_eq!(conversation, Conversation::Resumed);

    let second = turn_text(&session, "who am I?").await;
    // The echo model counts the messages it was sent: the second turn got more.
    let count = |text: &str| -> usize {
        let tail = text.rsplit(" after ").next().unwrap_or_default();
        tail.trim_end_matches(" messages").parse().unwrap_or(0)
    };
    assert!(second.starts_with("heard \"who am I?\""), "{second}");
    assert!(count(&second) > count(&first), "{first} / {second}");
    let request = world
        .env
        .api()
        .main_loop_requests()
        .into_iter()
        .find(|request| request.last_user_text().as_deref() == Some("who am I?"))
        .expect("the second request");
    let history = serde_json::to_string(request.messages()).unwrap();
    assert!(history.contains("I am Ada"), "{history}");
    supervisor.shutdown(Duration::from_secs(10)).await;
}

/// Runs one turn to its end; returns the CLI's running total of cost from its result.
async fn turn_total_cost(session: &SessionHandle, prompt: &str) -> f64 {
    let turn = session.send(prompt.to_owned()).expect("the turn is queued");
    let messages: Vec<_> = tokio::time::timeout(Duration::from_secs(90), turn.collect::<Vec<_>>())
        .await
        .expect("the turn ended within 90 s");
    messages
        .into_iter()
        .find_map(|message| match message.expect("no error in the turn") {
            Message::Result(result) => result.total_cost_usd,
            _ => None,
        })
        .expect("the result tells the cost")
}

/// A resumed CLI reports its conversation's running cost, restored from before
/// the restart: the session's cost counts each turn once, not the restored part again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_cli_does_not_charge_the_turns_before_the_restart_again() {
    let world = World::start(echo_script(8)).await;
    let supervisor = Supervisor::new(SupervisorConfig::default());
    let mut events = supervisor.events();
    let session = supervisor
        .start_session("cost", world.options().build().unwrap())
        .await
        .unwrap();
    let cost = || supervisor.session_info(&"cost").unwrap().cost_usd;
    let first = turn_total_cost(&session, "one").await;
    assert!(first > 0.0, "the fake API's usage is priced");
    assert!((cost() - first).abs() < 1e-9, "{} vs {first}", cost());

    sigkill(pid_of(&supervisor, &"cost").await);
    let conversation = wait_event(&mut events, Duration::from_secs(30), |event| match event {
        SupervisorEvent::Restarted { conversation, .. } => Some(*conversation),
        _ => None,
    })
    .await;
    assert_eq!(conversation, Conversation::Resumed);
    let second_total = turn_total_cost(&session, "two").await;
    // Each turn of the echo model costs about the same; charging the restored
    // total again would make the session cost about three turns.
    let turns = cost() / first;
    assert!(
        (1.8..2.2).contains(&turns),
        "two turns cost {} (first {first}, the resumed CLI's total {second_total})",
        cost()
    );

    // A restart asked for closes the CLI cleanly, and the next one restores the
    // conversation's running total: its first result counts the turn before too.
    supervisor.restart_session(&"cost").await.unwrap();
    let third_total = turn_total_cost(&session, "three").await;
    assert!(
        third_total > 1.5 * first,
        "the CLI restored its earlier total: {third_total} after {second_total}"
    );
    let turns = cost() / first;
    assert!(
        (2.7..3.3).contains(&turns),
        "three turns cost {} (first {first}, the totals {second_total}, {third_total})",
        cost()
    );
    supervisor.shutdown(Duration::from_secs(10)).await;
}
