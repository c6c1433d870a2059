//! A uniform grid over points on the plane: nearest neighbours on screen
//! for `neighbours_kept_10`, and the app's hover and click, without a scan.
//!
//! The cells are sized for about two points each over the points' box, and
//! the points are stored cell after cell (a counting sort), so a lookup
//! reads a few short runs of memory. A k-nearest search walks rings of
//! cells outwards and stops once no unvisited ring can hold anything nearer
//! than the k-th found. Projections cluster, so some cells hold many
//! points; at two points per cell on average that costs a k-nearest search
//! tens of distance computations, not n.

/// Points per cell, on average.
const POINTS_PER_CELL: f64 = 2.0;
/// Cells per side, at most (a million points need ~700).
const MAX_SIDE: usize = 4096;

/// The points of one projection, bucketed by cell.
#[derive(Clone, Debug)]
pub struct PlaneGrid {
    lo: [f32; 2],
    cell: f32,
    cols: usize,
    rows: usize,
    /// `starts[c]..starts[c + 1]` index `order` and `at` for cell `c`.
    starts: Vec<u32>,
    /// Point ids, cell after cell.
    order: Vec<u32>,
    /// Their positions, in the same order.
    at: Vec<[f32; 2]>,
}

impl PlaneGrid {
    /// Buckets `points` (non-finite coordinates fall in an edge cell and
    /// are still found by id, never nearest to anything finite).
    pub fn new(points: &[[f32; 2]]) -> PlaneGrid {
        let mut lo = [f32::INFINITY; 2];
        let mut hi = [f32::NEG_INFINITY; 2];
        for p in points
            .iter()
            .filter(|p| p[0].is_finite() && p[1].is_finite())
        {
            for a in 0..2 {
                lo[a] = lo[a].min(p[a]);
                hi[a] = hi[a].max(p[a]);
            }
        }
        if lo[0] > hi[0] {
            (lo, hi) = ([0.0; 2], [1.0; 2]);
        }
        let (w, h) = ((hi[0] - lo[0]) as f64, (hi[1] - lo[1]) as f64);
        let cells = (points.len() as f64 / POINTS_PER_CELL).max(1.0);
        let side = w.max(h);
        let area = (w * h).max(side * side / cells);
        let mut cell = (area / cells).sqrt();
        if cell.is_nan() || cell <= 0.0 {
            cell = 1.0;
        }
        let side_cells =
            |extent: f64, cell: f64| ((extent / cell).floor() as usize + 1).min(MAX_SIDE);
        let mut cols = side_cells(w, cell);
        let mut rows = side_cells(h, cell);
        if cols == MAX_SIDE || rows == MAX_SIDE {
            cell = side / (MAX_SIDE - 1) as f64;
            cols = side_cells(w, cell);
            rows = side_cells(h, cell);
        }
        let mut grid = PlaneGrid {
            lo,
            cell: cell as f32,
            cols,
            rows,
            starts: vec![0; cols * rows + 1],
            order: vec![0; points.len()],
            at: vec![[0.0; 2]; points.len()],
        };
        let cell_of: Vec<u32> = points.iter().map(|&p| grid.cell_of(p) as u32).collect();
        for &c in &cell_of {
            grid.starts[c as usize + 1] += 1;
        }
        for c in 0..cols * rows {
            grid.starts[c + 1] += grid.starts[c];
        }
        let mut next = grid.starts.clone();
        for (id, (&c, &p)) in cell_of.iter().zip(points).enumerate() {
            let slot = next[c as usize] as usize;
            next[c as usize] += 1;
            grid.order[slot] = id as u32;
            grid.at[slot] = p;
        }
        grid
    }

