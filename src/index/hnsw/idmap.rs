//! External id → slot, as a dense array: ids are row numbers, so they are
//! dense, and an array lookup is one load where a hash map is a probe.

use super::graph::Slot;

/// No slot for this id.
const NONE: u32 = u32::MAX;

/// Maps external ids to slots.
#[derive(Clone, Debug, Default)]
pub struct IdMap(Vec<u32>);

impl IdMap {
    /// The identity map over `0..n`.
    pub fn identity(n: usize) -> Self {
        IdMap((0..n as u32).collect())
    }

    #[inline]
    pub fn get(&self, ext: u32) -> Option<Slot> {
        self.0
            .get(ext as usize)
            .copied()
            .filter(|&s| s != NONE)
            .map(Slot)
    }

    pub fn insert(&mut self, ext: u32, slot: Slot) {
        let i = ext as usize;
        if i >= self.0.len() {
            self.0.resize(i + 1, NONE);
        }
        self.0[i] = slot.0;
    }

    pub fn remove(&mut self, ext: u32) {
        if let Some(s) = self.0.get_mut(ext as usize) {
            *s = NONE;
        }
    }

    pub fn bytes(&self) -> usize {
        self.0.capacity() * 4
    }
}
