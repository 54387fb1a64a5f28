//! Expansion tests: what the macros generate for a few inputs, compared with the checked-in
//! `tests/expand/<case>.rs`. After a deliberate change, regenerate with
//! `EXPAND=overwrite cargo test -p agent-sdk-macros --lib`, then read the diff.

use std::path::PathBuf;

use proc_macro2::TokenStream;
use quote::quote;

/// Pretty-prints `expanded` (items) and compares it with the snapshot of `case`.
fn check(case: &str, input: &str, expanded: TokenStream) {
    let file: syn::File = syn::parse2(expanded.clone()).unwrap_or_else(|error| {
        panic!("{case}: the expansion does not parse ({error}):\n{expanded}")
    });
    let actual = format!(
        "// Expansion of:\n{}\n\n{}",
        input
            .lines()
            .map(|line| format!("// {line}").trim_end().to_owned())
            .collect::<Vec<_>>()
            .join("\n"),
        prettyplease::unparse(&file)
    );
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/expand")
        .join(format!("{case}.rs"));
    if std::env::var_os("EXPAND").is_some_and(|v| v == "overwrite") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        expected == actual,
        "{case}: the expansion differs from {}; if the change is meant, run with \
         EXPAND=overwrite and review the diff. The expansion now:\n{actual}",
        path.display()
    );
}

fn tokens(source: &str) -> TokenStream {
    source.parse().expect("test input is Rust tokens")
}

/// The item as it would be written: without the test's indentation.
fn dedent(item: &str) -> String {
    let lines: Vec<&str> = item.trim_matches('\n').lines().collect();
    let indent = lines
        .iter()
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.len() - line.trim_start().len())
        .min()
        .unwrap_or(0);
    let lines: Vec<&str> = lines
        .iter()
        .map(|line| line.get(indent..).unwrap_or(""))
        .collect();
    lines.join("\n").trim_end().to_owned()
}

/// `#[tool(<args>)] <item>`.
fn tool(case: &str, args: &str, item: &str) {
    let input = format!("#[tool({args})]\n{}", dedent(item));
    check(
        case,
        &input,
        crate::tool::expand(tokens(args), tokens(item)),
    );
}

/// `create_sdk_mcp_server!(<input>)`, inside a function so the expansion is an item.
fn server(case: &str, input: &str) {
    let written = format!("create_sdk_mcp_server!({input})");
    let expression = crate::server::expand(tokens(input));
    check(
        case,
        &written,
        quote!(fn expansion() { let _ = #expression; }),
    );
}

#[test]
fn tool_with_plain_parameters() {
    tool(
        "tool_plain_parameters",
        r#"name = "get_weather", title = "Weather", read_only, destructive = false"#,
        r#"
            /// The weather in a city.
            pub async fn weather(
                /// The city name.
                city: String,
                #[serde(default)]
                days: Option<u8>,
            ) -> String {
                format!("{city} {days:?}")
            }
        "#,
    );
}

#[test]
fn tool_with_an_args_struct_registered_for_a_server() {
    tool(
        "tool_args_struct_registered",
        r#"server = "docs", max_result_size_chars = 5000, crate = "sdk""#,
        r#"
            async fn search(#[args] query: Query) -> Result<Json<Hits>, ToolError> {
                find(query).await
            }
        "#,
    );
}

#[test]
fn tool_without_parameters_or_return_type() {
    tool("tool_nothing", "", "async fn ping() {}");
}

#[test]
fn tool_errors_are_all_reported() {
    tool(
        "tool_errors",
        r#"name = "no spaces", read_onyl, title = 5"#,
        r#"
            fn add<T>(&self, (a, b): (f64, f64), text: &str) -> impl Display {
                a + b
            }
        "#,
    );
}

#[test]
fn server_with_a_tool_list() {
    server(
        "server_list",
        r#""calc", version = env!("CARGO_PKG_VERSION"), instructions = "Use add.", tools = [add, math::divide, sub]"#,
    );
}

#[test]
fn server_from_the_registry_with_a_renamed_crate() {
    server("server_registry", r#""docs", crate = "sdk""#);
}

#[test]
fn server_errors_are_all_reported() {
    server(
        "server_errors",
        r#""my calc", version = 1.0, tool = [add], tools = [add, add, 5], version = "2""#,
    );
}

#[test]
fn tool_with_state_and_context_between_arguments() {
    tool(
        "tool_state_context",
        "",
        r#"
            /// Look a key up.
            async fn lookup(State(db): State<Db>, key: String, context: ToolContext, limit: u32) -> String {
                db.get(&key, limit, context.tool_use_id()).await
            }
        "#,
    );
}

#[test]
fn tool_with_an_args_struct_and_state() {
    tool(
        "tool_args_struct_state",
        "",
        r#"
            async fn search(pool: State<Pool>, #[args] query: Query) -> String {
                pool.search(query).await
            }
        "#,
    );
}

#[test]
fn tool_rules_for_receivers_and_context() {
    tool(
        "tool_receiver_context_errors",
        "",
        r#"
            async fn bump(&mut self, a: ToolContext, b: ToolContext) -> u64 {
                0
            }
        "#,
    );
}

#[test]
fn server_with_state() {
    server(
        "server_state",
        r#""db", state = app.clone(), tools = [lookup, add]"#,
    );
}

/// `#[tools] impl <item>`.
fn tools(case: &str, item: &str) {
    let input = format!("#[tools]\n{}", dedent(item));
    check(
        case,
        &input,
        crate::tool::methods::expand(TokenStream::new(), tokens(item)),
    );
}

#[test]
fn methods_of_a_tools_impl() {
    tools(
        "tools_methods",
        r#"
            impl Db {
                /// Look a key up.
                #[tool(read_only)]
                pub async fn get(&self, key: String, context: ToolContext) -> Option<String> {
                    self.read(&key, context.tool_use_id()).await
                }

                async fn read(&self, key: &str, _by: Option<&str>) -> Option<String> {
                    None
                }
            }
        "#,
    );
}
