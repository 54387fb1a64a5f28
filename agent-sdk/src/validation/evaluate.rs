//! Runs a compiled schema over a value: a verdict, and on request the
//! violations with their paths, worded as the `jsonschema` crate words them
//! (models and tests read the same text whichever validator ran).

use std::cmp::Ordering;
use std::collections::HashMap;

use serde_json::{Map, Number, Value};

use super::Violation;
use super::compile::{Check, Compiled, Counted, Node, NodeId, escape, json_type};

/// How deep `$ref`s may nest while evaluating: a schema that refers to itself
/// without descending into the value would otherwise never end.
const MAX_DEPTH: usize = 256;

/// Where violations go: nowhere (only the verdict matters) or into a list.
struct Sink<'a> {
    violations: Option<&'a mut Vec<Violation>>,
    limit: usize,
}

impl Sink<'_> {
    /// A sink for the verdict alone.
    fn quiet() -> Self {
        Sink {
            violations: None,
            limit: 0,
        }
    }

    fn wants_all(&self) -> bool {
        self.violations
            .as_ref()
            .is_some_and(|v| v.len() < self.limit)
    }

    fn report(&mut self, path: &str, message: impl FnOnce() -> String) {
        if let Some(violations) = &mut self.violations
            && violations.len() < self.limit
        {
            violations.push(Violation {
                instance_path: path.to_owned(),
                message: message(),
            });
        }
    }
}

/// Runs `check` on each item: on all of them when violations are collected,
/// else up to the first that fails. Whether all passed.
fn every<T>(
    items: impl IntoIterator<Item = T>,
    path: &mut String,
    sink: &mut Sink<'_>,
    mut check: impl FnMut(T, &mut String, &mut Sink<'_>) -> bool,
) -> bool {
    let mut valid = true;
    for item in items {
        if !check(item, path, sink) {
            valid = false;
            if !sink.wants_all() {
                return false;
            }
        }
    }
    valid
}

/// The dependencies (of `dependentRequired`, `dependentSchemas`) whose property
/// `map` has.
fn present<'a, T>(
    dependencies: &'a [(String, T)],
    map: &'a Map<String, Value>,
) -> impl Iterator<Item = &'a T> {
    dependencies
        .iter()
        .filter(|(name, _)| lookup(map, name).is_some())
        .map(|(_, dependency)| dependency)
}

/// Whether `map` has every property in `names`; each missing one is reported.
fn require(
    map: &Map<String, Value>,
    names: &[String],
    path: &mut String,
    sink: &mut Sink<'_>,
) -> bool {
    let missing = names.iter().filter(|name| lookup(map, name).is_none());
    every(missing, path, sink, |name, path, sink| {
        sink.report(path, || {
            format!("{} is a required property", Value::from(name.as_str()))
        });
        false
    })
}

/// Whether `instance` fits.
pub(crate) fn is_valid(schema: &Compiled, instance: &Value) -> bool {
    Evaluator { schema }.node(
        schema.root,
        instance,
        &mut String::new(),
        &mut Sink::quiet(),
        0,
    )
}

/// Up to `limit` violations, in the schema's keyword order.
pub(crate) fn violations(schema: &Compiled, instance: &Value, limit: usize) -> Vec<Violation> {
    let mut violations = Vec::new();
    let mut sink = Sink {
        violations: Some(&mut violations),
        limit,
    };
    Evaluator { schema }.node(schema.root, instance, &mut String::new(), &mut sink, 0);
    violations
}

/// One step into the instance: a property or an array index.
#[derive(Clone, Copy)]
enum Segment<'a> {
    Name(&'a str),
    Index(usize),
}

/// `map.get(key)`: a scan for the few properties tool arguments have (no
/// hashing), a lookup for more.
fn lookup<'v>(map: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    if map.len() <= 8 {
        map.iter().find(|(k, _)| k.as_str() == key).map(|(_, v)| v)
    } else {
        map.get(key)
    }
}

