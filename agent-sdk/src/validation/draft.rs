//! The JSON Schema drafts, and which keywords each one has.
//!
//! A keyword a draft does not have is an unknown keyword there and asserts
//! nothing: `const` in a draft 4 schema, `prefixItems` in draft 2019-09. The
//! `jsonschema` crate reads them so too, and the built-in validator must reach
//! its verdicts (the `schema_validation` fuzz target holds both to it).

use serde_json::Value;

/// A JSON Schema draft, oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Draft {
    Draft4,
    Draft6,
    Draft7,
    Draft201909,
    Draft202012,
}

use Draft::*;

/// The keywords that came or went: the first and the last draft that has each.
/// Every keyword not listed is in every draft.
const SPANS: [(&str, Draft, Draft); 19] = [
    // Draft 4 named a schema's base URI `id`.
    ("id", Draft4, Draft4),
    ("$id", Draft6, Draft202012),
    ("const", Draft6, Draft202012),
    ("contains", Draft6, Draft202012),
    ("propertyNames", Draft6, Draft202012),
    // Assertions in drafts 6 and 7 (a string's encoding and media type);
    // annotations from 2019-09 on.
    ("contentEncoding", Draft6, Draft7),
    ("contentMediaType", Draft6, Draft7),
    ("if", Draft7, Draft202012),
    ("then", Draft7, Draft202012),
    ("else", Draft7, Draft202012),
    ("dependentRequired", Draft201909, Draft202012),
    ("dependentSchemas", Draft201909, Draft202012),
    ("minContains", Draft201909, Draft202012),
    ("maxContains", Draft201909, Draft202012),
    ("unevaluatedItems", Draft201909, Draft202012),
    ("unevaluatedProperties", Draft201909, Draft202012),
    ("$recursiveRef", Draft201909, Draft201909),
    ("prefixItems", Draft202012, Draft202012),
    ("$dynamicRef", Draft202012, Draft202012),
];

/// `$schema` values and their drafts (with or without a trailing `#`, over
/// http or https).
const URIS: [(&str, Draft); 6] = [
    ("json-schema.org/draft-04/schema", Draft4),
    ("json-schema.org/draft-06/schema", Draft6),
    ("json-schema.org/draft-07/schema", Draft7),
    ("json-schema.org/draft/2019-09/schema", Draft201909),
    ("json-schema.org/draft/2020-12/schema", Draft202012),
    // The version-less URI names the current draft.
    ("json-schema.org/schema", Draft202012),
];

impl Draft {
    /// The draft a document's `$schema` names: 2020-12 when there is none
    /// (JSON Schema's default, and what the SDK's schemas are), `None` for a
    /// meta-schema of another name (its keywords are not known here).
    pub(crate) fn of(document: &Value) -> Option<Draft> {
        let Some(uri) = document.get("$schema").and_then(Value::as_str) else {
            return Some(Draft202012);
        };
        let uri = uri.trim_end_matches('#');
        let uri = uri
            .strip_prefix("https://")
            .or_else(|| uri.strip_prefix("http://"))
            .unwrap_or(uri);
        URIS.iter()
            .find(|(known, _)| *known == uri)
            .map(|(_, draft)| *draft)
    }

    /// Whether `keyword` means something in this draft.
    pub(crate) fn has(self, keyword: &str) -> bool {
        SPANS
            .iter()
            .find(|(name, ..)| *name == keyword)
            .is_none_or(|(_, first, last)| (*first..=*last).contains(&self))
    }

    /// The keyword that gives a subschema a new base URI.
    pub(crate) fn id_keyword(self) -> &'static str {
        if self == Draft4 { "id" } else { "$id" }
    }

    /// Before 2019-09 a `$ref` stood for the whole schema it is in: its
    /// siblings were ignored.
    pub(crate) fn ref_replaces_siblings(self) -> bool {
        self <= Draft7
    }

    /// Draft 4 counted as integers only numbers written without a fraction or
    /// exponent (`1.0` is not one); later drafts count any whole number.
    pub(crate) fn integers_as_written(self) -> bool {
        self == Draft4
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn schema_uris_name_drafts_and_no_schema_is_the_newest() {
        for (uri, draft) in [
            ("http://json-schema.org/draft-04/schema#", Some(Draft4)),
            ("https://json-schema.org/draft-06/schema", Some(Draft6)),
            ("http://json-schema.org/draft-07/schema#", Some(Draft7)),
            (
                "https://json-schema.org/draft/2019-09/schema",
                Some(Draft201909),
            ),
            (
                "https://json-schema.org/draft/2020-12/schema",
                Some(Draft202012),
            ),
            ("https://json-schema.org/schema", Some(Draft202012)),
            ("https://example.com/my-meta-schema", None),
            ("#/definitions/meta", None),
        ] {
            assert_eq!(Draft::of(&json!({ "$schema": uri })), draft, "{uri}");
        }
        assert_eq!(Draft::of(&json!({})), Some(Draft202012));
        assert_eq!(Draft::of(&json!({"$schema": 4})), Some(Draft202012));
    }

    #[test]
    fn keywords_have_the_drafts_that_define_them() {
        assert!(!Draft4.has("const") && Draft6.has("const"));
        assert!(!Draft6.has("if") && Draft7.has("if"));
        assert!(!Draft201909.has("prefixItems") && Draft202012.has("prefixItems"));
        assert!(Draft7.has("contentEncoding") && !Draft202012.has("contentEncoding"));
        assert!(Draft4.has("type") && Draft202012.has("dependencies"));
    }
}
