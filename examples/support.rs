//! Shared setup of the examples: offline model unless ANTHROPIC_API_KEY is set.
