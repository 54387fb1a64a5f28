// Expansion of:
// #[tool(name = "get_weather", title = "Weather", read_only, destructive = false)]
// /// The weather in a city.
// pub async fn weather(
//     /// The city name.
//     city: String,
//     #[serde(default)]
//     days: Option<u8>,
// ) -> String {
//     format!("{city} {days:?}")
// }

#[allow(clippy::unused_async)]
/// The weather in a city.
pub async fn weather(city: String, days: Option<u8>) -> String {
    format!("{city} {days:?}")
}
/// The MCP tool `get_weather` made by `#[tool]` from [`weather()`](weather()): list it in `create_sdk_mcp_server!(..., tools = [weather])` or pass `weather {}` to `SdkMcpServerBuilder::tool`.
#[allow(non_camel_case_types, dead_code)]
#[derive(
    ::core::clone::Clone,
    ::core::marker::Copy,
    ::core::fmt::Debug,
    ::core::default::Default,
)]
pub struct weather {}
#[allow(dead_code)]
impl weather {
    /// The tool name.
    pub const NAME: &'static str = "get_weather";
}
const _: () = {
    use ::agent_sdk::__private as __agent_sdk;
    const _: () = {
        __agent_sdk::assert_tool_parameter::<String>();
        __agent_sdk::assert_tool_parameter::<Option<u8>>();
        __agent_sdk::assert_tool_output::<String>();
    };
    #[derive(__agent_sdk::serde::Deserialize, __agent_sdk::schemars::JsonSchema)]
    #[serde(crate = "__agent_sdk::serde")]
    #[schemars(crate = "__agent_sdk::schemars")]
    struct __ToolArguments
    where
        for<'__tool> String: __agent_sdk::ToolParameter,
        for<'__tool> Option<u8>: __agent_sdk::ToolParameter,
    {
        /// The city name.
        city: String,
        #[serde(default)]
        days: Option<u8>,
    }
    impl __agent_sdk::Tool for weather
    where
        for<'__tool> String: __agent_sdk::ToolParameter,
        for<'__tool> Option<u8>: __agent_sdk::ToolParameter,
        for<'__tool> String: __agent_sdk::IntoToolResult,
    {
        fn definition(
            &self,
        ) -> ::core::result::Result<
            __agent_sdk::ToolDefinition,
            __agent_sdk::SchemaError,
        > {
            __agent_sdk::tool_definition::<
                __ToolArguments,
                String,
            >(
                &__agent_sdk::ToolSpec {
                    name: "get_weather",
                    description: ::core::option::Option::Some("The weather in a city."),
                    title: ::core::option::Option::Some("Weather"),
                    read_only: ::core::option::Option::Some(true),
                    destructive: ::core::option::Option::Some(false),
                    idempotent: ::core::option::Option::None,
                    open_world: ::core::option::Option::None,
                    max_result_size_chars: ::core::option::Option::None,
                },
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
                __agent_sdk::into_tool_result(
                    weather(__arguments.city, __arguments.days).await,
                )
            })
        }
        fn takes_context(&self) -> bool {
            false
        }
    }
    impl<__S> __agent_sdk::ServedWith<__S> for weather {}
};
