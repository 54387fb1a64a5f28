//! The arguments of `#[tool(...)]`.

use syn::punctuated::Punctuated;
use syn::{LitInt, LitStr, Meta, Path, Token};

use crate::options::{self, Errors, Seen};

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
    pub krate: Option<Path>,
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
    "crate",
];

impl ToolArgs {
    /// Reads every option, keeping each one's error and going on to the next.
    pub(crate) fn read(metas: &Punctuated<Meta, Token![,]>, errors: &mut Errors) -> Self {
        let mut args = ToolArgs::default();
        let mut seen = Seen::default();
        for meta in metas {
            let key = options::key_of(meta);
            if errors.keep(seen.first_time(&key, meta)).is_none() {
                continue;
            }
            match key.as_str() {
                "name" => args.name = errors.keep(options::string(meta)),
                "description" => args.description = errors.keep(options::string(meta)),
                "title" => args.title = errors.keep(options::string(meta)),
                "server" => args.server = errors.keep(options::string(meta)),
                "read_only" => args.read_only = errors.keep(options::flag(meta)),
                "destructive" => args.destructive = errors.keep(options::flag(meta)),
                "idempotent" => args.idempotent = errors.keep(options::flag(meta)),
                "open_world" => args.open_world = errors.keep(options::flag(meta)),
                "max_result_size_chars" => {
                    args.max_result_size_chars = errors.keep(options::whole_number(meta));
                }
                "crate" => args.krate = errors.keep(options::crate_path(meta)),
                _ => errors.push(options::unknown_key(meta, KEYS)),
            }
        }
        args
    }
}
