//! The dynamic index (Weaviate's `dynamic`, Deep Lake's `threshold`): flat
//! while small, HNSW once the collection passes a threshold.
//!
//! Vectors arrive as a stream of inserts. While the count is at or below
//! `threshold`, queries scan them exactly. The insert that passes the
//! threshold starts an HNSW build in the background over a snapshot of the
//! vectors so far; queries keep scanning the flat store and inserts keep
//! appending to it. The builder then catches up with what arrived meanwhile
//! and swaps: it closes a gate that inserts pass through (they wait a moment;
//! queries never do), adds the last stragglers, installs the HNSW and flips
//! the switch. The switch is one-way, as in Weaviate.

pub mod family;
pub mod live;
mod persist;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use super::hnsw::{DynamicEf, Hnsw, HnswParams};
use super::topk::TopK;
use super::{
    check_query_dim, AnnIndex, IndexKind, MemoryUsage, Neighbors, ParamMap, SearchParams,
    SearchStats,
};
use crate::dataset::Dataset;
use crate::distance::{self, Metric};
use crate::error::{Error, Result};
use crate::progress::WorkContext;

/// When to switch and what to switch to.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DynamicConfig {
    /// The flat index serves up to this many vectors; the next insert
    /// starts the HNSW build. Default 10,000 (Weaviate's default).
    pub threshold: usize,
    pub hnsw: HnswParams,
}

impl Default for DynamicConfig {
    fn default() -> Self {
        DynamicConfig {
            threshold: crate::index::param_spec::THRESHOLD.default,
            hnsw: HnswParams::default(),
        }
    }
}

impl DynamicConfig {
    pub fn validate(&self) -> Result<()> {
        if self.threshold < crate::index::param_spec::THRESHOLD.min {
            return Err(Error::InvalidParameter(
                "threshold = 0: the dynamic index needs at least one vector before it switches to HNSW".into(),
            ));
        }
        if self.hnsw.storage.vectors != crate::index::VectorPlace::Ram {
            return Err(Error::InvalidParameter(
                "the dynamic index takes inserts, which need its vectors in RAM: use --vectors ram"
                    .into(),
            ));
        }
        self.hnsw.validate()
    }
}

/// Vectors inserted so far, in order, with tombstones.
#[derive(Default)]
struct FlatStore {
    /// Row-major, unit length under cosine.
    vectors: Vec<f32>,
    ids: Vec<u32>,
    id_set: HashSet<u32>,
    deleted: HashSet<u32>,
}

/// Where the index is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DynamicState {
    Flat,
    BuildingHnsw,
    Switched { at: usize },
}

/// A flat index that becomes an HNSW index past a threshold.
pub struct DynamicIndex {
    config: DynamicConfig,
    dynamic_ef: DynamicEf,
    metric: Metric,
    dim: usize,
    flat: RwLock<FlatStore>,
    hnsw: RwLock<Option<Hnsw>>,
    switched: AtomicBool,
    building: AtomicBool,
    /// The count at which the switch started (the insert that passed the threshold).
    switched_at: AtomicUsize,
    /// Inserts and deletes pass through here; the swap holds it.
    gate: Mutex<()>,
    builder: Mutex<Option<std::thread::JoinHandle<Result<()>>>>,
    live: AtomicUsize,
    /// The base it was built on (see [`crate::index::check_base`]).
    built_on: Option<crate::index::BuiltOn>,
}

impl DynamicIndex {
    /// An empty index for vectors of `dim` under `metric`.
    pub fn new(config: DynamicConfig, dim: usize, metric: Metric) -> Result<Arc<Self>> {
        config.validate()?;
        if dim == 0 {
            return Err(Error::InvalidParameter("dimension 0".into()));
        }
        Ok(Arc::new(DynamicIndex {
            config,
            dynamic_ef: DynamicEf::default(),
            metric,
            dim,
            flat: RwLock::new(FlatStore::default()),
            hnsw: RwLock::new(None),
            switched: AtomicBool::new(false),
            building: AtomicBool::new(false),
            switched_at: AtomicUsize::new(0),
            gate: Mutex::new(()),
            builder: Mutex::new(None),
            live: AtomicUsize::new(0),
            built_on: None,
        }))
    }

