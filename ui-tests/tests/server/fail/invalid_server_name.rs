fn main() {
    let _ = agent_sdk::create_sdk_mcp_server!("my calc");
}
