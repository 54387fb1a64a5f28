//! The input schema of a `#[tool]` whose parameters are all of well-known types
//! (numbers, `bool`, `String`, `char`, `Vec`s and `Option`s of them), written
//! without schemars.
//!
//! Deriving a schema at run time runs schemars' generator and the SDK's shaping
//! (`crate::schema`): code a program keeps resident for its whole life, about
//! half a megabyte of it (benches/README.md, "Idle memory"), to produce a schema
//! this table knows in advance. Which types are known is decided by the
//! compiler, not by the macro reading type names (a user may shadow `f64`):
//! `(&&&SchemaProbe::<T>::new()).known()` picks an impl by method lookup
//! ("autoref specialization"), and any unknown parameter sends the whole tool
//! back to schemars. A test holds every entry equal to what schemars and the
//! shaping make (`tests/integration/mcp_known_schema.rs`).

use std::marker::PhantomData;

use serde_json::{Map, Value, json};

/// A type whose shaped schema is known without schemars.
pub trait KnownSchema {
    /// The schema, as `crate::schema::shaped_value_schema_for::<Self>()` makes it.
    fn known_schema() -> Value;
}

/// One row per type: the type, then its schema.
macro_rules! known_schemas {
    ($($ty:ty => $schema:expr;)*) => {
        $(impl KnownSchema for $ty {
            fn known_schema() -> Value {
                $schema
            }
        })*
    };
}

/// `{"type": "integer", "minimum": MIN, "maximum": MAX}` of an integer type.
macro_rules! integer {
    ($ty:ty) => {
        json!({"type": "integer", "minimum": <$ty>::MIN, "maximum": <$ty>::MAX})
    };
}

known_schemas! {
    f64 => json!({"type": "number"});
    f32 => json!({"type": "number"});
    i8 => integer!(i8);
    i16 => integer!(i16);
    i32 => integer!(i32);
    i64 => integer!(i64);
    // schemars writes `int`/`uint` for these; the shaping bounds them as 64-bit.
    isize => integer!(i64);
    u8 => integer!(u8);
    u16 => integer!(u16);
    u32 => integer!(u32);
    u64 => integer!(u64);
    usize => integer!(u64);
    bool => json!({"type": "boolean"});
    String => json!({"type": "string"});
    char => json!({"type": "string", "minLength": 1, "maxLength": 1});
}

impl<T: KnownSchema> KnownSchema for Vec<T> {
    fn known_schema() -> Value {
        json!({"type": "array", "items": T::known_schema()})
    }
}

/// A parameter's schema, and whether it is required.
pub struct KnownParameter {
    schema: Value,
    required: bool,
}

/// Asks the compiler whether `T` has a [`KnownSchema`]; see the module docs.
pub struct SchemaProbe<T>(PhantomData<T>);

impl<T> SchemaProbe<T> {
    /// A probe of `T`.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        SchemaProbe(PhantomData)
    }
}

/// `Option<T>` of a known `T`: the schema of `T`, not required.
pub trait ProbeOptional {
    /// The parameter's schema, if known.
    fn known(&self) -> Option<KnownParameter>;
}

impl<T: KnownSchema> ProbeOptional for &&SchemaProbe<Option<T>> {
    fn known(&self) -> Option<KnownParameter> {
        Some(KnownParameter {
            schema: T::known_schema(),
            required: false,
        })
    }
}

/// A known `T`: its schema, required.
pub trait ProbeRequired {
    /// The parameter's schema, if known.
    fn known(&self) -> Option<KnownParameter>;
}

impl<T: KnownSchema> ProbeRequired for &SchemaProbe<T> {
    fn known(&self) -> Option<KnownParameter> {
        Some(KnownParameter {
            schema: T::known_schema(),
            required: true,
        })
    }
}

/// Any other type: unknown, the tool's schema comes from schemars.
pub trait ProbeUnknown {
    /// `None`.
    fn known(&self) -> Option<KnownParameter> {
        None
    }
}

impl<T> ProbeUnknown for SchemaProbe<T> {}

/// A `#[tool]` parameter as the macro saw it.
pub struct Parameter {
    /// The property name (the parameter's name).
    pub name: &'static str,
    /// The doc comment, when it is one plain line (else the macro does not
    /// take this path).
    pub description: Option<&'static str>,
    /// What the probe found.
    pub known: Option<KnownParameter>,
}

/// The object schema of `parameters`, or `None` when one of them is not known.
pub fn known_object_schema(parameters: Vec<Parameter>) -> Option<Value> {
    let mut properties = Map::with_capacity(parameters.len());
    let mut required = Vec::new();
    for parameter in parameters {
        let KnownParameter {
            mut schema,
            required: is_required,
        } = parameter.known?;
        if let (Some(description), Value::Object(schema)) = (parameter.description, &mut schema) {
            schema.insert("description".to_owned(), Value::from(description));
        }
        if is_required {
            required.push(Value::from(parameter.name));
        }
        properties.insert(parameter.name.to_owned(), schema);
    }
    Some(json!({"type": "object", "properties": properties, "required": required}))
}
