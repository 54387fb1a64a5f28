//! A JSON Schema turned into a tree of checks: the keywords the built-in
//! validator knows, each read and type-checked once.
//!
//! Subschemas live in one arena so a local `$ref` (`#/$defs/Node`) can point
//! at a node compiled once, loops included. Annotations (`title`, `format`,
//! `default`, ...) and unknown keywords are skipped, as JSON Schema says; the
//! keywords that need a regular-expression engine, dynamic scopes or another
//! base URI (a nested `$id`) are refused with [`CompileError::Unsupported`], so
//! nothing is skipped silently. Each draft (by `$schema`, [`Draft`]) has its
//! own keywords, and drafts 4 to 7 are read as they were: a `$ref` replaces its
//! siblings, `items` may be an array with `additionalItems`, `dependencies`
//! joins both kinds of dependency, and draft 4's `exclusiveMinimum: true`
//! qualifies `minimum`.

use std::borrow::Cow;
use std::collections::HashMap;

use serde_json::{Map, Number, Value};

use super::draft::Draft;

/// Keywords the built-in validator does not evaluate. A schema using one of them
/// (in a draft that has it) needs the `jsonschema` feature.
const UNSUPPORTED: &[&str] = &[
    "pattern",
    "patternProperties",
    "unevaluatedProperties",
    "unevaluatedItems",
    "$dynamicRef",
    "$recursiveRef",
    // Drafts 6 and 7 check a string's encoding and media type.
    "contentEncoding",
    "contentMediaType",
];

/// Why a schema could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CompileError {
    /// A keyword's value is not what JSON Schema allows there.
    Invalid { location: String, problem: String },
    /// A keyword the built-in validator does not evaluate.
    Unsupported { keyword: String, location: String },
}

impl std::fmt::Display for CompileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CompileError::Invalid { location, problem } => {
                write!(f, "{problem} (at {})", or_root(location))
            }
            CompileError::Unsupported { keyword, location } => write!(
                f,
                "the schema uses `{keyword}` (at {}), which agent-sdk's built-in validator \
                 does not evaluate; enable agent-sdk's `jsonschema` feature for full JSON Schema",
                or_root(location)
            ),
        }
    }
}

fn or_root(location: &str) -> &str {
    if location.is_empty() {
        "the root"
    } else {
        location
    }
}

/// The JSON types of the `type` keyword, as bits.
pub(crate) mod json_type {
    pub(crate) const NULL: u8 = 1;
    pub(crate) const BOOLEAN: u8 = 2;
    pub(crate) const INTEGER: u8 = 4;
    pub(crate) const NUMBER: u8 = 8;
    pub(crate) const STRING: u8 = 16;
    pub(crate) const ARRAY: u8 = 32;
    pub(crate) const OBJECT: u8 = 64;
    /// Draft 4's `integer`: a number written without a fraction or exponent.
    pub(crate) const INTEGER_AS_WRITTEN: u8 = 128;
    /// Name and bit of each type, in the order errors list them (a name is
    /// looked up by its first entry).
    pub(crate) const NAMES: [(&str, u8); 8] = [
        ("null", NULL),
        ("boolean", BOOLEAN),
        ("integer", INTEGER),
        ("integer", INTEGER_AS_WRITTEN),
        ("number", NUMBER),
        ("string", STRING),
        ("array", ARRAY),
        ("object", OBJECT),
    ];
}

/// Index of a node in [`Compiled::nodes`].
pub(crate) type NodeId = usize;

/// One subschema.
#[derive(Debug)]
pub(crate) enum Node {
    /// `true` or `false`.
    Bool(bool),
    /// An object schema: its checks, in the schema's key order.
    Checks(Vec<Check>),
    /// A `$ref` not compiled yet (only while compiling).
    Pending,
}

