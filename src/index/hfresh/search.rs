//! Searching HFresh: the nearest centroids through their HNSW (optionally
//! pruned by the query-aware rule), then a scan of their lists that scores
//! each replicated vector once.

use super::*;

impl HFresh {
    /// The nearest lists of a prepared vector, through the centroid HNSW.
    pub(super) fn nearest_lists(&self, q: &[f32], m: usize, ef: usize) -> Result<Neighbors> {
        let m = m.min(self.live_lists).max(1);
        self.centroid_index
            .search(q, &SearchParams::new(m).with_ef(ef.max(m)))
    }

    pub(super) fn search_prepared(
        &self,
        q: &[f32],
        k: usize,
        probe: usize,
        filter: Option<&crate::index::AllowList>,
        rescoring: Option<crate::index::Rescoring>,
    ) -> Result<Neighbors> {
        // Centroid search list: twice the probe, at least 48 (measured: a
        // smaller list saves few distances and costs recall).
        let lists = self.nearest_lists(q, probe, (2 * probe).max(48))?;
        let mut stats = SearchStats {
            dist_comps: lists.stats.dist_comps,
            hops: 0,
            rescored: 0,
        };
        let limit = match (self.params.query_epsilon, lists.distances.first()) {
            (Some(e), Some(&d1)) => pruning_limit(self.metric, d1, e),
            _ => f32::INFINITY,
        };
        if let Some(codes) = self.store.codes() {
            let rescoring = rescoring.unwrap_or(crate::index::Rescoring::DEFAULT);
            return Ok(self.scan_codes(codes, q, k, &lists, limit, filter, rescoring, stats));
        }
        let mut top = TopK::new(k);
        let kernel = self.store.kernel(self.metric);
        self.scan_lists(&lists, limit, filter, &mut stats, |slot, head, v| {
            let dist = kernel(q, v);
            if dist < top.threshold() {
                let ext = self.ext_ids[slot as usize];
                // A replica met again has the same distance: keep one.
                if head & REPLICATED != 0 && top.contains(ext) {
                    return;
                }
                top.push(dist, ext);
            }
        });
        let (ids, distances) = top.into_sorted();
        Ok(Neighbors {
            ids,
            distances,
            stats,
        })
    }
}

impl HFresh {
    /// Every current entry of the probed `lists` nearer than `limit`, in
    /// order: `visit(slot, version word, payload)` for each, counted as a
    /// distance computation (each list a hop). The loop touches only the
    /// list's own bytes, except for lists with stale entries and filters:
    /// per-vector tables are random accesses, each a likely cache miss.
    #[inline(always)]
    fn scan_lists(
        &self,
        lists: &Neighbors,
        limit: f32,
        filter: Option<&crate::index::AllowList>,
        stats: &mut SearchStats,
        mut visit: impl FnMut(u32, u32, &[u32]),
    ) {
        let stride = self.store.stride();
        for (&l, &d) in lists.ids.iter().zip(&lists.distances) {
            if d > limit {
                break;
            }
            stats.hops += 1;
            let dirty = self.dirty[l as usize];
            for e in self.store.list_words(l).chunks_exact(stride) {
                let (slot, head) = (e[0], e[1]);
                let s = slot as usize;
                if dirty && (self.deleted[s] || self.versions[s] != head & !REPLICATED) {
                    continue;
                }
                if filter.is_some_and(|f| !f.contains(self.ext_ids[s])) {
                    continue;
                }
                stats.dist_comps += 1;
                visit(slot, head, &e[2..]);
            }
        }
    }

    /// The scan over lists of codes: the best `oversample × k` estimates
    /// (slots, each replica once), then, with `rescore`, their exact
    /// distances from the f32 vectors, nearest first, cut to k.
    #[allow(clippy::too_many_arguments)]
    fn scan_codes(
        &self,
        codes: &crate::index::quant::Codes,
        q: &[f32],
        k: usize,
        lists: &Neighbors,
        limit: f32,
        filter: Option<&crate::index::AllowList>,
        rescoring: crate::index::Rescoring,
        mut stats: SearchStats,
    ) -> Neighbors {
        let mut coded = Vec::new();
        codes.prepare(q, &mut coded);
        let keep = rescoring.candidates(k);
        let mut top = TopK::new(keep);
        self.scan_lists(lists, limit, filter, &mut stats, |slot, head, payload| {
            let (code, factors) = self.store.code_of(payload);
            let est = codes.estimate_code(&coded, code, factors);
            if est < top.threshold() {
                if head & REPLICATED != 0 && top.contains(slot) {
                    return;
                }
                top.push(est, slot);
            }
        });
        let (slots, estimates) = top.into_sorted();
        let mut found: Vec<(f32, u32)> = if rescoring.rescore {
            stats.rescored += slots.len() as u64;
            slots
                .iter()
                .map(|&s| {
                    let v = self.vector(s).unwrap_or(&[]);
                    (self.metric.prepared_distance(q, v), s)
                })
                .collect()
        } else {
            estimates.into_iter().zip(slots).collect()
        };
        found.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        found.truncate(k);
        Neighbors {
            ids: found
                .iter()
                .map(|&(_, s)| self.ext_ids[s as usize])
                .collect(),
            distances: found.iter().map(|&(d, _)| d).collect(),
            stats,
        }
    }
}

impl AnnIndex for HFresh {
    fn kind(&self) -> IndexKind {
        IndexKind::Hfresh
    }
    fn posting_lists(&self) -> Option<&HFresh> {
        Some(self)
    }
    fn save(&self, path: &std::path::Path) -> Result<()> {
        HFresh::save(self, path)
    }
    fn file_summary(&self) -> (serde_json::Value, String) {
        let json = serde_json::json!({
            "lists": self.list_count(),
            "disk_bytes": self.memory().disk_bytes,
        });
        (json, format!("{} posting lists", self.list_count()))
    }
    fn built_on(&self) -> Option<crate::index::BuiltOn> {
        self.built_on
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
        self.search_prepared(
            &q,
            params.k,
            probe,
            params.filter.as_deref(),
            params.rescoring,
        )
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
        let coded = self.vectors.as_ref().map_or(0, |v| v.capacity() * 4)
            + self.store.codes().map_or(0, |c| c.bytes());
        MemoryUsage {
            ram_bytes: hnsw
                + per_slot as u64
                + lists as u64
                + coded as u64
                + self.store.table_bytes(),
            disk_bytes: self.store.disk_bytes(),
            mapped_resident_bytes: None,
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
        match self.store.codes() {
            Some(c) => {
                p.insert("quantizer".into(), c.quantizer().to_string().into());
            }
            None => {
                p.insert("precision".into(), self.params.storage.search.name().into());
            }
        }
        p
    }
}
