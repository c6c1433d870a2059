//! Searching the graph: greedy descent through the upper layers, then a
//! best-first search with an ef-sized result list on layer 0 (the paper's
//! Algorithm 2), with per-thread scratch reused across queries so the hot
//! path allocates nothing. The traced search that records every step is in
//! [`trace`].

use std::cell::RefCell;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

mod trace;

pub use trace::{LayerTrace, SearchTrace, TraceStep};

use super::graph::Slot;
use super::graph::Visited;
use super::space::Space;
use super::Hnsw;
use crate::index::quant::Codes;
use crate::index::{Neighbors, Rescoring, SearchStats};

/// A node and its distance, ordered by distance then id.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scored {
    pub dist: f32,
    pub id: Slot,
}
impl Eq for Scored {}
impl PartialOrd for Scored {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scored {
    fn cmp(&self, other: &Self) -> Ordering {
        self.dist
            .total_cmp(&other.dist)
            .then(self.id.cmp(&other.id))
    }
}

/// Per-thread buffers reused by every search on that thread.
#[derive(Default)]
pub(super) struct Scratch {
    pub visited: Visited,
    pub candidates: BinaryHeap<Reverse<Scored>>,
    pub top: BinaryHeap<Scored>,
    pub links: Vec<Slot>,
    /// Two-hop expansion: the expanded node's links, and a neighbour's.
    pub around: Vec<Slot>,
    pub hop2: Vec<Slot>,
    pub query: Vec<f32>,
    /// The query as a walk over quantized codes reads it.
    pub coded: Vec<f32>,
    /// A build's shrinking of a full list: its candidates, and those kept.
    pub shrink: Vec<Scored>,
    pub kept: Vec<Scored>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Runs `f` with this thread's scratch.
pub(super) fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    SCRATCH.with(|s| match s.try_borrow_mut() {
        Ok(mut s) => f(&mut s),
        // Re-entered on the same thread (never on the hot path): use a fresh one.
        Err(_) => f(&mut Scratch::default()),
    })
}

/// Which nodes may enter the result list.
pub(super) trait Admit {
    fn admit(&self, index: &Hnsw, slot: Slot) -> bool;
}

/// Every live node.
pub(super) struct LiveOnly;
impl Admit for LiveOnly {
    #[inline]
    fn admit(&self, index: &Hnsw, slot: Slot) -> bool {
        // Without tombstones or freed slots there is nothing to look up (a
        // random read saved per admitted candidate).
        (index.n_deleted == 0 && index.free.is_empty()) || !index.deleted[slot.idx()]
    }
}

/// Live nodes the allow-list names (by external id).
pub(super) struct Allowed<'a>(pub &'a crate::index::AllowList);
impl Admit for Allowed<'_> {
    #[inline]
    fn admit(&self, index: &Hnsw, slot: Slot) -> bool {
        !index.deleted[slot.idx()] && self.0.contains(index.ext_ids[slot.idx()])
    }
}

/// Every node, deleted or not (the build links through tombstones too).
pub(super) struct Everyone;
impl Admit for Everyone {
    #[inline]
    fn admit(&self, _: &Hnsw, _: Slot) -> bool {
        true
    }
}

/// What a walk records as it goes: nothing on the search path ([`Quiet`],
/// whose calls compile away), every step for a trace ([`Recorder`]).
pub(super) trait Observer {
    /// A distance was computed (the entry point's is not reported).
    #[inline(always)]
    fn computed(&mut self, _slot: Slot, _dist: f32) {}
    /// `node` on `layer` was expanded; `results` is the result list after
    /// it, unordered.
    #[inline(always)]
    fn expanded(&mut self, _layer: usize, _node: Scored, _results: &[Scored]) {}
}

/// Records nothing.
pub(super) struct Quiet;
impl Observer for Quiet {}

/// How a best-first search finds the nodes to score around an expanded one.
pub(super) trait Neighbourhood {
    /// Whether [`Neighbourhood::gather`] admits what it gathers, so the walk
    /// need not ask again.
    const ADMITS: bool;
    /// Fills `s.links` with the unvisited nodes to score around `node` on
    /// `layer`, marking them visited.
    fn gather<A: Admit>(&self, index: &Hnsw, node: Slot, layer: usize, admit: &A, s: &mut Scratch);
}

/// The node's own links (the paper's search).
pub(super) struct Direct;
impl Neighbourhood for Direct {
    const ADMITS: bool = false;
    #[inline(always)]
    fn gather<A: Admit>(&self, index: &Hnsw, node: Slot, layer: usize, _: &A, s: &mut Scratch) {
        index.links.read_into(node, layer, &mut s.links);
        s.links.retain(|&nb| s.visited.insert(nb));
    }
}