/// One keyword (or a pair that belongs together), ready to run.
#[derive(Debug)]
pub(crate) enum Check {
    /// `type`: the allowed types, bits of [`json_type`].
    Type(u8),
    Enum(Vec<Value>),
    Const(Value),
    /// `minimum`, `maximum` and their exclusive forms.
    Bound {
        limit: Number,
        upper: bool,
        exclusive: bool,
    },
    MultipleOf(Number),
    /// `minLength`/`maxLength`, `minItems`/`maxItems`, `minProperties`/`maxProperties`.
    Count {
        of: Counted,
        limit: u64,
        at_most: bool,
    },
    /// `prefixItems` (or draft 7's array `items`) and the schema of the items after them.
    Items {
        prefix: Vec<NodeId>,
        rest: Option<NodeId>,
    },
    /// `additionalItems: false` after an array `items`: no items past the first `after`.
    NoAdditionalItems {
        after: usize,
    },
    UniqueItems,
    Contains {
        schema: NodeId,
        min: u64,
        max: Option<u64>,
    },
    Properties(Vec<(String, NodeId)>),
    /// `additionalProperties`: the schema of every property not in `properties`.
    AdditionalProperties {
        known: Vec<String>,
        schema: NodeId,
    },
    Required(Vec<String>),
    PropertyNames(NodeId),
    DependentRequired(Vec<(String, Vec<String>)>),
    DependentSchemas(Vec<(String, NodeId)>),
    AllOf(Vec<NodeId>),
    AnyOf(Vec<NodeId>),
    OneOf(Vec<NodeId>),
    /// `not`, with the subschema as written (errors quote it).
    Not {
        schema: NodeId,
        written: Value,
    },
    If {
        condition: NodeId,
        then: Option<NodeId>,
        otherwise: Option<NodeId>,
    },
    Ref(NodeId),
}

/// What a `Count` counts.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Counted {
    /// A string's characters (code points).
    Characters,
    /// An array's items.
    Items,
    /// An object's properties.
    Properties,
}

/// The counting keywords: name, what it counts, whether the limit is a most.
const COUNTS: [(&str, Counted, bool); 6] = [
    ("minLength", Counted::Characters, false),
    ("maxLength", Counted::Characters, true),
    ("minItems", Counted::Items, false),
    ("maxItems", Counted::Items, true),
    ("minProperties", Counted::Properties, false),
    ("maxProperties", Counted::Properties, true),
];

/// A compiled schema: the arena and its root.
#[derive(Debug)]
pub(crate) struct Compiled {
    pub(crate) nodes: Vec<Node>,
    pub(crate) root: NodeId,
}

/// Compiles `schema`, or says which keyword stops it.
pub(crate) fn compile(schema: &Value) -> Result<Compiled, CompileError> {
    // Another meta-schema may define other keywords: not ours to guess.
    let Some(draft) = Draft::of(schema) else {
        return Err(CompileError::Unsupported {
            keyword: format!("$schema: {}", schema["$schema"]),
            location: "/$schema".to_owned(),
        });
    };
    let mut compiler = Compiler {
        document: schema,
        draft,
        nodes: Vec::new(),
        by_pointer: HashMap::new(),
    };
    let root = compiler.node_at("")?;
    Ok(Compiled {
        nodes: compiler.nodes,
        root,
    })
}

struct Compiler<'a> {
    document: &'a Value,
    /// The draft `$schema` names: which keywords there are, and how some read.
    draft: Draft,
    nodes: Vec<Node>,
    /// Nodes already made, by JSON Pointer from the root: a `$ref` reuses them.
    by_pointer: HashMap<String, NodeId>,
}

