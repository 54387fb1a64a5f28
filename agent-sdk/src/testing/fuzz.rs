//! What the fuzz targets (`agent-sdk/fuzz`) reach that the public API does not:
//! the line framer of the CLI's stdout. Everything else they drive (message
//! parsing, the control router through a [`Transport`](crate::transport::Transport)
//! of their own, MCP dispatch, tool argument validation) is public API.

use crate::transport::framing::{self, LineFramer};

/// How many bytes of an over-limit line the framer keeps (its head).
pub const FRAME_HEAD_BYTES: usize = framing::HEAD_BYTES;

/// One item of [`frame_lines`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FramedLine {
    /// A complete line within the limit, without its `\n` (or the final line
    /// without one, at the end of the stream).
    Line(Vec<u8>),
    /// A line over the limit: the start of it that was kept.
    TooLong {
        /// At most [`FRAME_HEAD_BYTES`], and more than the limit's worth when that fits.
        head: Vec<u8>,
    },
}

/// Frames `chunks`, read one after the other from the CLI's stdout, into lines
/// of at most `limit` bytes, as the session does.
///
/// ```
/// use agent_sdk::testing::fuzz::{FramedLine, frame_lines};
///
/// let lines = frame_lines(4, &[b"ab\nabcdef", b"gh\nxy"]);
/// assert_eq!(lines[0], FramedLine::Line(b"ab".to_vec()));
/// assert!(matches!(&lines[1], FramedLine::TooLong { head } if head.starts_with(b"abcde")));
/// assert_eq!(lines[2], FramedLine::Line(b"xy".to_vec()));
/// ```
pub fn frame_lines(limit: usize, chunks: &[&[u8]]) -> Vec<FramedLine> {
    let mut framer = LineFramer::new(limit);
    let mut lines = Vec::new();
    for chunk in chunks {
        framer.push(chunk, |item| {
            lines.push(match item {
                framing::Framed::Line(line) => FramedLine::Line(line.to_vec()),
                framing::Framed::TooLong { head } => FramedLine::TooLong {
                    head: head.to_vec(),
                },
            });
        });
    }
    if let Some(last) = framer.finish() {
        lines.push(FramedLine::Line(last));
    }
    lines
}