struct Evaluator<'s> {
    schema: &'s Compiled,
}

impl Evaluator<'_> {
    /// Whether `instance` (at `path`) fits node `id`; reports to `sink` what does not.
    fn node(
        &self,
        id: NodeId,
        instance: &Value,
        path: &mut String,
        sink: &mut Sink<'_>,
        depth: usize,
    ) -> bool {
        if depth > MAX_DEPTH {
            sink.report(path, || {
                format!(
                    "the schema nests more than {MAX_DEPTH} levels deep here (a `$ref` that loops without descending into the value?)"
                )
            });
            return false;
        }
        match &self.schema.nodes[id] {
            Node::Bool(true) | Node::Pending => true,
            Node::Bool(false) => {
                sink.report(path, || format!("False schema does not allow {instance}"));
                false
            }
            Node::Checks(checks) => every(checks, path, sink, |check, path, sink| {
                self.check(check, instance, path, sink, depth)
            }),
        }
    }

    /// Whether `instance` fits node `id`, reporting nothing.
    fn fits(&self, id: NodeId, instance: &Value, depth: usize) -> bool {
        self.node(
            id,
            instance,
            &mut String::new(),
            &mut Sink::quiet(),
            depth + 1,
        )
    }

    /// Evaluates node `id` on a child of the instance (`segment` added to the path).
    fn child(
        &self,
        id: NodeId,
        instance: &Value,
        segment: Segment<'_>,
        path: &mut String,
        sink: &mut Sink<'_>,
        depth: usize,
    ) -> bool {
        // The path is only written when violations are collected: the verdict
        // alone (every call's fast path) allocates nothing.
        let length = path.len();
        if sink.violations.is_some() {
            path.push('/');
            match segment {
                Segment::Name(name) => path.push_str(&escape(name)),
                Segment::Index(index) => path.push_str(&index.to_string()),
            }
        }
        let valid = self.node(id, instance, path, sink, depth + 1);
        path.truncate(length);
        valid
    }

    fn check(
        &self,
        check: &Check,
        instance: &Value,
        path: &mut String,
        sink: &mut Sink<'_>,
        depth: usize,
    ) -> bool {
        let mut fail = |message: &dyn Fn() -> String| {
            sink.report(path, message);
            false
        };
        match check {
            Check::Type(allowed) => {
                if type_bits(instance) & allowed != 0 {
                    return true;
                }
                // Named in the order of `json_type::NAMES`, as jsonschema names them.
                let names: Vec<String> = json_type::NAMES
                    .iter()
                    .filter(|(_, bit)| allowed & bit != 0)
                    .map(|(name, _)| format!("\"{name}\""))
                    .collect();
                match names.as_slice() {
                    [one] => fail(&|| format!("{instance} is not of type {one}")),
                    many => fail(&|| format!("{instance} is not of types {}", many.join(", "))),
                }
            }
            Check::Enum(options) => {
                options.iter().any(|option| equal(option, instance))
                    || fail(&|| enum_message(instance, options))
            }
            Check::Const(expected) => {
                equal(expected, instance) || fail(&|| format!("{expected} was expected"))
            }
            Check::Bound {
                limit,
                upper,
                exclusive,
            } => match instance {
                Value::Number(n) => {
                    let inside = if *upper {
                        Ordering::Less
                    } else {
                        Ordering::Greater
                    };
                    match compare(n, limit) {
                        Some(order) if order == inside => true,
                        Some(Ordering::Equal) if !exclusive => true,
                        _ => fail(&|| {
                            let (side, bound) = if *upper {
                                ("greater", "maximum")
                            } else {
                                ("less", "minimum")
                            };
                            let or_equal = if *exclusive { " or equal to" } else { "" };
                            format!("{instance} is {side} than{or_equal} the {bound} of {limit}")
                        }),
                    }
                }
                _ => true,
            },
            Check::MultipleOf(divisor) => match instance {
                Value::Number(n) => {
                    is_multiple_of(n, divisor)
                        || fail(&|| format!("{instance} is not a multiple of {divisor}"))
                }
                _ => true,
            },
            Check::Count { of, limit, at_most } => {
                let count = match (of, instance) {
                    (Counted::Characters, Value::String(s)) => s.chars().count(),
                    (Counted::Items, Value::Array(items)) => items.len(),
                    (Counted::Properties, Value::Object(map)) => map.len(),
                    _ => return true,
                } as u64;
                let fits = if *at_most {
                    count <= *limit
                } else {
                    count >= *limit
                };
                fits || fail(&|| count_message(instance, *of, *limit, *at_most))
            }
            Check::NoAdditionalItems { after } => match instance {
                Value::Array(items) if items.len() > *after => fail(&|| {
                    let extra: Vec<String> = items[*after..].iter().map(Value::to_string).collect();
                    not_allowed("items", &extra)
                }),
                _ => true,
            },
            Check::UniqueItems => match instance {
                Value::Array(items) => {
                    all_unique(items) || fail(&|| format!("{instance} has non-unique elements"))
                }
                _ => true,
            },
            Check::Required(names) => match instance {
                Value::Object(map) => require(map, names, path, sink),
                _ => true,
            },
            Check::DependentRequired(dependencies) => match instance {
                Value::Object(map) => every(
                    present(dependencies, map),
                    path,
                    sink,
                    |needed, path, sink| require(map, needed, path, sink),
                ),
                _ => true,
            },
            _ => self.applicator(check, instance, path, sink, depth),
        }
    }

    /// The keywords that apply subschemas.
    fn applicator(
        &self,
        check: &Check,
        instance: &Value,
        path: &mut String,
        sink: &mut Sink<'_>,
        depth: usize,
    ) -> bool {
        match check {
            Check::Properties(properties) => match instance {
                Value::Object(map) => {
                    let present = properties
                        .iter()
                        .filter_map(|(name, schema)| Some((name, *schema, lookup(map, name)?)));
                    every(present, path, sink, |(name, schema, value), path, sink| {
                        self.child(schema, value, Segment::Name(name), path, sink, depth)
                    })
                }
                _ => true,
            },
            Check::AdditionalProperties { known, schema } => match instance {
                Value::Object(map) => {
                    let extra = map
                        .iter()
                        .filter(|(name, _)| !known.iter().any(|k| k == *name));
                    if matches!(self.schema.nodes[*schema], Node::Bool(false)) {
                        let unexpected: Vec<String> =
                            extra.map(|(name, _)| format!("'{name}'")).collect();
                        if unexpected.is_empty() {
                            return true;
                        }
                        sink.report(path, || not_allowed("properties", &unexpected));
                        return false;
                    }
                    every(extra, path, sink, |(name, value), path, sink| {
                        self.child(*schema, value, Segment::Name(name), path, sink, depth)
                    })
                }
                _ => true,
            },
            Check::PropertyNames(schema) => match instance {
                Value::Object(map) => every(map.keys(), path, sink, |name, path, sink| {
                    let name = Value::from(name.as_str());
                    self.node(*schema, &name, path, sink, depth + 1)
                }),
                _ => true,
            },
            Check::DependentSchemas(dependencies) => match instance {
                Value::Object(map) => every(
                    present(dependencies, map),
                    path,
                    sink,
                    |schema, path, sink| self.node(*schema, instance, path, sink, depth + 1),
                ),
                _ => true,
            },
            Check::Items { prefix, rest } => match instance {
                Value::Array(items) => {
                    // Items past the prefix without a `rest` schema are not checked.
                    let checked = items
                        .iter()
                        .enumerate()
                        .map_while(|(i, item)| Some((i, item, prefix.get(i).or(rest.as_ref())?)));
                    every(checked, path, sink, |(i, item, schema), path, sink| {
                        self.child(*schema, item, Segment::Index(i), path, sink, depth)
                    })
                }
                _ => true,
            },
            Check::Contains { schema, min, max } => match instance {
                Value::Array(items) => {
                    let matching = items
                        .iter()
                        .filter(|item| self.fits(*schema, item, depth))
                        .count() as u64;
                    // jsonschema words too few and too many alike.
                    if matching < *min || max.is_some_and(|max| matching > max) {
                        sink.report(path, || {
                            format!("None of {instance} are valid under the given schema")
                        });
                        return false;
                    }
                    true
                }
                _ => true,
            },
            Check::AllOf(schemas) => every(schemas, path, sink, |schema, path, sink| {
                self.node(*schema, instance, path, sink, depth + 1)
            }),
            Check::AnyOf(schemas) => {
                schemas
                    .iter()
                    .any(|schema| self.fits(*schema, instance, depth))
                    || {
                        sink.report(path, || format!("{instance} is not valid under any of the schemas listed in the 'anyOf' keyword"));
                        false
                    }
            }
            Check::OneOf(schemas) => match schemas
                .iter()
                .filter(|schema| self.fits(**schema, instance, depth))
                .count()
            {
                1 => true,
                0 => {
                    sink.report(path, || format!("{instance} is not valid under any of the schemas listed in the 'oneOf' keyword"));
                    false
                }
                _ => {
                    sink.report(path, || format!("{instance} is valid under more than one of the schemas listed in the 'oneOf' keyword"));
                    false
                }
            },
            Check::Not { schema, written } => {
                !self.fits(*schema, instance, depth) || {
                    sink.report(path, || format!("{written} is not allowed for {instance}"));
                    false
                }
            }
            Check::If {
                condition,
                then,
                otherwise,
            } => {
                let branch = if self.fits(*condition, instance, depth) {
                    then
                } else {
                    otherwise
                };
                match branch {
                    Some(schema) => self.node(*schema, instance, path, sink, depth + 1),
                    None => true,
                }
            }
            Check::Ref(schema) => self.node(*schema, instance, path, sink, depth + 1),
            _ => unreachable!("the assertions are checked in `check`"),
        }
    }
}