impl Compiler<'_> {
    /// The node of the subschema at `pointer`, compiled once.
    fn node_at(&mut self, pointer: &str) -> Result<NodeId, CompileError> {
        let document = self.document;
        let Some(schema) = document.pointer(pointer) else {
            return Err(invalid(pointer, "a `$ref` points to nothing".to_owned()));
        };
        self.child(schema, pointer)
    }

    fn node(&mut self, schema: &Value, at: &str) -> Result<Node, CompileError> {
        let object = match schema {
            Value::Bool(b) => return Ok(Node::Bool(*b)),
            Value::Object(object) => object,
            other => {
                return Err(invalid(
                    at,
                    format!("a schema must be an object or a boolean, found {other}"),
                ));
            }
        };
        // A nested `$id` starts a new base for the references below it.
        let id = self.draft.id_keyword();
        if !at.is_empty() && object.contains_key(id) {
            return Err(CompileError::Unsupported {
                keyword: id.to_owned(),
                location: format!("{at}/{id}"),
            });
        }
        // A nested `$schema` of another draft switches the draft below it.
        if let Some(nested) = object.get("$schema")
            && !at.is_empty()
            && Some(nested) != self.document.get("$schema")
        {
            return Err(CompileError::Unsupported {
                keyword: format!("$schema: {nested}"),
                location: format!("{at}/$schema"),
            });
        }
        if self.draft.ref_replaces_siblings()
            && let Some(reference) = object.get("$ref")
        {
            let check = Check::Ref(self.reference(reference, &format!("{at}/$ref"))?);
            return Ok(Node::Checks(vec![check]));
        }
        let mut checks = Vec::new();
        for (keyword, value) in object {
            // A keyword of another draft is unknown here and asserts nothing.
            if !self.draft.has(keyword) {
                continue;
            }
            let here = format!("{at}/{}", escape(keyword));
            if UNSUPPORTED.contains(&keyword.as_str()) {
                return Err(CompileError::Unsupported {
                    keyword: keyword.clone(),
                    location: here,
                });
            }
            if let Some(check) = self.keyword(object, keyword, value, &here)? {
                checks.push(check);
            }
        }
        Ok(Node::Checks(checks))
    }

    /// The check of one keyword; `None` for annotations, unknown keywords and
    /// keywords read together with another one.
    fn keyword(
        &mut self,
        schema: &Map<String, Value>,
        keyword: &str,
        value: &Value,
        at: &str,
    ) -> Result<Option<Check>, CompileError> {
        if let Some(&(_, of, at_most)) = COUNTS.iter().find(|(name, ..)| *name == keyword) {
            return Ok(Some(Check::Count {
                of,
                limit: count(value, at)?,
                at_most,
            }));
        }
        let check = match keyword {
            "type" => type_check(value, at, self.draft)?,
            "enum" => Check::Enum(array(value, at)?.clone()),
            "const" => Check::Const(value.clone()),
            "minimum" | "maximum" => {
                let upper = keyword == "maximum";
                // Draft 4 wrote `exclusiveMinimum: true` next to `minimum`.
                let draft4_exclusive = if upper {
                    "exclusiveMaximum"
                } else {
                    "exclusiveMinimum"
                };
                Check::Bound {
                    limit: number(value, at)?,
                    upper,
                    exclusive: self.draft == Draft::Draft4
                        && schema.get(draft4_exclusive) == Some(&Value::Bool(true)),
                }
            }
            // Draft 4: a qualifier read with `minimum`/`maximum`, not a bound.
            "exclusiveMinimum" | "exclusiveMaximum" if self.draft == Draft::Draft4 => {
                let qualified = if keyword == "exclusiveMinimum" {
                    "minimum"
                } else {
                    "maximum"
                };
                let problem = match (value.is_boolean(), schema.contains_key(qualified)) {
                    (true, true) => return Ok(None),
                    (true, false) => format!(
                        "{} qualifies `{qualified}` in draft 4, and the schema has no `{qualified}`",
                        keyword_of(at)
                    ),
                    (false, _) => format!(
                        "{} must be a boolean in draft 4, found {value} (a number is the \
                         form of draft 6 and later)",
                        keyword_of(at)
                    ),
                };
                return Err(invalid(at, problem));
            }
            "exclusiveMinimum" | "exclusiveMaximum" if value.is_boolean() => {
                return Err(invalid(
                    at,
                    format!(
                        "{} must be a number since draft 6, found {value} (draft 4's form; \
                         say `\"$schema\": \"http://json-schema.org/draft-04/schema#\"` to mean it)",
                        keyword_of(at)
                    ),
                ));
            }
            "exclusiveMinimum" | "exclusiveMaximum" => Check::Bound {
                limit: number(value, at)?,
                upper: keyword == "exclusiveMaximum",
                exclusive: true,
            },
            "multipleOf" => {
                let divisor = number(value, at)?;
                if divisor.as_f64().is_none_or(|d| d <= 0.0) {
                    return Err(invalid(
                        at,
                        format!("`multipleOf` must be above 0, found {divisor}"),
                    ));
                }
                Check::MultipleOf(divisor)
            }
            "uniqueItems" => match value {
                Value::Bool(true) => Check::UniqueItems,
                Value::Bool(false) => return Ok(None),
                other => {
                    return Err(invalid(
                        at,
                        format!("`uniqueItems` must be a boolean, found {other}"),
                    ));
                }
            },
            "prefixItems" => Check::Items {
                prefix: self.each(array(value, at)?, at)?,
                rest: self.sibling_child(schema, at, "items")?,
            },
            "items" => match value {
                // Draft 7's tuple form: `items` is the prefix, `additionalItems` the rest.
                Value::Array(prefix) => Check::Items {
                    prefix: self.each(prefix, at)?,
                    // `additionalItems: false` is its own check (jsonschema words it apart).
                    rest: match self.sibling(schema, "additionalItems") {
                        Some(Value::Bool(false)) => None,
                        _ => self.sibling_child(schema, at, "additionalItems")?,
                    },
                },
                // Read with `prefixItems` when both are there.
                _ if self.sibling(schema, "prefixItems").is_some() => return Ok(None),
                items => Check::Items {
                    prefix: Vec::new(),
                    rest: Some(self.child(items, at)?),
                },
            },
            "additionalItems" => match (value, schema.get("items")) {
                (Value::Bool(false), Some(Value::Array(prefix))) => Check::NoAdditionalItems {
                    after: prefix.len(),
                },
                // Read with an array `items`; nothing to check after any other `items`.
                _ => return Ok(None),
            },
            "contains" => Check::Contains {
                schema: self.child(value, at)?,
                min: match self.sibling(schema, "minContains") {
                    Some(min) => count(min, &sibling(at, "minContains"))?,
                    None => 1,
                },
                max: match self.sibling(schema, "maxContains") {
                    Some(max) => Some(count(max, &sibling(at, "maxContains"))?),
                    None => None,
                },
            },
            "properties" => Check::Properties(self.named_children(value, at)?),
            "additionalProperties" => Check::AdditionalProperties {
                known: match schema.get("properties") {
                    Some(Value::Object(properties)) => properties.keys().cloned().collect(),
                    _ => Vec::new(),
                },
                schema: self.child(value, at)?,
            },
            "required" => Check::Required(strings(value, at)?),
            "propertyNames" => Check::PropertyNames(self.child(value, at)?),
            "dependentRequired" => Check::DependentRequired(dependent_required(value, at)?),
            "dependentSchemas" => Check::DependentSchemas(self.named_children(value, at)?),
            // Draft 7 joined both in `dependencies`: an array names properties, else a schema.
            "dependencies" => {
                let mut names = Vec::new();
                let mut schemas = Vec::new();
                for (name, dependency) in object(value, at)? {
                    let here = format!("{at}/{}", escape(name));
                    match dependency {
                        Value::Array(_) => names.push((name.clone(), strings(dependency, &here)?)),
                        _ => schemas.push((name.clone(), self.child(dependency, &here)?)),
                    }
                }
                Check::AllOf(vec![self.push(Node::Checks(vec![
                    Check::DependentRequired(names),
                    Check::DependentSchemas(schemas),
                ]))])
            }
            "allOf" => Check::AllOf(self.each(non_empty(value, at)?, at)?),
            "anyOf" => Check::AnyOf(self.each(non_empty(value, at)?, at)?),
            "oneOf" => Check::OneOf(self.each(non_empty(value, at)?, at)?),
            "not" => Check::Not {
                schema: self.child(value, at)?,
                written: value.clone(),
            },
            "if" => Check::If {
                condition: self.child(value, at)?,
                then: self.sibling_child(schema, at, "then")?,
                otherwise: self.sibling_child(schema, at, "else")?,
            },
            "$ref" => Check::Ref(self.reference(value, at)?),
            // `$defs`, `definitions`: only reached through `$ref`. Annotations
            // (`title`, `description`, `default`, `examples`, `format`, ...) and
            // unknown keywords assert nothing.
            _ => return Ok(None),
        };
        Ok(Some(check))
    }

    /// The subschema `schema` found at pointer `at`, compiled once: a `$ref` to
    /// the same place shares the node.
    fn child(&mut self, schema: &Value, at: &str) -> Result<NodeId, CompileError> {
        if let Some(&id) = self.by_pointer.get(at) {
            return Ok(id);
        }
        // Reserved before its children, so a loop back to it finds it.
        let id = self.push(Node::Pending);
        self.by_pointer.insert(at.to_owned(), id);
        self.nodes[id] = self.node(schema, at)?;
        Ok(id)
    }

    fn each(&mut self, schemas: &[Value], at: &str) -> Result<Vec<NodeId>, CompileError> {
        schemas
            .iter()
            .enumerate()
            .map(|(i, schema)| self.child(schema, &format!("{at}/{i}")))
            .collect()
    }

    fn push(&mut self, node: Node) -> NodeId {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    /// A `$ref` inside this document (`#`, `#/$defs/...`); anything else needs a resolver.
    fn reference(&mut self, value: &Value, at: &str) -> Result<NodeId, CompileError> {
        let Value::String(reference) = value else {
            return Err(invalid(
                at,
                format!("`$ref` must be a string, found {value}"),
            ));
        };
        // A JSON Pointer fragment; not another document, not a `#name` (`$anchor`).
        match reference.strip_prefix('#') {
            Some(pointer) if pointer.is_empty() || pointer.starts_with('/') => {
                self.node_at(&percent_decode(pointer))
            }
            _ => Err(CompileError::Unsupported {
                keyword: format!("$ref: {reference}"),
                location: at.to_owned(),
            }),
        }
    }

    /// The value of a keyword read together with another one, when the schema
    /// has it and the draft knows it.
    fn sibling<'s>(&self, schema: &'s Map<String, Value>, keyword: &str) -> Option<&'s Value> {
        schema.get(keyword).filter(|_| self.draft.has(keyword))
    }

    /// The subschema of a keyword read together with this one (`then` with
    /// `if`), when the schema has it.
    fn sibling_child(
        &mut self,
        schema: &Map<String, Value>,
        at: &str,
        keyword: &str,
    ) -> Result<Option<NodeId>, CompileError> {
        match self.sibling(schema, keyword) {
            Some(subschema) => Ok(Some(self.child(subschema, &sibling(at, keyword))?)),
            None => Ok(None),
        }
    }

    /// An object of subschemas by name (`properties`, `dependentSchemas`).
    fn named_children(
        &mut self,
        value: &Value,
        at: &str,
    ) -> Result<Vec<(String, NodeId)>, CompileError> {
        let mut children = Vec::new();
        for (name, schema) in object(value, at)? {
            let here = format!("{at}/{}", escape(name));
            children.push((name.clone(), self.child(schema, &here)?));
        }
        Ok(children)
    }
}

