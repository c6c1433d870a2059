//! HFresh: posting lists with an HNSW over their centroids, after SPANN
//! (NeurIPS 2021), SPFresh ("Incremental In-Place Update for Billion-Scale
//! Vector Search", SOSP 2023) and Weaviate's HFresh index.
//!
//! Build: k-means (k-means++ seeds, sampled Lloyd iterations) into lists of
//! about half `max_posting_size`; each vector then joins up to `replicas`
//! lists by SPANN's closure rule (only centroids within (1 + ε) of its
//! nearest) and RNG rule (skip a centroid nearer to an already chosen one
//! than to the vector); lists over `max_posting_size` split with 2-means.
//! Centroids stay in RAM with an HNSW over them; the lists (vectors
//! included) live in a memory-mapped file (the `postings` module).
//!
//! Search: the `search_probe` nearest centroids through the HNSW, optionally
//! pruned to those within (1 + ε_q) of the nearest (SPANN's query-aware
//! pruning), then a scan of their lists, skipping replicas already scored.
//!
//! Updates in place (SPFresh's LIRE): an insert appends to its lists; a list
//! over the limit splits in two, then the vectors of the split list whose
//! old centroid was at least as close as both new ones, and the vectors of
//! the nearest neighbouring lists that are now closer to a new centroid
//! than to their own, are moved to their nearest lists. A list whose live
//! vectors fall below `min_posting_size` merges into its neighbours. A
//! delete is a tombstone; moving a vector bumps its version, so old copies
//! go stale; both are dropped when their list is next rewritten.

mod kmeans;
mod postings;
#[cfg(test)]
mod tests;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::topk::TopK;
use super::{check_query_dim, AnnIndex, IndexKind, MemoryUsage, Neighbors, ParamMap, SearchParams};
use crate::dataset::{Dataset, Vectors};
use crate::distance::{self, Metric};
use crate::error::{Error, Result};
use crate::index::{param_spec, Hnsw, HnswParams, SearchStats};
use crate::progress::WorkContext;
use postings::PostingStore;
pub use postings::Precision;

/// HFresh's build and search parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HFreshParams {
    /// A list over this many vectors splits in two.
    pub max_posting_size: usize,
    /// A vector joins at most this many lists (SPANN's boundary replicas).
    pub replicas: usize,
    /// Closure rule: a replica's centroid is at most (1 + ε) times as far
    /// as the nearest.
    pub epsilon: f32,
    /// Query-aware pruning: skip probed centroids farther than (1 + ε_q)
    /// times the nearest. None: probe exactly `search_probe` lists.
    pub query_epsilon: Option<f32>,
    /// A list whose live vectors fall below this merges into its neighbours.
    pub min_posting_size: usize,
    /// Lists probed when a search does not say.
    pub search_probe: usize,
    /// Neighbouring lists checked for reassignment after a split.
    pub reassign_neighbours: usize,
    /// How posting vectors are stored (f16 halves the bytes a scan reads).
    pub precision: Precision,
    pub seed: u64,
}

impl Default for HFreshParams {
    fn default() -> Self {
        HFreshParams {
            max_posting_size: param_spec::MAX_POSTING_SIZE.default,
            replicas: param_spec::REPLICAS.default,
            epsilon: param_spec::EPSILON.default,
            query_epsilon: None,
            min_posting_size: 8,
            search_probe: param_spec::SEARCH_PROBE.default,
            reassign_neighbours: 8,
            precision: Precision::default(),
            seed: 42,
        }
    }
}

impl HFreshParams {
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidParameter(m));
        param_spec::MAX_POSTING_SIZE.check(self.max_posting_size)?;
        param_spec::REPLICAS.check(self.replicas)?;
        param_spec::EPSILON.check(self.epsilon)?;
        if let Some(e) = self.query_epsilon {
            if !(e.is_finite() && e >= 0.0) {
                return bad(format!("query epsilon must be >= 0 (got {e})"));
            }
        }
        if self.min_posting_size * 2 > self.max_posting_size {
            return bad(format!(
                "min_posting_size ({}) must be at most half of max_posting_size ({})",
                self.min_posting_size, self.max_posting_size
            ));
        }
        param_spec::SEARCH_PROBE.check(self.search_probe)?;
        Ok(())
    }
}

