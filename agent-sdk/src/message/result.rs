//! `result` frames: the end of a turn.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::Usage;
use super::serde_util::{lenient_opt_u64, lenient_u64, null_default};
use super::user::MessageOrigin;

/// The end of a turn: exactly one per turn, after that turn's other frames.
///
/// `is_error` can be `true` with `subtype == "success"` (an API error: the text
/// is in `result`, the HTTP status in `api_error_status`).
///
/// ```
/// use agent_sdk::message::Message;
///
/// let line = br#"{"type":"result","subtype":"error_max_turns","is_error":true,"duration_ms":10,"duration_api_ms":5,"num_turns":1,"session_id":"s1","errors":["Reached maximum number of turns (1)"],"terminal_reason":"max_turns","modelUsage":{"claude-sonnet-4-5":{"inputTokens":24,"outputTokens":14,"costUSD":0.0002}}}"#;
/// let Message::Result(result) = Message::from_slice(line)? else { unreachable!() };
/// assert!(result.is_error);
/// assert_eq!(result.errors, ["Reached maximum number of turns (1)"]);
/// assert_eq!(result.model_usage["claude-sonnet-4-5"].output_tokens, 14);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct ResultMessage {
    /// `success`, `error_during_execution`, `error_max_turns`, `error_max_budget_usd`,
    /// `error_max_structured_output_retries`, ...
    pub subtype: String,
    /// Whether the turn failed.
    pub is_error: bool,
    /// Wall time of the turn, in milliseconds.
    #[serde(deserialize_with = "lenient_u64")]
    pub duration_ms: u64,
    /// Time spent in API calls, in milliseconds.
    #[serde(deserialize_with = "lenient_u64")]
    pub duration_api_ms: u64,
    /// Model round trips in the turn.
    pub num_turns: u32,
    /// Session id.
    pub session_id: String,
    /// Final text (success only); the JSON text for structured output.
    #[serde(default)]
    pub result: Option<String>,
    /// Error strings (error subtypes), e.g. `["Reached maximum number of turns (1)"]`.
    #[serde(default, deserialize_with = "null_default")]
    pub errors: Vec<String>,
    /// HTTP status of an API error.
    #[serde(default)]
    pub api_error_status: Option<u16>,
    /// The parsed object, when an output schema was set and the model complied.
    #[serde(default)]
    pub structured_output: Option<Value>,
    /// API stop reason of the last response (`end_turn`, `tool_use`, ...).
    #[serde(default)]
    pub stop_reason: Option<String>,
    /// Why the turn ended: `completed`, `max_turns`, `aborted_tools`, `api_error`, ...
    #[serde(default)]
    pub terminal_reason: Option<String>,
    /// Session cost so far, in US dollars (cumulative).
    #[serde(default)]
    pub total_cost_usd: Option<f64>,
    /// API usage of this turn's main loop. Boxed to keep [`Message`](super::Message)
    /// small: every message is moved through the channel to the caller.
    #[serde(default)]
    pub usage: Option<Box<Usage>>,
    /// `modelUsage`: cumulative usage per model.
    #[serde(default, rename = "modelUsage", deserialize_with = "null_default")]
    pub model_usage: BTreeMap<String, ModelUsage>,
    /// Tool calls denied during the turn.
    #[serde(default, deserialize_with = "null_default")]
    pub permission_denials: Vec<PermissionDenial>,
    /// The tool call a `PreToolUse` hook deferred.
    #[serde(default)]
    pub deferred_tool_use: Option<DeferredToolUse>,
    /// Frame uuid.
    #[serde(default)]
    pub uuid: Option<String>,
    /// `origin`: what triggered the turn (`None` when absent or malformed).
    #[serde(default, deserialize_with = "MessageOrigin::deserialize_valid")]
    pub origin: Option<MessageOrigin>,
    /// Uuid of the user message that started the turn.
    #[serde(default)]
    pub user_message_uuid: Option<String>,
    /// Uuids of the user messages folded into the turn; `None` when not sent
    /// (older CLIs send only `user_message_uuid`), `Some(vec![])` when sent empty.
    #[serde(default)]
    pub user_message_uuids: Option<Vec<String>>,
    /// Time to first token, in milliseconds.
    #[serde(default, deserialize_with = "lenient_opt_u64")]
    pub ttft_ms: Option<u64>,
}

impl ResultMessage {
    /// Whether the turn succeeded: `subtype == "success"` and not `is_error`.
    pub fn is_success(&self) -> bool {
        self.subtype == "success" && !self.is_error
    }

    /// The tokens the CLI process counted before this turn: its running
    /// `model_usage` less this turn's own `usage`. `total_cost_usd` is a running
    /// total in the same way, and a resumed CLI may start it from the
    /// conversation's earlier totals (CLI 2.1.330 does after a clean exit, not
    /// after a kill), so this tells whether a first result includes them
    /// ([`CostBaseline`](super::CostBaseline) charges each turn by it).
    ///
    /// ```
    /// use agent_sdk::message::Message;
    ///
    /// let line = br#"{"type":"result","subtype":"success","is_error":false,"duration_ms":1,"duration_api_ms":1,"num_turns":1,"session_id":"s1","total_cost_usd":0.2,"usage":{"input_tokens":100,"output_tokens":10},"modelUsage":{"claude-sonnet-4-5":{"inputTokens":300,"outputTokens":30,"costUSD":0.2}}}"#;
    /// let Message::Result(result) = Message::from_slice(line)? else { unreachable!() };
    /// assert_eq!(result.earlier_tokens(), 220);
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn earlier_tokens(&self) -> u64 {
        let running: u64 = self
            .model_usage
            .values()
            .map(|m| {
                m.input_tokens
                    + m.output_tokens
                    + m.cache_read_input_tokens
                    + m.cache_creation_input_tokens
            })
            .sum();
        running.saturating_sub(self.own_tokens())
    }

