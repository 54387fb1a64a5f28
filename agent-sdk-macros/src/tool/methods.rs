//! `#[tools]` on an `impl` block: its `#[tool]` methods (`&self`) become tools served
//! from an `Arc<Self>`.
//!
//! Each method gets a hidden companion holding the `Arc`, which implements `Tool` as a
//! free function's companion does (the same rules and items, see [`super::emit`]), and the
//! type implements `ToolMethods`, which hands the server one companion per method.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::punctuated::Punctuated;
use syn::{ImplItem, ItemFn, ItemImpl, Meta, Token};

use super::args::ToolArgs;
use super::{emit, rules};
use crate::options::{self, Errors, sdk_path};

/// Expands `#[tools(<args>)] impl T { ... }`.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut block: ItemImpl = match syn::parse2(item.clone()) {
        Ok(block) => block,
        Err(_) => {
            let error = syn::Error::new_spanned(&item, "#[tools] goes on an `impl` block");
            let mut tokens = error.into_compile_error();
            tokens.extend(item);
            return tokens;
        }
    };
    let mut errors = Errors::default();
    let krate = read_crate(args, &mut errors);
    check_block(&block, &mut errors);
    let mut companions = Vec::new();
    for item in &mut block.items {
        let ImplItem::Fn(method) = item else {
            continue;
        };
        let Some(position) = method.attrs.iter().position(|a| a.path().is_ident("tool")) else {
            continue;
        };
        let attribute = method.attrs.remove(position);
        let metas = match &attribute.meta {
            Meta::Path(_) => Punctuated::new(),
            _ => errors
                .keep(attribute.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated))
                .unwrap_or_default(),
        };
        let mut tool_args = ToolArgs::read(&metas, &mut errors);
        tool_args.krate = tool_args.krate.or_else(|| krate.clone());
        let function = ItemFn {
            attrs: method.attrs.clone(),
            vis: method.vis.clone(),
            sig: method.sig.clone(),
            block: Box::new(method.block.clone()),
        };
        let tool = rules::read(&tool_args, function, true, &mut errors);
        // The method keeps its signature without the parameter attributes the rules took.
        method.sig = tool.function.sig.clone();
        method
            .attrs
            .insert(0, syn::parse_quote!(#[allow(clippy::unused_async)]));
        companions.push((tool, tool_args));
    }
    if !errors.is_empty() {
        let mut tokens = quote!(#block);
        tokens.extend(errors.into_compile_errors());
        return tokens;
    }
    let sdk = sdk_path(krate.as_ref());
    let self_ty = &block.self_ty;
    let type_name: String = quote!(#self_ty)
        .to_string()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    let mut items = TokenStream::new();
    let mut makers = Vec::new();
    for (tool, tool_args) in &companions {
        let method = &tool.function.sig.ident;
        let companion = format_ident!("__{}_tool_{}", type_name, method);
        let checks = emit::checks(tool);
        let arguments_struct = emit::arguments_struct(tool);
        let this = quote!(let __this = ::std::sync::Arc::clone(&self.0););
        let tool_impl = emit::tool_impl(
            tool,
            tool_args,
            &quote!(#companion),
            &quote!(__this.#method),
            Some(this),
        );
        items.extend(quote! {
            #[allow(non_camel_case_types)]
            struct #companion(::std::sync::Arc<#self_ty>);

            const _: () = {
                #checks

                #arguments_struct

                #tool_impl
            };
        });
        makers.push(quote! {
            ::std::sync::Arc::new(#companion(::std::sync::Arc::clone(&self)))
                as ::std::sync::Arc<dyn __agent_sdk::Tool>
        });
    }
    quote! {
        #block

        const _: () = {
            use #sdk::__private as __agent_sdk;

            #items

            impl __agent_sdk::ToolMethods for #self_ty {
                fn tools(self: ::std::sync::Arc<Self>) -> ::std::vec::Vec<::std::sync::Arc<dyn __agent_sdk::Tool>> {
                    ::std::vec![#(#makers),*]
                }
            }
        };
    }
}

/// `#[tools]` takes only `crate = "..."`.
fn read_crate(args: TokenStream, errors: &mut Errors) -> Option<syn::Path> {
    let metas = errors
        .keep(syn::parse::Parser::parse2(
            Punctuated::<Meta, Token![,]>::parse_terminated,
            args,
        ))
        .unwrap_or_default();
    let mut krate = None;
    for meta in &metas {
        match options::key_of(meta).as_str() {
            "crate" => krate = errors.keep(options::crate_path(meta)),
            _ => errors.push(options::unknown_key(meta, &["crate"])),
        }
    }
    krate
}

/// The block must name one concrete type: no generics, not a trait impl.
fn check_block(block: &ItemImpl, errors: &mut Errors) {
    if !block.generics.params.is_empty() {
        errors.push(syn::Error::new_spanned(
            &block.generics,
            "#[tools] impl blocks cannot be generic: tool schemas come from concrete types",
        ));
    }
    if let Some((_, path, _)) = &block.trait_ {
        errors.push(syn::Error::new_spanned(
            path,
            "#[tools] goes on an inherent `impl Type { ... }` block, not a trait impl",
        ));
    }
}