    /// Points held.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    fn col_row(&self, p: [f32; 2]) -> (usize, usize) {
        let f = |v: f32, lo: f32, n: usize| -> usize {
            let c = ((v - lo) / self.cell).floor();
            if c.is_nan() || c < 0.0 {
                0
            } else {
                (c as usize).min(n - 1)
            }
        };
        (
            f(p[0], self.lo[0], self.cols),
            f(p[1], self.lo[1], self.rows),
        )
    }

    fn cell_of(&self, p: [f32; 2]) -> usize {
        let (c, r) = self.col_row(p);
        r * self.cols + c
    }

    /// Visits every point in the cells at Chebyshev ring `ring` around
    /// (`c`, `r`), clipped to the grid; false when the ring is wholly
    /// outside it.
    fn visit_ring(
        &self,
        c: usize,
        r: usize,
        ring: usize,
        mut f: impl FnMut(u32, [f32; 2]),
    ) -> bool {
        let (c, r, ring) = (c as isize, r as isize, ring as isize);
        let (cols, rows) = (self.cols as isize, self.rows as isize);
        if c - ring < 0 && r - ring < 0 && c + ring >= cols && r + ring >= rows {
            return false;
        }
        let mut cell = |cc: isize, rr: isize| {
            if cc < 0 || rr < 0 || cc >= cols || rr >= rows {
                return;
            }
            let i = (rr * cols + cc) as usize;
            let (s, e) = (self.starts[i] as usize, self.starts[i + 1] as usize);
            for j in s..e {
                f(self.order[j], self.at[j]);
            }
        };
        if ring == 0 {
            cell(c, r);
            return true;
        }
        for cc in c - ring..=c + ring {
            cell(cc, r - ring);
            cell(cc, r + ring);
        }
        for rr in r - ring + 1..r + ring {
            cell(c - ring, rr);
            cell(c + ring, rr);
        }
        true
    }

    /// The `k` points nearest `p` (squared distance, id), nearest first,
    /// ties by id; `skip` is left out (a point's own id). Fewer when the
    /// grid holds fewer.
    pub fn nearest(&self, p: [f32; 2], k: usize, skip: Option<u32>, out: &mut Vec<(f32, u32)>) {
        out.clear();
        if k == 0 {
            return;
        }
        let (c, r) = self.col_row(p);
        for ring in 0.. {
            let inside = self.visit_ring(c, r, ring, |id, q| {
                if Some(id) == skip {
                    return;
                }
                let d = (q[0] - p[0]).powi(2) + (q[1] - p[1]).powi(2);
                if !d.is_finite() {
                    return;
                }
                if out.len() == k {
                    let worst = out[k - 1];
                    if (d, id) >= worst {
                        return;
                    }
                    out.pop();
                }
                let at = out.partition_point(|&e| e < (d, id));
                out.insert(at, (d, id));
            });
            if !inside {
                break;
            }
            // A point beyond this ring is at least `ring` cells away.
            let reach = ring as f32 * self.cell;
            if out.len() == k && out[k - 1].0 <= reach * reach {
                break;
            }
        }
    }

    /// The point nearest `p` within `radius`, if any (hover and click).
    pub fn nearest_within(&self, p: [f32; 2], radius: f32) -> Option<u32> {
        let mut best: Option<(f32, u32)> = None;
        let rings = (radius / self.cell).ceil() as usize + 1;
        let (c, r) = self.col_row(p);
        for ring in 0..=rings {
            self.visit_ring(c, r, ring, |id, q| {
                let d = (q[0] - p[0]).powi(2) + (q[1] - p[1]).powi(2);
                if d <= radius * radius && best.is_none_or(|b| (d, id) < b) {
                    best = Some((d, id));
                }
            });
        }
        best.map(|b| b.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn brute(points: &[[f32; 2]], p: [f32; 2], k: usize, skip: u32) -> Vec<(f32, u32)> {
        let mut all: Vec<(f32, u32)> = points
            .iter()
            .enumerate()
            .filter(|(i, _)| *i as u32 != skip)
            .map(|(i, q)| ((q[0] - p[0]).powi(2) + (q[1] - p[1]).powi(2), i as u32))
            .collect();
        all.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
        all.truncate(k);
        all
    }

    /// Clustered points (most in two tight blobs, some far out), as a
    /// projection gives: every k-nearest answer equals a scan's.
    #[test]
    fn nearest_equals_a_scan_on_clustered_points() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let mut points = Vec::new();
        for i in 0..3000 {
            let (cx, spread) = match i % 3 {
                0 => (0.0, 0.01),
                1 => (5.0, 0.2),
                _ => (2.0, 8.0),
            };
            points.push([
                cx + rng.random::<f32>() * spread,
                rng.random::<f32>() * spread,
            ]);
        }
        points.push(points[10]); // a duplicate
        let g = PlaneGrid::new(&points);
        assert_eq!(g.len(), points.len());
        let mut out = Vec::new();
        for i in (0..points.len()).step_by(7) {
            g.nearest(points[i], 10, Some(i as u32), &mut out);
            assert_eq!(out, brute(&points, points[i], 10, i as u32), "point {i}");
        }
        // A point off the grid's box.
        g.nearest([100.0, -50.0], 3, None, &mut out);
        assert_eq!(out, brute(&points, [100.0, -50.0], 3, u32::MAX));
    }

    #[test]
    fn nearest_within_finds_the_closest_or_nothing() {
        let points = vec![[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [f32::NAN, 0.0]];
        let g = PlaneGrid::new(&points);
        assert_eq!(g.nearest_within([0.9, 0.2], 0.5), Some(1));
        assert_eq!(g.nearest_within([0.5, 3.0], 0.5), None);
        let mut out = Vec::new();
        g.nearest([0.0, 0.0], 10, None, &mut out);
        assert_eq!(out.len(), 3, "the NaN point is never a neighbour");
        // All points in one place.
        let same = vec![[2.0, 2.0]; 5];
        let g = PlaneGrid::new(&same);
        g.nearest([2.0, 2.0], 3, Some(0), &mut out);
        assert_eq!(out.iter().map(|e| e.1).collect::<Vec<_>>(), [1, 2, 3]);
    }
}
