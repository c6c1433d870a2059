//! UMAP's default start: the graph's spectral layout.
//!
//! umap-learn starts from the eigenvectors of the fuzzy graph's normalised
//! Laplacian `L = I − D^(−1/2)·W·D^(−1/2)` with the smallest non-zero
//! eigenvalues (ARPACK's `eigsh`): points strongly linked start close, and
//! clusters start apart, which a PCA start of 384-d sentence embeddings (a
//! blur holding 7% of the variance) does not give the epochs. Here they come
//! from block power iteration with Rayleigh–Ritz on `(I + N)/2`,
//! `N = D^(−1/2)·W·D^(−1/2)` (the same eigenvectors, its spectrum moved into
//! [0, 1] so the wanted ones are the largest), with the trivial eigenvector
//! `D^(1/2)·1` projected out each step. The sparse products run on every
//! core row by row and the inner products in one fixed order, so the start
//! is the same whatever the thread count.
//!
//! A graph in several pieces has as many trivial eigenvectors as pieces;
//! umap-learn then lays each piece out separately. Here a disconnected
//! graph (or one that does not converge) falls back to the PCA start, and
//! the caller says which start was used.

use rand::{Rng, SeedableRng};
use rayon::prelude::*;

use super::fuzzy::FuzzyGraph;
use crate::error::Result;
use crate::progress::WorkContext;

/// Vectors iterated together: the two wanted and four that speed up
/// convergence (the rate is λ₇/λ₃ rather than λ₄/λ₃).
const BLOCK: usize = 6;
/// Iterations at most, and between Rayleigh–Ritz steps.
const MAX_ITERATIONS: usize = 1500;
const RITZ_EVERY: usize = 10;
/// Converged when the two wanted Ritz values move less than this between
/// Rayleigh–Ritz steps.
const TOLERANCE: f64 = 1e-7;

/// The sparse graph by rows.
struct Rows {
    starts: Vec<usize>,
    cols: Vec<u32>,
    /// `w_ij / sqrt(d_i d_j)`.
    values: Vec<f64>,
    /// `sqrt(d_i)`, normalised: the trivial eigenvector.
    trivial: Vec<f64>,
}

