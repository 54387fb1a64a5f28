//! `GET /openapi.json`: an OpenAPI 3.1 document made from the route table the
//! router is built from, so every served route is documented, with the JSON
//! Schema of each request and answer body (derived from the Rust types the
//! handlers read and write) in `components/schemas`, and the query
//! parameters of each route from the type its handler deserializes the query
//! string into (the route table's query column).

use axum::Json;
use schemars::SchemaGenerator;
use schemars::generate::{Contract, SchemaSettings};
use serde_json::{Map, Value, json};

use super::ROUTES;
use super::schema::{BodyDoc, ParamDoc};
use crate::server::error::ErrorBody;
use crate::server::metrics;

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

/// `?ticket=`: the authentication middleware takes a ticket from
/// `POST /v1/tickets` instead of the bearer header on a GET (EventSource
/// cannot set headers), so every authenticated GET accepts it.
fn ticket_parameter() -> ParamDoc {
    ParamDoc {
        name: "ticket".into(),
        location: "query",
        required: false,
        schema: json!({
            "type": "string",
            "description": "A ticket from POST /v1/tickets, instead of the Authorization header (GET only)"
        }),
    }
}

/// Every parameter of `route`: its path's, its handler's query type's, and
/// `ticket` where the middleware accepts one.
fn parameters(route: &super::Route, requests: &mut SchemaGenerator) -> Vec<Value> {
    let path = path_parameters(route.path)
        .into_iter()
        .map(|name| ParamDoc {
            name: name.into(),
            location: "path",
            required: true,
            schema: json!({"type": "string"}),
        });
    let ticket = (!route.public && route.method == "get").then(ticket_parameter);
    path.chain((route.query)(requests))
        .chain(ticket)
        .map(|p| {
            let mut parameter = json!({"name": p.name, "in": p.location, "required": p.required});
            let mut schema = p.schema;
            // OpenAPI wants a parameter's description beside its schema.
            if let Some(description) = schema.as_object_mut().and_then(|s| s.remove("description"))
            {
                parameter["description"] = description;
            }
            parameter["schema"] = schema;
            parameter
        })
        .collect()
}

/// `GET /metrics`, mounted by `AgentServer::router` beside the route table
/// (it has its own state: the metrics registry), documented here.
fn metrics_path() -> Value {
    json!({"get": {
        "operationId": "get_metrics",
        "summary": "Prometheus metrics (also without the token on the binary's --metrics-listen address)",
        "parameters": [],
        "responses": {
            "200": {
                "description": "OK",
                "content": {metrics::CONTENT_TYPE: {"schema": {"type": "string"}}}
            },
            "default": {
                "description": "An error",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
            }
        }
    }})
}

/// The document.
pub(crate) fn document() -> Value {
    // Requests are described as they are read, answers as they are written.
    let mut requests = generator(Contract::Deserialize);
    let mut answers = generator(Contract::Serialize);
    let error = answers.subschema_for::<ErrorBody>();
    let mut paths = Map::new();
    for route in ROUTES {
        let parameters = parameters(route, &mut requests);
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
    paths.insert("/metrics".into(), metrics_path());
    let mut schemas = requests.take_definitions(true);
    schemas.extend(answers.take_definitions(true));
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "agent-server",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Agent sessions over HTTP, Server-Sent Events and WebSocket. \
                Not in this document: `GET /` and `/console/*`, the web console's static page, \
                script and style (no data, no authentication: the page calls this API)."
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
                .filter(|p| p["in"] == "path")
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

    /// Every query parameter (and header) a handler reads, as its route's
    /// query type says, is in the document with its place; authenticated GETs
    /// also take `ticket`; a query type's doc comment is the description.
    #[test]
    fn every_query_parameter_a_handler_reads_is_documented() {
        let doc = document();
        let mut documented = 0;
        for route in ROUTES {
            let operation = &doc["paths"][route.path][route.method];
            let parameters = operation["parameters"].as_array().unwrap();
            let find = |name: &str, location: &str| {
                parameters
                    .iter()
                    .find(|p| p["name"] == name && p["in"] == location)
                    .unwrap_or_else(|| {
                        panic!("{} {}: no {location} {name}", route.method, route.path)
                    })
            };
            let read = (route.query)(&mut generator(Contract::Deserialize));
            for parameter in &read {
                let found = find(&parameter.name, parameter.location);
                assert_eq!(found["required"], parameter.required);
                assert!(found["schema"].is_object(), "{found}");
                assert_ne!(found["schema"]["type"], "null", "{found}");
                documented += 1;
            }
            let ticket = !route.public && route.method == "get";
            if ticket {
                find("ticket", "query");
            }
            let path = path_parameters(route.path).len();
            assert_eq!(
                parameters.len(),
                path + read.len() + usize::from(ticket),
                "{} {}: {parameters:?}",
                route.method,
                route.path
            );
        }
        assert!(
            documented >= 15,
            "the lists, events, ws and usage: {documented}"
        );
        let usage = &doc["paths"]["/v1/usage"]["get"]["parameters"];
        assert!(
            usage.as_array().unwrap().iter().any(|p| p["name"] == "from"
                && p["schema"]["type"] == "integer"
                && p["description"]
                    .as_str()
                    .is_some_and(|d| d.contains("epoch"))),
            "{usage}"
        );
        assert!(doc["paths"]["/metrics"]["get"]["responses"]["200"].is_object());
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