/// What updates have done so far (for reports and tests).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct UpdateStats {
    pub splits: usize,
    pub merges: usize,
    /// Vectors moved to other lists by reassignment or merges.
    pub moved: usize,
    /// Lists rewritten without splitting (stale entries dropped).
    pub compactions: usize,
}

/// The HFresh index.
pub struct HFresh {
    params: HFreshParams,
    metric: Metric,
    dim: usize,
    /// List id → centroid (dim floats; stale for removed lists).
    centroids: Vec<f32>,
    alive: Vec<bool>,
    /// List id → live entries (valid version, not deleted).
    live: Vec<u32>,
    /// List id → may hold stale or deleted entries (checked while scanning;
    /// a clean list is scanned without looking at any per-vector table).
    dirty: Vec<bool>,
    live_lists: usize,
    centroid_index: Hnsw,
    store: PostingStore,
    /// Slot → external id, version, tombstone, and the lists holding it
    /// (`replicas` entries, `u32::MAX` when unused).
    ext_ids: Vec<u32>,
    versions: Vec<u32>,
    deleted: Vec<bool>,
    members: Vec<u32>,
    slot_of: HashMap<u32, u32>,
    n_live: usize,
    stats: UpdateStats,
}

const NO_LIST: u32 = u32::MAX;

/// Set in an entry's version word when the vector was placed in more than
/// one list: only such entries need the "already scored" check.
const REPLICATED: u32 = 1 << 31;

/// The version word of an entry: the slot's version and the replica flag.
fn header(version: u32, lists: usize) -> u32 {
    version | if lists > 1 { REPLICATED } else { 0 }
}

impl HFresh {
    /// Builds over `dataset` (ids are its row numbers).
    pub fn build(dataset: &Dataset, params: HFreshParams, ctx: &WorkContext) -> Result<Self> {
        let ids: Vec<u32> = (0..dataset.len() as u32).collect();
        Self::build_with_ids(dataset, &ids, params, ctx)
    }

    /// Builds on the first `fraction` of `dataset`, then inserts the rest
    /// one by one: how in-place updates are measured.
    pub fn build_then_insert(
        dataset: &Dataset,
        params: HFreshParams,
        fraction: f64,
        ctx: &WorkContext,
    ) -> Result<Self> {
        let n = dataset.len();
        let first = ((n as f64 * fraction).round() as usize).clamp(1, n);
        let rows: Vec<usize> = (0..first).collect();
        let part = dataset.subset(dataset.name().to_string(), &rows);
        let mut h = HFresh::build(&part, params, ctx)?;
        ctx.progress.stage("inserting the rest", (n - first) as u64);
        for i in first..n {
            ctx.cancel.check()?;
            h.insert(i as u32, dataset.row(i))?;
            ctx.progress.add(1);
        }
        Ok(h)
    }

