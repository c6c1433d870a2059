//! The views' explanations tested on small seeded graphs: node details,
//! layer views, traced searches, tombstones.

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
