//! Helpers shared by the integration tests of `agent-sdk` (`use crate::common;` in
//! each module that uses them).

use std::path::PathBuf;

use proptest::prelude::*;
use serde_json::Value;

/// Compares `schema`, pretty-printed, with `tests/data/schemas/<name>.json`.
/// `UPDATE_GOLDEN=1` rewrites the file first, so a change shows up as a diff to review.
pub fn assert_golden_schema(name: &str, schema: &Value) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/schemas")
        .join(format!("{name}.json"));
    let pretty = serde_json::to_string_pretty(schema).unwrap() + "\n";
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &pretty).unwrap();
    }
    let golden = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing {}; run with UPDATE_GOLDEN=1", path.display()));
    assert_eq!(
        pretty, golden,
        "schema of {name} changed; review and run with UPDATE_GOLDEN=1"
    );
}

/// Arbitrary JSON values a few levels deep. Strings and object keys are drawn
/// partly from `words` (so known shapes come up often) and partly from the
/// regexes `string_pattern` and `key_pattern`.
pub fn arb_json(
    words: &'static [&'static str],
    string_pattern: &'static str,
    keys: &'static [&'static str],
    key_pattern: &'static str,
) -> impl Strategy<Value = Value> {
    let word = |list: &'static [&'static str], pattern: &'static str| {
        // Each listed word as likely as the pattern, as in a `prop_oneof!` of them all.
        prop_oneof![
            list.len() as u32 => prop::sample::select(list).prop_map(str::to_owned),
            1 => pattern.prop_map(|s: String| s),
        ]
    };
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        word(words, string_pattern).prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(word(keys, key_pattern), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}
