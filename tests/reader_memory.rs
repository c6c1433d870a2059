//! For any bytes, a reader holds at most a small multiple of the file's size
//! in memory: a header that lies about its counts must be caught before it
//! sizes an allocation. Every fuzz target is handed its seed corpus, the
//! regressions fuzzing found, hand-made lying headers and seeded mutants of
//! each, while a counting allocator records the peak heap above the level
//! before the read.
//!
//! Its own test binary (one test, so nothing else allocates meanwhile): the
//! counting allocator is global.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use rand::rngs::StdRng;
use rand::SeedableRng;

/// The system allocator, counting the bytes in use and their peak.
struct Counting;

static IN_USE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = IN_USE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                let now = IN_USE.fetch_add(new_size - layout.size(), Ordering::Relaxed)
                    + (new_size - layout.size());
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                IN_USE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The heap a read may add: this multiple of the input's size…
const MULTIPLE: usize = 4;
/// …plus this much for fixed costs (buffers, a thread pool's first use,
/// an index's search scratch).
const FIXED: usize = 1 << 20;

/// Mutants per seed input.
const MUTANTS: u64 = 1000;

/// Peak heap growth while `work` runs.
fn peak_growth(work: impl FnOnce()) -> usize {
    let before = IN_USE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    work();
    PEAK.load(Ordering::Relaxed).saturating_sub(before)
}

/// Files under `fuzz/<folder>/<target>/`.
fn inputs(folder: &str, target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(folder)
        .join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|e| std::fs::read(e.path()).expect("read input"))
        .collect()
}

/// Headers whose counts promise far more data than follows.
fn lying_headers(target: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    match target {
        "vecs" => {
            for dim in [0x7FFF_FFFFu32, 0x0100_0000, 384] {
                for pick in 0..3u8 {
                    let mut b = vec![pick];
                    b.extend_from_slice(&dim.to_le_bytes());
                    b.extend_from_slice(&[0u8; 64]);
                    out.push(b);
                }
            }
        }
        "npy" => {
            for shape in ["(1099511627776, 384)", "(4, 1073741824)", "(100000000,)"] {
                let dict =
                    format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
                let mut b = b"\x93NUMPY\x01\x00".to_vec();
                let pad = (64 - (10 + dict.len() + 1) % 64) % 64;
                let header = format!("{dict}{}\n", " ".repeat(pad));
                b.extend_from_slice(&(header.len() as u16).to_le_bytes());
                b.extend_from_slice(header.as_bytes());
                b.extend_from_slice(&[0u8; 32]);
                out.push(b);
            }
        }
        _ => {}
    }
    out
}

#[test]
fn no_reader_holds_more_than_a_small_multiple_of_its_file() {
    // The counter sees what it must: a transient 8 MiB buffer.
    let seen = peak_growth(|| drop(std::hint::black_box(vec![1u8; 8 << 20])));
    assert!(
        seen >= 8 << 20,
        "the counting allocator missed 8 MiB ({seen})"
    );
    // Warm what is allocated once per process (the thread pool, temp dir
    // lookups) so it is not charged to the first input.
    for target in annscope::fuzzing::TARGETS {
        for bytes in inputs("corpus", target) {
            annscope::fuzzing::run(target, &bytes);
        }
    }
    let mut checked = 0;
    let mut worst = (0usize, String::new());
    for target in annscope::fuzzing::TARGETS {
        let mut seeds = inputs("corpus", target);
        seeds.extend(inputs("regressions", target));
        seeds.extend(lying_headers(target));
        assert!(!seeds.is_empty(), "no seed inputs for {target}");
        for (s, seed) in seeds.iter().enumerate() {
            let mut rng = StdRng::seed_from_u64(0xA110C + s as u64);
            let mutants = (0..MUTANTS).map(|_| annscope::fuzzing::mutate(seed, &mut rng));
            for (m, bytes) in std::iter::once(seed.clone()).chain(mutants).enumerate() {
                let grew = peak_growth(|| annscope::fuzzing::run(target, &bytes));
                let allowed = MULTIPLE * bytes.len() + FIXED;
                assert!(
                    grew <= allowed,
                    "{target} input {s} mutant {m}: {} bytes of input held {grew} bytes \
                     of heap (allowed {allowed})",
                    bytes.len()
                );
                if grew > worst.0 {
                    worst = (
                        grew,
                        format!("{target} input {s} mutant {m}, {} B", bytes.len()),
                    );
                }
                checked += 1;
            }
        }
    }
    println!(
        "{checked} inputs read; the largest heap growth: {} B ({})",
        worst.0, worst.1
    );
}
