//! The control router: arbitrary CLI output never panics, never answers a
//! request twice, never leaves a well-formed request without an answer, and
//! never ends the message stream with an error for a bad line.
#![no_main]

use std::collections::HashMap;

use agent_sdk::Error;
use agent_sdk_fuzz::{expected, route};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&[limit_byte], output)) = data.split_first_chunk::<1>() else {
        return;
    };
    // Small limits reach the over-limit path; 256 bytes fit the handshake.
    let limit = 256 + usize::from(limit_byte) * 64;
    let run = route(output, limit);

    let mut answered: HashMap<String, usize> = HashMap::new();
    for answer in &run.answers {
        assert_eq!(answer["type"], "control_response", "{answer}");
        let id = answer["response"]["request_id"]
            .as_str()
            .expect("an answer names its request");
        *answered.entry(id.to_owned()).or_default() += 1;
    }
    let expected = expected(output, limit);
    for id in expected.required.keys() {
        assert!(answered.contains_key(id), "request {id:?} got no answer");
    }
    for (id, answers) in &answered {
        // At most one answer per line that could be a request under the id (a
        // line that cannot be parsed is answered too, when its id can be read).
        let lines = output
            .split(|b| *b == b'\n')
            .filter(|line| {
                id.is_empty()
                    || line.windows(id.len()).any(|w| w == id.as_bytes())
                    || line.contains(&b'\\')
            })
            .count();
        assert!(
            *answers <= lines.max(1),
            "{answers} answers under {id:?}, {lines} lines name it"
        );
    }

    // Bad lines are `Message::Malformed`: the only `Err` may be the last item,
    // a turn the output left open.
    let (last, before) = match run.items.split_last() {
        Some((last, before)) => (Some(last), before),
        None => (None, &[][..]),
    };
    assert!(before.iter().all(Result::is_ok), "an error item mid-stream");
    if let Some(Err(error)) = last {
        assert!(matches!(error, Error::TurnIncomplete { .. }), "{error}");
    }
});