    /// Builds over `dataset`, row `i` having external id `ids[i]`.
    pub fn build_with_ids(
        dataset: &Dataset,
        ids: &[u32],
        params: HFreshParams,
        ctx: &WorkContext,
    ) -> Result<Self> {
        params.validate()?;
        let metric = dataset.metric();
        if metric == Metric::InnerProduct {
            return Err(Error::InvalidParameter(
                "HFresh supports cosine and l2 (as Weaviate's HFresh does), not inner product"
                    .into(),
            ));
        }
        let (n, dim) = (dataset.len(), dataset.dim());
        if n == 0 {
            return Err(Error::InvalidParameter(format!(
                "{}: no vectors to build HFresh on",
                dataset.display_name()
            )));
        }
        if ids.len() != n {
            return Err(Error::Mismatch(format!(
                "{} ids for {n} vectors",
                ids.len()
            )));
        }
        // Vectors as the metric compares them (unit length under cosine).
        ctx.progress.stage("preparing vectors", 1);
        let mut data = Vec::with_capacity(n * dim);
        for r in dataset.vectors().rows() {
            let start = data.len();
            data.extend_from_slice(r);
            if metric == Metric::Cosine {
                distance::normalize(&mut data[start..]);
            }
        }
        let data = Vectors::from_vec(data, dim)?;
        let k0 = n.div_ceil((params.max_posting_size / 2).max(1)).max(1);
        let centroids = kmeans::kmeans(
            &data,
            k0,
            metric,
            8,
            (64 * k0).clamp(10_000, 50_000),
            params.seed,
            ctx,
        )?;
        let k0 = centroids.len() / dim;
        // Assignment with replicas, from the exact nearest centroids.
        let m = (params.replicas * 4).min(k0);
        ctx.progress.stage("assigning replicas", 1);
        let near = kmeans::nearest_centroids(&data, &centroids, dim, metric, m, ctx)?;
        let mut lists: Vec<Vec<u32>> = vec![Vec::new(); k0];
        let mut members = vec![NO_LIST; n * params.replicas];
        for (slot, cands) in near.iter().enumerate() {
            let chosen = choose_lists(&params, metric, dim, &centroids, cands);
            for (j, &l) in chosen.iter().enumerate() {
                lists[l as usize].push(slot as u32);
                members[slot * params.replicas + j] = l;
            }
        }
        // Split oversized lists with 2-means until every list fits.
        ctx.progress.stage("splitting large lists", 1);
        let mut centroids = centroids;
        let mut work: Vec<usize> = (0..lists.len()).collect();
        let mut seed = params.seed;
        while let Some(l) = work.pop() {
            if lists[l].len() <= params.max_posting_size {
                continue;
            }
            ctx.cancel.check()?;
            seed = seed.wrapping_add(1);
            let rows: Vec<&[f32]> = lists[l].iter().map(|&s| data.row(s as usize)).collect();
            let (ca, cb, side) = kmeans::two_means(&rows, metric, seed);
            let new = lists.len();
            let (mut stay, mut go) = (Vec::new(), Vec::new());
            for (&s, &to_b) in lists[l].iter().zip(&side) {
                if to_b {
                    go.push(s)
                } else {
                    stay.push(s)
                }
            }
            for &s in &go {
                for m in &mut members[s as usize * params.replicas..][..params.replicas] {
                    if *m == l as u32 {
                        *m = new as u32;
                    }
                }
            }
            centroids[l * dim..(l + 1) * dim].copy_from_slice(&ca);
            centroids.extend_from_slice(&cb);
            lists[l] = stay;
            lists.push(go);
            work.push(l);
            work.push(new);
        }
        // Write the lists.
        ctx.progress
            .stage("writing posting lists", lists.len() as u64);
        let total: usize = lists
            .iter()
            .map(|l| l.len().next_power_of_two().max(8))
            .sum();
        let mut store = PostingStore::new(dim, total, params.precision)?;
        let mut alive = Vec::with_capacity(lists.len());
        let mut live = Vec::with_capacity(lists.len());
        let r = params.replicas;
        let copies = |s: u32| {
            members[s as usize * r..(s as usize + 1) * r]
                .iter()
                .filter(|&&m| m != NO_LIST)
                .count()
        };
        for l in &lists {
            let id = store.create(l.len())?;
            for &s in l {
                store.push(id, s, header(0, copies(s)), data.row(s as usize))?;
            }
            alive.push(!l.is_empty());
            live.push(l.len() as u32);
            if l.is_empty() {
                store.remove(id);
            }
        }
        // The HNSW over the (non-empty) lists' centroids.
        ctx.progress.stage("indexing centroids", 1);
        let list_ids: Vec<u32> = (0..lists.len() as u32)
            .filter(|&l| alive[l as usize])
            .collect();
        let mut cdata = Vec::with_capacity(list_ids.len() * dim);
        for &l in &list_ids {
            cdata.extend_from_slice(&centroids[l as usize * dim..(l as usize + 1) * dim]);
        }
        let cset = Dataset::from_vec("centroids", cdata, dim, metric)?;
        let centroid_index = Hnsw::build_with_ids(&cset, &list_ids, centroid_hnsw(&params), ctx)?;
        let slot_of = ids
            .iter()
            .enumerate()
            .map(|(s, &e)| (e, s as u32))
            .collect::<HashMap<_, _>>();
        if slot_of.len() != n {
            return Err(Error::InvalidParameter("an id appears twice".into()));
        }
        Ok(HFresh {
            live_lists: list_ids.len(),
            params,
            metric,
            dim,
            centroids,
            dirty: vec![false; alive.len()],
            alive,
            live,
            centroid_index,
            store,
            ext_ids: ids.to_vec(),
            versions: vec![0; n],
            deleted: vec![false; n],
            members,
            slot_of,
            n_live: n,
            stats: UpdateStats::default(),
        })
    }

