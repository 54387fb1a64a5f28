//! What the route table says about bodies and parameters: each row names its
//! request and answer body types and its query type; [`BodySchema`] turns a
//! body type into its media type and JSON Schema for the OpenAPI document,
//! [`QuerySchema`] a query type into its parameters.

use axum::Json;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::{Value, json};

use super::body::Params;

/// A request or answer body in the document.
pub(crate) struct BodyDoc {
    pub(crate) media_type: &'static str,
    pub(crate) schema: Schema,
    pub(crate) required: bool,
}

/// What a route's body column names: `Json<T>`, `Option<Json<T>>` (a body
/// that may be empty), [`EventStream`], or `()` for none.
pub(crate) trait BodySchema {
    /// The body's media type and schema, registering its types in `generator`.
    fn body(generator: &mut SchemaGenerator) -> Option<BodyDoc>;
}

impl BodySchema for () {
    fn body(_: &mut SchemaGenerator) -> Option<BodyDoc> {
        None
    }
}

impl<T: JsonSchema> BodySchema for Json<T> {
    fn body(generator: &mut SchemaGenerator) -> Option<BodyDoc> {
        Some(BodyDoc {
            media_type: "application/json",
            schema: generator.subschema_for::<T>(),
            required: true,
        })
    }
}

impl<T: JsonSchema> BodySchema for Option<Json<T>> {
    fn body(generator: &mut SchemaGenerator) -> Option<BodyDoc> {
        Json::<T>::body(generator).map(|body| BodyDoc {
            required: false,
            ..body
        })
    }
}

/// A stream of Server-Sent Events (`id`, `event`, `data: <json>`).
pub(crate) struct EventStream;

impl BodySchema for EventStream {
    fn body(_: &mut SchemaGenerator) -> Option<BodyDoc> {
        Some(BodyDoc {
            media_type: "text/event-stream",
            schema: schemars::json_schema!({"type": "string"}),
            required: true,
        })
    }
}

/// A query parameter or header of a route in the document.
pub(crate) struct ParamDoc {
    pub(crate) name: String,
    /// `query` or `header`.
    pub(crate) location: &'static str,
    pub(crate) required: bool,
    pub(crate) schema: Value,
}

/// What a route's query column names: `Params<T>` (the query string the
/// handler deserializes into `T`), a header such as [`LastEventId`], a pair
/// of those, or `()` for none.
pub(crate) trait QuerySchema {
    /// The parameters, registering their types in `generator`.
    fn parameters(generator: &mut SchemaGenerator) -> Vec<ParamDoc>;
}

impl QuerySchema for () {
    fn parameters(_: &mut SchemaGenerator) -> Vec<ParamDoc> {
        Vec::new()
    }
}

impl<A: QuerySchema, B: QuerySchema> QuerySchema for (A, B) {
    fn parameters(generator: &mut SchemaGenerator) -> Vec<ParamDoc> {
        let mut parameters = A::parameters(generator);
        parameters.extend(B::parameters(generator));
        parameters
    }
}

/// Each field of `T`'s schema is a query parameter: its name as serde reads
/// it, required unless optional, its description from the field's doc.
impl<T: JsonSchema> QuerySchema for Params<T> {
    fn parameters(generator: &mut SchemaGenerator) -> Vec<ParamDoc> {
        let schema = T::json_schema(generator);
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|names| names.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
            return Vec::new();
        };
        properties
            .iter()
            .map(|(name, property)| ParamDoc {
                name: name.clone(),
                location: "query",
                required: required.contains(&name.as_str()),
                schema: without_null(property.clone()),
            })
            .collect()
    }
}

/// A query parameter is absent, never `null`: an `Option`'s null branch is
/// dropped from its schema.
fn without_null(mut schema: Value) -> Value {
    if let Some(Value::Array(types)) = schema.get_mut("type") {
        types.retain(|t| t != "null");
        if let [only] = types.as_slice() {
            schema["type"] = only.clone();
        }
    }
    let lone_branch = schema
        .get("anyOf")
        .and_then(Value::as_array)
        .and_then(|branches| {
            let kept: Vec<&Value> = branches.iter().filter(|b| b["type"] != "null").collect();
            (kept.len() == 1 && kept.len() < branches.len()).then(|| kept[0].clone())
        });
    match lone_branch {
        Some(branch) => {
            let mut map = schema.as_object().cloned().unwrap_or_default();
            map.remove("anyOf");
            let mut merged = branch;
            for (key, value) in map {
                merged[key] = value;
            }
            merged
        }
        None => schema,
    }
}

/// The `Last-Event-ID` header an event stream resumes after (as `?after=`).
pub(crate) struct LastEventId;

impl QuerySchema for LastEventId {
    fn parameters(_: &mut SchemaGenerator) -> Vec<ParamDoc> {
        vec![ParamDoc {
            name: "Last-Event-ID".into(),
            location: "header",
            required: false,
            schema: json!({
                "type": "string",
                "description": "Resume after this event id (a decimal seq; wins over `after`): 412 when no longer retained, 400 when malformed"
            }),
        }]
    }
}
