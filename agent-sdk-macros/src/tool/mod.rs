//! `#[tool]`: an async fn becomes an MCP tool.
//!
//! [`args`] reads `#[tool(...)]`, [`rules`] reads the function (one function per rule), and
//! [`emit`] writes the items (one function per item). Every broken rule is reported in one
//! compile; the function is still emitted then, so no error follows from its absence.

mod args;
mod emit;
pub(crate) mod methods;
mod rules;

use proc_macro2::TokenStream;
use syn::punctuated::Punctuated;
use syn::{ItemFn, Meta, Token};

use crate::options::Errors;
use args::ToolArgs;

/// Expands `#[tool(<args>)] <item>`.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let function: ItemFn = match syn::parse2(item.clone()) {
        Ok(function) => function,
        Err(_) => {
            let error = syn::Error::new_spanned(&item, "#[tool] goes on an `async fn`");
            let mut tokens = error.into_compile_error();
            tokens.extend(item);
            return tokens;
        }
    };
    let mut errors = Errors::default();
    let metas = errors
        .keep(syn::parse::Parser::parse2(
            Punctuated::<Meta, Token![,]>::parse_terminated,
            args,
        ))
        .unwrap_or_default();
    let args = ToolArgs::read(&metas, &mut errors);
    let tool = rules::read(&args, function, false, &mut errors);
    if errors.is_empty() {
        emit::tool(&tool, &args)
    } else {
        let mut tokens = emit::fallback(&tool, &args);
        tokens.extend(errors.into_compile_errors());
        tokens
    }
}
