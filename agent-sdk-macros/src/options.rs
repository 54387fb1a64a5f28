//! The `key = value` options both macros take: reading one value, unknown and repeated keys,
//! name rules, and the error list that lets one compile report every problem.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::{Expr, ExprLit, Lit, LitBool, LitInt, LitStr, Meta, Path};

/// Every independent error of one expansion, reported together.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(first) => first.combine(error),
            None => self.0 = Some(error),
        }
    }

    /// The value, or `None` with the error kept.
    pub(crate) fn keep<T>(&mut self, result: syn::Result<T>) -> Option<T> {
        result.map_err(|error| self.push(error)).ok()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// One `compile_error!` per error (nothing when there is none).
    pub(crate) fn into_compile_errors(self) -> TokenStream {
        self.0
            .map(syn::Error::into_compile_error)
            .unwrap_or_default()
    }
}

/// The key of an option as written (`crate`, `read_only`, `a::b`).
pub(crate) fn key_of(meta: &Meta) -> String {
    let path = meta.path();
    let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    segments.join("::")
}

/// Keys seen so far, so a repeated key is an error on its second use.
#[derive(Default)]
pub(crate) struct Seen(Vec<String>);

impl Seen {
    pub(crate) fn first_time(&mut self, key: &str, meta: &Meta) -> syn::Result<()> {
        if self.0.iter().any(|seen| seen == key) {
            return Err(syn::Error::new_spanned(
                meta,
                format!("`{key}` is given twice; keep one"),
            ));
        }
        self.0.push(key.to_owned());
        Ok(())
    }
}

/// The value of `key = value`, or an error showing the form wanted.
fn value_of<'a>(meta: &'a Meta, example: &str) -> syn::Result<&'a Expr> {
    match meta {
        Meta::NameValue(name_value) => Ok(&name_value.value),
        _ => Err(syn::Error::new_spanned(
            meta,
            format!("`{}` needs a value: `{example}`", key_of(meta)),
        )),
    }
}

/// `key = "text"`.
pub(crate) fn string(meta: &Meta) -> syn::Result<LitStr> {
    let key = key_of(meta);
    match value_of(meta, &format!("{key} = \"...\""))? {
        Expr::Lit(ExprLit {
            lit: Lit::Str(text),
            ..
        }) => Ok(text.clone()),
        other => Err(syn::Error::new_spanned(
            other,
            format!("`{key}` needs a string literal: `{key} = \"...\"`"),
        )),
    }
}

/// `key` alone (true), or `key = true|false`.
pub(crate) fn flag(meta: &Meta) -> syn::Result<bool> {
    let key = key_of(meta);
    match meta {
        Meta::Path(_) => Ok(true),
        Meta::NameValue(name_value) => match &name_value.value {
            Expr::Lit(ExprLit {
                lit: Lit::Bool(LitBool { value, .. }),
                ..
            }) => Ok(*value),
            other => Err(syn::Error::new_spanned(
                other,
                format!("`{key}` is a flag: write `{key}`, `{key} = true` or `{key} = false`"),
            )),
        },
        Meta::List(_) => Err(syn::Error::new_spanned(
            meta,
            format!("`{key}` is a flag: write `{key}`, `{key} = true` or `{key} = false`"),
        )),
    }
}

/// `key = 5000`: a whole number that fits a `u64`.
pub(crate) fn whole_number(meta: &Meta) -> syn::Result<LitInt> {
    let key = key_of(meta);
    let hint = format!("`{key}` needs a whole number: `{key} = 5000`");
    match value_of(meta, &format!("{key} = 5000"))? {
        Expr::Lit(ExprLit {
            lit: Lit::Int(number),
            ..
        }) if number.base10_parse::<u64>().is_ok() => Ok(number.clone()),
        other => Err(syn::Error::new_spanned(other, hint)),
    }
}

/// `crate = "path"`: where the SDK is, for a renamed dependency. The path's tokens carry the
/// literal's span, so an unknown crate is reported at the literal.
pub(crate) fn crate_path(meta: &Meta) -> syn::Result<Path> {
    let text = string(meta)?;
    text.parse_with(Path::parse_mod_style).map_err(|_| {
        syn::Error::new_spanned(
            &text,
            format!(
                "`crate` needs the path of the SDK crate, such as `crate = \"my_sdk\"` or `crate = \"reexports::agent_sdk\"`; {:?} is not a path",
                text.value()
            ),
        )
    })
}

/// The SDK's path: `crate = "..."`, or `::agent_sdk`.
pub(crate) fn sdk_path(krate: Option<&Path>) -> TokenStream {
    match krate {
        Some(path) => path.to_token_stream(),
        None => quote::quote!(::agent_sdk),
    }
}

/// "unknown argument, did you mean ...?" with the closest known key; underlines the whole option.
pub(crate) fn unknown_key(meta: &Meta, known: &[&str]) -> syn::Error {
    let written = key_of(meta);
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
    syn::Error::new_spanned(meta, message)
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

/// Checks a tool or server name, underlining `written` when it is not valid.
pub(crate) fn check_name(written: &dyn ToTokens, what: &str, name: &str) -> syn::Result<()> {
    if is_valid_name(name) {
        return Ok(());
    }
    Err(syn::Error::new_spanned(
        written,
        format!(
            "invalid {what} name {name:?}: use 1 to 64 characters of letters, digits, `_` and `-` (for example `get_weather`)"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_closest_key() {
        let meta: Meta = syn::parse_quote!(read_onyl);
        let error = unknown_key(&meta, &["name", "read_only"]);
        assert!(error.to_string().contains("did you mean `read_only`?"));
    }

    #[test]
    fn crate_is_a_key_and_its_value_a_path() {
        let meta: Meta = syn::parse_quote!(crate = "reexports::agent_sdk");
        assert_eq!(key_of(&meta), "crate");
        let path = crate_path(&meta).unwrap();
        assert_eq!(path.segments.len(), 2);
        let bad: Meta = syn::parse_quote!(crate = "not a path");
        assert!(crate_path(&bad).is_err());
    }

    #[test]
    fn errors_are_combined() {
        let mut errors = Errors::default();
        errors.push(syn::Error::new(proc_macro2::Span::call_site(), "one"));
        errors.push(syn::Error::new(proc_macro2::Span::call_site(), "two"));
        assert_eq!(
            errors
                .into_compile_errors()
                .to_string()
                .matches("compile_error")
                .count(),
            2
        );
    }
}
