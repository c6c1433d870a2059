//! Writes made by hand between (or instead of) a runbook's steps, as the
//! app's Motion lab offers them: delete a share of the live rows (at
//! random, a given set of rows, or the rows nearest one picked on the
//! projection), insert the next
//! rows never written, replace a share with vectors of rows nobody holds.
//!
//! Each returns what it touches without applying it, keeping the rule a
//! runbook's check keeps: no base row is held by two live tags (the
//! ground truth could not tell them apart).

use std::collections::HashSet;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use super::state::{LiveRows, Touched};
use crate::dataset::Dataset;
use crate::error::{Error, Result};

/// `share` (0..=1) of the live tags, chosen with `seed`, to delete.
pub fn delete_share(live: &LiveRows, share: f64, seed: u64) -> Result<Touched> {
    let mut held: Vec<(u32, u32)> = live.held().map(|(r, t)| (t, r)).collect();
    if held.is_empty() {
        return Err(Error::InvalidParameter("nothing is live to delete".into()));
    }
    // The map's order is not fixed: sort, then shuffle with the seed.
    held.sort_unstable();
    held.shuffle(&mut StdRng::seed_from_u64(seed));
    let n = count_of(share, held.len());
    held.truncate(n);
    held.sort_unstable();
    Ok(Touched {
        tags: held.iter().map(|&(t, _)| t).collect(),
        rows: held.iter().map(|&(_, r)| r as usize).collect(),
    })
}

/// Every live tag whose row is in `rows` (a cluster), to delete.
pub fn delete_rows(live: &LiveRows, rows: &[u32]) -> Result<Touched> {
    let wanted: HashSet<u32> = rows.iter().copied().collect();
    let mut held: Vec<(u32, u32)> = live
        .held()
        .filter(|(r, _)| wanted.contains(r))
        .map(|(r, t)| (t, r))
        .collect();
    if held.is_empty() {
        return Err(Error::InvalidParameter(
            "none of that cluster's rows is live: it is gone already".into(),
        ));
    }
    held.sort_unstable();
    Ok(Touched {
        tags: held.iter().map(|&(t, _)| t).collect(),
        rows: held.iter().map(|&(_, r)| r as usize).collect(),
    })
}

/// The `n` live rows nearest to base row `near` (itself included when
/// live), by the base's metric: a cluster in the data, to delete. Ties go
/// to the lower row.
pub fn delete_nearest(live: &LiveRows, base: &Dataset, near: u32, n: usize) -> Result<Touched> {
    check_row(near, base.len())?;
    let centre = base.row(near as usize);
    let metric = base.metric();
    delete_nearest_by(live, n, |r| metric.distance(centre, base.row(r as usize)))
}

/// The `n` live rows nearest to base row `near` on a 2-D map of the base
/// (one point per row, as the Projection tab draws it): a patch picked on
/// the map, to delete, which the map then shows as a hole whether or not
/// the rows were neighbours in the data.
pub fn delete_nearest_on_map(
    live: &LiveRows,
    map: &[[f32; 2]],
    near: u32,
    n: usize,
) -> Result<Touched> {
    check_row(near, map.len())?;
    let [cx, cy] = map[near as usize];
    delete_nearest_by(live, n, |r| match map.get(r as usize) {
        Some(&[x, y]) => (x - cx).powi(2) + (y - cy).powi(2),
        None => f32::INFINITY,
    })
}

fn check_row(near: u32, rows: usize) -> Result<()> {
    if near as usize >= rows {
        return Err(Error::InvalidParameter(format!(
            "row {near} is not in the base ({rows} rows)"
        )));
    }
    Ok(())
}

