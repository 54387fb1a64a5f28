//! The built-in evaluator against the `jsonschema` crate (a dev-dependency):
//! same verdict, and for the schemas the SDK makes the same messages at the
//! same paths, on a table of cases and on generated ones.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::Validator;

fn built_in(schema: &Value) -> Validator {
    let validator = Validator::new(schema).unwrap_or_else(|e| panic!("{schema}: {}", e.message));
    assert!(validator.is_built_in(), "{schema} fell back");
    validator
}

/// Verdict and violations of both validators, for `schema` on `instance`.
fn compare(schema: &Value, instance: &Value) {
    let ours = built_in(schema);
    let reference = jsonschema::validator_for(schema).unwrap_or_else(|e| panic!("{schema}: {e}"));
    assert_eq!(
        ours.is_valid(instance),
        reference.is_valid(instance),
        "verdict of {schema} on {instance}"
    );
    let ours: Vec<(String, String)> = ours
        .violations(instance, 20)
        .into_iter()
        .map(|v| (v.instance_path, v.message))
        .collect();
    let theirs: Vec<(String, String)> = reference
        .iter_errors(instance)
        .take(20)
        .map(|e| (e.instance_path().as_str().to_owned(), e.to_string()))
        .collect();
    assert_eq!(ours, theirs, "violations of {schema} on {instance}");
}

#[test]
fn the_schemas_the_sdk_makes_read_the_same_as_jsonschema() {
    let point = json!({
        "type": "object",
        "properties": {
            "a": {"type": "number"},
            "b": {"type": "integer", "minimum": 0, "maximum": 255},
            "label": {"type": "string", "minLength": 1, "maxLength": 3},
            "unit": {"type": "string", "enum": ["c", "f"]},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "uniqueItems": true},
            "nested": {"type": "object", "properties": {"x": {"type": "boolean"}}, "required": ["x"], "additionalProperties": false},
            "either": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
            "one": {"oneOf": [{"type": "integer"}, {"type": "number", "multipleOf": 0.5}]},
            "many": {"type": ["integer", "null"]},
            "fixed": {"const": "yes"},
            "ratio": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
        },
        "required": ["a", "b"],
    });
    let instances = [
        json!({"a": 1, "b": 2}),
        json!({"a": 1}),
        json!({}),
        json!({"a": "two", "b": 2}),
        json!({"a": 1, "b": 300}),
        json!({"a": 1, "b": -1}),
        json!({"a": 1, "b": 2.0}),
        json!({"a": 1, "b": 2.5}),
        json!({"a": 1, "b": 2, "label": ""}),
        json!({"a": 1, "b": 2, "label": "four"}),
        json!({"a": 1, "b": 2, "label": "héé"}),
        json!({"a": 1, "b": 2, "unit": "k"}),
        json!({"a": 1, "b": 2, "tags": []}),
        json!({"a": 1, "b": 2, "tags": ["x", "x"]}),
        json!({"a": 1, "b": 2, "tags": ["x", 3]}),
        json!({"a": 1, "b": 2, "nested": {}}),
        json!({"a": 1, "b": 2, "nested": {"x": true, "y": 1, "z": 2}}),
        json!({"a": 1, "b": 2, "nested": {"x": true, "y": 1}}),
        json!({"a": 1, "b": 2, "either": [1]}),
        json!({"a": 1, "b": 2, "one": 2}),
        json!({"a": 1, "b": 2, "one": 2.5}),
        json!({"a": 1, "b": 2, "one": 2.25}),
        json!({"a": 1, "b": 2, "many": null}),
        json!({"a": 1, "b": 2, "many": "x"}),
        json!({"a": 1, "b": 2, "fixed": "no"}),
        json!({"a": 1, "b": 2, "ratio": 0}),
        json!({"a": 1, "b": 2, "ratio": 1}),
        json!({"a": 1, "b": 2, "ratio": 0.5}),
        json!({"a": "x", "b": "y", "label": 3, "tags": [1, 2]}),
        json!([1, 2]),
        json!(null),
    ];
    for instance in &instances {
        compare(&point, instance);
    }
}