    /// Inserts the dataset's rows in order (ids = row numbers), as a stream,
    /// then waits for a switch it started to finish.
    pub fn from_dataset(
        dataset: &Dataset,
        config: DynamicConfig,
        ctx: &WorkContext,
    ) -> Result<Arc<Self>> {
        let mut index = Self::new(config, dataset.dim(), dataset.metric())?;
        if let Some(me) = Arc::get_mut(&mut index) {
            me.built_on = Some(crate::index::BuiltOn::of(dataset));
        }
        ctx.progress
            .stage("inserting in order", dataset.len() as u64);
        for (i, row) in dataset.vectors().rows().enumerate() {
            if i % 1024 == 0 {
                ctx.cancel.check()?;
                ctx.progress.set(i as u64);
            }
            index.insert(i as u32, row)?;
        }
        ctx.progress.stage("waiting for the HNSW switch", 0);
        index.wait_for_switch()?;
        Ok(index)
    }

    pub fn config(&self) -> &DynamicConfig {
        &self.config
    }

    pub fn state(&self) -> DynamicState {
        if self.switched.load(Ordering::Acquire) {
            DynamicState::Switched {
                at: self.switched_at.load(Ordering::Relaxed),
            }
        } else if self.building.load(Ordering::Acquire) {
            DynamicState::BuildingHnsw
        } else {
            DynamicState::Flat
        }
    }

    /// Blocks until a started background build has swapped in (or failed).
    pub fn wait_for_switch(&self) -> Result<()> {
        let handle = self
            .builder
            .lock()
            .map_err(|_| Error::Internal("builder lock".into()))?
            .take();
        match handle {
            Some(h) => h
                .join()
                .map_err(|_| Error::Internal("the HNSW build panicked".into()))?,
            None => Ok(()),
        }
    }

    fn prepare(&self, v: &[f32]) -> Vec<f32> {
        let mut q = v.to_vec();
        if self.metric == Metric::Cosine {
            distance::normalize(&mut q);
        }
        q
    }

    /// Adds a vector under `id`. The insert that passes the threshold starts
    /// the background HNSW build.
    pub fn insert(self: &Arc<Self>, id: u32, vector: &[f32]) -> Result<()> {
        check_query_dim(self.dim, vector)?;
        if let Some((i, v)) = vector.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(Error::InvalidParameter(format!(
                "vector for id {id}: value {v} at column {i} is not finite"
            )));
        }
        let _g = self
            .gate
            .lock()
            .map_err(|_| Error::Internal("insert gate".into()))?;
        if self.switched.load(Ordering::Acquire) {
            self.with_switched_hnsw(|h| h.insert(id, vector))?;
            self.live.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        let count = {
            let mut f = self
                .flat
                .write()
                .map_err(|_| Error::Internal("flat lock".into()))?;
            if f.deleted.contains(&id) {
                return Err(Error::InvalidParameter(format!(
                    "id {id} was deleted while the index is flat: it can be inserted again after a cleanup (or once the index is HNSW)"
                )));
            }
            if !f.id_set.insert(id) {
                return Err(Error::InvalidParameter(format!(
                    "id {id} is already in the index"
                )));
            }
            let v = self.prepare(vector);
            f.vectors.extend_from_slice(&v);
            f.ids.push(id);
            f.ids.len()
        };
        self.live.fetch_add(1, Ordering::Relaxed);
        if count > self.config.threshold && !self.building.swap(true, Ordering::AcqRel) {
            self.switched_at.store(count, Ordering::Relaxed);
            let me = Arc::clone(self);
            let handle = std::thread::Builder::new()
                .name("annscope-dynamic-switch".into())
                .spawn(move || me.build_and_swap())
                .map_err(|e| Error::Internal(format!("could not start the HNSW build: {e}")))?;
            *self
                .builder
                .lock()
                .map_err(|_| Error::Internal("builder lock".into()))? = Some(handle);
        }
        Ok(())
    }

    /// Runs `f` on the HNSW that replaced the flat store (write lock held).
    fn with_switched_hnsw<R>(&self, f: impl FnOnce(&mut Hnsw) -> Result<R>) -> Result<R> {
        let mut h = self
            .hnsw
            .write()
            .map_err(|_| Error::Internal("hnsw lock".into()))?;
        f(h.as_mut()
            .ok_or_else(|| Error::Internal("switched without an index".into()))?)
    }

    /// True if `id` is in the index (inserted and not deleted).
    pub fn contains(&self, id: u32) -> bool {
        let _g = self.gate.lock();
        if self.switched.load(Ordering::Acquire) {
            self.hnsw
                .read()
                .ok()
                .and_then(|h| h.as_ref().map(|h| h.slot(id).is_some()))
                .unwrap_or(false)
        } else {
            self.flat
                .read()
                .map(|f| f.id_set.contains(&id) && !f.deleted.contains(&id))
                .unwrap_or(false)
        }
    }

