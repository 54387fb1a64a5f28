//! Transports: how the SDK reaches the CLI. [`SubprocessTransport`] runs the `claude` executable.
//!
//! (Skeleton.)

pub(crate) mod command;
