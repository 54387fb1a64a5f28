//! `GET /openapi.json`: an OpenAPI 3.1 document made from the route table the
//! router is built from, so every served route is documented, with the JSON
//! Schema of each request and answer body (derived from the Rust types the
//! handlers read and write) in `components/schemas`.

use axum::Json;
use schemars::SchemaGenerator;
use schemars::generate::{Contract, SchemaSettings};
use serde_json::{Map, Value, json};

use super::ROUTES;
use super::schema::BodyDoc;
use crate::server::error::ErrorBody;

/// Where the schemas go, and so what their `$ref`s point at.
const SCHEMAS: &str = "/components/schemas";

fn generator(contract: Contract) -> SchemaGenerator {
    SchemaSettings::draft2020_12()
        .with(|settings| {
            settings.definitions_path = SCHEMAS.into();
            settings.meta_schema = None;
            settings.contract = contract;
        })
        .into_generator()
}

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

fn content(body: &BodyDoc) -> Value {
    json!({body.media_type: {"schema": body.schema}})
}

fn status_description(status: u16) -> &'static str {
    axum::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Success")
}

/// The document.
pub(crate) fn document() -> Value {
    // Requests are described as they are read, answers as they are written.
    let mut requests = generator(Contract::Deserialize);
    let mut answers = generator(Contract::Serialize);
    let error = answers.subschema_for::<ErrorBody>();
    let mut paths = Map::new();
    for route in ROUTES {
        let parameters: Vec<Value> = path_parameters(route.path)
            .into_iter()
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let mut answer = json!({"description": status_description(route.status)});
        if let Some(body) = (route.response)(&mut answers) {
            answer["content"] = content(&body);
        }
        let mut operation = json!({
            "operationId": operation_id(route.method, route.path),
            "summary": route.summary,
            "parameters": parameters,
            "responses": {
                route.status.to_string(): answer,
                "default": {
                    "description": "An error",
                    "content": {"application/json": {"schema": error}}
                }
            }
        });
        if let Some(body) = (route.request)(&mut requests) {
            operation["requestBody"] =
                json!({"required": body.required, "content": content(&body)});
        }
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
    let mut schemas = requests.take_definitions(true);
    schemas.extend(answers.take_definitions(true));
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "agent-server",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Agent sessions over HTTP, Server-Sent Events and WebSocket."
        },
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "paths": paths,
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": schemas
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

    /// Every `$ref` in the document resolves to a schema in it.
    fn refs<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref") {
                    found.push(target);
                }
                map.values().for_each(|v| refs(v, found));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
            _ => {}
        }
    }

    #[test]
    fn bodies_refer_to_schemas_the_document_holds() {
        let doc = document();
        let mut found = Vec::new();
        refs(&doc, &mut found);
        assert!(found.len() > ROUTES.len(), "{found:?}");
        for target in found {
            let name = target
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("{target}"));
            assert!(
                doc["components"]["schemas"][name].is_object(),
                "{target} is not in the document"
            );
        }
        let create = &doc["paths"]["/v1/sessions"]["post"];
        assert_eq!(
            create["requestBody"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/SessionSpec"
        );
        assert_eq!(
            create["responses"]["201"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/SessionCreated"
        );
        assert_eq!(
            create["responses"]["default"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/Error"
        );
    }
}