    /// Deletes `id`: it never appears in results from now on.
    pub fn delete(&self, id: u32) -> Result<()> {
        let _g = self
            .gate
            .lock()
            .map_err(|_| Error::Internal("insert gate".into()))?;
        if self.switched.load(Ordering::Acquire) {
            self.with_switched_hnsw(|h| h.delete(id))?;
        } else {
            let mut f = self
                .flat
                .write()
                .map_err(|_| Error::Internal("flat lock".into()))?;
            if !f.id_set.contains(&id) || !f.deleted.insert(id) {
                return Err(super::hnsw::unknown_id(id));
            }
        }
        self.live.fetch_sub(1, Ordering::Relaxed);
        Ok(())
    }

    /// The background build: HNSW over a snapshot, catch up, swap.
    fn build_and_swap(self: Arc<Self>) -> Result<()> {
        let (snapshot, ids) = {
            let f = self
                .flat
                .read()
                .map_err(|_| Error::Internal("flat lock".into()))?;
            (f.vectors.clone(), f.ids.clone())
        };
        let n0 = ids.len();
        // Build with rows 0..n0 as ids, then relabel through `ids` by inserting
        // in order: ids are the caller's, so build on positions and map back.
        let ds = Dataset::from_vec("dynamic snapshot", snapshot, self.dim, self.metric)?;
        let mut hnsw = Hnsw::build_with_ids(
            &ds,
            &ids,
            self.config.hnsw.clone(),
            &WorkContext::detached(),
        )?;
        hnsw.set_dynamic_ef(self.dynamic_ef)?;
        // Catch up without the gate (inserts continue), then once more with it.
        let mut done = n0;
        done = self.catch_up(&mut hnsw, done)?;
        let _g = self
            .gate
            .lock()
            .map_err(|_| Error::Internal("insert gate".into()))?;
        self.catch_up(&mut hnsw, done)?;
        {
            let f = self
                .flat
                .read()
                .map_err(|_| Error::Internal("flat lock".into()))?;
            for &d in &f.deleted {
                if hnsw.slot(d).is_some() {
                    hnsw.delete(d)?;
                }
            }
        }
        *self
            .hnsw
            .write()
            .map_err(|_| Error::Internal("hnsw lock".into()))? = Some(hnsw);
        self.switched.store(true, Ordering::Release);
        // Queries already scanning the flat store finish first; then free it.
        let mut f = self
            .flat
            .write()
            .map_err(|_| Error::Internal("flat lock".into()))?;
        *f = FlatStore::default();
        Ok(())
    }

    /// Inserts into `hnsw` the flat store's rows from `from` on; returns the new count.
    fn catch_up(&self, hnsw: &mut Hnsw, from: usize) -> Result<usize> {
        let (rows, ids) = {
            let f = self
                .flat
                .read()
                .map_err(|_| Error::Internal("flat lock".into()))?;
            (
                f.vectors[from * self.dim..].to_vec(),
                f.ids[from..].to_vec(),
            )
        };
        for (row, &id) in rows.chunks_exact(self.dim).zip(&ids) {
            hnsw.insert(id, row)?;
        }
        Ok(from + ids.len())
    }

    fn search_flat(&self, query: &[f32], k: usize) -> Result<Option<Neighbors>> {
        let f = self
            .flat
            .read()
            .map_err(|_| Error::Internal("flat lock".into()))?;
        if self.switched.load(Ordering::Acquire) && f.ids.is_empty() {
            return Ok(None);
        }
        let q = self.prepare(query);
        let mut top = TopK::new(k);
        for (row, &id) in f.vectors.chunks_exact(self.dim).zip(&f.ids) {
            if !f.deleted.contains(&id) {
                top.push(self.metric.prepared_distance(&q, row), id);
            }
        }
        let (ids, distances) = top.into_sorted();
        Ok(Some(Neighbors {
            ids,
            distances,
            stats: SearchStats {
                dist_comps: f.ids.len() as u64,
                hops: 0,
                rescored: 0,
            },
        }))
    }
}

