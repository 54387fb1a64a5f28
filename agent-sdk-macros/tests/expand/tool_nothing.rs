// Expansion of:
// #[tool()]
// async fn ping() {}

#[allow(clippy::unused_async)]
async fn ping() {}
/// The MCP tool `ping` made by `#[tool]` from [`ping()`](ping()): list it in `create_sdk_mcp_server!(..., tools = [ping])` or pass `ping {}` to `SdkMcpServerBuilder::tool`.
#[allow(non_camel_case_types, dead_code)]
#[derive(
    ::core::clone::Clone,
    ::core::marker::Copy,
    ::core::fmt::Debug,
    ::core::default::Default,
)]
struct ping {}
#[allow(dead_code)]
impl ping {
    /// The tool name.
    pub const NAME: &'static str = "ping";
}
const _: () = {
    use ::agent_sdk::__private as __agent_sdk;
    const _: () = {
        __agent_sdk::assert_tool_output::<()>();
    };
    #[derive(__agent_sdk::serde::Deserialize, __agent_sdk::schemars::JsonSchema)]
    #[serde(crate = "__agent_sdk::serde")]
    #[schemars(crate = "__agent_sdk::schemars")]
    struct __ToolArguments {}
    impl __agent_sdk::Tool for ping
    where
        for<'__tool> (): __agent_sdk::IntoToolResult,
    {
        fn definition(
            &self,
        ) -> ::core::result::Result<
            __agent_sdk::ToolDefinition,
            __agent_sdk::SchemaError,
        > {
            use __agent_sdk::{DefineFromTable as _, DefineWithSchemars as _};
            (&&__agent_sdk::DefinitionProbe::<(), __ToolArguments, ()>::new())
                .definition(
                    &__agent_sdk::ToolSpec {
                        name: "ping",
                        description: ::core::option::Option::None,
                        title: ::core::option::Option::None,
                        read_only: ::core::option::Option::None,
                        destructive: ::core::option::Option::None,
                        idempotent: ::core::option::Option::None,
                        open_world: ::core::option::Option::None,
                        max_result_size_chars: ::core::option::Option::None,
                    },
                    &[],
                )
        }
        fn call(
            &self,
            arguments: __agent_sdk::serde_json::Value,
            _: __agent_sdk::ToolContext,
        ) -> __agent_sdk::BoxFuture<'static, __agent_sdk::ToolResult> {
            ::std::boxed::Box::pin(async move {
                let __arguments: __ToolArguments = match __agent_sdk::deserialize_arguments(
                    arguments,
                ) {
                    ::core::result::Result::Ok(arguments) => arguments,
                    ::core::result::Result::Err(error) => return error,
                };
                __agent_sdk::into_tool_result(ping().await)
            })
        }
        fn takes_context(&self) -> bool {
            false
        }
    }
    impl<__S> __agent_sdk::ServedWith<__S> for ping {}
};
