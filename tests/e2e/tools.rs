//! The in-process tool framework against the real CLI: `#[tool]` handlers called by the CLI
//! through `mcp_message`, and what the model receives back as `tool_result` blocks.

use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use agent_sdk::message::McpServerStatus;
use agent_sdk::prelude::*;
use agent_sdk::testing::{Script, Turn};
use agent_sdk_e2e::{World, assistant_text, collect, last_result};
use serde_json::{Value, json};

/// Add two numbers.
#[tool(read_only)]
async fn add(
    /// The first addend.
    a: f64,
    /// The second addend.
    b: f64,
) -> f64 {
    a + b
}

/// Divide `a` by `b`.
#[tool]
async fn divide(a: f64, b: f64) -> Result<f64, ToolError> {
    if b == 0.0 {
        return Err(ToolError::new("division by zero is undefined"));
    }
    Ok(a / b)
}

/// A handler that panics.
#[tool]
async fn explode() -> String {
    panic!("the reactor overheated")
}

fn calc() -> SdkMcpServer {
    create_sdk_mcp_server!("calc", version = "1.0.0", tools = [add, divide, explode])
        .expect("calc server builds")
}

/// Options with `server` attached and its tools allowed without asking.
fn options_with(world: &World, server: SdkMcpServer) -> agent_sdk::AgentOptions {
    let allowed = server.qualified_tool_names();
    world
        .options()
        .allowed_tools(allowed)
        .mcp_server(server.name().to_owned(), server)
        .build()
        .expect("options build")
}

/// The request's entry in `tools` named `name`.
fn tool_spec(request: &agent_sdk::testing::RecordedRequest, name: &str) -> Value {
    request.body["tools"]
        .as_array()
        .and_then(|tools| tools.iter().find(|t| t["name"] == name))
        .cloned()
        .unwrap_or_else(|| panic!("{name} not in tools: {:?}", request.tool_names()))
}

fn assert_all_ok(messages: &[agent_sdk::Result<Message>]) {
    assert!(messages.iter().all(Result::is_ok), "{messages:#?}");
}

