//! Tool argument validation: any schema either builds a server or is refused
//! with an error; any arguments then either reach the tool or are refused with an `isError` result.
#![no_main]

use agent_sdk::mcp::{DynamicTool, SdkMcpServer};
use agent_sdk_fuzz::block_on;
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

fuzz_target!(|data: &[u8]| {
    // Two JSON documents: the input schema, then the arguments.
    let mut documents = serde_json::Deserializer::from_slice(data).into_iter::<Value>();
    let (Some(Ok(schema)), Some(Ok(arguments))) = (documents.next(), documents.next()) else {
        return;
    };
    let tool = DynamicTool::new("t", schema, |_arguments: Value| async move { "ran" });
    let Ok(server) = SdkMcpServer::builder("f").tool(tool).build() else {
        return;
    };
    let result = block_on(server.call_tool("t", arguments));
    let result = serde_json::to_value(&result).unwrap();
    if result["isError"] != json!(true) {
        assert_eq!(result["content"][0]["text"], "ran", "{result}");
    }
});
