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
    HFresh,
}

impl IndexChoice {
    pub const ALL: [IndexChoice; 4] = [
        IndexChoice::Flat,
        IndexChoice::Hnsw,
        IndexChoice::Dynamic,
        IndexChoice::HFresh,
    ];
    /// Kinds searched through an HNSW graph (ef applies).
    pub fn uses_ef(self) -> bool {
        matches!(self, IndexChoice::Hnsw | IndexChoice::Dynamic)
    }
    /// The search-time knob this kind turns: ef, search_probe, or none.
    pub fn knob_name(self) -> Option<&'static str> {
        match self {
            IndexChoice::Hnsw | IndexChoice::Dynamic => Some("ef"),
            IndexChoice::HFresh => Some("search_probe"),
            IndexChoice::Flat => None,
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            IndexChoice::Flat => "Flat (exact)",
            IndexChoice::Hnsw => "HNSW",
            IndexChoice::Dynamic => "Dynamic (flat, then HNSW)",
            IndexChoice::HFresh => "HFresh (posting lists)",
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
    pub hfresh: crate::index::HFreshParams,
    /// HFresh: lists probed per query.
    pub search_probe: usize,
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
            hfresh: crate::index::HFreshParams::default(),
            search_probe: 16,
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

impl Settings {
    /// The value of the current kind's search knob (ef or search_probe).
    pub fn knob(&self) -> Option<usize> {
        match self.index.knob_name() {
            Some("ef") => Some(self.ef),
            Some(_) => Some(self.search_probe),
            None => None,
        }
    }
}
