//! The script of a [`FakeApi`](super::FakeApi): a queue of [`Turn`]s.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::record::RecordedRequest;

/// The name of the tool through which the CLI collects structured output
/// (added to `tools` when the CLI runs with `--json-schema`).
pub const STRUCTURED_OUTPUT_TOOL: &str = "StructuredOutput";

/// One content block of a scripted answer.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Block {
    /// A `text` block.
    Text(String),
    /// A `tool_use` block; its id (`toolu_0001`, ...) is assigned when it is sent.
    ToolUse {
        /// The tool name as the model calls it, e.g. `Bash` or `mcp__calc__add`.
        name: String,
        /// The tool input.
        input: Value,
    },
}

/// A function that computes a turn from the request it answers.
pub type TurnFn = Arc<dyn Fn(&RecordedRequest) -> Turn + Send + Sync>;

/// What a turn answers with.
#[derive(Clone)]
pub(crate) enum TurnKind {
    /// A normal assistant message.
    Message(Vec<Block>),
    /// A text answer with stop reason `refusal`.
    Refusal(String),
    /// An HTTP error with the API's error body.
    HttpError { status: u16, message: String },
    /// Computed from the request.
    FromFn(TurnFn),
}

/// One scripted answer of the fake model to one main-loop request.
///
/// ```
/// use agent_sdk::testing::Turn;
/// use serde_json::json;
/// use std::time::Duration;
///
/// let text = Turn::text("All done.");
/// let two_tools = Turn::tool_use("Bash", json!({"command": "echo a"}))
///     .and_tool_use("Bash", json!({"command": "echo b"}));
/// let slow = Turn::text("late").with_delay(Duration::from_secs(5));
/// let overloaded = Turn::http_error(529, "Overloaded");
/// # let _ = (text, two_tools, slow, overloaded);
/// ```
#[derive(Clone)]
pub struct Turn {
    pub(crate) kind: TurnKind,
    pub(crate) delay: Duration,
    pub(crate) event_interval: Duration,
}

impl fmt::Debug for Turn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Turn");
        match &self.kind {
            TurnKind::Message(blocks) => s.field("blocks", blocks),
            TurnKind::Refusal(text) => s.field("refusal", text),
            TurnKind::HttpError { status, message } => {
                s.field("status", status).field("message", message)
            }
            TurnKind::FromFn(_) => s.field("from_fn", &"<fn>"),
        };
        s.field("delay", &self.delay)
            .field("event_interval", &self.event_interval)
            .finish()
    }
}

impl Turn {
    fn new(kind: TurnKind) -> Self {
        Turn {
            kind,
            delay: Duration::ZERO,
            event_interval: Duration::ZERO,
        }
    }

    /// An assistant message with one text block; stop reason `end_turn`.
    ///
    /// ```
    /// let turn = agent_sdk::testing::Turn::text("Hello!");
    /// # let _ = turn;
    /// ```
    pub fn text(text: impl Into<String>) -> Self {
        Turn::new(TurnKind::Message(vec![Block::Text(text.into())]))
    }

    /// An assistant message with one text block and stop reason `refusal`: the
    /// model declined to answer (the CLI then falls back to the fallback model
    /// when one is set, or ends the turn with the refusal).
    ///
    /// ```
    /// let turn = agent_sdk::testing::Turn::refusal("I can't help with that.");
    /// # let _ = turn;
    /// ```
    pub fn refusal(text: impl Into<String>) -> Self {
        Turn::new(TurnKind::Refusal(text.into()))
    }

    /// An assistant message with one `tool_use` block; stop reason `tool_use`.
    ///
    /// ```
    /// use serde_json::json;
    /// let turn = agent_sdk::testing::Turn::tool_use("mcp__calc__add", json!({"a": 2, "b": 3}));
    /// # let _ = turn;
    /// ```
    pub fn tool_use(name: impl Into<String>, input: Value) -> Self {
        Turn::new(TurnKind::Message(vec![Block::ToolUse {
            name: name.into(),
            input,
        }]))
    }

