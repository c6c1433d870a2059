//! UMAP (McInnes, Healy & Melville 2018), written here after umap-learn,
//! fitted on a k-nearest-neighbour graph annscope already has.
//!
//! Why not a crate: `umap-rs` takes a precomputed graph but draws from an
//! unseeded generator inside a parallel loop, panics on invalid input and
//! needs another ndarray; the part that is not the k-NN graph is two
//! hundred lines. This follows umap-learn's defaults step by step so its
//! figures compare: `n_neighbors` 15 counting the point itself, the fuzzy
//! set by `smooth_knn_dist` (ρ the nearest distance, σ by bisection to
//! log2(n_neighbors)), the union `A + Aᵀ − A∘Aᵀ`, edges below max/n_epochs
//! dropped, 200 epochs (500 up to 10,000 points), 5 negative samples per
//! positive, the learning rate falling linearly from 1, gradients clipped
//! at 4, `a` and `b` fitted to `min_dist` 0.1 and `spread` 1.
//!
//! The start is umap-learn's default, the graph's spectral layout
//! ([`super::spectral`]; PCA when the graph is in pieces or `init` says so),
//! scaled to [0, 10]. The epochs run on one thread in edge order, which is what umap-learn itself does when given a seed
//! (`random_state` turns its parallel SGD off): the same graph, seed and
//! settings give the same coordinates on any machine, whatever the thread
//! count. (Tried and measured: the epochs on every core in 64 fixed chunks
//! of rows, each moving its own rows and reading the others as the epoch
//! found them, moves owed across chunks added after the epoch: the same
//! coordinates whatever the thread count, and 66 s instead of 79 s for
//! 100,000 pypi-minilm vectors, but `neighbours_kept_10` fell from 0.093
//! to 0.082, below umap-learn's 0.092. Kept on one thread.) Queries are
//! placed at the membership-weighted mean of their
//! neighbours' positions (umap-learn's `transform` starts there and
//! refines).
//!
//! Distances: cosine as `1 − cos`, L2 as the Euclidean distance (the root
//! of annscope's squared L2), inner product relative to each row's nearest
//! (only differences of distances enter the fuzzy set past ρ).

use serde::{Deserialize, Serialize};

use super::fuzzy::{fuzzy_distances, fuzzy_graph, memberships, FuzzyGraph};
use super::knn::KnnGraph;
use crate::distance::Metric;
use crate::error::{Error, Result};
use crate::progress::WorkContext;

/// UMAP's settings (umap-learn's names and defaults).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UmapParams {
    /// Neighbours per point, counting the point itself (umap-learn's
    /// convention): the graph needs `n_neighbors - 1` others per row.
    pub n_neighbors: usize,
    /// How tightly points may pack (0–1).
    pub min_dist: f32,
    /// Epochs of gradient descent; None: 500 up to 10,000 points, else 200.
    pub n_epochs: Option<usize>,
    /// Repulsive samples per attractive one.
    pub negative_sample_rate: usize,
    /// Seed of the negative samples and the start's jitter.
    pub seed: u64,
    /// Where the epochs start from.
    pub init: Init,
}

/// UMAP's starting layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Init {
    /// The graph's Laplacian eigenvectors (umap-learn's default); PCA when
    /// the graph is in pieces.
    Spectral,
    /// The first two principal axes.
    Pca,
}

impl Default for UmapParams {
    fn default() -> Self {
        UmapParams {
            n_neighbors: 15,
            min_dist: 0.1,
            n_epochs: None,
            negative_sample_rate: 5,
            seed: 42,
            init: Init::Spectral,
        }
    }
}

impl UmapParams {
    /// Other rows the graph must give per row.
    pub fn graph_k(&self) -> usize {
        self.n_neighbors.saturating_sub(1).max(1)
    }

    pub fn validate(&self) -> Result<()> {
        if self.n_neighbors < 2 {
            return Err(Error::InvalidParameter(format!(
                "UMAP needs n_neighbors of at least 2 (the point and one other), got {}",
                self.n_neighbors
            )));
        }
        if !(self.min_dist >= 0.0 && self.min_dist < 1.0) {
            return Err(Error::InvalidParameter(format!(
                "UMAP's min_dist must be in [0, 1), got {}",
                self.min_dist
            )));
        }
        if self.n_epochs == Some(0) {
            return Err(Error::InvalidParameter(
                "UMAP needs at least 1 epoch".into(),
            ));
        }
        Ok(())
    }

    /// Epochs a run over `n` points takes.
    pub fn epochs_for(&self, n: usize) -> usize {
        self.n_epochs.unwrap_or(if n <= 10_000 { 500 } else { 200 })
    }
}

