//! JSON Schema validation of tool arguments and structured output.
//!
//! The schemas the SDK makes (`#[tool]` arguments, [`OutputSchema`](crate::structured::OutputSchema)
//! of a Rust type) use a small part of JSON Schema, and most hand-written ones
//! do too, so the SDK evaluates them itself ([`compile`], [`evaluate`]): types,
//! `enum`/`const`, numeric and length bounds, `properties`/`required`/
//! `additionalProperties`, `items`/`prefixItems`/`contains`, `allOf`/`anyOf`/
//! `oneOf`/`not`/`if`, dependencies, and `$ref` inside the document. Linking a
//! full validator with its regular-expression engines costs a program more
//! than a megabyte of resident memory before it calls a tool (the protocol
//! bench's idle figure; benches/README.md).
//!
//! A schema with a keyword outside that set (`pattern`, `patternProperties`,
//! `unevaluated*`, dynamic or remote references) is evaluated by the
//! `jsonschema` crate when the `jsonschema` feature is on, and is refused with
//! an error naming the keyword and the feature when it is off: nothing is
//! skipped silently.

mod compile;
mod draft;
mod evaluate;

use serde_json::Value;

/// One place where a value breaks a schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Violation {
    /// JSON Pointer to the offending value; empty for the root.
    pub(crate) instance_path: String,
    /// What is wrong, e.g. `"two" is not of type "number"`.
    pub(crate) message: String,
}

/// Why a schema was not compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    /// What is wrong, or which keyword needs the `jsonschema` feature.
    pub(crate) message: String,
    /// The schema is fine, but uses a keyword only the `jsonschema` feature evaluates.
    pub(crate) needs_feature: bool,
}

impl From<compile::CompileError> for Refusal {
    fn from(error: compile::CompileError) -> Self {
        Refusal {
            needs_feature: matches!(error, compile::CompileError::Unsupported { .. }),
            message: error.to_string(),
        }
    }
}

/// A compiled schema.
pub(crate) struct Validator(Engine);

enum Engine {
    BuiltIn(compile::Compiled),
    #[cfg(feature = "jsonschema")]
    Full(jsonschema::Validator),
}

impl Validator {
    /// Compiles `schema`, with the `jsonschema` crate when the built-in evaluator
    /// does not know a keyword and the feature is on; the error says what is wrong
    /// with the schema, or which keyword needs the feature.
    pub(crate) fn new(schema: &Value) -> Result<Validator, Refusal> {
        match compile::compile(schema) {
            Ok(compiled) => Ok(Validator(Engine::BuiltIn(compiled))),
            #[cfg(feature = "jsonschema")]
            Err(compile::CompileError::Unsupported { .. }) => jsonschema::validator_for(schema)
                .map(|validator| Validator(Engine::Full(validator)))
                .map_err(|error| Refusal {
                    message: error.to_string(),
                    needs_feature: false,
                }),
            Err(error) => Err(error.into()),
        }
    }

    /// Compiles `schema` with the built-in evaluator only: cheap, so it can run
    /// when a server is built; the `jsonschema` crate's compiler (megabytes) waits
    /// for a call.
    pub(crate) fn built_in(schema: &Value) -> Result<Validator, Refusal> {
        Ok(Validator(Engine::BuiltIn(compile::compile(schema)?)))
    }

    /// Whether `instance` fits (builds no messages).
    pub(crate) fn is_valid(&self, instance: &Value) -> bool {
        match &self.0 {
            Engine::BuiltIn(compiled) => evaluate::is_valid(compiled, instance),
            #[cfg(feature = "jsonschema")]
            Engine::Full(validator) => validator.is_valid(instance),
        }
    }

    /// Up to `limit` violations of `instance`, in the schema's keyword order.
    pub(crate) fn violations(&self, instance: &Value, limit: usize) -> Vec<Violation> {
        match &self.0 {
            Engine::BuiltIn(compiled) => evaluate::violations(compiled, instance, limit),
            #[cfg(feature = "jsonschema")]
            Engine::Full(validator) => validator
                .iter_errors(instance)
                .take(limit)
                .map(|error| Violation {
                    instance_path: error.instance_path().as_str().to_owned(),
                    message: error.to_string(),
                })
                .collect(),
        }
    }

    /// Whether the built-in evaluator runs this schema (tests pin which one ran).
    #[cfg(test)]
    pub(crate) fn is_built_in(&self) -> bool {
        matches!(self.0, Engine::BuiltIn(_))
    }
}

#[cfg(test)]
mod tests;
