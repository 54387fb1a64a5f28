// Expansion of:
// #[tool(name = "no spaces", read_onyl, title = 5)]
// fn add<T>(&self, (a, b): (f64, f64), text: &str) -> impl Display {
//                 a + b
//             }

fn add<T>(&self, (a, b): (f64, f64), text: &str) -> impl Display {
    a + b
}
/// The MCP tool `no spaces` made by `#[tool]` from [`add()`](add()): list it in `create_sdk_mcp_server!(..., tools = [add])` or pass `add {}` to `SdkMcpServerBuilder::tool`.
#[allow(non_camel_case_types, dead_code)]
#[derive(Clone, Copy, Debug, Default)]
struct add {}
#[allow(dead_code)]
impl add {
    /// The tool name.
    pub const NAME: &'static str = "no spaces";
}
const _: () = {
    use ::agent_sdk::__private as __agent_sdk;
    impl __agent_sdk::Tool for add {
        fn definition(
            &self,
        ) -> ::core::result::Result<
            __agent_sdk::ToolDefinition,
            __agent_sdk::SchemaError,
        > {
            __agent_sdk::unbuilt_tool()
        }
        fn call(
            &self,
            _: __agent_sdk::serde_json::Value,
        ) -> __agent_sdk::BoxFuture<__agent_sdk::ToolResult> {
            __agent_sdk::unbuilt_tool()
        }
    }
};
::core::compile_error! {
    "unknown argument `read_onyl`; did you mean `read_only`? (known: `name`, `description`, `title`, `server`, `read_only`, `destructive`, `idempotent`, `open_world`, `max_result_size_chars`, `crate`)"
}
::core::compile_error! {
    "`title` needs a string literal: `title = \"...\"`"
}
::core::compile_error! {
    "#[tool] needs an async function: write `async fn`"
}
::core::compile_error! {
    "#[tool] functions cannot be generic: the argument schema is derived from concrete types; write the parameter types out"
}
::core::compile_error! {
    "invalid tool name \"no spaces\": use 1 to 64 characters of letters, digits, `_` and `-` (for example `get_weather`)"
}
::core::compile_error! {
    "#[tool] functions cannot return `impl Trait`: name the type"
}
::core::compile_error! {
    "#[tool] cannot take `self`: write a free async function and keep shared state in a static or pass it in the arguments"
}
::core::compile_error! {
    "#[tool] parameters must be plain names such as `city: String`; destructure inside the function body instead"
}
::core::compile_error! {
    "#[tool] parameters must be owned, because arguments are deserialized from JSON: use `String` instead of `&str`, `Vec<T>` instead of `&[T]`"
}
