//! The one seeded random-number generator of the tests and benchmarks: proptest's ChaCha
//! generator (the crate the property tests use already), seeded from a `u64`, with the
//! uniform and normal deviates, index draws and shuffles the tests need. The same seed
//! gives the same stream on every platform.
//!
//! Benchmarks include this file by path (`#[path = "../tests/common/rng.rs"]`).

use proptest::prelude::Rng;
use proptest::test_runner::{RngAlgorithm, TestRng};

/// A seeded stream of pseudo-random numbers.
pub struct SeededRng(TestRng);

impl SeededRng {
    pub fn new(seed: u64) -> SeededRng {
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&seed.to_le_bytes());
        SeededRng(TestRng::from_seed(RngAlgorithm::ChaCha, &bytes))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform on (0, 1), never 0 or 1 (53 random bits, centred in their interval).
    pub fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// Uniform on (lo, hi).
    pub fn between(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform()
    }

    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        (-2.0 * self.uniform().ln()).sqrt() * (std::f64::consts::TAU * self.uniform()).cos()
    }

    /// An index in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.uniform() * n as f64) as usize % n
    }

    /// Fisher-Yates shuffle.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }

    /// A mean square `E(MS) χ²(df) / df`.
    pub fn mean_square(&mut self, ems: f64, df: u32) -> f64 {
        let s: f64 = (0..df).map(|_| self.normal().powi(2)).sum();
        ems * s / f64::from(df)
    }
}
