//! Bodies the fake API sends: the Messages API's JSON message, its SSE
//! event sequence, and its error body.

use serde_json::{Value, json};

/// Largest piece of text or JSON in one `content_block_delta` (the real API
/// streams small pieces; several deltas exercise the CLI's accumulation).
const DELTA_CHUNK: usize = 24;

/// A fully resolved content block of an answer, ids assigned.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum WireBlock {
    Text(String),
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
}

/// A resolved answer message.
#[derive(Debug, Clone)]
pub(crate) struct WireMessage {
    pub id: String,
    pub model: String,
    pub blocks: Vec<WireBlock>,
    pub input_tokens: u64,
    /// Ends with stop reason `refusal` (whatever its blocks).
    pub refusal: bool,
}

impl WireMessage {
    pub fn stop_reason(&self) -> &'static str {
        if self.refusal {
            "refusal"
        } else if self
            .blocks
            .iter()
            .any(|b| matches!(b, WireBlock::ToolUse { .. }))
        {
            "tool_use"
        } else {
            "end_turn"
        }
    }

    /// A rough count (4 bytes a token) so usage and cost are non-zero and stable.
    pub fn output_tokens(&self) -> u64 {
        let bytes: usize = self
            .blocks
            .iter()
            .map(|b| match b {
                WireBlock::Text(text) => text.len(),
                WireBlock::ToolUse { name, input, .. } => name.len() + input.to_string().len(),
            })
            .sum();
        (bytes as u64).div_ceil(4).max(1)
    }

    fn block_json(block: &WireBlock) -> Value {
        match block {
            WireBlock::Text(text) => json!({"type": "text", "text": text}),
            WireBlock::ToolUse { id, name, input } => {
                json!({"type": "tool_use", "id": id, "name": name, "input": input})
            }
        }
    }

    fn usage(&self, output_tokens: u64) -> Value {
        json!({
            "input_tokens": self.input_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": output_tokens,
            "service_tier": "standard",
        })
    }

    /// The non-streaming answer body.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": self.blocks.iter().map(Self::block_json).collect::<Vec<_>>(),
            "stop_reason": self.stop_reason(),
            "stop_sequence": null,
            "usage": self.usage(self.output_tokens()),
        })
    }

    /// The streamed answer as `(event name, data)` pairs, in the real API's order:
    /// `message_start`, `ping`, per block `content_block_start` /
    /// `content_block_delta`... / `content_block_stop`, `message_delta`, `message_stop`.
    pub fn to_events(&self) -> Vec<(&'static str, Value)> {
        let mut events = vec![
            (
                "message_start",
                json!({"type": "message_start", "message": {
                    "id": self.id,
                    "type": "message",
                    "role": "assistant",
                    "model": self.model,
                    "content": [],
                    "stop_reason": null,
                    "stop_sequence": null,
                    "usage": self.usage(1),
                }}),
            ),
            ("ping", json!({"type": "ping"})),
        ];
        for (index, block) in self.blocks.iter().enumerate() {
            let (start, deltas) = match block {
                WireBlock::Text(text) => (
                    json!({"type": "text", "text": ""}),
                    chunks(text)
                        .map(|piece| json!({"type": "text_delta", "text": piece}))
                        .collect::<Vec<_>>(),
                ),
                WireBlock::ToolUse { id, name, input } => {
                    let input = input.to_string();
                    let mut deltas = vec![json!({"type": "input_json_delta", "partial_json": ""})];
                    deltas.extend(
                        chunks(&input).map(
                            |piece| json!({"type": "input_json_delta", "partial_json": piece}),
                        ),
                    );
                    (
                        json!({"type": "tool_use", "id": id, "name": name, "input": {}}),
                        deltas,
                    )
                }
            };
            events.push((
                "content_block_start",
                json!({"type": "content_block_start", "index": index, "content_block": start}),
            ));
            for delta in deltas {
                events.push((
                    "content_block_delta",
                    json!({"type": "content_block_delta", "index": index, "delta": delta}),
                ));
            }
            events.push((
                "content_block_stop",
                json!({"type": "content_block_stop", "index": index}),
            ));
        }
        events.push((
            "message_delta",
            json!({
                "type": "message_delta",
                "delta": {"stop_reason": self.stop_reason(), "stop_sequence": null},
                "usage": {"output_tokens": self.output_tokens()},
            }),
        ));
        events.push(("message_stop", json!({"type": "message_stop"})));
        events
    }

    /// The streamed answer as `text/event-stream` frames, one per event.
    pub fn to_sse_frames(&self) -> Vec<String> {
        self.to_events()
            .into_iter()
            .map(|(event, data)| format!("event: {event}\ndata: {data}\n\n"))
            .collect()
    }

    /// The streamed answer as one `text/event-stream` body.
    pub fn to_sse(&self) -> String {
        self.to_sse_frames().concat()
    }
}