/// `dependentRequired`: for each property, the properties it needs.
fn dependent_required(value: &Value, at: &str) -> Result<Vec<(String, Vec<String>)>, CompileError> {
    object(value, at)?
        .iter()
        .map(|(name, names)| {
            Ok((
                name.clone(),
                strings(names, &format!("{at}/{}", escape(name)))?,
            ))
        })
        .collect()
}

fn type_check(value: &Value, at: &str, draft: Draft) -> Result<Check, CompileError> {
    let names: Vec<&Value> = match value {
        Value::Array(names) => names.iter().collect(),
        one => vec![one],
    };
    let mut allowed = 0;
    for name in names {
        let bit = name
            .as_str()
            .and_then(|name| json_type::NAMES.iter().find(|(n, _)| *n == name))
            .map(|(_, bit)| *bit)
            .ok_or_else(|| {
                invalid(
                    at,
                    format!(
                        "`type` must name JSON types (null, boolean, integer, number, string, array, object), found {name}"
                    ),
                )
            })?;
        allowed |= match bit {
            json_type::INTEGER if draft.integers_as_written() => json_type::INTEGER_AS_WRITTEN,
            bit => bit,
        };
    }
    Ok(Check::Type(allowed))
}

fn number(value: &Value, at: &str) -> Result<Number, CompileError> {
    match value {
        Value::Number(number) => Ok(number.clone()),
        other => Err(invalid(
            at,
            format!("{} must be a number, found {other}", keyword_of(at)),
        )),
    }
}

