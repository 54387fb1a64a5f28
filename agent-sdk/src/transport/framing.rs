//! Newline framing of the CLI's stdout with a per-line size limit.
//!
//! Bytes arrive in arbitrary chunks: a line may span many reads and one read
//! may hold many lines. A line longer than the limit is reported once and then
//! skipped up to its newline, so the good lines after it are never lost and
//! memory stays bounded by the limit. Its first [`HEAD_BYTES`] are kept: the
//! router reads a control request's id there, to answer it.

/// How many bytes of an over-limit line are kept.
pub(crate) const HEAD_BYTES: usize = 4 * 1024;

/// One item produced by the framer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Framed<'a> {
    /// A complete line, without its `\n`.
    Line(&'a [u8]),
    /// A line grew past the limit; all but its first [`HEAD_BYTES`] were dropped.
    TooLong {
        /// The start of the line (at most [`HEAD_BYTES`], maybe fewer than arrived).
        head: &'a [u8],
    },
}

/// Splits a byte stream into lines of at most `limit` bytes.
#[derive(Debug)]
pub(crate) struct LineFramer {
    pending: Vec<u8>,
    limit: usize,
    /// Inside an over-long line: drop bytes until the next newline.
    discarding: bool,
}

impl LineFramer {
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            pending: Vec::new(),
            limit,
            discarding: false,
        }
    }

    /// Feeds one chunk; `emit` is called for every complete line (or overflow) in order.
    pub(crate) fn push(&mut self, mut chunk: &[u8], mut emit: impl FnMut(Framed<'_>)) {
        // memchr scans a word (or vector) at a time: `iter().position` was 10% of the
        // SDK's instructions when parsing a stream of assistant frames.
        while let Some(newline) = memchr::memchr(b'\n', chunk) {
            let (segment, rest) = (&chunk[..newline], &chunk[newline + 1..]);
            chunk = rest;
            if std::mem::take(&mut self.discarding) {
                continue;
            }
            if self.pending.is_empty() {
                // Fast path: the whole line is inside this chunk, no copy.
                if segment.len() > self.limit {
                    emit(Framed::TooLong {
                        head: &segment[..segment.len().min(HEAD_BYTES)],
                    });
                } else {
                    emit(Framed::Line(segment));
                }
            } else if self.pending.len() + segment.len() > self.limit {
                emit(Framed::TooLong {
                    head: self.head_with(segment),
                });
                self.pending.clear();
            } else {
                self.pending.extend_from_slice(segment);
                emit(Framed::Line(&self.pending));
                self.pending.clear();
            }
        }
        if chunk.is_empty() || self.discarding {
            return;
        }
        if self.pending.len() + chunk.len() > self.limit {
            emit(Framed::TooLong {
                head: self.head_with(chunk),
            });
            self.pending.clear();
            self.pending.shrink_to(64 * 1024);
            self.discarding = true;
        } else {
            self.pending.extend_from_slice(chunk);
        }
    }

    /// The first [`HEAD_BYTES`] of the pending bytes followed by `more`.
    fn head_with(&mut self, more: &[u8]) -> &[u8] {
        self.pending.truncate(HEAD_BYTES);
        let room = HEAD_BYTES - self.pending.len();
        self.pending
            .extend_from_slice(&more[..more.len().min(room)]);
        &self.pending
    }

    /// End of stream: a final line without a newline, if any.
    pub(crate) fn finish(&mut self) -> Option<Vec<u8>> {
        self.discarding = false;
        (!self.pending.is_empty()).then(|| std::mem::take(&mut self.pending))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame_all(chunks: &[&[u8]], limit: usize) -> Vec<Result<String, ()>> {
        let mut framer = LineFramer::new(limit);
        let mut out = Vec::new();
        for chunk in chunks {
            framer.push(chunk, |item| {
                out.push(match item {
                    Framed::Line(line) => Ok(String::from_utf8(line.to_vec()).unwrap()),
                    Framed::TooLong { .. } => Err(()),
                })
            });
        }
        if let Some(last) = framer.finish() {
            out.push(Ok(String::from_utf8(last).unwrap()));
        }
        out
    }

    #[test]
    fn several_lines_in_one_read() {
        assert_eq!(
            frame_all(&[b"{\"a\":1}\n{\"b\":2}\n"], 100),
            vec![Ok("{\"a\":1}".into()), Ok("{\"b\":2}".into())]
        );
    }

    #[test]
    fn one_line_over_many_reads() {
        assert_eq!(
            frame_all(&[b"{\"a\"", b":", b"1}", b"\n"], 100),
            vec![Ok("{\"a\":1}".into())]
        );
    }

    #[test]
    fn final_line_without_newline_is_kept() {
        assert_eq!(
            frame_all(&[b"{\"a\":1}\n{\"b\""], 100),
            vec![Ok("{\"a\":1}".into()), Ok("{\"b\"".into())]
        );
    }

    #[test]
    fn too_long_line_is_reported_once_and_the_next_line_survives() {
        let long = [b'x'; 50];
        let out = frame_all(&[&long[..20], &long[20..], b"yyy\n{\"ok\":1}\n"], 16);
        assert_eq!(out, vec![Err(()), Ok("{\"ok\":1}".into())]);
    }

    #[test]
    fn too_long_line_inside_one_chunk() {
        let mut data = vec![b'x'; 40];
        data.extend_from_slice(b"\nok\n");
        assert_eq!(frame_all(&[&data], 16), vec![Err(()), Ok("ok".into())]);
    }

    #[test]
    fn line_exactly_at_limit_passes() {
        assert_eq!(
            frame_all(&[b"12345678", b"\n"], 8),
            vec![Ok("12345678".into())]
        );
        assert_eq!(frame_all(&[b"1234", b"56789\n"], 8), vec![Err(())]);
    }

    #[test]
    fn empty_lines_are_emitted_as_empty() {
        assert_eq!(
            frame_all(&[b"\n\n"], 8),
            vec![Ok(String::new()), Ok(String::new())]
        );
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        /// Every `cli->sdk` line of the recorded transcripts: real frames as the good lines.
        fn transcript_lines() -> Vec<Vec<u8>> {
            let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/transcripts");
            let mut lines = Vec::new();
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().is_none_or(|e| e != "jsonl") {
                    continue;
                }
                for line in std::fs::read_to_string(&path).unwrap().lines() {
                    let record: serde_json::Value = serde_json::from_str(line).unwrap();
                    if record["dir"] == "cli->sdk" {
                        lines.push(serde_json::to_vec(&record["msg"]).unwrap());
                    }
                }
            }
            assert!(lines.len() > 100, "transcripts are present");
            lines
        }

        /// One line of the stream, without its newline: a real frame (maybe cut to
        /// fit the limit) or garbage of any length (NUL, invalid UTF-8, `{` ...).
        fn arb_line(frames: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
            prop_oneof![
                3 => prop::sample::select(frames),
                2 => prop::collection::vec(any::<u8>().prop_filter("no newline", |b| *b != b'\n'), 0..600),
                1 => (1usize..3000).prop_map(|n| vec![b'x'; n]),
                1 => Just(Vec::new()),
            ]
        }

        /// The lines, the chunk sizes to cut their concatenation into, whether the
        /// stream ends with a newline, and the line limit.
        fn arb_stream() -> impl Strategy<Value = (Vec<Vec<u8>>, Vec<usize>, bool, usize)> {
            let frames = transcript_lines();
            (
                prop::collection::vec(arb_line(frames), 0..24),
                prop::collection::vec(1usize..4096, 1..64),
                any::<bool>(),
                prop_oneof![1usize..64, 64usize..2048, Just(1024 * 1024)],
            )
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 768, ..ProptestConfig::default() })]

            /// Whatever the chunking: every line within the limit arrives intact and in
            /// order, every longer one is one `TooLong`, and the buffer never outgrows the limit.
            #[test]
            fn any_chunking_yields_exactly_the_lines((lines, cuts, terminated, limit) in arb_stream()) {
                let mut stream = lines.join(&b'\n');
                if terminated && !lines.is_empty() {
                    stream.push(b'\n');
                }
                // An over-limit line is its head: as much of its start as had arrived.
                let mut expected: Vec<Result<Vec<u8>, Vec<u8>>> = Vec::new();
                let pieces: Vec<&[u8]> = stream.split(|b| *b == b'\n').collect();
                let (complete, last) = pieces.split_at(pieces.len() - 1);
                for line in complete {
                    expected.push(if line.len() <= limit { Ok(line.to_vec()) } else { Err(line.to_vec()) });
                }
                if !last[0].is_empty() {
                    expected.push(if last[0].len() <= limit { Ok(last[0].to_vec()) } else { Err(last[0].to_vec()) });
                }

                let mut framer = LineFramer::new(limit);
                let mut got = Vec::new();
                let mut rest: &[u8] = &stream;
                let mut cut = cuts.iter().cycle();
                while !rest.is_empty() {
                    let n = (*cut.next().unwrap()).min(rest.len());
                    let (chunk, tail) = rest.split_at(n);
                    rest = tail;
                    framer.push(chunk, |item| got.push(match item {
                        Framed::Line(line) => Ok(line.to_vec()),
                        Framed::TooLong { head } => Err(head.to_vec()),
                    }));
                    prop_assert!(framer.pending.len() <= limit);
                    prop_assert!(framer.pending.capacity() <= (2 * limit).max(64 * 1024));
                }
                if let Some(last) = framer.finish() {
                    got.push(Ok(last));
                }
                prop_assert_eq!(got.len(), expected.len());
                for (got, expected) in got.iter().zip(&expected) {
                    match (got, expected) {
                        // The head is a start of the line, at most HEAD_BYTES, and holds
                        // at least the limit's worth (or all of HEAD_BYTES).
                        (Err(head), Err(line)) => {
                            prop_assert!(line.starts_with(head));
                            prop_assert!(head.len() >= (limit + 1).min(HEAD_BYTES));
                        }
                        _ => prop_assert_eq!(got, expected),
                    }
                }
            }
        }
    }
}
