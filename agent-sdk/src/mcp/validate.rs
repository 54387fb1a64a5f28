//! Argument validation: one compiled validator per tool ([`crate::validation`]),
//! built with the server (or, for a schema only the `jsonschema` crate evaluates,
//! at the tool's first call) and reused for every call after it.

use serde_json::Value;

use crate::validation::{Refusal, Validator};

/// How many schema violations one error message lists at most.
const MAX_REPORTED_ERRORS: usize = 5;

/// A compiled input schema.
pub(crate) struct ArgumentValidator {
    validator: Validator,
    /// Top-level properties not in `required`: a `null` there means "not given".
    optional: Vec<String>,
}

impl ArgumentValidator {
    /// Compiles `schema` (with the `jsonschema` crate if it must and may); the
    /// refusal says what is wrong with the schema itself.
    pub(crate) fn new(schema: &Value) -> Result<Self, Refusal> {
        Self::with(schema, Validator::new)
    }

    /// Compiles `schema` with the built-in evaluator only (cheap: done when the
    /// server is built).
    pub(crate) fn built_in(schema: &Value) -> Result<Self, Refusal> {
        Self::with(schema, Validator::built_in)
    }

    fn with(
        schema: &Value,
        compile: fn(&Value) -> Result<Validator, Refusal>,
    ) -> Result<Self, Refusal> {
        let required: Vec<&str> = schema["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let optional = schema["properties"]
            .as_object()
            .into_iter()
            .flat_map(|properties| properties.keys())
            .filter(|key| !required.contains(&key.as_str()))
            .cloned()
            .collect();
        compile(schema).map(|validator| ArgumentValidator {
            validator,
            optional,
        })
    }

    /// `Ok` when `arguments` fit, else a message naming each field and its problem.
    ///
    /// Models often send `null` for an optional argument they mean to leave out;
    /// such properties are removed (read as absent) before the verdict.
    pub(crate) fn check(&self, arguments: &mut Value) -> Result<(), String> {
        // Fast path: `is_valid` does not build error values.
        if self.validator.is_valid(arguments) {
            return Ok(());
        }
        if let Value::Object(map) = arguments {
            let before = map.len();
            map.retain(|key, value| !(value.is_null() && self.optional.iter().any(|o| o == key)));
            if map.len() != before && self.validator.is_valid(arguments) {
                return Ok(());
            }
        }
        let problems: Vec<String> = self
            .validator
            .violations(arguments, MAX_REPORTED_ERRORS)
            .into_iter()
            .map(|violation| {
                if violation.instance_path.is_empty() {
                    violation.message
                } else {
                    let field = field_path(&violation.instance_path);
                    format!("\"{field}\": {}", violation.message)
                }
            })
            .collect();
        Err(format!("Input validation error: {}", problems.join("; ")))
    }
}

/// Rewrites every float with no fractional part (`2.0`) as an integer, at every depth.
///
/// JSON Schema's `"type": "integer"` accepts `2.0`, serde's integer types do not;
/// an `f64` parameter still reads an integer, so nothing that was valid breaks.
pub(crate) fn integral_floats_to_integers(value: &mut Value) {
    match value {
        Value::Number(number) if number.is_f64() => {
            let float = number.as_f64().unwrap_or(f64::NAN);
            // `as` saturates, so the range checks keep out what would not round-trip.
            let integer = if float.fract() != 0.0 {
                None
            } else if (0.0..18_446_744_073_709_551_616.0).contains(&float) {
                Some(Value::from(float as u64))
            } else if (-9_223_372_036_854_775_808.0..0.0).contains(&float) {
                Some(Value::from(float as i64))
            } else {
                None
            };
            if let Some(integer) = integer {
                *value = integer;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_floats_to_integers),
        Value::Object(map) => map.values_mut().for_each(integral_floats_to_integers),
        _ => {}
    }
}

/// `/a/0/b` -> `a[0].b`.
fn field_path(pointer: &str) -> String {
    let mut out = String::with_capacity(pointer.len());
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
            out.push('[');
            out.push_str(&segment);
            out.push(']');
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&segment);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_the_missing_field() {
        let v = ArgumentValidator::new(&json!({"type":"object","properties":{"a":{"type":"number"},"b":{"type":"number"}},"required":["a","b"]})).unwrap();
        assert!(v.check(&mut json!({"a":1,"b":2})).is_ok());
        let msg = v.check(&mut json!({"a":1})).unwrap_err();
        assert_eq!(msg, "Input validation error: \"b\" is a required property");
        let msg = v.check(&mut json!({"a":"two","b":2})).unwrap_err();
        assert_eq!(
            msg,
            "Input validation error: \"a\": \"two\" is not of type \"number\""
        );
    }

    #[test]
    fn null_for_an_optional_argument_reads_as_absent() {
        let v = ArgumentValidator::new(&json!({"type":"object","properties":{"city":{"type":"string"},"unit":{"type":"string"}},"required":["city"]})).unwrap();
        let mut args = json!({"city": "Lisbon", "unit": null});
        assert!(v.check(&mut args).is_ok());
        assert_eq!(args, json!({"city": "Lisbon"}));
        // A null for a required argument is still an error that names it.
        let msg = v.check(&mut json!({"city": null})).unwrap_err();
        assert!(msg.contains("\"city\""), "{msg}");
    }

    #[test]
    fn integral_floats_become_integers_and_others_stay() {
        let mut value = json!({"a": 2.0, "b": [-3.0, 1.5], "c": {"d": 1e300}, "e": "2.0", "f": 4});
        integral_floats_to_integers(&mut value);
        assert_eq!(
            value,
            json!({"a": 2, "b": [-3, 1.5], "c": {"d": 1e300}, "e": "2.0", "f": 4})
        );
        assert!(value["a"].is_u64() && value["b"][0].is_i64());
    }

    #[test]
    fn nested_paths_read_like_rust() {
        assert_eq!(field_path("/items/0/name"), "items[0].name");
        assert_eq!(field_path("/a~1b"), "a/b");
    }
}