fn count(value: &Value, at: &str) -> Result<u64, CompileError> {
    let whole = value.as_u64().or_else(|| {
        value
            .as_f64()
            .filter(|f| *f >= 0.0 && f.fract() == 0.0 && *f < u64::MAX as f64)
            .map(|f| f as u64)
    });
    whole.ok_or_else(|| {
        invalid(
            at,
            format!(
                "{} must be a non-negative integer, found {value}",
                keyword_of(at)
            ),
        )
    })
}

fn array<'v>(value: &'v Value, at: &str) -> Result<&'v Vec<Value>, CompileError> {
    value.as_array().ok_or_else(|| {
        invalid(
            at,
            format!("{} must be an array, found {value}", keyword_of(at)),
        )
    })
}

fn non_empty<'v>(value: &'v Value, at: &str) -> Result<&'v Vec<Value>, CompileError> {
    let items = array(value, at)?;
    if items.is_empty() {
        return Err(invalid(at, format!("{} must not be empty", keyword_of(at))));
    }
    Ok(items)
}

fn object<'v>(value: &'v Value, at: &str) -> Result<&'v Map<String, Value>, CompileError> {
    value.as_object().ok_or_else(|| {
        invalid(
            at,
            format!("{} must be an object, found {value}", keyword_of(at)),
        )
    })
}

