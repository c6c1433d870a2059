//! Opening data for the app: what to open ([`LoadRequest`], remembered in
//! the settings), the bundled sample, and the loaded base and queries
//! ([`Loaded`]), with queries held out of the base when no query file is
//! given. Runs in a background job; errors name the file.

use std::path::PathBuf;
use std::sync::Arc;

use rand::rngs::StdRng;
use rand::seq::index::sample;
use rand::SeedableRng;

use crate::dataset::{self, Dataset};
use crate::distance::Metric;
use crate::error::{Error, Result};
use crate::progress::WorkContext;

/// What to open.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LoadRequest {
    pub base: PathBuf,
    pub queries: Option<PathBuf>,
    pub labels: Option<PathBuf>,
    /// Labels of the query file's vectors (shown in the search-path view).
    #[serde(default)]
    pub query_labels: Option<PathBuf>,
    pub metric: Metric,
    pub normalize: bool,
    /// Queries held out of the base when there is no query file.
    pub holdout: usize,
}

/// The bundled sample, relative to the crate (or the working directory).
pub fn sample_request() -> LoadRequest {
    let root = sample_dir();
    LoadRequest {
        base: root.join("pypi-minilm-sample.base.fvecs"),
        queries: Some(root.join("pypi-minilm-sample.query.fvecs")),
        labels: Some(root.join("pypi-minilm-sample.base.txt")),
        query_labels: Some(root.join("pypi-minilm-sample.query.txt")),
        metric: Metric::Cosine,
        normalize: false,
        holdout: 200,
    }
}

/// Where sample_data/ is: next to the working directory, else the crate's.
pub fn sample_dir() -> PathBuf {
    let local = PathBuf::from("sample_data");
    if local.join("pypi-minilm-sample.base.fvecs").exists() {
        local
    } else {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("sample_data")
    }
}

/// Loaded vectors, ready to build on.
pub struct Loaded {
    pub request: LoadRequest,
    pub base: Arc<Dataset>,
    pub queries: Arc<Dataset>,
    /// How the queries were chosen, for the screen.
    pub queries_note: String,
}

/// Opens what `req` names, checks it and holds out queries if need be.
pub fn load(req: LoadRequest, ctx: &WorkContext) -> Result<Loaded> {
    let mut base = dataset::open(&req.base, req.metric, ctx)?;
    if let Some(labels) = &req.labels {
        base.load_labels(labels)?;
    }
    let (mut base, mut queries, note) = match &req.queries {
        Some(q) => {
            let mut queries = dataset::open(q, req.metric, ctx)?;
            if let Some(labels) = &req.query_labels {
                queries.load_labels(labels)?;
            }
            if queries.dim() != base.dim() {
                return Err(Error::Mismatch(format!(
                    "{} has dimension {}, but {} has {}",
                    q.display(),
                    queries.dim(),
                    req.base.display(),
                    base.dim()
                )));
            }
            let note = format!("{} queries from {}", queries.len(), file_name(q));
            (base, queries, note)
        }
        None => {
            let n = base.len();
            let h = req.holdout.clamp(1, n.saturating_sub(1).max(1));
            if n < 2 {
                return Err(Error::InvalidParameter(format!(
                    "{}: too few vectors to hold out queries",
                    req.base.display()
                )));
            }
            let mut rng = StdRng::seed_from_u64(7);
            let mut held: Vec<usize> = sample(&mut rng, n, h).into_vec();
            held.sort_unstable();
            let queries = base.subset("held-out queries", &held);
            let mut is_held = vec![false; n];
            held.iter().for_each(|&i| is_held[i] = true);
            let rest: Vec<usize> = (0..n).filter(|&i| !is_held[i]).collect();
            let name = base.name().to_string();
            let remaining = base.subset(name, &rest);
            let note = format!("{h} queries held out of the base at random (seed 7) and removed from it; no query file given");
            (remaining, queries, note)
        }
    };
    if req.normalize {
        base = base.normalized();
        queries = queries.normalized();
    }
    base.validate(ctx)?;
    queries.validate(ctx)?;
    Ok(Loaded {
        request: req,
        base: Arc::new(base),
        queries: Arc::new(queries),
        queries_note: note,
    })
}

fn file_name(p: &std::path::Path) -> String {
    p.file_name().map_or_else(
        || p.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}
