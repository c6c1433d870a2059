//! A bounded "k smallest" collector: a max-heap of (distance, id) that keeps
//! the k nearest seen so far, rejecting most candidates with one comparison.
//! Ties in distance keep the lower id, as exact ground truth does.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

#[derive(Clone, Copy, Debug)]
struct Entry {
    dist: f32,
    id: u32,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        self.dist
            .total_cmp(&other.dist)
            .then(self.id.cmp(&other.id))
    }
}

/// Keeps the `k` nearest (distance, id) pairs pushed into it.
#[derive(Clone, Debug)]
pub struct TopK {
    k: usize,
    heap: BinaryHeap<Entry>,
}

impl TopK {
    pub fn new(k: usize) -> Self {
        TopK {
            k,
            heap: BinaryHeap::with_capacity(k + 1),
        }
    }

    /// The distance a candidate must beat to enter (infinite until full).
    #[inline]
    pub fn threshold(&self) -> f32 {
        if self.heap.len() < self.k {
            f32::INFINITY
        } else {
            self.heap.peek().map_or(f32::INFINITY, |e| e.dist)
        }
    }

    /// Offers a candidate.
    #[inline]
    pub fn push(&mut self, dist: f32, id: u32) {
        if self.k == 0 {
            return;
        }
        let e = Entry { dist, id };
        if self.heap.len() < self.k {
            self.heap.push(e);
        } else if let Some(mut top) = self.heap.peek_mut() {
            if e < *top {
                *top = e;
            }
        }
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether `id` is among the kept pairs (a linear scan of at most k).
    #[inline]
    pub fn contains(&self, id: u32) -> bool {
        self.heap.iter().any(|e| e.id == id)
    }
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// The kept pairs, nearest first, as (ids, distances).
    pub fn into_sorted(self) -> (Vec<u32>, Vec<f32>) {
        let v = self.heap.into_sorted_vec();
        (
            v.iter().map(|e| e.id).collect(),
            v.iter().map(|e| e.dist).collect(),
        )
    }
}

/// Keeps the `k` nearest pairs like [`TopK`], for long scans: a candidate
/// below the threshold is appended to a buffer of `4·k` (at least 64), and
/// when the buffer fills the `k` nearest are kept by a selection
/// (`select_nth_unstable`) and the threshold tightens to the k-th. Each
/// candidate costs O(1) amortised instead of a heap's O(log k): for exact
/// top-100 over a batch the heap's sifting was 8% of the time. The
/// threshold lags behind a heap's between selections, so a few more
/// candidates are appended than a heap would take; the answer is the same.
#[derive(Clone, Debug)]
pub struct Reservoir {
    k: usize,
    items: Vec<Entry>,
    threshold: f32,
}

impl Reservoir {
    pub fn new(k: usize) -> Self {
        Reservoir {
            k,
            items: Vec::new(),
            threshold: f32::INFINITY,
        }
    }

    fn capacity(&self) -> usize {
        (4 * self.k).max(64)
    }

    /// The distance a candidate must beat to be kept (infinite until k
    /// were kept by a selection).
    #[inline]
    pub fn threshold(&self) -> f32 {
        self.threshold
    }

    /// Offers a candidate.
    #[inline]
    pub fn push(&mut self, dist: f32, id: u32) {
        if self.k == 0 || dist > self.threshold {
            return;
        }
        self.items.push(Entry { dist, id });
        if self.items.len() >= self.capacity() {
            self.select();
        }
    }

    /// Keeps the k nearest (ties: lower id) and tightens the threshold.
    fn select(&mut self) {
        if self.items.len() > self.k {
            self.items.select_nth_unstable(self.k - 1);
            self.items.truncate(self.k);
        }
        if self.items.len() == self.k {
            if let Some(kth) = self.items.iter().max() {
                self.threshold = kth.dist;
            }
        }
    }

    /// Offers every pair `other` holds (merging two partial scans).
    pub fn absorb(&mut self, other: Reservoir) {
        for e in other.items {
            self.push(e.dist, e.id);
        }
    }

    /// The kept pairs, nearest first, as (ids, distances).
    pub fn into_sorted(mut self) -> (Vec<u32>, Vec<f32>) {
        self.select();
        self.items.sort_unstable();
        (
            self.items.iter().map(|e| e.id).collect(),
            self.items.iter().map(|e| e.dist).collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reservoir keeps what the heap keeps, ties included, across many
    /// selections and a merge of two halves.
    #[test]
    fn reservoir_keeps_what_the_heap_keeps() {
        let mut state = 7u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // Few distinct distances: many ties.
            (state % 500) as f32 / 7.0
        };
        let pairs: Vec<(f32, u32)> = (0..20_000u32).map(|id| (next(), id)).collect();
        for k in [1, 10, 100] {
            let mut heap = TopK::new(k);
            let (mut whole, mut first, mut second) =
                (Reservoir::new(k), Reservoir::new(k), Reservoir::new(k));
            for (i, &(d, id)) in pairs.iter().enumerate() {
                heap.push(d, id);
                whole.push(d, id);
                if i < pairs.len() / 2 {
                    first.push(d, id);
                } else {
                    second.push(d, id);
                }
            }
            first.absorb(second);
            let want = heap.into_sorted();
            assert_eq!(whole.into_sorted(), want, "k {k}");
            assert_eq!(first.into_sorted(), want, "k {k}, merged");
        }
        let mut none = Reservoir::new(0);
        none.push(1.0, 1);
        assert!(none.into_sorted().0.is_empty());
    }

    #[test]
    fn keeps_the_k_smallest_in_order_with_lower_ids_on_ties() {
        let mut t = TopK::new(3);
        for (d, id) in [
            (5.0, 0),
            (1.0, 1),
            (3.0, 2),
            (1.0, 7),
            (0.5, 3),
            (9.0, 4),
            (1.0, 0),
        ] {
            t.push(d, id);
        }
        let (ids, dists) = t.into_sorted();
        assert_eq!(ids, vec![3, 0, 1]);
        assert_eq!(dists, vec![0.5, 1.0, 1.0]);
    }

    #[test]
    fn k_zero_keeps_nothing() {
        let mut t = TopK::new(0);
        t.push(1.0, 1);
        assert!(t.is_empty());
    }
}
