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

#[cfg(test)]
mod tests {
    use super::*;

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
