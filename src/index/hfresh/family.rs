//! HFresh's entry in the registry: one build from its flags (storage from
//! the shared ladder: lists of codes, never vectors on disk), built at once
//! or on a share and grown by inserts, and its controls in the app.

use std::sync::Arc;

use super::{HFresh, HFreshParams};
use crate::dataset::Dataset;
use crate::error::Result;
use crate::index::family::{
    not_this_kind, shown_f32, Family, Field, KindFlags, StorageUse, Tuning,
};
use crate::index::param_spec as spec;
use crate::index::{AnnIndex, IndexKind, IndexSpec, ParamMap};
use crate::progress::WorkContext;

pub struct HFreshFamily;
pub static HFRESH: HFreshFamily = HFreshFamily;

impl HFreshFamily {
    fn params<'s>(&self, s: &'s IndexSpec) -> Result<&'s HFreshParams> {
        match s {
            IndexSpec::HFresh(p) => Ok(p),
            other => Err(not_this_kind(self, other)),
        }
    }
}

/// The params of an HFresh spec, for the app's controls (which only see
/// HFresh specs).
fn get(s: &IndexSpec) -> HFreshParams {
    match s {
        IndexSpec::HFresh(p) => p.clone(),
        _ => HFreshParams::default(),
    }
}

fn edit(s: &mut IndexSpec, f: impl FnOnce(&mut HFreshParams)) {
    if let IndexSpec::HFresh(p) = s {
        f(p);
    }
}

impl Family for HFreshFamily {
    fn kind(&self) -> IndexKind {
        IndexKind::Hfresh
    }

    fn default_spec(&self) -> IndexSpec {
        IndexSpec::HFresh(HFreshParams::default())
    }

    fn specs(&self, flags: &KindFlags) -> Result<Vec<IndexSpec>> {
        if flags.hfresh.search_probe.contains(&0) {
            return Err(crate::error::Error::InvalidParameter(
                "--search-probe 0: probe at least one list".into(),
            ));
        }
        Ok(vec![IndexSpec::HFresh(flags.hfresh.params(&flags.hnsw)?)])
    }

    fn flags_of(&self, spec: &IndexSpec, p: &mut ParamMap) {
        let Ok(h) = self.params(spec) else { return };
        p.insert("max_posting_size".into(), h.max_posting_size.into());
        p.insert("replicas".into(), h.replicas.into());
        p.insert("epsilon".into(), shown_f32(h.epsilon));
        if let Some(q) = h.query_epsilon {
            p.insert("query_epsilon".into(), shown_f32(q));
        }
        p.insert("posting_precision".into(), h.storage.search.name().into());
        p.insert("seed".into(), h.seed.into());
    }

    fn tuning(&self) -> Tuning {
        Tuning::Knob
    }

    #[cfg(test)]
    fn examples(&self) -> Vec<(IndexSpec, crate::index::SearchKnob)> {
        use crate::index::{Precision, SearchKnob};
        let mut p = HFreshParams {
            max_posting_size: 64,
            min_posting_size: 4,
            replicas: 3,
            epsilon: 0.1,
            query_epsilon: Some(0.2),
            seed: 9,
            ..Default::default()
        };
        p.storage.quantizer = crate::index::quant::Quantizer::Sq4;
        p.storage.search = Precision::F32;
        vec![
            (self.default_spec(), SearchKnob::Probe(16)),
            (IndexSpec::HFresh(p), SearchKnob::Probe(5)),
        ]
    }

    fn live(
        &self,
        spec: &IndexSpec,
        _base: &Arc<Dataset>,
        _ctx: &WorkContext,
    ) -> Result<Box<dyn crate::index::live::LiveIndex>> {
        Ok(Box::new(super::live::LiveHFresh::new(
            self.params(spec)?.clone(),
        )?))
    }

    fn storage_use(&self) -> StorageUse {
        StorageUse::CODES_IN_RAM
    }

    fn build(
        &self,
        spec: &IndexSpec,
        dataset: &Arc<Dataset>,
        ctx: &WorkContext,
    ) -> Result<Arc<dyn AnnIndex>> {
        let p = self.params(spec)?.clone();
        Ok(Arc::new(HFresh::build(dataset, p, ctx)?))
    }

    fn takes_inserts(&self) -> bool {
        true
    }

    fn build_then_insert(
        &self,
        spec: &IndexSpec,
        dataset: &Arc<Dataset>,
        fraction: f64,
        ctx: &WorkContext,
    ) -> Result<Arc<dyn AnnIndex>> {
        let p = self.params(spec)?.clone();
        Ok(Arc::new(HFresh::build_then_insert(
            dataset, p, fraction, ctx,
        )?))
    }

    fn fields(&self) -> &'static [Field] {
        &[
            Field::Count {
                label: "Max posting size",
                spec: &spec::MAX_POSTING_SIZE,
                get: |s| get(s).max_posting_size,
                set: |s, v| {
                    edit(s, |p| {
                        p.max_posting_size = v;
                        p.min_posting_size = (v / 16).max(1);
                    })
                },
                slider: false,
            },
            Field::Storage,
            Field::Count {
                label: "replicas",
                spec: &spec::REPLICAS,
                get: |s| get(s).replicas,
                set: |s, v| edit(s, |p| p.replicas = v),
                slider: true,
            },
            Field::HalfSearch {
                label: "f16 postings",
                help: spec::POSTING_PRECISION_HELP,
            },
            Field::Real {
                label: "epsilon",
                spec: &spec::EPSILON,
                get: |s| get(s).epsilon,
                set: |s, v| edit(s, |p| p.epsilon = v),
            },
        ]
    }
}
