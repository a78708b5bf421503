//! Criterion benchmarks of the codec (in progress).
fn main() {}
