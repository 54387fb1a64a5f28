//! The fault scenarios (`agent-sdk/tests/faults.rs`): a CLI that misbehaves on
//! purpose. It answers `initialize` with `{"pid": ...}` and plays the scenario
//! on the first user message; `normal` is a CLI that behaves.

use std::collections::HashMap;
use std::io::Write;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{Fail, Pipes};

mod answers;
mod isolation;

/// How long a request to the SDK waits for its answer.
const ANSWER_WAIT: Duration = Duration::from_secs(5);
/// After withdrawing a request, how long a (wrong) answer to it may still take.
const AFTER_WITHDRAWAL: Duration = Duration::from_secs(1);
/// When a hanging handler's request is withdrawn.
const WITHDRAW_AFTER: Duration = Duration::from_millis(300);
/// How long the CLIs that stop cooperating stay alive: longer than any test.
const LINGER: Duration = Duration::from_secs(120);

pub(super) fn serve(scenario: &str) -> Result<(), Fail> {
    let mut fake = Fake {
        pipes: Pipes::new(),
        scenario,
        hook_ids: Vec::new(),
    };
    let mut answers = 0;
    loop {
        let frame = fake.read(None).expect("no timeout");
        match frame["type"].as_str() {
            Some("control_request") => {
                let id = frame["request_id"].clone();
                let request = &frame["request"];
                if request["subtype"] == "initialize" {
                    fake.remember_hooks(request);
                    if scenario != "no_init" {
                        fake.respond(&id, json!({"pid": std::process::id(), "commands": []}))?;
                    }
                } else if scenario == "double_answer" {
                    // Answers the SDK never asked for, then one answer twice.
                    answers += 1;
                    fake.respond(
                        &json!(format!("req_unknown_{answers}")),
                        json!({"stray": true}),
                    )?;
                    fake.send(&json!({"type": "control_response",
                        "response": {"subtype": "error", "request_id": "nobody", "error": "x"}}))?;
                    fake.respond(&id, json!({"n": answers}))?;
                    fake.respond(&id, json!({"n": -1}))?;
                } else {
                    fake.respond(&id, json!({}))?;
                }
            }
            Some("user") => fake.play_turn()?,
            _ => {}
        }
    }
}

struct Fake<'a> {
    pipes: Pipes,
    scenario: &'a str,
    /// The hook callback ids of `initialize`, in order.
    hook_ids: Vec<Value>,
}

