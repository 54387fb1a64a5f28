//! Golden files of the output schemas of the structured-output test types
//! (`tests/data/schemas/structured_*.json`). The e2e tests assert that the CLI
//! offers the model exactly these schemas. Regenerate with
//! `UPDATE_GOLDEN=1 cargo test -p agent-sdk --test integration structured_schemas`.

use agent_sdk::structured::OutputSchema;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::common;

/// How urgent a report is.
#[allow(dead_code)]
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Severity {
    Low,
    Medium,
    High,
}

/// One problem in the code.
#[allow(dead_code)]
#[derive(Deserialize, JsonSchema)]
struct Finding {
    /// Path of the file, relative to the repository root.
    file: String,
    /// 1-based line number.
    line: u32,
    /// What is wrong.
    message: String,
    /// A fix, when one is obvious.
    suggestion: Option<String>,
}

/// A code review report.
#[allow(dead_code)]
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct Report {
    /// One-line summary.
    title: String,
    /// Overall severity.
    severity: Severity,
    /// Problems found, most important first.
    findings: Vec<Finding>,
    /// Number of files reviewed.
    files_reviewed: u32,
    /// Who should follow up, if anyone.
    follow_up_owner: Option<String>,
}

/// The answer to an arithmetic question.
#[allow(dead_code)]
#[derive(Deserialize, JsonSchema)]
struct Sum {
    /// The result.
    answer: i64,
    /// How it was computed.
    explanation: Option<String>,
}

fn check<T: JsonSchema + 'static>(name: &str) -> Value {
    let schema = OutputSchema::of::<T>()
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .schema()
        .clone();
    common::assert_golden_schema(name, &schema);
    schema
}

#[test]
fn report_schema_is_golden_and_well_shaped() {
    let schema = check::<Report>("structured_report");
    assert!(schema.get("$schema").is_none());
    assert!(schema.get("$defs").is_none());
    assert!(!schema.to_string().contains("$ref"), "nested types inlined");
    // rename_all = camelCase, optional fields only absent from `required`.
    assert_eq!(
        schema["required"],
        json!(["title", "severity", "findings", "filesReviewed"])
    );
    assert_eq!(schema["properties"]["followUpOwner"]["type"], "string");
    // Unit enum with rename_all = lowercase: a string enum, doc comment kept.
    assert_eq!(schema["properties"]["severity"]["type"], "string");
    assert_eq!(
        schema["properties"]["severity"]["enum"],
        json!(["low", "medium", "high"])
    );
    // Vec of a nested struct, doc comments as descriptions.
    let finding = &schema["properties"]["findings"]["items"];
    assert_eq!(finding["type"], "object");
    assert_eq!(finding["required"], json!(["file", "line", "message"]));
    assert_eq!(
        finding["properties"]["line"]["description"],
        "1-based line number."
    );
    assert_eq!(finding["properties"]["line"]["minimum"], 0);
    assert_eq!(
        schema["properties"]["title"]["description"],
        "One-line summary."
    );
    assert_eq!(schema["description"], "A code review report.");
}

#[test]
fn sum_schema_is_golden() {
    let schema = check::<Sum>("structured_sum");
    assert_eq!(schema["required"], json!(["answer"]));
    assert_eq!(schema["properties"]["answer"]["type"], "integer");
}