    pub fn hfresh_params(&self) -> &HFreshParams {
        &self.params
    }

    /// Posting lists in use.
    pub fn list_count(&self) -> usize {
        self.live_lists
    }

    /// Live vectors of each list in use (for the size histogram).
    pub fn list_sizes(&self) -> Vec<usize> {
        (0..self.alive.len())
            .filter(|&l| self.alive[l])
            .map(|l| self.live[l] as usize)
            .collect()
    }

    /// Each vector's primary list (its nearest centroid when assigned), by
    /// external id below `n` (`u32::MAX`: none): colours the projection.
    pub fn primary_list_by_id(&self, n: usize) -> Vec<u32> {
        let mut out = vec![NO_LIST; n];
        for (slot, &ext) in self.ext_ids.iter().enumerate() {
            if (ext as usize) < n && !self.deleted[slot] {
                out[ext as usize] = self.members[slot * self.params.replicas];
            }
        }
        out
    }

    /// Lists each live vector is in, on average.
    pub fn mean_replicas(&self) -> f64 {
        let r = self.params.replicas;
        let (mut sum, mut n) = (0usize, 0usize);
        for slot in 0..self.ext_ids.len() {
            if !self.deleted[slot] {
                n += 1;
                sum += self.members[slot * r..(slot + 1) * r]
                    .iter()
                    .filter(|&&m| m != NO_LIST)
                    .count();
            }
        }
        if n == 0 {
            0.0
        } else {
            sum as f64 / n as f64
        }
    }

    pub fn update_stats(&self) -> UpdateStats {
        self.stats
    }

    fn centroid(&self, list: u32) -> &[f32] {
        &self.centroids[list as usize * self.dim..(list as usize + 1) * self.dim]
    }

    fn prepare(&self, v: &[f32]) -> Vec<f32> {
        let mut q = v.to_vec();
        if self.metric == Metric::Cosine {
            distance::normalize(&mut q);
        }
        q
    }

    /// The nearest lists of a prepared vector, through the centroid HNSW.
    fn nearest_lists(&self, q: &[f32], m: usize, ef: usize) -> Result<Neighbors> {
        let m = m.min(self.live_lists).max(1);
        self.centroid_index
            .search(q, &SearchParams::new(m).with_ef(ef.max(m)))
    }

