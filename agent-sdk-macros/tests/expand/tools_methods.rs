// Expansion of:
// #[tools]
// impl Db {
//     /// Look a key up.
//     #[tool(read_only)]
//     pub async fn get(&self, key: String, context: ToolContext) -> Option<String> {
//         self.read(&key, context.tool_use_id()).await
//     }
//
//     async fn read(&self, key: &str, _by: Option<&str>) -> Option<String> {
//         None
//     }
// }

impl Db {
    #[allow(clippy::unused_async)]
    /// Look a key up.
    pub async fn get(&self, key: String, context: ToolContext) -> Option<String> {
        self.read(&key, context.tool_use_id()).await
    }
    async fn read(&self, key: &str, _by: Option<&str>) -> Option<String> {
        None
    }
}
const _: () = {
    use ::agent_sdk::__private as __agent_sdk;
    #[allow(non_camel_case_types)]
    struct __Db_tool_get(::std::sync::Arc<Db>);
    const _: () = {
        const _: () = {
            __agent_sdk::assert_tool_parameter::<String>();
            __agent_sdk::assert_tool_output::<Option<String>>();
        };
        #[derive(__agent_sdk::serde::Deserialize, __agent_sdk::schemars::JsonSchema)]
        #[serde(crate = "__agent_sdk::serde")]
        #[schemars(crate = "__agent_sdk::schemars")]
        struct __ToolArguments
        where
            for<'__tool> String: __agent_sdk::ToolParameter,
        {
            key: String,
        }
        impl __agent_sdk::Tool for __Db_tool_get
        where
            for<'__tool> String: __agent_sdk::ToolParameter,
            for<'__tool> Option<String>: __agent_sdk::IntoToolResult,
        {
            fn definition(
                &self,
            ) -> ::core::result::Result<
                __agent_sdk::ToolDefinition,
                __agent_sdk::SchemaError,
            > {
                use __agent_sdk::{DefineFromTable as _, DefineWithSchemars as _};
                (&&__agent_sdk::DefinitionProbe::<
                    (String,),
                    __ToolArguments,
                    Option<String>,
                >::new())
                    .definition(
                        &__agent_sdk::ToolSpec {
                            name: "get",
                            description: ::core::option::Option::Some("Look a key up."),
                            title: ::core::option::Option::None,
                            read_only: ::core::option::Option::Some(true),
                            destructive: ::core::option::Option::None,
                            idempotent: ::core::option::Option::None,
                            open_world: ::core::option::Option::None,
                            max_result_size_chars: ::core::option::Option::None,
                        },
                        &[("key", ::core::option::Option::None)],
                    )
            }
            fn call(
                &self,
                arguments: __agent_sdk::serde_json::Value,
                __context: __agent_sdk::ToolContext,
            ) -> __agent_sdk::BoxFuture<'static, __agent_sdk::ToolResult> {
                let __this = ::std::sync::Arc::clone(&self.0);
                ::std::boxed::Box::pin(async move {
                    let __arguments: __ToolArguments = match __agent_sdk::deserialize_arguments(
                        arguments,
                    ) {
                        ::core::result::Result::Ok(arguments) => arguments,
                        ::core::result::Result::Err(error) => return error,
                    };
                    __agent_sdk::into_tool_result(
                        __this.get(__arguments.key, __context).await,
                    )
                })
            }
        }
    };
    impl __agent_sdk::ToolMethods for Db {
        fn tools(
            self: ::std::sync::Arc<Self>,
        ) -> ::std::vec::Vec<::std::sync::Arc<dyn __agent_sdk::Tool>> {
            ::std::vec![
                ::std::sync::Arc::new(__Db_tool_get(::std::sync::Arc::clone(& self))) as
                ::std::sync::Arc < dyn __agent_sdk::Tool >
            ]
        }
    }
};
