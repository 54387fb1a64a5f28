// Expansion of:
// #[tool()]
// /// Look a key up.
// async fn lookup(State(db): State<Db>, key: String, context: ToolContext, limit: u32) -> String {
//     db.get(&key, limit, context.tool_use_id()).await
// }

#[allow(clippy::unused_async)]
/// Look a key up.
async fn lookup(
    State(db): State<Db>,
    key: String,
    context: ToolContext,
    limit: u32,
) -> String {
    db.get(&key, limit, context.tool_use_id()).await
}
/// The MCP tool `lookup` made by `#[tool]` from [`lookup()`](lookup()): list it in `create_sdk_mcp_server!(..., tools = [lookup])` or pass `lookup {}` to `SdkMcpServerBuilder::tool`.
#[allow(non_camel_case_types, dead_code)]
#[derive(
    ::core::clone::Clone,
    ::core::marker::Copy,
    ::core::fmt::Debug,
    ::core::default::Default,
)]
struct lookup {}
#[allow(dead_code)]
impl lookup {
    /// The tool name.
    pub const NAME: &'static str = "lookup";
}
const _: () = {
    use ::agent_sdk::__private as __agent_sdk;
    const _: () = {
        __agent_sdk::assert_tool_parameter::<String>();
        __agent_sdk::assert_tool_parameter::<u32>();
        __agent_sdk::assert_tool_state::<Db>();
        __agent_sdk::assert_tool_output::<String>();
    };
    #[derive(__agent_sdk::serde::Deserialize, __agent_sdk::schemars::JsonSchema)]
    #[serde(crate = "__agent_sdk::serde")]
    #[schemars(crate = "__agent_sdk::schemars")]
    struct __ToolArguments
    where
        for<'__tool> String: __agent_sdk::ToolParameter,
        for<'__tool> u32: __agent_sdk::ToolParameter,
    {
        key: String,
        limit: u32,
    }
    impl __agent_sdk::Tool for lookup
    where
        for<'__tool> String: __agent_sdk::ToolParameter,
        for<'__tool> u32: __agent_sdk::ToolParameter,
        for<'__tool> Db: __agent_sdk::ToolState,
        for<'__tool> String: __agent_sdk::IntoToolResult,
    {
        fn definition(
            &self,
        ) -> ::core::result::Result<
            __agent_sdk::ToolDefinition,
            __agent_sdk::SchemaError,
        > {
            use __agent_sdk::{DefineFromTable as _, DefineWithSchemars as _};
            (&&__agent_sdk::DefinitionProbe::<
                (String, u32),
                __ToolArguments,
                String,
            >::new())
                .definition(
                    &__agent_sdk::ToolSpec {
                        name: "lookup",
                        description: ::core::option::Option::Some("Look a key up."),
                        title: ::core::option::Option::None,
                        read_only: ::core::option::Option::None,
                        destructive: ::core::option::Option::None,
                        idempotent: ::core::option::Option::None,
                        open_world: ::core::option::Option::None,
                        max_result_size_chars: ::core::option::Option::None,
                    },
                    &[
                        ("key", ::core::option::Option::None),
                        ("limit", ::core::option::Option::None),
                    ],
                )
        }
        fn call(
            &self,
            arguments: __agent_sdk::serde_json::Value,
            __context: __agent_sdk::ToolContext,
        ) -> __agent_sdk::BoxFuture<'static, __agent_sdk::ToolResult> {
            ::std::boxed::Box::pin(async move {
                let __arguments: __ToolArguments = match __agent_sdk::deserialize_arguments(
                    arguments,
                ) {
                    ::core::result::Result::Ok(arguments) => arguments,
                    ::core::result::Result::Err(error) => return error,
                };
                let __state_0 = match __agent_sdk::extract_state::<Db>(&__context) {
                    ::core::result::Result::Ok(state) => state,
                    ::core::result::Result::Err(error) => return error,
                };
                __agent_sdk::into_tool_result(
                    lookup(__state_0, __arguments.key, __context, __arguments.limit)
                        .await,
                )
            })
        }
        fn required_states(&self) -> ::std::vec::Vec<__agent_sdk::RequiredState> {
            ::std::vec![__agent_sdk::RequiredState::of:: < Db > ()]
        }
    }
    impl<__S> __agent_sdk::ServedWith<__S> for lookup
    where
        __S: __agent_sdk::IsState<Db>,
    {}
};
