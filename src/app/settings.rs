//! What the app remembers between runs (eframe storage): the last dataset,
//! the build and search parameters, and panel layout choices (the open tab,
//! the projection's colouring). Views read these; nothing here reads views.

use serde::{Deserialize, Serialize};

use super::loading::{sample_request, LoadRequest};
use crate::engine::{EngineIndexSpec, QdrantQuantization};
use std::collections::BTreeMap;

use crate::index::{
    family, param_spec, DynamicConfig, HnswParams, IndexKind, IndexSpec, SearchKnob,
};

/// The central area's tabs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
pub enum Tab {
    #[default]
    Charts,
    Projection,
    Layers,
    SearchPath,
    /// The Motion lab: runbooks played, the index watched as it ages.
    Motion,
}

impl Tab {
    pub const ALL: [Tab; 5] = [
        Tab::Charts,
        Tab::Projection,
        Tab::Layers,
        Tab::SearchPath,
        Tab::Motion,
    ];
    pub fn label(self) -> &'static str {
        match self {
            Tab::Charts => "Charts",
            Tab::Projection => "Projection",
            Tab::Layers => "Layer graph",
            Tab::SearchPath => "Search path",
            Tab::Motion => "Motion",
        }
    }
}

/// The projection's colour schemes on offer (each drawn by a
/// `views::colour::Colouring`).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum,
)]
pub enum ColourBy {
    #[default]
    Nothing,
    /// Each node's top HNSW layer.
    TopLayer,
    /// Each query's recall@k at the current setting.
    QueryRecall,
    /// Each vector's (primary) HFresh posting list.
    PostingList,
    /// The share of each vector's 10 nearest neighbours kept on the plane.
    NeighboursKept,
    /// Where each row stands in the Motion run shown in the views: live,
    /// queued, tombstone, or not in the index.
    MotionState,
}

impl ColourBy {
    pub const ALL: [ColourBy; 6] = [
        ColourBy::Nothing,
        ColourBy::TopLayer,
        ColourBy::QueryRecall,
        ColourBy::PostingList,
        ColourBy::NeighboursKept,
        ColourBy::MotionState,
    ];
    pub fn label(self) -> &'static str {
        match self {
            ColourBy::Nothing => "nothing",
            ColourBy::TopLayer => "top HNSW layer",
            ColourBy::QueryRecall => "query recall",
            ColourBy::PostingList => "posting list",
            ColourBy::NeighboursKept => "neighbours kept",
            ColourBy::MotionState => "motion state",
        }
    }
}

/// Persisted settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub dataset: LoadRequest,
    pub index: IndexKind,
    pub hnsw: HnswParams,
    /// The build settings of kinds whose family lists them as fields (by
    /// kind; a kind not here is at its family's defaults).
    pub specs: BTreeMap<IndexKind, IndexSpec>,
    /// Lists probed per query (HFresh; pgvector IVFFlat's probes).
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
    pub view_tab: Tab,
    /// How the projection colours its points.
    pub colour_by: ColourBy,
    /// The projection shown: PCA (at once) or UMAP (when ready).
    pub projection_method: crate::projection::Method,
    /// The PostgreSQL server for pgvector, kept without its password.
    #[serde(serialize_with = "url_without_password")]
    pub engine_url: String,
    /// Typed in the panel, never written to the settings file.
    #[serde(skip)]
    pub engine_password: String,
    /// pgvector: store halfvec instead of vector.
    pub pg_halfvec: bool,
    /// pgvector IVFFlat lists.
    pub pg_lists: usize,
    /// Qdrant: the codes its HNSW walks on.
    pub qdrant_quantization: QdrantQuantization,
    /// Qdrant: oversampling over quantized codes, and whether the
    /// candidates are re-ranked on the original vectors (set per build in
    /// the app; `bench` sweeps it without rebuilding).
    pub qdrant_oversample: f64,
    pub qdrant_rescore: bool,
    /// annscope's own walk over quantized codes: oversampling and
    /// re-scoring, live like ef (no rebuild).
    pub oversample: f64,
    /// What the Tune panel makes best.
    pub tune_objective: crate::tune::Objective,
    /// Opening the bundled sample builds an HNSW index and sweeps ef at
    /// once, so the charts are alive before the first click.
    pub sweep_sample_at_start: bool,
    pub rescore: bool,
    /// The Motion lab's controls.
    pub motion: super::motion::MotionSettings,
}

