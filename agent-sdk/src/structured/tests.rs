//! Decoding, validation and error cases of structured output, without the CLI.

use std::sync::Arc;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use super::*;
use crate::error::Error;
use crate::message::Message;
use crate::options::AgentOptions;
use crate::transport::command::build_args;

/// How bad it is.
#[derive(Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Severity {
    Low,
    High,
}

#[derive(Debug, PartialEq, Deserialize, JsonSchema)]
struct Finding {
    file: String,
    line: u32,
}

#[derive(Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct Report {
    title: String,
    severity: Severity,
    findings: Vec<Finding>,
    follow_up: Option<String>,
}

fn result_line(extra: Value) -> ResultMessage {
    let mut frame = json!({
        "type": "result", "subtype": "success", "is_error": false, "duration_ms": 5,
        "duration_api_ms": 4, "num_turns": 2, "session_id": "s-1", "stop_reason": "tool_use",
    });
    for (key, value) in extra.as_object().unwrap() {
        frame[key] = value.clone();
    }
    match Message::from_slice(frame.to_string().as_bytes()).unwrap() {
        Message::Result(result) => result,
        other => panic!("not a result: {other:?}"),
    }
}

fn good_report() -> Value {
    json!({"title": "t", "severity": "high", "findings": [{"file": "a.rs", "line": 3}]})
}

#[test]
fn a_complying_result_decodes_into_the_type() {
    let result = result_line(
        json!({"structured_output": good_report(), "result": good_report().to_string()}),
    );
    let report: Report = result.structured().unwrap();
    assert_eq!(
        report,
        Report {
            title: "t".into(),
            severity: Severity::High,
            findings: vec![Finding {
                file: "a.rs".into(),
                line: 3
            }],
            follow_up: None,
        }
    );
}

#[test]
fn a_success_without_structured_output_is_missing() {
    // What the CLI reports when the model answers with text even after the reminder.
    let result = result_line(json!({"result": "no tool 2", "stop_reason": "end_turn"}));
    let err = result.structured::<Report>().unwrap_err();
    match &err {
        StructuredOutputError::Missing {
            session_id,
            result_text,
        } => {
            assert_eq!(session_id, "s-1");
            assert_eq!(result_text.as_deref(), Some("no tool 2"));
        }
        other => panic!("expected Missing, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "the model never produced structured output; it answered: \"no tool 2\""
    );
}

#[test]
fn a_wrong_type_names_the_field() {
    let mut value = good_report();
    value["findings"][0]["line"] = json!("three");
    let result = result_line(json!({ "structured_output": value }));
    let err = result.structured::<Report>().unwrap_err();
    let StructuredOutputError::Invalid {
        violations,
        value: seen,
    } = &err
    else {
        panic!("expected Invalid, got {err:?}");
    };
    assert_eq!(seen["findings"][0]["line"], "three");
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert_eq!(violations[0].path, "/findings/0/line");
    assert_eq!(
        violations[0].problem,
        "\"three\" is not of type \"integer\""
    );
    assert_eq!(
        err.to_string(),
        "the structured output does not fit the schema: /findings/0/line: \"three\" is not of type \"integer\""
    );
}

#[test]
fn missing_fields_and_unknown_enum_values_are_violations() {
    let schema = OutputSchema::of::<Report>().unwrap();
    let err = schema
        .validate(&json!({"title": "t", "severity": "medium"}))
        .unwrap_err();
    let StructuredOutputError::Invalid { violations, .. } = err else {
        panic!("expected Invalid");
    };
    let text: Vec<String> = violations.iter().map(ToString::to_string).collect();
    assert!(
        text.iter()
            .any(|v| v.contains("\"findings\" is a required property")),
        "{text:?}"
    );
    assert!(
        text.iter().any(|v| v.starts_with("/severity: ")),
        "{text:?}"
    );
}

#[test]
fn optional_fields_may_be_absent_but_not_null() {
    let schema = OutputSchema::of::<Report>().unwrap();
    let mut value = good_report();
    assert!(schema.validate(&value).is_ok());
    value["followUp"] = json!("call back");
    let report: Report = schema.decode(&value).unwrap();
    assert_eq!(report.follow_up.as_deref(), Some("call back"));
    // The schema offers no null (shaping rule); the CLI's validator agrees.
    value["followUp"] = Value::Null;
    assert!(schema.validate(&value).is_err());
}

#[test]
fn an_error_result_is_reported_with_its_subtype() {
    let result = result_line(json!({
        "subtype": "error_max_structured_output_retries", "is_error": true,
        "terminal_reason": "structured_output_retry_exhausted",
        "errors": ["Failed to provide valid structured output after 5 attempts"],
    }));
    let err = result.structured::<Report>().unwrap_err();
    assert!(err.is_retries_exhausted(), "{err:?}");
    assert_eq!(
        err.to_string(),
        "the session ended in an error result (error_max_structured_output_retries): \
         Failed to provide valid structured output after 5 attempts"
    );

    // An API error is `is_error` with subtype `success`: still an error result.
    let api =
        result_line(json!({"is_error": true, "result": "API Error: 500", "api_error_status": 500}));
    match api.structured::<Report>().unwrap_err() {
        e @ StructuredOutputError::ErrorResult(_) => {
            assert!(!e.is_retries_exhausted());
            let StructuredOutputError::ErrorResult(failure) = e else {
                unreachable!()
            };
            assert_eq!(failure.api_error_status, Some(500));
            assert_eq!(failure.message(), "API Error: 500");
            // The same shape as the error after a failed run, with the whole frame.
            assert_eq!(failure.data, api);
        }
        other => panic!("expected ErrorResult, got {other:?}"),
    }
}

/// Accepts only even numbers: stricter than its schema.
#[derive(Debug)]
struct Even(u32);

impl JsonSchema for Even {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Even".into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        u32::json_schema(generator)
    }
}

