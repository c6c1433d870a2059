//! Looking inside the graph, for the app's layer view and for teaching:
//! layers, nodes and degrees per layer, each node's links, and the layer-0
//! nodes a search from the entry point can never reach. All ids external.

use std::collections::VecDeque;

use serde::Serialize;

use super::graph::Slot;
use super::Hnsw;

/// One layer's shape.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LayerStats {
    pub layer: usize,
    pub nodes: usize,
    pub min_degree: usize,
    pub max_degree: usize,
    pub mean_degree: f64,
    /// `histogram[d]` = nodes with degree d.
    pub degree_histogram: Vec<usize>,
    /// Nodes of this layer that following this layer's links from the entry
    /// point never reaches.
    pub unreachable: usize,
}

impl Hnsw {
    /// Layers, 1 + the top layer.
    pub fn layer_count(&self) -> usize {
        self.max_level + 1
    }

    /// The entry point's external id.
    pub fn entry_point(&self) -> u32 {
        self.ext_ids[self.entry.idx()]
    }

    /// External ids of the tombstones (deleted, not yet freed by a
    /// cleanup, not written again), ascending.
    pub fn tombstone_ids(&self) -> Vec<u32> {
        if self.n_deleted == 0 {
            return Vec::new();
        }
        let mut out: Vec<u32> = self
            .ext_ids
            .iter()
            .copied()
            .filter(|&e| self.is_tombstone(e))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    fn live_slots(&self) -> impl Iterator<Item = Slot> + '_ {
        (0..self.ext_ids.len() as u32)
            .map(Slot)
            .filter(|&s| !self.deleted[s.idx()])
    }

    /// The top layer of a node (by external id).
    pub fn node_level(&self, ext: u32) -> Option<usize> {
        self.slot(ext).map(|s| self.links.levels[s.idx()] as usize)
    }

    /// External ids of the live nodes present on `layer`.
    pub fn layer_nodes(&self, layer: usize) -> Vec<u32> {
        self.live_slots()
            .filter(|&s| self.links.levels[s.idx()] as usize >= layer)
            .map(|s| self.ext_ids[s.idx()])
            .collect()
    }

    /// A node's links on `layer` (external ids), or None if the node is not
    /// on that layer.
    pub fn node_links(&self, ext: u32, layer: usize) -> Option<Vec<u32>> {
        let slot = self.slot(ext)?;
        if (self.links.levels[slot.idx()] as usize) < layer {
            return None;
        }
        Some(
            self.links
                .neighbors(slot, layer)
                .into_iter()
                .map(|s| self.ext_ids[s.idx()])
                .collect(),
        )
    }

    /// Node count and degrees of every layer, bottom up.
    pub fn layer_stats(&self) -> Vec<LayerStats> {
        (0..self.layer_count())
            .map(|layer| {
                let cap = if layer == 0 {
                    self.params.m0()
                } else {
                    self.params.m
                };
                let mut hist = vec![0usize; cap + 1];
                let (mut nodes, mut sum, mut min, mut max) = (0usize, 0usize, usize::MAX, 0usize);
                for s in self
                    .live_slots()
                    .filter(|&s| self.links.levels[s.idx()] as usize >= layer)
                {
                    let d = self.links.neighbors(s, layer).len();
                    hist[d.min(cap)] += 1;
                    nodes += 1;
                    sum += d;
                    min = min.min(d);
                    max = max.max(d);
                }
                LayerStats {
                    layer,
                    nodes,
                    min_degree: if nodes == 0 { 0 } else { min },
                    max_degree: max,
                    mean_degree: if nodes == 0 {
                        0.0
                    } else {
                        sum as f64 / nodes as f64
                    },
                    degree_histogram: hist,
                    unreachable: self.unreachable_on_layer(layer).len(),
                }
            })
            .collect()
    }

    /// Live nodes no search can reach: not reachable on layer 0 from the
    /// entry point by following links (external ids, ascending).
    pub fn unreachable_nodes(&self) -> Vec<u32> {
        let mut out: Vec<u32> = self
            .unreachable_slots()
            .into_iter()
            .map(|s| self.ext_ids[s.idx()])
            .collect();
        out.sort_unstable();
        out
    }

    /// Live slots not reachable on layer 0 from the entry point.
    pub(super) fn unreachable_slots(&self) -> Vec<Slot> {
        self.unreachable_on_layer(0)
    }

    /// Live slots on `layer` not reachable on it from the entry point.
    pub(super) fn unreachable_on_layer(&self, layer: usize) -> Vec<Slot> {
        let n = self.ext_ids.len();
        if self.live_len() == 0 || layer > self.max_level {
            return Vec::new();
        }
        let mut seen = vec![false; n];
        let mut queue = VecDeque::from([self.entry]);
        seen[self.entry.idx()] = true;
        while let Some(s) = queue.pop_front() {
            for nb in self.links.neighbors(s, layer) {
                if !seen[nb.idx()] {
                    seen[nb.idx()] = true;
                    queue.push_back(nb);
                }
            }
        }
        self.live_slots()
            .filter(|&s| self.links.levels[s.idx()] as usize >= layer && !seen[s.idx()])
            .collect()
    }
}
