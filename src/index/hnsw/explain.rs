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
mod tests {
    use super::*;
    use crate::distance::Metric;
    use crate::index::HnswParams;
    use crate::progress::WorkContext;
    use crate::testutil::random_dataset;

    fn small_index(n: usize, m: usize) -> (Hnsw, crate::dataset::Dataset) {
        let ds = random_dataset(n, 16, Metric::L2, 21);
        let params = HnswParams {
            m,
            ef_construction: 64,
            seed: 3,
            ..HnswParams::default()
        };
        let h = crate::job::with_threads(Some(1), || {
            Hnsw::build(&ds, params, &WorkContext::detached())
        })
        .unwrap()
        .unwrap();
        (h, ds)
    }

    #[test]
    fn node_detail_lists_each_layers_links_nearest_first_with_true_distances() {
        let (h, ds) = small_index(600, 8);
        let entry = h.entry_point();
        let d = h.node_detail(entry).unwrap();
        assert_eq!(d.top_layer, h.layer_count() - 1);
        assert_eq!(d.layers.len(), d.top_layer + 1);
        assert_eq!(d.layers.last().unwrap().layer, 0);
        assert!(d.reachable);
        for ll in &d.layers {
            let mut expected = h.node_links(entry, ll.layer).unwrap();
            expected.sort_unstable();
            let mut got: Vec<u32> = ll.links.iter().map(|l| l.0).collect();
            got.sort_unstable();
            assert_eq!(got, expected, "layer {}", ll.layer);
            assert!(ll.links.windows(2).all(|w| w[0].1 <= w[1].1));
            for &(nb, dist) in &ll.links {
                let want = Metric::L2.distance(ds.row(entry as usize), ds.row(nb as usize));
                assert!((dist - want).abs() < 1e-4, "{dist} vs {want}");
            }
        }
        assert!(h.node_detail(10_000).is_none());
    }

    #[test]
    fn upper_layers_are_drawn_whole_and_layer_zero_as_a_two_hop_neighbourhood() {
        let (h, _) = small_index(800, 6);
        assert!(h.layer_count() >= 2, "expected an upper layer");
        let v1 = h.layer_view(1, None);
        assert_eq!(v1.sampled, None);
        assert_eq!(v1.nodes.len(), h.layer_nodes(1).len());
        assert_eq!(v1.layer_nodes, v1.nodes.len());
        // Every link of every node appears once as an edge.
        let on_layer: HashSet<u32> = v1.nodes.iter().map(|n| n.0).collect();
        for &(a, b) in &v1.edges {
            assert!(on_layer.contains(&a) && on_layer.contains(&b));
        }
        let focus = h.layer_nodes(0)[17];
        let v0 = h.layer_view(0, Some(focus));
        assert_eq!(v0.nodes[0], (focus, Reach::Focus));
        let hop1: HashSet<u32> = h.node_links(focus, 0).unwrap().into_iter().collect();
        for &(id, r) in &v0.nodes {
            match r {
                Reach::OneHop => assert!(hop1.contains(&id)),
                Reach::TwoHops => assert!(hop1
                    .iter()
                    .any(|&a| h.node_links(a, 0).unwrap().contains(&id))),
                Reach::Focus => assert_eq!(id, focus),
                Reach::Member => panic!("no members in a neighbourhood view"),
            }
        }
        assert!(v0.nodes.len() <= 1 + 12 + 12 * 12);
        let sampled = h.layer_view(0, None);
        assert_eq!(sampled.sampled, Some(SAMPLE_NODES));
        assert_eq!(sampled.unreachable, h.unreachable_nodes());
        assert_eq!(sampled.layer_nodes, 800);
    }

    #[test]
    fn a_large_upper_layer_shows_all_its_nodes_but_links_only_around_the_selection() {
        let (h, _) = small_index(12_000, 4);
        let members = h.layer_nodes(1);
        assert!(
            members.len() > WHOLE_LAYER_NODES,
            "{} on layer 1",
            members.len()
        );
        let sampled = h.layer_view(1, None);
        assert_eq!(sampled.sampled, Some(SAMPLE_NODES));
        assert_eq!(sampled.nodes.len(), members.len(), "every node as a point");
        assert!(sampled.edges.len() <= SAMPLE_NODES * 4);
        let focus = members[3];
        let around = h.layer_view(1, Some(focus));
        assert_eq!(around.sampled, None);
        assert_eq!(around.nodes[0], (focus, Reach::Focus));
        let hop1: HashSet<u32> = h.node_links(focus, 1).unwrap().into_iter().collect();
        // Every edge starts at the focus or one hop from it.
        for &(a, b) in &around.edges {
            assert!(a == focus || b == focus || hop1.contains(&a) || hop1.contains(&b));
        }
    }

