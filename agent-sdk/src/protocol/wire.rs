//! Control protocol envelopes as they travel on the wire (spec section 3.1).

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::mcp::JsonRpcAnswer;
use crate::transport::framing::HEAD_BYTES;

/// `{"type":"control_response","response":{...}}` sent by the CLI.
#[derive(Deserialize)]
pub(super) struct ControlResponseFrame {
    pub response: ControlResponseBody,
}

#[derive(Deserialize)]
pub(super) struct ControlResponseBody {
    pub subtype: String,
    pub request_id: String,
    #[serde(default)]
    pub response: Option<Value>,
    #[serde(default)]
    pub error: Option<String>,
}

/// `{"type":"control_request","request_id":...,"request":{...}}` sent by the CLI.
///
/// Borrowed: the request body is parsed later, and for `mcp_message` only its
/// JSON-RPC `message` becomes a `Value` (the hot path of every tool call).
/// A `control_request` from the CLI, read as far as routing needs: one pass over
/// the line, the JSON-RPC `message` of an `mcp_message` kept raw.
#[derive(Deserialize)]
pub(super) struct ControlRequestFrame<'a> {
    pub request_id: String,
    #[serde(borrow)]
    pub request: RequestHead<'a>,
}

/// A `control_request` with its whole `request`, for the subtypes without a fast
/// path (and requests of a shape the head does not fit).
#[derive(Deserialize)]
pub(super) struct ControlRequestWhole {
    pub request_id: String,
    pub request: Value,
}

/// The fields of a CLI request the router looks at before handing it over.
#[derive(Deserialize)]
pub(super) struct RequestHead<'a> {
    #[serde(borrow, default)]
    pub subtype: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub server_name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub message: Option<&'a RawValue>,
}

/// `{"type":"control_cancel_request","request_id":...}` sent by the CLI.
/// The JSON-RPC `message` of an `mcp_message` when it is a `tools/call`, read
/// without building a `Value` for the envelope (the hot path of every tool call).
/// Anything that does not fit takes the general path, which reports what is wrong.
#[derive(Deserialize)]
pub(super) struct ToolCallMessage<'a> {
    #[serde(borrow)]
    pub method: Cow<'a, str>,
    pub id: Value,
    pub params: ToolCallParams,
}

#[derive(Deserialize)]
pub(super) struct ToolCallParams {
    pub name: String,
    #[serde(default)]
    pub arguments: Value,
    #[serde(default, rename = "_meta")]
    pub meta: ToolCallMeta,
}

/// The `_meta` of a `tools/call`: what the CLI says about the call.
#[derive(Deserialize, Default)]
pub(super) struct ToolCallMeta {
    #[serde(default, rename = "claudecode/toolUseId")]
    pub tool_use_id: Option<String>,
    #[serde(default, rename = "progressToken")]
    pub progress_token: Option<Value>,
}

#[derive(Deserialize)]
pub(super) struct ControlCancelFrame {
    pub request_id: String,
}

/// A control request we send.
#[derive(Serialize)]
pub(super) struct OutgoingRequest<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub request_id: &'a str,
    pub request: &'a serde_json::Map<String, Value>,
}

/// Our answer to a CLI request.
#[derive(Serialize)]
pub(super) struct OutgoingResponse<'a, T> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub response: OutgoingResponseBody<'a, T>,
}

#[derive(Serialize)]
#[serde(tag = "subtype", rename_all = "lowercase")]
pub(super) enum OutgoingResponseBody<'a, T> {
    Success {
        request_id: &'a str,
        response: &'a T,
    },
    Error {
        request_id: &'a str,
        error: &'a str,
    },
}

/// The success payload of an answer to a CLI request.
#[derive(Serialize)]
#[serde(untagged)]
pub(super) enum Payload {
    /// Written as is.
    Value(Value),
    /// A JSON-RPC response, written as `{"mcp_response": ...}` without building that map.
    Mcp { mcp_response: JsonRpcAnswer },
}

