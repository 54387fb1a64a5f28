//! `#[tool]`: an async fn becomes an MCP tool.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Attribute, FnArg, ItemFn, Pat, ReturnType, Type};

use crate::attr::{ToolArgs, invalid_name, is_valid_name};

/// A parameter of the tool function.
struct Param {
    ident: syn::Ident,
    ty: Type,
    /// Doc, `serde` and `schemars` attributes, moved onto the generated field.
    field_attrs: Vec<Attribute>,
}

pub(crate) fn expand(args: ToolArgs, mut function: ItemFn) -> syn::Result<TokenStream> {
    let sig = &function.sig;
    if sig.asyncness.is_none() {
        return Err(syn::Error::new(
            sig.fn_token.span(),
            "#[tool] needs an async function: write `async fn`",
        ));
    }
    if !sig.generics.params.is_empty() {
        return Err(syn::Error::new(
            sig.generics.span(),
            "#[tool] functions cannot be generic: the argument schema is derived from concrete types; \
             write the parameter types out",
        ));
    }
    if let Some(where_clause) = &sig.generics.where_clause {
        return Err(syn::Error::new(
            where_clause.span(),
            "#[tool] functions cannot have a `where` clause",
        ));
    }
    if let Some(variadic) = &sig.variadic {
        return Err(syn::Error::new(
            variadic.span(),
            "#[tool] functions cannot be variadic",
        ));
    }

    let fn_ident = sig.ident.clone();
    let tool_name = match &args.name {
        Some(name) => {
            if !is_valid_name(&name.value()) {
                return Err(invalid_name(name.span(), "tool", &name.value()));
            }
            name.value()
        }
        None => {
            let name = fn_ident.to_string();
            let name = name.strip_prefix("r#").unwrap_or(&name).to_owned();
            if !is_valid_name(&name) {
                return Err(invalid_name(fn_ident.span(), "tool", &name));
            }
            name
        }
    };
    if let Some(server) = &args.server
        && !is_valid_name(&server.value())
    {
        return Err(invalid_name(server.span(), "server", &server.value()));
    }

    // Collect parameters, moving their doc/serde/schemars attributes to the generated field.
    let mut params = Vec::new();
    let mut struct_arg: Option<Param> = None;
    let input_count = function.sig.inputs.len();
    for input in function.sig.inputs.iter_mut() {
        let typed = match input {
            FnArg::Receiver(receiver) => {
                return Err(syn::Error::new(
                    receiver.span(),
                    "#[tool] cannot take `self`: write a free async function and keep shared state \
                     in a static or pass it in the arguments",
                ));
            }
            FnArg::Typed(typed) => typed,
        };
        let ident = match &*typed.pat {
            Pat::Ident(pat) if pat.by_ref.is_none() && pat.subpat.is_none() => pat.ident.clone(),
            other => {
                return Err(syn::Error::new(
                    other.span(),
                    "#[tool] parameters must be plain names such as `city: String`; \
                     destructure inside the function body instead",
                ));
            }
        };
        check_param_type(&typed.ty)?;
        let mut field_attrs = Vec::new();
        let mut is_args = false;
        typed.attrs.retain(|attr| {
            let path = attr.path();
            if path.is_ident("args") {
                is_args = true;
                false
            } else if path.is_ident("doc") || path.is_ident("serde") || path.is_ident("schemars") {
                field_attrs.push(attr.clone());
                false
            } else {
                true
            }
        });
        let param = Param {
            ident,
            ty: (*typed.ty).clone(),
            field_attrs,
        };
        if is_args {
            if input_count != 1 {
                return Err(syn::Error::new(
                    param.ident.span(),
                    "`#[args]` marks the one parameter that holds all arguments; \
                     a #[tool] with `#[args]` takes no other parameter",
                ));
            }
            struct_arg = Some(param);
        } else {
            params.push(param);
        }
    }

    let description = match &args.description {
        Some(text) => Some(text.value()),
        None => doc_text(&function.attrs),
    };
    let output_ty = match &function.sig.output {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) => {
            if let Type::ImplTrait(_) = &**ty {
                return Err(syn::Error::new(
                    ty.span(),
                    "#[tool] functions cannot return `impl Trait`: name the type",
                ));
            }
            quote!(#ty)
        }
    };
    let output_span = function.sig.output.span();

    let vis = &function.vis;
    let krate = quote!(::agent_sdk);
    let private = quote!(#krate::__private);
    let serde_path = "::agent_sdk::__private::serde";
    let schemars_path = "::agent_sdk::__private::schemars";

    // Arguments type, its binding and the call.
    let (args_items, args_ty, call) = match &struct_arg {
        Some(param) => {
            let ty = &param.ty;
            (quote!(), quote!(#ty), quote!(#fn_ident(__arguments).await))
        }
        None => {
            let fields = params.iter().map(|p| {
                let (ident, ty, attrs) = (&p.ident, &p.ty, &p.field_attrs);
                quote!(#(#attrs)* #ident: #ty,)
            });
            let names = params.iter().map(|p| &p.ident);
            let items = quote! {
                #[derive(#private::serde::Deserialize, #private::schemars::JsonSchema)]
                #[serde(crate = #serde_path)]
                #[schemars(crate = #schemars_path)]
                #[allow(non_camel_case_types)]
                struct __ToolArguments { #(#fields)* }
            };
            (
                items,
                quote!(__ToolArguments),
                quote!(#fn_ident(#(__arguments.#names),*).await),
            )
        }
    };
    let param_checks = params.iter().chain(struct_arg.iter()).map(|p| {
        let ty = &p.ty;
        quote_spanned!(ty.span()=> #private::assert_tool_parameter::<#ty>();)
    });

    let description = description.map(|d| quote!(.description(#d)));
    let mut annotations = Vec::new();
    if let Some(title) = &args.title {
        annotations.push(quote!(.title(#title)));
    }
    for (value, method) in [
        (args.read_only, "read_only"),
        (args.destructive, "destructive"),
        (args.idempotent, "idempotent"),
        (args.open_world, "open_world"),
    ] {
        if let Some(value) = value {
            let method = format_ident!("{method}");
            annotations.push(quote!(.#method(#value)));
        }
    }
    let max_chars = args
        .max_result_size_chars
        .as_ref()
        .map(|n| quote!(.max_result_size_chars(#n)));
    let registration = args.server.as_ref().map(|server| {
        quote! {
            fn __make_tool() -> ::std::sync::Arc<dyn #krate::mcp::Tool> {
                ::std::sync::Arc::new(#fn_ident {})
            }
            #private::inventory::submit! {
                #krate::mcp::ToolRegistration::__new(#server, __make_tool)
            }
        }
    });
    let into_result = quote_spanned!(output_span=>
        <#output_ty as #krate::mcp::IntoToolResult>::into_tool_result(__output)
    );
    let output_schema = quote_spanned!(output_span=>
        #private::output_schema::<#output_ty>(#tool_name)?
    );
    let companion_doc = format!(
        "The MCP tool `{tool_name}` made by `#[tool]` from [`{fn_ident}()`]({fn_ident}()): \
         list it in `create_sdk_mcp_server!(..., tools = [{fn_ident}])` or pass `{fn_ident} {{}}` \
         to `SdkMcpServerBuilder::tool`."
    );

    Ok(quote! {
        #function

        #[doc = #companion_doc]
        #[allow(non_camel_case_types, dead_code)]
        #[derive(Clone, Copy, Debug, Default)]
        #vis struct #fn_ident {}

        #[allow(dead_code)]
        impl #fn_ident {
            /// The tool name.
            pub const NAME: &'static str = #tool_name;
        }

        const _: () = {
            // First, so a parameter type without `Deserialize`/`JsonSchema` is reported
            // with our message before the derive's own errors.
            #[allow(dead_code)]
            fn __check_parameters() {
                #(#param_checks)*
            }

            #args_items

            impl #krate::mcp::Tool for #fn_ident {
                fn definition(&self) -> ::core::result::Result<#krate::mcp::ToolDefinition, #krate::schema::SchemaError> {
                    let input_schema = #private::input_schema::<#args_ty>(#tool_name)?;
                    let mut definition = #krate::mcp::ToolDefinition::new(#tool_name, input_schema)
                        #description
                        .annotations(#krate::mcp::ToolAnnotations::new() #(#annotations)*)
                        #max_chars;
                    if let ::core::option::Option::Some(output_schema) = #output_schema {
                        definition = definition.output_schema(output_schema);
                    }
                    ::core::result::Result::Ok(definition)
                }

                fn call(&self, arguments: #private::serde_json::Value) -> #krate::mcp::BoxFuture<#krate::mcp::ToolResult> {
                    ::std::boxed::Box::pin(async move {
                        let __arguments: #args_ty = match #private::deserialize_arguments(arguments) {
                            ::core::result::Result::Ok(arguments) => arguments,
                            ::core::result::Result::Err(error) => return error,
                        };
                        let __output = #call;
                        #into_result
                    })
                }
            }

            #registration
        };
    })
}

fn check_param_type(ty: &Type) -> syn::Result<()> {
    match ty {
        Type::Reference(reference) => Err(syn::Error::new(
            reference.span(),
            "#[tool] parameters must be owned, because arguments are deserialized from JSON: \
             use `String` instead of `&str`, `Vec<T>` instead of `&[T]`",
        )),
        Type::ImplTrait(_) => Err(syn::Error::new(
            ty.span(),
            "#[tool] parameters cannot be `impl Trait`: name a concrete type",
        )),
        _ => Ok(()),
    }
}

/// The doc comment as one string (`None` when there is none).
pub(crate) fn doc_text(attrs: &[Attribute]) -> Option<String> {
    let mut lines = Vec::new();
    for attr in attrs {
        if !attr.path().is_ident("doc") {
            continue;
        }
        if let syn::Meta::NameValue(nv) = &attr.meta
            && let syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(text),
                ..
            }) = &nv.value
        {
            let value = text.value();
            lines.push(
                value
                    .strip_prefix(' ')
                    .unwrap_or(&value)
                    .trim_end()
                    .to_owned(),
            );
        }
    }
    let text = lines.join("\n").trim().to_owned();
    (!text.is_empty()).then_some(text)
}
