// Expansion of:
// #[tool(name = "no spaces", read_onyl, title = 5)]
// fn add<T>(&self, (a, b): (f64, f64), text: &str) -> impl Display {
//     a + b
// }

fn add<T>(&self, (a, b): (f64, f64), text: &str) -> impl Display {
    a + b
}
::core::compile_error! {
    "unknown argument `read_onyl`; did you mean `read_only`? (known: `name`, `description`, `title`, `server`, `read_only`, `destructive`, `idempotent`, `open_world`, `max_result_size_chars`, `crate`)"
}
::core::compile_error! {
    "`title` needs a string literal: `title = \"...\"`"
}
::core::compile_error! {
    "invalid tool name \"no spaces\": use 1 to 64 characters of letters, digits, `_` and `-` (for example `get_weather`)"
}
::core::compile_error! {
    "#[tool] needs an async function: write `async fn`"
}
::core::compile_error! {
    "#[tool] functions cannot be generic: the argument schema is derived from concrete types; write the parameter types out"
}
::core::compile_error! {
    "#[tool] functions cannot return `impl Trait`: name the type"
}
::core::compile_error! {
    "#[tool] on a method needs its `impl` block marked `#[tools]`; or write a free async function and give it shared data with a `State<T>` parameter"
}
::core::compile_error! {
    "#[tool] parameters must be plain names such as `city: String`; destructure inside the function body instead"
}
::core::compile_error! {
    "#[tool] parameters must be owned, because arguments are deserialized from JSON: use `String` instead of `&str`, `Vec<T>` instead of `&[T]`"
}
