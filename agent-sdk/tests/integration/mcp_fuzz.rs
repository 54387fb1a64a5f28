//! Property tests of the in-process MCP server: any JSON-RPC message gets exactly
//! one well-formed answer without a panic, and tool arguments are validated
//! against the schema whatever they are. Seeded from the recorded `mcp_message`
//! requests of the transcripts.

use std::time::Duration;

use agent_sdk::mcp::SdkMcpServer;
use agent_sdk::prelude::*;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

use crate::common;

/// Add two numbers
#[tool]
async fn add(a: f64, b: f64) -> f64 {
    a + b
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Point {
    x: i32,
    y: i32,
}

/// Manhattan length of a path of points, with an optional label.
#[tool]
async fn path_length(points: Vec<Point>, label: Option<String>) -> String {
    let total: i64 = points
        .windows(2)
        .map(|w| i64::from((w[0].x - w[1].x).abs()) + i64::from((w[0].y - w[1].y).abs()))
        .sum();
    format!("{}{total}", label.unwrap_or_default())
}

#[tool]
async fn boom(reason: String) -> String {
    panic!("kaboom: {reason}")
}

fn server() -> SdkMcpServer {
    create_sdk_mcp_server!("calc", tools = [add, path_length, boom]).expect("server builds")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The `message` of every `mcp_message` request recorded from the real CLI.
fn recorded_messages() -> Vec<Value> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/transcripts");
    let mut messages = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "jsonl") {
            continue;
        }
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            let record: Value = serde_json::from_str(line).unwrap();
            if record["dir"] == "cli->sdk" && record["msg"]["request"]["subtype"] == "mcp_message" {
                messages.push(record["msg"]["request"]["message"].clone());
            }
        }
    }
    assert!(messages.len() >= 8, "transcripts hold mcp_message requests");
    messages
}

/// Arbitrary JSON, with the names of this server's methods, tools and arguments
/// coming up often.
fn arb_json() -> impl Strategy<Value = Value> {
    common::arb_json(
        &["add", "tools/call", "x"],
        ".{0,8}",
        &["a", "b", "x", "points"],
        ".{0,6}",
    )
}

/// A JSON-RPC-ish message: known and unknown methods, any id (or none), any params,
/// and `tools/call` with real and unknown tool names; or a recorded message with its
/// arguments replaced; or any JSON at all.
fn arb_message() -> impl Strategy<Value = Value> {
    let method = prop_oneof![
        Just(Value::from("tools/call")),
        Just(Value::from("tools/list")),
        Just(Value::from("initialize")),
        Just(Value::from("ping")),
        Just(Value::from("notifications/cancelled")),
        Just(Value::from("notifications/initialized")),
        arb_json(),
    ];
    let name = prop_oneof![
        Just(Value::from("add")),
        Just(Value::from("path_length")),
        Just(Value::from("boom")),
        arb_json(),
    ];
    let call_params = (name, arb_json(), arb_json()).prop_map(
        |(name, arguments, meta)| json!({"name": name, "arguments": arguments, "_meta": meta}),
    );
    let params = prop_oneof![call_params, arb_json()];
    let shaped = (
        prop::option::of(arb_json()),
        prop::option::of(method),
        prop::option::of(params),
    )
        .prop_map(|(id, method, params)| {
            let mut map = Map::new();
            map.insert("jsonrpc".into(), "2.0".into());
            if let Some(id) = id {
                map.insert("id".into(), id);
            }
            if let Some(method) = method {
                map.insert("method".into(), method);
            }
            if let Some(params) = params {
                map.insert("params".into(), params);
            }
            Value::Object(map)
        });
    let recorded = (prop::sample::select(recorded_messages()), arb_json()).prop_map(
        |(mut message, arguments)| {
            if let Some(params) = message.get_mut("params").and_then(Value::as_object_mut)
                && params.contains_key("arguments")
            {
                params.insert("arguments".into(), arguments);
            }
            message
        },
    );
    prop_oneof![4 => shaped, 2 => recorded, 1 => arb_json()]
}

