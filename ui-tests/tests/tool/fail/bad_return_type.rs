use agent_sdk::prelude::*;

struct Opaque;

#[tool]
async fn make() -> Opaque {
    Opaque
}

fn main() {}
