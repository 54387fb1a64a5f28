//! Protocol core tests over in-memory pipes with a scripted fake CLI.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream};
use tokio::sync::oneshot;

use crate::error::Error;
use crate::handler::BoxFuture;
use crate::message::Message;
use crate::options::AgentOptions;
use crate::transport::{ChildProcess, Connection, ExitReport, Transport};
use crate::{Client, query};

/// The CLI side of the pipes.
struct FakeCli {
    from_sdk: tokio::io::Lines<BufReader<DuplexStream>>,
    to_sdk: DuplexStream,
    exit: Option<oneshot::Sender<ExitReport>>,
}

impl FakeCli {
    async fn read(&mut self) -> Value {
        let line = tokio::time::timeout(Duration::from_secs(5), self.from_sdk.next_line())
            .await
            .expect("the SDK wrote nothing in time")
            .unwrap()
            .expect("the SDK closed stdin");
        serde_json::from_str(&line).unwrap()
    }

    async fn read_eof(&mut self) {
        let next = tokio::time::timeout(Duration::from_secs(5), self.from_sdk.next_line())
            .await
            .expect("no EOF in time");
        assert!(next.unwrap().is_none(), "expected stdin to be closed");
    }

    async fn write(&mut self, frame: Value) {
        self.write_raw(format!("{frame}\n").as_bytes()).await;
    }

    async fn write_raw(&mut self, bytes: &[u8]) {
        self.to_sdk.write_all(bytes).await.unwrap();
        self.to_sdk.flush().await.unwrap();
    }

    /// Answers our `initialize`.
    async fn handshake(&mut self) {
        let init = self.read().await;
        assert_eq!(init["request"]["subtype"], "initialize");
        let id = init["request_id"].as_str().unwrap().to_owned();
        self.write(json!({"type":"control_response","response":{"subtype":"success","request_id":id,"response":{"pid":1}}}))
            .await;
    }

    /// Closes stdout and exits with `code`.
    async fn exit(mut self, code: i32, stderr: &str) {
        self.to_sdk.shutdown().await.unwrap();
        drop(self.to_sdk);
        let _ = self.exit.take().unwrap().send(ExitReport {
            code: Some(code),
            signal: None,
            stderr_tail: stderr.into(),
        });
    }
}

struct FakeProcess {
    exit: Option<oneshot::Receiver<ExitReport>>,
}

impl ChildProcess for FakeProcess {
    fn wait(&mut self) -> BoxFuture<'_, ExitReport> {
        Box::pin(async move {
            match self.exit.take() {
                Some(rx) => rx.await.unwrap_or_default(),
                None => std::future::pending().await,
            }
        })
    }
    fn terminate(&mut self) -> BoxFuture<'_, ExitReport> {
        Box::pin(async {
            ExitReport {
                code: Some(143),
                signal: None,
                stderr_tail: String::new(),
            }
        })
    }
}

struct FakeTransport(Connection);

impl Transport for FakeTransport {
    fn connect(self: Box<Self>) -> BoxFuture<'static, crate::Result<Connection>> {
        Box::pin(async move { Ok(self.0) })
    }
}

/// A client connected over in-memory pipes, the handshake done by the fake CLI.
async fn connected(options: AgentOptions) -> (Client, FakeCli) {
    let (transport, mut cli) = pipes();
    let connect = tokio::spawn(Client::connect_with_transport(options, transport));
    cli.handshake().await;
    (connect.await.unwrap().unwrap(), cli)
}

fn pipes() -> (FakeTransport, FakeCli) {
    let (sdk_out, cli_in) = tokio::io::duplex(1 << 20);
    let (cli_out, sdk_in) = tokio::io::duplex(1 << 20);
    let (exit_tx, exit_rx) = oneshot::channel();
    let connection = Connection::new(
        Box::new(sdk_in),
        Box::new(sdk_out),
        Box::new(FakeProcess {
            exit: Some(exit_rx),
        }),
    );
    let cli = FakeCli {
        from_sdk: BufReader::new(cli_in).lines(),
        to_sdk: cli_out,
        exit: Some(exit_tx),
    };
    (FakeTransport(connection), cli)
}

fn options() -> AgentOptions {
    AgentOptions::builder().build().unwrap()
}

fn result_frame(is_error: bool, subtype: &str) -> Value {
    json!({"type":"result","subtype":subtype,"is_error":is_error,"num_turns":1,"duration_ms":1,"duration_api_ms":1,
           "session_id":"s1","result":"done","errors":[]})
}

