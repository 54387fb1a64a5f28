//! The items `#[tool]` generates: one function per item.
//!
//! Everything that names the SDK sits in one `const _: () = { ... };` block that starts with
//! `use <crate>::__private as __agent_sdk;`, so an unknown `crate = "..."` path is one error.
//! Parameter and return types are checked once each ([`checks`]); the items that need them
//! restate the checks as higher-ranked bounds ([`bounds`]), which hold by assumption inside
//! those items, so a missing trait is not reported again from serde's or schemars' code.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::args::ToolArgs;
use super::rules::{Arguments, Input, ToolFn};
use crate::options::sdk_path;

/// The whole expansion of a tool that passed every rule.
pub(crate) fn tool(tool: &ToolFn, args: &ToolArgs) -> TokenStream {
    // `#[tool]` asks for `async fn` even when the body awaits nothing.
    let function = &tool.function;
    let function = quote!(#[allow(clippy::unused_async)] #function);
    let companion = companion(tool);
    let sdk = sdk_path(args.krate.as_ref());
    let checks = checks(tool);
    let arguments_struct = arguments_struct(tool);
    let ident = &tool.function.sig.ident;
    let tool_impl = tool_impl(tool, args, &quote!(#ident), &quote!(#ident), None);
    let served_with = served_with(tool);
    let registration = registration(tool, args);
    quote! {
        #function

        #companion

        const _: () = {
            use #sdk::__private as __agent_sdk;

            #checks

            #arguments_struct

            #tool_impl

            #served_with

            #registration
        };
    }
}

/// What is emitted when a rule is broken: the function and its companion type, with a `Tool`
/// impl that is never run, so uses of the tool elsewhere add no errors to the ones reported.
pub(crate) fn fallback(tool: &ToolFn, args: &ToolArgs) -> TokenStream {
    let function = &tool.function;
    if tool.is_method {
        return quote!(#function);
    }
    let companion = companion(tool);
    let sdk = sdk_path(args.krate.as_ref());
    let ident = &tool.function.sig.ident;
    quote! {
        #function

        #companion

        const _: () = {
            use #sdk::__private as __agent_sdk;

            impl __agent_sdk::Tool for #ident {
                fn definition(&self) -> ::core::result::Result<__agent_sdk::ToolDefinition, __agent_sdk::SchemaError> {
                    __agent_sdk::unbuilt_tool()
                }

                fn call(&self, _: __agent_sdk::serde_json::Value, _: __agent_sdk::ToolContext) -> __agent_sdk::BoxFuture<'static, __agent_sdk::ToolResult> {
                    __agent_sdk::unbuilt_tool()
                }
            }

            impl<__S> __agent_sdk::ServedWith<__S> for #ident {}
        };
    }
}

/// The type of the same name as the function, which is the tool, and its `NAME`.
fn companion(tool: &ToolFn) -> TokenStream {
    let ident = &tool.function.sig.ident;
    let vis = &tool.function.vis;
    let name = &tool.name;
    let doc = format!(
        " The MCP tool `{name}` made by `#[tool]` from [`{ident}()`]({ident}()): \
         list it in `create_sdk_mcp_server!(..., tools = [{ident}])` or pass `{ident} {{}}` \
         to `SdkMcpServerBuilder::tool`."
    );
    quote! {
        #[doc = #doc]
        #[allow(non_camel_case_types, dead_code)]
        #[derive(
            ::core::clone::Clone,
            ::core::marker::Copy,
            ::core::fmt::Debug,
            ::core::default::Default,
        )]
        #vis struct #ident {}

        #[allow(dead_code)]
        impl #ident {
            /// The tool name.
            pub const NAME: &'static str = #name;
        }
    }
}

/// One check per parameter type and one for the return type, each reported at that type.
pub(crate) fn checks(tool: &ToolFn) -> TokenStream {
    let params = tool.arguments.params().iter().map(|param| &param.ty);
    let states = tool.state_types();
    let output = &tool.output;
    quote! {
        const _: () = {
            #(__agent_sdk::assert_tool_parameter::<#params>();)*
            #(__agent_sdk::assert_tool_state::<#states>();)*
            __agent_sdk::assert_tool_output::<#output>();
        };
    }
}

/// `for<'__tool> T: ToolParameter` for each parameter type, and `ToolState` for each state
/// type and `IntoToolResult` for the return type when `with_output` (higher-ranked, so not
/// a rejected "trivial bound").
fn bounds(tool: &ToolFn, with_output: bool) -> TokenStream {
    let params = tool.arguments.params().iter().map(|param| &param.ty);
    let output = with_output.then(|| {
        let output = &tool.output;
        let states = tool.state_types();
        quote! {
            #(for<'__tool> #states: __agent_sdk::ToolState,)*
            for<'__tool> #output: __agent_sdk::IntoToolResult,
        }
    });
    quote! {
        where
            #(for<'__tool> #params: __agent_sdk::ToolParameter,)*
            #output
    }
}

