//! The fake Messages API, first over raw HTTP, then against the real
//! `claude` CLI started by hand (no SDK core involved).
//!
//! The CLI tests fail (never skip) when no CLI can be found or installed.

use std::process::Stdio;
use std::time::Duration;

use agent_sdk::testing::{
    Answer, FakeApi, RequestKind, SCRIPT_EXHAUSTED_TEXT, SIDE_REQUEST_TEXT, STRUCTURED_OUTPUT_TOOL,
    Script, TestEnv, Turn, ensure_cli,
};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::Command;

// ---------------------------------------------------------------- raw HTTP

/// A one-shot HTTP/1.1 request; returns (status, headers, body).
async fn http(api: &FakeApi, method: &str, path: &str, body: &Value) -> (u16, String, String) {
    let body = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    let mut stream = TcpStream::connect(api.addr()).await.unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nhost: {}\r\nx-api-key: sk-secret\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        api.addr(),
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    tokio::time::timeout(
        Duration::from_secs(10),
        stream.read_to_string(&mut response),
    )
    .await
    .expect("the fake API answers")
    .unwrap();
    let (head, body) = response.split_once("\r\n\r\n").expect("a header block");
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head.to_ascii_lowercase(), body.to_owned())
}

/// Undoes `transfer-encoding: chunked` if present.
fn dechunk(head: &str, body: &str) -> String {
    if !head.contains("transfer-encoding: chunked") {
        return body.to_owned();
    }
    let mut out = String::new();
    let mut rest = body;
    loop {
        let (size, tail) = rest.split_once("\r\n").unwrap();
        let size = usize::from_str_radix(size.trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        out.push_str(&tail[..size]);
        rest = &tail[size + 2..];
    }
}

fn main_loop_body(stream: bool) -> Value {
    json!({
        "model": "claude-test-1",
        "max_tokens": 32000,
        "stream": stream,
        "tools": [{"name": "Bash", "input_schema": {"type": "object"}}],
        "messages": [{"role": "user", "content": "hi"}],
    })
}

/// The `data:` payloads of an SSE body, with their event names.
fn sse_events(body: &str) -> Vec<(String, Value)> {
    body.split("\n\n")
        .filter(|frame| !frame.trim().is_empty())
        .map(|frame| {
            let event = frame
                .lines()
                .find_map(|l| l.strip_prefix("event: "))
                .unwrap();
            let data = frame
                .lines()
                .find_map(|l| l.strip_prefix("data: "))
                .unwrap();
            (event.to_owned(), serde_json::from_str(data).unwrap())
        })
        .collect()
}

#[tokio::test]
async fn streams_a_text_and_tool_use_turn_as_sse() {
    let script = Script::new()
        .then(Turn::text("Let me run it.").and_tool_use("Bash", json!({"command": "echo hi"})));
    let api = FakeApi::start(script).await.unwrap();
    let (status, head, body) = http(&api, "POST", "/v1/messages", &main_loop_body(true)).await;
    assert_eq!(status, 200);
    assert!(head.contains("content-type: text/event-stream"), "{head}");
    assert!(head.contains("request-id: req_fake_0001"), "{head}");
    let events = sse_events(&dechunk(&head, &body));
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "message_start",
            "ping",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    assert_eq!(events[0].1["message"]["model"], "claude-test-1");
    assert_eq!(events[5].1["content_block"]["id"], "toolu_0001");
    assert_eq!(events[5].1["content_block"]["name"], "Bash");
    assert_eq!(events[9].1["delta"]["stop_reason"], "tool_use");
    for (name, data) in &events {
        assert_eq!(&data["type"], name.as_str(), "event name matches data type");
    }

    let recorded = api.requests();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].kind, RequestKind::MainLoop);
    assert_eq!(recorded[0].answer, Some(Answer::Turn { index: 0 }));
    assert_eq!(recorded[0].header("x-api-key"), Some("<redacted>"));
    assert_eq!(recorded[0].body["model"], "claude-test-1");
    assert_eq!(api.turns_left(), 0);
}

