//! Message parsing: any line parses or fails with an error, never a panic, and
//! the fast path (`from_slice`) agrees with the `Deserialize` impl on valid UTF-8.
#![no_main]

use agent_sdk::Message;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let fast = Message::from_slice(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let general = serde_json::from_str::<Message>(text);
        if let (Ok(fast), Ok(general)) = (&fast, &general) {
            assert_eq!(fast.session_id(), general.session_id());
            assert_eq!(fast.uuid(), general.uuid());
        }
    }
});