// One-shot `query()`: the CLI calls us after the prompt, so stdin stays open until the result.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_calls_an_in_process_tool_and_the_model_gets_the_answer() {
    let world = World::start(
        Script::new()
            .then(Turn::tool_use("mcp__calc__add", json!({"a": 2, "b": 3})))
            .then(Turn::text("2 + 3 = 5.")),
    )
    .await;
    let messages = collect(query("What is 2 + 3?", options_with(&world, calc()))).await;
    assert_all_ok(&messages);
    assert_eq!(assistant_text(&messages), "2 + 3 = 5.");
    assert_eq!(last_result(&messages).subtype, "success");

    let results = world.env.api().last_tool_results();
    assert_eq!(results.len(), 1, "{results:#?}");
    assert_eq!(results[0].text, "5");
    assert!(!results[0].is_error, "{results:#?}");

    // The model saw our tool with our shaped schema and description.
    let first = &world.env.api().main_loop_requests()[0];
    let spec = tool_spec(first, "mcp__calc__add");
    assert_eq!(spec["description"], "Add two numbers.", "{spec}");
    let schema = &spec["input_schema"];
    assert_eq!(schema["type"], "object", "{schema}");
    assert_eq!(schema["required"], json!(["a", "b"]), "{schema}");
    assert_eq!(schema["properties"]["a"]["type"], "number", "{schema}");
    assert_eq!(
        schema["properties"]["a"]["description"], "The first addend.",
        "{schema}"
    );
    assert!(schema.get("$schema").is_none(), "{schema}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handler_errors_and_panics_reach_the_model_and_the_turn_goes_on() {
    let world = World::start(
        Script::new()
            .then(Turn::tool_use("mcp__calc__divide", json!({"a": 1, "b": 0})))
            .then(Turn::tool_use("mcp__calc__explode", json!({})))
            .then(Turn::text("Both tools failed, sorry.")),
    )
    .await;
    let messages = collect(query("Divide, then explode", options_with(&world, calc()))).await;
    assert_all_ok(&messages);
    assert_eq!(assistant_text(&messages), "Both tools failed, sorry.");
    assert_eq!(last_result(&messages).subtype, "success");

    let requests = world.env.api().main_loop_requests();
    assert_eq!(requests.len(), 3, "one model request per turn");
    let error = &requests[1].tool_results()[0];
    assert!(error.is_error, "{error:#?}");
    assert!(
        error.text.contains("division by zero is undefined"),
        "{error:#?}"
    );
    let panic = &requests[2].tool_results()[0];
    assert!(panic.is_error, "{panic:#?}");
    assert_eq!(
        panic.text,
        "Tool 'explode' panicked: the reactor overheated"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_arguments_reach_the_model_as_an_error_naming_the_field() {
    let world = World::start(
        Script::new()
            .then(Turn::tool_use("mcp__calc__add", json!({"a": 2})))
            .then(Turn::text("I forgot b.")),
    )
    .await;
    let messages = collect(query("Add 2", options_with(&world, calc()))).await;
    assert_all_ok(&messages);
    assert_eq!(assistant_text(&messages), "I forgot b.");

    let results = world.env.api().last_tool_results();
    assert_eq!(results.len(), 1, "{results:#?}");
    assert!(results[0].is_error, "{results:#?}");
    // The CLI does not check MCP arguments itself: this is our validator's message.
    assert!(
        results[0].text.starts_with("Input validation error")
            && results[0].text.contains("\"b\"")
            && results[0].text.contains("required"),
        "{results:#?}"
    );
}

/// Start and end instants of the `left`/`right` handlers, and the barrier both wait on.
static OVERLAP_LOG: Mutex<Vec<(&str, Instant, Instant)>> = Mutex::new(Vec::new());
static MEETING: LazyLock<tokio::sync::Barrier> = LazyLock::new(|| tokio::sync::Barrier::new(2));

/// Waits (up to 10 s) until the other handler has started too.
async fn meet(who: &'static str) -> String {
    let start = Instant::now();
    let met = tokio::time::timeout(Duration::from_secs(10), MEETING.wait())
        .await
        .is_ok();
    OVERLAP_LOG
        .lock()
        .unwrap()
        .push((who, start, Instant::now()));
    if met { "met" } else { "alone" }.to_owned()
}

/// Left half of a pair of read-only lookups.
#[tool(read_only)]
async fn left() -> String {
    meet("left").await
}

/// Right half of a pair of read-only lookups.
#[tool(read_only)]
async fn right() -> String {
    meet("right").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_tools_of_one_turn_run_concurrently() {
    let world = World::start(
        Script::new()
            .then(Turn::tool_uses([
                ("mcp__pair__left", json!({})),
                ("mcp__pair__right", json!({})),
            ]))
            .then(Turn::text("Both done.")),
    )
    .await;
    let pair = create_sdk_mcp_server!("pair", tools = [left, right]).unwrap();
    let messages = collect(query("Look both ways", options_with(&world, pair))).await;
    assert_all_ok(&messages);
    assert_eq!(assistant_text(&messages), "Both done.");

    let log = OVERLAP_LOG.lock().unwrap().clone();
    assert_eq!(log.len(), 2, "both handlers ran: {log:?}");
    let (_, start_a, end_a) = log[0];
    let (_, start_b, end_b) = log[1];
    assert!(
        start_a < end_b && start_b < end_a,
        "the handlers did not overlap: {log:?}"
    );
    let results = world.env.api().last_tool_results();
    assert_eq!(results.len(), 2, "{results:#?}");
    assert!(
        results.iter().all(|r| r.text == "met" && !r.is_error),
        "each handler saw the other: {results:#?}"
    );
}

/// Start and end instants of the `first`/`second` handlers (not read-only).
static SEQUENCE_LOG: Mutex<Vec<(&str, Instant, Instant)>> = Mutex::new(Vec::new());

async fn take_a_while(who: &'static str) -> String {
    let start = Instant::now();
    tokio::time::sleep(Duration::from_millis(400)).await;
    SEQUENCE_LOG
        .lock()
        .unwrap()
        .push((who, start, Instant::now()));
    who.to_owned()
}

/// First of two steps that change things.
#[tool]
async fn first() -> String {
    take_a_while("first").await
}

/// Second of two steps that change things.
#[tool]
async fn second() -> String {
    take_a_while("second").await
}

// The other side of the concurrency test: without `readOnlyHint` the CLI runs the calls of
// one turn one after the other, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tools_that_are_not_read_only_run_one_after_the_other() {
    let world = World::start(
        Script::new()
            .then(Turn::tool_uses([
                ("mcp__steps__first", json!({})),
                ("mcp__steps__second", json!({})),
            ]))
            .then(Turn::text("Done in order.")),
    )
    .await;
    let steps = create_sdk_mcp_server!("steps", tools = [first, second]).unwrap();
    let messages = collect(query("Two steps", options_with(&world, steps))).await;
    assert_all_ok(&messages);
    assert_eq!(assistant_text(&messages), "Done in order.");

    let log = SEQUENCE_LOG.lock().unwrap().clone();
    let order: Vec<&str> = log.iter().map(|(who, _, _)| *who).collect();
    assert_eq!(order, ["first", "second"], "{log:?}");
    assert!(log[0].2 <= log[1].1, "the handlers overlapped: {log:?}");
    let results: Vec<String> = world
        .env
        .api()
        .last_tool_results()
        .into_iter()
        .map(|r| r.text)
        .collect();
    assert_eq!(results, ["first", "second"]);
}

#[derive(serde::Serialize, schemars::JsonSchema)]
struct Forecast {
    city: String,
    temperature: f64,
    conditions: Vec<String>,
}

/// Weather forecast for a city.
#[tool(read_only)]
async fn forecast(city: String) -> Json<Forecast> {
    Json(Forecast {
        city,
        temperature: 21.5,
        conditions: vec!["sunny".into(), "light breeze".into()],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_json_result_reaches_the_model_as_json() {
    let world = World::start(
        Script::new()
            .then(Turn::tool_use(
                "mcp__weather__forecast",
                json!({"city": "Lisbon"}),
            ))
            .then(Turn::text("Sunny in Lisbon.")),
    )
    .await;
    let weather = create_sdk_mcp_server!("weather", tools = [forecast]).unwrap();
    let messages = collect(query("Weather in Lisbon?", options_with(&world, weather))).await;
    assert_all_ok(&messages);
    assert_eq!(assistant_text(&messages), "Sunny in Lisbon.");

    let results = world.env.api().last_tool_results();
    assert_eq!(results.len(), 1, "{results:#?}");
    assert!(!results[0].is_error, "{results:#?}");
    let received: Value = serde_json::from_str(&results[0].text)
        .unwrap_or_else(|err| panic!("not JSON ({err}): {results:#?}"));
    assert_eq!(
        received,
        json!({"city": "Lisbon", "temperature": 21.5, "conditions": ["sunny", "light breeze"]})
    );
}

/// Tools registered through `inventory` from two modules, served by `create_sdk_mcp_server!("shapes")`.
mod shapes {
    pub mod geometry {
        use agent_sdk::prelude::*;

        /// Area of a rectangle.
        #[tool(server = "shapes", read_only)]
        async fn area(width: f64, height: f64) -> f64 {
            width * height
        }
    }

    pub mod naming {
        use agent_sdk::prelude::*;

        /// The name of a polygon with `sides` sides.
        #[tool(server = "shapes", read_only)]
        async fn polygon_name(sides: u32) -> Result<String, ToolError> {
            match sides {
                3 => Ok("triangle".into()),
                4 => Ok("quadrilateral".into()),
                5 => Ok("pentagon".into()),
                n => Err(ToolError::new(format!("no name for {n} sides"))),
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inventory_tools_from_two_modules_are_both_callable() {
    let world = World::start(
        Script::new()
            .then(Turn::tool_use(
                "mcp__shapes__area",
                json!({"width": 3, "height": 4}),
            ))
            .then(Turn::tool_use(
                "mcp__shapes__polygon_name",
                json!({"sides": 5}),
            ))
            .then(Turn::text("A 12-square pentagon.")),
    )
    .await;
    let shapes = create_sdk_mcp_server!("shapes").unwrap();
    let mut names = shapes.qualified_tool_names();
    names.sort();
    assert_eq!(names, ["mcp__shapes__area", "mcp__shapes__polygon_name"]);

    let messages = collect(query("Shapes", options_with(&world, shapes))).await;
    assert_all_ok(&messages);
    assert_eq!(assistant_text(&messages), "A 12-square pentagon.");
    let requests = world.env.api().main_loop_requests();
    assert_eq!(requests.len(), 3);
    let area = &requests[1].tool_results()[0];
    assert_eq!((area.text.as_str(), area.is_error), ("12", false));
    let name = &requests[2].tool_results()[0];
    assert_eq!((name.text.as_str(), name.is_error), ("pentagon", false));
}

/// `mcp_status`'s entry for `name` once the CLI lists it (within 15 s).
async fn wait_for_server(client: &Client, name: &str) -> McpServerStatus {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let status = client.mcp_status().await.unwrap();
        let entry = status.mcp_servers.iter().find(|s| s.name == name).cloned();
        match entry {
            Some(entry) => return entry,
            None if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            None => panic!("{name} never listed by mcp_status: {status:?}"),
        }
    }
}

// The Client case: `mcp_status` and the init message as the CLI reports them, then a call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_sees_the_server_connected_with_its_tools() {
    let world = World::start(
        Script::new()
            .then(Turn::tool_use("mcp__calc__add", json!({"a": 20, "b": 22})))
            .then(Turn::text("42.")),
    )
    .await;
    let client = Client::connect(options_with(&world, calc())).await.unwrap();

    // The CLI connects SDK servers in the background after `initialize`: until their
    // `tools/list` is answered, `mcp_status` lists no server at all (not even "pending").
    let ours = wait_for_server(&client, "calc").await;
    assert_eq!(ours.status, "connected", "{ours:?}");
    let version = ours
        .server_info
        .as_ref()
        .expect("serverInfo when connected");
    assert_eq!(
        (version.name.as_str(), version.version.as_str()),
        ("calc", "1.0.0")
    );
    let mut tools: Vec<&str> = ours.tools.iter().map(|t| t.name.as_str()).collect();
    tools.sort();
    assert_eq!(tools, ["add", "divide", "explode"], "{ours:?}");
    // The CLI reports our `readOnlyHint` as `readOnly` here.
    let add = ours.tools.iter().find(|t| t.name == "add").unwrap();
    assert_eq!(
        add.annotations.as_ref().unwrap()["readOnly"],
        true,
        "{ours:?}"
    );
    assert_eq!(ours.source.as_deref(), Some("sdk"), "{ours:?}");
    assert_eq!(ours.extra["transport"], "sdk", "{ours:?}");

    client.query("What is 20 + 22?").await.unwrap();
    let messages = collect(client.receive_response()).await;
    assert_all_ok(&messages);
    let init = messages
        .iter()
        .find_map(|m| match m {
            Ok(Message::System(s)) if s.subtype() == "init" => Some(s.data().clone()),
            _ => None,
        })
        .expect("an init message starts the turn");
    // The CLI 2.1.330 adds `"source": "sdk"` to the entry.
    let listed = init["mcp_servers"]
        .as_array()
        .and_then(|list| list.iter().find(|s| s["name"] == "calc"))
        .unwrap_or_else(|| panic!("calc not in the init message: {init}"));
    assert_eq!(listed["status"], "connected", "{listed}");
    let announced: Vec<&str> = init["tools"]
        .as_array()
        .map(|t| t.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert!(announced.contains(&"mcp__calc__add"), "{init}");

    assert_eq!(assistant_text(&messages), "42.");
    assert_eq!(world.env.api().last_tool_results()[0].text, "42");
    client.disconnect().await.unwrap();
}

/// Set when the slow tool's future is dropped (cancelled) rather than finishing.
static SLOW_TOOL_DROPPED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

struct DropFlag;

impl Drop for DropFlag {
    fn drop(&mut self) {
        SLOW_TOOL_DROPPED.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A tool that hangs far longer than the CLI waits for it.
#[tool(read_only)]
async fn hang() -> String {
    let flag = DropFlag;
    tokio::time::sleep(Duration::from_secs(120)).await;
    std::mem::forget(flag);
    "finished after all".to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_hanging_past_the_cli_timeout_is_cancelled_and_the_turn_goes_on() {
    let world = World::start(
        Script::new()
            .then(Turn::tool_use("mcp__slow__hang", json!({})))
            .then(Turn::text("gave up on the slow tool")),
    )
    .await;
    let server = create_sdk_mcp_server!("slow", tools = [hang]).unwrap();
    let allowed = server.qualified_tool_names();
    // The CLI's own limit for MCP tool calls, in milliseconds.
    let options = world
        .options()
        .env("MCP_TOOL_TIMEOUT", "3000")
        .allowed_tools(allowed)
        .mcp_server("slow", server)
        .build()
        .unwrap();
    let started = Instant::now();
    let messages = collect(agent_sdk::query("call the slow tool", options)).await;
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "the run waited for the hanging tool"
    );
    assert_eq!(assistant_text(&messages), "gave up on the slow tool");
    assert_eq!(last_result(&messages).subtype, "success");
    let results = world.env.api().last_tool_results();
    assert_eq!(results.len(), 1, "{results:?}");
    assert!(
        results[0].is_error,
        "the model is told the call failed: {results:?}"
    );
    assert!(results[0].text.contains("timed out"), "{}", results[0].text);
    // The CLI sent notifications/cancelled (or the session ended): our handler was dropped.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !SLOW_TOOL_DROPPED.load(std::sync::atomic::Ordering::SeqCst) {
        assert!(
            Instant::now() < deadline,
            "the hanging handler was never cancelled"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Our small external MCP server (`tests/support/stdio_mcp_server.py`), run by the CLI over stdio.
fn stdio_shouter(signature: &str) -> agent_sdk::options::McpStdioServer {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/support/stdio_mcp_server.py");
    agent_sdk::options::McpStdioServer::new("python3")
        .arg(script)
        .env("SHOUT_SIGNATURE", signature)
}

// An external stdio server and an in-process one, added with the same builder method,
// reach the CLI in one `--mcp-config`; the model's calls reach both and their answers reach the model.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_external_stdio_server_and_an_in_process_one_serve_the_same_turn() {
    let world = World::start(
        Script::new()
            .then(Turn::tool_use(
                "mcp__shouter__shout",
                json!({"text": "hello"}),
            ))
            .then(Turn::tool_use("mcp__calc__add", json!({"a": 2, "b": 3})))
            .then(Turn::text("Shouted and added.")),
    )
    .await;
    let options = world
        .options()
        .mcp_server("shouter", stdio_shouter("signed-by-the-stdio-server"))
        .mcp_server("calc", calc())
        .allowed_tools(["mcp__shouter__shout", "mcp__calc__add"])
        .build()
        .unwrap();
    let messages = collect(query("Shout hello, then add 2 and 3", options)).await;
    assert_all_ok(&messages);
    assert_eq!(assistant_text(&messages), "Shouted and added.");

    let requests = world.env.api().main_loop_requests();
    assert_eq!(requests.len(), 3, "{requests:#?}");
    // The model was offered the tools of both servers.
    let offered = requests[0].tool_names();
    assert!(offered.contains(&"mcp__shouter__shout"), "{offered:?}");
    assert!(offered.contains(&"mcp__calc__add"), "{offered:?}");
    // The external server's answer, signed with the env we configured, reached the model.
    let shouted = requests[1].tool_results();
    assert_eq!(shouted.len(), 1, "{shouted:#?}");
    assert_eq!(shouted[0].text, "HELLO (signed-by-the-stdio-server)");
    assert!(!shouted[0].is_error, "{shouted:#?}");
    let added = requests[2].tool_results();
    assert_eq!(added.len(), 1, "{added:#?}");
    assert_eq!(added[0].text, "5");
}
