//! The control protocol core (skeleton).