    fn search_prepared(
        &self,
        q: &[f32],
        k: usize,
        probe: usize,
        filter: Option<&super::AllowList>,
    ) -> Result<Neighbors> {
        // Centroid search list: twice the probe, at least 48 (measured: a
        // smaller list saves few distances and costs recall).
        let lists = self.nearest_lists(q, probe, (2 * probe).max(48))?;
        let mut stats = SearchStats {
            dist_comps: lists.stats.dist_comps,
            hops: 0,
        };
        let limit = match (self.params.query_epsilon, lists.distances.first()) {
            (Some(e), Some(&d1)) => pruning_limit(self.metric, d1, e),
            _ => f32::INFINITY,
        };
        let mut top = TopK::new(k);
        let kernel = self.store.kernel(self.metric);
        let stride = self.store.stride();
        for (&l, &d) in lists.ids.iter().zip(&lists.distances) {
            if d > limit {
                break;
            }
            stats.hops += 1;
            let dirty = self.dirty[l as usize];
            // The loop touches only the list's own bytes, except for lists
            // with stale entries, filters, and candidates entering the top-k:
            // per-vector tables are random accesses, each a likely cache miss.
            for e in self.store.list_words(l).chunks_exact(stride) {
                let (slot, head, v) = (e[0], e[1], &e[2..]);
                let s = slot as usize;
                if dirty && (self.deleted[s] || self.versions[s] != head & !REPLICATED) {
                    continue;
                }
                if filter.is_some_and(|f| !f.contains(self.ext_ids[s])) {
                    continue;
                }
                let dist = kernel(q, v);
                stats.dist_comps += 1;
                if dist < top.threshold() {
                    let ext = self.ext_ids[s];
                    // A replica met again has the same distance: keep one.
                    if head & REPLICATED != 0 && top.contains(ext) {
                        continue;
                    }
                    top.push(dist, ext);
                }
            }
        }
        let (ids, distances) = top.into_sorted();
        Ok(Neighbors {
            ids,
            distances,
            stats,
        })
    }

    // ---- updates ----

    /// Lists for a prepared vector by the closure and RNG rules.
    fn assign(&self, v: &[f32]) -> Result<Vec<u32>> {
        let m = (self.params.replicas * 4).min(self.live_lists);
        let near = self.nearest_lists(v, m, 64)?;
        let cands: Vec<(u32, f32)> = near.ids.into_iter().zip(near.distances).collect();
        Ok(choose_lists(
            &self.params,
            self.metric,
            self.dim,
            &self.centroids,
            &cands,
        ))
    }

    /// Writes a slot's current version into `lists`, recording membership.
    fn place(&mut self, slot: u32, v: &[f32], lists: &[u32]) -> Result<Vec<u32>> {
        let r = self.params.replicas;
        let head = header(self.versions[slot as usize], lists.len());
        let mut grown = Vec::new();
        for (j, &l) in lists.iter().enumerate() {
            self.store.push(l, slot, head, v)?;
            self.members[slot as usize * r + j] = l;
            self.live[l as usize] += 1;
            if self.store.len(l) > self.params.max_posting_size {
                grown.push(l);
            }
        }
        Ok(grown)
    }

    /// Forgets a slot's current copies (their entries go stale).
    fn unplace(&mut self, slot: u32) -> Vec<u32> {
        let r = self.params.replicas;
        let mut shrunk = Vec::new();
        for j in 0..r {
            let m = std::mem::replace(&mut self.members[slot as usize * r + j], NO_LIST);
            if m != NO_LIST {
                self.live[m as usize] = self.live[m as usize].saturating_sub(1);
                self.dirty[m as usize] = true;
                shrunk.push(m);
            }
        }
        shrunk
    }

    /// Inserts a vector with a new external id.
    pub fn insert(&mut self, ext: u32, vector: &[f32]) -> Result<()> {
        check_query_dim(self.dim, vector)?;
        if vector.iter().any(|x| !x.is_finite()) {
            return Err(Error::InvalidParameter(format!(
                "vector {ext} has a NaN or infinite value"
            )));
        }
        if let Some(&s) = self.slot_of.get(&ext) {
            if !self.deleted[s as usize] {
                return Err(Error::InvalidParameter(format!(
                    "id {ext} is already in the index"
                )));
            }
        }
        let v = self.prepare(vector);
        let slot = self.ext_ids.len() as u32;
        self.ext_ids.push(ext);
        self.versions.push(0);
        self.deleted.push(false);
        self.members
            .extend(std::iter::repeat_n(NO_LIST, self.params.replicas));
        self.slot_of.insert(ext, slot);
        self.n_live += 1;
        let lists = self.assign(&v)?;
        let grown = self.place(slot, &v, &lists)?;
        self.maintain(grown, Vec::new())
    }

