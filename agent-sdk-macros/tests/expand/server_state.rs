// Expansion of:
// create_sdk_mcp_server!("db", state = app.clone(), tools = [lookup, add])

fn expansion() {
    let _ = {
        use ::agent_sdk::__private as __agent_sdk;
        const _: () = __agent_sdk::assert_distinct_tool_names::<
            lookup,
            add,
            __agent_sdk::ToolNames<
                { !__agent_sdk::same_name(<lookup>::NAME, <add>::NAME) },
            >,
        >();
        let __state = app.clone();
        <lookup as __agent_sdk::ServedWith<_>>::check(&__state);
        <add as __agent_sdk::ServedWith<_>>::check(&__state);
        __agent_sdk::build_server_with(
            "db",
            ::core::option::Option::None,
            ::core::option::Option::None,
            ::core::option::Option::Some(
                ::std::vec::Vec::from([
                    __agent_sdk::shared_tool(
                        <lookup as ::core::default::Default>::default(),
                    ),
                    __agent_sdk::shared_tool(
                        <add as ::core::default::Default>::default(),
                    ),
                ]),
            ),
            |builder| builder.state(__state),
        )
    };
}