fn rows_of(g: &FuzzyGraph, n: usize) -> Rows {
    let mut starts = vec![0usize; n + 1];
    for &h in &g.heads {
        starts[h as usize + 1] += 1;
    }
    for i in 0..n {
        starts[i + 1] += starts[i];
    }
    let mut degree = vec![0.0f64; n];
    for (&h, &w) in g.heads.iter().zip(&g.weights) {
        degree[h as usize] += w as f64;
    }
    let inv: Vec<f64> = degree
        .iter()
        .map(|&d| if d > 0.0 { 1.0 / d.sqrt() } else { 0.0 })
        .collect();
    let values = g
        .heads
        .iter()
        .zip(&g.tails)
        .zip(&g.weights)
        .map(|((&h, &t), &w)| w as f64 * inv[h as usize] * inv[t as usize])
        .collect();
    let mut trivial: Vec<f64> = degree.iter().map(|d| d.sqrt()).collect();
    normalise(&mut trivial);
    Rows {
        starts,
        cols: g.tails.clone(),
        values,
        trivial,
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn normalise(v: &mut [f64]) -> f64 {
    let norm = dot(v, v).sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    norm
}

/// Whether the graph is in one piece (union–find over its edges).
fn connected(g: &FuzzyGraph, n: usize) -> bool {
    let mut parent: Vec<u32> = (0..n as u32).collect();
    fn root(p: &mut [u32], mut x: u32) -> u32 {
        while p[x as usize] != x {
            p[x as usize] = p[p[x as usize] as usize];
            x = p[x as usize];
        }
        x
    }
    let mut pieces = n;
    for (&h, &t) in g.heads.iter().zip(&g.tails) {
        let (a, b) = (root(&mut parent, h), root(&mut parent, t));
        if a != b {
            parent[a as usize] = b;
            pieces -= 1;
        }
    }
    pieces == 1
}

/// `out = (x + N·x) / 2`, rows in parallel.
fn apply(rows: &Rows, x: &[f64], out: &mut [f64]) {
    out.par_chunks_mut(4096).enumerate().for_each(|(c, chunk)| {
        for (o, i) in chunk.iter_mut().zip(c * 4096..) {
            let mut s = 0.0;
            for e in rows.starts[i]..rows.starts[i + 1] {
                s += rows.values[e] * x[rows.cols[e] as usize];
            }
            *o = 0.5 * (x[i] + s);
        }
    });
}

/// Projects out the trivial vector, then Gram–Schmidt (twice) in order.
fn orthonormalise(block: &mut [Vec<f64>], trivial: &[f64], rng: &mut rand::rngs::StdRng) {
    for j in 0..block.len() {
        let (done, rest) = block.split_at_mut(j);
        let v = &mut rest[0];
        for _ in 0..2 {
            let t = dot(v, trivial);
            v.iter_mut().zip(trivial).for_each(|(x, y)| *x -= t * y);
            for p in done.iter() {
                let d = dot(v, p);
                v.iter_mut().zip(p).for_each(|(x, y)| *x -= d * y);
            }
        }
        if normalise(v) < 1e-12 {
            // Lost to rounding: a fresh random direction.
            v.iter_mut().for_each(|x| *x = rng.random::<f64>() - 0.5);
            normalise(v);
        }
    }
}

/// Rayleigh–Ritz: rotates the block onto the eigenvectors of its
/// projection, largest first; returns the Ritz values.
fn rayleigh_ritz(
    rows: &Rows,
    block: &mut [Vec<f64>],
    scratch: &mut [Vec<f64>],
) -> Result<Vec<f64>> {
    use linfa_linalg::eigh::Eigh;
    let b = block.len();
    for (x, y) in block.iter().zip(scratch.iter_mut()) {
        apply(rows, x, y);
    }
    let mut h = ndarray::Array2::<f64>::zeros((b, b));
    for i in 0..b {
        for j in 0..b {
            h[(i, j)] = dot(&block[i], &scratch[j]);
        }
    }
    let h = (&h + &h.t()) * 0.5;
    let (values, vectors) = h.eigh().map_err(|e| {
        crate::error::Error::Internal(format!("spectral start: eigendecomposition: {e}"))
    })?;
    let mut order: Vec<usize> = (0..b).collect();
    order.sort_by(|&p, &q| values[q].total_cmp(&values[p]).then(p.cmp(&q)));
    let n = block[0].len();
    let rotated: Vec<Vec<f64>> = order
        .iter()
        .map(|&c| {
            let mut v = vec![0.0; n];
            for i in 0..b {
                let w = vectors[(i, c)];
                v.iter_mut().zip(&block[i]).for_each(|(o, x)| *o += w * x);
            }
            v
        })
        .collect();
    for (dst, src) in block.iter_mut().zip(rotated) {
        *dst = src;
    }
    Ok(order.iter().map(|&c| values[c]).collect())
}

/// The spectral start, or None when the graph is in pieces or the
/// iteration does not settle (the caller falls back to PCA).
pub fn layout(
    g: &FuzzyGraph,
    n: usize,
    seed: u64,
    ctx: &WorkContext,
) -> Result<Option<Vec<[f32; 2]>>> {
    if n < BLOCK + 2 || !connected(g, n) {
        return Ok(None);
    }
    let rows = rows_of(g, n);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut block: Vec<Vec<f64>> = (0..BLOCK)
        .map(|_| (0..n).map(|_| rng.random::<f64>() - 0.5).collect())
        .collect();
    let mut scratch = vec![vec![0.0; n]; BLOCK];
    orthonormalise(&mut block, &rows.trivial, &mut rng);
    ctx.progress
        .stage("UMAP: spectral start", MAX_ITERATIONS as u64);
    let mut last = [f64::NAN; 2];
    let mut settled = false;
    for it in 1..=MAX_ITERATIONS {
        for (x, y) in block.iter().zip(scratch.iter_mut()) {
            apply(&rows, x, y);
        }
        std::mem::swap(&mut block, &mut scratch);
        orthonormalise(&mut block, &rows.trivial, &mut rng);
        if it % RITZ_EVERY == 0 {
            ctx.cancel.check()?;
            let values = rayleigh_ritz(&rows, &mut block, &mut scratch)?;
            orthonormalise(&mut block, &rows.trivial, &mut rng);
            let now = [values[0], values[1]];
            ctx.progress.set(it as u64);
            if (now[0] - last[0]).abs() < TOLERANCE && (now[1] - last[1]).abs() < TOLERANCE {
                settled = true;
                break;
            }
            last = now;
        }
    }
    if !settled {
        return Ok(None);
    }
    Ok(Some(
        (0..n)
            .map(|i| [block[0][i] as f32, block[1][i] as f32])
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ring of points linked to their two neighbours each side: the
    /// Laplacian's first non-trivial eigenvectors are cos and sin around
    /// the ring, so the start must place the points on a circle in order.
    #[test]
    fn a_ring_graph_starts_as_a_circle() {
        let n = 60;
        let mut g = FuzzyGraph::default();
        for i in 0..n {
            let mut ns: Vec<u32> = [n - 2, n - 1, 1, 2]
                .iter()
                .map(|d| ((i + d) % n) as u32)
                .collect();
            ns.sort_unstable();
            for j in ns {
                g.heads.push(i as u32);
                g.tails.push(j);
                g.weights.push(1.0);
            }
        }
        let p = layout(&g, n, 1, &WorkContext::detached())
            .expect("runs")
            .expect("settles");
        let radius: Vec<f32> = p
            .iter()
            .map(|q| (q[0] * q[0] + q[1] * q[1]).sqrt())
            .collect();
        let mean = radius.iter().sum::<f32>() / n as f32;
        assert!(
            radius.iter().all(|r| (r - mean).abs() < 0.01 * mean),
            "{radius:?}"
        );
        // Consecutive points are consecutive on the circle.
        let angle: Vec<f32> = p.iter().map(|q| q[1].atan2(q[0])).collect();
        let step = 2.0 * std::f32::consts::PI / n as f32;
        for i in 0..n {
            let mut d = (angle[(i + 1) % n] - angle[i]).abs();
            d = d.min(2.0 * std::f32::consts::PI - d);
            assert!((d - step).abs() < 0.01, "point {i}: {d} vs {step}");
        }
    }

    #[test]
    fn a_graph_in_two_pieces_falls_back() {
        let mut g = FuzzyGraph::default();
        for i in 0..20u32 {
            let j = if i < 10 {
                (i + 1) % 10
            } else {
                10 + (i - 9) % 10
            };
            g.heads.extend([i, j]);
            g.tails.extend([j, i]);
            g.weights.extend([1.0, 1.0]);
        }
        assert!(!connected(&g, 20));
        assert!(layout(&g, 20, 1, &WorkContext::detached())
            .expect("runs")
            .is_none());
    }
}
