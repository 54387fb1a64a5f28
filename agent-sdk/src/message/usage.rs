//! `usage`: token counts of an API message.
//!
//! Decoded by hand, key by key, straight into the struct: every assistant frame
//! carries one, and going through a `serde_json::Value` (a hash map and a string
//! per key) was a fifth of the cost of parsing a frame.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

/// Token usage of an API message, as the Messages API reports it
/// (`message.usage` of an [`AssistantMessage`](super::AssistantMessage), `usage`
/// of a [`ResultMessage`](super::ResultMessage)).
///
/// The common counters are typed; every other key (`server_tool_use`,
/// `cache_creation`, `iterations`, ...) is kept as written in [`extra`](Self::extra),
/// and so is a counter that is not a number, so nothing is lost.
///
/// ```
/// use agent_sdk::message::Usage;
///
/// let usage: Usage = serde_json::from_str(
///     r#"{"input_tokens":5,"output_tokens":12,"cache_read_input_tokens":2048,
///         "cache_creation_input_tokens":null,"service_tier":"standard",
///         "server_tool_use":{"web_search_requests":1}}"#,
/// )?;
/// assert_eq!((usage.input_tokens, usage.output_tokens), (5, 12));
/// assert_eq!(usage.cache_read_input_tokens, Some(2048));
/// assert_eq!(usage.total_input_tokens(), 2053);
/// assert_eq!(usage.service_tier.as_deref(), Some("standard"));
/// assert_eq!(usage.extra["server_tool_use"]["web_search_requests"], 1);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Usage {
    /// `input_tokens`: uncached input tokens (0 when absent).
    pub input_tokens: u64,
    /// `output_tokens` (0 when absent). Not final on per-block assistant frames.
    pub output_tokens: u64,
    /// `cache_creation_input_tokens`: input tokens written to the prompt cache.
    pub cache_creation_input_tokens: Option<u64>,
    /// `cache_read_input_tokens`: input tokens read from the prompt cache.
    pub cache_read_input_tokens: Option<u64>,
    /// `service_tier` (`standard`, `priority`, `batch`).
    pub service_tier: Option<String>,
    /// Every other key, as written.
    pub extra: Map<String, Value>,
}

impl Usage {
    /// All input tokens: uncached, written to the cache and read from it.
    pub fn total_input_tokens(&self) -> u64 {
        self.input_tokens
            + self.cache_creation_input_tokens.unwrap_or(0)
            + self.cache_read_input_tokens.unwrap_or(0)
    }
}

/// The keys with a typed field.
#[derive(Clone, Copy)]
enum Counter {
    Input,
    Output,
    CacheCreation,
    CacheRead,
}

impl Counter {
    const ALL: [Counter; 4] = [
        Counter::Input,
        Counter::Output,
        Counter::CacheCreation,
        Counter::CacheRead,
    ];

    fn key(self) -> &'static str {
        match self {
            Counter::Input => "input_tokens",
            Counter::Output => "output_tokens",
            Counter::CacheCreation => "cache_creation_input_tokens",
            Counter::CacheRead => "cache_read_input_tokens",
        }
    }
}