    /// An assistant message with several `tool_use` blocks, in order.
    ///
    /// ```
    /// use serde_json::json;
    /// let turn = agent_sdk::testing::Turn::tool_uses([
    ///     ("Bash", json!({"command": "echo a"})),
    ///     ("Bash", json!({"command": "echo b"})),
    /// ]);
    /// # let _ = turn;
    /// ```
    pub fn tool_uses<N: Into<String>>(calls: impl IntoIterator<Item = (N, Value)>) -> Self {
        Turn::new(TurnKind::Message(
            calls
                .into_iter()
                .map(|(name, input)| Block::ToolUse {
                    name: name.into(),
                    input,
                })
                .collect(),
        ))
    }

    /// A call of the CLI's `StructuredOutput` tool with `value` as its input:
    /// how the model answers a session started with an output schema.
    ///
    /// ```
    /// use serde_json::json;
    /// let turn = agent_sdk::testing::Turn::structured_output(json!({"answer": 5}));
    /// # let _ = turn;
    /// ```
    pub fn structured_output(value: Value) -> Self {
        Turn::tool_use(STRUCTURED_OUTPUT_TOOL, value)
    }

    /// An HTTP error with the real API's body,
    /// `{"type":"error","error":{"type":"overloaded_error","message":...}}`.
    /// The error `type` follows the status (400 `invalid_request_error`,
    /// 401 `authentication_error`, 429 `rate_limit_error`, 529
    /// `overloaded_error`, other 5xx `api_error`, ...).
    ///
    /// How the CLI (2.1.330) reacts: a 5xx or 429 is retried with backoff up
    /// to `CLAUDE_CODE_MAX_RETRIES` times (10 by default; [`TestEnv`](super::TestEnv)
    /// sets 0), each retry being a new main-loop request that takes the next
    /// turn; a 400 is retried twice with fewer beta headers, so script three
    /// 400 turns for the session to fail. The final failure is a `result`
    /// with `is_error: true`, `api_error_status` and the message in `result`.
    ///
    /// ```
    /// let turn = agent_sdk::testing::Turn::http_error(400, "prompt is too long");
    /// # let _ = turn;
    /// ```
    pub fn http_error(status: u16, message: impl Into<String>) -> Self {
        Turn::new(TurnKind::HttpError {
            status,
            message: message.into(),
        })
    }

    /// A turn computed from the request it answers, e.g. an "offline model"
    /// that echoes the last tool result. The returned turn's own delay is
    /// added to this one's; a nested `from_fn` is resolved too.
    ///
    /// ```
    /// use agent_sdk::testing::Turn;
    /// let echo = Turn::from_fn(|request| {
    ///     let text = request.tool_results().last().map(|r| r.text.clone());
    ///     Turn::text(text.unwrap_or_else(|| "no tool result".into()))
    /// });
    /// # let _ = echo;
    /// ```
    pub fn from_fn(f: impl Fn(&RecordedRequest) -> Turn + Send + Sync + 'static) -> Self {
        Turn::new(TurnKind::FromFn(Arc::new(f)))
    }

    /// Adds a text block after the blocks of this turn. On an HTTP error or
    /// `from_fn` turn this has no effect on the wire and is reported by
    /// [`blocks`](Self::blocks) returning `None`.
    ///
    /// ```
    /// use serde_json::json;
    /// let turn = agent_sdk::testing::Turn::text("Let me check.")
    ///     .and_tool_use("Bash", json!({"command": "ls"}));
    /// # let _ = turn;
    /// ```
    pub fn and_text(self, text: impl Into<String>) -> Self {
        self.push_block(Block::Text(text.into()))
    }

    /// Adds a `tool_use` block after the blocks of this turn (see [`and_text`](Self::and_text)).
    ///
    /// ```
    /// use serde_json::json;
    /// let turn = agent_sdk::testing::Turn::tool_use("Read", json!({"file_path": "/tmp/a"}))
    ///     .and_tool_use("Read", json!({"file_path": "/tmp/b"}));
    /// # let _ = turn;
    /// ```
    pub fn and_tool_use(self, name: impl Into<String>, input: Value) -> Self {
        self.push_block(Block::ToolUse {
            name: name.into(),
            input,
        })
    }

    fn push_block(mut self, block: Block) -> Self {
        if let TurnKind::Message(blocks) = &mut self.kind {
            blocks.push(block);
        }
        self
    }