/// The one answer is well formed: a request gets its id back and exactly one of
/// `result`/`error`; a notification gets the empty acknowledgement.
fn check_answer(message: &Value, answer: &Value) -> Result<(), TestCaseError> {
    prop_assert_eq!(&answer["jsonrpc"], "2.0");
    let answer = answer.as_object().expect("an object");
    match message.get("id") {
        None => prop_assert_eq!(answer.get("result"), Some(&json!({}))),
        Some(id) => {
            prop_assert_eq!(answer.get("id"), Some(id));
            prop_assert!(answer.contains_key("result") != answer.contains_key("error"));
            if let Some(error) = answer.get("error") {
                prop_assert!(error["code"].is_i64() && error["message"].is_string());
            }
            if message["method"] == "tools/call"
                && let Some(result) = answer.get("result")
            {
                prop_assert!(result["content"].is_array(), "tool result: {result}");
            }
        }
    }
    Ok(())
}

#[test]
fn every_recorded_mcp_message_is_answered() {
    let server = server();
    runtime().block_on(async {
        for message in recorded_messages() {
            let answer = server.handle_json_rpc(message.clone()).await;
            check_answer(&message, &answer).unwrap();
        }
    });
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn any_json_rpc_message_gets_exactly_one_answer(message in arb_message()) {
        let server = server();
        let answer = runtime().block_on(async {
            tokio::time::timeout(Duration::from_secs(5), server.handle_json_rpc(message.clone()))
                .await
                .expect("answered in time")
        });
        check_answer(&message, &answer)?;
    }

    /// `add` succeeds exactly when `a` and `b` are numbers, with their sum;
    /// anything else is an `isError` result naming the problem, never a panic.
    #[test]
    fn add_arguments_are_validated(arguments in prop_oneof![
        arb_json(),
        (prop::option::of(arb_json()), prop::option::of(arb_json())).prop_map(|(a, b)| {
            let mut map = Map::new();
            if let Some(a) = a { map.insert("a".into(), a); }
            if let Some(b) = b { map.insert("b".into(), b); }
            Value::Object(map)
        }),
        (any::<i32>(), -1e9f64..1e9).prop_map(|(a, b)| json!({"a": a, "b": b})),
    ]) {
        let server = server();
        let result = runtime().block_on(server.call_tool("add", arguments.clone()));
        let valid = match &arguments {
            Value::Null => false,
            Value::Object(map) => {
                map.get("a").is_some_and(Value::is_number) && map.get("b").is_some_and(Value::is_number)
            }
            _ => false,
        };
        if valid {
            prop_assert!(!result.is_error, "{arguments} rejected: {}", result.text_content());
            let sum = arguments["a"].as_f64().unwrap() + arguments["b"].as_f64().unwrap();
            prop_assert_eq!(result.text_content().parse::<f64>().ok(), Some(sum));
        } else {
            prop_assert!(result.is_error, "{arguments} accepted: {}", result.text_content());
            prop_assert!(!result.text_content().is_empty());
        }
    }

}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Nested arguments: a list of `{x, y}` integer points; a panicking tool is an
    /// `isError` result.
    #[test]
    fn nested_arguments_never_panic(points in arb_json(), label in arb_json(), reason in arb_json()) {
        let server = server();
        let (result, panicked) = runtime().block_on(async {
            let result = server.call_tool("path_length", json!({"points": points, "label": label})).await;
            let panicked = server.call_tool("boom", json!({"reason": reason})).await;
            (result, panicked)
        });
        let points_ok = points.as_array().is_some_and(|list| list.iter().all(|p| {
            p.as_object().is_some_and(|p| {
                ["x", "y"].iter().all(|k| p.get(*k).and_then(Value::as_i64).is_some_and(|v| i32::try_from(v).is_ok()))
            })
        }));
        // `Option<T>` is "may be absent"; an explicit null from the model reads as absent.
        let label_ok = label.is_string() || label.is_null();
        if points_ok && label_ok {
            prop_assert!(!result.is_error, "rejected: {}", result.text_content());
        } else {
            prop_assert!(result.is_error, "accepted {points} {label}: {}", result.text_content());
        }
        prop_assert!(panicked.is_error);
        if reason.is_string() {
            prop_assert!(panicked.text_content().contains("panicked"), "{}", panicked.text_content());
        }
    }
}
