//! The ground-truth cache: exact top-k is computed once per base, queries,
//! metric and k, then read back instantly.
//!
//! It lives in the user's cache folder (`$ANNSCOPE_CACHE`, else
//! `$XDG_CACHE_HOME/annscope` or the platform's cache directory), never next
//! to the input data, which may be read-only or shared. Entries are keyed by
//! the content hash of both vector sets, so a changed file is a miss, written
//! atomically, and checksummed, so a damaged entry is recomputed.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use xxhash_rust::xxh3::xxh3_64;

use crate::dataset::Dataset;
use crate::error::Result;
use crate::eval::GroundTruth;
use crate::fsutil::write_atomic;
use crate::progress::WorkContext;

const MAGIC: &[u8; 8] = b"ANNSGT01";
/// Ground truth is computed to at least this depth, so any k up to it reuses one entry.
pub const MIN_CACHED_K: usize = 100;

/// The cache folder, if one can be found.
pub fn cache_dir() -> Option<PathBuf> {
    // Set but empty means unset (not "the current folder").
    if let Some(p) = std::env::var_os("ANNSCOPE_CACHE").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    dirs::cache_dir().map(|d| d.join("annscope"))
}

/// Where did a ground truth come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GtSource {
    Cache,
    Computed,
}

fn entry_path(dir: &Path, base: &Dataset, queries: &Dataset, k: usize) -> PathBuf {
    dir.join(format!(
        "gt-{:016x}-{:016x}-{}-k{k}.bin",
        base.content_hash(),
        queries.content_hash(),
        base.metric().name()
    ))
}

pub(crate) fn encode(gt: &GroundTruth) -> Vec<u8> {
    let (ids, dists) = gt.parts();
    let mut out = Vec::with_capacity(24 + ids.len() * 8 + 8);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(gt.n_queries() as u64).to_le_bytes());
    out.extend_from_slice(&(gt.k() as u64).to_le_bytes());
    ids.iter()
        .for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
    dists
        .iter()
        .for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
    let sum = xxh3_64(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    out
}

