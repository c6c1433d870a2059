//! Building the graph: random levels, parallel insertion with per-node
//! locks, the neighbour-selection heuristic (Algorithm 4 with
//! keepPrunedConnections). Changing it afterwards is in [`writes`].

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering, Ordering::Relaxed};
use std::sync::Mutex;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rayon::prelude::*;

mod writes;

use super::graph::Links;
use super::graph::Slot;
use super::search::{with_scratch, Direct, Everyone, Quiet, Scored, Scratch};
use super::space::{HalfSpace, Space};
use super::sq8::Sq8Space;
use super::BuildPrecision;
use super::{unknown_id, DynamicEf, Hnsw, HnswParams};
use crate::dataset::Dataset;
use crate::distance::{self, Metric};
use crate::error::{Error, Result};
use crate::index::{Precision, SearchStats};
use crate::progress::WorkContext;

/// Highest level drawn (the chance of exceeding it is negligible for M ≥ 2).
const MAX_LEVEL: u8 = 30;

/// A level from the paper's distribution: floor(−ln(U) · mL).
fn random_level(rng: &mut StdRng, mult: f64) -> u8 {
    let u: f64 = rng.random_range(f64::MIN_POSITIVE..1.0);
    ((-u.ln() * mult).floor() as u64).min(MAX_LEVEL as u64) as u8
}

/// What the threads of a build share besides the graph: one lock per node
/// that serialises changes to its lists, and the distance from each node to
/// each of its layer-0 links. Shrinking a full list (most reverse links,
/// with keepPrunedConnections keeping lists full) then needs no distance
/// from the node to its current links, only the heuristic's own.
struct BuildShared {
    locks: Vec<Mutex<()>>,
    /// `node * width + i`: distance to the i-th layer-0 link (f32 bits),
    /// valid for the list's current length; read and written under the
    /// node's lock.
    dist0: Vec<AtomicU32>,
    width: usize,
}

impl BuildShared {
    fn new(n: usize, m0: usize) -> Self {
        BuildShared {
            locks: (0..n).map(|_| Mutex::new(())).collect(),
            dist0: (0..n * m0).map(|_| AtomicU32::new(0)).collect(),
            width: m0,
        }
    }
    /// Locks alone, for linking a batch into a graph whose lists' distances
    /// were never cached.
    fn locks_only(n: usize) -> Self {
        BuildShared {
            locks: (0..n).map(|_| Mutex::new(())).collect(),
            dist0: Vec::new(),
            width: 0,
        }
    }
    fn caches(&self) -> bool {
        self.width > 0
    }
    fn lock(&self, node: Slot) -> std::sync::MutexGuard<'_, ()> {
        // A poisoned lock only means another insert panicked; the lists are
        // still valid u32s, so carry on.
        self.locks[node.idx()]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }
    fn set_dist(&self, node: Slot, i: usize, d: f32) {
        self.dist0[node.idx() * self.width + i].store(d.to_bits(), Relaxed);
    }
    fn dist(&self, node: Slot, i: usize) -> f32 {
        f32::from_bits(self.dist0[node.idx() * self.width + i].load(Relaxed))
    }
    fn set_dists(&self, node: Slot, list: &[Scored]) {
        for (i, c) in list.iter().enumerate() {
            self.set_dist(node, i, c.dist);
        }
    }
}

