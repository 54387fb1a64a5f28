//! Offline testing: a scripted fake Anthropic Messages API (skeleton).
