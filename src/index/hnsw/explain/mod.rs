//! What the app's views draw, computed from the graph (in the background):
//! one layer's nodes and links at a readable size ([`LayerView`]), one
//! node's links on every layer with distances ([`NodeDetail`]), and one
//! query's search laid out step by step with the reason each true neighbour
//! was missed ([`SearchPath`]). All ids are external.

use std::collections::{HashMap, HashSet};

use rand::rngs::StdRng;
use rand::seq::index::sample;
use rand::SeedableRng;
use serde::Serialize;

use super::graph::Slot;
use super::search::SearchTrace;
use super::Hnsw;
use crate::error::Result;
use crate::index::SearchKnob;

/// Upper layers with at most this many nodes are drawn whole, links and all.
pub const WHOLE_LAYER_NODES: usize = 2_000;
/// Larger upper layers up to this many nodes still show every node (as
/// points), with links only around the selection or for a sample.
pub const LAYER_POINTS_MAX: usize = 50_000;
/// Without a selected node, a large layer shows this many sampled nodes with their links.
pub const SAMPLE_NODES: usize = 300;

/// How a node came to be in a [`LayerView`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Reach {
    /// The selected node.
    Focus,
    /// Linked from the selected node.
    OneHop,
    /// Linked from a node one hop away.
    TwoHops,
    /// Part of the whole layer or of a sample.
    Member,
}

/// One layer, reduced to what can be drawn legibly.
#[derive(Clone, Debug, Serialize)]
pub struct LayerView {
    pub layer: usize,
    /// Nodes to draw and how each was reached.
    pub nodes: Vec<(u32, Reach)>,
    /// Links to draw (from, to); a link present both ways appears once.
    pub edges: Vec<(u32, u32)>,
    /// Nodes on the layer in all.
    pub layer_nodes: usize,
    /// Some(n): the layer was too large, so `n` sampled nodes (with their
    /// links) are drawn.
    pub sampled: Option<usize>,
    /// Nodes of the layer its links never reach from the entry point.
    pub unreachable: Vec<u32>,
    /// Drawn nodes that are tombstones (deleted, not yet freed by a
    /// cleanup): searches still walk through them; answers skip them.
    pub tombstones: Vec<u32>,
    /// Tombstones on the layer in all (drawn or not).
    pub layer_tombstones: usize,
}

/// A node's links on one layer, nearest first.
#[derive(Clone, Debug, Serialize)]
pub struct LayerLinks {
    pub layer: usize,
    /// (neighbour, distance to it).
    pub links: Vec<(u32, f32)>,
}

/// Everything about one node, for the "selected node" panel.
#[derive(Clone, Debug, Serialize)]
pub struct NodeDetail {
    pub id: u32,
    pub top_layer: usize,
    /// From the top layer down to layer 0.
    pub layers: Vec<LayerLinks>,
    /// Whether a search from the entry point can reach it on layer 0.
    pub reachable: bool,
}

/// Why a true neighbour is not among the results.
///
/// A true top-k neighbour whose distance is computed on layer 0 is always
/// returned (at most k-1 nodes are nearer, and the list keeps ef >= k), so a
/// miss means the search never computed it: none of the nodes linking to it
/// was expanded. What differs is how close the search came.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum MissReason {
    /// No node links to it on layer 0: no search can reach it.
    NoInLinks,
    /// No node linking to it was even looked at: the search stayed elsewhere.
    NeverReached,
    /// A node linking to it was looked at but fell out of (or never made)
    /// the ef list before it was expanded: a larger ef would have found it.
    PushedOut,
    /// Not returned, but a vector at the same distance was (a duplicate).
    Tie,
}

impl MissReason {
    pub fn describe(self) -> &'static str {
        match self {
            MissReason::NoInLinks => "unreachable: no node links to it",
            MissReason::NeverReached => "never reached: no node linking to it was looked at",
            MissReason::PushedOut => {
                "reached a node linking to it, but that node was pushed out of the ef list before it was expanded"
            }
            MissReason::Tie => "an equally near vector was returned instead",
        }
    }
}

/// One exact neighbour, and whether and when the search found it.
#[derive(Clone, Debug, Serialize)]
pub struct TrueNeighbour {
    pub id: u32,
    pub dist: f32,
    pub found: bool,
    pub reason: Option<MissReason>,
    /// The step (of [`SearchPath::steps`]) at which its distance was first computed.
    pub seen_at: Option<usize>,
    /// For [`MissReason::PushedOut`]: the node linking to it that was looked
    /// at and dropped, and the step it was first looked at.
    pub via: Option<(u32, usize)>,
}

