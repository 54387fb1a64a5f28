//! The agent server's API over loopback HTTP, where no CLI is needed: every
//! error answer (axum's extractors and router included) in the one shape
//! `{"error": {"code", "message"}}` with its status; the OpenAPI document's
//! body schemas, and real answers checked against them.

use agent_sdk::server::{AgentServer, ServerConfig, db};
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

mod support;

use support::ApiClient;

/// A server on a memory database with a 256-byte body limit; every answer
/// its client reads is checked against the OpenAPI document.
async fn start() -> ApiClient {
    let server = AgentServer::builder()
        .db(db::open("memory://").await.unwrap())
        .config(ServerConfig::default().max_body_bytes(256))
        .build()
        .await
        .unwrap();
    ApiClient::new(support::serve(server.router()).await).checked_against(AgentServer::openapi())
}

/// Asserts an answer in the error shape with `status` and `code`; returns its message.
fn assert_error(answer: (u16, HeaderMap, Value), status: u16, code: &str) -> String {
    let (got, headers, body) = answer;
    assert_eq!(got, status, "{body}");
    assert_eq!(headers["content-type"], "application/json", "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    let message = body["error"]["message"].as_str().unwrap().to_owned();
    assert!(!message.is_empty(), "{body}");
    assert_eq!(body.as_object().unwrap().len(), 1, "{body}");
    message
}

#[tokio::test]
async fn extractor_and_router_rejections_answer_in_the_error_shape() {
    let api = start().await;
    let big = json!({"session_id": "x".repeat(300)}).to_string();
    let send = |method: Method, path: &str, content_type: Option<&str>, body: &str| {
        let mut request = api.request(method, path).body(body.to_owned());
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        api.send(request)
    };
    let json = Some("application/json");

    // Past the body limit: on a route reading raw bytes and on JSON routes.
    for path in ["/v1/tickets", "/v1/sessions", "/v1/tasks"] {
        let answer = send(Method::POST, path, json, &big).await;
        assert_error(answer, 413, "payload_too_large");
    }
    // Malformed JSON, JSON of the wrong shape, a wrong content type.
    let answer = send(Method::POST, "/v1/sessions", json, "{").await;
    assert_error(answer, 400, "invalid_request");
    let answer = send(Method::POST, "/v1/sessions", json, r#"{"bogus": 1}"#).await;
    let message = assert_error(answer, 400, "invalid_request");
    assert!(message.contains("bogus"), "{message}");
    let answer = send(Method::POST, "/v1/tickets", json, "[").await;
    assert_error(answer, 400, "invalid_request");
    for content_type in [None, Some("text/plain")] {
        let answer = send(Method::POST, "/v1/sessions", content_type, "{}").await;
        assert_error(answer, 415, "unsupported_media_type");
    }
    // An unknown route, a method a route does not have (its Allow header kept),
    // a WebSocket route without an upgrade.
    let answer = send(Method::GET, "/v1/nothing-here", None, "").await;
    assert_error(answer, 404, "not_found");
    let answer = send(Method::DELETE, "/healthz", None, "").await;
    assert!(answer.1.contains_key("allow"));
    assert_error(answer, 405, "method_not_allowed");
    let answer = send(Method::GET, "/v1/sessions/x/ws", None, "").await;
    let message = assert_error(answer, 400, "invalid_request");
    assert!(message.to_lowercase().contains("upgrade"), "{message}");
    // A malformed query keeps its own code.
    let answer = send(Method::GET, "/v1/sessions?status=bogus", None, "").await;
    assert_error(answer, 400, "invalid_query");
    let answer = send(Method::GET, "/v1/tasks?status=bogus", None, "").await;
    assert_error(answer, 400, "invalid_query");
}

/// `#/components/schemas/<name>` of a body's schema.
fn schema_ref(body: &Value) -> Option<&str> {
    body["content"]["application/json"]["schema"]["$ref"].as_str()
}

#[tokio::test]
async fn every_json_body_has_a_schema_and_real_answers_match_them() {
    let api = start().await;
    let (status, doc) = api.get("/openapi.json").await;
    assert_eq!(status, 200);
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let mut with_request = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let what = format!("{method} {path}");
            if let Some(body) = operation.get("requestBody") {
                let name = schema_ref(body).unwrap_or_else(|| panic!("{what}: {body}"));
                assert!(
                    schemas.contains_key(name.rsplit('/').next().unwrap()),
                    "{what}"
                );
                with_request.push(what.clone());
            }
            let responses = operation["responses"].as_object().unwrap();
            assert_eq!(
                schema_ref(&responses["default"]),
                Some("#/components/schemas/Error"),
                "{what}"
            );
            let (status, answer) = responses.iter().find(|(s, _)| *s != "default").unwrap();
            let documented: Option<Vec<&str>> = answer["content"]
                .as_object()
                .map(|c| c.keys().map(String::as_str).collect());
            match status.as_str() {
                "204" | "101" => assert_eq!(documented, None, "{what}"),
                _ if path.ends_with("/events") => {
                    assert_eq!(documented, Some(vec!["text/event-stream"]), "{what}")
                }
                _ if path == "/openapi.json" => assert!(documented.is_some()),
                _ if path == "/metrics" => assert_eq!(
                    documented,
                    Some(vec![agent_sdk::server::metrics::CONTENT_TYPE]),
                    "{what}"
                ),
                _ => assert!(
                    schema_ref(answer).is_some(),
                    "{what}: a JSON answer without a schema: {answer}"
                ),
            }
        }
    }
    with_request.sort();
    assert_eq!(
        with_request,
        [
            "post /v1/sessions",
            "post /v1/sessions/{id}/messages",
            "post /v1/sessions/{id}/permissions/{correlation_id}",
            "post /v1/tasks",
            "post /v1/tickets",
        ]
    );
    let session = &schemas["SessionView"]["properties"];
    for field in [
        "id",
        "status",
        "user",
        "tenant",
        "turns",
        "usage",
        "claude_session_id",
    ] {
        assert!(session.get(field).is_some(), "SessionView.{field}");
    }

    // Real answers, each checked against its documented schema by the client.
    assert_eq!(api.get("/healthz").await.0, 200);
    assert_eq!(api.get("/readyz").await.0, 200);
    assert_eq!(api.get("/v1/sessions").await.0, 200);
    assert_eq!(api.get("/v1/tasks?status=running").await.0, 200);
    let (status, ticket) = api.post("/v1/tickets", json!({})).await;
    assert_eq!(status, 201, "{ticket}");
    assert_eq!(api.get("/v1/sessions/nope").await.0, 404);
    assert_eq!(api.get("/v1/tasks/nope").await.0, 404);
    assert_eq!(api.delete("/v1/sessions/nope").await.0, 404);
    // A body that is not what its schema says is caught.
    let schemas = support::Schemas::new(doc);
    let wrong = json!({"ok": "yes"});
    assert!(schemas.check("GET", "/healthz", 200, &wrong).is_err());
}