fn delete_nearest_by(live: &LiveRows, n: usize, distance: impl Fn(u32) -> f32) -> Result<Touched> {
    let mut by_distance: Vec<(f32, u32)> = live.held().map(|(r, _)| (distance(r), r)).collect();
    if by_distance.is_empty() {
        return Err(Error::InvalidParameter("nothing is live to delete".into()));
    }
    let n = n.clamp(1, by_distance.len());
    by_distance.select_nth_unstable_by(n - 1, |a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let rows: Vec<u32> = by_distance[..n].iter().map(|&(_, r)| r).collect();
    delete_rows(live, &rows)
}

/// The next `n` rows in the runbook's order that no live tag holds, each
/// under its own tag (tag = row, as a runbook's inserts write them).
pub fn insert_next(live: &LiveRows, n: usize) -> Result<Touched> {
    let held: HashSet<u32> = live.held().map(|(r, _)| r).collect();
    let mut t = Touched::default();
    for &row in live.order() {
        if t.tags.len() == n {
            break;
        }
        if live.row(row).is_none() && !held.contains(&row) {
            t.tags.push(row);
            t.rows.push(row as usize);
        }
    }
    if t.tags.is_empty() {
        return Err(Error::InvalidParameter(
            "no row is left to insert: every row of the file is live, or its tag holds a replaced vector".into(),
        ));
    }
    Ok(t)
}

/// `share` of the live tags, chosen with `seed`, each given the vector of
/// a row no live tag holds (the last such rows in the runbook's order,
/// the ones an insert reaches last).
pub fn replace_share(live: &LiveRows, share: f64, seed: u64) -> Result<Touched> {
    let chosen = delete_share(live, share, seed)?;
    let held: HashSet<u32> = live.held().map(|(r, _)| r).collect();
    let free: Vec<u32> = live
        .order()
        .iter()
        .rev()
        .copied()
        .filter(|r| !held.contains(r))
        .take(chosen.tags.len())
        .collect();
    if free.is_empty() {
        return Err(Error::InvalidParameter(
            "every row of the file is held: delete some so replaces have new vectors to take"
                .into(),
        ));
    }
    let n = free.len();
    Ok(Touched {
        tags: chosen.tags[..n].to_vec(),
        rows: free.iter().map(|&r| r as usize).collect(),
    })
}

/// At least one row for any share above zero, never more than `of`.
fn count_of(share: f64, of: usize) -> usize {
    let n = (share.clamp(0.0, 1.0) * of as f64).round() as usize;
    if share > 0.0 {
        n.clamp(1, of)
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::churn::state::Write;
    use crate::churn::Op;

    fn live_first(n: usize, of: usize) -> LiveRows {
        let mut live = LiveRows::new((0..of as u32).rev().collect());
        live.apply(&Op::Insert { start: 0, end: n });
        live
    }

    #[test]
    fn a_share_deleted_is_that_share_of_live_tags_and_the_same_for_a_seed() {
        let live = live_first(200, 300);
        let d = delete_share(&live, 0.3, 7).expect("delete");
        assert_eq!(d.tags.len(), 60);
        assert!(d.tags.iter().all(|&t| live.row(t).is_some()));
        assert_eq!(d, delete_share(&live, 0.3, 7).expect("again"));
        assert_ne!(d, delete_share(&live, 0.3, 8).expect("other seed"));
        assert_eq!(delete_share(&live, 0.0001, 1).expect("tiny").tags.len(), 1);
    }

    #[test]
    fn the_nearest_live_rows_to_a_picked_one_are_deleted_and_only_live_ones() {
        let base = crate::testutil::random_dataset(300, 8, crate::distance::Metric::L2, 4);
        let live = live_first(200, 300); // rows 299..100 live
        let d = delete_nearest(&live, &base, 150, 25).expect("delete");
        assert_eq!(d.tags.len(), 25);
        assert!(d.rows.contains(&150), "the picked row is its own nearest");
        assert!(d.tags.iter().all(|&t| live.row(t).is_some()));
        // Every live row left out is at least as far as every one taken.
        let dist = |r: usize| crate::distance::Metric::L2.distance(base.row(150), base.row(r));
        let worst_taken = d.rows.iter().map(|&r| dist(r)).fold(0.0f32, f32::max);
        for (r, _) in live.held() {
            if !d.rows.contains(&(r as usize)) {
                assert!(dist(r as usize) >= worst_taken);
            }
        }
        // A row that is not live still picks its live neighbours; one
        // outside the base is refused.
        assert_eq!(
            delete_nearest(&live, &base, 5, 3).expect("near").tags.len(),
            3
        );
        assert!(delete_nearest(&live, &base, 300, 3).is_err());
    }

    #[test]
    fn the_nearest_live_rows_on_the_map_are_a_patch_of_the_map() {
        // Rows on a line: row r at (r, 0). Rows 299..100 live.
        let map: Vec<[f32; 2]> = (0..300).map(|r| [r as f32, 0.0]).collect();
        let live = live_first(200, 300);
        let d = delete_nearest_on_map(&live, &map, 150, 21).expect("delete");
        let mut rows = d.rows.clone();
        rows.sort_unstable();
        assert_eq!(rows, (140..=160).collect::<Vec<usize>>());
        // At the edge of the live rows the patch extends inwards only.
        let d = delete_nearest_on_map(&live, &map, 90, 5).expect("edge");
        let mut rows = d.rows.clone();
        rows.sort_unstable();
        assert_eq!(rows, (100..105).collect::<Vec<usize>>());
        assert!(delete_nearest_on_map(&live, &map, 300, 3).is_err());
    }

    #[test]
    fn inserts_take_the_next_rows_in_order_and_replaces_only_rows_nobody_holds() {
        // Order 299, 298, …: the first 200 positions are rows 299..100.
        let mut live = live_first(200, 300);
        let ins = insert_next(&live, 10).expect("insert");
        assert_eq!(ins.tags, (90..100).rev().collect::<Vec<u32>>());
        live.apply_touched(Write::Insert, &ins);
        let rep = replace_share(&live, 0.5, 3).expect("replace");
        let held: HashSet<u32> = live.held().map(|(r, _)| r).collect();
        assert_eq!(rep.tags.len(), 90, "only 90 rows are free");
        assert!(rep.rows.iter().all(|&r| !held.contains(&(r as u32))));
        live.apply_touched(Write::Replace, &rep);
        let rows: HashSet<u32> = live.held().map(|(r, _)| r).collect();
        assert_eq!(rows.len(), live.len(), "no row held twice");
        // The rows left are the replaced tags' old rows: their tags are
        // live, so nothing can be inserted under them; a replace can.
        assert!(insert_next(&live, 1).is_err());
        assert!(replace_share(&live, 0.1, 1).is_ok());
        let mut full = live_first(300, 300);
        assert!(replace_share(&full, 0.1, 1).is_err(), "every row held");
        full.apply_touched(Write::Delete, &delete_share(&full, 0.1, 1).expect("delete"));
        assert_eq!(insert_next(&full, 100).expect("insert").tags.len(), 30);
    }

    #[test]
    fn a_cluster_deleted_takes_its_live_rows_and_then_refuses() {
        let mut live = live_first(100, 300);
        let cluster: Vec<u32> = (250..280).collect();
        let d = delete_rows(&live, &cluster).expect("delete");
        assert_eq!(d.tags.len(), 30);
        live.apply_touched(Write::Delete, &d);
        assert!(delete_rows(&live, &cluster).is_err());
    }
}
