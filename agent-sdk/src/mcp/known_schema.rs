//! The input schema of a `#[tool]` whose parameters are all of well-known types
//! (numbers, `bool`, `String`, `char`, `Vec`s and `Option`s of them), written
//! without schemars.
//!
//! Deriving a schema at run time runs schemars' generator and the SDK's shaping
//! (`crate::schema`): code a program keeps resident for its whole life, about
//! half a megabyte of it (benches/README.md, "Idle memory"), to produce a schema
//! this table knows in advance. Which types are known is decided by the
//! compiler, not by the macro reading type names (a user may shadow `f64`):
//! the tuple of a tool's parameter types is [`KnownParameters`] or not, and
//! `crate::mcp::private::DefinitionProbe` picks the table or schemars by method
//! lookup ("autoref specialization"). The tool of a program then holds the code
//! of one of the two, not both. A test holds every entry equal to what schemars
//! and the shaping make (`tests/integration/mcp_known_schema.rs`).

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

/// A parameter type the table knows: a [`KnownSchema`] is a required
/// parameter, an `Option` of one an optional parameter.
pub trait KnownParameterType {
    /// Whether the parameter must be present.
    const REQUIRED: bool;
    /// The parameter's schema.
    fn parameter_schema() -> Value;
}

impl<T: KnownSchema> KnownParameterType for T {
    const REQUIRED: bool = true;
    fn parameter_schema() -> Value {
        T::known_schema()
    }
}

impl<T: KnownSchema> KnownParameterType for Option<T> {
    const REQUIRED: bool = false;
    fn parameter_schema() -> Value {
        T::known_schema()
    }
}

/// A tuple of a tool's parameter types, every one known to the table (up to
/// 16 parameters; a tool with more gets its schema from schemars).
pub trait KnownParameters {
    /// Each parameter's schema and whether it is required, in order.
    fn parameters() -> Vec<(Value, bool)>;
}

/// `KnownParameters` for the tuples of 0 to 16 known types.
macro_rules! known_tuples {
    ($($ty:ident)*) => {
        impl<$($ty: KnownParameterType),*> KnownParameters for ($($ty,)*) {
            fn parameters() -> Vec<(Value, bool)> {
                vec![$(($ty::parameter_schema(), $ty::REQUIRED)),*]
            }
        }
    };
}

known_tuples!();
known_tuples!(A);
known_tuples!(A B);
known_tuples!(A B C);
known_tuples!(A B C D);
known_tuples!(A B C D E);
known_tuples!(A B C D E F);
known_tuples!(A B C D E F G);
known_tuples!(A B C D E F G H);
known_tuples!(A B C D E F G H I);
known_tuples!(A B C D E F G H I J);
known_tuples!(A B C D E F G H I J K);
known_tuples!(A B C D E F G H I J K L);
known_tuples!(A B C D E F G H I J K L M);
known_tuples!(A B C D E F G H I J K L M N);
known_tuples!(A B C D E F G H I J K L M N O);
known_tuples!(A B C D E F G H I J K L M N O P);

/// The object schema of parameters `P`, named and described by `names` (the
/// parameters' names and one-line doc comments, in order).
pub fn known_object_schema<P: KnownParameters>(names: &[(&str, Option<&str>)]) -> Value {
    let mut properties = Map::with_capacity(names.len());
    let mut required = Vec::new();
    for (&(name, description), (mut schema, is_required)) in names.iter().zip(P::parameters()) {
        if let (Some(description), Value::Object(schema)) = (description, &mut schema) {
            schema.insert("description".to_owned(), Value::from(description));
        }
        if is_required {
            required.push(Value::from(name));
        }
        properties.insert(name.to_owned(), schema);
    }
    json!({"type": "object", "properties": properties, "required": required})
}
