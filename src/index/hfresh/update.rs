//! Updating HFresh in place (SPFresh's LIRE): inserts append to their lists,
//! a list over the limit splits and its neighbourhood is reassigned, a list
//! under the floor merges into its neighbours, deletes are tombstones.

use super::*;

impl HFresh {
    /// Lists for a prepared vector by the closure and RNG rules.
    pub(super) fn assign(&self, v: &[f32]) -> Result<Vec<u32>> {
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
    pub(super) fn place(&mut self, slot: u32, v: &[f32], lists: &[u32]) -> Result<Vec<u32>> {
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
    pub(super) fn unplace(&mut self, slot: u32) -> Vec<u32> {
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
        if let Some(table) = &mut self.vectors {
            table.extend_from_slice(&v);
        }
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
    pub(super) fn maintain(&mut self, mut grown: Vec<u32>, mut shrunk: Vec<u32>) -> Result<()> {
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
    pub(super) fn compact(&mut self, list: u32) -> Result<()> {
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
    pub(super) fn is_live(&self, slot: u32, head: u32) -> bool {
        !self.deleted[slot as usize] && self.versions[slot as usize] == head & !REPLICATED
    }

    /// Live entries of a list: (slot, version word, vector copy).
    pub(super) fn live_entries(&self, list: u32) -> Vec<(u32, u32, Vec<f32>)> {
        self.store
            .entries(list)
            .filter(|&(s, head, _)| self.is_live(s, head))
            .map(|(s, head, v)| {
                let vector = self
                    .store
                    .decode(v)
                    .or_else(|| self.vector(s).map(<[f32]>::to_vec))
                    .unwrap_or_default();
                (s, head, vector)
            })
            .collect()
    }

    /// Moves a slot to the lists it belongs in now (new version).
    pub(super) fn relocate(&mut self, slot: u32, v: &[f32]) -> Result<(Vec<u32>, Vec<u32>)> {
        self.versions[slot as usize] = self.versions[slot as usize].wrapping_add(1) & !REPLICATED;
        let shrunk = self.unplace(slot);
        let lists = self.assign(v)?;
        let grown = self.place(slot, v, &lists)?;
        self.stats.moved += 1;
        Ok((grown, shrunk))
    }

    pub(super) fn add_list(&mut self, centroid: &[f32]) -> Result<u32> {
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

    pub(super) fn drop_list(&mut self, list: u32) -> Result<()> {
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
    pub(super) fn split(&mut self, list: u32) -> Result<(Vec<u32>, Vec<u32>)> {
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
    pub(super) fn merge(&mut self, list: u32) -> Result<(Vec<u32>, Vec<u32>)> {
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
