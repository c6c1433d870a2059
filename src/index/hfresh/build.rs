//! Building HFresh: k-means into lists of about half `max_posting_size`,
//! replicas by SPANN's closure and RNG rules, oversized lists split, and the
//! HNSW over the centroids.

use super::*;
use crate::index::quant::Codes;

impl HFresh {
    /// Builds over `dataset` (ids are its row numbers).
    pub fn build(dataset: &Dataset, params: HFreshParams, ctx: &WorkContext) -> Result<Self> {
        let ids: Vec<u32> = (0..dataset.len() as u32).collect();
        let mut h = Self::build_with_ids(dataset, &ids, params, ctx)?;
        h.built_on = Some(crate::index::BuiltOn::of(dataset));
        Ok(h)
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
        // Built on part and grown to all of it: it now holds `dataset`.
        h.built_on = Some(crate::index::BuiltOn::of(dataset));
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
        // With a quantizer, the lists hold codes trained on every row and
        // the index keeps the f32 rows to re-score.
        let (codes, vectors) = match params.storage.quantizer {
            q if q.is_none() => (None, None),
            q => {
                ctx.progress.stage("training codes", 1);
                let mut flat = Vec::with_capacity(n * dim);
                for r in data.rows() {
                    flat.extend_from_slice(r);
                }
                let mut codes = Codes::train(q, &flat, dim, metric, params.seed)?;
                codes.forget_rows();
                (Some(codes), Some(flat))
            }
        };
        let mut store = PostingStore::new(dim, total, params.storage.search, codes)?;
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
            vectors,
            trained_rows: n,
            ext_ids: ids.to_vec(),
            versions: vec![0; n],
            deleted: vec![false; n],
            members,
            slot_of,
            n_live: n,
            stats: UpdateStats::default(),
            built_on: None,
        })
    }
}
