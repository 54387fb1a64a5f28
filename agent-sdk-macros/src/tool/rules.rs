//! What a `#[tool]` function may be: one function per rule, each underlining the whole
//! construct that breaks it. `read` applies them all, so one compile lists every problem.

use syn::{Attribute, FnArg, ItemFn, Pat, ReturnType, Signature, Type};

use super::args::ToolArgs;
use crate::options::{Errors, check_name};

/// A parameter of the tool function.
pub(crate) struct Param {
    pub ident: syn::Ident,
    pub ty: Type,
    /// Doc, `serde` and `schemars` attributes, moved onto the generated field.
    pub field_attrs: Vec<Attribute>,
}

/// How the tool's arguments reach the function.
pub(crate) enum Arguments {
    /// Plain parameters: the macro derives an argument struct with one field each.
    Params(Vec<Param>),
    /// One `#[args]` parameter whose type is the argument struct.
    Struct(Box<Param>),
}

impl Arguments {
    pub(crate) fn params(&self) -> &[Param] {
        match self {
            Arguments::Params(params) => params,
            Arguments::Struct(param) => std::slice::from_ref(&**param),
        }
    }
}

/// What the tool function is called with, in parameter order.
pub(crate) enum Input {
    /// An argument: a field of the argument struct, or the `#[args]` struct itself.
    Argument(syn::Ident),
    /// `State<T>`: a clone of the server's `T`.
    State(Type),
    /// The call's `ToolContext`.
    Context,
}

/// A `#[tool]` function, read and checked.
pub(crate) struct ToolFn {
    /// Whether it takes `self` (then it is in an `impl`, where no companion type can go).
    pub is_method: bool,
    /// The function, its parameters' macro attributes removed (it is emitted as written otherwise).
    pub function: ItemFn,
    pub name: String,
    pub description: Option<String>,
    pub arguments: Arguments,
    /// What the function is called with, in order.
    pub inputs: Vec<Input>,
    /// The return type (`()` when none is written).
    pub output: Type,
}

/// Reads the function, applying every rule; the errors are kept in `errors`.
/// `in_tools_impl`: a method of a `#[tools]` impl block, which takes `&self`.
pub(crate) fn read(
    args: &ToolArgs,
    mut function: ItemFn,
    in_tools_impl: bool,
    errors: &mut Errors,
) -> ToolFn {
    let sig = &function.sig;
    let name = tool_name(args, sig, errors);
    let _ = errors.keep(check_server_name(args));
    let _ = errors.keep(check_async(sig));
    let _ = errors.keep(check_safe(sig));
    let _ = errors.keep(check_not_generic(sig));
    let _ = errors.keep(check_no_where_clause(sig));
    let _ = errors.keep(check_not_variadic(sig));
    let output = output_type(sig, errors);
    let description = description(args, &function.attrs);
    if in_tools_impl {
        let _ = errors.keep(check_method(args, &function.sig));
    }
    let (arguments, inputs) = read_arguments(&mut function.sig, in_tools_impl, errors);
    ToolFn {
        is_method: function.sig.receiver().is_some(),
        function,
        name,
        description,
        arguments,
        inputs,
        output,
    }
}

impl ToolFn {
    /// The `T` of every `State<T>` parameter.
    pub(crate) fn state_types(&self) -> impl Iterator<Item = &Type> {
        self.inputs.iter().filter_map(|input| match input {
            Input::State(ty) => Some(ty),
            _ => None,
        })
    }
}