impl<'de> Deserialize<'de> for Even {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = u32::deserialize(d)?;
        if n % 2 == 0 {
            Ok(Even(n))
        } else {
            Err(serde::de::Error::custom(format!("{n} is odd")))
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
struct Pair {
    n: Even,
}

#[test]
fn serde_refusing_a_schema_valid_value_is_its_own_case() {
    let result = result_line(json!({"structured_output": {"n": 3}}));
    let err = result.structured::<Pair>().unwrap_err();
    let StructuredOutputError::Deserialize {
        type_name, message, ..
    } = &err
    else {
        panic!("expected Deserialize, got {err:?}");
    };
    assert!(type_name.ends_with("Pair"), "{type_name}");
    assert_eq!(message, "3 is odd");
    assert_eq!(
        result_line(json!({"structured_output": {"n": 4}}))
            .structured::<Pair>()
            .unwrap()
            .n
            .0,
        4
    );
}

#[test]
fn the_validator_is_compiled_once_per_type() {
    let first = OutputSchema::of::<Report>().unwrap();
    let second = OutputSchema::of::<Report>().unwrap();
    assert!(Arc::ptr_eq(&first, &second));
    let other = OutputSchema::of::<Finding>().unwrap();
    assert!(!Arc::ptr_eq(&first, &other));
}

#[test]
fn output_type_sends_the_shaped_schema_as_json_schema() {
    let options = AgentOptions::builder()
        .output_type::<Report>()
        .build()
        .unwrap();
    let expected = crate::schema::shaped_schema_for::<Report>().unwrap();
    assert_eq!(options.output_schema.as_ref(), Some(&expected));
    let args: Vec<String> = build_args(&options)
        .unwrap()
        .into_iter()
        .map(|a| a.into_string().unwrap())
        .collect();
    let at = args
        .iter()
        .position(|a| a == "--json-schema")
        .expect("flag present");
    let sent: Value = serde_json::from_str(&args[at + 1]).unwrap();
    assert_eq!(sent, expected);
}

#[derive(Deserialize, JsonSchema)]
#[allow(dead_code)]
enum Choice {
    Left,
    Right,
}

#[test]
fn a_type_without_an_object_schema_fails_at_build() {
    let err = AgentOptions::builder()
        .output_type::<Choice>()
        .build()
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidOptions {
                option: "output_type",
                ..
            }
        ),
        "{err:?}"
    );
    // A later schema replaces the failed type.
    let options = AgentOptions::builder()
        .output_type::<Choice>()
        .output_schema(json!({"type": "object"}))
        .build()
        .unwrap();
    assert_eq!(options.output_schema, Some(json!({"type": "object"})));
    // And a later good type too.
    assert!(
        AgentOptions::builder()
            .output_type::<Choice>()
            .output_type::<Report>()
            .build()
            .is_ok()
    );
}

#[test]
fn run_time_schemas_validate_raw_values() {
    let schema = OutputSchema::from_value(json!({
        "type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"]
    }))
    .unwrap();
    let result = result_line(json!({"structured_output": {"answer": "five"}}));
    let value = result.structured_value().unwrap();
    let err = schema.validate(value).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the structured output does not fit the schema: /answer: \"five\" is not of type \"integer\""
    );
}

#[test]
fn structured_errors_convert_into_the_crate_error() {
    let err: Error = StructuredOutputError::NoResult.into();
    assert!(matches!(
        err,
        Error::StructuredOutput(StructuredOutputError::NoResult)
    ));
    assert_eq!(
        err.to_string(),
        "structured output: the session ended without a result"
    );
}
