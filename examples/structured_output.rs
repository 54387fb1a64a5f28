//! Structured output: an agent that answers with a typed code-review report.
//!
//! `cargo run -p agent-sdk-examples --example structured_output`
//!
//! With `ANTHROPIC_API_KEY` set it asks the real model. Without it, it starts the
//! built-in scripted model (`agent_sdk::testing::TestEnv`) that answers through the
//! CLI's `StructuredOutput` tool, and runs the real `claude` CLI against it
//! (installed on first use by `ensure_cli()`).

use agent_sdk::prelude::*;
use agent_sdk::testing::{Script, TestEnv, Turn, ensure_cli};
use schemars::JsonSchema;
use serde::Deserialize;

/// How urgent the findings are.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Severity {
    Low,
    Medium,
    High,
}

/// One problem found in the code.
#[derive(Debug, Deserialize, JsonSchema)]
struct Finding {
    /// Path of the file.
    file: String,
    /// 1-based line number.
    line: u32,
    /// What is wrong.
    message: String,
    /// A fix, when one is obvious.
    suggestion: Option<String>,
}

/// A code review report.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct Report {
    /// One-line summary.
    title: String,
    /// Overall severity.
    severity: Severity,
    /// Problems found, most important first.
    findings: Vec<Finding>,
}

const PROMPT: &str = "Review this function and report the problems you see:\n\
    fn parse(s: &str) -> u32 { s.trim().parse().unwrap() }";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Keep the scripted model alive for the whole run when offline.
    let mut offline = None;
    let options = if std::env::var_os("ANTHROPIC_API_KEY").is_some() {
        AgentOptions::builder().max_turns(4)
    } else {
        println!("ANTHROPIC_API_KEY is not set: using the built-in scripted model.\n");
        let env = TestEnv::start(
            Script::new().then(Turn::structured_output(serde_json::json!({
                "title": "parse panics on bad input",
                "severity": "high",
                "findings": [{
                    "file": "src/lib.rs",
                    "line": 1,
                    "message": "`unwrap` panics when the input is not a number",
                    "suggestion": "return `Result<u32, ParseIntError>`"
                }]
            }))),
        )
        .await?;
        let builder = env.configure(AgentOptions::builder().cli_path(ensure_cli().await?));
        offline = Some(env);
        builder
    };

    // `query_as` sets the output schema derived from `Report` and decodes the answer.
    let report: Report = match query_as(PROMPT, options.build()?).await {
        Ok(report) => report,
        Err(Error::StructuredOutput(StructuredOutputError::Missing { result_text, .. })) => {
            eprintln!("the model answered in prose instead: {result_text:?}");
            return Ok(());
        }
        Err(other) => return Err(other.into()),
    };

    println!("{} ({:?})", report.title, report.severity);
    for finding in &report.findings {
        println!("  {}:{}: {}", finding.file, finding.line, finding.message);
        if let Some(fix) = &finding.suggestion {
            println!("      fix: {fix}");
        }
    }
    drop(offline);
    Ok(())
}