fn check_async(sig: &Signature) -> syn::Result<()> {
    if sig.asyncness.is_some() {
        return Ok(());
    }
    let (fn_token, ident) = (&sig.fn_token, &sig.ident);
    Err(syn::Error::new_spanned(
        quote::quote!(#fn_token #ident),
        "#[tool] needs an async function: write `async fn`",
    ))
}

fn check_safe(sig: &Signature) -> syn::Result<()> {
    match &sig.unsafety {
        None => Ok(()),
        Some(unsafety) => Err(syn::Error::new_spanned(
            unsafety,
            "#[tool] functions cannot be `unsafe`: the model calls them with any arguments; \
             make the function safe and keep the `unsafe` block inside it",
        )),
    }
}

fn check_not_generic(sig: &Signature) -> syn::Result<()> {
    if sig.generics.params.is_empty() {
        return Ok(());
    }
    Err(syn::Error::new_spanned(
        &sig.generics,
        "#[tool] functions cannot be generic: the argument schema is derived from concrete types; \
         write the parameter types out",
    ))
}

fn check_no_where_clause(sig: &Signature) -> syn::Result<()> {
    match &sig.generics.where_clause {
        None => Ok(()),
        Some(where_clause) => Err(syn::Error::new_spanned(
            where_clause,
            "#[tool] functions cannot have a `where` clause",
        )),
    }
}

fn check_not_variadic(sig: &Signature) -> syn::Result<()> {
    match &sig.variadic {
        None => Ok(()),
        Some(variadic) => Err(syn::Error::new_spanned(
            variadic,
            "#[tool] functions cannot be variadic",
        )),
    }
}

fn check_server_name(args: &ToolArgs) -> syn::Result<()> {
    match &args.server {
        None => Ok(()),
        Some(server) => check_name(server, "server", &server.value()),
    }
}

/// `name = "..."`, or the function name without `r#`.
fn tool_name(args: &ToolArgs, sig: &Signature, errors: &mut Errors) -> String {
    match &args.name {
        Some(name) => {
            let _ = errors.keep(check_name(name, "tool", &name.value()));
            name.value()
        }
        None => {
            let name = sig.ident.to_string();
            let name = name.strip_prefix("r#").unwrap_or(&name).to_owned();
            let _ = errors.keep(check_name(&sig.ident, "tool", &name));
            name
        }
    }
}

/// The return type; `impl Trait` cannot be named in the tool's bounds.
fn output_type(sig: &Signature, errors: &mut Errors) -> Type {
    match &sig.output {
        ReturnType::Default => syn::parse_quote!(()),
        ReturnType::Type(_, ty) => {
            if let Type::ImplTrait(_) = &**ty {
                errors.push(syn::Error::new_spanned(
                    ty,
                    "#[tool] functions cannot return `impl Trait`: name the type",
                ));
            }
            (**ty).clone()
        }
    }
}

/// `description = "..."`, or the doc comment.
fn description(args: &ToolArgs, attrs: &[Attribute]) -> Option<String> {
    match &args.description {
        Some(text) => Some(text.value()),
        None => doc_text(attrs),
    }
}

/// A parameter the SDK supplies rather than the model: `State<T>` or `ToolContext`.
fn extractor(ty: &Type) -> Option<Input> {
    let Type::Path(path) = ty else {
        return None;
    };
    let last = path.path.segments.last()?;
    if last.ident == "ToolContext" && last.arguments.is_empty() {
        return Some(Input::Context);
    }
    if last.ident != "State" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(generics) = &last.arguments else {
        return None;
    };
    match generics.args.iter().collect::<Vec<_>>()[..] {
        [syn::GenericArgument::Type(inner)] => Some(Input::State(inner.clone())),
        _ => None,
    }
}

/// A method of a `#[tools]` impl takes `&self` and is served with its value, not registered.
fn check_method(args: &ToolArgs, sig: &Signature) -> syn::Result<()> {
    if let Some(server) = &args.server {
        return Err(syn::Error::new_spanned(
            server,
            "`server = \"...\"` is for free functions: serve the methods of a `#[tools]` impl \
             with `SdkMcpServerBuilder::methods(Arc::new(value))` or `methods = ...` in \
             create_sdk_mcp_server!",
        ));
    }
    if sig.receiver().is_none() {
        return Err(syn::Error::new_spanned(
            &sig.ident,
            "a #[tool] in a `#[tools]` impl is a method taking `&self`; move an associated \
             function out of the impl as a free #[tool] function",
        ));
    }
    Ok(())
}

fn check_receiver(receiver: &syn::Receiver) -> syn::Error {
    let message = if receiver.mutability.is_some() && receiver.reference.is_some() {
        "#[tool] methods take `&self`, not `&mut self`: calls run concurrently on one shared \
         value; keep what changes behind a `Mutex` or an atomic"
    } else if receiver.reference.is_none() {
        "#[tool] methods take `&self`: the value is shared by every call (served from an `Arc`)"
    } else {
        "#[tool] on a method needs its `impl` block marked `#[tools]`; or write a free async \
         function and give it shared data with a `State<T>` parameter"
    };
    syn::Error::new_spanned(receiver, message)
}

/// Reads every parameter; a broken one is left out after its errors are kept.
fn read_arguments(
    sig: &mut Signature,
    in_tools_impl: bool,
    errors: &mut Errors,
) -> (Arguments, Vec<Input>) {
    let mut params = Vec::new();
    let mut inputs = Vec::new();
    let mut struct_arg = None;
    let mut args_count = 0;
    let mut argument_count = 0;
    let mut context_seen = false;
    for input in sig.inputs.iter_mut() {
        let typed = match input {
            FnArg::Receiver(receiver) => {
                let shared = receiver.reference.is_some() && receiver.mutability.is_none();
                let plain = matches!(&*receiver.ty, Type::Reference(_));
                if !(in_tools_impl && shared && plain) {
                    errors.push(check_receiver(receiver));
                }
                continue;
            }
            FnArg::Typed(typed) => typed,
        };
        if let Some(extracted) = extractor(&typed.ty) {
            if matches!(extracted, Input::Context) {
                if context_seen {
                    errors.push(syn::Error::new_spanned(
                        &typed,
                        "a #[tool] takes `ToolContext` once: clone it inside the function if \
                         you need it twice",
                    ));
                    continue;
                }
                context_seen = true;
            }
            inputs.push(extracted);
            continue;
        }
        argument_count += 1;
        let is_args = take_args_marker(&mut typed.attrs);
        let field_attrs = take_field_attrs(&mut typed.attrs);
        let ident = errors.keep(param_name(&typed.pat));
        let owned = errors.keep(check_param_type(&typed.ty));
        let (Some(ident), Some(())) = (ident, owned) else {
            continue;
        };
        inputs.push(Input::Argument(ident.clone()));
        let param = Param {
            ident,
            ty: (*typed.ty).clone(),
            field_attrs,
        };
        if is_args {
            args_count += 1;
            struct_arg = Some(param);
        } else {
            params.push(param);
        }
    }
    let _ = errors.keep(check_args_alone(sig, args_count, argument_count));
    let arguments = match struct_arg {
        Some(param) if argument_count == 1 => Arguments::Struct(Box::new(param)),
        _ => Arguments::Params(params),
    };
    (arguments, inputs)
}

/// Removes `#[args]`, telling whether it was there.
fn take_args_marker(attrs: &mut Vec<Attribute>) -> bool {
    let before = attrs.len();
    attrs.retain(|attr| !attr.path().is_ident("args"));
    attrs.len() != before
}

/// Removes the doc, `serde` and `schemars` attributes, which belong to the generated field.
fn take_field_attrs(attrs: &mut Vec<Attribute>) -> Vec<Attribute> {
    let is_field_attr = |attr: &Attribute| {
        let path = attr.path();
        path.is_ident("doc") || path.is_ident("serde") || path.is_ident("schemars")
    };
    let field_attrs = attrs.iter().filter(|a| is_field_attr(a)).cloned().collect();
    attrs.retain(|attr| !is_field_attr(attr));
    field_attrs
}

fn param_name(pat: &Pat) -> syn::Result<syn::Ident> {
    match pat {
        Pat::Ident(pat) if pat.by_ref.is_none() && pat.subpat.is_none() => Ok(pat.ident.clone()),
        other => Err(syn::Error::new_spanned(
            other,
            "#[tool] parameters must be plain names such as `city: String`; \
             destructure inside the function body instead",
        )),
    }
}

fn check_param_type(ty: &Type) -> syn::Result<()> {
    match ty {
        Type::Reference(_) => Err(syn::Error::new_spanned(
            ty,
            "#[tool] parameters must be owned, because arguments are deserialized from JSON: \
             use `String` instead of `&str`, `Vec<T>` instead of `&[T]`",
        )),
        Type::ImplTrait(_) => Err(syn::Error::new_spanned(
            ty,
            "#[tool] parameters cannot be `impl Trait`: name a concrete type",
        )),
        _ => Ok(()),
    }
}

/// `#[args]` marks the one parameter that holds all arguments (besides `State` and `ToolContext`).
fn check_args_alone(sig: &Signature, args_count: usize, argument_count: usize) -> syn::Result<()> {
    if args_count == 0 || argument_count == 1 {
        return Ok(());
    }
    Err(syn::Error::new_spanned(
        &sig.inputs,
        "`#[args]` marks the one parameter that holds all arguments; \
         a #[tool] with `#[args]` takes no other argument (`State<T>` and `ToolContext` aside)",
    ))
}

/// The doc comment as one string (`None` when there is none).
fn doc_text(attrs: &[Attribute]) -> Option<String> {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|attr| attr.path().is_ident("doc"))
        .filter_map(|attr| match &attr.meta {
            syn::Meta::NameValue(syn::MetaNameValue {
                value:
                    syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(text),
                        ..
                    }),
                ..
            }) => Some(text.value()),
            _ => None,
        })
        .map(|line| {
            line.strip_prefix(' ')
                .unwrap_or(&line)
                .trim_end()
                .to_owned()
        })
        .collect();
    let text = lines.join("\n").trim().to_owned();
    (!text.is_empty()).then_some(text)
}
