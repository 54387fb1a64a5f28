//! Structured output as a Rust type: schema derivation, validation and decoding.
//!
//! [`AgentOptionsBuilder::output_type`](crate::AgentOptionsBuilder::output_type)
//! derives a JSON Schema from a Rust type, shaped by the same rules as tool input
//! schemas ([`crate::schema`]), and passes it to the CLI with `--json-schema`. The CLI offers the model a `StructuredOutput`
//! tool with exactly that input schema and reports the model's call in
//! `result.structured_output`. [`ResultMessage::structured`] validates that value
//! against the schema (a validator compiled once per type) and deserializes it;
//! [`query_as`](crate::query_as) and [`Client::query_as`](crate::Client::query_as)
//! do the whole turn in one call.
//!
//! ```no_run
//! use agent_sdk::prelude::*;
//!
//! /// What the model should answer.
//! #[derive(serde::Deserialize, schemars::JsonSchema)]
//! struct Sum {
//!     /// The result of the addition.
//!     answer: i64,
//! }
//!
//! # async fn run() -> agent_sdk::Result<()> {
//! let sum: Sum = agent_sdk::query_as("What is 2 + 3?", AgentOptions::builder().build()?).await?;
//! println!("{}", sum.answer);
//! # Ok(())
//! # }
//! ```
//!
//! What the CLI (2.1.330) does, observed against the scripted fake API:
//! - a call with input that does not fit the schema is answered with an error
//!   tool result (`Output does not match required schema: /answer: must be integer`)
//!   and the model is asked again;
//! - a text answer gets one synthetic reminder (`[structured-output-enforce] ...`);
//!   if the model still answers with text, the result is a **success without**
//!   `structured_output` ([`StructuredOutputError::Missing`]);
//! - repeated invalid calls end in `error_max_structured_output_retries`
//!   ([`StructuredOutputError::ErrorResult`]).

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::message::{ResultError, ResultMessage};
use crate::schema::{SchemaError, shaped_schema_for};
use crate::validation::Validator;

/// The result subtype of a session whose model kept failing the schema.
pub const MAX_RETRIES_SUBTYPE: &str = "error_max_structured_output_retries";

/// How many schema violations one error lists at most.
const MAX_REPORTED_VIOLATIONS: usize = 8;

/// A shaped output schema with its compiled validator.
///
/// [`OutputSchema::of`] builds it once per Rust type and caches it for the life
/// of the process; [`OutputSchema::from_value`] compiles a schema built at run time.
///
/// ```
/// use agent_sdk::structured::OutputSchema;
///
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct Answer {
///     value: u8,
/// }
///
/// let schema = OutputSchema::of::<Answer>()?;
/// assert_eq!(schema.schema()["required"], serde_json::json!(["value"]));
/// let answer: Answer = schema.decode(&serde_json::json!({"value": 7}))?;
/// assert_eq!(answer.value, 7);
/// assert!(schema.validate(&serde_json::json!({"value": 300})).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct OutputSchema {
    schema: Value,
    validator: Validator,
}

impl std::fmt::Debug for OutputSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutputSchema")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

type SchemaCache = Mutex<HashMap<TypeId, Arc<OutputSchema>>>;

fn cache() -> &'static SchemaCache {
    static CACHE: OnceLock<SchemaCache> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