/// One expansion in a flattened search: which layer, and which step of it.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct PathStep {
    pub layer: usize,
    /// Index into `trace.layers`.
    pub layer_index: usize,
    /// Index into that layer's steps.
    pub step: usize,
}

/// One query's search, ready to play back.
#[derive(Clone, Debug, Serialize)]
pub struct SearchPath {
    pub trace: SearchTrace,
    pub k: usize,
    pub ef: usize,
    /// Every expansion, top layer first.
    pub steps: Vec<PathStep>,
    /// Each node whose distance was computed, with the step it was first
    /// computed at (the entry point at step 0), in step order.
    pub first_seen: Vec<(u32, usize)>,
    /// The exact top-k, nearest first.
    pub truth: Vec<TrueNeighbour>,
    /// Nodes the search computed a distance to that are tombstones
    /// (deleted, not yet cleaned up): walked through, never answered.
    /// Ascending.
    pub tombstones: Vec<u32>,
}

impl SearchPath {
    /// recall@k of this one query.
    pub fn recall(&self) -> f64 {
        if self.truth.is_empty() {
            return 1.0;
        }
        let hits = self
            .truth
            .iter()
            .filter(|t| t.found || t.reason == Some(MissReason::Tie))
            .count();
        hits as f64 / self.truth.len() as f64
    }

    /// The trace step behind a flattened step.
    pub fn step(&self, s: usize) -> Option<&super::search::TraceStep> {
        let p = self.steps.get(s)?;
        self.trace.layers[p.layer_index].steps.get(p.step)
    }

    /// Nodes whose distance had been computed once step `s` was done.
    pub fn seen_by(&self, s: usize) -> impl Iterator<Item = u32> + '_ {
        self.first_seen
            .iter()
            .take_while(move |&&(_, at)| at <= s)
            .map(|&(id, _)| id)
    }

    /// The misses, each with its reason.
    pub fn misses(&self) -> impl Iterator<Item = &TrueNeighbour> {
        self.truth.iter().filter(|t| !t.found)
    }
}

impl Hnsw {
    /// The top layer of each node by external id, for ids below `n`
    /// (`u8::MAX` where no live node has the id): colours the projection.
    pub fn top_layers_by_id(&self, n: usize) -> Vec<u8> {
        let mut out = vec![u8::MAX; n];
        for (slot, &ext) in self.ext_ids.iter().enumerate() {
            if (ext as usize) < n && !self.deleted[slot] {
                out[ext as usize] = self.links.levels[slot];
            }
        }
        out
    }

    /// Distance between two stored nodes, by external id.
    pub fn distance_between(&self, a: u32, b: u32) -> Option<f32> {
        let (sa, sb) = (self.slot(a)?, self.slot(b)?);
        Some(
            self.metric
                .prepared_distance(self.vector(sa), self.vector(sb)),
        )
    }

    /// A node's links on every layer it is on, nearest first, with distances.
    pub fn node_detail(&self, ext: u32) -> Option<NodeDetail> {
        let slot = self.slot(ext)?;
        let top = self.links.levels[slot.idx()] as usize;
        let layers = (0..=top)
            .rev()
            .map(|layer| {
                let mut links: Vec<(u32, f32)> = self
                    .links
                    .neighbors(slot, layer)
                    .into_iter()
                    .map(|nb| {
                        (
                            self.ext_ids[nb.idx()],
                            self.metric
                                .prepared_distance(self.vector(slot), self.vector(nb)),
                        )
                    })
                    .collect();
                links.sort_by(|a, b| a.1.total_cmp(&b.1));
                LayerLinks { layer, links }
            })
            .collect();
        let reachable = !self.unreachable_slots().contains(&slot);
        Some(NodeDetail {
            id: ext,
            top_layer: top,
            layers,
            reachable,
        })
    }

