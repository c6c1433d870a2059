//! What the app remembers between runs (eframe storage): the last dataset,
//! the build and search parameters, and panel layout choices.

use serde::{Deserialize, Serialize};

use super::session::{sample_request, LoadRequest};
use crate::index::HnswParams;

/// Index kinds the panel offers. New kinds add a variant and a parameter
/// section; nothing else in the panel changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum IndexChoice {
    Flat,
    Hnsw,
    Dynamic,
}

impl IndexChoice {
    pub const ALL: [IndexChoice; 3] = [IndexChoice::Flat, IndexChoice::Hnsw, IndexChoice::Dynamic];
    /// Kinds searched through an HNSW graph (ef applies).
    pub fn uses_ef(self) -> bool {
        matches!(self, IndexChoice::Hnsw | IndexChoice::Dynamic)
    }
    pub fn label(self) -> &'static str {
        match self {
            IndexChoice::Flat => "Flat (exact)",
            IndexChoice::Hnsw => "HNSW",
            IndexChoice::Dynamic => "Dynamic (flat, then HNSW)",
        }
    }
}

/// Persisted settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub dataset: LoadRequest,
    pub index: IndexChoice,
    pub hnsw: HnswParams,
    /// The dynamic index's switch point.
    pub threshold: usize,
    /// The recall HNSW must reach in the crossover measurement.
    pub recall_target: f64,
    pub k: usize,
    pub ef: usize,
    /// Build threads; 0 picks every core but one on machines with more than two.
    pub build_threads: usize,
    pub show_debug: bool,
    pub show_results: bool,
    /// The central area's open tab.
    pub view_tab: super::views::Tab,
    /// How the projection colours its points.
    pub colour_by: super::views::ColourBy,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            dataset: sample_request(),
            index: IndexChoice::Hnsw,
            hnsw: HnswParams::default(),
            threshold: 10_000,
            recall_target: 0.95,
            k: 10,
            ef: 32,
            build_threads: 0,
            show_debug: false,
            show_results: true,
            view_tab: super::views::Tab::Charts,
            colour_by: super::views::ColourBy::Nothing,
        }
    }
}
