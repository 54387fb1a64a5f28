//! Golden files of the shaped schemas (`tests/data/schemas/*.json`): a change in
//! schemars or in the shaping shows up as a diff. Regenerate with
//! `UPDATE_GOLDEN=1 cargo test -p agent-sdk --test integration mcp_schema_gallery`.

use agent_sdk::schema::{SchemaError, shaped_schema_for};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

use crate::common;

#[allow(dead_code)]
#[derive(Deserialize, JsonSchema)]
struct Primitives {
    text: String,
    flag: bool,
    small: u8,
    signed: i16,
    count: u32,
    big: i64,
    size: usize,
    ratio: f32,
    precise: f64,
    letter: char,
}

#[allow(dead_code)]
#[derive(Deserialize, JsonSchema)]
struct Optionals {
    /// Always there.
    required: String,
    /// May be left out.
    maybe: Option<String>,
    maybe_number: Option<u16>,
    maybe_list: Option<Vec<String>>,
}

#[allow(dead_code)]
#[derive(Deserialize, JsonSchema)]
struct Collections {
    tags: Vec<String>,
    matrix: Vec<Vec<f64>>,
    pair: (String, i32),
}

/// A point on the map.
#[allow(dead_code)]
#[derive(Deserialize, JsonSchema)]
struct Point {
    /// Latitude in degrees.
    lat: f64,
    /// Longitude in degrees.
    lon: f64,
}

#[allow(dead_code)]
#[derive(Deserialize, JsonSchema)]
struct Nested {
    start: Point,
    stops: Vec<Point>,
    end: Option<Point>,
}

#[allow(dead_code)]
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Unit {
    Celsius,
    Fahrenheit,
}

#[allow(dead_code)]
#[derive(Deserialize, JsonSchema)]
enum Documented {
    /// Fast and rough.
    Quick,
    /// Slow and careful.
    Thorough,
}

#[allow(dead_code)]
#[derive(Deserialize, JsonSchema)]
struct UnitEnums {
    unit: Unit,
    mode: Option<Documented>,
}

#[allow(dead_code)]
#[derive(Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Shape {
    Circle { radius: f64 },
    Rect { width: f64, height: f64 },
}

#[allow(dead_code)]
#[derive(Deserialize, JsonSchema)]
enum Action {
    Stop,
    Move { x: i32, y: i32 },
    Say(String),
}

#[allow(dead_code)]
#[derive(Deserialize, JsonSchema)]
struct DataEnums {
    shape: Shape,
    action: Action,
}

#[allow(dead_code)]
#[derive(Deserialize, JsonSchema)]
struct Maps {
    labels: HashMap<String, String>,
    scores: BTreeMap<String, f64>,
    anything: Value,
    maybe_anything: Option<Value>,
}

#[allow(dead_code)]
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct Renamed {
    user_name: String,
    #[serde(rename = "ID")]
    id: u64,
    #[serde(default)]
    retry_count: u32,
    #[serde(default = "default_limit")]
    limit: u32,
}

fn default_limit() -> u32 {
    10
}

/// A user id.
#[derive(Deserialize, JsonSchema)]
struct UserId(#[allow(dead_code)] u64);

/// Seconds since the epoch.
#[derive(Deserialize, JsonSchema)]
#[serde(transparent)]
struct Timestamp(#[allow(dead_code)] i64);

#[allow(dead_code)]
#[derive(Deserialize, JsonSchema)]
struct Newtypes {
    user: UserId,
    at: Timestamp,
    previous: Option<Timestamp>,
}

#[derive(Deserialize, JsonSchema)]
struct Empty {}

#[allow(dead_code)]
#[derive(Deserialize, JsonSchema)]
struct Recursive {
    children: Vec<Recursive>,
}

fn check<T: JsonSchema>(name: &str) {
    let schema = shaped_schema_for::<T>().unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_shape_rules(&schema, name);
    common::assert_golden_schema(name, &schema);
}

/// The rules of DESIGN section 4, checked on every node.
fn assert_shape_rules(schema: &Value, name: &str) {
    assert_eq!(schema["type"], "object", "{name}: root type");
    assert!(schema["properties"].is_object(), "{name}: root properties");
    assert!(schema["required"].is_array(), "{name}: root required");
    walk(schema, &mut |node| {
        let Value::Object(map) = node else {
            // `false` (e.g. `additionalProperties: false`) is fine; an open `true` must be `{}`.
            assert_ne!(node, &Value::Bool(true), "{name}: boolean `true` schema");
            return;
        };
        for key in ["$schema", "$ref", "$defs", "definitions", "nullable"] {
            assert!(!map.contains_key(key), "{name}: `{key}` in {node}");
        }
        if let Some(t) = map.get("type") {
            assert!(t.is_string(), "{name}: type array in {node}");
            assert_ne!(t, "null", "{name}: null type in {node}");
        }
        assert!(
            !map.get("required").is_some_and(Value::is_null),
            "{name}: required null"
        );
    });
}

fn walk(value: &Value, f: &mut dyn FnMut(&Value)) {
    f(value);
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                // `enum`/`const`/`default`/`examples` hold data, not schemas.
                if !matches!(key.as_str(), "enum" | "const" | "default" | "examples") {
                    walk_children(key, child, f);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| walk(i, f)),
        _ => {}
    }
}

fn walk_children(key: &str, child: &Value, f: &mut dyn FnMut(&Value)) {
    match key {
        "properties" | "patternProperties" => {
            if let Value::Object(map) = child {
                map.values().for_each(|v| walk(v, f));
            }
        }
        "items" | "additionalProperties" | "anyOf" | "oneOf" | "allOf" | "prefixItems" | "not" => {
            walk(child, f)
        }
        _ => {}
    }
}

#[test]
fn primitives() {
    check::<Primitives>("primitives");
}

#[test]
fn optionals() {
    check::<Optionals>("optionals");
}

#[test]
fn collections() {
    check::<Collections>("collections");
}

#[test]
fn nested_structs() {
    check::<Nested>("nested");
}

#[test]
fn unit_enums() {
    check::<UnitEnums>("unit_enums");
}

#[test]
fn data_carrying_enums() {
    check::<DataEnums>("data_enums");
}

#[test]
fn maps_and_values() {
    check::<Maps>("maps");
}

#[test]
fn renamed_fields_and_defaults() {
    check::<Renamed>("renamed");
}

#[test]
fn newtypes() {
    check::<Newtypes>("newtypes");
}

#[test]
fn empty_struct() {
    check::<Empty>("empty");
}

#[test]
fn non_object_roots_are_typed_errors() {
    for error in [
        shaped_schema_for::<Unit>().unwrap_err(),
        shaped_schema_for::<String>().unwrap_err(),
        shaped_schema_for::<Vec<u8>>().unwrap_err(),
        shaped_schema_for::<Shape>().unwrap_err(),
    ] {
        assert!(matches!(error, SchemaError::NotAnObject { .. }), "{error}");
    }
}

#[test]
fn recursive_types_are_typed_errors() {
    let error = shaped_schema_for::<Recursive>().unwrap_err();
    assert!(matches!(error, SchemaError::Recursive { .. }), "{error}");
}
