//! `annscope gui`: open the desktop app on a dataset, optionally on a view,
//! a node, a query and a step (how the README's screenshots are taken).

use std::path::PathBuf;

use clap::Args;

use crate::app::{ColourBy, LaunchOptions, LoadRequest, Tab};
use crate::distance::Metric;
use crate::index::IndexKind;

#[derive(Args, Debug)]
pub struct GuiArgs {
    /// Base vectors (default: the last dataset, or the bundled sample).
    #[arg(long)]
    pub base: Option<PathBuf>,
    /// Query vectors (default: hold out a random sample of the base).
    #[arg(long)]
    pub queries: Option<PathBuf>,
    /// Labels: one line per base vector, or Projector metadata TSV.
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Labels of the query vectors, in the same forms.
    #[arg(long)]
    pub query_labels: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Metric::Cosine)]
    pub metric: Metric,
    /// Queries held out of the base when no query file is given.
    #[arg(long, default_value_t = 200)]
    pub holdout: usize,
    /// Build the selected index as soon as the data is ready, then sweep ef.
    #[arg(long)]
    pub build: bool,
    /// The index to select (default: the last one used).
    #[arg(long, value_enum)]
    pub index: Option<IndexKind>,
    /// The dynamic index's threshold.
    #[arg(long)]
    pub threshold: Option<usize>,
    /// The tab to open on.
    #[arg(long, value_enum)]
    pub view: Option<Tab>,
    /// Select this base vector (node) in the views.
    #[arg(long)]
    pub select: Option<u32>,
    /// The HNSW layer the layer graph shows.
    #[arg(long)]
    pub layer: Option<usize>,
    /// The query whose search the search-path view replays.
    #[arg(long)]
    pub query: Option<usize>,
    /// The search-path step to show (1-based; past the end shows the last).
    #[arg(long)]
    pub step: Option<usize>,
    /// How the projection colours its points.
    #[arg(long, value_enum)]
    pub colour_by: Option<ColourBy>,
    /// The projection shown: pca (at once) or umap (from the build's
    /// neighbour graph, shown when ready).
    #[arg(long, value_enum)]
    pub projection: Option<crate::projection::Method>,
    /// The search's ef (default: the last one used).
    #[arg(long)]
    pub ef: Option<usize>,
    /// With --build: then load the data into this PostgreSQL server, build
    /// pgvector's HNSW with the same M and efConstruction and sweep it too.
    #[arg(long, requires = "build")]
    pub engine_url: Option<String>,
    /// With --build: then build Qdrant's HNSW in this process with the same
    /// M and efConstruction and sweep it too (annscope built with
    /// --features qdrant).
    #[arg(long, requires = "build")]
    pub qdrant: bool,
    /// With --build: then walk the memory ladder: build HNSW again over
    /// 8-bit, 4-bit and RaBitQ 4- and 1-bit codes with the vectors on disk
    /// (same M and efConstruction), sweeping each, so the memory chart
    /// shows one point per rung.
    #[arg(long, requires = "build")]
    pub ladder: bool,
    /// Run the tuner (the Tune section's target) once the ground truth is
    /// ready (with --build --engine-url: then check the pick on pgvector).
    #[arg(long)]
    pub tune: bool,
    /// Open the Motion tab and play this runbook at launch: a generator
    /// (`clustered-deletes`, `sliding-window`, `random-replace`, with
    /// `:key=value,…` options; defaults scale to the data), a YAML runbook
    /// file, or `by-hand`. Each search step's `churn` JSON line is printed
    /// to stdout as it lands.
    #[arg(long)]
    pub motion: Option<String>,
    /// With --motion: the maintenance of each run, played one after
    /// another on one chart (`none`, `cleanup`, `rebuild`; comma-separated).
    #[arg(long, value_delimiter = ',', requires = "motion")]
    pub motion_keep: Vec<String>,
    /// With --motion: Weaviate's async indexing queue.
    #[arg(long, requires = "motion")]
    pub async_indexing: bool,
    /// With --motion: steps per second (0: as fast as they go).
    #[arg(long, requires = "motion")]
    pub motion_speed: Option<f32>,
    /// With --motion: once the last run has played its runbook, show its
    /// index in the views (the tab --view names, else the layer graph):
    /// tombstones, queued rows, deleted clusters.
    #[arg(long, requires = "motion")]
    pub motion_show: bool,
}

impl GuiArgs {
    /// The dataset to open, when one was named.
    pub fn request(&self) -> Option<LoadRequest> {
        self.base.as_ref().map(|base| LoadRequest {
            base: base.clone(),
            queries: self.queries.clone(),
            labels: self.labels.clone(),
            query_labels: self.query_labels.clone(),
            metric: self.metric,
            normalize: false,
            holdout: self.holdout,
        })
    }

    /// What the app does once open.
    pub fn launch_options(&self) -> LaunchOptions {
        LaunchOptions {
            auto_build: self.build,
            index: self.index,
            threshold: self.threshold,
            view: self.view,
            select: self.select,
            layer: self.layer,
            query: self.query,
            step: self.step,
            ef: self.ef,
            colour_by: self.colour_by,
            projection: self.projection,
            engine_url: self.engine_url.clone(),
            qdrant: self.qdrant,
            ladder: self.ladder,
            tune: self.tune,
            motion: self.motion.clone(),
            motion_keep: self.motion_keep.clone(),
            async_indexing: self.async_indexing,
            motion_speed: self.motion_speed,
            motion_show: self.motion_show,
        }
    }
}
