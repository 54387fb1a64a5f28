//! Procedural macros of `agent-sdk` (skeleton).