/// Serializes an answer to a CLI request as one NDJSON line.
pub(super) fn response_line<T: Serialize>(
    request_id: &str,
    outcome: &Result<T, String>,
) -> Vec<u8> {
    let response = match outcome {
        Ok(payload) => OutgoingResponseBody::Success {
            request_id,
            response: payload,
        },
        Err(error) => OutgoingResponseBody::Error { request_id, error },
    };
    to_line(&OutgoingResponse {
        kind: "control_response",
        response,
    })
}

/// Serializes any frame as one NDJSON line (with the trailing `\n`).
pub(super) fn to_line(frame: &impl Serialize) -> Vec<u8> {
    let mut line = serde_json::to_vec(frame).expect("control frames always serialize");
    line.push(b'\n');
    line
}

/// What the router reads of a conversation frame it leaves to the reader to
/// parse: whether it belongs to a subagent (no allocation; the rest is skipped).
#[derive(Deserialize)]
pub(super) struct ThreadPeek {
    #[serde(default)]
    pub parent_tool_use_id: Option<serde::de::IgnoredAny>,
}

/// The `type` of a frame. The CLI writes `{"type":"...` first, so look there
/// before falling back to a full (borrowing) parse.
pub(super) fn frame_type(line: &[u8]) -> Option<std::borrow::Cow<'_, str>> {
    const PREFIX: &[u8] = b"{\"type\":\"";
    if let Some(rest) = line.strip_prefix(PREFIX)
        && let Some(end) = rest.iter().position(|&b| b == b'"' || b == b'\\')
        && rest[end] == b'"'
    {
        return std::str::from_utf8(&rest[..end])
            .ok()
            .map(std::borrow::Cow::Borrowed);
    }
    #[derive(Deserialize)]
    struct Peek<'a> {
        #[serde(borrow, rename = "type")]
        kind: Option<std::borrow::Cow<'a, str>>,
    }
    serde_json::from_slice::<Peek<'_>>(line)
        .ok()
        .and_then(|p| p.kind)
}

/// The top-level `type` and `request_id` of a frame, and the `request_id` inside
/// its `response`, read without parsing the frame: from a line too deep for
/// serde_json, cut short by the line limit, or otherwise broken further on.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct FrameHead {
    pub kind: Option<String>,
    pub request_id: Option<String>,
    pub response_request_id: Option<String>,
}

impl FrameHead {
    /// Scans the first `HEAD_BYTES` of `line` (what the framer keeps of an
    /// over-limit line; the CLI writes `type` and `request_id` first). Strings at depth 1 (and under
    /// `response` at depth 2) are read; nesting is only counted, so no depth
    /// is too deep. Stops at the first byte that cannot be JSON.
    pub(crate) fn scan(line: &[u8]) -> FrameHead {
        let line = &line[..line.len().min(HEAD_BYTES)];
        let mut head = FrameHead::default();
        // Per open bracket: an object (true) or an array. At most HEAD_BYTES deep.
        let mut open: Vec<bool> = Vec::new();
        // The key of the member being read at each level up to 2.
        let mut top_key: Option<String> = None;
        let mut key: Option<String> = None;
        let mut expect_key = false;
        let mut i = 0;
        while i < line.len() {
            match line[i] {
                brace @ (b'{' | b'[') => {
                    open.push(brace == b'{');
                    expect_key = brace == b'{';
                    key = None;
                }
                b'}' | b']' => {
                    if open.pop().is_none() {
                        break;
                    }
                    expect_key = false;
                }
                b',' => expect_key = open.last() == Some(&true),
                b'"' => {
                    let Some(len) = string_len(&line[i..]) else {
                        break;
                    };
                    let text = serde_json::from_slice::<String>(&line[i..i + len]).ok();
                    i += len;
                    if std::mem::take(&mut expect_key) {
                        if open.len() == 1 {
                            top_key.clone_from(&text);
                        }
                        key = text;
                        continue;
                    }
                    let slot = match (open.len(), key.as_deref()) {
                        (1, Some("type")) => &mut head.kind,
                        (1, Some("request_id")) => &mut head.request_id,
                        (2, Some("request_id"))
                            if open[1] && top_key.as_deref() == Some("response") =>
                        {
                            &mut head.response_request_id
                        }
                        _ => continue,
                    };
                    if slot.is_none() {
                        *slot = text;
                    }
                    continue;
                }
                _ => {}
            }
            i += 1;
        }
        head
    }
}

