//! What one turn cost, from the running totals a conversation's CLIs report.
//!
//! A result's `total_cost_usd` is a running total of its CLI process. A CLI
//! resumed in a new process may start it from the totals a previous process
//! of the conversation saved when it exited cleanly (the pinned CLI saves
//! them on a clean exit, not when killed, and restores them when it resumes
//! that conversation). So the totals a new process starts from are either
//! nothing, the last process's final totals (it exited cleanly), or what the
//! last process itself had restored (it was killed: nothing newer was
//! saved). [`CostBaseline`] keeps both and tells which one a result counts by
//! its running token count ([`ResultMessage::earlier_tokens`]): the totals
//! are restored with the tokens.

use serde::{Deserialize, Serialize};

use super::ResultMessage;

/// A running total of cost and tokens, as a CLI process reported it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct RunningTotals {
    /// `total_cost_usd`.
    pub cost_usd: f64,
    /// The tokens its `model_usage` counted (every kind).
    pub tokens: u64,
}

/// What a conversation's CLIs reported so far, enough to charge the next
/// result its own turn's cost only. Kept between processes (the agent server
/// keeps it in its database, so it outlives the server process too).
///
/// ```
/// use agent_sdk::message::{CostBaseline, Message};
///
/// let result = |line: &str| match Message::from_slice(line.as_bytes()).unwrap() {
///     Message::Result(result) => result,
///     other => panic!("{other:?}"),
/// };
/// let mut baseline = CostBaseline::default();
/// // A new process: its first turn costs its total.
/// let first = result(r#"{"type":"result","subtype":"success","is_error":false,"duration_ms":1,"duration_api_ms":1,"num_turns":1,"session_id":"s","total_cost_usd":0.25,"usage":{"input_tokens":100,"output_tokens":10},"modelUsage":{"m":{"inputTokens":100,"outputTokens":10,"costUSD":0.25}}}"#);
/// assert_eq!(baseline.charge(&first, true), 0.25);
/// // The next turn of the same process: the difference.
/// let second = result(r#"{"type":"result","subtype":"success","is_error":false,"duration_ms":1,"duration_api_ms":1,"num_turns":1,"session_id":"s","total_cost_usd":0.5,"usage":{"input_tokens":100,"output_tokens":10},"modelUsage":{"m":{"inputTokens":200,"outputTokens":20,"costUSD":0.5}}}"#);
/// assert_eq!(baseline.charge(&second, false), 0.25);
/// assert_eq!(baseline.last.tokens, 220);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CostBaseline {
    /// The running totals of the last result: what the next process starts
    /// from if this one exits cleanly.
    pub last: RunningTotals,
    /// What the process of the last result had restored when it started
    /// (zero: nothing): what the next process starts from if this one is killed.
    pub restored: RunningTotals,
}

impl CostBaseline {
    /// The cost of the turn `result` ends, and the baseline moved past it.
    /// `new_process`: `result` is the first of its CLI process this baseline
    /// sees (a process started, restarted or resumed since the last one).
    /// A result without `total_cost_usd` costs nothing known and moves nothing.
    pub fn charge(&mut self, result: &ResultMessage, new_process: bool) -> f64 {
        let Some(total) = result.total_cost_usd else {
            return 0.0;
        };
        let earlier = result.earlier_tokens();
        let before = if !new_process {
            self.last
        } else {
            // Totals restore with their tokens: a first result counting at
            // least the tokens of a candidate started from its cost.
            let before = if self.last.tokens > 0 && earlier >= self.last.tokens {
                self.last
            } else if self.restored.tokens > 0 && earlier >= self.restored.tokens {
                self.restored
            } else {
                RunningTotals::default()
            };
            self.restored = before;
            before
        };
        self.last = RunningTotals {
            cost_usd: total,
            tokens: earlier + result.own_tokens(),
        };
        // Below the baseline, the CLI restored less than was seen: all of it is new.
        if total >= before.cost_usd {
            total - before.cost_usd
        } else {
            total
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A result as the CLI reports it: this turn's tokens, the process's running totals.
    fn result(own: u64, running: u64, total_cost_usd: f64) -> ResultMessage {
        serde_json::from_value(json!({
            "type": "result", "subtype": "success", "is_error": false,
            "duration_ms": 1, "duration_api_ms": 1, "num_turns": 1, "session_id": "s",
            "total_cost_usd": total_cost_usd,
            "usage": {"input_tokens": own, "output_tokens": 0},
            "modelUsage": {"m": {"inputTokens": running, "outputTokens": 0, "costUSD": total_cost_usd}}
        }))
        .unwrap()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    /// Each turn costs 0.25 for 100 tokens, through the process histories the
    /// CLI has: P1 (turns 1, 2) killed; P2 fresh (3, 4) exits cleanly; P3
    /// restores P2 (5) and is killed; P4 restores P2 again (6) and exits
    /// cleanly; P5 restores P4 (7).
    #[test]
    fn each_turn_costs_its_own_part_across_kills_and_clean_exits() {
        let mut baseline = CostBaseline::default();
        let charged = [
            (result(100, 100, 0.25), true),  // P1
            (result(100, 200, 0.5), false),  // P1
            (result(100, 100, 0.25), true),  // P2: nothing restored after the kill
            (result(100, 200, 0.5), false),  // P2
            (result(100, 300, 0.75), true),  // P3: restored P2's 0.5
            (result(100, 300, 0.75), true),  // P4: restored P2's 0.5 again (P3 saved nothing)
            (result(100, 400, 1.0), true),   // P5: restored P4's 0.75
            (result(100, 500, 1.25), false), // P5
        ]
        .iter()
        .map(|(r, new_process)| baseline.charge(r, *new_process))
        .collect::<Vec<_>>();
        assert!(charged.iter().all(|c| close(*c, 0.25)), "{charged:?}");
        assert_eq!(
            baseline.restored,
            RunningTotals {
                cost_usd: 0.75,
                tokens: 300
            }
        );
    }

    #[test]
    fn below_the_baseline_all_of_the_total_is_new_and_no_total_costs_nothing() {
        let mut baseline = CostBaseline::default();
        baseline.charge(&result(100, 100, 0.25), true);
        // A process that restored less than was seen: all of its total is new.
        assert!(close(baseline.charge(&result(10, 10, 0.1), false), 0.1));
        let mut unknown = result(1, 1, 0.0);
        unknown.total_cost_usd = None;
        let before = baseline;
        assert_eq!(baseline.charge(&unknown, true), 0.0);
        assert_eq!(baseline, before);
    }
}