impl OutputSchema {
    /// The shaped schema of `T` and its validator, compiled on first use and cached.
    ///
    /// Fails when `T`'s schema has no object root (structured output must be a
    /// struct with named fields), is recursive, or uses a keyword only the
    /// `jsonschema` feature evaluates (`pattern`) while that feature is off.
    ///
    /// ```
    /// #[derive(serde::Deserialize, schemars::JsonSchema)]
    /// enum NotAStruct { A, B }
    ///
    /// let err = agent_sdk::structured::OutputSchema::of::<NotAStruct>().unwrap_err();
    /// assert!(err.to_string().contains("not a JSON object"));
    /// ```
    pub fn of<T: JsonSchema + 'static>() -> Result<Arc<OutputSchema>, SchemaError> {
        let id = TypeId::of::<T>();
        if let Some(found) = lock(cache()).get(&id) {
            return Ok(Arc::clone(found));
        }
        // Compiled outside the lock: two threads may both compile once, one wins.
        let schema = shaped_schema_for::<T>()?;
        // A shaped schemars schema is valid; only a keyword without its evaluator fails.
        let validator = Validator::new(&schema).map_err(|refusal| SchemaError::NotEvaluated {
            type_name: std::any::type_name::<T>().to_owned(),
            reason: refusal.message,
        })?;
        let compiled = Arc::new(OutputSchema { schema, validator });
        Ok(Arc::clone(lock(cache()).entry(id).or_insert(compiled)))
    }

    /// Compiles a schema built at run time (as given to
    /// [`output_schema`](crate::AgentOptionsBuilder::output_schema)).
    ///
    /// ```
    /// use agent_sdk::structured::{OutputSchema, StructuredOutputError};
    ///
    /// let schema = OutputSchema::from_value(serde_json::json!({"type": "object"})).unwrap();
    /// assert!(schema.validate(&serde_json::json!({"any": 1})).is_ok());
    /// let err = OutputSchema::from_value(serde_json::json!({"type": 12})).unwrap_err();
    /// assert!(matches!(err, StructuredOutputError::InvalidSchema { .. }));
    /// ```
    pub fn from_value(schema: Value) -> Result<OutputSchema, StructuredOutputError> {
        match Validator::new(&schema) {
            Ok(validator) => Ok(OutputSchema { schema, validator }),
            Err(refusal) => Err(StructuredOutputError::InvalidSchema {
                message: refusal.message,
            }),
        }
    }

    /// The JSON Schema, as sent to the CLI.
    pub fn schema(&self) -> &Value {
        &self.schema
    }

    /// `Ok` when `value` fits the schema, else [`StructuredOutputError::Invalid`]
    /// with the path and problem of each violation.
    ///
    /// ```
    /// use agent_sdk::structured::{OutputSchema, StructuredOutputError};
    ///
    /// #[derive(serde::Deserialize, schemars::JsonSchema)]
    /// struct Count { count: u32 }
    ///
    /// let schema = OutputSchema::of::<Count>().unwrap();
    /// let Err(StructuredOutputError::Invalid { violations, .. }) =
    ///     schema.validate(&serde_json::json!({"count": "three"}))
    /// else { panic!("expected a violation") };
    /// assert_eq!(violations[0].path, "/count");
    /// ```
    pub fn validate(&self, value: &Value) -> Result<(), StructuredOutputError> {
        // Fast path: `is_valid` builds no error values.
        if self.validator.is_valid(value) {
            return Ok(());
        }
        let violations = self
            .validator
            .violations(value, MAX_REPORTED_VIOLATIONS)
            .into_iter()
            .map(|violation| Violation {
                path: violation.instance_path,
                problem: violation.message,
            })
            .collect();
        Err(StructuredOutputError::Invalid {
            violations,
            value: value.clone(),
        })
    }

    /// Validates `value`, then deserializes it into `T`.
    pub fn decode<T: DeserializeOwned>(&self, value: &Value) -> Result<T, StructuredOutputError> {
        self.validate(value)?;
        T::deserialize(value).map_err(|error| StructuredOutputError::Deserialize {
            type_name: std::any::type_name::<T>(),
            message: error.to_string(),
            value: value.clone(),
        })
    }
}

fn lock(cache: &SchemaCache) -> std::sync::MutexGuard<'_, HashMap<TypeId, Arc<OutputSchema>>> {
    // The map is only ever inserted into: a panic elsewhere cannot leave it half-written.
    cache
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One place where a value breaks the schema.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Violation {
    /// JSON Pointer to the offending value (`/findings/0/line`; empty for the root).
    pub path: String,
    /// What is wrong, e.g. `"three" is not of type "integer"`.
    pub problem: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.problem)
        } else {
            write!(f, "{}: {}", self.path, self.problem)
        }
    }
}

