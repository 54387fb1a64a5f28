use agent_sdk::prelude::*;

struct Counter(u64);

#[tools]
impl Counter {
    #[tool]
    async fn bump(&mut self) -> u64 {
        self.0 += 1;
        self.0
    }

    #[tool]
    async fn make() -> u64 {
        0
    }
}

fn main() {}
