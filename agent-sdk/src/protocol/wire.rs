//! Control protocol envelopes as they travel on the wire (spec section 3.1).

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::mcp::JsonRpcAnswer;

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
