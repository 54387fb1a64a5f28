//! Fault scenarios about answers and endings: requests the SDK cannot read
//! (too deep, over the line limit, a reused id) must each get exactly one
//! answer, and a turn cut short by a clean exit must not look finished.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{ANSWER_WAIT, Fail, Fake, assistant, call, mcp, result};

/// After the last expected answer, how long a second (wrong) one may still take.
const EXTRA_ANSWERS: Duration = Duration::from_millis(500);

impl Fake<'_> {
    /// Plays the scenarios of this module; `false` for any other scenario.
    pub(super) fn play_answers_turn(&mut self) -> Result<bool, Fail> {
        match self.scenario {
            "exit_zero_mid_turn" => {
                self.send(&assistant("partial"))?;
                // SAFETY: closes fd 1, which nothing here writes to again.
                unsafe { libc::close(libc::STDOUT_FILENO) };
                // Exits 0 once stdin closes, as the real CLI does.
                loop {
                    self.read(None);
                }
            }
            "unreadable_requests" => self.unreadable_requests().map(|()| true),
            _ => Ok(false),
        }
    }

    /// Sends a `tools/call` 10,000 deep, a 50 MB one, and two calls under one
    /// id; reports every answer per request id in an assistant message.
    fn unreadable_requests(&mut self) -> Result<(), Fail> {
        let deep = format!(
            r#"{{"type":"control_request","request_id":"deep","request":{{"subtype":"mcp_message","server_name":"faults","message":{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"slow","arguments":{{"x":{}{}}}}}}}}}}}"#,
            "[".repeat(10_000),
            "]".repeat(10_000)
        );
        self.send_raw(deep.as_bytes())?;
        let mut huge = call(2, "slow");
        huge["params"]["arguments"] = json!({"pad": "p".repeat(50_000_000)});
        self.send(&json!({"type": "control_request", "request_id": "huge", "request": mcp(huge)}))?;
        for rpc_id in [3, 4] {
            self.send(&json!({"type": "control_request", "request_id": "dup",
                "request": mcp(call(rpc_id, "slow"))}))?;
        }

        let mut answers: HashMap<String, Vec<Value>> = HashMap::new();
        let start = Instant::now();
        let mut complete_at = None;
        while start.elapsed() < ANSWER_WAIT {
            if complete_at.is_some_and(|at: Instant| at.elapsed() >= EXTRA_ANSWERS) {
                break;
            }
            let Some(frame) = self.read(Some(Duration::from_millis(50))) else {
                continue;
            };
            if frame["type"] == "control_response" {
                let response = frame["response"].clone();
                let id = response["request_id"].as_str().unwrap_or_default();
                answers.entry(id.to_owned()).or_default().push(response);
                if complete_at.is_none() && answers.len() >= 3 {
                    complete_at = Some(Instant::now());
                }
            }
        }
        self.send(&assistant(&json!(answers).to_string()))?;
        self.send(&result("done"))
    }
}