/// jsonschema's words for `additionalProperties: false` and `additionalItems:
/// false`: "Additional items are not allowed (1, 2 were unexpected)".
fn not_allowed(what: &str, unexpected: &[String]) -> String {
    let verb = if unexpected.len() == 1 { "was" } else { "were" };
    format!(
        "Additional {what} are not allowed ({} {verb} unexpected)",
        unexpected.join(", ")
    )
}

fn type_bits(instance: &Value) -> u8 {
    match instance {
        Value::Null => json_type::NULL,
        Value::Bool(_) => json_type::BOOLEAN,
        // An integer is also a number; `2.0` is an integer too (but for draft 4).
        Value::Number(n) if n.is_i64() || n.is_u64() => {
            json_type::INTEGER_AS_WRITTEN | json_type::INTEGER | json_type::NUMBER
        }
        Value::Number(n) if n.as_f64().is_some_and(|f| f.fract() == 0.0) => {
            json_type::INTEGER | json_type::NUMBER
        }
        Value::Number(_) => json_type::NUMBER,
        Value::String(_) => json_type::STRING,
        Value::Array(_) => json_type::ARRAY,
        Value::Object(_) => json_type::OBJECT,
    }
}

/// Exact order of two JSON numbers (integers compared as integers, so large
/// `u64`s do not round).
fn compare(a: &Number, b: &Number) -> Option<Ordering> {
    match (integer(a), integer(b)) {
        (Some(a), Some(b)) => Some(a.cmp(&b)),
        _ => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}

fn integer(n: &Number) -> Option<i128> {
    n.as_i64()
        .map(i128::from)
        .or_else(|| n.as_u64().map(i128::from))
}

fn is_multiple_of(n: &Number, divisor: &Number) -> bool {
    if let (Some(n), Some(divisor)) = (integer(n), integer(divisor)) {
        return n % divisor == 0;
    }
    let (Some(n), Some(divisor)) = (n.as_f64(), divisor.as_f64()) else {
        return false;
    };
    let quotient = n / divisor;
    quotient.is_finite() && quotient.fract() == 0.0
}

/// Whether no two items are [`equal`]: pairwise for a few, by hash buckets for
/// more (a `HashSet` parameter's array may be long; pairwise would be quadratic).
fn all_unique(items: &[Value]) -> bool {
    if items.len() <= 16 {
        return items
            .iter()
            .enumerate()
            .all(|(i, a)| items[i + 1..].iter().all(|b| !equal(a, b)));
    }
    let mut buckets: HashMap<u64, Vec<&Value>> = HashMap::with_capacity(items.len());
    for item in items {
        let bucket = buckets.entry(hash_of(item)).or_default();
        if bucket.iter().any(|seen| equal(seen, item)) {
            return false;
        }
        bucket.push(item);
    }
    true
}

/// A hash that agrees with [`equal`]: numbers by their `f64` value, object
/// entries in any order.
fn hash_of(value: &Value) -> u64 {
    use std::hash::{BuildHasher, Hash, Hasher};
    let state =
        std::hash::BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default();
    let mut hasher = state.build_hasher();
    match value {
        Value::Null => 0u8.hash(&mut hasher),
        Value::Bool(b) => (1u8, b).hash(&mut hasher),
        Value::Number(n) => (2u8, n.as_f64().unwrap_or(f64::NAN).to_bits()).hash(&mut hasher),
        Value::String(s) => (3u8, s).hash(&mut hasher),
        Value::Array(items) => {
            4u8.hash(&mut hasher);
            items
                .iter()
                .for_each(|item| hash_of(item).hash(&mut hasher));
        }
        Value::Object(map) => {
            // Order-free: the entries' hashes are summed.
            let sum = map.iter().fold(0u64, |sum, (key, value)| {
                sum.wrapping_add(state.hash_one((key, hash_of(value))))
            });
            (5u8, sum).hash(&mut hasher);
        }
    }
    hasher.finish()
}

/// JSON equality: numbers by value (`1` equals `1.0`), objects regardless of key order.
fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(a), Value::Number(b)) => compare(a, b) == Some(Ordering::Equal),
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(a, b)| equal(a, b))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(key, a)| b.get(key).is_some_and(|b| equal(a, b)))
        }
        (a, b) => a == b,
    }
}

