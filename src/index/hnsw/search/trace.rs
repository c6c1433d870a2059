//! The traced search: the same walk as a plain search, with an observer
//! that records every expansion and distance, for the search-path view and
//! `annscope explain`.

use serde::Serialize;

use super::*;

/// One expansion of a node during a traced search.
#[derive(Clone, Debug, Serialize)]
pub struct TraceStep {
    /// The node expanded (external id) and its distance to the query.
    pub expanded: u32,
    pub expanded_dist: f32,
    /// Every distance computed while expanding it: (external id, distance).
    pub computed: Vec<(u32, f32)>,
    /// The result list after this step, nearest first: (external id, distance).
    pub results: Vec<(u32, f32)>,
}

/// The steps of a search on one layer.
#[derive(Clone, Debug, Serialize)]
pub struct LayerTrace {
    pub layer: usize,
    /// The result-list size on this layer (1 on the upper layers).
    pub ef: usize,
    pub steps: Vec<TraceStep>,
}

/// A whole search, layer by layer, for teaching and for explaining misses.
#[derive(Clone, Debug, Serialize)]
pub struct SearchTrace {
    /// The entry point (external id).
    pub entry: u32,
    /// From the top layer down to layer 0.
    pub layers: Vec<LayerTrace>,
    /// The final top-k.
    pub result: Neighbors,
    /// Every node whose distance was computed, on any layer (external ids).
    pub visited: Vec<u32>,
    /// The precision of the steps' distances: f16 when the index walks a
    /// half-precision copy (the result's distances are exact either way).
    pub walk: crate::index::Precision,
}

impl Hnsw {
    /// Searches like [`AnnIndex::search`](crate::index::AnnIndex::search)
    /// and records every step. Slower (it allocates); for one query at a time.
    /// Distances in the steps are the walk's (half precision when the
    /// index walks f16); the result's are exact, as a search's are.
    pub fn trace(&self, query: &[f32], k: usize, ef: usize) -> crate::error::Result<SearchTrace> {
        match (&self.codes, &self.walk) {
            (Some(codes), _) => self.trace_in(codes, query, k, ef),
            (None, Some(half)) => self.trace_in(half, query, k, ef),
            (None, None) => self.trace_in(self, query, k, ef),
        }
    }

    fn trace_in<S: Space>(
        &self,
        space: &S,
        query: &[f32],
        k: usize,
        ef: usize,
    ) -> crate::error::Result<SearchTrace> {
        crate::index::check_query_dim(self.dim, query)?;
        let ef = ef.max(k);
        let (mut q, mut coded) = (Vec::new(), Vec::new());
        self.prepare(query, &mut q);
        let wq = space.for_walk(&q, &mut coded);
        let mut rec = Recorder {
            ext_ids: &self.ext_ids,
            computed: Vec::new(),
            visited: std::collections::BTreeSet::from([self.ext_ids[self.entry.idx()]]),
            layers: Vec::new(),
        };
        let result = with_scratch(|s| {
            let mut stats = SearchStats::default();
            let ep = self.descend(space, wq, 0, s, &mut stats, &mut rec);
            self.walk(
                space,
                wq,
                &[ep],
                ef,
                0,
                &LiveOnly,
                &Direct,
                s,
                &mut stats,
                &mut rec,
            );
            self.finish::<S>(&q, s, k, &mut stats)
        });
        let mut layers = rec.layers;
        for l in &mut layers {
            l.ef = if l.layer == 0 { ef } else { 1 };
        }
        Ok(SearchTrace {
            entry: self.ext_ids[self.entry.idx()],
            layers,
            result,
            visited: rec.visited.into_iter().collect(),
            walk: if S::EXACT {
                crate::index::Precision::F32
            } else {
                crate::index::Precision::F16
            },
        })
    }
}

/// Records a walk step by step, in external ids, for [`Hnsw::trace`].
struct Recorder<'a> {
    ext_ids: &'a [u32],
    /// Distances computed since the last expansion.
    computed: Vec<(u32, f32)>,
    /// Every node whose distance was computed.
    visited: std::collections::BTreeSet<u32>,
    layers: Vec<LayerTrace>,
}

impl Observer for Recorder<'_> {
    fn computed(&mut self, slot: Slot, dist: f32) {
        let id = self.ext_ids[slot.idx()];
        self.computed.push((id, dist));
        self.visited.insert(id);
    }

    fn expanded(&mut self, layer: usize, node: Scored, results: &[Scored]) {
        let mut sorted = results.to_vec();
        sorted.sort_unstable();
        let step = TraceStep {
            expanded: self.ext_ids[node.id.idx()],
            expanded_dist: node.dist,
            computed: std::mem::take(&mut self.computed),
            results: sorted
                .iter()
                .map(|r| (self.ext_ids[r.id.idx()], r.dist))
                .collect(),
        };
        match self.layers.last_mut() {
            Some(l) if l.layer == layer => l.steps.push(step),
            _ => self.layers.push(LayerTrace {
                layer,
                ef: 1,
                steps: vec![step],
            }),
        }
    }
}
