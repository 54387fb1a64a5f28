//! The SDK's own JSON Schema evaluator against the `jsonschema` crate: for any
//! schema both accept, the same verdict on any value, and a violation listed
//! exactly when the value is refused.
#![no_main]

use agent_sdk::structured::{OutputSchema, StructuredOutputError};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    // Two JSON documents: the schema, then the value.
    let mut documents = serde_json::Deserializer::from_slice(data).into_iter::<Value>();
    let (Some(Ok(schema)), Some(Ok(value))) = (documents.next(), documents.next()) else {
        return;
    };
    // Where the two differ by design: drafts 4-7 check `format` in jsonschema
    // and are an annotation for the SDK (as in 2020-12).
    let text = schema.to_string();
    if text.contains("\"format\"") && text.contains("\"$schema\"") {
        return;
    }
    // The SDK does not check a schema against the meta-schema, and refuses
    // what it does not evaluate; only schemas both compile are compared.
    let (Ok(ours), Ok(reference)) = (
        OutputSchema::from_value(schema.clone()),
        jsonschema::validator_for(&schema),
    ) else {
        return;
    };
    let verdict = ours.validate(&value);
    assert_eq!(
        verdict.is_ok(),
        reference.is_valid(&value),
        "{schema} on {value}: {verdict:?}"
    );
    if let Err(StructuredOutputError::Invalid { violations, .. }) = &verdict {
        assert!(!violations.is_empty(), "{schema} on {value}");
    }
});
