//! The flat index's entry in the registry: an exact scan, or a scan over
//! quantized codes when `--quantizer` is given (its best candidates
//! re-scored from the vectors, which stay where the file is).

use std::sync::Arc;

use crate::dataset::Dataset;
use crate::error::Result;
use crate::index::family::{not_this_kind, Family, KindFlags, StorageUse, Tuning};
use crate::index::spec::FlatCodes;
use crate::index::{AnnIndex, FlatIndex, IndexKind, IndexSpec, ParamMap};
use crate::progress::WorkContext;

pub struct Flat;
pub static FLAT: Flat = Flat;

impl Family for Flat {
    fn kind(&self) -> IndexKind {
        IndexKind::Flat
    }

    fn default_spec(&self) -> IndexSpec {
        IndexSpec::Flat
    }

    fn specs(&self, flags: &KindFlags) -> Result<Vec<IndexSpec>> {
        let h = &flags.hnsw;
        if h.vectors != crate::index::VectorPlace::Ram {
            return Err(crate::error::Error::InvalidParameter(
                "--vectors disk: a flat index takes --quantizer, its vectors stay where the file is"
                    .into(),
            ));
        }
        Ok(vec![if h.quantizer.is_none() {
            IndexSpec::Flat
        } else {
            IndexSpec::FlatCodes(FlatCodes {
                quantizer: h.quantizer,
                seed: h.seed,
            })
        }])
    }

    fn flags_of(&self, spec: &IndexSpec, out: &mut ParamMap) {
        if let IndexSpec::FlatCodes(c) = spec {
            out.insert("seed".into(), c.seed.into());
        }
    }

    fn tuning(&self) -> Tuning {
        Tuning::Knob
    }

    #[cfg(test)]
    fn examples(&self) -> Vec<(IndexSpec, crate::index::SearchKnob)> {
        use crate::index::SearchKnob;
        vec![
            (IndexSpec::Flat, SearchKnob::Default),
            (
                IndexSpec::FlatCodes(FlatCodes {
                    quantizer: crate::index::quant::Quantizer::Sq8,
                    seed: 7,
                }),
                SearchKnob::Default,
            ),
        ]
    }

    fn live(
        &self,
        spec: &IndexSpec,
        base: &Arc<Dataset>,
        ctx: &WorkContext,
    ) -> Result<Box<dyn crate::index::live::LiveIndex>> {
        match spec {
            IndexSpec::Flat => Ok(Box::new(super::live::LiveFlat::new(base.clone(), ctx)?)),
            _ => Err(crate::error::Error::InvalidParameter(
                "a flat index over quantized codes takes no writes here: run the exact flat index (no --quantizer)".into(),
            )),
        }
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
        Ok(match spec {
            IndexSpec::FlatCodes(c) => Arc::new(FlatIndex::build_quantized(
                dataset.clone(),
                c.quantizer,
                c.seed,
                ctx,
            )?),
            IndexSpec::Flat => Arc::new(FlatIndex::build(dataset.clone(), ctx)?),
            _ => return Err(not_this_kind(self, spec)),
        })
    }
}
