//! Parsing of `#[tool(...)]` arguments.

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::{Ident, LitBool, LitInt, LitStr, Token};

/// The arguments of `#[tool(...)]`.
#[derive(Default)]
pub(crate) struct ToolArgs {
    pub name: Option<LitStr>,
    pub description: Option<LitStr>,
    pub title: Option<LitStr>,
    pub server: Option<LitStr>,
    pub read_only: Option<bool>,
    pub destructive: Option<bool>,
    pub idempotent: Option<bool>,
    pub open_world: Option<bool>,
    pub max_result_size_chars: Option<LitInt>,
}

const KEYS: &[&str] = &[
    "name",
    "description",
    "title",
    "server",
    "read_only",
    "destructive",
    "idempotent",
    "open_world",
    "max_result_size_chars",
];

impl Parse for ToolArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut args = ToolArgs::default();
        let mut seen: Vec<String> = Vec::new();
        while !input.is_empty() {
            let key: Ident = input.call(syn::ext::IdentExt::parse_any)?;
            let key_str = key.to_string();
            if seen.contains(&key_str) {
                return Err(syn::Error::new(
                    key.span(),
                    format!("`{key_str}` is given twice; keep one"),
                ));
            }
            seen.push(key_str.clone());
            match key_str.as_str() {
                "name" | "description" | "title" | "server" => {
                    let value = string_value(input, &key)?;
                    match key_str.as_str() {
                        "name" => args.name = Some(value),
                        "description" => args.description = Some(value),
                        "title" => args.title = Some(value),
                        _ => args.server = Some(value),
                    }
                }
                "read_only" => args.read_only = Some(flag_value(input)?),
                "destructive" => args.destructive = Some(flag_value(input)?),
                "idempotent" => args.idempotent = Some(flag_value(input)?),
                "open_world" => args.open_world = Some(flag_value(input)?),
                "max_result_size_chars" => {
                    input.parse::<Token![=]>().map_err(|_| {
                        syn::Error::new(
                            key.span(),
                            "`max_result_size_chars` needs a number: `max_result_size_chars = 5000`",
                        )
                    })?;
                    let value: LitInt = input.parse().map_err(|e| {
                        syn::Error::new(
                            e.span(),
                            "`max_result_size_chars` needs a whole number: `max_result_size_chars = 5000`",
                        )
                    })?;
                    value.base10_parse::<u64>()?;
                    args.max_result_size_chars = Some(value);
                }
                _ => return Err(unknown_key(&key, KEYS)),
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        Ok(args)
    }
}

fn string_value(input: ParseStream<'_>, key: &Ident) -> syn::Result<LitStr> {
    let hint = || {
        syn::Error::new(
            key.span(),
            format!("`{key}` needs a string: `{key} = \"...\"`"),
        )
    };
    if !input.peek(Token![=]) {
        return Err(hint());
    }
    input.parse::<Token![=]>()?;
    input.parse::<LitStr>().map_err(|e| {
        syn::Error::new(
            e.span(),
            format!("`{key}` needs a string literal: `{key} = \"...\"`"),
        )
    })
}

/// `read_only` alone, or `read_only = true|false`.
fn flag_value(input: ParseStream<'_>) -> syn::Result<bool> {
    if input.peek(Token![=]) {
        input.parse::<Token![=]>()?;
        let value: LitBool = input.parse()?;
        Ok(value.value)
    } else {
        Ok(true)
    }
}

/// "unknown key, did you mean ...?" with the closest known key.
pub(crate) fn unknown_key(key: &Ident, known: &[&str]) -> syn::Error {
    let written = key.to_string();
    let closest = known
        .iter()
        .map(|k| (edit_distance(&written, k), *k))
        .min()
        .filter(|(distance, _)| *distance <= 3);
    let list = known.join("`, `");
    let message = match closest {
        Some((_, suggestion)) => {
            format!("unknown argument `{written}`; did you mean `{suggestion}`? (known: `{list}`)")
        }
        None => format!("unknown argument `{written}`; known arguments: `{list}`"),
    };
    syn::Error::new(key.span(), message)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            current[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(current[j] + 1);
        }
        prev = current;
    }
    prev[b.len()]
}

/// `true` for 1-64 chars of `[A-Za-z0-9_-]`.
pub(crate) fn is_valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

pub(crate) fn invalid_name(span: Span, what: &str, name: &str) -> syn::Error {
    syn::Error::new(
        span,
        format!(
            "invalid {what} name {name:?}: use 1 to 64 characters of letters, digits, `_` and `-` (for example `get_weather`)"
        ),
    )
}
