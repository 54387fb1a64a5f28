//! JSON Schemas shaped the way Claude and the CLI accept them.
//!
//! [`shaped_schema_for`] derives a schema from a Rust type with `schemars` and then
//! rewrites it into the subset every consumer agrees on:
//!
//! - the root is always `{"type":"object","properties":{...},"required":[...]}`;
//! - no `$schema`, no root `title`, nested types inlined (no `$ref` / `$defs`);
//! - `Option<T>` is simply "not in `required`": never `nullable`, never a
//!   `["T","null"]` type array, never an `anyOf` with `{"type":"null"}`;
//! - unit enums are `{"type":"string","enum":[...]}`;
//! - maps and `serde_json::Value` stay open (`{}` instead of a `true` schema);
//! - integers keep `"type":"integer"` with `minimum`/`maximum` from their Rust type
//!   (the non-standard `format` such as `uint8` is dropped once the bounds are written);
//! - `"required"` is never `null`.
//!
//! Tool input schemas, tool output schemas and structured output all go through here.

use schemars::JsonSchema;
use serde_json::{Map, Value};

/// Why a Rust type has no schema we can hand to Claude.
///
/// ```
/// use agent_sdk::schema::{SchemaError, shaped_schema_for};
/// let error = shaped_schema_for::<Vec<String>>().unwrap_err();
/// assert!(matches!(error, SchemaError::NotAnObject { .. }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// The root of the schema is not an object: tool arguments and structured
    /// output must be a JSON object (use a struct with named fields).
    #[error(
        "the schema of `{type_name}` is not a JSON object (found {found}); \
         tool arguments and structured output must be a struct with named fields"
    )]
    NotAnObject {
        /// The Rust type (or tool) the schema was made for.
        type_name: String,
        /// A short description of what the root is instead.
        found: String,
    },
    /// The type refers to itself, so it cannot be inlined.
    #[error(
        "the schema of `{type_name}` is recursive (through `{reference}`), which cannot be inlined"
    )]
    Recursive {
        /// The Rust type the schema was made for.
        type_name: String,
        /// The `$ref` that loops back.
        reference: String,
    },
    /// The schema uses a keyword the SDK's built-in validator does not evaluate
    /// (for example `pattern`, from `#[schemars(regex(...))]`) and the `jsonschema`
    /// feature is off.
    #[error("the schema of `{type_name}` cannot be evaluated: {reason}")]
    NotEvaluated {
        /// The Rust type the schema was made for.
        type_name: String,
        /// The keyword, where it is, and the feature that evaluates it.
        reason: String,
    },
}