impl Fake<'_> {
    /// The next frame from the SDK; `None` after `timeout`. Exits at stdin EOF, as the real CLI does.
    fn read(&mut self, timeout: Option<Duration>) -> Option<Value> {
        if let Some(timeout) = timeout
            && !self.pipes.readable_within(timeout)
        {
            return None;
        }
        match self.pipes.next_line() {
            Ok(Some(line)) => Some(serde_json::from_slice(line).expect("the SDK writes JSON")),
            Ok(None) => std::process::exit(0),
            Err(err) => panic!("reading stdin: {err}"),
        }
    }

    /// Writes one line and flushes it.
    fn send_raw(&mut self, line: &[u8]) -> Result<(), Fail> {
        self.pipes.output.write_all(line)?;
        self.pipes.output.write_all(b"\n")?;
        self.pipes.output.flush()?;
        Ok(())
    }

    fn send(&mut self, frame: &Value) -> Result<(), Fail> {
        self.pipes.write_frame(frame)?;
        self.pipes.output.flush()?;
        Ok(())
    }

    fn respond(&mut self, request_id: &Value, payload: Value) -> Result<(), Fail> {
        self.send(&json!({"type": "control_response",
            "response": {"subtype": "success", "request_id": request_id, "response": payload}}))
    }

    fn remember_hooks(&mut self, initialize: &Value) {
        let events = initialize["hooks"].as_object().into_iter().flatten();
        for (_event, matchers) in events {
            for matcher in matchers.as_array().into_iter().flatten() {
                let ids = matcher["hookCallbackIds"].as_array().into_iter().flatten();
                self.hook_ids.extend(ids.cloned());
            }
        }
    }

    fn play_turn(&mut self) -> Result<(), Fail> {
        if self.play_answers_turn()? || self.play_isolation_turn()? {
            return Ok(());
        }
        match self.scenario {
            "exit_mid_turn" => {
                self.send(&assistant("partial"))?;
                std::process::exit(3);
            }
            "killed" => {
                self.send(&assistant("partial"))?;
                // SAFETY: kill(2) on our own pid; nothing is touched in memory.
                unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
                unreachable!("SIGKILL ends the process");
            }
            "close_stdout" => {
                self.send(&assistant("partial"))?;
                // SAFETY: closes fd 1, which nothing here writes to again.
                unsafe { libc::close(libc::STDOUT_FILENO) };
                // Keeps running and ignores stdin EOF: the SDK must escalate to SIGTERM.
                std::thread::sleep(LINGER);
                std::process::exit(0);
            }
            "huge_line" => {
                let mut line = br#"{"type":"assistant","junk":""#.to_vec();
                line.resize(line.len() + (10 << 20), b'x');
                line.extend_from_slice(br#""}"#);
                self.send_raw(&line)?;
                self.send(&assistant("after the huge line"))?;
                self.send(&result("done"))
            }
            "invalid_utf8" => {
                self.send_raw(b"\xff\xfe\xfd not json at all")?;
                self.send_raw(b"{\"type\":\"assistant\",\"bad\":\"\xff\xfe\"}")?;
                self.send(&assistant("after invalid utf-8"))?;
                self.send(&result("done"))
            }
            "garbage" => {
                self.send_raw(b"hello, this is not json")?;
                self.send(&assistant("one"))?;
                self.send_raw(b"\x00\x01\x02")?;
                self.send_raw(b"[1,2,3]")?;
                self.send_raw(b"{not json")?;
                self.send_raw(b"   ")?;
                self.send(&assistant("two"))?;
                self.send(&result("done"))
            }
            "stop_reading" => {
                self.send(&assistant("before"))?;
                std::thread::sleep(Duration::from_millis(1500));
                self.send(&assistant("while not reading"))?;
                self.send(&result("done"))?;
                // Never reads stdin again.
                std::thread::sleep(LINGER);
                std::process::exit(0);
            }
            "slow" => {
                self.send(&assistant("working"))?;
                if let Some(frame) = self.read(Some(Duration::from_secs(5)))
                    && frame["type"] == "control_request"
                {
                    self.respond(&frame["request_id"], json!({}))?;
                }
                self.send(&result("interrupted"))
            }
            "handlers" => self.handlers_turn(),
            "silent_turn" => Ok(()), // the turn never ends
            _ => {
                self.send(&assistant("hello"))?;
                self.send(&result("done"))
            }
        }
    }

    /// Sends `request` to the SDK and returns the answers that came back, by request id.
    ///
    /// Without `withdraw`, waits for the answer to `request_id`. With it, sends
    /// the withdrawing frame after [`WITHDRAW_AFTER`] and collects whatever
    /// arrives for [`AFTER_WITHDRAWAL`] more.
    fn ask(
        &mut self,
        request_id: &str,
        request: Value,
        withdraw: Option<Value>,
    ) -> Result<HashMap<String, Value>, Fail> {
        self.send(
            &json!({"type": "control_request", "request_id": request_id, "request": request}),
        )?;
        let start = Instant::now();
        let (mut withdraw, end) = match withdraw {
            Some(frame) => (Some(frame), WITHDRAW_AFTER + AFTER_WITHDRAWAL),
            None => (None, ANSWER_WAIT),
        };
        let waits_for_answer = withdraw.is_none();
        let mut answers = HashMap::new();
        while start.elapsed() < end {
            if start.elapsed() >= WITHDRAW_AFTER
                && let Some(frame) = withdraw.take()
            {
                self.send(&frame)?;
            }
            let step = if waits_for_answer {
                end.saturating_sub(start.elapsed())
            } else {
                Duration::from_millis(50)
            };
            let Some(frame) = self.read(Some(step)) else {
                continue;
            };
            if frame["type"] == "control_response" {
                let response = frame["response"].clone();
                let id = response["request_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                answers.insert(id, response);
                if waits_for_answer && answers.contains_key(request_id) {
                    break;
                }
            }
        }
        Ok(answers)
    }

    /// Our own handlers panic, hang (and are withdrawn) or answer 5 MiB; the
    /// answers the SDK gave are reported as JSON in an assistant message.
    fn handlers_turn(&mut self) -> Result<(), Fail> {
        let mut report = serde_json::Map::new();
        let mut take = |key: &str, mut answers: HashMap<String, Value>, id: &str| {
            report.insert(key.into(), answers.remove(id).unwrap_or(Value::Null));
        };

        let answers = self.ask("t_panic", mcp(call(1, "panics")), None)?;
        take("tool_panic", answers, "t_panic");
        let cancel = json!({"type": "control_request", "request_id": "t_cancel",
            "request": mcp(json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
                                  "params": {"requestId": 2, "reason": "timeout"}}))});
        let answers = self.ask("t_hang", mcp(call(2, "hangs")), Some(cancel))?;
        take("tool_hang", answers, "t_hang");
        let started = Instant::now();
        let big = self
            .ask("t_big", mcp(call(3, "big")), None)?
            .remove("t_big")
            .unwrap_or_default();
        // How long the 5 MiB answer took (its wait is ANSWER_WAIT), for a failure's message.
        let big_ms = started.elapsed().as_secs_f64() * 1e3;
        let text = &big["response"]["mcp_response"]["result"]["content"][0]["text"];
        let big_len = text.as_str().map_or(0, |text| text.chars().count());

        let permission = |command: &str| {
            json!({"subtype": "can_use_tool", "tool_name": "Bash", "input": {"command": command},
                   "permission_suggestions": [], "tool_use_id": "toolu_1"})
        };
        let answers = self.ask("p_panic", permission("panic"), None)?;
        take("permission_panic", answers, "p_panic");
        let cancel = json!({"type": "control_cancel_request", "request_id": "p_hang"});
        let answers = self.ask("p_hang", permission("hang"), Some(cancel))?;
        take("permission_hang", answers, "p_hang");

        let hook_id = self
            .hook_ids
            .first()
            .cloned()
            .ok_or("no hook callback in initialize")?;
        let hook = |prompt: &str| {
            json!({"subtype": "hook_callback", "callback_id": hook_id, "tool_use_id": null,
                   "input": {"session_id": "s", "transcript_path": "/tmp/x.jsonl", "cwd": "/tmp",
                             "permission_mode": "default", "hook_event_name": "UserPromptSubmit",
                             "prompt": prompt}})
        };
        let answers = self.ask("h_panic", hook("panic"), None)?;
        take("hook_panic", answers, "h_panic");
        let cancel = json!({"type": "control_cancel_request", "request_id": "h_hang"});
        let answers = self.ask("h_hang", hook("hang"), Some(cancel))?;
        take("hook_hang", answers, "h_hang");

        report.insert("tool_big_len".into(), big_len.into());
        report.insert("tool_big_ms".into(), big_ms.into());
        self.send(&assistant(&Value::Object(report).to_string()))?;
        self.send(&result("done"))
    }
}

/// An `mcp_message` request to the SDK's `faults` server.
fn mcp(message: Value) -> Value {
    json!({"subtype": "mcp_message", "server_name": "faults", "message": message})
}

/// A JSON-RPC `tools/call` without arguments.
fn call(rpc_id: u64, name: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": rpc_id, "method": "tools/call",
           "params": {"name": name, "arguments": {}}})
}

fn assistant(text: &str) -> Value {
    json!({"type": "assistant", "message": {"id": "msg_1", "type": "message", "role": "assistant",
        "model": "fake", "content": [{"type": "text", "text": text}], "stop_reason": null,
        "stop_sequence": null, "usage": {"input_tokens": 1, "output_tokens": 1}},
        "parent_tool_use_id": null, "session_id": "s"})
}

fn result(text: &str) -> Value {
    json!({"type": "result", "subtype": "success", "is_error": false, "duration_ms": 1,
        "duration_api_ms": 1, "num_turns": 1, "result": text, "stop_reason": "end_turn",
        "session_id": "s", "total_cost_usd": 0, "usage": {}})
}
