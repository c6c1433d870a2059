//! The dynamic index's entry in the registry: flat up to `--threshold`,
//! then HNSW with the HNSW flags (one index per M × efConstruction).

use std::sync::Arc;

use crate::dataset::Dataset;
use crate::error::Result;
use crate::index::family::{not_this_kind, Family, KindFlags, StorageUse, Tuning};
use crate::index::{AnnIndex, DynamicConfig, DynamicIndex, IndexKind, IndexSpec, ParamMap};
use crate::progress::WorkContext;

pub struct Dynamic;
pub static DYNAMIC: Dynamic = Dynamic;

impl Family for Dynamic {
    fn kind(&self) -> IndexKind {
        IndexKind::Dynamic
    }

    fn default_spec(&self) -> IndexSpec {
        IndexSpec::Dynamic(DynamicConfig {
            threshold: crate::index::param_spec::THRESHOLD.default,
            hnsw: Default::default(),
        })
    }

    fn specs(&self, flags: &KindFlags) -> Result<Vec<IndexSpec>> {
        let mut specs = Vec::new();
        for hnsw in flags.hnsw.builds()? {
            let c = DynamicConfig {
                threshold: flags.threshold,
                hnsw,
            };
            c.validate()?;
            specs.push(IndexSpec::Dynamic(c));
        }
        Ok(specs)
    }

    fn flags_of(&self, spec: &IndexSpec, out: &mut ParamMap) {
        if let IndexSpec::Dynamic(c) = spec {
            out.insert("threshold".into(), c.threshold.into());
            crate::index::hnsw::family::hnsw_flags(&c.hnsw, out);
        }
    }

    fn tuning(&self) -> Tuning {
        Tuning::None
    }

    #[cfg(test)]
    fn examples(&self) -> Vec<(IndexSpec, crate::index::SearchKnob)> {
        let spec = IndexSpec::Dynamic(DynamicConfig {
            threshold: 500,
            hnsw: crate::index::HnswParams {
                m: 12,
                ..Default::default()
            },
        });
        vec![(spec, crate::index::SearchKnob::Ef(20))]
    }

    fn live(
        &self,
        spec: &IndexSpec,
        base: &Arc<Dataset>,
        _ctx: &WorkContext,
    ) -> Result<Box<dyn crate::index::live::LiveIndex>> {
        let IndexSpec::Dynamic(config) = spec else {
            return Err(not_this_kind(self, spec));
        };
        Ok(Box::new(super::live::LiveDynamic::new(
            config.clone(),
            base.dim(),
            base.metric(),
        )?))
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
        let config = match spec {
            IndexSpec::Dynamic(c) => c.clone(),
            _ => return Err(not_this_kind(self, spec)),
        };
        Ok(DynamicIndex::from_dataset(dataset, config, ctx)?)
    }
}
