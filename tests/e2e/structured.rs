//! Structured output as a Rust type, against the real CLI: the schema the model
//! is offered, a complying answer, a text answer followed by compliance, a model
//! that never complies, and values that break the schema.

use agent_sdk::structured::{MAX_RETRIES_SUBTYPE, StructuredOutputError};
use agent_sdk::testing::{STRUCTURED_OUTPUT_TOOL, Script, Turn};
use agent_sdk::{Client, Error, query_as};
use agent_sdk_e2e::{World, collect};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

/// How urgent a report is.
#[derive(Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Severity {
    Low,
    Medium,
    High,
}

/// One problem in the code.
#[derive(Debug, PartialEq, Deserialize, JsonSchema)]
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

// Same types as in `agent-sdk/tests/integration/structured_schemas.rs` (golden file `structured_report.json`).
/// A code review report.
#[derive(Debug, PartialEq, Deserialize, JsonSchema)]
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

const GOLDEN_REPORT_SCHEMA: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../agent-sdk/tests/data/schemas/structured_report.json"
));

fn report_json() -> Value {
    json!({
        "title": "Two problems in the parser",
        "severity": "high",
        "findings": [
            {"file": "src/parse.rs", "line": 42, "message": "unwrap on user input",
             "suggestion": "return a typed error"},
            {"file": "src/lex.rs", "line": 7, "message": "quadratic scan"}
        ],
        "filesReviewed": 3
    })
}

fn expected_report() -> Report {
    Report {
        title: "Two problems in the parser".into(),
        severity: Severity::High,
        findings: vec![
            Finding {
                file: "src/parse.rs".into(),
                line: 42,
                message: "unwrap on user input".into(),
                suggestion: Some("return a typed error".into()),
            },
            Finding {
                file: "src/lex.rs".into(),
                line: 7,
                message: "quadratic scan".into(),
                suggestion: None,
            },
        ],
        files_reviewed: 3,
        follow_up_owner: None,
    }
}

/// `report_json()` with `filesReviewed` as a string: invalid for the schema.
fn invalid_report_json() -> Value {
    let mut value = report_json();
    value["filesReviewed"] = json!("three");
    value
}