impl AnnIndex for DynamicIndex {
    fn kind(&self) -> IndexKind {
        IndexKind::Dynamic
    }
    fn dynamic(&self) -> Option<&DynamicIndex> {
        Some(self)
    }
    fn save(&self, path: &std::path::Path) -> Result<()> {
        DynamicIndex::save(self, path)
    }
    fn file_summary(&self) -> (serde_json::Value, String) {
        let state = serde_json::to_value(self.state()).unwrap_or_default();
        let text = format!("state {state}");
        (serde_json::json!({ "state": state }), text)
    }
    fn built_on(&self) -> Option<crate::index::BuiltOn> {
        self.built_on
    }
    fn len(&self) -> usize {
        self.live.load(Ordering::Relaxed)
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn metric(&self) -> Metric {
        self.metric
    }

    fn search(&self, query: &[f32], params: &SearchParams) -> Result<Neighbors> {
        check_query_dim(self.dim, query)?;
        if !self.switched.load(Ordering::Acquire) {
            if let Some(r) = self.search_flat(query, params.k)? {
                return Ok(r);
            }
        }
        let h = self
            .hnsw
            .read()
            .map_err(|_| Error::Internal("hnsw lock".into()))?;
        match h.as_ref() {
            Some(h) => h.search(query, params),
            None => Err(Error::Internal("switched without an index".into())),
        }
    }

    fn memory(&self) -> MemoryUsage {
        let flat = self
            .flat
            .read()
            .map(|f| (f.vectors.capacity() * 4 + f.ids.capacity() * 4) as u64)
            .unwrap_or(0);
        let hnsw = self
            .hnsw
            .read()
            .ok()
            .and_then(|h| h.as_ref().map(|h| h.memory().ram_bytes))
            .unwrap_or(0);
        MemoryUsage {
            ram_bytes: flat + hnsw,
            disk_bytes: 0,
            mapped_resident_bytes: None,
        }
    }

    fn params(&self) -> ParamMap {
        let mut p = ParamMap::new();
        p.insert("threshold".into(), self.config.threshold.into());
        p.insert("m".into(), self.config.hnsw.m.into());
        p.insert(
            "ef_construction".into(),
            self.config.hnsw.ef_construction.into(),
        );
        p.insert("seed".into(), self.config.hnsw.seed.into());
        let quantizer = self.config.hnsw.storage.quantizer;
        if !quantizer.is_none() {
            p.insert("quantizer".into(), quantizer.to_string().into());
        }
        let switched = match self.state() {
            DynamicState::Switched { at } => serde_json::Value::from(at),
            _ => serde_json::Value::Null,
        };
        p.insert("switched_at".into(), switched);
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::FlatIndex;
    use crate::testutil::random_dataset;

    fn config(threshold: usize) -> DynamicConfig {
        DynamicConfig {
            threshold,
            hnsw: HnswParams {
                m: 8,
                ef_construction: 64,
                seed: 3,
                ..HnswParams::default()
            },
        }
    }

    #[test]
    fn below_the_threshold_results_equal_flat() {
        let ds = Arc::new(random_dataset(500, 12, Metric::L2, 1));
        let index =
            DynamicIndex::from_dataset(&ds, config(1000), &WorkContext::detached()).expect("index");
        assert_eq!(index.state(), DynamicState::Flat);
        let flat = FlatIndex::build(ds.clone(), &WorkContext::detached()).expect("flat");
        let queries = random_dataset(20, 12, Metric::L2, 2);
        for q in queries.vectors().rows() {
            let p = SearchParams::new(7);
            assert_eq!(
                index.search(q, &p).expect("dyn").ids,
                flat.search(q, &p).expect("flat").ids
            );
        }
        assert_eq!(index.params()["switched_at"], serde_json::Value::Null);
    }

    #[test]
    fn the_switch_happens_at_the_threshold_and_loses_no_insert() {
        let ds = random_dataset(1500, 12, Metric::Cosine, 4);
        let index = DynamicIndex::new(config(1000), 12, Metric::Cosine).expect("index");
        for (i, row) in ds.vectors().rows().enumerate() {
            index.insert(i as u32, row).expect("insert");
            if i < 1000 {
                assert_eq!(
                    index.state(),
                    DynamicState::Flat,
                    "switched early, at {}",
                    i + 1
                );
            }
        }
        index.wait_for_switch().expect("switch");
        assert_eq!(index.state(), DynamicState::Switched { at: 1001 });
        assert_eq!(index.len(), 1500);
        // Every vector, including those inserted during the background build,
        // is in the graph, and (the search being approximate) nearly all find themselves.
        let mut found_self = 0;
        for (i, row) in ds.vectors().rows().enumerate() {
            assert!(index.contains(i as u32), "vector {i} lost in the switch");
            let r = index
                .search(row, &SearchParams::new(1).with_ef(64))
                .expect("search");
            found_self += usize::from(r.ids == vec![i as u32]);
        }
        assert!(
            found_self >= 1485,
            "only {found_self} of 1500 vectors find themselves"
        );
        assert_eq!(index.params()["switched_at"], 1001);
    }

    #[test]
    fn queries_from_other_threads_succeed_through_the_switch() {
        let ds = Arc::new(random_dataset(4000, 16, Metric::L2, 5));
        let index = DynamicIndex::new(config(1500), 16, Metric::L2).expect("index");
        // Ids ending in 7 are never inserted (missing); ids ending in 3 below
        // 1000 are inserted and deleted before any query runs (deleted). The
        // rest stream in while two threads query, across the switch at 1500.
        let insert = |i: usize| {
            if i % 10 != 7 {
                index.insert(i as u32, ds.row(i)).expect("insert");
            }
        };
        (0..1000).for_each(insert);
        for i in (3..1000).step_by(10) {
            index.delete(i as u32).expect("delete");
        }
        let stop = Arc::new(AtomicBool::new(false));
        let readers: Vec<_> = (0..2)
            .map(|t| {
                let (index, ds, stop) = (index.clone(), ds.clone(), stop.clone());
                std::thread::spawn(move || {
                    let mut answered = 0usize;
                    let mut i = t;
                    while !stop.load(Ordering::Relaxed) {
                        let q = ds.row(i % 4000);
                        let r = index
                            .search(q, &SearchParams::new(5).with_ef(32))
                            .expect("a query failed during the switch");
                        for id in &r.ids {
                            assert!(id % 10 != 7 && *id < 4000, "missing id {id} returned");
                            assert!(!(id % 10 == 3 && *id < 1000), "deleted id {id} returned");
                        }
                        answered += 1;
                        i += 2;
                    }
                    answered
                })
            })
            .collect();
        (1000..4000).for_each(insert);
        index.wait_for_switch().expect("switch");
        stop.store(true, Ordering::Relaxed);
        for r in readers {
            assert!(r.join().expect("reader") > 0);
        }
        assert!(matches!(index.state(), DynamicState::Switched { .. }));
        // Deleting after the switch works too, and the id never returns.
        index.delete(0).expect("delete");
        let r = index
            .search(ds.row(0), &SearchParams::new(5).with_ef(64))
            .expect("search");
        assert!(!r.ids.contains(&0));
    }

    #[test]
    fn bad_parameters_are_refused() {
        let err = DynamicIndex::new(config(0), 8, Metric::L2)
            .err()
            .expect("threshold 0");
        assert!(err.to_string().contains("threshold = 0"), "{err}");
        let bad_m = DynamicConfig {
            threshold: 10,
            hnsw: HnswParams {
                m: 1000,
                ..HnswParams::default()
            },
        };
        let err = DynamicIndex::new(bad_m, 8, Metric::L2).err().expect("m");
        assert!(err.to_string().contains("m = 1000"), "{err}");
        let index = DynamicIndex::new(config(10), 4, Metric::L2).expect("index");
        assert!(index.insert(1, &[0.0; 3]).is_err(), "wrong dimension");
        index.insert(1, &[0.0; 4]).expect("insert");
        assert!(index.insert(1, &[1.0; 4]).is_err(), "duplicate id");
        assert!(index.delete(99).is_err(), "unknown id");
    }

    #[test]
    fn saved_flat_and_switched_indexes_load_and_answer_the_same() {
        let ds = random_dataset(400, 12, Metric::Cosine, 21);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.dyn");
        // Below the threshold (flat, with a delete), and past it (switched).
        for threshold in [1000, 150] {
            let index =
                DynamicIndex::from_dataset(&ds, config(threshold), &WorkContext::detached())
                    .unwrap();
            index.delete(7).unwrap();
            index.save(&path).unwrap();
            let loaded = DynamicIndex::load(&path).unwrap();
            assert_eq!(loaded.state(), index.state(), "threshold {threshold}");
            assert_eq!(
                (loaded.len(), loaded.built_on()),
                (index.len(), index.built_on())
            );
            assert!(!loaded.contains(7));
            let p = SearchParams::new(5).with_ef(32);
            for q in ds.vectors().rows().take(40) {
                assert_eq!(loaded.search(q, &p).unwrap(), index.search(q, &p).unwrap());
            }
            // It goes on: inserts after a load (a flat one switches when it passes).
            for i in 400..(400 + threshold.min(700)) {
                loaded.insert(i as u32, ds.row(i % 400)).unwrap();
            }
            loaded.wait_for_switch().unwrap();
            assert!(matches!(loaded.state(), DynamicState::Switched { .. }));
        }
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        let e = DynamicIndex::load(&path)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("index.dyn") && e.contains("checksum"), "{e}");
    }
}