/// umap-learn's `find_ab_params` (spread 1): the curve 1 / (1 + a·d^(2b))
/// fitted by least squares (Gauss–Newton with step halving) to 1 below
/// `min_dist` and exp(−(d − min_dist)) above, on 300 points in [0, 3].
pub fn fit_ab(min_dist: f32) -> (f32, f32) {
    let xs: Vec<f64> = (0..300).map(|i| 3.0 * i as f64 / 299.0).collect();
    let md = min_dist as f64;
    let ys: Vec<f64> = xs
        .iter()
        .map(|&x| if x < md { 1.0 } else { (-(x - md)).exp() })
        .collect();
    let residual = |a: f64, b: f64| -> f64 {
        xs.iter()
            .zip(&ys)
            .map(|(&x, &y)| {
                let f = 1.0 / (1.0 + a * x.powf(2.0 * b));
                (f - y) * (f - y)
            })
            .sum()
    };
    let (mut a, mut b) = (1.0f64, 1.0f64);
    let mut err = residual(a, b);
    for _ in 0..200 {
        // Normal equations of the 2 × 2 Gauss–Newton step.
        let (mut jaa, mut jab, mut jbb, mut ga, mut gb) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (&x, &y) in xs.iter().zip(&ys) {
            if x <= 0.0 {
                continue;
            }
            let p = x.powf(2.0 * b);
            let den = 1.0 + a * p;
            let f = 1.0 / den;
            let da = -p / (den * den);
            let db = -a * p * 2.0 * x.ln() / (den * den);
            let r = f - y;
            jaa += da * da;
            jab += da * db;
            jbb += db * db;
            ga += da * r;
            gb += db * r;
        }
        let det = jaa * jbb - jab * jab;
        if det.abs() < 1e-300 {
            break;
        }
        let step_a = (jbb * ga - jab * gb) / det;
        let step_b = (jaa * gb - jab * ga) / det;
        let mut t = 1.0;
        let mut improved = false;
        while t > 1e-6 {
            let (na, nb) = (a - t * step_a, b - t * step_b);
            if na > 0.0 && nb > 0.0 {
                let e = residual(na, nb);
                if e < err {
                    (a, b, err) = (na, nb, e);
                    improved = true;
                    break;
                }
            }
            t *= 0.5;
        }
        if !improved {
            break;
        }
    }
    (a as f32, b as f32)
}

/// xorshift64*: the negative samples' generator (fast, seeded, the same
/// on every platform).
struct Xorshift(u64);

