use agent_sdk::prelude::*;

#[tool(name = "get weather!")]
async fn weather(city: String) -> String {
    city
}

fn main() {}