#[tokio::test]
async fn requests_from_the_cli_are_served_while_initialize_is_pending() {
    let (transport, mut cli) = pipes();
    let connect = tokio::spawn(Client::connect_with_transport(options(), transport));
    let init = cli.read().await;
    assert_eq!(init["request"]["subtype"], "initialize");
    assert_eq!(init["request"]["hooks"], Value::Null);
    // Before answering initialize, the CLI asks about an MCP server.
    cli.write(json!({"type":"control_request","request_id":"cli-1","request":{"subtype":"mcp_message","server_name":"nope",
        "message":{"jsonrpc":"2.0","id":0,"method":"initialize","params":{}}}}))
        .await;
    let answer = cli.read().await;
    assert_eq!(answer["response"]["request_id"], "cli-1");
    assert_eq!(answer["response"]["subtype"], "success");
    assert_eq!(
        answer["response"]["response"]["mcp_response"]["error"]["code"],
        -32601
    );
    assert_eq!(
        answer["response"]["response"]["mcp_response"]["error"]["message"],
        "Server 'nope' not found"
    );
    let id = init["request_id"].as_str().unwrap();
    cli.write(json!({"type":"control_response","response":{"subtype":"success","request_id":id,"response":{"pid":7}}})).await;
    let client = connect.await.unwrap().unwrap();
    assert_eq!(client.server_info().pid, Some(7));
}

#[tokio::test]
async fn unknown_request_subtype_gets_an_error_answer_and_cancel_writes_nothing() {
    let (client, mut cli) = connected(options()).await;
    cli.write(json!({"type":"control_request","request_id":"u1","request":{"subtype":"teleport"}}))
        .await;
    let answer = cli.read().await;
    assert_eq!(answer["response"]["subtype"], "error");
    assert_eq!(
        answer["response"]["error"],
        "Unsupported control request subtype: teleport"
    );
    // Odd shapes are answered too, never dropped.
    cli.write(json!({"type":"control_request","request_id":"u2","request":{"subtype":7}}))
        .await;
    let answer = cli.read().await;
    assert_eq!(answer["response"]["request_id"], "u2");
    assert_eq!(
        answer["response"]["error"],
        "control request without a string `subtype`"
    );
    cli.write(json!({"type":"control_request","request_id":"u3","request":{"subtype":"mcp_message","server_name":["x"]}}))
        .await;
    let answer = cli.read().await;
    assert_eq!(answer["response"]["request_id"], "u3");
    assert_eq!(
        answer["response"]["error"],
        "mcp_message request without `server_name`"
    );
    // A can_use_tool without a handler is answered with an error too.
    cli.write(json!({"type":"control_request","request_id":"p1","request":{"subtype":"can_use_tool","tool_name":"Bash","input":{}}}))
        .await;
    let answer = cli.read().await;
    assert_eq!(
        answer["response"]["error"],
        "canUseTool callback is not provided"
    );
    // A cancel for a finished request is ignored; our next request still flows.
    cli.write(json!({"type":"control_cancel_request","request_id":"p1"}))
        .await;
    let interrupt = tokio::spawn(async move {
        let result = client.interrupt().await;
        (client, result)
    });
    let request = cli.read().await;
    assert_eq!(request["request"]["subtype"], "interrupt");
    let id = request["request_id"].as_str().unwrap();
    cli.write(json!({"type":"control_response","response":{"subtype":"success","request_id":id,"response":{"still_queued":[]}}}))
        .await;
    let (_client, result) = interrupt.await.unwrap();
    result.unwrap();
}