/// The length of the JSON string starting at `bytes[0] == b'"'`, quotes
/// included; `None` when it does not end inside `bytes`.
fn string_len(bytes: &[u8]) -> Option<usize> {
    let mut i = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_type_fast_and_slow_paths() {
        assert_eq!(
            frame_type(br#"{"type":"assistant","x":1}"#).as_deref(),
            Some("assistant")
        );
        assert_eq!(
            frame_type(br#"{ "x": 1, "type": "result"}"#).as_deref(),
            Some("result")
        );
        assert_eq!(frame_type(br#"{"x":1}"#), None);
        assert_eq!(frame_type(br#"{"type":"a\"b"}"#).as_deref(), Some("a\"b"));
    }

    #[test]
    fn frame_head_reads_ids_from_lines_serde_cannot() {
        let head = |line: &str| FrameHead::scan(line.as_bytes());
        // Cut short, too deep, and nested ids that are not the frame's.
        let cut = head(
            r#"{"type":"control_request","request_id":"r\"1","request":{"request_id":"no","x":[[["#,
        );
        assert_eq!(cut.kind.as_deref(), Some("control_request"));
        assert_eq!(cut.request_id.as_deref(), Some("r\"1"));
        let deep = format!(
            r#"{{"request":{{"a":{}}},"request_id":"r2","type":"control_request"}}"#,
            "[".repeat(20_000)
        );
        // Past HEAD_BYTES: only what the head holds is read.
        assert_eq!(head(&deep).request_id, None);
        let deep = format!(
            r#"{{"type":"control_request","request_id":"r2","request":{{"a":{}"#,
            "[".repeat(20_000)
        );
        assert_eq!(head(&deep).request_id.as_deref(), Some("r2"));
        let response = head(
            r#"{"type":"control_response","response":{"x":{"request_id":"no"},"request_id":"r3"}}"#,
        );
        assert_eq!(response.response_request_id.as_deref(), Some("r3"));
        assert_eq!(response.request_id, None);
        // Keys inside arrays and values that are not strings are not ids.
        let odd = head(r#"{"a":["request_id","x"],"request_id":7,"type":"t"}"#);
        assert_eq!(odd.request_id, None);
        assert_eq!(odd.kind.as_deref(), Some("t"));
        assert_eq!(head("]]]}{"), FrameHead::default());
    }

    #[test]
    fn responses_have_the_wire_shape() {
        let ok = response_line("r1", &Ok(serde_json::json!({"a": 1})));
        let ok: Value = serde_json::from_slice(&ok).unwrap();
        assert_eq!(
            ok,
            serde_json::json!({"type":"control_response","response":{"subtype":"success","request_id":"r1","response":{"a":1}}})
        );
        let mcp = response_line(
            "r3",
            &Ok(Payload::Mcp {
                mcp_response: JsonRpcAnswer::Value(
                    serde_json::json!({"jsonrpc": "2.0", "id": 1, "result": {}}),
                ),
            }),
        );
        let mcp: Value = serde_json::from_slice(&mcp).unwrap();
        assert_eq!(
            mcp,
            serde_json::json!({"type":"control_response","response":{"subtype":"success","request_id":"r3","response":{"mcp_response":{"jsonrpc":"2.0","id":1,"result":{}}}}})
        );
        // A tool result goes onto the wire without a Value, in the recorded shape.
        let call = response_line(
            "r4",
            &Ok(Payload::Mcp {
                mcp_response: JsonRpcAnswer::ToolResult {
                    id: serde_json::json!(7),
                    result: crate::mcp::ToolResult::text("5"),
                },
            }),
        );
        assert_eq!(
            std::str::from_utf8(&call).unwrap(),
            concat!(
                r#"{"type":"control_response","response":{"subtype":"success","request_id":"r4","#,
                r#""response":{"mcp_response":{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"5"}],"isError":false}}}}}"#,
                "\n"
            )
        );
        let err = response_line::<Value>("r2", &Err("boom".into()));
        let err: Value = serde_json::from_slice(&err).unwrap();
        assert_eq!(
            err,
            serde_json::json!({"type":"control_response","response":{"subtype":"error","request_id":"r2","error":"boom"}})
        );
    }
}