pub(super) fn build(dataset: &Dataset, mut params: HnswParams, ctx: &WorkContext) -> Result<Hnsw> {
    params.validate()?;
    let (n, dim, metric) = (dataset.len(), dataset.dim(), dataset.metric());
    if n == 0 {
        return Err(Error::InvalidParameter(format!(
            "{}: no vectors to index",
            dataset.display_name()
        )));
    }
    if n >= u32::MAX as usize {
        return Err(Error::InvalidParameter(format!(
            "{n} vectors exceed the u32 id space"
        )));
    }
    ctx.progress.stage("copying vectors", n as u64);
    let mut vectors = vec![0.0f32; n * dim];
    crate::hugepages::advise(&mut vectors);
    vectors
        .par_chunks_mut(dim * 1024)
        .enumerate()
        .try_for_each(|(c, out)| {
            ctx.cancel.check()?;
            for (j, row) in out.chunks_exact_mut(dim).enumerate() {
                row.copy_from_slice(dataset.row(c * 1024 + j));
                if metric == Metric::Cosine {
                    distance::normalize(row);
                }
            }
            ctx.progress.add((out.len() / dim) as u64);
            Ok::<_, Error>(())
        })?;

    let mut rng = StdRng::seed_from_u64(params.seed);
    let mult = params.level_mult();
    let levels: Vec<u8> = (0..n).map(|_| random_level(&mut rng, mult)).collect();
    // The first node with the highest level goes in first: the entry point
    // is then fixed for the whole build and needs no global lock.
    let entry = levels
        .iter()
        .enumerate()
        .max_by_key(|(i, &l)| (l, std::cmp::Reverse(*i)))
        .map_or(0, |(i, _)| i);
    let max_level = levels[entry] as usize;
    let entry = Slot(entry as u32);
    // A quantizer replaces the half-precision copy a search would walk.
    if !params.storage.quantizer.is_none() {
        params.storage.search = Precision::F32;
    }
    let index = Hnsw {
        dynamic_ef: DynamicEf::default(),
        metric,
        dim,
        vectors,
        ext_ids: (0..n as u32).collect(),
        slot_of: super::idmap::IdMap::default(),
        links: Links::new(levels, params.m),
        entry,
        max_level,
        deleted: vec![false; n],
        n_deleted: 0,
        free: Vec::new(),
        walk: None,
        codes: None,
        disk: None,
        built_on: None,
        params,
    };
    let shared = BuildShared::new(n, index.params.m0());
    let done = AtomicU64::new(1);
    if index.params.storage.build != BuildPrecision::F32
        || index.params.storage.search == Precision::F16
    {
        ctx.progress
            .stage("packing compact copies of the vectors", 0);
    }
    let sq8 = if index.params.storage.build == BuildPrecision::Sq8 {
        Sq8Space::try_new(&index)
    } else {
        None
    };
    // Data one shared 8-bit step cannot hold well is built from
    // half-precision copies instead (recorded below).
    let build_f16 = index.params.storage.build == BuildPrecision::F16
        || (index.params.storage.build == BuildPrecision::Sq8 && sq8.is_none());
    let half = if build_f16 || index.params.storage.search == Precision::F16 {
        HalfSpace::try_new(&index)
    } else {
        None
    };
    let build_half = half.as_ref().filter(|_| build_f16);
    ctx.progress
        .stage(&format!("linking nodes (layers 0–{max_level})"), n as u64);
    ctx.progress.set(1);
    let insert_one = |node: Slot| -> Result<()> {
        ctx.cancel.check()?;
        with_scratch(|s| match (&sq8, build_half) {
            (Some(q), _) => index.link_node(q, node, Some(&shared), s),
            (None, Some(h)) => index.link_node(h, node, Some(&shared), s),
            (None, None) => index.link_node(&index, node, Some(&shared), s),
        });
        let d = done.fetch_add(1, Ordering::Relaxed) + 1;
        if d.is_multiple_of(256) {
            ctx.progress.set(d);
        }
        Ok(())
    };
    if rayon::current_num_threads() == 1 {
        // Serial: nodes in id order, so a seed reproduces the graph exactly.
        (0..n as u32)
            .map(Slot)
            .filter(|&v| v != entry)
            .try_for_each(insert_one)?;
    } else {
        (0..n as u32)
            .into_par_iter()
            .map(Slot)
            .filter(|&v| v != entry)
            .try_for_each(insert_one)?;
    }
    ctx.progress.set(n as u64);
    let mut index = index;
    // Record what the build read and what searches walk (f16 may be
    // unavailable here).
    index.params.storage.build = match (&sq8, build_half) {
        (Some(_), _) => BuildPrecision::Sq8,
        (None, Some(_)) => BuildPrecision::F16,
        (None, None) => BuildPrecision::F32,
    };
    drop(sq8);
    index.params.storage.search = if half.is_some() && index.params.storage.search == Precision::F16
    {
        Precision::F16
    } else {
        Precision::F32
    };
    index.walk = half.filter(|_| index.params.storage.search == Precision::F16);
    index.slot_of = super::idmap::IdMap::identity(n);
    ctx.progress.stage("reconnecting unreachable nodes", 0);
    index.repair_unreachable();
    let quantizer = index.params.storage.quantizer;
    if !quantizer.is_none() {
        ctx.progress
            .stage(&format!("training and encoding {quantizer} codes"), 0);
        index.codes = Some(crate::index::quant::Codes::train(
            quantizer,
            &index.vectors,
            dim,
            metric,
            index.params.seed,
        )?);
    }
    Ok(index)
}

