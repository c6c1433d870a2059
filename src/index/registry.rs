//! The registry: [`family`] is the one list of annscope's own index kinds
//! (each a [`Family`]), and what goes through it without naming a kind:
//! building any spec (an engine's through its collection), a spec read back
//! as `bench` flags, and messages that say which kinds take a flag. The
//! families never import this file.

use std::sync::Arc;

use super::family::Family;
use super::spec::DataSource;
use super::{AnnIndex, IndexKind, IndexSpec, ParamMap, SearchKnob, Storage};
use crate::error::{Error, Result};
use crate::progress::WorkContext;

/// The family of a kind annscope builds itself; None for an engine's.
pub fn family(kind: IndexKind) -> Option<&'static dyn Family> {
    Some(match kind {
        IndexKind::Flat => &super::flat::family::FLAT,
        IndexKind::Hnsw => &super::hnsw::family::HNSW,
        IndexKind::Dynamic => &super::dynamic::family::DYNAMIC,
        IndexKind::Hfresh => &super::hfresh::family::HFRESH,
        IndexKind::PgvectorHnsw | IndexKind::PgvectorIvfflat | IndexKind::QdrantHnsw => {
            return None
        }
    })
}

/// The family of a kind annscope builds, or an error naming the engine
/// that measures it instead.
pub fn local_family(kind: IndexKind) -> Result<&'static dyn Family> {
    family(kind).ok_or_else(|| {
        let engine = if kind.needs_server() {
            "pgvector"
        } else {
            "qdrant-edge"
        };
        Error::InvalidParameter(format!(
            "{} is built by an engine: measure it with --engine {engine}",
            kind.name()
        ))
    })
}

/// The names of the local kinds whose family passes `test`, e.g.
/// "hnsw, dynamic, hfresh" (for messages that say which kinds take a flag).
pub fn kinds_where(test: impl Fn(&dyn Family) -> bool) -> String {
    IndexKind::ALL
        .iter()
        .filter(|&&k| family(k).is_some_and(&test))
        .map(|k| k.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A spec with its search setting as `bench` flags: the kind's own build
/// settings, the storage ladder's, and the knob. `bench` given these flags
/// builds `spec` again and measures at `knob` (the tuner's pick).
pub fn bench_flags(spec: &IndexSpec, knob: SearchKnob) -> ParamMap {
    let mut p = ParamMap::new();
    if let Some(f) = family(spec.kind()) {
        f.flags_of(spec, &mut p);
    }
    storage_flags(&spec.storage(), &mut p);
    match knob {
        SearchKnob::Ef(e) => {
            p.insert("ef".into(), e.into());
        }
        SearchKnob::Probe(s) => {
            p.insert("search_probe".into(), s.into());
        }
        SearchKnob::DynamicEf(_) => {
            p.insert("ef".into(), (-1).into());
        }
        SearchKnob::Default => {}
    }
    p
}

/// The storage ladder's flags that differ from their defaults (a walk over
/// codes also names its re-scoring, at Qdrant's defaults).
fn storage_flags(storage: &Storage, p: &mut ParamMap) {
    if !storage.quantizer.is_none() {
        p.insert("quantizer".into(), storage.quantizer.to_string().into());
        super::Rescoring::DEFAULT.report_into(p);
    }
    if storage.vectors != super::VectorPlace::Ram {
        p.insert("vectors".into(), storage.vectors.name().into());
    }
    if storage.vector_cache > 0 {
        p.insert("vector_cache".into(), storage.vector_cache.into());
    }
}

/// Builds `spec` from `source`: annscope's own kinds through their family
/// from the local vectors (validated first), an engine's through the
/// collection it lives in.
pub(super) fn build(
    spec: &IndexSpec,
    source: &DataSource,
    ctx: &WorkContext,
) -> Result<Arc<dyn AnnIndex>> {
    let IndexSpec::Engine(engine) = spec else {
        let dataset = source.local();
        dataset.validate(ctx)?;
        return local_family(spec.kind())?.build(spec, dataset, ctx);
    };
    match source {
        DataSource::Engine(collection) => collection.build(*engine, ctx),
        DataSource::Dataset(d) if engine.in_process() => Err(Error::InvalidParameter(format!(
            "{} runs in Qdrant's engine: open {} as a Qdrant collection (annscope built with --features qdrant)",
            engine.label(),
            d.display_name()
        ))),
        DataSource::Dataset(d) => Err(Error::InvalidParameter(format!(
            "{} lives in a PostgreSQL server: load {} into one first",
            engine.label(),
            d.display_name()
        ))),
    }
}
