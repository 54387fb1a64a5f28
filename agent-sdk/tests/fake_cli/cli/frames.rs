//! The assistant frame the `protocol` and `message_parse` benchmarks parse,
//! shaped as the real CLI 2.1.330 prints it (ids widened so every frame differs).

use std::io::Write;

/// One assistant frame as the real CLI prints it: a ~200-byte text block, a small
/// `tool_use` block and a usage object. `{N}` is replaced by the frame number.
const ASSISTANT_HEAD: &str = r#"{"type":"assistant","message":{"id":"msg_01"#;
const ASSISTANT_MIDDLE: &str = r#"","type":"message","role":"assistant","model":"claude-opus-5-5","content":[{"type":"text","text":"Let me add those two numbers for you. I will call the calculator tool with the values you gave, check that the result is what we expect, and then summarise the answer in one short sentence."},{"type":"tool_use","id":"toolu_01"#;
const ASSISTANT_TAIL: &str = r#"","name":"mcp__calc__add","input":{"a":2,"b":3}}],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":1,"cache_creation_input_tokens":0,"cache_read_input_tokens":0},"context_management":null},"parent_tool_use_id":null,"session_id":"0c6b1a4e-9d3f-4b8e-a1c2-5f7d9e0b3a61","uuid":"6122cdf3-a770-46f6-9120-"#;
const ASSISTANT_END: &str = r#"","timestamp":"2026-11-21T13:37:48.364Z"}"#;

/// Writes frame number `n`, with its newline.
pub fn write_assistant(output: &mut impl Write, n: u64) -> std::io::Result<()> {
    writeln!(
        output,
        "{ASSISTANT_HEAD}{n:020}{ASSISTANT_MIDDLE}{n:020}{ASSISTANT_TAIL}{n:012}{ASSISTANT_END}"
    )
}
