//! A dataset loaded into a pgvector table that annscope created, kept while
//! a user tunes it: the app connects and loads once, then builds, measures,
//! rebuilds with other settings. As an [`EngineCollection`] it is a
//! `DataSource::Engine`, so `IndexSpec::Engine(…).build(…)` builds in the server like any
//! other kind, and annscope's own kinds built from it use its local copy of
//! the vectors (the reference beside the engine).
//!
//! One engine index at a time: with several on one column, PostgreSQL's
//! planner would pick which one answers, not annscope, so a new build drops
//! the previous one first (its points stay on the chart; measuring it again
//! is refused). Dropping the collection drops the table.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::sql::ColumnType;
use super::{LoadMethod, PgSearcher, PgVector, ENGINE};
use crate::dataset::Dataset;
use crate::engine::{EngineBackend, EngineIndex, EngineIndexSpec};
use crate::error::{Error, Result};
use crate::index::{AnnIndex, EngineCollection, Neighbors, ParamMap, SearchKnob, SearchParams};
use crate::progress::WorkContext;

/// A loaded table and the connection that created it (and drops it).
pub struct PgCollection {
    base: Arc<Dataset>,
    column: ColumnType,
    searcher: Arc<PgSearcher>,
    /// Held while a build runs in the server; taken by `Drop`.
    admin: Mutex<Option<PgVector>>,
    /// The server, password masked (read every frame: never behind `admin`).
    shown_url: String,
    /// The engine index now in the table.
    current: Mutex<Option<String>>,
    /// Counts builds; an index answers only while it is the latest.
    generation: Arc<AtomicU64>,
}

impl PgCollection {
    /// Connects to `url` (with `password` when given apart from it) and
    /// loads `base` into a new table, with progress and cancel through `ctx`.
    pub fn load(
        url: &str,
        password: Option<&str>,
        base: Arc<Dataset>,
        column: ColumnType,
        ctx: &WorkContext,
    ) -> Result<Self> {
        let mut admin = PgVector::connect_with(url, password)?;
        let (target, _) = admin.load(&base, column, LoadMethod::Copy, ctx)?;
        let searcher = admin.searcher(target, base.metric());
        Ok(PgCollection {
            base,
            column,
            searcher,
            shown_url: admin.shown_url().to_string(),
            admin: Mutex::new(Some(admin)),
            current: Mutex::new(None),
            generation: Arc::new(AtomicU64::new(0)),
        })
    }

    /// The vectors loaded (annscope's copy, for ground truth and recall).
    pub fn base(&self) -> &Arc<Dataset> {
        &self.base
    }

    /// The server, password masked.
    pub fn shown_url(&self) -> &str {
        &self.shown_url
    }

    /// pgvector's version in the server.
    pub fn extension_version(&self) -> String {
        self.admin
            .lock()
            .ok()
            .and_then(|a| a.as_ref().map(|a| a.extension_version.clone()))
            .unwrap_or_default()
    }

    pub fn column(&self) -> ColumnType {
        self.column
    }

    /// The table's name in the server.
    pub fn table_name(&self) -> &str {
        &self.searcher.target().table_name
    }

    /// Builds the engine's index (dropping the previous one) and returns it
    /// ready to search.
    pub fn build(&self, spec: EngineIndexSpec, ctx: &WorkContext) -> Result<EngineIndex> {
        let mut admin = self.admin.lock().map_err(|_| poisoned())?;
        let admin = admin.as_mut().ok_or_else(poisoned)?;
        let mut current = self.current.lock().map_err(|_| poisoned())?;
        self.searcher.release()?;
        // From here on, earlier builds' indexes refuse to answer.
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        if let Some(name) = current.take() {
            admin.drop_index(&name)?;
        }
        let metric = self.base.metric();
        let (name, secs, bytes) = admin.create_index(self.searcher.target(), spec, metric, ctx)?;
        *current = Some(name);
        let target = self.searcher.target();
        let mut params = spec.params();
        params.insert("column".into(), self.column.name().into());
        Ok(EngineIndex::new(
            Arc::new(Latest {
                searcher: self.searcher.clone(),
                built: generation,
                now: self.generation.clone(),
            }),
            spec.kind(),
            params,
            target.rows,
            target.dim,
            metric,
            bytes,
            secs,
        ))
    }
}

/// The searcher of one build, answering only while that build's index is
/// the table's index.
struct Latest {
    searcher: Arc<PgSearcher>,
    built: u64,
    now: Arc<AtomicU64>,
}

impl Latest {
    fn check(&self) -> Result<()> {
        if self.now.load(Ordering::SeqCst) != self.built {
            return Err(Error::Engine {
                engine: ENGINE,
                problem:
                    "this pgvector index was replaced by a newer build (one index per table): \
                          build it again to measure it"
                        .into(),
            });
        }
        Ok(())
    }
}

impl EngineBackend for Latest {
    fn name(&self) -> &'static str {
        ENGINE
    }
    fn search(&self, query: &[f32], params: &SearchParams) -> Result<Neighbors> {
        self.check()?;
        self.searcher.search(query, params)
    }
    fn exact(&self, query: &[f32], k: usize, exclude: Option<u32>) -> Result<Neighbors> {
        self.searcher.exact(query, k, exclude)
    }
    fn search_report(&self, knob: SearchKnob) -> ParamMap {
        self.searcher.search_report(knob)
    }
}

impl EngineCollection for PgCollection {
    fn local(&self) -> &Arc<Dataset> {
        &self.base
    }
    fn build(&self, spec: EngineIndexSpec, ctx: &WorkContext) -> Result<Arc<dyn AnnIndex>> {
        Ok(Arc::new(PgCollection::build(self, spec, ctx)?))
    }
}

/// Tables being dropped off the thread that let go of their collection.
static CLEANUPS: Mutex<Vec<std::thread::JoinHandle<()>>> = Mutex::new(Vec::new());

impl Drop for PgCollection {
    /// Drops the table without making the dropping thread (the app's UI
    /// thread, when other data opens) wait on the server: open search
    /// transactions are ended first (their locks would hold DROP TABLE
    /// back), then the admin connection drops the table on a thread of its
    /// own; [`wait_for_cleanups`] lets an exiting process finish them.
    fn drop(&mut self) {
        let _ = self.searcher.release();
        if let Some(admin) = self.admin.get_mut().ok().and_then(Option::take) {
            let handle = std::thread::spawn(move || drop(admin));
            if let Ok(mut running) = CLEANUPS.lock() {
                running.retain(|h| !h.is_finished());
                running.push(handle);
            }
        }
    }
}

/// Waits (at most `limit`) for tables still being dropped: call before
/// the process exits.
pub fn wait_for_cleanups(limit: std::time::Duration) {
    let started = std::time::Instant::now();
    let running = CLEANUPS
        .lock()
        .map(|mut r| std::mem::take(&mut *r))
        .unwrap_or_default();
    for handle in running {
        while !handle.is_finished() && started.elapsed() < limit {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        if handle.is_finished() {
            let _ = handle.join();
        }
    }
}

fn poisoned() -> Error {
    Error::Internal("a pgvector collection lock was poisoned".into())
}