    /// `layer` reduced to a drawable view: the whole layer if it is an
    /// upper layer of at most [`WHOLE_LAYER_NODES`]; otherwise the
    /// neighbourhood (two hops) of `focus` if it is on the layer, else a
    /// seeded sample of [`SAMPLE_NODES`] nodes with their links; on a large
    /// upper layer the rest of its nodes come too, as members without links.
    pub fn layer_view(&self, layer: usize, focus: Option<u32>) -> LayerView {
        let freed: HashSet<Slot> = self.free.iter().copied().collect();
        let is_tombstone = |s: Slot| self.deleted[s.idx()] && !freed.contains(&s);
        let on_layer = |slot: Slot| self.links.levels[slot.idx()] as usize >= layer;
        let members: Vec<Slot> = (0..self.ext_ids.len() as u32)
            .map(Slot)
            .filter(|&s| !self.deleted[s.idx()] && on_layer(s))
            .collect();
        // Deleted nodes a cleanup has not freed: searches still route
        // through them, so they are drawn (and named) with their links.
        let layer_tombstones: Vec<Slot> = (0..self.ext_ids.len() as u32)
            .map(Slot)
            .filter(|&s| is_tombstone(s) && on_layer(s))
            .collect();
        let tombstones_of = |drawn: &mut dyn Iterator<Item = Slot>| -> Vec<u32> {
            // A replaced id's old node is a tombstone under the id its new
            // node holds live: only ids with no live node are named.
            let mut t: Vec<u32> = drawn
                .filter(|&s| is_tombstone(s))
                .map(|s| self.ext_ids[s.idx()])
                .filter(|&e| self.slot(e).is_none())
                .collect();
            t.sort_unstable();
            t.dedup();
            t
        };
        let ext = |s: Slot| self.ext_ids[s.idx()];
        let mut edges = Vec::new();
        let mut seen_edge = HashSet::new();
        let mut add_edge = |a: Slot, b: Slot, edges: &mut Vec<(u32, u32)>| {
            let key = (a.min(b), a.max(b));
            if seen_edge.insert(key) {
                edges.push((ext(a), ext(b)));
            }
        };
        let mut unreachable: Vec<u32> = self
            .unreachable_on_layer(layer)
            .into_iter()
            .map(|s| self.ext_ids[s.idx()])
            .collect();
        unreachable.sort_unstable();
        // A tombstone can be the focus too: its links still route searches.
        let focus_slot = focus
            .and_then(|f| self.slot_of.get(f))
            .filter(|&s| (!self.deleted[s.idx()] || is_tombstone(s)) && on_layer(s));
        let whole = layer > 0 && members.len() + layer_tombstones.len() <= WHOLE_LAYER_NODES;
        if whole {
            let drawn: Vec<Slot> = members.iter().chain(&layer_tombstones).copied().collect();
            for &s in &drawn {
                for nb in self.links.neighbors(s, layer) {
                    add_edge(s, nb, &mut edges);
                }
            }
            let nodes = drawn
                .iter()
                .map(|&s| {
                    let reach = if Some(s) == focus_slot {
                        Reach::Focus
                    } else {
                        Reach::Member
                    };
                    (ext(s), reach)
                })
                .collect();
            return LayerView {
                layer,
                nodes,
                edges,
                layer_nodes: members.len(),
                sampled: None,
                unreachable,
                tombstones: tombstones_of(&mut drawn.iter().copied()),
                layer_tombstones: layer_tombstones.len(),
            };
        }
        let mut reach: HashMap<Slot, Reach> = HashMap::new();
        let mut order = Vec::new();
        let mut note = |s: Slot, r: Reach, order: &mut Vec<Slot>| {
            if let std::collections::hash_map::Entry::Vacant(v) = reach.entry(s) {
                v.insert(r);
                order.push(s);
            }
        };
        let sampled = match focus_slot {
            Some(f) => {
                note(f, Reach::Focus, &mut order);
                let hop1 = self.links.neighbors(f, layer);
                for &a in &hop1 {
                    note(a, Reach::OneHop, &mut order);
                    add_edge(f, a, &mut edges);
                }
                for &a in &hop1 {
                    for b in self.links.neighbors(a, layer) {
                        note(b, Reach::TwoHops, &mut order);
                        add_edge(a, b, &mut edges);
                    }
                }
                None
            }
            None => {
                let take = SAMPLE_NODES.min(members.len());
                let picks = sample(&mut StdRng::seed_from_u64(5), members.len(), take);
                for i in picks {
                    let s = members[i];
                    note(s, Reach::Member, &mut order);
                    for nb in self.links.neighbors(s, layer) {
                        note(nb, Reach::OneHop, &mut order);
                        add_edge(s, nb, &mut edges);
                    }
                }
                Some(take)
            }
        };
        if layer > 0 && members.len() <= LAYER_POINTS_MAX {
            for &s in &members {
                note(s, Reach::Member, &mut order);
            }
        }
        LayerView {
            layer,
            nodes: order.iter().map(|&s| (ext(s), reach[&s])).collect(),
            edges,
            layer_nodes: members.len(),
            sampled,
            unreachable,
            tombstones: tombstones_of(&mut order.iter().copied()),
            layer_tombstones: layer_tombstones.len(),
        }
    }