/// Why a typed value could not be taken from a session's structured output.
///
/// ```
/// use agent_sdk::structured::StructuredOutputError;
///
/// fn advice(err: &StructuredOutputError) -> &'static str {
///     match err {
///         StructuredOutputError::Missing { .. } => "the model answered in prose",
///         StructuredOutputError::Invalid { .. } => "the value broke the schema",
///         e if e.is_retries_exhausted() => "the model kept failing the schema",
///         StructuredOutputError::ErrorResult { .. } => "the session failed",
///         _ => "something else",
///     }
/// }
/// # let _ = advice;
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StructuredOutputError {
    /// The session succeeded but the model never produced structured output
    /// (the CLI reminds it once, then gives up with a plain success).
    #[error(
        "the model never produced structured output{}",
        result_text.as_deref().map(|t| format!("; it answered: {}", excerpt(t))).unwrap_or_default()
    )]
    Missing {
        /// The session the result belongs to.
        session_id: String,
        /// The model's last text, when there was one.
        result_text: Option<String>,
    },

    /// The value does not fit the schema.
    #[error(
        "the structured output does not fit the schema: {}",
        violations.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
    )]
    Invalid {
        /// Each violation (at most 8), with its path.
        violations: Vec<Violation>,
        /// The value the model produced.
        value: Value,
    },

    /// The value fits the schema but `serde` refused it (a custom `Deserialize`
    /// stricter than the schema).
    #[error("the structured output does not deserialize into `{type_name}`: {message}")]
    Deserialize {
        /// The Rust type asked for.
        type_name: &'static str,
        /// What serde said.
        message: String,
        /// The value the model produced.
        value: Value,
    },

    /// The session ended in an error result, e.g. `error_max_structured_output_retries`
    /// (see [`is_retries_exhausted`](Self::is_retries_exhausted)), `error_max_turns`
    /// or an API error: the same [`ResultError`] as [`Error::Result`](crate::Error::Result).
    #[error("the session ended in an {0}")]
    ErrorResult(Box<ResultError>),

    /// The session ended without any `result`.
    #[error("the session ended without a result")]
    NoResult,

    /// The Rust type has no schema that can be used for structured output.
    #[error(transparent)]
    Schema(#[from] SchemaError),

    /// A run-time schema does not compile.
    #[error("the output schema is not a valid JSON Schema: {message}")]
    InvalidSchema {
        /// What the schema compiler said.
        message: String,
    },
}

impl StructuredOutputError {
    /// Whether the CLI gave up after the model's repeated invalid answers
    /// (result subtype `error_max_structured_output_retries`).
    ///
    /// ```
    /// let err = agent_sdk::structured::StructuredOutputError::NoResult;
    /// assert!(!err.is_retries_exhausted());
    /// ```
    pub fn is_retries_exhausted(&self) -> bool {
        matches!(self, StructuredOutputError::ErrorResult(failure) if failure.subtype == MAX_RETRIES_SUBTYPE)
    }
}

fn excerpt(text: &str) -> String {
    const MAX: usize = 200;
    match text.char_indices().nth(MAX) {
        Some((end, _)) => format!("{:?}...", &text[..end]),
        None => format!("{text:?}"),
    }
}

impl ResultMessage {
    /// The structured output as `T`: validated against `T`'s shaped schema
    /// (compiled once per type) and deserialized.
    ///
    /// ```
    /// use agent_sdk::message::Message;
    /// use agent_sdk::structured::StructuredOutputError;
    ///
    /// #[derive(serde::Deserialize, schemars::JsonSchema)]
    /// struct Sum { answer: i64 }
    ///
    /// let line = br#"{"type":"result","subtype":"success","is_error":false,"duration_ms":1,"duration_api_ms":1,"num_turns":2,"session_id":"s","result":"{\"answer\":5}","structured_output":{"answer":5}}"#;
    /// let Message::Result(result) = Message::from_slice(line)? else { unreachable!() };
    /// assert_eq!(result.structured::<Sum>()?.answer, 5);
    ///
    /// let line = br#"{"type":"result","subtype":"success","is_error":false,"duration_ms":1,"duration_api_ms":1,"num_turns":2,"session_id":"s","result":"five"}"#;
    /// let Message::Result(result) = Message::from_slice(line)? else { unreachable!() };
    /// assert!(matches!(result.structured::<Sum>(), Err(StructuredOutputError::Missing { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn structured<T: DeserializeOwned + JsonSchema + 'static>(
        &self,
    ) -> Result<T, StructuredOutputError> {
        let value = self.structured_value()?;
        OutputSchema::of::<T>()?.decode(value)
    }

    /// The raw structured output, or the reason there is none
    /// ([`ErrorResult`](StructuredOutputError::ErrorResult) or
    /// [`Missing`](StructuredOutputError::Missing)). Validate it yourself with
    /// [`OutputSchema::validate`] when the schema was built at run time.
    pub fn structured_value(&self) -> Result<&Value, StructuredOutputError> {
        if let Some(failure) = self.error() {
            return Err(StructuredOutputError::ErrorResult(Box::new(failure)));
        }
        self.structured_output
            .as_ref()
            .ok_or_else(|| StructuredOutputError::Missing {
                session_id: self.session_id.clone(),
                result_text: self.result.clone().filter(|t| !t.is_empty()),
            })
    }
}

#[cfg(test)]
mod tests;