fn strings(value: &Value, at: &str) -> Result<Vec<String>, CompileError> {
    array(value, at)?
        .iter()
        .map(|name| {
            name.as_str().map(str::to_owned).ok_or_else(|| {
                invalid(
                    at,
                    format!("{} must list strings, found {name}", keyword_of(at)),
                )
            })
        })
        .collect()
}

fn invalid(at: &str, problem: String) -> CompileError {
    CompileError::Invalid {
        location: at.to_owned(),
        problem,
    }
}

/// The keyword a pointer ends with, quoted: "`minimum`".
fn keyword_of(at: &str) -> String {
    let last = at.rsplit('/').next().unwrap_or_default();
    format!("`{}`", last.replace("~1", "/").replace("~0", "~"))
}

/// The pointer of another keyword of the same schema.
fn sibling(at: &str, keyword: &str) -> String {
    let parent = at.rsplit_once('/').map_or("", |(parent, _)| parent);
    format!("{parent}/{keyword}")
}

/// One JSON Pointer segment: `~` -> `~0`, `/` -> `~1`.
pub(crate) fn escape(segment: &str) -> Cow<'_, str> {
    if segment.contains(['~', '/']) {
        Cow::Owned(segment.replace('~', "~0").replace('/', "~1"))
    } else {
        Cow::Borrowed(segment)
    }
}

/// `%25` -> `%` etc. in a `$ref`'s fragment (URI escaping; JSON Pointer escaping stays).
fn percent_decode(fragment: &str) -> String {
    if !fragment.contains('%') {
        return fragment.to_owned();
    }
    let bytes = fragment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (byte, _, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