    /// The exact top-k of `query` among the live nodes, by a full scan.
    pub fn exact_top_k(&self, query: &[f32], k: usize) -> Result<Vec<(u32, f32)>> {
        crate::index::check_query_dim(self.dim, query)?;
        let mut q = Vec::new();
        self.prepare(query, &mut q);
        let mut all: Vec<(u32, f32)> = (0..self.ext_ids.len() as u32)
            .map(Slot)
            .filter(|&s| !self.deleted[s.idx()] && !self.free.contains(&s))
            .map(|s| (self.ext_ids[s.idx()], self.dist(&q, s)))
            .collect();
        let k = k.min(all.len());
        if k == 0 {
            return Ok(Vec::new());
        }
        all.select_nth_unstable_by(k - 1, |a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        all.truncate(k);
        all.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        Ok(all)
    }

    /// Traces the search of `query` for top-`k` tuned by `knob`, lays it out
    /// step by step and explains each missed true neighbour (the exact top-k
    /// by a full scan).
    pub fn explain_search(&self, query: &[f32], k: usize, knob: SearchKnob) -> Result<SearchPath> {
        let ef = knob.effective_ef(k, &self.dynamic_ef())?;
        let trace = self.trace(query, k, ef)?;
        let exact = self.exact_top_k(query, k)?;
        let mut steps = Vec::new();
        let mut first_seen = vec![(trace.entry, 0usize)];
        let mut seen: HashSet<u32> = HashSet::from([trace.entry]);
        // Per node: the first layer-0 step that computed it.
        let mut l0_seen: HashMap<u32, usize> = HashMap::new();
        for (li, lt) in trace.layers.iter().enumerate() {
            if lt.layer == 0 {
                // The node layer 0 starts from was computed on the way down.
                if let Some(first) = lt.steps.first() {
                    l0_seen.insert(first.expanded, steps.len());
                }
            }
            for (si, st) in lt.steps.iter().enumerate() {
                let global = steps.len();
                steps.push(PathStep {
                    layer: lt.layer,
                    layer_index: li,
                    step: si,
                });
                for &(id, _) in &st.computed {
                    if seen.insert(id) {
                        first_seen.push((id, global));
                    }
                    if lt.layer == 0 {
                        l0_seen.entry(id).or_insert(global);
                    }
                }
            }
        }
        let returned: HashSet<u32> = trace.result.ids.iter().copied().collect();
        // Returned ids outside the exact top-k: one at a missed neighbour's
        // distance is a duplicate returned in its place.
        let exact_ids: HashSet<u32> = exact.iter().map(|e| e.0).collect();
        let stand_ins: Vec<f32> = trace
            .result
            .ids
            .iter()
            .zip(&trace.result.distances)
            .filter(|(id, _)| !exact_ids.contains(id))
            .map(|(_, &d)| d)
            .collect();
        let is_tie = |dist: f32| {
            stand_ins
                .iter()
                .any(|&d| (d - dist).abs() <= 1e-6 * dist.abs().max(1.0))
        };
        let seen_at: HashMap<u32, usize> = first_seen.iter().copied().collect();
        // Who links to each missed neighbour on layer 0 (one pass over the graph).
        let missed: HashSet<u32> = exact
            .iter()
            .filter(|(id, d)| !returned.contains(id) && !is_tie(*d))
            .map(|e| e.0)
            .collect();
        let mut in_links: HashMap<u32, Vec<u32>> = HashMap::new();
        if !missed.is_empty() {
            for s in (0..self.ext_ids.len() as u32).map(Slot) {
                if self.deleted[s.idx()] {
                    continue;
                }
                for nb in self.links.neighbors(s, 0) {
                    let target = self.ext_ids[nb.idx()];
                    if missed.contains(&target) {
                        in_links
                            .entry(target)
                            .or_default()
                            .push(self.ext_ids[s.idx()]);
                    }
                }
            }
        }
        let truth = exact
            .iter()
            .map(|&(id, dist)| {
                let found = returned.contains(&id);
                let mut via = None;
                let reason = if found {
                    None
                } else if is_tie(dist) {
                    Some(MissReason::Tie)
                } else {
                    let sources = in_links.get(&id).map_or(&[][..], |v| v.as_slice());
                    via = sources
                        .iter()
                        .filter_map(|src| l0_seen.get(src).map(|&at| (*src, at)))
                        .min_by_key(|&(_, at)| at);
                    Some(if sources.is_empty() {
                        MissReason::NoInLinks
                    } else if via.is_some() {
                        MissReason::PushedOut
                    } else {
                        MissReason::NeverReached
                    })
                };
                TrueNeighbour {
                    id,
                    dist,
                    found,
                    reason,
                    seen_at: seen_at.get(&id).copied(),
                    via,
                }
            })
            .collect();
        let mut tombstones: Vec<u32> = first_seen
            .iter()
            .map(|&(id, _)| id)
            .filter(|&id| self.is_tombstone(id))
            .collect();
        tombstones.sort_unstable();
        Ok(SearchPath {
            trace,
            k,
            ef,
            steps,
            first_seen,
            truth,
            tombstones,
        })
    }
}

#[cfg(test)]
mod tests;
