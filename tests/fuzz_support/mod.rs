//! Support of the parser fuzz harness (`tests/fuzz_parsers.rs`).
pub mod guard;
pub mod mutate;