/// The shaped JSON Schema of `T`, whose root must be an object.
///
/// ```
/// use agent_sdk::schema::shaped_schema_for;
///
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct Point {
///     x: i32,
///     /// Optional label.
///     label: Option<String>,
/// }
///
/// let schema = shaped_schema_for::<Point>().unwrap();
/// assert_eq!(schema["type"], "object");
/// assert_eq!(schema["required"], serde_json::json!(["x"]));
/// assert_eq!(schema["properties"]["label"]["type"], "string");
/// assert!(schema.get("$schema").is_none());
/// ```
pub fn shaped_schema_for<T: JsonSchema + ?Sized>() -> Result<Value, SchemaError> {
    let type_name = std::any::type_name::<T>();
    shape_object_schema(raw_schema_for::<T>(), type_name)
}

/// The shaped schema of `T` without the object-root requirement (for nested or
/// output values that may be any JSON type).
///
/// ```
/// let schema = agent_sdk::schema::shaped_value_schema_for::<Vec<u8>>().unwrap();
/// assert_eq!(schema["type"], "array");
/// assert_eq!(schema["items"]["maximum"], 255);
/// ```
pub fn shaped_value_schema_for<T: JsonSchema + ?Sized>() -> Result<Value, SchemaError> {
    let type_name = std::any::type_name::<T>();
    shape_schema(raw_schema_for::<T>(), type_name)
}

/// Shapes an already generated schema and checks that its root is an object.
///
/// ```
/// let shaped = agent_sdk::schema::shape_object_schema(
///     serde_json::json!({"$schema": "x", "type": "object", "properties": {"n": {"type": ["integer", "null"]}}}),
///     "Args",
/// ).unwrap();
/// assert_eq!(shaped, serde_json::json!({"type": "object", "properties": {"n": {"type": "integer"}}, "required": []}));
/// ```
pub fn shape_object_schema(schema: Value, type_name: &str) -> Result<Value, SchemaError> {
    let mut shaped = shape_schema(schema, type_name)?;
    let Value::Object(root) = &mut shaped else {
        return Err(not_an_object(type_name, &shaped));
    };
    if root.get("type").and_then(Value::as_str) != Some("object") {
        return Err(not_an_object(type_name, &shaped));
    }
    root.remove("title");
    if !matches!(root.get("properties"), Some(Value::Object(_))) {
        root.insert("properties".into(), Value::Object(Map::new()));
    }
    if !matches!(root.get("required"), Some(Value::Array(_))) {
        root.insert("required".into(), Value::Array(Vec::new()));
    }
    Ok(shaped)
}

pub(crate) fn raw_schema_for<T: JsonSchema + ?Sized>() -> Value {
    let generator = schemars::generate::SchemaSettings::draft2020_12()
        .with(|settings| {
            settings.inline_subschemas = true;
            settings.meta_schema = None;
        })
        .into_generator();
    generator.into_root_schema_for::<T>().to_value()
}

fn not_an_object(type_name: &str, schema: &Value) -> SchemaError {
    let found = match schema {
        Value::Bool(b) => format!("the boolean schema `{b}`"),
        Value::Object(map) => match map.get("type") {
            Some(t) => format!("type {t}"),
            None if map.contains_key("oneOf") || map.contains_key("anyOf") => {
                "a union of alternatives (an enum?)".to_owned()
            }
            None => "a schema without a type".to_owned(),
        },
        other => other.to_string(),
    };
    SchemaError::NotAnObject {
        type_name: type_name.to_owned(),
        found,
    }
}

fn shape_schema(mut schema: Value, type_name: &str) -> Result<Value, SchemaError> {
    let definitions = match &mut schema {
        Value::Object(root) => {
            root.remove("$schema");
            let mut defs = root.remove("$defs").and_then(into_map).unwrap_or_default();
            if let Some(more) = root.remove("definitions").and_then(into_map) {
                defs.extend(more);
            }
            defs
        }
        _ => Map::new(),
    };
    let mut stack = Vec::new();
    inline_refs(&mut schema, &definitions, &mut stack, type_name)?;
    shape_node(&mut schema);
    Ok(schema)
}

fn into_map(value: Value) -> Option<Map<String, Value>> {
    match value {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// Replaces every `$ref` into the definitions with the definition itself.
fn inline_refs(
    node: &mut Value,
    definitions: &Map<String, Value>,
    stack: &mut Vec<String>,
    type_name: &str,
) -> Result<(), SchemaError> {
    match node {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref") {
                let reference = reference.clone();
                let name = reference
                    .rsplit_once('/')
                    .map_or(reference.as_str(), |(_, name)| name);
                if stack.iter().any(|seen| seen == name) || reference == "#" {
                    return Err(SchemaError::Recursive {
                        type_name: type_name.to_owned(),
                        reference,
                    });
                }
                if let Some(definition) = definitions.get(name) {
                    let mut inlined = definition.clone();
                    stack.push(name.to_owned());
                    inline_refs(&mut inlined, definitions, stack, type_name)?;
                    stack.pop();
                    map.remove("$ref");
                    if let Value::Object(inlined) = inlined {
                        // Siblings of `$ref` (e.g. a field's description) win over the definition's.
                        for (key, value) in inlined {
                            map.entry(key).or_insert(value);
                        }
                    }
                }
            }
            for value in map.values_mut() {
                inline_refs(value, definitions, stack, type_name)?;
            }
        }
        Value::Array(items) => {
            for item in items {
                inline_refs(item, definitions, stack, type_name)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Keywords whose value is one subschema.
const SUBSCHEMA_KEYS: &[&str] = &[
    "items",
    "additionalProperties",
    "not",
    "contains",
    "propertyNames",
    "unevaluatedProperties",
    "unevaluatedItems",
    "if",
    "then",
    "else",
];
/// Keywords whose value is a list of subschemas.
const SUBSCHEMA_LIST_KEYS: &[&str] = &["anyOf", "oneOf", "allOf", "prefixItems"];
/// Keywords whose value maps names to subschemas.
const SUBSCHEMA_MAP_KEYS: &[&str] = &["properties", "patternProperties", "dependentSchemas"];

fn shape_node(node: &mut Value) {
    let Value::Object(map) = node else {
        if *node == Value::Bool(true) {
            // An open schema (serde_json::Value, map values): `{}` is understood everywhere.
            *node = Value::Object(Map::new());
        }
        return;
    };
    for key in SUBSCHEMA_KEYS {
        if let Some(child) = map.get_mut(*key) {
            shape_node(child);
        }
    }
    for key in SUBSCHEMA_LIST_KEYS {
        if let Some(Value::Array(children)) = map.get_mut(*key) {
            children.iter_mut().for_each(shape_node);
        }
    }
    for key in SUBSCHEMA_MAP_KEYS {
        if let Some(Value::Object(children)) = map.get_mut(*key) {
            children.values_mut().for_each(shape_node);
        }
    }
    drop_null_alternatives(map);
    collapse_unit_variants(map);
    map.remove("nullable");
    integer_bounds(map);
    if let Some(Value::String(format)) = map.get("format")
        && matches!(format.as_str(), "float" | "double")
    {
        map.remove("format");
    }
    if matches!(map.get("required"), Some(Value::Null)) {
        map.remove("required");
    }
}

/// `["T","null"]` -> `"T"`, `anyOf: [X, {"type":"null"}]` -> `X`, `enum: [.., null]` -> without null.
fn drop_null_alternatives(map: &mut Map<String, Value>) {
    if let Some(Value::Array(types)) = map.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types.pop().unwrap_or(Value::Null);
            map.insert("type".into(), only);
        }
    }
    if let Some(Value::Array(values)) = map.get_mut("enum") {
        values.retain(|v| !v.is_null());
    }
    if map.get("const").is_some_and(Value::is_null) {
        map.remove("const");
    }
    for key in ["anyOf", "oneOf"] {
        let Some(Value::Array(alternatives)) = map.get_mut(key) else {
            continue;
        };
        alternatives.retain(|alt| !is_null_schema(alt));
        if alternatives.len() == 1 {
            let Some(Value::Object(only)) = alternatives.pop() else {
                continue;
            };
            map.remove(key);
            for (k, v) in only {
                map.entry(k).or_insert(v);
            }
        }
    }
    // A field `Option<T>` with `#[serde(default)]` gets `"default": null`: meaningless once null is gone.
    if map.get("default").is_some_and(Value::is_null) {
        map.remove("default");
    }
}

fn is_null_schema(schema: &Value) -> bool {
    match schema {
        Value::Object(map) => {
            map.get("type").is_some_and(|t| t == "null")
                || (map.get("const").is_some_and(Value::is_null) && map.len() <= 2)
        }
        _ => false,
    }
}

/// `oneOf` of string constants (unit variants with doc comments) -> one string enum.
fn collapse_unit_variants(map: &mut Map<String, Value>) {
    let Some(Value::Array(alternatives)) = map.get("oneOf") else {
        return;
    };
    let mut values = Vec::with_capacity(alternatives.len());
    let mut docs = Vec::new();
    for alt in alternatives {
        let Value::Object(alt) = alt else { return };
        let is_string = alt.get("type").is_none_or(|t| t == "string");
        let only_docs = alt.keys().all(|k| {
            matches!(
                k.as_str(),
                "type" | "const" | "enum" | "description" | "title"
            )
        });
        if !is_string || !only_docs {
            return;
        }
        match (alt.get("const"), alt.get("enum")) {
            (Some(Value::String(c)), None) => {
                if let Some(Value::String(doc)) = alt.get("description") {
                    docs.push(format!("`{c}`: {doc}"));
                }
                values.push(Value::String(c.clone()));
            }
            (None, Some(Value::Array(list))) if list.iter().all(Value::is_string) => {
                values.extend(list.iter().cloned());
            }
            _ => return,
        }
    }
    map.remove("oneOf");
    // Variant docs would be lost in a flat enum: keep them in the description.
    if !docs.is_empty() {
        let mut description = match map.remove("description") {
            Some(Value::String(text)) => text + "\n",
            _ => String::new(),
        };
        description.push_str(&docs.join("\n"));
        map.insert("description".into(), Value::String(description));
    }
    map.insert("type".into(), Value::String("string".into()));
    map.insert("enum".into(), Value::Array(values));
}

/// Writes the bounds of a sized integer `format` and drops the non-standard format.
fn integer_bounds(map: &mut Map<String, Value>) {
    if map.get("type").and_then(Value::as_str) != Some("integer") {
        return;
    }
    let Some(Value::String(format)) = map.get("format") else {
        return;
    };
    let (min, max): (Value, Value) = match format.as_str() {
        "int8" => (i8::MIN.into(), i8::MAX.into()),
        "int16" => (i16::MIN.into(), i16::MAX.into()),
        "int32" => (i32::MIN.into(), i32::MAX.into()),
        "int64" => (i64::MIN.into(), i64::MAX.into()),
        "uint8" => (0.into(), u8::MAX.into()),
        "uint16" => (0.into(), u16::MAX.into()),
        "uint32" => (0.into(), u32::MAX.into()),
        "uint64" | "uint" => (0.into(), u64::MAX.into()),
        "int" => (i64::MIN.into(), i64::MAX.into()),
        _ => return,
    };
    map.remove("format");
    map.entry("minimum").or_insert(min);
    map.entry("maximum").or_insert(max);
}
