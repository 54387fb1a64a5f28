use agent_sdk::prelude::*;

/// Doc comment, overridden below.
#[tool(
    name = "delete-file",
    description = "Delete one file.",
    title = "Delete file",
    read_only = false,
    destructive,
    idempotent = true,
    open_world = false,
    max_result_size_chars = 10000,
    server = "files",
)]
async fn delete_file(path: String) -> Result<String, ToolError> {
    Ok(format!("deleted {path}"))
}

fn main() {
    let server = create_sdk_mcp_server!("files").unwrap();
    assert_eq!(server.qualified_tool_names(), ["mcp__files__delete-file"]);
    assert_eq!(delete_file::NAME, "delete-file");
}
