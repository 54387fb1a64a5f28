//! `create_sdk_mcp_server!`: bundles tools into an in-process MCP server.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, Lit, LitStr, Meta, Path, Token};

use crate::options::{self, Errors, Seen, check_name, sdk_path};

/// What the macro was given, each part read on its own so every problem is reported.
#[derive(Default)]
struct ServerInput {
    name: Option<LitStr>,
    version: Option<Expr>,
    instructions: Option<Expr>,
    state: Option<Expr>,
    methods: Option<Expr>,
    tools: Option<Vec<Path>>,
    krate: Option<Path>,
}

const KEYS: &[&str] = &[
    "version",
    "instructions",
    "state",
    "methods",
    "tools",
    "crate",
];

/// Expands `create_sdk_mcp_server!(<input>)`.
pub(crate) fn expand(input: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let server = read(input, &mut errors);
    let sdk = sdk_path(server.krate.as_ref());
    if !errors.is_empty() {
        // Typed like the real expansion, so `?` and `let` around it add no errors.
        let errors = errors.into_compile_errors();
        return quote! {{
            #errors
            #sdk::__private::unbuilt_server()
        }};
    }
    let name = &server.name;
    let version = optional(server.version.as_ref());
    let instructions = optional(server.instructions.as_ref());
    let (tools, distinct_names) = match &server.tools {
        None => (quote!(::core::option::Option::None), TokenStream::new()),
        Some(tools) => {
            let shared = tools
                .iter()
                .map(|tool| quote!(__agent_sdk::shared_tool(<#tool as ::core::default::Default>::default())));
            (
                quote!(::core::option::Option::Some(::std::vec::Vec::from([#(#shared),*]))),
                distinct_names(tools),
            )
        }
    };
    let served_with = served_with(server.tools.as_deref().unwrap_or_default());
    let state = match &server.state {
        Some(state) => quote!(#state),
        None => quote!(__agent_sdk::NoStateSupplied),
    };
    let with_state = server.state.is_some().then(|| quote!(.state(__state)));
    let with_methods = server
        .methods
        .as_ref()
        .map(|methods| quote!(.methods(#methods)));
    let build = if with_state.is_some() || with_methods.is_some() {
        quote!(__agent_sdk::build_server_with(#name, #version, #instructions, #tools, |builder| builder #with_state #with_methods))
    } else {
        quote!(__agent_sdk::build_server(#name, #version, #instructions, #tools))
    };
    let state =
        (server.state.is_some() || !served_with.is_empty()).then(|| quote!(let __state = #state;));
    quote! {{
        use #sdk::__private as __agent_sdk;
        #distinct_names
        #state
        #served_with
        #build
    }}
}

fn read(input: TokenStream, errors: &mut Errors) -> ServerInput {
    let parsed = (|input: ParseStream<'_>| {
        let name = server_name(input);
        if !input.is_empty() {
            input.parse::<Token![,]>()?;
        }
        let options = Punctuated::<Meta, Token![,]>::parse_terminated(input)?;
        Ok((name, options))
    })
    .parse2(input);
    let mut server = ServerInput::default();
    let Some((name, metas)) = errors.keep(parsed) else {
        return server;
    };
    server.name = errors.keep(name);
    if let Some(name) = &server.name {
        let _ = errors.keep(check_name(name, "server", &name.value()));
    }
    let mut seen = Seen::default();
    for meta in &metas {
        let key = options::key_of(meta);
        if errors.keep(seen.first_time(&key, meta)).is_none() {
            continue;
        }
        match key.as_str() {
            "version" => server.version = errors.keep(text(meta, "\"1.0.0\"")),
            "instructions" => {
                server.instructions = errors.keep(text(meta, "\"Use add for sums.\""));
            }
            "tools" => server.tools = Some(tool_list(meta, errors)),
            "state" => server.state = errors.keep(value(meta, "state = app.clone()")),
            "methods" => server.methods = errors.keep(value(meta, "methods = Arc::new(db)")),
            "crate" => server.krate = errors.keep(options::crate_path(meta)),
            _ => errors.push(options::unknown_key(meta, KEYS)),
        }
    }
    server
}

/// The first argument: the server name as a string literal.
fn server_name(input: ParseStream<'_>) -> syn::Result<LitStr> {
    if input.peek(LitStr) {
        return input.parse();
    }
    let hint = "the first argument is the server name as a string: `create_sdk_mcp_server!(\"calc\", ...)`";
    if input.is_empty() || input.peek(Token![,]) {
        return Err(syn::Error::new(Span::call_site(), hint));
    }
    // Skip what stands there (up to the first comma), to read the options after it.
    let mut written = TokenStream::new();
    while !input.is_empty() && !input.peek(Token![,]) {
        written.extend([input.parse::<proc_macro2::TokenTree>()?]);
    }
    Err(syn::Error::new_spanned(written, hint))
}

/// `version` and `instructions`: a string literal or a macro making one (`env!(...)`).
fn text(meta: &Meta, example: &str) -> syn::Result<Expr> {
    let key = options::key_of(meta);
    let wrong = |tokens: &dyn ToTokens| {
        syn::Error::new_spanned(
            tokens,
            format!(
                "`{key}` needs a string literal, e.g. `{key} = {example}` (or `env!(\"CARGO_PKG_VERSION\")`)"
            ),
        )
    };
    let Meta::NameValue(name_value) = meta else {
        return Err(wrong(meta));
    };
    match &name_value.value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(_), ..
        })
        | Expr::Macro(_) => Ok(name_value.value.clone()),
        other => Err(wrong(other)),
    }
}

/// `state = <expression>` (the value `State<T>` parameters get) and `methods = <Arc>`.
fn value(meta: &Meta, example: &str) -> syn::Result<Expr> {
    match meta {
        Meta::NameValue(name_value) => Ok(name_value.value.clone()),
        other => Err(syn::Error::new_spanned(
            other,
            format!("`{}` needs a value: `{example}`", options::key_of(other)),
        )),
    }
}

/// One compile-time check per listed tool that the server's state (`__state`, or
/// `NoStateSupplied`) is what its `State<T>` parameters take; the error underlines the tool.
fn served_with(tools: &[Path]) -> TokenStream {
    let checks = tools.iter().map(|tool| {
        let (start, end) = span_range(tool);
        let open = quote_spanned!(start=> <#tool as __agent_sdk::ServedWith<_>>);
        let check = quote_spanned!(end=> ::check(&__state));
        quote!(#open #check;)
    });
    quote!(#(#checks)*)
}

/// `tools = [a, m::b]`: paths of `#[tool]` functions, each once.
fn tool_list(meta: &Meta, errors: &mut Errors) -> Vec<Path> {
    let hint = "`tools` is a list of `#[tool]` functions: `tools = [add, math::divide]`";
    let elements = match meta {
        Meta::NameValue(syn::MetaNameValue {
            value: Expr::Array(array),
            ..
        }) => &array.elems,
        Meta::NameValue(name_value) => {
            errors.push(syn::Error::new_spanned(&name_value.value, hint));
            return Vec::new();
        }
        other => {
            errors.push(syn::Error::new_spanned(other, hint));
            return Vec::new();
        }
    };
    let mut tools: Vec<Path> = Vec::new();
    for element in elements {
        let Expr::Path(path) = element else {
            errors.push(syn::Error::new_spanned(
                element,
                "expected the path of a `#[tool]` function, such as `add` or `math::divide`",
            ));
            continue;
        };
        let written = path.path.to_token_stream().to_string();
        if tools
            .iter()
            .any(|tool| tool.to_token_stream().to_string() == written)
        {
            errors.push(syn::Error::new_spanned(
                &path.path,
                format!(
                    "`{}` is listed twice: each tool may appear once in a server",
                    written.replace(' ', "")
                ),
            ));
            continue;
        }
        tools.push(path.path.clone());
    }
    tools
}

/// `Some(value)` or `None`.
fn optional(value: Option<&Expr>) -> TokenStream {
    match value {
        Some(value) => quote!(::core::option::Option::Some(#value)),
        None => quote!(::core::option::Option::None),
    }
}

/// One compile-time check per pair of listed tools that their names differ.
///
/// Names are given in other items (`#[tool(name = "...")]`), so the macro cannot compare them;
/// the compiler does, in const evaluation. The result picks `ToolNames<true>` or
/// `ToolNames<false>`, and only the first implements `DistinctToolNames<A, B>`, whose
/// `on_unimplemented` message names both tools: a type error, underlining the second tool
/// in the list, rather than a panic during const evaluation (which could not name them).
fn distinct_names(tools: &[Path]) -> TokenStream {
    let mut checks = TokenStream::new();
    for (i, first) in tools.iter().enumerate() {
        for second in &tools[i + 1..] {
            let (start, end) = span_range(second);
            let open = quote_spanned!(start=> __agent_sdk::ToolNames<);
            let close = quote_spanned!(end=> >);
            checks.extend(quote! {
                const _: () = __agent_sdk::assert_distinct_tool_names::<
                    #first,
                    #second,
                    #open { !__agent_sdk::same_name(<#first>::NAME, <#second>::NAME) } #close
                >();
            });
        }
    }
    checks
}

/// The spans of the first and last tokens, so an error spans the whole path.
fn span_range(path: &Path) -> (Span, Span) {
    let mut tokens = path.to_token_stream().into_iter();
    let start = tokens.next().map_or_else(Span::call_site, |t| t.span());
    let end = tokens.last().map_or(start, |t| t.span());
    (start, end)
}
