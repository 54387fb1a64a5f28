// Expansion of:
// #[tool()]
// async fn search(pool: State<Pool>, #[args] query: Query) -> String {
//     pool.search(query).await
// }

#[allow(clippy::unused_async)]
async fn search(pool: State<Pool>, query: Query) -> String {
    pool.search(query).await
}
/// The MCP tool `search` made by `#[tool]` from [`search()`](search()): list it in `create_sdk_mcp_server!(..., tools = [search])` or pass `search {}` to `SdkMcpServerBuilder::tool`.
#[allow(non_camel_case_types, dead_code)]
#[derive(
    ::core::clone::Clone,
    ::core::marker::Copy,
    ::core::fmt::Debug,
    ::core::default::Default,
)]
struct search {}
#[allow(dead_code)]
impl search {
    /// The tool name.
    pub const NAME: &'static str = "search";
}
const _: () = {
    use ::agent_sdk::__private as __agent_sdk;
    const _: () = {
        __agent_sdk::assert_tool_parameter::<Query>();
        __agent_sdk::assert_tool_state::<Pool>();
        __agent_sdk::assert_tool_output::<String>();
    };
    impl __agent_sdk::Tool for search
    where
        for<'__tool> Query: __agent_sdk::ToolParameter,
        for<'__tool> Pool: __agent_sdk::ToolState,
        for<'__tool> String: __agent_sdk::IntoToolResult,
    {
        fn definition(
            &self,
        ) -> ::core::result::Result<
            __agent_sdk::ToolDefinition,
            __agent_sdk::SchemaError,
        > {
            __agent_sdk::tool_definition::<
                Query,
                String,
            >(
                &__agent_sdk::ToolSpec {
                    name: "search",
                    description: ::core::option::Option::None,
                    title: ::core::option::Option::None,
                    read_only: ::core::option::Option::None,
                    destructive: ::core::option::Option::None,
                    idempotent: ::core::option::Option::None,
                    open_world: ::core::option::Option::None,
                    max_result_size_chars: ::core::option::Option::None,
                },
            )
        }
        fn call(
            &self,
            arguments: __agent_sdk::serde_json::Value,
            __context: __agent_sdk::ToolContext,
        ) -> __agent_sdk::BoxFuture<'static, __agent_sdk::ToolResult> {
            ::std::boxed::Box::pin(async move {
                let __arguments: Query = match __agent_sdk::deserialize_arguments(
                    arguments,
                ) {
                    ::core::result::Result::Ok(arguments) => arguments,
                    ::core::result::Result::Err(error) => return error,
                };
                let __state_0 = match __agent_sdk::extract_state::<Pool>(&__context) {
                    ::core::result::Result::Ok(state) => state,
                    ::core::result::Result::Err(error) => return error,
                };
                __agent_sdk::into_tool_result(search(__state_0, __arguments).await)
            })
        }
        fn required_states(&self) -> ::std::vec::Vec<__agent_sdk::RequiredState> {
            ::std::vec![__agent_sdk::RequiredState::of:: < Pool > ()]
        }
    }
    impl<__S> __agent_sdk::ServedWith<__S> for search
    where
        __S: __agent_sdk::IsState<Pool>,
    {}
};
