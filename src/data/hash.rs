//! The crate's one hand-written hasher: small, fast, non-cryptographic (the
//! multiply-rotate scheme of rustc's FxHash), for the per-row lookups of level labels and
//! cells here and the level-pair counts of REML's model frame. The keys come from the
//! user's own file, so hash flooding is not a concern.
//!
//! `finish` rotates the state (as `rustc-hash` 2 does): a product's low bits depend only on
//! the key's low bits, and hash tables take their bucket from the low bits, so keys that
//! differ only in their high bits (packed level pairs) would otherwise share buckets.

use std::hash::{BuildHasherDefault, Hasher};

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher {
    hash: u64,
}

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 59));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_u128(&mut self, i: u128) {
        self.add(i as u64);
        self.add((i >> 64) as u64);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash.rotate_left(26)
    }
}

pub(crate) type FxBuild = BuildHasherDefault<FxHasher>;
pub(crate) type FxHashMap<K, V> = std::collections::HashMap<K, V, FxBuild>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::{BuildHasher, Hash};

    fn hash<T: Hash>(x: T) -> u64 {
        FxBuild::default().hash_one(x)
    }

    #[test]
    fn keys_differing_in_high_bits_spread_over_low_bits() {
        // Keys k << 40: without the final rotation every hash has 40 zero low bits (one
        // bucket for all); with it, bits 2.. of the hash are (k * SEED) mod 2^24.
        let buckets: std::collections::HashSet<u64> =
            (0..1024u64).map(|k| hash(k << 40) & 1023).collect();
        assert_eq!(buckets.len(), 256);
        // Byte strings and their lengths.
        assert_ne!(hash(&b"ab"[..]), hash(&b"ab\0"[..]));
    }
}