enum Key {
    Counter(Counter),
    ServiceTier,
    Other(String),
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a usage key")
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
                if key == "service_tier" {
                    return Ok(Key::ServiceTier);
                }
                Ok(Counter::ALL
                    .into_iter()
                    .find(|counter| counter.key() == key)
                    .map_or_else(|| Key::Other(key.to_owned()), Key::Counter))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// A token count as the CLI writes it: a number (JS numbers may be floats) or null.
fn token_count(value: &Value) -> Option<Option<u64>> {
    match value {
        Value::Null => Some(None),
        Value::Number(number) => match number.as_u64() {
            Some(count) => Some(Some(count)),
            None => number
                .as_f64()
                .filter(|f| f.is_finite() && *f >= 0.0 && *f < u64::MAX as f64)
                // In range and finite: the cast cannot saturate.
                .map(|f| Some(f.round() as u64)),
        },
        _ => None,
    }
}

impl<'de> Deserialize<'de> for Usage {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct UsageVisitor;
        impl<'de> Visitor<'de> for UsageVisitor {
            type Value = Usage;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a usage object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Usage, A::Error> {
                let mut usage = Usage::default();
                while let Some(key) = map.next_key::<Key>()? {
                    match key {
                        Key::Counter(counter) => {
                            // A number is parsed without allocating; anything else is kept raw.
                            let value: Value = map.next_value()?;
                            let Some(count) = token_count(&value) else {
                                usage.extra.insert(counter.key().to_owned(), value);
                                continue;
                            };
                            match counter {
                                Counter::Input => usage.input_tokens = count.unwrap_or(0),
                                Counter::Output => usage.output_tokens = count.unwrap_or(0),
                                Counter::CacheCreation => usage.cache_creation_input_tokens = count,
                                Counter::CacheRead => usage.cache_read_input_tokens = count,
                            }
                        }
                        Key::ServiceTier => match map.next_value::<Value>()? {
                            Value::String(tier) => usage.service_tier = Some(tier),
                            Value::Null => {}
                            other => {
                                usage.extra.insert("service_tier".to_owned(), other);
                            }
                        },
                        Key::Other(key) => {
                            let value = map.next_value()?;
                            usage.extra.insert(key, value);
                        }
                    }
                }
                Ok(usage)
            }
        }
        deserializer.deserialize_map(UsageVisitor)
    }
}

impl Serialize for Usage {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("input_tokens", &self.input_tokens)?;
        map.serialize_entry("output_tokens", &self.output_tokens)?;
        if let Some(count) = self.cache_creation_input_tokens {
            map.serialize_entry("cache_creation_input_tokens", &count)?;
        }
        if let Some(count) = self.cache_read_input_tokens {
            map.serialize_entry("cache_read_input_tokens", &count)?;
        }
        if let Some(tier) = &self.service_tier {
            map.serialize_entry("service_tier", tier)?;
        }
        for (key, value) in &self.extra {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn counters_are_typed_and_the_rest_is_kept() {
        let wire = json!({"input_tokens": 24, "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 31_000, "output_tokens": 14,
            "server_tool_use": {"web_search_requests": 0, "web_fetch_requests": 0},
            "service_tier": "standard", "cache_creation": {"ephemeral_1h_input_tokens": 0},
            "inference_geo": "", "iterations": [], "speed": "standard"});
        let usage: Usage = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(usage.input_tokens, 24);
        assert_eq!(usage.output_tokens, 14);
        assert_eq!(usage.cache_creation_input_tokens, Some(0));
        assert_eq!(usage.cache_read_input_tokens, Some(31_000));
        assert_eq!(usage.service_tier.as_deref(), Some("standard"));
        assert_eq!(
            usage.extra.keys().collect::<Vec<_>>(),
            [
                "server_tool_use",
                "cache_creation",
                "inference_geo",
                "iterations",
                "speed"
            ]
        );
        // Serializing gives back the same object (key order aside).
        assert_eq!(serde_json::to_value(&usage).unwrap(), wire);
    }

    #[test]
    fn odd_counters_never_fail_the_frame() {
        let usage: Usage = serde_json::from_str(
            r#"{"input_tokens":12.6,"output_tokens":null,"cache_read_input_tokens":"n/a","service_tier":7}"#,
        )
        .unwrap();
        assert_eq!(usage.input_tokens, 13);
        assert_eq!(usage.output_tokens, 0);
        assert_eq!(usage.cache_read_input_tokens, None);
        assert_eq!(usage.extra["cache_read_input_tokens"], "n/a");
        assert_eq!(usage.extra["service_tier"], 7);
        let empty: Usage = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, Usage::default());
        assert!(serde_json::from_str::<Usage>("[1]").is_err());
    }
}
