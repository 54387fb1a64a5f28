//! `create_sdk_mcp_server!`: bundles tools into an in-process MCP server.

use proc_macro2::TokenStream;
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, Ident, LitStr, Path, Token};

use crate::attr::{invalid_name, is_valid_name, unknown_key};

pub(crate) struct ServerInput {
    name: LitStr,
    version: Option<Expr>,
    instructions: Option<Expr>,
    tools: Option<Vec<Path>>,
}

const KEYS: &[&str] = &["version", "instructions", "tools"];

impl Parse for ServerInput {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let name: LitStr = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "the first argument is the server name as a string: `create_sdk_mcp_server!(\"calc\", ...)`",
            )
        })?;
        if !is_valid_name(&name.value()) {
            return Err(invalid_name(name.span(), "server", &name.value()));
        }
        let mut server = ServerInput {
            name,
            version: None,
            instructions: None,
            tools: None,
        };
        while !input.is_empty() {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break;
            }
            let key: Ident = input.parse()?;
            input
                .parse::<Token![=]>()
                .map_err(|e| syn::Error::new(e.span(), format!("expected `=` after `{key}`")))?;
            match key.to_string().as_str() {
                "version" => {
                    duplicate(&key, server.version.is_some())?;
                    server.version = Some(string_expr(input, &key, "\"1.0.0\"")?);
                }
                "instructions" => {
                    duplicate(&key, server.instructions.is_some())?;
                    server.instructions = Some(string_expr(input, &key, "\"Use add for sums.\"")?);
                }
                "tools" => {
                    duplicate(&key, server.tools.is_some())?;
                    server.tools = Some(parse_tool_list(input)?);
                }
                _ => return Err(unknown_key(&key, KEYS)),
            }
        }
        Ok(server)
    }
}

fn duplicate(key: &Ident, already: bool) -> syn::Result<()> {
    if already {
        return Err(syn::Error::new(
            key.span(),
            format!("`{key}` is given twice; keep one"),
        ));
    }
    Ok(())
}

/// A string literal, or a macro producing one (`env!("CARGO_PKG_VERSION")`, `concat!(...)`).
fn string_expr(input: ParseStream<'_>, key: &Ident, example: &str) -> syn::Result<Expr> {
    let expr: Expr = input.parse()?;
    match &expr {
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(_),
            ..
        })
        | Expr::Macro(_) => Ok(expr),
        other => Err(syn::Error::new(
            other.span(),
            format!(
                "`{key}` needs a string literal, e.g. `{key} = {example}` (or `env!(\"CARGO_PKG_VERSION\")`)"
            ),
        )),
    }
}

fn parse_tool_list(input: ParseStream<'_>) -> syn::Result<Vec<Path>> {
    let content;
    syn::bracketed!(content in input);
    let paths: Punctuated<Path, Token![,]> = content.parse_terminated(Path::parse, Token![,])?;
    let mut seen: Vec<(String, &Path)> = Vec::new();
    for path in &paths {
        let last = path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default();
        if seen.iter().any(|(name, _)| *name == last) {
            return Err(syn::Error::new(
                path.span(),
                format!("duplicate tool `{last}`: each tool may appear once in a server"),
            ));
        }
        seen.push((last, path));
    }
    Ok(paths.into_iter().collect())
}

pub(crate) fn expand(input: ServerInput) -> TokenStream {
    let name = &input.name;
    let version = input.version.map(|v| quote!(.version(#v)));
    let instructions = input.instructions.map(|i| quote!(.instructions(#i)));
    match input.tools {
        Some(tools) => quote! {{
            const _: () = ::agent_sdk::__private::assert_unique_tool_names(&[#(#tools::NAME),*]);
            ::agent_sdk::mcp::SdkMcpServer::builder(#name)
                #version
                #instructions
                #(.tool(#tools {}))*
                .build()
        }},
        None => quote! {
            ::agent_sdk::mcp::SdkMcpServer::builder(#name)
                #version
                #instructions
                .registered_tools()
                .build()
        },
    }
}