pub(crate) fn decode(bytes: &[u8]) -> Option<GroundTruth> {
    if bytes.len() < 32 || &bytes[..8] != MAGIC {
        return None;
    }
    let (body, sum) = bytes.split_at(bytes.len() - 8);
    if xxh3_64(body) != u64::from_le_bytes(sum.try_into().ok()?) {
        return None;
    }
    let n = u64::from_le_bytes(body[8..16].try_into().ok()?) as usize;
    let k = u64::from_le_bytes(body[16..24].try_into().ok()?) as usize;
    let count = n.checked_mul(k)?;
    if body.len() != 24 + count * 8 {
        return None;
    }
    let ids = body[24..24 + count * 4]
        .chunks_exact(4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let dists = body[24 + count * 4..]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    GroundTruth::from_parts(k, ids, dists).ok()
}

/// Whether a decoded entry can be ground truth over `n` base vectors: a
/// checksum only says the bytes are the ones written, not that what was
/// written was right. Ids in range, distances finite and nearest first.
fn plausible(gt: &GroundTruth, n: usize) -> bool {
    let (ids, dists) = gt.parts();
    ids.iter().all(|&id| (id as usize) < n)
        && dists.iter().all(|d| d.is_finite())
        && dists
            .chunks(gt.k().max(1))
            .all(|row| row.windows(2).all(|w| w[0] <= w[1]))
}

/// Ground truth for `queries` against `base` (under the base's metric) to at
/// least depth `k`: from the cache when it has it, else computed and stored.
/// A cache that cannot be written only costs the reuse, never the result.
pub fn ground_truth(
    base: &Arc<Dataset>,
    queries: &Dataset,
    k: usize,
    ctx: &WorkContext,
) -> Result<(GroundTruth, GtSource)> {
    ground_truth_in(cache_dir().as_deref(), base, queries, k, ctx)
}

/// [`ground_truth`] with an explicit cache folder (`None`: no cache).
pub fn ground_truth_in(
    dir: Option<&Path>,
    base: &Arc<Dataset>,
    queries: &Dataset,
    k: usize,
    ctx: &WorkContext,
) -> Result<(GroundTruth, GtSource)> {
    if queries.dim() != base.dim() {
        return Err(crate::error::Error::Mismatch(format!(
            "queries {} have dimension {}, the base {} has {}",
            queries.display_name(),
            queries.dim(),
            base.display_name(),
            base.dim()
        )));
    }
    let depth = k.max(MIN_CACHED_K).min(base.len());
    ctx.progress
        .stage("hashing data for the ground-truth cache", 0);
    let path = dir.map(|d| entry_path(d, base, queries, depth));
    if let Some(p) = &path {
        if let Some(gt) = std::fs::read(p).ok().and_then(|b| decode(&b)) {
            if gt.n_queries() == queries.len() && gt.k() == depth && plausible(&gt, base.len()) {
                return Ok((gt, GtSource::Cache));
            }
        }
    }
    queries.validate(ctx)?;
    let gt = GroundTruth::compute(base, queries.vectors(), depth, ctx)?;
    if let (Some(d), Some(p)) = (dir, &path) {
        if std::fs::create_dir_all(d).is_ok() {
            let _ = write_atomic(p, &encode(&gt));
        }
    }
    Ok((gt, GtSource::Computed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distance::Metric;
    use crate::testutil::random_dataset;

    #[test]
    fn second_call_reads_the_cache_and_matches() {
        let dir = tempfile::tempdir().expect("tempdir");
        let base = Arc::new(random_dataset(500, 16, Metric::L2, 1));
        let queries = random_dataset(20, 16, Metric::L2, 2);
        let ctx = WorkContext::detached();
        let (a, src_a) =
            ground_truth_in(Some(dir.path()), &base, &queries, 10, &ctx).expect("compute");
        let (b, src_b) =
            ground_truth_in(Some(dir.path()), &base, &queries, 10, &ctx).expect("cached");
        assert_eq!((src_a, src_b), (GtSource::Computed, GtSource::Cache));
        assert_eq!(a, b);
        assert_eq!(a.k(), 100, "computed to the cached depth");
    }

    /// Computes an entry, lets `spoil` rewrite the stored entry's bytes,
    /// and asks again: the first and second answers and where the second
    /// came from.
    fn ask_again_after(spoil: impl Fn(&GroundTruth, Vec<u8>) -> Vec<u8>) -> [GroundTruth; 2] {
        let dir = tempfile::tempdir().expect("tempdir");
        let base = Arc::new(random_dataset(300, 8, Metric::Cosine, 3));
        let queries = random_dataset(5, 8, Metric::Cosine, 4);
        let ctx = WorkContext::detached();
        let (a, _) = ground_truth_in(Some(dir.path()), &base, &queries, 10, &ctx).expect("compute");
        for entry in std::fs::read_dir(dir.path()).expect("ls") {
            let p = entry.expect("entry").path();
            let bytes = std::fs::read(&p).expect("read");
            std::fs::write(&p, spoil(&a, bytes)).expect("spoil");
        }
        let (b, src) =
            ground_truth_in(Some(dir.path()), &base, &queries, 10, &ctx).expect("recompute");
        assert_eq!(
            src,
            GtSource::Computed,
            "a spoiled entry must not be trusted"
        );
        [a, b]
    }

    #[test]
    fn a_damaged_entry_is_recomputed() {
        let [a, b] = ask_again_after(|_, mut bytes| {
            let mid = bytes.len() / 2;
            bytes[mid] ^= 0xff;
            bytes
        });
        assert_eq!(a, b);
    }

    #[test]
    fn an_entry_with_a_valid_checksum_but_nan_distances_is_recomputed() {
        let [a, b] = ask_again_after(|gt, _| {
            let (ids, dists) = gt.parts();
            let mut poisoned = dists.to_vec();
            poisoned[3] = f32::NAN;
            encode(&GroundTruth::from_parts(gt.k(), ids.to_vec(), poisoned).expect("parts"))
        });
        assert_eq!(a, b);
    }

    #[test]
    fn different_metric_is_a_different_entry() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut base = random_dataset(200, 8, Metric::L2, 5);
        let queries = random_dataset(5, 8, Metric::L2, 6);
        let ctx = WorkContext::detached();
        let b1 = Arc::new(random_dataset(200, 8, Metric::L2, 5));
        ground_truth_in(Some(dir.path()), &b1, &queries, 10, &ctx).expect("l2");
        base.set_metric(Metric::InnerProduct);
        let (_, src) =
            ground_truth_in(Some(dir.path()), &Arc::new(base), &queries, 10, &ctx).expect("ip");
        assert_eq!(src, GtSource::Computed);
    }
}