#[test]
fn unique_items_agree_with_jsonschema_on_long_arrays_too() {
    let schema = json!({"uniqueItems": true});
    let long: Vec<Value> = (0..40).map(|i| json!({"n": i, "tags": [i % 3]})).collect();
    compare(&schema, &Value::Array(long.clone()));
    let mut repeated = long.clone();
    repeated.push(json!({"tags": [39 % 3], "n": 39.0}));
    compare(&schema, &Value::Array(repeated));
    let mut numbers: Vec<Value> = (0..30).map(Value::from).collect();
    numbers.push(json!(7.0));
    compare(&schema, &Value::Array(numbers));
    // 100,000 distinct items: linear, not quadratic.
    let many = Value::Array((0..100_000).map(|i| json!(format!("item {i}"))).collect());
    let started = std::time::Instant::now();
    assert!(built_in(&schema).is_valid(&many));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn enums_name_at_most_three_options() {
    let schema = json!({"enum": ["a", "b", "c", "d", "e"]});
    compare(&schema, &json!("z"));
    compare(&json!({"enum": ["a", "b"]}), &json!(1));
    compare(&json!({"enum": [1, [1, 2], {"a": 1}]}), &json!([1.0, 2]));
    compare(&json!({"enum": [1, [1, 2], {"a": 1}]}), &json!({"a": 1.0}));
}

#[test]
fn references_inside_the_document_resolve_and_may_loop() {
    let tree = json!({
        "$defs": {"node": {"type": "object", "properties": {"value": {"type": "integer"}, "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}}, "required": ["value"]}},
        "$ref": "#/$defs/node",
    });
    compare(
        &tree,
        &json!({"value": 1, "children": [{"value": 2, "children": [{"value": 3}]}]}),
    );
    compare(
        &tree,
        &json!({"value": 1, "children": [{"value": 2, "children": [{"value": "three"}]}]}),
    );
    compare(&tree, &json!({"value": 1, "children": [{}]}));
    let draft7 = json!({"definitions": {"n": {"type": "number"}}, "properties": {"x": {"$ref": "#/definitions/n"}}});
    compare(&draft7, &json!({"x": "1"}));
    compare(&draft7, &json!({"x": 1}));
    // Before draft 2019-09, a `$ref` replaced its siblings.
    let draft7_siblings = json!({"$schema": "http://json-schema.org/draft-07/schema#", "definitions": {"n": {"type": "number"}}, "properties": {"x": {"$ref": "#/definitions/n", "minimum": 5}}});
    compare(&draft7_siblings, &json!({"x": 1}));
    let siblings = json!({"$defs": {"n": {"type": "number"}}, "properties": {"x": {"$ref": "#/$defs/n", "minimum": 5}}});
    compare(&siblings, &json!({"x": 1}));
    // A reference that never descends is an error, not a stack overflow.
    let endless = json!({"$defs": {"a": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"});
    let validator = built_in(&endless);
    assert!(!validator.is_valid(&json!(1)));
    assert!(
        validator.violations(&json!(1), 5)[0]
            .message
            .contains("levels deep")
    );
}

#[test]
fn applicators_and_dependencies_read_the_same_as_jsonschema() {
    let cases = [
        (
            json!({"not": {"type": "string"}}),
            vec![json!("x"), json!(1)],
        ),
        (
            json!({"allOf": [{"minimum": 1}, {"maximum": 3}]}),
            vec![json!(0), json!(2), json!(4)],
        ),
        (
            json!({"if": {"minimum": 10}, "then": {"multipleOf": 2}, "else": {"maximum": 5}}),
            vec![json!(12), json!(13), json!(4), json!(7)],
        ),
        (
            json!({"prefixItems": [{"type": "string"}, {"type": "integer"}], "items": false}),
            vec![json!(["a", 1]), json!(["a", "b"]), json!(["a", 1, 2])],
        ),
        (
            json!({"$schema": "http://json-schema.org/draft-07/schema#", "items": [{"type": "string"}], "additionalItems": {"type": "integer"}}),
            vec![json!(["a", 1]), json!(["a", "b"])],
        ),
        (
            json!({"contains": {"type": "integer"}, "minContains": 2, "maxContains": 3}),
            vec![json!([1, 2]), json!([1, "a"]), json!([1, 2, 3, 4])],
        ),
        (
            json!({"propertyNames": {"maxLength": 2}}),
            vec![json!({"ab": 1}), json!({"abc": 1})],
        ),
        (
            json!({"dependentRequired": {"a": ["b", "c"]}}),
            vec![
                json!({"a": 1}),
                json!({"a": 1, "b": 1, "c": 1}),
                json!({"b": 1}),
            ],
        ),
        (
            json!({"dependentSchemas": {"a": {"required": ["b"]}}}),
            vec![json!({"a": 1}), json!({"a": 1, "b": 2})],
        ),
        (
            json!({"dependencies": {"a": ["b"], "c": {"required": ["d"]}}}),
            vec![
                json!({"a": 1}),
                json!({"c": 1}),
                json!({"a": 1, "b": 1, "c": 1, "d": 1}),
            ],
        ),
        (
            json!({"minProperties": 1, "maxProperties": 2}),
            vec![json!({}), json!({"a": 1, "b": 2, "c": 3}), json!({"a": 1})],
        ),
        (
            json!({"additionalProperties": {"type": "integer"}, "properties": {"a": {}}}),
            vec![json!({"a": "x", "b": 1}), json!({"b": "x", "c": "y"})],
        ),
        (json!(false), vec![json!(1)]),
        (
            json!({"$schema": "http://json-schema.org/draft-04/schema#", "minimum": 1, "exclusiveMinimum": true, "maximum": 3, "exclusiveMaximum": false}),
            vec![json!(1), json!(2), json!(3), json!(4)],
        ),
        (
            json!({"minLength": 1, "maxItems": 1, "maxProperties": 1}),
            vec![
                json!(""),
                json!([1, 2]),
                json!({"a": 1, "b": 2}),
                json!("a"),
            ],
        ),
        (
            json!({"multipleOf": 3}),
            vec![json!(9), json!(10), json!(9.0), json!(1e300)],
        ),
        (
            json!({"maximum": 18446744073709551615u64}),
            vec![json!(18446744073709551615u64), json!(1.9e19)],
        ),
        (
            json!({"type": "integer"}),
            vec![json!(1.0), json!(1.5), json!(-3), json!(1e300)],
        ),
        (
            json!({"format": "email", "title": "x", "x-unknown": 1}),
            vec![json!("not an email")],
        ),
    ];
    for (schema, instances) in &cases {
        for instance in instances {
            compare(schema, instance);
        }
    }
}

/// Each draft's keywords: one a draft does not have asserts nothing there.
#[test]
fn each_draft_reads_only_its_own_keywords() {
    const DRAFT4: &str = "http://json-schema.org/draft-04/schema#";
    const DRAFT6: &str = "http://json-schema.org/draft-06/schema#";
    const DRAFT7: &str = "http://json-schema.org/draft-07/schema#";
    const DRAFT2019: &str = "https://json-schema.org/draft/2019-09/schema";
    let cases = [
        // Found by the `schema_validation` fuzz target: `const` came in draft 6.
        (
            json!({"$schema": DRAFT4, "const": [{"type": "string"}], "additionalItems": false, "dependencies": {"a": {"required": ["b"]}}}),
            vec![json!(["x", 0]), json!([{"type": "string"}])],
        ),
        (
            json!({"$schema": DRAFT4, "contains": {"type": "string"}, "propertyNames": {"maxLength": 1}}),
            vec![json!([1]), json!({"abc": 1})],
        ),
        // Draft 4: `1.0` is not an integer; `exclusiveMaximum` qualifies `maximum`.
        (
            json!({"$schema": DRAFT4, "type": "integer"}),
            vec![json!(1), json!(1.0), json!(1.5)],
        ),
        (
            json!({"$schema": DRAFT4, "items": {"type": ["integer", "string"]}}),
            vec![json!([1, "a"]), json!([2.0])],
        ),
        (
            json!({"$schema": DRAFT4, "maximum": 3, "exclusiveMaximum": true}),
            vec![json!(1), json!(3), json!(4)],
        ),
        (
            json!({"$schema": DRAFT6, "type": "integer", "minimum": 1, "exclusiveMaximum": 3}),
            vec![json!(1.0), json!(3), json!(2)],
        ),
        (
            json!({"$schema": DRAFT6, "if": {"type": "string"}, "then": false}),
            vec![json!("x")],
        ),
        (
            json!({"$schema": DRAFT7, "contains": {"type": "string"}, "minContains": 2, "dependentRequired": {"a": ["b"]}}),
            vec![json!(["a"]), json!([1]), json!({"a": 1})],
        ),
        // 2019-09 has no `prefixItems`: `items` covers every item.
        (
            json!({"$schema": DRAFT2019, "prefixItems": [{"type": "string"}], "items": {"type": "integer"}}),
            vec![json!(["a"]), json!([1, 2])],
        ),
        (
            json!({"$schema": DRAFT2019, "items": [{"type": "string"}], "additionalItems": false, "minContains": 0, "contains": {"type": "integer"}}),
            vec![json!(["a"]), json!(["a", 1])],
        ),
    ];
    for (schema, instances) in &cases {
        for instance in instances {
            compare(schema, instance);
        }
    }
    // Keywords the built-in validator does not evaluate, in drafts that have them;
    // in drafts that do not, nothing to evaluate.
    for schema in [
        json!({"$schema": DRAFT7, "contentEncoding": "base64"}),
        json!({"$schema": DRAFT4, "properties": {"a": {"id": "http://example.com/a"}}}),
        json!({"properties": {"a": {"$schema": DRAFT4, "type": "integer"}}}),
    ] {
        let refusal = Validator::built_in(&schema).err().expect("not evaluated");
        assert!(refusal.needs_feature, "{schema}: {}", refusal.message);
    }
    #[cfg(feature = "jsonschema")]
    {
        let base64 = Validator::new(&json!({"$schema": DRAFT7, "contentEncoding": "base64"}))
            .unwrap_or_else(|e| panic!("{}", e.message));
        assert!(!base64.is_built_in() && !base64.is_valid(&json!("not base64!")));
    }
    // A meta-schema of another name may define other keywords: the built-in
    // validator does not guess (found by the fuzz target: jsonschema accepts
    // `#/definitions/...` as a `$schema` and reads no `contains` under it).
    for custom in [
        json!({"$schema": "https://example.com/meta", "const": 1}),
        json!({"$schema": "#/definitions/positiveInteger", "minContains": 3, "contains": {"type": "integer"}}),
    ] {
        let refusal = Validator::built_in(&custom).err().expect("not guessed");
        assert!(
            refusal.needs_feature && refusal.message.contains("`$schema: \""),
            "{}",
            refusal.message
        );
    }
    for schema in [
        json!({"properties": {"a": {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "integer"}}, "$schema": "https://json-schema.org/draft/2020-12/schema"}),
        json!({"contentEncoding": "base64", "contentMediaType": "application/json"}),
        json!({"$schema": DRAFT7, "unevaluatedProperties": false}),
        json!({"$schema": DRAFT4, "properties": {"a": {"$id": "http://example.com/a"}}}),
    ] {
        compare(&schema, &json!({"x": "not base64!"}));
    }
    // `exclusiveMinimum` of the wrong draft's form is a mistake to name.
    for (schema, hint) in [
        (json!({"minimum": 1, "exclusiveMinimum": true}), "draft-04"),
        (
            json!({"$schema": DRAFT4, "exclusiveMinimum": 5}),
            "draft 6 and later",
        ),
        (
            json!({"$schema": DRAFT4, "exclusiveMaximum": true}),
            "no `maximum`",
        ),
    ] {
        let refusal = Validator::new(&schema)
            .err()
            .expect("the other draft's form");
        assert!(
            !refusal.needs_feature && refusal.message.contains(hint),
            "{schema}: {}",
            refusal.message
        );
        assert!(jsonschema::validator_for(&schema).is_err(), "{schema}");
    }
}

#[test]
fn a_broken_schema_is_refused_with_where_and_what() {
    let cases = [
        (json!({"type": 12}), "`type` must name JSON types"),
        (
            json!({"properties": {"a": {"minimum": "1"}}}),
            "`minimum` must be a number, found \"1\" (at /properties/a/minimum)",
        ),
        (json!({"required": "a"}), "`required` must be an array"),
        (json!({"anyOf": []}), "`anyOf` must not be empty"),
        (json!({"multipleOf": 0}), "`multipleOf` must be above 0"),
        (
            json!({"minLength": -1}),
            "`minLength` must be a non-negative integer",
        ),
        (
            json!({"$ref": "#/$defs/missing"}),
            "a `$ref` points to nothing",
        ),
        (json!(3), "a schema must be an object or a boolean"),
    ];
    for (schema, expected) in &cases {
        let error = Validator::new(schema)
            .err()
            .unwrap_or_else(|| panic!("{schema} compiled"));
        assert!(!error.needs_feature, "{schema}");
        let error = error.message;
        assert!(error.contains(expected), "{schema}: {error}");
    }
}

#[test]
fn keywords_it_does_not_evaluate_name_the_feature_or_fall_back() {
    for (schema, keyword) in [
        (
            json!({"properties": {"code": {"type": "string", "pattern": "^[A-Z]+$"}}}),
            "`pattern` (at /properties/code/pattern)",
        ),
        (
            json!({"patternProperties": {"^x": {}}}),
            "`patternProperties`",
        ),
        (
            json!({"properties": {"a": {"$id": "https://example.com/a", "type": "string"}}}),
            "`$id` (at /properties/a/$id)",
        ),
        (
            json!({"unevaluatedProperties": false}),
            "`unevaluatedProperties`",
        ),
        (
            json!({"$ref": "https://example.com/schema"}),
            "`$ref: https://example.com/schema`",
        ),
        (
            json!({"$defs": {"a": {"$anchor": "anchor", "type": "integer"}}, "$ref": "#anchor"}),
            "`$ref: #anchor`",
        ),
    ] {
        // The built-in evaluator alone always refuses it, and says why.
        let refusal = Validator::built_in(&schema).err().expect("refused");
        assert!(refusal.needs_feature, "{schema}");
        assert!(
            refusal.message.contains(keyword),
            "{schema}: {}",
            refusal.message
        );
        assert!(
            refusal.message.contains("`jsonschema` feature"),
            "{}",
            refusal.message
        );
        match Validator::new(&schema) {
            #[cfg(feature = "jsonschema")]
            Ok(validator) => assert!(!validator.is_built_in(), "{schema}"),
            #[cfg(feature = "jsonschema")]
            // jsonschema refuses what it cannot fetch, with its own words.
            Err(error) => assert!(
                error.message.contains("https://example.com/schema"),
                "{schema}: {}",
                error.message
            ),
            #[cfg(not(feature = "jsonschema"))]
            Ok(_) => panic!("{schema} compiled without the jsonschema feature"),
            #[cfg(not(feature = "jsonschema"))]
            Err(error) => assert_eq!(error, refusal),
        }
    }
}

#[cfg(feature = "jsonschema")]
#[test]
fn with_the_feature_a_pattern_is_evaluated() {
    let validator = Validator::new(&json!({"type": "string", "pattern": "^[A-Z]+$"})).unwrap();
    assert!(validator.is_valid(&json!("ABC")));
    assert!(!validator.is_valid(&json!("abc")));
    assert_eq!(
        validator.violations(&json!("abc"), 5)[0].message,
        "\"abc\" does not match \"^[A-Z]+$\""
    );
}

/// A schema of the keywords the built-in evaluator knows, nested a few levels.
fn schema() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(json!(true)),
        Just(json!({})),
        prop::sample::select(vec![
            "null", "boolean", "integer", "number", "string", "array", "object"
        ])
        .prop_map(|t| json!({"type": t})),
        (-3i64..3).prop_map(|n| json!({"minimum": n})),
        (-3i64..3).prop_map(|n| json!({"exclusiveMaximum": n})),
        (1u64..4).prop_map(|n| json!({"multipleOf": n})),
        (0u64..3).prop_map(|n| json!({"maxLength": n})),
        (0u64..3).prop_map(|n| json!({"minItems": n})),
        Just(json!({"uniqueItems": true})),
        instance().prop_map(|v| json!({"const": v})),
        prop::collection::vec(instance(), 1..3).prop_map(|v| json!({"enum": v})),
        prop::collection::btree_set(prop::sample::select(vec!["a", "b", "c"]), 0..3)
            .prop_map(|r| json!({"required": r})),
    ];
    leaf.prop_recursive(3, 24, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..3).prop_map(|s| json!({"anyOf": s})),
            prop::collection::vec(inner.clone(), 1..3).prop_map(|s| json!({"oneOf": s})),
            prop::collection::vec(inner.clone(), 1..3).prop_map(|s| json!({"allOf": s})),
            inner.clone().prop_map(|s| json!({"not": s})),
            inner.clone().prop_map(|s| json!({"items": s})),
            inner.clone().prop_map(|s| json!({"contains": s})),
            inner
                .clone()
                .prop_map(|s| json!({"additionalProperties": s, "properties": {"a": {}}})),
            (inner.clone(), inner.clone())
                .prop_map(|(a, b)| json!({"properties": {"a": a, "b": b}})),
            (inner.clone(), inner.clone(), inner.clone())
                .prop_map(|(i, t, e)| json!({"if": i, "then": t, "else": e})),
            (inner.clone(), inner).prop_map(|(a, b)| json!({"prefixItems": [a], "items": b})),
        ]
    })
}

fn instance() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-4i64..4).prop_map(Value::from),
        prop::sample::select(vec![0.5, 2.0, -1.5, 3.0]).prop_map(Value::from),
        prop::sample::select(vec!["", "a", "ab", "abc"]).prop_map(Value::from),
    ];
    leaf.prop_recursive(2, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec!["a".to_owned(), "b".to_owned(), "c".to_owned()]),
                inner,
                0..3
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// `$schema` of each draft; `None` for none (2020-12).
const DRAFTS: [Option<&str>; 6] = [
    None,
    Some("http://json-schema.org/draft-04/schema#"),
    Some("http://json-schema.org/draft-06/schema#"),
    Some("http://json-schema.org/draft-07/schema#"),
    Some("https://json-schema.org/draft/2019-09/schema"),
    Some("https://json-schema.org/draft/2020-12/schema"),
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    /// Any generated schema gives the built-in evaluator's verdict that jsonschema gives.
    #[test]
    fn generated_schemas_get_jsonschemas_verdict(
        schema in schema(),
        draft in prop::sample::select(DRAFTS.to_vec()),
        instances in prop::collection::vec(instance(), 1..6),
    ) {
        // The same keywords read in each draft (those a draft does not have assert nothing).
        let schema = match (draft, schema) {
            (Some(uri), Value::Object(mut object)) => {
                object.insert("$schema".to_owned(), Value::from(uri));
                Value::Object(object)
            }
            (_, schema) => schema,
        };
        // A draft's meta-schema refuses some (draft 4's `exclusiveMaximum` is a boolean).
        let (Ok(ours), Ok(reference)) = (Validator::new(&schema), jsonschema::validator_for(&schema)) else {
            return Ok(());
        };
        prop_assert!(ours.is_built_in(), "{} fell back", schema);
        for instance in &instances {
            prop_assert_eq!(ours.is_valid(instance), reference.is_valid(instance), "{} on {}", schema, instance);
            let violations = ours.violations(instance, 10);
            prop_assert_eq!(violations.is_empty(), reference.is_valid(instance), "{} on {}: {:?}", schema, instance, violations);
        }
    }
}
