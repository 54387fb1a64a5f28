//! Fault injection with the fake CLI (`agent-sdk-fake-cli`, `tests/fake_cli`), a
//! program the SDK talks to over real pipes: the other side exits, is killed,
//! stops reading, floods, lies or never answers; our own handlers panic or hang;
//! the user drops things half way. Every case ends in
//! a typed error or a defined state within a bounded time and leaves no child
//! process and no file descriptor behind.
//!
//! The cases run one at a time (a process-wide lock), each on a runtime of its
//! own, so the descriptor count of `/proc/self/fd` before the runtime starts and
//! after it is gone belongs to the case alone. That is also why this is a test
//! binary of its own, apart from `tests/integration`.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use agent_sdk::hooks::{
    HookContext, UserPromptSubmit, UserPromptSubmitInput, UserPromptSubmitOutput,
};
use agent_sdk::permission::{HandlerError, PermissionResult, ToolPermissionRequest};
use agent_sdk::{AgentOptionsBuilder, Client, Error, Message, create_sdk_mcp_server, query, tool};
use futures_util::StreamExt;
use serde_json::Value;

const FAKE_CLI: &str = env!("CARGO_BIN_EXE_agent-sdk-fake-cli");
/// No case may take longer than this, whatever goes wrong.
const CASE_DEADLINE: Duration = Duration::from_secs(30);

static SERIAL: Mutex<()> = Mutex::new(());

/// One fault case: a scratch dir for the fake CLI's pid file.
struct Case {
    dir: tempfile::TempDir,
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// The runtime a case runs on: what `#[tokio::main]` gives (two workers here),
/// or `#[tokio::main(flavor = "current_thread")]`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Flavor {
    MultiThread,
    CurrentThread,
}

/// Runs one case on its own multi-thread runtime; see [`run_case_on`].
fn run_case<F: std::future::Future<Output = ()>>(case: impl FnOnce() -> F) {
    run_case_on(Flavor::MultiThread, case)
}

/// Runs one case on its own runtime, alone, within [`CASE_DEADLINE`], and checks
/// that it left no descriptor open once its runtime is gone.
fn run_case_on<F: std::future::Future<Output = ()>>(flavor: Flavor, case: impl FnOnce() -> F) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let runtime = || {
        let mut builder = match flavor {
            Flavor::MultiThread => {
                let mut builder = tokio::runtime::Builder::new_multi_thread();
                builder.worker_threads(2);
                builder
            }
            Flavor::CurrentThread => tokio::runtime::Builder::new_current_thread(),
        };
        builder.enable_all().build().unwrap()
    };
    // Child-process support opens its process-wide descriptors on first use.
    runtime().block_on(async { tokio::process::Command::new("true").status().await.unwrap() });
    if flavor == Flavor::CurrentThread {
        // So does the SDK's handler runtime, which serves current-thread runtimes.
        runtime().block_on(async {
            let case = Case::new();
            let client = Client::connect(case.options("normal").build().unwrap())
                .await
                .unwrap();
            client.disconnect().await.unwrap();
        });
    }
    let fds_before = open_fds();
    let rt = runtime();
    rt.block_on(async {
        tokio::time::timeout(CASE_DEADLINE, case())
            .await
            .expect("the fault case finished within its deadline")
    });
    drop(rt);
    let deadline = Instant::now() + Duration::from_secs(3);
    while open_fds() > fds_before && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        open_fds() <= fds_before,
        "descriptors leaked: {fds_before} before, {} after",
        open_fds()
    );
}

