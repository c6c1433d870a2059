//! HNSW's entry in the registry: a build per (M, efConstruction) the flags
//! list, over the whole storage ladder.

use std::sync::Arc;

use crate::dataset::Dataset;
use crate::error::Result;
use crate::index::family::{not_this_kind, Family, KindFlags, StorageUse, Tuning};
use crate::index::{AnnIndex, Hnsw, HnswParams, IndexKind, IndexSpec, ParamMap};
use crate::progress::WorkContext;

pub struct HnswFamily;
pub static HNSW: HnswFamily = HnswFamily;

/// HNSW's own build settings as `bench` flags (the dynamic index adds its
/// threshold to the same).
pub(crate) fn hnsw_flags(h: &HnswParams, out: &mut ParamMap) {
    out.insert("m".into(), h.m.into());
    out.insert("ef_construction".into(), h.ef_construction.into());
    out.insert("seed".into(), h.seed.into());
    out.insert("build_precision".into(), h.storage.build.name().into());
    out.insert("search_precision".into(), h.storage.search.name().into());
}

impl Family for HnswFamily {
    fn kind(&self) -> IndexKind {
        IndexKind::Hnsw
    }

    fn default_spec(&self) -> IndexSpec {
        IndexSpec::Hnsw(HnswParams::default())
    }

    fn specs(&self, flags: &KindFlags) -> Result<Vec<IndexSpec>> {
        Ok(flags
            .hnsw
            .builds()?
            .into_iter()
            .map(IndexSpec::Hnsw)
            .collect())
    }

    fn flags_of(&self, spec: &IndexSpec, out: &mut ParamMap) {
        if let IndexSpec::Hnsw(h) = spec {
            hnsw_flags(h, out);
        }
    }

    fn tuning(&self) -> Tuning {
        Tuning::Graph
    }

    #[cfg(test)]
    fn examples(&self) -> Vec<(IndexSpec, crate::index::SearchKnob)> {
        use crate::index::hnsw::BuildPrecision;
        use crate::index::quant::Quantizer;
        use crate::index::{Precision, SearchKnob, Storage, VectorPlace};
        let ladder = HnswParams {
            m: 24,
            ef_construction: 100,
            seed: 3,
            storage: Storage {
                quantizer: Quantizer::RaBitQ { bits: 4 },
                vectors: VectorPlace::Disk,
                vector_cache: 100,
                ..Storage::precisions(BuildPrecision::F32, Precision::F32)
            },
        };
        vec![
            (IndexSpec::Hnsw(HnswParams::default()), SearchKnob::Ef(32)),
            (IndexSpec::Hnsw(ladder), SearchKnob::Ef(77)),
        ]
    }

    fn live(
        &self,
        spec: &IndexSpec,
        _base: &Arc<Dataset>,
        _ctx: &WorkContext,
    ) -> Result<Box<dyn crate::index::live::LiveIndex>> {
        let IndexSpec::Hnsw(params) = spec else {
            return Err(not_this_kind(self, spec));
        };
        Ok(Box::new(super::live::LiveHnsw::new(params.clone())?))
    }

    fn storage_use(&self) -> StorageUse {
        StorageUse::LADDER
    }

    fn build(
        &self,
        spec: &IndexSpec,
        dataset: &Arc<Dataset>,
        ctx: &WorkContext,
    ) -> Result<Arc<dyn AnnIndex>> {
        let params = match spec {
            IndexSpec::Hnsw(p) => p.clone(),
            _ => return Err(not_this_kind(self, spec)),
        };
        Ok(Arc::new(Hnsw::build(dataset, params, ctx)?))
    }

    fn build_for_file(
        &self,
        spec: &IndexSpec,
        flags: &KindFlags,
        dataset: &Arc<Dataset>,
        ctx: &WorkContext,
    ) -> Result<Arc<dyn AnnIndex>> {
        let IndexSpec::Hnsw(params) = spec else {
            return Err(not_this_kind(self, spec));
        };
        let mut h = Hnsw::build(dataset, params.clone(), ctx)?;
        // The file keeps the bounds `search --ef -1` uses.
        h.set_dynamic_ef(flags.hnsw.dynamic_ef()?)?;
        Ok(Arc::new(h))
    }
}