/// A URL is written to the settings file without its password.
fn url_without_password<S: serde::Serializer>(url: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::engine::pgvector::sql::without_password(url))
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            dataset: sample_request(),
            index: IndexKind::Hnsw,
            hnsw: HnswParams::default(),
            specs: BTreeMap::new(),
            search_probe: param_spec::SEARCH_PROBE.default,
            threshold: param_spec::THRESHOLD.default,
            recall_target: 0.95,
            k: 10,
            ef: param_spec::EF.default,
            build_threads: 0,
            show_debug: false,
            show_results: true,
            view_tab: Tab::Charts,
            colour_by: ColourBy::Nothing,
            projection_method: crate::projection::Method::Pca,
            engine_url: "postgresql://postgres@127.0.0.1:5432/postgres".into(),
            engine_password: String::new(),
            pg_halfvec: false,
            pg_lists: param_spec::PG_LISTS.default,
            qdrant_quantization: QdrantQuantization::None,
            qdrant_oversample: param_spec::QD_OVERSAMPLING.default,
            qdrant_rescore: true,
            oversample: param_spec::OVERSAMPLE.default,
            tune_objective: crate::tune::Objective::Qps,
            sweep_sample_at_start: true,
            rescore: true,
            motion: super::motion::MotionSettings::default(),
        }
    }
}

impl Settings {
    /// Qdrant's rescoring for a build over quantized codes.
    pub fn qdrant_rescoring(&self) -> Option<crate::index::Rescoring> {
        (self.qdrant_quantization != QdrantQuantization::None).then_some(crate::index::Rescoring {
            oversample: self.qdrant_oversample,
            rescore: self.qdrant_rescore,
        })
    }

    /// The oversampling and re-scoring a walk over annscope's codes uses.
    pub fn rescoring(&self) -> crate::index::Rescoring {
        crate::index::Rescoring {
            oversample: self
                .oversample
                .clamp(param_spec::OVERSAMPLE.min, param_spec::OVERSAMPLE.max),
            rescore: self.rescore,
        }
    }

    /// The current kind's search knob at its slider's value.
    pub fn knob(&self) -> SearchKnob {
        match self.index.knob() {
            Some(kind @ crate::index::KnobKind::Ef) => kind.at(self.ef),
            Some(kind @ crate::index::KnobKind::Probe) => kind.at(self.search_probe),
            None => SearchKnob::Default,
        }
    }

    /// The column type pgvector stores the vectors in.
    pub fn pg_column(&self) -> crate::engine::pgvector::sql::ColumnType {
        if self.pg_halfvec {
            crate::engine::pgvector::sql::ColumnType::Halfvec
        } else {
            crate::engine::pgvector::sql::ColumnType::Vector
        }
    }

    /// The index the panel describes, with its build parameters.
    pub fn spec(&self) -> IndexSpec {
        match self.index {
            IndexKind::Flat => IndexSpec::Flat,
            IndexKind::Hnsw => IndexSpec::Hnsw(self.hnsw.clone()),
            IndexKind::Dynamic => IndexSpec::Dynamic(DynamicConfig {
                threshold: self.threshold,
                hnsw: self.hnsw.clone(),
            }),
            IndexKind::PgvectorHnsw => IndexSpec::Engine(EngineIndexSpec::Hnsw {
                m: self.hnsw.m,
                ef_construction: self.hnsw.ef_construction,
            }),
            IndexKind::PgvectorIvfflat => IndexSpec::Engine(EngineIndexSpec::Ivfflat {
                lists: self.pg_lists,
            }),
            IndexKind::QdrantHnsw => IndexSpec::Engine(EngineIndexSpec::QdrantHnsw {
                m: self.hnsw.m,
                ef_construct: self.hnsw.ef_construction,
                quantization: self.qdrant_quantization,
            }),
            kind => self.family_spec(kind),
        }
    }

    /// The build settings of a kind drawn from its family's fields.
    pub fn family_spec(&self, kind: IndexKind) -> IndexSpec {
        self.specs
            .get(&kind)
            .filter(|s| s.kind() == kind)
            .cloned()
            .unwrap_or_else(|| family(kind).map_or(IndexSpec::Flat, |f| f.default_spec()))
    }

    /// The same, to edit.
    pub fn family_spec_mut(&mut self, kind: IndexKind) -> &mut IndexSpec {
        let spec = self.family_spec(kind);
        let slot = self.specs.entry(kind).or_insert_with(|| spec.clone());
        if slot.kind() != kind {
            *slot = spec;
        }
        slot
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_is_never_written_to_the_settings_file() {
        let settings = Settings {
            engine_url: "postgresql://ann:in-url-secret@db.example:5432/vectors".into(),
            engine_password: "typed-secret".into(),
            ..Settings::default()
        };
        let saved = serde_json::to_string(&settings).expect("json");
        assert!(
            !saved.contains("in-url-secret") && !saved.contains("typed-secret"),
            "{saved}"
        );
        assert!(
            saved.contains("postgresql://ann@db.example:5432/vectors"),
            "{saved}"
        );
        let read: Settings = serde_json::from_str(&saved).expect("read back");
        assert_eq!(read.engine_password, "");
    }
}
