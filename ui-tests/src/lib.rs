//! Compile-time tests of the agent-sdk macros live in `tests/`.
