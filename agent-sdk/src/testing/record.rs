//! What the fake API saw: one [`RecordedRequest`] per HTTP request.

use std::collections::BTreeMap;

use serde_json::Value;

/// Header names whose values are replaced by `<redacted>` when recorded.
const SECRET_HEADERS: [&str; 4] = [
    "x-api-key",
    "authorization",
    "proxy-authorization",
    "cookie",
];

/// The role a request played.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RequestKind {
    /// `POST /v1/messages` of the agent loop (has `tools`, `max_tokens` > 1): takes a turn of the script.
    MainLoop,
    /// `POST /v1/messages` made on the side (titles, quota or model probes): answered with a short text.
    Side,
    /// `POST /v1/messages/count_tokens`.
    CountTokens,
    /// Anything else; answered with a 404 error.
    Unknown,
}

/// How the fake API answered a request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Answer {
    /// Turn number `index` (0-based) of the script.
    Turn {
        /// Position of the turn in the script as it was started (pushed turns continue the count).
        index: usize,
    },
    /// The script was exhausted; the answer was the [`SCRIPT_EXHAUSTED_TEXT`](super::SCRIPT_EXHAUSTED_TEXT).
    ScriptExhausted,
    /// A side request's short text.
    SideText,
    /// A token count.
    TokenCount,
    /// An error before any turn was taken (bad JSON, unknown route).
    Error {
        /// The HTTP status sent.
        status: u16,
    },
}

/// One HTTP request the fake API received.
///
/// ```
/// # async fn demo(api: &agent_sdk::testing::FakeApi) {
/// let last = api.main_loop_requests().pop().expect("a main-loop request");
/// assert_eq!(last.body["stream"], true);
/// for result in last.tool_results() {
///     println!("{} -> {}", result.tool_use_id, result.text);
/// }
/// # }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RecordedRequest {
    /// 0-based arrival order over all requests of this fake API.
    pub seq: usize,
    /// HTTP method, e.g. `POST`.
    pub method: String,
    /// Path and query, e.g. `/v1/messages?beta=true`.
    pub path: String,
    /// Headers, lower-case names; secrets (`x-api-key`, `authorization`, ...) are `<redacted>`.
    pub headers: BTreeMap<String, String>,
    /// The JSON body (`Value::Null` when empty or not JSON).
    pub body: Value,
    /// The role the request played.
    pub kind: RequestKind,
    /// How it was answered: always set in [`FakeApi::requests`](super::FakeApi::requests) and the like;
    /// `None` only while a [`Turn::from_fn`](super::Turn::from_fn) function looks at the request.
    pub answer: Option<Answer>,
}

/// A `tool_result` block found in a request's messages.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RecordedToolResult {
    /// The `tool_use_id` it answers, e.g. `toolu_0001`.
    pub tool_use_id: String,
    /// The text of its content (text blocks joined by `\n`; a string content as is).
    pub text: String,
    /// The `is_error` flag (false when absent).
    pub is_error: bool,
    /// The raw block.
    pub raw: Value,
}

impl RecordedRequest {
    pub(crate) fn new(
        seq: usize,
        method: String,
        path: String,
        headers: BTreeMap<String, String>,
        body: Value,
    ) -> Self {
        let headers = headers
            .into_iter()
            .map(|(name, value)| {
                let name = name.to_ascii_lowercase();
                if SECRET_HEADERS.contains(&name.as_str()) {
                    (name, "<redacted>".to_owned())
                } else {
                    (name, value)
                }
            })
            .collect();
        let kind = classify(&method, &path, &body);
        RecordedRequest {
            seq,
            method,
            path,
            headers,
            body,
            kind,
            answer: None,
        }
    }

    /// True for a request of the agent loop.
    ///
    /// ```
    /// # fn demo(request: &agent_sdk::testing::RecordedRequest) {
    /// if request.is_main_loop() { /* it took a turn of the script */ }
    /// # }
    /// ```
    pub fn is_main_loop(&self) -> bool {
        self.kind == RequestKind::MainLoop
    }

