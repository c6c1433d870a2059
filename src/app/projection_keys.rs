//! What the app's projection results are keyed by and hold: the layout's
//! key (data, method, graph) and the selected point's neighbours. Apart
//! from the jobs that make them ([`super::projection_jobs`]) so the session
//! can hold them without importing the jobs.

use crate::index::SearchKnob;
use crate::projection::Method;

/// What a projection was made of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProjectionKey {
    pub generation: u64,
    pub method: Method,
    /// The graph measured with: None (PCA without neighbours kept), an
    /// exact scan (`Some(None)`) or a build (`Some(Some(id))`).
    pub graph: Option<Option<usize>>,
}

impl ProjectionKey {
    /// The fast first picture of a load: PCA, nothing measured.
    pub fn first(generation: u64) -> Self {
        ProjectionKey {
            generation,
            method: Method::Pca,
            graph: None,
        }
    }
}

/// The selected base point's 10 exact nearest neighbours and what the
/// build on screen returns for it at the current setting.
#[derive(Clone, Debug)]
pub struct SelectedNeighbours {
    pub exact: Vec<u32>,
    pub found: Option<Vec<u32>>,
}

/// (generation, build, row, k, knob)
pub type NeighboursKey = (u64, Option<usize>, u32, usize, SearchKnob);
