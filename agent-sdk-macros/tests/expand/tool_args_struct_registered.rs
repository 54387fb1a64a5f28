// Expansion of:
// #[tool(server = "docs", max_result_size_chars = 5000, crate = "sdk")]
// async fn search(#[args] query: Query) -> Result<Json<Hits>, ToolError> {
//     find(query).await
// }

#[allow(clippy::unused_async)]
async fn search(query: Query) -> Result<Json<Hits>, ToolError> {
    find(query).await
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
    use sdk::__private as __agent_sdk;
    const _: () = {
        __agent_sdk::assert_tool_parameter::<Query>();
        __agent_sdk::assert_tool_output::<Result<Json<Hits>, ToolError>>();
    };
    impl __agent_sdk::Tool for search
    where
        for<'__tool> Query: __agent_sdk::ToolParameter,
        for<'__tool> Result<Json<Hits>, ToolError>: __agent_sdk::IntoToolResult,
    {
        fn definition(
            &self,
        ) -> ::core::result::Result<
            __agent_sdk::ToolDefinition,
            __agent_sdk::SchemaError,
        > {
            __agent_sdk::tool_definition::<
                Query,
                Result<Json<Hits>, ToolError>,
            >(
                &__agent_sdk::ToolSpec {
                    name: "search",
                    description: ::core::option::Option::None,
                    title: ::core::option::Option::None,
                    read_only: ::core::option::Option::None,
                    destructive: ::core::option::Option::None,
                    idempotent: ::core::option::Option::None,
                    open_world: ::core::option::Option::None,
                    max_result_size_chars: ::core::option::Option::Some(5000),
                },
            )
        }
        fn call(
            &self,
            arguments: __agent_sdk::serde_json::Value,
            _: __agent_sdk::ToolContext,
        ) -> __agent_sdk::BoxFuture<'static, __agent_sdk::ToolResult> {
            ::std::boxed::Box::pin(async move {
                let __arguments: Query = match __agent_sdk::deserialize_arguments(
                    arguments,
                ) {
                    ::core::result::Result::Ok(arguments) => arguments,
                    ::core::result::Result::Err(error) => return error,
                };
                __agent_sdk::into_tool_result(search(__arguments).await)
            })
        }
        fn takes_context(&self) -> bool {
            false
        }
    }
    impl<__S> __agent_sdk::ServedWith<__S> for search {}
    fn __make_tool() -> ::std::sync::Arc<dyn __agent_sdk::Tool> {
        use __agent_sdk::{MakeRegistered as _, MakeUnbuilt as _};
        (&&__agent_sdk::Registered::<search>(::core::marker::PhantomData)).make_tool()
    }
    __agent_sdk::inventory::submit! {
        __agent_sdk::ToolRegistration::__new("docs", __make_tool)
    }
};
