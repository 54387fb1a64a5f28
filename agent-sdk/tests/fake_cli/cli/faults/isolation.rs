//! Fault scenarios about isolation and bounded memory:
//! - `isolation`: the stderr callback, a tool, a hook and a permission handler
//!   of the SDK's user block their thread for seconds; while each blocks, an unrelated
//!   `tools/call` must be answered at once. Reports the times it took.
//! - `flood`: writes assistant frames as fast as the pipe takes them
//!   (`AGENT_SDK_FAKE_CLI_FLOOD` frames, default 20,000) from a thread of its
//!   own while the main thread keeps reading stdin and answers `interrupt`, as
//!   the real CLI does; the SDK must push back when its user does not read.
//! - `unread_answers`: sends requests the SDK's router answers itself
//!   (`AGENT_SDK_FAKE_CLI_REQUESTS` unreadable ones, default 100,000) from a
//!   thread of its own and reads none of the answers for [`UNREAD_FOR`]; then
//!   reads them all and reports how many came, and how many twice.

use std::fs::File;
use std::io::Write;
use std::mem::ManuallyDrop;
use std::os::fd::FromRawFd;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use super::super::frames;
use super::{ANSWER_WAIT, Fail, Fake, assistant, call, mcp, result};

/// Frames the `flood` scenario writes.
pub const FLOOD_ENV: &str = "AGENT_SDK_FAKE_CLI_FLOOD";
/// Between sending a blocking request and the unrelated call.
const BEFORE_UNRELATED: Duration = Duration::from_millis(200);
/// Frames per lock of stdout in `flood` (so answers get a turn).
const FLOOD_BATCH: u64 = 64;
/// Requests `unread_answers` sends.
pub const REQUESTS_ENV: &str = "AGENT_SDK_FAKE_CLI_REQUESTS";
/// How long `unread_answers` leaves its stdin unread.
const UNREAD_FOR: Duration = Duration::from_secs(3);
/// How long `unread_answers` waits for all the answers once it reads.
const ALL_ANSWERS_WAIT: Duration = Duration::from_secs(20);

