//! A client of the protocol bench (`benches/protocol/main.rs` builds and runs
//! it): the SDK on a current-thread runtime, in a program that holds nothing
//! else, as a user's would.

mod measure;
mod sdk;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    sdk::main().await;
}