    #[test]
    fn search_path_replays_the_search_and_explains_every_miss() {
        let (h, _) = small_index(2000, 4);
        let queries = random_dataset(40, 16, Metric::L2, 99);
        let mut reasons = HashMap::new();
        for qi in 0..queries.len() {
            let q = queries.row(qi);
            let path = h.explain_search(q, 10, SearchKnob::Ef(10)).unwrap();
            // The path's result is the index's own answer.
            let direct = h.search_ef(q, 10, 10, None);
            assert_eq!(path.trace.result.ids, direct.ids, "query {qi}");
            assert_eq!(path.truth.len(), 10);
            assert_eq!(
                path.steps.first().map(|s| s.layer),
                Some(h.layer_count() - 1)
            );
            assert_eq!(path.steps.last().map(|s| s.layer), Some(0));
            // Every step's expanded node was seen no later than that step.
            for (s, _) in path.steps.iter().enumerate() {
                let st = path.step(s).unwrap();
                assert!(path.seen_by(s).any(|id| id == st.expanded), "step {s}");
            }
            for t in &path.truth {
                assert_eq!(t.found, path.trace.result.ids.contains(&t.id));
                if let Some(r) = t.reason {
                    *reasons.entry(r).or_insert(0) += 1;
                    let l0_expanded: HashSet<u32> = path
                        .steps
                        .iter()
                        .enumerate()
                        .filter(|(_, p)| p.layer == 0)
                        .map(|(s, _)| path.step(s).unwrap().expanded)
                        .collect();
                    let l0_seen: HashSet<u32> = path
                        .steps
                        .iter()
                        .enumerate()
                        .filter(|(_, p)| p.layer == 0)
                        .flat_map(|(s, _)| path.step(s).unwrap().computed.iter().map(|c| c.0))
                        .chain(l0_expanded.iter().copied())
                        .collect();
                    assert!(
                        !l0_seen.contains(&t.id),
                        "a computed true neighbour was lost"
                    );
                    let linking: Vec<u32> = h
                        .layer_nodes(0)
                        .into_iter()
                        .filter(|&s| h.node_links(s, 0).unwrap().contains(&t.id))
                        .collect();
                    assert!(linking.iter().all(|s| !l0_expanded.contains(s)));
                    match r {
                        MissReason::NeverReached => {
                            assert!(
                                linking.iter().all(|s| !l0_seen.contains(s)),
                                "query {qi} id {}",
                                t.id
                            )
                        }
                        MissReason::PushedOut => {
                            let (via, _) = t.via.unwrap();
                            assert!(linking.contains(&via) && l0_seen.contains(&via));
                        }
                        MissReason::NoInLinks => assert!(linking.is_empty()),
                        MissReason::Tie => {}
                    }
                }
            }
        }
        // M = 4 and ef = 10 on 16-d uniform data misses often, in more than one way.
        assert!(reasons.len() >= 2, "reasons seen: {reasons:?}");
    }

    #[test]
    fn tombstones_are_drawn_walked_through_named_and_gone_after_cleanup() {
        use crate::index::AnnIndex;
        let (mut h, ds) = small_index(800, 6);
        // Delete the 80 nodes nearest to row 0 (a cluster), the entry
        // point's neighbourhood kept apart.
        let near = h.exact_top_k(ds.row(0), 80).unwrap();
        let gone: Vec<u32> = near
            .iter()
            .map(|n| n.0)
            .filter(|&id| id != h.entry_point())
            .collect();
        for &id in &gone {
            h.delete(id).unwrap();
        }
        assert!(gone.iter().all(|&id| h.is_tombstone(id)));
        // The snapshot is the same index: the same tombstones, answers, links.
        let copy = h.snapshot().unwrap();
        assert_eq!(copy.deleted_count(), gone.len());
        let params = crate::index::SearchParams::new(10).with_ef(64);
        assert_eq!(
            copy.search(ds.row(3), &params).unwrap().ids,
            h.search(ds.row(3), &params).unwrap().ids
        );
        // Layer 0 around a tombstone's live neighbour: the tombstones
        // drawn are named; none is a live node.
        let live_nb = h
            .layer_nodes(0)
            .into_iter()
            .find(|&id| {
                h.node_links(id, 0)
                    .unwrap()
                    .iter()
                    .any(|nb| gone.contains(nb))
            })
            .expect("a live node linking to a deleted one");
        let v = h.layer_view(0, Some(live_nb));
        assert!(!v.tombstones.is_empty());
        assert!(v.tombstones.iter().all(|t| gone.contains(t)));
        assert_eq!(v.layer_tombstones, gone.len());
        assert_eq!(v.layer_nodes, 800 - gone.len());
        // A search for row 0 walks into the deleted cluster and says so;
        // none of them is answered or counted in the truth.
        let path = h.explain_search(ds.row(0), 10, SearchKnob::Ef(64)).unwrap();
        assert!(!path.tombstones.is_empty());
        assert!(path.tombstones.iter().all(|t| gone.contains(t)));
        assert!(path.trace.result.ids.iter().all(|id| !gone.contains(id)));
        assert!(path.truth.iter().all(|t| !gone.contains(&t.id)));
        // After a cleanup: no tombstone anywhere.
        h.cleanup(&WorkContext::detached()).unwrap();
        assert!(gone.iter().all(|&id| !h.is_tombstone(id)));
        let v = h.layer_view(0, Some(live_nb));
        assert!(v.tombstones.is_empty() && v.layer_tombstones == 0);
        let path = h.explain_search(ds.row(0), 10, SearchKnob::Ef(64)).unwrap();
        assert!(path.tombstones.is_empty());
        assert!(path.first_seen.iter().all(|(id, _)| !gone.contains(id)));
    }
}
