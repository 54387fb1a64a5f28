//! Line framing: whatever the chunking and the limit, every line within the
//! limit arrives intact and in order, every longer one is one `TooLong` whose
//! head is its start.
#![no_main]

use agent_sdk::testing::fuzz::{FRAME_HEAD_BYTES, FramedLine, frame_lines};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&[limit_byte, cut_seed], stream)) = data.split_first_chunk::<2>() else {
        return;
    };
    let limit = 1 + usize::from(limit_byte) * 37;
    // Chunk sizes from a tiny generator seeded by the input: 1..=4096 bytes.
    let mut state = u32::from(cut_seed) | 1;
    let mut chunks = Vec::new();
    let mut rest = stream;
    while !rest.is_empty() {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let n = (1 + state as usize % 4096).min(rest.len());
        let (chunk, tail) = rest.split_at(n);
        chunks.push(chunk);
        rest = tail;
    }
    let got = frame_lines(limit, &chunks);

    let mut pieces: Vec<&[u8]> = stream.split(|b| *b == b'\n').collect();
    if pieces.last().is_some_and(|last| last.is_empty()) {
        pieces.pop();
    }
    assert_eq!(got.len(), pieces.len(), "one item per line");
    for (item, line) in got.iter().zip(pieces) {
        match item {
            FramedLine::Line(got) => {
                assert!(line.len() <= limit);
                assert_eq!(got.as_slice(), line);
            }
            FramedLine::TooLong { head } => {
                assert!(line.len() > limit);
                assert!(line.starts_with(head));
                assert!(head.len() <= FRAME_HEAD_BYTES);
                assert!(head.len() >= (limit + 1).min(FRAME_HEAD_BYTES));
            }
        }
    }
});