/// Splits `text` into pieces of at most [`DELTA_CHUNK`] bytes on char boundaries.
fn chunks(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut end = rest.len().min(DELTA_CHUNK);
        while !rest.is_char_boundary(end) {
            end += 1;
        }
        let (piece, tail) = rest.split_at(end);
        rest = tail;
        Some(piece)
    })
}

/// The API's `error.type` for an HTTP status.
pub(crate) fn error_type(status: u16) -> &'static str {
    match status {
        400 => "invalid_request_error",
        401 => "authentication_error",
        402 => "billing_error",
        403 => "permission_error",
        404 => "not_found_error",
        408 => "timeout_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        529 => "overloaded_error",
        _ => "api_error",
    }
}

/// The API's error body.
pub(crate) fn error_body(status: u16, message: &str, request_id: &str) -> Value {
    json!({
        "type": "error",
        "error": {"type": error_type(status), "message": message},
        "request_id": request_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> WireMessage {
        WireMessage {
            id: "msg_0001".into(),
            model: "claude-test".into(),
            blocks: vec![
                WireBlock::Text("héllo wörld, this text is longer than one chunk".into()),
                WireBlock::ToolUse {
                    id: "toolu_0001".into(),
                    name: "Bash".into(),
                    input: json!({"command": "echo hi", "description": "say hi to the test"}),
                },
            ],
            input_tokens: 10,
            refusal: false,
        }
    }

    #[test]
    fn events_follow_the_api_order_and_reassemble() {
        let events = message().to_events();
        let names: Vec<_> = events.iter().map(|(name, _)| *name).collect();
        assert_eq!(names.first(), Some(&"message_start"));
        assert_eq!(names[1], "ping");
        assert_eq!(&names[names.len() - 2..], ["message_delta", "message_stop"]);
        assert_eq!(
            events[events.len() - 2].1["delta"]["stop_reason"],
            "tool_use"
        );

        let mut text = String::new();
        let mut json_text = String::new();
        for (name, data) in &events {
            if *name == "content_block_delta" {
                match data["index"].as_u64() {
                    Some(0) => text.push_str(data["delta"]["text"].as_str().unwrap()),
                    Some(1) => json_text.push_str(data["delta"]["partial_json"].as_str().unwrap()),
                    other => panic!("unexpected index {other:?}"),
                }
            }
        }
        assert_eq!(text, "héllo wörld, this text is longer than one chunk");
        let input: Value = serde_json::from_str(&json_text).unwrap();
        assert_eq!(input["command"], "echo hi");
        assert_eq!(
            names
                .iter()
                .filter(|n| **n == "content_block_start")
                .count(),
            2
        );
    }

    #[test]
    fn sse_body_has_event_and_data_lines() {
        let sse = message().to_sse();
        assert!(sse.starts_with("event: message_start\ndata: {"));
        assert!(sse.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"));
    }

    #[test]
    fn json_answer_and_error_shape() {
        let body = message().to_json();
        assert_eq!(body["content"][1]["id"], "toolu_0001");
        assert_eq!(body["stop_reason"], "tool_use");
        let error = error_body(529, "Overloaded", "req_1");
        assert_eq!(error["error"]["type"], "overloaded_error");
        assert_eq!(error["type"], "error");
    }
}