async fn run_query_as(world: &World) -> agent_sdk::Result<Report> {
    tokio::time::timeout(
        std::time::Duration::from_secs(90),
        query_as::<Report>("Review the parser.", world.options().build().unwrap()),
    )
    .await
    .expect("query_as ended within 90 s")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_model_is_offered_the_shaped_schema_and_its_answer_comes_back_typed() {
    let world = World::start(Script::new().then(Turn::structured_output(report_json()))).await;
    let report = run_query_as(&world).await.unwrap();
    assert_eq!(report, expected_report());

    // The CLI turned `--json-schema` into a `StructuredOutput` tool with our schema, verbatim.
    let api = world.env.api();
    let request = api.last_main_loop_request().unwrap();
    let tool = request.body["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == STRUCTURED_OUTPUT_TOOL)
        .unwrap_or_else(|| panic!("no StructuredOutput tool in {:?}", request.tool_names()));
    let golden: Value = serde_json::from_str(GOLDEN_REPORT_SCHEMA).unwrap();
    assert_eq!(tool["input_schema"], golden);
    assert_eq!(
        tool["input_schema"],
        agent_sdk::schema::shaped_schema_for::<Report>().unwrap()
    );
    // One model request: the successful tool call ends the turn.
    assert_eq!(api.main_loop_requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_text_answer_is_followed_by_a_reminder_and_the_second_answer_counts() {
    let world = World::start(
        Script::new()
            .then(Turn::text("Here is my review in prose."))
            .then(Turn::structured_output(report_json())),
    )
    .await;
    let report = run_query_as(&world).await.unwrap();
    assert_eq!(report, expected_report());

    let requests = world.env.api().main_loop_requests();
    assert_eq!(requests.len(), 2, "one reminder, one more request");
    let reminder = requests[1].last_user_text().unwrap_or_default();
    assert!(
        reminder.contains("[structured-output-enforce]") && reminder.contains("StructuredOutput"),
        "the CLI reminds the model: {reminder:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_that_never_complies_gives_the_no_structured_output_error() {
    let world = World::start(
        Script::new()
            .then(Turn::text("no tool 1"))
            .then(Turn::text("no tool 2"))
            .then(Turn::text("no tool 3")),
    )
    .await;
    let err = run_query_as(&world).await.unwrap_err();
    match &err {
        Error::StructuredOutput(StructuredOutputError::Missing {
            result_text,
            session_id,
        }) => {
            assert_eq!(result_text.as_deref(), Some("no tool 2"));
            assert!(!session_id.is_empty());
        }
        other => panic!("expected the Missing error, got {other:?}"),
    }
    assert!(err.to_string().contains("never produced structured output"));
    // The CLI reminds the model exactly once, then reports a plain success.
    assert_eq!(world.env.api().main_loop_requests().len(), 2);
    assert_eq!(world.env.api().turns_left(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_rejects_an_invalid_value_and_the_corrected_one_comes_back() {
    let world = World::start(
        Script::new()
            .then(Turn::structured_output(invalid_report_json()))
            .then(Turn::structured_output(report_json())),
    )
    .await;
    let report = run_query_as(&world).await.unwrap();
    assert_eq!(report, expected_report());

    // The CLI validated the call itself and told the model which field was wrong.
    let api = world.env.api();
    assert_eq!(api.main_loop_requests().len(), 2);
    let results = api.last_tool_results();
    assert_eq!(results.len(), 1, "{results:?}");
    assert!(results[0].is_error, "{results:?}");
    assert_eq!(
        results[0].text.trim(),
        "Output does not match required schema: /filesReviewed: must be integer"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_invalid_values_end_in_max_structured_output_retries() {
    // MAX_STRUCTURED_OUTPUT_RETRIES (default 5 in CLI 2.1.330) bounds the attempts.
    let mut script = Script::new();
    for _ in 0..6 {
        script = script.then(Turn::structured_output(invalid_report_json()));
    }
    let world = World::start(script).await;
    let err = run_query_as(&world).await.unwrap_err();
    let Error::StructuredOutput(inner) = &err else {
        panic!("expected a structured output error, got {err:?}");
    };
    assert!(inner.is_retries_exhausted(), "{inner:?}");
    let StructuredOutputError::ErrorResult(failure) = inner else {
        unreachable!()
    };
    assert_eq!(failure.subtype, MAX_RETRIES_SUBTYPE);
    assert_eq!(failure.data.subtype, MAX_RETRIES_SUBTYPE);
    assert_eq!(
        failure.message(),
        "Failed to provide valid structured output after 5 attempts \u{2014} \
         last StructuredOutput error: Output does not match required schema: /filesReviewed: must be integer"
    );
    assert_eq!(world.env.api().main_loop_requests().len(), 5);
    assert_eq!(world.env.api().turns_left(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_validates_against_the_type_even_when_the_session_schema_is_looser() {
    // The CLI validates against the session schema only; the SDK checks the Rust type.
    let world =
        World::start(Script::new().then(Turn::structured_output(invalid_report_json()))).await;
    let options = world
        .options()
        .output_schema(json!({"type": "object"}))
        .build()
        .unwrap();
    let client = Client::connect(options).await.unwrap();
    let err = tokio::time::timeout(
        std::time::Duration::from_secs(90),
        client.query_as::<Report>("Review the parser."),
    )
    .await
    .expect("the turn ended within 90 s")
    .unwrap_err();
    match &err {
        Error::StructuredOutput(StructuredOutputError::Invalid { violations, value }) => {
            assert_eq!(violations.len(), 1, "{violations:?}");
            assert_eq!(violations[0].path, "/filesReviewed");
            assert_eq!(
                violations[0].problem,
                "\"three\" is not of type \"integer\""
            );
            assert_eq!(value["filesReviewed"], "three");
        }
        other => panic!("expected the validation error, got {other:?}"),
    }
    assert!(err.to_string().contains("/filesReviewed"), "{err}");
    client.disconnect().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_returns_one_typed_value_per_turn() {
    let mut second = report_json();
    second["severity"] = json!("low");
    second["findings"] = json!([]);
    second["followUpOwner"] = json!("ana");
    let world = World::start(
        Script::new()
            .then(Turn::structured_output(report_json()))
            .then(Turn::structured_output(second)),
    )
    .await;
    let options = world.options().output_type::<Report>().build().unwrap();
    let client = Client::connect(options).await.unwrap();
    let first: Report = client.query_as("Review the parser.").await.unwrap();
    assert_eq!(first, expected_report());
    let again: Report = client.query_as("Review it again.").await.unwrap();
    assert_eq!(again.severity, Severity::Low);
    assert!(again.findings.is_empty());
    assert_eq!(again.follow_up_owner.as_deref(), Some("ana"));
    // Both turns offered the same shaped schema.
    for request in world.env.api().main_loop_requests() {
        let tool = request.body["tools"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == STRUCTURED_OUTPUT_TOOL)
            .cloned()
            .expect("StructuredOutput offered on every turn");
        assert_eq!(
            tool["input_schema"],
            serde_json::from_str::<Value>(GOLDEN_REPORT_SCHEMA).unwrap()
        );
    }
    client.disconnect().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_raw_result_carries_the_value_and_its_json_text() {
    let world = World::start(Script::new().then(Turn::structured_output(report_json()))).await;
    let options = world.options().output_type::<Report>().build().unwrap();
    let messages = collect(agent_sdk::query("Review the parser.", options)).await;
    let result = agent_sdk_e2e::last_result(&messages);
    assert_eq!(result.subtype, "success");
    assert_eq!(result.stop_reason.as_deref(), Some("tool_use"));
    assert_eq!(result.structured_output.as_ref(), Some(&report_json()));
    let text: Value = serde_json::from_str(result.result.as_deref().unwrap()).unwrap();
    assert_eq!(text, report_json(), "`result` is the value as JSON text");
    assert_eq!(result.structured::<Report>().unwrap(), expected_report());
}