    /// This turn's own tokens (input of every kind and output), from `usage`.
    pub fn own_tokens(&self) -> u64 {
        self.usage
            .as_ref()
            .map_or(0, |usage| usage.total_input_tokens() + usage.output_tokens)
    }

    /// The failure this result reports, or `None` for a success.
    ///
    /// ```
    /// use agent_sdk::message::Message;
    ///
    /// let line = br#"{"type":"result","subtype":"error_max_turns","is_error":true,"duration_ms":1,"duration_api_ms":1,"num_turns":1,"session_id":"s1","errors":["Reached maximum number of turns (1)"],"terminal_reason":"max_turns"}"#;
    /// let Message::Result(result) = Message::from_slice(line)? else { unreachable!() };
    /// let error = result.error().unwrap();
    /// assert_eq!(error.terminal_reason.as_deref(), Some("max_turns"));
    /// assert_eq!(error.message(), "Reached maximum number of turns (1)");
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn error(&self) -> Option<ResultError> {
        if self.is_success() {
            return None;
        }
        Some(ResultError {
            subtype: self.subtype.clone(),
            errors: self.errors.clone(),
            result: self.result.clone(),
            api_error_status: self.api_error_status,
            terminal_reason: self.terminal_reason.clone(),
            session_id: self.session_id.clone(),
            data: self.clone(),
        })
    }
}

/// Why a turn failed, taken from its error `result`: the fields the official
/// SDKs' `ResultError` carries, plus the whole frame.
///
/// It is what [`Error::Result`](crate::Error::Result) holds after a failed run, and
/// what structured output reports for a failed session.
///
/// ```
/// use agent_sdk::message::Message;
///
/// let line = br#"{"type":"result","subtype":"success","is_error":true,"duration_ms":1,"duration_api_ms":1,"num_turns":1,"session_id":"s1","result":"API Error: 529 overloaded","api_error_status":529,"terminal_reason":"api_error"}"#;
/// let Message::Result(result) = Message::from_slice(line)? else { unreachable!() };
/// let error = result.error().unwrap();
/// assert_eq!(error.api_error_status, Some(529));
/// assert_eq!(error.to_string(), "error result (success): API Error: 529 overloaded");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("error result ({subtype}): {}", self.message())]
#[non_exhaustive]
pub struct ResultError {
    /// The result subtype: `error_max_turns`, `error_during_execution`, ..., or
    /// `success` when the loop completed but the last call was an API error.
    pub subtype: String,
    /// Error strings the CLI reported (may be empty).
    pub errors: Vec<String>,
    /// The result text, if any; for API failures the `API Error: ...` prose.
    pub result: Option<String>,
    /// HTTP status of the failing API call, if any.
    pub api_error_status: Option<u16>,
    /// Why the run ended (`api_error`, `max_turns`, ...), when the CLI said.
    pub terminal_reason: Option<String>,
    /// The session the result belongs to.
    pub session_id: String,
    /// The whole `result` frame (usage, cost, denials, ...).
    pub data: ResultMessage,
}

impl ResultError {
    /// The error text for a person: the joined `errors`, else `result`, else
    /// the subtype, else the API status.
    pub fn message(&self) -> String {
        if !self.errors.is_empty() {
            self.errors.join("; ")
        } else if let Some(text) = self.result.as_deref().filter(|t| !t.is_empty()) {
            text.to_owned()
        } else if self.subtype != "success" {
            self.subtype.clone()
        } else if let Some(status) = self.api_error_status {
            format!("API error (HTTP {status})")
        } else {
            "unknown error".to_owned()
        }
    }
}

/// Usage of one model (`modelUsage` entry; camelCase on the wire).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct ModelUsage {
    /// `inputTokens`.
    #[serde(deserialize_with = "lenient_u64")]
    pub input_tokens: u64,
    /// `outputTokens`.
    #[serde(deserialize_with = "lenient_u64")]
    pub output_tokens: u64,
    /// `cacheReadInputTokens`.
    #[serde(deserialize_with = "lenient_u64")]
    pub cache_read_input_tokens: u64,
    /// `cacheCreationInputTokens`.
    #[serde(deserialize_with = "lenient_u64")]
    pub cache_creation_input_tokens: u64,
    /// `webSearchRequests`.
    #[serde(deserialize_with = "lenient_u64")]
    pub web_search_requests: u64,
    /// `costUSD`.
    #[serde(rename = "costUSD")]
    pub cost_usd: f64,
    /// `contextWindow`.
    #[serde(deserialize_with = "lenient_opt_u64")]
    pub context_window: Option<u64>,
    /// `maxOutputTokens`.
    #[serde(deserialize_with = "lenient_opt_u64")]
    pub max_output_tokens: Option<u64>,
}

/// A tool call the permission policy denied (`permission_denials` entry).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct PermissionDenial {
    /// Tool name.
    pub tool_name: String,
    /// Tool-use id.
    pub tool_use_id: String,
    /// The arguments of the denied call.
    #[serde(default)]
    pub tool_input: Value,
}

/// A tool call deferred by a `PreToolUse` hook.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct DeferredToolUse {
    /// Tool-use id.
    pub id: String,
    /// Tool name.
    pub name: String,
    /// The arguments.
    #[serde(default)]
    pub input: Value,
}
