//! Searches while writes run, as VectorDBBench's insertion-under-load case
//! measures them: a write step's rows are written by a writer thread paced
//! at `--write-rate` rows per second (a tick's worth at a time, each under
//! the index's write lock), while this thread searches the queries one at
//! a time, round and round, until the writer is done. The QPS and latency
//! seen meanwhile are set against the idle search steps'.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::RwLock;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::super::state::{Touched, Write};
use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::eval::LatencyStats;
use crate::index::live::{LiveIndex, Rows};
use crate::index::SearchParams;
use crate::progress::WorkContext;

/// Writes applied per second are split into this many ticks.
const TICKS_PER_SECOND: f64 = 100.0;

/// One write step written at a set rate while searches ran: a
/// `{"under_writes": …}` line.
#[derive(Clone, Debug, Serialize)]
pub struct UnderWrites {
    pub step: u64,
    pub operation: &'static str,
    pub rows: usize,
    /// Rows per second asked for, and reached.
    pub write_rate: f64,
    pub achieved_rate: f64,
    pub queries: usize,
    pub qps: f64,
    pub p50_us: f64,
    pub p99_us: f64,
}

/// Writes `touched` (what `write` does) into `index` at `rate` rows per
/// second on another thread, searching `queries` with `params` here until
/// it is done.
#[allow(clippy::too_many_arguments)]
pub(super) fn paced(
    index: &mut dyn LiveIndex,
    step: u64,
    write: Write,
    touched: &Touched,
    base: &Dataset,
    rate: f64,
    queries: &Dataset,
    params: &SearchParams,
    ctx: &WorkContext,
) -> Result<UnderWrites> {
    let lock = RwLock::new(index);
    let done = AtomicBool::new(false);
    let chunk = ((rate / TICKS_PER_SECOND).ceil() as usize).max(1);
    let (written, search) = std::thread::scope(|s| {
        let writer = s.spawn(|| {
            let result = write_paced(&lock, write, touched, base, rate, chunk, ctx);
            done.store(true, Ordering::Release);
            result
        });
        let search = search_until(&lock, &done, queries, params);
        let written = writer
            .join()
            .unwrap_or_else(|_| Err(Error::Internal("the paced writer panicked".into())));
        (written, search)
    });
    let write_s = written?;
    let (wall, times) = search?;
    let lat = LatencyStats::from_micros(&times);
    Ok(UnderWrites {
        step,
        operation: write.name(),
        rows: touched.tags.len(),
        write_rate: rate,
        achieved_rate: touched.tags.len() as f64 / write_s.max(1e-9),
        queries: times.len(),
        qps: times.len() as f64 / wall.max(1e-9),
        p50_us: lat.p50_us,
        p99_us: lat.p99_us,
    })
}

fn write_paced(
    lock: &RwLock<&mut dyn LiveIndex>,
    write: Write,
    touched: &Touched,
    base: &Dataset,
    rate: f64,
    chunk: usize,
    ctx: &WorkContext,
) -> Result<f64> {
    let start = Instant::now();
    for (i, (tags, rows)) in touched
        .tags
        .chunks(chunk)
        .zip(touched.rows.chunks(chunk))
        .enumerate()
    {
        ctx.cancel.check()?;
        // A chunk goes when the rate allows its last row: by any time t at
        // most rate × t rows are written.
        let written = ((i + 1) * chunk).min(touched.tags.len());
        let due = start + Duration::from_secs_f64(written as f64 / rate);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let mut index = lock.write().unwrap_or_else(|p| p.into_inner());
        let rows = Rows { base, tags, rows };
        match write {
            Write::Insert => index.insert(rows, ctx)?,
            Write::Delete => index.delete(tags)?,
            Write::Replace => index.replace(rows, ctx)?,
        }
    }
    Ok(start.elapsed().as_secs_f64())
}

/// Queries one at a time, each under the read lock, until `done`; each
/// is timed from before it asks for the lock.
fn search_until(
    lock: &RwLock<&mut dyn LiveIndex>,
    done: &AtomicBool,
    queries: &Dataset,
    params: &SearchParams,
) -> Result<(f64, Vec<f64>)> {
    let start = Instant::now();
    let mut times = Vec::new();
    let mut qi = 0;
    while !done.load(Ordering::Acquire) {
        let q = queries.row(qi % queries.len());
        qi += 1;
        // A query's time includes its wait for the lock a write holds.
        let t = Instant::now();
        let index = lock.read().unwrap_or_else(|p| p.into_inner());
        if let Some(ix) = index.searchable() {
            ix.search(q, params)?;
        }
        times.push(t.elapsed().as_secs_f64() * 1e6);
    }
    Ok((start.elapsed().as_secs_f64(), times))
}
