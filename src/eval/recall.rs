//! recall@k as ann-benchmarks defines it: the share of the k returned ids
//! whose true distance is within the k-th true neighbour's distance plus
//! epsilon, so an id tied with the k-th neighbour is not counted as a miss.
//!
//! The distances of returned ids are recomputed from the vectors, never taken
//! from the index (an index may return approximate distances).

use crate::dataset::{Dataset, Vectors};
use crate::index::Neighbors;

use super::GroundTruth;

/// ann-benchmarks' tolerance on the k-th distance.
pub const RECALL_EPSILON: f32 = 1e-3;

/// Mean recall@k over all queries, and each query's recall.
pub fn recall_at_k(
    gt: &GroundTruth,
    k: usize,
    results: &[Neighbors],
    base: &Dataset,
    queries: &Vectors,
) -> (f64, Vec<f32>) {
    let metric = base.metric();
    score(gt, k, results, |qi, _, id| {
        ((id as usize) < base.len())
            .then(|| metric.distance(queries.row(qi), base.row(id as usize)))
    })
}

/// Mean recall@k by the same rule, from the distances the index reported:
/// for an engine's collection that is not on this machine, whose server
/// computed each returned distance exactly from its stored vector.
pub fn recall_from_reported(gt: &GroundTruth, k: usize, results: &[Neighbors]) -> (f64, Vec<f32>) {
    score(gt, k, results, |qi, j, _| {
        results[qi].distances.get(j).copied()
    })
}

/// Mean recall@k by the same rule, with each returned id's true distance
/// given by `distance(query, position, id)` (None: not a live id, a miss):
/// for answers in ids the base rows do not name directly (tags under
/// writes).
pub fn recall_with(
    gt: &GroundTruth,
    k: usize,
    results: &[Neighbors],
    distance: impl Fn(usize, usize, u32) -> Option<f32>,
) -> (f64, Vec<f32>) {
    score(gt, k, results, distance)
}

/// The rule itself: the `j`-th returned id of query `qi` is a hit when its
/// true distance (`distance(qi, j, id)`; None: not a row) is within the
/// k-th true distance plus epsilon; repeated ids count once.
fn score(
    gt: &GroundTruth,
    k: usize,
    results: &[Neighbors],
    distance: impl Fn(usize, usize, u32) -> Option<f32>,
) -> (f64, Vec<f32>) {
    let k = k.min(gt.k()).max(1);
    let per_query: Vec<f32> = results
        .iter()
        .enumerate()
        .map(|(qi, r)| {
            let threshold = gt.distances(qi)[k - 1] + RECALL_EPSILON;
            let mut seen: Vec<u32> = Vec::with_capacity(k);
            let mut hits = 0usize;
            for (j, &id) in r.ids.iter().enumerate().take(k) {
                if seen.contains(&id) {
                    continue;
                }
                seen.push(id);
                if distance(qi, j, id).is_some_and(|d| d <= threshold) {
                    hits += 1;
                }
            }
            hits as f32 / k as f32
        })
        .collect();
    let mean = if per_query.is_empty() {
        0.0
    } else {
        per_query.iter().map(|&r| f64::from(r)).sum::<f64>() / per_query.len() as f64
    };
    (mean, per_query)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distance::Metric;

    fn line_dataset() -> Dataset {
        // Points on a line at 0, 1, 2, 3, 4, and a duplicate of 1 (id 5).
        Dataset::from_vec("line", vec![0.0, 1.0, 2.0, 3.0, 4.0, 1.0], 1, Metric::L2)
            .expect("dataset")
    }

    fn neighbors(ids: &[u32]) -> Neighbors {
        Neighbors {
            ids: ids.to_vec(),
            ..Neighbors::default()
        }
    }

    #[test]
    fn ties_with_the_kth_neighbour_count_as_hits() {
        let base = line_dataset();
        let queries = crate::dataset::Vectors::from_vec(vec![0.0], 1).expect("q");
        // True top-2 from 0: ids 0 (d 0) and 1 (d 1); id 5 ties with id 1.
        let gt = GroundTruth::from_parts(2, vec![0, 1], vec![0.0, 1.0]).expect("gt");
        let (r, _) = recall_at_k(&gt, 2, &[neighbors(&[0, 5])], &base, &queries);
        assert_eq!(r, 1.0);
        let (r, _) = recall_at_k(&gt, 2, &[neighbors(&[0, 2])], &base, &queries);
        assert_eq!(r, 0.5);
        // Duplicated ids are counted once.
        let (r, _) = recall_at_k(&gt, 2, &[neighbors(&[0, 0])], &base, &queries);
        assert_eq!(r, 0.5);
        // Too few results are misses.
        let (r, per) = recall_at_k(&gt, 2, &[neighbors(&[1])], &base, &queries);
        assert_eq!((r, per), (0.5, vec![0.5]));
    }

    #[test]
    fn reported_distances_follow_the_same_rule() {
        let gt = GroundTruth::from_parts(2, vec![0, 1], vec![0.0, 1.0]).expect("gt");
        let with = |ids: &[u32], d: &[f32]| Neighbors {
            ids: ids.to_vec(),
            distances: d.to_vec(),
            ..Neighbors::default()
        };
        // A tie with the k-th distance (within 1e-3) is a hit; beyond, a miss.
        let (r, _) = recall_from_reported(&gt, 2, &[with(&[0, 5], &[0.0, 1.0005])]);
        assert_eq!(r, 1.0);
        let (r, _) = recall_from_reported(&gt, 2, &[with(&[0, 2], &[0.0, 4.0])]);
        assert_eq!(r, 0.5);
        let (r, _) = recall_from_reported(&gt, 2, &[with(&[0, 0], &[0.0, 0.0])]);
        assert_eq!(r, 0.5);
    }
}
