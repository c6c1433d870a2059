//! Exact ground truth at every search step of a runbook, over the rows live
//! at that step: the flat index's blocked product over the base, limited
//! by an allow-list of the held rows, each answer mapped from rows to tags.
//!
//! Cached like the static ground truth (`crate::cache`): one entry per
//! runbook text, base, queries, metric and k, checksummed and written
//! atomically; a damaged entry is recomputed.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use xxhash_rust::xxh3::xxh3_64;

use super::runbook::{Op, Runbook};
use super::state::LiveRows;
use crate::cache::{self, GtSource};
use crate::dataset::Dataset;
use crate::error::Result;
use crate::eval::GroundTruth;
use crate::fsutil::write_atomic;
use crate::index::{AllowList, AnnIndex, FlatIndex};
use crate::progress::WorkContext;

const MAGIC: &[u8; 8] = b"ANNSCH01";

/// Each search step's ground truth in tags (None: nothing live then), by
/// the step's key.
pub type StepTruth = BTreeMap<u64, Option<GroundTruth>>;

/// Computes (or reads from the cache folder `dir`) every search step's
/// exact top-k over the live tags.
pub fn step_truth(
    dir: Option<&Path>,
    book: &Runbook,
    order: &[u32],
    base: &Arc<Dataset>,
    queries: &Dataset,
    k: usize,
    ctx: &WorkContext,
) -> Result<(StepTruth, GtSource)> {
    let key = format!(
        "{}\n{:016x}\n{:016x}\n{}\n{k}",
        book.to_yaml(),
        base.content_hash(),
        queries.content_hash(),
        base.metric().name()
    );
    let path = dir.map(|d| d.join(format!("churn-gt-{:016x}.bin", xxh3_64(key.as_bytes()))));
    if let Some(p) = &path {
        if let Some(t) = std::fs::read(p).ok().and_then(|b| decode(&b)) {
            if t.len() == book.searches() {
                return Ok((t, GtSource::Cache));
            }
        }
    }
    base.validate(ctx)?;
    queries.validate(ctx)?;
    let flat = FlatIndex::build(base.clone(), ctx)?;
    let mut live = LiveRows::new(order.to_vec());
    let mut out = StepTruth::new();
    ctx.progress.stage(
        "exact ground truth at each search step",
        book.searches() as u64,
    );
    for s in &book.steps {
        ctx.cancel.check()?;
        if s.op != Op::Search {
            live.apply(&s.op);
            continue;
        }
        if live.is_empty() {
            out.insert(s.key, None);
            ctx.progress.add(1);
            continue;
        }
        out.insert(s.key, Some(live_truth(&flat, &live, queries, k, ctx)?));
        ctx.progress.add(1);
    }
    if let (Some(d), Some(p)) = (dir, &path) {
        if std::fs::create_dir_all(d).is_ok() {
            let _ = write_atomic(p, &encode(&out));
        }
    }
    Ok((out, GtSource::Computed))
}

/// The exact top-k over the rows live now, in tags (`flat` is the flat
/// index over the whole base; `live` must not be empty).
pub fn live_truth(
    flat: &FlatIndex,
    live: &LiveRows,
    queries: &Dataset,
    k: usize,
    ctx: &WorkContext,
) -> Result<GroundTruth> {
    let n = flat.len();
    let mut tag_of_row = vec![u32::MAX; n];
    for (r, t) in live.held() {
        tag_of_row[r as usize] = t;
    }
    let allow = AllowList::from_ids(n, live.held().map(|(r, _)| r));
    let kk = k.min(live.len());
    let answers = flat.search_batch_with(queries.vectors(), kk, Some(&allow), ctx)?;
    let mut ids = Vec::with_capacity(answers.len() * kk);
    let mut dists = Vec::with_capacity(answers.len() * kk);
    for a in answers {
        ids.extend(a.ids.iter().map(|&r| tag_of_row[r as usize]));
        dists.extend_from_slice(&a.distances);
    }
    GroundTruth::from_parts(kk, ids, dists)
}

fn encode(t: &StepTruth) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&(t.len() as u64).to_le_bytes());
    for (key, gt) in t {
        out.extend_from_slice(&key.to_le_bytes());
        let bytes = gt.as_ref().map(cache::encode).unwrap_or_default();
        out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        out.extend_from_slice(&bytes);
    }
    let sum = xxh3_64(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    out
}

fn decode(bytes: &[u8]) -> Option<StepTruth> {
    if bytes.len() < 24 || &bytes[..8] != MAGIC {
        return None;
    }
    let (body, sum) = bytes.split_at(bytes.len() - 8);
    if xxh3_64(body) != u64::from_le_bytes(sum.try_into().ok()?) {
        return None;
    }
    let word = |at: usize| -> Option<u64> {
        Some(u64::from_le_bytes(body.get(at..at + 8)?.try_into().ok()?))
    };
    let n = word(8)? as usize;
    let mut at = 16;
    let mut out = StepTruth::new();
    for _ in 0..n {
        let key = word(at)?;
        let len = word(at + 8)? as usize;
        at += 16;
        let gt = if len == 0 {
            None
        } else {
            Some(cache::decode(body.get(at..at.checked_add(len)?)?)?)
        };
        at += len;
        out.insert(key, gt);
    }
    (at == body.len()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::churn::runbook::{Order, Step};
    use crate::distance::Metric;
    use crate::testutil::random_dataset;

    fn book() -> Runbook {
        let s = |key, op| Step { key, op };
        Runbook {
            name: "t".into(),
            max_pts: 300,
            order: Order::File,
            steps: vec![
                s(1, Op::Search),
                s(2, Op::Insert { start: 0, end: 300 }),
                s(3, Op::Search),
                s(4, Op::Delete { start: 0, end: 150 }),
                s(
                    5,
                    Op::Replace {
                        tags_start: 150,
                        tags_end: 160,
                        ids_start: 300,
                        ids_end: 310,
                    },
                ),
                s(6, Op::Search),
            ],
        }
    }

    #[test]
    fn truth_covers_only_live_tags_and_a_replaced_tag_answers_with_its_new_vector() {
        let base = Arc::new(random_dataset(400, 8, Metric::L2, 1));
        let queries = random_dataset(30, 8, Metric::L2, 2);
        let order: Vec<u32> = (0..400).collect();
        let dir = tempfile::tempdir().expect("tmp");
        let ctx = WorkContext::detached();
        let (t, src) = step_truth(Some(dir.path()), &book(), &order, &base, &queries, 10, &ctx)
            .expect("truth");
        assert_eq!(src, GtSource::Computed);
        assert_eq!(t[&1], None, "nothing live at step 1");
        let last = t[&6].as_ref().expect("live at 6");
        for q in 0..30 {
            for (&tag, &d) in last.ids(q).iter().zip(last.distances(q)) {
                assert!((150..300).contains(&tag), "tag {tag} is not live at step 6");
                // A replaced tag (150..160) holds row tag + 150.
                let row = if tag < 160 { tag + 150 } else { tag } as usize;
                let want = Metric::L2.distance(queries.row(q), base.row(row));
                assert!((want - d).abs() < 1e-4, "tag {tag}: {d} vs {want}");
            }
        }
        let (again, src) = step_truth(Some(dir.path()), &book(), &order, &base, &queries, 10, &ctx)
            .expect("cached");
        assert_eq!((again, src), (t, GtSource::Cache));
    }
}
