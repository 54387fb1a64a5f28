// Expansion of:
// #[tool()]
// async fn bump(&mut self, a: ToolContext, b: ToolContext) -> u64 {
//     0
// }

async fn bump(&mut self, a: ToolContext, b: ToolContext) -> u64 {
    0
}
::core::compile_error! {
    "#[tool] methods take `&self`, not `&mut self`: calls run concurrently on one shared value; keep what changes behind a `Mutex` or an atomic"
}
::core::compile_error! {
    "a #[tool] takes `ToolContext` once: clone it inside the function if you need it twice"
}
