//! Typed inputs of the CLI's built-in tools (`Bash`, `Read`, `Write`, `Edit`, ...).
//!
//! The structs are generated from `sdk-tools.d.ts` of the pinned CLI (2.1.330) by
//! `agent-sdk/tools-gen/gen_tool_inputs.py`. Each keeps the fields it does not
//! know in `extra`, so parsing an input and turning it back into JSON loses nothing.
//!
//! Hook inputs and permission requests offer `tool_input_as::<T>()`, which checks
//! the tool name and parses the input:
//!
//! ```
//! use agent_sdk::tool_inputs::{BashInput, ToolInput};
//!
//! let json = serde_json::json!({"command": "ls -la", "description": "list"});
//! let mut bash = BashInput::from_value("Bash", &json).expect("a Bash input");
//! assert_eq!(bash.command, "ls -la");
//! bash.command = "ls".into();
//! assert_eq!(bash.to_value(), serde_json::json!({"command": "ls", "description": "list"}));
//! // Another tool's input is not a Bash input.
//! assert!(BashInput::from_value("Read", &json).is_none());
//! ```

mod generated;

pub use generated::*;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// `Edit` tool input (the `.d.ts` calls it `FileEditInput`).
pub type EditInput = FileEditInput;
/// `Read` tool input (the `.d.ts` calls it `FileReadInput`).
pub type ReadInput = FileReadInput;
/// `Write` tool input (the `.d.ts` calls it `FileWriteInput`).
pub type WriteInput = FileWriteInput;
/// `Task` is the older name of the `Agent` tool.
pub type TaskInput = AgentInput;

/// The typed input of one built-in tool.
///
/// ```
/// use agent_sdk::tool_inputs::{ReadInput, ToolInput};
/// assert_eq!(ReadInput::TOOL_NAMES, &["Read"]);
/// ```
pub trait ToolInput: Serialize + DeserializeOwned {
    /// The names under which the CLI calls this tool (`tool_name` on the wire).
    const TOOL_NAMES: &'static [&'static str];

    /// True when `tool_name` is one of [`Self::TOOL_NAMES`].
    fn is_tool(tool_name: &str) -> bool {
        Self::TOOL_NAMES.contains(&tool_name)
    }

    /// Parses `input` when `tool_name` names this tool; `None` for another tool
    /// or an input that does not fit.
    fn from_value(tool_name: &str, input: &serde_json::Value) -> Option<Self> {
        if !Self::is_tool(tool_name) {
            return None;
        }
        serde_json::from_value(input.clone()).ok()
    }

    /// The input as JSON, for an `updatedInput`.
    fn to_value(&self) -> serde_json::Value {
        // Plain structs of strings, numbers, maps and JSON values: serializing cannot fail.
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}
