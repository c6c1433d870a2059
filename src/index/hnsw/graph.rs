//! The graph's memory layout, built for speed (as hnswlib lays it out):
//! vectors contiguous, layer-0 link lists in one array of fixed-size slots
//! `[count, id × 2M]`, upper-layer lists in a second array reached through a
//! per-node offset. Nodes are internal [`Slot`]s, a type of their own so
//! they are never mixed up with the external ids users see.
//!
//! Links are `AtomicU32`, read and written with relaxed ordering: during a
//! parallel build a node's list is changed under that node's lock while
//! other threads read it without one (as hnswlib does), and atomics make
//! that race well-defined. On x86-64 and aarch64 a relaxed load is a plain load.

use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

/// A node's position in the graph's arrays: internal, reused after cleanup,
/// never shown to a user (who sees external ids, `ext_ids[slot]`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(transparent)]
pub struct Slot(pub u32);

impl std::fmt::Display for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "slot {}", self.0)
    }
}

impl Slot {
    /// The slot as an index into per-node arrays.
    #[inline(always)]
    pub fn idx(self) -> usize {
        self.0 as usize
    }
}

/// No upper layers for this node.
pub const NO_UPPER: u32 = u32::MAX;

/// Link lists of every node on every layer.
pub struct Links {
    /// Slot size of a layer-0 list: 1 + 2M.
    pub stride0: usize,
    /// Slot size of an upper-layer list: 1 + M.
    pub stride_up: usize,
    pub layer0: Vec<AtomicU32>,
    /// Per node: index into `upper` of its layer-1 list, or NO_UPPER.
    pub upper_offset: Vec<u32>,
    pub upper: Vec<AtomicU32>,
    /// Per node: its top layer.
    pub levels: Vec<u8>,
}

fn zeroed(n: usize) -> Vec<AtomicU32> {
    (0..n).map(|_| AtomicU32::new(0)).collect()
}

impl Links {
    /// Room for nodes with the given levels, all lists empty.
    pub fn new(levels: Vec<u8>, m: usize) -> Self {
        let stride0 = 1 + 2 * m;
        let stride_up = 1 + m;
        let mut upper_offset = Vec::with_capacity(levels.len());
        let mut total = 0usize;
        for &l in &levels {
            if l == 0 {
                upper_offset.push(NO_UPPER);
            } else {
                upper_offset.push(total as u32);
                total += l as usize * stride_up;
            }
        }
        Links {
            stride0,
            stride_up,
            layer0: zeroed(levels.len() * stride0),
            upper_offset,
            upper: zeroed(total),
            levels,
        }
    }

    /// The slot of `node`'s list on `layer` (count first).
    #[inline]
    pub fn slot(&self, node: Slot, layer: usize) -> &[AtomicU32] {
        if layer == 0 {
            let s = node.idx() * self.stride0;
            &self.layer0[s..s + self.stride0]
        } else {
            let s = self.upper_offset[node.idx()] as usize + (layer - 1) * self.stride_up;
            &self.upper[s..s + self.stride_up]
        }
    }

    /// Copies `node`'s links on `layer` into `out` (cleared first).
    #[inline]
    pub fn read_into(&self, node: Slot, layer: usize, out: &mut Vec<Slot>) {
        out.clear();
        let slot = self.slot(node, layer);
        let count = (slot[0].load(Relaxed) as usize).min(slot.len() - 1);
        out.extend(slot[1..=count].iter().map(|a| Slot(a.load(Relaxed))));
    }

    /// `node`'s links on `layer` as a new vector.
    pub fn neighbors(&self, node: Slot, layer: usize) -> Vec<Slot> {
        let mut v = Vec::new();
        self.read_into(node, layer, &mut v);
        v
    }

    /// Replaces `node`'s links on `layer` (the caller holds the node's lock).
    pub fn write(&self, node: Slot, layer: usize, ids: &[Slot]) {
        let slot = self.slot(node, layer);
        let count = ids.len().min(slot.len() - 1);
        for (a, &id) in slot[1..=count].iter().zip(ids) {
            a.store(id.0, Relaxed);
        }
        slot[0].store(count as u32, Relaxed);
    }