/// Its admitted links plus the admitted links of its other links, at most
/// `cap` (ACORN-1's two-hop expansion, Patel et al. 2024): disallowed nodes
/// cost a link read, never a distance, and the allowed subgraph stays
/// connected at low selectivity.
pub(super) struct TwoHop {
    pub cap: usize,
}
impl Neighbourhood for TwoHop {
    const ADMITS: bool = true;
    fn gather<A: Admit>(&self, index: &Hnsw, node: Slot, layer: usize, admit: &A, s: &mut Scratch) {
        index.links.read_into(node, layer, &mut s.around);
        s.links.clear();
        for i in 0..s.around.len() {
            if s.links.len() >= self.cap {
                break;
            }
            let nb = s.around[i];
            if admit.admit(index, nb) {
                if s.visited.insert(nb) {
                    s.links.push(nb);
                }
                continue;
            }
            index.links.read_into(nb, layer, &mut s.hop2);
            for &nb2 in &s.hop2 {
                if s.links.len() >= self.cap {
                    break;
                }
                if admit.admit(index, nb2) && s.visited.insert(nb2) {
                    s.links.push(nb2);
                }
            }
        }
    }
}

impl Hnsw {
    /// Hints the CPU to start loading a slot's vector (first cache lines).
    #[inline(always)]
    pub(super) fn prefetch_vector(&self, slot: Slot) {
        let start = slot.idx() * self.dim;
        if let Some(row) = self.vectors.get(start..start + self.dim) {
            super::space::prefetch_row(row);
        }
    }

    /// From the entry point, greedy descent through the layers above
    /// `layer`, with distances from `space`, telling `obs` each step: the
    /// entry point for a search on `layer`.
    #[inline]
    pub(super) fn descend<S: Space, O: Observer>(
        &self,
        space: &S,
        q: &[f32],
        layer: usize,
        s: &mut Scratch,
        stats: &mut SearchStats,
        obs: &mut O,
    ) -> Scored {
        let mut ep = Scored {
            dist: space.dist(q, self.entry),
            id: self.entry,
        };
        stats.dist_comps += 1;
        for l in (layer + 1..=self.max_level).rev() {
            ep = self.greedy(space, q, ep, l, s, stats, obs);
        }
        ep
    }

    /// Greedy descent on `layer` from `ep`: moves to the nearest neighbour
    /// while that improves. Returns the local minimum.
    #[inline]
    #[allow(clippy::too_many_arguments)]
    fn greedy<S: Space, O: Observer>(
        &self,
        space: &S,
        q: &[f32],
        mut ep: Scored,
        layer: usize,
        s: &mut Scratch,
        stats: &mut SearchStats,
        obs: &mut O,
    ) -> Scored {
        loop {
            let expanded = ep;
            self.links.read_into(ep.id, layer, &mut s.links);
            stats.hops += 1;
            for i in 0..s.links.len() {
                let nb = s.links[i];
                let d = space.dist(q, nb);
                stats.dist_comps += 1;
                obs.computed(nb, d);
                if d < ep.dist {
                    ep = Scored { dist: d, id: nb };
                }
            }
            obs.expanded(layer, expanded, &[ep]);
            if ep.id == expanded.id {
                return ep;
            }
        }
    }