#[tokio::test]
async fn answers_json_when_not_streaming_and_numbers_tool_ids_in_order() {
    let script = Script::new()
        .then(Turn::tool_uses([
            ("Read", json!({"file_path": "/a"})),
            ("Read", json!({"file_path": "/b"})),
        ]))
        .then(Turn::structured_output(json!({"answer": 5})));
    let api = FakeApi::start(script).await.unwrap();

    let (status, _, body) = http(&api, "POST", "/v1/messages", &main_loop_body(false)).await;
    assert_eq!(status, 200);
    let message: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(message["type"], "message");
    assert_eq!(message["stop_reason"], "tool_use");
    assert_eq!(message["content"][0]["id"], "toolu_0001");
    assert_eq!(message["content"][1]["id"], "toolu_0002");
    assert_eq!(message["content"][1]["input"]["file_path"], "/b");

    let (_, _, body) = http(&api, "POST", "/v1/messages", &main_loop_body(false)).await;
    let message: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(message["content"][0]["id"], "toolu_0003");
    assert_eq!(message["content"][0]["name"], "StructuredOutput");
    assert_eq!(message["content"][0]["input"], json!({"answer": 5}));
}

#[tokio::test]
async fn side_requests_do_not_consume_the_script_and_exhaustion_is_answered() {
    let api = FakeApi::start(Script::new().then(Turn::text("scripted")))
        .await
        .unwrap();

    // No `tools` key: a side call (title, quota check).
    let side = json!({"model": "m", "max_tokens": 512, "messages": [{"role": "user", "content": "title?"}]});
    let (_, _, body) = http(&api, "POST", "/v1/messages", &side).await;
    let message: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(message["content"][0]["text"], SIDE_REQUEST_TEXT);
    // `max_tokens: 1`: a model probe, even with tools.
    let mut probe = main_loop_body(false);
    probe["max_tokens"] = json!(1);
    http(&api, "POST", "/v1/messages", &probe).await;
    assert_eq!(api.turns_left(), 1);

    let (_, _, body) = http(&api, "POST", "/v1/messages", &main_loop_body(false)).await;
    let message: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(message["content"][0]["text"], "scripted");

    let (status, _, body) = http(&api, "POST", "/v1/messages", &main_loop_body(false)).await;
    assert_eq!(status, 200);
    let message: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(message["content"][0]["text"], SCRIPT_EXHAUSTED_TEXT);
    assert_eq!(message["stop_reason"], "end_turn");

    let answers: Vec<_> = api
        .requests()
        .into_iter()
        .map(|r| r.answer.unwrap())
        .collect();
    assert_eq!(
        answers,
        [
            Answer::SideText,
            Answer::SideText,
            Answer::Turn { index: 0 },
            Answer::ScriptExhausted
        ]
    );
    assert_eq!(api.side_requests().len(), 2);
    assert_eq!(api.main_loop_requests().len(), 2);
}

#[tokio::test]
async fn http_errors_unknown_routes_and_count_tokens() {
    let api = FakeApi::start(Script::new().then(Turn::http_error(529, "Overloaded")))
        .await
        .unwrap();
    let (status, _, body) = http(&api, "POST", "/v1/messages", &main_loop_body(true)).await;
    assert_eq!(status, 529);
    let error: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["type"], "error");
    assert_eq!(error["error"]["type"], "overloaded_error");
    assert_eq!(error["error"]["message"], "Overloaded");

    let (status, _, body) = http(&api, "GET", "/v1/models", &Value::Null).await;
    assert_eq!(status, 404);
    let error: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["error"]["type"], "not_found_error");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("GET /v1/models")
    );

    let (status, _, body) = http(
        &api,
        "POST",
        "/v1/messages/count_tokens?beta=true",
        &main_loop_body(false),
    )
    .await;
    assert_eq!(status, 200);
    let count: Value = serde_json::from_str(&body).unwrap();
    assert!(count["input_tokens"].as_u64().unwrap() > 0);
    assert_eq!(api.turns_left(), 0, "count_tokens took no turn");
}

#[tokio::test]
async fn from_fn_turns_see_the_request_and_delays_hold_the_answer() {
    let script = Script::new().then(
        Turn::from_fn(|request| {
            Turn::text(format!("you said {}", request.last_user_text().unwrap()))
        })
        .with_delay(Duration::from_millis(300)),
    );
    let api = FakeApi::start(script).await.unwrap();
    let started = std::time::Instant::now();
    let (_, _, body) = http(&api, "POST", "/v1/messages", &main_loop_body(false)).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    let message: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(message["content"][0]["text"], "you said hi");
}

#[tokio::test]
async fn wait_for_requests_returns_or_times_out() {
    let api = FakeApi::start(Script::new()).await.unwrap();
    let error = api
        .wait_for_requests(1, Duration::from_millis(100))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("saw 0"), "{error}");

    let waiter = api.wait_for_main_loop_requests(1, Duration::from_secs(10));
    let body = main_loop_body(false);
    let sender = http(&api, "POST", "/v1/messages", &body);
    let (waited, _) = tokio::join!(waiter, sender);
    assert_eq!(waited.unwrap().len(), 1);
}