    /// Bytes of the link structures.
    pub fn bytes(&self) -> usize {
        (self.layer0.capacity() + self.upper.capacity()) * 4
            + self.upper_offset.capacity() * 4
            + self.levels.capacity()
    }

    /// Grows room for one more node of `level`, returning its id.
    pub fn push_node(&mut self, level: u8) -> Slot {
        let id = Slot(self.levels.len() as u32);
        reserve_gently(&mut self.layer0, self.stride0);
        reserve_gently(&mut self.upper_offset, 1);
        reserve_gently(&mut self.levels, 1);
        reserve_gently(&mut self.upper, level as usize * self.stride_up);
        self.layer0
            .extend((0..self.stride0).map(|_| AtomicU32::new(0)));
        if level == 0 {
            self.upper_offset.push(NO_UPPER);
        } else {
            self.upper_offset.push(self.upper.len() as u32);
            self.upper
                .extend((0..level as usize * self.stride_up).map(|_| AtomicU32::new(0)));
        }
        self.levels.push(level);
        id
    }

    /// Gives a reused slot a new level: its old upper lists are abandoned
    /// (upper lists are few) and fresh ones appended.
    pub fn reset_node(&mut self, node: Slot, level: u8) {
        self.write(node, 0, &[]);
        if level == 0 {
            self.upper_offset[node.idx()] = NO_UPPER;
        } else {
            self.upper_offset[node.idx()] = self.upper.len() as u32;
            self.upper
                .extend((0..level as usize * self.stride_up).map(|_| AtomicU32::new(0)));
        }
        self.levels[node.idx()] = level;
    }
}

/// Makes room for `more` items, growing by an eighth rather than doubling:
/// an index grown by inserts then holds at most ~12% unused capacity (a
/// doubled vector can hold up to half its bytes unused, which is what
/// `memory()` counts).
pub(crate) fn reserve_gently<T>(v: &mut Vec<T>, more: usize) {
    if v.capacity() - v.len() < more {
        v.reserve_exact(more.max(v.len() / 8));
    }
}

/// A set of visited node ids, cleared in O(1) by bumping a generation tag.
pub struct Visited {
    tags: Vec<u32>,
    generation: u32,
}

impl Visited {
    pub fn new() -> Self {
        Visited {
            tags: Vec::new(),
            generation: 0,
        }
    }

    /// Starts a new search over `n` nodes.
    #[inline]
    pub fn reset(&mut self, n: usize) {
        if self.tags.len() < n {
            self.tags.resize(n, 0);
        }
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            // Wrapped: clear once every four billion searches.
            self.tags.iter_mut().for_each(|t| *t = 0);
            self.generation = 1;
        }
    }

    /// Marks `id`; true if it was not yet visited.
    #[inline]
    pub fn insert(&mut self, id: Slot) -> bool {
        let t = &mut self.tags[id.idx()];
        if *t == self.generation {
            false
        } else {
            *t = self.generation;
            true
        }
    }

    #[cfg(test)]
    pub fn contains(&self, id: Slot) -> bool {
        self.tags[id.idx()] == self.generation
    }
}

impl Default for Visited {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_round_trip_on_every_layer() {
        let links = Links::new(vec![0, 2, 1], 4);
        let s = |ids: &[u32]| ids.iter().map(|&i| Slot(i)).collect::<Vec<_>>();
        links.write(Slot(1), 0, &s(&[0, 2]));
        links.write(Slot(1), 2, &s(&[2]));
        links.write(Slot(2), 1, &s(&[1, 0, 0, 0, 0, 0])); // more than M: cut to M
        assert_eq!(links.neighbors(Slot(1), 0), s(&[0, 2]));
        assert_eq!(links.neighbors(Slot(1), 1), Vec::<Slot>::new());
        assert_eq!(links.neighbors(Slot(1), 2), s(&[2]));
        assert_eq!(links.neighbors(Slot(2), 1).len(), 4);
    }

    #[test]
    fn visited_resets_by_generation() {
        let mut v = Visited::new();
        v.reset(10);
        assert!(v.insert(Slot(3)));
        assert!(!v.insert(Slot(3)));
        v.reset(10);
        assert!(!v.contains(Slot(3)));
        assert!(v.insert(Slot(3)));
    }
}
