//! Tools that live in an application, against the real CLI: `State<T>` shared across calls
//! and sessions, the `ToolContext` of a call (ids the CLI sent, cooperative cancellation,
//! progress and logs), and tools added to and removed from a running server.
//!
//! A tee around the subprocess transport records every line both ways, so the tests
//! compare the context with what the CLI sent and see the frames we send it.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use agent_sdk::mcp::{DynamicTool, LogLevel, State, ToolContext};
use agent_sdk::prelude::*;
use agent_sdk::testing::{Script, Turn};
use agent_sdk::transport::{Connection, SubprocessTransport, Transport};
use agent_sdk::{AgentOptions, BoxFuture};
use agent_sdk_e2e::{World, assistant_text, collect, last_result};
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The lines of a session, both ways.
#[derive(Clone, Default)]
struct Wire {
    to_cli: Arc<Mutex<Vec<u8>>>,
    from_cli: Arc<Mutex<Vec<u8>>>,
}

impl Wire {
    fn frames(bytes: &Mutex<Vec<u8>>) -> Vec<Value> {
        bytes
            .lock()
            .unwrap()
            .split(|b| *b == b'\n')
            .filter_map(|line| serde_json::from_slice(line).ok())
            .collect()
    }

    /// What we sent the CLI.
    fn sent(&self) -> Vec<Value> {
        Self::frames(&self.to_cli)
    }

    /// What the CLI sent us.
    fn received(&self) -> Vec<Value> {
        Self::frames(&self.from_cli)
    }

    /// The CLI's `tools/call` JSON-RPC messages for `tool`.
    fn tool_calls(&self, tool: &str) -> Vec<Value> {
        self.received()
            .into_iter()
            .filter(|f| f["request"]["subtype"] == "mcp_message")
            .map(|f| f["request"]["message"].clone())
            .filter(|m| m["method"] == "tools/call" && m["params"]["name"] == tool)
            .collect()
    }

    /// Our SDK-originated `mcp_message` requests carrying `method`.
    fn sent_notifications(&self, method: &str) -> Vec<Value> {
        self.sent()
            .into_iter()
            .filter(|f| f["type"] == "control_request" && f["request"]["subtype"] == "mcp_message")
            .filter(|f| f["request"]["message"]["method"] == method)
            .collect()
    }

    /// The CLI's answer to our request `request_id`.
    fn answer_to(&self, request_id: &Value) -> Option<Value> {
        self.received()
            .into_iter()
            .find(|f| f["type"] == "control_response" && f["response"]["request_id"] == *request_id)
    }
}

/// The subprocess transport, its pipes recorded into a [`Wire`].
struct Tee {
    inner: SubprocessTransport,
    wire: Wire,
}

impl Transport for Tee {
    fn connect(self: Box<Self>) -> BoxFuture<'static, agent_sdk::Result<Connection>> {
        Box::pin(async move {
            let Tee { inner, wire } = *self;
            let mut connection = Box::new(inner).connect().await?;
            connection.reader = Box::new(Recorded {
                io: connection.reader,
                into: wire.from_cli.clone(),
            });
            connection.writer = Box::new(Recorded {
                io: connection.writer,
                into: wire.to_cli.clone(),
            });
            Ok(connection)
        })
    }
}

struct Recorded<T> {
    io: T,
    into: Arc<Mutex<Vec<u8>>>,
}

impl<T: AsyncRead + Unpin> AsyncRead for Recorded<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        let fresh = &buf.filled()[before..];
        self.into.lock().unwrap().extend_from_slice(fresh);
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Recorded<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write(cx, data);
        if let Poll::Ready(Ok(written)) = &polled {
            self.into
                .lock()
                .unwrap()
                .extend_from_slice(&data[..*written]);
        }
        polled
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// A client over a recorded transport.
async fn recorded_client(options: AgentOptions) -> (Client, Wire) {
    let wire = Wire::default();
    let tee = Tee {
        inner: SubprocessTransport::new(&options).unwrap(),
        wire: wire.clone(),
    };
    let client = Client::connect_with_transport(options, tee).await.unwrap();
    (client, wire)
}

/// Options with `server` attached and its tools (now and later) allowed.
fn options_with(world: &World, server: SdkMcpServer) -> agent_sdk::AgentOptions {
    world
        .options()
        .allowed_tools([format!("mcp__{}", server.name())])
        .mcp_server(server.name().to_owned(), server)
        .build()
        .expect("options build")
}