// Security: the fake API is reachable from this machine's loopback only. A wildcard bind
// (`0.0.0.0` or `[::]`) would also accept on 127.0.0.2 and [::1]; ours refuses both.
#[tokio::test]
async fn binds_to_127_0_0_1_only() {
    let api = FakeApi::start(Script::new()).await.unwrap();
    let addr = api.addr();
    assert_eq!(addr.ip(), std::net::Ipv4Addr::LOCALHOST, "{addr}");
    assert!(addr.ip().is_loopback());
    assert_eq!(api.base_url(), format!("http://127.0.0.1:{}", addr.port()));
    assert!(TcpStream::connect(addr).await.is_ok(), "{addr} accepts");

    let port = addr.port();
    for other in ["127.0.0.2", "[::1]"] {
        let target = format!("{other}:{port}");
        let attempt =
            tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(&target)).await;
        assert!(
            matches!(attempt, Ok(Err(_))),
            "{target} must refuse: {attempt:?}"
        );
    }
}

// ---------------------------------------------------------------- real CLI

/// What one run of the CLI printed.
struct CliRun {
    frames: Vec<Value>,
    result: Value,
}

/// The real CLI in stream-json mode, started by hand (no SDK core).
struct CliSession {
    child: tokio::process::Child,
    stdin: Option<tokio::process::ChildStdin>,
    stdout: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    frames: Vec<Value>,
    next_request: u32,
}

/// Bound on every wait for CLI output.
const CLI_TIMEOUT: Duration = Duration::from_secs(120);

impl CliSession {
    /// Spawns the CLI against `env` with the common flags plus `extra_args`,
    /// and performs the `initialize` handshake.
    async fn start(env: &TestEnv, extra_args: &[&str]) -> CliSession {
        let cli = ensure_cli()
            .await
            .expect("the pinned claude CLI must be available");
        let mut child = Command::new(&cli)
            .args([
                "--output-format",
                "stream-json",
                "--verbose",
                "--input-format",
                "stream-json",
                "--system-prompt",
                "",
                "--allowedTools",
                "Bash",
                "--max-turns",
                "3",
            ])
            .args(extra_args)
            .envs(env.cli_env())
            .current_dir(env.cwd())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn the CLI");
        let mut session = CliSession {
            stdin: child.stdin.take(),
            stdout: BufReader::new(child.stdout.take().unwrap()).lines(),
            child,
            frames: Vec::new(),
            next_request: 1,
        };
        session
            .control(json!({"subtype": "initialize", "hooks": null}))
            .await;
        session
    }

    async fn write(&mut self, frame: Value) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        stdin
            .write_all(format!("{frame}\n").as_bytes())
            .await
            .unwrap();
        stdin.flush().await.unwrap();
    }

    /// The next JSON frame on stdout (non-JSON lines skipped).
    async fn next_frame(&mut self) -> Value {
        loop {
            let line = tokio::time::timeout(CLI_TIMEOUT, self.stdout.next_line())
                .await
                .expect("the CLI wrote nothing for 120 s")
                .unwrap()
                .expect("the CLI closed stdout early");
            if line.starts_with('{') {
                let frame: Value = serde_json::from_str(&line).unwrap();
                self.frames.push(frame.clone());
                return frame;
            }
        }
    }

    /// Sends a control request and returns its successful `response.response`.
    async fn control(&mut self, request: Value) -> Value {
        let id = format!("req_{}", self.next_request);
        self.next_request += 1;
        self.write(json!({"type": "control_request", "request_id": id, "request": request}))
            .await;
        loop {
            let frame = self.next_frame().await;
            if frame["type"] == "control_response" && frame["response"]["request_id"] == id {
                assert_eq!(frame["response"]["subtype"], "success", "{frame}");
                return frame["response"]["response"].clone();
            }
        }
    }

    async fn send_prompt(&mut self, prompt: &str) {
        self.write(
            json!({"type": "user", "message": {"role": "user", "content": prompt},
                          "parent_tool_use_id": null, "session_id": ""}),
        )
        .await;
    }

    /// Reads until the `result` frame, closes stdin and waits for the exit.
    async fn finish(mut self) -> CliRun {
        let result = loop {
            let frame = self.next_frame().await;
            if frame["type"] == "result" {
                break frame;
            }
        };
        drop(self.stdin.take());
        if tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .is_err()
        {
            self.child.start_kill().unwrap();
        }
        CliRun {
            frames: self.frames,
            result,
        }
    }
}

