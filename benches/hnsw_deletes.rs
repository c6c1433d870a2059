//! Deletes with cleanup against a fresh build, on real data:
//! `cargo bench --bench hnsw_deletes -- [BASE.fvecs QUERIES.fvecs] [FRACTION]`
//! (defaults: ../shared/data/pypi-minilm, 0.1).
//!
//! Builds HNSW (M 16, efConstruction 200) on all vectors, deletes a seeded
//! random share, cleans up, and measures recall@10 at ef 64 against exact
//! ground truth among the remaining ids; then builds a fresh index on the
//! remaining vectors and measures the same. Prints both, and the timings.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use annscope::dataset;
use annscope::distance::Metric;
use annscope::eval::{recall_at_k, GroundTruth};
use annscope::index::{AllowList, AnnIndex, Hnsw, HnswParams, Neighbors, SearchParams};
use annscope::progress::WorkContext;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let data = "../shared/data/pypi-minilm/pypi-minilm";
    let base_path = args.first().map_or_else(
        || PathBuf::from(format!("{data}.base.fvecs")),
        PathBuf::from,
    );
    let query_path = args.get(1).map_or_else(
        || PathBuf::from(format!("{data}.query.fvecs")),
        PathBuf::from,
    );
    let fraction: f64 = args.get(2).map_or(Ok(0.1), |f| f.parse())?;
    let ctx = WorkContext::detached();
    let base = Arc::new(dataset::open(&base_path, Metric::Cosine, &ctx)?);
    let queries = dataset::open(&query_path, Metric::Cosine, &ctx)?;
    let n = base.len();
    let params = HnswParams::default();
    let doomed = AllowList::random_fraction(n, fraction, 2026);
    let keep: Vec<usize> = (0..n).filter(|&i| !doomed.contains(i as u32)).collect();
    let kept = AllowList::from_ids(n, keep.iter().map(|&i| i as u32));
    let gt = GroundTruth::compute_filtered(&base, queries.vectors(), 10, Some(&kept), &ctx)?;
    let search = SearchParams::new(10).with_ef(64);
    let score = |index: &dyn AnnIndex, map: &dyn Fn(u32) -> u32| -> f64 {
        let results: Vec<Neighbors> = queries
            .vectors()
            .rows()
            .map(|q| {
                let mut r = index.search(q, &search).expect("search");
                r.ids = r.ids.iter().map(|&id| map(id)).collect();
                r
            })
            .collect();
        recall_at_k(&gt, 10, &results, &base, queries.vectors()).0
    };

    let t = Instant::now();
    let mut index = Hnsw::build(&base, params.clone(), &ctx)?;
    let build_s = t.elapsed().as_secs_f64();
    let before = score(&index, &|id| id);
    for id in doomed.ids() {
        index.delete(id)?;
    }
    let tombstoned = score(&index, &|id| id);
    let t = Instant::now();
    let freed = index.cleanup(&ctx)?;
    let cleanup_s = t.elapsed().as_secs_f64();
    let cleaned = score(&index, &|id| id);

    let remaining = Arc::new(base.subset("remaining", &keep));
    let t = Instant::now();
    let fresh = Hnsw::build(&remaining, params, &ctx)?;
    let fresh_s = t.elapsed().as_secs_f64();
    let fresh_recall = score(&fresh, &|id| keep[id as usize] as u32);

    println!(
        "data: {} ({n} vectors), {} queries; deleted {freed} ({:.0}%)",
        base_path.display(),
        queries.len(),
        fraction * 100.0
    );
    println!("recall@10 at ef 64 against ground truth without the deleted ids:");
    println!("  before deleting (deleted ids may be returned): {before:.4}");
    println!("  tombstoned, before cleanup:                   {tombstoned:.4}");
    println!(
        "  after cleanup:                                {cleaned:.4}  (cleanup {cleanup_s:.1} s)"
    );
    println!("  fresh build on the remaining vectors:         {fresh_recall:.4}  (build {fresh_s:.1} s; full build {build_s:.1} s)");
    println!(
        "  difference (cleaned - fresh):                 {:+.4}",
        cleaned - fresh_recall
    );
    println!(
        "  unreachable nodes after cleanup:              {}",
        index.unreachable_nodes().len()
    );
    Ok(())
}
