//! A `#[tool]` with parameters of well-known types gets its input schema from the
//! SDK's table instead of schemars at run time; the two must never differ. Each
//! case is a tool and a struct of the same fields: the tool's schema (table) must
//! equal the struct's (schemars, then the SDK's shaping), as JSON values.

use agent_sdk::__private::{DefineFromTable, DefineWithSchemars, DefinitionProbe, KnownSchema};
use agent_sdk::mcp::Tool;
use agent_sdk::prelude::*;
use agent_sdk::schema::shaped_schema_for;
use serde_json::Value;

/// Whether a tool whose parameters are of the types `$params` (a tuple) gets
/// its schema from the table (the probe the macro's expansion calls; the
/// borrows choose the impl).
macro_rules! table_for {
    ($params:ty) => {{
        #[allow(clippy::needless_borrow)]
        let known = (&&DefinitionProbe::<$params, Point, String>::new()).uses_table();
        known
    }};
}

/// [`table_for!`] of a tool with one parameter of type `$ty`.
macro_rules! from_table {
    ($ty:ty) => {
        table_for!(($ty,))
    };
}

/// The input schema of a tool's definition.
fn input_schema(tool: &dyn Tool) -> Value {
    tool.definition().expect("definition").input_schema
}

/// For each type: a tool taking it alone, in `Option`, in `Vec`, in `Option<Vec>`
/// and in `Vec<Vec>`, with and without a doc line, and a struct mirroring it.
macro_rules! same_schema_cases {
    ($($case:ident: $ty:ty;)*) => {$(
        mod $case {
            use super::*;

            /// A tool of this type.
            #[tool]
            pub async fn tool(
                /// The value itself.
                plain: $ty,
                maybe: Option<$ty>,
                ///   Several of them, with spaces around.
                many: Vec<$ty>,
                /// Perhaps several.
                maybe_many: Option<Vec<$ty>>,
                nested: Vec<Vec<$ty>>,
            ) -> String {
                let _ = (plain, maybe, many, maybe_many, nested);
                String::new()
            }

            #[derive(serde::Deserialize, schemars::JsonSchema)]
            #[allow(dead_code)]
            pub struct Mirror {
                /// The value itself.
                plain: $ty,
                maybe: Option<$ty>,
                ///   Several of them, with spaces around.
                many: Vec<$ty>,
                /// Perhaps several.
                maybe_many: Option<Vec<$ty>>,
                nested: Vec<Vec<$ty>>,
            }
        }
    )*

        #[test]
        fn every_known_type_gets_the_schema_schemars_would_give() {
            $(
                let table = input_schema(&$case::tool {});
                let schemars = shaped_schema_for::<$case::Mirror>().expect("shaped");
                assert_eq!(table, schemars, "{}", stringify!($ty));
                assert!(from_table!($ty), "{} is known", stringify!($ty));
            )*
        }
    };
}

same_schema_cases! {
    f64_case: f64;
    f32_case: f32;
    i8_case: i8;
    i16_case: i16;
    i32_case: i32;
    i64_case: i64;
    isize_case: isize;
    u8_case: u8;
    u16_case: u16;
    u32_case: u32;
    u64_case: u64;
    usize_case: usize;
    bool_case: bool;
    string_case: String;
    char_case: char;
}

/// No parameters at all.
#[tool]
async fn nothing() -> String {
    String::new()
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Empty {}

/// A type the table does not know.
#[derive(serde::Deserialize, schemars::JsonSchema)]
#[allow(dead_code)]
struct Point {
    x: i32,
}

/// One unknown parameter sends the whole tool to schemars.
#[tool]
async fn mixed(
    /// Known.
    count: u8,
    point: Point,
    raw: Value,
) -> String {
    let _ = (count, point, raw);
    String::new()
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
#[allow(dead_code)]
struct MixedMirror {
    /// Known.
    count: u8,
    point: Point,
    raw: Value,
}

/// Doc comments schemars reads its own way (a title, several lines) take its path.
#[tool]
async fn documented(
    /// # Title
    ///
    /// body
    titled: bool,
    /// first line
    /// second line
    lines: String,
    /** block
    doc */
    block: u16,
) -> String {
    let _ = (titled, lines, block);
    String::new()
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
#[allow(dead_code)]
struct DocumentedMirror {
    /// # Title
    ///
    /// body
    titled: bool,
    /// first line
    /// second line
    lines: String,
    /** block
    doc */
    block: u16,
}

/// Attributes for serde or schemars take schemars' path too.
#[tool]
async fn renamed(
    #[serde(rename = "Name")] name: String,
    #[serde(default)] limit: u32,
    r#type: String,
) -> String {
    let _ = (name, limit, r#type);
    String::new()
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
#[allow(dead_code)]
struct RenamedMirror {
    #[serde(rename = "Name")]
    name: String,
    #[serde(default)]
    limit: u32,
    r#type: String,
}

#[test]
fn the_other_tools_match_schemars_too() {
    assert_eq!(
        input_schema(&nothing {}),
        shaped_schema_for::<Empty>().unwrap()
    );
    assert_eq!(
        input_schema(&mixed {}),
        shaped_schema_for::<MixedMirror>().unwrap()
    );
    assert_eq!(
        input_schema(&documented {}),
        shaped_schema_for::<DocumentedMirror>().unwrap()
    );
    assert_eq!(
        input_schema(&renamed {}),
        shaped_schema_for::<RenamedMirror>().unwrap()
    );
}

#[test]
fn the_probe_knows_only_the_table() {
    assert!(!from_table!(Point));
    assert!(!from_table!(Value));
    assert!(!from_table!(Option<Point>));
    assert!(!from_table!(Vec<Point>));
    assert!(!from_table!(Option<Option<u8>>));
    assert!(from_table!(Option<Vec<u8>>));
    // A type named like a known one is judged by what it is.
    #[allow(non_camel_case_types, dead_code)]
    #[derive(serde::Deserialize, schemars::JsonSchema)]
    struct f64 {
        inner: String,
    }
    assert!(!from_table!(f64));
    // Every parameter must be known, and 16 is the most.
    assert!(!table_for!((u8, Point)));
    type Sixteen = (
        u8,
        u8,
        u8,
        u8,
        u8,
        u8,
        u8,
        u8,
        u8,
        u8,
        u8,
        u8,
        u8,
        u8,
        u8,
        u8,
    );
    type Seventeen = (
        u8,
        u8,
        u8,
        u8,
        u8,
        u8,
        u8,
        u8,
        u8,
        u8,
        u8,
        u8,
        u8,
        u8,
        u8,
        u8,
        u8,
    );
    assert!(table_for!(Sixteen));
    assert!(!table_for!(Seventeen));
    assert_eq!(
        <Vec<u8> as KnownSchema>::known_schema()["items"]["maximum"],
        255
    );
}