    /// The one best-first walk every search, filtered search, build step
    /// and trace runs: from `entries` on `layer`, expanding the nearest
    /// candidate's `around` nodes, keeping the `ef` nearest admitted ones in
    /// `s.top` (a max-heap), and telling `obs` each step.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub(super) fn walk<S: Space, A: Admit, N: Neighbourhood, O: Observer>(
        &self,
        space: &S,
        q: &[f32],
        entries: &[Scored],
        ef: usize,
        layer: usize,
        admit: &A,
        around: &N,
        s: &mut Scratch,
        stats: &mut SearchStats,
        obs: &mut O,
    ) {
        s.visited.reset(self.ext_ids.len());
        s.candidates.clear();
        s.top.clear();
        let mut bound = f32::INFINITY;
        for &e in entries {
            if !s.visited.insert(e.id) {
                continue;
            }
            s.candidates.push(Reverse(e));
            if admit.admit(self, e.id) {
                s.top.push(e);
                if s.top.len() > ef {
                    s.top.pop();
                }
            }
        }
        if s.top.len() >= ef {
            bound = s.top.peek().map_or(f32::INFINITY, |t| t.dist);
        }
        while let Some(Reverse(c)) = s.candidates.pop() {
            if c.dist > bound {
                break;
            }
            around.gather(self, c.id, layer, admit, s);
            stats.hops += 1;
            // Ask the memory system for all their vectors before computing
            // the first distance: the loads overlap instead of stalling one
            // after another.
            for &nb in s.links.iter() {
                space.prefetch(nb);
            }
            for i in 0..s.links.len() {
                let nb = s.links[i];
                let d = space.dist(q, nb);
                stats.dist_comps += 1;
                obs.computed(nb, d);
                if d < bound || s.top.len() < ef {
                    s.candidates.push(Reverse(Scored { dist: d, id: nb }));
                    if N::ADMITS || admit.admit(self, nb) {
                        s.top.push(Scored { dist: d, id: nb });
                        if s.top.len() > ef {
                            s.top.pop();
                        }
                        if s.top.len() >= ef {
                            bound = s.top.peek().map_or(f32::INFINITY, |t| t.dist);
                        }
                    }
                }
            }
            obs.expanded(layer, c, s.top.as_slice());
        }
    }

    /// The top-k of `query` with a result list of `ef`, in external ids.
    pub(super) fn search_ef(
        &self,
        query: &[f32],
        k: usize,
        ef: usize,
        rescoring: Option<Rescoring>,
    ) -> Neighbors {
        match (&self.codes, &self.walk) {
            (Some(codes), _) => self.search_codes(codes, query, k, ef, rescoring),
            (None, Some(half)) => self.search_ef_in(half, query, k, ef),
            (None, None) => self.search_ef_in(self, query, k, ef),
        }
    }

    fn search_ef_in<S: Space>(&self, space: &S, query: &[f32], k: usize, ef: usize) -> Neighbors {
        with_scratch(|s| {
            let mut stats = SearchStats::default();
            if self.live_len() == 0 {
                return Neighbors::default();
            }
            let mut q = std::mem::take(&mut s.query);
            self.prepare(query, &mut q);
            let ep = self.descend(space, &q, 0, s, &mut stats, &mut Quiet);
            let (entries, quiet) = (&[ep], &mut Quiet);
            self.walk(
                space,
                &q,
                entries,
                ef.max(k),
                0,
                &LiveOnly,
                &Direct,
                s,
                &mut stats,
                quiet,
            );
            let found = self.finish::<S>(&q, s, k, &mut stats);
            s.query = q;
            found
        })
    }

    /// A walk over quantized codes: the result list holds at least
    /// `oversample × k` candidates (and ef), the best `oversample × k` by
    /// their estimates are re-scored exactly (unless `rescore` is off), and
    /// the top k returned. With an error bound (RaBitQ), a candidate whose
    /// lower bound cannot beat the k-th exact distance so far is never
    /// re-scored: fewer reads of the f32 vectors, which may be on disk.
    fn search_codes(
        &self,
        codes: &Codes,
        query: &[f32],
        k: usize,
        ef: usize,
        rescoring: Option<Rescoring>,
    ) -> Neighbors {
        let rescoring = rescoring.unwrap_or(Rescoring::DEFAULT);
        let keep = rescoring.candidates(k);
        with_scratch(|s| {
            let mut stats = SearchStats::default();
            if self.live_len() == 0 {
                return Neighbors::default();
            }
            let (mut q, mut coded) = (std::mem::take(&mut s.query), std::mem::take(&mut s.coded));
            self.prepare(query, &mut q);
            codes.prepare(&q, &mut coded);
            let ep = self.descend(codes, &coded, 0, s, &mut stats, &mut Quiet);
            let (entries, quiet) = (&[ep], &mut Quiet);
            self.walk(
                codes,
                &coded,
                entries,
                ef.max(keep),
                0,
                &LiveOnly,
                &Direct,
                s,
                &mut stats,
                quiet,
            );
            let mut found: Vec<Scored> = s.top.drain().collect();
            found.sort_unstable();
            found.truncate(keep);
            if rescoring.rescore {
                found = self.rescore_codes(codes, &q, &coded, found, k, &mut stats);
            }
            found.truncate(k);
            s.query = q;
            s.coded = coded;
            Neighbors {
                ids: found.iter().map(|c| self.ext_ids[c.id.idx()]).collect(),
                distances: found.iter().map(|c| c.dist).collect(),
                stats,
            }
        })
    }

    /// Exact distances for the candidates that may be in the top k, nearest
    /// first.
    fn rescore_codes(
        &self,
        codes: &Codes,
        q: &[f32],
        coded: &[f32],
        found: Vec<Scored>,
        k: usize,
        stats: &mut SearchStats,
    ) -> Vec<Scored> {
        for c in &found {
            self.prefetch_vector(c.id);
        }
        let candidates = found.iter().map(|c| (c.dist, c.id.0)).collect();
        let (top, rescored) =
            crate::index::quant::rescore(codes, coded, candidates, k, |i| self.dist(q, Slot(i)));
        stats.dist_comps += rescored;
        stats.rescored += rescored;
        top.into_iter()
            .map(|(dist, i)| Scored { dist, id: Slot(i) })
            .collect()
    }

    /// The top-k of the result list the walk left in `s.top`, with exact
    /// distances: a walk in an approximate space re-scores its candidates
    /// from the stored f32 vectors first.
    pub(super) fn finish<S: Space>(
        &self,
        q: &[f32],
        s: &mut Scratch,
        k: usize,
        stats: &mut SearchStats,
    ) -> Neighbors {
        let mut found: Vec<Scored> = s.top.drain().collect();
        if !S::EXACT {
            self.rescore(q, &mut found, stats);
        }
        found.sort_unstable();
        found.truncate(k);
        Neighbors {
            ids: found.iter().map(|c| self.ext_ids[c.id.idx()]).collect(),
            distances: found.iter().map(|c| c.dist).collect(),
            stats: *stats,
        }
    }

    /// Replaces approximate distances with exact ones from the f32 vectors.
    pub(super) fn rescore(&self, q: &[f32], found: &mut [Scored], stats: &mut SearchStats) {
        for c in found.iter() {
            self.prefetch_vector(c.id);
        }
        for c in found.iter_mut() {
            c.dist = self.dist(q, c.id);
        }
        stats.dist_comps += found.len() as u64;
    }
}

