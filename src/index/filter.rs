//! Allow-lists for filtered search: a bitset over external ids saying which
//! vectors may be returned (the ids that pass a metadata filter).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The ids a filtered search may return.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowList {
    bits: Vec<u64>,
    count: usize,
    universe: usize,
}

impl AllowList {
    /// Nothing allowed, over ids `0..universe`.
    pub fn none(universe: usize) -> Self {
        AllowList {
            bits: vec![0; universe.div_ceil(64)],
            count: 0,
            universe,
        }
    }

    /// Exactly `ids` allowed (ids beyond the universe are ignored).
    pub fn from_ids(universe: usize, ids: impl IntoIterator<Item = u32>) -> Self {
        let mut a = Self::none(universe);
        for id in ids {
            a.insert(id);
        }
        a
    }

    /// A seeded random `fraction` of `0..universe` (for benchmarks).
    pub fn random_fraction(universe: usize, fraction: f64, seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        Self::from_ids(
            universe,
            (0..universe as u32).filter(|_| rng.random_bool(fraction.clamp(0.0, 1.0))),
        )
    }

    pub fn insert(&mut self, id: u32) {
        let i = id as usize;
        if i >= self.universe {
            return;
        }
        let (w, b) = (i / 64, i % 64);
        if self.bits[w] & (1 << b) == 0 {
            self.bits[w] |= 1 << b;
            self.count += 1;
        }
    }

    pub fn remove(&mut self, id: u32) {
        let i = id as usize;
        if i < self.universe && self.bits[i / 64] & (1 << (i % 64)) != 0 {
            self.bits[i / 64] &= !(1 << (i % 64));
            self.count -= 1;
        }
    }

    #[inline]
    pub fn contains(&self, id: u32) -> bool {
        let i = id as usize;
        i < self.universe && self.bits[i / 64] & (1 << (i % 64)) != 0
    }

    /// Ids allowed.
    pub fn count(&self) -> usize {
        self.count
    }

    /// The share of the universe allowed.
    pub fn fraction(&self) -> f64 {
        if self.universe == 0 {
            0.0
        } else {
            self.count as f64 / self.universe as f64
        }
    }

    /// The allowed ids, ascending.
    pub fn ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.bits.iter().enumerate().flat_map(|(w, &word)| {
            let mut word = word;
            std::iter::from_fn(move || {
                if word == 0 {
                    return None;
                }
                let b = word.trailing_zeros();
                word &= word - 1;
                Some((w * 64) as u32 + b)
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_count_and_iterate() {
        let a = AllowList::from_ids(200, [3, 64, 199, 3, 500]);
        assert_eq!(a.count(), 3);
        assert!(a.contains(64) && !a.contains(65) && !a.contains(500));
        assert_eq!(a.ids().collect::<Vec<_>>(), vec![3, 64, 199]);
        let r = AllowList::random_fraction(10_000, 0.1, 1);
        assert!((r.fraction() - 0.1).abs() < 0.02, "{}", r.fraction());
    }
}