    /// Deletes a vector: a tombstone now, dropped from its lists when they
    /// are next rewritten; a list left too small merges into its neighbours.
    pub fn delete(&mut self, ext: u32) -> Result<()> {
        let slot = match self.slot_of.get(&ext) {
            Some(&s) if !self.deleted[s as usize] => s,
            _ => return Err(crate::index::hnsw::unknown_id(ext)),
        };
        self.deleted[slot as usize] = true;
        self.n_live -= 1;
        let shrunk = self.unplace(slot);
        self.maintain(Vec::new(), shrunk)
    }

    /// Replaces a vector: a delete and an insert under the same id.
    pub fn update(&mut self, ext: u32, vector: &[f32]) -> Result<()> {
        self.delete(ext)?;
        self.insert(ext, vector)
    }

    /// Splits lists that grew past the limit and merges lists that shrank
    /// below the minimum, until none is left (bounded, so a pathological
    /// cascade cannot run away).
    fn maintain(&mut self, mut grown: Vec<u32>, mut shrunk: Vec<u32>) -> Result<()> {
        let mut budget = 64 + 4 * (grown.len() + shrunk.len());
        while budget > 0 {
            budget -= 1;
            if let Some(l) = grown.pop() {
                if self.alive[l as usize] && self.store.len(l) > self.params.max_posting_size {
                    let (g, s) = self.split(l)?;
                    grown.extend(g);
                    shrunk.extend(s);
                }
                continue;
            }
            if let Some(l) = shrunk.pop() {
                if self.alive[l as usize]
                    && (self.live[l as usize] as usize) < self.params.min_posting_size
                    && self.live_lists > 1
                {
                    let (g, s) = self.merge(l)?;
                    grown.extend(g);
                    shrunk.extend(s);
                } else if self.alive[l as usize]
                    && (self.store.len(l) - self.live[l as usize] as usize) * 8 > self.store.len(l)
                {
                    // Over an eighth stale: rewrite it now rather than make
                    // every scan check (and read) the dead entries.
                    self.compact(l)?;
                }
                continue;
            }
            break;
        }
        Ok(())
    }

    /// Rewrites a list with its live entries only: tombstones and moved
    /// copies go, and the list scans clean again.
    fn compact(&mut self, list: u32) -> Result<()> {
        let keep: Vec<usize> = self
            .store
            .entries(list)
            .enumerate()
            .filter(|(_, (s, head, _))| self.is_live(*s, *head))
            .map(|(i, _)| i)
            .collect();
        self.store.retain(list, &keep)?;
        self.dirty[list as usize] = false;
        self.stats.compactions += 1;
        Ok(())
    }

    /// Whether an entry is current (its vector neither deleted nor moved).
    fn is_live(&self, slot: u32, head: u32) -> bool {
        !self.deleted[slot as usize] && self.versions[slot as usize] == head & !REPLICATED
    }

    /// Live entries of a list: (slot, version word, vector copy).
    fn live_entries(&self, list: u32) -> Vec<(u32, u32, Vec<f32>)> {
        self.store
            .entries(list)
            .filter(|&(s, head, _)| self.is_live(s, head))
            .map(|(s, head, v)| (s, head, self.store.decode(v)))
            .collect()
    }

    /// Moves a slot to the lists it belongs in now (new version).
    fn relocate(&mut self, slot: u32, v: &[f32]) -> Result<(Vec<u32>, Vec<u32>)> {
        self.versions[slot as usize] = self.versions[slot as usize].wrapping_add(1) & !REPLICATED;
        let shrunk = self.unplace(slot);
        let lists = self.assign(v)?;
        let grown = self.place(slot, v, &lists)?;
        self.stats.moved += 1;
        Ok((grown, shrunk))
    }

    fn add_list(&mut self, centroid: &[f32]) -> Result<u32> {
        let id = self.store.create(self.params.max_posting_size / 2)?;
        debug_assert_eq!(id as usize, self.alive.len());
        self.centroids.extend_from_slice(centroid);
        self.alive.push(true);
        self.live.push(0);
        self.dirty.push(false);
        self.live_lists += 1;
        self.centroid_index.insert(id, centroid)?;
        Ok(id)
    }