impl Xorshift {
    fn new(seed: u64) -> Self {
        // SplitMix64 of the seed, never zero.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Xorshift((z ^ (z >> 31)) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// In 0..n (n small against 2^64: the bias is negligible).
    fn below(&mut self, n: usize) -> usize {
        (((self.next() >> 32) * n as u64) >> 32) as usize
    }
    /// In [-1, 1).
    fn signed_unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
}

#[inline]
fn clip(v: f32) -> f32 {
    v.clamp(-4.0, 4.0)
}

/// Scales `init` to [0, 10] on each axis with a seeded jitter of 1e-4
/// (umap-learn's `noisy_scale_coords` and rescaling), so duplicates part.
fn start_layout(init: &[[f32; 2]], rng: &mut Xorshift) -> Vec<[f32; 2]> {
    let mut lo = [f32::INFINITY; 2];
    let mut hi = [f32::NEG_INFINITY; 2];
    for p in init {
        for a in 0..2 {
            lo[a] = lo[a].min(p[a]);
            hi[a] = hi[a].max(p[a]);
        }
    }
    init.iter()
        .map(|p| {
            let mut q = [0.0f32; 2];
            for a in 0..2 {
                let span = hi[a] - lo[a];
                let x = if span > 0.0 {
                    10.0 * (p[a] - lo[a]) / span
                } else {
                    5.0
                };
                q[a] = x + 1e-4 * rng.signed_unit();
            }
            q
        })
        .collect()
}

/// The layout of `graph` (at least `n_neighbors - 1` others per row), and
/// the start it came from: the spectral start when asked for and the graph
/// allows, else `pca` (called only then; one point per row).
pub fn layout(
    graph: &KnnGraph,
    metric: Metric,
    pca: impl FnOnce() -> Result<Vec<[f32; 2]>>,
    params: &UmapParams,
    ctx: &WorkContext,
) -> Result<(Vec<[f32; 2]>, Init)> {
    params.validate()?;
    let n = graph.len();
    if graph.k < params.graph_k() {
        return Err(Error::InvalidParameter(format!(
            "UMAP with n_neighbors {} needs {} neighbours per row, the graph has {}",
            params.n_neighbors,
            params.graph_k(),
            graph.k
        )));
    }
    let n_epochs = params.epochs_for(n);
    ctx.progress.stage("UMAP: fuzzy graph", 1);
    let fuzzy = fuzzy_graph(graph, params.n_neighbors, metric);
    ctx.cancel.check()?;
    let spectral = match params.init {
        Init::Spectral => super::spectral::layout(&fuzzy, n, params.seed, ctx)?,
        Init::Pca => None,
    };
    let (start, used) = match spectral {
        Some(s) => (s, Init::Spectral),
        None => (pca()?, Init::Pca),
    };
    if start.len() != n {
        return Err(Error::Mismatch(format!(
            "UMAP's start has {} points, the graph {n} rows",
            start.len()
        )));
    }
    let (a, b) = fit_ab(params.min_dist);
    let mut rng = Xorshift::new(params.seed);
    let mut y = start_layout(&start, &mut rng);
    optimise(
        &fuzzy,
        &mut y,
        a,
        b,
        n_epochs,
        params.negative_sample_rate,
        &mut rng,
        ctx,
    )?;
    Ok((y, used))
}

/// umap-learn's `optimize_layout_euclidean` on one thread (see the module
/// doc), moving both ends of each attractive edge.
#[allow(clippy::too_many_arguments)]
fn optimise(
    g: &FuzzyGraph,
    y: &mut [[f32; 2]],
    a: f32,
    b: f32,
    n_epochs: usize,
    negative_sample_rate: usize,
    rng: &mut Xorshift,
    ctx: &WorkContext,
) -> Result<()> {
    let n = y.len();
    let wmax = g.weights.iter().copied().fold(0.0f32, f32::max);
    if wmax <= 0.0 || n < 2 {
        return Ok(());
    }
    // Edges too weak to be sampled once in n_epochs are dropped.
    let keep = wmax / n_epochs as f32;
    let edges: Vec<(u32, u32, f32)> = g
        .heads
        .iter()
        .zip(&g.tails)
        .zip(&g.weights)
        .filter(|(_, &w)| w >= keep)
        .map(|((&h, &t), &w)| (h, t, wmax / w))
        .collect();
    let nsr = negative_sample_rate.max(1) as f32;
    let mut next: Vec<f32> = edges.iter().map(|e| e.2).collect();
    let mut next_negative: Vec<f32> = edges.iter().map(|e| e.2 / nsr).collect();
    ctx.progress.stage("UMAP: laying out", n_epochs as u64);
    for epoch in 0..n_epochs {
        ctx.cancel.check()?;
        let alpha = 1.0 - epoch as f32 / n_epochs as f32;
        let now = epoch as f32;
        for (e, &(head, tail, every)) in edges.iter().enumerate() {
            if next[e] > now {
                continue;
            }
            let (j, k) = (head as usize, tail as usize);
            let (mut cur, other) = (y[j], y[k]);
            let (dx, dy) = (cur[0] - other[0], cur[1] - other[1]);
            let d2 = dx * dx + dy * dy;
            if d2 > 0.0 {
                let pb = d2.powf(b);
                let coeff = -2.0 * a * b * (pb / d2) / (a * pb + 1.0);
                let (gx, gy) = (clip(coeff * dx) * alpha, clip(coeff * dy) * alpha);
                cur[0] += gx;
                cur[1] += gy;
                y[k] = [other[0] - gx, other[1] - gy];
            }
            next[e] += every;
            let every_negative = every / nsr;
            let samples = ((now - next_negative[e]) / every_negative).max(0.0) as usize;
            for _ in 0..samples {
                let k = rng.below(n);
                if k == j {
                    continue;
                }
                let other = y[k];
                let (dx, dy) = (cur[0] - other[0], cur[1] - other[1]);
                let d2 = dx * dx + dy * dy;
                if d2 > 0.0 {
                    let coeff = 2.0 * b / ((0.001 + d2) * (a * d2.powf(b) + 1.0));
                    cur[0] += clip(coeff * dx) * alpha;
                    cur[1] += clip(coeff * dy) * alpha;
                }
            }
            next_negative[e] += samples as f32 * every_negative;
            y[j] = cur;
        }
        ctx.progress.set(epoch as u64 + 1);
    }
    Ok(())
}

/// Places points that are not in the layout (queries) at the
/// membership-weighted mean of their neighbours' positions. `neighbours`
/// gives each point's base neighbours (ids, distances ascending).
pub fn place(
    neighbours: &KnnGraph,
    metric: Metric,
    layout: &[[f32; 2]],
    params: &UmapParams,
) -> Vec<[f32; 2]> {
    let k = params.graph_k().min(neighbours.k);
    let dists = fuzzy_distances(neighbours, k, metric);
    let mean_all = dists.iter().map(|&d| d as f64).sum::<f64>() / dists.len().max(1) as f64;
    let mut w = Vec::with_capacity(k);
    (0..neighbours.len())
        .map(|i| {
            memberships(
                &dists[i * k..(i + 1) * k],
                params.n_neighbors,
                mean_all,
                &mut w,
            );
            let (mut sx, mut sy, mut sw) = (0.0f64, 0.0f64, 0.0f64);
            for (&id, &wi) in neighbours.row(i).0[..k].iter().zip(&w) {
                let p = layout[id as usize];
                sx += wi as f64 * p[0] as f64;
                sy += wi as f64 * p[1] as f64;
                sw += wi as f64;
            }
            if sw > 0.0 {
                [(sx / sw) as f32, (sy / sw) as f32]
            } else {
                layout[neighbours.row(i).0[0] as usize]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_and_b_match_umap_learns_for_min_dist_one_tenth() {
        // umap-learn: find_ab_params(1.0, 0.1) = (1.5769, 0.8951).
        let (a, b) = fit_ab(0.1);
        assert!((a - 1.577).abs() < 0.01, "a {a}");
        assert!((b - 0.895).abs() < 0.005, "b {b}");
        // min_dist 0.5 packs less tightly: (0.5830, 1.3344) in umap-learn.
        let (a, b) = fit_ab(0.5);
        assert!(
            (a - 0.583).abs() < 0.01 && (b - 1.334).abs() < 0.01,
            "{a} {b}"
        );
    }

    /// Six tight clusters far apart in 24-d: each stays together on the
    /// plane and apart from the others (every cluster's points nearer
    /// their own centre than half the gap to the nearest other centre).
    fn clusters(per: usize) -> (std::sync::Arc<crate::dataset::Dataset>, Vec<usize>) {
        use rand::{Rng, SeedableRng};
        let (dim, k) = (24, 6);
        let mut rng = rand::rngs::StdRng::seed_from_u64(4);
        let mut data = Vec::new();
        let mut label = Vec::new();
        for c in 0..k {
            for _ in 0..per {
                for d in 0..dim {
                    let centre = if d % k == c { 10.0 } else { 0.0 };
                    data.push(centre + rng.random::<f32>() - 0.5);
                }
                label.push(c);
            }
        }
        let ds =
            crate::dataset::Dataset::from_vec("clusters", data, dim, Metric::L2).expect("data");
        (std::sync::Arc::new(ds), label)
    }

    fn fitted(threads: usize) -> (Vec<[f32; 2]>, Vec<usize>, Init) {
        let (ds, label) = clusters(150);
        let ctx = WorkContext::detached();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool");
        pool.install(|| {
            let g = super::super::knn::exact(&ds, 14, &ctx).expect("graph");
            let params = UmapParams {
                n_epochs: Some(200),
                ..Default::default()
            };
            let pca = || super::super::pca::project(&ds, None, &ctx).map(|p| p.base);
            let (y, init) = layout(&g, Metric::L2, pca, &params, &ctx).expect("layout");
            (y, label, init)
        })
    }

    #[test]
    fn separated_clusters_stay_apart_and_the_same_seed_repeats_exactly() {
        let (y, label, init) = fitted(2);
        assert!(y.iter().all(|p| p[0].is_finite() && p[1].is_finite()));
        // Six clusters: the graph is in six pieces, so PCA starts it.
        assert_eq!(init, Init::Pca);
        let k = 6;
        let mut centre = vec![[0.0f32; 2]; k];
        for (p, &c) in y.iter().zip(&label) {
            centre[c][0] += p[0] / 150.0;
            centre[c][1] += p[1] / 150.0;
        }
        let dist =
            |a: [f32; 2], b: [f32; 2]| ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt();
        for c in 0..k {
            let gap = (0..k)
                .filter(|&o| o != c)
                .map(|o| dist(centre[c], centre[o]))
                .fold(f32::INFINITY, f32::min);
            let radius = y
                .iter()
                .zip(&label)
                .filter(|(_, &l)| l == c)
                .map(|(p, _)| dist(*p, centre[c]))
                .fold(0.0f32, f32::max);
            assert!(
                radius < gap / 2.0,
                "cluster {c}: radius {radius}, gap {gap}"
            );
        }
        // Identical coordinates on another run and another thread count.
        let (again, _, _) = fitted(1);
        assert_eq!(y, again);
    }
}
