//! Public behaviour of `AgentOptions::builder().build()`: refusals that name the option and
//! the rule, and Debug redaction.

use std::time::Duration;

use agent_sdk::options::{Plugin, Skills};
use agent_sdk::{AgentOptions, Error};

/// `build()` refuses `builder`, naming `expected_option` and a rule that mentions `needle`.
#[track_caller]
fn refused(builder: agent_sdk::AgentOptionsBuilder, expected_option: &str, needle: &str) {
    match builder.build() {
        Err(Error::InvalidOptions { option, rule }) => {
            assert_eq!(option, expected_option, "{rule}");
            assert!(rule.contains(needle), "{rule:?} should mention {needle:?}");
        }
        other => panic!("expected InvalidOptions for {expected_option:?}, got {other:?}"),
    }
}

#[test]
fn fallback_model_equal_to_model() {
    refused(
        AgentOptions::builder()
            .model("sonnet")
            .fallback_model("sonnet"),
        "fallback_model",
        "cannot be the same as model",
    );
    assert!(
        AgentOptions::builder()
            .model("sonnet")
            .fallback_model("haiku")
            .build()
            .is_ok()
    );
}

#[test]
fn zero_limits() {
    refused(
        AgentOptions::builder().max_buffer_size(0),
        "max_buffer_size",
        "greater than 0",
    );
    refused(
        AgentOptions::builder().control_timeout(Duration::ZERO),
        "control_timeout",
        "greater than 0",
    );
}

#[test]
fn budgets_must_be_finite_and_non_negative() {
    refused(
        AgentOptions::builder().max_budget_usd(-1.0),
        "max_budget_usd",
        "finite, non-negative",
    );
    refused(
        AgentOptions::builder().max_budget_usd(f64::NAN),
        "max_budget_usd",
        "finite, non-negative",
    );
    refused(
        AgentOptions::builder().max_budget_usd(f64::INFINITY),
        "max_budget_usd",
        "finite, non-negative",
    );
    assert!(AgentOptions::builder().max_budget_usd(0.0).build().is_ok());
}

#[test]
fn invalid_skill_names() {
    for bad in [
        "",
        " pdf",
        "pdf ",
        "a(b",
        "a)b",
        "a,b",
        "a\u{7}b",
        "a\u{85}b",
        "\u{FEFF}pdf",
        "*",
        "pdf:*",
        "pdf *",
        "/pdf",
        "\\\\server",
        "pdf\\",
    ] {
        refused(
            AgentOptions::builder().skills(Skills::list([bad])),
            "skills",
            "invalid skill name",
        );
    }
    for good in ["pdf", "my-skill", "plugin:skill", "a b", "ünïcode"] {
        assert!(
            AgentOptions::builder()
                .skills(Skills::list([good]))
                .build()
                .is_ok(),
            "{good:?} should be accepted"
        );
    }
}

#[test]
fn plugin_types() {
    refused(
        AgentOptions::builder().plugin(Plugin::local("")),
        "plugin",
        "non-empty path",
    );
    let err = Plugin::from_json(&serde_json::json!({"type": "npm", "path": "x"})).unwrap_err();
    assert!(err.to_string().contains("unsupported plugin type"), "{err}");
    assert!(Plugin::from_json(&serde_json::json!({"type": "local"})).is_err());
}

#[test]
fn malformed_env_names_and_extra_flags() {
    refused(AgentOptions::builder().env("", "x"), "env", "variable name");
    refused(
        AgentOptions::builder().env("A=B", "x"),
        "env",
        "variable name",
    );
    refused(
        AgentOptions::builder().extra_arg("--debug", None::<String>),
        "extra_arg",
        "without leading dashes",
    );
    refused(
        AgentOptions::builder().extra_arg("a b", Some("x")),
        "extra_arg",
        "without leading dashes",
    );
    refused(
        AgentOptions::builder().extra_arg("a=b", None::<String>),
        "extra_arg",
        "without leading dashes",
    );
}

#[test]
fn json_values_must_be_objects() {
    refused(
        AgentOptions::builder().sandbox(serde_json::json!(true)),
        "sandbox",
        "JSON object",
    );
    refused(
        AgentOptions::builder().output_schema(serde_json::json!("string")),
        "output_schema",
        "JSON Schema object",
    );
}

#[test]
fn debug_never_prints_env_values() {
    let options = AgentOptions::builder()
        .env("ANTHROPIC_API_KEY", "sk-ant-very-secret")
        .build()
        .unwrap();
    let text = format!("{options:?}");
    assert!(text.contains("ANTHROPIC_API_KEY"));
    assert!(!text.contains("sk-ant-very-secret"), "{text}");
    let builder_text = format!("{:?}", AgentOptions::builder().env("K", "builder-secret"));
    assert!(!builder_text.contains("builder-secret"), "{builder_text}");
}

#[test]
fn an_sdk_server_keeps_its_own_name() {
    let calc = agent_sdk::mcp::SdkMcpServer::builder("calc")
        .build()
        .unwrap();
    refused(
        AgentOptions::builder().mcp_server("math", calc.clone()),
        "mcp_server",
        "keeps its own name",
    );
    assert!(
        AgentOptions::builder()
            .mcp_server("calc", calc)
            .build()
            .is_ok()
    );
}

#[test]
fn the_error_names_the_option_and_the_rule() {
    let err = AgentOptions::builder()
        .max_buffer_size(0)
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid option `max_buffer_size`: must be greater than 0"
    );
}
