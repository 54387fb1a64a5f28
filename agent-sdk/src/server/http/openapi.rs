//! `GET /openapi.json`: an OpenAPI 3.1 document made from the route table the
//! router is built from, so every served route is documented.

use axum::Json;
use serde_json::{Map, Value, json};

use super::ROUTES;

/// The path parameters of an axum path: `/v1/sessions/{id}` -> `["id"]`.
fn path_parameters(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .collect()
}

fn operation_id(method: &str, path: &str) -> String {
    let words: Vec<&str> = path
        .split('/')
        .filter(|s| !s.is_empty() && !s.starts_with('{'))
        .collect();
    format!("{method}_{}", words.join("_").replace(['.', '-'], "_"))
}

/// Whether a route acts on one session, so its host must own it (a 421 names
/// the owner otherwise); reading a session's record needs no ownership.
fn owner_routed(method: &str, path: &str) -> bool {
    let of_a_session =
        path.starts_with("/v1/sessions/{id}") && !(method == "get" && path == "/v1/sessions/{id}");
    of_a_session || path == "/v1/tasks/{id}/interrupt" || (method == "post" && path == "/v1/tasks")
}

/// The document.
pub(crate) fn document() -> Value {
    let mut paths = Map::new();
    for route in ROUTES {
        let parameters: Vec<Value> = path_parameters(route.path)
            .into_iter()
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let mut operation = json!({
            "operationId": operation_id(route.method, route.path),
            "summary": route.summary,
            "parameters": parameters,
            "responses": {
                "2XX": {"description": "Success"},
                "default": {
                    "description": "An error",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
                }
            }
        });
        if route.public {
            operation["security"] = json!([]);
        }
        if owner_routed(route.method, route.path) {
            operation["responses"]["421"] = json!({
                "description": "The session is owned by another live host: retry at the address in the X-Agent-Owner header (also error.owner.address)",
                "headers": {"X-Agent-Owner": {"schema": {"type": "string"}, "description": "The owner host's advertised address"}},
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
            });
        }
        let item = paths
            .entry(route.path.to_owned())
            .or_insert_with(|| json!({}));
        item[route.method] = operation;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "agent-server",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Agent sessions over HTTP, Server-Sent Events and WebSocket."
        },
        "paths": paths,
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {"error": {
                        "type": "object",
                        "required": ["code", "message"],
                        "properties": {
                            "code": {"type": "string"},
                            "message": {"type": "string"},
                            "owner": {
                                "type": "object",
                                "description": "With a 421: the host that owns the session",
                                "properties": {"host_id": {"type": "string"}, "address": {"type": "string"}}
                            }
                        }
                    }}
                }
            }
        }
    })
}

pub(crate) async fn serve() -> Json<Value> {
    Json(document())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_in_the_document_with_its_parameters() {
        let doc = document();
        for route in ROUTES {
            let operation = &doc["paths"][route.path][route.method];
            assert!(
                operation.is_object(),
                "{} {} missing",
                route.method,
                route.path
            );
            let names: Vec<&str> = operation["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["name"].as_str().unwrap())
                .collect();
            assert_eq!(names, path_parameters(route.path));
        }
        assert_eq!(
            path_parameters("/v1/sessions/{id}/permissions/{correlation_id}"),
            ["id", "correlation_id"]
        );
        let sent_on =
            |method: &str, path: &str| doc["paths"][path][method]["responses"]["421"].is_object();
        assert!(sent_on("post", "/v1/sessions/{id}/messages"));
        assert!(sent_on("get", "/v1/sessions/{id}/events"));
        assert!(sent_on("delete", "/v1/sessions/{id}"));
        assert!(
            !sent_on("get", "/v1/sessions/{id}"),
            "reads need no ownership"
        );
        assert!(!sent_on("get", "/v1/sessions"));
    }
}
