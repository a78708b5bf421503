//! A cheap hasher for the session's small integer keys (tags, fid numbers).
//!
//! std's default SipHash costs more than the rest of a table lookup; these keys are chosen by
//! this client (a reply's tag only ever looks one up), so flooding is no concern. A multiply by
//! an odd constant keeps distinct low bits distinct (the bucket index) and mixes them into the
//! high bits (the control byte).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A `HashMap` keyed by small integers.
pub(crate) type IntMap<K, V> = HashMap<K, V, BuildHasherDefault<IntHasher>>;

/// Multiplicative hashing of integer keys.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct IntHasher(u64);

const K: u64 = 0x9E37_79B9_7F4A_7C15;

impl Hasher for IntHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u16(&mut self, n: u16) {
        self.write_u64(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(K);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_keys_spread_and_lookups_work() {
        let mut m: IntMap<u32, u32> = IntMap::default();
        for k in 0..10_000u32 {
            m.insert(k * 7, k);
        }
        for k in 0..10_000u32 {
            assert_eq!(m.get(&(k * 7)), Some(&k));
            assert_eq!(m.get(&(k * 7 + 1)), None);
        }
        let h = |n: u16| {
            let mut s = IntHasher::default();
            s.write_u16(n);
            s.finish()
        };
        assert_ne!(h(1), h(2));
        assert_ne!(
            h(1) >> 57,
            h(2) >> 57,
            "neighbours differ in the control bits"
        );
    }
}