/// The struct plain parameters are deserialized into (none for an `#[args]` parameter).
pub(crate) fn arguments_struct(tool: &ToolFn) -> TokenStream {
    let Arguments::Params(params) = &tool.arguments else {
        return TokenStream::new();
    };
    let fields = params.iter().map(|param| {
        let (ident, ty, attrs) = (&param.ident, &param.ty, &param.field_attrs);
        quote!(#(#attrs)* #ident: #ty,)
    });
    let bounds = bounds(tool, false);
    quote! {
        #[derive(__agent_sdk::serde::Deserialize, __agent_sdk::schemars::JsonSchema)]
        #[serde(crate = "__agent_sdk::serde")]
        #[schemars(crate = "__agent_sdk::schemars")]
        struct __ToolArguments #bounds {
            #(#fields)*
        }
    }
}

/// `impl Tool for <target>`: the definition from the spec, and the call of `callee`;
/// `this` is a statement run before the call's future is made (a method's `Arc<Self>`).
pub(crate) fn tool_impl(
    tool: &ToolFn,
    args: &ToolArgs,
    target: &TokenStream,
    callee: &TokenStream,
    this: Option<TokenStream>,
) -> TokenStream {
    let output = &tool.output;
    let bounds = bounds(tool, true);
    let spec = spec(tool, args);
    let arguments_ty = match &tool.arguments {
        Arguments::Params(_) => quote!(__ToolArguments),
        Arguments::Struct(param) => {
            let ty = &param.ty;
            quote!(#ty)
        }
    };
    let call = call(tool, callee);
    let takes_context = tool
        .inputs
        .iter()
        .any(|input| !matches!(input, Input::Argument(_)));
    let (context, takes_context) = if takes_context {
        (quote!(__context), None)
    } else {
        let takes_context = quote! {
            fn takes_context(&self) -> bool {
                false
            }
        };
        (quote!(_), Some(takes_context))
    };
    let states: Vec<&syn::Type> = tool.state_types().collect();
    let extract_states = states.iter().enumerate().map(|(i, ty)| {
        let state = format_ident!("__state_{i}");
        quote! {
            let #state = match __agent_sdk::extract_state::<#ty>(&__context) {
                ::core::result::Result::Ok(state) => state,
                ::core::result::Result::Err(error) => return error,
            };
        }
    });
    let required_states = (!states.is_empty()).then(|| {
        quote! {
            fn required_states(&self) -> ::std::vec::Vec<__agent_sdk::RequiredState> {
                ::std::vec![#(__agent_sdk::RequiredState::of::<#states>()),*]
            }
        }
    });
    let definition = match known_parameters(tool) {
        Some((types, parameters)) => quote! {
            use __agent_sdk::{DefineFromTable as _, DefineWithSchemars as _};
            (&&__agent_sdk::DefinitionProbe::<(#(#types,)*), #arguments_ty, #output>::new())
                .definition(&#spec, &[#(#parameters),*])
        },
        None => quote!(__agent_sdk::tool_definition::<#arguments_ty, #output>(&#spec)),
    };
    quote! {
        impl __agent_sdk::Tool for #target #bounds {
            fn definition(&self) -> ::core::result::Result<__agent_sdk::ToolDefinition, __agent_sdk::SchemaError> {
                #definition
            }

            fn call(&self, arguments: __agent_sdk::serde_json::Value, #context: __agent_sdk::ToolContext) -> __agent_sdk::BoxFuture<'static, __agent_sdk::ToolResult> {
                #this
                ::std::boxed::Box::pin(async move {
                    let __arguments: #arguments_ty = match __agent_sdk::deserialize_arguments(arguments) {
                        ::core::result::Result::Ok(arguments) => arguments,
                        ::core::result::Result::Err(error) => return error,
                    };
                    #(#extract_states)*
                    __agent_sdk::into_tool_result(#call)
                })
            }

            #takes_context

            #required_states
        }
    }
}

/// The types of the plain parameters and, for each, `(name, doc line)`: the
/// SDK writes the schema without schemars when every type is known to it (the
/// compiler decides that, through `DefinitionProbe`); `None` when a parameter
/// carries `serde`/`schemars` attributes or a doc comment of more than one plain
/// line (schemars' own reading of those is kept), or the arguments are an
/// `#[args]` struct.
fn known_parameters(tool: &ToolFn) -> Option<(Vec<&syn::Type>, Vec<TokenStream>)> {
    let Arguments::Params(params) = &tool.arguments else {
        return None;
    };
    params
        .iter()
        .map(|param| {
            let description = plain_doc_line(&param.field_attrs)?;
            let description = match description {
                Some(line) => quote!(::core::option::Option::Some(#line)),
                None => quote!(::core::option::Option::None),
            };
            let name = syn::ext::IdentExt::unraw(&param.ident).to_string();
            Some((&param.ty, quote!((#name, #description))))
        })
        .collect::<Option<Vec<_>>>()
        .map(|pairs| pairs.into_iter().unzip())
}

/// `Some(None)` without a doc comment, `Some(Some(line))` for one plain line (trimmed, as
/// schemars writes it), `None` for anything else: another attribute, several lines, a
/// `# Title` (schemars makes it a `title`), a `#[doc = concat!(...)]`.
fn plain_doc_line(attrs: &[syn::Attribute]) -> Option<Option<String>> {
    let mut lines = Vec::new();
    for attr in attrs {
        let syn::Meta::NameValue(meta) = &attr.meta else {
            return None;
        };
        if !meta.path.is_ident("doc") {
            return None;
        }
        let syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(text),
            ..
        }) = &meta.value
        else {
            return None;
        };
        lines.push(text.value());
    }
    let mut written = lines
        .iter()
        .map(|line| line.trim())
        .filter(|line| !line.is_empty());
    match (written.next(), written.next()) {
        (None, _) => Some(None),
        (Some(line), None)
            if lines.len() == 1 && !line.starts_with('#') && !line.contains('\n') =>
        {
            Some(Some(line.to_owned()))
        }
        _ => None,
    }
}

/// `ServedWith<S>`: which server state `create_sdk_mcp_server!` may serve the tool with
/// (any, for a tool without `State<T>`; else `S` equal to each `T`).
fn served_with(tool: &ToolFn) -> TokenStream {
    let ident = &tool.function.sig.ident;
    let states: Vec<&syn::Type> = tool.state_types().collect();
    let bounds =
        (!states.is_empty()).then(|| quote!(where #(__S: __agent_sdk::IsState<#states>,)*));
    quote! {
        impl<__S> __agent_sdk::ServedWith<__S> for #ident #bounds {}
    }
}

/// The function called with the deserialized arguments, the states and the context,
/// in parameter order.
fn call(tool: &ToolFn, callee: &TokenStream) -> TokenStream {
    let mut states = 0;
    let inputs = tool.inputs.iter().map(|input| match input {
        Input::Argument(name) => match &tool.arguments {
            Arguments::Struct(_) => quote!(__arguments),
            Arguments::Params(_) => quote!(__arguments.#name),
        },
        Input::State(_) => {
            let state = format_ident!("__state_{states}");
            states += 1;
            quote!(#state)
        }
        Input::Context => quote!(__context),
    });
    quote!(#callee(#(#inputs),*).await)
}

/// The `ToolSpec` literal: name, description, annotations.
fn spec(tool: &ToolFn, args: &ToolArgs) -> TokenStream {
    let name = &tool.name;
    let option = |value: Option<TokenStream>| match value {
        Some(value) => quote!(::core::option::Option::Some(#value)),
        None => quote!(::core::option::Option::None),
    };
    let description = option(tool.description.as_ref().map(|d| quote!(#d)));
    let title = option(args.title.as_ref().map(|t| quote!(#t)));
    let hints = [
        ("read_only", args.read_only),
        ("destructive", args.destructive),
        ("idempotent", args.idempotent),
        ("open_world", args.open_world),
    ]
    .map(|(field, value)| {
        let field = format_ident!("{field}");
        let value = option(value.map(|v| quote!(#v)));
        quote!(#field: #value,)
    });
    let max_chars = option(args.max_result_size_chars.as_ref().map(|n| quote!(#n)));
    quote! {
        __agent_sdk::ToolSpec {
            name: #name,
            description: #description,
            title: #title,
            #(#hints)*
            max_result_size_chars: #max_chars,
        }
    }
}

/// `server = "..."`: the tool joins that server's registry. The maker is chosen by method
/// lookup (`Registered`), so a tool whose types are wrong adds no error here.
fn registration(tool: &ToolFn, args: &ToolArgs) -> TokenStream {
    let Some(server) = &args.server else {
        return TokenStream::new();
    };
    let ident = &tool.function.sig.ident;
    quote! {
        fn __make_tool() -> ::std::sync::Arc<dyn __agent_sdk::Tool> {
            use __agent_sdk::{MakeRegistered as _, MakeUnbuilt as _};
            (&&__agent_sdk::Registered::<#ident>(::core::marker::PhantomData)).make_tool()
        }

        __agent_sdk::inventory::submit! {
            __agent_sdk::ToolRegistration::__new(#server, __make_tool)
        }
    }
}
