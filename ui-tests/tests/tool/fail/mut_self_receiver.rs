use agent_sdk::prelude::*;

struct Counter(u64);

impl Counter {
    #[tool]
    async fn bump(&mut self) -> u64 {
        self.0 += 1;
        self.0
    }
}

fn main() {}