impl Fake<'_> {
    /// Plays the scenarios of this module; `false` for any other scenario.
    pub(super) fn play_isolation_turn(&mut self) -> Result<bool, Fail> {
        match self.scenario {
            "isolation" => self.isolation().map(|()| true),
            "flood" => self.flood().map(|()| true),
            "unread_answers" => self.unread_answers().map(|()| true),
            _ => Ok(false),
        }
    }

    fn isolation(&mut self) -> Result<(), Fail> {
        let hook_id = self
            .hook_ids
            .first()
            .cloned()
            .ok_or("no hook callback in initialize")?;
        let blocking = [
            ("tool", mcp(call(1, "blocks"))),
            (
                "hook",
                json!({"subtype": "hook_callback", "callback_id": hook_id, "tool_use_id": null,
                       "input": {"session_id": "s", "transcript_path": "/tmp/x.jsonl", "cwd": "/tmp",
                                 "permission_mode": "default", "hook_event_name": "UserPromptSubmit",
                                 "prompt": "block"}}),
            ),
            (
                "permission",
                json!({"subtype": "can_use_tool", "tool_name": "Bash", "input": {"command": "block"},
                       "permission_suggestions": [], "tool_use_id": "toolu_1"}),
            ),
        ];
        let mut report = Map::new();
        // A first call compiles the tool's argument validator: not what is measured.
        self.ask("warm_up", mcp(call(8, "quick")), None)?;
        // The SDK's stderr callback blocks on this line.
        eprintln!("block");
        std::thread::sleep(BEFORE_UNRELATED);
        let started = Instant::now();
        let mut answers = self.ask("stderr_quick", mcp(call(9, "quick")), None)?;
        let quick_ms = started.elapsed().as_secs_f64() * 1e3;
        let quick = answers.remove("stderr_quick").unwrap_or(Value::Null);
        report.insert(
            "stderr".into(),
            json!({"quick_ms": quick_ms, "quick": quick}),
        );
        for (n, (kind, request)) in blocking.into_iter().enumerate() {
            let blocked_id = format!("{kind}_blocks");
            self.send(
                &json!({"type": "control_request", "request_id": blocked_id, "request": request}),
            )?;
            std::thread::sleep(BEFORE_UNRELATED);
            let quick_id = format!("{kind}_quick");
            let started = Instant::now();
            let mut answers = self.ask(&quick_id, mcp(call(10 + n as u64, "quick")), None)?;
            let quick_ms = started.elapsed().as_secs_f64() * 1e3;
            let quick = answers.remove(&quick_id).unwrap_or(Value::Null);
            // The blocked request is answered too, once its handler returns.
            let mut blocked = answers.remove(&blocked_id);
            let deadline = Instant::now() + ANSWER_WAIT + ANSWER_WAIT;
            while blocked.is_none() && Instant::now() < deadline {
                let Some(frame) = self.read(Some(Duration::from_millis(100))) else {
                    continue;
                };
                if frame["type"] == "control_response"
                    && frame["response"]["request_id"] == blocked_id.as_str()
                {
                    blocked = Some(frame["response"].clone());
                }
            }
            report.insert(
                kind.into(),
                json!({"quick_ms": quick_ms, "quick": quick, "blocked": blocked}),
            );
        }
        self.send(&assistant(&Value::Object(report).to_string()))?;
        self.send(&result("done"))
    }

    /// Floods stdout from a thread while this one answers the SDK's requests.
    fn flood(&mut self) -> Result<(), Fail> {
        let frames_to_write: u64 = std::env::var(FLOOD_ENV)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(20_000);
        self.pipes.output.flush()?;
        // SAFETY: fd 1 stays open for the life of the process; ManuallyDrop never closes it.
        let stdout = ManuallyDrop::new(unsafe { File::from_raw_fd(1) });
        let stdout = Arc::new(Mutex::new(stdout));
        // Runs until it wrote everything; the SDK disconnects once it read it all.
        let _flooder = {
            let stdout = stdout.clone();
            std::thread::spawn(move || -> std::io::Result<()> {
                let mut batch = Vec::with_capacity(64 * 1024);
                let mut n = 0;
                while n < frames_to_write {
                    batch.clear();
                    for _ in 0..FLOOD_BATCH.min(frames_to_write - n) {
                        frames::write_assistant(&mut batch, n)?;
                        n += 1;
                    }
                    stdout.lock().unwrap().write_all(&batch)?;
                }
                let mut end = serde_json::to_vec(&result("flooded"))?;
                end.push(b'\n');
                stdout.lock().unwrap().write_all(&end)
            })
        };
        // Answers every request (`interrupt`) while the flood goes on; exits at stdin EOF.
        loop {
            let Some(frame) = self.read(Some(Duration::from_millis(100))) else {
                continue;
            };
            if frame["type"] == "control_request" {
                let mut answer = serde_json::to_vec(&json!({"type": "control_response",
                    "response": {"subtype": "success", "request_id": frame["request_id"], "response": {}}}))?;
                answer.push(b'\n');
                stdout.lock().unwrap().write_all(&answer)?;
            }
        }
    }

    /// Requests without a `request` (the router answers each with an error)
    /// written from a thread, while this one leaves the answers unread at first.
    fn unread_answers(&mut self) -> Result<(), Fail> {
        let requests: u64 = std::env::var(REQUESTS_ENV)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(100_000);
        self.pipes.output.flush()?;
        let writer = std::thread::spawn(move || -> std::io::Result<()> {
            // SAFETY: fd 1 stays open for the life of the process; ManuallyDrop never closes it.
            let mut stdout = ManuallyDrop::new(unsafe { File::from_raw_fd(1) });
            let mut batch = Vec::with_capacity(64 * 1024);
            let mut n = 0;
            while n < requests {
                batch.clear();
                for _ in 0..FLOOD_BATCH.min(requests - n) {
                    writeln!(batch, r#"{{"type":"control_request","request_id":"u{n}"}}"#)?;
                    n += 1;
                }
                stdout.write_all(&batch)?;
            }
            Ok(())
        });
        std::thread::sleep(UNREAD_FOR);
        let mut seen = vec![false; requests as usize];
        let (mut answered, mut twice) = (0u64, 0u64);
        let deadline = Instant::now() + ALL_ANSWERS_WAIT;
        while answered < requests && Instant::now() < deadline {
            let Some(frame) = self.read(Some(Duration::from_millis(100))) else {
                continue;
            };
            let id = frame["response"]["request_id"].as_str().unwrap_or_default();
            let Some(n) = id.strip_prefix('u').and_then(|n| n.parse::<usize>().ok()) else {
                continue;
            };
            match seen.get_mut(n) {
                Some(seen) if *seen => twice += 1,
                Some(seen) => {
                    *seen = true;
                    answered += 1;
                }
                None => {}
            }
        }
        writer.join().map_err(|_| "the request writer panicked")??;
        let report = json!({"requests": requests, "answered": answered, "twice": twice});
        self.send(&assistant(&report.to_string()))?;
        self.send(&result("done"))
    }
}