/// One prompt, read to its result, after `controls` requests.
async fn run_cli(env: &TestEnv, prompt: &str, controls: &[Value]) -> CliRun {
    let mut session = CliSession::start(env, &[]).await;
    for request in controls {
        session.control(request.clone()).await;
    }
    session.send_prompt(prompt).await;
    session.finish().await
}

#[tokio::test]
async fn real_cli_text_turn() {
    let env = TestEnv::start(Script::new().then(Turn::text("Hello from the fake model.")))
        .await
        .unwrap();
    let run = run_cli(&env, "hi", &[]).await;
    assert_eq!(run.result["subtype"], "success", "{}", run.result);
    assert_eq!(run.result["is_error"], false);
    assert_eq!(run.result["result"], "Hello from the fake model.");
    assert!(run.frames.iter().any(|f| f["type"] == "assistant"));

    let main = env.api().main_loop_requests();
    assert_eq!(main.len(), 1, "{:#?}", env.api().requests());
    let request = &main[0];
    assert!(request.is_streaming());
    assert!(request.tool_names().contains(&"Bash"));
    assert!(request.last_user_text().unwrap().contains("hi"));
    assert_eq!(request.header("x-api-key"), Some("<redacted>"));
    eprintln!(
        "main-loop request: path {} headers {:#?} body keys {:?} max_tokens {}",
        request.path,
        request.headers,
        request.body.as_object().unwrap().keys().collect::<Vec<_>>(),
        request.body["max_tokens"]
    );
    for side in env.api().side_requests() {
        eprintln!("side request: {} {}", side.path, side.body);
    }
}

#[tokio::test]
async fn real_cli_runs_bash_and_sends_its_tool_result() {
    let script = Script::new()
        .then(Turn::tool_use(
            "Bash",
            json!({"command": "echo hi", "description": "Say hi"}),
        ))
        .then(Turn::from_fn(|request| {
            let output = request.tool_results().last().map(|r| r.text.clone());
            Turn::text(format!("bash said: {}", output.unwrap_or_default().trim()))
        }));
    let env = TestEnv::start(script).await.unwrap();
    let run = run_cli(&env, "say hi with bash", &[]).await;
    assert_eq!(run.result["result"], "bash said: hi", "{}", run.result);
    assert_eq!(run.result["num_turns"], 2);

    let main = env.api().main_loop_requests();
    assert_eq!(main.len(), 2, "{:#?}", env.api().requests());
    let results = main[1].tool_results();
    assert_eq!(results.len(), 1, "{:#?}", main[1].messages().last());
    assert_eq!(results[0].tool_use_id, "toolu_0001");
    assert_eq!(results[0].text.trim(), "hi");
    assert!(!results[0].is_error);
    assert_eq!(env.api().last_tool_results(), results);
    let tool_use_frame = run
        .frames
        .iter()
        .find(|f| f["type"] == "assistant" && f["message"]["content"][0]["type"] == "tool_use")
        .expect("an assistant tool_use frame");
    assert_eq!(tool_use_frame["message"]["content"][0]["id"], "toolu_0001");
}

async fn assert_error_result(status: u16, turns: usize, expected_requests: usize) {
    let script: Script = (0..turns)
        .map(|_| Turn::http_error(status, "scripted failure"))
        .collect();
    let env = TestEnv::start(script).await.unwrap();
    let run = run_cli(&env, "hi", &[]).await;
    assert_eq!(run.result["is_error"], true, "{}", run.result);
    assert_eq!(run.result["api_error_status"], status, "{}", run.result);
    assert_eq!(run.result["terminal_reason"], "api_error", "{}", run.result);
    let text = run.result["result"].as_str().unwrap_or_default();
    assert!(text.contains("scripted failure"), "{}", run.result);
    assert_eq!(
        env.api().main_loop_requests().len(),
        expected_requests,
        "{:#?}",
        env.api().requests()
    );
}

#[tokio::test]
async fn real_cli_reports_http_500_as_an_error_result() {
    // TestEnv sets CLAUDE_CODE_MAX_RETRIES=0: one error turn, one request.
    assert_error_result(500, 1, 1).await;
}

#[tokio::test]
async fn real_cli_reports_http_529_as_an_error_result() {
    assert_error_result(529, 1, 1).await;
}

#[tokio::test]
async fn real_cli_retries_a_400_without_betas_before_giving_up() {
    // CLI 2.1.330 answers a 400 by retrying twice, each time dropping a beta
    // header (thinking-token-count, then thinking-display-updates).
    assert_error_result(400, 3, 3).await;
}

