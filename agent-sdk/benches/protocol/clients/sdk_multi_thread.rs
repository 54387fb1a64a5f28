//! A client of the protocol bench (`benches/protocol/main.rs` builds and runs
//! it): the SDK on the runtime `#[tokio::main]` gives, in a program that holds
//! nothing else, as a user's would.

mod measure;
mod sdk;

#[tokio::main]
async fn main() {
    sdk::main().await;
}
