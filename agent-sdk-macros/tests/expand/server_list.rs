// Expansion of:
// create_sdk_mcp_server!("calc", version = env!("CARGO_PKG_VERSION"), instructions = "Use add.", tools = [add, math::divide, sub])

fn expansion() {
    let _ = {
        use ::agent_sdk::__private as __agent_sdk;
        const _: () = __agent_sdk::assert_distinct_tool_names::<
            add,
            math::divide,
            __agent_sdk::ToolNames<
                { !__agent_sdk::same_name(<add>::NAME, <math::divide>::NAME) },
            >,
        >();
        const _: () = __agent_sdk::assert_distinct_tool_names::<
            add,
            sub,
            __agent_sdk::ToolNames<{ !__agent_sdk::same_name(<add>::NAME, <sub>::NAME) }>,
        >();
        const _: () = __agent_sdk::assert_distinct_tool_names::<
            math::divide,
            sub,
            __agent_sdk::ToolNames<
                { !__agent_sdk::same_name(<math::divide>::NAME, <sub>::NAME) },
            >,
        >();
        let __state = __agent_sdk::NoStateSupplied;
        <add as __agent_sdk::ServedWith<_>>::check(&__state);
        <math::divide as __agent_sdk::ServedWith<_>>::check(&__state);
        <sub as __agent_sdk::ServedWith<_>>::check(&__state);
        __agent_sdk::build_server(
            "calc",
            ::core::option::Option::Some(env!("CARGO_PKG_VERSION")),
            ::core::option::Option::Some("Use add."),
            ::core::option::Option::Some(
                ::std::vec::Vec::from([
                    __agent_sdk::shared_tool(
                        <add as ::core::default::Default>::default(),
                    ),
                    __agent_sdk::shared_tool(
                        <math::divide as ::core::default::Default>::default(),
                    ),
                    __agent_sdk::shared_tool(
                        <sub as ::core::default::Default>::default(),
                    ),
                ]),
            ),
        )
    };
}
