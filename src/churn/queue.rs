//! Weaviate's asynchronous indexing: a write is acknowledged once it is in
//! a queue, and a background worker applies the queue to the index in
//! batches (a full batch, or whatever waited longer than the stale
//! timeout). A search answers from the index and from an exact scan of the
//! queued vectors, and drops the index's version of any tag with a queued
//! delete or replace, so nothing acknowledged is missing from an answer
//! (the index is asked for up to 3k more answers while writes wait, so
//! dropping stale ones rarely leaves an answer short of k).
//!
//! Locks are taken in one order, the index before the queue's view, by the
//! worker and by searches alike.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::dataset::Dataset;
use crate::distance::Metric;
use crate::error::{Error, Result};
use crate::index::live::{Cleaned, LiveIndex, Rows};
use crate::index::topk::TopK;
use crate::index::{AnnIndex, IndexKind, MemoryUsage, Neighbors, ParamMap, SearchParams};
use crate::progress::WorkContext;

/// How the worker batches (Weaviate's ASYNC_INDEXING_BATCH_SIZE and
/// ASYNC_INDEXING_STALE_TIMEOUT).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AsyncConfig {
    pub batch: usize,
    pub stale: Duration,
}

impl Default for AsyncConfig {
    fn default() -> Self {
        AsyncConfig {
            batch: 1000,
            stale: Duration::from_millis(100),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Insert,
    Delete,
    Replace,
}

#[derive(Clone, Copy)]
struct Pending {
    kind: Kind,
    tag: u32,
    row: usize,
    acked: Instant,
}

/// The queued writes, and per tag the state they leave it in: `Some(row)`
/// (its vector is a queued row) or `None` (deleted), with how many queued
/// writes touch it.
#[derive(Default)]
struct View {
    queue: VecDeque<Pending>,
    latest: HashMap<u32, (Option<usize>, usize)>,
    /// Taken by the worker and not yet in the index.
    in_flight: usize,
    /// Milliseconds from acknowledgement to indexed, per applied write.
    freshness_ms: Vec<f64>,
    failed: Option<String>,
    stop: bool,
    /// Someone waits for the queue to drain: partial batches go at once.
    flush: bool,
}

struct Shared {
    index: RwLock<Box<dyn LiveIndex>>,
    view: Mutex<View>,
    wake: Condvar,
    base: Arc<Dataset>,
    config: AsyncConfig,
}

/// An index behind an indexing queue.
pub struct AsyncLive {
    shared: Arc<Shared>,
    worker: Option<JoinHandle<()>>,
    kind: IndexKind,
    metric: Metric,
}

impl AsyncLive {
    pub fn new(index: Box<dyn LiveIndex>, base: Arc<Dataset>, config: AsyncConfig) -> Result<Self> {
        if config.batch == 0 {
            return Err(Error::InvalidParameter(
                "--async-batch must be at least 1".into(),
            ));
        }
        let kind = index.kind();
        let metric = base.metric();
        let shared = Arc::new(Shared {
            index: RwLock::new(index),
            view: Mutex::new(View::default()),
            wake: Condvar::new(),
            base,
            config,
        });
        let s = shared.clone();
        let worker = std::thread::Builder::new()
            .name("annscope-async-indexing".into())
            .spawn(move || work(&s))
            .map_err(|e| Error::Internal(format!("could not start the indexing worker: {e}")))?;
        Ok(AsyncLive {
            shared,
            worker: Some(worker),
            kind,
            metric,
        })
    }

    fn view(&self) -> std::sync::MutexGuard<'_, View> {
        self.shared.view.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn enqueue(&self, kind: Kind, tags: &[u32], rows: &[usize]) -> Result<()> {
        let mut v = self.view();
        if let Some(e) = &v.failed {
            return Err(Error::Internal(format!("the indexing worker failed: {e}")));
        }
        let now = Instant::now();
        for (i, &tag) in tags.iter().enumerate() {
            let row = rows.get(i).copied().unwrap_or(usize::MAX);
            v.queue.push_back(Pending {
                kind,
                tag,
                row,
                acked: now,
            });
            let e = v.latest.entry(tag).or_insert((None, 0));
            e.0 = (kind != Kind::Delete).then_some(row);
            e.1 += 1;
        }
        drop(v);
        self.shared.wake.notify_one();
        Ok(())
    }

    /// Blocks until every acknowledged write is in the index.
    fn wait_drained(&self) -> Result<()> {
        let mut v = self.view();
        v.flush = true;
        while (!v.queue.is_empty() || v.in_flight > 0) && v.failed.is_none() {
            self.shared.wake.notify_one();
            v = self
                .shared
                .wake
                .wait_timeout(v, Duration::from_millis(20))
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        v.flush = false;
        match &v.failed {
            Some(e) => Err(Error::Internal(format!("the indexing worker failed: {e}"))),
            None => Ok(()),
        }
    }

    fn read_index(&self) -> std::sync::RwLockReadGuard<'_, Box<dyn LiveIndex>> {
        self.shared.index.read().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for AsyncLive {
    fn drop(&mut self) {
        self.view().stop = true;
        self.shared.wake.notify_all();
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

/// The worker: waits for a full batch or a stale one, applies it in order
/// (runs of the same kind of write at once), then forgets it from the view.
fn work(s: &Shared) {
    let ctx = WorkContext::detached();
    loop {
        let batch: Vec<Pending> = {
            let mut v = s.view.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                if v.stop {
                    return;
                }
                let full = v.queue.len() >= s.config.batch || (v.flush && !v.queue.is_empty());
                let stale = v
                    .queue
                    .front()
                    .is_some_and(|p| p.acked.elapsed() >= s.config.stale);
                if full || stale {
                    break;
                }
                let wait = v.queue.front().map_or(Duration::from_millis(50), |p| {
                    s.config.stale.saturating_sub(p.acked.elapsed())
                });
                v = s
                    .wake
                    .wait_timeout(v, wait.max(Duration::from_millis(1)))
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
            let n = v.queue.len().min(s.config.batch);
            v.in_flight = n;
            v.queue.drain(..n).collect()
        };
        let mut index = s.index.write().unwrap_or_else(|p| p.into_inner());
        let result = apply(index.as_mut(), &batch, &s.base, &ctx);
        let mut v = s.view.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        for p in &batch {
            v.freshness_ms
                .push(now.duration_since(p.acked).as_secs_f64() * 1e3);
            if let Some(e) = v.latest.get_mut(&p.tag) {
                e.1 -= 1;
                if e.1 == 0 {
                    v.latest.remove(&p.tag);
                }
            }
        }
        v.in_flight = 0;
        if let Err(e) = result {
            v.failed = Some(e.to_string());
        }
        drop(v);
        drop(index);
        s.wake.notify_all();
    }
}

fn apply(
    index: &mut dyn LiveIndex,
    batch: &[Pending],
    base: &Dataset,
    ctx: &WorkContext,
) -> Result<()> {
    for run in batch.chunk_by(|a, b| a.kind == b.kind) {
        let tags: Vec<u32> = run.iter().map(|p| p.tag).collect();
        let rows: Vec<usize> = run.iter().map(|p| p.row).collect();
        let rows = Rows {
            base,
            tags: &tags,
            rows: &rows,
        };
        match run[0].kind {
            Kind::Insert => index.insert(rows, ctx)?,
            Kind::Delete => index.delete(&tags)?,
            Kind::Replace => index.replace(rows, ctx)?,
        }
    }
    Ok(())
}

impl LiveIndex for AsyncLive {
    fn kind(&self) -> IndexKind {
        self.kind
    }
    fn insert(&mut self, rows: Rows<'_>, _ctx: &WorkContext) -> Result<()> {
        self.enqueue(Kind::Insert, rows.tags, rows.rows)
    }
    fn delete(&mut self, tags: &[u32]) -> Result<()> {
        self.enqueue(Kind::Delete, tags, &[])
    }
    fn replace(&mut self, rows: Rows<'_>, _ctx: &WorkContext) -> Result<()> {
        self.enqueue(Kind::Replace, rows.tags, rows.rows)
    }
    fn tombstones(&self) -> usize {
        self.read_index().tombstones()
    }
    fn has_cleanup(&self) -> bool {
        self.read_index().has_cleanup()
    }
    fn unreachable(&self) -> Option<usize> {
        self.read_index().unreachable()
    }
    fn snapshot(&self) -> Result<Option<Arc<dyn AnnIndex>>> {
        self.read_index().snapshot()
    }
    fn queued_rows(&self) -> Vec<usize> {
        self.view()
            .queue
            .iter()
            // A delete's row: where its tag was inserted (tag = row).
            .map(|p| match p.kind {
                Kind::Delete => p.tag as usize,
                Kind::Insert | Kind::Replace => p.row,
            })
            .collect()
    }
    fn cleanup(&mut self, ctx: &WorkContext) -> Result<Cleaned> {
        self.shared
            .index
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .cleanup(ctx)
    }
    fn searchable(&self) -> Option<&dyn AnnIndex> {
        Some(self)
    }
    fn live(&self) -> usize {
        self.read_index().live()
    }
    fn memory(&self) -> MemoryUsage {
        let mut m = self.read_index().memory();
        m.ram_bytes += (self.view().queue.len() * std::mem::size_of::<Pending>()) as u64;
        m
    }
    fn queued(&self) -> usize {
        let v = self.view();
        v.queue.len() + v.in_flight
    }
    fn freshness_ms(&self) -> Vec<f64> {
        self.view().freshness_ms.clone()
    }
    fn drain(&self) -> Result<()> {
        self.wait_drained()
    }
    fn notes(&self) -> Vec<String> {
        let mut n = self.read_index().notes();
        n.push(format!(
            "async indexing: writes acknowledged into a queue, indexed in batches of {} (or after {} ms); searches scan the queued vectors exactly and drop the index's copy of tags with a queued delete or replace",
            self.shared.config.batch,
            self.shared.config.stale.as_millis()
        ));
        n
    }
}

impl AnnIndex for AsyncLive {
    fn kind(&self) -> IndexKind {
        self.kind
    }
    fn len(&self) -> usize {
        self.read_index().live()
    }
    fn dim(&self) -> usize {
        self.shared.base.dim()
    }
    fn metric(&self) -> Metric {
        self.metric
    }
    fn search(&self, query: &[f32], params: &SearchParams) -> Result<Neighbors> {
        let index = self.read_index();
        let v = self.view();
        let mut top = TopK::new(params.k);
        let mut stats = Default::default();
        if let Some(ix) = index.searchable() {
            // Ask for more than k when queued writes will drop some of the
            // index's answers (stale versions), so the answer stays k long.
            let extra = v.latest.len().min(3 * params.k);
            let deeper = SearchParams {
                k: params.k + extra,
                ..params.clone()
            };
            let found = ix.search(query, &deeper)?;
            stats = found.stats;
            for (&t, &d) in found.ids.iter().zip(&found.distances) {
                if !v.latest.contains_key(&t) {
                    top.push(d, t);
                }
            }
        }
        for (&t, &(row, _)) in &v.latest {
            if let Some(r) = row {
                top.push(self.metric.distance(query, self.shared.base.row(r)), t);
            }
        }
        let (ids, distances) = top.into_sorted();
        Ok(Neighbors {
            ids,
            distances,
            stats,
        })
    }
    fn memory(&self) -> MemoryUsage {
        LiveIndex::memory(self)
    }
    fn params(&self) -> ParamMap {
        self.read_index()
            .searchable()
            .map(|i| i.params())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::{local_family, HnswParams, IndexSpec, SearchKnob};
    use crate::testutil::random_dataset;

    fn search_one(ix: &dyn AnnIndex, v: &[f32]) -> Vec<u32> {
        let p = SearchParams {
            k: 1,
            knob: SearchKnob::Ef(32),
            filter: None,
            rescoring: None,
        };
        ix.search(v, &p).expect("search").ids
    }

    #[test]
    fn every_acknowledged_write_is_indexed_or_queued_and_answers_meanwhile() {
        let base = Arc::new(random_dataset(600, 8, Metric::L2, 3));
        let ctx = WorkContext::detached();
        let spec = IndexSpec::Hnsw(HnswParams {
            m: 8,
            ef_construction: 32,
            ..HnswParams::default()
        });
        let inner = local_family(spec.kind())
            .expect("family")
            .live(&spec, &base, &ctx)
            .expect("live");
        let config = AsyncConfig {
            batch: 200,
            stale: Duration::from_secs(600),
        };
        let mut q = AsyncLive::new(inner, base.clone(), config).expect("queue");
        let tags: Vec<u32> = (0..500).collect();
        let rows: Vec<usize> = (0..500).collect();
        q.insert(
            Rows {
                base: &base,
                tags: &tags,
                rows: &rows,
            },
            &ctx,
        )
        .expect("ack");
        q.delete(&[7]).expect("ack");
        // Stopped mid-run: the two full batches go in, the rest waits (the
        // stale timeout is far away). Every acknowledged row is one or the other.
        let t0 = Instant::now();
        while q.queued() > 101 && t0.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(5));
        }
        let (queued, indexed) = (q.queued(), q.live());
        assert_eq!(
            (queued, indexed),
            (101, 400),
            "{queued} queued, {indexed} indexed"
        );
        for t in (0..500).step_by(37).filter(|&t| t != 7) {
            assert_eq!(
                search_one(&q, base.row(t as usize)),
                [t],
                "tag {t} must answer"
            );
        }
        assert_ne!(
            search_one(&q, base.row(7)),
            [7],
            "a queued delete hides the tag"
        );
        q.drain().expect("drain");
        assert_eq!((q.queued(), q.live()), (0, 499));
        assert_eq!(q.freshness_ms().len(), 501);
        assert_eq!(search_one(&q, base.row(499)), [499]);
    }
}
