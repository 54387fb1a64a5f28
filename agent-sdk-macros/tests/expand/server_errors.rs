// Expansion of:
// create_sdk_mcp_server!("my calc", version = 1.0, tool = [add], tools = [add, add, 5], version = "2")

fn expansion() {
    let _ = {
        ::core::compile_error! {
            "invalid server name \"my calc\": use 1 to 64 characters of letters, digits, `_` and `-` (for example `get_weather`)"
        }
        ::core::compile_error! {
            "`version` needs a string literal, e.g. `version = \"1.0.0\"` (or `env!(\"CARGO_PKG_VERSION\")`)"
        }
        ::core::compile_error! {
            "unknown argument `tool`; did you mean `tools`? (known: `version`, `instructions`, `state`, `methods`, `tools`, `crate`)"
        }
        ::core::compile_error! {
            "`add` is listed twice: each tool may appear once in a server"
        }
        ::core::compile_error! {
            "expected the path of a `#[tool]` function, such as `add` or `math::divide`"
        }
        ::core::compile_error! {
            "`version` is given twice; keep one"
        }
        ::agent_sdk::__private::unbuilt_server()
    };
}