#[tokio::test]
async fn control_error_answers_and_timeouts_are_typed() {
    let (transport, mut cli) = pipes();
    let options = AgentOptions {
        control_timeout: Some(Duration::from_millis(200)),
        ..options()
    };
    let connect = tokio::spawn(Client::connect_with_transport(options, transport));
    cli.handshake().await;
    let client = std::sync::Arc::new(connect.await.unwrap().unwrap());
    let c = client.clone();
    let set_mode = tokio::spawn(async move {
        c.set_permission_mode(crate::options::PermissionMode::Plan)
            .await
    });
    let request = cli.read().await;
    assert_eq!(
        request["request"],
        json!({"subtype":"set_permission_mode","mode":"plan"})
    );
    let id = request["request_id"].as_str().unwrap();
    cli.write(json!({"type":"control_response","response":{"subtype":"error","request_id":id,"error":"nope"}})).await;
    match set_mode.await.unwrap() {
        Err(Error::ControlRequestFailed { subtype, message }) => {
            assert_eq!(subtype, "set_permission_mode");
            assert_eq!(message, "nope");
        }
        other => panic!("unexpected {other:?}"),
    }
    // Nobody answers: a typed timeout naming the subtype.
    match client.set_model(Some("haiku")).await {
        Err(Error::ControlTimeout { subtype, .. }) => assert_eq!(subtype, "set_model"),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn a_dying_cli_fails_pending_requests_at_once_with_exit_code_and_stderr() {
    let (transport, mut cli) = pipes();
    let connect = tokio::spawn(Client::connect_with_transport(options(), transport));
    cli.handshake().await;
    let client = std::sync::Arc::new(connect.await.unwrap().unwrap());
    let c = client.clone();
    let pending = tokio::spawn(async move { c.mcp_status().await });
    let _request = cli.read().await;
    cli.exit(3, "fatal: out of cheese").await;
    let started = std::time::Instant::now();
    match pending.await.unwrap() {
        Err(Error::ProcessExited {
            exit_code,
            stderr_tail,
            ..
        }) => {
            assert_eq!(exit_code, Some(3));
            assert!(stderr_tail.contains("out of cheese"));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(2));
    // The message stream reports the exit too, then ends.
    let messages: Vec<_> = client.receive_messages().collect().await;
    assert!(
        matches!(
            messages.as_slice(),
            [Err(Error::ProcessExited {
                exit_code: Some(3),
                ..
            })]
        ),
        "{messages:?}"
    );
    // Later calls fail fast.
    assert!(matches!(
        client.interrupt().await,
        Err(Error::ProcessExited { .. })
    ));
}

#[tokio::test]
async fn initialize_fails_when_the_cli_exits_before_answering() {
    let (transport, mut cli) = pipes();
    let connect = tokio::spawn(Client::connect_with_transport(options(), transport));
    let _init = cli.read().await;
    cli.exit(1, "--dangerously-skip-permissions cannot be used with root")
        .await;
    match connect.await.unwrap() {
        Err(Error::ProcessExited {
            exit_code: Some(1),
            stderr_tail,
            ..
        }) => assert!(stderr_tail.contains("root")),
        other => panic!("unexpected {other:?}"),
    }
}

/// A CLI that exits before anything is written to it: its input closes a
/// moment before its exit is reported, and `initialize` sent in between once
/// failed with `NotConnected` (some runs of the supervisor's e2e test did).
/// Every run must say how the CLI ended.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cli_that_exits_at_once_fails_connect_with_its_exit_every_time() {
    for _ in 0..100 {
        let (transport, cli) = pipes();
        cli.exit(1, "cannot start today").await;
        match Client::connect_with_transport(options(), transport).await {
            Err(Error::ProcessExited {
                exit_code: Some(1),
                stderr_tail,
                ..
            }) => assert!(stderr_tail.contains("cannot start today")),
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[tokio::test]
async fn bad_lines_are_malformed_items_and_lose_nothing_after_them() {
    let options = AgentOptions {
        max_buffer_size: Some(160),
        ..options()
    };
    let (client, mut cli) = connected(options).await;
    cli.write_raw(b"[SandboxDebug] not json\n").await;
    cli.write_raw(format!("{{\"type\":\"x\",\"pad\":\"{}\"}}\n", "a".repeat(200)).as_bytes())
        .await;
    cli.write_raw(b"{\"type\":\"assistant\",broken\n").await;
    // A frame split across writes.
    cli.write_raw(b"{\"type\":\"keep_alive\"}\n{\"type\":\"command_lif")
        .await;
    cli.write_raw(b"ecycle\",\"state\":\"queued\"}\n").await;
    cli.write(result_frame(false, "success")).await;
    let mut stream = client.receive_response();
    assert!(
        matches!(stream.next().await, Some(Ok(Message::Malformed { error, .. })) if error.contains("limit of 160 bytes"))
    );
    assert!(matches!(
        stream.next().await,
        Some(Ok(Message::Malformed { .. }))
    ));
    assert!(
        matches!(stream.next().await, Some(Ok(Message::Unknown(v))) if v["type"] == "command_lifecycle")
    );
    assert!(matches!(stream.next().await, Some(Ok(Message::Result(_)))));
    assert!(
        stream.next().await.is_none(),
        "receive_response stops after the result"
    );
}

#[tokio::test]
async fn one_shot_query_closes_stdin_after_writing_the_prompt_without_callbacks() {
    let (transport, mut cli) = pipes();
    let stream = crate::query::query_with_transport("hello", options(), transport);
    let reader = tokio::spawn(stream.collect::<Vec<_>>());
    cli.handshake().await;
    let user = cli.read().await;
    assert_eq!(
        user,
        json!({"type":"user","message":{"role":"user","content":"hello"},"parent_tool_use_id":null,"session_id":""})
    );
    cli.read_eof().await;
    cli.write(result_frame(false, "success")).await;
    cli.exit(0, "").await;
    let messages = reader.await.unwrap();
    assert_eq!(messages.len(), 1);
    assert!(matches!(&messages[0], Ok(Message::Result(r)) if r.result.as_deref() == Some("done")));
}

#[tokio::test]
async fn one_shot_error_result_is_followed_by_a_typed_result_error() {
    let (transport, mut cli) = pipes();
    let reader =
        tokio::spawn(query::query_with_transport("go", options(), transport).collect::<Vec<_>>());
    cli.handshake().await;
    let _user = cli.read().await;
    let mut frame = result_frame(true, "error_max_turns");
    frame["errors"] = json!(["Reached maximum number of turns (1)"]);
    cli.write(frame).await;
    cli.exit(1, "").await;
    let messages = reader.await.unwrap();
    assert!(matches!(&messages[0], Ok(Message::Result(r)) if r.subtype == "error_max_turns"));
    match &messages[1] {
        Err(Error::Result(failure)) => {
            assert_eq!(failure.subtype, "error_max_turns");
            assert_eq!(failure.errors, ["Reached maximum number of turns (1)"]);
            assert_eq!(failure.message(), "Reached maximum number of turns (1)");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(messages.len(), 2);
}

/// Whether the SDK closes stdin within a short wait (`false`: it is still open).
async fn stdin_closes_soon(cli: &mut FakeCli) -> bool {
    match tokio::time::timeout(Duration::from_millis(200), cli.from_sdk.next_line()).await {
        Err(_) => false,
        Ok(line) => {
            assert!(line.unwrap().is_none(), "the SDK wrote an unexpected line");
            true
        }
    }
}

#[tokio::test]
async fn one_shot_run_ends_when_the_bare_task_updated_of_a_tracked_task_says_killed() {
    let (transport, mut cli) = pipes();
    // With a handler the CLI may call back, so stdin stays open until the run is over.
    let options = AgentOptions::builder()
        .can_use_tool(|_: crate::permission::ToolPermissionRequest| async {
            crate::permission::PermissionResult::allow()
        })
        .build()
        .unwrap();
    let reader =
        tokio::spawn(query::query_with_transport("go", options, transport).collect::<Vec<_>>());
    cli.handshake().await;
    let _user = cli.read().await;
    cli.write(json!({"type":"system","subtype":"task_started","task_id":"b1m21w89v","description":"research",
        "task_type":"local_agent","uuid":"u1","session_id":"s1"}))
        .await;
    cli.write(result_frame(false, "success")).await;
    assert!(
        !stdin_closes_soon(&mut cli).await,
        "a tracked background agent still runs"
    );
    // Neither a patch that is not an object nor a non-terminal status ends the task.
    for patch in [
        json!(["completed"]),
        json!({"status":"paused"}),
        json!(null),
    ] {
        cli.write(
            json!({"type":"system","subtype":"task_updated","task_id":"b1m21w89v","patch":patch}),
        )
        .await;
        assert!(!stdin_closes_soon(&mut cli).await, "{patch} ended the run");
    }
    // The frame as the CLI sends it: no uuid, no session_id.
    cli.write(
        json!({"type":"system","subtype":"task_updated","task_id":"b1m21w89v",
        "patch":{"status":"killed","end_time":1780405729183_u64}}),
    )
    .await;
    cli.read_eof().await;
    cli.exit(0, "").await;
    let messages = reader.await.unwrap();
    assert!(messages.iter().all(Result::is_ok), "{messages:?}");
    match messages.last() {
        Some(Ok(Message::System(crate::message::SystemMessage::TaskUpdated(update)))) => {
            assert_eq!(update.task_id, "b1m21w89v");
            assert!(update.patch.is_terminal());
            assert_eq!(
                (update.uuid.as_deref(), update.session_id.as_deref()),
                (None, None)
            );
        }
        other => panic!("expected the killed task_updated last, got {other:?}"),
    }
}

#[tokio::test]
async fn sdk_host_only_frames_are_consumed() {
    let (client, mut cli) = connected(options()).await;
    cli.write(json!({"type":"system","subtype":"session_state_changed","state":"running","sdk_host_only":true,"session_id":"s","uuid":"u"}))
        .await;
    cli.write(json!({"type":"system","subtype":"session_state_changed","state":"idle","session_id":"s","uuid":"u2"})).await;
    cli.write(result_frame(false, "success")).await;
    let messages: Vec<_> = client.receive_response().collect().await;
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(
        matches!(&messages[0], Ok(Message::System(s)) if s.subtype() == "session_state_changed")
    );
}

#[tokio::test]
async fn disconnect_closes_stdin_and_later_calls_fail() {
    let (client, mut cli) = connected(options()).await;
    let disconnect = tokio::spawn(async move {
        client.disconnect().await.unwrap();
        client.disconnect().await.unwrap();
        let after = client.query("more").await;
        (client, after)
    });
    cli.read_eof().await;
    cli.exit(0, "").await;
    let (_client, after) = disconnect.await.unwrap();
    assert!(matches!(after, Err(Error::NotConnected)), "{after:?}");
}

#[tokio::test]
async fn tools_call_fast_path_and_its_fallbacks_answer_as_the_server_does() {
    let server = crate::mcp::SdkMcpServer::builder("calc")
        .tool(crate::mcp::DynamicTool::new(
            "add",
            json!({"type":"object","properties":{"a":{"type":"number"},"b":{"type":"number"}},"required":["a","b"]}),
            |args: Value| async move { (args["a"].as_f64().unwrap() + args["b"].as_f64().unwrap()).to_string() },
        ))
        .tool(crate::mcp::DynamicTool::new(
            "boom",
            json!({"type":"object"}),
            |args: Value| async move {
                assert!(args.is_null(), "kaboom");
                "never"
            },
        ))
        .build()
        .unwrap();
    let (transport, mut cli) = pipes();
    let options = AgentOptions::builder()
        .mcp_server("calc", server.clone())
        .build()
        .unwrap();
    let connect = tokio::spawn(Client::connect_with_transport(options, transport));
    cli.handshake().await;
    let _client = connect.await.unwrap().unwrap();

    let messages = [
        // The fast path: envelope and params read without a Value.
        json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","arguments":{"a":2,"b":3},"_meta":{"progressToken":1}}}),
        json!({"method":"tools/call","params":{"arguments":{"b":1,"a":1},"name":"add"},"id":"string-id","jsonrpc":"2.0"}),
        json!({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"add","arguments":{"a":"two","b":3}}}),
        json!({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"add"}}),
        json!({"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"nope","arguments":{}}}),
        // A handler that panics: an `isError` result, the same on both paths.
        json!({"jsonrpc":"2.0","id":12,"method":"tools/call","params":{"name":"boom","arguments":{}}}),
        // Shapes the fast path refuses, answered by the general path.
        json!({"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"arguments":{"a":1,"b":2}}}),
        json!({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":42}}),
        json!({"jsonrpc":"2.0","id":8,"method":"tools/call"}),
        json!({"jsonrpc":"2.0","method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":2}}}),
        json!({"jsonrpc":"2.0","id":9,"method":"tools/list","params":{"name":"add"}}),
    ];
    for (n, message) in messages.iter().enumerate() {
        let request_id = format!("cli-{n}");
        cli.write(json!({"type":"control_request","request_id":request_id,
            "request":{"subtype":"mcp_message","server_name":"calc","message":message}}))
            .await;
        let answer = cli.read().await;
        assert_eq!(answer["response"]["request_id"], request_id);
        assert_eq!(answer["response"]["subtype"], "success", "{answer}");
        let expected = server.handle_json_rpc(message.clone()).await;
        assert_eq!(
            answer["response"]["response"]["mcp_response"], expected,
            "message {n}: {message}"
        );
        if message["params"]["name"] == "boom" {
            let result = &answer["response"]["response"]["mcp_response"]["result"];
            assert_eq!(result["isError"], true, "{answer}");
            assert_eq!(result["content"][0]["text"], "Tool 'boom' panicked: kaboom");
        }
        if n == 0 {
            let result = &answer["response"]["response"]["mcp_response"]["result"];
            assert_eq!(
                result,
                &json!({"content":[{"type":"text","text":"5"}],"isError":false})
            );
        }
    }
    // A panic on the general path (the fast path refuses the duplicate `name`; the
    // general one takes the last) is the same `isError` result, not a control error.
    cli.write_raw(br#"{"type":"control_request","request_id":"cli-dup","request":{"subtype":"mcp_message","server_name":"calc","message":{"jsonrpc":"2.0","id":13,"method":"tools/call","params":{"name":"add","name":"boom","arguments":{}}}}}
"#)
    .await;
    let answer = cli.read().await;
    assert_eq!(answer["response"]["subtype"], "success", "{answer}");
    let result = &answer["response"]["response"]["mcp_response"]["result"];
    assert_eq!(result["isError"], true, "{answer}");
    assert_eq!(result["content"][0]["text"], "Tool 'boom' panicked: kaboom");
    // A tools/call for a server that does not exist keeps its id.
    cli.write(json!({"type":"control_request","request_id":"cli-x","request":{"subtype":"mcp_message","server_name":"gone",
        "message":{"jsonrpc":"2.0","id":11,"method":"tools/call","params":{"name":"add","arguments":{}}}}}))
        .await;
    let answer = cli.read().await;
    assert_eq!(
        answer["response"]["response"]["mcp_response"],
        json!({"jsonrpc":"2.0","id":11,"error":{"code":-32601,"message":"Server 'gone' not found"}})
    );
}

/// A server whose `wait` tool never answers and flips a flag when its future is dropped.
fn waiting_server() -> (
    crate::mcp::SdkMcpServer,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    struct CountDrop(std::sync::Arc<std::sync::atomic::AtomicUsize>);
    impl Drop for CountDrop {
        fn drop(&mut self) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }
    let dropped = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = dropped.clone();
    let wait = crate::mcp::DynamicTool::new(
        "wait",
        json!({"type":"object","properties":{"millis":{"type":"integer"}}}),
        move |args: Value| {
            let guard = CountDrop(counter.clone());
            async move {
                match args["millis"].as_u64() {
                    Some(millis) => tokio::time::sleep(Duration::from_millis(millis)).await,
                    None => std::future::pending().await,
                }
                std::mem::forget(guard);
                "waited"
            }
        },
    );
    let server = crate::mcp::SdkMcpServer::builder("s")
        .tool(wait)
        .build()
        .unwrap();
    (server, dropped)
}

fn mcp_request(request_id: &str, message: Value) -> Value {
    json!({"type":"control_request","request_id":request_id,
        "request":{"subtype":"mcp_message","server_name":"s","message":message}})
}

fn call_wait(request_id: &str, jsonrpc_id: u64, millis: Option<u64>) -> Value {
    let arguments = millis.map_or(json!({}), |millis| json!({"millis": millis}));
    mcp_request(
        request_id,
        json!({"jsonrpc":"2.0","id":jsonrpc_id,"method":"tools/call","params":{"name":"wait","arguments":arguments}}),
    )
}

fn cancel_notification(request_id: &str, jsonrpc_id: u64) -> Value {
    mcp_request(
        request_id,
        json!({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":jsonrpc_id,"reason":"timeout"}}),
    )
}

async fn connected_with(server: &crate::mcp::SdkMcpServer) -> (Client, FakeCli) {
    let options = AgentOptions::builder()
        .mcp_server("s", server.clone())
        .build()
        .unwrap();
    connected(options).await
}

/// Reads `count` answers and returns them by control request id.
async fn answers(cli: &mut FakeCli, count: usize) -> std::collections::HashMap<String, Value> {
    let mut answers = std::collections::HashMap::new();
    for _ in 0..count {
        let answer = cli.read().await;
        let request_id = answer["response"]["request_id"]
            .as_str()
            .unwrap()
            .to_owned();
        answers.insert(request_id, answer["response"].clone());
    }
    answers
}

#[tokio::test]
async fn notifications_cancelled_aborts_the_call_and_it_answers_request_cancelled() {
    let (server, dropped) = waiting_server();
    let (_client, mut cli) = connected_with(&server).await;
    cli.write(call_wait("c1", 9, None)).await;
    cli.write(call_wait("c2", 10, Some(50))).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    cli.write(cancel_notification("n1", 9)).await;
    // A cancel for an id that is not in flight is acknowledged and changes nothing.
    cli.write(cancel_notification("n2", 77)).await;
    let answers = answers(&mut cli, 4).await;
    assert_eq!(
        answers["c1"],
        json!({"subtype":"success","request_id":"c1","response":{"mcp_response":
            {"jsonrpc":"2.0","id":9,"error":{"code":-32800,"message":"Request cancelled"}}}})
    );
    let ack = json!({"mcp_response":{"jsonrpc":"2.0","result":{}}});
    assert_eq!(answers["n1"]["response"], ack);
    assert_eq!(answers["n2"]["response"], ack);
    assert_eq!(
        answers["c2"]["response"]["mcp_response"]["result"]["content"][0]["text"],
        "waited"
    );
    assert_eq!(
        dropped.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "the cancelled handler was dropped, the other one finished"
    );
}

#[tokio::test]
async fn a_cancel_reaches_only_the_calls_of_its_own_session() {
    // Two sessions share one server; both number their call 2.
    let (server, dropped) = waiting_server();
    let (_client_a, mut cli_a) = connected_with(&server).await;
    let (_client_b, mut cli_b) = connected_with(&server).await;
    cli_a.write(call_wait("a1", 2, Some(200))).await;
    cli_b.write(call_wait("b1", 2, None)).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    cli_b.write(cancel_notification("b2", 2)).await;
    let b = answers(&mut cli_b, 2).await;
    assert_eq!(
        b["b1"]["response"]["mcp_response"]["error"]["code"], -32800,
        "{b:?}"
    );
    let a = cli_a.read().await;
    assert_eq!(a["response"]["request_id"], "a1");
    assert_eq!(
        a["response"]["response"]["mcp_response"]["result"],
        json!({"content":[{"type":"text","text":"waited"}],"isError":false}),
        "A's call with the same id ran on: {a}"
    );
    assert_eq!(dropped.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test]
async fn control_cancel_of_a_tool_call_drops_the_handler_and_writes_nothing() {
    let (server, dropped) = waiting_server();
    let (client, mut cli) = connected_with(&server).await;
    cli.write(call_wait("c1", 4, None)).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    cli.write(json!({"type":"control_cancel_request","request_id":"c1"}))
        .await;
    // A later cancel notification for the same id finds nothing to answer.
    cli.write(cancel_notification("n1", 4)).await;
    let ack = cli.read().await;
    assert_eq!(ack["response"]["request_id"], "n1", "{ack}");
    // An abort is carried out by the handler's runtime, on its own thread: the
    // router may have answered the notification before the handler is dropped.
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    while dropped.load(std::sync::atomic::Ordering::SeqCst) == 0
        && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(dropped.load(std::sync::atomic::Ordering::SeqCst), 1);
    // Nothing more was written for c1: the next line is the answer to our own request.
    let interrupt = tokio::spawn(async move {
        let result = client.interrupt().await;
        (client, result)
    });
    let request = cli.read().await;
    assert_eq!(request["request"]["subtype"], "interrupt", "{request}");
    let id = request["request_id"].as_str().unwrap();
    cli.write(json!({"type":"control_response","response":{"subtype":"success","request_id":id,"response":{}}}))
        .await;
    interrupt.await.unwrap().1.unwrap();
}

// Real time: the handler runs on a runtime apart from the test's (see `protocol::core`).
#[tokio::test]
async fn a_handler_waiting_on_its_cancellation_gets_a_grace_period_then_is_dropped() {
    struct DropCount(std::sync::Arc<std::sync::atomic::AtomicUsize>);
    impl Drop for DropCount {
        fn drop(&mut self) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }
    let observed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let dropped = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (seen, counter) = (observed.clone(), dropped.clone());
    // Sees the cancellation, then never returns: only the hard abort ends it.
    let stubborn = crate::mcp::DynamicTool::with_context(
        "wait",
        json!({"type":"object"}),
        move |_args: Value, context: crate::mcp::ToolContext| {
            let (seen, guard) = (seen.clone(), DropCount(counter.clone()));
            async move {
                context.cancelled().await;
                seen.store(true, std::sync::atomic::Ordering::SeqCst);
                std::future::pending::<()>().await;
                drop(guard);
                "unreachable"
            }
        },
    );
    let server = crate::mcp::SdkMcpServer::builder("s")
        .tool(stubborn)
        .build()
        .unwrap();
    let (_client, mut cli) = connected_with(&server).await;
    cli.write(call_wait("c1", 4, None)).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    cli.write(cancel_notification("n1", 4)).await;
    let answers = answers(&mut cli, 2).await;
    assert_eq!(
        answers["c1"]["response"]["mcp_response"]["error"]["code"],
        -32800
    );
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(observed.load(std::sync::atomic::Ordering::SeqCst));
    assert_eq!(
        dropped.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "still in its grace period"
    );
    tokio::time::sleep(crate::mcp::CANCELLED_CALL_GRACE + Duration::from_millis(200)).await;
    assert_eq!(
        dropped.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "dropped after the grace period"
    );
}

/// Nothing more arrives from the SDK within `millis`.
async fn nothing_more(cli: &mut FakeCli, millis: u64) {
    if let Ok(line) =
        tokio::time::timeout(Duration::from_millis(millis), cli.from_sdk.next_line()).await
    {
        panic!("unexpected line from the SDK: {line:?}");
    }
}

#[tokio::test]
async fn a_duplicate_of_an_id_in_flight_is_ignored_and_answered_once() {
    let (server, _dropped) = waiting_server();
    let (_client, mut cli) = connected_with(&server).await;
    cli.write(call_wait("c1", 1, Some(100))).await;
    cli.write(call_wait("c1", 2, Some(0))).await;
    let answer = cli.read().await;
    assert_eq!(answer["response"]["request_id"], "c1");
    assert_eq!(answer["response"]["subtype"], "success", "{answer}");
    // The answer is the first call's (JSON-RPC id 1), not an error for the duplicate.
    assert_eq!(answer["response"]["response"]["mcp_response"]["id"], 1);
    nothing_more(&mut cli, 300).await;
    // Once answered, the id may be used again.
    cli.write(call_wait("c1", 3, Some(0))).await;
    assert_eq!(
        cli.read().await["response"]["response"]["mcp_response"]["id"],
        3
    );
}

/// A `tools/call` whose arguments nest `depth` arrays deep.
fn deep_call(request_id: &str, depth: usize) -> String {
    format!(
        r#"{{"type":"control_request","request_id":"{request_id}","request":{{"subtype":"mcp_message","server_name":"s","message":{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"wait","arguments":{{"x":{}{}}}}}}}}}}}"#,
        "[".repeat(depth),
        "]".repeat(depth)
    ) + "\n"
}

#[tokio::test]
async fn too_deep_and_over_limit_requests_get_one_error_answer_naming_the_limit() {
    let (server, _dropped) = waiting_server();
    let (transport, mut cli) = pipes();
    let options = AgentOptions::builder()
        .mcp_server("s", server)
        .max_buffer_size(64 * 1024)
        .build()
        .unwrap();
    let connect = tokio::spawn(Client::connect_with_transport(options, transport));
    cli.handshake().await;
    let client = connect.await.unwrap().unwrap();

    // Past serde_json's recursion limit, within the line limit.
    cli.write_raw(deep_call("deep", 10_000).as_bytes()).await;
    let answer = cli.read().await;
    assert_eq!(answer["response"]["request_id"], "deep");
    assert_eq!(answer["response"]["subtype"], "error");
    let error = answer["response"]["error"].as_str().unwrap();
    assert!(error.contains("recursion limit"), "{error}");

    // Over the line limit (in one write, and across many reads).
    let mut huge = format!(
        r#"{{"type":"control_request","request_id":"huge","request":{{"subtype":"mcp_message","server_name":"s","message":{{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{{"name":"wait","arguments":{{"pad":"{}"}}}}}}}}}}"#,
        "p".repeat(200 * 1024)
    );
    huge.push('\n');
    cli.write_raw(huge.as_bytes()).await;
    let answer = cli.read().await;
    assert_eq!(answer["response"]["request_id"], "huge");
    assert_eq!(answer["response"]["subtype"], "error");
    let error = answer["response"]["error"].as_str().unwrap();
    assert!(error.contains("limit of 65536 bytes"), "{error}");

    // Neither is a stream item, and nothing more was written.
    nothing_more(&mut cli, 200).await;
    cli.write(result_frame(false, "success")).await;
    let mut stream = client.receive_response();
    assert!(matches!(stream.next().await, Some(Ok(Message::Result(_)))));
}

#[tokio::test]
async fn unreadable_frames_are_not_errors_and_a_loop_with_question_mark_goes_on() {
    let options = AgentOptions {
        max_buffer_size: Some(160),
        ..options()
    };
    let (client, mut cli) = connected(options).await;
    // Control frames we cannot read: logged, never stream items.
    cli.write(
        json!({"type":"control_request","request_id":7,"request":{"subtype":"can_use_tool"}}),
    )
    .await;
    cli.write(json!({"type":"control_response"})).await;
    cli.write(json!({"type":"control_cancel_request","request_id":[]}))
        .await;
    // Conversation lines we cannot read: `Message::Malformed`.
    cli.write_raw(format!("{{\"type\":\"x\",\"pad\":\"{}\"}}\n", "a".repeat(200)).as_bytes())
        .await;
    cli.write_raw(b"{\"type\":\"assistant\",broken\n").await;
    cli.write(json!({"type":"result","subtype":"success"}))
        .await;
    cli.write(result_frame(false, "success")).await;

    // The README's loop: `?` on every item.
    let mut seen = Vec::new();
    let outcome: crate::Result<()> = async {
        let mut stream = client.receive_response();
        while let Some(message) = stream.next().await {
            seen.push(message?);
        }
        Ok(())
    }
    .await;
    assert!(outcome.is_ok(), "{outcome:?}");
    let malformed: Vec<(&str, &str)> = seen
        .iter()
        .filter_map(|m| match m {
            Message::Malformed { excerpt, error } => Some((excerpt.as_str(), error.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(malformed.len(), 3, "{seen:?}");
    assert!(malformed[0].0.starts_with("{\"type\":\"x\",\"pad\":\"aaa"));
    assert!(
        malformed[0].1.contains("limit of 160 bytes"),
        "{malformed:?}"
    );
    assert_eq!(malformed[1].0, "{\"type\":\"assistant\",broken");
    assert!(malformed[2].1.contains("missing field"), "{malformed:?}");
    assert!(matches!(seen.last(), Some(Message::Result(_))));
    assert_eq!(seen.len(), 4, "{seen:?}");
    // The request with an integer id could not be answered: nothing was written.
    nothing_more(&mut cli, 100).await;
}

#[tokio::test]
async fn an_answer_over_the_limit_fails_its_request_at_once() {
    let options = AgentOptions {
        max_buffer_size: Some(1024),
        ..options()
    };
    let (client, mut cli) = connected(options).await;
    let started = std::time::Instant::now();
    let ask = tokio::spawn(async move { client.set_model(Some("m")).await });
    let request = cli.read().await;
    let id = request["request_id"].as_str().unwrap();
    cli.write(
        json!({"type":"control_response","response":{"subtype":"success","request_id":id,
        "response":{"pad":"x".repeat(4096)}}}),
    )
    .await;
    let outcome = ask.await.unwrap();
    assert!(
        matches!(outcome, Err(Error::LineTooLong { limit: 1024 })),
        "{outcome:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_turn_that_ends_without_result_on_a_clean_exit_is_an_error() {
    let (client, mut cli) = connected(options()).await;
    client.query("go").await.unwrap();
    assert_eq!(cli.read().await["type"], "user");
    cli.write(json!({"type":"assistant","message":{"model":"m","content":[{"type":"text","text":"partial"}]},"session_id":"s1"}))
        .await;
    cli.exit(0, "stdout closed early").await;
    let items: Vec<_> = client.receive_response().collect().await;
    assert!(matches!(items[0], Ok(Message::Assistant(_))), "{items:?}");
    match items.last() {
        Some(Err(
            error @ Error::TurnIncomplete {
                exit_code: Some(0),
                stderr_tail,
                ..
            },
        )) => {
            assert_eq!(stderr_tail, "stdout closed early");
            assert!(error.to_string().contains("no `result`"), "{error}");
        }
        other => panic!("expected TurnIncomplete, got {other:?}"),
    }
    assert_eq!(items.len(), 2);
}

#[tokio::test]
async fn a_clean_exit_between_turns_is_no_error() {
    let (client, mut cli) = connected(options()).await;
    client.query("go").await.unwrap();
    cli.write(result_frame(false, "success")).await;
    cli.exit(0, "").await;
    let items: Vec<_> = client.receive_messages().collect().await;
    assert_eq!(items.len(), 1, "{items:?}");
    assert!(matches!(items[0], Ok(Message::Result(_))));
}