    /// Waits `delay` before answering (headers included), e.g. to interrupt
    /// the session while the model is "thinking".
    ///
    /// ```
    /// use std::time::Duration;
    /// let turn = agent_sdk::testing::Turn::text("slow").with_delay(Duration::from_secs(30));
    /// # let _ = turn;
    /// ```
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Streams the answer slowly: waits `interval` before each server-sent
    /// event after the first, e.g. to interrupt the session in the middle of
    /// a streamed answer. No effect on non-streamed answers.
    ///
    /// ```
    /// use std::time::Duration;
    /// let turn = agent_sdk::testing::Turn::text("a slow stream")
    ///     .with_event_interval(Duration::from_millis(400));
    /// # let _ = turn;
    /// ```
    pub fn with_event_interval(mut self, interval: Duration) -> Self {
        self.event_interval = interval;
        self
    }

    /// The content blocks of a message turn; `None` for HTTP errors and `from_fn` turns.
    ///
    /// ```
    /// let turn = agent_sdk::testing::Turn::text("hi");
    /// assert_eq!(turn.blocks().map(|b| b.len()), Some(1));
    /// ```
    pub fn blocks(&self) -> Option<&[Block]> {
        match &self.kind {
            TurnKind::Message(blocks) => Some(blocks),
            _ => None,
        }
    }

    /// The delay before answering.
    ///
    /// ```
    /// assert!(agent_sdk::testing::Turn::text("hi").delay().is_zero());
    /// ```
    pub fn delay(&self) -> Duration {
        self.delay
    }

    /// Resolves `from_fn` turns against `request` (bounded, in case a
    /// function keeps returning functions).
    pub(crate) fn resolve(self, request: &RecordedRequest) -> Turn {
        let mut turn = self;
        let mut delay = Duration::ZERO;
        for _ in 0..16 {
            match turn.kind {
                TurnKind::FromFn(f) => {
                    delay += turn.delay;
                    let interval = turn.event_interval;
                    turn = f(request);
                    if turn.event_interval.is_zero() {
                        turn.event_interval = interval;
                    }
                }
                _ => {
                    turn.delay += delay;
                    return turn;
                }
            }
        }
        Turn::http_error(500, "[fake api: Turn::from_fn nested more than 16 deep]")
    }
}

/// A queue of [`Turn`]s; each main-loop request takes the next one.
///
/// ```
/// use agent_sdk::testing::{Script, Turn};
/// use serde_json::json;
///
/// let script = Script::new()
///     .then(Turn::tool_use("Bash", json!({"command": "echo hi"})))
///     .then(Turn::text("The command printed hi."));
/// assert_eq!(script.len(), 2);
///
/// let same: Script = [Turn::text("a"), Turn::text("b")].into_iter().collect();
/// assert_eq!(same.len(), 2);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Script {
    pub(crate) turns: VecDeque<Turn>,
}

impl Script {
    /// An empty script: every main-loop request gets the "script exhausted" text.
    ///
    /// ```
    /// assert!(agent_sdk::testing::Script::new().is_empty());
    /// ```
    pub fn new() -> Self {
        Script::default()
    }

    /// Appends a turn.
    ///
    /// ```
    /// let script = agent_sdk::testing::Script::new().then(agent_sdk::testing::Turn::text("hi"));
    /// # let _ = script;
    /// ```
    pub fn then(mut self, turn: Turn) -> Self {
        self.turns.push_back(turn);
        self
    }

    /// Number of turns left.
    ///
    /// ```
    /// assert_eq!(agent_sdk::testing::Script::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.turns.len()
    }

    /// True when no turn is left.
    ///
    /// ```
    /// assert!(agent_sdk::testing::Script::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.turns.is_empty()
    }
}

impl FromIterator<Turn> for Script {
    fn from_iter<I: IntoIterator<Item = Turn>>(iter: I) -> Self {
        Script {
            turns: iter.into_iter().collect(),
        }
    }
}

impl From<Vec<Turn>> for Script {
    fn from(turns: Vec<Turn>) -> Self {
        turns.into_iter().collect()
    }
}
