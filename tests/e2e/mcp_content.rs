//! What the model receives for each content block type of an in-process tool's result
//! (the table in the rustdoc of `agent_sdk::mcp::Content`).

use agent_sdk::mcp::{Content, DynamicTool, SdkMcpServer, ToolResult};
use agent_sdk::testing::{Script, Turn};
use agent_sdk_e2e::{World, collect, last_result};
use serde_json::{Value, json};

/// A 1x1 PNG.
const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_content_block_reaches_the_model_as_the_cli_renders_it() {
    let world = World::start(
        Script::new()
            .then(Turn::tool_use("mcp__gallery__blocks", json!({})))
            .then(Turn::text("seen")),
    )
    .await;
    let blocks = DynamicTool::new(
        "blocks",
        json!({"type": "object", "properties": {}}),
        |_arguments| async {
            ToolResult::new(vec![
                Content::text("plain text block"),
                Content::image(PNG, "image/png"),
                Content::text_resource("memo://text", "embedded text body", Some("text/plain")),
                Content::blob_resource("memo://blob", "AAECAw==", "application/octet-stream"),
                Content::resource_link("memo://linked", "linked").description("a linked memo"),
                Content::audio("UklGRiQAAABXQVZF", "audio/wav"),
            ])
        },
    );
    let gallery = SdkMcpServer::builder("gallery")
        .tool(blocks)
        .build()
        .unwrap();
    let options = world
        .options()
        .mcp_server("gallery", gallery)
        .allowed_tools(["mcp__gallery__blocks"])
        .build()
        .unwrap();
    let messages = collect(agent_sdk::query("show the blocks", options)).await;
    assert_eq!(last_result(&messages).subtype, "success", "{messages:#?}");

    let results = world.env.api().last_tool_results();
    assert_eq!(results.len(), 1, "{results:#?}");
    let content = results[0].raw["content"].as_array().expect("block content");
    let kinds: Vec<&str> = content.iter().filter_map(|b| b["type"].as_str()).collect();
    assert_eq!(
        kinds,
        ["text", "image", "text", "text", "text", "text", "text"],
        "{content:#?}"
    );
    let text = |i: usize| content[i]["text"].as_str().unwrap_or_default();
    assert_eq!(text(0), "plain text block");
    assert_eq!(
        content[1]["source"],
        json!({"type": "base64", "media_type": "image/png", "data": PNG})
    );
    assert!(text(2).starts_with("[Image: source: "), "{}", text(2));
    assert_eq!(
        text(3),
        "[Resource from gallery at memo://text] embedded text body"
    );
    assert!(
        text(4).starts_with(
            "[Resource from gallery at memo://blob] Binary content (application/octet-stream, 4 bytes) saved to "
        ),
        "{}",
        text(4)
    );
    assert_eq!(
        text(5),
        "[Resource link: linked] memo://linked (a linked memo)"
    );
    assert!(
        text(6).starts_with("[Audio from gallery] Binary content (audio/wav, 12 bytes) saved to "),
        "{}",
        text(6)
    );
    // The saved files hold the bytes the tool sent.
    let saved = |line: &str| line.rsplit("saved to ").next().unwrap().trim().to_owned();
    assert_eq!(std::fs::read(saved(text(4))).unwrap(), [0, 1, 2, 3]);
    assert_eq!(std::fs::read(saved(text(6))).unwrap().len(), 12);
    let _: &Value = &results[0].raw;
}
