//! Argument validation: one compiled `jsonschema` validator per tool, built when
//! the server is built and reused for every call.

use serde_json::Value;

/// How many schema violations one error message lists at most.
const MAX_REPORTED_ERRORS: usize = 5;

/// A compiled input schema.
pub(crate) struct ArgumentValidator {
    validator: jsonschema::Validator,
}

impl ArgumentValidator {
    /// Compiles `schema`; the error text says what is wrong with the schema itself.
    pub(crate) fn new(schema: &Value) -> Result<Self, String> {
        jsonschema::validator_for(schema)
            .map(|validator| ArgumentValidator { validator })
            .map_err(|error| error.to_string())
    }

    /// `Ok` when `arguments` fit, else a message naming each field and its problem.
    pub(crate) fn check(&self, arguments: &Value) -> Result<(), String> {
        // Fast path: `is_valid` does not build error values.
        if self.validator.is_valid(arguments) {
            return Ok(());
        }
        let mut problems = Vec::new();
        for error in self
            .validator
            .iter_errors(arguments)
            .take(MAX_REPORTED_ERRORS)
        {
            let path = error.instance_path().as_str();
            if path.is_empty() {
                problems.push(error.to_string());
            } else {
                problems.push(format!("\"{}\": {error}", field_path(path)));
            }
        }
        Err(format!("Input validation error: {}", problems.join("; ")))
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
        assert!(v.check(&json!({"a":1,"b":2})).is_ok());
        let msg = v.check(&json!({"a":1})).unwrap_err();
        assert_eq!(msg, "Input validation error: \"b\" is a required property");
        let msg = v.check(&json!({"a":"two","b":2})).unwrap_err();
        assert_eq!(
            msg,
            "Input validation error: \"a\": \"two\" is not of type \"number\""
        );
    }

    #[test]
    fn nested_paths_read_like_rust() {
        assert_eq!(field_path("/items/0/name"), "items[0].name");
        assert_eq!(field_path("/a~1b"), "a/b");
    }
}