    /// A header value by (case-insensitive) name.
    ///
    /// ```
    /// # fn demo(request: &agent_sdk::testing::RecordedRequest) {
    /// let betas = request.header("anthropic-beta").unwrap_or_default();
    /// # let _ = betas;
    /// # }
    /// ```
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// `messages` of the body (empty when absent).
    ///
    /// ```
    /// # fn demo(request: &agent_sdk::testing::RecordedRequest) {
    /// println!("{} messages", request.messages().len());
    /// # }
    /// ```
    pub fn messages(&self) -> &[Value] {
        self.body["messages"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// Whether the body asked for a streamed answer (`"stream": true`).
    ///
    /// ```
    /// # fn demo(request: &agent_sdk::testing::RecordedRequest) {
    /// let _streamed = request.is_streaming();
    /// # }
    /// ```
    pub fn is_streaming(&self) -> bool {
        self.body["stream"].as_bool().unwrap_or(false)
    }

    /// The names in `tools`, in order.
    ///
    /// ```
    /// # fn demo(request: &agent_sdk::testing::RecordedRequest) {
    /// assert!(request.tool_names().contains(&"Bash"));
    /// # }
    /// ```
    pub fn tool_names(&self) -> Vec<&str> {
        self.body["tools"]
            .as_array()
            .map(|tools| tools.iter().filter_map(|t| t["name"].as_str()).collect())
            .unwrap_or_default()
    }

    /// The `tool_result` blocks of the last message (the user message that
    /// answers the previous turn's tool uses), in order.
    ///
    /// ```
    /// # fn demo(request: &agent_sdk::testing::RecordedRequest) {
    /// let hi = request.tool_results().iter().any(|r| r.text.contains("hi"));
    /// # let _ = hi;
    /// # }
    /// ```
    pub fn tool_results(&self) -> Vec<RecordedToolResult> {
        self.messages()
            .last()
            .map(tool_results_of)
            .unwrap_or_default()
    }

    /// Every `tool_result` block in all messages, in order.
    ///
    /// ```
    /// # fn demo(request: &agent_sdk::testing::RecordedRequest) {
    /// println!("{} tool results so far", request.all_tool_results().len());
    /// # }
    /// ```
    pub fn all_tool_results(&self) -> Vec<RecordedToolResult> {
        self.messages().iter().flat_map(tool_results_of).collect()
    }

    /// The text of the last `user` message: its string content, or its text
    /// blocks joined by `\n` (the CLI wraps prompts in several blocks,
    /// reminders included).
    ///
    /// ```
    /// # fn demo(request: &agent_sdk::testing::RecordedRequest) {
    /// assert!(request.last_user_text().unwrap_or_default().contains("hi"));
    /// # }
    /// ```
    pub fn last_user_text(&self) -> Option<String> {
        let message = self.messages().iter().rev().find(|m| m["role"] == "user")?;
        Some(content_text(&message["content"]))
    }
}

fn classify(method: &str, path: &str, body: &Value) -> RequestKind {
    let route = path.split('?').next().unwrap_or(path);
    match (method, route) {
        ("POST", "/v1/messages") => {
            let has_tools = body.get("tools").is_some();
            let probe = body["max_tokens"].as_u64() == Some(1);
            if has_tools && !probe {
                RequestKind::MainLoop
            } else {
                RequestKind::Side
            }
        }
        ("POST", "/v1/messages/count_tokens") => RequestKind::CountTokens,
        _ => RequestKind::Unknown,
    }
}

fn tool_results_of(message: &Value) -> Vec<RecordedToolResult> {
    let Some(blocks) = message["content"].as_array() else {
        return Vec::new();
    };
    blocks
        .iter()
        .filter(|b| b["type"] == "tool_result")
        .map(|block| RecordedToolResult {
            tool_use_id: block["tool_use_id"].as_str().unwrap_or_default().to_owned(),
            text: content_text(&block["content"]),
            is_error: block["is_error"].as_bool().unwrap_or(false),
            raw: block.clone(),
        })
        .collect()
}

/// A string content as is; text blocks joined by `\n`.
/// The user's own words: text blocks without the `<system-reminder>` sections the CLI adds.
fn content_text(content: &Value) -> String {
    let texts: Vec<&str> = match content {
        Value::String(text) => vec![text.as_str()],
        Value::Array(blocks) => blocks
            .iter()
            .filter(|b| b["type"] == "text")
            .filter_map(|b| b["text"].as_str())
            .collect(),
        _ => Vec::new(),
    };
    texts
        .into_iter()
        .map(without_system_reminders)
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

fn without_system_reminders(text: &str) -> String {
    const OPEN: &str = "<system-reminder>";
    const CLOSE: &str = "</system-reminder>";
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find(OPEN) {
        out.push_str(&rest[..start]);
        match rest[start..].find(CLOSE) {
            Some(end) => rest = &rest[start + end + CLOSE.len()..],
            None => {
                rest = "";
                break;
            }
        }
    }
    out.push_str(rest);
    out.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn user_text_leaves_out_system_reminders() {
        let content = json!([{"type":"text","text":"<system-reminder>\nattribution\n</system-reminder>\n\nSay hello"}]);
        assert_eq!(content_text(&content), "Say hello");
        let content = json!([{"type":"text","text":"<system-reminder>x</system-reminder>"},{"type":"text","text":"hi"}]);
        assert_eq!(content_text(&content), "hi");
        assert_eq!(content_text(&json!("plain")), "plain");
    }

    fn request(body: Value) -> RecordedRequest {
        let headers = BTreeMap::from([
            ("X-Api-Key".to_owned(), "sk-secret".to_owned()),
            ("anthropic-version".to_owned(), "2023-06-01".to_owned()),
        ]);
        RecordedRequest::new(
            0,
            "POST".into(),
            "/v1/messages?beta=true".into(),
            headers,
            body,
        )
    }

    #[test]
    fn classifies_main_loop_side_and_probe_requests() {
        assert_eq!(
            request(json!({"tools": [], "max_tokens": 32000})).kind,
            RequestKind::MainLoop
        );
        assert_eq!(request(json!({"max_tokens": 512})).kind, RequestKind::Side);
        assert_eq!(
            request(json!({"tools": [], "max_tokens": 1})).kind,
            RequestKind::Side
        );
        let other = RecordedRequest::new(
            1,
            "GET".into(),
            "/v1/models".into(),
            BTreeMap::new(),
            Value::Null,
        );
        assert_eq!(other.kind, RequestKind::Unknown);
    }

    #[test]
    fn redacts_secrets_and_lowercases_names() {
        let r = request(json!({}));
        assert_eq!(r.header("x-api-key"), Some("<redacted>"));
        assert_eq!(r.header("Anthropic-Version"), Some("2023-06-01"));
    }

    #[test]
    fn finds_tool_results_of_the_last_message() {
        let r = request(
            json!({"tools": [{"name": "Bash"}], "max_tokens": 100, "messages": [
                {"role": "user", "content": "run it"},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_0001", "name": "Bash", "input": {}}]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_0001", "content": "hi", "is_error": false},
                    {"type": "tool_result", "tool_use_id": "toolu_0002", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}], "is_error": true},
                    {"type": "text", "text": "reminder"}
                ]}
            ]}),
        );
        let results = r.tool_results();
        assert_eq!(results.len(), 2);
        assert_eq!(results[0].tool_use_id, "toolu_0001");
        assert_eq!(results[0].text, "hi");
        assert!(!results[0].is_error);
        assert_eq!(results[1].text, "a\nb");
        assert!(results[1].is_error);
        assert_eq!(r.all_tool_results().len(), 2);
        assert_eq!(r.tool_names(), vec!["Bash"]);
        assert_eq!(r.last_user_text().as_deref(), Some("reminder"));
    }
}
