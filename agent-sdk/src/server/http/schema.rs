//! What the route table says about bodies: each row names its request and
//! answer body types, and [`BodySchema`] turns a type into its media type and
//! JSON Schema for the OpenAPI document.

use axum::Json;
use schemars::{JsonSchema, Schema, SchemaGenerator};

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
