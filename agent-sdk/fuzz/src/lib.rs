//! Shared parts of the fuzz targets: one current-thread runtime on real time
//! (the protocol core runs on a thread and clock of its own), the
//! SDK MCP server the targets call, and the control-router harness: a session
//! over in-memory pipes that is fed arbitrary CLI output.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use agent_sdk::mcp::{DynamicTool, SdkMcpServer};
use agent_sdk::permission::{PermissionResult, ToolPermissionRequest};
use agent_sdk::transport::{ChildProcess, Connection, ExitReport, Transport};
use agent_sdk::{AgentOptions, BoxFuture, Client, Message};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::oneshot;

static RUNTIME: LazyLock<Mutex<tokio::runtime::Runtime>> = LazyLock::new(|| {
    Mutex::new(
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime"),
    )
});

/// Runs `future` to completion on the shared paused-clock runtime.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let runtime = RUNTIME.lock().unwrap_or_else(|e| e.into_inner());
    runtime.block_on(future)
}

/// An SDK MCP server `s` with one tool, `echo`, whose arguments have a schema.
pub fn fuzz_server() -> SdkMcpServer {
    static SERVER: LazyLock<SdkMcpServer> = LazyLock::new(|| {
        let echo = DynamicTool::new(
            "echo",
            json!({"type": "object", "properties": {"n": {"type": "integer"}, "s": {"type": "string"}},
                   "required": ["n"]}),
            |arguments: Value| async move { arguments.to_string() },
        );
        SdkMcpServer::builder("s")
            .tool(echo)
            .build()
            .expect("the fuzz server builds")
    });
    SERVER.clone()
}

/// What the session did with the CLI output it was fed.
pub struct RouterRun {
    /// Every `control_response` the SDK wrote, in order.
    pub answers: Vec<Value>,
    /// Every item of the session's message stream.
    pub items: Vec<agent_sdk::Result<Message>>,
}

struct FakeProcess(Option<oneshot::Receiver<ExitReport>>);

impl ChildProcess for FakeProcess {
    fn wait(&mut self) -> BoxFuture<'_, ExitReport> {
        Box::pin(async move {
            match self.0.take() {
                Some(exit) => exit.await.unwrap_or_default(),
                None => std::future::pending().await,
            }
        })
    }
    fn terminate(&mut self) -> BoxFuture<'_, ExitReport> {
        Box::pin(async { ExitReport::default() })
    }
}

struct Pipes(Connection);

impl Transport for Pipes {
    fn connect(self: Box<Self>) -> BoxFuture<'static, agent_sdk::Result<Connection>> {
        Box::pin(async move { Ok(self.0) })
    }
}

/// Connects a session (line limit `max_buffer_size`, the [`fuzz_server`] and a
/// permission handler that allows), writes `output` as the CLI's stdout, lets
/// every handler finish, then closes stdout and exits 0.
pub fn route(output: &[u8], max_buffer_size: usize) -> RouterRun {
    block_on(async {
        let (sdk_out, cli_in) = tokio::io::duplex(1 << 16);
        let (mut cli_out, sdk_in) = tokio::io::duplex(1 << 16);
        let (exit_tx, exit_rx) = oneshot::channel();
        let connection = Connection::new(
            Box::new(sdk_in),
            Box::new(sdk_out),
            Box::new(FakeProcess(Some(exit_rx))),
        );
        let options = AgentOptions::builder()
            .max_buffer_size(max_buffer_size)
            .mcp_server("s", fuzz_server())
            .can_use_tool(|_request: ToolPermissionRequest| async { PermissionResult::allow() })
            .build()
            .expect("valid options");
        let connect = tokio::spawn(Client::connect_with_transport(options, Pipes(connection)));

        let mut from_sdk = BufReader::new(cli_in).lines();
        let init: Value =
            serde_json::from_str(&from_sdk.next_line().await.unwrap().unwrap()).unwrap();
        let init_answer = json!({"type": "control_response", "response": {"subtype": "success",
            "request_id": init["request_id"], "response": {}}});
        cli_out
            .write_all(format!("{init_answer}\n").as_bytes())
            .await
            .unwrap();
        let client = Arc::new(connect.await.unwrap().expect("initialize"));

        // Read the stream and the answers all along, so that no queue fills up.
        let reader = client.clone();
        let items = tokio::spawn(async move {
            use futures_util::StreamExt;
            reader.receive_messages().collect::<Vec<_>>().await
        });
        let answered = Arc::new(std::sync::Mutex::new(Vec::<Value>::new()));
        let collected = answered.clone();
        let answers = tokio::spawn(async move {
            while let Ok(Some(line)) = from_sdk.next_line().await {
                let answer = serde_json::from_str::<Value>(&line).expect("the SDK writes JSON");
                collected.lock().unwrap().push(answer);
            }
        });

        cli_out.write_all(output).await.unwrap();
        cli_out.write_all(b"\n").await.unwrap();
        // Real time (the protocol core runs on a thread and clock of its own):
        // wait until every request that needs an answer has one, for 5 s at
        // most (every handler here answers at once), then end the output.
        let required = expected(output, max_buffer_size).required;
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            let done = {
                let answered = answered.lock().unwrap();
                required.keys().all(|id| {
                    answered
                        .iter()
                        .any(|answer| answer["response"]["request_id"] == id.as_str())
                })
            };
            if done {
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        cli_out.shutdown().await.unwrap();
        drop(cli_out);
        let mut exit = ExitReport::default();
        exit.code = Some(0);
        let _ = exit_tx.send(exit);
        let items = items.await.unwrap();
        client.disconnect().await.unwrap();
        drop(client);
        RouterRun {
            answers: {
                answers.await.unwrap();
                std::mem::take(&mut *answered.lock().unwrap())
            },
            items,
        }
    })
}

/// The ids of the control requests in `output` that must get an answer.
pub struct Expected {
    /// Ids of well-formed requests not withdrawn, with how many requests carry each.
    pub required: HashMap<String, usize>,
}

/// A frame's top-level fields the oracle reads; duplicates of them make a
/// line ambiguous, which serde reports as an error here.
#[derive(serde::Deserialize)]
struct RequestLine {
    #[serde(rename = "type")]
    kind: String,
    request_id: String,
    request: serde_json::Map<String, Value>,
}

/// Which requests of `output` are well formed (parseable objects with a
/// string `request_id` and an object `request`, within the limit or written the
/// CLI's way, `type` and `request_id` first) and not withdrawn.
pub fn expected(output: &[u8], max_buffer_size: usize) -> Expected {
    let mut required: HashMap<String, usize> = HashMap::new();
    let mut withdrawn = Vec::new();
    for line in output.split(|b| *b == b'\n') {
        let line = line.trim_ascii();
        if let Ok(cancel) = serde_json::from_slice::<Value>(line)
            && cancel["type"] == "control_cancel_request"
        {
            withdrawn.push(cancel["request_id"].as_str().unwrap_or_default().to_owned());
        }
        let Ok(request) = serde_json::from_slice::<RequestLine>(line) else {
            continue;
        };
        let cli_order = line.starts_with(br#"{"type":"control_request","request_id":""#)
            && request.request_id.len() < 1024;
        if request.kind == "control_request"
            && (line.len() <= max_buffer_size || cli_order)
            && !request.request.is_empty()
        {
            *required.entry(request.request_id).or_default() += 1;
        }
    }
    for id in withdrawn {
        required.remove(&id);
    }
    Expected { required }
}