fn assert_all_ok(messages: &[agent_sdk::Result<Message>]) {
    assert!(messages.iter().all(Result::is_ok), "{messages:#?}");
}

/// Application state: a call counter shared by every session of the app.
#[derive(Clone, Default)]
struct App {
    calls: Arc<AtomicU64>,
}

/// Count this call.
#[tool]
async fn count(State(app): State<App>) -> u64 {
    app.calls.fetch_add(1, Ordering::SeqCst) + 1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stateful_tool_counts_calls_across_a_session_and_across_two_sessions() {
    let world = World::start(
        Script::new()
            .then(Turn::tool_use("mcp__app__count", json!({})))
            .then(Turn::tool_use("mcp__app__count", json!({})))
            .then(Turn::text("counted twice"))
            .then(Turn::tool_use("mcp__app__count", json!({})))
            .then(Turn::text("counted once more")),
    )
    .await;
    let app = App::default();
    // Two servers built from one state, one per session.
    let first = create_sdk_mcp_server!("app", state = app.clone(), tools = [count]).unwrap();
    let second = SdkMcpServer::builder("app")
        .state(app.clone())
        .tool(count {})
        .build()
        .unwrap();

    let messages = collect(query("count twice", options_with(&world, first))).await;
    assert_all_ok(&messages);
    assert_eq!(assistant_text(&messages), "counted twice");
    let messages = collect(query("count again", options_with(&world, second))).await;
    assert_all_ok(&messages);
    assert_eq!(assistant_text(&messages), "counted once more");

    let results: Vec<String> = world
        .env
        .api()
        .main_loop_requests()
        .iter()
        .flat_map(|r| r.tool_results())
        .map(|r| r.text)
        .collect();
    // Each request repeats the session's earlier results: the last of each session counts.
    assert!(results.contains(&"1".to_owned()), "{results:?}");
    assert!(results.contains(&"2".to_owned()), "{results:?}");
    assert_eq!(world.env.api().last_tool_results()[0].text, "3");
    assert_eq!(app.calls.load(Ordering::SeqCst), 3);
}

/// What `whoami` saw, for the test to compare with the wire.
#[derive(Clone, Debug)]
struct Seen {
    session_id: Option<String>,
    tool_use_id: Option<String>,
    progress_token: Option<Value>,
    server_name: String,
    tool_name: String,
}

static SEEN: Mutex<Vec<Seen>> = Mutex::new(Vec::new());

/// Say who is calling.
#[tool]
async fn whoami(context: ToolContext) -> String {
    SEEN.lock().unwrap().push(Seen {
        session_id: context.session_id(),
        tool_use_id: context.tool_use_id().map(str::to_owned),
        progress_token: context.progress_token().cloned(),
        server_name: context.server_name().to_owned(),
        tool_name: context.tool_name().to_owned(),
    });
    format!("{:?}", context.tool_use_id())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_context_holds_what_the_cli_sent() {
    let world = World::start(
        Script::new()
            .then(Turn::tool_use("mcp__ids__whoami", json!({})))
            .then(Turn::text("known")),
    )
    .await;
    let server = create_sdk_mcp_server!("ids", tools = [whoami]).unwrap();
    let (client, wire) = recorded_client(options_with(&world, server)).await;
    client.query("who am I?").await.unwrap();
    let messages = collect(client.receive_response()).await;
    assert_all_ok(&messages);
    client.disconnect().await.unwrap();

    let calls = wire.tool_calls("whoami");
    assert_eq!(calls.len(), 1, "{calls:#?}");
    let meta = &calls[0]["params"]["_meta"];
    let seen = SEEN.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    let seen = &seen[0];
    assert_eq!(
        seen.tool_use_id.as_deref(),
        meta["claudecode/toolUseId"].as_str(),
        "{meta}"
    );
    assert_eq!(
        seen.progress_token.as_ref(),
        Some(&meta["progressToken"]),
        "{meta}"
    );
    assert_eq!(
        (seen.server_name.as_str(), seen.tool_name.as_str()),
        ("ids", "whoami")
    );
    // The tool-use id is the model's `tool_use` block's, answered by the tool result.
    let result = &world.env.api().last_tool_results()[0];
    assert_eq!(
        Some(result.tool_use_id.as_str()),
        seen.tool_use_id.as_deref()
    );
    assert_eq!(
        seen.session_id.as_deref(),
        Some(last_result(&messages).session_id.as_str())
    );
}

/// Set when the slow tool saw its cancellation and cleaned up.
static CLEANED_UP: AtomicBool = AtomicBool::new(false);

/// A tool that takes far longer than the CLI waits, and stops when told.
#[tool]
async fn crawl(context: ToolContext) -> String {
    tokio::select! {
        () = tokio::time::sleep(Duration::from_secs(120)) => "finished".to_owned(),
        () = context.cancelled() => {
            // Cleaning up may await: the handler is not dropped at once.
            tokio::time::sleep(Duration::from_millis(200)).await;
            CLEANED_UP.store(true, Ordering::SeqCst);
            "stopped".to_owned()
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_sees_the_cli_cancel_its_call_and_cleans_up() {
    let world = World::start(
        Script::new()
            .then(Turn::tool_use("mcp__web__crawl", json!({})))
            .then(Turn::text("gave up")),
    )
    .await;
    let server = create_sdk_mcp_server!("web", tools = [crawl]).unwrap();
    let options = world
        .options()
        .env("MCP_TOOL_TIMEOUT", "3000") // the CLI's limit for MCP calls, in ms
        .allowed_tools(server.qualified_tool_names())
        .mcp_server("web", server)
        .build()
        .unwrap();
    let (client, wire) = recorded_client(options).await;
    let started = Instant::now();
    client.query("crawl the web").await.unwrap();
    let messages = collect(client.receive_response()).await;
    assert!(started.elapsed() < Duration::from_secs(60));
    assert_eq!(assistant_text(&messages), "gave up");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !CLEANED_UP.load(Ordering::SeqCst) {
        assert!(
            Instant::now() < deadline,
            "the handler never saw the cancellation"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    client.disconnect().await.unwrap();
    // The CLI cancelled with notifications/cancelled, and we answered it "Request cancelled".
    let cancels: Vec<Value> = wire
        .received()
        .into_iter()
        .filter(|f| f["request"]["message"]["method"] == "notifications/cancelled")
        .collect();
    assert_eq!(cancels.len(), 1, "{cancels:#?}");
    let call_id = &wire.tool_calls("crawl")[0]["id"];
    assert_eq!(
        &cancels[0]["request"]["message"]["params"]["requestId"],
        call_id
    );
    let answered_cancelled = wire.sent().into_iter().any(|f| {
        f["response"]["response"]["mcp_response"]["id"] == *call_id
            && f["response"]["response"]["mcp_response"]["error"]["code"] == -32800
    });
    assert!(answered_cancelled, "{:#?}", wire.sent());
}

/// Import rows, reporting progress.
#[tool]
async fn import(rows: u32, context: ToolContext) -> String {
    for done in 1..=rows {
        context.progress(f64::from(done), Some(f64::from(rows)), Some("importing"));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    context.log(LogLevel::Info, format!("imported {rows} rows"));
    format!("{rows} rows imported")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_and_logs_reach_the_cli_as_sdk_mcp_messages_and_are_accepted() {
    let world = World::start(
        Script::new()
            .then(Turn::tool_use("mcp__db__import", json!({"rows": 3})))
            .then(Turn::text("imported")),
    )
    .await;
    let server = create_sdk_mcp_server!("db", tools = [import]).unwrap();
    let (client, wire) = recorded_client(options_with(&world, server)).await;
    client.query("import three rows").await.unwrap();
    let messages = collect(client.receive_response()).await;
    assert_all_ok(&messages);
    assert_eq!(assistant_text(&messages), "imported");
    assert_eq!(
        world.env.api().last_tool_results()[0].text,
        "3 rows imported"
    );
    // Let the CLI answer our last notifications before looking.
    tokio::time::sleep(Duration::from_millis(500)).await;
    client.disconnect().await.unwrap();

    let token = wire.tool_calls("import")[0]["params"]["_meta"]["progressToken"].clone();
    assert!(!token.is_null(), "the CLI sends a progress token");
    let progress = wire.sent_notifications("notifications/progress");
    let params: Vec<&Value> = progress
        .iter()
        .map(|f| &f["request"]["message"]["params"])
        .collect();
    assert_eq!(
        params,
        [1, 2, 3].map(|done| json!({"progressToken": token, "progress": done, "total": 3, "message": "importing"})).iter().collect::<Vec<_>>()
    );
    let logs = wire.sent_notifications("notifications/message");
    assert_eq!(
        logs[0]["request"]["message"]["params"],
        json!({"level": "info", "logger": "import", "data": "imported 3 rows"})
    );
    for frame in progress.iter().chain(&logs) {
        assert_eq!(frame["request"]["server_name"], "db", "{frame}");
        let answer = wire
            .answer_to(&frame["request_id"])
            .unwrap_or_else(|| panic!("the CLI never answered {frame}"));
        assert_eq!(answer["response"]["subtype"], "success", "{answer}");
    }
}

/// Add two numbers.
#[tool]
async fn add(a: f64, b: f64) -> f64 {
    a + b
}

/// The CLI's tool names of `server`, from `mcp_status`.
async fn listed_tools(client: &Client, server: &str) -> Vec<String> {
    let status = client.mcp_status().await.unwrap();
    let mut names: Vec<String> = status
        .mcp_servers
        .iter()
        .filter(|s| s.name == server)
        .flat_map(|s| s.tools.iter().map(|t| t.name.clone()))
        .collect();
    names.sort();
    names
}

/// Waits until the CLI lists exactly `expected` for `server`.
async fn wait_for_tools(client: &Client, server: &str, expected: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let names = listed_tools(client, server).await;
        if names == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the CLI lists {names:?}, not {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_added_mid_session_is_called_next_turn_and_a_removed_one_is_gone() {
    let world = World::start(
        Script::new()
            .then(Turn::tool_use("mcp__calc__add", json!({"a": 2, "b": 3})))
            .then(Turn::text("5"))
            .then(Turn::tool_use("mcp__calc__mul", json!({"a": 4, "b": 5})))
            .then(Turn::text("20"))
            .then(Turn::tool_use("mcp__calc__mul", json!({"a": 1, "b": 1})))
            .then(Turn::text("no more mul")),
    )
    .await;
    let server = create_sdk_mcp_server!("calc", tools = [add]).unwrap();
    let (client, wire) = recorded_client(options_with(&world, server.clone())).await;
    wait_for_tools(&client, "calc", &["add"]).await;
    client.query("add 2 and 3").await.unwrap();
    assert_all_ok(&collect(client.receive_response()).await);

    let mul = DynamicTool::new(
        "mul",
        json!({"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}, "required": ["a", "b"]}),
        |args: Value| async move { args["a"].as_f64().unwrap_or(0.0) * args["b"].as_f64().unwrap_or(0.0) },
    )
    .description("Multiply two numbers.");
    server.add_tool(mul).unwrap();
    wait_for_tools(&client, "calc", &["add", "mul"]).await;
    client.query("multiply 4 by 5").await.unwrap();
    let messages = collect(client.receive_response()).await;
    assert_all_ok(&messages);
    assert_eq!(assistant_text(&messages), "20");
    let result = &world.env.api().last_tool_results()[0];
    assert_eq!(
        (result.text.as_str(), result.is_error),
        ("20", false),
        "{result:?}"
    );
    let request = world.env.api().last_main_loop_request().unwrap();
    assert!(
        request.tool_names().contains(&"mcp__calc__mul"),
        "{:?}",
        request.tool_names()
    );

    assert!(server.remove_tool("mul"));
    wait_for_tools(&client, "calc", &["add"]).await;
    let calls_before_removal = wire.tool_calls("mul").len();
    client.query("and now?").await.unwrap();
    let messages = collect(client.receive_response()).await;
    assert_all_ok(&messages);
    assert_eq!(assistant_text(&messages), "no more mul");
    // The CLI 2.1.330 keeps a removed tool in the model's tool list (only additions
    // reach it), but refuses a call to it itself: the call never reaches the server.
    let result = &world.env.api().last_tool_results()[0];
    assert!(result.is_error, "{result:?}");
    assert!(
        result
            .text
            .contains("No such tool available: mcp__calc__mul"),
        "{result:?}"
    );
    assert_eq!(wire.tool_calls("mul").len(), calls_before_removal);
    client.disconnect().await.unwrap();

    // Each change went out as one SDK-originated notification, which the CLI accepted.
    let changes = wire.sent_notifications("notifications/tools/list_changed");
    assert_eq!(changes.len(), 2, "{changes:#?}");
    for frame in &changes {
        let answer = wire.answer_to(&frame["request_id"]).expect("answered");
        assert_eq!(answer["response"]["subtype"], "success", "{answer}");
    }
}