#[tokio::test]
async fn real_cli_side_request_does_not_consume_the_script() {
    // set_model makes the CLI probe the model with a `max_tokens: 1` side request.
    let env = TestEnv::start(Script::new().then(Turn::text("first scripted turn")))
        .await
        .unwrap();
    let set_model = json!({"subtype": "set_model", "model": "claude-sonnet-4-5"});
    let run = run_cli(&env, "hi", &[set_model]).await;
    assert_eq!(
        run.result["result"], "first scripted turn",
        "{}",
        run.result
    );

    let side = env.api().side_requests();
    assert!(!side.is_empty(), "{:#?}", env.api().requests());
    for request in &side {
        eprintln!(
            "side request: {} stream={} headers={:?} body={}",
            request.path,
            request.is_streaming(),
            request.headers,
            request.body
        );
    }
    assert!(side.iter().all(|r| r.answer == Some(Answer::SideText)));
    let main = env.api().main_loop_requests();
    assert_eq!(main.len(), 1);
    assert_eq!(main[0].answer, Some(Answer::Turn { index: 0 }));
    assert_eq!(main[0].body["model"], "claude-sonnet-4-5");
}

#[tokio::test]
async fn real_cli_can_be_interrupted_while_the_model_is_slow() {
    let script = Script::new().then(Turn::text("too late").with_delay(Duration::from_secs(60)));
    let env = TestEnv::start(script).await.unwrap();
    let mut session = CliSession::start(&env, &[]).await;
    session.send_prompt("hi").await;
    env.api()
        .wait_for_main_loop_requests(1, Duration::from_secs(60))
        .await
        .unwrap();
    session.control(json!({"subtype": "interrupt"})).await;
    let run = session.finish().await;
    assert_eq!(
        run.result["subtype"], "error_during_execution",
        "{}",
        run.result
    );
    assert_eq!(run.result["is_error"], true);
    assert_ne!(run.result["result"], "too late");
}

#[tokio::test]
async fn real_cli_can_be_interrupted_in_the_middle_of_a_stream() {
    let script = Script::new().then(
        Turn::text("a long answer streamed slowly, one event at a time")
            .with_event_interval(Duration::from_millis(500)),
    );
    let env = TestEnv::start(script).await.unwrap();
    let mut session = CliSession::start(&env, &["--include-partial-messages"]).await;
    session.send_prompt("hi").await;
    // Wait until the stream has begun (the first text delta reached stdout).
    loop {
        let frame = session.next_frame().await;
        if frame["type"] == "stream_event" && frame["event"]["type"] == "content_block_delta" {
            break;
        }
        assert_ne!(
            frame["type"], "result",
            "finished before the interrupt: {frame}"
        );
    }
    session.control(json!({"subtype": "interrupt"})).await;
    let run = session.finish().await;
    assert_eq!(
        run.result["subtype"], "error_during_execution",
        "{}",
        run.result
    );
    assert_eq!(
        run.result["terminal_reason"], "aborted_streaming",
        "{}",
        run.result
    );
}

#[tokio::test]
async fn real_cli_takes_structured_output_from_the_tool_call() {
    let script = Script::new().then(Turn::structured_output(json!({"answer": 5})));
    let env = TestEnv::start(script).await.unwrap();
    let schema = json!({"type": "object", "properties": {"answer": {"type": "integer"}},
                        "required": ["answer"], "additionalProperties": false});
    let mut session = CliSession::start(&env, &["--json-schema", &schema.to_string()]).await;
    session.send_prompt("what is 2 + 3?").await;
    let run = session.finish().await;
    assert_eq!(
        run.result["structured_output"],
        json!({"answer": 5}),
        "{}",
        run.result
    );
    let request = env.api().last_main_loop_request().unwrap();
    assert!(request.tool_names().contains(&STRUCTURED_OUTPUT_TOOL));
}

#[tokio::test]
async fn real_cli_runs_several_tool_uses_of_one_turn() {
    let script = Script::new()
        .then(Turn::tool_uses([
            ("Bash", json!({"command": "echo one"})),
            ("Bash", json!({"command": "echo two"})),
        ]))
        .then(Turn::text("both ran"));
    let env = TestEnv::start(script).await.unwrap();
    let run = run_cli(&env, "run two commands", &[]).await;
    assert_eq!(run.result["result"], "both ran", "{}", run.result);

    let results = env.api().last_tool_results();
    // The CLI may finish the two calls in either order.
    let mut summary: Vec<(&str, &str)> = results
        .iter()
        .map(|r| (r.tool_use_id.as_str(), r.text.trim()))
        .collect();
    summary.sort();
    assert_eq!(summary, [("toolu_0001", "one"), ("toolu_0002", "two")]);
}