/// A value of `schema` (resolving `$ref`s in `doc`): an enum's first value,
/// `0` for a number, `x` for a string.
fn sample(doc: &Value, schema: &Value) -> String {
    if let Some(target) = schema["$ref"].as_str() {
        let name = target.rsplit('/').next().unwrap();
        return sample(doc, &doc["components"]["schemas"][name]);
    }
    if let Some(first) = schema["enum"].get(0).or(schema["oneOf"][0].get("const")) {
        return first.as_str().unwrap().to_owned();
    }
    match schema["type"].as_str() {
        Some("integer" | "number") => "0".into(),
        _ => "x".into(),
    }
}

/// The documented query parameters of the list and usage routes, taken from
/// the served document (not listed here): each is accepted with a value of
/// its schema (200, the answer matching the document), and each typed one
/// (an enum, a number) is read by the handler: a value outside its type is a
/// 400 `invalid_query`, where an unread name would be ignored.
#[tokio::test]
async fn the_documented_query_parameters_are_the_ones_handlers_read() {
    let api = start().await;
    let (status, doc) = api.get("/openapi.json").await;
    assert_eq!(status, 200);
    let mut typed = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let Some(parameters) = item["get"]["parameters"].as_array() else {
            continue;
        };
        if path.contains('{') || !path.starts_with("/v1/") {
            continue;
        }
        let query: Vec<&Value> = parameters
            .iter()
            .filter(|p| p["in"] == "query" && p["name"] != "ticket")
            .collect();
        let all: Vec<String> = query
            .iter()
            .map(|p| {
                format!(
                    "{}={}",
                    p["name"].as_str().unwrap(),
                    sample(&doc, &p["schema"])
                )
            })
            .collect();
        let (status, _, body) = api
            .send(api.request(Method::GET, &format!("{path}?{}", all.join("&"))))
            .await;
        assert_eq!(status, 200, "{path}?{}: {body}", all.join("&"));
        for parameter in query {
            let name = parameter["name"].as_str().unwrap();
            if sample(&doc, &parameter["schema"]) == "x" {
                continue;
            }
            typed += 1;
            let answer = api
                .send(api.request(Method::GET, &format!("{path}?{name}=not-a-value")))
                .await;
            assert_error(answer, 400, "invalid_query");
        }
    }
    assert!(
        typed >= 4,
        "status on both lists, from and to on usage: {typed}"
    );
}