impl Hnsw {
    /// Algorithm 4: from candidates sorted nearest first, keep one only if it
    /// is nearer to the base than to every one kept so far; then, with
    /// keepPrunedConnections, fill up to `m` with the nearest pruned ones.
    fn select_neighbors<S: Space>(
        &self,
        space: &S,
        candidates: &[Scored],
        m: usize,
        out: &mut Vec<Scored>,
    ) {
        out.clear();
        if candidates.len() <= m {
            out.extend_from_slice(candidates);
            return;
        }
        thread_local! {
            /// The pruned candidates, reused: a build selects twice per
            /// link it makes.
            static PRUNED: std::cell::RefCell<Vec<Scored>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        PRUNED.with(|p| match p.try_borrow_mut() {
            Ok(mut pruned) => self.select_into(space, candidates, m, out, &mut pruned),
            Err(_) => self.select_into(space, candidates, m, out, &mut Vec::new()),
        });
    }

    fn select_into<S: Space>(
        &self,
        space: &S,
        candidates: &[Scored],
        m: usize,
        kept: &mut Vec<Scored>,
        pruned: &mut Vec<Scored>,
    ) {
        pruned.clear();
        let copy_tol = space.copy_tolerance();
        for &c in candidates {
            if kept.len() >= m {
                break;
            }
            // A candidate is redundant if a kept neighbour is nearer to it
            // than the base is. Copies (distance ~0 to a kept one and to the
            // base) are redundant too: otherwise a node with many copies
            // fills its whole list with them, and the copies become an island.
            let diverse = kept.iter().all(|k| {
                let d = space.dist_pair(c.id, k.id);
                let copy = copy_tol.is_some_and(|t| d <= t && c.dist <= t);
                d >= c.dist && !copy
            });
            if diverse {
                kept.push(c);
            } else {
                pruned.push(c);
            }
        }
        for &p in pruned.iter() {
            if kept.len() >= m {
                break;
            }
            kept.push(p);
        }
    }

    /// Links `node` into every layer up to its level (the paper's Algorithm 1).
    fn link_node<S: Space>(
        &self,
        space: &S,
        node: Slot,
        shared: Option<&BuildShared>,
        s: &mut Scratch,
    ) {
        let level = self.links.levels[node.idx()] as usize;
        let mut q = std::mem::take(&mut s.query);
        space.query(node, &mut q);
        let mut stats = SearchStats::default();
        let ep = self.descend(space, &q, level, s, &mut stats, &mut Quiet);
        let mut entries = vec![ep];
        let mut chosen = Vec::new();
        let mut cands: Vec<Scored> = Vec::new();
        for layer in (0..=level.min(self.max_level)).rev() {
            self.walk(
                space,
                &q,
                &entries,
                self.params.ef_construction,
                layer,
                &Everyone,
                &Direct,
                s,
                &mut stats,
                &mut Quiet,
            );
            cands.clear();
            cands.extend(s.top.drain().filter(|c| c.id != node));
            cands.sort_unstable();
            self.select_neighbors(space, &cands, self.params.m, &mut chosen);
            {
                let _g = shared.map(|b| b.lock(node));
                self.write_links(node, layer, &chosen, shared, s);
            }
            let m_max = if layer == 0 {
                self.params.m0()
            } else {
                self.params.m
            };
            for &nb in &chosen {
                // The distance is symmetric, to the bit: nb's to node is node's to nb.
                let back = Scored {
                    id: node,
                    dist: nb.dist,
                };
                self.add_reverse_link(space, nb.id, back, layer, m_max, shared, s);
            }
            entries.clear();
            entries.extend_from_slice(&cands);
        }
        s.query = q;
    }

    /// Replaces `node`'s list on `layer` (the caller holds its lock), and
    /// remembers the distances of a layer-0 list during a build.
    fn write_links(
        &self,
        node: Slot,
        layer: usize,
        list: &[Scored],
        shared: Option<&BuildShared>,
        s: &mut Scratch,
    ) {
        s.links.clear();
        s.links.extend(list.iter().map(|c| c.id));
        self.links.write(node, layer, &s.links);
        if let Some(b) = shared.filter(|b| layer == 0 && b.caches()) {
            b.set_dists(node, list);
        }
    }

    /// Adds `node` to `nb`'s list on `layer`, shrinking it with the heuristic
    /// when full.
    #[allow(clippy::too_many_arguments)]
    fn add_reverse_link<S: Space>(
        &self,
        space: &S,
        nb: Slot,
        node: Scored,
        layer: usize,
        m_max: usize,
        shared: Option<&BuildShared>,
        s: &mut Scratch,
    ) {
        let _g = shared.map(|b| b.lock(nb));
        self.links.read_into(nb, layer, &mut s.links);
        if s.links.contains(&node.id) {
            return;
        }
        let cached = shared.filter(|b| layer == 0 && b.caches());
        if s.links.len() < m_max {
            s.links.push(node.id);
            self.links.write(nb, layer, &s.links);
            if let Some(b) = cached {
                b.set_dist(nb, s.links.len() - 1, node.dist);
            }
            return;
        }
        let mut cands = std::mem::take(&mut s.shrink);
        cands.clear();
        cands.extend(s.links.iter().enumerate().map(|(i, &id)| Scored {
            dist: match cached {
                Some(b) => {
                    let d = b.dist(nb, i);
                    debug_assert_eq!(d.to_bits(), space.dist_pair(nb, id).to_bits());
                    d
                }
                None => space.dist_pair(nb, id),
            },
            id,
        }));
        cands.push(node);
        cands.sort_unstable();
        let mut kept = std::mem::take(&mut s.kept);
        self.select_neighbors(space, &cands, m_max, &mut kept);
        self.write_links(nb, layer, &kept, shared, s);
        // Back for the next shrink (no allocation per link).
        s.shrink = cands;
        s.kept = kept;
    }
}