    fn drop_list(&mut self, list: u32) -> Result<()> {
        self.store.remove(list);
        self.alive[list as usize] = false;
        self.live[list as usize] = 0;
        self.live_lists -= 1;
        self.centroid_index.delete(list)?;
        // Every split and merge leaves a tombstone in the centroid graph;
        // clean up once they are a quarter of it, so searches do not slow.
        let dead = self.centroid_index.deleted_count();
        if dead >= 64 && dead * 4 >= self.live_lists {
            self.centroid_index.cleanup(&WorkContext::detached())?;
        }
        Ok(())
    }

    /// Splits `list` in two with 2-means (or only compacts it, if stale
    /// entries were what made it long), then reassigns (LIRE).
    fn split(&mut self, list: u32) -> Result<(Vec<u32>, Vec<u32>)> {
        let entries = self.live_entries(list);
        if entries.len() <= self.params.max_posting_size {
            self.compact(list)?;
            return Ok((Vec::new(), Vec::new()));
        }
        self.stats.splits += 1;
        let old = self.centroid(list).to_vec();
        let rows: Vec<&[f32]> = entries.iter().map(|(_, _, v)| v.as_slice()).collect();
        let seed = self.params.seed.wrapping_add(self.stats.splits as u64);
        let (ca, cb, side) = kmeans::two_means(&rows, self.metric, seed);
        let a = self.add_list(&ca)?;
        let b = self.add_list(&cb)?;
        let r = self.params.replicas;
        // Re-home the entries (same version: they are not moving far).
        for ((slot, head, v), &to_b) in entries.iter().zip(&side) {
            let target = if to_b { b } else { a };
            self.store.push(target, *slot, *head, v)?;
            self.live[target as usize] += 1;
            for m in &mut self.members[*slot as usize * r..][..r] {
                if *m == list {
                    *m = target;
                }
            }
        }
        self.drop_list(list)?;
        let (mut grown, mut shrunk) = (Vec::new(), Vec::new());
        let metric = self.metric;
        // LIRE 1: vectors of the split list that may now belong elsewhere.
        for (slot, _, v) in &entries {
            let d_old = metric.prepared_distance(v, &old);
            if d_old <= metric.prepared_distance(v, &ca)
                && d_old <= metric.prepared_distance(v, &cb)
            {
                let nearest = self.nearest_lists(v, 1, 32)?;
                if let Some(&l) = nearest.ids.first() {
                    if l != a && l != b {
                        let (g, s) = self.relocate(*slot, v)?;
                        grown.extend(g);
                        shrunk.extend(s);
                    }
                }
            }
        }
        // LIRE 2: vectors of neighbouring lists now closer to a new centroid.
        let near = self.nearest_lists(&old, self.params.reassign_neighbours + 2, 64)?;
        for &l in &near.ids {
            if l == a || l == b || !self.alive[l as usize] {
                continue;
            }
            let own = self.centroid(l).to_vec();
            for (slot, _, v) in self.live_entries(l) {
                let d_own = metric.prepared_distance(&v, &own);
                let d_new = metric
                    .prepared_distance(&v, &ca)
                    .min(metric.prepared_distance(&v, &cb));
                if d_new < d_own {
                    let (g, s) = self.relocate(slot, &v)?;
                    grown.extend(g);
                    shrunk.extend(s);
                }
            }
        }
        grown.extend([a, b]);
        Ok((grown, shrunk))
    }

    /// Dissolves `list`: its live vectors move to their nearest other lists.
    fn merge(&mut self, list: u32) -> Result<(Vec<u32>, Vec<u32>)> {
        self.stats.merges += 1;
        let entries = self.live_entries(list);
        self.drop_list(list)?;
        let (mut grown, mut shrunk) = (Vec::new(), Vec::new());
        for (slot, _, v) in entries {
            let (g, s) = self.relocate(slot, &v)?;
            grown.extend(g);
            shrunk.extend(s.into_iter().filter(|&l| l != list));
        }
        Ok((grown, shrunk))
    }
}