impl Case {
    fn new() -> Case {
        Case {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn options(&self, scenario: &str) -> AgentOptionsBuilder {
        agent_sdk::AgentOptions::builder()
            .cli_path(FAKE_CLI)
            .env("AGENT_SDK_FAKE_CLI", scenario)
            .env(
                "AGENT_SDK_FAKE_CLI_PID_FILE",
                self.dir.path().join("pid").to_string_lossy(),
            )
            .control_timeout(Duration::from_secs(5))
            .stderr(|line| eprintln!("fake cli: {line}"))
    }

    fn pid(&self) -> u32 {
        read_pid(self.dir.path())
    }

    /// The fake CLI is gone (reaped, not a zombie) while the runtime still runs.
    async fn assert_clean(self) {
        let pid = self.pid();
        let proc = PathBuf::from(format!("/proc/{pid}"));
        let deadline = Instant::now() + Duration::from_secs(15);
        while proc.exists() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(!proc.exists(), "the fake CLI (pid {pid}) is still there");
    }
}

fn read_pid(dir: &Path) -> u32 {
    let file = dir.join("pid");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Ok(text) = std::fs::read_to_string(&file)
            && let Ok(pid) = text.trim().parse()
        {
            return pid;
        }
        assert!(Instant::now() < deadline, "the fake CLI never started");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every message of the session until it ends, with a deadline.
async fn drain(client: &Client) -> Vec<agent_sdk::Result<Message>> {
    tokio::time::timeout(Duration::from_secs(20), client.receive_messages().collect())
        .await
        .expect("the session ends in time")
}

async fn one_turn(client: &Client) -> Vec<agent_sdk::Result<Message>> {
    tokio::time::timeout(Duration::from_secs(10), client.receive_response().collect())
        .await
        .expect("the turn ends in time")
}

fn text_of(item: &agent_sdk::Result<Message>) -> Option<String> {
    match item {
        Ok(Message::Assistant(reply)) => Some(reply.text()),
        _ => None,
    }
}

fn texts(items: &[agent_sdk::Result<Message>]) -> Vec<String> {
    items.iter().filter_map(text_of).collect()
}

#[test]
fn cli_exits_mid_turn() {
    run_case(|| async {
        let case = Case::new();
        let client = Client::connect(case.options("exit_mid_turn").build().unwrap())
            .await
            .unwrap();
        assert_eq!(client.server_info().pid, Some(case.pid()));
        client.query("go").await.unwrap();
        let items = drain(&client).await;
        assert_eq!(texts(&items), ["partial"]);
        assert!(
            matches!(
                items.last(),
                Some(Err(Error::ProcessExited {
                    exit_code: Some(3),
                    ..
                }))
            ),
            "{items:?}"
        );
        assert!(matches!(
            client.interrupt().await,
            Err(Error::ProcessExited {
                exit_code: Some(3),
                ..
            })
        ));
        assert!(client.query("again").await.is_err());
        client.disconnect().await.unwrap();
        case.assert_clean().await;
    });
}

#[test]
fn cli_killed_by_a_signal() {
    run_case(|| async {
        let case = Case::new();
        let client = Client::connect(case.options("killed").build().unwrap())
            .await
            .unwrap();
        client.query("go").await.unwrap();
        let items = drain(&client).await;
        assert_eq!(texts(&items), ["partial"]);
        assert!(
            matches!(
                items.last(),
                Some(Err(Error::ProcessExited {
                    signal: Some(libc::SIGKILL),
                    ..
                }))
            ),
            "{items:?}"
        );
        client.disconnect().await.unwrap();
        case.assert_clean().await;
    });
}

#[test]
fn cli_closes_stdout_but_keeps_running() {
    run_case(|| async {
        let case = Case::new();
        let started = Instant::now();
        let client = Client::connect(case.options("close_stdout").build().unwrap())
            .await
            .unwrap();
        client.query("go").await.unwrap();
        let items = drain(&client).await;
        assert_eq!(texts(&items), ["partial"]);
        // It ignores stdin EOF, so the SDK escalates to SIGTERM.
        assert!(
            matches!(
                items.last(),
                Some(Err(Error::ProcessExited {
                    signal: Some(libc::SIGTERM),
                    ..
                }))
            ),
            "{items:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(15));
        client.disconnect().await.unwrap();
        case.assert_clean().await;
    });
}

#[test]
fn a_10_mib_line_is_dropped_and_the_next_line_arrives() {
    run_case(|| async {
        let case = Case::new();
        let items: Vec<_> = query("go", case.options("huge_line").build().unwrap())
            .collect()
            .await;
        assert!(
            matches!(items.first(), Some(Ok(Message::Malformed { error, .. })) if error.contains("limit")),
            "{:?}",
            items.first().map(|i| i.as_ref().map(|_| ()))
        );
        assert_eq!(texts(&items), ["after the huge line"]);
        assert!(matches!(items.last(), Some(Ok(Message::Result(_)))));
        assert_eq!(items.len(), 3);
        case.assert_clean().await;
    });
}

#[test]
fn invalid_utf8_is_a_malformed_item_and_the_next_line_arrives() {
    run_case(|| async {
        let case = Case::new();
        let items: Vec<_> = query("go", case.options("invalid_utf8").build().unwrap())
            .collect()
            .await;
        // A non-JSON line is skipped; a JSON-looking one with bad bytes is a `Malformed` item.
        assert!(
            matches!(&items[0], Ok(Message::Malformed { error, .. }) if error.contains("not UTF-8: invalid byte at column 28")),
            "{items:?}"
        );
        assert_eq!(texts(&items), ["after invalid utf-8"]);
        assert!(matches!(items.last(), Some(Ok(Message::Result(_)))));
        assert_eq!(items.len(), 3, "{items:?}");
        case.assert_clean().await;
    });
}

#[test]
fn garbage_between_good_lines_loses_nothing() {
    run_case(|| async {
        let case = Case::new();
        let items: Vec<_> = query("go", case.options("garbage").build().unwrap())
            .collect()
            .await;
        assert_eq!(texts(&items), ["one", "two"]);
        let malformed = items
            .iter()
            .filter(|i| matches!(i, Ok(Message::Malformed { .. })))
            .count();
        assert_eq!(malformed, 1, "only `{{not json` is reported: {items:?}");
        assert!(items.iter().all(Result::is_ok), "no error item: {items:?}");
        assert!(matches!(items.last(), Some(Ok(Message::Result(_)))));
        assert_eq!(items.len(), 4, "{items:?}");
        case.assert_clean().await;
    });
}

#[test]
fn cli_that_stops_reading_holds_back_senders_but_not_the_reader() {
    run_case(|| async {
        let case = Case::new();
        let client = Client::connect(
            case.options("stop_reading")
                .control_timeout(Duration::from_secs(1))
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
        client.query("go").await.unwrap();
        // Prompts of 256 KiB: the write queue and the pipe take a few, then
        // `query` waits, and fails after the control timeout instead of queueing.
        let big = "z".repeat(256 * 1024);
        let mut sent = 0;
        let refused = loop {
            match client.query(big.as_str()).await {
                Ok(()) => sent += 1,
                Err(err) => break err,
            }
            assert!(sent < 16, "the write queue is bounded");
        };
        assert!(
            matches!(refused, Error::ControlTimeout { ref subtype, .. } if subtype == "user"),
            "{refused:?}"
        );
        assert!(sent >= 2, "a few prompts fit: {sent}");
        // A 20 MB prompt waits the same way: it is not queued.
        let huge = "h".repeat(20 << 20);
        let started = Instant::now();
        let refused = client.query(huge.as_str()).await;
        assert!(
            matches!(refused, Err(Error::ControlTimeout { ref subtype, .. }) if subtype == "user"),
            "{refused:?}"
        );
        // (Building the 20 MB frame takes a while in a debug build.)
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(900), "{waited:?}");
        assert!(waited < Duration::from_secs(10), "{waited:?}");
        let started = Instant::now();
        let interrupted = client.interrupt().await;
        assert!(
            matches!(interrupted, Err(Error::ControlTimeout { ref subtype, .. }) if subtype == "interrupt"),
            "{interrupted:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(3));
        let items = one_turn(&client).await;
        assert_eq!(texts(&items), ["before", "while not reading"]);
        assert!(matches!(items.last(), Some(Ok(Message::Result(_)))));
        tokio::time::timeout(Duration::from_secs(15), client.disconnect())
            .await
            .expect("disconnect ends even with a blocked writer")
            .unwrap();
        case.assert_clean().await;
    });
}

#[test]
fn cli_that_never_answers_initialize_times_out() {
    run_case(|| async {
        let case = Case::new();
        let started = Instant::now();
        let outcome = Client::connect(
            case.options("no_init")
                .control_timeout(Duration::from_millis(500))
                .build()
                .unwrap(),
        )
        .await;
        assert!(
            matches!(outcome, Err(Error::ControlTimeout { ref subtype, .. }) if subtype == "initialize"),
            "{outcome:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(5));
        case.assert_clean().await;
    });
}

#[test]
fn duplicate_and_unknown_answers_are_ignored() {
    run_case(|| async {
        let case = Case::new();
        let client = Client::connect(case.options("double_answer").build().unwrap())
            .await
            .unwrap();
        // The fake answers `{"n": <count>}`: kept in `extra` of the typed answer.
        assert_eq!(client.mcp_status().await.unwrap().extra["n"], 1);
        assert_eq!(client.mcp_status().await.unwrap().extra["n"], 2);
        client.query("go").await.unwrap();
        let items = one_turn(&client).await;
        assert_eq!(texts(&items), ["hello"]);
        assert!(items.iter().all(Result::is_ok), "{items:?}");
        client.disconnect().await.unwrap();
        case.assert_clean().await;
    });
}

#[test]
fn dropping_a_client_mid_turn_stops_the_cli() {
    run_case(|| async {
        let case = Case::new();
        let client = Client::connect(case.options("silent_turn").build().unwrap())
            .await
            .unwrap();
        client.query("go").await.unwrap();
        drop(client);
        case.assert_clean().await;
    });
}

#[test]
fn dropping_the_query_stream_after_the_first_message_stops_the_cli() {
    run_case(|| async {
        let case = Case::new();
        let mut stream = query("go", case.options("silent_turn").build().unwrap());
        // silent_turn answers nothing: ask for the first item with a short deadline.
        // Either nothing yet, or the turn already ended without its result: the fake
        // CLI exits 0 when the one-shot query closes its stdin, which can happen within
        // the deadline, and a turn without a result is no success.
        match tokio::time::timeout(Duration::from_millis(300), stream.next()).await {
            Err(_) | Ok(Some(Err(Error::TurnIncomplete { .. }))) => {}
            Ok(item) => panic!("a silent turn produced {item:?}"),
        }
        drop(stream);
        case.assert_clean().await;

        let case = Case::new();
        let mut stream = query("go", case.options("normal").build().unwrap());
        let first = stream.next().await.unwrap().unwrap();
        assert!(matches!(first, Message::Assistant(_)));
        drop(stream);
        case.assert_clean().await;
    });
}

#[test]
fn disconnect_twice_then_every_method_says_not_connected() {
    run_case(|| async {
        let case = Case::new();
        let client = Client::connect(case.options("normal").build().unwrap())
            .await
            .unwrap();
        client.disconnect().await.unwrap();
        client.disconnect().await.unwrap();
        assert!(matches!(client.query("x").await, Err(Error::NotConnected)));
        assert!(matches!(client.interrupt().await, Err(Error::NotConnected)));
        assert!(matches!(
            client.mcp_status().await,
            Err(Error::NotConnected)
        ));
        assert!(matches!(
            client.set_model(Some("m")).await,
            Err(Error::NotConnected)
        ));
        let mut messages = client.receive_messages();
        let next = tokio::time::timeout(Duration::from_secs(2), messages.next())
            .await
            .expect("the message stream ends at once");
        assert!(next.is_none());
        case.assert_clean().await;
    });
}

#[test]
fn interrupt_concurrently_with_a_read() {
    run_case(|| async {
        let case = Case::new();
        let client = Client::connect(case.options("slow").build().unwrap())
            .await
            .unwrap();
        client.query("go").await.unwrap();
        let (items, interrupted) = tokio::join!(one_turn(&client), async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            client.interrupt().await
        });
        interrupted.unwrap();
        assert_eq!(texts(&items), ["working"]);
        match items.last() {
            Some(Ok(Message::Result(result))) => {
                assert_eq!(result.result.as_deref(), Some("interrupted"))
            }
            other => panic!("{other:?}"),
        }
        client.disconnect().await.unwrap();
        case.assert_clean().await;
    });
}

// Handlers that fail: each hang records that its future was dropped (cancelled).
static TOOL_HANG_DROPPED: AtomicBool = AtomicBool::new(false);
static PERMISSION_HANG_DROPPED: AtomicBool = AtomicBool::new(false);
static HOOK_HANG_DROPPED: AtomicBool = AtomicBool::new(false);

struct SetOnDrop(&'static AtomicBool);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

async fn hang_until_dropped(flag: &'static AtomicBool) {
    let _guard = SetOnDrop(flag);
    std::future::pending::<()>().await;
}

#[tool]
async fn panics() -> String {
    panic!("tool went wrong")
}

#[tool]
async fn hangs() -> String {
    hang_until_dropped(&TOOL_HANG_DROPPED).await;
    unreachable!()
}

#[tool]
async fn big() -> String {
    "y".repeat(5 << 20)
}

#[test]
fn tool_hook_and_permission_handlers_that_panic_or_hang() {
    run_case(|| async {
        let case = Case::new();
        let options = case
            .options("handlers")
            .mcp_server(
                "faults",
                create_sdk_mcp_server!("faults", tools = [panics, hangs, big]).unwrap(),
            )
            .can_use_tool(|request: ToolPermissionRequest| async move {
                match request.input["command"].as_str() {
                    Some("panic") => panic!("permission went wrong"),
                    Some("hang") => {
                        hang_until_dropped(&PERMISSION_HANG_DROPPED).await;
                        unreachable!()
                    }
                    _ => PermissionResult::allow(),
                }
            })
            .hook(
                UserPromptSubmit,
                |input: UserPromptSubmitInput, _ctx: HookContext| async move {
                    match input.prompt.as_str() {
                        "panic" => panic!("hook went wrong"),
                        "hang" => hang_until_dropped(&HOOK_HANG_DROPPED).await,
                        _ => {}
                    }
                    Ok::<_, HandlerError>(UserPromptSubmitOutput::default())
                },
            )
            .build()
            .unwrap();
        let client = Client::connect(options).await.unwrap();
        client.query("go").await.unwrap();
        let items = one_turn(&client).await;
        let report: Value = serde_json::from_str(&texts(&items)[0]).unwrap();
        println!("{report:#}");

        let tool_panic = &report["tool_panic"]["response"]["mcp_response"]["result"];
        assert_eq!(tool_panic["isError"], true, "{report:#}");
        assert!(tool_panic.to_string().contains("panicked"), "{report:#}");
        assert_eq!(
            report["tool_hang"]["response"]["mcp_response"]["error"]["code"], -32800,
            "a cancelled tool call answers `Request cancelled`: {report:#}"
        );
        assert!(
            TOOL_HANG_DROPPED.load(Ordering::SeqCst),
            "the hanging tool was aborted"
        );
        assert_eq!(
            report["tool_big_len"],
            5 << 20,
            "a 5 MiB result arrives whole (it took {} ms)",
            report["tool_big_ms"]
        );

        assert_eq!(report["permission_panic"]["subtype"], "error", "{report:#}");
        assert!(
            report["permission_panic"]["error"]
                .as_str()
                .unwrap()
                .starts_with("the can_use_tool handler panicked: "),
            "one catcher, the request task's: {report:#}"
        );
        assert!(
            report["permission_hang"].is_null(),
            "a cancelled request gets no answer"
        );
        assert!(PERMISSION_HANG_DROPPED.load(Ordering::SeqCst));

        assert!(
            report["hook_panic"].to_string().contains("panicked"),
            "{report:#}"
        );
        assert!(report["hook_hang"].is_null());
        assert!(HOOK_HANG_DROPPED.load(Ordering::SeqCst));

        client.disconnect().await.unwrap();
        case.assert_clean().await;
    });
}

#[test]
fn a_clean_exit_mid_turn_ends_the_turn_with_a_typed_error() {
    run_case(|| async {
        let case = Case::new();
        let client = Client::connect(case.options("exit_zero_mid_turn").build().unwrap())
            .await
            .unwrap();
        client.query("go").await.unwrap();
        let items = one_turn(&client).await;
        assert_eq!(texts(&items), ["partial"]);
        assert!(
            matches!(
                items.last(),
                Some(Err(Error::TurnIncomplete {
                    exit_code: Some(0),
                    ..
                }))
            ),
            "{items:?}"
        );
        client.disconnect().await.unwrap();
        case.assert_clean().await;
    });
}

#[tool]
async fn slow() -> String {
    tokio::time::sleep(Duration::from_millis(200)).await;
    "slept".to_owned()
}

#[test]
fn requests_too_deep_over_the_limit_or_reusing_an_id_get_exactly_one_answer() {
    run_case(|| async {
        let case = Case::new();
        let options = case
            .options("unreadable_requests")
            .mcp_server(
                "faults",
                create_sdk_mcp_server!("faults", tools = [slow]).unwrap(),
            )
            .build()
            .unwrap();
        let client = Client::connect(options).await.unwrap();
        client.query("go").await.unwrap();
        let items = one_turn(&client).await;
        assert!(items.iter().all(Result::is_ok), "no error item: {items:?}");
        let report: Value = serde_json::from_str(&texts(&items)[0]).unwrap();
        let only = |id: &str| {
            let answers = report[id].as_array().expect("answered");
            assert_eq!(answers.len(), 1, "one answer for {id}: {report:#}");
            answers[0].clone()
        };
        let deep = only("deep");
        assert_eq!(deep["subtype"], "error");
        assert!(
            deep["error"].as_str().unwrap().contains("recursion limit"),
            "{deep}"
        );
        let huge = only("huge");
        assert_eq!(huge["subtype"], "error");
        assert!(
            huge["error"]
                .as_str()
                .unwrap()
                .contains("bytes (max_buffer_size)"),
            "{huge}"
        );
        // The first call under the id is answered; its duplicate is ignored.
        let dup = only("dup");
        assert_eq!(dup["response"]["mcp_response"]["id"], 3, "{dup}");
        client.disconnect().await.unwrap();
        case.assert_clean().await;
    });
}

#[tool]
async fn blocks() -> String {
    // Blocking code in a tool, as users write it: it holds its thread.
    std::thread::sleep(BLOCKING);
    "unblocked".to_owned()
}

#[tool]
async fn quick() -> String {
    "quick".to_owned()
}

/// How long the blocking handlers of the isolation cases hold their thread.
const BLOCKING: Duration = Duration::from_secs(5);

/// The stderr callback, a tool, a hook and a permission handler each block
/// their thread for 5 s; an unrelated `tools/call` sent 0.2 s later is
/// answered within 50 ms each time.
fn a_blocking_handler_delays_only_its_own_request(flavor: Flavor) {
    run_case_on(flavor, || async {
        let case = Case::new();
        let options = case
            .options("isolation")
            .stderr(|line| {
                if line == "block" {
                    std::thread::sleep(BLOCKING);
                }
            })
            .mcp_server(
                "faults",
                create_sdk_mcp_server!("faults", tools = [blocks, quick]).unwrap(),
            )
            .can_use_tool(|request: ToolPermissionRequest| async move {
                if request.input["command"] == "block" {
                    std::thread::sleep(BLOCKING);
                }
                PermissionResult::allow()
            })
            .hook(
                UserPromptSubmit,
                |input: UserPromptSubmitInput, _ctx: HookContext| async move {
                    if input.prompt == "block" {
                        std::thread::sleep(BLOCKING);
                    }
                    Ok::<_, HandlerError>(UserPromptSubmitOutput::default())
                },
            )
            .build()
            .unwrap();
        let client = Client::connect(options).await.unwrap();
        client.query("go").await.unwrap();
        let items: Vec<_> =
            tokio::time::timeout(Duration::from_secs(25), client.receive_response().collect())
                .await
                .expect("the turn ends in time");
        let report: Value = serde_json::from_str(&texts(&items)[0]).unwrap();
        println!("{report:#}");
        for kind in ["stderr", "tool", "hook", "permission"] {
            let quick_ms = report[kind]["quick_ms"].as_f64().unwrap();
            assert!(
                quick_ms < 50.0,
                "{kind}: the unrelated call took {quick_ms:.1} ms: {report:#}"
            );
            let answer = &report[kind]["quick"]["response"]["mcp_response"]["result"];
            assert_eq!(answer["content"][0]["text"], "quick", "{report:#}");
            if kind == "stderr" {
                continue;
            }
            assert_eq!(
                report[kind]["blocked"]["subtype"], "success",
                "{kind}: the blocked request is answered once its handler returns: {report:#}"
            );
        }
        client.disconnect().await.unwrap();
        case.assert_clean().await;
    });
}

#[test]
fn a_blocking_handler_delays_only_its_own_request_on_a_multi_thread_runtime() {
    a_blocking_handler_delays_only_its_own_request(Flavor::MultiThread);
}

#[test]
fn a_blocking_handler_delays_only_its_own_request_on_a_current_thread_runtime() {
    a_blocking_handler_delays_only_its_own_request(Flavor::CurrentThread);
}

/// Where the tools of the hand-over case ran: (thread id, thread name), by call.
static RAN_ON: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());
/// How long the hand-over case's tool blocks.
const BLOCKING_BRIEFLY: Duration = Duration::from_secs(1);

/// This thread's id and name, from `/proc/thread-self`.
fn this_thread() -> (String, String) {
    let link = std::fs::read_link("/proc/thread-self").unwrap();
    let tid = link.file_name().unwrap().to_string_lossy().into_owned();
    let name = std::fs::read_to_string("/proc/thread-self/comm").unwrap();
    (tid, name.trim_end().to_owned())
}

/// True once the thread `tid` of this process has ended (within `wait`).
async fn thread_ends(tid: &str, wait: Duration) -> bool {
    let deadline = Instant::now() + wait;
    while Path::new(&format!("/proc/self/task/{tid}")).exists() {
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    true
}

#[tool(name = "blocks")]
async fn blocks_briefly() -> String {
    RAN_ON.lock().unwrap().push(this_thread());
    std::thread::sleep(BLOCKING_BRIEFLY);
    "unblocked".to_owned()
}

#[tool(name = "quick")]
async fn quick_where() -> String {
    RAN_ON.lock().unwrap().push(this_thread());
    "quick".to_owned()
}

/// A tool that blocks in its first poll, which the thread that read its
/// request runs: another thread takes over reading (the next call is answered
/// in under 50 ms, on that thread), and the first one, once the tool returns,
/// writes its answer and ends; the one that took over reads until disconnect.
fn a_tool_blocking_in_its_first_poll_hands_reading_over(flavor: Flavor) {
    run_case_on(flavor, || async {
        RAN_ON.lock().unwrap().clear();
        let case = Case::new();
        let options = case
            .options("isolation")
            .mcp_server(
                "faults",
                create_sdk_mcp_server!("faults", tools = [blocks_briefly, quick_where]).unwrap(),
            )
            .can_use_tool(|_: ToolPermissionRequest| async { PermissionResult::allow() })
            .hook(
                UserPromptSubmit,
                |_: UserPromptSubmitInput, _ctx: HookContext| async {
                    Ok::<_, HandlerError>(UserPromptSubmitOutput::default())
                },
            )
            .build()
            .unwrap();
        let client = Client::connect(options).await.unwrap();
        client.query("go").await.unwrap();
        let items: Vec<_> =
            tokio::time::timeout(Duration::from_secs(25), client.receive_response().collect())
                .await
                .expect("the turn ends in time");
        let report: Value = serde_json::from_str(&texts(&items)[0]).unwrap();
        let tool = &report["tool"];
        let quick_ms = tool["quick_ms"].as_f64().unwrap();
        assert!(
            quick_ms < 50.0,
            "the next call took {quick_ms:.1} ms: {report:#}"
        );
        assert_eq!(tool["blocked"]["subtype"], "success", "{report:#}");
        // Calls in order: warm-up, the stderr case's, the blocking tool, the call after it.
        let ran_on = RAN_ON.lock().unwrap().clone();
        let [_, _, blocked, next] = &ran_on[..4] else {
            panic!("four calls first: {ran_on:?}");
        };
        assert_eq!(
            blocked.1, "agent-sdk-read",
            "run by the thread that read it: {ran_on:?}"
        );
        assert_eq!(next.1, "agent-sdk-read", "{ran_on:?}");
        assert_ne!(
            next.0, blocked.0,
            "read and run by the thread that took over: {ran_on:?}"
        );
        assert!(
            thread_ends(&blocked.0, Duration::from_secs(2)).await,
            "the thread that blocked ends once its tool returned"
        );
        let reading = &ran_on.last().unwrap().0;
        assert!(Path::new(&format!("/proc/self/task/{reading}")).exists());
        client.disconnect().await.unwrap();
        assert!(
            thread_ends(reading, Duration::from_secs(2)).await,
            "the reading thread ends with the session"
        );
        case.assert_clean().await;
    });
}

#[test]
fn a_tool_blocking_in_its_first_poll_hands_reading_over_on_a_multi_thread_runtime() {
    a_tool_blocking_in_its_first_poll_hands_reading_over(Flavor::MultiThread);
}

#[test]
fn a_tool_blocking_in_its_first_poll_hands_reading_over_on_a_current_thread_runtime() {
    a_tool_blocking_in_its_first_poll_hands_reading_over(Flavor::CurrentThread);
}

/// Bytes the process `pid` has written so far (`wchar` of `/proc/<pid>/io`).
fn bytes_written(pid: u32) -> u64 {
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).unwrap();
    io.lines()
        .find_map(|line| line.strip_prefix("wchar:"))
        .and_then(|value| value.trim().parse().ok())
        .expect("wchar in /proc/<pid>/io")
}

/// `VmRSS` of this process, in bytes.
fn resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status");
    kib * 1024
}

#[test]
fn a_reader_that_falls_behind_pushes_back_on_the_cli_and_interrupt_still_completes() {
    a_reader_that_falls_behind(Store::None);
}

/// The same with a session store: its mirror sits between the router and the
/// reader, inside the same budget.
#[test]
fn a_reader_that_falls_behind_pushes_back_through_the_session_store_mirror() {
    a_reader_that_falls_behind(Store::InMemory);
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Store {
    None,
    InMemory,
}

fn a_reader_that_falls_behind(store: Store) {
    const FRAMES: usize = 20_000;
    run_case(|| async {
        let case = Case::new();
        let mut options = case
            .options("flood")
            .env("AGENT_SDK_FAKE_CLI_FLOOD", FRAMES.to_string());
        if store == Store::InMemory {
            options = options.session_store(std::sync::Arc::new(
                agent_sdk::store::InMemorySessionStore::new(),
            ));
        }
        let options = options.build().unwrap();
        let client = Client::connect(options).await.unwrap();
        client.query("go").await.unwrap();
        let pid = case.pid();

        // Nobody reads: the CLI gets no further than the pipe (1 MiB), the
        // queue's budget (256 messages or 256 KiB of lines) and one read allow, of its 16 MB.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let written = bytes_written(pid);
        assert!(written < 2 << 20, "the CLI wrote {written} bytes");
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(bytes_written(pid), written, "the CLI is held back");

        // An interrupt's answer is behind those messages: the router reads on for it.
        let started = Instant::now();
        client.interrupt().await.unwrap();
        assert!(started.elapsed() < Duration::from_secs(2));

        // A slow reader (one message per ms) keeps memory flat.
        let mut stream = client.receive_response();
        let rss_before = resident_bytes();
        let mut assistant = 0;
        for _ in 0..1000 {
            if let Some(Ok(Message::Assistant(_))) = stream.next().await {
                assistant += 1;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let grown = resident_bytes().saturating_sub(rss_before);
        assert!(grown < 4 << 20, "RSS grew by {grown} bytes");
        assert!(
            bytes_written(pid) < written + (6 << 20),
            "the CLI is still held back"
        );

        // Then the rest, all of it.
        while let Some(item) = stream.next().await {
            match item.unwrap() {
                Message::Assistant(_) => assistant += 1,
                Message::Result(result) => assert_eq!(result.result.as_deref(), Some("flooded")),
                _ => {}
            }
        }
        assert_eq!(assistant, FRAMES);
        drop(stream);
        client.disconnect().await.unwrap();
        case.assert_clean().await;
    });
}

/// A CLI that sends requests the router answers itself (here unreadable ones)
/// and does not read the answers: the router stops reading once 64 KiB of its
/// answers wait for the pipe, instead of queueing them without bound; once the
/// CLI reads, every request gets its one answer.
#[test]
fn a_cli_that_does_not_read_the_routers_own_answers_is_pushed_back_on() {
    const REQUESTS: u64 = 100_000;
    run_case(|| async {
        let case = Case::new();
        let options = case
            .options("unread_answers")
            .env("AGENT_SDK_FAKE_CLI_REQUESTS", REQUESTS.to_string())
            .build()
            .unwrap();
        let client = Client::connect(options).await.unwrap();
        client.query("go").await.unwrap();
        let pid = case.pid();
        // 100,000 requests are ~4.4 MB; the CLI gets no further than its stdout
        // pipe (1 MiB), our stdin pipe and the answers' budget allow. (It starts
        // reading the answers after 3 s.)
        tokio::time::sleep(Duration::from_secs(1)).await;
        let written = bytes_written(pid);
        assert!(written < 2 << 20, "the CLI wrote {written} bytes");
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(bytes_written(pid), written, "the CLI is held back");

        let items = one_turn(&client).await;
        let report: Value = serde_json::from_str(&texts(&items)[0]).unwrap();
        assert_eq!(report["answered"], REQUESTS, "{report}");
        assert_eq!(report["twice"], 0, "{report}");
        client.disconnect().await.unwrap();
        case.assert_clean().await;
    });
}
