// Expansion of:
// create_sdk_mcp_server!("docs", crate = "sdk")

fn expansion() {
    let _ = {
        use sdk::__private as __agent_sdk;
        __agent_sdk::build_server(
            "docs",
            ::core::option::Option::None,
            ::core::option::Option::None,
            ::core::option::Option::None,
        )
    };
}