/// Closure and RNG rules over candidate lists sorted by distance.
fn choose_lists(
    params: &HFreshParams,
    metric: Metric,
    dim: usize,
    centroids: &[f32],
    cands: &[(u32, f32)],
) -> Vec<u32> {
    let Some(&(first, d1)) = cands.first() else {
        return Vec::new();
    };
    let cent = |l: u32| &centroids[l as usize * dim..(l as usize + 1) * dim];
    let limit = pruning_limit(metric, d1, params.epsilon);
    let mut chosen = vec![first];
    for &(l, d) in &cands[1..] {
        if chosen.len() >= params.replicas || d > limit {
            break;
        }
        // RNG rule: a centroid nearer to a chosen one than to the vector
        // would hold a near copy of a list it is already in.
        if chosen
            .iter()
            .any(|&c| metric.prepared_distance(cent(c), cent(l)) < d)
        {
            continue;
        }
        chosen.push(l);
    }
    chosen
}

/// The largest distance within (1 + ε) of `d1`, in the metric's own terms
/// (squared under L2, so the ratio applies to the true distance).
fn pruning_limit(metric: Metric, d1: f32, eps: f32) -> f32 {
    match metric {
        Metric::L2 => d1 * (1.0 + eps) * (1.0 + eps),
        _ => d1 * (1.0 + eps),
    }
}

fn centroid_hnsw(params: &HFreshParams) -> HnswParams {
    HnswParams {
        m: 16,
        ef_construction: 200,
        seed: params.seed,
        // A few thousand centroids fit in cache: halves would gain nothing.
        build_precision: super::hnsw::BuildPrecision::F32,
        search_precision: crate::index::Precision::F32,
    }
}

impl AnnIndex for HFresh {
    fn kind(&self) -> IndexKind {
        IndexKind::Hfresh
    }
    fn posting_lists(&self) -> Option<&HFresh> {
        Some(self)
    }
    fn len(&self) -> usize {
        self.n_live
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn metric(&self) -> Metric {
        self.metric
    }
    fn search(&self, query: &[f32], params: &SearchParams) -> Result<Neighbors> {
        check_query_dim(self.dim, query)?;
        let probe = params.knob.effective_probe(self.params.search_probe)?;
        if probe > self.live_lists {
            return Err(Error::InvalidParameter(format!(
                "search_probe {probe} is larger than the {} posting lists",
                self.live_lists
            )));
        }
        if params.k == 0 {
            return Ok(Neighbors::default());
        }
        let q = self.prepare(query);
        self.search_prepared(&q, params.k, probe, params.filter.as_deref())
    }
    fn memory(&self) -> MemoryUsage {
        let hnsw = self.centroid_index.memory().ram_bytes;
        let per_slot = self.ext_ids.capacity() * 4
            + self.versions.capacity() * 4
            + self.deleted.capacity()
            + self.members.capacity() * 4
            + self.slot_of.capacity() * 12;
        let lists = self.centroids.capacity() * 4
            + self.alive.capacity()
            + self.dirty.capacity()
            + self.live.capacity() * 4;
        MemoryUsage {
            ram_bytes: hnsw + per_slot as u64 + lists as u64 + self.store.table_bytes(),
            disk_bytes: self.store.disk_bytes(),
        }
    }
    fn params(&self) -> ParamMap {
        let mut p = ParamMap::new();
        p.insert(
            "max_posting_size".into(),
            self.params.max_posting_size.into(),
        );
        p.insert("replicas".into(), self.params.replicas.into());
        // f32 parameters shown as typed (0.1, not 0.10000000149).
        let shown = |x: f32| (x as f64 * 1e6).round() / 1e6;
        p.insert("epsilon".into(), shown(self.params.epsilon).into());
        if let Some(e) = self.params.query_epsilon {
            p.insert("query_epsilon".into(), shown(e).into());
        }
        p.insert("lists".into(), self.live_lists.into());
        p.insert("precision".into(), self.params.precision.name().into());
        p
    }
}