/// Filters at most this selective (share of ids allowed) get the two-hop
/// expansion; above it, traversing the whole graph finds enough allowed ids.
const TWO_HOP_BELOW: f64 = 0.5;
/// Filters allowing at most this many ids per unit of ef are answered by an
/// exact scan of the allowed ids: it costs about what the graph search would,
/// and its recall is 1.
const EXACT_IDS_PER_EF: usize = 16;
/// Filters allowing under this share of the ids are always scanned exactly:
/// the allowed subgraph is too sparse to navigate well (measured at 1% on
/// pypi-minilm: two-hop search reached recall 0.60 at ef 16, the scan 1.0
/// in less time).
const EXACT_BELOW: f64 = 0.02;

impl Hnsw {
    /// Filtered search: exact over the allowed ids when they are few;
    /// otherwise the graph, keeping only allowed ids in the results, with
    /// ACORN-style two-hop expansion when the filter is selective.
    pub(super) fn search_filtered(
        &self,
        query: &[f32],
        k: usize,
        ef: usize,
        filter: &crate::index::AllowList,
    ) -> Neighbors {
        let ef = ef.max(k);
        let live = self.live_len().max(1);
        if filter.count() <= EXACT_IDS_PER_EF * ef
            || (filter.count() as f64) < EXACT_BELOW * live as f64
        {
            return self.exact_over(query, k, filter);
        }
        let two_hop = (filter.count() as f64 / live as f64) < TWO_HOP_BELOW;
        match (&self.codes, &self.walk) {
            (Some(codes), _) => self.search_filtered_in(codes, query, k, ef, filter, two_hop),
            (None, Some(half)) => self.search_filtered_in(half, query, k, ef, filter, two_hop),
            (None, None) => self.search_filtered_in(self, query, k, ef, filter, two_hop),
        }
    }

    fn search_filtered_in<S: Space>(
        &self,
        space: &S,
        query: &[f32],
        k: usize,
        ef: usize,
        filter: &crate::index::AllowList,
        two_hop: bool,
    ) -> Neighbors {
        with_scratch(|s| {
            let mut stats = SearchStats::default();
            let (mut q, mut coded) = (std::mem::take(&mut s.query), std::mem::take(&mut s.coded));
            self.prepare(query, &mut q);
            let wq = space.for_walk(&q, &mut coded);
            let ep = self.descend(space, wq, 0, s, &mut stats, &mut Quiet);
            let admit = Allowed(filter);
            if two_hop {
                let around = TwoHop {
                    cap: self.params.m0(),
                };
                let (entries, quiet) = (&[ep], &mut Quiet);
                self.walk(
                    space, wq, entries, ef, 0, &admit, &around, s, &mut stats, quiet,
                );
            } else {
                let (entries, quiet) = (&[ep], &mut Quiet);
                self.walk(
                    space, wq, entries, ef, 0, &admit, &Direct, s, &mut stats, quiet,
                );
            }
            let found = self.finish::<S>(&q, s, k, &mut stats);
            s.query = q;
            s.coded = coded;
            found
        })
    }

    /// Exact top-k over the allowed ids that are live in this index.
    fn exact_over(&self, query: &[f32], k: usize, filter: &crate::index::AllowList) -> Neighbors {
        let mut q = Vec::new();
        self.prepare(query, &mut q);
        let mut top = crate::index::topk::TopK::new(k);
        let mut stats = SearchStats::default();
        for ext in filter.ids() {
            if let Some(slot) = self.slot(ext) {
                top.push(self.dist(&q, slot), ext);
                stats.dist_comps += 1;
            }
        }
        let (ids, distances) = top.into_sorted();
        Neighbors {
            ids,
            distances,
            stats,
        }
    }
}
