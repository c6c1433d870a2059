//! One entry point per fuzz target: hands arbitrary bytes to a reader or an
//! index loader the way a user's file would reach it, and uses whatever
//! opens (validates a dataset, searches an index). The `fuzz/` targets call
//! these; the robustness tests replay the committed corpus through them on
//! stable. Each returns normally for any input: a panic is the bug.

use std::path::PathBuf;

use rand::rngs::StdRng;
use rand::Rng;

use crate::dataset;
use crate::distance::Metric;
use crate::index::{load_index, SearchParams};
use crate::progress::WorkContext;

/// The fuzz targets, by name (the folder names under `fuzz/corpus/`).
pub const TARGETS: [&str; 6] = ["vecs", "npy", "text", "hdf5", "index", "cache"];

/// Runs `target` on `bytes`.
pub fn run(target: &str, bytes: &[u8]) {
    match target {
        "vecs" => picked(bytes, &["fvecs", "ivecs", "bvecs"], |p| {
            open_and_use(p);
            let _ = dataset::read_ivecs(p);
        }),
        "npy" => with_file("npy", bytes, open_and_use),
        "text" => picked(bytes, &["csv", "tsv", "txt"], |p| {
            open_and_use(p);
            let _ = dataset::read_labels(p);
        }),
        "hdf5" => with_file("hdf5", bytes, |p| {
            open_and_use(p);
            let _ = dataset::hdf5::read_extras(p);
        }),
        "index" => with_file("index", bytes, |p| {
            if let Ok((_, index)) = load_index(p) {
                let query = vec![0.5; index.dim().min(4096)];
                let _ = index.search(&query, &SearchParams::new(5));
            }
        }),
        "cache" => {
            if let Some(gt) = crate::cache::decode(bytes) {
                let _ = gt.to_id_rows(gt.k());
            }
        }
        other => panic!("no fuzz target {other}"),
    }
}

/// The first byte picks the file's extension from `exts`; the rest is the file.
fn picked(bytes: &[u8], exts: &[&str], read: impl FnOnce(&std::path::Path)) {
    let (pick, body) = bytes.split_first().unwrap_or((&0, &[]));
    with_file(exts[*pick as usize % exts.len()], body, read);
}

/// Writes `bytes` to a file of this process named with `ext`, and reads it.
fn with_file(ext: &str, bytes: &[u8], read: impl FnOnce(&std::path::Path)) {
    let path: PathBuf =
        std::env::temp_dir().join(format!("annscope-fuzz-{}.{ext}", std::process::id()));
    if std::fs::write(&path, bytes).is_ok() {
        read(&path);
    }
    let _ = std::fs::remove_file(&path);
}

/// Opens as a dataset (the format detected from content and name), and
/// validates what opens, as every command does.
fn open_and_use(path: &std::path::Path) {
    let ctx = WorkContext::detached();
    let _ = dataset::file_info(path);
    if let Ok(d) = dataset::open(path, Metric::Cosine, &ctx) {
        let _ = d.validate(&ctx);
    }
}

/// One seeded mutation of `bytes` (truncated, bits flipped, junk inserted, a
/// 32-bit word set to an extreme, a prefix repeated): the stable stand-in for
/// a fuzzer's mutations, used by the robustness and memory tests.
pub fn mutate(bytes: &[u8], rng: &mut StdRng) -> Vec<u8> {
    let mut b = bytes.to_vec();
    match rng.random_range(0..5) {
        0 => b.truncate(rng.random_range(0..b.len().max(1))),
        1 => {
            for _ in 0..rng.random_range(1..8) {
                let i = rng.random_range(0..b.len().max(1));
                if let Some(x) = b.get_mut(i) {
                    *x ^= 1 << rng.random_range(0..8);
                }
            }
        }
        2 => {
            let i = rng.random_range(0..=b.len());
            let junk: Vec<u8> = (0..rng.random_range(1..64)).map(|_| rng.random()).collect();
            b.splice(i..i, junk);
        }
        3 => {
            // A 32-bit word set to an extreme: counts and sizes that lie.
            let i = rng.random_range(0..b.len().saturating_sub(4).max(1)) & !3;
            let v: u32 = [0, 1, 0x7FFF_FFFF, 0xFFFF_FFFF, 0x8000_0000][rng.random_range(0..5)];
            if i + 4 <= b.len() {
                b[i..i + 4].copy_from_slice(&v.to_le_bytes());
            }
        }
        _ => {
            let i = rng.random_range(0..b.len().max(1));
            b.truncate(i);
            b.extend_from_slice(&bytes[..bytes.len().min(i)]);
        }
    }
    b
}