/// `"x" is not one of "a", "b" or "c"` (at most three options named).
fn enum_message(instance: &Value, options: &[Value]) -> String {
    const SHOWN: usize = 3;
    let mut message = format!("{instance} is not one of ");
    if options.len() <= SHOWN {
        for (i, option) in options.iter().enumerate() {
            let separator = match i {
                0 => "",
                i if i == options.len() - 1 => " or ",
                _ => ", ",
            };
            message.push_str(&format!("{separator}{option}"));
        }
    } else {
        let named: Vec<String> = options[..SHOWN - 1].iter().map(Value::to_string).collect();
        message.push_str(&format!(
            "{} or {} other candidates",
            named.join(", "),
            options.len() - (SHOWN - 1)
        ));
    }
    message
}

/// `"ab" is longer than 1 character`, `[] has less than 1 item`, ... as jsonschema words them.
fn count_message(instance: &Value, of: Counted, limit: u64, at_most: bool) -> String {
    let one = limit == 1;
    match of {
        Counted::Characters => {
            let comparison = if at_most { "longer" } else { "shorter" };
            format!(
                "{instance} is {comparison} than {limit} character{}",
                plural(limit)
            )
        }
        Counted::Items | Counted::Properties => {
            let comparison = if at_most { "more" } else { "less" };
            let unit = match (of, one) {
                (Counted::Items, true) => "item",
                (Counted::Items, false) => "items",
                (_, true) => "property",
                (_, false) => "properties",
            };
            format!("{instance} has {comparison} than {limit} {unit}")
        }
    }
}

fn plural(count: u64) -> &'static str {
    if count == 1 { "" } else { "s" }
}
